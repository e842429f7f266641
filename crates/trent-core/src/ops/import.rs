//! Importing key material (BYOK): GetParametersForImport, ImportKeyMaterial,
//! DeleteImportedKeyMaterial, and expiry of imported material. The rules follow
//! docs/byok.md and the AWS guide
//! <https://docs.aws.amazon.com/kms/latest/developerguide/importing-keys.html>; recorded AWS
//! messages are used verbatim.

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::keyspec::{enum_error, is_china};
use crate::state::{origin_not_valid, pending_deletion};
use crate::writes::Changes;
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_crypto::import::{
    unwrap_material, ImportToken, UnwrapError, WrapAlgorithm, WrappingSpec,
};
use trent_crypto::Secret;
use trent_store::{KeyRecord, KeyRef, MaterialRecord};
use trent_types::*;

const DAY_MS: i64 = 86_400_000;
const MAX_VALID_TO_DAYS: i64 = 365;

/// Maps the request's algorithm and spec to ours, refusing what AWS refuses.
fn wrapping_choice(
    region: &str,
    alg: AlgorithmSpec,
    requested: WrappingKeySpec,
) -> Result<(WrapAlgorithm, WrappingSpec)> {
    let china = is_china(region);
    let spec = match requested {
        WrappingKeySpec::Rsa2048 => WrappingSpec::Rsa2048,
        WrappingKeySpec::Rsa3072 => WrappingSpec::Rsa3072,
        WrappingKeySpec::Rsa4096 => WrappingSpec::Rsa4096,
        WrappingKeySpec::Sm2 if !china => {
            return Err(enum_error("SM2", "wrappingKeySpec", &["RSA_2048", "RSA_3072", "RSA_4096"]))
        }
        WrappingKeySpec::Sm2 => WrappingSpec::Sm2,
    };
    let alg = match alg {
        AlgorithmSpec::RsaesOaepSha1 => WrapAlgorithm::OaepSha1,
        AlgorithmSpec::RsaesOaepSha256 => WrapAlgorithm::OaepSha256,
        AlgorithmSpec::RsaAesKeyWrapSha1 | AlgorithmSpec::RsaAesKeyWrapSha256 if china => {
            return Err(KmsError::validation(format!("{alg} is not supported in China Regions.")))
        }
        AlgorithmSpec::RsaAesKeyWrapSha1 => WrapAlgorithm::RsaAesSha1,
        AlgorithmSpec::RsaAesKeyWrapSha256 => WrapAlgorithm::RsaAesSha256,
        // AWS stopped accepting PKCS#1 v1.5 wrapping on 2023-10-10.
        AlgorithmSpec::RsaesPkcs1V15 => {
            return Err(KmsError::validation(
                "RSAES_PKCS1_V1_5 is no longer supported for importing key material. Use RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256.",
            ))
        }
        AlgorithmSpec::Sm2pke if !china => {
            return Err(enum_error(
                "SM2PKE",
                "wrappingAlgorithm",
                &["RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256"],
            ))
        }
        AlgorithmSpec::Sm2pke => WrapAlgorithm::Sm2pke,
    };
    // SM2PKE wraps only with an SM2 wrapping key, and an SM2 wrapping key only does SM2PKE.
    if (alg == WrapAlgorithm::Sm2pke) != (spec == WrappingSpec::Sm2) {
        return Err(KmsError::validation(format!(
            "WrappingAlgorithm {} is not compatible with WrappingKeySpec {}.",
            alg.aws_name(),
            requested
        )));
    }
    Ok((alg, spec))
}

/// Refuses combinations that cannot carry the key's material (docs/byok.md, "The rules"):
/// RSA private keys are too long for plain RSA-OAEP, and so is a P-521 key for RSA_2048.
fn check_wrapping_fits(rec: &KeyRecord, alg: WrapAlgorithm, spec: WrappingSpec) -> Result<()> {
    let rsa_key = matches!(rec.key_spec, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096);
    // SM2PKE has no length limit; plain RSA-OAEP cannot carry an RSA private key.
    if rsa_key && !alg.is_rsa_aes() && alg != WrapAlgorithm::Sm2pke {
        return Err(KmsError::validation(format!(
            "{} cannot wrap RSA private key material; use RSA_AES_KEY_WRAP_SHA_256 or RSA_AES_KEY_WRAP_SHA_1.",
            alg.aws_name()
        )));
    }
    if rec.key_spec == KeySpec::EccNistP521 && spec == WrappingSpec::Rsa2048 && !alg.is_rsa_aes() {
        return Err(KmsError::validation(format!(
            "{} with an RSA_2048 wrapping key cannot wrap ECC_NIST_P521 key material; use a larger wrapping key or RSA_AES_KEY_WRAP_SHA_256.",
            alg.aws_name()
        )));
    }
    Ok(())
}

