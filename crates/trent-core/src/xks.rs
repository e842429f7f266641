//! Trent as an External Key Store proxy (AWS's `xks_proxy_api_spec.md` v1; docs/xks.md): the
//! endpoints an operator sets up (a URI path prefix owned by one account, its SigV4
//! credentials, the Trent keys it serves under external key ids) and the four operations AWS
//! KMS calls on them. An external key is a symmetric Trent key of that account — one with
//! imported material included — used as the raw AES-256-GCM key the spec describes, so that
//! its material never leaves Trent and what AWS KMS stored decrypts in any proxy holding the
//! same material. Errors are the spec's (`trent_types::xks::XksError`); a fault of ours is
//! logged and answered `InternalException`.

use crate::admin::{random_text, BASE32, SECRET_CHARS};
use crate::Kms;
use std::sync::Arc;
use trent_crypto::Secret;
use trent_store::{KeyRef, StoreError, XksCredentialRecord, XksEndpointRecord, XksKeyRecord};
use trent_types::xks::{
    b64, DecryptInput, DecryptResponse, EkmFleetDetail, EncryptInput, EncryptResponse,
    HealthResponse, KeyMetadataResponse, RequestMetadata, XksError, XksOperation,
};
use trent_types::{KeySpec, KeyState, KeyUsageType};

/// Credentials an endpoint may have at once: two, so that one is rotated while AWS KMS still
/// signs with the other (the spec's "SigV4 credentials rotation").
pub const MAX_CREDENTIALS: i64 = 2;
/// Requests a second an endpoint admits by default: what AWS KMS sends an external key store
/// at most ("Custom key store request quotas": 1,800 a second for external key stores).
pub const DEFAULT_REQUESTS_PER_SECOND: u32 = 1800;
/// What `ciphertextMetadata` begins with: this proxy's format, version 1, then the first 8
/// bytes of SHA-256 of the material id the ciphertext was made with.
const METADATA_TAG: &[u8; 2] = b"T1";

fn credential_context(access_key_id: &str) -> String {
    format!("trent/v1/xks-credential\0{access_key_id}")
}

fn internal(e: impl std::fmt::Display) -> XksError {
    tracing::error!(error = %e, "the XKS proxy failed");
    XksError::Internal
}

/// An endpoint an authenticated request reached, and who signed it.
#[derive(Debug, Clone)]
pub struct XksCaller {
    pub endpoint: XksEndpointRecord,
    pub access_key_id: String,
}

/// A new credential: shown once, its secret sealed in the store.
pub struct NewXksCredential {
    pub access_key_id: String,
    pub secret_access_key: Secret,
}

/// Which AWS callers may use an external key (docs/xks.md): each list empty, or naming
/// the principals (`awsPrincipalArn`) and KMS keys (`kmsKeyArn`) allowed; a name ending in
/// `*` matches every name it begins.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct XksAllowed {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aws_principal_arns: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kms_key_arns: Vec<String>,
}

fn matches(patterns: &[String], value: Option<&str>) -> bool {
    patterns.is_empty()
        || value.is_some_and(|v| {
            patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(start) => v.starts_with(start),
                None => p == v,
            })
        })
}

impl XksAllowed {
    /// Whether the caller `m` names is allowed. GetKeyMetadata carries no `kmsKeyArn` when
    /// AWS KMS calls it for CreateKey (the KMS key does not exist yet): there only the
    /// principal is checked.
    fn allows(&self, m: &RequestMetadata, operation: XksOperation) -> bool {
        let key_checked = m.kms_key_arn.is_some() || operation != XksOperation::GetKeyMetadata;
        matches(&self.aws_principal_arns, m.aws_principal_arn.as_deref())
            && (!key_checked || matches(&self.kms_key_arns, m.kms_key_arn.as_deref()))
    }
}

/// The usages an external key is served for.
const USAGES: [&str; 2] = ["ENCRYPT", "DECRYPT"];

fn usages_of(k: &XksKeyRecord) -> Vec<String> {
    k.usages.split(',').filter(|u| !u.is_empty()).map(String::from).collect()
}

fn metadata_of(material_id: &str) -> Vec<u8> {
    let mut out = METADATA_TAG.to_vec();
    out.extend_from_slice(&trent_crypto::sha256(material_id.as_bytes())[..8]);
    out
}

