//! The records the store keeps. Enumerated values use the wire enums of `trent-types`.

use std::collections::BTreeMap;
use trent_types::{
    ExpirationModelType, ImportState, KeyMaterialState, KeySpec, KeyState, KeyUsageType,
    OriginType, RotationType,
};

/// A key's identity: account, Region and key id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyRef {
    pub account: String,
    pub region: String,
    pub key_id: String,
}

impl KeyRef {
    pub fn partition(&self) -> &'static str {
        partition_of(&self.region)
    }
    pub fn arn(&self) -> String {
        // Joined into one allocation: a call makes this several times, and `format!` costs
        // four times as much.
        ["arn:", self.partition(), ":kms:", &self.region, ":", &self.account, ":key/", &self.key_id]
            .concat()
    }
}

/// The ARN partitions and the prefixes of their Regions' names (AWS's partition list,
/// `partitions.json` of the SDKs: `^cn\-\w+\-\d+$`, `^us\-gov\-\w+\-\d+$`, …). `aws` takes
/// every other Region the SigV4 Region check admits. Accounts, principals, keys and the
/// authorization tests are all drawn from this one list.
pub const PARTITIONS: &[(&str, &str)] = &[
    ("aws", ""),
    ("aws-cn", "cn-"),
    ("aws-us-gov", "us-gov-"),
    ("aws-iso", "us-iso-"),
    ("aws-iso-b", "us-isob-"),
    ("aws-iso-e", "eu-isoe-"),
    ("aws-iso-f", "us-isof-"),
    ("aws-eusc", "eusc-"),
];

/// The ARN partition a Region belongs to.
pub fn partition_of(region: &str) -> &'static str {
    PARTITIONS
        .iter()
        .skip(1)
        .find(|(_, prefix)| region.starts_with(prefix))
        .map_or(PARTITIONS[0].0, |(name, _)| name)
}

/// A partition by name, if it is one.
pub fn partition_named(name: &str) -> Option<&'static str> {
    PARTITIONS.iter().map(|(n, _)| *n).find(|n| *n == name)
}

/// The partition an ARN names (`arn:<partition>:…`).
pub fn partition_of_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').next()
}

#[derive(Debug, Clone, PartialEq)]
pub struct AccountRecord {
    pub account_id: String,
    pub created_ms: i64,
    /// The ARN partition the account lives in (`PARTITIONS`); its credentials sign only for
    /// that partition's Regions.
    pub partition: String,
}

impl AccountRecord {
    /// The account root's ARN.
    pub fn root_arn(&self) -> String {
        ["arn:", &self.partition, ":iam::", &self.account_id, ":root"].concat()
    }
}

/// An access key. The secret is sealed under the keyring (SigV4 needs the secret itself,
/// so it cannot be a one-way hash); `sealed_secret` opens only with the same access key id.
#[derive(Debug, Clone, PartialEq)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account_id: String,
    /// The principal the key authenticates, e.g. `arn:aws:iam::111122223333:root`; its
    /// partition is the only one the key signs for.
    pub principal_arn: String,
    pub sealed_secret: Vec<u8>,
    pub created_ms: i64,
}

/// An IAM-style user: a principal `arn:<partition>:iam::<account>:user/<name>`.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRecord {
    pub account_id: String,
    pub name: String,
    pub created_ms: i64,
    /// Its account's partition.
    pub partition: String,
}

impl UserRecord {
    pub fn arn(&self) -> String {
        format!("arn:{}:iam::{}:user/{}", self.partition, self.account_id, self.name)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct KeyRecord {
    pub key: KeyRef,
    /// Incremented by every update (optimistic concurrency).
    pub version: i64,
    pub created_ms: i64,
    pub description: String,
    pub key_usage: KeyUsageType,
    pub key_spec: KeySpec,
    pub origin: OriginType,
    pub state: KeyState,
    pub deletion_date_ms: Option<i64>,
    /// The state to return to when a scheduled deletion is cancelled is derived, not kept.
    pub policy: String,
    pub multi_region: bool,
    pub tags: BTreeMap<String, String>,
    pub rotation_enabled: bool,
    pub rotation_period_days: Option<i64>,
    pub next_rotation_ms: Option<i64>,
    pub current_material_id: Option<String>,
    /// Multi-Region keys: the Region of the primary key of the set (this key's own Region
    /// when it is the primary). `None` for single-Region keys.
    pub primary_region: Option<String>,
    /// A transient state shown until a time (`Creating` after ReplicateKey, `Updating` after
    /// UpdatePrimaryRegion); `state` is the state the key settles in.
    pub transient: Option<Transient>,
    /// `PendingReplicaDeletion`: the waiting period to schedule once the last replica is gone.
    pub pending_window_days: Option<i64>,
    /// Keys in an external key store: the store and the external key (set at creation).
    pub xks: Option<XksBinding>,
}

/// Where a key of an external key store lives: its custom key store and the id of the
/// external key in the store's proxy (`XksKeyConfiguration.Id`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XksBinding {
    pub custom_key_store_id: String,
    pub xks_key_id: String,
}

impl KeyRecord {
    /// A new, enabled key at version 1 with no material yet, no description, tags or
    /// rotation.
    pub fn new(
        key: KeyRef,
        now: i64,
        spec: KeySpec,
        usage: KeyUsageType,
        origin: OriginType,
        policy: String,
    ) -> Self {
        KeyRecord {
            key,
            version: 1,
            created_ms: now,
            description: String::new(),
            key_usage: usage,
            key_spec: spec,
            origin,
            state: KeyState::Enabled,
            deletion_date_ms: None,
            policy,
            multi_region: false,
            tags: BTreeMap::new(),
            rotation_enabled: false,
            rotation_period_days: None,
            next_rotation_ms: None,
            current_material_id: None,
            primary_region: None,
            transient: None,
            pending_window_days: None,
            xks: None,
        }
    }

