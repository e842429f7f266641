//! Data keys and randomness: GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.

use crate::authorize::Authz;
use crate::{Caller, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::Secret;
use trent_types::*;

fn data_key_len(spec: Option<DataKeySpec>, bytes: Option<i64>) -> Result<usize> {
    match (spec, bytes) {
        (Some(DataKeySpec::Aes256), None) => Ok(32),
        (Some(DataKeySpec::Aes128), None) => Ok(16),
        (None, Some(n)) => Ok(n as usize),
        (Some(_), Some(_)) => Err(KmsError::Validation(
            "Please specify either number of bytes or key spec, not both.".into(),
        )),
        (None, None) => {
            Err(KmsError::Validation("Please specify either number of bytes or key spec.".into()))
        }
    }
}

pub(crate) fn refuse_recipient(r: &Option<RecipientInfo>) -> Result<()> {
    match r {
        Some(_) => Err(KmsError::UnsupportedOperation(
            "Recipient (Nitro Enclaves attestation) is not supported.".into(),
        )),
        None => Ok(()),
    }
}

/// A fresh secret sealed under a symmetric KMS key with an encryption context: what every
/// GenerateDataKey* and GenerateDataKeyPair* call returns.
pub(crate) struct SealedSecret {
    pub key_arn: String,
    pub material_id: String,
    pub blob: Vec<u8>,
}

impl Kms {
    /// Authorizes `action` on the key (with the context's condition keys) and seals
    /// `secret` under it.
    pub(crate) async fn seal_secret_under(
        &self,
        caller: &Caller,
        key_id: Option<String>,
        action: &str,
        context: Option<BTreeMap<String, String>>,
        dry_run: Option<bool>,
        secret: &Secret,
    ) -> Result<SealedSecret> {
        let context = context.unwrap_or_default();
        let authz = Authz::from(action).with_context(&context);
        let u = self
            .usable_for_encrypt(caller, &key_id.unwrap_or_default(), authz, None, dry_run)
            .await?;
        let blob = self.seal_with(&u, secret.as_bytes(), &context)?;
        Ok(SealedSecret { key_arn: u.rec.key.arn(), material_id: u.material_id, blob })
    }

    pub async fn generate_data_key(
        &self,
        caller: &Caller,
        r: GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse> {
        refuse_recipient(&r.recipient)?;
        let data_key = trent_crypto::random_secret(data_key_len(r.key_spec, r.number_of_bytes)?)?;
        let s = self
            .seal_secret_under(
                caller,
                r.key_id,
                "GenerateDataKey",
                r.encryption_context,
                r.dry_run,
                &data_key,
            )
            .await?;
        Ok(GenerateDataKeyResponse {
            ciphertext_blob: Some(Blob::new(s.blob)),
            plaintext: Some(Blob::new(data_key.into_vec())),
            key_id: Some(s.key_arn),
            key_material_id: Some(s.material_id),
            ciphertext_for_recipient: None,
        })
    }

    pub async fn generate_data_key_without_plaintext(
        &self,
        caller: &Caller,
        r: GenerateDataKeyWithoutPlaintextRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse> {
        let data_key = trent_crypto::random_secret(data_key_len(r.key_spec, r.number_of_bytes)?)?;
        let s = self
            .seal_secret_under(
                caller,
                r.key_id,
                "GenerateDataKeyWithoutPlaintext",
                r.encryption_context,
                r.dry_run,
                &data_key,
            )
            .await?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: Some(Blob::new(s.blob)),
            key_id: Some(s.key_arn),
            key_material_id: Some(s.material_id),
        })
    }

    pub async fn generate_random(
        &self,
        caller: &Caller,
        r: GenerateRandomRequest,
    ) -> Result<GenerateRandomResponse> {
        self.authorize_account(caller, &Authz::from("GenerateRandom")).await?;
        refuse_recipient(&r.recipient)?;
        if let Some(id) = r.custom_key_store_id {
            return Err(KmsError::CustomKeyStoreNotFound(format!(
                "Custom key store '{id}' does not exist."
            )));
        }
        // Recorded against AWS: a hand-written message, not the Coral form.
        let n = r
            .number_of_bytes
            .ok_or_else(|| KmsError::Validation("NumberOfBytes is required.".into()))?;
        let bytes = trent_crypto::random_secret(n as usize)?;
        Ok(GenerateRandomResponse {
            plaintext: Some(Blob::new(bytes.into_vec())),
            ciphertext_for_recipient: None,
        })
    }
}
