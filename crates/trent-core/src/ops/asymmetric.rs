//! Asymmetric operations: GetPublicKey, Sign, Verify, DeriveSharedSecret (data key pairs are
//! in `data_keys`, beside the other data keys).

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::ops::usable::{asym_error, incompatible, Usable};
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_crypto::asymmetric::{self, AsymError, Message};
use trent_store::KeyRecord;
use trent_types::*;

fn message_of(message_type: MessageType, message: &[u8]) -> Message<'_> {
    match message_type {
        MessageType::Raw => Message::Raw(message),
        MessageType::Digest => Message::Digest(message),
        MessageType::ExternalMu => Message::ExternalMu(message),
    }
}

impl Call for GetPublicKeyRequest {
    type Target = KeyTarget<true>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GetPublicKeyResponse> {
        let rec = auth.target().key();
        if !asymmetric::is_supported(rec.key_spec) {
            return Err(KmsError::new(
                ErrorCode::UnsupportedOperationException,
                format!(
                    "{} key spec is {} which is not valid for GetPublicKey.",
                    rec.key.arn(),
                    rec.key_spec
                ),
            ));
        }
        let u = kms.usable_checked(rec, None).await?;
        let spec = rec.key_spec;
        let public = asymmetric::public_key(spec, &u.material).map_err(|e| asym_error(e, ""))?;
        let algs = crate::keyspec::algorithms(spec, rec.key_usage);
        Ok(GetPublicKeyResponse {
            key_id: Some(rec.key.arn()),
            public_key: Some(Blob::new(public)),
            customer_master_key_spec: CustomerMasterKeySpec::parse(spec.as_str()),
            key_spec: Some(spec),
            key_usage: Some(rec.key_usage),
            encryption_algorithms: algs.encryption,
            signing_algorithms: algs.signing,
            key_agreement_algorithms: algs.key_agreement,
            encapsulation_algorithms: algs.encapsulation,
        })
    }
}

fn check_signing(
    rec: &KeyRecord,
    alg: SigningAlgorithmSpec,
    message_type: MessageType,
    message: &[u8],
) -> Result<()> {
    if !asymmetric::signing_algorithms(rec.key_spec).contains(&alg) {
        return Err(incompatible(alg, rec.key_spec));
    }
    let invalid = |m: String| Err(KmsError::validation(m));
    match (alg, message_type) {
        // ED25519_SHA_512 signs the message itself; ED25519_PH_SHA_512 a SHA-512 digest.
        (SigningAlgorithmSpec::Ed25519Sha512, MessageType::Raw)
        | (SigningAlgorithmSpec::Ed25519PhSha512, MessageType::Digest) => Ok(()),
        (SigningAlgorithmSpec::Ed25519Sha512 | SigningAlgorithmSpec::Ed25519PhSha512, mt) => {
            invalid(format!("MessageType {mt} is not valid for signing algorithm {alg}."))
        }
        (SigningAlgorithmSpec::MlDsaShake256, MessageType::Digest) => invalid(
            "MessageType DIGEST is not valid for signing algorithm ML_DSA_SHAKE_256; use RAW or EXTERNAL_MU."
                .into(),
        ),
        (_, MessageType::ExternalMu) if alg != SigningAlgorithmSpec::MlDsaShake256 => {
            invalid(format!("MessageType EXTERNAL_MU is valid only with ML_DSA_SHAKE_256, not {alg}."))
        }
        // Sign/Verify API: "When the value of MessageType is EXTERNAL_MU the length of the
        // Message value must be 64 bytes."
        (_, MessageType::ExternalMu) if message.len() != asymmetric::mldsa::MU_LEN => {
            invalid("Message must be 64 bytes long when MessageType is EXTERNAL_MU.".into())
        }
        (_, MessageType::Digest) => match asymmetric::digest_of(alg) {
            Some(d) if d.output_len() != message.len() => {
                invalid(format!("Digest is invalid length for algorithm {alg}."))
            }
            _ => Ok(()),
        },
        _ => Ok(()),
    }
}

