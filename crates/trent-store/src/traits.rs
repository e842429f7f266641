//! What the store keeps, one trait per aggregate, and [`Store`], all of them together (what
//! the domain holds). Implementations make each call atomic and durable before it returns.

use crate::model::*;
use crate::Result;
use async_trait::async_trait;

/// The service's own metadata (e.g. the wrapped data-encryption key).
#[async_trait]
pub trait MetaStore: Send + Sync {
    async fn get_meta(&self, name: &str) -> Result<Option<Vec<u8>>>;
    /// Sets `name` unless it is set already; returns the value now stored.
    async fn put_meta_if_absent(&self, name: &str, value: &[u8]) -> Result<Vec<u8>>;
}

/// Accounts, their access keys and users, and the identity policies of principals.
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// An account, unless it exists (its partition never changes).
    async fn put_account(&self, account: &AccountRecord) -> Result<()>;
    async fn get_account(&self, account_id: &str) -> Result<Option<AccountRecord>>;
    async fn put_access_key(&self, key: &AccessKeyRecord) -> Result<()>;
    async fn get_access_key(&self, access_key_id: &str) -> Result<Option<AccessKeyRecord>>;
    async fn list_access_keys(&self, account_id: &str) -> Result<Vec<AccessKeyRecord>>;
    async fn delete_access_key(&self, access_key_id: &str) -> Result<()>;
    /// An IAM-style user; `AlreadyExists` if the name is taken in the account.
    async fn put_user(&self, user: &UserRecord) -> Result<()>;
    async fn get_user(&self, account_id: &str, name: &str) -> Result<Option<UserRecord>>;
    async fn list_users(&self, account_id: &str) -> Result<Vec<UserRecord>>;
    /// Sets (creates or replaces) an identity policy of a principal.
    async fn put_identity_policy(
        &self,
        principal_arn: &str,
        name: &str,
        document: &str,
    ) -> Result<()>;
    async fn delete_identity_policy(&self, principal_arn: &str, name: &str) -> Result<()>;
    /// The identity policies of a principal: (name, document).
    async fn list_identity_policies(&self, principal_arn: &str) -> Result<Vec<(String, String)>>;
}

