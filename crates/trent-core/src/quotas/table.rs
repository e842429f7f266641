//! The request-quota table: which quota each operation counts against, and the rate of each
//! quota in the two profiles Trent has — AWS's own defaults (`--quotas aws`, to rehearse
//! retry logic against throttling) and Trent's (the default: rates one node can serve for
//! every account, so that no account takes the node from the others, while one developer or
//! CI pipeline is never slowed down).
//!
//! AWS's numbers are those of "Request quotas" in the AWS KMS developer guide
//! (<https://docs.aws.amazon.com/kms/latest/developerguide/requests-per-second.html>), per
//! account and Region; the cryptographic operations share a quota per kind of key, every
//! other operation has its own ("Each request quota is calculated independently").
//! `quota_of` is an exhaustive `match` over the operations, so an operation added to the
//! model without its row does not compile, and the enumerated tests cover every row.

use trent_types::{KeySpec, Operation};

/// The kinds of key whose cryptographic operations share a quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyFamily {
    /// Symmetric encryption and HMAC keys (and GenerateRandom, which names no key).
    Symmetric,
    /// RSA keys; Trent counts ML-DSA and ML-KEM keys here too (AWS's page names no quota of
    /// their own; they are Trent's other expensive private-key operations).
    Rsa,
    /// Elliptic-curve keys (NIST, secp256k1, Ed25519) and SM2.
    Ecc,
}

impl KeyFamily {
    pub const ALL: [KeyFamily; 3] = [KeyFamily::Symmetric, KeyFamily::Rsa, KeyFamily::Ecc];

    pub fn of(spec: KeySpec) -> KeyFamily {
        use KeySpec as S;
        match spec {
            S::SymmetricDefault | S::Hmac224 | S::Hmac256 | S::Hmac384 | S::Hmac512 => {
                KeyFamily::Symmetric
            }
            S::Rsa2048 | S::Rsa3072 | S::Rsa4096 => KeyFamily::Rsa,
            S::MlDsa44 | S::MlDsa65 | S::MlDsa87 | S::MlKem512 | S::MlKem768 | S::MlKem1024 => {
                KeyFamily::Rsa
            }
            S::EccNistP256
            | S::EccNistP384
            | S::EccNistP521
            | S::EccSecgP256k1
            | S::EccNistEdwards25519
            | S::Sm2 => KeyFamily::Ecc,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            KeyFamily::Symmetric => "Cryptographic operations (symmetric)",
            KeyFamily::Rsa => "Cryptographic operations (RSA)",
            KeyFamily::Ecc => "Cryptographic operations (ECC)",
        }
    }
}

/// One request quota, counted per account and Region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Quota {
    /// The quota the cryptographic operations share, for one kind of key.
    Cryptographic(KeyFamily),
    /// An operation's own quota.
    Operation(Operation),
    /// CloudTrail's LookupEvents (2 per second per account and Region, in CloudTrail's
    /// "Quotas in AWS CloudTrail").
    LookupEvents,
}

/// How an operation is counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Against the shared cryptographic quota of the kind of key it uses.
    Shared,
    /// Against its own quota.
    Own,
}

/// The table's row for `op`: exhaustive, so a new operation must be placed.
pub const fn counted(op: Operation) -> Counted {
    use Operation as O;
    match op {
        O::Decrypt
        | O::Encrypt
        | O::GenerateDataKey
        | O::GenerateDataKeyWithoutPlaintext
        | O::GenerateMac
        | O::GenerateRandom
        | O::ReEncrypt
        | O::VerifyMac
        | O::Sign
        | O::Verify
        | O::DeriveSharedSecret
        | O::Encapsulate
        | O::Decapsulate => Counted::Shared,
        O::CancelKeyDeletion
        | O::ConnectCustomKeyStore
        | O::CreateAlias
        | O::CreateCustomKeyStore
        | O::CreateGrant
        | O::CreateKey
        | O::DeleteAlias
        | O::DeleteCustomKeyStore
        | O::DeleteImportedKeyMaterial
        | O::DescribeCustomKeyStores
        | O::DescribeKey
        | O::DisableKey
        | O::DisableKeyRotation
        | O::DisconnectCustomKeyStore
        | O::EnableKey
        | O::EnableKeyRotation
        | O::GenerateDataKeyPair
        | O::GenerateDataKeyPairWithoutPlaintext
        | O::GetKeyLastUsage
        | O::GetKeyPolicy
        | O::GetKeyRotationStatus
        | O::GetParametersForImport
        | O::GetPublicKey
        | O::ImportKeyMaterial
        | O::ListAliases
        | O::ListGrants
        | O::ListKeyPolicies
        | O::ListKeyRotations
        | O::ListKeys
        | O::ListResourceTags
        | O::ListRetirableGrants
        | O::PutKeyPolicy
        | O::ReplicateKey
        | O::RetireGrant
        | O::RevokeGrant
        | O::RotateKeyOnDemand
        | O::ScheduleKeyDeletion
        | O::TagResource
        | O::UntagResource
        | O::UpdateAlias
        | O::UpdateCustomKeyStore
        | O::UpdateKeyDescription
        | O::UpdatePrimaryRegion => Counted::Own,
    }
}