impl Kms {
    /// What Sign and Verify share: the message type, the key's usage, state and current
    /// material, and the message's fit for the algorithm.
    async fn signing_key(
        &self,
        rec: &KeyRecord,
        action: &str,
        alg: SigningAlgorithmSpec,
        message_type: Option<MessageType>,
        message: &Blob,
        dry_run: Option<bool>,
    ) -> Result<(SigningAlgorithmSpec, MessageType, Usable)> {
        let message_type = message_type.unwrap_or(MessageType::Raw);
        let u = self.usable_for(rec, KeyUsageType::SignVerify, action, dry_run).await?;
        let message = message.as_bytes();
        check_signing(rec, alg, message_type, message)?;
        Ok((alg, message_type, u))
    }
}

fn signing_conditions(c: &mut Conditions, alg: SigningAlgorithmSpec, mt: Option<MessageType>) {
    c.set(K::SigningAlgorithm, alg).set(K::MessageType, mt.unwrap_or(MessageType::Raw));
}

impl Call for SignRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        signing_conditions(c, self.signing_algorithm, self.message_type);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<SignResponse> {
        let rec = auth.target().key();
        let (alg, message_type, u) = kms
            .signing_key(
                rec,
                Self::OPERATION.name(),
                self.signing_algorithm,
                self.message_type,
                &self.message,
                self.dry_run,
            )
            .await?;
        let message = self.message;
        let spec = rec.key_spec;
        let material = u.material.clone();
        let signature = kms
            .blocking(move || {
                let msg = message_of(message_type, message.as_bytes());
                asymmetric::sign(spec, &material, alg, msg).map_err(|e| asym_error(e, alg))
            })
            .await?;
        Ok(SignResponse {
            key_id: Some(rec.key.arn()),
            signature: Some(Blob::new(signature)),
            signing_algorithm: Some(alg),
        })
    }
}

impl Call for VerifyRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        signing_conditions(c, self.signing_algorithm, self.message_type);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<VerifyResponse> {
        let rec = auth.target().key();
        let (alg, message_type, u) = kms
            .signing_key(
                rec,
                Self::OPERATION.name(),
                self.signing_algorithm,
                self.message_type,
                &self.message,
                None,
            )
            .await?;
        let message = self.message;
        let spki =
            asymmetric::public_key(rec.key_spec, &u.material).map_err(|e| asym_error(e, alg))?;
        let msg = message_of(message_type, message.as_bytes());
        let signature = self.signature;
        let valid = asymmetric::verify(rec.key_spec, &spki, alg, msg, signature.as_bytes())
            .map_err(|e| asym_error(e, alg))?;
        if !valid {
            // Recorded against AWS with an empty message.
            return Err(KmsError::invalid_signature());
        }
        Ok(VerifyResponse {
            key_id: Some(rec.key.arn()),
            signature_valid: Some(true),
            signing_algorithm: Some(alg),
        })
    }
}

impl Call for DeriveSharedSecretRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::KeyAgreementAlgorithm, self.key_agreement_algorithm);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<DeriveSharedSecretResponse> {
        crate::ops::data_keys::refuse_recipient(&self.recipient)?;
        let rec = auth.target().key();
        let u = kms
            .usable_for(rec, KeyUsageType::KeyAgreement, Self::OPERATION.name(), self.dry_run)
            .await?;
        let peer = self.public_key;
        let secret =
            asymmetric::ecdh(rec.key_spec, &u.material, peer.as_bytes()).map_err(|e| match e {
                // AWS answers a PublicKey that is no SubjectPublicKeyInfo (of the key's
                // curve) with a ValidationException and no message (recorded).
                AsymError::Failed | AsymError::BadKey => KmsError::validation(String::new()),
                other => asym_error(other, "ECDH"),
            })?;
        Ok(DeriveSharedSecretResponse {
            key_id: Some(rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            ciphertext_for_recipient: None,
            key_agreement_algorithm: Some(KeyAgreementAlgorithmSpec::Ecdh),
            key_origin: Some(rec.origin),
        })
    }
}
