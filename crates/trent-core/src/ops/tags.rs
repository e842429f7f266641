//! Tags: TagResource, UntagResource, ListResourceTags, and the tag rules CreateKey shares.

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::ops::paging::page_limit;
use crate::state::{check, Family};
use crate::writes::Changes;
use crate::{Authorized, Call, Conditions, Kms, Result};
use trent_types::*;

fn pairs(tags: &[Tag]) -> Vec<(String, String)> {
    tags.iter().map(|t| (t.tag_key.clone(), t.tag_value.clone())).collect()
}

impl Call for TagResourceRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        let pairs = pairs(&self.tags);
        c.request_tags(pairs.iter().map(|(k, v)| (k, v)));
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let tags = self.tags;
        kms.modify_key(&auth.target().key().key, |k, _| {
            check(Family::Metadata, k)?;
            k.tags = crate::new_key::validate_new_tags(kms, &tags, &k.tags)?;
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for UntagResourceRequest {
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        c.set_many(K::TagKeys, self.tag_keys.clone());
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let keys = self.tag_keys;
        kms.modify_key(&auth.target().key().key, |k, _| {
            check(Family::Metadata, k)?;
            for t in &keys {
                k.tags.remove(t);
            }
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for ListResourceTagsRequest {
    type Target = KeyTarget<false>;

    async fn handle(
        self,
        _kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ListResourceTagsResponse> {
        let rec = auth.target().key();
        let limit = page_limit(self.limit);
        let after = absent::str(&self.marker);
        let mut tags: Vec<Tag> = rec
            .tags
            .iter()
            .filter(|(k, _)| after.is_empty() || k.as_str() > after)
            .take(limit + 1)
            .map(|(k, v)| Tag { tag_key: k.clone(), tag_value: v.clone() })
            .collect();
        let truncated = tags.len() > limit;
        tags.truncate(limit);
        Ok(ListResourceTagsResponse {
            next_marker: if truncated { tags.last().map(|t| t.tag_key.clone()) } else { None },
            tags: Some(tags),
            truncated: Some(truncated),
        })
    }
}
