//! GetKeyLastUsage: the last successful cryptographic operation of each key, noted in memory
//! by the one place that writes each call's audit record (so the CloudTrail event id is the
//! record's `eventID`) and written to the store in batches, never on the request path.
//!
//! Precision: this node answers from what it noted itself, exactly; another node's calls are
//! seen once that node has flushed them (every few seconds, `run_usage_flush`, and at
//! shutdown). A crash loses at most the last interval's updates; the audit trail has them.

use crate::{Kms, Result};
use std::collections::HashMap;
use std::sync::Mutex;
use trent_store::{KeyLastUsageRecord, KeyRef};
use trent_types::*;

/// When this store began tracking usage: the first flush (or read) sets it, once.
const TRACKING_START: &str = "key_usage_tracking_start_ms";

/// Usage noted since the last flush, the latest per key.
#[derive(Default)]
pub(crate) struct UsageNotes(Mutex<HashMap<KeyRef, KeyLastUsageRecord>>);

impl UsageNotes {
    fn note(&self, u: KeyLastUsageRecord) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match pending.get(&u.key) {
            Some(old) if old.used_ms > u.used_ms => {}
            _ => {
                pending.insert(u.key.clone(), u);
            }
        }
    }

    fn get(&self, key: &KeyRef) -> Option<KeyLastUsageRecord> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned()
    }

    fn take(&self) -> Vec<KeyLastUsageRecord> {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending.drain().map(|(_, u)| u).collect()
    }
}

/// The key of a key ARN (`arn:<partition>:kms:<region>:<account>:key/<id>`); `None` for an
/// alias ARN.
fn key_of_arn(arn: &str) -> Option<KeyRef> {
    let mut parts = arn.splitn(6, ':');
    let (_, _, _, region, account, resource) =
        (parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let key_id = resource.strip_prefix("key/")?;
    Some(KeyRef { account: account.into(), region: region.into(), key_id: key_id.into() })
}

impl Kms {
    /// Notes a successful call of `operation` on the key ARNs among `resources` (ReEncrypt:
    /// both keys), if it is a cryptographic operation GetKeyLastUsage tracks.
    pub fn note_key_usage(
        &self,
        operation: Operation,
        resources: &[String],
        used_ms: i64,
        event_id: &str,
        request_id: &str,
    ) {
        let Some(op) = KeyLastUsageTrackingOperation::parse(operation.name()) else { return };
        for key in resources.iter().filter_map(|arn| key_of_arn(arn)) {
            self.usage.note(KeyLastUsageRecord {
                key,
                operation: op.as_str().to_string(),
                used_ms,
                event_id: event_id.to_string(),
                request_id: request_id.to_string(),
            });
        }
    }

    /// Writes the usage noted since the last flush (put back if the store fails).
    pub async fn flush_key_usage(&self) -> Result<()> {
        let batch = self.usage.take();
        self.tracking_start().await?;
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.put_last_usage(batch.clone()).await {
            for u in batch {
                self.usage.note(u);
            }
            return Err(e.into());
        }
        Ok(())
    }

    /// Flushes the noted usage every `every` until the task is dropped.
    pub async fn run_usage_flush(self: std::sync::Arc<Self>, every: std::time::Duration) {
        let mut tick = tokio::time::interval(every);
        loop {
            tick.tick().await;
            if let Err(e) = self.flush_key_usage().await {
                tracing::warn!(error = %e, "key usage not written; kept for the next flush");
            }
        }
    }

    async fn tracking_start(&self) -> Result<i64> {
        let now = self.now_ms().to_string();
        let v = self.store.put_meta_if_absent(TRACKING_START, now.as_bytes()).await?;
        Ok(std::str::from_utf8(&v).ok().and_then(|s| s.parse().ok()).unwrap_or(0))
    }

    /// The latest usage of `key`: this node's notes or the store's, whichever is later.
    async fn last_usage(&self, key: &KeyRef) -> Result<Option<KeyLastUsageRecord>> {
        let stored = self.store.get_last_usage(key).await?;
        let noted = self.usage.get(key);
        Ok(match (stored, noted) {
            (Some(s), Some(n)) => Some(if n.used_ms >= s.used_ms { n } else { s }),
            (s, n) => s.or(n),
        })
    }
}

impl crate::Call for GetKeyLastUsageRequest {
    const OPERATION: Operation = Operation::GetKeyLastUsage;
    type Target = crate::gate::KeyTarget<false>;
    type Output = GetKeyLastUsageResponse;

    async fn handle(
        self,
        kms: &Kms,
        auth: crate::Authorized<'_, crate::gate::KeyTarget<false>>,
    ) -> Result<GetKeyLastUsageResponse> {
        let rec = auth.target().key();
        let start = kms.tracking_start().await?;
        let usage = kms.last_usage(&rec.key).await?;
        Ok(GetKeyLastUsageResponse {
            key_id: Some(rec.key.key_id.clone()),
            // An empty object when the key has not been used since tracking began (API).
            key_last_usage: Some(match usage {
                Some(u) => KeyLastUsageData {
                    operation: KeyLastUsageTrackingOperation::parse(&u.operation),
                    timestamp: Some(Timestamp(u.used_ms)),
                    cloud_trail_event_id: Some(u.event_id),
                    kms_request_id: Some(u.request_id),
                },
                None => KeyLastUsageData::default(),
            }),
            tracking_start_date: Some(Timestamp(start.max(rec.created_ms))),
            key_creation_date: Some(Timestamp(rec.created_ms)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_arns_name_keys_and_alias_arns_do_not() {
        let k = key_of_arn("arn:aws:kms:eu-west-1:111122223333:key/mrk-1").unwrap();
        assert_eq!(
            (k.region.as_str(), k.account.as_str(), k.key_id.as_str()),
            ("eu-west-1", "111122223333", "mrk-1")
        );
        assert_eq!(key_of_arn("arn:aws:kms:eu-west-1:111122223333:alias/a"), None);
        assert_eq!(key_of_arn("nonsense"), None);
    }

    #[test]
    fn the_latest_note_of_a_key_wins_whatever_the_order() {
        let notes = UsageNotes::default();
        let key = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        let u = |ms: i64| KeyLastUsageRecord {
            key: key.clone(),
            operation: "Encrypt".into(),
            used_ms: ms,
            event_id: format!("e{ms}"),
            request_id: "r".into(),
        };
        notes.note(u(5));
        notes.note(u(3));
        assert_eq!(notes.get(&key), Some(u(5)));
        notes.note(u(9));
        assert_eq!(notes.take(), [u(9)]);
        assert_eq!(notes.get(&key), None);
    }
}
