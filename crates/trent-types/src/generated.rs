//! Wire types of the AWS KMS API, generated from the public service model by
//! `scripts/gen-types.py`. Do not edit by hand: change the generator and run it again.
#![allow(clippy::all, missing_docs, non_camel_case_types, unused_variables, unused_mut)]

use std::collections::BTreeMap;
use serde::{Deserialize, Serialize};
use crate::blob::Blob;
use crate::timestamp::Timestamp;
use crate::validate::{Errors, MemberPath};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AlgorithmSpec {
    RsaesPkcs1V15,
    RsaesOaepSha1,
    RsaesOaepSha256,
    RsaAesKeyWrapSha1,
    RsaAesKeyWrapSha256,
    Sm2pke,
}
impl AlgorithmSpec {
    pub const ALL: &'static [AlgorithmSpec] = &[AlgorithmSpec::RsaesPkcs1V15, AlgorithmSpec::RsaesOaepSha1, AlgorithmSpec::RsaesOaepSha256, AlgorithmSpec::RsaAesKeyWrapSha1, AlgorithmSpec::RsaAesKeyWrapSha256, AlgorithmSpec::Sm2pke];
    pub const NAMES: &'static [&'static str] = &["RSAES_PKCS1_V1_5", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_1", "RSA_AES_KEY_WRAP_SHA_256", "SM2PKE"];
    pub fn as_str(self) -> &'static str {
        match self {
            AlgorithmSpec::RsaesPkcs1V15 => "RSAES_PKCS1_V1_5",
            AlgorithmSpec::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            AlgorithmSpec::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            AlgorithmSpec::RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
            AlgorithmSpec::RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
            AlgorithmSpec::Sm2pke => "SM2PKE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSAES_PKCS1_V1_5" => Some(AlgorithmSpec::RsaesPkcs1V15),
            "RSAES_OAEP_SHA_1" => Some(AlgorithmSpec::RsaesOaepSha1),
            "RSAES_OAEP_SHA_256" => Some(AlgorithmSpec::RsaesOaepSha256),
            "RSA_AES_KEY_WRAP_SHA_1" => Some(AlgorithmSpec::RsaAesKeyWrapSha1),
            "RSA_AES_KEY_WRAP_SHA_256" => Some(AlgorithmSpec::RsaAesKeyWrapSha256),
            "SM2PKE" => Some(AlgorithmSpec::Sm2pke),
            _ => None,
        }
    }
}
impl std::fmt::Display for AlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for AlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for AlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown AlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionErrorCodeType {
    InvalidCredentials,
    ClusterNotFound,
    NetworkErrors,
    InternalError,
    InsufficientCloudhsmHsms,
    UserLockedOut,
    UserNotFound,
    UserLoggedIn,
    SubnetNotFound,
    InsufficientFreeAddressesInSubnet,
    XksProxyAccessDenied,
    XksProxyNotReachable,
    XksVpcEndpointServiceNotFound,
    XksProxyInvalidResponse,
    XksProxyInvalidConfiguration,
    XksVpcEndpointServiceInvalidConfiguration,
    XksProxyTimedOut,
    XksProxyInvalidTlsConfiguration,
}
impl ConnectionErrorCodeType {
    pub const ALL: &'static [ConnectionErrorCodeType] = &[ConnectionErrorCodeType::InvalidCredentials, ConnectionErrorCodeType::ClusterNotFound, ConnectionErrorCodeType::NetworkErrors, ConnectionErrorCodeType::InternalError, ConnectionErrorCodeType::InsufficientCloudhsmHsms, ConnectionErrorCodeType::UserLockedOut, ConnectionErrorCodeType::UserNotFound, ConnectionErrorCodeType::UserLoggedIn, ConnectionErrorCodeType::SubnetNotFound, ConnectionErrorCodeType::InsufficientFreeAddressesInSubnet, ConnectionErrorCodeType::XksProxyAccessDenied, ConnectionErrorCodeType::XksProxyNotReachable, ConnectionErrorCodeType::XksVpcEndpointServiceNotFound, ConnectionErrorCodeType::XksProxyInvalidResponse, ConnectionErrorCodeType::XksProxyInvalidConfiguration, ConnectionErrorCodeType::XksVpcEndpointServiceInvalidConfiguration, ConnectionErrorCodeType::XksProxyTimedOut, ConnectionErrorCodeType::XksProxyInvalidTlsConfiguration];
    pub const NAMES: &'static [&'static str] = &["INVALID_CREDENTIALS", "CLUSTER_NOT_FOUND", "NETWORK_ERRORS", "INTERNAL_ERROR", "INSUFFICIENT_CLOUDHSM_HSMS", "USER_LOCKED_OUT", "USER_NOT_FOUND", "USER_LOGGED_IN", "SUBNET_NOT_FOUND", "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET", "XKS_PROXY_ACCESS_DENIED", "XKS_PROXY_NOT_REACHABLE", "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND", "XKS_PROXY_INVALID_RESPONSE", "XKS_PROXY_INVALID_CONFIGURATION", "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION", "XKS_PROXY_TIMED_OUT", "XKS_PROXY_INVALID_TLS_CONFIGURATION"];
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionErrorCodeType::InvalidCredentials => "INVALID_CREDENTIALS",
            ConnectionErrorCodeType::ClusterNotFound => "CLUSTER_NOT_FOUND",
            ConnectionErrorCodeType::NetworkErrors => "NETWORK_ERRORS",
            ConnectionErrorCodeType::InternalError => "INTERNAL_ERROR",
            ConnectionErrorCodeType::InsufficientCloudhsmHsms => "INSUFFICIENT_CLOUDHSM_HSMS",
            ConnectionErrorCodeType::UserLockedOut => "USER_LOCKED_OUT",
            ConnectionErrorCodeType::UserNotFound => "USER_NOT_FOUND",
            ConnectionErrorCodeType::UserLoggedIn => "USER_LOGGED_IN",
            ConnectionErrorCodeType::SubnetNotFound => "SUBNET_NOT_FOUND",
            ConnectionErrorCodeType::InsufficientFreeAddressesInSubnet => "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET",
            ConnectionErrorCodeType::XksProxyAccessDenied => "XKS_PROXY_ACCESS_DENIED",
            ConnectionErrorCodeType::XksProxyNotReachable => "XKS_PROXY_NOT_REACHABLE",
            ConnectionErrorCodeType::XksVpcEndpointServiceNotFound => "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND",
            ConnectionErrorCodeType::XksProxyInvalidResponse => "XKS_PROXY_INVALID_RESPONSE",
            ConnectionErrorCodeType::XksProxyInvalidConfiguration => "XKS_PROXY_INVALID_CONFIGURATION",
            ConnectionErrorCodeType::XksVpcEndpointServiceInvalidConfiguration => "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION",
            ConnectionErrorCodeType::XksProxyTimedOut => "XKS_PROXY_TIMED_OUT",
            ConnectionErrorCodeType::XksProxyInvalidTlsConfiguration => "XKS_PROXY_INVALID_TLS_CONFIGURATION",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "INVALID_CREDENTIALS" => Some(ConnectionErrorCodeType::InvalidCredentials),
            "CLUSTER_NOT_FOUND" => Some(ConnectionErrorCodeType::ClusterNotFound),
            "NETWORK_ERRORS" => Some(ConnectionErrorCodeType::NetworkErrors),
            "INTERNAL_ERROR" => Some(ConnectionErrorCodeType::InternalError),
            "INSUFFICIENT_CLOUDHSM_HSMS" => Some(ConnectionErrorCodeType::InsufficientCloudhsmHsms),
            "USER_LOCKED_OUT" => Some(ConnectionErrorCodeType::UserLockedOut),
            "USER_NOT_FOUND" => Some(ConnectionErrorCodeType::UserNotFound),
            "USER_LOGGED_IN" => Some(ConnectionErrorCodeType::UserLoggedIn),
            "SUBNET_NOT_FOUND" => Some(ConnectionErrorCodeType::SubnetNotFound),
            "INSUFFICIENT_FREE_ADDRESSES_IN_SUBNET" => Some(ConnectionErrorCodeType::InsufficientFreeAddressesInSubnet),
            "XKS_PROXY_ACCESS_DENIED" => Some(ConnectionErrorCodeType::XksProxyAccessDenied),
            "XKS_PROXY_NOT_REACHABLE" => Some(ConnectionErrorCodeType::XksProxyNotReachable),
            "XKS_VPC_ENDPOINT_SERVICE_NOT_FOUND" => Some(ConnectionErrorCodeType::XksVpcEndpointServiceNotFound),
            "XKS_PROXY_INVALID_RESPONSE" => Some(ConnectionErrorCodeType::XksProxyInvalidResponse),
            "XKS_PROXY_INVALID_CONFIGURATION" => Some(ConnectionErrorCodeType::XksProxyInvalidConfiguration),
            "XKS_VPC_ENDPOINT_SERVICE_INVALID_CONFIGURATION" => Some(ConnectionErrorCodeType::XksVpcEndpointServiceInvalidConfiguration),
            "XKS_PROXY_TIMED_OUT" => Some(ConnectionErrorCodeType::XksProxyTimedOut),
            "XKS_PROXY_INVALID_TLS_CONFIGURATION" => Some(ConnectionErrorCodeType::XksProxyInvalidTlsConfiguration),
            _ => None,
        }
    }
}
impl std::fmt::Display for ConnectionErrorCodeType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ConnectionErrorCodeType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ConnectionErrorCodeType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ConnectionErrorCodeType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConnectionStateType {
    Connected,
    Connecting,
    Failed,
    Disconnected,
    Disconnecting,
}
impl ConnectionStateType {
    pub const ALL: &'static [ConnectionStateType] = &[ConnectionStateType::Connected, ConnectionStateType::Connecting, ConnectionStateType::Failed, ConnectionStateType::Disconnected, ConnectionStateType::Disconnecting];
    pub const NAMES: &'static [&'static str] = &["CONNECTED", "CONNECTING", "FAILED", "DISCONNECTED", "DISCONNECTING"];
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionStateType::Connected => "CONNECTED",
            ConnectionStateType::Connecting => "CONNECTING",
            ConnectionStateType::Failed => "FAILED",
            ConnectionStateType::Disconnected => "DISCONNECTED",
            ConnectionStateType::Disconnecting => "DISCONNECTING",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "CONNECTED" => Some(ConnectionStateType::Connected),
            "CONNECTING" => Some(ConnectionStateType::Connecting),
            "FAILED" => Some(ConnectionStateType::Failed),
            "DISCONNECTED" => Some(ConnectionStateType::Disconnected),
            "DISCONNECTING" => Some(ConnectionStateType::Disconnecting),
            _ => None,
        }
    }
}
impl std::fmt::Display for ConnectionStateType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ConnectionStateType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ConnectionStateType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ConnectionStateType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomKeyStoreType {
    AwsCloudhsm,
    ExternalKeyStore,
}
impl CustomKeyStoreType {
    pub const ALL: &'static [CustomKeyStoreType] = &[CustomKeyStoreType::AwsCloudhsm, CustomKeyStoreType::ExternalKeyStore];
    pub const NAMES: &'static [&'static str] = &["AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
    pub fn as_str(self) -> &'static str {
        match self {
            CustomKeyStoreType::AwsCloudhsm => "AWS_CLOUDHSM",
            CustomKeyStoreType::ExternalKeyStore => "EXTERNAL_KEY_STORE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AWS_CLOUDHSM" => Some(CustomKeyStoreType::AwsCloudhsm),
            "EXTERNAL_KEY_STORE" => Some(CustomKeyStoreType::ExternalKeyStore),
            _ => None,
        }
    }
}
impl std::fmt::Display for CustomKeyStoreType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for CustomKeyStoreType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for CustomKeyStoreType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown CustomKeyStoreType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerMasterKeySpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    SymmetricDefault,
    Hmac224,
    Hmac256,
    Hmac384,
    Hmac512,
    Sm2,
}
impl CustomerMasterKeySpec {
    pub const ALL: &'static [CustomerMasterKeySpec] = &[CustomerMasterKeySpec::Rsa2048, CustomerMasterKeySpec::Rsa3072, CustomerMasterKeySpec::Rsa4096, CustomerMasterKeySpec::EccNistP256, CustomerMasterKeySpec::EccNistP384, CustomerMasterKeySpec::EccNistP521, CustomerMasterKeySpec::EccSecgP256k1, CustomerMasterKeySpec::SymmetricDefault, CustomerMasterKeySpec::Hmac224, CustomerMasterKeySpec::Hmac256, CustomerMasterKeySpec::Hmac384, CustomerMasterKeySpec::Hmac512, CustomerMasterKeySpec::Sm2];
    pub const NAMES: &'static [&'static str] = &["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2"];
    pub fn as_str(self) -> &'static str {
        match self {
            CustomerMasterKeySpec::Rsa2048 => "RSA_2048",
            CustomerMasterKeySpec::Rsa3072 => "RSA_3072",
            CustomerMasterKeySpec::Rsa4096 => "RSA_4096",
            CustomerMasterKeySpec::EccNistP256 => "ECC_NIST_P256",
            CustomerMasterKeySpec::EccNistP384 => "ECC_NIST_P384",
            CustomerMasterKeySpec::EccNistP521 => "ECC_NIST_P521",
            CustomerMasterKeySpec::EccSecgP256k1 => "ECC_SECG_P256K1",
            CustomerMasterKeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            CustomerMasterKeySpec::Hmac224 => "HMAC_224",
            CustomerMasterKeySpec::Hmac256 => "HMAC_256",
            CustomerMasterKeySpec::Hmac384 => "HMAC_384",
            CustomerMasterKeySpec::Hmac512 => "HMAC_512",
            CustomerMasterKeySpec::Sm2 => "SM2",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSA_2048" => Some(CustomerMasterKeySpec::Rsa2048),
            "RSA_3072" => Some(CustomerMasterKeySpec::Rsa3072),
            "RSA_4096" => Some(CustomerMasterKeySpec::Rsa4096),
            "ECC_NIST_P256" => Some(CustomerMasterKeySpec::EccNistP256),
            "ECC_NIST_P384" => Some(CustomerMasterKeySpec::EccNistP384),
            "ECC_NIST_P521" => Some(CustomerMasterKeySpec::EccNistP521),
            "ECC_SECG_P256K1" => Some(CustomerMasterKeySpec::EccSecgP256k1),
            "SYMMETRIC_DEFAULT" => Some(CustomerMasterKeySpec::SymmetricDefault),
            "HMAC_224" => Some(CustomerMasterKeySpec::Hmac224),
            "HMAC_256" => Some(CustomerMasterKeySpec::Hmac256),
            "HMAC_384" => Some(CustomerMasterKeySpec::Hmac384),
            "HMAC_512" => Some(CustomerMasterKeySpec::Hmac512),
            "SM2" => Some(CustomerMasterKeySpec::Sm2),
            _ => None,
        }
    }
}
impl std::fmt::Display for CustomerMasterKeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for CustomerMasterKeySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for CustomerMasterKeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown CustomerMasterKeySpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKeyPairSpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    Sm2,
    EccNistEdwards25519,
    MlKem512,
    MlKem768,
    MlKem1024,
}
impl DataKeyPairSpec {
    pub const ALL: &'static [DataKeyPairSpec] = &[DataKeyPairSpec::Rsa2048, DataKeyPairSpec::Rsa3072, DataKeyPairSpec::Rsa4096, DataKeyPairSpec::EccNistP256, DataKeyPairSpec::EccNistP384, DataKeyPairSpec::EccNistP521, DataKeyPairSpec::EccSecgP256k1, DataKeyPairSpec::Sm2, DataKeyPairSpec::EccNistEdwards25519, DataKeyPairSpec::MlKem512, DataKeyPairSpec::MlKem768, DataKeyPairSpec::MlKem1024];
    pub const NAMES: &'static [&'static str] = &["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "SM2", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"];
    pub fn as_str(self) -> &'static str {
        match self {
            DataKeyPairSpec::Rsa2048 => "RSA_2048",
            DataKeyPairSpec::Rsa3072 => "RSA_3072",
            DataKeyPairSpec::Rsa4096 => "RSA_4096",
            DataKeyPairSpec::EccNistP256 => "ECC_NIST_P256",
            DataKeyPairSpec::EccNistP384 => "ECC_NIST_P384",
            DataKeyPairSpec::EccNistP521 => "ECC_NIST_P521",
            DataKeyPairSpec::EccSecgP256k1 => "ECC_SECG_P256K1",
            DataKeyPairSpec::Sm2 => "SM2",
            DataKeyPairSpec::EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
            DataKeyPairSpec::MlKem512 => "ML_KEM_512",
            DataKeyPairSpec::MlKem768 => "ML_KEM_768",
            DataKeyPairSpec::MlKem1024 => "ML_KEM_1024",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSA_2048" => Some(DataKeyPairSpec::Rsa2048),
            "RSA_3072" => Some(DataKeyPairSpec::Rsa3072),
            "RSA_4096" => Some(DataKeyPairSpec::Rsa4096),
            "ECC_NIST_P256" => Some(DataKeyPairSpec::EccNistP256),
            "ECC_NIST_P384" => Some(DataKeyPairSpec::EccNistP384),
            "ECC_NIST_P521" => Some(DataKeyPairSpec::EccNistP521),
            "ECC_SECG_P256K1" => Some(DataKeyPairSpec::EccSecgP256k1),
            "SM2" => Some(DataKeyPairSpec::Sm2),
            "ECC_NIST_EDWARDS25519" => Some(DataKeyPairSpec::EccNistEdwards25519),
            "ML_KEM_512" => Some(DataKeyPairSpec::MlKem512),
            "ML_KEM_768" => Some(DataKeyPairSpec::MlKem768),
            "ML_KEM_1024" => Some(DataKeyPairSpec::MlKem1024),
            _ => None,
        }
    }
}
impl std::fmt::Display for DataKeyPairSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for DataKeyPairSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for DataKeyPairSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown DataKeyPairSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DataKeySpec {
    Aes256,
    Aes128,
}
impl DataKeySpec {
    pub const ALL: &'static [DataKeySpec] = &[DataKeySpec::Aes256, DataKeySpec::Aes128];
    pub const NAMES: &'static [&'static str] = &["AES_256", "AES_128"];
    pub fn as_str(self) -> &'static str {
        match self {
            DataKeySpec::Aes256 => "AES_256",
            DataKeySpec::Aes128 => "AES_128",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AES_256" => Some(DataKeySpec::Aes256),
            "AES_128" => Some(DataKeySpec::Aes128),
            _ => None,
        }
    }
}
impl std::fmt::Display for DataKeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for DataKeySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for DataKeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown DataKeySpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DryRunModifierType {
    IgnoreCiphertext,
}
impl DryRunModifierType {
    pub const ALL: &'static [DryRunModifierType] = &[DryRunModifierType::IgnoreCiphertext];
    pub const NAMES: &'static [&'static str] = &["IGNORE_CIPHERTEXT"];
    pub fn as_str(self) -> &'static str {
        match self {
            DryRunModifierType::IgnoreCiphertext => "IGNORE_CIPHERTEXT",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IGNORE_CIPHERTEXT" => Some(DryRunModifierType::IgnoreCiphertext),
            _ => None,
        }
    }
}
impl std::fmt::Display for DryRunModifierType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for DryRunModifierType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for DryRunModifierType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown DryRunModifierType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EncapsulationAlgorithmSpec {
    MlKem,
}
impl EncapsulationAlgorithmSpec {
    pub const ALL: &'static [EncapsulationAlgorithmSpec] = &[EncapsulationAlgorithmSpec::MlKem];
    pub const NAMES: &'static [&'static str] = &["ML_KEM"];
    pub fn as_str(self) -> &'static str {
        match self {
            EncapsulationAlgorithmSpec::MlKem => "ML_KEM",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ML_KEM" => Some(EncapsulationAlgorithmSpec::MlKem),
            _ => None,
        }
    }
}
impl std::fmt::Display for EncapsulationAlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for EncapsulationAlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for EncapsulationAlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown EncapsulationAlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EncryptionAlgorithmSpec {
    SymmetricDefault,
    RsaesOaepSha1,
    RsaesOaepSha256,
    Sm2pke,
}
impl EncryptionAlgorithmSpec {
    pub const ALL: &'static [EncryptionAlgorithmSpec] = &[EncryptionAlgorithmSpec::SymmetricDefault, EncryptionAlgorithmSpec::RsaesOaepSha1, EncryptionAlgorithmSpec::RsaesOaepSha256, EncryptionAlgorithmSpec::Sm2pke];
    pub const NAMES: &'static [&'static str] = &["SYMMETRIC_DEFAULT", "RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256", "SM2PKE"];
    pub fn as_str(self) -> &'static str {
        match self {
            EncryptionAlgorithmSpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            EncryptionAlgorithmSpec::RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
            EncryptionAlgorithmSpec::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
            EncryptionAlgorithmSpec::Sm2pke => "SM2PKE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SYMMETRIC_DEFAULT" => Some(EncryptionAlgorithmSpec::SymmetricDefault),
            "RSAES_OAEP_SHA_1" => Some(EncryptionAlgorithmSpec::RsaesOaepSha1),
            "RSAES_OAEP_SHA_256" => Some(EncryptionAlgorithmSpec::RsaesOaepSha256),
            "SM2PKE" => Some(EncryptionAlgorithmSpec::Sm2pke),
            _ => None,
        }
    }
}
impl std::fmt::Display for EncryptionAlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for EncryptionAlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for EncryptionAlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown EncryptionAlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ExpirationModelType {
    KeyMaterialExpires,
    KeyMaterialDoesNotExpire,
}
impl ExpirationModelType {
    pub const ALL: &'static [ExpirationModelType] = &[ExpirationModelType::KeyMaterialExpires, ExpirationModelType::KeyMaterialDoesNotExpire];
    pub const NAMES: &'static [&'static str] = &["KEY_MATERIAL_EXPIRES", "KEY_MATERIAL_DOES_NOT_EXPIRE"];
    pub fn as_str(self) -> &'static str {
        match self {
            ExpirationModelType::KeyMaterialExpires => "KEY_MATERIAL_EXPIRES",
            ExpirationModelType::KeyMaterialDoesNotExpire => "KEY_MATERIAL_DOES_NOT_EXPIRE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "KEY_MATERIAL_EXPIRES" => Some(ExpirationModelType::KeyMaterialExpires),
            "KEY_MATERIAL_DOES_NOT_EXPIRE" => Some(ExpirationModelType::KeyMaterialDoesNotExpire),
            _ => None,
        }
    }
}
impl std::fmt::Display for ExpirationModelType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ExpirationModelType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ExpirationModelType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ExpirationModelType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GrantOperation {
    Decrypt,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyWithoutPlaintext,
    ReEncryptFrom,
    ReEncryptTo,
    Sign,
    Verify,
    GetPublicKey,
    CreateGrant,
    RetireGrant,
    DescribeKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateMac,
    VerifyMac,
    DeriveSharedSecret,
    Encapsulate,
    Decapsulate,
}
impl GrantOperation {
    pub const ALL: &'static [GrantOperation] = &[GrantOperation::Decrypt, GrantOperation::Encrypt, GrantOperation::GenerateDataKey, GrantOperation::GenerateDataKeyWithoutPlaintext, GrantOperation::ReEncryptFrom, GrantOperation::ReEncryptTo, GrantOperation::Sign, GrantOperation::Verify, GrantOperation::GetPublicKey, GrantOperation::CreateGrant, GrantOperation::RetireGrant, GrantOperation::DescribeKey, GrantOperation::GenerateDataKeyPair, GrantOperation::GenerateDataKeyPairWithoutPlaintext, GrantOperation::GenerateMac, GrantOperation::VerifyMac, GrantOperation::DeriveSharedSecret, GrantOperation::Encapsulate, GrantOperation::Decapsulate];
    pub const NAMES: &'static [&'static str] = &["Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext", "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant", "RetireGrant", "DescribeKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac", "DeriveSharedSecret", "Encapsulate", "Decapsulate"];
    pub fn as_str(self) -> &'static str {
        match self {
            GrantOperation::Decrypt => "Decrypt",
            GrantOperation::Encrypt => "Encrypt",
            GrantOperation::GenerateDataKey => "GenerateDataKey",
            GrantOperation::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            GrantOperation::ReEncryptFrom => "ReEncryptFrom",
            GrantOperation::ReEncryptTo => "ReEncryptTo",
            GrantOperation::Sign => "Sign",
            GrantOperation::Verify => "Verify",
            GrantOperation::GetPublicKey => "GetPublicKey",
            GrantOperation::CreateGrant => "CreateGrant",
            GrantOperation::RetireGrant => "RetireGrant",
            GrantOperation::DescribeKey => "DescribeKey",
            GrantOperation::GenerateDataKeyPair => "GenerateDataKeyPair",
            GrantOperation::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
            GrantOperation::GenerateMac => "GenerateMac",
            GrantOperation::VerifyMac => "VerifyMac",
            GrantOperation::DeriveSharedSecret => "DeriveSharedSecret",
            GrantOperation::Encapsulate => "Encapsulate",
            GrantOperation::Decapsulate => "Decapsulate",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Decrypt" => Some(GrantOperation::Decrypt),
            "Encrypt" => Some(GrantOperation::Encrypt),
            "GenerateDataKey" => Some(GrantOperation::GenerateDataKey),
            "GenerateDataKeyWithoutPlaintext" => Some(GrantOperation::GenerateDataKeyWithoutPlaintext),
            "ReEncryptFrom" => Some(GrantOperation::ReEncryptFrom),
            "ReEncryptTo" => Some(GrantOperation::ReEncryptTo),
            "Sign" => Some(GrantOperation::Sign),
            "Verify" => Some(GrantOperation::Verify),
            "GetPublicKey" => Some(GrantOperation::GetPublicKey),
            "CreateGrant" => Some(GrantOperation::CreateGrant),
            "RetireGrant" => Some(GrantOperation::RetireGrant),
            "DescribeKey" => Some(GrantOperation::DescribeKey),
            "GenerateDataKeyPair" => Some(GrantOperation::GenerateDataKeyPair),
            "GenerateDataKeyPairWithoutPlaintext" => Some(GrantOperation::GenerateDataKeyPairWithoutPlaintext),
            "GenerateMac" => Some(GrantOperation::GenerateMac),
            "VerifyMac" => Some(GrantOperation::VerifyMac),
            "DeriveSharedSecret" => Some(GrantOperation::DeriveSharedSecret),
            "Encapsulate" => Some(GrantOperation::Encapsulate),
            "Decapsulate" => Some(GrantOperation::Decapsulate),
            _ => None,
        }
    }
}
impl std::fmt::Display for GrantOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for GrantOperation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for GrantOperation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown GrantOperation value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportState {
    Imported,
    PendingImport,
}
impl ImportState {
    pub const ALL: &'static [ImportState] = &[ImportState::Imported, ImportState::PendingImport];
    pub const NAMES: &'static [&'static str] = &["IMPORTED", "PENDING_IMPORT"];
    pub fn as_str(self) -> &'static str {
        match self {
            ImportState::Imported => "IMPORTED",
            ImportState::PendingImport => "PENDING_IMPORT",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "IMPORTED" => Some(ImportState::Imported),
            "PENDING_IMPORT" => Some(ImportState::PendingImport),
            _ => None,
        }
    }
}
impl std::fmt::Display for ImportState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ImportState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ImportState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ImportState value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ImportType {
    NewKeyMaterial,
    ExistingKeyMaterial,
}
impl ImportType {
    pub const ALL: &'static [ImportType] = &[ImportType::NewKeyMaterial, ImportType::ExistingKeyMaterial];
    pub const NAMES: &'static [&'static str] = &["NEW_KEY_MATERIAL", "EXISTING_KEY_MATERIAL"];
    pub fn as_str(self) -> &'static str {
        match self {
            ImportType::NewKeyMaterial => "NEW_KEY_MATERIAL",
            ImportType::ExistingKeyMaterial => "EXISTING_KEY_MATERIAL",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NEW_KEY_MATERIAL" => Some(ImportType::NewKeyMaterial),
            "EXISTING_KEY_MATERIAL" => Some(ImportType::ExistingKeyMaterial),
            _ => None,
        }
    }
}
impl std::fmt::Display for ImportType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ImportType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ImportType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ImportType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncludeKeyMaterial {
    AllKeyMaterial,
    RotationsOnly,
}
impl IncludeKeyMaterial {
    pub const ALL: &'static [IncludeKeyMaterial] = &[IncludeKeyMaterial::AllKeyMaterial, IncludeKeyMaterial::RotationsOnly];
    pub const NAMES: &'static [&'static str] = &["ALL_KEY_MATERIAL", "ROTATIONS_ONLY"];
    pub fn as_str(self) -> &'static str {
        match self {
            IncludeKeyMaterial::AllKeyMaterial => "ALL_KEY_MATERIAL",
            IncludeKeyMaterial::RotationsOnly => "ROTATIONS_ONLY",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ALL_KEY_MATERIAL" => Some(IncludeKeyMaterial::AllKeyMaterial),
            "ROTATIONS_ONLY" => Some(IncludeKeyMaterial::RotationsOnly),
            _ => None,
        }
    }
}
impl std::fmt::Display for IncludeKeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for IncludeKeyMaterial {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for IncludeKeyMaterial {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown IncludeKeyMaterial value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyAgreementAlgorithmSpec {
    Ecdh,
}
impl KeyAgreementAlgorithmSpec {
    pub const ALL: &'static [KeyAgreementAlgorithmSpec] = &[KeyAgreementAlgorithmSpec::Ecdh];
    pub const NAMES: &'static [&'static str] = &["ECDH"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyAgreementAlgorithmSpec::Ecdh => "ECDH",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "ECDH" => Some(KeyAgreementAlgorithmSpec::Ecdh),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyAgreementAlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyAgreementAlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyAgreementAlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyAgreementAlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyEncryptionMechanism {
    RsaesOaepSha256,
}
impl KeyEncryptionMechanism {
    pub const ALL: &'static [KeyEncryptionMechanism] = &[KeyEncryptionMechanism::RsaesOaepSha256];
    pub const NAMES: &'static [&'static str] = &["RSAES_OAEP_SHA_256"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyEncryptionMechanism::RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSAES_OAEP_SHA_256" => Some(KeyEncryptionMechanism::RsaesOaepSha256),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyEncryptionMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyEncryptionMechanism {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyEncryptionMechanism {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyEncryptionMechanism value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyLastUsageTrackingOperation {
    Decrypt,
    DeriveSharedSecret,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    ReEncrypt,
    Sign,
    Verify,
    VerifyMac,
    Encapsulate,
    Decapsulate,
}
impl KeyLastUsageTrackingOperation {
    pub const ALL: &'static [KeyLastUsageTrackingOperation] = &[KeyLastUsageTrackingOperation::Decrypt, KeyLastUsageTrackingOperation::DeriveSharedSecret, KeyLastUsageTrackingOperation::Encrypt, KeyLastUsageTrackingOperation::GenerateDataKey, KeyLastUsageTrackingOperation::GenerateDataKeyPair, KeyLastUsageTrackingOperation::GenerateDataKeyPairWithoutPlaintext, KeyLastUsageTrackingOperation::GenerateDataKeyWithoutPlaintext, KeyLastUsageTrackingOperation::GenerateMac, KeyLastUsageTrackingOperation::ReEncrypt, KeyLastUsageTrackingOperation::Sign, KeyLastUsageTrackingOperation::Verify, KeyLastUsageTrackingOperation::VerifyMac, KeyLastUsageTrackingOperation::Encapsulate, KeyLastUsageTrackingOperation::Decapsulate];
    pub const NAMES: &'static [&'static str] = &["Decrypt", "DeriveSharedSecret", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac", "ReEncrypt", "Sign", "Verify", "VerifyMac", "Encapsulate", "Decapsulate"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyLastUsageTrackingOperation::Decrypt => "Decrypt",
            KeyLastUsageTrackingOperation::DeriveSharedSecret => "DeriveSharedSecret",
            KeyLastUsageTrackingOperation::Encrypt => "Encrypt",
            KeyLastUsageTrackingOperation::GenerateDataKey => "GenerateDataKey",
            KeyLastUsageTrackingOperation::GenerateDataKeyPair => "GenerateDataKeyPair",
            KeyLastUsageTrackingOperation::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
            KeyLastUsageTrackingOperation::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            KeyLastUsageTrackingOperation::GenerateMac => "GenerateMac",
            KeyLastUsageTrackingOperation::ReEncrypt => "ReEncrypt",
            KeyLastUsageTrackingOperation::Sign => "Sign",
            KeyLastUsageTrackingOperation::Verify => "Verify",
            KeyLastUsageTrackingOperation::VerifyMac => "VerifyMac",
            KeyLastUsageTrackingOperation::Encapsulate => "Encapsulate",
            KeyLastUsageTrackingOperation::Decapsulate => "Decapsulate",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Decrypt" => Some(KeyLastUsageTrackingOperation::Decrypt),
            "DeriveSharedSecret" => Some(KeyLastUsageTrackingOperation::DeriveSharedSecret),
            "Encrypt" => Some(KeyLastUsageTrackingOperation::Encrypt),
            "GenerateDataKey" => Some(KeyLastUsageTrackingOperation::GenerateDataKey),
            "GenerateDataKeyPair" => Some(KeyLastUsageTrackingOperation::GenerateDataKeyPair),
            "GenerateDataKeyPairWithoutPlaintext" => Some(KeyLastUsageTrackingOperation::GenerateDataKeyPairWithoutPlaintext),
            "GenerateDataKeyWithoutPlaintext" => Some(KeyLastUsageTrackingOperation::GenerateDataKeyWithoutPlaintext),
            "GenerateMac" => Some(KeyLastUsageTrackingOperation::GenerateMac),
            "ReEncrypt" => Some(KeyLastUsageTrackingOperation::ReEncrypt),
            "Sign" => Some(KeyLastUsageTrackingOperation::Sign),
            "Verify" => Some(KeyLastUsageTrackingOperation::Verify),
            "VerifyMac" => Some(KeyLastUsageTrackingOperation::VerifyMac),
            "Encapsulate" => Some(KeyLastUsageTrackingOperation::Encapsulate),
            "Decapsulate" => Some(KeyLastUsageTrackingOperation::Decapsulate),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyLastUsageTrackingOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyLastUsageTrackingOperation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyLastUsageTrackingOperation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyLastUsageTrackingOperation value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyManagerType {
    Aws,
    Customer,
}
impl KeyManagerType {
    pub const ALL: &'static [KeyManagerType] = &[KeyManagerType::Aws, KeyManagerType::Customer];
    pub const NAMES: &'static [&'static str] = &["AWS", "CUSTOMER"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyManagerType::Aws => "AWS",
            KeyManagerType::Customer => "CUSTOMER",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AWS" => Some(KeyManagerType::Aws),
            "CUSTOMER" => Some(KeyManagerType::Customer),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyManagerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyManagerType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyManagerType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyManagerType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyMaterialState {
    NonCurrent,
    Current,
    PendingRotation,
    PendingMultiRegionImportAndRotation,
}
impl KeyMaterialState {
    pub const ALL: &'static [KeyMaterialState] = &[KeyMaterialState::NonCurrent, KeyMaterialState::Current, KeyMaterialState::PendingRotation, KeyMaterialState::PendingMultiRegionImportAndRotation];
    pub const NAMES: &'static [&'static str] = &["NON_CURRENT", "CURRENT", "PENDING_ROTATION", "PENDING_MULTI_REGION_IMPORT_AND_ROTATION"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyMaterialState::NonCurrent => "NON_CURRENT",
            KeyMaterialState::Current => "CURRENT",
            KeyMaterialState::PendingRotation => "PENDING_ROTATION",
            KeyMaterialState::PendingMultiRegionImportAndRotation => "PENDING_MULTI_REGION_IMPORT_AND_ROTATION",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "NON_CURRENT" => Some(KeyMaterialState::NonCurrent),
            "CURRENT" => Some(KeyMaterialState::Current),
            "PENDING_ROTATION" => Some(KeyMaterialState::PendingRotation),
            "PENDING_MULTI_REGION_IMPORT_AND_ROTATION" => Some(KeyMaterialState::PendingMultiRegionImportAndRotation),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyMaterialState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyMaterialState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyMaterialState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyMaterialState value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeySpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    EccNistP256,
    EccNistP384,
    EccNistP521,
    EccSecgP256k1,
    SymmetricDefault,
    Hmac224,
    Hmac256,
    Hmac384,
    Hmac512,
    Sm2,
    MlDsa44,
    MlDsa65,
    MlDsa87,
    EccNistEdwards25519,
    MlKem512,
    MlKem768,
    MlKem1024,
}
impl KeySpec {
    pub const ALL: &'static [KeySpec] = &[KeySpec::Rsa2048, KeySpec::Rsa3072, KeySpec::Rsa4096, KeySpec::EccNistP256, KeySpec::EccNistP384, KeySpec::EccNistP521, KeySpec::EccSecgP256k1, KeySpec::SymmetricDefault, KeySpec::Hmac224, KeySpec::Hmac256, KeySpec::Hmac384, KeySpec::Hmac512, KeySpec::Sm2, KeySpec::MlDsa44, KeySpec::MlDsa65, KeySpec::MlDsa87, KeySpec::EccNistEdwards25519, KeySpec::MlKem512, KeySpec::MlKem768, KeySpec::MlKem1024];
    pub const NAMES: &'static [&'static str] = &["RSA_2048", "RSA_3072", "RSA_4096", "ECC_NIST_P256", "ECC_NIST_P384", "ECC_NIST_P521", "ECC_SECG_P256K1", "SYMMETRIC_DEFAULT", "HMAC_224", "HMAC_256", "HMAC_384", "HMAC_512", "SM2", "ML_DSA_44", "ML_DSA_65", "ML_DSA_87", "ECC_NIST_EDWARDS25519", "ML_KEM_512", "ML_KEM_768", "ML_KEM_1024"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeySpec::Rsa2048 => "RSA_2048",
            KeySpec::Rsa3072 => "RSA_3072",
            KeySpec::Rsa4096 => "RSA_4096",
            KeySpec::EccNistP256 => "ECC_NIST_P256",
            KeySpec::EccNistP384 => "ECC_NIST_P384",
            KeySpec::EccNistP521 => "ECC_NIST_P521",
            KeySpec::EccSecgP256k1 => "ECC_SECG_P256K1",
            KeySpec::SymmetricDefault => "SYMMETRIC_DEFAULT",
            KeySpec::Hmac224 => "HMAC_224",
            KeySpec::Hmac256 => "HMAC_256",
            KeySpec::Hmac384 => "HMAC_384",
            KeySpec::Hmac512 => "HMAC_512",
            KeySpec::Sm2 => "SM2",
            KeySpec::MlDsa44 => "ML_DSA_44",
            KeySpec::MlDsa65 => "ML_DSA_65",
            KeySpec::MlDsa87 => "ML_DSA_87",
            KeySpec::EccNistEdwards25519 => "ECC_NIST_EDWARDS25519",
            KeySpec::MlKem512 => "ML_KEM_512",
            KeySpec::MlKem768 => "ML_KEM_768",
            KeySpec::MlKem1024 => "ML_KEM_1024",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSA_2048" => Some(KeySpec::Rsa2048),
            "RSA_3072" => Some(KeySpec::Rsa3072),
            "RSA_4096" => Some(KeySpec::Rsa4096),
            "ECC_NIST_P256" => Some(KeySpec::EccNistP256),
            "ECC_NIST_P384" => Some(KeySpec::EccNistP384),
            "ECC_NIST_P521" => Some(KeySpec::EccNistP521),
            "ECC_SECG_P256K1" => Some(KeySpec::EccSecgP256k1),
            "SYMMETRIC_DEFAULT" => Some(KeySpec::SymmetricDefault),
            "HMAC_224" => Some(KeySpec::Hmac224),
            "HMAC_256" => Some(KeySpec::Hmac256),
            "HMAC_384" => Some(KeySpec::Hmac384),
            "HMAC_512" => Some(KeySpec::Hmac512),
            "SM2" => Some(KeySpec::Sm2),
            "ML_DSA_44" => Some(KeySpec::MlDsa44),
            "ML_DSA_65" => Some(KeySpec::MlDsa65),
            "ML_DSA_87" => Some(KeySpec::MlDsa87),
            "ECC_NIST_EDWARDS25519" => Some(KeySpec::EccNistEdwards25519),
            "ML_KEM_512" => Some(KeySpec::MlKem512),
            "ML_KEM_768" => Some(KeySpec::MlKem768),
            "ML_KEM_1024" => Some(KeySpec::MlKem1024),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeySpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyState {
    Creating,
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
    PendingReplicaDeletion,
    Unavailable,
    Updating,
}
impl KeyState {
    pub const ALL: &'static [KeyState] = &[KeyState::Creating, KeyState::Enabled, KeyState::Disabled, KeyState::PendingDeletion, KeyState::PendingImport, KeyState::PendingReplicaDeletion, KeyState::Unavailable, KeyState::Updating];
    pub const NAMES: &'static [&'static str] = &["Creating", "Enabled", "Disabled", "PendingDeletion", "PendingImport", "PendingReplicaDeletion", "Unavailable", "Updating"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "Creating" => Some(KeyState::Creating),
            "Enabled" => Some(KeyState::Enabled),
            "Disabled" => Some(KeyState::Disabled),
            "PendingDeletion" => Some(KeyState::PendingDeletion),
            "PendingImport" => Some(KeyState::PendingImport),
            "PendingReplicaDeletion" => Some(KeyState::PendingReplicaDeletion),
            "Unavailable" => Some(KeyState::Unavailable),
            "Updating" => Some(KeyState::Updating),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyState {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyState {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyState value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyUsageType {
    SignVerify,
    EncryptDecrypt,
    GenerateVerifyMac,
    KeyAgreement,
    EncapsulateDecapsulate,
}
impl KeyUsageType {
    pub const ALL: &'static [KeyUsageType] = &[KeyUsageType::SignVerify, KeyUsageType::EncryptDecrypt, KeyUsageType::GenerateVerifyMac, KeyUsageType::KeyAgreement, KeyUsageType::EncapsulateDecapsulate];
    pub const NAMES: &'static [&'static str] = &["SIGN_VERIFY", "ENCRYPT_DECRYPT", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT", "ENCAPSULATE_DECAPSULATE"];
    pub fn as_str(self) -> &'static str {
        match self {
            KeyUsageType::SignVerify => "SIGN_VERIFY",
            KeyUsageType::EncryptDecrypt => "ENCRYPT_DECRYPT",
            KeyUsageType::GenerateVerifyMac => "GENERATE_VERIFY_MAC",
            KeyUsageType::KeyAgreement => "KEY_AGREEMENT",
            KeyUsageType::EncapsulateDecapsulate => "ENCAPSULATE_DECAPSULATE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SIGN_VERIFY" => Some(KeyUsageType::SignVerify),
            "ENCRYPT_DECRYPT" => Some(KeyUsageType::EncryptDecrypt),
            "GENERATE_VERIFY_MAC" => Some(KeyUsageType::GenerateVerifyMac),
            "KEY_AGREEMENT" => Some(KeyUsageType::KeyAgreement),
            "ENCAPSULATE_DECAPSULATE" => Some(KeyUsageType::EncapsulateDecapsulate),
            _ => None,
        }
    }
}
impl std::fmt::Display for KeyUsageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for KeyUsageType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for KeyUsageType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown KeyUsageType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MacAlgorithmSpec {
    HmacSha224,
    HmacSha256,
    HmacSha384,
    HmacSha512,
}
impl MacAlgorithmSpec {
    pub const ALL: &'static [MacAlgorithmSpec] = &[MacAlgorithmSpec::HmacSha224, MacAlgorithmSpec::HmacSha256, MacAlgorithmSpec::HmacSha384, MacAlgorithmSpec::HmacSha512];
    pub const NAMES: &'static [&'static str] = &["HMAC_SHA_224", "HMAC_SHA_256", "HMAC_SHA_384", "HMAC_SHA_512"];
    pub fn as_str(self) -> &'static str {
        match self {
            MacAlgorithmSpec::HmacSha224 => "HMAC_SHA_224",
            MacAlgorithmSpec::HmacSha256 => "HMAC_SHA_256",
            MacAlgorithmSpec::HmacSha384 => "HMAC_SHA_384",
            MacAlgorithmSpec::HmacSha512 => "HMAC_SHA_512",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "HMAC_SHA_224" => Some(MacAlgorithmSpec::HmacSha224),
            "HMAC_SHA_256" => Some(MacAlgorithmSpec::HmacSha256),
            "HMAC_SHA_384" => Some(MacAlgorithmSpec::HmacSha384),
            "HMAC_SHA_512" => Some(MacAlgorithmSpec::HmacSha512),
            _ => None,
        }
    }
}
impl std::fmt::Display for MacAlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for MacAlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for MacAlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown MacAlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MessageType {
    Raw,
    Digest,
    ExternalMu,
}
impl MessageType {
    pub const ALL: &'static [MessageType] = &[MessageType::Raw, MessageType::Digest, MessageType::ExternalMu];
    pub const NAMES: &'static [&'static str] = &["RAW", "DIGEST", "EXTERNAL_MU"];
    pub fn as_str(self) -> &'static str {
        match self {
            MessageType::Raw => "RAW",
            MessageType::Digest => "DIGEST",
            MessageType::ExternalMu => "EXTERNAL_MU",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RAW" => Some(MessageType::Raw),
            "DIGEST" => Some(MessageType::Digest),
            "EXTERNAL_MU" => Some(MessageType::ExternalMu),
            _ => None,
        }
    }
}
impl std::fmt::Display for MessageType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for MessageType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for MessageType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown MessageType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MultiRegionKeyType {
    Primary,
    Replica,
}
impl MultiRegionKeyType {
    pub const ALL: &'static [MultiRegionKeyType] = &[MultiRegionKeyType::Primary, MultiRegionKeyType::Replica];
    pub const NAMES: &'static [&'static str] = &["PRIMARY", "REPLICA"];
    pub fn as_str(self) -> &'static str {
        match self {
            MultiRegionKeyType::Primary => "PRIMARY",
            MultiRegionKeyType::Replica => "REPLICA",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PRIMARY" => Some(MultiRegionKeyType::Primary),
            "REPLICA" => Some(MultiRegionKeyType::Replica),
            _ => None,
        }
    }
}
impl std::fmt::Display for MultiRegionKeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for MultiRegionKeyType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for MultiRegionKeyType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown MultiRegionKeyType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OriginType {
    AwsKms,
    External,
    AwsCloudhsm,
    ExternalKeyStore,
}
impl OriginType {
    pub const ALL: &'static [OriginType] = &[OriginType::AwsKms, OriginType::External, OriginType::AwsCloudhsm, OriginType::ExternalKeyStore];
    pub const NAMES: &'static [&'static str] = &["AWS_KMS", "EXTERNAL", "AWS_CLOUDHSM", "EXTERNAL_KEY_STORE"];
    pub fn as_str(self) -> &'static str {
        match self {
            OriginType::AwsKms => "AWS_KMS",
            OriginType::External => "EXTERNAL",
            OriginType::AwsCloudhsm => "AWS_CLOUDHSM",
            OriginType::ExternalKeyStore => "EXTERNAL_KEY_STORE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AWS_KMS" => Some(OriginType::AwsKms),
            "EXTERNAL" => Some(OriginType::External),
            "AWS_CLOUDHSM" => Some(OriginType::AwsCloudhsm),
            "EXTERNAL_KEY_STORE" => Some(OriginType::ExternalKeyStore),
            _ => None,
        }
    }
}
impl std::fmt::Display for OriginType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for OriginType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for OriginType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown OriginType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ResourceOwnerType {
    SelfOwned,
    OtherAccountsViaRam,
}
impl ResourceOwnerType {
    pub const ALL: &'static [ResourceOwnerType] = &[ResourceOwnerType::SelfOwned, ResourceOwnerType::OtherAccountsViaRam];
    pub const NAMES: &'static [&'static str] = &["SELF", "OTHER_ACCOUNTS_VIA_RAM"];
    pub fn as_str(self) -> &'static str {
        match self {
            ResourceOwnerType::SelfOwned => "SELF",
            ResourceOwnerType::OtherAccountsViaRam => "OTHER_ACCOUNTS_VIA_RAM",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "SELF" => Some(ResourceOwnerType::SelfOwned),
            "OTHER_ACCOUNTS_VIA_RAM" => Some(ResourceOwnerType::OtherAccountsViaRam),
            _ => None,
        }
    }
}
impl std::fmt::Display for ResourceOwnerType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for ResourceOwnerType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for ResourceOwnerType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown ResourceOwnerType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RotationType {
    Automatic,
    OnDemand,
}
impl RotationType {
    pub const ALL: &'static [RotationType] = &[RotationType::Automatic, RotationType::OnDemand];
    pub const NAMES: &'static [&'static str] = &["AUTOMATIC", "ON_DEMAND"];
    pub fn as_str(self) -> &'static str {
        match self {
            RotationType::Automatic => "AUTOMATIC",
            RotationType::OnDemand => "ON_DEMAND",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "AUTOMATIC" => Some(RotationType::Automatic),
            "ON_DEMAND" => Some(RotationType::OnDemand),
            _ => None,
        }
    }
}
impl std::fmt::Display for RotationType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for RotationType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for RotationType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown RotationType value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SigningAlgorithmSpec {
    RsassaPssSha256,
    RsassaPssSha384,
    RsassaPssSha512,
    RsassaPkcs1V15Sha256,
    RsassaPkcs1V15Sha384,
    RsassaPkcs1V15Sha512,
    EcdsaSha256,
    EcdsaSha384,
    EcdsaSha512,
    Sm2dsa,
    MlDsaShake256,
    Ed25519Sha512,
    Ed25519PhSha512,
}
impl SigningAlgorithmSpec {
    pub const ALL: &'static [SigningAlgorithmSpec] = &[SigningAlgorithmSpec::RsassaPssSha256, SigningAlgorithmSpec::RsassaPssSha384, SigningAlgorithmSpec::RsassaPssSha512, SigningAlgorithmSpec::RsassaPkcs1V15Sha256, SigningAlgorithmSpec::RsassaPkcs1V15Sha384, SigningAlgorithmSpec::RsassaPkcs1V15Sha512, SigningAlgorithmSpec::EcdsaSha256, SigningAlgorithmSpec::EcdsaSha384, SigningAlgorithmSpec::EcdsaSha512, SigningAlgorithmSpec::Sm2dsa, SigningAlgorithmSpec::MlDsaShake256, SigningAlgorithmSpec::Ed25519Sha512, SigningAlgorithmSpec::Ed25519PhSha512];
    pub const NAMES: &'static [&'static str] = &["RSASSA_PSS_SHA_256", "RSASSA_PSS_SHA_384", "RSASSA_PSS_SHA_512", "RSASSA_PKCS1_V1_5_SHA_256", "RSASSA_PKCS1_V1_5_SHA_384", "RSASSA_PKCS1_V1_5_SHA_512", "ECDSA_SHA_256", "ECDSA_SHA_384", "ECDSA_SHA_512", "SM2DSA", "ML_DSA_SHAKE_256", "ED25519_SHA_512", "ED25519_PH_SHA_512"];
    pub fn as_str(self) -> &'static str {
        match self {
            SigningAlgorithmSpec::RsassaPssSha256 => "RSASSA_PSS_SHA_256",
            SigningAlgorithmSpec::RsassaPssSha384 => "RSASSA_PSS_SHA_384",
            SigningAlgorithmSpec::RsassaPssSha512 => "RSASSA_PSS_SHA_512",
            SigningAlgorithmSpec::RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
            SigningAlgorithmSpec::RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
            SigningAlgorithmSpec::RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
            SigningAlgorithmSpec::EcdsaSha256 => "ECDSA_SHA_256",
            SigningAlgorithmSpec::EcdsaSha384 => "ECDSA_SHA_384",
            SigningAlgorithmSpec::EcdsaSha512 => "ECDSA_SHA_512",
            SigningAlgorithmSpec::Sm2dsa => "SM2DSA",
            SigningAlgorithmSpec::MlDsaShake256 => "ML_DSA_SHAKE_256",
            SigningAlgorithmSpec::Ed25519Sha512 => "ED25519_SHA_512",
            SigningAlgorithmSpec::Ed25519PhSha512 => "ED25519_PH_SHA_512",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSASSA_PSS_SHA_256" => Some(SigningAlgorithmSpec::RsassaPssSha256),
            "RSASSA_PSS_SHA_384" => Some(SigningAlgorithmSpec::RsassaPssSha384),
            "RSASSA_PSS_SHA_512" => Some(SigningAlgorithmSpec::RsassaPssSha512),
            "RSASSA_PKCS1_V1_5_SHA_256" => Some(SigningAlgorithmSpec::RsassaPkcs1V15Sha256),
            "RSASSA_PKCS1_V1_5_SHA_384" => Some(SigningAlgorithmSpec::RsassaPkcs1V15Sha384),
            "RSASSA_PKCS1_V1_5_SHA_512" => Some(SigningAlgorithmSpec::RsassaPkcs1V15Sha512),
            "ECDSA_SHA_256" => Some(SigningAlgorithmSpec::EcdsaSha256),
            "ECDSA_SHA_384" => Some(SigningAlgorithmSpec::EcdsaSha384),
            "ECDSA_SHA_512" => Some(SigningAlgorithmSpec::EcdsaSha512),
            "SM2DSA" => Some(SigningAlgorithmSpec::Sm2dsa),
            "ML_DSA_SHAKE_256" => Some(SigningAlgorithmSpec::MlDsaShake256),
            "ED25519_SHA_512" => Some(SigningAlgorithmSpec::Ed25519Sha512),
            "ED25519_PH_SHA_512" => Some(SigningAlgorithmSpec::Ed25519PhSha512),
            _ => None,
        }
    }
}
impl std::fmt::Display for SigningAlgorithmSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for SigningAlgorithmSpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for SigningAlgorithmSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown SigningAlgorithmSpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WrappingKeySpec {
    Rsa2048,
    Rsa3072,
    Rsa4096,
    Sm2,
}
impl WrappingKeySpec {
    pub const ALL: &'static [WrappingKeySpec] = &[WrappingKeySpec::Rsa2048, WrappingKeySpec::Rsa3072, WrappingKeySpec::Rsa4096, WrappingKeySpec::Sm2];
    pub const NAMES: &'static [&'static str] = &["RSA_2048", "RSA_3072", "RSA_4096", "SM2"];
    pub fn as_str(self) -> &'static str {
        match self {
            WrappingKeySpec::Rsa2048 => "RSA_2048",
            WrappingKeySpec::Rsa3072 => "RSA_3072",
            WrappingKeySpec::Rsa4096 => "RSA_4096",
            WrappingKeySpec::Sm2 => "SM2",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "RSA_2048" => Some(WrappingKeySpec::Rsa2048),
            "RSA_3072" => Some(WrappingKeySpec::Rsa3072),
            "RSA_4096" => Some(WrappingKeySpec::Rsa4096),
            "SM2" => Some(WrappingKeySpec::Sm2),
            _ => None,
        }
    }
}
impl std::fmt::Display for WrappingKeySpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for WrappingKeySpec {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for WrappingKeySpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown WrappingKeySpec value {s}")))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum XksProxyConnectivityType {
    PublicEndpoint,
    VpcEndpointService,
}
impl XksProxyConnectivityType {
    pub const ALL: &'static [XksProxyConnectivityType] = &[XksProxyConnectivityType::PublicEndpoint, XksProxyConnectivityType::VpcEndpointService];
    pub const NAMES: &'static [&'static str] = &["PUBLIC_ENDPOINT", "VPC_ENDPOINT_SERVICE"];
    pub fn as_str(self) -> &'static str {
        match self {
            XksProxyConnectivityType::PublicEndpoint => "PUBLIC_ENDPOINT",
            XksProxyConnectivityType::VpcEndpointService => "VPC_ENDPOINT_SERVICE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "PUBLIC_ENDPOINT" => Some(XksProxyConnectivityType::PublicEndpoint),
            "VPC_ENDPOINT_SERVICE" => Some(XksProxyConnectivityType::VpcEndpointService),
            _ => None,
        }
    }
}
impl std::fmt::Display for XksProxyConnectivityType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str(self.as_str()) }
}
impl Serialize for XksProxyConnectivityType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
}
impl<'de> Deserialize<'de> for XksProxyConnectivityType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown XksProxyConnectivityType value {s}")))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AliasListEntry {
    #[serde(rename = "AliasName", skip_serializing_if = "Option::is_none")]
    pub alias_name: Option<String>,
    #[serde(rename = "AliasArn", skip_serializing_if = "Option::is_none")]
    pub alias_arn: Option<String>,
    #[serde(rename = "TargetKeyId", skip_serializing_if = "Option::is_none")]
    pub target_key_id: Option<String>,
    #[serde(rename = "CreationDate", skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Timestamp>,
    #[serde(rename = "LastUpdatedDate", skip_serializing_if = "Option::is_none")]
    pub last_updated_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CancelKeyDeletionRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CancelKeyDeletionRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl CancelKeyDeletionRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: CancelKeyDeletionRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CancelKeyDeletionResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCustomKeyStoreRequest {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ConnectCustomKeyStoreRequestWire {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
}
impl ConnectCustomKeyStoreRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ConnectCustomKeyStoreRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        Some(Self {
            custom_key_store_id: m_custom_key_store_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConnectCustomKeyStoreResponse {
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateAliasRequest {
    #[serde(rename = "AliasName")]
    pub alias_name: String,
    #[serde(rename = "TargetKeyId")]
    pub target_key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CreateAliasRequestWire {
    #[serde(rename = "AliasName")]
    pub alias_name: Option<String>,
    #[serde(rename = "TargetKeyId")]
    pub target_key_id: Option<String>,
}
impl CreateAliasRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: CreateAliasRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("aliasName");
        let m_alias_name = match wire.alias_name {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P0, "^[a-zA-Z0-9:/_-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("targetKeyId");
        let m_target_key_id = match wire.target_key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            alias_name: m_alias_name?,
            target_key_id: m_target_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateCustomKeyStoreRequest {
    #[serde(rename = "CustomKeyStoreName")]
    pub custom_key_store_name: String,
    #[serde(rename = "CloudHsmClusterId", skip_serializing_if = "Option::is_none")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "TrustAnchorCertificate", skip_serializing_if = "Option::is_none")]
    pub trust_anchor_certificate: Option<String>,
    #[serde(rename = "KeyStorePassword", skip_serializing_if = "Option::is_none")]
    pub key_store_password: Option<String>,
    #[serde(rename = "CustomKeyStoreType", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_type: Option<CustomKeyStoreType>,
    #[serde(rename = "XksProxyUriEndpoint", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_uri_endpoint: Option<String>,
    #[serde(rename = "XksProxyUriPath", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_uri_path: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceName", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceOwner", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_vpc_endpoint_service_owner: Option<String>,
    #[serde(rename = "XksProxyAuthenticationCredential", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_authentication_credential: Option<XksProxyAuthenticationCredentialType>,
    #[serde(rename = "XksProxyConnectivity", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_connectivity: Option<XksProxyConnectivityType>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CreateCustomKeyStoreRequestWire {
    #[serde(rename = "CustomKeyStoreName")]
    pub custom_key_store_name: Option<String>,
    #[serde(rename = "CloudHsmClusterId")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "TrustAnchorCertificate")]
    pub trust_anchor_certificate: Option<String>,
    #[serde(rename = "KeyStorePassword")]
    pub key_store_password: Option<String>,
    #[serde(rename = "CustomKeyStoreType")]
    pub custom_key_store_type: Option<String>,
    #[serde(rename = "XksProxyUriEndpoint")]
    pub xks_proxy_uri_endpoint: Option<String>,
    #[serde(rename = "XksProxyUriPath")]
    pub xks_proxy_uri_path: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceName")]
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceOwner")]
    pub xks_proxy_vpc_endpoint_service_owner: Option<String>,
    #[serde(rename = "XksProxyAuthenticationCredential")]
    pub xks_proxy_authentication_credential: Option<XksProxyAuthenticationCredentialTypeWire>,
    #[serde(rename = "XksProxyConnectivity")]
    pub xks_proxy_connectivity: Option<String>,
}
impl CreateCustomKeyStoreRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: CreateCustomKeyStoreRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreName");
        let m_custom_key_store_name = match wire.custom_key_store_name {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                (|| Some(value))()
            }
        };
        let p = path.member("cloudHsmClusterId");
        let m_cloud_hsm_cluster_id = match wire.cloud_hsm_cluster_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 19);
                errs.max_len_str(&p, &value, 24);
                errs.pattern(&p, &value, &pattern_table::P1, "cluster-[2-7a-zA-Z]{11,16}");
                (|| Some(value))()
            }
        };
        let p = path.member("trustAnchorCertificate");
        let m_trust_anchor_certificate = match wire.trust_anchor_certificate {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 5000);
                (|| Some(value))()
            }
        };
        let p = path.member("keyStorePassword");
        let m_key_store_password = match wire.key_store_password {
            None => None,
            Some(value) => {
                errs.min_len_str_secret(&p, &value, 7);
                errs.max_len_str_secret(&p, &value, 32);
                (|| Some(value))()
            }
        };
        let p = path.member("customKeyStoreType");
        let m_custom_key_store_type = match wire.custom_key_store_type {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<CustomKeyStoreType>(&p, &value, CustomKeyStoreType::parse, CustomKeyStoreType::NAMES)?))()
            }
        };
        let p = path.member("xksProxyUriEndpoint");
        let m_xks_proxy_uri_endpoint = match wire.xks_proxy_uri_endpoint {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 10);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P2, "^https://[a-zA-Z0-9.-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyUriPath");
        let m_xks_proxy_uri_path = match wire.xks_proxy_uri_path {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 10);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P3, "^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyVpcEndpointServiceName");
        let m_xks_proxy_vpc_endpoint_service_name = match wire.xks_proxy_vpc_endpoint_service_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 20);
                errs.max_len_str(&p, &value, 64);
                errs.pattern(&p, &value, &pattern_table::P4, "^(com|eu)\\.amazonaws\\.vpce\\.([a-z]+-){2,3}\\d+\\.vpce-svc-[0-9a-z]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyVpcEndpointServiceOwner");
        let m_xks_proxy_vpc_endpoint_service_owner = match wire.xks_proxy_vpc_endpoint_service_owner {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 12);
                errs.max_len_str(&p, &value, 12);
                errs.pattern(&p, &value, &pattern_table::P5, "[0-9]{12}");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyAuthenticationCredential");
        let m_xks_proxy_authentication_credential = match wire.xks_proxy_authentication_credential {
            None => None,
            Some(value) => {
                (|| Some(XksProxyAuthenticationCredentialType::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("xksProxyConnectivity");
        let m_xks_proxy_connectivity = match wire.xks_proxy_connectivity {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<XksProxyConnectivityType>(&p, &value, XksProxyConnectivityType::parse, XksProxyConnectivityType::NAMES)?))()
            }
        };
        Some(Self {
            custom_key_store_name: m_custom_key_store_name?,
            cloud_hsm_cluster_id: m_cloud_hsm_cluster_id,
            trust_anchor_certificate: m_trust_anchor_certificate,
            key_store_password: m_key_store_password,
            custom_key_store_type: m_custom_key_store_type,
            xks_proxy_uri_endpoint: m_xks_proxy_uri_endpoint,
            xks_proxy_uri_path: m_xks_proxy_uri_path,
            xks_proxy_vpc_endpoint_service_name: m_xks_proxy_vpc_endpoint_service_name,
            xks_proxy_vpc_endpoint_service_owner: m_xks_proxy_vpc_endpoint_service_owner,
            xks_proxy_authentication_credential: m_xks_proxy_authentication_credential,
            xks_proxy_connectivity: m_xks_proxy_connectivity,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateCustomKeyStoreResponse {
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateGrantRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "GranteePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_principal: Option<String>,
    #[serde(rename = "RetiringPrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    #[serde(rename = "Operations")]
    pub operations: Vec<GrantOperation>,
    #[serde(rename = "Constraints", skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(rename = "GranteeServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_service_principal: Option<String>,
    #[serde(rename = "RetiringServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_service_principal: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CreateGrantRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GranteePrincipal")]
    pub grantee_principal: Option<String>,
    #[serde(rename = "RetiringPrincipal")]
    pub retiring_principal: Option<String>,
    #[serde(rename = "Operations")]
    pub operations: Option<Vec<String>>,
    #[serde(rename = "Constraints")]
    pub constraints: Option<GrantConstraintsWire>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Name")]
    pub name: Option<String>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
    #[serde(rename = "GranteeServicePrincipal")]
    pub grantee_service_principal: Option<String>,
    #[serde(rename = "RetiringServicePrincipal")]
    pub retiring_service_principal: Option<String>,
}
impl CreateGrantRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: CreateGrantRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("granteePrincipal");
        let m_grantee_principal = match wire.grantee_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P6, "^[\\w+=,.@:/-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("retiringPrincipal");
        let m_retiring_principal = match wire.retiring_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P6, "^[\\w+=,.@:/-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("operations");
        let m_operations = match wire.operations {
            None => { errs.missing(&p); None }
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(errs.enum_value::<GrantOperation>(&item_path, &item, GrantOperation::parse, GrantOperation::NAMES)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("constraints");
        let m_constraints = match wire.constraints {
            None => None,
            Some(value) => {
                (|| Some(GrantConstraints::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("name");
        let m_name = match wire.name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P0, "^[a-zA-Z0-9:/_-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("granteeServicePrincipal");
        let m_grantee_service_principal = match wire.grantee_service_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P7, "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$");
                (|| Some(value))()
            }
        };
        let p = path.member("retiringServicePrincipal");
        let m_retiring_service_principal = match wire.retiring_service_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P7, "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            grantee_principal: m_grantee_principal,
            retiring_principal: m_retiring_principal,
            operations: m_operations?,
            constraints: m_constraints,
            grant_tokens: m_grant_tokens,
            name: m_name,
            dry_run: m_dry_run,
            grantee_service_principal: m_grantee_service_principal,
            retiring_service_principal: m_retiring_service_principal,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateGrantResponse {
    #[serde(rename = "GrantToken", skip_serializing_if = "Option::is_none")]
    pub grant_token: Option<String>,
    #[serde(rename = "GrantId", skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateKeyRequest {
    #[serde(rename = "Policy", skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "KeyUsage", skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<KeyUsageType>,
    #[serde(rename = "CustomerMasterKeySpec", skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<CustomerMasterKeySpec>,
    #[serde(rename = "KeySpec", skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<KeySpec>,
    #[serde(rename = "Origin", skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginType>,
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck", skip_serializing_if = "Option::is_none")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(rename = "MultiRegion", skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<bool>,
    #[serde(rename = "XksKeyId", skip_serializing_if = "Option::is_none")]
    pub xks_key_id: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct CreateKeyRequestWire {
    #[serde(rename = "Policy")]
    pub policy: Option<String>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "KeyUsage")]
    pub key_usage: Option<String>,
    #[serde(rename = "CustomerMasterKeySpec")]
    pub customer_master_key_spec: Option<String>,
    #[serde(rename = "KeySpec")]
    pub key_spec: Option<String>,
    #[serde(rename = "Origin")]
    pub origin: Option<String>,
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<TagWire>>,
    #[serde(rename = "MultiRegion")]
    pub multi_region: Option<bool>,
    #[serde(rename = "XksKeyId")]
    pub xks_key_id: Option<String>,
}
impl CreateKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: CreateKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("policy");
        let m_policy = match wire.policy {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 131072);
                errs.pattern(&p, &value, &pattern_table::P8, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                (|| Some(value))()
            }
        };
        let p = path.member("description");
        let m_description = match wire.description {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 0);
                errs.max_len_str(&p, &value, 8192);
                (|| Some(value))()
            }
        };
        let p = path.member("keyUsage");
        let m_key_usage = match wire.key_usage {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<KeyUsageType>(&p, &value, KeyUsageType::parse, KeyUsageType::NAMES)?))()
            }
        };
        let p = path.member("customerMasterKeySpec");
        let m_customer_master_key_spec = match wire.customer_master_key_spec {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<CustomerMasterKeySpec>(&p, &value, CustomerMasterKeySpec::parse, CustomerMasterKeySpec::NAMES)?))()
            }
        };
        let p = path.member("keySpec");
        let m_key_spec = match wire.key_spec {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<KeySpec>(&p, &value, KeySpec::parse, KeySpec::NAMES)?))()
            }
        };
        let p = path.member("origin");
        let m_origin = match wire.origin {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<OriginType>(&p, &value, OriginType::parse, OriginType::NAMES)?))()
            }
        };
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        let p = path.member("bypassPolicyLockoutSafetyCheck");
        let m_bypass_policy_lockout_safety_check = match wire.bypass_policy_lockout_safety_check {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("tags");
        let m_tags = match wire.tags {
            None => None,
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(Tag::from_wire(item, &item_path, errs)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("multiRegion");
        let m_multi_region = match wire.multi_region {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("xksKeyId");
        let m_xks_key_id = match wire.xks_key_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P9, "^[a-zA-Z0-9-_.]+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            policy: m_policy,
            description: m_description,
            key_usage: m_key_usage,
            customer_master_key_spec: m_customer_master_key_spec,
            key_spec: m_key_spec,
            origin: m_origin,
            custom_key_store_id: m_custom_key_store_id,
            bypass_policy_lockout_safety_check: m_bypass_policy_lockout_safety_check,
            tags: m_tags,
            multi_region: m_multi_region,
            xks_key_id: m_xks_key_id,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CreateKeyResponse {
    #[serde(rename = "KeyMetadata", skip_serializing_if = "Option::is_none")]
    pub key_metadata: Option<KeyMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CustomKeyStoresListEntry {
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "CustomKeyStoreName", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_name: Option<String>,
    #[serde(rename = "CloudHsmClusterId", skip_serializing_if = "Option::is_none")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "TrustAnchorCertificate", skip_serializing_if = "Option::is_none")]
    pub trust_anchor_certificate: Option<String>,
    #[serde(rename = "ConnectionState", skip_serializing_if = "Option::is_none")]
    pub connection_state: Option<ConnectionStateType>,
    #[serde(rename = "ConnectionErrorCode", skip_serializing_if = "Option::is_none")]
    pub connection_error_code: Option<ConnectionErrorCodeType>,
    #[serde(rename = "CreationDate", skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Timestamp>,
    #[serde(rename = "CustomKeyStoreType", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_type: Option<CustomKeyStoreType>,
    #[serde(rename = "XksProxyConfiguration", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_configuration: Option<XksProxyConfigurationType>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DecapsulateRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "SharedSecretCiphertextBlob")]
    pub shared_secret_ciphertext_blob: Blob,
    #[serde(rename = "EncapsulationAlgorithm")]
    pub encapsulation_algorithm: EncapsulationAlgorithmSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DecapsulateRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "SharedSecretCiphertextBlob")]
    pub shared_secret_ciphertext_blob: Option<Blob>,
    #[serde(rename = "EncapsulationAlgorithm")]
    pub encapsulation_algorithm: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl DecapsulateRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DecapsulateRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("sharedSecretCiphertextBlob");
        let m_shared_secret_ciphertext_blob = match wire.shared_secret_ciphertext_blob {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("encapsulationAlgorithm");
        let m_encapsulation_algorithm = match wire.encapsulation_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<EncapsulationAlgorithmSpec>(&p, &value, EncapsulationAlgorithmSpec::parse, EncapsulationAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            shared_secret_ciphertext_blob: m_shared_secret_ciphertext_blob?,
            encapsulation_algorithm: m_encapsulation_algorithm?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecapsulateResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "SharedSecret", skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<Blob>,
    #[serde(rename = "EncapsulationAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithm: Option<EncapsulationAlgorithmSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecryptRequest {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "EncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "Recipient", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInfo>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(rename = "DryRunModifiers", skip_serializing_if = "Option::is_none")]
    pub dry_run_modifiers: Option<Vec<DryRunModifierType>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DecryptRequestWire {
    #[serde(rename = "CiphertextBlob")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "EncryptionAlgorithm")]
    pub encryption_algorithm: Option<String>,
    #[serde(rename = "Recipient")]
    pub recipient: Option<RecipientInfoWire>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
    #[serde(rename = "DryRunModifiers")]
    pub dry_run_modifiers: Option<Vec<String>>,
}
impl DecryptRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DecryptRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("ciphertextBlob");
        let m_ciphertext_blob = match wire.ciphertext_blob {
            None => None,
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionAlgorithm");
        let m_encryption_algorithm = match wire.encryption_algorithm {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<EncryptionAlgorithmSpec>(&p, &value, EncryptionAlgorithmSpec::parse, EncryptionAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("recipient");
        let m_recipient = match wire.recipient {
            None => None,
            Some(value) => {
                (|| Some(RecipientInfo::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("dryRunModifiers");
        let m_dry_run_modifiers = match wire.dry_run_modifiers {
            None => None,
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(errs.enum_value::<DryRunModifierType>(&item_path, &item, DryRunModifierType::parse, DryRunModifierType::NAMES)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            ciphertext_blob: m_ciphertext_blob,
            encryption_context: m_encryption_context,
            grant_tokens: m_grant_tokens,
            key_id: m_key_id,
            encryption_algorithm: m_encryption_algorithm,
            recipient: m_recipient,
            dry_run: m_dry_run,
            dry_run_modifiers: m_dry_run_modifiers,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DecryptResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "Plaintext", skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Blob>,
    #[serde(rename = "EncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "CiphertextForRecipient", skip_serializing_if = "Option::is_none")]
    pub ciphertext_for_recipient: Option<Blob>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteAliasRequest {
    #[serde(rename = "AliasName")]
    pub alias_name: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DeleteAliasRequestWire {
    #[serde(rename = "AliasName")]
    pub alias_name: Option<String>,
}
impl DeleteAliasRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DeleteAliasRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("aliasName");
        let m_alias_name = match wire.alias_name {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P0, "^[a-zA-Z0-9:/_-]+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            alias_name: m_alias_name?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteCustomKeyStoreRequest {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DeleteCustomKeyStoreRequestWire {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
}
impl DeleteCustomKeyStoreRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DeleteCustomKeyStoreRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        Some(Self {
            custom_key_store_id: m_custom_key_store_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteCustomKeyStoreResponse {
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteImportedKeyMaterialRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DeleteImportedKeyMaterialRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyMaterialId")]
    pub key_material_id: Option<String>,
}
impl DeleteImportedKeyMaterialRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DeleteImportedKeyMaterialRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("keyMaterialId");
        let m_key_material_id = match wire.key_material_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 64);
                errs.max_len_str(&p, &value, 64);
                errs.pattern(&p, &value, &pattern_table::P10, "^[a-f0-9]+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            key_material_id: m_key_material_id,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeleteImportedKeyMaterialResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeriveSharedSecretRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "KeyAgreementAlgorithm")]
    pub key_agreement_algorithm: KeyAgreementAlgorithmSpec,
    #[serde(rename = "PublicKey")]
    pub public_key: Blob,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(rename = "Recipient", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInfo>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DeriveSharedSecretRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyAgreementAlgorithm")]
    pub key_agreement_algorithm: Option<String>,
    #[serde(rename = "PublicKey")]
    pub public_key: Option<Blob>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
    #[serde(rename = "Recipient")]
    pub recipient: Option<RecipientInfoWire>,
}
impl DeriveSharedSecretRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DeriveSharedSecretRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("keyAgreementAlgorithm");
        let m_key_agreement_algorithm = match wire.key_agreement_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<KeyAgreementAlgorithmSpec>(&p, &value, KeyAgreementAlgorithmSpec::parse, KeyAgreementAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("publicKey");
        let m_public_key = match wire.public_key {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 8192);
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("recipient");
        let m_recipient = match wire.recipient {
            None => None,
            Some(value) => {
                (|| Some(RecipientInfo::from_wire(value, &p, errs)?))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            key_agreement_algorithm: m_key_agreement_algorithm?,
            public_key: m_public_key?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
            recipient: m_recipient,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeriveSharedSecretResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "SharedSecret", skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<Blob>,
    #[serde(rename = "CiphertextForRecipient", skip_serializing_if = "Option::is_none")]
    pub ciphertext_for_recipient: Option<Blob>,
    #[serde(rename = "KeyAgreementAlgorithm", skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithm: Option<KeyAgreementAlgorithmSpec>,
    #[serde(rename = "KeyOrigin", skip_serializing_if = "Option::is_none")]
    pub key_origin: Option<OriginType>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeCustomKeyStoresRequest {
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "CustomKeyStoreName", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_name: Option<String>,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DescribeCustomKeyStoresRequestWire {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "CustomKeyStoreName")]
    pub custom_key_store_name: Option<String>,
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
}
impl DescribeCustomKeyStoresRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DescribeCustomKeyStoresRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        let p = path.member("customKeyStoreName");
        let m_custom_key_store_name = match wire.custom_key_store_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                (|| Some(value))()
            }
        };
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        Some(Self {
            custom_key_store_id: m_custom_key_store_id,
            custom_key_store_name: m_custom_key_store_name,
            limit: m_limit,
            marker: m_marker,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeCustomKeyStoresResponse {
    #[serde(rename = "CustomKeyStores", skip_serializing_if = "Option::is_none")]
    pub custom_key_stores: Option<Vec<CustomKeyStoresListEntry>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DescribeKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
}
impl DescribeKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DescribeKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            grant_tokens: m_grant_tokens,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DescribeKeyResponse {
    #[serde(rename = "KeyMetadata", skip_serializing_if = "Option::is_none")]
    pub key_metadata: Option<KeyMetadata>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisableKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DisableKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl DisableKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DisableKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisableKeyRotationRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DisableKeyRotationRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl DisableKeyRotationRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DisableKeyRotationRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisconnectCustomKeyStoreRequest {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct DisconnectCustomKeyStoreRequestWire {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
}
impl DisconnectCustomKeyStoreRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: DisconnectCustomKeyStoreRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        Some(Self {
            custom_key_store_id: m_custom_key_store_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct DisconnectCustomKeyStoreResponse {
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnableKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EnableKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl EnableKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: EnableKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EnableKeyRotationRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "RotationPeriodInDays", skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i64>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EnableKeyRotationRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "RotationPeriodInDays")]
    pub rotation_period_in_days: Option<i64>,
}
impl EnableKeyRotationRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: EnableKeyRotationRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("rotationPeriodInDays");
        let m_rotation_period_in_days = match wire.rotation_period_in_days {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 90);
                errs.max_value(&p, *&value, 2560);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            rotation_period_in_days: m_rotation_period_in_days,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncapsulateRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "EncapsulationAlgorithm")]
    pub encapsulation_algorithm: EncapsulationAlgorithmSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EncapsulateRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "EncapsulationAlgorithm")]
    pub encapsulation_algorithm: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl EncapsulateRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: EncapsulateRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("encapsulationAlgorithm");
        let m_encapsulation_algorithm = match wire.encapsulation_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<EncapsulationAlgorithmSpec>(&p, &value, EncapsulationAlgorithmSpec::parse, EncapsulationAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            encapsulation_algorithm: m_encapsulation_algorithm?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncapsulateResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "SharedSecret", skip_serializing_if = "Option::is_none")]
    pub shared_secret: Option<Blob>,
    #[serde(rename = "SharedSecretCiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub shared_secret_ciphertext_blob: Option<Blob>,
    #[serde(rename = "EncapsulationAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithm: Option<EncapsulationAlgorithmSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncryptRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Plaintext")]
    pub plaintext: Blob,
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "EncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct EncryptRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Plaintext")]
    pub plaintext: Option<Blob>,
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "EncryptionAlgorithm")]
    pub encryption_algorithm: Option<String>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl EncryptRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: EncryptRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("plaintext");
        let m_plaintext = match wire.plaintext {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 4096);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("encryptionAlgorithm");
        let m_encryption_algorithm = match wire.encryption_algorithm {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<EncryptionAlgorithmSpec>(&p, &value, EncryptionAlgorithmSpec::parse, EncryptionAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            plaintext: m_plaintext?,
            encryption_context: m_encryption_context,
            grant_tokens: m_grant_tokens,
            encryption_algorithm: m_encryption_algorithm,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct EncryptResponse {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "EncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithm: Option<EncryptionAlgorithmSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateDataKeyPairRequest {
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "KeyPairSpec")]
    pub key_pair_spec: DataKeyPairSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Recipient", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInfo>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyPairRequestWire {
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyPairSpec")]
    pub key_pair_spec: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Recipient")]
    pub recipient: Option<RecipientInfoWire>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl GenerateDataKeyPairRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateDataKeyPairRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("keyPairSpec");
        let m_key_pair_spec = match wire.key_pair_spec {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<DataKeyPairSpec>(&p, &value, DataKeyPairSpec::parse, DataKeyPairSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("recipient");
        let m_recipient = match wire.recipient {
            None => None,
            Some(value) => {
                (|| Some(RecipientInfo::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            encryption_context: m_encryption_context,
            key_id: m_key_id?,
            key_pair_spec: m_key_pair_spec?,
            grant_tokens: m_grant_tokens,
            recipient: m_recipient,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyPairResponse {
    #[serde(rename = "PrivateKeyCiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub private_key_ciphertext_blob: Option<Blob>,
    #[serde(rename = "PrivateKeyPlaintext", skip_serializing_if = "Option::is_none")]
    pub private_key_plaintext: Option<Blob>,
    #[serde(rename = "PublicKey", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Blob>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyPairSpec", skip_serializing_if = "Option::is_none")]
    pub key_pair_spec: Option<DataKeyPairSpec>,
    #[serde(rename = "CiphertextForRecipient", skip_serializing_if = "Option::is_none")]
    pub ciphertext_for_recipient: Option<Blob>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateDataKeyPairWithoutPlaintextRequest {
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "KeyPairSpec")]
    pub key_pair_spec: DataKeyPairSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyPairWithoutPlaintextRequestWire {
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyPairSpec")]
    pub key_pair_spec: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl GenerateDataKeyPairWithoutPlaintextRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateDataKeyPairWithoutPlaintextRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("keyPairSpec");
        let m_key_pair_spec = match wire.key_pair_spec {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<DataKeyPairSpec>(&p, &value, DataKeyPairSpec::parse, DataKeyPairSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            encryption_context: m_encryption_context,
            key_id: m_key_id?,
            key_pair_spec: m_key_pair_spec?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyPairWithoutPlaintextResponse {
    #[serde(rename = "PrivateKeyCiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub private_key_ciphertext_blob: Option<Blob>,
    #[serde(rename = "PublicKey", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Blob>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyPairSpec", skip_serializing_if = "Option::is_none")]
    pub key_pair_spec: Option<DataKeyPairSpec>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "NumberOfBytes", skip_serializing_if = "Option::is_none")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "KeySpec", skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<DataKeySpec>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Recipient", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInfo>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "NumberOfBytes")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "KeySpec")]
    pub key_spec: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "Recipient")]
    pub recipient: Option<RecipientInfoWire>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl GenerateDataKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateDataKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("numberOfBytes");
        let m_number_of_bytes = match wire.number_of_bytes {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1024);
                (|| Some(value))()
            }
        };
        let p = path.member("keySpec");
        let m_key_spec = match wire.key_spec {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<DataKeySpec>(&p, &value, DataKeySpec::parse, DataKeySpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("recipient");
        let m_recipient = match wire.recipient {
            None => None,
            Some(value) => {
                (|| Some(RecipientInfo::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            encryption_context: m_encryption_context,
            number_of_bytes: m_number_of_bytes,
            key_spec: m_key_spec,
            grant_tokens: m_grant_tokens,
            recipient: m_recipient,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyResponse {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "Plaintext", skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Blob>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "CiphertextForRecipient", skip_serializing_if = "Option::is_none")]
    pub ciphertext_for_recipient: Option<Blob>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyWithoutPlaintextRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "EncryptionContext", skip_serializing_if = "Option::is_none")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeySpec", skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<DataKeySpec>,
    #[serde(rename = "NumberOfBytes", skip_serializing_if = "Option::is_none")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyWithoutPlaintextRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "EncryptionContext")]
    pub encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "KeySpec")]
    pub key_spec: Option<String>,
    #[serde(rename = "NumberOfBytes")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl GenerateDataKeyWithoutPlaintextRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateDataKeyWithoutPlaintextRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionContext");
        let m_encryption_context = match wire.encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("keySpec");
        let m_key_spec = match wire.key_spec {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<DataKeySpec>(&p, &value, DataKeySpec::parse, DataKeySpec::NAMES)?))()
            }
        };
        let p = path.member("numberOfBytes");
        let m_number_of_bytes = match wire.number_of_bytes {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1024);
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            encryption_context: m_encryption_context,
            key_spec: m_key_spec,
            number_of_bytes: m_number_of_bytes,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateDataKeyWithoutPlaintextResponse {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerateMacRequest {
    #[serde(rename = "Message")]
    pub message: Blob,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "MacAlgorithm")]
    pub mac_algorithm: MacAlgorithmSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateMacRequestWire {
    #[serde(rename = "Message")]
    pub message: Option<Blob>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "MacAlgorithm")]
    pub mac_algorithm: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl GenerateMacRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateMacRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("message");
        let m_message = match wire.message {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 4096);
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("macAlgorithm");
        let m_mac_algorithm = match wire.mac_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<MacAlgorithmSpec>(&p, &value, MacAlgorithmSpec::parse, MacAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            message: m_message?,
            key_id: m_key_id?,
            mac_algorithm: m_mac_algorithm?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateMacResponse {
    #[serde(rename = "Mac", skip_serializing_if = "Option::is_none")]
    pub mac: Option<Blob>,
    #[serde(rename = "MacAlgorithm", skip_serializing_if = "Option::is_none")]
    pub mac_algorithm: Option<MacAlgorithmSpec>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateRandomRequest {
    #[serde(rename = "NumberOfBytes", skip_serializing_if = "Option::is_none")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "Recipient", skip_serializing_if = "Option::is_none")]
    pub recipient: Option<RecipientInfo>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GenerateRandomRequestWire {
    #[serde(rename = "NumberOfBytes")]
    pub number_of_bytes: Option<i64>,
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "Recipient")]
    pub recipient: Option<RecipientInfoWire>,
}
impl GenerateRandomRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GenerateRandomRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("numberOfBytes");
        let m_number_of_bytes = match wire.number_of_bytes {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1024);
                (|| Some(value))()
            }
        };
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        let p = path.member("recipient");
        let m_recipient = match wire.recipient {
            None => None,
            Some(value) => {
                (|| Some(RecipientInfo::from_wire(value, &p, errs)?))()
            }
        };
        Some(Self {
            number_of_bytes: m_number_of_bytes,
            custom_key_store_id: m_custom_key_store_id,
            recipient: m_recipient,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GenerateRandomResponse {
    #[serde(rename = "Plaintext", skip_serializing_if = "Option::is_none")]
    pub plaintext: Option<Blob>,
    #[serde(rename = "CiphertextForRecipient", skip_serializing_if = "Option::is_none")]
    pub ciphertext_for_recipient: Option<Blob>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyLastUsageRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GetKeyLastUsageRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl GetKeyLastUsageRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GetKeyLastUsageRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyLastUsageResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyLastUsage", skip_serializing_if = "Option::is_none")]
    pub key_last_usage: Option<KeyLastUsageData>,
    #[serde(rename = "TrackingStartDate", skip_serializing_if = "Option::is_none")]
    pub tracking_start_date: Option<Timestamp>,
    #[serde(rename = "KeyCreationDate", skip_serializing_if = "Option::is_none")]
    pub key_creation_date: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyPolicyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "PolicyName", skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GetKeyPolicyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "PolicyName")]
    pub policy_name: Option<String>,
}
impl GetKeyPolicyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GetKeyPolicyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("policyName");
        let m_policy_name = match wire.policy_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P12, "[\\w]+");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            policy_name: m_policy_name,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyPolicyResponse {
    #[serde(rename = "Policy", skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(rename = "PolicyName", skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyRotationStatusRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GetKeyRotationStatusRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl GetKeyRotationStatusRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GetKeyRotationStatusRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetKeyRotationStatusResponse {
    #[serde(rename = "KeyRotationEnabled", skip_serializing_if = "Option::is_none")]
    pub key_rotation_enabled: Option<bool>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "RotationPeriodInDays", skip_serializing_if = "Option::is_none")]
    pub rotation_period_in_days: Option<i64>,
    #[serde(rename = "NextRotationDate", skip_serializing_if = "Option::is_none")]
    pub next_rotation_date: Option<Timestamp>,
    #[serde(rename = "OnDemandRotationStartDate", skip_serializing_if = "Option::is_none")]
    pub on_demand_rotation_start_date: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GetParametersForImportRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "WrappingAlgorithm")]
    pub wrapping_algorithm: AlgorithmSpec,
    #[serde(rename = "WrappingKeySpec")]
    pub wrapping_key_spec: WrappingKeySpec,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GetParametersForImportRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "WrappingAlgorithm")]
    pub wrapping_algorithm: Option<String>,
    #[serde(rename = "WrappingKeySpec")]
    pub wrapping_key_spec: Option<String>,
}
impl GetParametersForImportRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GetParametersForImportRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("wrappingAlgorithm");
        let m_wrapping_algorithm = match wire.wrapping_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<AlgorithmSpec>(&p, &value, AlgorithmSpec::parse, AlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("wrappingKeySpec");
        let m_wrapping_key_spec = match wire.wrapping_key_spec {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<WrappingKeySpec>(&p, &value, WrappingKeySpec::parse, WrappingKeySpec::NAMES)?))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            wrapping_algorithm: m_wrapping_algorithm?,
            wrapping_key_spec: m_wrapping_key_spec?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetParametersForImportResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "ImportToken", skip_serializing_if = "Option::is_none")]
    pub import_token: Option<Blob>,
    #[serde(rename = "PublicKey", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Blob>,
    #[serde(rename = "ParametersValidTo", skip_serializing_if = "Option::is_none")]
    pub parameters_valid_to: Option<Timestamp>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetPublicKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GetPublicKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
}
impl GetPublicKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GetPublicKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            grant_tokens: m_grant_tokens,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GetPublicKeyResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "PublicKey", skip_serializing_if = "Option::is_none")]
    pub public_key: Option<Blob>,
    #[serde(rename = "CustomerMasterKeySpec", skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<CustomerMasterKeySpec>,
    #[serde(rename = "KeySpec", skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<KeySpec>,
    #[serde(rename = "KeyUsage", skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<KeyUsageType>,
    #[serde(rename = "EncryptionAlgorithms", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<EncryptionAlgorithmSpec>>,
    #[serde(rename = "SigningAlgorithms", skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<SigningAlgorithmSpec>>,
    #[serde(rename = "KeyAgreementAlgorithms", skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<KeyAgreementAlgorithmSpec>>,
    #[serde(rename = "EncapsulationAlgorithms", skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<EncapsulationAlgorithmSpec>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrantConstraints {
    #[serde(rename = "EncryptionContextSubset", skip_serializing_if = "Option::is_none")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(rename = "EncryptionContextEquals", skip_serializing_if = "Option::is_none")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceArn", skip_serializing_if = "Option::is_none")]
    pub source_arn: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct GrantConstraintsWire {
    #[serde(rename = "EncryptionContextSubset")]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(rename = "EncryptionContextEquals")]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceArn")]
    pub source_arn: Option<String>,
}
impl GrantConstraints {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: GrantConstraintsWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("encryptionContextSubset");
        let m_encryption_context_subset = match wire.encryption_context_subset {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("encryptionContextEquals");
        let m_encryption_context_equals = match wire.encryption_context_equals {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("sourceArn");
        let m_source_arn = match wire.source_arn {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 20);
                errs.max_len_str(&p, &value, 512);
                errs.pattern(&p, &value, &pattern_table::P13, "^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            encryption_context_subset: m_encryption_context_subset,
            encryption_context_equals: m_encryption_context_equals,
            source_arn: m_source_arn,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct GrantListEntry {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantId", skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(rename = "Name", skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "CreationDate", skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Timestamp>,
    #[serde(rename = "GranteePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_principal: Option<String>,
    #[serde(rename = "RetiringPrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    #[serde(rename = "IssuingAccount", skip_serializing_if = "Option::is_none")]
    pub issuing_account: Option<String>,
    #[serde(rename = "Operations", skip_serializing_if = "Option::is_none")]
    pub operations: Option<Vec<GrantOperation>>,
    #[serde(rename = "Constraints", skip_serializing_if = "Option::is_none")]
    pub constraints: Option<GrantConstraints>,
    #[serde(rename = "GranteeServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_service_principal: Option<String>,
    #[serde(rename = "RetiringServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_service_principal: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportKeyMaterialRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "ImportToken")]
    pub import_token: Blob,
    #[serde(rename = "EncryptedKeyMaterial")]
    pub encrypted_key_material: Blob,
    #[serde(rename = "ValidTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(rename = "ExpirationModel", skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModelType>,
    #[serde(rename = "ImportType", skip_serializing_if = "Option::is_none")]
    pub import_type: Option<ImportType>,
    #[serde(rename = "KeyMaterialDescription", skip_serializing_if = "Option::is_none")]
    pub key_material_description: Option<String>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ImportKeyMaterialRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "ImportToken")]
    pub import_token: Option<Blob>,
    #[serde(rename = "EncryptedKeyMaterial")]
    pub encrypted_key_material: Option<Blob>,
    #[serde(rename = "ValidTo")]
    pub valid_to: Option<Timestamp>,
    #[serde(rename = "ExpirationModel")]
    pub expiration_model: Option<String>,
    #[serde(rename = "ImportType")]
    pub import_type: Option<String>,
    #[serde(rename = "KeyMaterialDescription")]
    pub key_material_description: Option<String>,
    #[serde(rename = "KeyMaterialId")]
    pub key_material_id: Option<String>,
}
impl ImportKeyMaterialRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ImportKeyMaterialRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("importToken");
        let m_import_token = match wire.import_token {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("encryptedKeyMaterial");
        let m_encrypted_key_material = match wire.encrypted_key_material {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("validTo");
        let m_valid_to = match wire.valid_to {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("expirationModel");
        let m_expiration_model = match wire.expiration_model {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<ExpirationModelType>(&p, &value, ExpirationModelType::parse, ExpirationModelType::NAMES)?))()
            }
        };
        let p = path.member("importType");
        let m_import_type = match wire.import_type {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<ImportType>(&p, &value, ImportType::parse, ImportType::NAMES)?))()
            }
        };
        let p = path.member("keyMaterialDescription");
        let m_key_material_description = match wire.key_material_description {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 0);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P14, "^[a-zA-Z0-9:/_\\s.-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("keyMaterialId");
        let m_key_material_id = match wire.key_material_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 64);
                errs.max_len_str(&p, &value, 64);
                errs.pattern(&p, &value, &pattern_table::P10, "^[a-f0-9]+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            import_token: m_import_token?,
            encrypted_key_material: m_encrypted_key_material?,
            valid_to: m_valid_to,
            expiration_model: m_expiration_model,
            import_type: m_import_type,
            key_material_description: m_key_material_description,
            key_material_id: m_key_material_id,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImportKeyMaterialResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyLastUsageData {
    #[serde(rename = "Operation", skip_serializing_if = "Option::is_none")]
    pub operation: Option<KeyLastUsageTrackingOperation>,
    #[serde(rename = "Timestamp", skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(rename = "CloudTrailEventId", skip_serializing_if = "Option::is_none")]
    pub cloud_trail_event_id: Option<String>,
    #[serde(rename = "KmsRequestId", skip_serializing_if = "Option::is_none")]
    pub kms_request_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyListEntry {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyArn", skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct KeyMetadata {
    #[serde(rename = "AWSAccountId", skip_serializing_if = "Option::is_none")]
    pub aws_account_id: Option<String>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "Arn", skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "CreationDate", skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Timestamp>,
    #[serde(rename = "Enabled", skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "KeyUsage", skip_serializing_if = "Option::is_none")]
    pub key_usage: Option<KeyUsageType>,
    #[serde(rename = "KeyState", skip_serializing_if = "Option::is_none")]
    pub key_state: Option<KeyState>,
    #[serde(rename = "DeletionDate", skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    #[serde(rename = "ValidTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(rename = "Origin", skip_serializing_if = "Option::is_none")]
    pub origin: Option<OriginType>,
    #[serde(rename = "CustomKeyStoreId", skip_serializing_if = "Option::is_none")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "CloudHsmClusterId", skip_serializing_if = "Option::is_none")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "ExpirationModel", skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModelType>,
    #[serde(rename = "KeyManager", skip_serializing_if = "Option::is_none")]
    pub key_manager: Option<KeyManagerType>,
    #[serde(rename = "CustomerMasterKeySpec", skip_serializing_if = "Option::is_none")]
    pub customer_master_key_spec: Option<CustomerMasterKeySpec>,
    #[serde(rename = "KeySpec", skip_serializing_if = "Option::is_none")]
    pub key_spec: Option<KeySpec>,
    #[serde(rename = "EncryptionAlgorithms", skip_serializing_if = "Option::is_none")]
    pub encryption_algorithms: Option<Vec<EncryptionAlgorithmSpec>>,
    #[serde(rename = "SigningAlgorithms", skip_serializing_if = "Option::is_none")]
    pub signing_algorithms: Option<Vec<SigningAlgorithmSpec>>,
    #[serde(rename = "KeyAgreementAlgorithms", skip_serializing_if = "Option::is_none")]
    pub key_agreement_algorithms: Option<Vec<KeyAgreementAlgorithmSpec>>,
    #[serde(rename = "EncapsulationAlgorithms", skip_serializing_if = "Option::is_none")]
    pub encapsulation_algorithms: Option<Vec<EncapsulationAlgorithmSpec>>,
    #[serde(rename = "MultiRegion", skip_serializing_if = "Option::is_none")]
    pub multi_region: Option<bool>,
    #[serde(rename = "MultiRegionConfiguration", skip_serializing_if = "Option::is_none")]
    pub multi_region_configuration: Option<MultiRegionConfiguration>,
    #[serde(rename = "PendingDeletionWindowInDays", skip_serializing_if = "Option::is_none")]
    pub pending_deletion_window_in_days: Option<i64>,
    #[serde(rename = "MacAlgorithms", skip_serializing_if = "Option::is_none")]
    pub mac_algorithms: Option<Vec<MacAlgorithmSpec>>,
    #[serde(rename = "XksKeyConfiguration", skip_serializing_if = "Option::is_none")]
    pub xks_key_configuration: Option<XksKeyConfigurationType>,
    #[serde(rename = "CurrentKeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub current_key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListAliasesRequest {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListAliasesRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
}
impl ListAliasesRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListAliasesRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id,
            limit: m_limit,
            marker: m_marker,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListAliasesResponse {
    #[serde(rename = "Aliases", skip_serializing_if = "Option::is_none")]
    pub aliases: Option<Vec<AliasListEntry>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListGrantsRequest {
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "GrantId", skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(rename = "GranteePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_principal: Option<String>,
    #[serde(rename = "GranteeServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub grantee_service_principal: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListGrantsRequestWire {
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantId")]
    pub grant_id: Option<String>,
    #[serde(rename = "GranteePrincipal")]
    pub grantee_principal: Option<String>,
    #[serde(rename = "GranteeServicePrincipal")]
    pub grantee_service_principal: Option<String>,
}
impl ListGrantsRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListGrantsRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("grantId");
        let m_grant_id = match wire.grant_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                (|| Some(value))()
            }
        };
        let p = path.member("granteePrincipal");
        let m_grantee_principal = match wire.grantee_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P6, "^[\\w+=,.@:/-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("granteeServicePrincipal");
        let m_grantee_service_principal = match wire.grantee_service_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P7, "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            limit: m_limit,
            marker: m_marker,
            key_id: m_key_id?,
            grant_id: m_grant_id,
            grantee_principal: m_grantee_principal,
            grantee_service_principal: m_grantee_service_principal,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListGrantsResponse {
    #[serde(rename = "Grants", skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantListEntry>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeyPoliciesRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListKeyPoliciesRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
}
impl ListKeyPoliciesRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListKeyPoliciesRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            limit: m_limit,
            marker: m_marker,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeyPoliciesResponse {
    #[serde(rename = "PolicyNames", skip_serializing_if = "Option::is_none")]
    pub policy_names: Option<Vec<String>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeyRotationsRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "IncludeKeyMaterial", skip_serializing_if = "Option::is_none")]
    pub include_key_material: Option<IncludeKeyMaterial>,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListKeyRotationsRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "IncludeKeyMaterial")]
    pub include_key_material: Option<String>,
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
}
impl ListKeyRotationsRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListKeyRotationsRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("includeKeyMaterial");
        let m_include_key_material = match wire.include_key_material {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<IncludeKeyMaterial>(&p, &value, IncludeKeyMaterial::parse, IncludeKeyMaterial::NAMES)?))()
            }
        };
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            include_key_material: m_include_key_material,
            limit: m_limit,
            marker: m_marker,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeyRotationsResponse {
    #[serde(rename = "Rotations", skip_serializing_if = "Option::is_none")]
    pub rotations: Option<Vec<RotationsListEntry>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeysRequest {
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(rename = "ResourceOwners", skip_serializing_if = "Option::is_none")]
    pub resource_owners: Option<Vec<ResourceOwnerType>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListKeysRequestWire {
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
    #[serde(rename = "ResourceOwners")]
    pub resource_owners: Option<Vec<String>>,
}
impl ListKeysRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListKeysRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        let p = path.member("resourceOwners");
        let m_resource_owners = match wire.resource_owners {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 1);
                errs.max_len_list(&p, &value, 2);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(errs.enum_value::<ResourceOwnerType>(&item_path, &item, ResourceOwnerType::parse, ResourceOwnerType::NAMES)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            limit: m_limit,
            marker: m_marker,
            resource_owners: m_resource_owners,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListKeysResponse {
    #[serde(rename = "Keys", skip_serializing_if = "Option::is_none")]
    pub keys: Option<Vec<KeyListEntry>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListResourceTagsRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListResourceTagsRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
}
impl ListResourceTagsRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListResourceTagsRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            limit: m_limit,
            marker: m_marker,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListResourceTagsResponse {
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
    #[serde(rename = "NextMarker", skip_serializing_if = "Option::is_none")]
    pub next_marker: Option<String>,
    #[serde(rename = "Truncated", skip_serializing_if = "Option::is_none")]
    pub truncated: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ListRetirableGrantsRequest {
    #[serde(rename = "Limit", skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker", skip_serializing_if = "Option::is_none")]
    pub marker: Option<String>,
    #[serde(rename = "RetiringPrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_principal: Option<String>,
    #[serde(rename = "RetiringServicePrincipal", skip_serializing_if = "Option::is_none")]
    pub retiring_service_principal: Option<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ListRetirableGrantsRequestWire {
    #[serde(rename = "Limit")]
    pub limit: Option<i64>,
    #[serde(rename = "Marker")]
    pub marker: Option<String>,
    #[serde(rename = "RetiringPrincipal")]
    pub retiring_principal: Option<String>,
    #[serde(rename = "RetiringServicePrincipal")]
    pub retiring_service_principal: Option<String>,
}
impl ListRetirableGrantsRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ListRetirableGrantsRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("limit");
        let m_limit = match wire.limit {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 1000);
                (|| Some(value))()
            }
        };
        let p = path.member("marker");
        let m_marker = match wire.marker {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 1024);
                errs.pattern(&p, &value, &pattern_table::P11, "[\\u0020-\\u00FF]*");
                (|| Some(value))()
            }
        };
        let p = path.member("retiringPrincipal");
        let m_retiring_principal = match wire.retiring_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P6, "^[\\w+=,.@:/-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("retiringServicePrincipal");
        let m_retiring_service_principal = match wire.retiring_service_principal {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P7, "^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            limit: m_limit,
            marker: m_marker,
            retiring_principal: m_retiring_principal,
            retiring_service_principal: m_retiring_service_principal,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiRegionConfiguration {
    #[serde(rename = "MultiRegionKeyType", skip_serializing_if = "Option::is_none")]
    pub multi_region_key_type: Option<MultiRegionKeyType>,
    #[serde(rename = "PrimaryKey", skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<MultiRegionKey>,
    #[serde(rename = "ReplicaKeys", skip_serializing_if = "Option::is_none")]
    pub replica_keys: Option<Vec<MultiRegionKey>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiRegionKey {
    #[serde(rename = "Arn", skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(rename = "Region", skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PutKeyPolicyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "PolicyName", skip_serializing_if = "Option::is_none")]
    pub policy_name: Option<String>,
    #[serde(rename = "Policy")]
    pub policy: String,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck", skip_serializing_if = "Option::is_none")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct PutKeyPolicyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "PolicyName")]
    pub policy_name: Option<String>,
    #[serde(rename = "Policy")]
    pub policy: Option<String>,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
}
impl PutKeyPolicyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: PutKeyPolicyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("policyName");
        let m_policy_name = match wire.policy_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P12, "[\\w]+");
                (|| Some(value))()
            }
        };
        let p = path.member("policy");
        let m_policy = match wire.policy {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 131072);
                errs.pattern(&p, &value, &pattern_table::P8, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                (|| Some(value))()
            }
        };
        let p = path.member("bypassPolicyLockoutSafetyCheck");
        let m_bypass_policy_lockout_safety_check = match wire.bypass_policy_lockout_safety_check {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            policy_name: m_policy_name,
            policy: m_policy?,
            bypass_policy_lockout_safety_check: m_bypass_policy_lockout_safety_check,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReEncryptRequest {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "SourceEncryptionContext", skip_serializing_if = "Option::is_none")]
    pub source_encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceKeyId", skip_serializing_if = "Option::is_none")]
    pub source_key_id: Option<String>,
    #[serde(rename = "DestinationKeyId")]
    pub destination_key_id: String,
    #[serde(rename = "DestinationEncryptionContext", skip_serializing_if = "Option::is_none")]
    pub destination_encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceEncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub source_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "DestinationEncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub destination_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
    #[serde(rename = "DryRunModifiers", skip_serializing_if = "Option::is_none")]
    pub dry_run_modifiers: Option<Vec<DryRunModifierType>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ReEncryptRequestWire {
    #[serde(rename = "CiphertextBlob")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "SourceEncryptionContext")]
    pub source_encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceKeyId")]
    pub source_key_id: Option<String>,
    #[serde(rename = "DestinationKeyId")]
    pub destination_key_id: Option<String>,
    #[serde(rename = "DestinationEncryptionContext")]
    pub destination_encryption_context: Option<BTreeMap<String, String>>,
    #[serde(rename = "SourceEncryptionAlgorithm")]
    pub source_encryption_algorithm: Option<String>,
    #[serde(rename = "DestinationEncryptionAlgorithm")]
    pub destination_encryption_algorithm: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
    #[serde(rename = "DryRunModifiers")]
    pub dry_run_modifiers: Option<Vec<String>>,
}
impl ReEncryptRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ReEncryptRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("ciphertextBlob");
        let m_ciphertext_blob = match wire.ciphertext_blob {
            None => None,
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("sourceEncryptionContext");
        let m_source_encryption_context = match wire.source_encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("sourceKeyId");
        let m_source_key_id = match wire.source_key_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("destinationKeyId");
        let m_destination_key_id = match wire.destination_key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("destinationEncryptionContext");
        let m_destination_encryption_context = match wire.destination_encryption_context {
            None => None,
            Some(value) => {
                for (k, v) in value.iter() {
                    let key_path = &p.map_key(k);
                    let value_path = &p.map_value(k);
                }
                (|| Some(value))()
            }
        };
        let p = path.member("sourceEncryptionAlgorithm");
        let m_source_encryption_algorithm = match wire.source_encryption_algorithm {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<EncryptionAlgorithmSpec>(&p, &value, EncryptionAlgorithmSpec::parse, EncryptionAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("destinationEncryptionAlgorithm");
        let m_destination_encryption_algorithm = match wire.destination_encryption_algorithm {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<EncryptionAlgorithmSpec>(&p, &value, EncryptionAlgorithmSpec::parse, EncryptionAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("dryRunModifiers");
        let m_dry_run_modifiers = match wire.dry_run_modifiers {
            None => None,
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(errs.enum_value::<DryRunModifierType>(&item_path, &item, DryRunModifierType::parse, DryRunModifierType::NAMES)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            ciphertext_blob: m_ciphertext_blob,
            source_encryption_context: m_source_encryption_context,
            source_key_id: m_source_key_id,
            destination_key_id: m_destination_key_id?,
            destination_encryption_context: m_destination_encryption_context,
            source_encryption_algorithm: m_source_encryption_algorithm,
            destination_encryption_algorithm: m_destination_encryption_algorithm,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
            dry_run_modifiers: m_dry_run_modifiers,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReEncryptResponse {
    #[serde(rename = "CiphertextBlob", skip_serializing_if = "Option::is_none")]
    pub ciphertext_blob: Option<Blob>,
    #[serde(rename = "SourceKeyId", skip_serializing_if = "Option::is_none")]
    pub source_key_id: Option<String>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "SourceEncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub source_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "DestinationEncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub destination_encryption_algorithm: Option<EncryptionAlgorithmSpec>,
    #[serde(rename = "SourceKeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub source_key_material_id: Option<String>,
    #[serde(rename = "DestinationKeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub destination_key_material_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RecipientInfo {
    #[serde(rename = "KeyEncryptionAlgorithm", skip_serializing_if = "Option::is_none")]
    pub key_encryption_algorithm: Option<KeyEncryptionMechanism>,
    #[serde(rename = "AttestationDocument", skip_serializing_if = "Option::is_none")]
    pub attestation_document: Option<Blob>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RecipientInfoWire {
    #[serde(rename = "KeyEncryptionAlgorithm")]
    pub key_encryption_algorithm: Option<String>,
    #[serde(rename = "AttestationDocument")]
    pub attestation_document: Option<Blob>,
}
impl RecipientInfo {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: RecipientInfoWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyEncryptionAlgorithm");
        let m_key_encryption_algorithm = match wire.key_encryption_algorithm {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<KeyEncryptionMechanism>(&p, &value, KeyEncryptionMechanism::parse, KeyEncryptionMechanism::NAMES)?))()
            }
        };
        let p = path.member("attestationDocument");
        let m_attestation_document = match wire.attestation_document {
            None => None,
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 262144);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_encryption_algorithm: m_key_encryption_algorithm,
            attestation_document: m_attestation_document,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplicateKeyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "ReplicaRegion")]
    pub replica_region: String,
    #[serde(rename = "Policy", skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck", skip_serializing_if = "Option::is_none")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
    #[serde(rename = "Description", skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(rename = "Tags", skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ReplicateKeyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "ReplicaRegion")]
    pub replica_region: Option<String>,
    #[serde(rename = "Policy")]
    pub policy: Option<String>,
    #[serde(rename = "BypassPolicyLockoutSafetyCheck")]
    pub bypass_policy_lockout_safety_check: Option<bool>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<TagWire>>,
}
impl ReplicateKeyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ReplicateKeyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("replicaRegion");
        let m_replica_region = match wire.replica_region {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 32);
                errs.pattern(&p, &value, &pattern_table::P15, "^([a-z]+-){2,3}\\d+$");
                (|| Some(value))()
            }
        };
        let p = path.member("policy");
        let m_policy = match wire.policy {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 131072);
                errs.pattern(&p, &value, &pattern_table::P8, "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+");
                (|| Some(value))()
            }
        };
        let p = path.member("bypassPolicyLockoutSafetyCheck");
        let m_bypass_policy_lockout_safety_check = match wire.bypass_policy_lockout_safety_check {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        let p = path.member("description");
        let m_description = match wire.description {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 0);
                errs.max_len_str(&p, &value, 8192);
                (|| Some(value))()
            }
        };
        let p = path.member("tags");
        let m_tags = match wire.tags {
            None => None,
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(Tag::from_wire(item, &item_path, errs)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            replica_region: m_replica_region?,
            policy: m_policy,
            bypass_policy_lockout_safety_check: m_bypass_policy_lockout_safety_check,
            description: m_description,
            tags: m_tags,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ReplicateKeyResponse {
    #[serde(rename = "ReplicaKeyMetadata", skip_serializing_if = "Option::is_none")]
    pub replica_key_metadata: Option<KeyMetadata>,
    #[serde(rename = "ReplicaPolicy", skip_serializing_if = "Option::is_none")]
    pub replica_policy: Option<String>,
    #[serde(rename = "ReplicaTags", skip_serializing_if = "Option::is_none")]
    pub replica_tags: Option<Vec<Tag>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RetireGrantRequest {
    #[serde(rename = "GrantToken", skip_serializing_if = "Option::is_none")]
    pub grant_token: Option<String>,
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantId", skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RetireGrantRequestWire {
    #[serde(rename = "GrantToken")]
    pub grant_token: Option<String>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantId")]
    pub grant_id: Option<String>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl RetireGrantRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: RetireGrantRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("grantToken");
        let m_grant_token = match wire.grant_token {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 8192);
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("grantId");
        let m_grant_id = match wire.grant_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                (|| Some(value))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            grant_token: m_grant_token,
            key_id: m_key_id,
            grant_id: m_grant_id,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RevokeGrantRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "GrantId")]
    pub grant_id: String,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RevokeGrantRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "GrantId")]
    pub grant_id: Option<String>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl RevokeGrantRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: RevokeGrantRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("grantId");
        let m_grant_id = match wire.grant_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                (|| Some(value))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            grant_id: m_grant_id?,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RotateKeyOnDemandRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct RotateKeyOnDemandRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
}
impl RotateKeyOnDemandRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: RotateKeyOnDemandRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RotateKeyOnDemandResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RotationsListEntry {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "KeyMaterialId", skip_serializing_if = "Option::is_none")]
    pub key_material_id: Option<String>,
    #[serde(rename = "KeyMaterialDescription", skip_serializing_if = "Option::is_none")]
    pub key_material_description: Option<String>,
    #[serde(rename = "ImportState", skip_serializing_if = "Option::is_none")]
    pub import_state: Option<ImportState>,
    #[serde(rename = "KeyMaterialState", skip_serializing_if = "Option::is_none")]
    pub key_material_state: Option<KeyMaterialState>,
    #[serde(rename = "ExpirationModel", skip_serializing_if = "Option::is_none")]
    pub expiration_model: Option<ExpirationModelType>,
    #[serde(rename = "ValidTo", skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    #[serde(rename = "RotationDate", skip_serializing_if = "Option::is_none")]
    pub rotation_date: Option<Timestamp>,
    #[serde(rename = "RotationType", skip_serializing_if = "Option::is_none")]
    pub rotation_type: Option<RotationType>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleKeyDeletionRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "PendingWindowInDays", skip_serializing_if = "Option::is_none")]
    pub pending_window_in_days: Option<i64>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct ScheduleKeyDeletionRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "PendingWindowInDays")]
    pub pending_window_in_days: Option<i64>,
}
impl ScheduleKeyDeletionRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: ScheduleKeyDeletionRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("pendingWindowInDays");
        let m_pending_window_in_days = match wire.pending_window_in_days {
            None => None,
            Some(value) => {
                errs.min_value(&p, *&value, 1);
                errs.max_value(&p, *&value, 365);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            pending_window_in_days: m_pending_window_in_days,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ScheduleKeyDeletionResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "DeletionDate", skip_serializing_if = "Option::is_none")]
    pub deletion_date: Option<Timestamp>,
    #[serde(rename = "KeyState", skip_serializing_if = "Option::is_none")]
    pub key_state: Option<KeyState>,
    #[serde(rename = "PendingWindowInDays", skip_serializing_if = "Option::is_none")]
    pub pending_window_in_days: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Message")]
    pub message: Blob,
    #[serde(rename = "MessageType", skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "SigningAlgorithm")]
    pub signing_algorithm: SigningAlgorithmSpec,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct SignRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<Blob>,
    #[serde(rename = "MessageType")]
    pub message_type: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "SigningAlgorithm")]
    pub signing_algorithm: Option<String>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl SignRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: SignRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("message");
        let m_message = match wire.message {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 4096);
                (|| Some(value))()
            }
        };
        let p = path.member("messageType");
        let m_message_type = match wire.message_type {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<MessageType>(&p, &value, MessageType::parse, MessageType::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("signingAlgorithm");
        let m_signing_algorithm = match wire.signing_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<SigningAlgorithmSpec>(&p, &value, SigningAlgorithmSpec::parse, SigningAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            message: m_message?,
            message_type: m_message_type,
            grant_tokens: m_grant_tokens,
            signing_algorithm: m_signing_algorithm?,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SignResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "Signature", skip_serializing_if = "Option::is_none")]
    pub signature: Option<Blob>,
    #[serde(rename = "SigningAlgorithm", skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<SigningAlgorithmSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Tag {
    #[serde(rename = "TagKey")]
    pub tag_key: String,
    #[serde(rename = "TagValue")]
    pub tag_value: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct TagWire {
    #[serde(rename = "TagKey")]
    pub tag_key: Option<String>,
    #[serde(rename = "TagValue")]
    pub tag_value: Option<String>,
}
impl Tag {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: TagWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("tagKey");
        let m_tag_key = match wire.tag_key {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 128);
                (|| Some(value))()
            }
        };
        let p = path.member("tagValue");
        let m_tag_value = match wire.tag_value {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 0);
                errs.max_len_str(&p, &value, 256);
                (|| Some(value))()
            }
        };
        Some(Self {
            tag_key: m_tag_key?,
            tag_value: m_tag_value?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TagResourceRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Tags")]
    pub tags: Vec<Tag>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct TagResourceRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<TagWire>>,
}
impl TagResourceRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: TagResourceRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("tags");
        let m_tags = match wire.tags {
            None => { errs.missing(&p); None }
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    if let Some(v) = (|| Some(Tag::from_wire(item, &item_path, errs)?))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            tags: m_tags?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UntagResourceRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "TagKeys")]
    pub tag_keys: Vec<String>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct UntagResourceRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "TagKeys")]
    pub tag_keys: Option<Vec<String>>,
}
impl UntagResourceRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: UntagResourceRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("tagKeys");
        let m_tag_keys = match wire.tag_keys {
            None => { errs.missing(&p); None }
            Some(value) => {
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 128);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            tag_keys: m_tag_keys?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateAliasRequest {
    #[serde(rename = "AliasName")]
    pub alias_name: String,
    #[serde(rename = "TargetKeyId")]
    pub target_key_id: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct UpdateAliasRequestWire {
    #[serde(rename = "AliasName")]
    pub alias_name: Option<String>,
    #[serde(rename = "TargetKeyId")]
    pub target_key_id: Option<String>,
}
impl UpdateAliasRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: UpdateAliasRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("aliasName");
        let m_alias_name = match wire.alias_name {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                errs.pattern(&p, &value, &pattern_table::P0, "^[a-zA-Z0-9:/_-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("targetKeyId");
        let m_target_key_id = match wire.target_key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        Some(Self {
            alias_name: m_alias_name?,
            target_key_id: m_target_key_id?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateCustomKeyStoreRequest {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: String,
    #[serde(rename = "NewCustomKeyStoreName", skip_serializing_if = "Option::is_none")]
    pub new_custom_key_store_name: Option<String>,
    #[serde(rename = "KeyStorePassword", skip_serializing_if = "Option::is_none")]
    pub key_store_password: Option<String>,
    #[serde(rename = "CloudHsmClusterId", skip_serializing_if = "Option::is_none")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "XksProxyUriEndpoint", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_uri_endpoint: Option<String>,
    #[serde(rename = "XksProxyUriPath", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_uri_path: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceName", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceOwner", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_vpc_endpoint_service_owner: Option<String>,
    #[serde(rename = "XksProxyAuthenticationCredential", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_authentication_credential: Option<XksProxyAuthenticationCredentialType>,
    #[serde(rename = "XksProxyConnectivity", skip_serializing_if = "Option::is_none")]
    pub xks_proxy_connectivity: Option<XksProxyConnectivityType>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct UpdateCustomKeyStoreRequestWire {
    #[serde(rename = "CustomKeyStoreId")]
    pub custom_key_store_id: Option<String>,
    #[serde(rename = "NewCustomKeyStoreName")]
    pub new_custom_key_store_name: Option<String>,
    #[serde(rename = "KeyStorePassword")]
    pub key_store_password: Option<String>,
    #[serde(rename = "CloudHsmClusterId")]
    pub cloud_hsm_cluster_id: Option<String>,
    #[serde(rename = "XksProxyUriEndpoint")]
    pub xks_proxy_uri_endpoint: Option<String>,
    #[serde(rename = "XksProxyUriPath")]
    pub xks_proxy_uri_path: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceName")]
    pub xks_proxy_vpc_endpoint_service_name: Option<String>,
    #[serde(rename = "XksProxyVpcEndpointServiceOwner")]
    pub xks_proxy_vpc_endpoint_service_owner: Option<String>,
    #[serde(rename = "XksProxyAuthenticationCredential")]
    pub xks_proxy_authentication_credential: Option<XksProxyAuthenticationCredentialTypeWire>,
    #[serde(rename = "XksProxyConnectivity")]
    pub xks_proxy_connectivity: Option<String>,
}
impl UpdateCustomKeyStoreRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: UpdateCustomKeyStoreRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("customKeyStoreId");
        let m_custom_key_store_id = match wire.custom_key_store_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 64);
                (|| Some(value))()
            }
        };
        let p = path.member("newCustomKeyStoreName");
        let m_new_custom_key_store_name = match wire.new_custom_key_store_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 256);
                (|| Some(value))()
            }
        };
        let p = path.member("keyStorePassword");
        let m_key_store_password = match wire.key_store_password {
            None => None,
            Some(value) => {
                errs.min_len_str_secret(&p, &value, 7);
                errs.max_len_str_secret(&p, &value, 32);
                (|| Some(value))()
            }
        };
        let p = path.member("cloudHsmClusterId");
        let m_cloud_hsm_cluster_id = match wire.cloud_hsm_cluster_id {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 19);
                errs.max_len_str(&p, &value, 24);
                errs.pattern(&p, &value, &pattern_table::P1, "cluster-[2-7a-zA-Z]{11,16}");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyUriEndpoint");
        let m_xks_proxy_uri_endpoint = match wire.xks_proxy_uri_endpoint {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 10);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P2, "^https://[a-zA-Z0-9.-]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyUriPath");
        let m_xks_proxy_uri_path = match wire.xks_proxy_uri_path {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 10);
                errs.max_len_str(&p, &value, 128);
                errs.pattern(&p, &value, &pattern_table::P3, "^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyVpcEndpointServiceName");
        let m_xks_proxy_vpc_endpoint_service_name = match wire.xks_proxy_vpc_endpoint_service_name {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 20);
                errs.max_len_str(&p, &value, 64);
                errs.pattern(&p, &value, &pattern_table::P4, "^(com|eu)\\.amazonaws\\.vpce\\.([a-z]+-){2,3}\\d+\\.vpce-svc-[0-9a-z]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyVpcEndpointServiceOwner");
        let m_xks_proxy_vpc_endpoint_service_owner = match wire.xks_proxy_vpc_endpoint_service_owner {
            None => None,
            Some(value) => {
                errs.min_len_str(&p, &value, 12);
                errs.max_len_str(&p, &value, 12);
                errs.pattern(&p, &value, &pattern_table::P5, "[0-9]{12}");
                (|| Some(value))()
            }
        };
        let p = path.member("xksProxyAuthenticationCredential");
        let m_xks_proxy_authentication_credential = match wire.xks_proxy_authentication_credential {
            None => None,
            Some(value) => {
                (|| Some(XksProxyAuthenticationCredentialType::from_wire(value, &p, errs)?))()
            }
        };
        let p = path.member("xksProxyConnectivity");
        let m_xks_proxy_connectivity = match wire.xks_proxy_connectivity {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<XksProxyConnectivityType>(&p, &value, XksProxyConnectivityType::parse, XksProxyConnectivityType::NAMES)?))()
            }
        };
        Some(Self {
            custom_key_store_id: m_custom_key_store_id?,
            new_custom_key_store_name: m_new_custom_key_store_name,
            key_store_password: m_key_store_password,
            cloud_hsm_cluster_id: m_cloud_hsm_cluster_id,
            xks_proxy_uri_endpoint: m_xks_proxy_uri_endpoint,
            xks_proxy_uri_path: m_xks_proxy_uri_path,
            xks_proxy_vpc_endpoint_service_name: m_xks_proxy_vpc_endpoint_service_name,
            xks_proxy_vpc_endpoint_service_owner: m_xks_proxy_vpc_endpoint_service_owner,
            xks_proxy_authentication_credential: m_xks_proxy_authentication_credential,
            xks_proxy_connectivity: m_xks_proxy_connectivity,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateCustomKeyStoreResponse {
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdateKeyDescriptionRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Description")]
    pub description: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct UpdateKeyDescriptionRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Description")]
    pub description: Option<String>,
}
impl UpdateKeyDescriptionRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: UpdateKeyDescriptionRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("description");
        let m_description = match wire.description {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 0);
                errs.max_len_str(&p, &value, 8192);
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            description: m_description?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpdatePrimaryRegionRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "PrimaryRegion")]
    pub primary_region: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct UpdatePrimaryRegionRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "PrimaryRegion")]
    pub primary_region: Option<String>,
}
impl UpdatePrimaryRegionRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: UpdatePrimaryRegionRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("primaryRegion");
        let m_primary_region = match wire.primary_region {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 32);
                errs.pattern(&p, &value, &pattern_table::P15, "^([a-z]+-){2,3}\\d+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            primary_region: m_primary_region?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyMacRequest {
    #[serde(rename = "Message")]
    pub message: Blob,
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "MacAlgorithm")]
    pub mac_algorithm: MacAlgorithmSpec,
    #[serde(rename = "Mac")]
    pub mac: Blob,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct VerifyMacRequestWire {
    #[serde(rename = "Message")]
    pub message: Option<Blob>,
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "MacAlgorithm")]
    pub mac_algorithm: Option<String>,
    #[serde(rename = "Mac")]
    pub mac: Option<Blob>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl VerifyMacRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: VerifyMacRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("message");
        let m_message = match wire.message {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 4096);
                (|| Some(value))()
            }
        };
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("macAlgorithm");
        let m_mac_algorithm = match wire.mac_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<MacAlgorithmSpec>(&p, &value, MacAlgorithmSpec::parse, MacAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("mac");
        let m_mac = match wire.mac {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            message: m_message?,
            key_id: m_key_id?,
            mac_algorithm: m_mac_algorithm?,
            mac: m_mac?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyMacResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "MacValid", skip_serializing_if = "Option::is_none")]
    pub mac_valid: Option<bool>,
    #[serde(rename = "MacAlgorithm", skip_serializing_if = "Option::is_none")]
    pub mac_algorithm: Option<MacAlgorithmSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRequest {
    #[serde(rename = "KeyId")]
    pub key_id: String,
    #[serde(rename = "Message")]
    pub message: Blob,
    #[serde(rename = "MessageType", skip_serializing_if = "Option::is_none")]
    pub message_type: Option<MessageType>,
    #[serde(rename = "Signature")]
    pub signature: Blob,
    #[serde(rename = "SigningAlgorithm")]
    pub signing_algorithm: SigningAlgorithmSpec,
    #[serde(rename = "GrantTokens", skip_serializing_if = "Option::is_none")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun", skip_serializing_if = "Option::is_none")]
    pub dry_run: Option<bool>,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct VerifyRequestWire {
    #[serde(rename = "KeyId")]
    pub key_id: Option<String>,
    #[serde(rename = "Message")]
    pub message: Option<Blob>,
    #[serde(rename = "MessageType")]
    pub message_type: Option<String>,
    #[serde(rename = "Signature")]
    pub signature: Option<Blob>,
    #[serde(rename = "SigningAlgorithm")]
    pub signing_algorithm: Option<String>,
    #[serde(rename = "GrantTokens")]
    pub grant_tokens: Option<Vec<String>>,
    #[serde(rename = "DryRun")]
    pub dry_run: Option<bool>,
}
impl VerifyRequest {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: VerifyRequestWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("keyId");
        let m_key_id = match wire.key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str(&p, &value, 1);
                errs.max_len_str(&p, &value, 2048);
                (|| Some(value))()
            }
        };
        let p = path.member("message");
        let m_message = match wire.message {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 4096);
                (|| Some(value))()
            }
        };
        let p = path.member("messageType");
        let m_message_type = match wire.message_type {
            None => None,
            Some(value) => {
                (|| Some(errs.enum_value::<MessageType>(&p, &value, MessageType::parse, MessageType::NAMES)?))()
            }
        };
        let p = path.member("signature");
        let m_signature = match wire.signature {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_blob(&p, &value, 1);
                errs.max_len_blob(&p, &value, 6144);
                (|| Some(value))()
            }
        };
        let p = path.member("signingAlgorithm");
        let m_signing_algorithm = match wire.signing_algorithm {
            None => { errs.missing(&p); None }
            Some(value) => {
                (|| Some(errs.enum_value::<SigningAlgorithmSpec>(&p, &value, SigningAlgorithmSpec::parse, SigningAlgorithmSpec::NAMES)?))()
            }
        };
        let p = path.member("grantTokens");
        let m_grant_tokens = match wire.grant_tokens {
            None => None,
            Some(value) => {
                errs.min_len_list(&p, &value, 0);
                errs.max_len_list(&p, &value, 10);
                let mut items = Vec::with_capacity(value.len());
                for (i, item) in value.into_iter().enumerate() {
                    let item_path = &p.item(i);
                    errs.min_len_str(&item_path, &item, 1);
                    errs.max_len_str(&item_path, &item, 8192);
                    if let Some(v) = (|| Some(item))() { items.push(v); }
                }
                (|| Some(items))()
            }
        };
        let p = path.member("dryRun");
        let m_dry_run = match wire.dry_run {
            None => None,
            Some(value) => {
                (|| Some(value))()
            }
        };
        Some(Self {
            key_id: m_key_id?,
            message: m_message?,
            message_type: m_message_type,
            signature: m_signature?,
            signing_algorithm: m_signing_algorithm?,
            grant_tokens: m_grant_tokens,
            dry_run: m_dry_run,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VerifyResponse {
    #[serde(rename = "KeyId", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "SignatureValid", skip_serializing_if = "Option::is_none")]
    pub signature_valid: Option<bool>,
    #[serde(rename = "SigningAlgorithm", skip_serializing_if = "Option::is_none")]
    pub signing_algorithm: Option<SigningAlgorithmSpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XksKeyConfigurationType {
    #[serde(rename = "Id", skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XksProxyAuthenticationCredentialType {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: String,
    #[serde(rename = "RawSecretAccessKey")]
    pub raw_secret_access_key: String,
}
#[derive(Default, Deserialize)]
#[serde(default)]
pub struct XksProxyAuthenticationCredentialTypeWire {
    #[serde(rename = "AccessKeyId")]
    pub access_key_id: Option<String>,
    #[serde(rename = "RawSecretAccessKey")]
    pub raw_secret_access_key: Option<String>,
}
impl XksProxyAuthenticationCredentialType {
    /// Checks every constraint of the model, collecting failures in AWS's wording; `None`
    /// when a failure was recorded in `errs`.
    pub fn from_wire(wire: XksProxyAuthenticationCredentialTypeWire, path: &MemberPath<'_>, errs: &mut Errors) -> Option<Self> {
        let p = path.member("accessKeyId");
        let m_access_key_id = match wire.access_key_id {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str_secret(&p, &value, 20);
                errs.max_len_str_secret(&p, &value, 30);
                errs.pattern_secret(&p, &value, &pattern_table::P16, "^[A-Z2-7]+$");
                (|| Some(value))()
            }
        };
        let p = path.member("rawSecretAccessKey");
        let m_raw_secret_access_key = match wire.raw_secret_access_key {
            None => { errs.missing(&p); None }
            Some(value) => {
                errs.min_len_str_secret(&p, &value, 43);
                errs.max_len_str_secret(&p, &value, 64);
                errs.pattern_secret(&p, &value, &pattern_table::P17, "^[a-zA-Z0-9\\/+=]+$");
                (|| Some(value))()
            }
        };
        Some(Self {
            access_key_id: m_access_key_id?,
            raw_secret_access_key: m_raw_secret_access_key?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct XksProxyConfigurationType {
    #[serde(rename = "Connectivity", skip_serializing_if = "Option::is_none")]
    pub connectivity: Option<XksProxyConnectivityType>,
    #[serde(rename = "AccessKeyId", skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(rename = "UriEndpoint", skip_serializing_if = "Option::is_none")]
    pub uri_endpoint: Option<String>,
    #[serde(rename = "UriPath", skip_serializing_if = "Option::is_none")]
    pub uri_path: Option<String>,
    #[serde(rename = "VpcEndpointServiceName", skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_service_name: Option<String>,
    #[serde(rename = "VpcEndpointServiceOwner", skip_serializing_if = "Option::is_none")]
    pub vpc_endpoint_service_owner: Option<String>,
}

/// What a CloudTrail record shows of each structure: lowerCamelCase members (as AWS spells
/// them, `AWSAccountId` becoming `aWSAccountId`), dates as text, and no blob or sensitive
/// member at all.
impl crate::trail::Trail for AliasListEntry {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.alias_name { m.insert("aliasName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.alias_arn { m.insert("aliasArn".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.target_key_id { m.insert("targetKeyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.creation_date { m.insert("creationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.last_updated_date { m.insert("lastUpdatedDate".into(), crate::trail::date_text(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CancelKeyDeletionRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CancelKeyDeletionResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ConnectCustomKeyStoreRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.custom_key_store_id; m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ConnectCustomKeyStoreResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateAliasRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.alias_name; m.insert("aliasName".into(), Value::from(v.to_string())); }
        { let v = &self.target_key_id; m.insert("targetKeyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateCustomKeyStoreRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.custom_key_store_name; m.insert("customKeyStoreName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.cloud_hsm_cluster_id { m.insert("cloudHsmClusterId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.trust_anchor_certificate { m.insert("trustAnchorCertificate".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.custom_key_store_type { m.insert("customKeyStoreType".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_uri_endpoint { m.insert("xksProxyUriEndpoint".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_uri_path { m.insert("xksProxyUriPath".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_vpc_endpoint_service_name { m.insert("xksProxyVpcEndpointServiceName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_vpc_endpoint_service_owner { m.insert("xksProxyVpcEndpointServiceOwner".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_authentication_credential { m.insert("xksProxyAuthenticationCredential".into(), v.trail()); }
        if let Some(v) = &self.xks_proxy_connectivity { m.insert("xksProxyConnectivity".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateCustomKeyStoreResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateGrantRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grantee_principal { m.insert("granteePrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_principal { m.insert("retiringPrincipal".into(), Value::from(v.to_string())); }
        { let v = &self.operations; m.insert("operations".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.constraints { m.insert("constraints".into(), v.trail()); }
        if let Some(v) = &self.name { m.insert("name".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        if let Some(v) = &self.grantee_service_principal { m.insert("granteeServicePrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_service_principal { m.insert("retiringServicePrincipal".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateGrantResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.grant_id { m.insert("grantId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.policy { m.insert("policy".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.description { m.insert("description".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_usage { m.insert("keyUsage".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.customer_master_key_spec { m.insert("customerMasterKeySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_spec { m.insert("keySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.origin { m.insert("origin".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.bypass_policy_lockout_safety_check { m.insert("bypassPolicyLockoutSafetyCheck".into(), Value::from(*v)); }
        if let Some(v) = &self.tags { m.insert("tags".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.multi_region { m.insert("multiRegion".into(), Value::from(*v)); }
        if let Some(v) = &self.xks_key_id { m.insert("xksKeyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CreateKeyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_metadata { m.insert("keyMetadata".into(), v.trail()); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for CustomKeyStoresListEntry {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.custom_key_store_name { m.insert("customKeyStoreName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.cloud_hsm_cluster_id { m.insert("cloudHsmClusterId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.trust_anchor_certificate { m.insert("trustAnchorCertificate".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.connection_state { m.insert("connectionState".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.connection_error_code { m.insert("connectionErrorCode".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.creation_date { m.insert("creationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.custom_key_store_type { m.insert("customKeyStoreType".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_configuration { m.insert("xksProxyConfiguration".into(), v.trail()); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DecapsulateRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.encapsulation_algorithm; m.insert("encapsulationAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DecapsulateResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encapsulation_algorithm { m.insert("encapsulationAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DecryptRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_algorithm { m.insert("encryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.recipient { m.insert("recipient".into(), v.trail()); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        if let Some(v) = &self.dry_run_modifiers { m.insert("dryRunModifiers".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DecryptResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_algorithm { m.insert("encryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeleteAliasRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.alias_name; m.insert("aliasName".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeleteCustomKeyStoreRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.custom_key_store_id; m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeleteCustomKeyStoreResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeleteImportedKeyMaterialRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeleteImportedKeyMaterialResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeriveSharedSecretRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.key_agreement_algorithm; m.insert("keyAgreementAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        if let Some(v) = &self.recipient { m.insert("recipient".into(), v.trail()); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DeriveSharedSecretResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_agreement_algorithm { m.insert("keyAgreementAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_origin { m.insert("keyOrigin".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DescribeCustomKeyStoresRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.custom_key_store_name { m.insert("customKeyStoreName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DescribeCustomKeyStoresResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.custom_key_stores { m.insert("customKeyStores".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DescribeKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DescribeKeyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_metadata { m.insert("keyMetadata".into(), v.trail()); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DisableKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DisableKeyRotationRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DisconnectCustomKeyStoreRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.custom_key_store_id; m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for DisconnectCustomKeyStoreResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for EnableKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for EnableKeyRotationRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.rotation_period_in_days { m.insert("rotationPeriodInDays".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for EncapsulateRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.encapsulation_algorithm; m.insert("encapsulationAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for EncapsulateResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encapsulation_algorithm { m.insert("encapsulationAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for EncryptRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.encryption_algorithm { m.insert("encryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for EncryptResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_algorithm { m.insert("encryptionAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyPairRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.key_pair_spec; m.insert("keyPairSpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.recipient { m.insert("recipient".into(), v.trail()); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyPairResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_pair_spec { m.insert("keyPairSpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyPairWithoutPlaintextRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.key_pair_spec; m.insert("keyPairSpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyPairWithoutPlaintextResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_pair_spec { m.insert("keyPairSpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.number_of_bytes { m.insert("numberOfBytes".into(), Value::from(*v)); }
        if let Some(v) = &self.key_spec { m.insert("keySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.recipient { m.insert("recipient".into(), v.trail()); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyWithoutPlaintextRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_context { m.insert("encryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.key_spec { m.insert("keySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.number_of_bytes { m.insert("numberOfBytes".into(), Value::from(*v)); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateDataKeyWithoutPlaintextResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateMacRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.mac_algorithm; m.insert("macAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateMacResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.mac_algorithm { m.insert("macAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateRandomRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.number_of_bytes { m.insert("numberOfBytes".into(), Value::from(*v)); }
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.recipient { m.insert("recipient".into(), v.trail()); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GenerateRandomResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyLastUsageRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyLastUsageResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_last_usage { m.insert("keyLastUsage".into(), v.trail()); }
        if let Some(v) = &self.tracking_start_date { m.insert("trackingStartDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.key_creation_date { m.insert("keyCreationDate".into(), crate::trail::date_text(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyPolicyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.policy_name { m.insert("policyName".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyPolicyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.policy { m.insert("policy".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.policy_name { m.insert("policyName".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyRotationStatusRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetKeyRotationStatusResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_rotation_enabled { m.insert("keyRotationEnabled".into(), Value::from(*v)); }
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.rotation_period_in_days { m.insert("rotationPeriodInDays".into(), Value::from(*v)); }
        if let Some(v) = &self.next_rotation_date { m.insert("nextRotationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.on_demand_rotation_start_date { m.insert("onDemandRotationStartDate".into(), crate::trail::date_text(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetParametersForImportRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.wrapping_algorithm; m.insert("wrappingAlgorithm".into(), Value::from(v.to_string())); }
        { let v = &self.wrapping_key_spec; m.insert("wrappingKeySpec".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetParametersForImportResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.parameters_valid_to { m.insert("parametersValidTo".into(), crate::trail::date_text(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetPublicKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GetPublicKeyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.customer_master_key_spec { m.insert("customerMasterKeySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_spec { m.insert("keySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_usage { m.insert("keyUsage".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_algorithms { m.insert("encryptionAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.signing_algorithms { m.insert("signingAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.key_agreement_algorithms { m.insert("keyAgreementAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.encapsulation_algorithms { m.insert("encapsulationAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GrantConstraints {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.encryption_context_subset { m.insert("encryptionContextSubset".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.encryption_context_equals { m.insert("encryptionContextEquals".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.source_arn { m.insert("sourceArn".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for GrantListEntry {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grant_id { m.insert("grantId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.name { m.insert("name".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.creation_date { m.insert("creationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.grantee_principal { m.insert("granteePrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_principal { m.insert("retiringPrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.issuing_account { m.insert("issuingAccount".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.operations { m.insert("operations".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.constraints { m.insert("constraints".into(), v.trail()); }
        if let Some(v) = &self.grantee_service_principal { m.insert("granteeServicePrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_service_principal { m.insert("retiringServicePrincipal".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ImportKeyMaterialRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.valid_to { m.insert("validTo".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.expiration_model { m.insert("expirationModel".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.import_type { m.insert("importType".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_description { m.insert("keyMaterialDescription".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ImportKeyMaterialResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for KeyLastUsageData {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.operation { m.insert("operation".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.timestamp { m.insert("timestamp".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.cloud_trail_event_id { m.insert("cloudTrailEventId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.kms_request_id { m.insert("kmsRequestId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for KeyListEntry {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_arn { m.insert("keyArn".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for KeyMetadata {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.aws_account_id { m.insert("AWSAccountId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.arn { m.insert("arn".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.creation_date { m.insert("creationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.enabled { m.insert("enabled".into(), Value::from(*v)); }
        if let Some(v) = &self.description { m.insert("description".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_usage { m.insert("keyUsage".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_state { m.insert("keyState".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.deletion_date { m.insert("deletionDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.valid_to { m.insert("validTo".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.origin { m.insert("origin".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.custom_key_store_id { m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.cloud_hsm_cluster_id { m.insert("cloudHsmClusterId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.expiration_model { m.insert("expirationModel".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_manager { m.insert("keyManager".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.customer_master_key_spec { m.insert("customerMasterKeySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_spec { m.insert("keySpec".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.encryption_algorithms { m.insert("encryptionAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.signing_algorithms { m.insert("signingAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.key_agreement_algorithms { m.insert("keyAgreementAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.encapsulation_algorithms { m.insert("encapsulationAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.multi_region { m.insert("multiRegion".into(), Value::from(*v)); }
        if let Some(v) = &self.multi_region_configuration { m.insert("multiRegionConfiguration".into(), v.trail()); }
        if let Some(v) = &self.pending_deletion_window_in_days { m.insert("pendingDeletionWindowInDays".into(), Value::from(*v)); }
        if let Some(v) = &self.mac_algorithms { m.insert("macAlgorithms".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.xks_key_configuration { m.insert("xksKeyConfiguration".into(), v.trail()); }
        if let Some(v) = &self.current_key_material_id { m.insert("currentKeyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListAliasesRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListAliasesResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.aliases { m.insert("aliases".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListGrantsRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grant_id { m.insert("grantId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grantee_principal { m.insert("granteePrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grantee_service_principal { m.insert("granteeServicePrincipal".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListGrantsResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.grants { m.insert("grants".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeyPoliciesRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeyPoliciesResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.policy_names { m.insert("policyNames".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeyRotationsRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.include_key_material { m.insert("includeKeyMaterial".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeyRotationsResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.rotations { m.insert("rotations".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeysRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.resource_owners { m.insert("resourceOwners".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListKeysResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.keys { m.insert("keys".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListResourceTagsRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListResourceTagsResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.tags { m.insert("tags".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        if let Some(v) = &self.next_marker { m.insert("nextMarker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.truncated { m.insert("truncated".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ListRetirableGrantsRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.limit { m.insert("limit".into(), Value::from(*v)); }
        if let Some(v) = &self.marker { m.insert("marker".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_principal { m.insert("retiringPrincipal".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.retiring_service_principal { m.insert("retiringServicePrincipal".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for MultiRegionConfiguration {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.multi_region_key_type { m.insert("multiRegionKeyType".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.primary_key { m.insert("primaryKey".into(), v.trail()); }
        if let Some(v) = &self.replica_keys { m.insert("replicaKeys".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for MultiRegionKey {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.arn { m.insert("arn".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.region { m.insert("region".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for PutKeyPolicyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.policy_name { m.insert("policyName".into(), Value::from(v.to_string())); }
        { let v = &self.policy; m.insert("policy".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.bypass_policy_lockout_safety_check { m.insert("bypassPolicyLockoutSafetyCheck".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ReEncryptRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.source_encryption_context { m.insert("sourceEncryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.source_key_id { m.insert("sourceKeyId".into(), Value::from(v.to_string())); }
        { let v = &self.destination_key_id; m.insert("destinationKeyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.destination_encryption_context { m.insert("destinationEncryptionContext".into(), Value::Object(v.iter().map(|(k, x)| (k.to_string(), Value::from(x.to_string()))).collect())); }
        if let Some(v) = &self.source_encryption_algorithm { m.insert("sourceEncryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.destination_encryption_algorithm { m.insert("destinationEncryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        if let Some(v) = &self.dry_run_modifiers { m.insert("dryRunModifiers".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ReEncryptResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.source_key_id { m.insert("sourceKeyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.source_encryption_algorithm { m.insert("sourceEncryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.destination_encryption_algorithm { m.insert("destinationEncryptionAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.source_key_material_id { m.insert("sourceKeyMaterialId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.destination_key_material_id { m.insert("destinationKeyMaterialId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RecipientInfo {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_encryption_algorithm { m.insert("keyEncryptionAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ReplicateKeyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.replica_region; m.insert("replicaRegion".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.policy { m.insert("policy".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.bypass_policy_lockout_safety_check { m.insert("bypassPolicyLockoutSafetyCheck".into(), Value::from(*v)); }
        if let Some(v) = &self.description { m.insert("description".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.tags { m.insert("tags".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ReplicateKeyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.replica_key_metadata { m.insert("replicaKeyMetadata".into(), v.trail()); }
        if let Some(v) = &self.replica_policy { m.insert("replicaPolicy".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.replica_tags { m.insert("replicaTags".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RetireGrantRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.grant_id { m.insert("grantId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RevokeGrantRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.grant_id; m.insert("grantId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RotateKeyOnDemandRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RotateKeyOnDemandResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for RotationsListEntry {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_id { m.insert("keyMaterialId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_description { m.insert("keyMaterialDescription".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.import_state { m.insert("importState".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.key_material_state { m.insert("keyMaterialState".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.expiration_model { m.insert("expirationModel".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.valid_to { m.insert("validTo".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.rotation_date { m.insert("rotationDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.rotation_type { m.insert("rotationType".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ScheduleKeyDeletionRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.pending_window_in_days { m.insert("pendingWindowInDays".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for ScheduleKeyDeletionResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.deletion_date { m.insert("deletionDate".into(), crate::trail::date_text(*v)); }
        if let Some(v) = &self.key_state { m.insert("keyState".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.pending_window_in_days { m.insert("pendingWindowInDays".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for SignRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.message_type { m.insert("messageType".into(), Value::from(v.to_string())); }
        { let v = &self.signing_algorithm; m.insert("signingAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for SignResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.signing_algorithm { m.insert("signingAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for Tag {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.tag_key; m.insert("tagKey".into(), Value::from(v.to_string())); }
        { let v = &self.tag_value; m.insert("tagValue".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for TagResourceRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.tags; m.insert("tags".into(), Value::Array(v.iter().map(|x| x.trail()).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for UntagResourceRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.tag_keys; m.insert("tagKeys".into(), Value::Array(v.iter().map(|x| Value::from(x.to_string())).collect())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for UpdateAliasRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.alias_name; m.insert("aliasName".into(), Value::from(v.to_string())); }
        { let v = &self.target_key_id; m.insert("targetKeyId".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for UpdateCustomKeyStoreRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.custom_key_store_id; m.insert("customKeyStoreId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.new_custom_key_store_name { m.insert("newCustomKeyStoreName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.cloud_hsm_cluster_id { m.insert("cloudHsmClusterId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_uri_endpoint { m.insert("xksProxyUriEndpoint".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_uri_path { m.insert("xksProxyUriPath".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_vpc_endpoint_service_name { m.insert("xksProxyVpcEndpointServiceName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_vpc_endpoint_service_owner { m.insert("xksProxyVpcEndpointServiceOwner".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.xks_proxy_authentication_credential { m.insert("xksProxyAuthenticationCredential".into(), v.trail()); }
        if let Some(v) = &self.xks_proxy_connectivity { m.insert("xksProxyConnectivity".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for UpdateCustomKeyStoreResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for UpdateKeyDescriptionRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.description; m.insert("description".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for UpdatePrimaryRegionRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.primary_region; m.insert("primaryRegion".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for VerifyMacRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        { let v = &self.mac_algorithm; m.insert("macAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for VerifyMacResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.mac_valid { m.insert("macValid".into(), Value::from(*v)); }
        if let Some(v) = &self.mac_algorithm { m.insert("macAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for VerifyRequest {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        { let v = &self.key_id; m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.message_type { m.insert("messageType".into(), Value::from(v.to_string())); }
        { let v = &self.signing_algorithm; m.insert("signingAlgorithm".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.dry_run { m.insert("dryRun".into(), Value::from(*v)); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for VerifyResponse {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.key_id { m.insert("keyId".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.signature_valid { m.insert("signatureValid".into(), Value::from(*v)); }
        if let Some(v) = &self.signing_algorithm { m.insert("signingAlgorithm".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for XksKeyConfigurationType {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.id { m.insert("id".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}
impl crate::trail::Trail for XksProxyAuthenticationCredentialType {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        Value::Object(m)
    }
}
impl crate::trail::Trail for XksProxyConfigurationType {
    fn trail(&self) -> serde_json::Value {
        use serde_json::Value;
        let mut m = serde_json::Map::new();
        if let Some(v) = &self.connectivity { m.insert("connectivity".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.uri_endpoint { m.insert("uriEndpoint".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.uri_path { m.insert("uriPath".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.vpc_endpoint_service_name { m.insert("vpcEndpointServiceName".into(), Value::from(v.to_string())); }
        if let Some(v) = &self.vpc_endpoint_service_owner { m.insert("vpcEndpointServiceOwner".into(), Value::from(v.to_string())); }
        Value::Object(m)
    }
}

pub(crate) mod pattern_table {
    use regex::Regex;
    use std::sync::LazyLock;
    pub static P0: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[a-zA-Z0-9:/_-]+$)$").expect("model pattern"));
    pub static P1: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:cluster-[2-7a-zA-Z]{11,16})$").expect("model pattern"));
    pub static P2: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^https://[a-zA-Z0-9.-]+$)$").expect("model pattern"));
    pub static P3: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^(/[a-zA-Z0-9\\/_-]+/kms/xks/v\\d{1,2})$|^(/kms/xks/v\\d{1,2})$)$").expect("model pattern"));
    pub static P4: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^(com|eu)\\.amazonaws\\.vpce\\.([a-z]+-){2,3}\\d+\\.vpce-svc-[0-9a-z]+$)$").expect("model pattern"));
    pub static P5: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:[0-9]{12})$").expect("model pattern"));
    pub static P6: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[[0-9A-Za-z_]+=,.@:/-]+$)$").expect("model pattern"));
    pub static P7: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^([A-Za-z0-9\\-]+)\\.([A-Za-z0-9\\-]+)(\\.[A-Za-z0-9\\-]+)+$)$").expect("model pattern"));
    pub static P8: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+)$").expect("model pattern"));
    pub static P9: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[a-zA-Z0-9-_.]+$)$").expect("model pattern"));
    pub static P10: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[a-f0-9]+$)$").expect("model pattern"));
    pub static P11: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:[\\u0020-\\u00FF]*)$").expect("model pattern"));
    pub static P12: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:[[0-9A-Za-z_]]+)$").expect("model pattern"));
    pub static P13: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^arn:aws[a-z0-9-]*:[a-z0-9-]+:[a-z0-9-]*:[0-9]{12}:.+$)$").expect("model pattern"));
    pub static P14: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[a-zA-Z0-9:/_[ \\t\\n\\x0B\\f\\r].-]+$)$").expect("model pattern"));
    pub static P15: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^([a-z]+-){2,3}\\d+$)$").expect("model pattern"));
    pub static P16: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[A-Z2-7]+$)$").expect("model pattern"));
    pub static P17: LazyLock<Regex> = LazyLock::new(|| Regex::new("^(?:^[a-zA-Z0-9\\/+=]+$)$").expect("model pattern"));
}

/// Every operation of the KMS API, named as in `X-Amz-Target: TrentService.<Operation>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    CancelKeyDeletion,
    ConnectCustomKeyStore,
    CreateAlias,
    CreateCustomKeyStore,
    CreateGrant,
    CreateKey,
    Decapsulate,
    Decrypt,
    DeleteAlias,
    DeleteCustomKeyStore,
    DeleteImportedKeyMaterial,
    DeriveSharedSecret,
    DescribeCustomKeyStores,
    DescribeKey,
    DisableKey,
    DisableKeyRotation,
    DisconnectCustomKeyStore,
    EnableKey,
    EnableKeyRotation,
    Encapsulate,
    Encrypt,
    GenerateDataKey,
    GenerateDataKeyPair,
    GenerateDataKeyPairWithoutPlaintext,
    GenerateDataKeyWithoutPlaintext,
    GenerateMac,
    GenerateRandom,
    GetKeyLastUsage,
    GetKeyPolicy,
    GetKeyRotationStatus,
    GetParametersForImport,
    GetPublicKey,
    ImportKeyMaterial,
    ListAliases,
    ListGrants,
    ListKeyPolicies,
    ListKeyRotations,
    ListKeys,
    ListResourceTags,
    ListRetirableGrants,
    PutKeyPolicy,
    ReEncrypt,
    ReplicateKey,
    RetireGrant,
    RevokeGrant,
    RotateKeyOnDemand,
    ScheduleKeyDeletion,
    Sign,
    TagResource,
    UntagResource,
    UpdateAlias,
    UpdateCustomKeyStore,
    UpdateKeyDescription,
    UpdatePrimaryRegion,
    Verify,
    VerifyMac,
}
impl Operation {
    pub const ALL: &'static [Operation] = &[Operation::CancelKeyDeletion, Operation::ConnectCustomKeyStore, Operation::CreateAlias, Operation::CreateCustomKeyStore, Operation::CreateGrant, Operation::CreateKey, Operation::Decapsulate, Operation::Decrypt, Operation::DeleteAlias, Operation::DeleteCustomKeyStore, Operation::DeleteImportedKeyMaterial, Operation::DeriveSharedSecret, Operation::DescribeCustomKeyStores, Operation::DescribeKey, Operation::DisableKey, Operation::DisableKeyRotation, Operation::DisconnectCustomKeyStore, Operation::EnableKey, Operation::EnableKeyRotation, Operation::Encapsulate, Operation::Encrypt, Operation::GenerateDataKey, Operation::GenerateDataKeyPair, Operation::GenerateDataKeyPairWithoutPlaintext, Operation::GenerateDataKeyWithoutPlaintext, Operation::GenerateMac, Operation::GenerateRandom, Operation::GetKeyLastUsage, Operation::GetKeyPolicy, Operation::GetKeyRotationStatus, Operation::GetParametersForImport, Operation::GetPublicKey, Operation::ImportKeyMaterial, Operation::ListAliases, Operation::ListGrants, Operation::ListKeyPolicies, Operation::ListKeyRotations, Operation::ListKeys, Operation::ListResourceTags, Operation::ListRetirableGrants, Operation::PutKeyPolicy, Operation::ReEncrypt, Operation::ReplicateKey, Operation::RetireGrant, Operation::RevokeGrant, Operation::RotateKeyOnDemand, Operation::ScheduleKeyDeletion, Operation::Sign, Operation::TagResource, Operation::UntagResource, Operation::UpdateAlias, Operation::UpdateCustomKeyStore, Operation::UpdateKeyDescription, Operation::UpdatePrimaryRegion, Operation::Verify, Operation::VerifyMac];
    pub fn name(self) -> &'static str {
        match self {
            Operation::CancelKeyDeletion => "CancelKeyDeletion",
            Operation::ConnectCustomKeyStore => "ConnectCustomKeyStore",
            Operation::CreateAlias => "CreateAlias",
            Operation::CreateCustomKeyStore => "CreateCustomKeyStore",
            Operation::CreateGrant => "CreateGrant",
            Operation::CreateKey => "CreateKey",
            Operation::Decapsulate => "Decapsulate",
            Operation::Decrypt => "Decrypt",
            Operation::DeleteAlias => "DeleteAlias",
            Operation::DeleteCustomKeyStore => "DeleteCustomKeyStore",
            Operation::DeleteImportedKeyMaterial => "DeleteImportedKeyMaterial",
            Operation::DeriveSharedSecret => "DeriveSharedSecret",
            Operation::DescribeCustomKeyStores => "DescribeCustomKeyStores",
            Operation::DescribeKey => "DescribeKey",
            Operation::DisableKey => "DisableKey",
            Operation::DisableKeyRotation => "DisableKeyRotation",
            Operation::DisconnectCustomKeyStore => "DisconnectCustomKeyStore",
            Operation::EnableKey => "EnableKey",
            Operation::EnableKeyRotation => "EnableKeyRotation",
            Operation::Encapsulate => "Encapsulate",
            Operation::Encrypt => "Encrypt",
            Operation::GenerateDataKey => "GenerateDataKey",
            Operation::GenerateDataKeyPair => "GenerateDataKeyPair",
            Operation::GenerateDataKeyPairWithoutPlaintext => "GenerateDataKeyPairWithoutPlaintext",
            Operation::GenerateDataKeyWithoutPlaintext => "GenerateDataKeyWithoutPlaintext",
            Operation::GenerateMac => "GenerateMac",
            Operation::GenerateRandom => "GenerateRandom",
            Operation::GetKeyLastUsage => "GetKeyLastUsage",
            Operation::GetKeyPolicy => "GetKeyPolicy",
            Operation::GetKeyRotationStatus => "GetKeyRotationStatus",
            Operation::GetParametersForImport => "GetParametersForImport",
            Operation::GetPublicKey => "GetPublicKey",
            Operation::ImportKeyMaterial => "ImportKeyMaterial",
            Operation::ListAliases => "ListAliases",
            Operation::ListGrants => "ListGrants",
            Operation::ListKeyPolicies => "ListKeyPolicies",
            Operation::ListKeyRotations => "ListKeyRotations",
            Operation::ListKeys => "ListKeys",
            Operation::ListResourceTags => "ListResourceTags",
            Operation::ListRetirableGrants => "ListRetirableGrants",
            Operation::PutKeyPolicy => "PutKeyPolicy",
            Operation::ReEncrypt => "ReEncrypt",
            Operation::ReplicateKey => "ReplicateKey",
            Operation::RetireGrant => "RetireGrant",
            Operation::RevokeGrant => "RevokeGrant",
            Operation::RotateKeyOnDemand => "RotateKeyOnDemand",
            Operation::ScheduleKeyDeletion => "ScheduleKeyDeletion",
            Operation::Sign => "Sign",
            Operation::TagResource => "TagResource",
            Operation::UntagResource => "UntagResource",
            Operation::UpdateAlias => "UpdateAlias",
            Operation::UpdateCustomKeyStore => "UpdateCustomKeyStore",
            Operation::UpdateKeyDescription => "UpdateKeyDescription",
            Operation::UpdatePrimaryRegion => "UpdatePrimaryRegion",
            Operation::Verify => "Verify",
            Operation::VerifyMac => "VerifyMac",
        }
    }
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "CancelKeyDeletion" => Some(Operation::CancelKeyDeletion),
            "ConnectCustomKeyStore" => Some(Operation::ConnectCustomKeyStore),
            "CreateAlias" => Some(Operation::CreateAlias),
            "CreateCustomKeyStore" => Some(Operation::CreateCustomKeyStore),
            "CreateGrant" => Some(Operation::CreateGrant),
            "CreateKey" => Some(Operation::CreateKey),
            "Decapsulate" => Some(Operation::Decapsulate),
            "Decrypt" => Some(Operation::Decrypt),
            "DeleteAlias" => Some(Operation::DeleteAlias),
            "DeleteCustomKeyStore" => Some(Operation::DeleteCustomKeyStore),
            "DeleteImportedKeyMaterial" => Some(Operation::DeleteImportedKeyMaterial),
            "DeriveSharedSecret" => Some(Operation::DeriveSharedSecret),
            "DescribeCustomKeyStores" => Some(Operation::DescribeCustomKeyStores),
            "DescribeKey" => Some(Operation::DescribeKey),
            "DisableKey" => Some(Operation::DisableKey),
            "DisableKeyRotation" => Some(Operation::DisableKeyRotation),
            "DisconnectCustomKeyStore" => Some(Operation::DisconnectCustomKeyStore),
            "EnableKey" => Some(Operation::EnableKey),
            "EnableKeyRotation" => Some(Operation::EnableKeyRotation),
            "Encapsulate" => Some(Operation::Encapsulate),
            "Encrypt" => Some(Operation::Encrypt),
            "GenerateDataKey" => Some(Operation::GenerateDataKey),
            "GenerateDataKeyPair" => Some(Operation::GenerateDataKeyPair),
            "GenerateDataKeyPairWithoutPlaintext" => Some(Operation::GenerateDataKeyPairWithoutPlaintext),
            "GenerateDataKeyWithoutPlaintext" => Some(Operation::GenerateDataKeyWithoutPlaintext),
            "GenerateMac" => Some(Operation::GenerateMac),
            "GenerateRandom" => Some(Operation::GenerateRandom),
            "GetKeyLastUsage" => Some(Operation::GetKeyLastUsage),
            "GetKeyPolicy" => Some(Operation::GetKeyPolicy),
            "GetKeyRotationStatus" => Some(Operation::GetKeyRotationStatus),
            "GetParametersForImport" => Some(Operation::GetParametersForImport),
            "GetPublicKey" => Some(Operation::GetPublicKey),
            "ImportKeyMaterial" => Some(Operation::ImportKeyMaterial),
            "ListAliases" => Some(Operation::ListAliases),
            "ListGrants" => Some(Operation::ListGrants),
            "ListKeyPolicies" => Some(Operation::ListKeyPolicies),
            "ListKeyRotations" => Some(Operation::ListKeyRotations),
            "ListKeys" => Some(Operation::ListKeys),
            "ListResourceTags" => Some(Operation::ListResourceTags),
            "ListRetirableGrants" => Some(Operation::ListRetirableGrants),
            "PutKeyPolicy" => Some(Operation::PutKeyPolicy),
            "ReEncrypt" => Some(Operation::ReEncrypt),
            "ReplicateKey" => Some(Operation::ReplicateKey),
            "RetireGrant" => Some(Operation::RetireGrant),
            "RevokeGrant" => Some(Operation::RevokeGrant),
            "RotateKeyOnDemand" => Some(Operation::RotateKeyOnDemand),
            "ScheduleKeyDeletion" => Some(Operation::ScheduleKeyDeletion),
            "Sign" => Some(Operation::Sign),
            "TagResource" => Some(Operation::TagResource),
            "UntagResource" => Some(Operation::UntagResource),
            "UpdateAlias" => Some(Operation::UpdateAlias),
            "UpdateCustomKeyStore" => Some(Operation::UpdateCustomKeyStore),
            "UpdateKeyDescription" => Some(Operation::UpdateKeyDescription),
            "UpdatePrimaryRegion" => Some(Operation::UpdatePrimaryRegion),
            "Verify" => Some(Operation::Verify),
            "VerifyMac" => Some(Operation::VerifyMac),
            _ => None,
        }
    }
    /// The largest body a request of this operation may have (from the members of its
    /// input in the model: a key policy 256 KiB, grant tokens 128 KiB, else 64 KiB).
    pub const fn max_body(self) -> usize {
        match self {
            Operation::CancelKeyDeletion => 65536,
            Operation::ConnectCustomKeyStore => 65536,
            Operation::CreateAlias => 65536,
            Operation::CreateCustomKeyStore => 65536,
            Operation::CreateGrant => 131072,
            Operation::CreateKey => 262144,
            Operation::Decapsulate => 131072,
            Operation::Decrypt => 131072,
            Operation::DeleteAlias => 65536,
            Operation::DeleteCustomKeyStore => 65536,
            Operation::DeleteImportedKeyMaterial => 65536,
            Operation::DeriveSharedSecret => 131072,
            Operation::DescribeCustomKeyStores => 65536,
            Operation::DescribeKey => 131072,
            Operation::DisableKey => 65536,
            Operation::DisableKeyRotation => 65536,
            Operation::DisconnectCustomKeyStore => 65536,
            Operation::EnableKey => 65536,
            Operation::EnableKeyRotation => 65536,
            Operation::Encapsulate => 131072,
            Operation::Encrypt => 131072,
            Operation::GenerateDataKey => 131072,
            Operation::GenerateDataKeyPair => 131072,
            Operation::GenerateDataKeyPairWithoutPlaintext => 131072,
            Operation::GenerateDataKeyWithoutPlaintext => 131072,
            Operation::GenerateMac => 131072,
            Operation::GenerateRandom => 65536,
            Operation::GetKeyLastUsage => 65536,
            Operation::GetKeyPolicy => 65536,
            Operation::GetKeyRotationStatus => 65536,
            Operation::GetParametersForImport => 65536,
            Operation::GetPublicKey => 131072,
            Operation::ImportKeyMaterial => 65536,
            Operation::ListAliases => 65536,
            Operation::ListGrants => 65536,
            Operation::ListKeyPolicies => 65536,
            Operation::ListKeyRotations => 65536,
            Operation::ListKeys => 65536,
            Operation::ListResourceTags => 65536,
            Operation::ListRetirableGrants => 65536,
            Operation::PutKeyPolicy => 262144,
            Operation::ReEncrypt => 131072,
            Operation::ReplicateKey => 262144,
            Operation::RetireGrant => 65536,
            Operation::RevokeGrant => 65536,
            Operation::RotateKeyOnDemand => 65536,
            Operation::ScheduleKeyDeletion => 65536,
            Operation::Sign => 131072,
            Operation::TagResource => 65536,
            Operation::UntagResource => 65536,
            Operation::UpdateAlias => 65536,
            Operation::UpdateCustomKeyStore => 65536,
            Operation::UpdateKeyDescription => 65536,
            Operation::UpdatePrimaryRegion => 65536,
            Operation::Verify => 131072,
            Operation::VerifyMac => 131072,
        }
    }
}

/// Calls `$m! { Operation => RequestType, ... }` with every operation of the model: the
/// server's dispatch table and the fuzzers are built from it, so a new operation reaches them
/// (and fails to compile until its request type implements the domain's `Call`).
#[macro_export]
macro_rules! for_each_operation {
    ($m:ident) => {
        $m! {
            CancelKeyDeletion => CancelKeyDeletionRequest,
            ConnectCustomKeyStore => ConnectCustomKeyStoreRequest,
            CreateAlias => CreateAliasRequest,
            CreateCustomKeyStore => CreateCustomKeyStoreRequest,
            CreateGrant => CreateGrantRequest,
            CreateKey => CreateKeyRequest,
            Decapsulate => DecapsulateRequest,
            Decrypt => DecryptRequest,
            DeleteAlias => DeleteAliasRequest,
            DeleteCustomKeyStore => DeleteCustomKeyStoreRequest,
            DeleteImportedKeyMaterial => DeleteImportedKeyMaterialRequest,
            DeriveSharedSecret => DeriveSharedSecretRequest,
            DescribeCustomKeyStores => DescribeCustomKeyStoresRequest,
            DescribeKey => DescribeKeyRequest,
            DisableKey => DisableKeyRequest,
            DisableKeyRotation => DisableKeyRotationRequest,
            DisconnectCustomKeyStore => DisconnectCustomKeyStoreRequest,
            EnableKey => EnableKeyRequest,
            EnableKeyRotation => EnableKeyRotationRequest,
            Encapsulate => EncapsulateRequest,
            Encrypt => EncryptRequest,
            GenerateDataKey => GenerateDataKeyRequest,
            GenerateDataKeyPair => GenerateDataKeyPairRequest,
            GenerateDataKeyPairWithoutPlaintext => GenerateDataKeyPairWithoutPlaintextRequest,
            GenerateDataKeyWithoutPlaintext => GenerateDataKeyWithoutPlaintextRequest,
            GenerateMac => GenerateMacRequest,
            GenerateRandom => GenerateRandomRequest,
            GetKeyLastUsage => GetKeyLastUsageRequest,
            GetKeyPolicy => GetKeyPolicyRequest,
            GetKeyRotationStatus => GetKeyRotationStatusRequest,
            GetParametersForImport => GetParametersForImportRequest,
            GetPublicKey => GetPublicKeyRequest,
            ImportKeyMaterial => ImportKeyMaterialRequest,
            ListAliases => ListAliasesRequest,
            ListGrants => ListGrantsRequest,
            ListKeyPolicies => ListKeyPoliciesRequest,
            ListKeyRotations => ListKeyRotationsRequest,
            ListKeys => ListKeysRequest,
            ListResourceTags => ListResourceTagsRequest,
            ListRetirableGrants => ListRetirableGrantsRequest,
            PutKeyPolicy => PutKeyPolicyRequest,
            ReEncrypt => ReEncryptRequest,
            ReplicateKey => ReplicateKeyRequest,
            RetireGrant => RetireGrantRequest,
            RevokeGrant => RevokeGrantRequest,
            RotateKeyOnDemand => RotateKeyOnDemandRequest,
            ScheduleKeyDeletion => ScheduleKeyDeletionRequest,
            Sign => SignRequest,
            TagResource => TagResourceRequest,
            UntagResource => UntagResourceRequest,
            UpdateAlias => UpdateAliasRequest,
            UpdateCustomKeyStore => UpdateCustomKeyStoreRequest,
            UpdateKeyDescription => UpdateKeyDescriptionRequest,
            UpdatePrimaryRegion => UpdatePrimaryRegionRequest,
            Verify => VerifyRequest,
            VerifyMac => VerifyMacRequest,
        }
    };
}

/// The request of one operation: which operation it is and what it answers. Written here,
/// from the model, so that no handler names its operation or its response again.
pub trait Request {
    const OPERATION: Operation;
    type Response;
}
impl Request for CancelKeyDeletionRequest {
    const OPERATION: Operation = Operation::CancelKeyDeletion;
    type Response = CancelKeyDeletionResponse;
}
impl Request for ConnectCustomKeyStoreRequest {
    const OPERATION: Operation = Operation::ConnectCustomKeyStore;
    type Response = ConnectCustomKeyStoreResponse;
}
impl Request for CreateAliasRequest {
    const OPERATION: Operation = Operation::CreateAlias;
    type Response = ();
}
impl Request for CreateCustomKeyStoreRequest {
    const OPERATION: Operation = Operation::CreateCustomKeyStore;
    type Response = CreateCustomKeyStoreResponse;
}
impl Request for CreateGrantRequest {
    const OPERATION: Operation = Operation::CreateGrant;
    type Response = CreateGrantResponse;
}
impl Request for CreateKeyRequest {
    const OPERATION: Operation = Operation::CreateKey;
    type Response = CreateKeyResponse;
}
impl Request for DecapsulateRequest {
    const OPERATION: Operation = Operation::Decapsulate;
    type Response = DecapsulateResponse;
}
impl Request for DecryptRequest {
    const OPERATION: Operation = Operation::Decrypt;
    type Response = DecryptResponse;
}
impl Request for DeleteAliasRequest {
    const OPERATION: Operation = Operation::DeleteAlias;
    type Response = ();
}
impl Request for DeleteCustomKeyStoreRequest {
    const OPERATION: Operation = Operation::DeleteCustomKeyStore;
    type Response = DeleteCustomKeyStoreResponse;
}
impl Request for DeleteImportedKeyMaterialRequest {
    const OPERATION: Operation = Operation::DeleteImportedKeyMaterial;
    type Response = DeleteImportedKeyMaterialResponse;
}
impl Request for DeriveSharedSecretRequest {
    const OPERATION: Operation = Operation::DeriveSharedSecret;
    type Response = DeriveSharedSecretResponse;
}
impl Request for DescribeCustomKeyStoresRequest {
    const OPERATION: Operation = Operation::DescribeCustomKeyStores;
    type Response = DescribeCustomKeyStoresResponse;
}
impl Request for DescribeKeyRequest {
    const OPERATION: Operation = Operation::DescribeKey;
    type Response = DescribeKeyResponse;
}
impl Request for DisableKeyRequest {
    const OPERATION: Operation = Operation::DisableKey;
    type Response = ();
}
impl Request for DisableKeyRotationRequest {
    const OPERATION: Operation = Operation::DisableKeyRotation;
    type Response = ();
}
impl Request for DisconnectCustomKeyStoreRequest {
    const OPERATION: Operation = Operation::DisconnectCustomKeyStore;
    type Response = DisconnectCustomKeyStoreResponse;
}
impl Request for EnableKeyRequest {
    const OPERATION: Operation = Operation::EnableKey;
    type Response = ();
}
impl Request for EnableKeyRotationRequest {
    const OPERATION: Operation = Operation::EnableKeyRotation;
    type Response = ();
}
impl Request for EncapsulateRequest {
    const OPERATION: Operation = Operation::Encapsulate;
    type Response = EncapsulateResponse;
}
impl Request for EncryptRequest {
    const OPERATION: Operation = Operation::Encrypt;
    type Response = EncryptResponse;
}
impl Request for GenerateDataKeyRequest {
    const OPERATION: Operation = Operation::GenerateDataKey;
    type Response = GenerateDataKeyResponse;
}
impl Request for GenerateDataKeyPairRequest {
    const OPERATION: Operation = Operation::GenerateDataKeyPair;
    type Response = GenerateDataKeyPairResponse;
}
impl Request for GenerateDataKeyPairWithoutPlaintextRequest {
    const OPERATION: Operation = Operation::GenerateDataKeyPairWithoutPlaintext;
    type Response = GenerateDataKeyPairWithoutPlaintextResponse;
}
impl Request for GenerateDataKeyWithoutPlaintextRequest {
    const OPERATION: Operation = Operation::GenerateDataKeyWithoutPlaintext;
    type Response = GenerateDataKeyWithoutPlaintextResponse;
}
impl Request for GenerateMacRequest {
    const OPERATION: Operation = Operation::GenerateMac;
    type Response = GenerateMacResponse;
}
impl Request for GenerateRandomRequest {
    const OPERATION: Operation = Operation::GenerateRandom;
    type Response = GenerateRandomResponse;
}
impl Request for GetKeyLastUsageRequest {
    const OPERATION: Operation = Operation::GetKeyLastUsage;
    type Response = GetKeyLastUsageResponse;
}
impl Request for GetKeyPolicyRequest {
    const OPERATION: Operation = Operation::GetKeyPolicy;
    type Response = GetKeyPolicyResponse;
}
impl Request for GetKeyRotationStatusRequest {
    const OPERATION: Operation = Operation::GetKeyRotationStatus;
    type Response = GetKeyRotationStatusResponse;
}
impl Request for GetParametersForImportRequest {
    const OPERATION: Operation = Operation::GetParametersForImport;
    type Response = GetParametersForImportResponse;
}
impl Request for GetPublicKeyRequest {
    const OPERATION: Operation = Operation::GetPublicKey;
    type Response = GetPublicKeyResponse;
}
impl Request for ImportKeyMaterialRequest {
    const OPERATION: Operation = Operation::ImportKeyMaterial;
    type Response = ImportKeyMaterialResponse;
}
impl Request for ListAliasesRequest {
    const OPERATION: Operation = Operation::ListAliases;
    type Response = ListAliasesResponse;
}
impl Request for ListGrantsRequest {
    const OPERATION: Operation = Operation::ListGrants;
    type Response = ListGrantsResponse;
}
impl Request for ListKeyPoliciesRequest {
    const OPERATION: Operation = Operation::ListKeyPolicies;
    type Response = ListKeyPoliciesResponse;
}
impl Request for ListKeyRotationsRequest {
    const OPERATION: Operation = Operation::ListKeyRotations;
    type Response = ListKeyRotationsResponse;
}
impl Request for ListKeysRequest {
    const OPERATION: Operation = Operation::ListKeys;
    type Response = ListKeysResponse;
}
impl Request for ListResourceTagsRequest {
    const OPERATION: Operation = Operation::ListResourceTags;
    type Response = ListResourceTagsResponse;
}
impl Request for ListRetirableGrantsRequest {
    const OPERATION: Operation = Operation::ListRetirableGrants;
    type Response = ListGrantsResponse;
}
impl Request for PutKeyPolicyRequest {
    const OPERATION: Operation = Operation::PutKeyPolicy;
    type Response = ();
}
impl Request for ReEncryptRequest {
    const OPERATION: Operation = Operation::ReEncrypt;
    type Response = ReEncryptResponse;
}
impl Request for ReplicateKeyRequest {
    const OPERATION: Operation = Operation::ReplicateKey;
    type Response = ReplicateKeyResponse;
}
impl Request for RetireGrantRequest {
    const OPERATION: Operation = Operation::RetireGrant;
    type Response = ();
}
impl Request for RevokeGrantRequest {
    const OPERATION: Operation = Operation::RevokeGrant;
    type Response = ();
}
impl Request for RotateKeyOnDemandRequest {
    const OPERATION: Operation = Operation::RotateKeyOnDemand;
    type Response = RotateKeyOnDemandResponse;
}
impl Request for ScheduleKeyDeletionRequest {
    const OPERATION: Operation = Operation::ScheduleKeyDeletion;
    type Response = ScheduleKeyDeletionResponse;
}
impl Request for SignRequest {
    const OPERATION: Operation = Operation::Sign;
    type Response = SignResponse;
}
impl Request for TagResourceRequest {
    const OPERATION: Operation = Operation::TagResource;
    type Response = ();
}
impl Request for UntagResourceRequest {
    const OPERATION: Operation = Operation::UntagResource;
    type Response = ();
}
impl Request for UpdateAliasRequest {
    const OPERATION: Operation = Operation::UpdateAlias;
    type Response = ();
}
impl Request for UpdateCustomKeyStoreRequest {
    const OPERATION: Operation = Operation::UpdateCustomKeyStore;
    type Response = UpdateCustomKeyStoreResponse;
}
impl Request for UpdateKeyDescriptionRequest {
    const OPERATION: Operation = Operation::UpdateKeyDescription;
    type Response = ();
}
impl Request for UpdatePrimaryRegionRequest {
    const OPERATION: Operation = Operation::UpdatePrimaryRegion;
    type Response = ();
}
impl Request for VerifyRequest {
    const OPERATION: Operation = Operation::Verify;
    type Response = VerifyResponse;
}
impl Request for VerifyMacRequest {
    const OPERATION: Operation = Operation::VerifyMac;
    type Response = VerifyMacResponse;
}

/// Calls `$m! { RequestType, ... }` with the request of every operation whose input requires
/// `KeyId`: the key the operation acts on.
#[macro_export]
macro_rules! for_each_keyed_request {
    ($m:ident) => {
        $m! {
            CancelKeyDeletionRequest,
            CreateGrantRequest,
            DecapsulateRequest,
            DeleteImportedKeyMaterialRequest,
            DeriveSharedSecretRequest,
            DescribeKeyRequest,
            DisableKeyRequest,
            DisableKeyRotationRequest,
            EnableKeyRequest,
            EnableKeyRotationRequest,
            EncapsulateRequest,
            EncryptRequest,
            GenerateDataKeyRequest,
            GenerateDataKeyPairRequest,
            GenerateDataKeyPairWithoutPlaintextRequest,
            GenerateDataKeyWithoutPlaintextRequest,
            GenerateMacRequest,
            GetKeyLastUsageRequest,
            GetKeyPolicyRequest,
            GetKeyRotationStatusRequest,
            GetParametersForImportRequest,
            GetPublicKeyRequest,
            ImportKeyMaterialRequest,
            ListGrantsRequest,
            ListKeyPoliciesRequest,
            ListKeyRotationsRequest,
            ListResourceTagsRequest,
            PutKeyPolicyRequest,
            ReplicateKeyRequest,
            RevokeGrantRequest,
            RotateKeyOnDemandRequest,
            ScheduleKeyDeletionRequest,
            SignRequest,
            TagResourceRequest,
            UntagResourceRequest,
            UpdateKeyDescriptionRequest,
            UpdatePrimaryRegionRequest,
            VerifyRequest,
            VerifyMacRequest,
        }
    };
}

/// Every error `__type` Trent can answer with: the model's exceptions and the protocol's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    AlreadyExistsException,
    CloudHsmClusterInUseException,
    CloudHsmClusterInvalidConfigurationException,
    CloudHsmClusterNotActiveException,
    CloudHsmClusterNotFoundException,
    CloudHsmClusterNotRelatedException,
    ConflictException,
    CustomKeyStoreHasCMKsException,
    CustomKeyStoreInvalidStateException,
    CustomKeyStoreNameInUseException,
    CustomKeyStoreNotFoundException,
    DependencyTimeoutException,
    DisabledException,
    DryRunOperationException,
    ExpiredImportTokenException,
    IncorrectKeyException,
    IncorrectKeyMaterialException,
    IncorrectTrustAnchorException,
    InvalidAliasNameException,
    InvalidArnException,
    InvalidCiphertextException,
    InvalidGrantIdException,
    InvalidGrantTokenException,
    InvalidImportTokenException,
    InvalidKeyUsageException,
    InvalidMarkerException,
    KMSInternalException,
    KMSInvalidMacException,
    KMSInvalidSignatureException,
    KMSInvalidStateException,
    KeyUnavailableException,
    LimitExceededException,
    MalformedPolicyDocumentException,
    NotFoundException,
    TagException,
    UnsupportedOperationException,
    XksKeyAlreadyInUseException,
    XksKeyInvalidConfigurationException,
    XksKeyNotFoundException,
    XksProxyIncorrectAuthenticationCredentialException,
    XksProxyInvalidConfigurationException,
    XksProxyInvalidResponseException,
    XksProxyUriEndpointInUseException,
    XksProxyUriInUseException,
    XksProxyUriUnreachableException,
    XksProxyVpcEndpointServiceInUseException,
    XksProxyVpcEndpointServiceInvalidConfigurationException,
    XksProxyVpcEndpointServiceNotFoundException,
    ValidationException,
    SerializationException,
    UnknownOperationException,
    AccessDeniedException,
    ThrottlingException,
    UnrecognizedClientException,
    InvalidSignatureException,
    IncompleteSignatureException,
    MissingAuthenticationTokenException,
    InvalidClientTokenId,
    NotAuthorizedException,
    RequestEntityTooLargeException,
    RequestTimeoutException,
    RequestHeaderFieldsTooLargeException,
}
impl ErrorCode {
    pub fn name(self) -> &'static str {
        match self {
            ErrorCode::AlreadyExistsException => "AlreadyExistsException",
            ErrorCode::CloudHsmClusterInUseException => "CloudHsmClusterInUseException",
            ErrorCode::CloudHsmClusterInvalidConfigurationException => "CloudHsmClusterInvalidConfigurationException",
            ErrorCode::CloudHsmClusterNotActiveException => "CloudHsmClusterNotActiveException",
            ErrorCode::CloudHsmClusterNotFoundException => "CloudHsmClusterNotFoundException",
            ErrorCode::CloudHsmClusterNotRelatedException => "CloudHsmClusterNotRelatedException",
            ErrorCode::ConflictException => "ConflictException",
            ErrorCode::CustomKeyStoreHasCMKsException => "CustomKeyStoreHasCMKsException",
            ErrorCode::CustomKeyStoreInvalidStateException => "CustomKeyStoreInvalidStateException",
            ErrorCode::CustomKeyStoreNameInUseException => "CustomKeyStoreNameInUseException",
            ErrorCode::CustomKeyStoreNotFoundException => "CustomKeyStoreNotFoundException",
            ErrorCode::DependencyTimeoutException => "DependencyTimeoutException",
            ErrorCode::DisabledException => "DisabledException",
            ErrorCode::DryRunOperationException => "DryRunOperationException",
            ErrorCode::ExpiredImportTokenException => "ExpiredImportTokenException",
            ErrorCode::IncorrectKeyException => "IncorrectKeyException",
            ErrorCode::IncorrectKeyMaterialException => "IncorrectKeyMaterialException",
            ErrorCode::IncorrectTrustAnchorException => "IncorrectTrustAnchorException",
            ErrorCode::InvalidAliasNameException => "InvalidAliasNameException",
            ErrorCode::InvalidArnException => "InvalidArnException",
            ErrorCode::InvalidCiphertextException => "InvalidCiphertextException",
            ErrorCode::InvalidGrantIdException => "InvalidGrantIdException",
            ErrorCode::InvalidGrantTokenException => "InvalidGrantTokenException",
            ErrorCode::InvalidImportTokenException => "InvalidImportTokenException",
            ErrorCode::InvalidKeyUsageException => "InvalidKeyUsageException",
            ErrorCode::InvalidMarkerException => "InvalidMarkerException",
            ErrorCode::KMSInternalException => "KMSInternalException",
            ErrorCode::KMSInvalidMacException => "KMSInvalidMacException",
            ErrorCode::KMSInvalidSignatureException => "KMSInvalidSignatureException",
            ErrorCode::KMSInvalidStateException => "KMSInvalidStateException",
            ErrorCode::KeyUnavailableException => "KeyUnavailableException",
            ErrorCode::LimitExceededException => "LimitExceededException",
            ErrorCode::MalformedPolicyDocumentException => "MalformedPolicyDocumentException",
            ErrorCode::NotFoundException => "NotFoundException",
            ErrorCode::TagException => "TagException",
            ErrorCode::UnsupportedOperationException => "UnsupportedOperationException",
            ErrorCode::XksKeyAlreadyInUseException => "XksKeyAlreadyInUseException",
            ErrorCode::XksKeyInvalidConfigurationException => "XksKeyInvalidConfigurationException",
            ErrorCode::XksKeyNotFoundException => "XksKeyNotFoundException",
            ErrorCode::XksProxyIncorrectAuthenticationCredentialException => "XksProxyIncorrectAuthenticationCredentialException",
            ErrorCode::XksProxyInvalidConfigurationException => "XksProxyInvalidConfigurationException",
            ErrorCode::XksProxyInvalidResponseException => "XksProxyInvalidResponseException",
            ErrorCode::XksProxyUriEndpointInUseException => "XksProxyUriEndpointInUseException",
            ErrorCode::XksProxyUriInUseException => "XksProxyUriInUseException",
            ErrorCode::XksProxyUriUnreachableException => "XksProxyUriUnreachableException",
            ErrorCode::XksProxyVpcEndpointServiceInUseException => "XksProxyVpcEndpointServiceInUseException",
            ErrorCode::XksProxyVpcEndpointServiceInvalidConfigurationException => "XksProxyVpcEndpointServiceInvalidConfigurationException",
            ErrorCode::XksProxyVpcEndpointServiceNotFoundException => "XksProxyVpcEndpointServiceNotFoundException",
            ErrorCode::ValidationException => "ValidationException",
            ErrorCode::SerializationException => "SerializationException",
            ErrorCode::UnknownOperationException => "UnknownOperationException",
            ErrorCode::AccessDeniedException => "AccessDeniedException",
            ErrorCode::ThrottlingException => "ThrottlingException",
            ErrorCode::UnrecognizedClientException => "UnrecognizedClientException",
            ErrorCode::InvalidSignatureException => "InvalidSignatureException",
            ErrorCode::IncompleteSignatureException => "IncompleteSignatureException",
            ErrorCode::MissingAuthenticationTokenException => "MissingAuthenticationTokenException",
            ErrorCode::InvalidClientTokenId => "InvalidClientTokenId",
            ErrorCode::NotAuthorizedException => "NotAuthorizedException",
            ErrorCode::RequestEntityTooLargeException => "RequestEntityTooLargeException",
            ErrorCode::RequestTimeoutException => "RequestTimeoutException",
            ErrorCode::RequestHeaderFieldsTooLargeException => "RequestHeaderFieldsTooLargeException",
        }
    }
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::AlreadyExistsException => 400,
            ErrorCode::CloudHsmClusterInUseException => 400,
            ErrorCode::CloudHsmClusterInvalidConfigurationException => 400,
            ErrorCode::CloudHsmClusterNotActiveException => 400,
            ErrorCode::CloudHsmClusterNotFoundException => 400,
            ErrorCode::CloudHsmClusterNotRelatedException => 400,
            ErrorCode::ConflictException => 400,
            ErrorCode::CustomKeyStoreHasCMKsException => 400,
            ErrorCode::CustomKeyStoreInvalidStateException => 400,
            ErrorCode::CustomKeyStoreNameInUseException => 400,
            ErrorCode::CustomKeyStoreNotFoundException => 400,
            ErrorCode::DependencyTimeoutException => 500,
            ErrorCode::DisabledException => 400,
            ErrorCode::DryRunOperationException => 400,
            ErrorCode::ExpiredImportTokenException => 400,
            ErrorCode::IncorrectKeyException => 400,
            ErrorCode::IncorrectKeyMaterialException => 400,
            ErrorCode::IncorrectTrustAnchorException => 400,
            ErrorCode::InvalidAliasNameException => 400,
            ErrorCode::InvalidArnException => 400,
            ErrorCode::InvalidCiphertextException => 400,
            ErrorCode::InvalidGrantIdException => 400,
            ErrorCode::InvalidGrantTokenException => 400,
            ErrorCode::InvalidImportTokenException => 400,
            ErrorCode::InvalidKeyUsageException => 400,
            ErrorCode::InvalidMarkerException => 400,
            ErrorCode::KMSInternalException => 500,
            ErrorCode::KMSInvalidMacException => 400,
            ErrorCode::KMSInvalidSignatureException => 400,
            ErrorCode::KMSInvalidStateException => 400,
            ErrorCode::KeyUnavailableException => 500,
            ErrorCode::LimitExceededException => 400,
            ErrorCode::MalformedPolicyDocumentException => 400,
            ErrorCode::NotFoundException => 400,
            ErrorCode::TagException => 400,
            ErrorCode::UnsupportedOperationException => 400,
            ErrorCode::XksKeyAlreadyInUseException => 400,
            ErrorCode::XksKeyInvalidConfigurationException => 400,
            ErrorCode::XksKeyNotFoundException => 400,
            ErrorCode::XksProxyIncorrectAuthenticationCredentialException => 400,
            ErrorCode::XksProxyInvalidConfigurationException => 400,
            ErrorCode::XksProxyInvalidResponseException => 400,
            ErrorCode::XksProxyUriEndpointInUseException => 400,
            ErrorCode::XksProxyUriInUseException => 400,
            ErrorCode::XksProxyUriUnreachableException => 400,
            ErrorCode::XksProxyVpcEndpointServiceInUseException => 400,
            ErrorCode::XksProxyVpcEndpointServiceInvalidConfigurationException => 400,
            ErrorCode::XksProxyVpcEndpointServiceNotFoundException => 400,
            ErrorCode::ValidationException => 400,
            ErrorCode::SerializationException => 400,
            ErrorCode::UnknownOperationException => 400,
            ErrorCode::AccessDeniedException => 400,
            ErrorCode::ThrottlingException => 400,
            ErrorCode::UnrecognizedClientException => 400,
            ErrorCode::InvalidSignatureException => 400,
            ErrorCode::IncompleteSignatureException => 400,
            ErrorCode::MissingAuthenticationTokenException => 400,
            ErrorCode::InvalidClientTokenId => 403,
            ErrorCode::NotAuthorizedException => 400,
            ErrorCode::RequestEntityTooLargeException => 413,
            ErrorCode::RequestTimeoutException => 408,
            ErrorCode::RequestHeaderFieldsTooLargeException => 431,
        }
    }
}
