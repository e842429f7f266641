//! `trent audit verify`: checks the audit trail's chain and checkpoints, file by file, node
//! by node, and names the first line that was modified, inserted, reordered or deleted. The
//! checkpoint key comes from the keyring (so the root key, or the HSM holding it, is needed).
//! When a server holds the data directory, it verifies its own trail (admin socket).

use crate::audit_file::trail_files;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use trent_core::audit::chain::{self, CheckpointKey, Line, Numbered};

/// Verifies `files` (oldest first); the report as JSON: every node's counts, and the first
/// break, if any.
pub fn verify_files(files: &[PathBuf], key: &dyn CheckpointKey) -> Result<Value, String> {
    let mut texts = Vec::new();
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        texts.push((f.display().to_string(), text));
    }
    // Lines by node, in file order: each node's chain is verified on its own.
    let mut nodes: Vec<(String, Vec<Numbered<'_>>)> = Vec::new();
    for (file, text) in &texts {
        // A last line without its newline is being written (or was cut by a crash): it is
        // not part of the trail yet.
        let complete = text.rfind('\n').map(|i| &text[..=i]).unwrap_or("");
        for (i, line) in complete.lines().enumerate() {
            let node = serde_json::from_str::<Line>(line).map(|l| l.node).unwrap_or_default();
            let n = Numbered { file, line: i + 1, text: line };
            match nodes.iter_mut().find(|(name, _)| *name == node) {
                Some((_, lines)) => lines.push(n),
                None => nodes.push((node, vec![n])),
            }
        }
    }
    let mut report = Vec::new();
    for (node, lines) in nodes {
        match chain::verify(&node, lines, key) {
            Ok(v) => report.push(json!({
                "node": v.node,
                "records": v.records,
                "checkpoints": v.checkpoints,
                "lastCheckpoint": v.last_checkpoint,
                "afterLastCheckpoint": v.after_last_checkpoint,
                "startsAt": v.starts_at,
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
pub fn verify_dir(dir: &Path, key: &dyn CheckpointKey) -> Result<Value, String> {
    let files = trail_files(dir);
    if files.is_empty() {
        return Err(format!("{} has no audit trail", dir.display()));
    }
    verify_files(&files, key)
}

/// The report in words; whether the trail is intact.
pub fn print(report: &Value) -> bool {
    for n in report["nodes"].as_array().into_iter().flatten() {
        let after = n["afterLastCheckpoint"].as_u64().unwrap_or(0);
        let last = match n["lastCheckpoint"].as_u64() {
            Some(s) => format!("last checkpoint at sequence {s}"),
            None => "no checkpoint yet".into(),
        };
        println!(
            "node {}: {} records, {} checkpoints, {last}; {after} lines after it are protected by the chain only",
            n["node"].as_str().unwrap_or(""),
            n["records"],
            n["checkpoints"],
        );
        if let Some(s) = n["startsAt"].as_u64() {
            println!(
                "  (its older files were removed: it starts at the checkpoint of sequence {s})"
            );
        }
    }
    match report.get("broken").filter(|b| !b.is_null()) {
        None => {
            println!("intact");
            true
        }
        Some(b) => {
            println!(
                "BROKEN: node {}: {} line {}: {}",
                b["node"].as_str().unwrap_or(""),
                b["file"].as_str().unwrap_or(""),
                b["line"],
                b["what"].as_str().unwrap_or("")
            );
            false
        }
    }
}
