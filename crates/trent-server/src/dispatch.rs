//! From an operation and its body to the domain call and back to JSON.

use crate::error::Failure;
use serde::Serialize;
use std::future::Future;
use trent_core::{Caller, Kms, KmsError};
use trent_types::*;

type Convert<W, T> = fn(&W, &MemberPath<'_>, &mut Errors) -> Option<T>;

/// Decodes the input, runs the operation and encodes its output.
async fn run<W, T, R, Fut>(
    body: &[u8],
    convert: Convert<W, T>,
    f: impl FnOnce(T) -> Fut,
) -> Result<Vec<u8>, Failure>
where
    W: serde::de::DeserializeOwned + Default,
    R: Serialize,
    Fut: Future<Output = Result<R, KmsError>>,
{
    let req = decode::<W, T>(body, convert)?;
    let resp = f(req).await?;
    serde_json::to_vec(&resp)
        .map_err(|e| Failure::Kms(KmsError::Internal(format!("encoding the response: {e}"))))
}

/// As [`run`], for operations whose output is empty: AWS answers them with an empty body.
async fn run_unit<W, T, Fut>(
    body: &[u8],
    convert: Convert<W, T>,
    f: impl FnOnce(T) -> Fut,
) -> Result<Vec<u8>, Failure>
where
    W: serde::de::DeserializeOwned + Default,
    Fut: Future<Output = Result<(), KmsError>>,
{
    let req = decode::<W, T>(body, convert)?;
    f(req).await?;
    Ok(Vec::new())
}

pub(crate) async fn dispatch(
    kms: &Kms,
    c: &Caller,
    op: Operation,
    body: &[u8],
) -> Result<Vec<u8>, Failure> {
    use Operation as O;
    match op {
        O::CreateKey => run(body, CreateKeyRequest::from_wire, |r| kms.create_key(c, r)).await,
        O::DescribeKey => {
            run(body, DescribeKeyRequest::from_wire, |r| kms.describe_key(c, r)).await
        }
        O::ListKeys => run(body, ListKeysRequest::from_wire, |r| kms.list_keys(c, r)).await,
        O::EnableKey => run_unit(body, EnableKeyRequest::from_wire, |r| kms.enable_key(c, r)).await,
        O::DisableKey => {
            run_unit(body, DisableKeyRequest::from_wire, |r| kms.disable_key(c, r)).await
        }
        O::ScheduleKeyDeletion => {
            run(body, ScheduleKeyDeletionRequest::from_wire, |r| kms.schedule_key_deletion(c, r))
                .await
        }
        O::CancelKeyDeletion => {
            run(body, CancelKeyDeletionRequest::from_wire, |r| kms.cancel_key_deletion(c, r)).await
        }
        O::UpdateKeyDescription => {
            run_unit(body, UpdateKeyDescriptionRequest::from_wire, |r| {
                kms.update_key_description(c, r)
            })
            .await
        }
        O::CreateAlias => {
            run_unit(body, CreateAliasRequest::from_wire, |r| kms.create_alias(c, r)).await
        }
        O::UpdateAlias => {
            run_unit(body, UpdateAliasRequest::from_wire, |r| kms.update_alias(c, r)).await
        }
        O::DeleteAlias => {
            run_unit(body, DeleteAliasRequest::from_wire, |r| kms.delete_alias(c, r)).await
        }
        O::ListAliases => {
            run(body, ListAliasesRequest::from_wire, |r| kms.list_aliases(c, r)).await
        }
        O::TagResource => {
            run_unit(body, TagResourceRequest::from_wire, |r| kms.tag_resource(c, r)).await
        }
        O::UntagResource => {
            run_unit(body, UntagResourceRequest::from_wire, |r| kms.untag_resource(c, r)).await
        }
        O::ListResourceTags => {
            run(body, ListResourceTagsRequest::from_wire, |r| kms.list_resource_tags(c, r)).await
        }
        O::GetKeyPolicy => {
            run(body, GetKeyPolicyRequest::from_wire, |r| kms.get_key_policy(c, r)).await
        }
        O::PutKeyPolicy => {
            run_unit(body, PutKeyPolicyRequest::from_wire, |r| kms.put_key_policy(c, r)).await
        }
        O::ListKeyPolicies => {
            run(body, ListKeyPoliciesRequest::from_wire, |r| kms.list_key_policies(c, r)).await
        }
        O::Encrypt => run(body, EncryptRequest::from_wire, |r| kms.encrypt(c, r)).await,
        O::Decrypt => run(body, DecryptRequest::from_wire, |r| kms.decrypt(c, r)).await,
        O::ReEncrypt => run(body, ReEncryptRequest::from_wire, |r| kms.re_encrypt(c, r)).await,
        O::GenerateDataKey => {
            run(body, GenerateDataKeyRequest::from_wire, |r| kms.generate_data_key(c, r)).await
        }
        O::GenerateDataKeyWithoutPlaintext => {
            run(body, GenerateDataKeyWithoutPlaintextRequest::from_wire, |r| {
                kms.generate_data_key_without_plaintext(c, r)
            })
            .await
        }
        O::GenerateRandom => {
            run(body, GenerateRandomRequest::from_wire, |r| kms.generate_random(c, r)).await
        }
        O::EnableKeyRotation => {
            run_unit(body, EnableKeyRotationRequest::from_wire, |r| kms.enable_key_rotation(c, r))
                .await
        }
        O::DisableKeyRotation => {
            run_unit(body, DisableKeyRotationRequest::from_wire, |r| kms.disable_key_rotation(c, r))
                .await
        }
        O::GetKeyRotationStatus => {
            run(body, GetKeyRotationStatusRequest::from_wire, |r| kms.get_key_rotation_status(c, r))
                .await
        }
        O::RotateKeyOnDemand => {
            run(body, RotateKeyOnDemandRequest::from_wire, |r| kms.rotate_key_on_demand(c, r)).await
        }
        O::ListKeyRotations => {
            run(body, ListKeyRotationsRequest::from_wire, |r| kms.list_key_rotations(c, r)).await
        }
        O::GetParametersForImport => {
            run(body, GetParametersForImportRequest::from_wire, |r| {
                kms.get_parameters_for_import(c, r)
            })
            .await
        }
        O::ImportKeyMaterial => {
            run(body, ImportKeyMaterialRequest::from_wire, |r| kms.import_key_material(c, r)).await
        }
        O::DeleteImportedKeyMaterial => {
            run(body, DeleteImportedKeyMaterialRequest::from_wire, |r| {
                kms.delete_imported_key_material(c, r)
            })
            .await
        }
        O::GetPublicKey => {
            run(body, GetPublicKeyRequest::from_wire, |r| kms.get_public_key(c, r)).await
        }
        O::Sign => run(body, SignRequest::from_wire, |r| kms.sign(c, r)).await,
        O::Verify => run(body, VerifyRequest::from_wire, |r| kms.verify(c, r)).await,
        O::GenerateMac => {
            run(body, GenerateMacRequest::from_wire, |r| kms.generate_mac(c, r)).await
        }
        O::VerifyMac => run(body, VerifyMacRequest::from_wire, |r| kms.verify_mac(c, r)).await,
        O::DeriveSharedSecret => {
            run(body, DeriveSharedSecretRequest::from_wire, |r| kms.derive_shared_secret(c, r))
                .await
        }
        O::GenerateDataKeyPair => {
            run(body, GenerateDataKeyPairRequest::from_wire, |r| kms.generate_data_key_pair(c, r))
                .await
        }
        O::GenerateDataKeyPairWithoutPlaintext => {
            run(body, GenerateDataKeyPairWithoutPlaintextRequest::from_wire, |r| {
                kms.generate_data_key_pair_without_plaintext(c, r)
            })
            .await
        }
        O::Encapsulate => run(body, EncapsulateRequest::from_wire, |r| kms.encapsulate(c, r)).await,
        O::Decapsulate => run(body, DecapsulateRequest::from_wire, |r| kms.decapsulate(c, r)).await,
        O::CreateGrant => {
            run(body, CreateGrantRequest::from_wire, |r| kms.create_grant(c, r)).await
        }
        O::ListGrants => run(body, ListGrantsRequest::from_wire, |r| kms.list_grants(c, r)).await,
        O::ListRetirableGrants => {
            run(body, ListRetirableGrantsRequest::from_wire, |r| kms.list_retirable_grants(c, r))
                .await
        }
        O::RetireGrant => {
            run_unit(body, RetireGrantRequest::from_wire, |r| kms.retire_grant(c, r)).await
        }
        O::RevokeGrant => {
            run_unit(body, RevokeGrantRequest::from_wire, |r| kms.revoke_grant(c, r)).await
        }
        other => Err(Failure::Kms(KmsError::UnsupportedOperation(format!(
            "{} is not supported by this server yet.",
            other.name()
        )))),
    }
}
