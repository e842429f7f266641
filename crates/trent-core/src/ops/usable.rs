//! The one path every cryptographic operation takes to its key's material, in the order AWS
//! evaluates it: the key's usage (and, for symmetric encryption, its spec), then the key-state
//! table, then DryRun, then the current material (absent: pending import). Also the errors
//! the families share for a key that does not fit.

use crate::state::{check, Family};
use crate::{Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::asymmetric::AsymError;
use trent_crypto::Secret;
use trent_store::KeyRecord;
use trent_types::*;

/// The current material of a key checked for usage and state, opened.
pub(crate) struct Usable {
    pub material_id: String,
    pub material: Arc<Secret>,
}

pub(crate) fn usage_error(rec: &KeyRecord, action: &str) -> KmsError {
    KmsError::new(
        ErrorCode::InvalidKeyUsageException,
        format!(
            "{} key usage is {} which is not valid for {action}.",
            rec.key.arn(),
            rec.key_usage
        ),
    )
}

pub(crate) fn incompatible(alg: impl std::fmt::Display, spec: KeySpec) -> KmsError {
    KmsError::new(
        ErrorCode::InvalidKeyUsageException,
        format!("Algorithm {alg} is incompatible with key spec {spec}."),
    )
}

pub(crate) fn asym_error(e: AsymError, alg: impl std::fmt::Display) -> KmsError {
    match e {
        AsymError::DigestLength => KmsError::new(
            ErrorCode::ValidationException,
            format!("Digest is invalid length for algorithm {alg}."),
        ),
        AsymError::Unsupported(what) => KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{what} is not supported by this server yet."),
        ),
        AsymError::BadKey => KmsError::broken("stored key material does not parse"),
        AsymError::Failed => KmsError::invalid_ciphertext(),
    }
}

impl Kms {
    /// Checks that `rec` has `usage` for `action`, then its state, DryRun, and loads its
    /// current material.
    pub(crate) async fn usable_for(
        &self,
        rec: &KeyRecord,
        usage: KeyUsageType,
        action: &str,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        if rec.key_usage != usage {
            return Err(usage_error(rec, action));
        }
        self.usable_checked(rec, dry_run).await
    }

    /// State check, DryRun, and the current material of an authorized key.
    pub(crate) async fn usable_checked(
        &self,
        rec: &KeyRecord,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        check(Family::Crypto, rec)?;
        if dry_run == Some(true) {
            return Err(KmsError::dry_run());
        }
        let mats = self.held.keys.materials_of(&rec.key).await?;
        let current = mats
            .iter()
            .find(|m| {
                Some(&m.material_id) == rec.current_material_id.as_ref() && m.sealed.is_some()
            })
            .ok_or_else(|| crate::state::pending_import(&rec.key.arn()))?;
        let material = self.held.open_material(current)?;
        // AWS names the material of symmetric keys only (KeyMaterialId, "Managing key
        // material" in the AWS KMS developer guide).
        if rec.key_spec == KeySpec::SymmetricDefault {
            crate::audit::note_material(&current.material_id);
        }
        Ok(Usable { material_id: current.material_id.clone(), material })
    }

    /// Checks that `rec` is a symmetric encryption key fit for `action`, and loads its
    /// current material.
    pub(crate) async fn usable_for_encrypt(
        &self,
        rec: &KeyRecord,
        action: &str,
        dry_run: Option<bool>,
    ) -> Result<Usable> {
        if rec.key_usage != KeyUsageType::EncryptDecrypt {
            return Err(usage_error(rec, action));
        }
        if rec.key_spec != KeySpec::SymmetricDefault {
            return Err(KmsError::new(
                ErrorCode::InvalidKeyUsageException,
                format!(
                    "{} key spec is {} which is not valid for {action}.",
                    rec.key.arn(),
                    rec.key_spec
                ),
            ));
        }
        self.usable_checked(rec, dry_run).await
    }
}
