//! The condition keys Trent puts in a request context, as a typed enum: a key is named in one
//! place, so a misspelt key cannot silently never match. Names follow "AWS KMS condition keys"
//! and "AWS global condition context keys" in the AWS documentation.

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConditionKey {
    // Global keys of every request.
    CallerAccount,
    PrincipalArn,
    PrincipalAccount,
    CurrentTime,
    EpochTime,
    SourceIp,
    SecureTransport,
    RequestedRegion,
    PrincipalType,
    // Properties of the key the request is authorized on.
    KeyOrigin,
    KeySpec,
    KeyUsage,
    MultiRegion,
    ResourceTag(String),
    ResourceAliases,
    // Members of the request.
    RequestAlias,
    EncryptionAlgorithm,
    EncryptionContext(String),
    EncryptionContextKeys,
    SigningAlgorithm,
    MessageType,
    MacAlgorithm,
    KeyAgreementAlgorithm,
    DataKeyPairSpec,
    WrappingAlgorithm,
    WrappingKeySpec,
    ExpirationModel,
    ValidTo,
    ScheduleKeyDeletionPendingWindowInDays,
    RotationPeriodInDays,
    ReplicaRegion,
    PrimaryRegion,
    RequestTag(String),
    TagKeys,
    PolicyName,
    BypassPolicyLockoutSafetyCheck,
    GrantOperations,
    GranteePrincipal,
    RetiringPrincipal,
    GrantConstraintType,
    GrantIsForAwsResource,
}

impl ConditionKey {
    /// The key as policies write it (compared case-insensitively by the evaluator).
    pub fn name(&self) -> Cow<'static, str> {
        use ConditionKey as K;
        Cow::Borrowed(match self {
            K::CallerAccount => "kms:CallerAccount",
            K::PrincipalArn => "aws:PrincipalArn",
            K::PrincipalAccount => "aws:PrincipalAccount",
            K::CurrentTime => "aws:CurrentTime",
            K::EpochTime => "aws:EpochTime",
            K::SourceIp => "aws:SourceIp",
            K::SecureTransport => "aws:SecureTransport",
            K::RequestedRegion => "aws:RequestedRegion",
            K::PrincipalType => "aws:PrincipalType",
            K::KeyOrigin => "kms:KeyOrigin",
            K::KeySpec => "kms:KeySpec",
            K::KeyUsage => "kms:KeyUsage",
            K::MultiRegion => "kms:MultiRegion",
            K::ResourceTag(k) => return Cow::Owned(format!("aws:ResourceTag/{k}")),
            K::ResourceAliases => "kms:ResourceAliases",
            K::RequestAlias => "kms:RequestAlias",
            K::EncryptionAlgorithm => "kms:EncryptionAlgorithm",
            K::EncryptionContext(k) => return Cow::Owned(format!("kms:EncryptionContext:{k}")),
            K::EncryptionContextKeys => "kms:EncryptionContextKeys",
            K::SigningAlgorithm => "kms:SigningAlgorithm",
            K::MessageType => "kms:MessageType",
            K::MacAlgorithm => "kms:MacAlgorithm",
            K::KeyAgreementAlgorithm => "kms:KeyAgreementAlgorithm",
            K::DataKeyPairSpec => "kms:DataKeyPairSpec",
            K::WrappingAlgorithm => "kms:WrappingAlgorithm",
            K::WrappingKeySpec => "kms:WrappingKeySpec",
            K::ExpirationModel => "kms:ExpirationModel",
            K::ValidTo => "kms:ValidTo",
            K::ScheduleKeyDeletionPendingWindowInDays => {
                "kms:ScheduleKeyDeletionPendingWindowInDays"
            }
            K::RotationPeriodInDays => "kms:RotationPeriodInDays",
            K::ReplicaRegion => "kms:ReplicaRegion",
            K::PrimaryRegion => "kms:PrimaryRegion",
            K::RequestTag(k) => return Cow::Owned(format!("aws:RequestTag/{k}")),
            K::TagKeys => "aws:TagKeys",
            K::PolicyName => "kms:PolicyName",
            K::BypassPolicyLockoutSafetyCheck => "kms:BypassPolicyLockoutSafetyCheck",
            K::GrantOperations => "kms:GrantOperations",
            K::GranteePrincipal => "kms:GranteePrincipal",
            K::RetiringPrincipal => "kms:RetiringPrincipal",
            K::GrantConstraintType => "kms:GrantConstraintType",
            K::GrantIsForAwsResource => "kms:GrantIsForAWSResource",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::ConditionKey as K;

    #[test]
    fn names_have_their_service_prefix() {
        for k in [K::KeyOrigin, K::SourceIp, K::ResourceTag("team".into()), K::TagKeys] {
            let n = k.name();
            assert!(n.starts_with("kms:") || n.starts_with("aws:"), "{n}");
        }
        assert_eq!(K::EncryptionContext("app".into()).name(), "kms:EncryptionContext:app");
        assert_eq!(K::GrantIsForAwsResource.name(), "kms:GrantIsForAWSResource");
    }
}
