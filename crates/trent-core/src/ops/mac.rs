//! HMAC operations: GenerateMac and VerifyMac.

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::ops::usable::{incompatible, Usable};
use crate::{Authorized, Call, Conditions, Kms, KmsError, Result};
use trent_crypto::mac;
use trent_store::KeyRecord;
use trent_types::*;

impl Kms {
    /// The material of an authorized HMAC key for `action` with `alg`, which must be the
    /// spec's algorithm.
    async fn mac_key(
        &self,
        rec: &KeyRecord,
        action: &str,
        alg: MacAlgorithmSpec,
        dry_run: Option<bool>,
    ) -> Result<(MacAlgorithmSpec, Usable)> {
        let u = self.usable_for(rec, KeyUsageType::GenerateVerifyMac, action, dry_run).await?;
        if mac::algorithm_of(rec.key_spec) != Some(alg) {
            // Recorded: "Algorithm HMAC_SHA_512 is incompatible with key spec HMAC_256."
            return Err(incompatible(alg, rec.key_spec));
        }
        Ok((alg, u))
    }
}

impl Call for GenerateMacRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::MacAlgorithm, self.mac_algorithm);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<GenerateMacResponse> {
        let rec = auth.target().key();
        let (alg, u) =
            kms.mac_key(rec, Self::OPERATION.name(), self.mac_algorithm, self.dry_run).await?;
        let tag = mac::generate_mac(alg, &u.material, self.message.as_bytes());
        Ok(GenerateMacResponse {
            mac: Some(Blob::new(tag)),
            mac_algorithm: Some(alg),
            key_id: Some(rec.key.arn()),
        })
    }
}

impl Call for VerifyMacRequest {
    type Target = KeyTarget<true>;

    fn conditions(&self, c: &mut Conditions) {
        c.set(K::MacAlgorithm, self.mac_algorithm);
    }

    async fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, KeyTarget<true>>,
    ) -> Result<VerifyMacResponse> {
        let rec = auth.target().key();
        let (alg, u) =
            kms.mac_key(rec, Self::OPERATION.name(), self.mac_algorithm, self.dry_run).await?;
        let message = self.message;
        let tag = self.mac;
        if !mac::verify_mac(alg, &u.material, message.as_bytes(), tag.as_bytes()) {
            return Err(KmsError::invalid_mac());
        }
        Ok(VerifyMacResponse {
            key_id: Some(rec.key.arn()),
            mac_valid: Some(true),
            mac_algorithm: Some(alg),
        })
    }
}
