//! Multi-Region keys through aws-sdk-kms: replicas in other Regions (Creating, then Enabled
//! or PendingImport), cross-Region decryption, the guide's import procedure for multi-Region
//! keys, rotation of imported material across the set, PendingReplicaDeletion,
//! UpdatePrimaryRegion, the condition keys, and GetKeyLastUsage.

use crate::common::*;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{
    AlgorithmSpec, ImportType, IncludeKeyMaterial, KeyMaterialState, KeyState, MultiRegionKeyType,
    OriginType, WrappingKeySpec,
};

const EU: &str = "eu-west-1";
const AP: &str = "ap-southeast-2";

fn in_region(t: &TestServer, region: &str) -> aws_sdk_kms::Client {
    t.client_in(region, &t.creds.access_key_id, &t.secret())
}

/// Past the transient states (`Creating`, `Updating`) by the server's manual clock.
fn settle(t: &TestServer) {
    t.clock.advance_ms(trent_core::KmsConfig::default().multi_region_sync_ms + 1);
}

async fn state(c: &aws_sdk_kms::Client, id: &str) -> KeyState {
    c.describe_key().key_id(id).send().await.unwrap().key_metadata.unwrap().key_state.unwrap()
}

async fn replicate(t: &TestServer, id: &str, region: &str) -> aws_sdk_kms::types::KeyMetadata {
    t.client()
        .replicate_key()
        .key_id(id)
        .replica_region(region)
        .description(format!("replica in {region}"))
        .send()
        .await
        .unwrap()
        .replica_key_metadata
        .unwrap()
}

/// A multi-Region primary with imported material to come.
async fn external_primary(c: &aws_sdk_kms::Client) -> String {
    let out = c.create_key().origin(OriginType::External).multi_region(true).send().await;
    out.unwrap().key_metadata.unwrap().key_id
}

fn material() -> Vec<u8> {
    trent_crypto::random_secret(32).unwrap().as_bytes().to_vec()
}

