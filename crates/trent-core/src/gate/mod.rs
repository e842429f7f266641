//! The one place where API calls are authorized. Every operation is a [`Call`]: its request
//! type names the operation, the shape of what it is authorized on (its [`Target`], which
//! must agree with the operation table, `Operation::spec`, or the crate does not compile) and
//! its condition keys. [`Kms::call`] resolves and authorizes the target before the handler
//! runs, and hands the handler an [`Authorized`] value that nothing outside this module can
//! make — so a handler cannot run, nor be written, without its authorization.

mod conditions;
mod decide;
mod replication;
mod resolve;
mod targets;

pub use conditions::{ChildGrant, Conditions};
pub(crate) use decide::access_denied;
pub use replication::{PrimaryChange, Replication};
pub(crate) use resolve::{alias_not_found, key_not_found};
pub use resolve::{parse_key_identifier, KeyIdentifier};
pub use targets::{
    AccountTarget, AliasChange, AliasListing, AliasRemoval, CiphertextKey, GrantTarget, KeyTarget,
    NamesCiphertext, NewAlias, ReEncryptKeys, RetiringPrincipalTarget,
};

use crate::{Caller, Kms, Result};
use std::future::Future;
use trent_types::trail::Trail;
use trent_types::{Request, Resources};

/// One operation of the API, implemented by its request type.
/// Request and output have a CloudTrail view (`Trail`, generated), so that every call's
/// audit record can show them.
/// Its operation and response type come from the model (`trent_types::Request`, generated).
pub trait Call:
    Request<Response: serde::Serialize + Trail + Send> + Trail + Sized + Send + Sync + 'static
{
    /// What the call is authorized on; its `RESOURCES` must be the table's.
    type Target: Target<Self>;

    /// CloudTrail's `requestParameters` for this request: its generated view, unless AWS
    /// shows more (CreateKey shows the defaults it applied).
    fn request_parameters(&self) -> serde_json::Value {
        self.trail()
    }

    /// The request's own condition keys (the key's are added by the gate).
    fn conditions(&self, _c: &mut Conditions) {}

    /// Further actions the request needs on the same resources (CreateKey with `Tags` also
    /// needs kms:TagResource).
    fn also_requires(&self) -> &'static [&'static str] {
        &[]
    }

    /// Runs the operation on what the gate authorized.
    fn handle(
        self,
        kms: &Kms,
        auth: Authorized<'_, Self::Target>,
    ) -> impl Future<Output = Result<Self::Response>> + Send;
}

/// A shape of resources an operation is authorized on, resolved from a request of type `R`.
pub trait Target<R>: Sized + Send {
    const RESOURCES: Resources;

    /// Finds the resources `req` names and authorizes the operation on each of them.
    fn resolve(kms: &Kms, caller: &Caller, req: &R) -> impl Future<Output = Result<Self>> + Send;

    /// The spec of the key the call uses (the source key of ReEncrypt), which chooses the
    /// shared quota of a cryptographic operation; `None` when the target is no key.
    fn key_spec(&self) -> Option<trent_types::KeySpec> {
        None
    }
}

/// Proof that a call was authorized: the caller and the resources it may act on. Its fields
/// are private to this module, so only [`Kms::call`] (through [`Kms::authorize`]) makes one.
pub struct Authorized<'c, T> {
    caller: &'c Caller,
    target: T,
}

impl<'c, T> Authorized<'c, T> {
    pub fn caller(&self) -> &'c Caller {
        self.caller
    }

    pub fn target(&self) -> &T {
        &self.target
    }

    pub fn into_target(self) -> T {
        self.target
    }
}

impl Kms {
    /// Runs one API call: counts it against its request quota (the table's, `quotas`: here,
    /// once for every operation), authorizes it as the operation table says, then hands it to
    /// its handler. An operation with a quota of its own is counted before anything else is
    /// done for it; one that shares the cryptographic quota of its kind of key is counted
    /// once the key is known.
    pub async fn call<R: Call>(&self, caller: &Caller, req: R) -> Result<R::Response> {
        self.run(caller, req, true).await
    }

    /// An operator's call (seeding at start-up): authorized as any call, but not counted
    /// against the account's request quotas — the operator is not a tenant.
    pub(crate) async fn call_as_operator<R: Call>(
        &self,
        caller: &Caller,
        req: R,
    ) -> Result<R::Response> {
        let request_parameters = req.request_parameters();
        let out = self.run(caller, req, false).await?;
        // The operator's calls (seeding) have no HTTP request to be recorded by: they are
        // recorded here, as the operator's (`audit::admin_event`).
        let event = crate::audit::admin_event(
            &caller.account,
            &caller.region,
            "kms.amazonaws.com",
            R::OPERATION.name(),
            request_parameters,
            out.trail(),
            self.now_ms(),
        );
        self.record_admin(event).await?;
        Ok(out)
    }

    async fn run<R: Call>(&self, caller: &Caller, req: R, metered: bool) -> Result<R::Response> {
        use crate::quotas::{quota_of, Counted};
        let quotas = &self.access.quotas;
        let tenant = quotas.tenant_of(caller);
        let own = crate::quotas::counted(R::OPERATION) == Counted::Own;
        if metered && own {
            quotas.charge(&tenant, quota_of(R::OPERATION, None))?;
        }
        let auth = self.authorize(caller, &req).await?;
        if metered && !own {
            quotas.charge(&tenant, quota_of(R::OPERATION, auth.target.key_spec()))?;
        }
        let handled = req.handle(self, auth);
        let handled = crate::custom_key_stores::keys::as_principal(&caller.principal_arn, handled);
        quotas.as_tenant(&tenant, handled).await
    }

    /// The request quotas in force.
    pub fn quota_profile(&self) -> crate::quotas::Profile {
        self.access.quotas.profile()
    }

    /// Puts other request quotas in force from the next call on.
    pub fn set_quota_profile(&self, profile: crate::quotas::Profile) {
        self.access.quotas.set_profile(profile);
    }

    /// Resolves and authorizes what `req` names. Handlers that must re-check after a lost
    /// race (an alias moved under them) call it again.
    pub(crate) async fn authorize<'c, R: Call>(
        &self,
        caller: &'c Caller,
        req: &R,
    ) -> Result<Authorized<'c, R::Target>> {
        // The target's shape must be the one the table declares: checked at compile time.
        const {
            assert!(
                R::OPERATION.spec().resources.code() == <R::Target as Target<R>>::RESOURCES.code(),
                "a Call's Target does not match the operation table"
            )
        };
        let target = <R::Target as Target<R>>::resolve(self, caller, req).await?;
        Ok(Authorized { caller, target })
    }
}