/// What a served call used, for its audit record.
#[derive(Debug, Clone, Default)]
pub struct XksUse {
    /// The Trent key's ARN.
    pub key_arn: Option<String>,
    pub material_id: Option<String>,
}

impl Kms {
    /// The endpoint and secret of an XKS credential, to verify a request's signature; `None`
    /// for an access key id no endpoint has.
    /// Counts one request on `caller`'s endpoint: `ThrottlingException` past its quota.
    pub fn xks_admit(&self, caller: &XksCaller) -> Result<(), XksError> {
        let rate = self.config.xks_requests_per_second;
        if self.access.quotas.admit_xks(&caller.endpoint.path_prefix, rate) {
            Ok(())
        } else {
            Err(XksError::Throttling)
        }
    }

    pub async fn xks_credential(
        &self,
        access_key_id: &str,
    ) -> Result<Option<(XksCaller, Secret)>, XksError> {
        let store = self.store();
        let Some(c) = store.get_xks_credential(access_key_id).await.map_err(internal)? else {
            return Ok(None);
        };
        let Some(endpoint) = store.get_xks_endpoint(&c.path_prefix).await.map_err(internal)? else {
            return Ok(None);
        };
        let secret = self
            .keyring()
            .open_secret(&credential_context(access_key_id), &c.sealed_secret)
            .map_err(internal)?;
        Ok(Some((XksCaller { endpoint, access_key_id: c.access_key_id }, secret)))
    }

    /// The external key `external_key_id` of `caller`'s endpoint, with its Trent key.
    async fn xks_key(
        &self,
        caller: &XksCaller,
        external_key_id: &str,
    ) -> Result<(XksKeyRecord, Arc<crate::key_cache::CachedKey>), XksError> {
        let prefix = &caller.endpoint.path_prefix;
        let not_found =
            || XksError::KeyNotFound(format!("External key {external_key_id} was not found."));
        let k = self
            .store()
            .get_xks_key(prefix, external_key_id)
            .await
            .map_err(internal)?
            .ok_or_else(not_found)?;
        let key = KeyRef {
            account: caller.endpoint.account.clone(),
            region: k.region.clone(),
            key_id: k.key_id.clone(),
        };
        let cached =
            self.held.keys.cached_key(&key).await.map_err(internal)?.ok_or_else(not_found)?;
        Ok((k, cached))
    }

    /// GetKeyMetadata: `AES_256`, the usages it is served for, and `ENABLED` while the Trent
    /// key is enabled with its material present.
    pub async fn xks_key_metadata(
        &self,
        caller: &XksCaller,
        external_key_id: &str,
        metadata: &RequestMetadata,
    ) -> Result<(KeyMetadataResponse, XksUse), XksError> {
        let (k, cached) = self.xks_key(caller, external_key_id).await?;
        self.xks_authorize(&k, metadata, XksOperation::GetKeyMetadata)?;
        let rec = &cached.rec;
        let enabled = rec.state == KeyState::Enabled && current_material(&cached).is_some();
        let response = KeyMetadataResponse {
            key_spec: "AES_256".into(),
            key_usage: usages_of(&k),
            key_status: if enabled { "ENABLED" } else { "DISABLED" }.into(),
        };
        Ok((response, XksUse { key_arn: Some(rec.key.arn()), material_id: None }))
    }

    fn xks_authorize(
        &self,
        k: &XksKeyRecord,
        m: &RequestMetadata,
        operation: XksOperation,
    ) -> Result<(), XksError> {
        let allowed: XksAllowed = serde_json::from_str(&k.allowed).map_err(internal)?;
        if allowed.allows(m, operation) {
            return Ok(());
        }
        tracing::warn!(external_key = %k.external_key_id, principal = ?m.aws_principal_arn, kms_key = ?m.kms_key_arn, "XKS request refused by the key's allowed callers");
        Err(XksError::AccessDenied(format!(
            "The caller is not allowed to use external key {}.",
            k.external_key_id
        )))
    }