/// Imports `m` into `id` in the Region of `c`, expiring `days` from now by the server clock.
async fn import_in(
    t: &TestServer,
    c: &aws_sdk_kms::Client,
    id: &str,
    m: &[u8],
    days: Option<i64>,
) -> Result<String, (String, String)> {
    let valid_to = days
        .map(|d| aws_sdk_kms::primitives::DateTime::from_millis(t.kms.now_ms() + d * DAY * 1000));
    let out =
        import_with(c, id, AlgorithmSpec::RsaesOaepSha256, WrappingKeySpec::Rsa2048, m, valid_to)
            .await?;
    Ok(out.key_material_id.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_are_created_then_enabled_and_decrypt_each_others_ciphertexts() {
    let t = start().await;
    let c = t.client();
    let primary = c.create_key().multi_region(true).send().await.unwrap().key_metadata.unwrap();
    let id = primary.key_id().to_string();
    assert!(id.starts_with("mrk-"), "{id}");

    let replica = replicate(&t, &id, EU).await;
    assert_eq!(replica.key_state(), Some(&KeyState::Creating));
    assert_eq!(replica.key_id(), id, "a replica shares the key id");
    assert_eq!(replica.arn().unwrap(), format!("arn:aws:kms:{EU}:{ACCOUNT}:key/{id}"));
    let config = replica.multi_region_configuration().unwrap();
    assert_eq!(config.multi_region_key_type(), Some(&MultiRegionKeyType::Replica));
    assert_eq!(config.primary_key().unwrap().region(), Some("us-east-1"));
    assert_eq!(replica.description(), Some("replica in eu-west-1"));
    // CloudTrail: ReplicateKey in the primary's Region, CreateKey in the replica's.
    let records = t.audit.0.lock().unwrap().clone();
    let names: Vec<(&str, &str)> = records
        .iter()
        .filter_map(|r| Some((r["eventName"].as_str()?, r["awsRegion"].as_str()?)))
        .filter(|(n, _)| *n == "ReplicateKey" || *n == "CreateKey")
        .collect();
    assert_eq!(
        names,
        [("CreateKey", "us-east-1"), ("CreateKey", EU), ("ReplicateKey", "us-east-1")]
    );

    // While it is being created it cannot be used (key-state.html: "is creating.").
    let eu = in_region(&t, EU);
    let e = eu.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap_err();
    assert_eq!(
        err(e),
        ("KMSInvalidStateException".into(), format!("{} is creating.", replica.arn().unwrap()))
    );
    settle(&t);
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);
    replicate(&t, &id, AP).await;
    settle(&t);

    // Encrypted in one Region, decrypted in the others without naming the key.
    let ct = c.encrypt().key_id(&id).plaintext(Blob::new("across")).send().await.unwrap();
    let ct = ct.ciphertext_blob.unwrap();
    for region in [EU, AP] {
        let out = in_region(&t, region).decrypt().ciphertext_blob(ct.clone()).send().await.unwrap();
        assert_eq!(out.plaintext.unwrap().as_ref(), b"across", "{region}");
        assert_eq!(out.key_id.unwrap(), format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}"));
    }
    let back = eu.encrypt().key_id(&id).plaintext(Blob::new("back")).send().await.unwrap();
    let out = c.decrypt().ciphertext_blob(back.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), b"back");

    // The primary lists both replicas; each key has its own description and policy.
    let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    let config = m.multi_region_configuration().unwrap();
    assert_eq!(config.multi_region_key_type(), Some(&MultiRegionKeyType::Primary));
    let regions: Vec<&str> = config.replica_keys().iter().filter_map(|r| r.region()).collect();
    assert_eq!(regions, [AP, EU]);
    assert_eq!(m.description(), Some(""));

    // One replica per Region; a replica is no primary; a single-Region key is none either.
    let again = c.replicate_key().key_id(&id).replica_region(EU).send().await.unwrap_err();
    assert_eq!(err(again).0, "AlreadyExistsException");
    let replica_arn = replica.arn().unwrap();
    let e = eu.replicate_key().key_id(&id).replica_region("us-west-2").send().await.unwrap_err();
    assert_eq!(
        err(e),
        (
            "UnsupportedOperationException".into(),
            format!("{replica_arn} is not a multi-region primary key.")
        )
    );
    let single = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let e = c.replicate_key().key_id(single.key_id()).replica_region(EU).send().await.unwrap_err();
    assert_eq!(err(e).0, "UnsupportedOperationException");

    // Rotation is the primary's: it reaches the replicas, which cannot rotate on their own.
    c.enable_key_rotation().key_id(&id).send().await.unwrap();
    let status = eu.get_key_rotation_status().key_id(&id).send().await.unwrap();
    assert!(status.key_rotation_enabled);
    let e = eu.rotate_key_on_demand().key_id(&id).send().await.unwrap_err();
    assert_eq!(err(e).0, "UnsupportedOperationException");
    let synced_before = t.events_named("SynchronizeMultiRegionKey").len();
    c.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    // The copy of the new material to the replicas is one SynchronizeMultiRegionKey of the
    // primary's, in AWS's shape (an AwsApiCall by "AWS Internal", the primary as keyId).
    let synced = t.events_named("SynchronizeMultiRegionKey");
    assert_eq!(synced.len(), synced_before + 1);
    let last = synced.last().unwrap();
    assert_eq!(last["awsRegion"], "us-east-1");
    assert_eq!(last["eventType"], "AwsApiCall");
    assert_eq!(last["userIdentity"]["invokedBy"], "AWS Internal");
    assert!(last["responseElements"]["keyId"].as_str().unwrap().ends_with(&id));
    let current = |m: aws_sdk_kms::types::KeyMetadata| m.current_key_material_id.unwrap();
    let p = current(c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap());
    let r = current(eu.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap());
    assert_eq!(p, r, "the replica has the primary's new material");
    let ct = c.encrypt().key_id(&id).plaintext(Blob::new("new")).send().await.unwrap();
    let out = eu.decrypt().ciphertext_blob(ct.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_eq!(out.key_material_id(), Some(p.as_str()));
}

/// "Importing key material into multi-Region keys" (AWS KMS developer guide): import into
/// the primary, replicate, import the same material into each replica with its own wrapping
/// key and token. Each key has its own expiry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guides_multi_region_import_procedure_with_independent_expiry() {
    let t = start().await;
    let c = t.client();
    let id = external_primary(&c).await;
    // A primary waiting for its material cannot be replicated yet.
    let e = c.replicate_key().key_id(&id).replica_region(EU).send().await.unwrap_err();
    assert_eq!(err(e).0, "KMSInvalidStateException");
    let m = material();
    let id_primary = import_in(&t, &c, &id, &m, Some(10)).await.unwrap();
    for region in [EU, AP] {
        let r = replicate(&t, &id, region).await;
        assert_eq!(r.key_state(), Some(&KeyState::Creating));
    }
    settle(&t);
    let (eu, ap) = (in_region(&t, EU), in_region(&t, AP));
    assert_eq!(state(&eu, &id).await, KeyState::PendingImport, "material is never copied");

    // Other material is refused; the same material is taken, with the same material id.
    let e = import_in(&t, &eu, &id, &material(), Some(20)).await.unwrap_err();
    assert_eq!(e.0, "IncorrectKeyMaterialException");
    assert_eq!(import_in(&t, &eu, &id, &m, Some(20)).await.unwrap(), id_primary);
    assert_eq!(import_in(&t, &ap, &id, &m, None).await.unwrap(), id_primary);
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);

    let ct = c.encrypt().key_id(&id).plaintext(Blob::new("guide")).send().await.unwrap();
    let ct = ct.ciphertext_blob.unwrap();
    let out = ap.decrypt().ciphertext_blob(ct.clone()).send().await.unwrap();
    assert_eq!(out.plaintext.unwrap().as_ref(), b"guide");

    // The primary's material expires; the replicas', later or never, do not.
    t.clock.advance_ms(11 * DAY * 1000);
    assert_eq!(state(&c, &id).await, KeyState::PendingImport);
    assert_eq!(state(&eu, &id).await, KeyState::Enabled);
    let e = c.decrypt().ciphertext_blob(ct.clone()).send().await.unwrap_err();
    assert_eq!(err(e).0, "KMSInvalidStateException");
    for replica in [&eu, &ap] {
        let out = replica.decrypt().ciphertext_blob(ct.clone()).send().await.unwrap();
        assert_eq!(out.plaintext.unwrap().as_ref(), b"guide");
    }
    t.clock.advance_ms(10 * DAY * 1000);
    assert_eq!(state(&eu, &id).await, KeyState::PendingImport);
    assert_eq!(state(&ap, &id).await, KeyState::Enabled);
    // Reimported into the primary, it is usable there again.
    import_in(&t, &c, &id, &m, None).await.unwrap();
    assert_eq!(state(&c, &id).await, KeyState::Enabled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_imported_material_rotates_once_every_replica_has_it() {
    let t = start().await;
    let c = t.client();
    let id = external_primary(&c).await;
    let first = material();
    import_in(&t, &c, &id, &first, None).await.unwrap();
    replicate(&t, &id, EU).await;
    settle(&t);
    let eu = in_region(&t, EU);
    // A write of the set checks every key's version: the primary's row moves too, so that a
    // node that changed it meanwhile makes this write retry instead of syncing stale state.
    let primary_ref = trent_store::KeyRef {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        key_id: id.clone(),
    };
    let version = |t: &TestServer| {
        let store = t.kms.store().clone();
        let key = primary_ref.clone();
        async move { store.get_key(&key).await.unwrap().unwrap().version }
    };
    let before = version(&t).await;
    import_in(&t, &eu, &id, &first, None).await.unwrap();
    assert!(version(&t).await > before);

    // New material into the primary: pending on the whole set until the replica has it.
    let second = material();
    let p = c
        .get_parameters_for_import()
        .key_id(&id)
        .wrapping_algorithm(AlgorithmSpec::RsaesOaepSha256)
        .wrapping_key_spec(WrappingKeySpec::Rsa2048)
        .send()
        .await
        .unwrap();
    let wrapped = trent_crypto::import::wrap_material(
        trent_crypto::import::WrapAlgorithm::from_aws_name("RSAES_OAEP_SHA_256").unwrap(),
        p.public_key().unwrap().as_ref(),
        &second,
    )
    .unwrap();
    let new_id = c
        .import_key_material()
        .key_id(&id)
        .import_token(p.import_token.unwrap())
        .encrypted_key_material(Blob::new(wrapped))
        .import_type(ImportType::NewKeyMaterial)
        .expiration_model(aws_sdk_kms::types::ExpirationModelType::KeyMaterialDoesNotExpire)
        .send()
        .await
        .unwrap()
        .key_material_id
        .unwrap();
    let pending_state = |c: aws_sdk_kms::Client, id: String, new_id: String| async move {
        let rotations = c
            .list_key_rotations()
            .key_id(&id)
            .include_key_material(IncludeKeyMaterial::AllKeyMaterial)
            .send()
            .await
            .unwrap();
        rotations
            .rotations()
            .iter()
            .find(|r| r.key_material_id() == Some(new_id.as_str()))
            .and_then(|r| r.key_material_state().cloned())
    };
    assert_eq!(
        pending_state(c.clone(), id.clone(), new_id.clone()).await,
        Some(KeyMaterialState::PendingMultiRegionImportAndRotation)
    );
    let e = c.rotate_key_on_demand().key_id(&id).send().await.unwrap_err();
    assert_eq!(err(e).0, "KMSInvalidStateException");
    // A replica takes new material only from its primary.
    let e = import_in(&t, &eu, &id, &material(), None).await.unwrap_err();
    assert_eq!(e.0, "IncorrectKeyMaterialException");
    assert_eq!(import_in(&t, &eu, &id, &second, None).await.unwrap(), new_id);
    assert_eq!(
        pending_state(c.clone(), id.clone(), new_id.clone()).await,
        Some(KeyMaterialState::PendingRotation)
    );
    // A replica added now has to receive the staged material too before the rotation.
    replicate(&t, &id, AP).await;
    assert_eq!(
        pending_state(c.clone(), id.clone(), new_id.clone()).await,
        Some(KeyMaterialState::PendingMultiRegionImportAndRotation)
    );
    settle(&t);
    let ap = in_region(&t, AP);
    import_in(&t, &ap, &id, &first, None).await.unwrap();
    let e = c.rotate_key_on_demand().key_id(&id).send().await.unwrap_err();
    assert_eq!(err(e).0, "KMSInvalidStateException");
    import_in(&t, &ap, &id, &second, None).await.unwrap();
    c.rotate_key_on_demand().key_id(&id).send().await.unwrap();
    for client in [&c, &eu, &ap] {
        let m = client.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
        assert_eq!(m.current_key_material_id(), Some(new_id.as_str()));
    }
    let ct = eu.encrypt().key_id(&id).plaintext(Blob::new("r")).send().await.unwrap();
    let out = c.decrypt().ciphertext_blob(ct.ciphertext_blob.unwrap()).send().await.unwrap();
    assert_eq!(out.key_material_id(), Some(new_id.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_primary_with_replicas_waits_for_their_deletion() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().multi_region(true).send().await.unwrap().key_metadata.unwrap().key_id;
    replicate(&t, &id, EU).await;
    settle(&t);
    let out = c.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await;
    let out = out.unwrap();
    assert_eq!(out.key_state(), Some(&KeyState::PendingReplicaDeletion));
    assert_eq!(out.deletion_date(), None);
    let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingReplicaDeletion));
    assert_eq!(m.pending_deletion_window_in_days(), Some(7));
    assert_eq!(m.deletion_date(), None);
    let e = c.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap_err();
    let arn = m.arn().unwrap();
    assert_eq!(
        err(e),
        ("KMSInvalidStateException".into(), format!("{arn} is pending replica deletion."))
    );

    let eu = in_region(&t, EU);
    eu.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();
    t.clock.advance_ms(7 * DAY * 1000 + 1);
    assert_eq!(t.kms.background().reap_deleted_keys().await.unwrap(), 1);
    // The replica's deletion is a DeleteKey service event of its Region, once.
    let deleted = t.events_named("DeleteKey");
    assert_eq!(deleted.len(), 1, "{deleted:?}");
    assert_eq!(deleted[0]["eventType"], "AwsServiceEvent");
    assert_eq!(deleted[0]["awsRegion"], EU);
    assert_eq!(deleted[0]["requestParameters"], serde_json::Value::Null);
    assert!(deleted[0].get("serviceEventDetails").is_none());
    let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingDeletion));
    let when = m.deletion_date().unwrap().to_millis().unwrap();
    let expected = t.kms.now_ms() + 7 * DAY * 1000;
    assert!(
        (expected - when).abs() < 1000,
        "the primary's own waiting period: {when} vs {expected}"
    );
    assert!(m.multi_region_configuration().unwrap().replica_keys().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_primary_region_swaps_primary_and_replica() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().multi_region(true).send().await.unwrap().key_metadata.unwrap().key_id;
    replicate(&t, &id, EU).await;
    settle(&t);
    let eu = in_region(&t, EU);
    c.update_primary_region().key_id(&id).primary_region(EU).send().await.unwrap();
    // Both keys are Updating for a moment: still usable, not manageable.
    assert_eq!(state(&c, &id).await, KeyState::Updating);
    assert_eq!(state(&eu, &id).await, KeyState::Updating);
    c.encrypt().key_id(&id).plaintext(Blob::new("x")).send().await.unwrap();
    let e = eu.disable_key().key_id(&id).send().await.unwrap_err();
    assert_eq!(
        err(e),
        (
            "KMSInvalidStateException".into(),
            format!("arn:aws:kms:{EU}:{ACCOUNT}:key/{id} is updating.")
        )
    );
    settle(&t);
    assert_eq!(state(&c, &id).await, KeyState::Enabled);
    let kind = |c: aws_sdk_kms::Client, id: String| async move {
        let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
        m.multi_region_configuration().unwrap().multi_region_key_type().cloned().unwrap()
    };
    assert_eq!(kind(eu.clone(), id.clone()).await, MultiRegionKeyType::Primary);
    assert_eq!(kind(c.clone(), id.clone()).await, MultiRegionKeyType::Replica);
    // The old primary is a replica now: it cannot be replicated, the new one can.
    let e = c.replicate_key().key_id(&id).replica_region(AP).send().await.unwrap_err();
    assert_eq!(err(e).0, "UnsupportedOperationException");
    eu.replicate_key().key_id(&id).replica_region(AP).send().await.unwrap();
    // A Region with no replica cannot become primary.
    let e = eu.update_primary_region().key_id(&id).primary_region("sa-east-1").send().await;
    assert_eq!(err(e.unwrap_err()).0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replication_is_authorized_on_both_sides_with_the_region_condition_keys() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().multi_region(true).send().await.unwrap().key_metadata.unwrap().key_id;
    // ReplicateKey only into eu-west-1, and kms:CreateKey (IAM policy in the replica Region).
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"kms:ReplicateKey","Resource":"*",
         "Condition":{"StringEquals":{"kms:ReplicaRegion":"eu-west-1"}}},
        {"Effect":"Allow","Action":"kms:CreateKey","Resource":"*"}]}"#;
    let user = crate::authz::user(&t, ACCOUNT, "replicator", Some(policy)).await;
    let e = user.replicate_key().key_id(&id).replica_region(AP).send().await.unwrap_err();
    assert_eq!(err(e).0, "AccessDeniedException");
    user.replicate_key().key_id(&id).replica_region(EU).send().await.unwrap();
    // Without kms:CreateKey the replica Region refuses.
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"kms:ReplicateKey","Resource":"*"}]}"#;
    let user = crate::authz::user(&t, ACCOUNT, "halfway", Some(policy)).await;
    let e = user.replicate_key().key_id(&id).replica_region(AP).send().await.unwrap_err();
    let (code, message) = err(e);
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains("kms:CreateKey"), "{message}");
    // UpdatePrimaryRegion needs the permission on the replica too, with kms:PrimaryRegion.
    settle(&t);
    let policy = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"kms:UpdatePrimaryRegion","Resource":"arn:aws:kms:us-east-1:111122223333:key/*",
         "Condition":{"StringEquals":{"kms:PrimaryRegion":"eu-west-1"}}}]}"#;
    let user = crate::authz::user(&t, ACCOUNT, "mover", Some(policy)).await;
    let e = user.update_primary_region().key_id(&id).primary_region(EU).send().await.unwrap_err();
    let (code, message) = err(e);
    assert_eq!(code, "AccessDeniedException");
    assert!(message.contains(&format!("arn:aws:kms:{EU}:")), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_key_last_usage_names_the_last_cryptographic_call_and_its_event() {
    let t = start().await;
    let c = t.client();
    let a = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let b = c.create_key().send().await.unwrap().key_metadata.unwrap();
    let out = c.get_key_last_usage().key_id(a.key_id()).send().await.unwrap();
    let empty = out.key_last_usage().unwrap();
    assert!(
        empty.operation().is_none() && empty.timestamp().is_none(),
        "an empty object when unused"
    );
    assert_eq!(out.key_creation_date(), a.creation_date());
    assert!(out.tracking_start_date().unwrap() >= a.creation_date().unwrap());

    let ct = c.encrypt().key_id(a.key_id()).plaintext(Blob::new("p")).send().await.unwrap();
    c.describe_key().key_id(a.key_id()).send().await.unwrap(); // not cryptographic
    let usage = c.get_key_last_usage().key_id(a.key_id()).send().await.unwrap();
    let last = usage.key_last_usage().unwrap();
    assert_eq!(last.operation().map(|o| o.as_str()), Some("Encrypt"));
    let event_id = last.cloud_trail_event_id().unwrap().to_string();
    let records = t.audit.0.lock().unwrap().clone();
    let record = records.iter().find(|r| r["eventID"] == event_id.as_str()).unwrap();
    assert_eq!(record["eventName"], "Encrypt");
    assert_eq!(record["requestID"].as_str(), last.kms_request_id());

    // ReEncrypt counts for both keys; the batch reaches the store and is read back.
    c.re_encrypt()
        .ciphertext_blob(ct.ciphertext_blob.unwrap())
        .destination_key_id(b.key_id())
        .send()
        .await
        .unwrap();
    t.kms.flush_key_usage().await.unwrap();
    for k in [&a, &b] {
        let usage = c.get_key_last_usage().key_id(k.key_id()).send().await.unwrap();
        assert_eq!(
            usage.key_last_usage().unwrap().operation().map(|o| o.as_str()),
            Some("ReEncrypt")
        );
    }
    let key_b = trent_store::KeyRef {
        account: ACCOUNT.into(),
        region: "us-east-1".into(),
        key_id: b.key_id().into(),
    };
    let stored = t.kms.store().get_last_usage(&key_b).await.unwrap().unwrap();
    assert_eq!(stored.operation, "ReEncrypt");
    // A failed call is no usage.
    let e = c.decrypt().ciphertext_blob(Blob::new(vec![1; 80])).send().await;
    assert!(e.is_err());
}

/// ReplicateKey's answer as AWS recorded it: no `ReplicaTags` for a replica without tags, and
/// no `CurrentKeyMaterialId` in `ReplicaKeyMetadata`; the tags when there are some.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicate_key_answers_as_aws_recorded() {
    let t = start().await;
    let (status, created) = t.raw("CreateKey", br#"{"MultiRegion":true}"#).await;
    assert_eq!(status, 200, "{created}");
    let id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_string();
    let body = serde_json::json!({ "KeyId": id, "ReplicaRegion": EU }).to_string();
    let (status, out) = t.raw("ReplicateKey", body.as_bytes()).await;
    assert_eq!(status, 200, "{out}");
    assert!(out.get("ReplicaTags").is_none(), "{out}");
    assert!(out["ReplicaKeyMetadata"].get("CurrentKeyMaterialId").is_none(), "{out}");
    assert!(out.get("ReplicaPolicy").is_some(), "{out}");
    let tagged = serde_json::json!({ "KeyId": id, "ReplicaRegion": "ap-northeast-1",
        "Tags": [{ "TagKey": "team", "TagValue": "kms" }] })
    .to_string();
    let (status, out) = t.raw("ReplicateKey", tagged.as_bytes()).await;
    assert_eq!(status, 200, "{out}");
    assert_eq!(out["ReplicaTags"], serde_json::json!([{ "TagKey": "team", "TagValue": "kms" }]));
}
