//! Encryption operations: Encrypt, Decrypt, ReEncrypt for symmetric keys (Trent's blob
//! format) and RSA keys (RSAES-OAEP), and the shared steps data keys reuse.

use crate::authz::ConditionKey as K;
use crate::gate::{CiphertextKey, KeyTarget, NamesCiphertext, ReEncryptKeys};
use crate::ops::data_keys::refuse_recipient;
use crate::ops::usable::{incompatible, usage_error, Usable};
use crate::state::{check, pending_import, Family};
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::asymmetric;
use trent_crypto::Secret;
use trent_store::KeyRecord;
use trent_types::*;

use EncryptionAlgorithmSpec as EA;

/// What a decryption produced: the material (symmetric keys only), the plaintext and the
/// algorithm used.
pub(crate) struct Opened {
    pub material_id: Option<String>,
    pub plaintext: Secret,
    pub algorithm: EA,
}

/// What an encryption produced.
pub(crate) struct Sealed {
    pub material_id: Option<String>,
    pub blob: Vec<u8>,
    pub algorithm: EA,
}

/// The algorithm a request asks of a key: symmetric keys take SYMMETRIC_DEFAULT (the
/// default); RSA keys need one of theirs named.
fn algorithm_for(rec: &KeyRecord, requested: Option<EA>) -> Result<EA> {
    let alg = requested.unwrap_or(EA::SymmetricDefault);
    if !asymmetric::encryption_algorithms(rec.key_spec).contains(&alg) {
        return Err(incompatible(alg, rec.key_spec));
    }
    Ok(alg)
}

fn no_context_for_asymmetric(context: &BTreeMap<String, String>) -> Result<()> {
    if !context.is_empty() {
        return Err(KmsError::validation(
            "EncryptionContext is not supported with asymmetric KMS keys.",
        ));
    }
    Ok(())
}

/// `kms:EncryptionContext:*`, `kms:EncryptionContextKeys` and `kms:EncryptionAlgorithm`.
fn crypto_conditions(
    c: &mut Conditions,
    context: &Option<BTreeMap<String, String>>,
    algorithm: Option<EA>,
) {
    c.encryption_context(context.as_ref())
        .set(K::EncryptionAlgorithm, algorithm.unwrap_or(EA::SymmetricDefault));
}

impl Kms {
    /// Encrypts under a symmetric key's current material (a key of an external key store:
    /// then under its external key too).
    pub(crate) async fn seal_with(
        &self,
        rec: &KeyRecord,
        u: &Usable,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
        operation: &str,
    ) -> Result<Vec<u8>> {
        // Boxed: the proxy call's state would otherwise make every Encrypt's future (copied
        // whole when it is boxed for its task) as large as an external key store's.
        if let Some(x) = &rec.xks {
            return Box::pin(self.seal_external(rec, x, u, plaintext, context, operation)).await;
        }
        let key = trent_crypto::KeyRef {
            account: rec.key.account.clone(),
            region: rec.key.region.clone(),
            key_id: rec.key.key_id.clone(),
        };
        Ok(trent_crypto::symmetric::encrypt(key, &u.material_id, &u.material, plaintext, context)?)
    }

    /// Encrypts under any ENCRYPT_DECRYPT key.
    async fn encrypt_any(
        &self,
        rec: &KeyRecord,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
        requested: Option<EA>,
        action: &str,
        dry_run: Option<bool>,
    ) -> Result<Sealed> {
        let u = self.usable_for(rec, KeyUsageType::EncryptDecrypt, action, dry_run).await?;
        let algorithm = algorithm_for(rec, requested)?;
        if algorithm == EA::SymmetricDefault {
            let blob = self.seal_with(rec, &u, plaintext, context, action).await?;
            return Ok(Sealed { blob, material_id: Some(u.material_id), algorithm });
        }
        no_context_for_asymmetric(context)?;
        let spec = rec.key_spec;
        if let Some(max) = asymmetric::max_plaintext(spec, algorithm) {
            if plaintext.len() > max {
                return Err(KmsError::validation(format!(
                    "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
                )));
            }
        }
        let spki = asymmetric::public_key(spec, &u.material)
            .map_err(|e| crate::ops::usable::asym_error(e, algorithm))?;
        let blob = asymmetric::encrypt(&spki, algorithm, plaintext)
            .map_err(|e| crate::ops::usable::asym_error(e, algorithm))?;
        Ok(Sealed { blob, material_id: None, algorithm })
    }