    /// The key, if it may do `usage` now.
    async fn xks_usable(
        &self,
        caller: &XksCaller,
        external_key_id: &str,
        usage: &str,
        metadata: &RequestMetadata,
    ) -> Result<(XksKeyRecord, Arc<crate::key_cache::CachedKey>), XksError> {
        let (k, cached) = self.xks_key(caller, external_key_id).await?;
        if !usages_of(&k).iter().any(|u| u == usage) {
            return Err(XksError::InvalidKeyUsage(format!(
                "External key {external_key_id} is not served for {usage}."
            )));
        }
        let operation = match usage {
            "ENCRYPT" => XksOperation::Encrypt,
            _ => XksOperation::Decrypt,
        };
        self.xks_authorize(&k, metadata, operation)?;
        if cached.rec.state != KeyState::Enabled {
            return Err(XksError::InvalidState(format!(
                "External key {external_key_id} is not enabled."
            )));
        }
        Ok((k, cached))
    }

    /// Encrypt: AES-256-GCM under the key's current material; with the integrity value
    /// requested, the result is decrypted again before it is returned (Appendix C).
    pub async fn xks_encrypt(
        &self,
        caller: &XksCaller,
        external_key_id: &str,
        input: &EncryptInput,
    ) -> Result<(EncryptResponse, XksUse), XksError> {
        let (k, cached) =
            self.xks_usable(caller, external_key_id, "ENCRYPT", &input.metadata).await?;
        // The integrity value is vouched for by decrypting the result (Appendix C, step 3):
        // a key that may not decrypt cannot give one.
        if input.integrity_value && !usages_of(&k).iter().any(|u| u == "DECRYPT") {
            return Err(XksError::InvalidKeyUsage(format!(
                "External key {external_key_id} is not served for DECRYPT, which the ciphertext data integrity value needs."
            )));
        }
        let current = current_material(&cached).ok_or_else(|| {
            XksError::InvalidState(format!("External key {external_key_id} has no key material."))
        })?;
        let material = self.held.open_material(current).map_err(internal)?;
        let metadata = metadata_of(&current.material_id);
        let sealed = trent_crypto::xks::encrypt(&material, &input.plaintext, &input.aad, &metadata)
            .map_err(internal)?;
        let integrity = input.integrity_value.then(|| {
            let v = trent_crypto::xks::integrity_value(
                &input.aad,
                &metadata,
                &sealed.iv,
                &sealed.ciphertext,
                &sealed.tag,
            );
            b64(&v)
        });
        if integrity.is_some() {
            let back = trent_crypto::xks::decrypt(
                &material,
                &sealed.iv,
                &sealed.ciphertext,
                &sealed.tag,
                &input.aad,
                &metadata,
            )
            .map_err(internal)?;
            if !trent_crypto::constant_time_eq(back.as_bytes(), &input.plaintext) {
                return Err(internal("an encryption did not decrypt to its plaintext"));
            }
        }
        let response = EncryptResponse {
            ciphertext: b64(&sealed.ciphertext),
            ciphertext_metadata: Some(b64(&metadata)),
            initialization_vector: b64(&sealed.iv),
            authentication_tag: b64(&sealed.tag),
            ciphertext_data_integrity_value: integrity,
        };
        let used = XksUse {
            key_arn: Some(cached.rec.key.arn()),
            material_id: Some(current.material_id.clone()),
        };
        Ok((response, used))
    }

    /// Decrypt: under the material `ciphertextMetadata` names; any mismatch is
    /// InvalidCiphertextException.
    pub async fn xks_decrypt(
        &self,
        caller: &XksCaller,
        external_key_id: &str,
        input: &DecryptInput,
    ) -> Result<(DecryptResponse, XksUse), XksError> {
        let (_, cached) =
            self.xks_usable(caller, external_key_id, "DECRYPT", &input.metadata).await?;
        let m = &input.ciphertext_metadata;
        let material = (m.len() == 10 && m.starts_with(METADATA_TAG))
            .then(|| {
                cached
                    .mats
                    .iter()
                    .find(|mat| mat.sealed.is_some() && metadata_of(&mat.material_id) == *m)
            })
            .flatten()
            .ok_or(XksError::InvalidCiphertext)?;
        let opened = self.held.open_material(material).map_err(internal)?;
        let plaintext = trent_crypto::xks::decrypt(
            &opened,
            &input.iv,
            &input.ciphertext,
            &input.tag,
            &input.aad,
            m,
        )
        .map_err(|_| XksError::InvalidCiphertext)?;
        let used = XksUse {
            key_arn: Some(cached.rec.key.arn()),
            material_id: Some(material.material_id.clone()),
        };
        Ok((DecryptResponse { plaintext: b64(plaintext.as_bytes()) }, used))
    }

