//! Key materials: generating, sealing and opening them, and a bounded cache of opened
//! materials.

use crate::cache::BoundedCache;
use crate::{Held, Kms, KmsError, Result};
use std::sync::Arc;
use trent_crypto::Secret;
use trent_store::{KeyRef, MaterialRecord};
use trent_types::KeyMaterialState;

/// Opened materials by key and material id. A material id is derived from the material
/// itself, so an entry can never hold other bytes than its id names; and it is used only for
/// a material the (fresh) key record says is present, so a deleted material is not served.
pub(crate) struct MaterialCache(BoundedCache<String, Arc<Secret>>);

/// The cache's key of a key's material: `<account>/<region>/<key id>/` and the material id,
/// one string (one allocation per lookup, where a `KeyRef` and an id were four). No part
/// holds a `/`: account ids are digits, Regions and key ids are validated names, material
/// ids hex.
fn slot(key: &KeyRef, id: &str) -> String {
    [key.account.as_str(), "/", &key.region, "/", &key.key_id, "/", id].concat()
}

/// What every slot of `key` begins with.
fn key_prefix(key: &KeyRef) -> String {
    slot(key, "")
}

impl MaterialCache {
    pub(crate) fn new(capacity: usize) -> Self {
        MaterialCache(BoundedCache::new(capacity, None))
    }

    fn get(&self, key: &KeyRef, id: &str) -> Option<Arc<Secret>> {
        self.0.get(&slot(key, id))
    }

    fn put(&self, key: &KeyRef, id: &str, m: Arc<Secret>) {
        self.0.insert(slot(key, id), m);
    }

    pub(crate) fn counts(&self) -> crate::cache::CacheCounts {
        self.0.counts()
    }

    pub(crate) fn evict_key(&self, key: &KeyRef) {
        let prefix = key_prefix(key);
        self.0.retain(|slot| !slot.starts_with(&prefix));
    }
}

impl Held {
    /// Forgets a key another node changed (its notification arrived after the change was
    /// committed). Under the key's lock, so that a load that read the store before the change
    /// cannot put the old copy back afterwards.
    pub(crate) async fn forget_key(&self, key: &KeyRef) {
        let _guard = self.keys.lock(key).await;
        self.keys.uncache_key(key);
        self.evict_materials(key);
    }

    /// Seals `material` for `key` as a record in `state`.
    pub(crate) fn seal_new_material(
        &self,
        key: &KeyRef,
        material: &Secret,
        state: KeyMaterialState,
        now: i64,
    ) -> Result<MaterialRecord> {
        let material_id = self.keyring.material_id(&key.key_id, material);
        let sealed = self.keyring.seal_material(&key.arn(), &material_id, material)?;
        Ok(MaterialRecord::new(key.clone(), material_id, Some(sealed), state, now))
    }

    /// A fresh 256-bit symmetric material for `key` (rotation of symmetric keys).
    pub(crate) fn new_symmetric_material(
        &self,
        key: &KeyRef,
        state: KeyMaterialState,
        now: i64,
    ) -> Result<MaterialRecord> {
        self.seal_new_material(key, &trent_crypto::random_secret(32)?, state, now)
    }

    /// Opens a material record (through the cache).
    pub(crate) fn open_material(&self, m: &MaterialRecord) -> Result<Arc<Secret>> {
        if let Some(s) = self.materials.get(&m.key, &m.material_id) {
            return Ok(s);
        }
        let sealed = m.sealed.as_deref().ok_or_else(|| KmsError::broken("material not present"))?;
        let opened = Arc::new(
            self.keyring
                .open_material(&m.key.arn(), &m.material_id, sealed)
                .map_err(|_| KmsError::Internal(crate::Fault::SealedMaterial(m.key.arn())))?,
        );
        self.materials.put(&m.key, &m.material_id, opened.clone());
        Ok(opened)
    }

    pub(crate) fn evict_materials(&self, key: &KeyRef) {
        self.materials.evict_key(key);
    }
}

impl Kms {
    /// Fresh material of any key spec: random bytes for symmetric and HMAC keys, at once; an
    /// asymmetric key pair as bounded heavy work (RSA takes long).
    pub(crate) async fn new_material(
        &self,
        key: &KeyRef,
        spec: trent_types::KeySpec,
        state: KeyMaterialState,
        now: i64,
    ) -> Result<MaterialRecord> {
        let material = if trent_crypto::asymmetric::is_supported(spec) {
            self.blocking(move || crate::keyspec::generate(spec)).await?
        } else {
            crate::keyspec::generate(spec)?
        };
        self.held.seal_new_material(key, &material, state, now)
    }
}