/// KMS keys and their key materials.
#[async_trait]
pub trait KeyStore: Send + Sync {
    /// Creates a key with its first materials. `AlreadyExists` if the id is taken.
    async fn create_key(&self, key: &KeyRecord, materials: &[MaterialRecord]) -> Result<()>;
    /// Creates many keys in one transaction: all of them or, on any error, none. The bulk
    /// path of `trent admin create-keys`.
    async fn create_keys(&self, keys: Vec<(KeyRecord, Vec<MaterialRecord>)>) -> Result<()>;
    async fn get_key(&self, key: &KeyRef) -> Result<Option<KeyRecord>>;
    /// A key and its materials as one consistent snapshot.
    async fn get_key_with_materials(
        &self,
        key: &KeyRef,
    ) -> Result<Option<(KeyRecord, Vec<MaterialRecord>)>>;
    /// Keys of one account and Region ordered by key id, after `after` if given.
    async fn list_keys(
        &self,
        account: &str,
        region: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<KeyRecord>>;
    /// Whether the key was deleted once (its id is never made again by seeding).
    async fn key_was_deleted(&self, key: &KeyRef) -> Result<bool>;
    /// How many keys one account has in one Region (every state, pending deletion included).
    async fn count_keys(&self, account: &str, region: &str) -> Result<u64>;
    /// Replaces the key's row if its version is still `key.version - 1`, upserts `materials`
    /// and removes the materials with the ids in `remove`, in one transaction; `Conflict` if
    /// the version moved.
    async fn update_key(
        &self,
        key: &KeyRecord,
        materials: &[MaterialRecord],
        remove: &[String],
    ) -> Result<()> {
        let update = KeyUpdate {
            key: key.clone(),
            upsert: materials.to_vec(),
            remove: remove.to_vec(),
            events: Vec::new(),
        };
        self.update_keys(vec![update]).await
    }
    /// `update_key` of several keys (the keys of one multi-Region set) in one transaction:
    /// all of them or, on any conflict, none.
    async fn update_keys(&self, updates: Vec<KeyUpdate>) -> Result<()>;
    /// The keys with this id in every Region of the account, ordered by Region: a
    /// multi-Region key's primary and replicas.
    async fn related_keys(&self, account: &str, key_id: &str) -> Result<Vec<KeyRecord>>;
    /// Removes the key, its materials, notices, usage, grants and aliases for good, writing
    /// the records of the deletion (`events`) in the same transaction.
    async fn delete_key(&self, key: &KeyRef, events: &[OutboxEvent]) -> Result<()>;
    /// Keys in `PendingDeletion` whose deletion date is at or before `now_ms`.
    async fn keys_due_for_deletion(&self, now_ms: i64) -> Result<Vec<KeyRef>>;
    /// Keys with automatic rotation enabled whose next rotation is at or before `now_ms`.
    async fn keys_due_for_rotation(&self, now_ms: i64) -> Result<Vec<KeyRef>>;
    /// Keys with imported material still present whose `ValidTo` is at or before `now_ms`.
    async fn keys_with_expired_material(&self, now_ms: i64) -> Result<Vec<KeyRef>>;
    async fn get_materials(&self, key: &KeyRef) -> Result<Vec<MaterialRecord>>;
    /// The number of keys per account, Region and stored state (what time did to a key since
    /// the last background pass is not in it: `lifecycle` computes that on read).
    async fn count_keys_by_state(&self) -> Result<Vec<KeyCount>>;
    /// Every imported material that is present and has a `ValidTo`, in no particular order.
    async fn expiring_materials(&self) -> Result<Vec<ExpiringMaterial>>;
}

/// Aliases of keys.
#[async_trait]
pub trait AliasStore: Send + Sync {
    async fn create_alias(&self, alias: &AliasRecord) -> Result<()>;
    async fn get_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
    ) -> Result<Option<AliasRecord>>;
    /// Points an existing alias at another key if it still points at `expected_target`:
    /// `NotFound` if there is no such alias, `Conflict` if it points elsewhere now.
    async fn update_alias(&self, alias: &AliasRecord, expected_target: &str) -> Result<()>;
    /// Deletes an alias if it still points at `expected_target` (`NotFound`, `Conflict`).
    async fn delete_alias(
        &self,
        account: &str,
        region: &str,
        name: &str,
        expected_target: &str,
    ) -> Result<()>;
    /// Aliases ordered by name, after `after`, optionally only those of one key.
    async fn list_aliases(
        &self,
        account: &str,
        region: &str,
        key_id: Option<&str>,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>>;
}

/// Grants on keys.
#[async_trait]
pub trait GrantStore: Send + Sync {
    async fn put_grant(&self, grant: &GrantRecord) -> Result<()>;
    /// The grants of a key, oldest first.
    async fn list_grants(&self, key: &KeyRef) -> Result<Vec<GrantRecord>>;
    async fn get_grant_by_token(&self, token: &str) -> Result<Option<GrantRecord>>;
    /// Grants whose retiring principal is `principal`.
    async fn list_grants_by_retiring(&self, principal: &str) -> Result<Vec<GrantRecord>>;
    /// `NotFound` if there is no such grant on the key.
    async fn delete_grant(&self, key: &KeyRef, grant_id: &str) -> Result<()>;
}

/// The expiry notices sent, so that each goes out once whichever node sends it.
#[async_trait]
pub trait NoticeStore: Send + Sync {
    /// Records that `notice` is being sent at `now_ms`; `false` when it was already (by this
    /// node or another), so that each notice goes out once.
    async fn claim_notice(&self, notice: &Notice, now_ms: i64) -> Result<bool>;
    /// Forgets the notices of materials whose `ValidTo` is before `before_ms`.
    async fn prune_notices(&self, before_ms: i64) -> Result<()>;
}

/// The last use of each key (GetKeyLastUsage).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Records the last usage of keys, each kept only if later than the stored one.
    async fn put_last_usage(&self, usages: Vec<KeyLastUsageRecord>) -> Result<()>;
    async fn get_last_usage(&self, key: &KeyRef) -> Result<Option<KeyLastUsageRecord>>;
}

