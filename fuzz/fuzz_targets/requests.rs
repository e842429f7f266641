//! The JSON decoding and model validation of every operation's request: the first byte picks
//! the operation, the rest is the body. Never a panic, whatever the body.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_types::*;

macro_rules! decoders {
    ($($req:ident),* $(,)?) => {
        const DECODERS: &[fn(&[u8]) -> bool] = &[$(|b| decode::<_, $req>(b, $req::from_wire).is_ok()),*];
    };
}

decoders!(
    CancelKeyDeletionRequest,
    ConnectCustomKeyStoreRequest,
    CreateAliasRequest,
    CreateCustomKeyStoreRequest,
    CreateGrantRequest,
    CreateKeyRequest,
    DecapsulateRequest,
    DecryptRequest,
    DeleteAliasRequest,
    DeleteCustomKeyStoreRequest,
    DeleteImportedKeyMaterialRequest,
    DeriveSharedSecretRequest,
    DescribeCustomKeyStoresRequest,
    DescribeKeyRequest,
    DisableKeyRequest,
    DisableKeyRotationRequest,
    DisconnectCustomKeyStoreRequest,
    EnableKeyRequest,
    EnableKeyRotationRequest,
    EncapsulateRequest,
    EncryptRequest,
    GenerateDataKeyRequest,
    GenerateDataKeyPairRequest,
    GenerateDataKeyPairWithoutPlaintextRequest,
    GenerateDataKeyWithoutPlaintextRequest,
    GenerateMacRequest,
    GenerateRandomRequest,
    GetKeyLastUsageRequest,
    GetKeyPolicyRequest,
    GetKeyRotationStatusRequest,
    GetParametersForImportRequest,
    GetPublicKeyRequest,
    ImportKeyMaterialRequest,
    ListAliasesRequest,
    ListGrantsRequest,
    ListKeyPoliciesRequest,
    ListKeyRotationsRequest,
    ListKeysRequest,
    ListResourceTagsRequest,
    ListRetirableGrantsRequest,
    PutKeyPolicyRequest,
    ReEncryptRequest,
    ReplicateKeyRequest,
    RetireGrantRequest,
    RevokeGrantRequest,
    RotateKeyOnDemandRequest,
    ScheduleKeyDeletionRequest,
    SignRequest,
    TagResourceRequest,
    UntagResourceRequest,
    UpdateAliasRequest,
    UpdateCustomKeyStoreRequest,
    UpdateKeyDescriptionRequest,
    UpdatePrimaryRegionRequest,
    VerifyRequest,
    VerifyMacRequest,
);

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else { return };
    assert_eq!(DECODERS.len(), Operation::ALL.len());
    let _ = DECODERS[pick as usize % DECODERS.len()](body);
});
