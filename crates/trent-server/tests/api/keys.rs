//! Key lifecycle through the real aws-sdk-kms client: create, describe, list, enable,
//! disable, schedule and cancel deletion, description, deletion when the date passes.

use crate::common::*;
use aws_sdk_kms::types::{KeyState, OriginType};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_describe_list_and_page() {
    let t = start().await;
    let c = t.client();
    let mut ids = Vec::new();
    for i in 0..5 {
        let k = c.create_key().description(format!("key {i}")).send().await.unwrap();
        let m = k.key_metadata().unwrap();
        assert_eq!(m.key_state(), Some(&KeyState::Enabled));
        assert!(m.enabled());
        assert_eq!(m.aws_account_id(), Some(ACCOUNT));
        assert_eq!(m.arn().unwrap(), format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{}", m.key_id()));
        assert_eq!(m.current_key_material_id().unwrap().len(), 64);
        ids.push(m.key_id().to_string());
    }
    let d = c.describe_key().key_id(&ids[2]).send().await.unwrap();
    assert_eq!(d.key_metadata().unwrap().description(), Some("key 2"));
    // Paging: 2 + 2 + 1.
    let mut seen = Vec::new();
    let mut marker = None;
    loop {
        let p = c.list_keys().limit(2).set_marker(marker).send().await.unwrap();
        seen.extend(p.keys().iter().map(|k| k.key_id().unwrap().to_string()));
        if !p.truncated() {
            break;
        }
        marker = p.next_marker().map(String::from);
    }
    ids.sort();
    assert_eq!(seen, ids);
    // Another Region of the same account sees none of them.
    let eu = t.client_in("eu-west-1", &t.creds.access_key_id, &t.secret());
    assert!(eu.list_keys().send().await.unwrap().keys().is_empty());
    let (code, msg) = err(eu.describe_key().key_id(&ids[0]).send().await.unwrap_err());
    assert_eq!(code, "NotFoundException");
    assert_eq!(msg, format!("Key 'arn:aws:kms:eu-west-1:{ACCOUNT}:key/{}' does not exist", ids[0]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn enable_disable_and_state_errors() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}");
    c.disable_key().key_id(&id).send().await.unwrap();
    let m = c.describe_key().key_id(&id).send().await.unwrap();
    assert_eq!(m.key_metadata().unwrap().key_state(), Some(&KeyState::Disabled));
    assert!(!m.key_metadata().unwrap().enabled());
    let e = err(c.encrypt().key_id(&id).plaintext(b"x".to_vec().into()).send().await.unwrap_err());
    assert_eq!(e, ("DisabledException".into(), format!("{arn} is disabled.")));
    c.enable_key().key_id(&arn).send().await.unwrap();
    c.encrypt().key_id(&id).plaintext(b"x".to_vec().into()).send().await.unwrap();
    c.update_key_description().key_id(&id).description("new").send().await.unwrap();
    let m = c.describe_key().key_id(&id).send().await.unwrap();
    assert_eq!(m.key_metadata().unwrap().description(), Some("new"));
    // Identifiers AWS rejects before looking anything up.
    let e = err(c.describe_key().key_id("fake-key-id").send().await.unwrap_err());
    assert_eq!(e, ("NotFoundException".into(), "Invalid keyId 'fake-key-id'".into()));
    let e = err(c.enable_key().key_id("alias/x").send().await.unwrap_err());
    assert_eq!(e.0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedule_cancel_and_real_deletion() {
    let t = start().await;
    let c = t.client();
    let id = c.create_key().send().await.unwrap().key_metadata().unwrap().key_id().to_string();
    let arn = format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}");
    let e = err(c
        .schedule_key_deletion()
        .key_id(&id)
        .pending_window_in_days(5)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e.0, "ValidationException");
    let s = c.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();
    assert_eq!(s.key_id(), Some(arn.as_str()));
    assert_eq!(s.key_state(), Some(&KeyState::PendingDeletion));
    assert_eq!(s.pending_window_in_days(), Some(7));
    let m = c.describe_key().key_id(&id).send().await.unwrap();
    assert!(m.key_metadata().unwrap().deletion_date().is_some());
    let e = err(c.schedule_key_deletion().key_id(&id).send().await.unwrap_err());
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{arn} is pending deletion.")));
    let e = err(c.encrypt().key_id(&id).plaintext(b"x".to_vec().into()).send().await.unwrap_err());
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{arn} is pending deletion.")));
    c.cancel_key_deletion().key_id(&id).send().await.unwrap();
    let m = c.describe_key().key_id(&id).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::Disabled));
    assert!(m.deletion_date().is_none());
    let e = err(c.cancel_key_deletion().key_id(&id).send().await.unwrap_err());
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{arn} is not pending deletion.")));

    // When the date passes the key is gone, with its aliases, even before the background
    // pass runs.
    c.create_alias().alias_name("alias/doomed").target_key_id(&id).send().await.unwrap();
    c.schedule_key_deletion().key_id(&id).pending_window_in_days(7).send().await.unwrap();
    let listed = c.list_aliases().send().await.unwrap();
    assert_eq!(listed.aliases().len(), 1, "an alias of a key pending deletion is still listed");
    t.clock.advance_ms(7 * 86_400_000 + 1000);
    let e = err(c.describe_key().key_id(&id).send().await.unwrap_err());
    assert_eq!(e, ("NotFoundException".into(), format!("Key '{arn}' does not exist")));
    assert!(c.list_keys().send().await.unwrap().keys().is_empty());
    assert!(c.list_aliases().send().await.unwrap().aliases().is_empty());
    let e = err(c.describe_key().key_id("alias/doomed").send().await.unwrap_err());
    assert_eq!(e.0, "NotFoundException");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn external_keys_wait_for_material() {
    let t = start().await;
    let c = t.client();
    let m = c.create_key().origin(OriginType::External).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
    assert!(!m.enabled());
    assert_eq!(m.origin(), Some(&OriginType::External));
    assert!(m.current_key_material_id().is_none());
    assert!(m.expiration_model().is_none());
    let arn = m.arn().unwrap().to_string();
    let e = err(c
        .encrypt()
        .key_id(m.key_id())
        .plaintext(b"x".to_vec().into())
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{arn} is pending import.")));
    let e = err(c.enable_key().key_id(m.key_id()).send().await.unwrap_err());
    assert_eq!(e, ("KMSInvalidStateException".into(), format!("{arn} is pending import.")));
    let e = err(c.enable_key_rotation().key_id(m.key_id()).send().await.unwrap_err());
    assert_eq!(
        e,
        (
            "UnsupportedOperationException".into(),
            format!("{arn} origin is EXTERNAL which is not valid for this operation.")
        )
    );
    // Cancelling the deletion of a key without material returns it to PendingImport.
    c.schedule_key_deletion().key_id(m.key_id()).send().await.unwrap();
    c.cancel_key_deletion().key_id(m.key_id()).send().await.unwrap();
    let m = c.describe_key().key_id(m.key_id()).send().await.unwrap().key_metadata.unwrap();
    assert_eq!(m.key_state(), Some(&KeyState::PendingImport));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_key_validation() {
    let t = start().await;
    let c = t.client();
    let e = err(c
        .create_key()
        .key_spec(aws_sdk_kms::types::KeySpec::Hmac256)
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("ValidationException".into(), "You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.".into()));
    let e = err(c
        .create_key()
        .tags(aws_sdk_kms::types::Tag::builder().tag_key("aws:x").tag_value("v").build().unwrap())
        .send()
        .await
        .unwrap_err());
    assert_eq!(e, ("TagException".into(), "Tags beginning with aws: are reserved".into()));
    let mr = c.create_key().multi_region(true).send().await.unwrap().key_metadata.unwrap();
    assert!(mr.key_id().starts_with("mrk-"));
    assert_eq!(mr.multi_region(), Some(true));
}
