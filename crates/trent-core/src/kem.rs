//! ML-KEM operations: Encapsulate and Decapsulate (FIPS 203), for keys with KeyUsage
//! ENCAPSULATE_DECAPSULATE.

use crate::asymmetric::{asym_error, Usable};
use crate::{Caller, Kms, KmsError, Result};
use trent_crypto::asymmetric::{mlkem, AsymError};
use trent_types::*;

impl Kms {
    async fn kem_key(
        &self,
        caller: &Caller,
        key_id: Option<String>,
        action: &str,
        alg: Option<EncapsulationAlgorithmSpec>,
        dry_run: Option<bool>,
    ) -> Result<(EncapsulationAlgorithmSpec, Usable)> {
        let alg =
            alg.ok_or_else(|| KmsError::Validation("EncapsulationAlgorithm is required.".into()))?;
        let u = self
            .usable_key(
                caller,
                &key_id.unwrap_or_default(),
                action,
                KeyUsageType::EncapsulateDecapsulate,
                dry_run,
            )
            .await?;
        Ok((alg, u))
    }

    pub async fn encapsulate(
        &self,
        caller: &Caller,
        r: EncapsulateRequest,
    ) -> Result<EncapsulateResponse> {
        let (alg, u) = self
            .kem_key(caller, r.key_id, "Encapsulate", r.encapsulation_algorithm, r.dry_run)
            .await?;
        let spec = u.rec.key_spec;
        let public = mlkem::public_key(spec, &u.material).map_err(|e| asym_error(e, alg))?;
        let (ciphertext, secret) =
            mlkem::encapsulate(spec, &public).map_err(|e| asym_error(e, alg))?;
        Ok(EncapsulateResponse {
            key_id: Some(u.rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            shared_secret_ciphertext_blob: Some(Blob::new(ciphertext)),
            encapsulation_algorithm: Some(alg),
        })
    }

    pub async fn decapsulate(
        &self,
        caller: &Caller,
        r: DecapsulateRequest,
    ) -> Result<DecapsulateResponse> {
        let (alg, u) = self
            .kem_key(caller, r.key_id, "Decapsulate", r.encapsulation_algorithm, r.dry_run)
            .await?;
        let ciphertext = r.shared_secret_ciphertext_blob.unwrap_or_default();
        // Decapsulate API: InvalidCiphertextException only when the length does not fit the
        // spec; any other ciphertext yields a pseudo-random secret (implicit rejection).
        let secret = mlkem::decapsulate(u.rec.key_spec, &u.material, ciphertext.as_bytes())
            .map_err(|e| match e {
                AsymError::Failed => KmsError::InvalidCiphertext,
                other => asym_error(other, alg),
            })?;
        Ok(DecapsulateResponse {
            key_id: Some(u.rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            encapsulation_algorithm: Some(alg),
        })
    }
}
