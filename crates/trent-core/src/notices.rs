//! Expiry notices of imported key material in EventBridge's event shape
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/kms-events.html>): AWS's
//! `KMS Imported Key Material Expiration` when material expires, and Trent's own warnings at
//! lead times before it (30 and 7 days by default). Each notice is written to the audit trail
//! and handed to the [`Notifier`] (the binary's webhook) once: a warning is claimed in the
//! store before it is sent, so of several nodes one sends it, and a reimport with a new
//! `ValidTo` is warned about again.

use crate::{Background, Kms, Result};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::time::Duration;
use trent_store::{ExpiringMaterial, KeyRef, Notice};

/// AWS's event when imported material expired.
pub const EXPIRATION: &str = "KMS Imported Key Material Expiration";
/// Trent's event a lead time before imported material expires (AWS has none).
pub const WARNING: &str = "KMS Imported Key Material Expiration Warning";

/// Where notices go besides the audit trail.
pub trait Notifier: Send + Sync {
    /// Hands over one event. It must not block or fail its caller: queue it or drop it.
    fn notify(&self, event: &Value);
}

/// Sends notices nowhere but the audit trail.
pub struct NoNotifier;

impl Notifier for NoNotifier {
    fn notify(&self, _: &Value) {}
}

/// Notices this node has sent or seen claimed, so that a pass does not claim them again.
#[derive(Default)]
pub(crate) struct Sent(std::sync::Mutex<HashSet<Notice>>);

fn event(detail_type: &str, key: &KeyRef, detail: Value, now_ms: i64) -> Value {
    json!({
        "version": "0",
        "id": trent_crypto::new_key_id().unwrap_or_default(),
        "detail-type": detail_type,
        "source": "aws.kms",
        "account": key.account,
        "time": crate::audit::event_time(now_ms),
        "region": key.region,
        "resources": [key.arn()],
        "detail": detail,
    })
}

/// The event AWS sends when the imported material of `key` expired.
pub(crate) fn expiration(key: &KeyRef, now_ms: i64) -> Value {
    event(EXPIRATION, key, json!({ "key-id": key.key_id }), now_ms)
}

fn warning(m: &ExpiringMaterial, lead: Duration, now_ms: i64) -> Value {
    let detail = json!({
        "key-id": m.key.key_id,
        "key-material-id": m.material_id,
        "valid-to": crate::audit::event_time(m.valid_to_ms),
        "seconds-until-expiration": (m.valid_to_ms - now_ms).max(0) / 1000,
        "lead-time-seconds": lead.as_secs(),
    });
    event(WARNING, &m.key, detail, now_ms)
}

fn kind(lead: Duration) -> String {
    format!("warning-{}s", lead.as_secs())
}

impl Kms {
    /// Writes a notice to the audit trail and hands it to the notifier. The event has
    /// happened (it is the clock's, not a request's): a record that cannot be written is
    /// counted and logged, not a reason to undo anything.
    pub(crate) fn send_notice(&self, event: Value) {
        self.hooks.notifier.notify(&event);
        self.write_audit(event, "expiry notice");
    }

    /// Claims `notice` unless this node knows it is claimed; whether this caller sends it.
    async fn claim(&self, notice: Notice, now_ms: i64) -> Result<bool> {
        if self.hooks.sent_notices.0.lock().is_ok_and(|s| s.contains(&notice)) {
            return Ok(false);
        }
        let claimed = self.store.claim_notice(&notice, now_ms).await?;
        if let Ok(mut s) = self.hooks.sent_notices.0.lock() {
            s.insert(notice);
        }
        Ok(claimed)
    }
}

impl Background<'_> {
    /// Sends the warnings that are due: for each present material with a `ValidTo`, the
    /// tightest lead time it is within (a material imported 3 days before its expiry gets
    /// the 7-day warning, and never the 30-day one). Returns how many it sent.
    pub async fn warn_expiring_materials(&self) -> Result<usize> {
        let kms = self.kms;
        let mut leads = kms.config.expiry_warnings.clone();
        leads.sort();
        leads.dedup();
        let now = kms.now_ms();
        let mut sent = 0;
        for m in kms.store.expiring_materials().await? {
            let left = m.valid_to_ms - now;
            if left <= 0 {
                continue; // expired: the expiry pass deletes it and sends its own event
            }
            let due: Vec<Duration> =
                leads.iter().copied().filter(|l| left <= l.as_millis() as i64).collect();
            for (i, lead) in due.iter().enumerate() {
                let notice = Notice { material: m.clone(), kind: kind(*lead) };
                if kms.claim(notice, now).await? && i == 0 {
                    kms.send_notice(warning(&m, *lead, now));
                    sent += 1;
                }
            }
        }
        // Notices of materials past their ValidTo for a day are of no more use.
        let horizon = now - 86_400_000;
        kms.store.prune_notices(horizon).await?;
        if let Ok(mut s) = kms.hooks.sent_notices.0.lock() {
            s.retain(|n| n.material.valid_to_ms >= horizon);
        }
        Ok(sent)
    }
}
