//! Data keys and randomness: GenerateDataKey, GenerateDataKeyWithoutPlaintext, GenerateRandom,
//! and data key pairs: GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext.

use crate::authz::ConditionKey as K;
use crate::gate::{AccountTarget, KeyTarget};
use crate::{Authorized, Call, Caller, Conditions, Kms, KmsError, Result};
use std::collections::BTreeMap;
use trent_crypto::asymmetric;
use trent_crypto::Secret;
use trent_store::KeyRecord;
use trent_types::*;

fn data_key_len(spec: Option<DataKeySpec>, bytes: Option<i64>) -> Result<usize> {
    match (spec, bytes) {
        (Some(DataKeySpec::Aes256), None) => Ok(32),
        (Some(DataKeySpec::Aes128), None) => Ok(16),
        (None, Some(n)) => Ok(n as usize),
        (Some(_), Some(_)) => Err(KmsError::validation(
            "Please specify either number of bytes or key spec, not both.",
        )),
        (None, None) => {
            Err(KmsError::validation("Please specify either number of bytes or key spec."))
        }
    }
}

pub(crate) fn refuse_recipient(r: &Option<RecipientInfo>) -> Result<()> {
    match r {
        Some(_) => Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
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
    /// Checks the authorized key and seals `secret` under it with `context`.
    pub(crate) async fn seal_secret_under(
        &self,
        rec: &KeyRecord,
        action: &str,
        context: &Option<BTreeMap<String, String>>,
        dry_run: Option<bool>,
        secret: &Secret,
    ) -> Result<SealedSecret> {
        let u = self.usable_for_encrypt(rec, action, dry_run).await?;
        let blob =
            self.seal_with(rec, &u, secret.as_bytes(), absent::context(context), action).await?;
        Ok(SealedSecret { key_arn: rec.key.arn(), material_id: u.material_id, blob })
    }

    /// A fresh data key of the requested length and its copy sealed under `rec`.
    async fn new_data_key(
        &self,
        rec: &KeyRecord,
        action: &str,
        spec: Option<DataKeySpec>,
        bytes: Option<i64>,
        context: Option<BTreeMap<String, String>>,
        dry_run: Option<bool>,
    ) -> Result<(Secret, SealedSecret)> {
        let data_key = trent_crypto::random_secret(data_key_len(spec, bytes)?)?;
        let sealed = self.seal_secret_under(rec, action, &context, dry_run, &data_key).await?;
        Ok((data_key, sealed))
    }
}

impl Call for GenerateDataKeyRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        c.encryption_context(self.encryption_context.as_ref());
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GenerateDataKeyResponse> {
        refuse_recipient(&self.recipient)?;
        let (data_key, s) = kms
            .new_data_key(
                auth.target().key(),
                Self::OPERATION.name(),
                self.key_spec,
                self.number_of_bytes,
                self.encryption_context,
                self.dry_run,
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
}

impl Call for GenerateDataKeyWithoutPlaintextRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        c.encryption_context(self.encryption_context.as_ref());
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GenerateDataKeyWithoutPlaintextResponse> {
        let (_, s) = kms
            .new_data_key(
                auth.target().key(),
                Self::OPERATION.name(),
                self.key_spec,
                self.number_of_bytes,
                self.encryption_context,
                self.dry_run,
            )
            .await?;
        Ok(GenerateDataKeyWithoutPlaintextResponse {
            ciphertext_blob: Some(Blob::new(s.blob)),
            key_id: Some(s.key_arn),
            key_material_id: Some(s.material_id),
        })
    }
}

impl Call for GenerateRandomRequest {
    type Target = AccountTarget;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, AccountTarget>,
    ) -> Result<GenerateRandomResponse> {
        refuse_recipient(&self.recipient)?;
        // GenerateRandom API: CustomKeyStoreId names a CloudHSM key store (none can exist
        // here); an external key store has no random source of its own.
        if let Some(id) = self.custom_key_store_id {
            let caller = auth.caller();
            kms.custom_key_store(&caller.account, &caller.region, &id).await?;
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperationException,
                format!("Custom key store {id} is an external key store: GenerateRandom takes only a CloudHSM key store."),
            ));
        }
        // Recorded against AWS: a hand-written message, not the Coral form.
        let n = self
            .number_of_bytes
            .ok_or_else(|| KmsError::validation("NumberOfBytes is required."))?;
        let bytes = trent_crypto::random_secret(n as usize)?;
        Ok(GenerateRandomResponse {
            plaintext: Some(Blob::new(bytes.into_vec())),
            ciphertext_for_recipient: None,
        })
    }
}

