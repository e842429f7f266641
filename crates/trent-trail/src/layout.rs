//! Where a trail's files go, named as CloudTrail names them: log files under
//! `AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`, digest files under
//! `AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/` ("Finding your CloudTrail log
//! files" and "CloudTrail digest file structure", CloudTrail user guide). `validate-logs`
//! finds digests by exactly this name.

use crate::time;

/// A trail: its bucket and key prefix, its name and its home Region.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailPlace {
    pub bucket: String,
    pub prefix: Option<String>,
    pub name: String,
    pub home_region: String,
}

impl TrailPlace {
    fn root(&self) -> String {
        match self.prefix.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => format!("{p}/AWSLogs/"),
            None => "AWSLogs/".to_string(),
        }
    }

    /// The key of a log file of `account` in `region` delivered at `at_ms`; `unique` tells
    /// apart the files of one minute (CloudTrail: 16 characters).
    pub fn log_file_key(&self, account: &str, region: &str, at_ms: i64, unique: &str) -> String {
        format!(
            "{}{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{unique}.json.gz",
            self.root(),
            time::ymd_path(at_ms),
            time::compact_minutes(at_ms)
        )
    }

    /// The key of the digest of `account` in `region` that ends at `end_ms`.
    pub fn digest_key(&self, account: &str, region: &str, end_ms: i64) -> String {
        format!(
            "{}{account}/CloudTrail-Digest/{region}/{}/{account}_CloudTrail-Digest_{region}_{}_{}_{}.json.gz",
            self.root(),
            time::ymd_path(end_ms),
            self.name,
            self.home_region,
            time::compact_seconds(end_ms)
        )
    }

    /// Where the log files of `account` begin (to list them).
    pub fn log_files_prefix(&self, account: &str) -> String {
        format!("{}{account}/CloudTrail/", self.root())
    }

    /// Where the digest files of `account` begin.
    pub fn digests_prefix(&self, account: &str) -> String {
        format!("{}{account}/CloudTrail-Digest/", self.root())
    }

    /// The trail's ARN in `account` (`arn:aws:cloudtrail:us-east-1:111122223333:trail/name`).
    pub fn arn(&self, partition: &str, account: &str) -> String {
        format!("arn:{partition}:cloudtrail:{}:{account}:trail/{}", self.home_region, self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_cloudtrails() {
        let p = TrailPlace {
            bucket: "b".into(),
            prefix: None,
            name: "your-trail-name".into(),
            home_region: "us-east-2".into(),
        };
        let t = 1_439_823_691_000; // 2015-08-17T15:01:31Z
                                   // The user guide's digest example, character for character.
        assert_eq!(
            p.digest_key("111122223333", "us-east-2", t),
            "AWSLogs/111122223333/CloudTrail-Digest/us-east-2/2015/08/17/111122223333_CloudTrail-Digest_us-east-2_your-trail-name_us-east-2_20150817T150131Z.json.gz"
        );
        let with = TrailPlace { prefix: Some("p/q".into()), ..p.clone() };
        assert_eq!(
            with.log_file_key("111122223333", "us-west-1", t, "Ab12Cd34Ef56Gh78"),
            "p/q/AWSLogs/111122223333/CloudTrail/us-west-1/2015/08/17/111122223333_CloudTrail_us-west-1_20150817T1501Z_Ab12Cd34Ef56Gh78.json.gz"
        );
        // validate-logs reads the digest's date from these 16 characters of its name.
        let key = p.digest_key("111122223333", "us-east-2", t);
        assert_eq!(&key[key.len() - 24..key.len() - 8], "20150817T150131Z");
        assert_eq!(
            p.arn("aws", "111122223333"),
            "arn:aws:cloudtrail:us-east-2:111122223333:trail/your-trail-name"
        );
    }
}
