//! Authentication: from an access key id to the identity and SigV4 signing key the HTTP layer
//! verifies a request with, through a short-lived cache.

use crate::{Kms, Result};
use std::sync::Arc;

/// The context under which an access key's secret is sealed in the store.
pub(crate) fn secret_context(access_key_id: &str) -> String {
    format!("access-key/{access_key_id}")
}

/// Who an access key authenticates, and its derived signing key.
pub struct SigningIdentity {
    pub account: String,
    /// The principal, as stored: its partition is the Region's.
    pub principal_arn: String,
    pub key: trent_sigv4::SigningKey,
    /// The account's request-quota buckets in this Region (so a call needs no lookup).
    pub quota: crate::quotas::TenantHandle,
}

/// Signing keys cached per (access key id, date, Region, service): the service is part of
/// the derivation (`kms`, `cloudtrail`).
/// Keyed by `<access key id>/<date>/<region>/<service>`, the credential's scope: none of
/// its parts can hold a `/` (the `Credential` is split on it), and one string is one
/// allocation per lookup where a tuple of four was four.
pub(crate) type SigningKeyCache = crate::cache::BoundedCache<String, Arc<SigningIdentity>>;

/// How many signing keys are cached, and for how long one is trusted before the store is
/// asked again: a key deleted on another node stops working within this time.
const SIGNING_KEY_CACHE: usize = 4096;
const SIGNING_KEY_TTL: std::time::Duration = std::time::Duration::from_secs(5);

pub(crate) fn signing_key_cache() -> SigningKeyCache {
    SigningKeyCache::new(SIGNING_KEY_CACHE, Some(SIGNING_KEY_TTL))
}

/// The authentication of one [`Kms`]: the parts it reads, and nothing else of the service.
pub struct Authentication<'k> {
    signing_keys: &'k SigningKeyCache,
    store: &'k dyn trent_store::IdentityStore,
    keyring: &'k trent_crypto::Keyring,
    quotas: &'k crate::quotas::Quotas,
}

impl Kms {
    pub fn authentication(&self) -> Authentication<'_> {
        Authentication {
            signing_keys: &self.access.signing_keys,
            store: &*self.store,
            keyring: &self.held.keyring,
            quotas: &self.access.quotas,
        }
    }
}

impl Authentication<'_> {
    /// The identity and SigV4 signing key of an access key for one date, Region and service,
    /// from a cache that trusts an entry for a few seconds (another node may delete the key;
    /// this server forgets it at once when its own admin deletes it).
    pub async fn signing_identity(
        &self,
        access_key_id: &str,
        date: &str,
        region: &str,
        service: &str,
    ) -> Result<Option<Arc<SigningIdentity>>> {
        let cache = self.signing_keys;
        let parts = [access_key_id, "/", date, "/", region, "/", service];
        let ck = parts.concat();
        if let Some(k) = cache.get(&ck) {
            return Ok(Some(k));
        }
        let Some(k) = self.store.get_access_key(access_key_id).await? else {
            return Ok(None);
        };
        // An account lives in one partition, as in AWS: its credentials are unknown in the
        // Regions of every other (so a caller cannot step out of its identity policies, which
        // are stored under its own ARN, by signing for another partition's Region).
        if trent_store::partition_of_arn(&k.principal_arn) != Some(crate::partition_of(region)) {
            return Ok(None);
        }
        let secret =
            self.keyring.open_secret(&secret_context(&k.access_key_id), &k.sealed_secret)?;
        let Ok(secret) = std::str::from_utf8(secret.as_bytes()) else { return Ok(None) };
        let quota = crate::quotas::TenantHandle(Some(self.quotas.tenant(&k.account_id, region)));
        let identity = Arc::new(SigningIdentity {
            quota,
            account: k.account_id,
            principal_arn: k.principal_arn,
            key: trent_sigv4::SigningKey::derive(secret, date, region, service),
        });
        cache.insert(ck, identity.clone());
        Ok(Some(identity))
    }

    /// Forgets the cached signing keys of an access key (deleted by this server's admin).
    pub(crate) fn forget_access_key(&self, access_key_id: &str) {
        self.signing_keys.retain(|scope| scope.split('/').next() != Some(access_key_id));
    }
}
