//! Authorization: policy documents, condition operators and the evaluation KMS applies
//! (key policy, then identity policies; explicit Deny wins).

pub mod conditions;
pub mod document;
pub mod evaluate;
pub mod keys;

pub use document::{Malformed, PolicyDocument};
pub use evaluate::{decide, decide_identity_only, RequestContext, Verdict};
pub use keys::ConditionKey;
