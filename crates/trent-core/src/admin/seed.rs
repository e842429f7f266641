//! Declarative seeding (`trent serve --init FILE`): accounts, users with identity policies,
//! access keys with given ids and secrets, keys with given ids, their policies, tags, aliases
//! and imported material, made to exist at every start. Idempotent: what exists as the seed
//! says is left alone, what is missing is made, and what exists otherwise is an error —
//! never a silent change. Keys are made as CreateKey makes them; material goes through the
//! real import path (GetParametersForImport, wrapping, ImportKeyMaterial) as the account root.
//! Seeding never undoes a deletion: a key whose id was ever deleted is not made again, and
//! material is imported only into a key seeding has just made (material deleted with
//! DeleteImportedKeyMaterial, or expired, stays deleted); what is skipped is logged.

use super::Admin;
use crate::{Caller, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::Secret;
use trent_store::KeyRef;
use trent_types::*;

/// What a seed file asks for, its files read and its defaults applied (by the binary).
#[derive(Debug, Default)]
pub struct Seed {
    /// Accounts made (with root credentials) if missing.
    pub accounts: Vec<SeedAccount>,
    pub users: Vec<SeedUser>,
    pub access_keys: Vec<SeedAccessKey>,
    pub keys: Vec<SeedKey>,
}

#[derive(Debug)]
pub struct SeedAccount {
    pub id: String,
    /// The ARN partition (`aws` when absent).
    pub partition: Option<String>,
}

#[derive(Debug)]
pub struct SeedUser {
    pub account: String,
    pub name: String,
    /// Inline identity policies by name.
    pub policies: BTreeMap<String, String>,
}

/// An access key whose secret is in the seed file: for tests and demos.
#[derive(Debug)]
pub struct SeedAccessKey {
    pub account: String,
    /// `None`: the account root.
    pub user: Option<String>,
    pub id: String,
    pub secret: Secret,
}

#[derive(Debug)]
pub struct SeedKey {
    pub account: String,
    pub region: String,
    /// A UUID, or `mrk-` and 32 hex digits for a multi-Region key.
    pub id: String,
    pub spec: KeySpec,
    pub usage: KeyUsageType,
    pub origin: OriginType,
    pub description: String,
    pub policy: Option<String>,
    pub tags: BTreeMap<String, String>,
    pub aliases: Vec<String>,
    /// Applied when the key is made.
    pub enabled: bool,
    pub material: Option<SeedMaterial>,
}

#[derive(Debug)]
pub struct SeedMaterial {
    pub bytes: Secret,
    /// `None`: the material does not expire.
    pub valid_to_ms: Option<i64>,
}

/// What seeding did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct SeedReport {
    pub made: Vec<String>,
    pub kept: usize,
}

fn conflict(what: String) -> KmsError {
    KmsError::validation(format!(
        "seed: {what}; change the seed file or the data, Trent changes neither"
    ))
}

fn root(account: &str, region: &str, principal_arn: String) -> Caller {
    Caller {
        account: account.to_string(),
        region: region.to_string(),
        principal_arn,
        access_key_id: "seed".into(),
        source_ip: None,
        secure_transport: false,
        quota: Default::default(),
    }
}

fn check_key_id(k: &SeedKey) -> Result<bool> {
    let hex = |s: &str| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let uuid = |s: &str| {
        s.len() == 36
            && s.char_indices().all(|(i, c)| {
                if [8, 13, 18, 23].contains(&i) {
                    c == '-'
                } else {
                    c.is_ascii_hexdigit()
                }
            })
    };
    match k.id.strip_prefix("mrk-") {
        Some(rest) if hex(rest) => Ok(true),
        None if uuid(&k.id) => Ok(false),
        _ => {
            Err(conflict(format!("'{}' is not a key id (a UUID, or mrk- and 32 hex digits)", k.id)))
        }
    }
}

