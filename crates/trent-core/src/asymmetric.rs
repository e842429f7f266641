//! Asymmetric operations: GetPublicKey, Sign, Verify, DeriveSharedSecret, and data key pairs
//! (GenerateDataKeyPair, GenerateDataKeyPairWithoutPlaintext).

use crate::authorize::Authz;
use crate::resolve::Accept;
use crate::state::{check, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::asymmetric::{self, AsymError, Message};
use trent_crypto::Secret;
use trent_store::KeyRecord;
use trent_types::*;

/// A key with its opened material, checked for usage and state.
pub(crate) struct Usable {
    pub rec: KeyRecord,
    pub material_id: String,
    pub material: Arc<Secret>,
}

pub(crate) fn usage_error(rec: &KeyRecord, action: &str) -> KmsError {
    KmsError::InvalidKeyUsage(format!(
        "{} key usage is {} which is not valid for {action}.",
        rec.key.arn(),
        rec.key_usage
    ))
}

pub(crate) fn incompatible(alg: impl std::fmt::Display, spec: KeySpec) -> KmsError {
    KmsError::InvalidKeyUsage(format!("Algorithm {alg} is incompatible with key spec {spec}."))
}

pub(crate) fn asym_error(e: AsymError, alg: impl std::fmt::Display) -> KmsError {
    match e {
        AsymError::DigestLength => {
            KmsError::Validation(format!("Digest is invalid length for algorithm {alg}."))
        }
        AsymError::Unsupported(what) => {
            KmsError::UnsupportedOperation(format!("{what} is not supported by this server yet."))
        }
        AsymError::BadKey => KmsError::Internal("stored key material does not parse".into()),
        AsymError::Failed => KmsError::InvalidCiphertext,
    }
}

fn message_of(message_type: MessageType, message: &[u8]) -> Message<'_> {
    match message_type {
        MessageType::Raw => Message::Raw(message),
        MessageType::Digest => Message::Digest(message),
        MessageType::ExternalMu => Message::ExternalMu(message),
    }
}

/// What the two data-key-pair operations share.
struct KeyPairRequest {
    action: &'static str,
    spec: Option<DataKeyPairSpec>,
    key_id: Option<String>,
    context: Option<std::collections::BTreeMap<String, String>>,
    dry_run: Option<bool>,
}

