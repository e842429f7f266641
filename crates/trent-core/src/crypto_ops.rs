//! Encryption operations: Encrypt, Decrypt, ReEncrypt for symmetric keys (Trent's blob
//! format) and RSA keys (RSAES-OAEP), and the shared steps data keys reuse.

use crate::asymmetric::{incompatible, usage_error, Usable};
use crate::authorize::Authz;
use crate::resolve::Accept;
use crate::state::{check, pending_import, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::asymmetric;
use trent_crypto::{BlobHeader, Secret};
use trent_store::{KeyRecord, KeyRef};
use trent_types::*;

use EncryptionAlgorithmSpec as EA;

/// What Decrypt and ReEncrypt ask of a ciphertext.
pub(crate) struct OpenBlob<'a> {
    pub blob: &'a [u8],
    pub key_id: Option<&'a str>,
    pub context: &'a BTreeMap<String, String>,
    pub algorithm: Option<EA>,
    pub action: &'a str,
    pub dry_run: Option<bool>,
}

/// What a decryption produced: the key, the material (symmetric keys only), the plaintext
/// and the algorithm used.
pub(crate) struct Opened {
    pub rec: KeyRecord,
    pub material_id: Option<String>,
    pub plaintext: Secret,
    pub algorithm: EA,
}

/// What Encrypt and ReEncrypt ask of a key.
pub(crate) struct SealRequest<'a> {
    pub key_id: &'a str,
    pub plaintext: &'a [u8],
    pub context: &'a BTreeMap<String, String>,
    pub algorithm: Option<EA>,
    pub action: &'a str,
    pub dry_run: Option<bool>,
}

/// What an encryption produced.
pub(crate) struct Sealed {
    pub rec: KeyRecord,
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
        return Err(KmsError::Validation(
            "EncryptionContext is not supported with asymmetric KMS keys.".into(),
        ));
    }
    Ok(())
}

