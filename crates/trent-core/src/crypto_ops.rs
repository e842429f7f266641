//! Symmetric cryptographic operations: Encrypt, Decrypt, ReEncrypt, and the shared steps
//! (usage and state checks, current material, blob parsing) that data keys reuse.

use crate::resolve::{access_denied, Accept};
use crate::state::{check, pending_import, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use std::sync::Arc;
use trent_crypto::{BlobHeader, Secret};
use trent_store::{KeyRecord, KeyRef};
use trent_types::*;

/// What Decrypt and ReEncrypt ask of a ciphertext blob.
pub(crate) struct OpenBlob<'a> {
    pub blob: &'a [u8],
    pub key_id: Option<&'a str>,
    pub context: &'a BTreeMap<String, String>,
    pub algorithm: Option<EncryptionAlgorithmSpec>,
    pub action: &'a str,
    pub dry_run: Option<bool>,
}

/// A key checked for a symmetric cryptographic operation, with its current material.
pub(crate) struct Usable {
    pub rec: KeyRecord,
    pub material_id: String,
    pub material: Arc<Secret>,
}

fn check_usage(
    rec: &KeyRecord,
    action: &str,
    algorithm: Option<EncryptionAlgorithmSpec>,
) -> Result<()> {
    if rec.key_usage != KeyUsageType::EncryptDecrypt {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for {action}.",
            rec.key.arn(),
            rec.key_usage
        )));
    }
    if let Some(a) = algorithm {
        if rec.key_spec == KeySpec::SymmetricDefault
            && a != EncryptionAlgorithmSpec::SymmetricDefault
        {
            return Err(KmsError::InvalidKeyUsage(format!(
                "Algorithm {a} is incompatible with key spec {}.",
                rec.key_spec
            )));
        }
    }
    Ok(())
}

impl Kms {
    /// Resolves a key for encryption-side use and loads its current material.
    pub(crate) async fn usable_for_encrypt(
        &self,
        caller: &Caller,
        key_id: &str,
        action: &str,
        algorithm: Option<EncryptionAlgorithmSpec>,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        let rec = self.resolve(caller, key_id, Accept::KeyOrAlias, action).await?;
        check_usage(&rec, action, algorithm)?;
        check(Family::Crypto, &rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        let mats = self.store.get_materials(&rec.key).await?;
        let current = mats
            .iter()
            .find(|m| {
                Some(&m.material_id) == rec.current_material_id.as_ref() && m.sealed.is_some()
            })
            .ok_or_else(|| pending_import(&rec.key.arn()))?;
        let material = self.open_material(current)?;
        Ok(Usable { material_id: current.material_id.clone(), material, rec })
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
        if named.account != caller.account {
            return Err(access_denied(caller, action, &named.arn()));
        }
        let rec = self.load_key(&named).await?;
        check_usage(&rec, action, algorithm)?;
        check(Family::Crypto, &rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        let mats = self.store.get_materials(&named).await?;
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
        let u = self
            .usable_for_encrypt(
                caller,
                &r.key_id.unwrap_or_default(),
                "Encrypt",
                r.encryption_algorithm,
                r.dry_run,
            )
            .await?;
        let plaintext = r.plaintext.unwrap_or_default();
        let blob = self.seal_with(&u, plaintext.as_bytes(), &ctx)?;
        Ok(EncryptResponse {
            ciphertext_blob: Some(Blob::new(blob)),
            key_id: Some(u.rec.key.arn()),
            encryption_algorithm: Some(EncryptionAlgorithmSpec::SymmetricDefault),
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
        let (rec, material_id, plaintext) = self
            .open_blob(
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
            key_id: Some(rec.key.arn()),
            plaintext: Some(Blob::new(plaintext.into_vec())),
            encryption_algorithm: Some(EncryptionAlgorithmSpec::SymmetricDefault),
            key_material_id: Some(material_id),
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
        let (src, src_material, plaintext) = self
            .open_blob(
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
            .usable_for_encrypt(
                caller,
                &r.destination_key_id.unwrap_or_default(),
                "ReEncryptTo",
                r.destination_encryption_algorithm,
                r.dry_run,
            )
            .await?;
        let out = self.seal_with(&dst, plaintext.as_bytes(), &dst_ctx)?;
        Ok(ReEncryptResponse {
            ciphertext_blob: Some(Blob::new(out)),
            source_key_id: Some(src.key.arn()),
            key_id: Some(dst.rec.key.arn()),
            source_encryption_algorithm: Some(EncryptionAlgorithmSpec::SymmetricDefault),
            destination_encryption_algorithm: Some(EncryptionAlgorithmSpec::SymmetricDefault),
            source_key_material_id: Some(src_material),
            destination_key_material_id: Some(dst.material_id),
        })
    }
}
