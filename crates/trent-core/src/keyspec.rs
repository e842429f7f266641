//! Key specs: which usages each spec allows, which may be created where, the algorithms
//! DescribeKey lists, and generating fresh material for each.

use crate::{KmsError, Result};
use trent_crypto::{asymmetric, mac, Secret};
use trent_types::*;

/// The usages AWS allows per key spec (CreateKey KeyUsage documentation).
pub(crate) fn allowed_usages(spec: KeySpec) -> &'static [KeyUsageType] {
    use KeyUsageType as U;
    match spec {
        KeySpec::SymmetricDefault => &[U::EncryptDecrypt],
        KeySpec::Hmac224 | KeySpec::Hmac256 | KeySpec::Hmac384 | KeySpec::Hmac512 => {
            &[U::GenerateVerifyMac]
        }
        KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096 => {
            &[U::EncryptDecrypt, U::SignVerify]
        }
        KeySpec::EccNistP256 | KeySpec::EccNistP384 | KeySpec::EccNistP521 => {
            &[U::SignVerify, U::KeyAgreement]
        }
        KeySpec::EccSecgP256k1 | KeySpec::EccNistEdwards25519 => &[U::SignVerify],
        KeySpec::MlDsa44 | KeySpec::MlDsa65 | KeySpec::MlDsa87 => &[U::SignVerify],
        KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024 => &[U::EncapsulateDecapsulate],
        KeySpec::Sm2 => &[U::EncryptDecrypt, U::SignVerify, U::KeyAgreement],
    }
}

pub(crate) fn is_china(region: &str) -> bool {
    region.starts_with("cn-")
}

/// SM2 exists only in China Regions, ML-KEM everywhere else (CreateKey and
/// GenerateDataKeyPair API: "The SM2 key spec is only available in China Regions. The ML-KEM
/// key specs are not available in China Regions.").
pub(crate) fn available_in(spec: &str, region: &str) -> bool {
    if spec == "SM2" {
        is_china(region)
    } else if spec.starts_with("ML_KEM") {
        !is_china(region)
    } else {
        true
    }
}

/// AWS's enums are partition-filtered: outside China the keySpec enum it prints omits SM2
/// (recorded; see docs/key-types.md, SM2), so a spec unavailable in `region` fails as an
/// unknown enum value.
pub(crate) fn partition_enum_error(
    value: &str,
    member: &str,
    names: &[&str],
    region: &str,
) -> KmsError {
    let allowed: Vec<&str> = names.iter().copied().filter(|n| available_in(n, region)).collect();
    enum_error(value, member, &trent_types::enum_order::aws_order(&allowed, names))
}

/// AWS's wording for a value outside the enum of `member`.
pub(crate) fn enum_error(value: &str, member: &str, allowed: &[&str]) -> KmsError {
    KmsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
        allowed.join(", ")
    ))
}

/// Checks a CreateKey spec/usage/origin combination, with AWS's errors.
pub(crate) fn check_create(
    spec: KeySpec,
    usage: KeyUsageType,
    origin: OriginType,
    region: &str,
) -> Result<()> {
    if !available_in(spec.as_str(), region) {
        return Err(partition_enum_error(spec.as_str(), "keySpec", KeySpec::NAMES, region));
    }
    if !allowed_usages(spec).contains(&usage) {
        // AWS was recorded without the final period for KEY_AGREEMENT (another check, it
        // seems), with it for the other usages.
        let end = if usage == KeyUsageType::KeyAgreement { "" } else { "." };
        return Err(KmsError::validation(format!(
            "KeyUsage {usage} is not compatible with KeySpec {spec}{end}"
        )));
    }
    let supported = spec == KeySpec::SymmetricDefault
        || mac::algorithm_of(spec).is_some()
        || asymmetric::is_supported(spec);
    if !supported {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("KeySpec {spec} is not supported by this server yet."),
        ));
    }
    // The API reference allows imported material for symmetric, HMAC, asymmetric encryption,
    // key agreement and signing keys; ML-KEM (encapsulation) keys are none of these.
    if origin == OriginType::External && usage == KeyUsageType::EncapsulateDecapsulate {
        return Err(KmsError::new(
            ErrorCode::UnsupportedOperationException,
            format!("{spec} keys cannot have imported key material."),
        ));
    }
    Ok(())
}

/// Fresh key material of `spec`: 32 random bytes, an HMAC key, or a PKCS#8 private key.
/// RSA generation is slow: callers run this off the async workers.
pub(crate) fn generate(spec: KeySpec) -> Result<Secret> {
    Ok(match spec {
        KeySpec::SymmetricDefault => trent_crypto::random_secret(32)?,
        s if mac::algorithm_of(s).is_some() => mac::generate(s)?,
        s => asymmetric::generate(s)?,
    })
}

/// The algorithm lists of KeyMetadata and GetPublicKey for a key.
pub(crate) struct Algorithms {
    pub encryption: Option<Vec<EncryptionAlgorithmSpec>>,
    pub signing: Option<Vec<SigningAlgorithmSpec>>,
    pub mac: Option<Vec<MacAlgorithmSpec>>,
    pub key_agreement: Option<Vec<KeyAgreementAlgorithmSpec>>,
    pub encapsulation: Option<Vec<EncapsulationAlgorithmSpec>>,
}

pub(crate) fn algorithms(spec: KeySpec, usage: KeyUsageType) -> Algorithms {
    let mut a = Algorithms {
        encryption: None,
        signing: None,
        mac: None,
        key_agreement: None,
        encapsulation: None,
    };
    match usage {
        KeyUsageType::EncryptDecrypt => {
            a.encryption = Some(asymmetric::encryption_algorithms(spec))
        }
        KeyUsageType::SignVerify => a.signing = Some(asymmetric::signing_algorithms(spec)),
        KeyUsageType::GenerateVerifyMac => a.mac = mac::algorithm_of(spec).map(|m| vec![m]),
        KeyUsageType::KeyAgreement => a.key_agreement = Some(vec![KeyAgreementAlgorithmSpec::Ecdh]),
        KeyUsageType::EncapsulateDecapsulate => {
            a.encapsulation = Some(vec![EncapsulationAlgorithmSpec::MlKem])
        }
    }
    a
}
