//! The UTC date forms of CloudTrail's file names and digest members.

use trent_types::trail::civil_from_days;

/// A time (milliseconds since the epoch) broken into its UTC parts.
struct Utc {
    year: i64,
    month: u32,
    day: u32,
    hour: i64,
    minute: i64,
    second: i64,
}

fn utc(ms: i64) -> Utc {
    let secs = ms.div_euclid(1000);
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    Utc { year, month, day, hour: of_day / 3600, minute: of_day / 60 % 60, second: of_day % 60 }
}

/// `2015-08-17T15:01:31Z`: a digest's `digestStartTime`, `digestEndTime` and event times.
pub fn iso(ms: i64) -> String {
    let t = utc(ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

/// `20150817T150131Z`: the end of a digest, in its file name.
pub fn compact_seconds(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}{:02}{:02}T{:02}{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

/// `20150817T1501Z`: when a log file was delivered, in its file name.
pub fn compact_minutes(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}{:02}{:02}T{:02}{:02}Z", t.year, t.month, t.day, t.hour, t.minute)
}

/// `2015/08/17`: the folders of a day.
pub fn ymd_path(ms: i64) -> String {
    let t = utc(ms);
    format!("{:04}/{:02}/{:02}", t.year, t.month, t.day)
}

/// The time of an `eventTime` (`2015-08-17T15:01:31Z`), in milliseconds.
pub fn parse_iso(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| text.get(r)?.parse::<i64>().ok();
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    // Days from civil (Howard Hinnant), the inverse of `civil_from_days`.
    let y = if mo <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(((days * 86_400) + h * 3600 + mi * 60 + s) * 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forms_of_aws_examples() {
        // 2015-08-17T15:01:31Z, the digestEndTime of the user guide's example.
        let t = 1_439_823_691_000;
        assert_eq!(iso(t), "2015-08-17T15:01:31Z");
        assert_eq!(compact_seconds(t), "20150817T150131Z");
        assert_eq!(compact_minutes(t), "20150817T1501Z");
        assert_eq!(ymd_path(t), "2015/08/17");
        assert_eq!(parse_iso("2015-08-17T15:01:31Z"), Some(t));
        assert_eq!(parse_iso("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_iso("2015-08-17 15:01:31Z"), None);
    }
}
