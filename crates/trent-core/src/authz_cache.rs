//! What authorization reads besides the key, cached so that a call reads nothing from the
//! store (the hot path of issue 17): the parsed identity policies of each principal, and the
//! grants of each key. Never older than acknowledged (`cache::Generational`): every write of
//! an identity policy (`Admin::put_user_policy`, `delete_user_policy`) or of a grant
//! (CreateGrant, RetireGrant, RevokeGrant, a key's deletion) goes through `Kms` methods here
//! that forget the entry after the store has the change. With several nodes, another node's
//! write is seen within the key cache's time-to-live (entries expire as cached keys do), well
//! within the five minutes AWS documents for a grant's eventual consistency. The cache is a
//! part of `Kms` (`Access`) with its own store handle: these are its methods, not `Kms`'s.

use crate::authz::PolicyDocument;
use crate::cache::Generational;
use crate::quotas::{ResourceQuota, ResourceQuotas};
use crate::{Caller, Result};
use std::sync::Arc;
use trent_store::{GrantRecord, KeyRef, Store, StoreError};

pub(crate) type Policies = Arc<Vec<PolicyDocument>>;
pub(crate) type Grants = Arc<Vec<GrantRecord>>;

pub(crate) struct AuthzCache {
    store: Arc<dyn Store>,
    identities: Generational<String, Policies>,
    grants: Generational<KeyRef, Grants>,
}

impl AuthzCache {
    pub(crate) fn new(
        store: Arc<dyn Store>,
        capacity: usize,
        ttl: Option<std::time::Duration>,
    ) -> Self {
        AuthzCache {
            store,
            identities: Generational::new(capacity, ttl),
            grants: Generational::new(capacity, ttl),
        }
    }

    /// The hit and miss counts of the identity-policy and grant caches (`stats`).
    pub(crate) fn counts(&self) -> (crate::cache::CacheCounts, crate::cache::CacheCounts) {
        (self.identities.counts(), self.grants.counts())
    }

    /// The caller's identity policies, parsed (the account root has none: it is allowed by
    /// the key policy's delegation, never by an identity policy).
    pub(crate) async fn identity_policies(&self, caller: &Caller) -> Result<Policies> {
        if caller.principal_arn.ends_with(":root") {
            return Ok(Policies::default());
        }
        let principal = &caller.principal_arn;
        let start = match self.identities.get(principal) {
            Ok(p) => return Ok(p),
            Err(start) => start,
        };
        let mut docs = Vec::new();
        for (name, text) in self.store.list_identity_policies(principal).await? {
            match PolicyDocument::parse(&text) {
                Ok(d) => docs.push(d),
                Err(e) => {
                    tracing::warn!(principal = %principal, policy = %name, error = %e.0, "ignoring a malformed identity policy")
                }
            }
        }
        let docs = Arc::new(docs);
        self.identities.loaded(start, principal.clone(), docs.clone());
        Ok(docs)
    }

    /// After an identity policy of `principal` changed in the store.
    pub(crate) fn forget_identity_policies(&self, principal: &str) {
        self.identities.forget(&principal.to_string());
    }

    /// The grants of a key, as authorization reads them on every call a policy alone does
    /// not allow.
    pub(crate) async fn grants_of(&self, key: &KeyRef) -> Result<Grants> {
        let start = match self.grants.get(key) {
            Ok(g) => return Ok(g),
            Err(start) => start,
        };
        let grants = Arc::new(self.store.list_grants(key).await?);
        self.grants.loaded(start, key.clone(), grants.clone());
        Ok(grants)
    }

    /// Stores a new grant, within the key's grant quota. Every grant write goes through here
    /// or `delete_grant`.
    pub(crate) async fn put_grant(
        &self,
        grant: &GrantRecord,
        quotas: &ResourceQuotas,
    ) -> Result<()> {
        let held = self.grants_of(&grant.key).await?.len() as u64;
        quotas.check(ResourceQuota::GrantsPerKey, held + 1)?;
        let written = self.store.put_grant(grant).await;
        self.grants.forget(&grant.key);
        Ok(written?)
    }

    /// Deletes a grant (retired or revoked); the store's `NotFound` is the caller's to word.
    pub(crate) async fn delete_grant(
        &self,
        key: &KeyRef,
        grant_id: &str,
    ) -> std::result::Result<(), StoreError> {
        let deleted = self.store.delete_grant(key, grant_id).await;
        self.grants.forget(key);
        deleted
    }

    /// After a key (and with it its grants) left the store.
    pub(crate) fn forget_grants(&self, key: &KeyRef) {
        self.grants.forget(key);
    }
}