impl Admin<'_> {
    /// Makes the seed true; an error names the first thing that exists otherwise.
    pub async fn seed(&self, seed: &Seed) -> Result<SeedReport> {
        let mut report = SeedReport::default();
        for account in &seed.accounts {
            let id = &account.id;
            if self.kms.store.get_account(id).await?.is_some() {
                // create_account refuses another partition than the one it has.
                self.create_account(id, account.partition.as_deref()).await?;
                report.kept += 1;
            } else {
                self.create_account(id, account.partition.as_deref()).await?;
                report.made.push(format!("account {id}"));
            }
        }
        for u in &seed.users {
            self.seed_user(u, &mut report).await?;
        }
        for k in &seed.access_keys {
            self.seed_access_key(k, &mut report).await?;
        }
        for k in &seed.keys {
            Box::pin(self.seed_key(k, &mut report)).await?;
        }
        Ok(report)
    }

    async fn seed_user(&self, u: &SeedUser, report: &mut SeedReport) -> Result<()> {
        if self.kms.store.get_user(&u.account, &u.name).await?.is_none() {
            self.create_user(&u.account, &u.name).await?;
            report.made.push(format!("user {}", u.name));
        } else {
            report.kept += 1;
        }
        let arn = self.user(&u.account, &u.name).await?.arn();
        let existing: BTreeMap<String, String> =
            self.kms.store.list_identity_policies(&arn).await?.into_iter().collect();
        for (name, document) in &u.policies {
            match existing.get(name) {
                Some(d) if d == document => report.kept += 1,
                Some(_) => {
                    return Err(conflict(format!(
                        "user {} has a policy {name} other than the seed file's",
                        u.name
                    )))
                }
                None => {
                    self.put_user_policy(&u.account, &u.name, name, document).await?;
                    report.made.push(format!("policy {name} of user {}", u.name));
                }
            }
        }
        Ok(())
    }

    async fn seed_access_key(&self, k: &SeedAccessKey, report: &mut SeedReport) -> Result<()> {
        let principal = match &k.user {
            Some(name) => self.user(&k.account, name).await?.arn(),
            None => self.ensure_account(&k.account).await?.principal_arn,
        };
        match self.kms.store.get_access_key(&k.id).await? {
            Some(existing) => {
                let secret = self.open_access_key_secret(&existing)?;
                let same = existing.principal_arn == principal
                    && trent_crypto::constant_time_eq(secret.as_bytes(), k.secret.as_bytes());
                if !same {
                    return Err(conflict(format!(
                        "access key {} exists for another principal or with another secret",
                        k.id
                    )));
                }
                report.kept += 1;
            }
            None => {
                if !(16..=128).contains(&k.id.len())
                    || !k.id.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
                {
                    return Err(conflict(format!(
                        "'{}' is not an access key id (16 to 128 upper-case letters and digits)",
                        k.id
                    )));
                }
                self.put_access_key(&k.account, &principal, &k.id, &k.secret).await?;
                tracing::warn!(access_key_id = %k.id, principal = %principal, "seeded an access key whose secret is in the seed file: for tests only");
                report.made.push(format!("access key {}", k.id));
            }
        }
        Ok(())
    }

    async fn seed_key(&self, k: &SeedKey, report: &mut SeedReport) -> Result<()> {
        let multi_region = check_key_id(k)?;
        let key =
            KeyRef { account: k.account.clone(), region: k.region.clone(), key_id: k.id.clone() };
        let root_arn = self.ensure_account(&k.account).await?.principal_arn;
        if trent_store::partition_of_arn(&root_arn) != Some(key.partition()) {
            return Err(conflict(format!(
                "key {} is in a Region of another partition than its account's ({root_arn})",
                key.arn()
            )));
        }
        let caller = root(&k.account, &k.region, root_arn);
        let arn = key.arn();
        let mut made = false;
        match self.kms.store.get_key(&key).await? {
            None if self.kms.store.key_was_deleted(&key).await? => {
                tracing::warn!(key = %arn, "seed: the key was deleted; seeding does not make it again");
                report.kept += 1;
                return Ok(());
            }
            Some(rec) => {
                let found = (rec.key_spec, rec.key_usage, rec.origin);
                if found != (k.spec, k.usage, k.origin) {
                    return Err(conflict(format!(
                        "key {arn} exists as {} {} {}, the seed file says {} {} {}",
                        found.0, found.1, found.2, k.spec, k.usage, k.origin
                    )));
                }
                if rec.description != k.description {
                    return Err(conflict(format!("key {arn} has another description")));
                }
                if let Some(policy) = &k.policy {
                    let wanted = crate::new_key::validate_policy(self.kms, policy)?;
                    if rec.policy != wanted {
                        return Err(conflict(format!("key {arn} has another key policy")));
                    }
                }
                for (tag, value) in &k.tags {
                    if rec.tags.get(tag).is_some_and(|v| v != value) {
                        return Err(conflict(format!(
                            "key {arn} has tag {tag} with another value"
                        )));
                    }
                }
                report.kept += 1;
            }
            None => {
                let req = CreateKeyRequest {
                    policy: k.policy.clone(),
                    description: Some(k.description.clone()),
                    key_usage: Some(k.usage),
                    key_spec: Some(k.spec),
                    origin: Some(k.origin),
                    multi_region: Some(multi_region),
                    ..Default::default()
                };
                let request_parameters = crate::Call::request_parameters(&req);
                let out =
                    crate::new_key::create_key(self.kms, &caller, req, Some(k.id.clone())).await?;
                // Made by the operator, with the id the seed file gives: recorded as the
                // operator's CreateKey (call_as_operator records the calls that follow).
                let event = crate::audit::admin_event(
                    &k.account,
                    &k.region,
                    "kms.amazonaws.com",
                    "CreateKey",
                    request_parameters,
                    trent_types::trail::Trail::trail(&out),
                    self.kms.now_ms(),
                );
                self.kms.record_admin(event).await?;
                if !k.enabled {
                    self.kms
                        .call_as_operator(&caller, DisableKeyRequest { key_id: k.id.clone() })
                        .await?;
                }
                report.made.push(format!("key {arn}"));
                made = true;
            }
        }
        let rec = self
            .kms
            .store
            .get_key(&key)
            .await?
            .ok_or_else(|| conflict(format!("key {arn} vanished")))?;
        let missing: Vec<Tag> = k
            .tags
            .iter()
            .filter(|(t, _)| !rec.tags.contains_key(*t))
            .map(|(t, v)| Tag { tag_key: t.clone(), tag_value: v.clone() })
            .collect();
        if !missing.is_empty() {
            self.kms
                .call_as_operator(
                    &caller,
                    TagResourceRequest { key_id: k.id.clone(), tags: missing },
                )
                .await?;
        }
        for alias in &k.aliases {
            self.seed_alias(&caller, &key, alias, report).await?;
        }
        if let Some(m) = &k.material {
            self.seed_material(&caller, &rec, m, made, report).await?;
        }
        Ok(())
    }

    async fn seed_alias(
        &self,
        caller: &Caller,
        key: &KeyRef,
        alias: &str,
        report: &mut SeedReport,
    ) -> Result<()> {
        match self.kms.store.get_alias(&key.account, &key.region, alias).await? {
            Some(a) if a.target_key_id == key.key_id => report.kept += 1,
            Some(a) => {
                return Err(conflict(format!("{alias} points to key {}", a.target_key_id)));
            }
            None => {
                let req = CreateAliasRequest {
                    alias_name: alias.to_string(),
                    target_key_id: key.key_id.clone(),
                };
                self.kms.call_as_operator(caller, req).await?;
                report.made.push(alias.to_string());
            }
        }
        Ok(())
    }

    /// Imports the seed's material into a key seeding has just made (`made`); a key that was
    /// there already keeps what it has: the seed's material, or none if it was deleted or
    /// expired (logged), while other material is an error (AWS refuses it too).
    async fn seed_material(
        &self,
        caller: &Caller,
        rec: &trent_store::KeyRecord,
        m: &SeedMaterial,
        made: bool,
        report: &mut SeedReport,
    ) -> Result<()> {
        let arn = rec.key.arn();
        if rec.origin != OriginType::External {
            return Err(conflict(format!("key {arn} is not EXTERNAL: it takes no material")));
        }
        let id = self.kms.held.keyring.material_id(&rec.key.key_id, &m.bytes);
        let described = DescribeKeyRequest { key_id: rec.key.key_id.clone(), grant_tokens: None };
        let meta = self.kms.call_as_operator(caller, described).await?.key_metadata;
        if meta.and_then(|m| m.key_state) != Some(KeyState::PendingImport) {
            if rec.current_material_id.as_deref() != Some(id.as_str()) {
                return Err(conflict(format!(
                    "key {arn} has other key material than the seed file's"
                )));
            }
            report.kept += 1;
            return Ok(());
        }
        if !made {
            tracing::warn!(key = %arn, "seed: the key has no key material (deleted or expired); seeding imports only into keys it makes");
            report.kept += 1;
            return Ok(());
        }
        let params = self
            .kms
            .call_as_operator(
                caller,
                GetParametersForImportRequest {
                    key_id: rec.key.key_id.clone(),
                    wrapping_algorithm: AlgorithmSpec::RsaAesKeyWrapSha256,
                    wrapping_key_spec: WrappingKeySpec::Rsa2048,
                },
            )
            .await?;
        let public = params.public_key.ok_or_else(|| KmsError::broken("no public key"))?;
        let token = params.import_token.ok_or_else(|| KmsError::broken("no token"))?;
        let wrapped = trent_crypto::import::wrap_material(
            trent_crypto::import::WrapAlgorithm::RsaAesSha256,
            public.as_bytes(),
            m.bytes.as_bytes(),
        )?;
        let req = ImportKeyMaterialRequest {
            key_id: rec.key.key_id.clone(),
            import_token: token,
            encrypted_key_material: Blob::new(wrapped),
            valid_to: m.valid_to_ms.map(Timestamp::from_millis),
            expiration_model: Some(match m.valid_to_ms {
                Some(_) => ExpirationModelType::KeyMaterialExpires,
                None => ExpirationModelType::KeyMaterialDoesNotExpire,
            }),
            ..Default::default()
        };
        self.kms.call_as_operator(caller, req).await?;
        report.made.push(format!("key material of {arn}"));
        Ok(())
    }
}