/// Checks that a key may take imported material at all, and its state
/// (<https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html>).
fn check_importable(rec: &KeyRecord) -> Result<()> {
    let arn = rec.key.arn();
    if rec.origin != OriginType::External {
        return Err(origin_not_valid(&arn, rec.origin));
    }
    match rec.state {
        KeyState::PendingDeletion | KeyState::PendingReplicaDeletion => Err(pending_deletion(&arn)),
        KeyState::Creating => {
            Err(KmsError::new(ErrorCode::KMSInvalidStateException, format!("{arn} is creating.")))
        }
        KeyState::Unavailable => Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{arn} is unavailable."),
        )),
        _ => Ok(()),
    }
}

fn incorrect_material(msg: &str) -> KmsError {
    KmsError::new(ErrorCode::IncorrectKeyMaterialException, msg.to_string())
}

/// The materials permanently associated with the key (everything not pending rotation).
fn associated(mats: &[MaterialRecord]) -> impl Iterator<Item = &MaterialRecord> {
    mats.iter().filter(|m| !m.is_pending_rotation())
}

impl Call for GetParametersForImportRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::WrappingAlgorithm, self.wrapping_algorithm)
            .set(K::WrappingKeySpec, self.wrapping_key_spec);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<GetParametersForImportResponse> {
        let rec = auth.target().key();
        let (alg, spec) = wrapping_choice(
            &auth.caller().region,
            self.wrapping_algorithm,
            self.wrapping_key_spec,
        )?;
        check_importable(rec)?;
        check_wrapping_fits(rec, alg, spec)?;
        let pair = kms.work.wrapping_pool.take(&auth.caller().account, spec).await?;
        let expires_ms = kms.now_ms() + kms.config.import_token_validity_ms;
        let token = ImportToken {
            key_arn: rec.key.arn(),
            algorithm: alg,
            spec,
            expires_ms,
            private_pkcs8: pair.private_pkcs8.clone(),
        }
        .seal(&kms.held.keyring)?;
        Ok(GetParametersForImportResponse {
            key_id: Some(rec.key.arn()),
            import_token: Some(Blob::new(token)),
            public_key: Some(Blob::new(pair.public_spki.clone())),
            parameters_valid_to: Some(Timestamp(expires_ms)),
        })
    }
}

impl Call for ImportKeyMaterialRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        c.set_opt(K::ExpirationModel, self.expiration_model)
            .set_opt(K::ValidTo, self.valid_to.map(|t| t.seconds()));
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ImportKeyMaterialResponse> {
        kms.import_key_material(auth.target().key(), self).await
    }
}

impl Call for DeleteImportedKeyMaterialRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<DeleteImportedKeyMaterialResponse> {
        kms.delete_imported_key_material(auth.target().key(), self.key_material_id).await
    }
}

