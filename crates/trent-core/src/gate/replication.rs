//! What the multi-Region operations are authorized on: ReplicateKey on the primary key and
//! on creating a key in the replica Region; UpdatePrimaryRegion on the primary key and on the
//! replica that becomes primary. Both sides are checked here, before any handler runs
//! ("Required permissions" of the ReplicateKey and UpdatePrimaryRegion API pages).

use super::resolve::Accept;
use super::targets::{check, conditions_of};
use super::{Conditions, Target};
use crate::authz::ConditionKey as K;
use crate::{Caller, Kms, Result};
use std::sync::Arc;
use trent_store::{KeyRecord, KeyRef};
use trent_types::*;

/// The caller as it acts in `region` (its identity policies are the same; the Region is
/// what resources and condition keys are evaluated in).
fn in_region(caller: &Caller, region: &str) -> Caller {
    Caller { region: region.to_string(), ..caller.clone() }
}

/// ReplicateKey: `kms:ReplicateKey` on the primary key (its key policy, with
/// `kms:ReplicaRegion`), and `kms:CreateKey` — with `Tags`, `kms:TagResource` too — in an
/// IAM policy in the replica Region.
pub struct Replication {
    primary: KeyRecord,
}

impl Replication {
    pub fn primary(&self) -> &KeyRecord {
        &self.primary
    }
}

impl Target<ReplicateKeyRequest> for Replication {
    const RESOURCES: Resources = Resources::PrimaryAndReplicaRegion;

    async fn resolve(kms: &Kms, caller: &Caller, req: &ReplicateKeyRequest) -> Result<Self> {
        let spec = ReplicateKeyRequest::OPERATION.spec();
        let c = conditions_of(req);
        let primary =
            kms.resolve_key(caller, &req.key_id, Accept::KeyOnly, check(&spec, &c)).await?;
        let there = in_region(caller, &req.replica_region);
        let tags: Vec<(String, String)> =
            req.tags.iter().flatten().map(|t| (t.tag_key.clone(), t.tag_value.clone())).collect();
        let mut create = Conditions::default();
        create
            .set(K::KeyOrigin, primary.origin)
            .set(K::KeySpec, primary.key_spec)
            .set(K::KeyUsage, primary.key_usage)
            .set(K::MultiRegion, true)
            .request_tags(tags.iter().map(|(k, v)| (k, v)));
        kms.authorize_identity(&there, "CreateKey", "*", &create).await?;
        if !tags.is_empty() {
            kms.authorize_identity(&there, "TagResource", "*", &create).await?;
        }
        Ok(Replication { primary: Arc::unwrap_or_clone(primary) })
    }
}

/// UpdatePrimaryRegion: `kms:UpdatePrimaryRegion` on the current primary key and on its
/// replica in `PrimaryRegion` (each key's own policy, with `kms:PrimaryRegion`).
pub struct PrimaryChange {
    primary: KeyRecord,
    /// `None` when `PrimaryRegion` is the primary's own Region.
    replica: Option<KeyRecord>,
}

impl PrimaryChange {
    pub fn primary(&self) -> &KeyRecord {
        &self.primary
    }

    pub fn replica(&self) -> Option<&KeyRecord> {
        self.replica.as_ref()
    }
}

impl Target<UpdatePrimaryRegionRequest> for PrimaryChange {
    const RESOURCES: Resources = Resources::PrimaryAndReplica;

    async fn resolve(kms: &Kms, caller: &Caller, req: &UpdatePrimaryRegionRequest) -> Result<Self> {
        let spec = UpdatePrimaryRegionRequest::OPERATION.spec();
        let c = conditions_of(req);
        let primary =
            kms.resolve_key(caller, &req.key_id, Accept::KeyOnly, check(&spec, &c)).await?;
        if req.primary_region == primary.key.region {
            return Ok(PrimaryChange { primary: Arc::unwrap_or_clone(primary), replica: None });
        }
        let other = KeyRef { region: req.primary_region.clone(), ..primary.key.clone() };
        let replica = kms.load_key(&other).await?;
        let there = in_region(caller, &req.primary_region);
        kms.authorize_key(&there, &replica, &check(&spec, &c)).await?;
        let (primary, replica) = (Arc::unwrap_or_clone(primary), Arc::unwrap_or_clone(replica));
        Ok(PrimaryChange { primary, replica: Some(replica) })
    }
}
