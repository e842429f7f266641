//! KMS keys in an external key store: CreateKey's binding to an external key (checked through
//! the proxy's GetKeyMetadata), the state they show while their store is not connected
//! (`Unavailable`), and AWS's double encryption — Trent's own material first (a version-2
//! blob), then the external key through the proxy, with the blob's header as the proxy's
//! AAD (docs/ciphertext-format.md). Every failure of the store or the proxy in a
//! cryptographic operation is `KMSInvalidStateException` with the cause in its message, as
//! AWS answers ("Troubleshooting external key stores"); a ciphertext the proxy cannot
//! decrypt is the opaque `InvalidCiphertextException`.

use super::proxy::{CallMetadata, ExternalCiphertext, ProxyFailure, ProxyTarget};
use super::{host_of, invalid_state, state_of, State};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::blob::external::{self, Outer};
use trent_crypto::{BlobHeader, Secret};
use trent_store::{CustomKeyStoreRecord, KeyRecord, XksBinding};
use trent_types::*;

tokio::task_local! {
    /// The principal of the API call being handled: the proxy's `awsPrincipalArn`.
    static PRINCIPAL: String;
}

tokio::task_local! {
    /// The id of the API request being handled (its `x-amzn-RequestId` and the trail's
    /// `requestID`): the proxy's `kmsRequestId`.
    static REQUEST_ID: String;
}

/// Runs an API request's call with its request id (the server, around each call's task).
/// Not an `async fn`: that would hold `f` twice (its argument and its scope), and the call's
/// future is copied whole when it is boxed or spawned.
pub fn with_request_id<F: std::future::Future>(
    request_id: String,
    f: F,
) -> impl std::future::Future<Output = F::Output> {
    REQUEST_ID.scope(request_id, f)
}

/// Runs a handler as `principal_arn`'s call (the gate's `run`, around every handler).
/// Not an `async fn`, as [`with_request_id`].
pub(crate) fn as_principal<F: std::future::Future>(
    principal_arn: &str,
    f: F,
) -> impl std::future::Future<Output = F::Output> {
    PRINCIPAL.scope(principal_arn.to_string(), f)
}

/// Why a key of a store cannot be used now.
fn unusable(rec: &KeyRecord, why: &str) -> KmsError {
    KmsError::new(
        ErrorCode::KMSInvalidStateException,
        format!("{} is unavailable: {why}", rec.key.arn()),
    )
}

fn proxy_refused(rec: &KeyRecord, f: &ProxyFailure) -> KmsError {
    match f {
        ProxyFailure::InvalidCiphertext => KmsError::invalid_ciphertext(),
        _ => unusable(rec, &format!("{f}.")),
    }
}

