//! The audit trail of `trent serve`: `DATA_DIR/audit.log`, JSON lines (mode 0600) chained by
//! digests with signed checkpoints (`crate::chain`), rotated by size and age
//! into `audit-<first sequence>.log` without breaking the chain. A write that fails is
//! reported to the caller (the server then fails the call, unless it runs fail-open) and
//! leaves the file and the chain as they were. docs/audit.md.

use super::JournalError;
use crate::chain::{Chain, CheckpointKey};
use crate::record::Entry;
use crate::sink::{AuditError, AuditSink, AuditWrite};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

pub const LIVE_FILE: &str = "audit.log";

/// When the trail is checkpointed and rotated.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// This node's name in every line.
    pub node: String,
    /// A checkpoint after this many records...
    pub checkpoint_every: u64,
    /// ...or this long after the last one, if anything was written since (also fsync).
    pub checkpoint_interval: Duration,
    /// The live file is rotated past this size...
    pub max_bytes: u64,
    /// ...or this age.
    pub max_age: Duration,
    /// Rotated files kept (the oldest beyond are deleted); `None` keeps them all.
    pub keep_files: Option<usize>,
}

struct Writer {
    dir: PathBuf,
    file: File,
    chain: Chain,
    /// The first sequence of the live file (it names the file when rotated).
    first_sequence: u64,
    bytes: u64,
    opened: Instant,
    since_checkpoint: u64,
    last_checkpoint: Instant,
    /// Lines written since the last fsync (done by `tick`, off the request path).
    unsynced: bool,
    /// Files rotated since the last tick, to be fsynced by it: a rotation on the request
    /// path must not wait for 100 MB to reach the disk (it held every call for tens of ms).
    rotated: Vec<File>,
    /// A rotation left more files than `keep_files`: `tick` deletes the oldest.
    prune_due: bool,
}

pub struct FileAudit {
    /// This trail, for the flush task a record spawns (see `record`).
    me: Weak<FileAudit>,
    /// Taken by the one call writing (and by `tick`), never waited for by the others.
    writer: Mutex<Writer>,
    /// Records handed in while a write is under way: whoever writes takes them all into its
    /// next write(2). Held only to push or take, so that no request thread blocks on a
    /// thread preempted in the middle of a write (on two cores that made the p99 of an
    /// Encrypt 30 ms, where without the trail it is 2 ms).
    queue: Mutex<Queue>,
    key: Arc<dyn CheckpointKey>,
    options: AuditOptions,
    /// With delivery (`--trail-bucket`, `--trail-dir`): the last sequence delivered; a
    /// rotated file is removed (`--audit-keep-files`) only once all its lines were.
    delivered_through: std::sync::OnceLock<Arc<std::sync::atomic::AtomicU64>>,
}

type Reply = tokio::sync::oneshot::Sender<Result<(), AuditError>>;

#[derive(Default)]
struct Queue {
    /// A call is writing: a record handed in now waits in `pending` for it.
    writing: bool,
    /// A flush task is spawned and will take `pending`.
    flush_due: bool,
    pending: Vec<(Entry, Reply)>,
    /// write(2)s of records so far (each holds one record or a batch).
    writes: u64,
}

fn open_append(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).read(true).mode(0o600).open(path)
}

/// The last complete line of `file` and where the complete lines end (a line cut by a crash
/// has no newline and is dropped).
fn last_line(file: &mut File) -> std::io::Result<(Option<String>, u64)> {
    let len = file.seek(SeekFrom::End(0))?;
    let start = len.saturating_sub(1 << 20);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    // Bounded: a device in place of the file (a test's /dev/full) reads without end.
    file.take(1 << 20).read_to_end(&mut tail)?;
    let Some(end) = tail.iter().rposition(|b| *b == b'\n') else { return Ok((None, start)) };
    let before = tail[..end].iter().rposition(|b| *b == b'\n').map(|i| i + 1).unwrap_or(0);
    let line = String::from_utf8_lossy(&tail[before..end]).into_owned();
    Ok((Some(line), start + end as u64 + 1))
}