    /// Whether this is the primary key of a multi-Region set.
    pub fn is_primary(&self) -> bool {
        self.primary_region.as_deref() == Some(self.key.region.as_str())
    }

    /// Whether this is a replica key of a multi-Region set.
    pub fn is_replica(&self) -> bool {
        self.primary_region.as_ref().is_some_and(|p| *p != self.key.region)
    }
}

/// A state a key shows until `until_ms`, whatever it is stored as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transient {
    pub state: KeyState,
    pub until_ms: i64,
}

/// One key's row and material changes in a write of several keys ([`crate::KeyStore::update_keys`]).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyUpdate {
    /// The new row; written if the stored version is still `key.version - 1`.
    pub key: KeyRecord,
    pub upsert: Vec<MaterialRecord>,
    pub remove: Vec<String>,
    /// The records of what the update does by itself (service events), kept with it.
    pub events: Vec<OutboxEvent>,
}

/// The record of a service event, written with the change it records and kept until it is
/// in a node's journal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEvent {
    pub event_id: String,
    pub made_ms: i64,
    /// The CloudTrail record's JSON.
    pub record: String,
}

/// The last successful cryptographic operation with a key (GetKeyLastUsage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUsageRecord {
    pub key: KeyRef,
    pub operation: String,
    pub used_ms: i64,
    pub event_id: String,
    pub request_id: String,
}

/// One key material of a key.
#[derive(Debug, Clone, PartialEq)]
pub struct MaterialRecord {
    pub key: KeyRef,
    pub material_id: String,
    /// Sealed under the keyring; `None` while the material of an EXTERNAL key is deleted or
    /// expired (pending re-import).
    pub sealed: Option<Vec<u8>>,
    pub state: KeyMaterialState,
    pub created_ms: i64,
    pub rotation_date_ms: Option<i64>,
    pub rotation_type: Option<RotationType>,
    pub import_state: Option<ImportState>,
    pub expiration_model: Option<ExpirationModelType>,
    pub valid_to_ms: Option<i64>,
    pub description: Option<String>,
}

impl MaterialRecord {
    /// Whether the material waits for an on-demand rotation (`PENDING_ROTATION`, or
    /// `PENDING_MULTI_REGION_IMPORT_AND_ROTATION` while replicas lack it): not yet
    /// permanently associated with the key.
    pub fn is_pending_rotation(&self) -> bool {
        matches!(
            self.state,
            KeyMaterialState::PendingRotation
                | KeyMaterialState::PendingMultiRegionImportAndRotation
        )
    }

    /// A new material of `key`, created at `now_ms`, with no import metadata yet.
    pub fn new(
        key: KeyRef,
        material_id: String,
        sealed: Option<Vec<u8>>,
        state: KeyMaterialState,
        now_ms: i64,
    ) -> Self {
        MaterialRecord {
            key,
            material_id,
            sealed,
            state,
            created_ms: now_ms,
            rotation_date_ms: None,
            rotation_type: None,
            import_state: None,
            expiration_model: None,
            valid_to_ms: None,
            description: None,
        }
    }
}

/// A grant on a key: the grantee may perform `operations` while the constraints hold.
#[derive(Debug, Clone, PartialEq)]
pub struct GrantRecord {
    pub key: KeyRef,
    pub grant_id: String,
    pub token: String,
    pub name: Option<String>,
    pub grantee: String,
    pub retiring: Option<String>,
    pub operations: Vec<trent_types::GrantOperation>,
    pub constraints: Option<trent_types::GrantConstraints>,
    /// The principal that created the grant.
    pub issuer: String,
    pub created_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    pub account: String,
    pub region: String,
    /// Full name including the `alias/` prefix.
    pub name: String,
    pub target_key_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl AliasRecord {
    pub fn arn(&self) -> String {
        format!(
            "arn:{}:kms:{}:{}:{}",
            partition_of(&self.region),
            self.region,
            self.account,
            self.name
        )
    }
}

/// How many keys of one account and Region are in one (stored) state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyCount {
    pub account: String,
    pub region: String,
    pub state: KeyState,
    pub count: u64,
}

/// Imported material that is present and expires: what the expiry metric and notices watch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ExpiringMaterial {
    pub key: KeyRef,
    pub material_id: String,
    pub valid_to_ms: i64,
}

