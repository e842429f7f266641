//! One conformance suite, run against both stores: the embedded SQLite store and PostgreSQL
//! (a real server started by `scripts/ephemeral-postgres` in a temporary directory).
// A test (or benchmark) crate: its helpers unwrap what the test expects to succeed.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use trent_store::*;
use trent_types::{
    GrantConstraints, GrantOperation, KeyMaterialState, KeySpec, KeyState, KeyUsageType, OriginType,
};

#[path = "conformance/xks.rs"]
mod xks;

/// A PostgreSQL server for one test, stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    url: String,
}

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/ephemeral-postgres")
}

impl Postgres {
    fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(script()).arg("start").arg(dir.path().join("pg")).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let url = String::from_utf8(out.stdout).unwrap().trim().to_string();
        Postgres { dir, url }
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = Command::new(script()).arg("stop").arg(self.dir.path().join("pg")).output();
    }
}

fn key(id: &str) -> KeyRef {
    KeyRef { account: "111122223333".into(), region: "us-east-1".into(), key_id: id.into() }
}

fn record(id: &str, now: i64) -> KeyRecord {
    KeyRecord {
        key: key(id),
        version: 1,
        created_ms: now,
        description: format!("key {id}"),
        key_usage: KeyUsageType::EncryptDecrypt,
        key_spec: KeySpec::SymmetricDefault,
        origin: OriginType::AwsKms,
        state: KeyState::Enabled,
        deletion_date_ms: None,
        policy: "{}".into(),
        multi_region: false,
        tags: BTreeMap::from([("team".to_string(), "kms".to_string())]),
        rotation_enabled: false,
        rotation_period_days: None,
        next_rotation_ms: None,
        current_material_id: Some(format!("{id}-m1")),
        primary_region: None,
        transient: None,
        pending_window_days: None,
        xks: None,
    }
}

fn material(id: &str, n: u8, now: i64) -> MaterialRecord {
    MaterialRecord::new(
        key(id),
        format!("{id}-m{n}"),
        Some(vec![n; 48]),
        KeyMaterialState::Current,
        now,
    )
}

fn alias(name: &str, target: &str) -> AliasRecord {
    AliasRecord {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        name: name.into(),
        target_key_id: target.into(),
        created_ms: 1,
        updated_ms: 1,
    }
}

fn grant(id: &str, token: &str, retiring: Option<&str>, t: i64) -> GrantRecord {
    GrantRecord {
        key: key("c"),
        grant_id: id.into(),
        token: token.into(),
        name: Some("n".into()),
        grantee: "arn:aws:iam::111122223333:user/alice".into(),
        retiring: retiring.map(str::to_string),
        operations: vec![GrantOperation::Encrypt, GrantOperation::Decrypt],
        constraints: Some(GrantConstraints {
            encryption_context_subset: Some(BTreeMap::from([("k".into(), "v".into())])),
            ..Default::default()
        }),
        issuer: "arn:aws:iam::111122223333:root".into(),
        created_ms: t,
    }
}