pub fn first_sequence_of(path: &Path) -> Option<u64> {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(File::open(path).ok()?.take(1 << 20)).read_line(&mut line).ok()?;
    serde_json::from_str::<crate::chain::Line>(line.trim_end()).ok().map(|l| l.sequence)
}

/// The trail's files in a directory, oldest first: rotated ones by their first sequence,
/// then the live file.
pub fn trail_files(dir: &Path) -> Vec<PathBuf> {
    let mut rotated: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let seq = name.strip_prefix("audit-")?.strip_suffix(".log")?.parse().ok()?;
            Some((seq, e.path()))
        })
        .collect();
    rotated.sort();
    let mut out: Vec<PathBuf> = rotated.into_iter().map(|(_, p)| p).collect();
    let live = dir.join(LIVE_FILE);
    if live.exists() {
        out.push(live);
    }
    out
}

impl FileAudit {
    /// Opens (or starts) the trail in `dir`, going on from its last line. A file that is not
    /// this node's chain (an older format, another node id) is set aside as
    /// `audit-legacy-<time>.log` and a new chain begins.
    pub fn open(
        dir: &Path,
        key: Arc<dyn CheckpointKey>,
        options: AuditOptions,
    ) -> Result<Arc<Self>, JournalError> {
        let path = dir.join(LIVE_FILE);
        let mut file = open_append(&path).map_err(JournalError::io("open", &path))?;
        let (last, complete) = last_line(&mut file).map_err(JournalError::io("read", &path))?;
        let len = file.metadata().map_err(JournalError::io("read", &path))?.len();
        if complete < len {
            tracing::warn!(file = %path.display(), bytes = len - complete, "dropping a line cut by a crash at the end of the audit trail");
            file.set_len(complete).map_err(JournalError::io("truncate", &path))?;
        }
        // After a rotation the live file may be new; the chain then goes on from the newest
        // rotated file.
        let previous = match &last {
            Some(l) => Some(l.clone()),
            None => trail_files(dir)
                .into_iter()
                .rev()
                .find(|p| *p != path)
                .and_then(|p| File::open(&p).ok())
                .and_then(|mut f| last_line(&mut f).ok())
                .and_then(|(l, _)| l),
        };
        let (chain, mut file) = match previous.as_deref().map(|l| Chain::resume(&options.node, l)) {
            None => (Chain::start(&options.node), file),
            Some(Some(chain)) => (chain, file),
            Some(None) => {
                let aside = dir.join(format!(
                    "audit-legacy-{}.log",
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map(|d| d.as_secs())
                        .unwrap_or(0)
                ));
                drop(file);
                std::fs::rename(&path, &aside).map_err(JournalError::io("set aside", &path))?;
                tracing::warn!(file = %aside.display(), "the audit trail was not this node's chain; set aside, a new chain begins");
                let file = open_append(&path).map_err(JournalError::io("open", &path))?;
                (Chain::start(&options.node), file)
            }
        };
        let bytes = file.seek(SeekFrom::End(0)).map_err(JournalError::io("read", &path))?;
        let first_sequence = first_sequence_of(&path).unwrap_or(chain.next_sequence());
        let writer = Writer {
            dir: dir.to_path_buf(),
            file,
            chain,
            first_sequence,
            bytes,
            opened: Instant::now(),
            since_checkpoint: 0,
            last_checkpoint: Instant::now(),
            unsynced: false,
            rotated: Vec::new(),
            prune_due: false,
        };
        Ok(Arc::new_cyclic(|me| FileAudit {
            me: me.clone(),
            writer: Mutex::new(writer),
            queue: Mutex::default(),
            key,
            options,
            delivered_through: std::sync::OnceLock::new(),
        }))
    }

