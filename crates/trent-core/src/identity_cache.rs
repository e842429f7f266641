//! The parsed identity policies of each principal, cached so that a call by an IAM user reads
//! nothing from the store (the hot path of issue 17). Never older than acknowledged: every
//! write of an identity policy (`Admin::put_user_policy`, `delete_user_policy`) bumps a
//! generation and drops the principal's entry after the store has it, and a load that read the
//! store before a write's bump is not cached. With several nodes, another node's write is seen
//! within the key cache's time-to-live (entries expire as cached keys do).

use crate::authz::PolicyDocument;
use crate::cache::BoundedCache;
use crate::{Caller, Kms, Result};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub(crate) type Policies = Arc<Vec<PolicyDocument>>;

pub(crate) struct IdentityCache {
    entries: BoundedCache<String, Policies>,
    generation: AtomicU64,
}

impl IdentityCache {
    pub(crate) fn new(capacity: usize, ttl: Option<std::time::Duration>) -> Self {
        IdentityCache { entries: BoundedCache::new(capacity, ttl), generation: AtomicU64::new(0) }
    }

    pub(crate) fn counts(&self) -> crate::cache::CacheCounts {
        self.entries.counts()
    }
}

impl Kms {
    /// The caller's identity policies, parsed (the account root has none: it is allowed by
    /// the key policy's delegation, never by an identity policy).
    pub(crate) async fn identity_policies(&self, caller: &Caller) -> Result<Policies> {
        if caller.principal_arn.ends_with(":root") {
            return Ok(Policies::default());
        }
        let principal = &caller.principal_arn;
        if let Some(p) = self.identities.entries.get(principal) {
            return Ok(p);
        }
        let generation = self.identities.generation.load(Ordering::SeqCst);
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
        // A write that began after this load read the store would have moved the generation.
        if self.identities.generation.load(Ordering::SeqCst) == generation {
            self.identities.entries.insert(principal.clone(), docs.clone());
        }
        Ok(docs)
    }

    /// After an identity policy of `principal` changed in the store.
    pub(crate) fn forget_identity_policies(&self, principal: &str) {
        self.identities.generation.fetch_add(1, Ordering::SeqCst);
        self.identities.entries.remove(&principal.to_string());
    }
}
