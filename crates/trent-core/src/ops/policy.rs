//! Key policies: the AWS default key policy, GetKeyPolicy, PutKeyPolicy, ListKeyPolicies.
//! Policies are stored and returned; evaluating them comes with the authorization work.

use crate::authz::ConditionKey as K;
use crate::gate::KeyTarget;
use crate::writes::Changes;
use crate::{Authorized, Call, Caller, Conditions, Kms, KmsError, Result};
use trent_store::KeyRecord;
use trent_types::*;

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
    type Target = KeyTarget<false>;

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
    type Target = KeyTarget<false>;

    fn conditions(&self, c: &mut Conditions) {
        policy_name(c, &self.policy_name);
        c.set_opt(K::BypassPolicyLockoutSafetyCheck, self.bypass_policy_lockout_safety_check);
    }

    async fn handle(self, kms: &Kms, auth: Authorized<'_, KeyTarget<false>>) -> Result<()> {
        let rec = auth.target().key();
        check_policy_name(self.policy_name.as_deref())?;
        let policy = crate::new_key::validate_policy(kms, &self.policy)?;
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
    type Target = KeyTarget<false>;

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
