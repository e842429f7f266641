//! The operation table: for every operation of the API, the IAM action it is authorized as,
//! the resources it is authorized on, whether another account may call it, the grant
//! operation that can allow it, and whether it only reads. Authorization, the exhaustive
//! negative tests and the audit shape are driven from this one table; `spec` is an
//! exhaustive `match`, so an operation added to the model without a row does not compile.
//!
//! Sources: the "Cross-account use" and "Required permissions" paragraphs of each operation's
//! API reference page, and "Controlling access to aliases" in the AWS KMS developer guide.

use crate::{GrantOperation, Operation};

/// What an operation is authorized on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resources {
    /// No key: the caller's identity policies, resource `*` (CreateKey, ListKeys, ...).
    Account,
    /// ListAliases: resource `*` (IAM policy); an optional KeyId only filters.
    AccountListing,
    /// ListRetirableGrants: the retiring principal named in the request (IAM policy).
    RetiringPrincipal,
    /// The key named by `KeyId`: a key id or key ARN.
    Key,
    /// The key named by `KeyId`: also an alias name or alias ARN.
    KeyOrAlias,
    /// Decrypt: the key the ciphertext names (or `KeyId`, for asymmetric keys).
    Ciphertext,
    /// ReEncrypt: `kms:ReEncryptFrom` on the source key, `kms:ReEncryptTo` on the destination.
    SourceAndDestination,
    /// CreateAlias: the new alias (IAM policy) and its target key.
    NewAlias,
    /// UpdateAlias: the alias (IAM policy), the key it points to now and the new key.
    AliasAndBothKeys,
    /// DeleteAlias: the alias (IAM policy) and the key it points to.
    AliasAndKey,
    /// RetireGrant: the grant (its retiring principal or grantee), else the grant's key.
    Grant,
    /// ReplicateKey: the primary key (key policy) and `kms:CreateKey` (identity policies) in
    /// the replica Region.
    PrimaryAndReplicaRegion,
    /// UpdatePrimaryRegion: the primary key and its replica in the new primary Region.
    PrimaryAndReplica,
}

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OperationSpec {
    /// The IAM action without its `kms:` prefix (the operation name, but for ReEncrypt,
    /// which is authorized as ReEncryptFrom and ReEncryptTo).
    pub action: &'static str,
    pub resources: Resources,
    /// Whether a caller of another account may use it with a key ARN (or alias ARN).
    pub cross_account: bool,
    /// The grant operation that can allow it, if grants can.
    pub grant: Option<GrantOperation>,
    /// Whether it changes nothing (CloudTrail's `readOnly`).
    pub read_only: bool,
}

const fn row(
    action: &'static str,
    resources: Resources,
    cross_account: bool,
    grant: Option<GrantOperation>,
    read_only: bool,
) -> OperationSpec {
    OperationSpec { action, resources, cross_account, grant, read_only }
}

impl Resources {
    /// A stable small number, for comparing in `const` contexts.
    pub const fn code(self) -> u8 {
        self as u8
    }

    /// What the resources are, in words (docs/authorization.md).
    pub const fn describe(self) -> &'static str {
        match self {
            Resources::Account => "the account (`*`, identity policies)",
            Resources::AccountListing => "the account (`*`, identity policies); `KeyId` only filters",
            Resources::RetiringPrincipal => "the retiring principal (identity policies)",
            Resources::Key => "the key (`KeyId`: key id or ARN)",
            Resources::KeyOrAlias => "the key (`KeyId`: key id, key ARN, alias name or alias ARN)",
            Resources::Ciphertext => "the key the ciphertext names (or `KeyId` for RSA/SM2)",
            Resources::SourceAndDestination => {
                "`kms:ReEncryptFrom` on the source key, `kms:ReEncryptTo` on the destination key"
            }
            Resources::NewAlias => "the new alias (identity policies) and its target key",
            Resources::AliasAndBothKeys => {
                "the alias (identity policies), its current key and the new key"
            }
            Resources::AliasAndKey => "the alias (identity policies) and its key",
            Resources::Grant => {
                "the grant (retiring principal, grantee with RetireGrant, key account root), else `kms:RetireGrant` on its key"
            }
            Resources::PrimaryAndReplicaRegion => {
                "the primary key (`KeyId`), and `kms:CreateKey` (identity policies) in `ReplicaRegion`"
            }
            Resources::PrimaryAndReplica => {
                "the primary key (`KeyId`) and its replica in `PrimaryRegion`"
            }
        }
    }

    /// Whether the operation is authorized on at least one KMS key.
    pub const fn names_a_key(self) -> bool {
        !matches!(
            self,
            Resources::Account | Resources::AccountListing | Resources::RetiringPrincipal
        )
    }
}