    /// Decrypts a ciphertext of the key the gate resolved: an RSA ciphertext, or a symmetric
    /// blob opened under the material its header names.
    async fn decrypt_any(
        &self,
        target: &CiphertextKey,
        blob: &[u8],
        context: &BTreeMap<String, String>,
        requested: Option<EA>,
        action: &str,
        dry_run: Option<bool>,
    ) -> Result<Opened> {
        let rec = target.key();
        let Some((header, header_len)) = target.header() else {
            let algorithm = algorithm_for(rec, requested)?;
            no_context_for_asymmetric(context)?;
            let u = self.usable_checked(rec, dry_run).await?;
            let material = u.material.clone();
            let ct = blob.to_vec();
            let plaintext = self
                .blocking(move || {
                    asymmetric::decrypt(&material, algorithm, &ct)
                        .map_err(|_| KmsError::invalid_ciphertext())
                })
                .await?;
            return Ok(Opened { material_id: None, plaintext, algorithm });
        };
        if rec.key_usage != KeyUsageType::EncryptDecrypt {
            return Err(usage_error(rec, action));
        }
        // A key of an external key store makes version-2 blobs only, and only it does: a
        // blob of the other kind is not one of its ciphertexts.
        if header.external != rec.xks.is_some() {
            return Err(KmsError::invalid_ciphertext());
        }
        algorithm_for(rec, requested)?;
        check(Family::Crypto, rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let mats = self.held.keys.materials_of(&rec.key).await?;
        let m = mats
            .iter()
            .find(|m| m.material_id == header.material_id)
            .ok_or(KmsError::invalid_ciphertext())?;
        if m.sealed.is_none() {
            return Err(pending_import(&rec.key.arn()));
        }
        let material = self.held.open_material(m)?;
        crate::audit::note_material(&m.material_id);
        let plaintext = match &rec.xks {
            Some(x) => {
                let opened = self.open_external(
                    rec,
                    x,
                    blob,
                    header,
                    *header_len,
                    &material,
                    context,
                    action,
                );
                Box::pin(opened).await?
            }
            None => trent_crypto::symmetric::decrypt(blob, header, *header_len, &material, context)
                .map_err(|_| KmsError::invalid_ciphertext())?,
        };
        Ok(Opened {
            material_id: Some(header.material_id.clone()),
            plaintext,
            algorithm: EA::SymmetricDefault,
        })
    }
}

impl Call for EncryptRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        crypto_conditions(c, &self.encryption_context, self.encryption_algorithm);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<EncryptResponse> {
        let rec = auth.target().key();
        let s = kms
            .encrypt_any(
                rec,
                self.plaintext.as_bytes(),
                absent::context(&self.encryption_context),
                self.encryption_algorithm,
                Self::OPERATION.name(),
                self.dry_run,
            )
            .await?;
        Ok(EncryptResponse {
            ciphertext_blob: Some(Blob::new(s.blob)),
            key_id: Some(rec.key.arn()),
            encryption_algorithm: Some(s.algorithm),
        })
    }
}

impl NamesCiphertext for DecryptRequest {
    fn ciphertext(&self) -> &[u8] {
        absent::bytes(&self.ciphertext_blob)
    }
    fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }
}

impl Call for DecryptRequest {
    type Target = CiphertextKey;

    fn conditions(&self, c: &mut Conditions) {
        crypto_conditions(c, &self.encryption_context, self.encryption_algorithm);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, CiphertextKey>,
    ) -> Result<DecryptResponse> {
        refuse_recipient(&self.recipient)?;
        let target = auth.target();
        let o = kms
            .decrypt_any(
                target,
                self.ciphertext(),
                absent::context(&self.encryption_context),
                self.encryption_algorithm,
                Self::OPERATION.name(),
                self.dry_run,
            )
            .await?;
        Ok(DecryptResponse {
            key_id: Some(target.key().key.arn()),
            plaintext: Some(Blob::new(o.plaintext.into_vec())),
            encryption_algorithm: Some(o.algorithm),
            key_material_id: o.material_id,
            ciphertext_for_recipient: None,
        })
    }
}

impl Call for ReEncryptRequest {
    type Target = ReEncryptKeys;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, ReEncryptKeys>,
    ) -> Result<ReEncryptResponse> {
        let keys = auth.target();
        let src = kms
            .decrypt_any(
                keys.source(),
                absent::bytes(&self.ciphertext_blob),
                absent::context(&self.source_encryption_context),
                self.source_encryption_algorithm,
                "ReEncryptFrom",
                None,
            )
            .await?;
        let dst = kms
            .encrypt_any(
                keys.destination(),
                src.plaintext.as_bytes(),
                absent::context(&self.destination_encryption_context),
                self.destination_encryption_algorithm,
                "ReEncryptTo",
                self.dry_run,
            )
            .await?;
        Ok(ReEncryptResponse {
            ciphertext_blob: Some(Blob::new(dst.blob)),
            source_key_id: Some(keys.source().key().key.arn()),
            key_id: Some(keys.destination().key.arn()),
            source_encryption_algorithm: Some(src.algorithm),
            destination_encryption_algorithm: Some(dst.algorithm),
            source_key_material_id: src.material_id,
            destination_key_material_id: dst.material_id,
        })
    }
}
