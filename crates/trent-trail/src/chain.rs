//! The audit trail's integrity. Every line is a JSON object carrying its node, its sequence
//! number on that node, and the SHA-256 digest of the line written before it, so that
//! changing, inserting, reordering or deleting a line breaks a link; a checkpoint line also
//! carries a MAC over that digest with a key derived from the keyring (so reachable only
//! through the root key), which authenticates everything before it. Pure: the file I/O is
//! the binary's. docs/audit.md says what this can and cannot detect.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use trent_crypto::Keyring;

/// Signs and checks checkpoints.
pub trait CheckpointKey: Send + Sync {
    fn mac(&self, message: &[u8]) -> [u8; 32];
    fn verify(&self, message: &[u8], tag: &[u8]) -> bool;
}

impl CheckpointKey for Keyring {
    fn mac(&self, message: &[u8]) -> [u8; 32] {
        self.audit_checkpoint_mac(message)
    }
    fn verify(&self, message: &[u8], tag: &[u8]) -> bool {
        self.verify_audit_checkpoint(message, tag)
    }
}

/// A checkpoint: when it was made, and the MAC over the chain up to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    pub time: String,
    pub mac: String,
}

/// One line of the trail: a record or a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    pub node: String,
    pub sequence: u64,
    pub previous_digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<Value>,
    /// A call in its compact form (`crate::record::Call`), rendered when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<Checkpoint>,
}

/// The digest a line is linked by: SHA-256 of its bytes (without the newline), in hex.
pub fn digest(line: &str) -> String {
    let mut text = String::with_capacity(64);
    push_digest(line, &mut text);
    text
}

/// `digest(line)` appended to `out`: hex into place (`hex::encode` goes char by char).
fn push_digest(line: &str, out: &mut String) {
    let mut hex = [0u8; 64];
    // The buffer is exactly twice the digest's length, so encoding cannot fail, and hex
    // digits are ASCII.
    let _ = hex::encode_to_slice(trent_crypto::sha256(line.as_bytes()), &mut hex);
    out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
}

/// What the first line of a node's trail links to.
pub fn genesis(node: &str) -> String {
    digest(&format!("trent/v1/audit-genesis\0{node}"))
}

fn checkpoint_message(node: &str, sequence: u64, previous: &str, time: &str) -> Vec<u8> {
    format!("trent/v1/audit-checkpoint\0{node}\0{sequence}\0{previous}\0{time}").into_bytes()
}

/// The writing end of one node's chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chain {
    node: String,
    /// `node` as a JSON string, made once (every line begins with it).
    node_json: String,
    next_sequence: u64,
    previous: String,
}

impl Chain {
    /// A new trail.
    pub fn start(node: &str) -> Self {
        Chain {
            node: node.to_string(),
            node_json: Value::from(node).to_string(),
            next_sequence: 1,
            previous: genesis(node),
        }
    }

    /// Goes on after `last`, the last complete line of the trail; `None` if it is not a line
    /// of this node's trail.
    pub fn resume(node: &str, last: &str) -> Option<Self> {
        let line: Line = serde_json::from_str(last).ok()?;
        (line.node == node).then(|| Chain {
            node: node.to_string(),
            node_json: Value::from(node).to_string(),
            next_sequence: line.sequence + 1,
            previous: digest(last),
        })
    }

    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    fn append(&mut self, record: Option<Value>, checkpoint: Option<Checkpoint>) -> String {
        let line = Line {
            node: self.node.clone(),
            sequence: self.next_sequence,
            previous_digest: self.previous.clone(),
            record,
            call: None,
            checkpoint,
        };
        // A struct of strings, numbers and JSON values always serializes.
        let text = serde_json::to_string(&line).unwrap_or_default();
        self.next_sequence += 1;
        self.previous = digest(&text);
        text
    }

    /// The line of one record (without its newline).
    pub fn record(&mut self, record: Value) -> String {
        self.record_text(&record.to_string())
    }

