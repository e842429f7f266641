//! What a new key is made of, shared by CreateKey, ReplicateKey, seeding and bulk creation
//! (its record before any material is `KeyRecord::new`): the AWS default key policy, the
//! rules its policy and tags pass, and CreateKey's own checks and write (seeding names the
//! key id).

use crate::authz::PolicyDocument;
use crate::quotas::ResourceQuota;
use crate::{Caller, Kms, KmsError, Result};
use std::collections::{BTreeMap, HashSet};
use trent_store::{partition_of, KeyRecord, KeyRef};
use trent_types::*;

/// The key spec a CreateKey request asks for (KeySpec, or the deprecated CustomerMasterKeySpec).
pub(crate) fn requested_spec(r: &CreateKeyRequest) -> KeySpec {
    match (r.key_spec, r.customer_master_key_spec) {
        (Some(s), _) => s,
        (None, Some(c)) => KeySpec::parse(c.as_str()).unwrap_or(KeySpec::SymmetricDefault),
        (None, None) => KeySpec::SymmetricDefault,
    }
}

/// The policy CreateKey attaches when none is given, laid out as AWS returns it
/// (pretty-printed, `" : "` separators;
/// <https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html>).
pub(crate) fn default_policy(key: &KeyRef) -> String {
    format!(
        "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"arn:{}:iam::{}:root\"\n    }},\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
        partition_of(&key.region),
        key.account
    )
}

/// Checks that a policy is within the key policy document quota (32 KB by default; the model
/// admits 131,072 characters, and CreateKey's and PutKeyPolicy's API text says a longer
/// policy gets `LimitExceededException`) and parses as an IAM policy; returns it unchanged.
pub(crate) fn validate_policy(kms: &Kms, p: &str) -> Result<String> {
    kms.config.resource_quotas.check(ResourceQuota::KeyPolicyBytes, p.len() as u64)?;
    PolicyDocument::parse(p)
        .map_err(|e| KmsError::new(ErrorCode::MalformedPolicyDocumentException, e.0))?;
    Ok(p.to_string())
}