    /// Keeps every rotated file until the delivery has its lines (`delivered` is the last
    /// sequence delivered, 0 before the first).
    pub fn keep_until_delivered(&self, delivered: Arc<std::sync::atomic::AtomicU64>) {
        let _ = self.delivered_through.set(delivered);
    }

    fn writer(&self) -> Result<std::sync::MutexGuard<'_, Writer>, AuditError> {
        self.writer.lock().map_err(|_| AuditError::Writer("the audit trail's lock is poisoned"))
    }

    /// Writes a checkpoint now if anything was written since the last one and it is time,
    /// rotates the file if it is old enough, and fsyncs what was written (the server calls
    /// this every few seconds on a blocking thread, and at shutdown).
    pub fn tick(&self, closing: bool) -> Result<(), AuditError> {
        if closing {
            // Records whose flush task has not run yet (the runtime is about to stop).
            self.drain(false);
        }
        let mut w = self.writer()?;
        let due = closing || w.last_checkpoint.elapsed() >= self.options.checkpoint_interval;
        if w.since_checkpoint > 0 && due {
            w.checkpoint(self.key.as_ref())?;
        }
        if !closing && w.opened.elapsed() >= self.options.max_age && w.bytes > 0 {
            w.rotate(self.key.as_ref())?;
        }
        // The fsyncs and deletions run without the lock (on a second handle of the live
        // file), so that records go on being written meanwhile.
        let live = match w.unsynced {
            true => Some(w.file.try_clone()?),
            false => None,
        };
        w.unsynced = false;
        let rotated = std::mem::take(&mut w.rotated);
        let prune_in = std::mem::take(&mut w.prune_due).then(|| w.dir.clone());
        drop(w);
        for file in rotated.iter().chain(&live) {
            file.sync_data()?;
        }
        if let (Some(dir), Some(keep)) = (prune_in, self.options.keep_files) {
            let floor =
                self.delivered_through.get().map(|d| d.load(std::sync::atomic::Ordering::Acquire));
            prune(&dir, keep, floor);
        }
        Ok(())
    }
}

fn now_text() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    crate::time::iso(ms)
}

impl Writer {
    /// Appends one line, or leaves file and chain as they were.
    fn append(&mut self, make: impl FnOnce(&mut Chain) -> String) -> Result<(), AuditError> {
        let before = self.chain.clone();
        let mut line = make(&mut self.chain);
        line.push('\n');
        self.write(&line).inspect_err(|_| self.chain = before)
    }

    /// Writes whole lines in one write(2); on failure cuts off what part of them was written
    /// (a partial line would break the chain for every later one).
    fn write(&mut self, lines: &str) -> Result<(), AuditError> {
        if let Err(e) = self.file.write_all(lines.as_bytes()) {
            let _ = self.file.set_len(self.bytes);
            return Err(e.into());
        }
        self.bytes += lines.len() as u64;
        self.unsynced = true;
        Ok(())
    }

    /// Appends records (each one JSON object's text), with the checkpoints they make due,
    /// in one write; all or none of them.
    fn append_records(
        &mut self,
        records: &[Entry],
        key: &dyn CheckpointKey,
        options: &AuditOptions,
    ) -> Result<(), AuditError> {
        if self.bytes >= options.max_bytes {
            self.rotate(key)?;
        }
        let before = (self.chain.clone(), self.since_checkpoint, self.last_checkpoint);
        let size: usize = records
            .iter()
            .map(|r| match r {
                Entry::Call(t) | Entry::Record(t) => t.len() + 160,
            })
            .sum();
        let mut lines = String::with_capacity(size);
        for record in records {
            self.chain.push_entry(record, &mut lines);
            lines.push('\n');
            self.since_checkpoint += 1;
            if self.since_checkpoint >= options.checkpoint_every {
                lines.push_str(&self.chain.checkpoint(key, &now_text()));
                lines.push('\n');
                self.since_checkpoint = 0;
                self.last_checkpoint = Instant::now();
            }
        }
        self.write(&lines).inspect_err(|_| {
            (self.chain, self.since_checkpoint, self.last_checkpoint) = before;
        })
    }