impl Kms {
    async fn import_key_material(
        &self,
        rec: &KeyRecord,
        r: ImportKeyMaterialRequest,
    ) -> Result<ImportKeyMaterialResponse> {
        check_importable(rec)?;
        if rec.key_spec != KeySpec::SymmetricDefault {
            for (given, name) in [
                (r.import_type.is_some(), "ImportType"),
                (r.key_material_description.is_some(), "KeyMaterialDescription"),
                (r.key_material_id.is_some(), "KeyMaterialId"),
            ] {
                if given {
                    return Err(KmsError::validation(format!(
                        "{name} is valid only for symmetric encryption KMS keys."
                    )));
                }
            }
        }
        let arn = rec.key.arn();
        let now = self.now_ms();

        // Expiration: the model defaults to KEY_MATERIAL_EXPIRES, which needs ValidTo.
        let model = r.expiration_model.unwrap_or(ExpirationModelType::KeyMaterialExpires);
        let valid_to = match (model, r.valid_to) {
            (ExpirationModelType::KeyMaterialExpires, None) => {
                return Err(KmsError::validation(
                    "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES",
                ))
            }
            (ExpirationModelType::KeyMaterialDoesNotExpire, Some(_)) => {
                return Err(KmsError::validation(
                    "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE",
                ))
            }
            (ExpirationModelType::KeyMaterialDoesNotExpire, None) => None,
            (ExpirationModelType::KeyMaterialExpires, Some(t)) => {
                if t.millis() <= now {
                    return Err(KmsError::validation("ValidTo must be in the future"));
                }
                if t.millis() > now + MAX_VALID_TO_DAYS * DAY_MS {
                    return Err(KmsError::validation("ValidTo must be at most 365 days in the future"));
                }
                Some(t.millis())
            }
        };

        // The token: ours, untampered, for this very key, not expired.
        let token =
            ImportToken::open(&self.held.keyring, r.import_token.as_bytes()).map_err(|_| {
                KmsError::new(
                    ErrorCode::InvalidImportTokenException,
                    "The import token is not valid.".into(),
                )
            })?;
        if token.key_arn != arn {
            return Err(KmsError::new(
                ErrorCode::InvalidImportTokenException,
                "The import token was not issued for this KMS key.".into(),
            ));
        }
        if now >= token.expires_ms {
            return Err(KmsError::new(ErrorCode::ExpiredImportTokenException,
                "The import token has expired. Call GetParametersForImport for a new wrapping key and import token.".into(),
            ));
        }

        // Unwrap off the async workers: RSA private-key operations take milliseconds.
        let wrapped = r.encrypted_key_material.clone();
        let material = self
            .blocking(move || {
                unwrap_material(token.algorithm, &token.private_pkcs8, wrapped.as_bytes()).map_err(
                    |e| match e {
                        UnwrapError::BadLength => {
                            KmsError::validation("Invalid encrypted key size.")
                        }
                        UnwrapError::Failed => KmsError::invalid_ciphertext(),
                    },
                )
            })
            .await?;
        self.check_material_shape(rec, &material)?;
        let material_id = self.held.keyring.material_id(&rec.key.key_id, &material);
        if let Some(given) = &r.key_material_id {
            if r.import_type == Some(ImportType::NewKeyMaterial) {
                return Err(KmsError::validation(
                    "KeyMaterialId cannot be specified with ImportType NEW_KEY_MATERIAL.",
                ));
            }
            if *given != material_id {
                return Err(incorrect_material(
                    "The key material does not match the KeyMaterialId in the request.",
                ));
            }
        }
        let sealed = self.held.keyring.seal_material(&arn, &material_id, &material)?;
        drop(material);

        let (k, _) = self
            .modify_shared(&rec.key, |k, mats| {
                check_importable(k)?;
                let existing = mats.iter().find(|m| m.material_id == material_id);
                let import_type = r.import_type.unwrap_or(if mats.is_empty() {
                    ImportType::NewKeyMaterial
                } else {
                    ImportType::ExistingKeyMaterial
                });
                let mut record = match (import_type, existing) {
                    (ImportType::ExistingKeyMaterial, Some(m)) => m.clone(),
                    (ImportType::ExistingKeyMaterial, None) => {
                        return Err(incorrect_material(if mats.is_empty() {
                            "The KMS key has no key material to reimport; use ImportType NEW_KEY_MATERIAL."
                        } else {
                            "The key material does not match the key material previously imported into this KMS key."
                        }))
                    }
                    (ImportType::NewKeyMaterial, Some(_)) => {
                        return Err(incorrect_material("This key material is already associated with the KMS key."))
                    }
                    (ImportType::NewKeyMaterial, None) => {
                        // A replica takes only what its primary has (imported there first).
                        if k.is_replica() {
                            return Err(incorrect_material("New key material must be imported into the multi-Region primary key first; a replica key takes the same key material as EXISTING_KEY_MATERIAL."));
                        }
                        if !mats.is_empty() && k.key_spec != KeySpec::SymmetricDefault {
                            return Err(incorrect_material("Only symmetric encryption KMS keys can have more than one key material."));
                        }
                        if let Some(p) = mats.iter().find(|m| m.is_pending_rotation()) {
                            return Err(KmsError::new(ErrorCode::KMSInvalidStateException, format!(
                                "New key material (id: {material_id}) cannot be imported into KMS key {arn}, because another key material (id: {}) is pending rotation.",
                                p.material_id
                            )));
                        }
                        let first = mats.is_empty();
                        if first {
                            k.current_material_id = Some(material_id.clone());
                        }
                        let state = if first { KeyMaterialState::Current } else { KeyMaterialState::PendingRotation };
                        MaterialRecord::new(k.key.clone(), material_id.clone(), None, state, now)
                    }
                };
                record.sealed = Some(sealed.clone());
                record.import_state = Some(ImportState::Imported);
                record.expiration_model = Some(model);
                record.valid_to_ms = valid_to;
                if let Some(d) = &r.key_material_description {
                    record.description = Some(d.clone());
                }
                // The key becomes usable once every permanently associated material is back.
                let complete = associated(mats).all(|m| m.material_id == record.material_id || m.sealed.is_some());
                if k.state == KeyState::PendingImport && complete && !record.is_pending_rotation() {
                    k.state = KeyState::Enabled;
                }
                Ok(vec![record].into())
            })
            .await?;
        tracing::info!(key = %arn, material = %material_id, "imported key material");
        Ok(ImportKeyMaterialResponse {
            key_id: Some(k.key.arn()),
            key_material_id: if k.key_spec == KeySpec::SymmetricDefault {
                Some(material_id)
            } else {
                None
            },
        })
    }