/// A copy of the whole store.
#[async_trait]
pub trait BackupStore: Send + Sync {
    /// Writes a consistent copy of the whole store to the new file `to` while writes go on
    /// (SQLite). PostgreSQL refuses: its backups are the database's own tools (pg_dump).
    async fn backup_to(&self, to: &std::path::Path) -> Result<()>;
}

/// The trail's delivered log files and its digest chains (one per account and Region).
#[async_trait]
pub trait TrailStore: Send + Sync {
    /// Records log files delivered (together, or none of them).
    async fn put_log_files(&self, files: Vec<TrailLogFile>) -> Result<()>;
    /// The last journal sequence of `node` in a delivered log file.
    async fn packaged_through(&self, node: &str) -> Result<Option<i64>>;
    /// The log files of `account` in `region` that no digest lists yet, oldest first.
    async fn undigested_log_files(&self, account: &str, region: &str) -> Result<Vec<TrailLogFile>>;
    /// Every (account, Region) with a log file.
    async fn trail_regions(&self) -> Result<Vec<(String, String)>>;
    /// The newest digest of `account` in `region`.
    async fn digest_head(&self, account: &str, region: &str) -> Result<Option<TrailDigest>>;
    /// Adds `digest` to its chain, listing `log_files` in it, if its `previous_key` is still
    /// the head and no other digest took one of the files; `false` (and nothing changed) if
    /// another node's digest came first.
    async fn chain_digest(&self, digest: &TrailDigest, log_files: &[String]) -> Result<bool>;
    /// Digests chained but not yet delivered, oldest first.
    async fn undelivered_digests(&self) -> Result<Vec<TrailDigest>>;
    async fn digest_delivered(&self, object_key: &str) -> Result<()>;
    /// Keeps records for a node's journal (what `trent admin` did on the store itself).
    async fn put_outbox(&self, events: &[OutboxEvent]) -> Result<()>;
    /// The service event `event_id` is in a node's journal: it leaves the outbox.
    async fn outbox_done(&self, event_id: &str) -> Result<()>;
    /// Service events made before `before_ms` and still in the outbox (their node stopped
    /// between the change and its journal), not claimed since then.
    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxEvent>>;
    /// Takes an outbox event to write it, unless another node did since `stale_before_ms`.
    async fn claim_outbox(&self, event_id: &str, now_ms: i64, stale_before_ms: i64)
        -> Result<bool>;
    /// Copies journal records to the store (a record copied again is left as it is).
    async fn ship_events(&self, events: Vec<TrailEvent>) -> Result<()>;
    /// The last journal sequence of `node` copied to the store.
    async fn shipped_through(&self, node: &str) -> Result<Option<i64>>;
    /// Up to `limit` records of `account` that arrived before `before_id` (all, when
    /// `None`), newest first, with their ids.
    async fn events_before(
        &self,
        account: &str,
        before_id: Option<i64>,
        limit: i64,
    ) -> Result<Vec<(i64, String)>>;
    /// Forgets records whose event time is before `before_ms`.
    async fn prune_events(&self, before_ms: i64) -> Result<()>;
    /// The whole chain of `account` in `region`, oldest first (for verification).
    async fn trail_digests(&self, account: &str, region: &str) -> Result<Vec<TrailDigest>>;
    /// Every log file of `account` in `region`, digested or not.
    async fn trail_log_files(&self, account: &str, region: &str) -> Result<Vec<TrailLogFile>>;
}

