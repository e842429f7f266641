//! The conformance of both stores for the XKS tables: the endpoints Trent serves and the
//! custom key stores it uses.

use trent_store::*;

/// An XKS endpoint: its path prefix taken once; at most two credentials at once; its keys by
/// external id; deleted with its credentials and keys.
pub(crate) async fn xks(s: &dyn Store) {
    let endpoint = |prefix: &str| XksEndpointRecord {
        path_prefix: prefix.into(),
        account: "111122223333".into(),
        created_ms: 1,
        client_subject: (prefix == "c").then(|| "cks.kms.us-east-1.amazonaws.com".into()),
    };
    let credential = |id: &str, prefix: &str| XksCredentialRecord {
        access_key_id: id.into(),
        path_prefix: prefix.into(),
        sealed_secret: vec![1, 2, 3],
        created_ms: 2,
    };
    let key = |prefix: &str, external: &str| XksKeyRecord {
        path_prefix: prefix.into(),
        external_key_id: external.into(),
        region: "us-east-1".into(),
        key_id: format!("key-{external}"),
        usages: "ENCRYPT,DECRYPT".into(),
        allowed: "{}".into(),
        created_ms: 3,
    };
    s.put_xks_endpoint(&endpoint("a/b")).await.unwrap();
    assert!(matches!(s.put_xks_endpoint(&endpoint("a/b")).await, Err(StoreError::AlreadyExists)));
    s.put_xks_endpoint(&endpoint("c")).await.unwrap();
    assert_eq!(
        s.list_xks_endpoints("111122223333").await.unwrap(),
        [endpoint("a/b"), endpoint("c")]
    );
    assert!(s.list_xks_endpoints("444455556666").await.unwrap().is_empty());
    s.put_xks_credential(&credential("AK1", "a/b"), 2).await.unwrap();
    s.put_xks_credential(&credential("AK2", "a/b"), 2).await.unwrap();
    assert!(matches!(
        s.put_xks_credential(&credential("AK3", "a/b"), 2).await,
        Err(StoreError::Conflict)
    ));
    assert!(matches!(
        s.put_xks_credential(&credential("AK4", "gone"), 2).await,
        Err(StoreError::Conflict)
    ));
    assert_eq!(s.get_xks_credential("AK2").await.unwrap(), Some(credential("AK2", "a/b")));
    s.delete_xks_credential("AK1").await.unwrap();
    assert!(matches!(s.delete_xks_credential("AK1").await, Err(StoreError::NotFound)));
    s.put_xks_credential(&credential("AK3", "a/b"), 2).await.unwrap();
    let ids: Vec<String> =
        s.list_xks_credentials("a/b").await.unwrap().into_iter().map(|c| c.access_key_id).collect();
    assert_eq!(ids, ["AK2", "AK3"]);
    s.put_xks_key(&key("a/b", "k1")).await.unwrap();
    assert!(matches!(s.put_xks_key(&key("a/b", "k1")).await, Err(StoreError::AlreadyExists)));
    assert!(matches!(s.put_xks_key(&key("gone", "k1")).await, Err(StoreError::NotFound)));
    s.put_xks_key(&key("c", "k1")).await.unwrap();
    assert_eq!(s.get_xks_key("a/b", "k1").await.unwrap(), Some(key("a/b", "k1")));
    assert_eq!(s.get_xks_key("a/b", "K1").await.unwrap(), None, "external ids are exact");
    s.delete_xks_key("c", "k1").await.unwrap();
    assert!(matches!(s.delete_xks_key("c", "k1").await, Err(StoreError::NotFound)));
    s.delete_xks_endpoint("a/b").await.unwrap();
    assert_eq!(s.get_xks_endpoint("a/b").await.unwrap(), None);
    assert!(s.list_xks_credentials("a/b").await.unwrap().is_empty());
    assert!(s.list_xks_keys("a/b").await.unwrap().is_empty());
    assert_eq!(s.get_xks_credential("AK2").await.unwrap(), None);
    assert!(matches!(s.delete_xks_endpoint("a/b").await, Err(StoreError::NotFound)));
    assert_eq!(s.get_xks_endpoint("c").await.unwrap(), Some(endpoint("c")));
}