impl Kms {
    /// Resolves a key for `action`, which needs `usage`; checks state and loads the current
    /// material.
    pub(crate) async fn usable_key<'a>(
        &self,
        caller: &Caller,
        id: &str,
        authz: impl Into<Authz<'a>>,
        usage: KeyUsageType,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        let authz = authz.into();
        let action = authz.action;
        let rec = self.resolve(caller, id, Accept::KeyOrAlias, authz).await?;
        if rec.key_usage != usage {
            return Err(usage_error(&rec, action));
        }
        self.usable_checked(rec, dry_run).await
    }

    /// State check, DryRun, and the current material of an already resolved key.
    pub(crate) async fn usable_checked(
        &self,
        rec: KeyRecord,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        check(Family::Crypto, &rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::DryRun);
        }
        let mats = self.materials_of(&rec.key).await?;
        let current = mats
            .iter()
            .find(|m| {
                Some(&m.material_id) == rec.current_material_id.as_ref() && m.sealed.is_some()
            })
            .ok_or_else(|| crate::state::pending_import(&rec.key.arn()))?;
        let material = self.open_material(current)?;
        Ok(Usable { material_id: current.material_id.clone(), material, rec })
    }

    pub async fn get_public_key(
        &self,
        caller: &Caller,
        r: GetPublicKeyRequest,
    ) -> Result<GetPublicKeyResponse> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOrAlias, "GetPublicKey")
            .await?;
        if !asymmetric::is_supported(rec.key_spec) {
            return Err(KmsError::UnsupportedOperation(format!(
                "{} key spec is {} which is not valid for GetPublicKey.",
                rec.key.arn(),
                rec.key_spec
            )));
        }
        let u = self.usable_checked(rec, None).await?;
        let spec = u.rec.key_spec;
        let public = asymmetric::public_key(spec, &u.material).map_err(|e| asym_error(e, ""))?;
        let algs = crate::keyspec::algorithms(spec, u.rec.key_usage);
        Ok(GetPublicKeyResponse {
            key_id: Some(u.rec.key.arn()),
            public_key: Some(Blob::new(public)),
            customer_master_key_spec: CustomerMasterKeySpec::parse(spec.as_str()),
            key_spec: Some(spec),
            key_usage: Some(u.rec.key_usage),
            encryption_algorithms: algs.encryption,
            signing_algorithms: algs.signing,
            key_agreement_algorithms: algs.key_agreement,
            encapsulation_algorithms: algs.encapsulation,
        })
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
        match (alg, message_type) {
            // ED25519_SHA_512 signs the message itself; ED25519_PH_SHA_512 a SHA-512 digest.
            (SigningAlgorithmSpec::Ed25519Sha512, MessageType::Raw)
            | (SigningAlgorithmSpec::Ed25519PhSha512, MessageType::Digest) => Ok(()),
            (SigningAlgorithmSpec::Ed25519Sha512 | SigningAlgorithmSpec::Ed25519PhSha512, mt) => {
                Err(KmsError::Validation(format!(
                    "MessageType {mt} is not valid for signing algorithm {alg}."
                )))
            }
            (SigningAlgorithmSpec::MlDsaShake256, MessageType::Digest) => Err(KmsError::Validation(
                "MessageType DIGEST is not valid for signing algorithm ML_DSA_SHAKE_256; use RAW or EXTERNAL_MU.".into(),
            )),
            (_, MessageType::ExternalMu) if alg != SigningAlgorithmSpec::MlDsaShake256 => {
                Err(KmsError::Validation(format!(
                    "MessageType EXTERNAL_MU is valid only with ML_DSA_SHAKE_256, not {alg}."
                )))
            }
            // Sign/Verify API: "When the value of MessageType is EXTERNAL_MU the length of the
            // Message value must be 64 bytes."
            (_, MessageType::ExternalMu) if message.len() != asymmetric::mldsa::MU_LEN => {
                Err(KmsError::Validation(
                    "Message must be 64 bytes long when MessageType is EXTERNAL_MU.".into(),
                ))
            }
            (_, MessageType::Digest) => match asymmetric::digest_of(alg) {
                Some(d) if d.output_len() != message.len() => Err(KmsError::Validation(format!(
                    "Digest is invalid length for algorithm {alg}."
                ))),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    pub async fn sign(&self, caller: &Caller, r: SignRequest) -> Result<SignResponse> {
        let alg = r
            .signing_algorithm
            .ok_or_else(|| KmsError::Validation("SigningAlgorithm is required.".into()))?;
        let message_type = r.message_type.unwrap_or(MessageType::Raw);
        let message = r.message.unwrap_or_default();
        let u = self
            .usable_key(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("Sign")
                    .with("kms:SigningAlgorithm", alg)
                    .with("kms:MessageType", message_type),
                KeyUsageType::SignVerify,
                r.dry_run,
            )
            .await?;
        Self::check_signing(&u.rec, alg, message_type, message.as_bytes())?;
        let spec = u.rec.key_spec;
        let material = u.material.clone();
        let signature = crate::blocking(move || {
            let msg = message_of(message_type, message.as_bytes());
            asymmetric::sign(spec, &material, alg, msg).map_err(|e| asym_error(e, alg))
        })
        .await?;
        Ok(SignResponse {
            key_id: Some(u.rec.key.arn()),
            signature: Some(Blob::new(signature)),
            signing_algorithm: Some(alg),
        })
    }

    pub async fn verify(&self, caller: &Caller, r: VerifyRequest) -> Result<VerifyResponse> {
        let alg = r
            .signing_algorithm
            .ok_or_else(|| KmsError::Validation("SigningAlgorithm is required.".into()))?;
        let message_type = r.message_type.unwrap_or(MessageType::Raw);
        let message = r.message.unwrap_or_default();
        let u = self
            .usable_key(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("Verify")
                    .with("kms:SigningAlgorithm", alg)
                    .with("kms:MessageType", message_type),
                KeyUsageType::SignVerify,
                None,
            )
            .await?;
        Self::check_signing(&u.rec, alg, message_type, message.as_bytes())?;
        let spki =
            asymmetric::public_key(u.rec.key_spec, &u.material).map_err(|e| asym_error(e, alg))?;
        let msg = message_of(message_type, message.as_bytes());
        let signature = r.signature.unwrap_or_default();
        let valid = asymmetric::verify(u.rec.key_spec, &spki, alg, msg, signature.as_bytes())
            .map_err(|e| asym_error(e, alg))?;
        if !valid {
            // Recorded against AWS with an empty message.
            return Err(KmsError::InvalidSignature);
        }
        Ok(VerifyResponse {
            key_id: Some(u.rec.key.arn()),
            signature_valid: Some(true),
            signing_algorithm: Some(alg),
        })
    }

    pub async fn derive_shared_secret(
        &self,
        caller: &Caller,
        r: DeriveSharedSecretRequest,
    ) -> Result<DeriveSharedSecretResponse> {
        if r.recipient.is_some() {
            return Err(KmsError::UnsupportedOperation(
                "Recipient (Nitro Enclaves attestation) is not supported.".into(),
            ));
        }
        let u = self
            .usable_key(
                caller,
                &r.key_id.unwrap_or_default(),
                "DeriveSharedSecret",
                KeyUsageType::KeyAgreement,
                r.dry_run,
            )
            .await?;
        let peer = r.public_key.unwrap_or_default();
        let secret = asymmetric::ecdh(u.rec.key_spec, &u.material, peer.as_bytes()).map_err(
            |e| match e {
                AsymError::Failed | AsymError::BadKey => KmsError::Validation(format!(
                    "The public key is not a valid {} SubjectPublicKeyInfo.",
                    u.rec.key_spec
                )),
                other => asym_error(other, "ECDH"),
            },
        )?;
        Ok(DeriveSharedSecretResponse {
            key_id: Some(u.rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            ciphertext_for_recipient: None,
            key_agreement_algorithm: Some(KeyAgreementAlgorithmSpec::Ecdh),
            key_origin: Some(u.rec.origin),
        })
    }

    /// GenerateDataKeyPair(WithoutPlaintext): checks the spec, authorizes `action` on the
    /// key and checks its state first — so that a refused call or a DryRun costs no key
    /// generation (RSA-4096 takes about half a second) — then generates the pair off the
    /// async workers and seals its private key. Returns (spec, private key, public key, sealed).
    async fn sealed_key_pair(
        &self,
        caller: &Caller,
        req: KeyPairRequest,
    ) -> Result<(DataKeyPairSpec, Secret, Vec<u8>, crate::data_keys::SealedSecret)> {
        let spec =
            req.spec.ok_or_else(|| KmsError::Validation("KeyPairSpec is required.".into()))?;
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
                return Err(KmsError::UnsupportedOperation(format!(
                    "KeyPairSpec {spec} is not supported by this server yet."
                )))
            }
        };
        let context = req.context.unwrap_or_default();
        let authz = Authz::from(req.action).with_context(&context);
        let u = self
            .usable_for_encrypt(caller, &req.key_id.unwrap_or_default(), authz, None, req.dry_run)
            .await?;
        let (private, public) = crate::blocking(move || {
            let private = asymmetric::generate(key_spec)?;
            let public = asymmetric::public_key(key_spec, &private)
                .map_err(|_| KmsError::Internal("generated key does not parse".into()))?;
            Ok((private, public))
        })
        .await?;
        let blob = self.seal_with(&u, private.as_bytes(), &context)?;
        let sealed = crate::data_keys::SealedSecret {
            key_arn: u.rec.key.arn(),
            material_id: u.material_id,
            blob,
        };
        Ok((spec, private, public, sealed))
    }

    pub async fn generate_data_key_pair(
        &self,
        caller: &Caller,
        r: GenerateDataKeyPairRequest,
    ) -> Result<GenerateDataKeyPairResponse> {
        crate::data_keys::refuse_recipient(&r.recipient)?;
        let req = KeyPairRequest {
            action: "GenerateDataKeyPair",
            spec: r.key_pair_spec,
            key_id: r.key_id,
            context: r.encryption_context,
            dry_run: r.dry_run,
        };
        let (spec, private, public, s) = self.sealed_key_pair(caller, req).await?;
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

    pub async fn generate_data_key_pair_without_plaintext(
        &self,
        caller: &Caller,
        r: GenerateDataKeyPairWithoutPlaintextRequest,
    ) -> Result<GenerateDataKeyPairWithoutPlaintextResponse> {
        let req = KeyPairRequest {
            action: "GenerateDataKeyPairWithoutPlaintext",
            spec: r.key_pair_spec,
            key_id: r.key_id,
            context: r.encryption_context,
            dry_run: r.dry_run,
        };
        let (spec, _private, public, s) = self.sealed_key_pair(caller, req).await?;
        Ok(GenerateDataKeyPairWithoutPlaintextResponse {
            private_key_ciphertext_blob: Some(Blob::new(s.blob)),
            public_key: Some(Blob::new(public)),
            key_id: Some(s.key_arn),
            key_pair_spec: Some(spec),
            key_material_id: Some(s.material_id),
        })
    }
}