    /// GetHealthStatus: one proxy and one key manager, this node — `ACTIVE` when the store
    /// answers and the keyring works (a seal opened again), `UNAVAILABLE` otherwise.
    pub async fn xks_health(&self, caller: &XksCaller, node: &str) -> HealthResponse {
        let store_ok = self.store().get_xks_endpoint(&caller.endpoint.path_prefix).await.is_ok();
        let context = credential_context("health");
        let keyring_ok = self
            .keyring()
            .seal_secret(&context, b"health")
            .and_then(|s| self.keyring().open_secret(&context, &s))
            .is_ok_and(|s| s.as_bytes() == b"health");
        let version = env!("CARGO_PKG_VERSION");
        HealthResponse {
            xks_proxy_fleet_size: 1,
            xks_proxy_vendor: "Trent".into(),
            xks_proxy_model: format!("Trent XKS proxy {version}"),
            ekm_vendor: "Trent".into(),
            ekm_fleet_details: vec![EkmFleetDetail {
                id: node.into(),
                model: format!("Trent {version}"),
                health_status: if store_ok && keyring_ok { "ACTIVE" } else { "UNAVAILABLE" }.into(),
            }],
        }
    }
}

fn current_material(c: &crate::key_cache::CachedKey) -> Option<&trent_store::MaterialRecord> {
    c.mats
        .iter()
        .find(|m| Some(&m.material_id) == c.rec.current_material_id.as_ref() && m.sealed.is_some())
}

