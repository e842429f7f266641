//! Delivery against a real store (SQLite) and a directory: a round delivers what the journal
//! holds and chains a digest; a failed round records nothing and the next one delivers the
//! same files under the same names; the result verifies, and a tampered file does not.
#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};
use trent_crypto::trail_key::TrailSigningKey;
use trent_store::{SqliteStore, Store};
use trent_trail::{Delivery, DeliverySettings, Directory, Journal, JournalRecord, TrailPlace};

/// A journal in memory.
#[derive(Default)]
struct Lines(Mutex<Vec<JournalRecord>>);

impl Lines {
    fn push(&self, account: &str, name: &str) {
        let mut v = self.0.lock().unwrap();
        let sequence = v.len() as u64 + 1;
        let json = format!(
            r#"{{"eventTime":"2026-12-07T10:00:0{}Z","eventName":"{name}","awsRegion":"us-east-1","recipientAccountId":"{account}"}}"#,
            sequence % 10
        );
        v.push(JournalRecord::of(sequence, &json).unwrap());
    }
}

impl Journal for Lines {
    fn records_after(&self, after: Option<u64>, max: usize) -> std::io::Result<Vec<JournalRecord>> {
        let v = self.0.lock().unwrap();
        Ok(v.iter().filter(|r| Some(r.sequence) > after).take(max).cloned().collect())
    }
}

fn place() -> TrailPlace {
    TrailPlace {
        bucket: "trail".into(),
        prefix: None,
        name: "trent".into(),
        home_region: "us-east-1".into(),
    }
}

fn delivery(
    store: Arc<dyn Store>,
    journal: Arc<Lines>,
    to: &std::path::Path,
    key: Arc<TrailSigningKey>,
) -> Delivery {
    let settings =
        DeliverySettings { place: place(), node: "n1".into(), digest_every_ms: 60_000, batch: 2 };
    Delivery::new(store, key, journal, vec![Box::new(Directory::new(to))], settings)
}

#[tokio::test]
async fn rounds_deliver_chain_and_retry_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("t.db")).unwrap());
    let journal = Arc::new(Lines::default());
    let key = Arc::new(TrailSigningKey::generate().unwrap().0);
    for (account, name) in [("111111111111", "CreateKey"), ("222222222222", "Encrypt")] {
        journal.push(account, name);
    }
    journal.push("111111111111", "Decrypt");
    // The destination is a file where a directory must be: the round fails, nothing recorded.
    let blocked = dir.path().join("blocked");
    std::fs::write(&blocked, b"").unwrap();
    let failing = delivery(store.clone(), journal.clone(), &blocked, key.clone());
    assert!(failing.run_once(1_000).await.is_err());
    assert_eq!(failing.status().failures, 1);
    assert_eq!(store.packaged_through("n1").await.unwrap(), None);

    let out = dir.path().join("out");
    let d = delivery(store.clone(), journal.clone(), &out, key.clone());
    d.run_once(2_000).await.unwrap();
    // Batches of two records: the three records are two rounds of packing, three files
    // (one per account and batch), and a first digest per account.
    assert_eq!(store.packaged_through("n1").await.unwrap(), Some(3));
    assert_eq!(d.delivered_through().load(std::sync::atomic::Ordering::Acquire), 3);
    let s = d.status();
    assert_eq!((s.log_files_delivered, s.digests_delivered), (3, 2));
    let mut regions = store.trail_regions().await.unwrap();
    regions.sort();
    assert_eq!(regions.len(), 2);
    // Within the digest period, no new digest; after it, one per chain even with no file.
    journal.push("111111111111", "Encrypt");
    d.run_once(30_000).await.unwrap();
    assert_eq!(d.status().digests_delivered, 2);
    d.run_once(70_000).await.unwrap();
    assert_eq!(d.status().digests_delivered, 4);
    let chain = store.trail_digests("111111111111", "us-east-1").await.unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].previous_key.as_deref(), Some(chain[0].object_key.as_str()));
    assert!(store.undigested_log_files("111111111111", "us-east-1").await.unwrap().is_empty());

    // The delivered directory verifies against the store; an edited log file does not.
    let der = key.public_key_der();
    let local = Directory::new(&out);
    let v = trent_trail::verify::verify(store.as_ref(), &place(), &der, &local).await.unwrap();
    assert!(v.findings.is_empty(), "{:?}", v.findings);
    assert_eq!((v.chains, v.digests, v.log_files), (2, 4, 4));
    let listed = store.trail_log_files("111111111111", "us-east-1").await.unwrap();
    std::fs::write(out.join(&listed[0].object_key), b"not gzip").unwrap();
    let v = trent_trail::verify::verify(store.as_ref(), &place(), &der, &local).await.unwrap();
    let what: Vec<_> = v.findings.iter().map(|f| (f.object.as_str(), f.what)).collect();
    assert_eq!(what, vec![(listed[0].object_key.as_str(), "log file is not gzip")]);
}