impl Operation {
    /// The operation's row of the table.
    pub const fn spec(self) -> OperationSpec {
        use GrantOperation as G;
        use Operation as O;
        use Resources as R;
        const Y: bool = true;
        const N: bool = false;
        match self {
            // Key lifecycle.
            O::CreateKey => row("CreateKey", R::Account, N, None, N),
            O::DescribeKey => row("DescribeKey", R::KeyOrAlias, Y, Some(G::DescribeKey), Y),
            O::ListKeys => row("ListKeys", R::Account, N, None, Y),
            O::EnableKey => row("EnableKey", R::Key, N, None, N),
            O::DisableKey => row("DisableKey", R::Key, N, None, N),
            O::ScheduleKeyDeletion => row("ScheduleKeyDeletion", R::Key, N, None, N),
            O::CancelKeyDeletion => row("CancelKeyDeletion", R::Key, N, None, N),
            O::UpdateKeyDescription => row("UpdateKeyDescription", R::Key, N, None, N),
            O::GetKeyLastUsage => row("GetKeyLastUsage", R::Key, N, None, Y),
            // Aliases.
            O::CreateAlias => row("CreateAlias", R::NewAlias, N, None, N),
            O::UpdateAlias => row("UpdateAlias", R::AliasAndBothKeys, N, None, N),
            O::DeleteAlias => row("DeleteAlias", R::AliasAndKey, N, None, N),
            O::ListAliases => row("ListAliases", R::AccountListing, N, None, Y),
            // Tags and policies.
            O::TagResource => row("TagResource", R::Key, N, None, N),
            O::UntagResource => row("UntagResource", R::Key, N, None, N),
            O::ListResourceTags => row("ListResourceTags", R::Key, N, None, Y),
            O::GetKeyPolicy => row("GetKeyPolicy", R::Key, N, None, Y),
            O::PutKeyPolicy => row("PutKeyPolicy", R::Key, N, None, N),
            O::ListKeyPolicies => row("ListKeyPolicies", R::Key, N, None, Y),
            // Symmetric and RSA encryption, data keys.
            O::Encrypt => row("Encrypt", R::KeyOrAlias, Y, Some(G::Encrypt), Y),
            O::Decrypt => row("Decrypt", R::Ciphertext, Y, Some(G::Decrypt), Y),
            O::ReEncrypt => row("ReEncrypt", R::SourceAndDestination, Y, None, Y),
            O::GenerateDataKey => {
                row("GenerateDataKey", R::KeyOrAlias, Y, Some(G::GenerateDataKey), Y)
            }
            O::GenerateDataKeyWithoutPlaintext => row(
                "GenerateDataKeyWithoutPlaintext",
                R::KeyOrAlias,
                Y,
                Some(G::GenerateDataKeyWithoutPlaintext),
                Y,
            ),
            O::GenerateDataKeyPair => {
                row("GenerateDataKeyPair", R::KeyOrAlias, Y, Some(G::GenerateDataKeyPair), Y)
            }
            O::GenerateDataKeyPairWithoutPlaintext => row(
                "GenerateDataKeyPairWithoutPlaintext",
                R::KeyOrAlias,
                Y,
                Some(G::GenerateDataKeyPairWithoutPlaintext),
                Y,
            ),
            O::GenerateRandom => row("GenerateRandom", R::Account, N, None, Y),
            // Asymmetric keys, HMAC, ML-KEM.
            O::GetPublicKey => row("GetPublicKey", R::KeyOrAlias, Y, Some(G::GetPublicKey), Y),
            O::Sign => row("Sign", R::KeyOrAlias, Y, Some(G::Sign), Y),
            O::Verify => row("Verify", R::KeyOrAlias, Y, Some(G::Verify), Y),
            O::GenerateMac => row("GenerateMac", R::KeyOrAlias, Y, Some(G::GenerateMac), Y),
            O::VerifyMac => row("VerifyMac", R::KeyOrAlias, Y, Some(G::VerifyMac), Y),
            O::DeriveSharedSecret => {
                row("DeriveSharedSecret", R::KeyOrAlias, Y, Some(G::DeriveSharedSecret), Y)
            }
            O::Encapsulate => row("Encapsulate", R::KeyOrAlias, Y, Some(G::Encapsulate), Y),
            O::Decapsulate => row("Decapsulate", R::KeyOrAlias, Y, Some(G::Decapsulate), Y),
            // Rotation.
            O::EnableKeyRotation => row("EnableKeyRotation", R::Key, N, None, N),
            O::DisableKeyRotation => row("DisableKeyRotation", R::Key, N, None, N),
            O::GetKeyRotationStatus => row("GetKeyRotationStatus", R::Key, Y, None, Y),
            O::RotateKeyOnDemand => row("RotateKeyOnDemand", R::Key, N, None, N),
            O::ListKeyRotations => row("ListKeyRotations", R::Key, N, None, Y),
            // Imported key material.
            O::GetParametersForImport => row("GetParametersForImport", R::Key, N, None, Y),
            O::ImportKeyMaterial => row("ImportKeyMaterial", R::Key, N, None, N),
            O::DeleteImportedKeyMaterial => row("DeleteImportedKeyMaterial", R::Key, N, None, N),
            // Grants.
            O::CreateGrant => row("CreateGrant", R::Key, Y, Some(G::CreateGrant), N),
            O::ListGrants => row("ListGrants", R::Key, Y, None, Y),
            O::ListRetirableGrants => row("ListRetirableGrants", R::RetiringPrincipal, N, None, Y),
            O::RetireGrant => row("RetireGrant", R::Grant, Y, Some(G::RetireGrant), N),
            O::RevokeGrant => row("RevokeGrant", R::Key, Y, None, N),
            // Multi-Region keys.
            O::ReplicateKey => row("ReplicateKey", R::PrimaryAndReplicaRegion, N, None, N),
            O::UpdatePrimaryRegion => row("UpdatePrimaryRegion", R::PrimaryAndReplica, N, None, N),
            // Custom key stores (IAM policy, no key).
            O::ConnectCustomKeyStore => row("ConnectCustomKeyStore", R::Account, N, None, N),
            O::CreateCustomKeyStore => row("CreateCustomKeyStore", R::Account, N, None, N),
            O::DeleteCustomKeyStore => row("DeleteCustomKeyStore", R::Account, N, None, N),
            O::DescribeCustomKeyStores => row("DescribeCustomKeyStores", R::Account, N, None, Y),
            O::DisconnectCustomKeyStore => row("DisconnectCustomKeyStore", R::Account, N, None, N),
            O::UpdateCustomKeyStore => row("UpdateCustomKeyStore", R::Account, N, None, N),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_its_own_action() {
        for op in Operation::ALL {
            let s = op.spec();
            if *op != Operation::ReEncrypt {
                assert_eq!(s.action, op.name(), "{op:?}");
            }
            // A grant can allow only operations that use a key.
            assert!(s.grant.is_none() || s.resources.names_a_key(), "{op:?}");
            // Only key operations can cross accounts.
            assert!(!s.cross_account || s.resources.names_a_key(), "{op:?}");
        }
    }

    /// The table of docs/authorization.md, generated from this one; `TRENT_WRITE_DOCS=1`
    /// rewrites it.
    #[test]
    fn the_documented_table_is_this_table() {
        let mut table = String::from(
            "| Operation | Authorized on | Other accounts | Grant | Read-only |\n|---|---|---|---|---|\n",
        );
        for op in Operation::ALL {
            let s = op.spec();
            table.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                op.name(),
                s.resources.describe(),
                if s.cross_account { "yes (key ARN)" } else { "no" },
                s.grant.map(|g| g.as_str()).unwrap_or("—"),
                if s.read_only { "yes" } else { "no" },
            ));
        }
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/authorization.md");
        let doc = std::fs::read_to_string(path).unwrap();
        let (begin, end) = ("<!-- operation table -->\n", "<!-- end of operation table -->");
        let a = doc.find(begin).expect("docs/authorization.md has the table markers") + begin.len();
        let b = doc.find(end).unwrap();
        if std::env::var_os("TRENT_WRITE_DOCS").is_some() {
            std::fs::write(path, format!("{}{table}{}", &doc[..a], &doc[b..])).unwrap();
        } else {
            assert_eq!(&doc[a..b], table, "docs/authorization.md: rerun with TRENT_WRITE_DOCS=1");
        }
    }

    #[test]
    fn grant_operations_name_their_operation() {
        for op in Operation::ALL {
            if let Some(g) = op.spec().grant {
                assert_eq!(g.as_str(), op.name());
            }
        }
    }
}
