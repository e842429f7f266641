//! HMAC operations: GenerateMac and VerifyMac.

use crate::asymmetric::incompatible;
use crate::authorize::Authz;
use crate::{Caller, Kms, KmsError, Result};
use trent_crypto::mac;
use trent_store::KeyRecord;
use trent_types::*;

fn check_algorithm(rec: &KeyRecord, alg: MacAlgorithmSpec) -> Result<()> {
    if mac::algorithm_of(rec.key_spec) != Some(alg) {
        // Recorded: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
        return Err(incompatible(alg, rec.key_spec));
    }
    Ok(())
}

impl Kms {
    pub async fn generate_mac(
        &self,
        caller: &Caller,
        r: GenerateMacRequest,
    ) -> Result<GenerateMacResponse> {
        let alg = r
            .mac_algorithm
            .ok_or_else(|| KmsError::Validation("MacAlgorithm is required.".into()))?;
        let u = self
            .usable_key(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("GenerateMac").with("kms:MacAlgorithm", alg),
                KeyUsageType::GenerateVerifyMac,
                r.dry_run,
            )
            .await?;
        check_algorithm(&u.rec, alg)?;
        let tag = mac::generate_mac(alg, &u.material, r.message.unwrap_or_default().as_bytes());
        Ok(GenerateMacResponse {
            mac: Some(Blob::new(tag)),
            mac_algorithm: Some(alg),
            key_id: Some(u.rec.key.arn()),
        })
    }

    pub async fn verify_mac(
        &self,
        caller: &Caller,
        r: VerifyMacRequest,
    ) -> Result<VerifyMacResponse> {
        let alg = r
            .mac_algorithm
            .ok_or_else(|| KmsError::Validation("MacAlgorithm is required.".into()))?;
        let u = self
            .usable_key(
                caller,
                &r.key_id.unwrap_or_default(),
                Authz::from("VerifyMac").with("kms:MacAlgorithm", alg),
                KeyUsageType::GenerateVerifyMac,
                r.dry_run,
            )
            .await?;
        check_algorithm(&u.rec, alg)?;
        let message = r.message.unwrap_or_default();
        if !mac::verify_mac(
            alg,
            &u.material,
            message.as_bytes(),
            r.mac.unwrap_or_default().as_bytes(),
        ) {
            return Err(KmsError::InvalidMac);
        }
        Ok(VerifyMacResponse {
            key_id: Some(u.rec.key.arn()),
            mac_valid: Some(true),
            mac_algorithm: Some(alg),
        })
    }
}
