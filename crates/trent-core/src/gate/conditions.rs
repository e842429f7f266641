//! The condition keys a request brings to its authorization, and the request details that
//! grants need (the encryption context; the grant a grant-given CreateGrant would create).

use crate::authz::ConditionKey;
use std::collections::BTreeMap;
use trent_types::{GrantConstraints, GrantOperation};

/// The grant a CreateGrant request would create: a grantee who got CreateGrant from a grant
/// may create only grants no wider than that grant ("Granting CreateGrant permission", AWS
/// KMS developer guide).
#[derive(Debug, Clone, Default)]
pub struct ChildGrant {
    pub operations: Vec<GrantOperation>,
    pub constraints: Option<GrantConstraints>,
}

/// The request's condition keys and values (several values for multi-valued keys).
#[derive(Debug, Clone, Default)]
pub struct Conditions {
    pub(crate) values: Vec<(ConditionKey, Vec<String>)>,
    /// The request's encryption context, for grant constraints.
    pub(crate) context: Option<BTreeMap<String, String>>,
    pub(crate) child_grant: Option<ChildGrant>,
}

impl Conditions {
    pub fn set(&mut self, key: ConditionKey, value: impl ToString) -> &mut Self {
        self.values.push((key, vec![value.to_string()]));
        self
    }

    pub fn set_opt(&mut self, key: ConditionKey, value: Option<impl ToString>) -> &mut Self {
        if let Some(v) = value {
            self.set(key, v);
        }
        self
    }

    pub fn set_many(&mut self, key: ConditionKey, values: Vec<String>) -> &mut Self {
        self.values.push((key, values));
        self
    }

    /// `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys`; the
    /// context is kept for grant constraints.
    pub fn encryption_context(&mut self, context: Option<&BTreeMap<String, String>>) -> &mut Self {
        let context = context.cloned().unwrap_or_default();
        for (k, v) in &context {
            self.set(ConditionKey::EncryptionContext(k.clone()), v);
        }
        self.set_many(ConditionKey::EncryptionContextKeys, context.keys().cloned().collect());
        self.context = Some(context);
        self
    }

    /// `aws:RequestTag/<key>` for each tag and `aws:TagKeys`.
    pub fn request_tags<'t>(
        &mut self,
        tags: impl Iterator<Item = (&'t String, &'t String)>,
    ) -> &mut Self {
        let mut keys = Vec::new();
        for (k, v) in tags {
            self.set(ConditionKey::RequestTag(k.clone()), v);
            keys.push(k.clone());
        }
        self.set_many(ConditionKey::TagKeys, keys)
    }

    /// Records the grant a CreateGrant request would create.
    pub fn child_grant(&mut self, grant: ChildGrant) -> &mut Self {
        self.child_grant = Some(grant);
        self
    }
}
