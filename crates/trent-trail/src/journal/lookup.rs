//! `LookupEvents`. On one node (`FileTrail`), over this node's audit files: lines read
//! backwards from the newest file, so the newest records come first and a query stops as soon
//! as it has its page. A lookup scans at most `SCAN_BUDGET` bytes; past that it answers what
//! it found with a `NextToken`, so no query can make the server read the whole trail at once.
//! On a cluster (`StoreTrail`, PostgreSQL), over every node's records copied to the store:
//! each node copies its journal every second, and before it answers a lookup (so a caller
//! sees its own calls at once, and every node's within a second).

use super::file::trail_files;
use super::reader::JournalReader;
use super::EntryLine;
use crate::lookup::{matches, LookupError, LookupPage, LookupQuery, TrailReader};
use crate::Journal as _;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::PathBuf;

const SCAN_BUDGET: usize = 32 << 20;
const CHUNK: u64 = 64 << 10;

/// The lines of a file, last first.
struct Backwards {
    file: File,
    pos: u64,
    /// The start of the chunk read last: a line that may go on in the chunk before it.
    carry: Vec<u8>,
    lines: Vec<Vec<u8>>,
}

impl Backwards {
    fn open(path: &PathBuf) -> std::io::Result<Self> {
        let mut file = File::open(path)?;
        let pos = file.seek(SeekFrom::End(0))?;
        Ok(Backwards { file, pos, carry: Vec::new(), lines: Vec::new() })
    }
}

impl Iterator for Backwards {
    type Item = Vec<u8>;

    fn next(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(l) = self.lines.pop() {
                return Some(l);
            }
            if self.pos == 0 {
                return (!self.carry.is_empty()).then(|| std::mem::take(&mut self.carry));
            }
            let n = CHUNK.min(self.pos);
            self.pos -= n;
            let mut chunk = vec![0u8; n as usize];
            self.file.seek(SeekFrom::Start(self.pos)).ok()?;
            self.file.read_exact(&mut chunk).ok()?;
            chunk.append(&mut self.carry);
            let mut pieces: Vec<Vec<u8>> =
                chunk.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
            // The first piece may begin in the chunk before.
            self.carry = pieces.remove(0);
            self.lines = pieces.into_iter().filter(|l| !l.is_empty()).collect();
        }
    }
}

pub struct FileTrail {
    pub dir: PathBuf,
}

impl TrailReader for FileTrail {
    fn lookup(&self, q: &LookupQuery) -> Result<LookupPage, LookupError> {
        let mut page = LookupPage::default();
        let mut scanned = 0usize;
        for path in trail_files(&self.dir).into_iter().rev() {
            let lines = Backwards::open(&path)
                .map_err(|e| LookupError(Box::new(super::JournalError::io("read", &path)(e))))?;
            for text in lines {
                scanned += text.len() + 1;
                let Some(line) = std::str::from_utf8(&text).ok().and_then(EntryLine::parse) else {
                    continue;
                };
                if q.before_sequence.is_some_and(|b| line.sequence >= b) {
                    continue;
                }
                if scanned > SCAN_BUDGET {
                    page.next_before_sequence = Some(line.sequence + 1);
                    return Ok(page);
                }
                let record = line.record().and_then(|r| serde_json::from_str(&r).ok());
                let Some(record): Option<serde_json::Value> = record else { continue };
                // An expiry notice (EventBridge's shape, no eventTime) is in the trail but is
                // not a CloudTrail event.
                let Some(time) = record["eventTime"].as_str() else { continue };
                // Newest first: once older than the start, so is everything after.
                if q.start.as_deref().is_some_and(|s| time < s) {
                    return Ok(page);
                }
                if matches(&record, q) {
                    page.records.push(record);
                    if page.records.len() >= q.max_results {
                        page.next_before_sequence = Some(line.sequence);
                        return Ok(page);
                    }
                }
            }
        }
        Ok(page)
    }
}

/// Rows read from the store per query, and at most per lookup before it answers with a
/// `NextToken`.
const STORE_BATCH: i64 = 500;
const STORE_SCAN_BUDGET: usize = 20_000;
/// Records copied per store write.
const SHIP_BATCH: usize = 2_000;
/// CloudTrail's event history: 90 days.
const HISTORY_MS: i64 = 90 * 86_400_000;

/// Every node's records, from the store (several nodes on one PostgreSQL).
pub struct StoreTrail {
    pub store: std::sync::Arc<dyn trent_store::Store>,
    pub journal: std::sync::Arc<JournalReader>,
    pub node: String,
    /// Lookups run on blocking threads: they wait for the store on this runtime.
    pub runtime: tokio::runtime::Handle,
}

