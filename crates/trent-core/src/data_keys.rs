//! Data keys and randomness: GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom.

use crate::authorize::Authz;
use crate::{Caller, Kms, KmsError, Result};
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

fn refuse_recipient(r: &Option<RecipientInfo>) -> Result<()> {
    match r {
        Some(_) => Err(KmsError::UnsupportedOperation(
            "Recipient (Nitro Enclaves attestation) is not supported.".into(),
        )),
        None => Ok(()),
    }
}

impl Kms {
    pub async fn generate_data_key(
        &self,
        caller: &Caller,
        r: GenerateDataKeyRequest,
    ) -> Result<GenerateDataKeyResponse> {
        refuse_recipient(&r.recipient)?;
        let len = data_key_len(r.key_spec, r.number_of_bytes)?;
        let u = self
            .usable_for_encrypt(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("GenerateDataKey")
                    .with_context(r.encryption_context.as_ref().unwrap_or(&Default::default())),
                None,
                r.dry_run,
            )
            .await?;
        let data_key = trent_crypto::random_secret(len)?;
        let blob =
            self.seal_with(&u, data_key.as_bytes(), &r.encryption_context.unwrap_or_default())?;
        Ok(GenerateDataKeyResponse {
            ciphertext_blob: Some(Blob::new(blob)),
            plaintext: Some(Blob::new(data_key.into_vec())),
            key_id: Some(u.rec.key.arn()),
            key_material_id: Some(u.material_id),
            ciphertext_for_recipient: None,
        })
    }

    pub async fn generate_data_key_without_plaintext(
        &self,
        caller: &Caller,
        r: GenerateDataKeyWithoutPlaintextRequest,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse> {
        let len = data_key_len(r.key_spec, r.number_of_bytes)?;
        let u = self
            .usable_for_encrypt(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("GenerateDataKeyWithoutPlaintext")
                    .with_context(r.encryption_context.as_ref().unwrap_or(&Default::default())),
                None,
                r.dry_run,
            )
            .await?;
        let data_key = trent_crypto::random_secret(len)?;
        let blob =
            self.seal_with(&u, data_key.as_bytes(), &r.encryption_context.unwrap_or_default())?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: Some(Blob::new(blob)),
            key_id: Some(u.rec.key.arn()),
            key_material_id: Some(u.material_id),
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
