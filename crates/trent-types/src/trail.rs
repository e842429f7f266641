//! What a CloudTrail record shows of a request or a response (`requestParameters`,
//! `responseElements`): every generated structure implements [`Trail`], which leaves out
//! blobs and sensitive members by construction. AWS's examples
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/understanding-kms-entries.html>)
//! spell members in lowerCamelCase and dates as text, e.g. `"May 21, 2025, 5:47:45 AM"`.

use crate::Timestamp;
use serde_json::Value;

/// The CloudTrail view of a value.
pub trait Trail {
    fn trail(&self) -> Value;
}

/// The output of an operation that answers nothing.
impl Trail for () {
    fn trail(&self) -> Value {
        Value::Object(serde_json::Map::new())
    }
}

const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// The year, month (1-12) and day of a count of days since 1970-01-01 (the proleptic
/// Gregorian calendar; Howard Hinnant's `civil_from_days`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Seconds since the epoch of a CloudTrail `eventTime` (`YYYY-MM-DDTHH:MM:SSZ`): LookupEvents'
/// `EventTime`, and where a record goes when the trail is packed into log files.
pub fn event_time_secs(time: &str) -> Option<i64> {
    let b = time.as_bytes();
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[19] != b'Z' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| time.get(r)?.parse::<i64>().ok();
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // Days from civil (Howard Hinnant's algorithm), the inverse of `civil_from_days`.
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (m + if m > 2 { -3 } else { 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss)
}

/// A date as CloudTrail shows it in `requestParameters` and `responseElements` (UTC).
pub fn date_text(t: Timestamp) -> Value {
    let secs = t.seconds();
    let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
    let of_day = secs.rem_euclid(86_400);
    let (hour, minute, second) = (of_day / 3600, of_day / 60 % 60, of_day % 60);
    let half = if hour < 12 { "AM" } else { "PM" };
    let hour12 = if hour % 12 == 0 { 12 } else { hour % 12 };
    let month = MONTHS[(month - 1) as usize];
    Value::from(format!("{month} {day}, {year}, {hour12}:{minute:02}:{second:02} {half}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_in_aws_examples() {
        // 2025-05-21T05:47:45Z, the ValidTo of the ImportKeyMaterial example.
        let t = Timestamp::from_millis(1_747_806_465_000);
        assert_eq!(date_text(t), "May 21, 2025, 5:47:45 AM");
        // 2022-08-10T22:38:27Z, the creationDate of the CreateKey example.
        let t = Timestamp::from_millis(1_660_171_107_000);
        assert_eq!(date_text(t), "Aug 10, 2022, 10:38:27 PM");
        assert_eq!(date_text(Timestamp::from_millis(0)), "Jan 1, 1970, 12:00:00 AM");
        assert_eq!(date_text(Timestamp::from_millis(43_200_000)), "Jan 1, 1970, 12:00:00 PM");
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
    }
}
