//! The import-token opener on arbitrary bytes: never a panic, never a token it did not seal.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_crypto::{import::ImportToken, Keyring, Secret};

fuzz_target!(|data: &[u8]| {
    let ring = Keyring::new(&Secret::new(vec![3u8; 32])).unwrap();
    assert!(ImportToken::open(&ring, data).is_err());
});
