//! Delivery: the node's journal packed into CloudTrail log files, one per account and Region
//! of each batch, delivered to every destination and then recorded in the store; and the
//! digest chains, one per account and Region, extended when a digest period has passed by
//! whichever node comes first (the store decides), delivered and kept until delivered.
//!
//! Nothing is dropped: a batch is recorded only once every destination has it, so a failed
//! or interrupted delivery is made again from the same journal lines, under the same object
//! names (a log file's name comes from its node, its first line and its account and Region),
//! and a digest is chained in the store before it is delivered, then delivered until it is.

use crate::destination::{DeliveryError, Destination};
use crate::digest::{self, LogFileEntry, Previous, SIGNATURE_ALGORITHM};
use crate::{log_file, time, TrailPlace};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use trent_crypto::trail_key::TrailSigningKey;
use trent_store::{Store, StoreError, TrailDigest, TrailLogFile};

/// One record of a node's journal: its sequence there, where it belongs, and its JSON.
#[derive(Debug, Clone)]
pub struct JournalRecord {
    pub sequence: u64,
    pub account: String,
    pub region: String,
    pub time_ms: i64,
    pub json: String,
}

/// The members of a record that say where it goes.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Placed<'a> {
    #[serde(borrow)]
    event_time: &'a str,
    #[serde(borrow)]
    recipient_account_id: &'a str,
    #[serde(borrow)]
    aws_region: &'a str,
}

impl JournalRecord {
    /// The record `json` (a CloudTrail record's text, kept as written) at `sequence`: in its
    /// `recipientAccountId`'s trail, in its `awsRegion`; `None` if it lacks one of them.
    pub fn of(sequence: u64, json: &str) -> Option<Self> {
        let placed: Placed<'_> = serde_json::from_str(json).ok()?;
        let secs = trent_types::trail::event_time_secs(placed.event_time)?;
        Some(JournalRecord {
            sequence,
            account: placed.recipient_account_id.to_string(),
            region: placed.aws_region.to_string(),
            time_ms: secs * 1000,
            json: json.to_string(),
        })
    }
}

/// A node's journal, read in order.
pub trait Journal: Send + Sync {
    /// Up to `max` records after sequence `after` (from the first when `None`), in order.
    fn records_after(&self, after: Option<u64>, max: usize) -> std::io::Result<Vec<JournalRecord>>;
}