    /// A checkpoint line; it reaches the disk at the next tick (within seconds), so that the
    /// request that happens to write it does not wait for an fsync.
    fn checkpoint(&mut self, key: &dyn CheckpointKey) -> Result<(), AuditError> {
        let time = now_text();
        self.append(|c| c.checkpoint(key, &time))?;
        self.since_checkpoint = 0;
        self.last_checkpoint = Instant::now();
        Ok(())
    }

    /// Closes the live file with a checkpoint, renames it after its first sequence and
    /// starts a new one whose first line is a checkpoint linking to it. The closed file is
    /// fsynced by the next tick, as the live one is.
    fn rotate(&mut self, key: &dyn CheckpointKey) -> Result<(), AuditError> {
        self.checkpoint(key)?;
        let live = self.dir.join(LIVE_FILE);
        let rotated = self.dir.join(format!("audit-{:012}.log", self.first_sequence));
        std::fs::rename(&live, &rotated)?;
        let closed = std::mem::replace(&mut self.file, open_append(&live)?);
        if std::mem::take(&mut self.unsynced) {
            self.rotated.push(closed);
        }
        self.prune_due = true;
        self.first_sequence = self.chain.next_sequence();
        self.bytes = 0;
        self.opened = Instant::now();
        self.checkpoint(key)?;
        tracing::info!(file = %rotated.display(), "audit trail rotated");
        Ok(())
    }
}

/// Deletes the oldest rotated files in `dir` beyond `keep`; with `delivered`, only those whose
/// every line is delivered (a file's last line is the one before the next file's first).
fn prune(dir: &Path, keep: usize, delivered: Option<u64>) {
    let files = trail_files(dir);
    let live = dir.join(LIVE_FILE);
    let rotated: Vec<PathBuf> = files.iter().filter(|p| **p != live).cloned().collect();
    for (i, old) in rotated.iter().enumerate().take(rotated.len().saturating_sub(keep)) {
        let next_first = files.get(i + 1).and_then(|p| match p == &live {
            true => first_sequence_of(p),
            false => {
                p.file_name()?.to_str()?.strip_prefix("audit-")?.strip_suffix(".log")?.parse().ok()
            }
        });
        if let Some(delivered) = delivered {
            if next_first.is_none_or(|first: u64| first.saturating_sub(1) > delivered) {
                tracing::info!(file = %old.display(), "old audit file kept until the trail's delivery has its lines");
                break;
            }
        }
        match std::fs::remove_file(old) {
            Ok(()) => {
                tracing::info!(file = %old.display(), "old audit file removed (--audit-keep-files)")
            }
            Err(e) => {
                tracing::warn!(file = %old.display(), error = %e, "cannot remove an old audit file")
            }
        }
    }
}

impl FileAudit {
    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        // A panic while the queue was held left it whole (a push or a take).
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn append(&self, records: &[Entry]) -> Result<(), AuditError> {
        self.writer()?.append_records(records, self.key.as_ref(), &self.options)
    }
}

impl FileAudit {
    /// Takes and writes what is pending, a batch per write(2), until none is left, answering
    /// each record's caller with its batch's result. The synchronous writer gives up its
    /// role (`writing`) under the same lock that finds nothing left, so that no record is
    /// queued behind a writer that has stopped.
    fn drain(&self, writing: bool) {
        loop {
            let batch = {
                let mut q = self.queue();
                if q.pending.is_empty() {
                    if writing {
                        q.writing = false;
                    }
                    return;
                }
                q.writes += 1;
                std::mem::take(&mut q.pending)
            };
            let (records, replies): (Vec<Entry>, Vec<Reply>) = batch.into_iter().unzip();
            let written = self.append(&records);
            for reply in replies {
                // A caller that stopped waiting has nobody to tell.
                let _ = reply.send(written.clone());
            }
        }
    }

