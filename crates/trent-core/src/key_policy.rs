//! Key policies: the AWS default key policy, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.
//! Policies are stored and returned; evaluating them comes with the authorization work.

use crate::keys::Changes;
use crate::resolve::Accept;
use crate::{Caller, Kms, KmsError, Result};
use trent_store::{partition_of, KeyRef};
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

/// Checks that a policy is a JSON object with statements; returns it unchanged.
pub(crate) fn validate_policy(p: &str) -> Result<String> {
    let v: serde_json::Value = serde_json::from_str(p).map_err(|_| {
        KmsError::MalformedPolicyDocument("The policy is not a valid JSON document.".into())
    })?;
    let ok = v
        .as_object()
        .and_then(|o| o.get("Statement"))
        .map(|s| s.is_array() || s.is_object())
        .unwrap_or(false);
    if !ok {
        return Err(KmsError::MalformedPolicyDocument(
            "The policy must contain a Statement element.".into(),
        ));
    }
    Ok(p.to_string())
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