async fn identities(s: &dyn Store) {
    assert_eq!(s.get_meta("dek").await.unwrap(), None);
    assert_eq!(s.put_meta_if_absent("dek", b"first").await.unwrap(), b"first");
    assert_eq!(s.put_meta_if_absent("dek", b"second").await.unwrap(), b"first");
    let acct =
        AccountRecord { account_id: "111122223333".into(), created_ms: 5, partition: "aws".into() };
    s.put_account(&acct).await.unwrap();
    // An account keeps the partition it was made in.
    s.put_account(&AccountRecord { partition: "aws-cn".into(), ..acct.clone() }).await.unwrap();
    assert_eq!(s.get_account("111122223333").await.unwrap(), Some(acct));
    let china = AccountRecord {
        account_id: "666677778888".into(),
        created_ms: 6,
        partition: "aws-cn".into(),
    };
    s.put_account(&china).await.unwrap();
    assert_eq!(s.get_account("666677778888").await.unwrap(), Some(china));
    assert_eq!(s.get_account("999999999999").await.unwrap(), None);
    for (id, t) in [("AKIAB", 2), ("AKIAA", 1)] {
        s.put_access_key(&AccessKeyRecord {
            access_key_id: id.into(),
            account_id: "111122223333".into(),
            principal_arn: "arn:aws:iam::111122223333:root".into(),
            sealed_secret: vec![1, 2, 3],
            created_ms: t,
        })
        .await
        .unwrap();
    }
    let dup = s.get_access_key("AKIAA").await.unwrap().unwrap();
    assert!(matches!(s.put_access_key(&dup).await, Err(StoreError::AlreadyExists)));
    let ids: Vec<_> = s
        .list_access_keys("111122223333")
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.access_key_id)
        .collect();
    assert_eq!(ids, ["AKIAA", "AKIAB"]);
    s.delete_access_key("AKIAB").await.unwrap();
    assert!(matches!(s.delete_access_key("AKIAB").await, Err(StoreError::NotFound)));
    assert_eq!(s.get_access_key("AKIAB").await.unwrap(), None);
    let alice = UserRecord {
        account_id: "111122223333".into(),
        name: "alice".into(),
        created_ms: 1,
        partition: "aws".into(),
    };
    s.put_user(&alice).await.unwrap();
    assert!(matches!(s.put_user(&alice).await, Err(StoreError::AlreadyExists)));
    s.put_user(&UserRecord { name: "bob".into(), ..alice.clone() }).await.unwrap();
    assert_eq!(s.get_user("111122223333", "alice").await.unwrap(), Some(alice));
    assert_eq!(s.list_users("111122223333").await.unwrap().len(), 2);
    let arn = "arn:aws:iam::111122223333:user/alice";
    s.put_identity_policy(arn, "p1", "{\"v\":1}").await.unwrap();
    s.put_identity_policy(arn, "p1", "{\"v\":2}").await.unwrap();
    s.put_identity_policy(arn, "p0", "{}").await.unwrap();
    assert_eq!(
        s.list_identity_policies(arn).await.unwrap(),
        [("p0".to_string(), "{}".to_string()), ("p1".to_string(), "{\"v\":2}".to_string())]
    );
    s.delete_identity_policy(arn, "p0").await.unwrap();
    assert!(matches!(s.delete_identity_policy(arn, "p0").await, Err(StoreError::NotFound)));
}

async fn keys(s: &dyn Store) {
    let a = record("a", 10);
    s.create_key(&a, &[material("a", 1, 10)]).await.unwrap();
    assert!(matches!(s.create_key(&a, &[]).await, Err(StoreError::AlreadyExists)));
    assert_eq!(s.get_key(&key("a")).await.unwrap(), Some(a.clone()));
    assert_eq!(s.get_key(&key("zz")).await.unwrap(), None);
    s.create_keys(vec![(record("c", 11), vec![material("c", 1, 11)]), (record("b", 12), vec![])])
        .await
        .unwrap();
    // A bulk insert is all or nothing.
    assert!(s
        .create_keys(vec![(record("d", 13), vec![]), (record("a", 13), vec![])])
        .await
        .is_err());
    assert_eq!(s.get_key(&key("d")).await.unwrap(), None);
    let ids = |v: Vec<KeyRecord>| v.into_iter().map(|k| k.key.key_id).collect::<Vec<_>>();
    assert_eq!(ids(s.list_keys("111122223333", "us-east-1", None, 2).await.unwrap()), ["a", "b"]);
    assert_eq!(ids(s.list_keys("111122223333", "us-east-1", Some("b"), 10).await.unwrap()), ["c"]);
    assert!(s.list_keys("111122223333", "eu-west-1", None, 10).await.unwrap().is_empty());
    assert_eq!(s.count_keys("111122223333", "us-east-1").await.unwrap(), 3);
    assert_eq!(s.count_keys("111122223333", "eu-west-1").await.unwrap(), 0);

    // Optimistic updates: the version must move by one from the stored one.
    let mut a2 = a.clone();
    a2.version = 2;
    a2.state = KeyState::PendingDeletion;
    a2.deletion_date_ms = Some(100);
    a2.rotation_enabled = true;
    a2.next_rotation_ms = Some(50);
    a2.tags.insert("env".into(), "prod".into());
    let mut m1 = material("a", 1, 10);
    m1.state = KeyMaterialState::NonCurrent;
    m1.valid_to_ms = Some(70);
    s.update_key(&a2, &[m1.clone(), material("a", 2, 20)], &[]).await.unwrap();
    assert!(matches!(s.update_key(&a2, &[], &[]).await, Err(StoreError::Conflict)));
    assert_eq!(s.get_key(&key("a")).await.unwrap(), Some(a2.clone()));
    assert_eq!(s.get_materials(&key("a")).await.unwrap(), [m1.clone(), material("a", 2, 20)]);
    assert_eq!(
        s.get_key_with_materials(&key("a")).await.unwrap(),
        Some((a2.clone(), vec![m1.clone(), material("a", 2, 20)]))
    );
    assert_eq!(s.get_key_with_materials(&key("zz")).await.unwrap(), None);
    let mut a3 = a2.clone();
    a3.version = 3;
    s.update_key(&a3, &[], &["a-m2".to_string()]).await.unwrap();
    assert_eq!(s.get_materials(&key("a")).await.unwrap(), [m1]);
    assert_eq!(s.keys_due_for_deletion(99).await.unwrap(), []);
    assert_eq!(s.keys_due_for_deletion(100).await.unwrap(), [key("a")]);
    assert_eq!(s.keys_due_for_rotation(50).await.unwrap(), [key("a")]);
    assert_eq!(s.keys_with_expired_material(69).await.unwrap(), []);
    assert_eq!(s.keys_with_expired_material(70).await.unwrap(), [key("a")]);
}

