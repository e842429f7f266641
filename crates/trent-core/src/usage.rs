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
/// The last use of each key noted since the last flush, by key ARN: a key used again has its
/// note overwritten in place, so the steady state allocates nothing per call.
#[derive(Default)]
pub(crate) struct UsageNotes(Mutex<HashMap<String, Noted>>);

struct Noted {
    operation: KeyLastUsageTrackingOperation,
    used_ms: i64,
    event_id: String,
    request_id: String,
}

impl UsageNotes {
    fn note(
        &self,
        arn: &str,
        operation: KeyLastUsageTrackingOperation,
        used_ms: i64,
        event_id: &str,
        request_id: &str,
    ) {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        match pending.get_mut(arn) {
            Some(old) if old.used_ms > used_ms => {}
            Some(old) => {
                old.operation = operation;
                old.used_ms = used_ms;
                old.event_id.clear();
                old.event_id.push_str(event_id);
                old.request_id.clear();
                old.request_id.push_str(request_id);
            }
            None => {
                let noted = Noted {
                    operation,
                    used_ms,
                    event_id: event_id.to_string(),
                    request_id: request_id.to_string(),
                };
                pending.insert(arn.to_string(), noted);
            }
        }
    }

    fn get(&self, key: &KeyRef) -> Option<KeyLastUsageRecord> {
        let pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        pending.get(&key.arn()).map(|n| record(key.clone(), n))
    }

    fn take(&self) -> Vec<KeyLastUsageRecord> {
        let mut pending = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let noted: Vec<(String, Noted)> = pending.drain().collect();
        drop(pending);
        noted.into_iter().filter_map(|(arn, n)| Some(record(key_of_arn(&arn)?, &n))).collect()
    }

    /// Puts back what a failed flush took, unless a newer use was noted meanwhile.
    fn restore(&self, batch: Vec<KeyLastUsageRecord>) {
        for u in batch {
            if let Some(op) = KeyLastUsageTrackingOperation::parse(&u.operation) {
                self.note(&u.key.arn(), op, u.used_ms, &u.event_id, &u.request_id);
            }
        }
    }
}

fn record(key: KeyRef, n: &Noted) -> KeyLastUsageRecord {
    KeyLastUsageRecord {
        key,
        operation: n.operation.as_str().to_string(),
        used_ms: n.used_ms,
        event_id: n.event_id.clone(),
        request_id: n.request_id.clone(),
    }
}

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
        // Key ARNs only (an alias named in the call is not a key).
        let is_key =
            |arn: &&String| arn.splitn(6, ':').nth(5).is_some_and(|r| r.starts_with("key/"));
        for arn in resources.iter().filter(is_key) {
            self.hooks.usage.note(arn, op, used_ms, event_id, request_id);
        }
    }

    pub async fn flush_key_usage(&self) -> Result<()> {
        let batch = self.hooks.usage.take();
        self.tracking_start().await?;
        if batch.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.store.put_last_usage(batch.clone()).await {
            self.hooks.usage.restore(batch);
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
        let noted = self.hooks.usage.get(key);
        Ok(match (stored, noted) {
            (Some(s), Some(n)) => Some(if n.used_ms >= s.used_ms { n } else { s }),
            (s, n) => s.or(n),
        })
    }
}

impl crate::Call for GetKeyLastUsageRequest {
    type Target = crate::gate::KeyTarget<false>;

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
        let arn = key.arn();
        let op = KeyLastUsageTrackingOperation::Encrypt;
        let u = |ms: i64| KeyLastUsageRecord {
            key: key.clone(),
            operation: "Encrypt".into(),
            used_ms: ms,
            event_id: format!("e{ms}"),
            request_id: "r".into(),
        };
        notes.note(&arn, op, 5, "e5", "r");
        notes.note(&arn, op, 3, "e3", "r");
        assert_eq!(notes.get(&key), Some(u(5)));
        notes.note(&arn, op, 9, "e9", "r");
        assert_eq!(notes.take(), [u(9)]);
        assert_eq!(notes.get(&key), None);
        // A failed flush puts its notes back, under a newer one noted meanwhile.
        notes.note(&arn, op, 12, "e12", "r");
        notes.restore(vec![u(9)]);
        assert_eq!(notes.take(), [u(12)]);
        notes.restore(vec![u(9)]);
        assert_eq!(notes.get(&key), Some(u(9)));
    }
}
