//! Key policies: the AWS default key policy, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.
//! Policies are stored and returned; evaluating them comes with the authorization work.

use crate::authorize::Authz;
use crate::authz::PolicyDocument;
use crate::keys::Changes;
use crate::resolve::Accept;
use crate::{Caller, Kms, KmsError, Result};
use trent_store::{partition_of, KeyRecord, KeyRef};
use trent_types::*;

/// The policy CreateKey attaches when none is given, laid out as AWS returns it
/// (pretty-printed, `" : "` separators; aws-behaviour.md §4).
pub(crate) fn default_policy(key: &KeyRef) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:{}:iam::{}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        partition_of(&key.region),
        key.account
    )
}

/// Checks that a policy parses as an IAM policy; returns it unchanged.
pub(crate) fn validate_policy(p: &str) -> Result<String> {
    PolicyDocument::parse(p).map_err(|e| KmsError::MalformedPolicyDocument(e.0))?;
    Ok(p.to_string())
}

impl Kms {
    /// AWS refuses a policy that would stop the caller from changing it again, unless the
    /// caller sets BypassPolicyLockoutSafetyCheck.
    pub(crate) async fn check_lockout(
        &self,
        caller: &Caller,
        rec: &KeyRecord,
        policy: &str,
        bypass: Option<bool>,
    ) -> Result<()> {
        if bypass == Some(true) {
            return Ok(());
        }
        let mut candidate = rec.clone();
        candidate.policy = policy.to_string();
        match self.authorize_key(caller, &candidate, &Authz::from("PutKeyPolicy")).await {
            Err(KmsError::AccessDenied(_)) => Err(KmsError::MalformedPolicyDocument(
                "The new key policy will not allow you to update the key policy in the future."
                    .into(),
            )),
            other => other,
        }
    }
}

fn check_policy_name(name: Option<&str>) -> Result<()> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::NotFound(format!("No such policy exists: {other}"))),
    }
}

impl Kms {
    pub async fn get_key_policy(
        &self,
        caller: &Caller,
        r: GetKeyPolicyRequest,
    ) -> Result<GetKeyPolicyResponse> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "GetKeyPolicy")
            .await?;
        check_policy_name(r.policy_name.as_deref())?;
        Ok(GetKeyPolicyResponse { policy: Some(rec.policy), policy_name: Some("default".into()) })
    }

    pub async fn put_key_policy(&self, caller: &Caller, r: PutKeyPolicyRequest) -> Result<()> {
        let rec = self
            .resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "PutKeyPolicy")
            .await?;
        check_policy_name(r.policy_name.as_deref())?;
        let policy = validate_policy(&r.policy.unwrap_or_default())?;
        self.check_lockout(caller, &rec, &policy, r.bypass_policy_lockout_safety_check).await?;
        self.modify_key(&rec.key, |k, _| {
            k.policy = policy.clone();
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }

    pub async fn list_key_policies(
        &self,
        caller: &Caller,
        r: ListKeyPoliciesRequest,
    ) -> Result<ListKeyPoliciesResponse> {
        self.resolve(caller, &r.key_id.unwrap_or_default(), Accept::KeyOnly, "ListKeyPolicies")
            .await?;
        Ok(ListKeyPoliciesResponse {
            policy_names: Some(vec!["default".into()]),
            next_marker: None,
            truncated: Some(false),
        })
    }
}