async fn grants_and_aliases(s: &dyn Store) {
    let g1 = grant("g1", "t1", Some("arn:aws:iam::111122223333:user/bob"), 1);
    s.put_grant(&g1).await.unwrap();
    s.put_grant(&grant("g2", "t2", None, 2)).await.unwrap();
    assert!(matches!(
        s.put_grant(&grant("g3", "t1", None, 3)).await,
        Err(StoreError::AlreadyExists)
    ));
    assert_eq!(s.list_grants(&key("c")).await.unwrap().len(), 2);
    assert_eq!(s.get_grant_by_token("t1").await.unwrap(), Some(g1.clone()));
    assert_eq!(
        s.list_grants_by_retiring("arn:aws:iam::111122223333:user/bob").await.unwrap(),
        [g1]
    );
    s.delete_grant(&key("c"), "g2").await.unwrap();
    assert!(matches!(s.delete_grant(&key("c"), "g2").await, Err(StoreError::NotFound)));

    s.create_alias(&alias("alias/b", "c")).await.unwrap();
    s.create_alias(&alias("alias/a", "b")).await.unwrap();
    assert!(matches!(s.create_alias(&alias("alias/a", "c")).await, Err(StoreError::AlreadyExists)));
    // An alias moves only from the key it was seen pointing at (compare and set).
    let moved = AliasRecord { updated_ms: 9, ..alias("alias/a", "c") };
    assert!(matches!(s.update_alias(&moved, "c").await, Err(StoreError::Conflict)));
    s.update_alias(&moved, "b").await.unwrap();
    assert!(matches!(s.update_alias(&alias("alias/x", "c"), "b").await, Err(StoreError::NotFound)));
    assert_eq!(
        s.get_alias("111122223333", "us-east-1", "alias/a").await.unwrap(),
        Some(AliasRecord { updated_ms: 9, ..alias("alias/a", "c") })
    );
    let names = |v: Vec<AliasRecord>| v.into_iter().map(|a| a.name).collect::<Vec<_>>();
    let all = s.list_aliases("111122223333", "us-east-1", None, None, 10).await.unwrap();
    assert_eq!(names(all), ["alias/a", "alias/b"]);
    let after =
        s.list_aliases("111122223333", "us-east-1", None, Some("alias/a"), 10).await.unwrap();
    assert_eq!(names(after), ["alias/b"]);
    assert_eq!(s.list_aliases("111122223333", "us-east-1", Some("b"), None, 10).await.unwrap(), []);
    s.create_alias(&alias("alias/z", "b")).await.unwrap();
    let stale = s.delete_alias("111122223333", "us-east-1", "alias/z", "c").await;
    assert!(matches!(stale, Err(StoreError::Conflict)));
    s.delete_alias("111122223333", "us-east-1", "alias/z", "b").await.unwrap();
    let again = s.delete_alias("111122223333", "us-east-1", "alias/z", "b").await;
    assert!(matches!(again, Err(StoreError::NotFound)));

    // Deleting a key takes its materials, aliases and grants with it, and is remembered.
    assert!(!s.key_was_deleted(&key("c")).await.unwrap());
    s.delete_key(&key("c"), &[]).await.unwrap();
    assert_eq!(s.get_key(&key("c")).await.unwrap(), None);
    assert!(s.key_was_deleted(&key("c")).await.unwrap());
    assert!(!s.key_was_deleted(&key("a")).await.unwrap());
    assert!(s.get_materials(&key("c")).await.unwrap().is_empty());
    assert!(s.list_grants(&key("c")).await.unwrap().is_empty());
    let left = s.list_aliases("111122223333", "us-east-1", Some("c"), None, 10).await.unwrap();
    assert!(left.is_empty());
}

