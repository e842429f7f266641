//! Key policies: the AWS default key policy, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.
//! Policies are stored and returned; evaluating them comes with the authorization work.

use crate::authz::{ConditionKey as K, PolicyDocument};
use crate::gate::KeyTarget;
use crate::quotas::ResourceQuota;
use crate::writes::Changes;
use crate::{Authorized, Call, Caller, Conditions, Kms, KmsError, Result};
use trent_store::{partition_of, KeyRecord, KeyRef};
use trent_types::*;

/// The policy CreateKey attaches when none is given, laid out as AWS returns it
/// (pretty-printed, `" : "` separators;
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>).
pub(crate) fn default_policy(key: &KeyRef) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:{}:iam::{}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        partition_of(&key.region),
        key.account
    )
}

/// Checks that a policy is within the key policy document quota (32 KB by default; the model
/// admits 131,072 characters, and CreateKey's and PutKeyPolicy's API text says a longer
/// policy gets `LimitExceededException`) and parses as an IAM policy; returns it unchanged.
pub(crate) fn validate_policy(kms: &Kms, p: &str) -> Result<String> {
    kms.config.resource_quotas.check(ResourceQuota::KeyPolicyBytes, p.len() as u64)?;
    PolicyDocument::parse(p)
        .map_err(|e| KmsError::new(ErrorCode::MalformedPolicyDocumentException, e.0))?;
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
        if self.policy_allows(caller, rec, policy, "PutKeyPolicy").await? {
            Ok(())
        } else {
            Err(KmsError::new(
                ErrorCode::MalformedPolicyDocumentException,
                "The new key policy will not allow you to update the key policy in the future."
                    .into(),
            ))
        }
    }
}

fn check_policy_name(name: Option<&str>) -> Result<()> {
    match name {
        None | Some("default") => Ok(()),
        Some(other) => Err(KmsError::new(
            ErrorCode::NotFoundException,
            format!("No such policy exists: {other}"),
        )),
    }
}

fn policy_name(c: &mut Conditions, name: &Option<String>) {
    // GetKeyPolicy/PutKeyPolicy API: "If the request doesn't include PolicyName, the value
    // of kms:PolicyName is default."
    c.set(K::PolicyName, name.as_deref().unwrap_or("default"));
}

impl Call for GetKeyPolicyRequest {
    const OPERATION: Operation = Operation::GetKeyPolicy;
    type Target = KeyTarget<false>;
    type Output = GetKeyPolicyResponse;

    fn conditions(&self, c: &mut Conditions) {
        policy_name(c, &self.policy_name);
    }

    async fn handle(
        self,
        _kms: &Kms,
        auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<GetKeyPolicyResponse> {
        check_policy_name(self.policy_name.as_deref())?;
        let rec = auth.into_target().into_key();
        Ok(GetKeyPolicyResponse { policy: Some(rec.policy), policy_name: Some("default".into()) })
    }
}

impl Call for PutKeyPolicyRequest {
    const OPERATION: Operation = Operation::PutKeyPolicy;
    type Target = KeyTarget<false>;
    type Output = ();

    fn conditions(&self, c: &mut Conditions) {
        policy_name(c, &self.policy_name);
        c.set_opt(K::BypassPolicyLockoutSafetyCheck, self.bypass_policy_lockout_safety_check);
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let rec = auth.target().key();
        check_policy_name(self.policy_name.as_deref())?;
        let policy = validate_policy(kms, &self.policy)?;
        kms.check_lockout(auth.caller(), rec, &policy, self.bypass_policy_lockout_safety_check)
            .await?;
        kms.modify_key(&rec.key, |k, _| {
            k.policy = policy.clone();
            Ok(Changes::none())
        })
        .await?;
        Ok(())
    }
}

impl Call for ListKeyPoliciesRequest {
    const OPERATION: Operation = Operation::ListKeyPolicies;
    type Target = KeyTarget<false>;
    type Output = ListKeyPoliciesResponse;

    async fn handle(
        self,
        _kms: &Kms,
        _auth: Authorized<'_, KeyTarget<false>>,
    ) -> Result<ListKeyPoliciesResponse> {
        Ok(ListKeyPoliciesResponse {
            policy_names: Some(vec!["default".into()]),
            next_marker: None,
            truncated: Some(false),
        })
    }
}
