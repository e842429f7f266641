//! What the gate saw during one API call: the ARNs of the resources it authorized the call on
//! (CloudTrail's `resources`, in the order authorized: for ReEncrypt the source key, then the
//! destination) and the key materials the call used (`additionalEventData`). Collected in a
//! task-local scope that the HTTP layer opens around each call, so that no handler passes it
//! along or can forget it; outside a scope (admin, background work) nothing is collected.

use std::cell::RefCell;
use std::future::Future;

/// A request names at most a few resources; the bound only guards the record's size.
const MAX_RESOURCES: usize = 8;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// ARNs of keys and aliases, each once.
    pub resources: Vec<String>,
    /// The key material of each key the call encrypted, decrypted or signed with, once.
    pub key_material_ids: Vec<String>,
}

tokio::task_local! {
    static RECORDED: RefCell<Recorded>;
}

/// Runs `f`, collecting what the gate and the key-material path note meanwhile.
pub async fn recorded<F: Future>(f: F) -> (F::Output, Recorded) {
    RECORDED
        .scope(RefCell::new(Recorded::default()), async move {
            let out = f.await;
            (out, RECORDED.with(|r| r.take()))
        })
        .await
}

fn note(f: impl FnOnce(&mut Recorded)) {
    // Outside a scope there is nobody to tell.
    let _ = RECORDED.try_with(|r| f(&mut r.borrow_mut()));
}

fn push_once(list: &mut Vec<String>, value: &str) {
    if list.len() < MAX_RESOURCES && !list.iter().any(|v| v == value) {
        list.push(value.to_string());
    }
}

/// A key or alias ARN the call is being authorized on (noted before the decision, so that a
/// refused call names what it was refused on).
pub(crate) fn note_resource(arn: &str) {
    note(|r| push_once(&mut r.resources, arn));
}

/// A key material the call used.
pub(crate) fn note_material(material_id: &str) {
    note(|r| push_once(&mut r.key_material_ids, material_id));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn notes_are_collected_in_their_scope_only() {
        note_resource("outside");
        let ((), inside) = recorded(async {
            note_resource("arn:a");
            tokio::task::yield_now().await;
            note_resource("arn:b");
            note_resource("arn:a");
            note_material("m1");
        })
        .await;
        assert_eq!(inside.resources, ["arn:a", "arn:b"]);
        assert_eq!(inside.key_material_ids, ["m1"]);
        let ((), empty) = recorded(async {}).await;
        assert_eq!(empty, Recorded::default());
    }
}