    /// The write(2)s of records so far: fewer than the records when calls share them.
    #[cfg(test)]
    fn writes(&self) -> u64 {
        self.queue().writes
    }
}

impl AuditSink for FileAudit {
    /// Group commit. On a tokio runtime (the server), the record is queued and the first one
    /// of a batch spawns a flush task that yields once before it writes: every call ready to
    /// run on the worker meanwhile adds its record, and they share one write(2) (each write
    /// also updates the inode: under 32 connections of Encrypt, 0.11 write(2) per call instead
    /// of 0.91, docs/audit.md). Elsewhere, the call that finds no write under way writes its record,
    /// then every record handed in meanwhile. Either way a caller is answered only once its
    /// line is in the file.
    fn record(&self, event: Entry) -> AuditWrite {
        if let (Ok(rt), Some(me)) = (tokio::runtime::Handle::try_current(), self.me.upgrade()) {
            let (tx, rx) = tokio::sync::oneshot::channel();
            let spawn = {
                let mut q = self.queue();
                q.pending.push((event, tx));
                !std::mem::replace(&mut q.flush_due, true)
            };
            if spawn {
                // Owned by the task: dropped unrun (a runtime shutting down) or unwound, it
                // fails what is pending rather than leave `flush_due` set for ever.
                let role = Flushing { audit: me, ended: false };
                rt.spawn(async move {
                    let mut role = role;
                    tokio::task::yield_now().await;
                    role.audit.queue().flush_due = false;
                    role.audit.drain(false);
                    role.ended = true;
                });
            }
            return AuditWrite::Queued(rx);
        }
        {
            let mut q = self.queue();
            if q.writing {
                let (tx, rx) = tokio::sync::oneshot::channel();
                q.pending.push((event, tx));
                return AuditWrite::Queued(rx);
            }
            q.writing = true;
            q.writes += 1;
        }
        let mut role = Writing { audit: self, ended: false };
        let mine = self.append(std::slice::from_ref(&event));
        self.drain(true);
        role.ended = true;
        AuditWrite::Done(mine)
    }
}

/// Fails what is pending: the writer's role was dropped without ending.
fn fail_pending(q: &mut Queue) {
    for (_, reply) in q.pending.drain(..) {
        let _ = reply.send(Err(AuditError::Writer("the audit writer failed")));
    }
}

/// The writer's role, handed back if the writer unwinds: else `writing` would stay set and
/// every later record wait for ever.
struct Writing<'a> {
    audit: &'a FileAudit,
    ended: bool,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if !self.ended {
            let mut q = self.audit.queue();
            q.writing = false;
            fail_pending(&mut q);
        }
    }
}

/// The flush task's role (see `record`).
struct Flushing {
    audit: Arc<FileAudit>,
    ended: bool,
}

