//! What time alone does to a key: imported material passes its `ValidTo`, a key passes its
//! deletion date, a transient state (`Creating`, `Updating`) ends. Computed from the record
//! and the clock, so reads serve the key as it is now without writing; writes of the key (and
//! the background pass) persist it.
//!
//! ("Setting an expiration time" in the AWS KMS developer guide: when imported material
//! expires, KMS deletes it and the key becomes unusable, state `PendingImport`; CloudTrail
//! records a `DeleteExpiredKeyMaterial` event when the deletion happens.)

use trent_store::{KeyRecord, MaterialRecord};
use trent_types::{ImportState, KeyState};

/// What an update does to a key's materials besides changing its row, and the records of
/// what it does by itself (service events), written in the same transaction.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub upsert: Vec<MaterialRecord>,
    pub remove: Vec<String>,
    pub events: Vec<trent_store::OutboxEvent>,
}

impl Changes {
    pub(crate) fn none() -> Self {
        Changes::default()
    }
}

impl From<Vec<MaterialRecord>> for Changes {
    fn from(upsert: Vec<MaterialRecord>) -> Self {
        Changes { upsert, remove: Vec::new(), events: Vec::new() }
    }
}

/// Why an automatic rotation listed as due was skipped: the fresh record is no longer due.
pub(crate) const NOT_DUE: &str = "automatic rotation is no longer due";

/// Whether the key's scheduled deletion is due: it is gone, whether purged yet or not.
pub(crate) fn is_past_deletion(rec: &KeyRecord, now_ms: i64) -> bool {
    rec.state == KeyState::PendingDeletion && rec.deletion_date_ms.is_some_and(|d| d <= now_ms)
}

/// The transient state a key shows at `now_ms` (`Creating` for a new replica, `Updating`
/// while its set changes primary), if its time has not passed.
pub(crate) fn transient_state(rec: &KeyRecord, now_ms: i64) -> Option<KeyState> {
    rec.transient.filter(|t| now_ms < t.until_ms).map(|t| t.state)
}

fn has_expired(m: &MaterialRecord, now_ms: i64) -> bool {
    m.sealed.is_some() && m.valid_to_ms.is_some_and(|t| t <= now_ms)
}

/// Whether any material of the key has expired and is not yet deleted.
pub(crate) fn expiry_due(mats: &[MaterialRecord], now_ms: i64) -> bool {
    mats.iter().any(|m| has_expired(m, now_ms))
}

/// The deletion of expired material: what changes in the materials, and which expired.
#[derive(Debug, Default)]
pub(crate) struct Expiry {
    pub changes: Changes,
    pub expired: Vec<String>,
}

/// Deletes expired imported material from `mats` (through the returned changes) and moves an
/// enabled or disabled key whose associated material expired to `PendingImport`. Material
/// waiting for an on-demand rotation (`PENDING_ROTATION`) is removed outright.
pub(crate) fn expire(rec: &mut KeyRecord, mats: &[MaterialRecord], now_ms: i64) -> Expiry {
    let mut out = Expiry::default();
    let mut lost_associated = false;
    for m in mats.iter().filter(|m| has_expired(m, now_ms)) {
        out.expired.push(m.material_id.clone());
        if m.is_pending_rotation() {
            out.changes.remove.push(m.material_id.clone());
        } else {
            let mut m = m.clone();
            m.sealed = None;
            m.import_state = Some(ImportState::PendingImport);
            out.changes.upsert.push(m);
            lost_associated = true;
        }
    }
    if lost_associated && matches!(rec.state, KeyState::Enabled | KeyState::Disabled) {
        rec.state = KeyState::PendingImport;
    }
    out
}

/// `mats` after `changes`.
pub(crate) fn apply(mats: &mut Vec<MaterialRecord>, changes: &Changes) {
    mats.retain(|m| !changes.remove.contains(&m.material_id));
    for u in &changes.upsert {
        match mats.iter_mut().find(|m| m.material_id == u.material_id) {
            Some(m) => *m = u.clone(),
            None => mats.push(u.clone()),
        }
    }
}

/// `first` then `then` as one set of changes: what `then` upserts or removes wins.
pub(crate) fn merge(first: Changes, then: Changes) -> Changes {
    let touched =
        |id: &String| then.upsert.iter().any(|u| &u.material_id == id) || then.remove.contains(id);
    let mut upsert: Vec<MaterialRecord> =
        first.upsert.into_iter().filter(|u| !touched(&u.material_id)).collect();
    let mut remove: Vec<String> = first.remove.into_iter().filter(|id| !touched(id)).collect();
    upsert.extend(then.upsert);
    remove.extend(then.remove);
    let mut events = first.events;
    events.extend(then.events);
    Changes { upsert, remove, events }
}