/// Key ids as CreateKey makes them (random UUIDs) and multi-Region ids: ListKeys pages of 3
/// must visit each key once, in bytewise order, on both engines.
async fn pagination(s: &dyn Store) {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut hex = |n: usize| {
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from_digit((state % 16) as u32, 16).unwrap()
            })
            .collect::<String>()
    };
    let mut ids: Vec<String> = Vec::new();
    for _ in 0..17 {
        ids.push(format!("{}-{}-4{}-a{}-{}", hex(8), hex(4), hex(3), hex(3), hex(12)));
    }
    for _ in 0..3 {
        ids.push(format!("mrk-{}", hex(32)));
    }
    let account = "444455556666";
    let keys: Vec<_> = ids
        .iter()
        .map(|id| {
            let mut r = record(id, 1);
            r.key.account = account.into();
            (r, vec![])
        })
        .collect();
    s.create_keys(keys).await.unwrap();
    ids.sort(); // bytewise, as Rust orders strings
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_keys(account, "us-east-1", after.as_deref(), 3).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|k| k.key.key_id.clone());
        seen.extend(page.into_iter().map(|k| k.key.key_id));
    }
    assert_eq!(seen, ids, "ListKeys pages must visit every key once, in bytewise order");
}

/// Alias names differ by case and punctuation, where a locale's collation (case-insensitive,
/// punctuation first) and bytewise order disagree: both engines page in bytewise order.
async fn collation(s: &dyn Store) {
    let account = "777788889999";
    let mut names = [
        "alias/Zeta",
        "alias/alpha",
        "alias/Beta",
        "alias/beta-2",
        "alias/beta_1",
        "alias/_x",
        "alias/9",
    ]
    .map(String::from)
    .to_vec();
    for n in &names {
        let a = AliasRecord { account: account.into(), ..alias(n, "k") };
        s.create_alias(&a).await.unwrap();
    }
    // The same name in another case is another alias (AWS alias names are case-sensitive).
    let dup = AliasRecord { account: account.into(), ..alias("alias/Zeta", "k") };
    assert!(matches!(s.create_alias(&dup).await, Err(StoreError::AlreadyExists)));
    names.sort();
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = s.list_aliases(account, "us-east-1", None, after.as_deref(), 2).await.unwrap();
        if page.is_empty() {
            break;
        }
        after = page.last().map(|a| a.name.clone());
        seen.extend(page.into_iter().map(|a| a.name));
    }
    assert_eq!(seen, names, "ListAliases pages must follow bytewise order");
}