/// The quota a call of `op` counts against; `spec` is the spec of the key it uses (the
/// first key, for ReEncrypt's source), `None` when it names none.
pub fn quota_of(op: Operation, spec: Option<KeySpec>) -> Quota {
    match counted(op) {
        Counted::Shared => Quota::Cryptographic(spec.map_or(KeyFamily::Symmetric, KeyFamily::of)),
        Counted::Own => Quota::Operation(op),
    }
}

/// Which numbers are in force.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Profile {
    /// Trent's defaults (see [`trent_rate`]).
    #[default]
    Trent,
    /// AWS's default quotas.
    Aws,
    /// Every quota at this many requests per second: to see a client's retries at work
    /// (`--quotas 1`) and for the tests that every operation is counted.
    Fixed(f64),
    /// No request quota at all (benchmarks of the raw server; never for a shared node).
    Off,
}

impl Profile {
    pub fn parse(s: &str) -> Option<Profile> {
        match s {
            "trent" => Some(Profile::Trent),
            "aws" => Some(Profile::Aws),
            "off" => Some(Profile::Off),
            n => n.parse::<f64>().ok().filter(|r| r.is_finite() && *r > 0.0).map(Profile::Fixed),
        }
    }

    /// Requests per second for `quota` in `region`; `None`: not limited.
    pub fn rate(self, quota: Quota, region: &str) -> Option<f64> {
        match self {
            Profile::Off => None,
            Profile::Aws => Some(aws_rate(quota, region)),
            Profile::Trent => Some(trent_rate(quota)),
            Profile::Fixed(rate) => Some(rate),
        }
    }

    /// The profile as one word (`encode`/`decode` keep it in an atomic).
    pub(super) fn encode(self) -> u64 {
        match self {
            Profile::Trent => 0,
            Profile::Aws => 1,
            Profile::Off => 2,
            // A positive finite f64's bits are far above 2.
            Profile::Fixed(rate) => rate.to_bits(),
        }
    }

    pub(super) fn decode(word: u64) -> Profile {
        match word {
            0 => Profile::Trent,
            1 => Profile::Aws,
            2 => Profile::Off,
            bits => Profile::Fixed(f64::from_bits(bits)),
        }
    }
}

/// The Regions where AWS's symmetric quota is 100,000 and 20,000 per second; 10,000
/// elsewhere (the "Cryptographic operations (symmetric) request rate" row).
const SYMMETRIC_100K: &[&str] = &["us-east-1", "us-west-2", "eu-west-1"];
const SYMMETRIC_20K: &[&str] = &[
    "us-east-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "eu-central-1",
    "eu-west-2",
];