impl Kms {
    /// CreateKey `Origin=EXTERNAL_KEY_STORE`: the store is the caller's and connected, the
    /// external key exists in its proxy and is an enabled AES-256 key that encrypts and
    /// decrypts.
    pub(crate) async fn bind_external_key(
        &self,
        caller: &Caller,
        r: &CreateKeyRequest,
        spec: KeySpec,
        usage: KeyUsageType,
    ) -> Result<XksBinding> {
        let Some(store_id) = &r.custom_key_store_id else {
            return Err(KmsError::validation(
                "CustomKeyStoreId is required for a KMS key with Origin EXTERNAL_KEY_STORE.",
            ));
        };
        let Some(xks_key_id) = &r.xks_key_id else {
            return Err(KmsError::validation(
                "XksKeyId is required for a KMS key with Origin EXTERNAL_KEY_STORE.",
            ));
        };
        // CreateKey API, CustomKeyStoreId: "valid only for symmetric encryption KMS keys in
        // a single Region".
        if spec != KeySpec::SymmetricDefault || usage != KeyUsageType::EncryptDecrypt {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperationException,
                format!("KeySpec {spec} with KeyUsage {usage} is not supported in a custom key store: only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT."),
            ));
        }
        if r.multi_region == Some(true) {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperationException,
                "Multi-Region keys are not supported in a custom key store.".into(),
            ));
        }
        let c = self.custom_key_store(&caller.account, &caller.region, store_id).await?;
        if state_of(&c) != State::Connected {
            return Err(invalid_state(format!(
                "Custom key store {store_id} is not connected: its connection state is {}.",
                c.connection_state
            )));
        }
        let secret = self.open_proxy_secret(&c)?;
        let m = CallMetadata {
            principal_arn: Some(caller.principal_arn.clone()),
            key_arn: None,
            operation: "CreateKey".into(),
            request_id: request_id(),
        };
        let metadata = self.proxy().key_metadata(&target(&c, &secret), xks_key_id, &m).await;
        match metadata {
            Ok(k) if k.usable() => {}
            Ok(k) => {
                return Err(KmsError::new(
                    ErrorCode::XksKeyInvalidConfigurationException,
                    format!("The external key {xks_key_id} is {} {} for {:?}: it must be an enabled AES_256 key for ENCRYPT and DECRYPT.", k.key_status, k.key_spec, k.key_usage),
                ))
            }
            Err(ProxyFailure::KeyNotFound) => {
                return Err(KmsError::new(
                    ErrorCode::XksKeyNotFoundException,
                    format!("The external key store proxy could not find the external key {xks_key_id}."),
                ))
            }
            Err(f @ ProxyFailure::TimedOut(_)) => {
                return Err(KmsError::new(ErrorCode::DependencyTimeoutException, format!("{f}.")))
            }
            Err(f) => {
                return Err(invalid_state(format!(
                    "Custom key store {store_id} cannot use the external key {xks_key_id}: {f}."
                )))
            }
        }
        Ok(XksBinding { custom_key_store_id: store_id.clone(), xks_key_id: xks_key_id.clone() })
    }

    /// The key's store if it is connected, with its proxy secret; else the key is
    /// `Unavailable`.
    async fn connected_store(
        &self,
        rec: &KeyRecord,
        x: &XksBinding,
    ) -> Result<(CustomKeyStoreRecord, Secret)> {
        let c = self
            .store()
            .get_custom_key_store(&rec.key.account, &rec.key.region, &x.custom_key_store_id)
            .await?;
        let Some(c) = c.filter(|c| state_of(c) == State::Connected) else {
            return Err(unusable(rec, "its custom key store is not connected."));
        };
        let secret = self.open_proxy_secret(&c)?;
        Ok((c, secret))
    }

    /// The state a key shows: a key of a store that is not connected is `Unavailable`,
    /// unless it is pending deletion (key-state.html, notes 12 and 13).
    pub(crate) async fn shown_state(&self, rec: &KeyRecord) -> Result<KeyState> {
        let Some(x) = &rec.xks else { return Ok(rec.state) };
        if matches!(rec.state, KeyState::PendingDeletion) {
            return Ok(rec.state);
        }
        let c = self
            .store()
            .get_custom_key_store(&rec.key.account, &rec.key.region, &x.custom_key_store_id)
            .await?;
        Ok(match c {
            Some(c) if state_of(&c) == State::Connected => rec.state,
            _ => KeyState::Unavailable,
        })
    }

    /// Encrypts under an external key store key: Trent's material, then the external key.
    pub(crate) async fn seal_external(
        &self,
        rec: &KeyRecord,
        x: &XksBinding,
        u: &crate::ops::usable::Usable,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
        operation: &str,
    ) -> Result<Vec<u8>> {
        let (c, secret) = self.connected_store(rec, x).await?;
        let key = trent_crypto::KeyRef {
            account: rec.key.account.clone(),
            region: rec.key.region.clone(),
            key_id: rec.key.key_id.clone(),
        };
        let inner = trent_crypto::symmetric::encrypt_external(
            key,
            &u.material_id,
            &u.material,
            plaintext,
            context,
        )?;
        let (_, header_len) = BlobHeader::decode(&inner).map_err(|_| KmsError::broken("blob"))?;
        let (header, sealed) = inner.split_at(header_len);
        let m = self.call_metadata(rec, operation);
        let outer = self
            .proxy()
            .encrypt(&target(&c, &secret), &x.xks_key_id, sealed, header, &m)
            .await
            .map_err(|f| proxy_refused(rec, &f))?;
        let outer = Outer {
            iv: outer.iv,
            metadata: outer.metadata,
            tag: outer.tag,
            ciphertext: outer.ciphertext,
        };
        Ok(external::assemble(header, &outer)?)
    }

    /// Decrypts a version-2 blob of an external key store key: the proxy first, then
    /// Trent's material.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn open_external(
        &self,
        rec: &KeyRecord,
        x: &XksBinding,
        blob: &[u8],
        header: &BlobHeader,
        header_len: usize,
        material: &Secret,
        context: &BTreeMap<String, String>,
        operation: &str,
    ) -> Result<Secret> {
        let outer =
            external::parse(blob, header_len).map_err(|_| KmsError::invalid_ciphertext())?;
        let (c, secret) = self.connected_store(rec, x).await?;
        let sent = ExternalCiphertext {
            ciphertext: outer.ciphertext,
            iv: outer.iv,
            tag: outer.tag,
            metadata: outer.metadata,
        };
        let m = self.call_metadata(rec, operation);
        let aad = &blob[..header_len];
        let inner = self
            .proxy()
            .decrypt(&target(&c, &secret), &x.xks_key_id, &sent, aad, &m)
            .await
            .map_err(|f| proxy_refused(rec, &f))?;
        let mut whole = Vec::with_capacity(header_len + inner.as_bytes().len());
        whole.extend_from_slice(aad);
        whole.extend_from_slice(inner.as_bytes());
        trent_crypto::symmetric::decrypt(&whole, header, header_len, material, context)
            .map_err(|_| KmsError::invalid_ciphertext())
    }

    fn call_metadata(&self, rec: &KeyRecord, operation: &str) -> CallMetadata {
        CallMetadata {
            principal_arn: PRINCIPAL.try_with(Clone::clone).ok(),
            key_arn: Some(rec.key.arn()),
            operation: operation.into(),
            request_id: request_id(),
        }
    }
}

/// The API request's id, or (a call outside a request: seeding) a fresh one.
pub(crate) fn request_id() -> String {
    REQUEST_ID
        .try_with(Clone::clone)
        .ok()
        .or_else(|| trent_crypto::new_key_id().ok())
        .unwrap_or_default()
}

fn target<'a>(c: &'a CustomKeyStoreRecord, secret: &'a Secret) -> ProxyTarget<'a> {
    ProxyTarget {
        host: host_of(&c.uri_endpoint),
        uri_path: &c.uri_path,
        region: &c.region,
        access_key_id: &c.access_key_id,
        secret,
    }
}
