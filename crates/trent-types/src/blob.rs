//! `Blob`: a base64 member of the JSON protocol, zeroized on drop, never printed.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize;

/// Bytes sent as a base64 string. Blobs carry plaintext and key material, so the bytes are
/// wiped when dropped and `Debug` shows only the length.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Blob(Vec<u8>);

impl Blob {
    pub fn new(bytes: Vec<u8>) -> Self {
        Blob(bytes)
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<Vec<u8>> for Blob {
    fn from(v: Vec<u8>) -> Self {
        Blob(v)
    }
}

impl Drop for Blob {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blob(<{} bytes>)", self.0.len())
    }
}

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // Base64 never needs escaping in JSON: handed over as a raw JSON string, it skips
        // serde_json's escape check of every byte (3% of an Encrypt's CPU, by perf).
        let mut text = String::with_capacity(self.0.len().div_ceil(3) * 4 + 2);
        text.push('"');
        STANDARD.encode_string(&self.0, &mut text);
        text.push('"');
        let raw = serde_json::value::RawValue::from_string(text).map_err(S::Error::custom)?;
        let done = raw.serialize(s);
        // The text is as secret as the bytes (a data key's plaintext): wiped, as they are.
        let mut text: Box<str> = raw.into();
        text.zeroize();
        done
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Blob;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a base64-encoded string")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Blob, E> {
                STANDARD
                    .decode(v)
                    .map(Blob)
                    .map_err(|_| E::custom("Base64 encoded value is not valid"))
            }
        }
        d.deserialize_str(V)
    }
}