impl Drop for Flushing {
    fn drop(&mut self) {
        if !self.ended {
            let mut q = self.audit.queue();
            q.flush_due = false;
            fail_pending(&mut q);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::check::verify_dir;
    use super::*;
    use serde_json::json;
    use trent_crypto::Keyring;

    fn key() -> Arc<Keyring> {
        Arc::new(Keyring::new(&trent_crypto::Secret::from_slice(&[3; 32])).unwrap())
    }

    fn options(max_bytes: u64) -> AuditOptions {
        AuditOptions {
            node: "n1".into(),
            checkpoint_every: 4,
            checkpoint_interval: Duration::from_secs(3600),
            max_bytes,
            max_age: Duration::from_secs(3600),
            keep_files: None,
        }
    }

    fn write(a: &FileAudit, n: usize) {
        for i in 0..n {
            let event = json!({ "eventName": format!("Op{i}"), "pad": "x".repeat(100) });
            match a.record(Entry::Record(event.to_string())) {
                AuditWrite::Done(written) => written.unwrap(),
                AuditWrite::Queued(_) => panic!("nothing else writes"),
            }
        }
    }

    fn broken_line(dir: &Path, k: &Keyring) -> Option<(String, u64)> {
        let r = verify_dir(dir, k).unwrap();
        let b = &r["broken"];
        (!b.is_null())
            .then(|| (b["file"].as_str().unwrap().to_string(), b["line"].as_u64().unwrap()))
    }

    #[test]
    fn the_chain_goes_on_across_rotations_and_restarts() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let a = FileAudit::open(dir.path(), k.clone(), options(1500)).unwrap();
        write(&a, 30);
        a.tick(true).unwrap();
        drop(a);
        // Restarted: it goes on from the last line.
        let a = FileAudit::open(dir.path(), k.clone(), options(1500)).unwrap();
        write(&a, 3);
        a.tick(true).unwrap();
        let files = trail_files(dir.path());
        assert!(files.len() > 3, "rotated by size: {files:?}");
        let r = verify_dir(dir.path(), k.as_ref()).unwrap();
        assert!(r["broken"].is_null(), "{r}");
        assert_eq!(r["nodes"][0]["records"], 33);
        assert_eq!(r["nodes"][0]["afterLastCheckpoint"], 0);
        // With retention, the oldest files go and the trail verifies from the oldest kept.
        let a = FileAudit::open(
            dir.path(),
            k.clone(),
            AuditOptions { keep_files: Some(1), ..options(1500) },
        )
        .unwrap();
        write(&a, 20);
        a.tick(false).unwrap();
        assert_eq!(trail_files(dir.path()).len(), 2, "one rotated file kept, and the live one");
        let r = verify_dir(dir.path(), k.as_ref()).unwrap();
        assert!(r["broken"].is_null(), "{r}");
        assert!(r["nodes"][0]["startsAt"].as_u64().unwrap() > 1, "{r}");
    }

    #[test]
    fn records_handed_in_during_a_write_go_into_the_next_one_and_chain_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let a = FileAudit::open(dir.path(), k.clone(), options(1 << 20)).unwrap();
        let queued = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4 {
                let (a, queued) = (&a, &queued);
                s.spawn(move || {
                    for i in 0..250 {
                        let event = json!({ "eventName": format!("T{t}-{i}") }).to_string();
                        let written = match a.record(Entry::Record(event)) {
                            AuditWrite::Done(written) => written,
                            AuditWrite::Queued(rx) => {
                                queued.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                                rx.blocking_recv().unwrap()
                            }
                        };
                        written.unwrap();
                    }
                });
            }
        });
        a.tick(true).unwrap();
        let r = verify_dir(dir.path(), k.as_ref()).unwrap();
        assert!(r["broken"].is_null(), "{r}");
        assert_eq!(r["nodes"][0]["records"], 1000);
        // Each thread's records are in the file in the order it wrote them.
        let text = std::fs::read_to_string(dir.path().join(LIVE_FILE)).unwrap();
        let at = |name: &str| text.find(&format!("\"{name}\"")).unwrap();
        assert!((0..4)
            .all(|t| (1..250).all(|i| at(&format!("T{t}-{}", i - 1)) < at(&format!("T{t}-{i}")))));
        eprintln!("{} of 1000 records queued behind another's write", queued.into_inner());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn on_a_runtime_the_calls_ready_together_share_one_write() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let a = FileAudit::open(dir.path(), k.clone(), options(1 << 20)).unwrap();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let a = a.clone();
                tokio::spawn(async move {
                    let event = json!({ "eventName": format!("Op{i}") }).to_string();
                    assert!(matches!(
                        a.record(Entry::Record(event.clone())),
                        AuditWrite::Queued(_)
                    ));
                    // Answered only once the line is in the file.
                    a.record(Entry::Record(event)).written().await.unwrap();
                    let text = std::fs::read_to_string(a.writer().unwrap().dir.join(LIVE_FILE));
                    assert!(text.unwrap().contains(&format!("\"Op{i}\"")));
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        a.tick(true).unwrap();
        let r = verify_dir(dir.path(), k.as_ref()).unwrap();
        assert!(r["broken"].is_null(), "{r}");
        assert_eq!(r["nodes"][0]["records"], 400);
        let writes = a.writes();
        assert!(writes < 200, "400 records in {writes} writes");
    }

    #[test]
    fn a_flush_that_never_runs_is_done_by_the_closing_tick_or_fails_its_records() {
        let dir = tempfile::tempdir().unwrap();
        let a = FileAudit::open(dir.path(), key(), options(1 << 20)).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        // Handed in, then the server closes the trail before the flush task has run: the
        // closing tick writes it.
        let queued = rt.block_on(async { a.record(Entry::Record("{}".into())) });
        a.tick(true).unwrap();
        let AuditWrite::Queued(rx) = queued else { panic!("queued on a runtime") };
        assert!(rx.blocking_recv().unwrap().is_ok());
        // Handed in, then the runtime is dropped before its flush task is polled.
        let queued = rt.block_on(async { a.record(Entry::Record("{}".into())) });
        drop(rt);
        let AuditWrite::Queued(rx) = queued else { panic!("queued on a runtime") };
        assert!(rx.blocking_recv().unwrap().is_err());
        // The next record is written, not left behind a flush that is still due.
        match a.record(Entry::Record("{}".into())) {
            AuditWrite::Done(written) => written.unwrap(),
            AuditWrite::Queued(_) => panic!("nothing else writes"),
        }
    }

    #[test]
    fn a_line_cut_by_a_crash_is_dropped_and_another_trail_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let a = FileAudit::open(dir.path(), k.clone(), options(1 << 20)).unwrap();
        write(&a, 2);
        drop(a);
        let live = dir.path().join(LIVE_FILE);
        let mut f = OpenOptions::new().append(true).open(&live).unwrap();
        f.write_all(b"{\"node\":\"n1\",\"seq").unwrap();
        let a = FileAudit::open(dir.path(), k.clone(), options(1 << 20)).unwrap();
        write(&a, 1);
        assert!(broken_line(dir.path(), &k).is_none());
        drop(a);
        // A trail of another node (or an older format) is set aside, not extended.
        let b = FileAudit::open(
            dir.path(),
            k.clone(),
            AuditOptions { node: "n2".into(), ..options(1 << 20) },
        )
        .unwrap();
        write(&b, 1);
        let aside = std::fs::read_dir(dir.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("audit-legacy-"));
        assert!(aside);
    }

    #[test]
    fn editing_deleting_or_swapping_a_line_is_found_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let k = key();
        let a = FileAudit::open(dir.path(), k.clone(), options(1 << 20)).unwrap();
        write(&a, 10);
        a.tick(true).unwrap();
        drop(a);
        let live = dir.path().join(LIVE_FILE);
        let original = std::fs::read_to_string(&live).unwrap();
        let lines: Vec<&str> = original.lines().collect();
        let name = live.display().to_string();
        let tamper = |f: &dyn Fn(&mut Vec<String>)| {
            let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
            f(&mut l);
            std::fs::write(&live, l.join("\n") + "\n").unwrap();
            broken_line(dir.path(), &k)
        };
        assert_eq!(tamper(&|l| l[3] = l[3].replace("Op3", "Op7")), Some((name.clone(), 4)));
        assert_eq!(tamper(&|l| drop(l.remove(5))), Some((name.clone(), 6)));
        assert_eq!(tamper(&|l| l.swap(6, 7)), Some((name.clone(), 7)));
        assert_eq!(tamper(&|_| {}), None);
    }
}