/// What the metrics and expiry notices read: counts by state, expiring material, claims.
async fn monitoring(s: &dyn Store) {
    let in_other = |id: &str| KeyRef { account: "210987654321".into(), ..key(id) };
    let (x, y) = (in_other("x"), in_other("y"));
    let mut rx = KeyRecord { key: x.clone(), ..record("x", 1) };
    let ry = KeyRecord { key: y.clone(), state: KeyState::Disabled, ..record("y", 1) };
    rx.origin = OriginType::External;
    let mut expiring = MaterialRecord { key: x.clone(), ..material("x", 1, 1) };
    expiring.valid_to_ms = Some(5_000);
    let mut deleted = MaterialRecord { key: x.clone(), ..material("x", 2, 1) };
    (deleted.sealed, deleted.valid_to_ms) = (None, Some(4_000));
    s.create_key(&rx, &[expiring, deleted]).await.unwrap();
    s.create_key(&ry, &[MaterialRecord { key: y.clone(), ..material("y", 1, 1) }]).await.unwrap();
    let mut counts: Vec<_> = s
        .count_keys_by_state()
        .await
        .unwrap()
        .into_iter()
        .filter(|c| c.account == "210987654321")
        .map(|c| (c.state, c.count))
        .collect();
    counts.sort_by_key(|(state, _)| state.as_str());
    assert_eq!(counts, [(KeyState::Disabled, 1), (KeyState::Enabled, 1)]);
    // Only present material with a ValidTo: not the deleted one, not y's.
    let watched =
        ExpiringMaterial { key: x.clone(), material_id: "x-m1".into(), valid_to_ms: 5_000 };
    let found: Vec<_> = s
        .expiring_materials()
        .await
        .unwrap()
        .into_iter()
        .filter(|m| m.key.account == "210987654321")
        .collect();
    assert_eq!(found, std::slice::from_ref(&watched));
    let notice = Notice { material: watched.clone(), kind: "30d".into() };
    assert!(s.claim_notice(&notice, 10).await.unwrap(), "the first claim sends it");
    assert!(!s.claim_notice(&notice, 11).await.unwrap(), "a second claim does not");
    let reimported = ExpiringMaterial { valid_to_ms: 9_000, ..watched.clone() };
    assert!(s
        .claim_notice(&Notice { material: reimported, kind: "30d".into() }, 12)
        .await
        .unwrap());
    s.prune_notices(5_001).await.unwrap();
    assert!(s.claim_notice(&notice, 13).await.unwrap(), "pruned notices are forgotten");
    // Deleting the key deletes its notices.
    s.delete_key(&x, &[]).await.unwrap();
    s.delete_key(&y, &[]).await.unwrap();
    s.create_key(&rx, &[]).await.unwrap();
    assert!(s.claim_notice(&notice, 14).await.unwrap());
    s.delete_key(&x, &[]).await.unwrap();
}

