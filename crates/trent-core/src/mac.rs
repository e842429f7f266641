//! HMAC operations: GenerateMac and VerifyMac.

use crate::asymmetric::{incompatible, Usable};
use crate::authorize::Authz;
use crate::{Caller, Kms, KmsError, Result};
use trent_crypto::mac;
use trent_types::*;

impl Kms {
    /// Resolves an HMAC key for `action` with `alg`, which must be the spec's algorithm.
    async fn mac_key(
        &self,
        caller: &Caller,
        key_id: Option<String>,
        action: &str,
        alg: Option<MacAlgorithmSpec>,
        dry_run: Option<bool>,
    ) -> Result<(MacAlgorithmSpec, Usable)> {
        let alg = alg.ok_or_else(|| KmsError::Validation("MacAlgorithm is required.".into()))?;
        let authz = Authz::from(action).with("kms:MacAlgorithm", alg);
        let u = self
            .usable_key(
                caller,
                &key_id.unwrap_or_default(),
                authz,
                KeyUsageType::GenerateVerifyMac,
                dry_run,
            )
            .await?;
        if mac::algorithm_of(u.rec.key_spec) != Some(alg) {
            // Recorded: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
            return Err(incompatible(alg, u.rec.key_spec));
        }
        Ok((alg, u))
    }

    pub async fn generate_mac(
        &self,
        caller: &Caller,
        r: GenerateMacRequest,
    ) -> Result<GenerateMacResponse> {
        let (alg, u) =
            self.mac_key(caller, r.key_id, "GenerateMac", r.mac_algorithm, r.dry_run).await?;
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
        let (alg, u) =
            self.mac_key(caller, r.key_id, "VerifyMac", r.mac_algorithm, r.dry_run).await?;
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
