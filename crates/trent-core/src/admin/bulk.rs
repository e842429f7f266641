//! Bulk loading of symmetric keys straight into the store (`trent admin create-keys`): for
//! scale tests and migrations, many keys per transaction instead of one CreateKey each. An
//! administrator's tool, so no authorization; the keys are exactly what CreateKey makes
//! (default key policy, AES-256 material sealed under the keyring).

use super::Admin;
use crate::Result;
use trent_store::KeyRef;
use trent_types::{KeyMaterialState, KeySpec, KeyUsageType, OriginType};

/// Keys per transaction: large enough to amortize the commit, small enough to bound memory.
const BATCH: usize = 10_000;

impl Admin<'_> {
    /// Creates `count` symmetric encryption keys in `account`/`region`; calls `progress` with
    /// the number created so far after each transaction.
    pub async fn bulk_create_keys(
        &self,
        account: &str,
        region: &str,
        count: usize,
        mut progress: impl FnMut(usize),
    ) -> Result<()> {
        let mut done = 0;
        while done < count {
            let n = BATCH.min(count - done);
            let now = self.kms.now_ms();
            let mut batch = Vec::with_capacity(n);
            for _ in 0..n {
                let key = KeyRef {
                    account: account.to_string(),
                    region: region.to_string(),
                    key_id: trent_crypto::new_key_id()?,
                };
                let material =
                    self.kms.held.new_symmetric_material(&key, KeyMaterialState::Current, now)?;
                let policy = crate::new_key::default_policy(&key);
                let mut rec = trent_store::KeyRecord::new(
                    key,
                    now,
                    KeySpec::SymmetricDefault,
                    KeyUsageType::EncryptDecrypt,
                    OriginType::AwsKms,
                    policy,
                );
                rec.current_material_id = Some(material.material_id.clone());
                batch.push((rec, vec![material]));
            }
            self.kms.store.create_keys(batch).await?;
            done += n;
            progress(done);
        }
        Ok(())
    }
}