/// Why an operator's XKS command failed.
#[derive(Debug, thiserror::Error)]
pub enum XksAdminError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Crypto(#[from] trent_crypto::CryptoError),
    #[error(transparent)]
    Kms(#[from] crate::KmsError),
}

impl Kms {
    /// A new endpoint of `account` under `path_prefix`.
    pub async fn xks_create_endpoint(
        &self,
        account: &str,
        path_prefix: &str,
        client_subject: Option<String>,
    ) -> Result<XksEndpointRecord, XksAdminError> {
        let prefix = path_prefix.trim_matches('/').to_string();
        if !trent_types::xks::valid_prefix(&prefix) {
            return Err(XksAdminError::Invalid(format!(
                "{path_prefix} is not a valid path prefix: letters, digits, '/', '-' and '_', with /kms/xks/v1 at most 128 characters"
            )));
        }
        if self.store().get_account(account).await?.is_none() {
            return Err(XksAdminError::NotFound(format!("account {account} does not exist")));
        }
        let e = XksEndpointRecord {
            path_prefix: prefix.clone(),
            account: account.into(),
            created_ms: self.now_ms(),
            client_subject,
        };
        match self.store().put_xks_endpoint(&e).await {
            Err(StoreError::AlreadyExists) => {
                Err(XksAdminError::Exists(format!("the path prefix {prefix} is taken")))
            }
            other => other.map(|()| e).map_err(Into::into),
        }
    }

    async fn endpoint(&self, path_prefix: &str) -> Result<XksEndpointRecord, XksAdminError> {
        let prefix = path_prefix.trim_matches('/');
        self.store()
            .get_xks_endpoint(prefix)
            .await?
            .ok_or_else(|| XksAdminError::NotFound(format!("no XKS endpoint at {prefix}")))
    }

    /// A new SigV4 credential of the endpoint (at most two at once).
    pub async fn xks_create_credential(
        &self,
        path_prefix: &str,
    ) -> Result<NewXksCredential, XksAdminError> {
        let e = self.endpoint(path_prefix).await?;
        let access_key_id = format!("XKS{}", random_text(BASE32, 23)?);
        let secret = Secret::new(random_text(SECRET_CHARS, 44)?.into_bytes());
        let sealed =
            self.keyring().seal_secret(&credential_context(&access_key_id), secret.as_bytes())?;
        let record = XksCredentialRecord {
            access_key_id: access_key_id.clone(),
            path_prefix: e.path_prefix.clone(),
            sealed_secret: sealed,
            created_ms: self.now_ms(),
        };
        match self.store().put_xks_credential(&record, MAX_CREDENTIALS).await {
            Err(StoreError::Conflict) => Err(XksAdminError::Exists(format!(
                "the endpoint {} has {MAX_CREDENTIALS} credentials already: delete one first",
                e.path_prefix
            ))),
            other => other
                .map(|()| NewXksCredential { access_key_id, secret_access_key: secret })
                .map_err(Into::into),
        }
    }

    /// Serves the Trent key `key_id` (of the endpoint's account, in `region`) as
    /// `external_key_id`: a symmetric encryption key only (the spec's keys are AES-256).
    pub async fn xks_put_key(
        &self,
        path_prefix: &str,
        external_key_id: &str,
        region: &str,
        key_id: &str,
        usages: &[String],
        allowed: &XksAllowed,
    ) -> Result<XksKeyRecord, XksAdminError> {
        let e = self.endpoint(path_prefix).await?;
        if !trent_types::xks::valid_external_key_id(external_key_id) {
            return Err(XksAdminError::Invalid(format!(
                "{external_key_id} is not a valid external key id: 1 to 128 letters, digits, '-', '.' and '_'"
            )));
        }
        if let Some(bad) = usages.iter().find(|u| !USAGES.contains(&u.as_str())) {
            return Err(XksAdminError::Invalid(format!(
                "{bad} is not a usage: ENCRYPT or DECRYPT"
            )));
        }
        let key =
            KeyRef { account: e.account.clone(), region: region.into(), key_id: key_id.into() };
        let rec = self.store().get_key(&key).await?.ok_or_else(|| {
            XksAdminError::NotFound(format!("key {key_id} does not exist in {region}"))
        })?;
        if rec.key_spec != KeySpec::SymmetricDefault
            || rec.key_usage != KeyUsageType::EncryptDecrypt
        {
            return Err(XksAdminError::Invalid(format!(
                "key {key_id} is {} {}: an external key is a SYMMETRIC_DEFAULT ENCRYPT_DECRYPT key",
                rec.key_spec, rec.key_usage
            )));
        }
        let record = XksKeyRecord {
            path_prefix: e.path_prefix.clone(),
            external_key_id: external_key_id.into(),
            region: region.into(),
            key_id: key_id.into(),
            usages: usages.join(","),
            allowed: serde_json::to_string(allowed).unwrap_or_else(|_| "{}".into()),
            created_ms: self.now_ms(),
        };
        match self.store().put_xks_key(&record).await {
            Err(StoreError::AlreadyExists) => Err(XksAdminError::Exists(format!(
                "the endpoint {} serves {external_key_id} already",
                e.path_prefix
            ))),
            other => other.map(|()| record).map_err(Into::into),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_callers_match_exactly_or_by_prefix() {
        let m = |p: &str, k: &str| RequestMetadata {
            aws_principal_arn: Some(p.into()),
            kms_key_arn: Some(k.into()),
            ..Default::default()
        };
        let enc = XksOperation::Encrypt;
        let any = XksAllowed::default();
        assert!(any.allows(&m("arn:aws:iam::1:user/a", "arn:k"), enc));
        let some = XksAllowed {
            aws_principal_arns: vec!["arn:aws:iam::1:*".into()],
            kms_key_arns: vec!["arn:k".into()],
        };
        assert!(some.allows(&m("arn:aws:iam::1:user/a", "arn:k"), enc));
        assert!(!some.allows(&m("arn:aws:iam::2:user/a", "arn:k"), enc));
        assert!(!some.allows(&m("arn:aws:iam::1:user/a", "arn:k2"), enc));
        assert!(!some.allows(&RequestMetadata::default(), enc));
        // CreateKey's GetKeyMetadata names no KMS key yet: the principal decides.
        let create_key = RequestMetadata {
            aws_principal_arn: Some("arn:aws:iam::1:user/a".into()),
            ..Default::default()
        };
        assert!(some.allows(&create_key, XksOperation::GetKeyMetadata));
        assert!(!some.allows(&create_key, enc));
    }

    #[test]
    fn ciphertext_metadata_names_the_material() {
        let a = metadata_of("m1");
        assert_eq!(a.len(), 10);
        assert!(a.len() <= trent_types::xks::MAX_METADATA);
        assert_ne!(a, metadata_of("m2"));
    }
}