/// The key as it is at `now_ms`, when time has changed it since it was stored; `None` when
/// the stored state is the present one.
pub(crate) fn as_of(
    rec: &KeyRecord,
    mats: &[MaterialRecord],
    now_ms: i64,
) -> Option<(KeyRecord, Vec<MaterialRecord>)> {
    let shown = transient_state(rec, now_ms);
    if !expiry_due(mats, now_ms) {
        let shown = shown?;
        return Some((KeyRecord { state: shown, ..rec.clone() }, mats.to_vec()));
    }
    let mut rec = rec.clone();
    let e = expire(&mut rec, mats, now_ms);
    let mut mats = mats.to_vec();
    apply(&mut mats, &e.changes);
    if let Some(shown) = shown {
        rec.state = shown;
    }
    Some((rec, mats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use trent_store::KeyRef;
    use trent_types::KeyMaterialState;
    use trent_types::{KeySpec, KeyUsageType, OriginType};

    fn key(state: KeyState) -> KeyRecord {
        let key = KeyRef { account: "1".into(), region: "r".into(), key_id: "k".into() };
        let mut rec = trent_store::KeyRecord::new(
            key,
            0,
            KeySpec::SymmetricDefault,
            KeyUsageType::EncryptDecrypt,
            OriginType::External,
            String::new(),
        );
        rec.state = state;
        rec
    }

    fn material(id: &str, state: KeyMaterialState, valid_to: Option<i64>) -> MaterialRecord {
        let mut m =
            MaterialRecord::new(key(KeyState::Enabled).key, id.into(), Some(vec![1; 32]), state, 0);
        m.valid_to_ms = valid_to;
        m.import_state = Some(ImportState::Imported);
        m
    }

    #[test]
    fn nothing_changes_before_valid_to() {
        let mats = [material("m1", KeyMaterialState::Current, Some(100))];
        assert!(as_of(&key(KeyState::Enabled), &mats, 99).is_none());
    }

    #[test]
    fn at_valid_to_the_material_is_gone_and_the_key_pending_import() {
        let mats = [material("m1", KeyMaterialState::Current, Some(100))];
        let (rec, mats) = as_of(&key(KeyState::Enabled), &mats, 100).unwrap();
        assert_eq!(rec.state, KeyState::PendingImport);
        assert_eq!(mats[0].sealed, None);
        assert_eq!(mats[0].import_state, Some(ImportState::PendingImport));
    }

    #[test]
    fn a_key_pending_deletion_stays_pending_deletion() {
        let mats = [material("m1", KeyMaterialState::Current, Some(100))];
        let (rec, _) = as_of(&key(KeyState::PendingDeletion), &mats, 200).unwrap();
        assert_eq!(rec.state, KeyState::PendingDeletion);
    }

    #[test]
    fn expired_pending_rotation_material_is_removed_and_the_key_stays_enabled() {
        let mats = [
            material("m1", KeyMaterialState::Current, None),
            material("m2", KeyMaterialState::PendingRotation, Some(100)),
        ];
        let (rec, left) = as_of(&key(KeyState::Enabled), &mats, 100).unwrap();
        assert_eq!(rec.state, KeyState::Enabled);
        assert_eq!(left.iter().map(|m| m.material_id.as_str()).collect::<Vec<_>>(), ["m1"]);
    }

    #[test]
    fn a_later_change_to_the_same_material_wins_the_merge() {
        let mats = [material("m1", KeyMaterialState::Current, Some(100))];
        let mut rec = key(KeyState::Enabled);
        let e = expire(&mut rec, &mats, 100);
        let reimported = material("m1", KeyMaterialState::Current, None);
        let merged = merge(e.changes, Changes::from(vec![reimported.clone()]));
        assert_eq!(merged.upsert, [reimported]);
        assert!(merged.remove.is_empty());
    }

    #[test]
    fn past_its_deletion_date_a_key_is_gone() {
        let mut rec = key(KeyState::PendingDeletion);
        rec.deletion_date_ms = Some(50);
        assert!(!is_past_deletion(&rec, 49));
        assert!(is_past_deletion(&rec, 50));
        rec.state = KeyState::Enabled;
        assert!(!is_past_deletion(&rec, 50));
    }
}