/// A multi-Region set: the same id in several Regions, found together, written together (all
/// or none), and the last usage of a key kept as the latest of those recorded.
async fn multi_region(s: &dyn Store) {
    let in_region = |region: &str| {
        let mut k = record("mrk-1", 5);
        k.key.region = region.into();
        k.multi_region = true;
        k.primary_region = Some("us-east-1".into());
        k
    };
    let primary = in_region("us-east-1");
    let mut replica = in_region("eu-west-1");
    replica.transient = Some(Transient { state: KeyState::Creating, until_ms: 99 });
    s.create_key(&primary, &[]).await.unwrap();
    s.create_key(&replica, &[]).await.unwrap();
    let related = s.related_keys("111122223333", "mrk-1").await.unwrap();
    assert_eq!(related, [replica.clone(), primary.clone()]);
    assert!(related[1].is_primary() && related[0].is_replica());
    assert!(s.related_keys("444455556666", "mrk-1").await.unwrap().is_empty());
    // Both or neither: the second update's version is stale.
    let (mut p2, mut r2) = (primary.clone(), replica.clone());
    p2.version = 2;
    p2.primary_region = Some("eu-west-1".into());
    p2.transient = Some(Transient { state: KeyState::Updating, until_ms: 7 });
    p2.pending_window_days = Some(9);
    r2.primary_region = Some("eu-west-1".into());
    let update = |k: &KeyRecord| KeyUpdate {
        key: k.clone(),
        upsert: vec![],
        remove: vec![],
        events: vec![],
    };
    assert!(matches!(
        s.update_keys(vec![update(&p2), update(&r2)]).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_key(&primary.key).await.unwrap(), Some(primary.clone()));
    r2.version = 2;
    r2.transient = None;
    s.update_keys(vec![update(&p2), update(&r2)]).await.unwrap();
    assert_eq!(s.related_keys("111122223333", "mrk-1").await.unwrap(), [r2, p2]);

    let usage = |ms: i64, op: &str| KeyLastUsageRecord {
        key: primary.key.clone(),
        operation: op.into(),
        used_ms: ms,
        event_id: format!("e{ms}"),
        request_id: format!("r{ms}"),
    };
    assert_eq!(s.get_last_usage(&primary.key).await.unwrap(), None);
    s.put_last_usage(vec![usage(20, "Encrypt")]).await.unwrap();
    s.put_last_usage(vec![usage(10, "Decrypt")]).await.unwrap();
    assert_eq!(s.get_last_usage(&primary.key).await.unwrap(), Some(usage(20, "Encrypt")));
    s.put_last_usage(vec![usage(30, "Sign")]).await.unwrap();
    assert_eq!(s.get_last_usage(&primary.key).await.unwrap(), Some(usage(30, "Sign")));
    s.delete_key(&primary.key, &[]).await.unwrap();
    s.delete_key(&replica.key, &[]).await.unwrap();
    assert_eq!(s.get_last_usage(&primary.key).await.unwrap(), None);
}

fn log_file(name: &str, node: &str, last_sequence: i64) -> TrailLogFile {
    TrailLogFile {
        object_key: format!("AWSLogs/111122223333/CloudTrail/us-east-1/{name}.json.gz"),
        account: "111122223333".into(),
        region: "us-east-1".into(),
        sha256: "ab".repeat(32),
        oldest_ms: 1,
        newest_ms: 2,
        delivered_ms: last_sequence,
        node: node.into(),
        last_sequence,
        digest_key: None,
    }
}

fn digest(name: &str, previous: Option<&str>, end_ms: i64) -> TrailDigest {
    TrailDigest {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        previous_key: previous.map(str::to_string),
        object_key: name.into(),
        bucket: "b".into(),
        end_ms,
        sha256: "cd".repeat(32),
        signature: "ef".repeat(256),
        gzip: vec![0x1f, 0x8b, 1],
        delivered: false,
    }
}

/// The trail's delivered log files and digest chains: a node goes on after its last file, a
/// digest lists each file once, and two digests of one head cannot both be chained.
async fn trail(s: &dyn Store) {
    assert_eq!(s.packaged_through("n1").await.unwrap(), None);
    assert!(s.trail_regions().await.unwrap().is_empty());
    s.put_log_files(vec![log_file("a", "n1", 10), log_file("b", "n2", 4)]).await.unwrap();
    // Delivered again after a crash, with more records: the row follows.
    let mut again = log_file("a", "n1", 12);
    again.sha256 = "01".repeat(32);
    s.put_log_files(vec![again.clone()]).await.unwrap();
    assert_eq!(s.packaged_through("n1").await.unwrap(), Some(12));
    assert_eq!(s.packaged_through("n2").await.unwrap(), Some(4));
    assert_eq!(
        s.trail_regions().await.unwrap(),
        vec![("111122223333".to_string(), "us-east-1".to_string())]
    );
    let (account, region) = ("111122223333", "us-east-1");
    let files = s.undigested_log_files(account, region).await.unwrap();
    assert_eq!(files.len(), 2);
    assert!(files.contains(&again));
    let names: Vec<String> = files.iter().map(|f| f.object_key.clone()).collect();

    assert!(s.digest_head(account, region).await.unwrap().is_none());
    let first = digest("d1", None, 100);
    assert!(s.chain_digest(&first, &names).await.unwrap());
    // Another node's first digest of the same chain loses, and changes nothing.
    assert!(!s.chain_digest(&digest("d1-other", None, 101), &[]).await.unwrap());
    assert_eq!(s.digest_head(account, region).await.unwrap(), Some(first.clone()));
    assert!(s.undigested_log_files(account, region).await.unwrap().is_empty());
    // A listed file is not replaced by a late delivery.
    let mut late = log_file("a", "n1", 13);
    late.sha256 = "02".repeat(32);
    s.put_log_files(vec![late]).await.unwrap();
    assert!(s.undigested_log_files(account, region).await.unwrap().is_empty());

    s.put_log_files(vec![log_file("c", "n1", 20)]).await.unwrap();
    let c = vec![log_file("c", "n1", 20).object_key];
    // A digest that lists a file another digest took is refused whole.
    assert!(!s.chain_digest(&digest("d2-bad", Some("d1"), 200), &names).await.unwrap());
    assert!(!s.chain_digest(&digest("d2-stale", None, 200), &c).await.unwrap());
    let second = digest("d2", Some("d1"), 200);
    assert!(s.chain_digest(&second, &c).await.unwrap());
    assert!(!s.chain_digest(&digest("d2-again", Some("d1"), 201), &[]).await.unwrap());
    assert_eq!(s.digest_head(account, region).await.unwrap().unwrap().object_key, "d2");

    let undelivered: Vec<String> =
        s.undelivered_digests().await.unwrap().into_iter().map(|d| d.object_key).collect();
    assert_eq!(undelivered, vec!["d1", "d2"]);
    s.digest_delivered("d1").await.unwrap();
    let left = s.undelivered_digests().await.unwrap();
    assert_eq!(left, vec![second.clone()]);
    let chain: Vec<String> =
        s.trail_digests(account, region).await.unwrap().into_iter().map(|d| d.object_key).collect();
    assert_eq!(chain, vec!["d1", "d2"]);
    let all = s.trail_log_files(account, region).await.unwrap();
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|f| f.digest_key.is_some()));
}

