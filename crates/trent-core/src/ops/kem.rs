//! ML-KEM operations: Encapsulate and Decapsulate (FIPS 203), for keys with KeyUsage
//! ENCAPSULATE_DECAPSULATE.

use crate::gate::KeyTarget;
use crate::ops::usable::{asym_error, Usable};
use crate::{Authorized, Call, Kms, KmsError, Result};
use trent_crypto::asymmetric::{mlkem, AsymError};
use trent_store::KeyRecord;
use trent_types::*;

impl Kms {
    async fn kem_key(
        &self,
        rec: &KeyRecord,
        action: &str,
        alg: EncapsulationAlgorithmSpec,
        dry_run: Option<bool>,
    ) -> Result<(EncapsulationAlgorithmSpec, Usable)> {
        let u = self.usable_for(rec, KeyUsageType::EncapsulateDecapsulate, action, dry_run).await?;
        Ok((alg, u))
    }
}

impl Call for EncapsulateRequest {
    type Target = KeyTarget<true>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<EncapsulateResponse> {
        let rec = auth.target().key();
        let (alg, u) = kms
            .kem_key(rec, Self::OPERATION.name(), self.encapsulation_algorithm, self.dry_run)
            .await?;
        let spec = rec.key_spec;
        let public = mlkem::public_key(spec, &u.material).map_err(|e| asym_error(e, alg))?;
        let (ciphertext, secret) =
            mlkem::encapsulate(spec, &public).map_err(|e| asym_error(e, alg))?;
        Ok(EncapsulateResponse {
            key_id: Some(rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            shared_secret_ciphertext_blob: Some(Blob::new(ciphertext)),
            encapsulation_algorithm: Some(alg),
        })
    }
}

impl Call for DecapsulateRequest {
    type Target = KeyTarget<true>;

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<DecapsulateResponse> {
        let rec = auth.target().key();
        let (alg, u) = kms
            .kem_key(rec, Self::OPERATION.name(), self.encapsulation_algorithm, self.dry_run)
            .await?;
        let ciphertext = self.shared_secret_ciphertext_blob;
        // Decapsulate API: InvalidCiphertextException only when the length does not fit the
        // spec; any other ciphertext yields a pseudo-random secret (implicit rejection).
        let secret =
            mlkem::decapsulate(rec.key_spec, &u.material, ciphertext.as_bytes()).map_err(|e| {
                match e {
                    AsymError::Failed => KmsError::invalid_ciphertext(),
                    other => asym_error(other, alg),
                }
            })?;
        Ok(DecapsulateResponse {
            key_id: Some(rec.key.arn()),
            shared_secret: Some(Blob::new(secret.into_vec())),
            encapsulation_algorithm: Some(alg),
        })
    }
}
