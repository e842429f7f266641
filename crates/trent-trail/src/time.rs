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
    }
}
