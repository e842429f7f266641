//! Tags: TagResource, UntagResource, ListResourceTags, and the tag rules CreateKey shares.

use crate::authorize::Authz;
use crate::keys::{page_limit, Changes};
use crate::resolve::Accept;
use crate::state::{check, Family};
use crate::{Caller, Kms, KmsError, Result};
use std::collections::{BTreeMap, HashSet};
use trent_types::*;

const MAX_TAGS: usize = 50;

/// Applies `new` on top of `existing` with AWS's rules (recorded messages, §6.3).
pub(crate) fn validate_new_tags(
    new: &[Tag],
    existing: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut seen = HashSet::new();
    let mut out = existing.clone();
    for t in new {
        let k = t.tag_key.clone().unwrap_or_default();
        if k.starts_with("aws:") {
            return Err(KmsError::Tag("Tags beginning with aws: are reserved".into()));
        }
        if !seen.insert(k.clone()) {
            return Err(KmsError::Tag("Duplicate tag keys".into()));
        }
        out.insert(k, t.tag_value.clone().unwrap_or_default());
    }
    if out.len() > MAX_TAGS {
        return Err(KmsError::Tag("Too many tags".into()));
    }
    Ok(out)
}

impl Kms {
    pub async fn tag_resource(&self, caller: &Caller, r: TagResourceRequest) -> Result<()> {
        let tags = r.tags.unwrap_or_default();
        let pairs: Vec<(String, String)> = tags
            .iter()
            .map(|t| {
                (t.tag_key.clone().unwrap_or_default(), t.tag_value.clone().unwrap_or_default())
            })
            .collect();
        let authz = Authz::from("TagResource").with_tags(pairs.iter().map(|(k, v)| (k, v)));
        let rec =
            self.resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, authz).await?;
        self.modify_key(&rec.key, |k, _| {
            check(Family::Metadata, k)?;
            k.tags = validate_new_tags(&tags, &k.tags)?;
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }

    pub async fn untag_resource(&self, caller: &Caller, r: UntagResourceRequest) -> Result<()> {
        let keys = r.tag_keys.unwrap_or_default();
        let authz = Authz::from("UntagResource").with_many("aws:TagKeys", keys.clone());
        let rec =
            self.resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, authz).await?;
        self.modify_key(&rec.key, |k, _| {
            check(Family::Metadata, k)?;
            for t in &keys {
                k.tags.remove(t);
            }
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }

    pub async fn list_resource_tags(
        &self,
        caller: &Caller,
        r: ListResourceTagsRequest,
    ) -> Result<ListResourceTagsResponse> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "ListResourceTags")
            .await?;
        let limit = page_limit(r.limit);
        let after = r.marker.unwrap_or_default();
        let mut tags: Vec<Tag> = rec
            .tags
            .iter()
            .filter(|(k, _)| after.is_empty() || k.as_str() > after.as_str())
            .take(limit + 1)
            .map(|(k, v)| Tag { tag_key: Some(k.clone()), tag_value: Some(v.clone()) })
            .collect();
        let truncated = tags.len() > limit;
        tags.truncate(limit);
        Ok(ListResourceTagsResponse {
            next_marker: if truncated { tags.last().and_then(|t| t.tag_key.clone()) } else { None },
            tags: Some(tags),
            truncated: Some(truncated),
        })
    }
}
