//! The journal checked (`trent audit verify`): its chain and checkpoints, file by file, node
//! by node, naming the first line that was modified, inserted, reordered or deleted; then
//! against the store (a node it never knew, lines cut before they were delivered). The
//! checkpoint key comes from the keyring (so the root key, or the HSM holding it, is needed).

use super::file::trail_files;
use super::JournalError;
use crate::chain::{self, CheckpointKey, Line, Numbered};
use serde_json::{json, Value};
use std::cell::RefCell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;

/// The complete lines of a file, numbered: a last line without its newline is being written
/// (or was cut by a crash) and is not part of the trail yet. Read as a stream; a read error
/// ends the lines and is kept in `error`.
fn file_lines(
    path: &Path,
    error: Rc<RefCell<Option<JournalError>>>,
) -> Result<impl Iterator<Item = Numbered>, JournalError> {
    let file = File::open(path).map_err(JournalError::io("read", path))?;
    let owned = path.to_path_buf();
    let name: Arc<str> = path.display().to_string().into();
    let mut reader = BufReader::new(file);
    let mut number = 0;
    Ok(std::iter::from_fn(move || {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => None,
            Ok(_) if buf.last() != Some(&b'\n') => None,
            Ok(_) => {
                buf.pop();
                number += 1;
                let text = String::from_utf8_lossy(&buf).into_owned();
                Some(Numbered { file: name.clone(), line: number, text })
            }
            Err(e) => {
                *error.borrow_mut() = Some(JournalError::io("read", &owned)(e));
                None
            }
        }
    }))
}

/// The node a trail file belongs to: that of its first line.
fn node_of(path: &Path) -> Option<String> {
    let mut first = String::new();
    BufReader::new(File::open(path).ok()?.take(1 << 20)).read_line(&mut first).ok()?;
    serde_json::from_str::<Line>(first.trim_end()).ok().map(|l| l.node)
}

/// Verifies `files` (oldest first), each node's files as one chain, streamed; the report as
/// JSON: every node's counts, and the first break, if any.
pub fn verify_files(files: &[PathBuf], key: &dyn CheckpointKey) -> Result<Value, JournalError> {
    let mut nodes: Vec<(String, Vec<&PathBuf>)> = Vec::new();
    for f in files {
        // An empty file (a live file just rotated) has nothing to verify.
        if std::fs::metadata(f).is_ok_and(|m| m.len() == 0) {
            continue;
        }
        let node = node_of(f).unwrap_or_default();
        match nodes.iter_mut().find(|(n, _)| *n == node) {
            Some((_, fs)) => fs.push(f),
            None => nodes.push((node, vec![f])),
        }
    }
    let mut report = Vec::new();
    for (node, paths) in nodes {
        let error = Rc::new(RefCell::new(None));
        let mut streams = Vec::new();
        for p in paths {
            streams.push(file_lines(p, error.clone())?);
        }
        let verified = chain::verify(&node, streams.into_iter().flatten(), key);
        if let Some(e) = error.borrow_mut().take() {
            return Err(e);
        }
        match verified {
            Ok(v) => report.push(json!({
                "node": v.node,
                "records": v.records,
                "checkpoints": v.checkpoints,
                "lastCheckpoint": v.last_checkpoint,
                "afterLastCheckpoint": v.after_last_checkpoint,
                "startsAt": v.starts_at,
                "lastSequence": v.last_sequence,
            })),
            Err(b) => {
                return Ok(json!({
                    "nodes": report,
                    "broken": { "node": node, "file": b.file, "line": b.line, "what": b.what },
                }))
            }
        }
    }
    Ok(json!({ "nodes": report, "broken": null }))
}

/// The trail of a data directory.
pub fn verify_dir(dir: &Path, key: &dyn CheckpointKey) -> Result<Value, JournalError> {
    let files = trail_files(dir);
    if files.is_empty() {
        return Err(JournalError::NoTrail(dir.to_path_buf()));
    }
    verify_files(&files, key)
}

/// The report checked against the store: every node's journal is one a server of this store
/// wrote (a journal made up for another node, however well chained, is not), and it still
/// holds every line not yet delivered (`--trail-bucket`, `--trail-dir`): a tail cut below
/// what was delivered, or older files removed before they were delivered, is a break.
pub async fn against_store(
    mut report: Value,
    store: &dyn trent_store::Store,
) -> Result<Value, JournalError> {
    if !report["broken"].is_null() {
        return Ok(report);
    }
    let nodes = report["nodes"].as_array().cloned().unwrap_or_default();
    for n in nodes {
        let node = n["node"].as_str().unwrap_or_default();
        let broken = |what: String| json!({ "node": node, "file": "", "line": 0, "what": what });
        if !crate::nodes::known(store, node).await? {
            report["broken"] = broken(
                "this node is unknown to the store: no server of this store ever wrote as it"
                    .into(),
            );
            return Ok(report);
        }
        let Some(delivered) = store.packaged_through(node).await? else { continue };
        let delivered = delivered as u64;
        let last = n["lastSequence"].as_u64().unwrap_or(0);
        if last < delivered {
            report["broken"] = broken(format!(
                "the journal ends at sequence {last}, but lines up to {delivered} were delivered: its newest lines were deleted"
            ));
            return Ok(report);
        }
        if let Some(start) = n["startsAt"].as_u64().filter(|s| *s > delivered + 1) {
            report["broken"] = broken(format!(
                "sequence {} to {} are gone: removed from the journal before they were delivered",
                delivered + 1,
                start - 1
            ));
            return Ok(report);
        }
    }
    Ok(report)
}