/// One expiry notice of one material, as sent: `kind` names the lead time or the expiry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Notice {
    pub material: ExpiringMaterial,
    pub kind: String,
}

/// A log file of the trail, delivered: where, what it holds, and the digest that lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailLogFile {
    pub object_key: String,
    pub account: String,
    pub region: String,
    /// Lowercase hex SHA-256 of the uncompressed file (what a digest lists).
    pub sha256: String,
    pub oldest_ms: i64,
    pub newest_ms: i64,
    pub delivered_ms: i64,
    /// The node whose journal it was packed from, and the last journal sequence packed with
    /// it (a node goes on after the highest of its files).
    pub node: String,
    pub last_sequence: i64,
    /// The digest that lists it; `None` until one does.
    pub digest_key: Option<String>,
}

/// A digest file of the trail's chain for one account and Region.
#[derive(Clone, PartialEq, Eq)]
pub struct TrailDigest {
    pub account: String,
    pub region: String,
    /// The digest before it in the chain; `None` for the first.
    pub previous_key: Option<String>,
    pub object_key: String,
    pub bucket: String,
    pub end_ms: i64,
    /// Hex SHA-256 of its uncompressed JSON, and its signature (hex).
    pub sha256: String,
    pub signature: String,
    /// The file as delivered (gzip), kept to deliver it again.
    pub gzip: Vec<u8>,
    pub delivered: bool,
}

impl std::fmt::Debug for TrailDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrailDigest")
            .field("object_key", &self.object_key)
            .field("previous_key", &self.previous_key)
            .field("end_ms", &self.end_ms)
            .field("delivered", &self.delivered)
            .finish_non_exhaustive()
    }
}

/// A record of a node's journal, copied to the store for LookupEvents on any node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrailEvent {
    pub node: String,
    pub sequence: i64,
    /// Its `recipientAccountId`.
    pub account: String,
    pub event_time_ms: i64,
    /// The CloudTrail record's JSON.
    pub record: String,
}

/// An External Key Store proxy endpoint Trent serves (docs/xks.md): AWS KMS reaches it under
/// `<path_prefix>/kms/xks/v1`; it serves keys of `account` only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XksEndpointRecord {
    pub path_prefix: String,
    pub account: String,
    pub created_ms: i64,
    /// The subject (CN) a client certificate must have on this endpoint, if any.
    pub client_subject: Option<String>,
}

/// A SigV4 credential of an endpoint (the spec's `XksProxyAuthenticationCredential`), its
/// secret sealed under the root key.
#[derive(Clone, PartialEq, Eq)]
pub struct XksCredentialRecord {
    pub access_key_id: String,
    pub path_prefix: String,
    pub sealed_secret: Vec<u8>,
    pub created_ms: i64,
}

impl std::fmt::Debug for XksCredentialRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XksCredentialRecord")
            .field("access_key_id", &self.access_key_id)
            .field("path_prefix", &self.path_prefix)
            .field("created_ms", &self.created_ms)
            .finish_non_exhaustive()
    }
}

/// A Trent key an endpoint serves under `external_key_id`: its usages (`ENCRYPT`, `DECRYPT`,
/// comma-separated) and the AWS callers allowed (a JSON document, see docs/xks.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XksKeyRecord {
    pub path_prefix: String,
    pub external_key_id: String,
    pub region: String,
    pub key_id: String,
    pub usages: String,
    pub allowed: String,
    pub created_ms: i64,
}

/// A custom key store of an account and Region (CreateCustomKeyStore). External key stores
/// name their proxy and the credential Trent signs with (the secret sealed under the root
/// key); CloudHSM key stores cannot be created here (there is no cluster), so the proxy
/// fields are those of an `EXTERNAL_KEY_STORE`.
#[derive(Clone, PartialEq, Eq)]
pub struct CustomKeyStoreRecord {
    pub account: String,
    pub region: String,
    /// `cks-` and 17 hex digits.
    pub id: String,
    /// Incremented by every update (optimistic concurrency).
    pub version: i64,
    pub name: String,
    /// `CustomKeyStoreType`: `EXTERNAL_KEY_STORE`.
    pub store_type: String,
    pub created_ms: i64,
    /// `XksProxyConnectivity`: `PUBLIC_ENDPOINT`.
    pub connectivity: String,
    pub uri_endpoint: String,
    pub uri_path: String,
    pub access_key_id: String,
    pub sealed_secret: Vec<u8>,
    /// `ConnectionState` and, when `FAILED`, `ConnectionErrorCode`.
    pub connection_state: String,
    pub connection_error: Option<String>,
}

impl std::fmt::Debug for CustomKeyStoreRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CustomKeyStoreRecord")
            .field("account", &self.account)
            .field("region", &self.region)
            .field("id", &self.id)
            .field("version", &self.version)
            .field("name", &self.name)
            .field("uri_endpoint", &self.uri_endpoint)
            .field("uri_path", &self.uri_path)
            .field("access_key_id", &self.access_key_id)
            .field("connection_state", &self.connection_state)
            .field("connection_error", &self.connection_error)
            .finish_non_exhaustive()
    }
}