/// Service events travel with their change: a key deleted with its DeleteKey record, a key
/// update with its own; once journaled they leave; left behind, a node claims them once.
async fn outbox(s: &dyn Store) {
    let event = |id: &str, at: i64| OutboxEvent {
        event_id: id.into(),
        made_ms: at,
        record: format!(r#"{{"eventID":"{id}"}}"#),
    };
    let rec = record("outboxed", 1);
    s.create_key(&rec, &[]).await.unwrap();
    let mut next = rec.clone();
    next.version += 1;
    let update =
        KeyUpdate { key: next, upsert: vec![], remove: vec![], events: vec![event("e1", 10)] };
    s.update_keys(vec![update]).await.unwrap();
    // A conflicting update writes neither its row nor its events.
    let stale = KeyUpdate {
        key: rec.clone(),
        upsert: vec![],
        remove: vec![],
        events: vec![event("e-lost", 11)],
    };
    assert!(s.update_keys(vec![stale]).await.is_err());
    s.delete_key(&rec.key, &[event("e2", 20)]).await.unwrap();
    let left: Vec<String> =
        s.stale_outbox(1_000).await.unwrap().into_iter().map(|e| e.event_id).collect();
    assert_eq!(left, vec!["e1", "e2"]);
    assert!(s.stale_outbox(10).await.unwrap().is_empty(), "only those made before");
    s.outbox_done("e1").await.unwrap();
    // One node claims a stale event; another cannot until the claim is stale itself.
    assert!(s.claim_outbox("e2", 100, 50).await.unwrap());
    assert!(!s.claim_outbox("e2", 101, 50).await.unwrap());
    assert!(s.stale_outbox(100).await.unwrap().is_empty(), "claimed at 100");
    assert!(s.claim_outbox("e2", 500, 400).await.unwrap(), "a claim older than 400 is stale");
    s.outbox_done("e2").await.unwrap();
    assert!(s.stale_outbox(i64::MAX).await.unwrap().is_empty());
    s.put_outbox(&[event("e3", 30)]).await.unwrap();
    assert_eq!(s.stale_outbox(31).await.unwrap(), vec![event("e3", 30)]);
    s.outbox_done("e3").await.unwrap();
}

/// Every node's records in one place: copied once, listed newest first by arrival, paged by
/// id, pruned by age.
async fn events(s: &dyn Store) {
    let event = |node: &str, sequence: i64, account: &str, t: i64| TrailEvent {
        node: node.into(),
        sequence,
        account: account.into(),
        event_time_ms: t,
        record: format!(r#"{{"n":"{node}{sequence}"}}"#),
    };
    assert_eq!(s.shipped_through("a").await.unwrap(), None);
    s.ship_events(vec![event("a", 1, "1", 10), event("a", 2, "2", 11)]).await.unwrap();
    s.ship_events(vec![event("b", 1, "1", 12), event("a", 2, "2", 11)]).await.unwrap();
    s.ship_events(vec![event("a", 3, "1", 13)]).await.unwrap();
    assert_eq!(s.shipped_through("a").await.unwrap(), Some(3));
    let texts = |rows: Vec<(i64, String)>| rows.into_iter().map(|r| r.1).collect::<Vec<_>>();
    let all = s.events_before("1", None, 10).await.unwrap();
    let last = all[1].0;
    assert_eq!(texts(all), [r#"{"n":"a3"}"#, r#"{"n":"b1"}"#, r#"{"n":"a1"}"#]);
    let rest = s.events_before("1", Some(last), 10).await.unwrap();
    assert_eq!(texts(rest), [r#"{"n":"a1"}"#]);
    assert_eq!(s.events_before("2", None, 10).await.unwrap().len(), 1, "copied once");
    s.prune_events(12).await.unwrap();
    assert_eq!(
        texts(s.events_before("1", None, 10).await.unwrap()),
        [r#"{"n":"a3"}"#, r#"{"n":"b1"}"#]
    );
}

async fn conformance(s: &dyn Store) {
    trail(s).await;
    events(s).await;
    outbox(s).await;
    xks::xks(s).await;
    xks::custom_key_stores(s, record("xks-bound", 1)).await;
    identities(s).await;
    multi_region(s).await;
    keys(s).await;
    grants_and_aliases(s).await;
    pagination(s).await;
    collation(s).await;
    monitoring(s).await;
}

#[tokio::test]
async fn sqlite_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("t.db")).unwrap();
    conformance(&store).await;
    // An online backup is a whole store; it is never written over a file.
    let backup = dir.path().join("backup.db");
    store.backup_to(&backup).await.unwrap();
    let copy = SqliteStore::open(&backup).unwrap();
    assert_eq!(copy.get_meta("dek").await.unwrap(), store.get_meta("dek").await.unwrap());
    assert_eq!(
        copy.count_keys_by_state().await.unwrap(),
        store.count_keys_by_state().await.unwrap()
    );
    assert!(store.backup_to(&backup).await.unwrap_err().to_string().contains("never written over"));
}

/// A database of the first release (migration 1 only, `user_version` 1) is backed up, then
/// migrated, and keeps its rows; one newer than this binary is refused.
#[tokio::test]
async fn sqlite_migrates_an_older_database_and_refuses_a_newer_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(include_str!("../schema/sqlite/0001_initial.sql")).unwrap();
        c.execute_batch("PRAGMA user_version = 1; INSERT INTO meta VALUES ('dek', x'6f6c64')")
            .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.get_meta("dek").await.unwrap().as_deref(), Some(&b"old"[..]));
    // Migration 2 is there: notices can be claimed.
    let m = ExpiringMaterial { key: key("k"), material_id: "m".into(), valid_to_ms: 1 };
    assert!(store.claim_notice(&Notice { material: m, kind: "30d".into() }, 0).await.unwrap());
    drop(store);
    let version = |p: &Path| -> u32 {
        rusqlite::Connection::open(p)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(version(&path), SCHEMA_VERSION);
    let backup = dir.path().join("t.db.schema-1.bak");
    assert_eq!(version(&backup), 1, "the backup is the database before the migration");
    rusqlite::Connection::open(&path).unwrap().execute_batch("PRAGMA user_version = 99").unwrap();
    let refused = SqliteStore::open(&path).err().unwrap().to_string();
    assert!(refused.contains("schema version 99, newer than this trent knows"), "{refused}");
}

#[tokio::test]
async fn postgres_conforms() {
    let pg = Postgres::start();
    let store = PostgresStore::connect(&pg.url, 4).await.unwrap();
    conformance(&store).await;
    // A second node connecting to the same database finds the schema and the data.
    let again = PostgresStore::connect(&pg.url, 2).await.unwrap();
    assert_eq!(again.get_meta("dek").await.unwrap().as_deref(), Some(&b"first"[..]));
    // A change and a deletion of a key on one node reach the other's listener (the schema's
    // trigger notifies when the transaction commits).
    let mut changes = again.watch_keys();
    let mut k = record("watched", 1);
    store.create_key(&k, &[]).await.unwrap();
    let notified = async {
        loop {
            // Until the listener is in place, changes go unheard: change again until heard.
            k.version += 1;
            store.update_key(&k, &[], &[]).await.unwrap();
            let heard = tokio::time::timeout(std::time::Duration::from_millis(200), changes.recv());
            if let Ok(Some(key)) = heard.await {
                return key;
            }
        }
    };
    let heard = tokio::time::timeout(std::time::Duration::from_secs(20), notified).await.unwrap();
    assert_eq!(heard, key("watched"));
    // The notifications of the last updates still on their way are drained first, so that
    // the one heard next is the deletion's.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    while changes.try_recv().is_ok() {}
    store.delete_key(&key("watched"), &[]).await.unwrap();
    let deleted = tokio::time::timeout(std::time::Duration::from_secs(10), changes.recv());
    assert_eq!(deleted.await.unwrap(), Some(key("watched")));
    // A database migrated by a newer binary is refused.
    let (client, conn) = tokio_postgres::connect(&pg.url, tokio_postgres::NoTls).await.unwrap();
    tokio::spawn(conn);
    client.execute("INSERT INTO schema_migrations VALUES (99, 0)", &[]).await.unwrap();
    assert!(store
        .backup_to(Path::new("/tmp/x"))
        .await
        .unwrap_err()
        .to_string()
        .contains("pg_dump"));
    let refused = PostgresStore::connect(&pg.url, 1).await.err().unwrap().to_string();
    assert!(refused.contains("schema version 99, newer than this trent knows"), "{refused}");
}
