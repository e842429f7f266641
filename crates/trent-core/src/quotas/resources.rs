//! Resource quotas: how many keys and custom key stores an account may have in a Region,
//! aliases and grants per key, tags per key, and the key policy's size — AWS's defaults from "Resource quotas" in
//! the AWS KMS developer guide
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/resource-limits.html>), each
//! configurable. Past one, the call that would exceed it gets `LimitExceededException` (tags:
//! `TagException`, as AWS answers) and nothing changes. The checks count what the store holds
//! before the write, so two calls racing for the last place may both take it (AWS's quotas
//! are not transactional either).

use crate::{KmsError, Result};
use trent_types::ErrorCode;

/// One resource quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceQuota {
    /// Keys per account and Region (every state; "Customer managed keys: 100,000").
    KeysPerRegion,
    /// Aliases per key ("Aliases per KMS key: 50").
    AliasesPerKey,
    /// Grants per key ("Grants per KMS key: 50,000").
    GrantsPerKey,
    /// Tags per key (TagResource: "up to 50 tags").
    TagsPerKey,
    /// A key policy's size in bytes ("Key policy document size: 32 KB").
    KeyPolicyBytes,
    /// Custom key stores per account and Region ("Custom key stores: 10").
    CustomKeyStoresPerRegion,
}

impl ResourceQuota {
    pub const ALL: [ResourceQuota; 6] = [
        ResourceQuota::KeysPerRegion,
        ResourceQuota::AliasesPerKey,
        ResourceQuota::GrantsPerKey,
        ResourceQuota::TagsPerKey,
        ResourceQuota::KeyPolicyBytes,
        ResourceQuota::CustomKeyStoresPerRegion,
    ];

    /// The name a configuration file or flag uses.
    pub fn name(self) -> &'static str {
        match self {
            ResourceQuota::KeysPerRegion => "keys-per-region",
            ResourceQuota::AliasesPerKey => "aliases-per-key",
            ResourceQuota::GrantsPerKey => "grants-per-key",
            ResourceQuota::TagsPerKey => "tags-per-key",
            ResourceQuota::KeyPolicyBytes => "key-policy-bytes",
            ResourceQuota::CustomKeyStoresPerRegion => "custom-key-stores-per-region",
        }
    }

    pub fn parse(name: &str) -> Option<ResourceQuota> {
        Self::ALL.into_iter().find(|q| q.name() == name)
    }

    /// AWS's default.
    pub fn aws_default(self) -> u64 {
        match self {
            ResourceQuota::KeysPerRegion => 100_000,
            ResourceQuota::AliasesPerKey => 50,
            ResourceQuota::GrantsPerKey => 50_000,
            ResourceQuota::TagsPerKey => 50,
            ResourceQuota::KeyPolicyBytes => 32 * 1024,
            ResourceQuota::CustomKeyStoresPerRegion => 10,
        }
    }

    /// The refusal of a call that would take `wanted` where `limit` are allowed.
    fn refusal(self, wanted: u64, limit: u64) -> KmsError {
        let (code, message) = match self {
            ResourceQuota::KeysPerRegion => (
                ErrorCode::LimitExceededException,
                format!("This account has reached its quota of {limit} KMS keys in this Region."),
            ),
            ResourceQuota::AliasesPerKey => (
                ErrorCode::LimitExceededException,
                format!("The KMS key has reached its quota of {limit} aliases."),
            ),
            ResourceQuota::GrantsPerKey => (
                ErrorCode::LimitExceededException,
                format!("The KMS key has reached its quota of {limit} grants."),
            ),
            ResourceQuota::TagsPerKey => (ErrorCode::TagException, "Too many tags".to_string()),
            ResourceQuota::CustomKeyStoresPerRegion => (
                ErrorCode::LimitExceededException,
                format!(
                    "This account has reached its quota of {limit} custom key stores in this Region."
                ),
            ),
            ResourceQuota::KeyPolicyBytes => (
                ErrorCode::LimitExceededException,
                format!(
                    "The key policy is {wanted} bytes; the key policy document quota is {limit} bytes."
                ),
            ),
        };
        KmsError::new(code, message)
    }
}

/// The resource quotas in force.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceQuotas {
    limits: [u64; ResourceQuota::ALL.len()],
}

impl Default for ResourceQuotas {
    fn default() -> Self {
        ResourceQuotas { limits: ResourceQuota::ALL.map(ResourceQuota::aws_default) }
    }
}

impl ResourceQuotas {
    pub fn limit(&self, q: ResourceQuota) -> u64 {
        self.limits[q as usize]
    }

    pub fn set(&mut self, q: ResourceQuota, limit: u64) {
        self.limits[q as usize] = limit;
    }

    /// Refuses a call after which `wanted` of `q` would be held (or, for a size, measured).
    pub fn check(&self, q: ResourceQuota, wanted: u64) -> Result<()> {
        let limit = self.limit(q);
        if wanted > limit {
            Err(q.refusal(wanted, limit))
        } else {
            Ok(())
        }
    }
}

impl crate::Kms {
    /// Refuses a new key in a Region where the account holds its quota of keys already.
    pub(crate) async fn check_key_quota(&self, account: &str, region: &str) -> Result<()> {
        let held = self.store().count_keys(account, region).await?;
        self.config.resource_quotas.check(ResourceQuota::KeysPerRegion, held + 1)
    }

    /// Refuses one more alias for a key that has its quota of aliases already.
    pub(crate) async fn check_alias_quota(&self, key: &trent_store::KeyRef) -> Result<()> {
        let limit = self.config.resource_quotas.limit(ResourceQuota::AliasesPerKey);
        let page = (limit as usize).saturating_add(1);
        let held = self
            .store()
            .list_aliases(&key.account, &key.region, Some(&key.key_id), None, page)
            .await?
            .len() as u64;
        self.config.resource_quotas.check(ResourceQuota::AliasesPerKey, held + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_quota_admits_its_limit_and_refuses_one_more() {
        let mut quotas = ResourceQuotas::default();
        for q in ResourceQuota::ALL {
            assert_eq!(ResourceQuota::parse(q.name()), Some(q));
            let limit = quotas.limit(q);
            assert_eq!(limit, q.aws_default());
            quotas.check(q, limit).unwrap();
            let e = quotas.check(q, limit + 1).unwrap_err();
            let code = e.code();
            assert!(
                code == ErrorCode::LimitExceededException || code == ErrorCode::TagException,
                "{q:?}: {code:?}"
            );
            quotas.set(q, 3);
            assert!(quotas.check(q, 4).is_err() && quotas.check(q, 3).is_ok());
        }
    }
}