/// Custom key stores: names and proxy addresses unique in an account and Region, the quota
/// decided in the insert, updates by version, and a store holding a key not deleted.
pub(crate) async fn custom_key_stores(s: &dyn Store, mut bound: KeyRecord) {
    let store = |id: &str, name: &str, path: &str| CustomKeyStoreRecord {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        id: id.into(),
        version: 1,
        name: name.into(),
        store_type: "EXTERNAL_KEY_STORE".into(),
        created_ms: 5,
        connectivity: "PUBLIC_ENDPOINT".into(),
        uri_endpoint: "https://proxy.example".into(),
        uri_path: path.into(),
        access_key_id: "AKIAXKSPROXYEXAMPLE1".into(),
        sealed_secret: vec![9; 40],
        connection_state: "DISCONNECTED".into(),
        connection_error: None,
    };
    let (acct, region) = ("111122223333", "us-east-1");
    s.create_custom_key_store(&store("cks-1", "one", "/kms/xks/v1"), 2).await.unwrap();
    let taken = [store("cks-2", "one", "/a/kms/xks/v1"), store("cks-2", "two", "/kms/xks/v1")];
    for t in taken {
        assert!(matches!(s.create_custom_key_store(&t, 2).await, Err(StoreError::AlreadyExists)));
    }
    s.create_custom_key_store(&store("cks-2", "two", "/a/kms/xks/v1"), 2).await.unwrap();
    assert!(matches!(
        s.create_custom_key_store(&store("cks-3", "three", "/b/kms/xks/v1"), 2).await,
        Err(StoreError::Conflict)
    ));
    let ids: Vec<String> =
        s.list_custom_key_stores(acct, region).await.unwrap().into_iter().map(|c| c.id).collect();
    assert_eq!(ids, ["cks-1", "cks-2"]);
    assert!(s.list_custom_key_stores(acct, "eu-west-1").await.unwrap().is_empty());
    let mut c = s.get_custom_key_store(acct, region, "cks-1").await.unwrap().unwrap();
    assert_eq!(c, store("cks-1", "one", "/kms/xks/v1"));
    c.version += 1;
    c.connection_state = "FAILED".into();
    c.connection_error = Some("XKS_PROXY_TIMED_OUT".into());
    s.update_custom_key_store(&c).await.unwrap();
    assert!(matches!(s.update_custom_key_store(&c).await, Err(StoreError::Conflict)));
    assert_eq!(s.get_custom_key_store(acct, region, "cks-1").await.unwrap(), Some(c.clone()));
    c.version += 1;
    c.name = "two".into();
    assert!(matches!(s.update_custom_key_store(&c).await, Err(StoreError::AlreadyExists)));
    // A key bound to an external key of the store: the store keeps it; the external key
    // binds one key only.
    bound.xks = Some(XksBinding { custom_key_store_id: "cks-2".into(), xks_key_id: "k1".into() });
    s.create_key(&bound, &[]).await.unwrap();
    assert_eq!(s.get_key(&bound.key).await.unwrap().unwrap().xks, bound.xks);
    let mut twin = bound.clone();
    twin.key.key_id = "xks-twin".into();
    assert!(matches!(s.create_key(&twin, &[]).await, Err(StoreError::AlreadyExists)));
    assert!(!s.delete_custom_key_store(acct, region, "cks-2").await.unwrap());
    s.delete_key(&bound.key, &[]).await.unwrap();
    assert!(s.delete_custom_key_store(acct, region, "cks-2").await.unwrap());
    assert!(matches!(
        s.delete_custom_key_store(acct, region, "cks-2").await,
        Err(StoreError::NotFound)
    ));
    assert!(s.delete_custom_key_store(acct, region, "cks-1").await.unwrap());
}