/// How the trail is delivered.
#[derive(Debug, Clone)]
pub struct DeliverySettings {
    pub place: TrailPlace,
    /// This node's name (its journal's).
    pub node: String,
    /// A digest period (CloudTrail: one hour).
    pub digest_every_ms: i64,
    /// Records per log file at most.
    pub batch: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum TrailError {
    #[error("the trail's journal could not be read")]
    Journal(#[source] std::io::Error),
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    #[error("the trail's store failed")]
    Store(#[from] StoreError),
    #[error("a trail file could not be made")]
    Pack(#[source] std::io::Error),
    #[error(transparent)]
    Digest(#[from] digest::DigestError),
    #[error("the trail's signing key cannot be opened")]
    SigningKey(#[from] crate::signing::SigningKeyError),
    #[error("this store has never delivered a trail: no signing key")]
    NoSigningKey,
    #[error("name the trail's bucket or directory")]
    NoSource,
}

/// What GetTrailStatus and `/metrics` show of the delivery.
#[derive(Debug, Clone, Default)]
pub struct DeliveryStatus {
    pub last_log_delivery_ms: Option<i64>,
    pub last_digest_delivery_ms: Option<i64>,
    pub last_error: Option<String>,
    pub last_error_ms: Option<i64>,
    pub log_files_delivered: u64,
    pub digests_delivered: u64,
    pub failures: u64,
    /// When the last round ended without error, on the wall clock (what an alert compares
    /// with its own time, whatever a dev clock says).
    pub last_success_unix_ms: Option<i64>,
}

/// The delivery of one node.
pub struct Delivery {
    store: Arc<dyn Store>,
    key: Arc<TrailSigningKey>,
    journal: Arc<dyn Journal>,
    destinations: Vec<Box<dyn Destination>>,
    settings: DeliverySettings,
    status: Mutex<DeliveryStatus>,
    /// The last journal sequence of this node delivered (0 before the first).
    delivered_through: Arc<std::sync::atomic::AtomicU64>,
}

impl Delivery {
    pub fn new(
        store: Arc<dyn Store>,
        key: Arc<TrailSigningKey>,
        journal: Arc<dyn Journal>,
        destinations: Vec<Box<dyn Destination>>,
        settings: DeliverySettings,
    ) -> Self {
        Delivery {
            store,
            key,
            journal,
            destinations,
            settings,
            status: Mutex::default(),
            delivered_through: Arc::default(),
        }
    }

    /// The last journal sequence of this node delivered, kept up to date by each round (the
    /// journal keeps its files until then).
    pub fn delivered_through(&self) -> Arc<std::sync::atomic::AtomicU64> {
        self.delivered_through.clone()
    }

    pub fn settings(&self) -> &DeliverySettings {
        &self.settings
    }

    pub fn status(&self) -> DeliveryStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn destinations(&self) -> Vec<String> {
        self.destinations.iter().map(|d| d.describe()).collect()
    }

    fn note(&self, f: impl FnOnce(&mut DeliveryStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }

    /// One round: digests left undelivered, the journal since the last delivered line, and
    /// the digests now due. A failure is noted (status, log) and the round ends; the next
    /// round starts again where this one stopped.
    pub async fn run_once(&self, now_ms: i64) -> Result<(), TrailError> {
        let outcome = async {
            self.deliver_undelivered_digests(now_ms).await?;
            self.deliver_log_files(now_ms).await?;
            self.make_digests(now_ms).await
        }
        .await;
        match &outcome {
            Ok(()) => {
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                self.note(|s| s.last_success_unix_ms = Some(wall));
            }
            Err(e) => {
                let text = trent_types::error_chain(e);
                self.note(|s| {
                    s.failures += 1;
                    s.last_error = Some(text);
                    s.last_error_ms = Some(now_ms);
                });
            }
        }
        outcome
    }

    async fn put(&self, key: &str, body: &[u8], meta: &[(&str, &str)]) -> Result<(), TrailError> {
        for d in &self.destinations {
            d.put(key, body, meta).await?;
        }
        Ok(())
    }

    async fn deliver_log_files(&self, now_ms: i64) -> Result<(), TrailError> {
        let node = &self.settings.node;
        let mut after = self.store.packaged_through(node).await?.map(|s| s as u64);
        let floor = &self.delivered_through;
        floor.fetch_max(after.unwrap_or(0), std::sync::atomic::Ordering::AcqRel);
        loop {
            let (journal, batch) = (self.journal.clone(), self.settings.batch);
            // Reading the journal and gzipping a batch are blocking and CPU work: off the
            // async workers that answer requests.
            let packed = tokio::task::spawn_blocking(move || {
                let records = journal.records_after(after, batch).map_err(TrailError::Journal)?;
                pack_batch(records, batch)
            })
            .await
            .map_err(|e| TrailError::Journal(std::io::Error::other(e)))??;
            let Some(batch) = packed else { return Ok(()) };
            let mut rows = Vec::with_capacity(batch.files.len());
            for f in batch.files {
                let unique = unique_name(node, f.first_sequence, &f.account, &f.region);
                let key =
                    self.settings.place.log_file_key(&f.account, &f.region, f.first_ms, &unique);
                self.put(&key, &f.file.gzip, &[]).await?;
                rows.push(TrailLogFile {
                    object_key: key,
                    account: f.account,
                    region: f.region,
                    sha256: f.file.sha256_hex,
                    oldest_ms: f.file.oldest_ms,
                    newest_ms: f.file.newest_ms,
                    delivered_ms: now_ms,
                    node: node.clone(),
                    last_sequence: batch.last as i64,
                    digest_key: None,
                });
            }
            let (last, full) = (batch.last, batch.full);
            let n = rows.len() as u64;
            self.store.put_log_files(rows).await?;
            self.note(|s| {
                s.log_files_delivered += n;
                s.last_log_delivery_ms = Some(now_ms);
            });
            after = Some(last);
            floor.fetch_max(last, std::sync::atomic::Ordering::AcqRel);
            if !full {
                return Ok(());
            }
        }
    }

    async fn deliver_digest(&self, d: &TrailDigest, now_ms: i64) -> Result<(), TrailError> {
        let meta =
            [("signature", d.signature.as_str()), ("signature-algorithm", SIGNATURE_ALGORITHM)];
        self.put(&d.object_key, &d.gzip, &meta).await?;
        self.store.digest_delivered(&d.object_key).await?;
        self.note(|s| {
            s.digests_delivered += 1;
            s.last_digest_delivery_ms = Some(now_ms);
        });
        Ok(())
    }

    async fn deliver_undelivered_digests(&self, now_ms: i64) -> Result<(), TrailError> {
        for d in self.store.undelivered_digests().await? {
            self.deliver_digest(&d, now_ms).await?;
        }
        Ok(())
    }

    /// A digest for each chain whose period has passed (or that has log files and no digest
    /// yet), chained in the store first, then delivered.
    async fn make_digests(&self, now_ms: i64) -> Result<(), TrailError> {
        let every = self.settings.digest_every_ms;
        for (account, region) in self.store.trail_regions().await? {
            let head = self.store.digest_head(&account, &region).await?;
            let start_ms = match &head {
                Some(h) if now_ms - h.end_ms < every => continue,
                Some(h) => h.end_ms,
                None => now_ms - every,
            };
            let files = self.store.undigested_log_files(&account, &region).await?;
            if head.is_none() && files.is_empty() {
                continue;
            }
            let start_ms =
                files.iter().map(|f| f.delivered_ms).min().unwrap_or(start_ms).min(start_ms);
            let entries = files
                .iter()
                .map(|f| {
                    let entry = LogFileEntry {
                        s3_bucket: self.settings.place.bucket.clone(),
                        s3_object: f.object_key.clone(),
                        hash_value: f.sha256.clone(),
                        hash_algorithm: "SHA-256".into(),
                        newest_event_time: time::iso(f.newest_ms),
                        oldest_event_time: time::iso(f.oldest_ms),
                    };
                    (entry, f.oldest_ms, f.newest_ms)
                })
                .collect();
            let previous = head.as_ref().map(|h| Previous {
                bucket: h.bucket.clone(),
                object: h.object_key.clone(),
                hash_hex: h.sha256.clone(),
                signature_hex: h.signature.clone(),
            });
            let file = digest::make(
                &self.settings.place,
                &account,
                &region,
                (start_ms, now_ms),
                entries,
                previous.as_ref(),
                &self.key,
            )?;
            let row = TrailDigest {
                account: account.clone(),
                region: region.clone(),
                previous_key: head.map(|h| h.object_key),
                object_key: file.key.clone(),
                bucket: self.settings.place.bucket.clone(),
                end_ms: now_ms,
                sha256: hex::encode(trent_crypto::sha256(&file.json)),
                signature: file.signature_hex,
                gzip: file.gzip,
                delivered: false,
            };
            let names: Vec<String> = files.into_iter().map(|f| f.object_key).collect();
            if self.store.chain_digest(&row, &names).await? {
                self.deliver_digest(&row, now_ms).await?;
            }
        }
        Ok(())
    }
}

/// One account's and Region's records of a batch, packed.
struct PackedFile {
    account: String,
    region: String,
    first_sequence: u64,
    first_ms: i64,
    file: log_file::LogFile,
}

/// A batch of the journal packed into log files: `last` its last record's sequence, `full`
/// whether it had `batch` records (more may follow).
struct PackedBatch {
    files: Vec<PackedFile>,
    last: u64,
    full: bool,
}

/// Packs `records` into one log file per account and Region; `None` when there are none.
fn pack_batch(
    records: Vec<JournalRecord>,
    batch: usize,
) -> Result<Option<PackedBatch>, TrailError> {
    let Some(last) = records.last().map(|r| r.sequence) else { return Ok(None) };
    let full = records.len() >= batch;
    let mut groups: BTreeMap<(&str, &str), Vec<&JournalRecord>> = BTreeMap::new();
    for r in &records {
        groups.entry((&r.account, &r.region)).or_default().push(r);
    }
    let mut files = Vec::with_capacity(groups.len());
    for ((account, region), group) in groups {
        let file = log_file::pack(group.iter().map(|r| (r.time_ms, r.json.as_str())))
            .map_err(TrailError::Pack)?;
        files.push(PackedFile {
            account: account.to_string(),
            region: region.to_string(),
            first_sequence: group[0].sequence,
            first_ms: group[0].time_ms,
            file,
        });
    }
    Ok(Some(PackedBatch { files, last, full }))
}

/// The 16 characters that tell apart the log files of one minute, made from what the file
/// holds (so that delivering it again names it again).
fn unique_name(node: &str, first_sequence: u64, account: &str, region: &str) -> String {
    let seed = format!("{node}\0{first_sequence}\0{account}\0{region}");
    hex::encode(&trent_crypto::sha256(seed.as_bytes())[..8])
}