    /// The line of one record already serialized as JSON (`record` must be one JSON object):
    /// the writer serializes it before taking its lock, so that only this and the digest
    /// run under it. The same bytes as `record` gives.
    pub fn record_text(&mut self, record: &str) -> String {
        let mut text = String::with_capacity(record.len() + 160);
        self.push_record_text(record, &mut text);
        text
    }

    /// `record_text`, appended to `out` (the writer's batch) without a copy of its own.
    pub fn push_record_text(&mut self, record: &str, out: &mut String) {
        self.push_member("record", record, out);
    }

    /// The line of a sink's entry (a compact call under `call`, a record under `record`),
    /// appended to `out`.
    pub fn push_entry(&mut self, entry: &crate::record::Entry, out: &mut String) {
        match entry {
            crate::record::Entry::Call(text) => self.push_member("call", text, out),
            crate::record::Entry::Record(text) => self.push_member("record", text, out),
        }
    }

    fn push_member(&mut self, member: &str, text: &str, out: &mut String) {
        use std::fmt::Write as _;
        let start = out.len();
        // Field order and spelling as `Line` serializes them.
        out.push_str("{\"node\":");
        out.push_str(&self.node_json);
        // Writing to a String cannot fail.
        let _ = write!(out, ",\"sequence\":{},\"previousDigest\":\"", self.next_sequence);
        out.push_str(&self.previous);
        out.push_str("\",\"");
        out.push_str(member);
        out.push_str("\":");
        out.push_str(text);
        out.push('}');
        self.next_sequence += 1;
        self.previous.clear();
        push_digest(&out[start..], &mut self.previous);
    }

    /// A checkpoint line at `time` (ISO 8601).
    pub fn checkpoint(&mut self, key: &dyn CheckpointKey, time: &str) -> String {
        let msg = checkpoint_message(&self.node, self.next_sequence, &self.previous, time);
        let mac = hex::encode(key.mac(&msg));
        self.append(None, Some(Checkpoint { time: time.to_string(), mac }))
    }
}

/// Where a verification found the trail broken: the file and line (from 1) and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub file: String,
    pub line: usize,
    pub what: String,
}

/// The result of verifying one node's trail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Verified {
    pub node: String,
    pub records: u64,
    pub checkpoints: u64,
    /// The sequence of the last checkpoint, and how many lines follow it (protected by the
    /// chain only: a truncation of them cannot be told from their never being written).
    pub last_checkpoint: Option<u64>,
    pub after_last_checkpoint: u64,
    /// The sequence the trail starts at when its older files were removed (it then starts
    /// with a checkpoint, whose MAC proves the chain that led to it).
    pub starts_at: Option<u64>,
    /// The sequence of the last line (0 when there is none).
    pub last_sequence: u64,
}

/// One line read from a file: the file's name, its line number and text.
pub struct Numbered {
    pub file: std::sync::Arc<str>,
    pub line: usize,
    pub text: String,
}

/// How far ahead a break is looked at to tell a reordering from a deletion: the lines are
/// streamed, so a trail of any size is verified in bounded memory.
const LOOKAHEAD: usize = 256;

fn sequence_of(text: &str) -> Option<u64> {
    serde_json::from_str::<Line>(text).ok().map(|l| l.sequence)
}