impl Kms {
    /// Resolves a symmetric encryption key and loads its current material.
    pub(crate) async fn usable_for_encrypt<'a>(
        &self,
        caller: &Caller,
        key_id: &str,
        authz: impl Into<Authz<'a>>,
        algorithm: Option<EA>,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        let authz = authz.into();
        let action = authz.action;
        let rec = self.resolve(caller, key_id, Accept::KeyOrAlias, authz).await?;
        if rec.key_usage != KeyUsageType::EncryptDecrypt {
            return Err(usage_error(&rec, action));
        }
        if rec.key_spec != KeySpec::SymmetricDefault {
            return Err(KmsError::InvalidKeyUsage(format!(
                "{} key spec is {} which is not valid for {action}.",
                rec.key.arn(),
                rec.key_spec
            )));
        }
        algorithm_for(&rec, algorithm)?;
        self.usable_checked(rec, dry_run).await
    }

    pub(crate) fn seal_with(
        &self,
        u: &Usable,
        plaintext: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<Vec<u8>> {
        let key = trent_crypto::KeyRef {
            account: u.rec.key.account.clone(),
            region: u.rec.key.region.clone(),
            key_id: u.rec.key.key_id.clone(),
        };
        Ok(trent_crypto::symmetric::encrypt(key, &u.material_id, &u.material, plaintext, context)?)
    }

    /// Encrypts under any ENCRYPT_DECRYPT key.
    pub(crate) async fn encrypt_any(
        &self,
        caller: &Caller,
        req: SealRequest<'_>,
    ) -> Result<Sealed> {
        let SealRequest { key_id, plaintext, context, algorithm: requested, action, dry_run } = req;
        let authz = Authz::from(action)
            .with_context(context)
            .with("kms:EncryptionAlgorithm", requested.unwrap_or(EA::SymmetricDefault));
        let u =
            self.usable_key(caller, key_id, authz, KeyUsageType::EncryptDecrypt, dry_run).await?;
        let algorithm = algorithm_for(&u.rec, requested)?;
        if algorithm == EA::SymmetricDefault {
            let blob = self.seal_with(&u, plaintext, context)?;
            return Ok(Sealed { blob, material_id: Some(u.material_id), rec: u.rec, algorithm });
        }
        no_context_for_asymmetric(context)?;
        let spec = u.rec.key_spec;
        if let Some(max) = asymmetric::max_plaintext(spec, algorithm) {
            if plaintext.len() > max {
                return Err(KmsError::Validation(format!(
                    "Algorithm {algorithm} and key spec {spec} cannot encrypt data larger than {max} bytes."
                )));
            }
        }
        let spki = asymmetric::public_key(spec, &u.material)
            .map_err(|e| crate::asymmetric::asym_error(e, algorithm))?;
        let blob = asymmetric::encrypt(&spki, algorithm, plaintext)
            .map_err(|e| crate::asymmetric::asym_error(e, algorithm))?;
        Ok(Sealed { blob, material_id: None, rec: u.rec, algorithm })
    }

    /// Decrypts a ciphertext: an RSA ciphertext when `key_id` names an RSA key, else a
    /// symmetric blob (which names its key itself).
    pub(crate) async fn decrypt_any(&self, caller: &Caller, req: OpenBlob<'_>) -> Result<Opened> {
        if let Some(id) = req.key_id {
            let authz = Authz::from(req.action)
                .with_context(req.context)
                .with("kms:EncryptionAlgorithm", req.algorithm.unwrap_or(EA::SymmetricDefault));
            let rec = self.resolve(caller, id, Accept::KeyOrAlias, authz).await?;
            if rec.key_spec != KeySpec::SymmetricDefault
                && rec.key_usage == KeyUsageType::EncryptDecrypt
            {
                let algorithm = algorithm_for(&rec, req.algorithm)?;
                no_context_for_asymmetric(req.context)?;
                let u = self.usable_checked(rec, req.dry_run).await?;
                let material = u.material.clone();
                let ct = req.blob.to_vec();
                let plaintext = crate::blocking(move || {
                    asymmetric::decrypt(&material, algorithm, &ct)
                        .map_err(|_| KmsError::InvalidCiphertext)
                })
                .await?;
                return Ok(Opened { rec: u.rec, material_id: None, plaintext, algorithm });
            }
        }
        let (rec, material_id, plaintext) = self.open_blob(caller, req).await?;
        Ok(Opened {
            rec,
            material_id: Some(material_id),
            plaintext,
            algorithm: EA::SymmetricDefault,
        })
    }

    /// Decrypts a symmetric blob: finds the key it names (checking `key_id` if the caller
    /// gave one), checks usage and state, and opens it under the named material.
    pub(crate) async fn open_blob(
        &self,
        caller: &Caller,
        req: OpenBlob<'_>,
    ) -> Result<(KeyRecord, String, Secret)> {
        let OpenBlob { blob, key_id, context, algorithm, action, dry_run } = req;
        let (header, header_len) =
            BlobHeader::decode(blob).map_err(|_| KmsError::InvalidCiphertext)?;
        // Multi-Region keys decrypt in any Region of their set; other keys only in their own.
        let region = if header.key.key_id.starts_with("mrk-") {
            caller.region.clone()
        } else {
            header.key.region.clone()
        };
        let named = KeyRef {
            account: header.key.account.clone(),
            region,
            key_id: header.key.key_id.clone(),
        };
        if let Some(id) = key_id {
            let given = self.key_ref(caller, id, Accept::KeyOrAlias).await?;
            if given != named {
                return Err(KmsError::IncorrectKey(
                    "The key ID in the request does not identify a CMK that can perform this operation.".into(),
                ));
            }
        }
        if named.region != caller.region {
            return Err(KmsError::InvalidCiphertext);
        }
        let rec = self.load_key(&named).await?;
        let authz = Authz::from(action)
            .with_context(context)
            .with("kms:EncryptionAlgorithm", algorithm.unwrap_or(EA::SymmetricDefault));
        self.authorize_key(caller, &rec, &authz).await?;
        if rec.key_usage != KeyUsageType::EncryptDecrypt {
            return Err(usage_error(&rec, action));
        }
        algorithm_for(&rec, algorithm)?;
        check(Family::Crypto, &rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        let mats = self.materials_of(&named).await?;
        let m = mats
            .iter()
            .find(|m| m.material_id == header.material_id)
            .ok_or(KmsError::InvalidCiphertext)?;
        if m.sealed.is_none() {
            return Err(pending_import(&named.arn()));
        }
        let material = self.open_material(m)?;
        let plaintext =
            trent_crypto::symmetric::decrypt(blob, &header, header_len, &material, context)
                .map_err(|_| KmsError::InvalidCiphertext)?;
        Ok((rec, header.material_id, plaintext))
    }

    pub async fn encrypt(&self, caller: &Caller, r: EncryptRequest) -> Result<EncryptResponse> {
        let ctx = r.encryption_context.unwrap_or_default();
        let plaintext = r.plaintext.unwrap_or_default();
        let req = SealRequest {
            key_id: &r.key_id.unwrap_or_default(),
            plaintext: plaintext.as_bytes(),
            context: &ctx,
            algorithm: r.encryption_algorithm,
            action: "Encrypt",
            dry_run: r.dry_run,
        };
        let s = self.encrypt_any(caller, req).await?;
        Ok(EncryptResponse {
            ciphertext_blob: Some(Blob::new(s.blob)),
            key_id: Some(s.rec.key.arn()),
            encryption_algorithm: Some(s.algorithm),
        })
    }

    pub async fn decrypt(&self, caller: &Caller, r: DecryptRequest) -> Result<DecryptResponse> {
        if r.recipient.is_some() {
            return Err(KmsError::UnsupportedOperation(
                "Recipient (Nitro Enclaves attestation) is not supported.".into(),
            ));
        }
        let ctx = r.encryption_context.unwrap_or_default();
        let blob = r.ciphertext_blob.unwrap_or_default();
        let o = self
            .decrypt_any(
                caller,
                OpenBlob {
                    blob: blob.as_bytes(),
                    key_id: r.key_id.as_deref(),
                    context: &ctx,
                    algorithm: r.encryption_algorithm,
                    action: "Decrypt",
                    dry_run: r.dry_run,
                },
            )
            .await?;
        Ok(DecryptResponse {
            key_id: Some(o.rec.key.arn()),
            plaintext: Some(Blob::new(o.plaintext.into_vec())),
            encryption_algorithm: Some(o.algorithm),
            key_material_id: o.material_id,
            ciphertext_for_recipient: None,
        })
    }

    pub async fn re_encrypt(
        &self,
        caller: &Caller,
        r: ReEncryptRequest,
    ) -> Result<ReEncryptResponse> {
        let src_ctx = r.source_encryption_context.unwrap_or_default();
        let dst_ctx = r.destination_encryption_context.unwrap_or_default();
        let blob = r.ciphertext_blob.unwrap_or_default();
        let src = self
            .decrypt_any(
                caller,
                OpenBlob {
                    blob: blob.as_bytes(),
                    key_id: r.source_key_id.as_deref(),
                    context: &src_ctx,
                    algorithm: r.source_encryption_algorithm,
                    action: "ReEncryptFrom",
                    dry_run: None,
                },
            )
            .await?;
        let dst = self
            .encrypt_any(
                caller,
                SealRequest {
                    key_id: &r.destination_key_id.unwrap_or_default(),
                    plaintext: src.plaintext.as_bytes(),
                    context: &dst_ctx,
                    algorithm: r.destination_encryption_algorithm,
                    action: "ReEncryptTo",
                    dry_run: r.dry_run,
                },
            )
            .await?;
        Ok(ReEncryptResponse {
            ciphertext_blob: Some(Blob::new(dst.blob)),
            source_key_id: Some(src.rec.key.arn()),
            key_id: Some(dst.rec.key.arn()),
            source_encryption_algorithm: Some(src.algorithm),
            destination_encryption_algorithm: Some(dst.algorithm),
            source_key_material_id: src.material_id,
            destination_key_material_id: dst.material_id,
        })
    }
}
