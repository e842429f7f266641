//! What an absent optional member means, where the API reference gives it a meaning: borrowed
//! views, so a handler neither clones nor invents a default of its own.

use crate::Blob;
use std::collections::BTreeMap;

static NO_CONTEXT: BTreeMap<String, String> = BTreeMap::new();

/// An absent `EncryptionContext` is the empty context ("Encryption context" in the AWS KMS
/// developer guide: a ciphertext made without one decrypts only without one).
pub fn context(c: &Option<BTreeMap<String, String>>) -> &BTreeMap<String, String> {
    c.as_ref().unwrap_or(&NO_CONTEXT)
}

/// An absent blob is empty: for `CiphertextBlob` (optional in the model since Decrypt took
/// `Recipient`) no key's ciphertext is empty, so it fails as any bad ciphertext does.
pub fn bytes(b: &Option<Blob>) -> &[u8] {
    b.as_ref().map_or(&[], Blob::as_bytes)
}

/// An absent string is empty (a `Marker` absent starts at the first page).
pub fn str(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("")
}