    /// Material must fit the key spec: 256 bits for symmetric keys, the lengths AWS accepts
    /// for HMAC keys, a PKCS#8 private key of exactly the spec for asymmetric keys.
    fn check_material_shape(&self, rec: &KeyRecord, material: &Secret) -> Result<()> {
        let spec = rec.key_spec;
        if spec == KeySpec::SymmetricDefault {
            if material.len() != 32 {
                return Err(incorrect_material(&format!(
                    "SYMMETRIC_DEFAULT keys take 256-bit key material (32 bytes), not {} bytes.",
                    material.len()
                )));
            }
            return Ok(());
        }
        if let Some(lengths) = trent_crypto::mac::import_lengths(spec) {
            if !lengths.contains(&material.len()) {
                return Err(incorrect_material(&format!(
                    "{spec} keys take {} to {} bytes of key material, not {}.",
                    lengths.start(),
                    lengths.end(),
                    material.len()
                )));
            }
            return Ok(());
        }
        trent_crypto::asymmetric::public_key(spec, material).map(drop).map_err(|_| {
            incorrect_material(&format!(
                "The key material is not an unencrypted PKCS#8 private key for key spec {spec}."
            ))
        })
    }

    async fn delete_imported_key_material(
        &self,
        rec: &KeyRecord,
        wanted: Option<String>,
    ) -> Result<DeleteImportedKeyMaterialResponse> {
        let arn = rec.key.arn();
        if rec.origin != OriginType::External {
            return Err(origin_not_valid(&arn, rec.origin));
        }
        let mut deleted = String::new();
        let (k, _) = self
            .modify_shared(&rec.key, |k, mats| {
                match k.state {
                    KeyState::Creating | KeyState::Updating => {
                        return Err(KmsError::new(
                            ErrorCode::KMSInvalidStateException,
                            format!(
                                "{arn} is {}.",
                                if k.state == KeyState::Creating { "creating" } else { "updating" }
                            ),
                        ))
                    }
                    _ => {}
                }
                let target = match &wanted {
                    Some(id) => {
                        Some(mats.iter().find(|m| &m.material_id == id).ok_or_else(|| {
                            KmsError::new(
                                ErrorCode::NotFoundException,
                                format!("Key material {id} does not exist for the key: {arn}."),
                            )
                        })?)
                    }
                    None => {
                        mats.iter().find(|m| Some(&m.material_id) == k.current_material_id.as_ref())
                    }
                };
                let Some(target) = target else {
                    return Ok(Changes::none());
                };
                deleted = target.material_id.clone();
                if target.is_pending_rotation() {
                    // Not permanently associated: it goes away entirely.
                    return Ok(Changes {
                        remove: vec![target.material_id.clone()],
                        ..Changes::none()
                    });
                }
                let mut m = target.clone();
                m.sealed = None;
                m.import_state = Some(ImportState::PendingImport);
                if matches!(k.state, KeyState::Enabled | KeyState::Disabled) {
                    k.state = KeyState::PendingImport;
                }
                Ok(vec![m].into())
            })
            .await?;
        self.held.evict_materials(&k.key);
        tracing::info!(key = %arn, material = %deleted, "deleted imported key material");
        Ok(DeleteImportedKeyMaterialResponse { key_id: Some(arn), key_material_id: Some(deleted) })
    }

    /// Persists the deletion of imported material whose `ValidTo` has passed: every write of
    /// a key does (`modify_key`), so this is a write that changes nothing else.
    /// A multi-Region key's expiry is its own, but expired staged material of a primary
    /// leaves its replicas with it (`modify_shared`).
    pub(crate) async fn expire_material(&self, key: &KeyRef) -> Result<()> {
        self.modify_shared(key, |_, _| Ok(Changes::none())).await.map(drop)
    }
}
