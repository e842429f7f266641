//! The XKS proxy API's wire on arbitrary input: the route of a path, each operation's body
//! parsed and checked, and a Decrypt's parts opened under a key: never a panic, and nothing
//! opens that was not sealed (a forged tag is always refused).
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_types::xks::*;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (path, body) = text.split_once('\n').unwrap_or((&text, ""));
    if let Some(Ok(route)) = route("a/b", path) {
        assert!(route.external_key_id.as_deref().is_none_or(valid_external_key_id));
    }
    let _ = split(path);
    let _ = valid_prefix(path);
    if let Ok(r) = parse::<MetadataOnlyRequest>(body.as_bytes()) {
        if let Some(m) = r.request_metadata {
            let _ = m.require(XksOperation::GetKeyMetadata);
        }
    }
    if let Ok(r) = parse::<EncryptRequest>(body.as_bytes()) {
        if let Ok(input) = r.check() {
            assert!(input.plaintext.len() <= MAX_DATA && input.aad.len() <= MAX_AAD);
        }
    }
    if let Ok(r) = parse::<DecryptRequest>(body.as_bytes()) {
        if let Ok(input) = r.check() {
            let key = trent_crypto::Secret::from_slice(&[7u8; 32]);
            let opened = trent_crypto::xks::decrypt(
                &key,
                &input.iv,
                &input.ciphertext,
                &input.tag,
                &input.aad,
                &input.ciphertext_metadata,
            );
            assert!(opened.is_err(), "a ciphertext this key never sealed opened");
        }
    }
});
