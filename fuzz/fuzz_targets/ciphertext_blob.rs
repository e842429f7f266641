//! The ciphertext-blob decoder and the symmetric decryption of whatever it accepts: never a
//! panic, and nothing decrypts but a blob made under the material. A version-2 blob (an
//! external key store key's) has its proxy framing parsed too: a parse that succeeds gives
//! back fields within the blob, and re-assembling them gives the blob again.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use trent_crypto::blob::external;
use trent_crypto::{symmetric, BlobHeader, Secret};

fuzz_target!(|data: &[u8]| {
    let Ok((header, len)) = BlobHeader::decode(data) else { return };
    let material = Secret::new(vec![7u8; 32]);
    let context = BTreeMap::new();
    assert!(symmetric::decrypt(data, &header, len, &material, &context).is_err());
    if header.external {
        if let Ok(outer) = external::parse(data, len) {
            assert_eq!(external::assemble(&data[..len], &outer).unwrap(), data);
        }
    }
});
