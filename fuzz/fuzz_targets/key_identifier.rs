//! The key-id / key ARN / alias name / alias ARN parser: never a panic, and what it accepts is
//! well-formed (a key id of the two shapes AWS uses, an alias under `alias/`).
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_core::{parse_key_identifier, KeyIdentifier};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match parse_key_identifier(text) {
        Some(KeyIdentifier::Key { key_id, .. }) => {
            assert!(key_id.len() == 36 || (key_id.starts_with("mrk-") && key_id.len() == 36))
        }
        Some(KeyIdentifier::Alias { name, .. }) => assert!(name.starts_with("alias/")),
        None => {}
    }
});