/// Applies `new` on top of `existing` with AWS's rules (the TagResource API reference;
/// messages as recorded against AWS).
pub(crate) fn validate_new_tags(
    kms: &Kms,
    new: &[Tag],
    existing: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>> {
    let mut seen = HashSet::new();
    let mut out = existing.clone();
    for t in new {
        let k = t.tag_key.clone();
        // Case-insensitive, as AWS checks it (recorded: `AWS:team` is refused too).
        if k.as_bytes().get(..4).is_some_and(|p| p.eq_ignore_ascii_case(b"aws:")) {
            return Err(KmsError::new(
                ErrorCode::TagException,
                "Tags beginning with aws: are reserved".into(),
            ));
        }
        if !seen.insert(k.clone()) {
            return Err(KmsError::new(ErrorCode::TagException, "Duplicate tag keys".into()));
        }
        out.insert(k, t.tag_value.clone());
    }
    kms.config.resource_quotas.check(ResourceQuota::TagsPerKey, out.len() as u64)?;
    Ok(out)
}

/// CreateKey for `caller`, with a new key id, or with `key_id` (a seed file's, checked by
/// the caller to be a key id of the right kind).
pub(crate) async fn create_key(
    kms: &Kms,
    caller: &Caller,
    r: CreateKeyRequest,
    key_id: Option<String>,
) -> Result<CreateKeyResponse> {
    if r.key_spec.is_some() && r.customer_master_key_spec.is_some() {
        return Err(KmsError::validation(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.",
        ));
    }
    let spec = requested_spec(&r);
    if spec != KeySpec::SymmetricDefault && r.key_usage.is_none() {
        return Err(KmsError::validation(
            "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.",
        ));
    }
    let usage = r.key_usage.unwrap_or(KeyUsageType::EncryptDecrypt);
    let origin = r.origin.unwrap_or(OriginType::AwsKms);
    crate::keyspec::check_create(spec, usage, origin, &caller.region)?;
    let xks = match origin {
        OriginType::ExternalKeyStore => {
            Some(Box::pin(kms.bind_external_key(caller, &r, spec, usage)).await?)
        }
        // No CloudHSM key store can exist here (CreateCustomKeyStore refuses them).
        OriginType::AwsCloudhsm => {
            return Err(match &r.custom_key_store_id {
                Some(id) => kms
                    .custom_key_store(&caller.account, &caller.region, id)
                    .await
                    .err()
                    .unwrap_or_else(|| KmsError::new(
                        ErrorCode::UnsupportedOperationException,
                        format!("Custom key store {id} is an external key store: use Origin EXTERNAL_KEY_STORE."),
                    )),
                None => KmsError::validation(
                    "CustomKeyStoreId is required for a KMS key with Origin AWS_CLOUDHSM.",
                ),
            })
        }
        OriginType::AwsKms | OriginType::External => {
            if let Some(id) = &r.custom_key_store_id {
                kms.custom_key_store(&caller.account, &caller.region, id).await?;
                return Err(KmsError::new(
                    ErrorCode::UnsupportedOperationException,
                    format!("Origin {origin} is not valid for a KMS key in custom key store {id}: use Origin EXTERNAL_KEY_STORE."),
                ));
            }
            if r.xks_key_id.is_some() {
                return Err(KmsError::validation(
                    "XksKeyId is valid only for keys in an external key store.",
                ));
            }
            None
        }
    };
    let tags = validate_new_tags(kms, r.tags.as_deref().unwrap_or(&[]), &BTreeMap::new())?;
    let now = kms.now_ms();
    let multi_region = r.multi_region.unwrap_or(false);
    let key_id = match key_id {
        Some(id) => id,
        None if multi_region => trent_crypto::new_mrk_id()?,
        None => trent_crypto::new_key_id()?,
    };
    let key = KeyRef { account: caller.account.clone(), region: caller.region.clone(), key_id };
    kms.check_key_quota(&key.account, &key.region).await?;
    let custom_policy = r.policy.is_some();
    let policy = match r.policy {
        Some(p) => validate_policy(kms, &p)?,
        None => default_policy(&key),
    };
    let mut rec = KeyRecord::new(key.clone(), now, spec, usage, origin, policy);
    if let Some(description) = r.description {
        rec.description = description;
    }
    rec.multi_region = multi_region;
    rec.primary_region = multi_region.then(|| key.region.clone());
    rec.tags = tags;
    rec.xks = xks;
    let mut materials = Vec::new();
    if origin == OriginType::External {
        rec.state = KeyState::PendingImport;
    } else {
        let m = kms.new_material(&key, spec, KeyMaterialState::Current, now).await?;
        rec.current_material_id = Some(m.material_id.clone());
        materials.push(m);
    }
    if custom_policy {
        kms.check_lockout(caller, &rec, &rec.policy, r.bypass_policy_lockout_safety_check).await?;
    }
    match kms.store.create_key(&rec, &materials).await {
        // The unique index on the store and external key (a key id is never taken twice).
        Err(trent_store::StoreError::AlreadyExists) if rec.xks.is_some() => {
            let x = rec.xks.as_ref().map(|x| x.xks_key_id.as_str()).unwrap_or_default();
            return Err(KmsError::new(
                ErrorCode::XksKeyAlreadyInUseException,
                format!("The external key {x} is already associated with another KMS key in this external key store."),
            ));
        }
        written => written?,
    }
    // The new key is the call's resource (AWS's CreateKey example lists it).
    crate::audit::note_resource(&key.arn());
    tracing::info!(key = %key.arn(), origin = %origin, "created key");
    Ok(CreateKeyResponse { key_metadata: Some(kms.key_metadata(&rec, &materials)) })
}