/// What Trent serves as an External Key Store proxy: endpoints, their credentials, their keys.
#[async_trait]
pub trait XksStore: Send + Sync {
    /// A new endpoint; `AlreadyExists` if its path prefix is taken.
    async fn put_xks_endpoint(&self, e: &XksEndpointRecord) -> Result<()>;
    async fn get_xks_endpoint(&self, path_prefix: &str) -> Result<Option<XksEndpointRecord>>;
    async fn list_xks_endpoints(&self, account: &str) -> Result<Vec<XksEndpointRecord>>;
    /// Deletes an endpoint with its credentials and keys; `NotFound` if there is none.
    async fn delete_xks_endpoint(&self, path_prefix: &str) -> Result<()>;
    /// Adds a credential to its endpoint; `Conflict` (nothing added) if the endpoint has `max`
    /// already or is gone.
    async fn put_xks_credential(&self, c: &XksCredentialRecord, max: i64) -> Result<()>;
    async fn get_xks_credential(&self, access_key_id: &str) -> Result<Option<XksCredentialRecord>>;
    async fn list_xks_credentials(&self, path_prefix: &str) -> Result<Vec<XksCredentialRecord>>;
    /// `NotFound` if there is none.
    async fn delete_xks_credential(&self, access_key_id: &str) -> Result<()>;
    /// A key served by its endpoint; `AlreadyExists` if the external key id is taken there,
    /// `NotFound` if the endpoint is gone.
    async fn put_xks_key(&self, k: &XksKeyRecord) -> Result<()>;
    async fn get_xks_key(
        &self,
        path_prefix: &str,
        external_key_id: &str,
    ) -> Result<Option<XksKeyRecord>>;
    async fn list_xks_keys(&self, path_prefix: &str) -> Result<Vec<XksKeyRecord>>;
    /// `NotFound` if there is none.
    async fn delete_xks_key(&self, path_prefix: &str, external_key_id: &str) -> Result<()>;
}

/// Custom key stores of an account and Region (`cks-…`).
#[async_trait]
pub trait CustomKeyStoreStore: Send + Sync {
    /// A new store; `AlreadyExists` if its name or its proxy's address (endpoint and path) is
    /// taken in the account and Region, `Conflict` (nothing added) if the account has `max`
    /// stores there already.
    async fn create_custom_key_store(&self, c: &CustomKeyStoreRecord, max: i64) -> Result<()>;
    async fn get_custom_key_store(
        &self,
        account: &str,
        region: &str,
        id: &str,
    ) -> Result<Option<CustomKeyStoreRecord>>;
    /// An account's stores in a Region, oldest first.
    async fn list_custom_key_stores(
        &self,
        account: &str,
        region: &str,
    ) -> Result<Vec<CustomKeyStoreRecord>>;
    /// Replaces a store read at `c.version - 1`: `Conflict` if it changed since,
    /// `AlreadyExists` if the new name or address is taken.
    async fn update_custom_key_store(&self, c: &CustomKeyStoreRecord) -> Result<()>;
    /// Deletes a store that holds no key: `Ok(false)` (nothing deleted) if it holds keys,
    /// `NotFound` if there is none.
    async fn delete_custom_key_store(&self, account: &str, region: &str, id: &str) -> Result<bool>;
}

/// Everything Trent keeps.
pub trait Store:
    MetaStore
    + IdentityStore
    + KeyStore
    + AliasStore
    + GrantStore
    + NoticeStore
    + UsageStore
    + BackupStore
    + TrailStore
    + XksStore
    + CustomKeyStoreStore
    + 'static
{
}

impl<T> Store for T where
    T: MetaStore
        + IdentityStore
        + KeyStore
        + AliasStore
        + GrantStore
        + NoticeStore
        + UsageStore
        + BackupStore
        + TrailStore
        + XksStore
        + CustomKeyStoreStore
        + 'static
{
}