fn store_error(e: trent_store::StoreError) -> LookupError {
    LookupError(Box::new(e))
}

impl StoreTrail {
    /// Copies this node's journal records not yet in the store.
    pub async fn ship(&self) -> Result<usize, LookupError> {
        let mut shipped = 0;
        let mut after = self.store.shipped_through(&self.node).await.map_err(store_error)?;
        loop {
            let journal = self.journal.clone();
            let from = after.map(|a| a as u64);
            let records =
                tokio::task::spawn_blocking(move || journal.records_after(from, SHIP_BATCH))
                    .await
                    .map_err(|e| LookupError(Box::new(e)))?
                    .map_err(|e| LookupError(Box::new(e)))?;
            let Some(last) = records.last().map(|r| r.sequence as i64) else { return Ok(shipped) };
            let full = records.len() >= SHIP_BATCH;
            shipped += records.len();
            let events = records
                .into_iter()
                .map(|r| trent_store::TrailEvent {
                    node: self.node.clone(),
                    sequence: r.sequence as i64,
                    account: r.account,
                    event_time_ms: r.time_ms,
                    record: r.json,
                })
                .collect();
            self.store.ship_events(events).await.map_err(store_error)?;
            after = Some(last);
            if !full {
                return Ok(shipped);
            }
        }
    }

    /// Copies the journal every second and forgets records past CloudTrail's 90 days.
    pub async fn run(self: std::sync::Arc<Self>, now_ms: impl Fn() -> i64) {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(1));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut pruned_at: Option<i64> = None;
        loop {
            every.tick().await;
            if let Err(e) = self.ship().await {
                tracing::warn!(error = %trent_types::error_chain(&e), "copying the journal to the store failed; retried in a second");
            }
            let now = now_ms();
            if pruned_at.is_none_or(|at| now.saturating_sub(at) > 3_600_000) {
                pruned_at = Some(now);
                if let Err(e) = self.store.prune_events(now - HISTORY_MS).await {
                    tracing::warn!(error = %e, "pruning the store's event history failed");
                }
            }
        }
    }

    async fn lookup_async(&self, q: &LookupQuery) -> Result<LookupPage, LookupError> {
        self.ship().await?;
        let mut page = LookupPage::default();
        let mut before = q.before_sequence.map(|b| b as i64);
        let mut scanned = 0;
        loop {
            let rows = self
                .store
                .events_before(&q.account, before, STORE_BATCH)
                .await
                .map_err(store_error)?;
            let full = rows.len() as i64 == STORE_BATCH;
            for (id, text) in rows {
                before = Some(id);
                scanned += 1;
                let Ok(record) = serde_json::from_str::<serde_json::Value>(&text) else {
                    continue;
                };
                if matches(&record, q) {
                    page.records.push(record);
                    if page.records.len() >= q.max_results {
                        page.next_before_sequence = Some(id as u64);
                        return Ok(page);
                    }
                }
            }
            if !full {
                return Ok(page);
            }
            if scanned >= STORE_SCAN_BUDGET {
                page.next_before_sequence = before.map(|b| b as u64);
                return Ok(page);
            }
        }
    }
}

impl TrailReader for StoreTrail {
    fn lookup(&self, q: &LookupQuery) -> Result<LookupPage, LookupError> {
        // Called on a blocking thread (cloudtrail.rs), where waiting on the runtime is allowed.
        self.runtime.block_on(self.lookup_async(q))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_last_first_across_chunks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let lines: Vec<String> =
            (0..5000).map(|i| format!("line {i} {}", "x".repeat(i % 97))).collect();
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        let back: Vec<String> =
            Backwards::open(&path).unwrap().map(|l| String::from_utf8(l).unwrap()).collect();
        let mut expected = lines.clone();
        expected.reverse();
        assert_eq!(back, expected);
    }

    #[test]
    fn an_expiry_notice_in_the_trail_does_not_end_a_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let mut chain = crate::chain::Chain::start("n");
        let call = serde_json::json!({
            "eventTime": "2026-12-01T10:00:00Z", "eventName": "ImportKeyMaterial",
            "recipientAccountId": "111122223333",
        });
        let notice = serde_json::json!({ "detail-type": "KMS Imported Key Material Expiration" });
        let text = format!("{}\n{}\n", chain.record(call.clone()), chain.record(notice));
        std::fs::write(dir.path().join("audit.log"), text).unwrap();
        let q = LookupQuery {
            account: "111122223333".into(),
            attribute: None,
            start: Some("2026-12-01T00:00:00Z".into()),
            end: None,
            max_results: 50,
            before_sequence: None,
        };
        let page = FileTrail { dir: dir.path().to_path_buf() }.lookup(&q).unwrap();
        assert_eq!(page.records, [call]);
    }
}