/// AWS's default for `quota` in `region`. Operations the page does not list get 5 per second
/// if they change something and 100 if they only read, as the listed ones of their kind.
pub fn aws_rate(quota: Quota, region: &str) -> f64 {
    use Operation as O;
    match quota {
        Quota::LookupEvents => 2.0,
        Quota::Cryptographic(KeyFamily::Symmetric) => {
            if SYMMETRIC_100K.contains(&region) {
                100_000.0
            } else if SYMMETRIC_20K.contains(&region) {
                20_000.0
            } else {
                10_000.0
            }
        }
        Quota::Cryptographic(KeyFamily::Rsa | KeyFamily::Ecc) => 1_000.0,
        Quota::Operation(op) => match op {
            O::GetParametersForImport => 0.25,
            O::DescribeKey | O::GetPublicKey | O::ListResourceTags => 2_000.0,
            O::GetKeyPolicy | O::GetKeyRotationStatus => 1_000.0,
            O::ScheduleKeyDeletion | O::PutKeyPolicy | O::DeleteAlias | O::EnableKeyRotation => {
                15.0
            }
            O::RetireGrant | O::RevokeGrant => 15.0,
            O::CreateGrant => 50.0,
            O::ListAliases | O::ListGrants | O::ListKeyPolicies | O::ListKeys => 100.0,
            O::GenerateDataKeyPair | O::GenerateDataKeyPairWithoutPlaintext => 1.0,
            op if op.spec().read_only && op != O::ListRetirableGrants => 100.0,
            _ => 5.0,
        },
    }
}

/// Trent's default for `quota`: per account and Region on one node. The cheap calls are
/// limited far above what a client needs and below what one node serves, so a flood from one
/// account is refused before it takes the node; the calls whose work is heavy (the trail's
/// scans, RSA, a new wrapping key pair) are held near AWS's numbers or bounded by their pools.
pub fn trent_rate(quota: Quota) -> f64 {
    use Operation as O;
    match quota {
        Quota::LookupEvents => 2.0,
        Quota::Cryptographic(KeyFamily::Symmetric) => 100_000.0,
        Quota::Cryptographic(KeyFamily::Rsa | KeyFamily::Ecc) => 2_000.0,
        Quota::Operation(op) => match op {
            O::GetParametersForImport | O::ImportKeyMaterial => 100.0,
            O::GenerateDataKeyPair | O::GenerateDataKeyPairWithoutPlaintext => 100.0,
            // Read from the key cache, as cheap as a symmetric Encrypt.
            O::DescribeKey
            | O::GetPublicKey
            | O::GetKeyPolicy
            | O::GetKeyRotationStatus
            | O::ListResourceTags
            | O::ListKeyPolicies => 100_000.0,
            // Listings read the store.
            op if op.spec().read_only => 10_000.0,
            // Each change is a durable commit (SQLite: a few thousand a second per node).
            _ => 1_000.0,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_operation_has_a_quota_in_every_profile() {
        for op in Operation::ALL {
            for spec in std::iter::once(None).chain(KeySpec::ALL.iter().copied().map(Some)) {
                let q = quota_of(*op, spec);
                for region in ["us-east-1", "eu-west-2", "ap-south-1", "cn-north-1"] {
                    let aws = aws_rate(q, region);
                    let trent = trent_rate(q);
                    assert!(aws > 0.0 && trent > 0.0, "{op:?} {spec:?}");
                    // Trent's own numbers are never stricter than AWS's but for the trail.
                    assert!(trent >= aws || q == Quota::LookupEvents, "{op:?} {region}");
                    assert_eq!(Profile::Off.rate(q, region), None);
                }
            }
        }
    }

    #[test]
    fn the_documented_aws_numbers() {
        let op = |o| Quota::Operation(o);
        assert_eq!(aws_rate(op(Operation::GetParametersForImport), "us-east-1"), 0.25);
        assert_eq!(aws_rate(op(Operation::CreateKey), "us-east-1"), 5.0);
        assert_eq!(aws_rate(op(Operation::PutKeyPolicy), "us-east-1"), 15.0);
        assert_eq!(aws_rate(op(Operation::DescribeKey), "us-east-1"), 2000.0);
        let sym = Quota::Cryptographic(KeyFamily::Symmetric);
        assert_eq!(aws_rate(sym, "us-east-1"), 100_000.0);
        assert_eq!(aws_rate(sym, "eu-west-2"), 20_000.0);
        assert_eq!(aws_rate(sym, "ap-south-1"), 10_000.0);
        assert_eq!(
            quota_of(Operation::Sign, Some(KeySpec::Rsa2048)),
            Quota::Cryptographic(KeyFamily::Rsa)
        );
        assert_eq!(quota_of(Operation::Encrypt, None), sym);
    }
}
