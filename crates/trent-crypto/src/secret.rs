//! `Secret`: bytes that are wiped on drop and never printed.

use zeroize::Zeroize;

/// Key material, data keys and other secret bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn from_slice(bytes: &[u8]) -> Self {
        Secret(bytes.to_vec())
    }
    pub fn zeroed(len: usize) -> Self {
        Secret(vec![0; len])
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        &mut self.0
    }
    pub fn len(&self) -> usize {
        self.0.len()
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// Hands the bytes over (e.g. to a response blob that wipes them in turn).
    pub fn into_vec(mut self) -> Vec<u8> {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret(<{} bytes>)", self.0.len())
    }
}