// ---- data key pairs: GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext ----

/// What the two data-key-pair operations share.
struct KeyPairRequest {
    action: &'static str,
    spec: DataKeyPairSpec,
    context: Option<std::collections::BTreeMap<String, String>>,
    dry_run: Option<bool>,
}

impl Kms {
    /// GenerateDataKeyPair(WithoutPlaintext) on the authorized key: checks the spec, the
    /// key and its state first — so that a DryRun or a key in the wrong state costs no key
    /// generation (RSA-4096 takes about half a second) — then generates the pair off the
    /// async workers and seals its private key. Returns (spec, private key, public key, sealed).
    async fn sealed_key_pair(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        req: KeyPairRequest,
    ) -> Result<(DataKeyPairSpec, Secret, Vec<u8>, crate::ops::data_keys::SealedSecret)> {
        let spec = req.spec;
        if !crate::keyspec::available_in(spec.as_str(), &caller.region) {
            return Err(crate::keyspec::partition_enum_error(
                spec.as_str(),
                "keyPairSpec",
                DataKeyPairSpec::NAMES,
                &caller.region,
            ));
        }
        let key_spec = match KeySpec::parse(spec.as_str()) {
            Some(s) if asymmetric::is_supported(s) => s,
            _ => {
                return Err(KmsError::new(
                    ErrorCode::UnsupportedOperationException,
                    format!("KeyPairSpec {spec} is not supported by this server yet."),
                ))
            }
        };
        let u = self.usable_for_encrypt(rec, req.action, req.dry_run).await?;
        let (private, public) = self
            .blocking(move || {
                let private = asymmetric::generate(key_spec)?;
                let public = asymmetric::public_key(key_spec, &private)
                    .map_err(|_| KmsError::broken("generated key does not parse"))?;
                Ok((private, public))
            })
            .await?;
        let blob = self
            .seal_with(rec, &u, private.as_bytes(), absent::context(&req.context), req.action)
            .await?;
        let sealed = crate::ops::data_keys::SealedSecret {
            key_arn: rec.key.arn(),
            material_id: u.material_id,
            blob,
        };
        Ok((spec, private, public, sealed))
    }
}

fn key_pair_conditions(
    c: &mut Conditions,
    spec: DataKeyPairSpec,
    context: &Option<std::collections::BTreeMap<String, String>>,
) {
    c.encryption_context(context.as_ref()).set(K::DataKeyPairSpec, spec);
}

impl Call for GenerateDataKeyPairRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        key_pair_conditions(c, self.key_pair_spec, &self.encryption_context);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GenerateDataKeyPairResponse> {
        crate::ops::data_keys::refuse_recipient(&self.recipient)?;
        let req = KeyPairRequest {
            action: Self::OPERATION.name(),
            spec: self.key_pair_spec,
            context: self.encryption_context,
            dry_run: self.dry_run,
        };
        let (spec, private, public, s) =
            kms.sealed_key_pair(auth.caller(), auth.target().key(), req).await?;
        Ok(GenerateDataKeyPairResponse {
            private_key_ciphertext_blob: Some(Blob::new(s.blob)),
            private_key_plaintext: Some(Blob::new(private.into_vec())),
            public_key: Some(Blob::new(public)),
            key_id: Some(s.key_arn),
            key_pair_spec: Some(spec),
            ciphertext_for_recipient: None,
            key_material_id: Some(s.material_id),
        })
    }
}

impl Call for GenerateDataKeyPairWithoutPlaintextRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        key_pair_conditions(c, self.key_pair_spec, &self.encryption_context);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GenerateDataKeyPairWithoutPlaintextResponse> {
        let req = KeyPairRequest {
            action: Self::OPERATION.name(),
            spec: self.key_pair_spec,
            context: self.encryption_context,
            dry_run: self.dry_run,
        };
        let (spec, _private, public, s) =
            kms.sealed_key_pair(auth.caller(), auth.target().key(), req).await?;
        Ok(GenerateDataKeyPairWithoutPlaintextResponse {
            private_key_ciphertext_blob: Some(Blob::new(s.blob)),
            public_key: Some(Blob::new(public)),
            key_id: Some(s.key_arn),
            key_pair_spec: Some(spec),
            key_material_id: Some(s.material_id),
        })
    }
}