/// Verifies one node's trail, given its lines in the order of its files; stops at the first
/// break. `lines` must all belong to `node` (the caller groups by node).
pub fn verify(
    node: &str,
    lines: impl IntoIterator<Item = Numbered>,
    key: &dyn CheckpointKey,
) -> Result<Verified, Broken> {
    let mut lines = lines.into_iter();
    let mut window: std::collections::VecDeque<Numbered> = lines.by_ref().take(LOOKAHEAD).collect();
    let mut v = Verified { node: node.to_string(), ..Verified::default() };
    let mut expected = Chain::start(node);
    let broken =
        |n: &Numbered, what: String| Broken { file: n.file.to_string(), line: n.line, what };
    let mut before: Option<Numbered> = None;
    let mut first = true;
    while let Some(n) = window.pop_front() {
        window.extend(lines.by_ref().take(LOOKAHEAD + 1 - window.len().min(LOOKAHEAD + 1)));
        let Ok(line) = serde_json::from_str::<Line>(&n.text) else {
            return Err(broken(&n, "not a line of the trail (modified or inserted)".into()));
        };
        if line.node != node {
            return Err(broken(
                &n,
                format!("a line of node {} inside node {node}'s trail", line.node),
            ));
        }
        // A trail whose older files were removed starts with the checkpoint that began the
        // oldest kept file: its MAC (checked below) vouches for the chain before it.
        if first && line.sequence > 1 && line.checkpoint.is_some() {
            expected.next_sequence = line.sequence;
            expected.previous = line.previous_digest.clone();
            v.starts_at = Some(line.sequence);
        }
        first = false;
        if line.sequence != expected.next_sequence {
            let wanted = expected.next_sequence;
            let later = window.iter().any(|m| sequence_of(&m.text) == Some(wanted));
            let what = if line.sequence < wanted {
                format!(
                    "sequence {} again after {} (inserted or replayed)",
                    line.sequence,
                    wanted - 1
                )
            } else if later {
                format!(
                    "out of order: sequence {} where {wanted} was due (reordered)",
                    line.sequence
                )
            } else if wanted == 1 {
                format!("the trail starts at sequence {}: its beginning is missing", line.sequence)
            } else {
                format!("sequence {wanted} to {} missing (deleted)", line.sequence - 1)
            };
            return Err(broken(&n, what));
        }
        if line.previous_digest != expected.previous {
            // This line's link is intact in form but does not match the line before: that line
            // was changed (or, for the first line, the trail does not start here).
            return Err(match &before {
                None => broken(&n, "does not link to the start of the trail".into()),
                Some(b) => {
                    broken(b, "modified (the next line's digest link does not match it)".into())
                }
            });
        }
        match (line.record.is_some() || line.call.is_some(), &line.checkpoint) {
            (true, None) => {
                v.records += 1;
                v.after_last_checkpoint += 1;
            }
            (false, Some(c)) => {
                let msg = checkpoint_message(node, line.sequence, &line.previous_digest, &c.time);
                let tag = hex::decode(&c.mac).unwrap_or_default();
                if !key.verify(&msg, &tag) {
                    return Err(broken(
                        &n,
                        "checkpoint MAC is not valid (forged or modified)".into(),
                    ));
                }
                v.checkpoints += 1;
                v.last_checkpoint = Some(line.sequence);
                v.after_last_checkpoint = 0;
            }
            _ => return Err(broken(&n, "neither a record nor a checkpoint".into())),
        }
        expected.next_sequence = line.sequence + 1;
        expected.previous = digest(&n.text);
        before = Some(n);
    }
    v.last_sequence = expected.next_sequence.saturating_sub(1);
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keyring() -> Keyring {
        Keyring::new(&trent_crypto::Secret::from_slice(&[7; 32])).unwrap()
    }

    /// A trail of five records with a checkpoint after the third.
    fn trail(key: &Keyring) -> Vec<String> {
        let mut c = Chain::start("n1");
        let mut out = Vec::new();
        for i in 0..5 {
            out.push(c.record(json!({ "eventName": format!("Op{i}") })));
            if i == 2 {
                out.push(c.checkpoint(key, "2026-12-01T00:00:00Z"));
            }
        }
        out
    }

    fn check(lines: &[String], key: &Keyring) -> Result<Verified, Broken> {
        let numbered = lines.iter().enumerate().map(|(i, t)| Numbered {
            file: "audit.log".into(),
            line: i + 1,
            text: t.clone(),
        });
        verify("n1", numbered, key)
    }

    #[test]
    fn an_intact_trail_verifies_and_says_what_follows_the_last_checkpoint() {
        let key = keyring();
        let v = check(&trail(&key), &key).unwrap();
        assert_eq!(
            (v.records, v.checkpoints, v.last_checkpoint, v.after_last_checkpoint),
            (5, 1, Some(4), 2)
        );
    }

    #[test]
    fn each_kind_of_tampering_names_its_line() {
        let key = keyring();
        let t = trail(&key);
        let mut modified = t.clone();
        modified[1] = modified[1].replace("Op1", "Op9");
        assert_eq!(check(&modified, &key).unwrap_err().line, 2);
        let mut deleted = t.clone();
        deleted.remove(2);
        let e = check(&deleted, &key).unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.what.contains("deleted"), "{e:?}");
        let mut swapped = t.clone();
        swapped.swap(1, 2);
        let e = check(&swapped, &key).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.what.contains("reordered"), "{e:?}");
        let mut inserted = t.clone();
        inserted.insert(3, t[2].clone());
        assert!(check(&inserted, &key).unwrap_err().what.contains("inserted"));
        let mut head = t.clone();
        head.remove(0);
        assert!(check(&head, &key).unwrap_err().what.contains("beginning is missing"));
        // Cut just before a checkpoint (older files removed): it verifies from there.
        let from_checkpoint = t[3..].to_vec();
        assert_eq!(check(&from_checkpoint, &key).unwrap().starts_at, Some(4));
        let mut garbage = t.clone();
        garbage[4] = "{not json".into();
        assert_eq!(check(&garbage, &key).unwrap_err().line, 5);
    }

    #[test]
    fn a_long_trail_is_streamed_and_a_break_deep_in_it_found() {
        let key = keyring();
        let mut c = Chain::start("n1");
        let t: Vec<String> = (0..1000).map(|i| c.record(json!({ "i": i }))).collect();
        assert_eq!(check(&t, &key).unwrap().records, 1000);
        let mut swapped = t.clone();
        swapped.swap(600, 601);
        let e = check(&swapped, &key).unwrap_err();
        assert_eq!((e.line, e.what.contains("reordered")), (601, true), "{e:?}");
        let mut deleted = t.clone();
        deleted.remove(700);
        let e = check(&deleted, &key).unwrap_err();
        assert_eq!((e.line, e.what.contains("deleted")), (701, true), "{e:?}");
    }

    #[test]
    fn a_record_serialized_first_makes_the_same_line() {
        let mut a = Chain::start("n\"1");
        let mut b = a.clone();
        let r = json!({ "eventName": "Encrypt", "x": [1, 2] });
        let line = a.record(r.clone());
        assert_eq!(line, b.append(Some(r), None));
        let parsed: Line = serde_json::from_str(&line).unwrap();
        assert_eq!((parsed.node.as_str(), parsed.sequence), ("n\"1", 1));
        // Appended to a batch, a line is the same, and only it is digested.
        let r = json!({ "eventName": "Decrypt" });
        let mut batch = String::from("an earlier line\n");
        a.push_record_text(&r.to_string(), &mut batch);
        assert_eq!(&batch["an earlier line\n".len()..], b.append(Some(r), None));
        assert_eq!(a, b);
    }

    #[test]
    fn a_checkpoint_needs_the_key() {
        let key = keyring();
        let other = Keyring::new(&trent_crypto::Secret::from_slice(&[8; 32])).unwrap();
        let e = check(&trail(&key), &other).unwrap_err();
        assert_eq!(e.line, 4);
        assert!(e.what.contains("MAC"), "{e:?}");
    }

    #[test]
    fn a_resumed_chain_continues_the_links() {
        let key = keyring();
        let mut t = trail(&key);
        let mut c = Chain::resume("n1", t.last().unwrap()).unwrap();
        assert_eq!(c.next_sequence(), 7);
        t.push(c.record(json!({ "eventName": "Later" })));
        assert_eq!(check(&t, &key).unwrap().records, 6);
        assert!(Chain::resume("n2", &t[0]).is_none());
    }
}
