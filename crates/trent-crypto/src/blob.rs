//! The symmetric ciphertext blob, format version 1 (docs/ciphertext-format.md). The header
//! names the key and the key material so that Decrypt needs no KeyId; all of it is
//! authenticated as AAD together with the encryption context.

use crate::CryptoError;

pub const VERSION: u8 = 0x01;
/// Keys in an external key store: the version-1 layout encrypted again by the XKS proxy
/// (docs/ciphertext-format.md, "External key store keys").
pub const VERSION_EXTERNAL: u8 = 0x02;
const KIND_UUID: u8 = 0x01;
const KIND_MRK: u8 = 0x02;
pub const SALT_LEN: usize = 16;
pub const NONCE_LEN: usize = 12;
pub const TAG_LEN: usize = 16;
const MAX_REGION_LEN: usize = 32;

/// Which key a blob belongs to: account, Region and key id (the parts of the key ARN).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRef {
    pub account: String,
    pub region: String,
    pub key_id: String,
}

/// The parsed cleartext part of a blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobHeader {
    pub key: KeyRef,
    /// 64 lowercase hex digits.
    pub material_id: String,
    pub salt: [u8; SALT_LEN],
    /// Whether the blob is an external key store's (version 2): what follows the header is
    /// the proxy's framing, not the nonce.
    pub external: bool,
}

fn key_id_bytes(key_id: &str) -> Result<(u8, [u8; 16]), CryptoError> {
    let mut out = [0u8; 16];
    if let Some(hexpart) = key_id.strip_prefix("mrk-") {
        if hexpart.len() != 32 {
            return Err(CryptoError::Malformed);
        }
        hex::decode_to_slice(hexpart, &mut out).map_err(|_| CryptoError::Malformed)?;
        return Ok((KIND_MRK, out));
    }
    let b = key_id.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return Err(CryptoError::Malformed);
    }
    let compact: String = key_id.chars().filter(|c| *c != '-').collect();
    hex::decode_to_slice(&compact, &mut out).map_err(|_| CryptoError::Malformed)?;
    Ok((KIND_UUID, out))
}

fn key_id_text(kind: u8, b: &[u8]) -> Result<String, CryptoError> {
    let b: &[u8; 16] = b.try_into().map_err(|_| CryptoError::Malformed)?;
    match kind {
        KIND_UUID => Ok(crate::format_uuid(b)),
        KIND_MRK => Ok(format!("mrk-{}", hex::encode(b))),
        _ => Err(CryptoError::Malformed),
    }
}

impl BlobHeader {
    /// Encodes the header: everything up to (not including) the GCM nonce.
    pub fn encode(&self) -> Result<Vec<u8>, CryptoError> {
        let (kind, id) = key_id_bytes(&self.key.key_id)?;
        let account: u64 = self.key.account.parse().map_err(|_| CryptoError::Malformed)?;
        if self.key.account.len() != 12
            || self.key.region.is_empty()
            || self.key.region.len() > MAX_REGION_LEN
        {
            return Err(CryptoError::Malformed);
        }
        let mut material = [0u8; 32];
        hex::decode_to_slice(&self.material_id, &mut material)
            .map_err(|_| CryptoError::Malformed)?;
        let mut out = Vec::with_capacity(96);
        out.push(if self.external { VERSION_EXTERNAL } else { VERSION });
        out.push(kind);
        out.extend_from_slice(&id);
        out.extend_from_slice(&account.to_be_bytes());
        out.push(self.key.region.len() as u8);
        out.extend_from_slice(self.key.region.as_bytes());
        out.extend_from_slice(&material);
        out.extend_from_slice(&self.salt);
        Ok(out)
    }

    /// Parses a blob; returns the header, the header's length (the AAD prefix) and the rest
    /// (`nonce || ciphertext || tag`).
    pub fn decode(blob: &[u8]) -> Result<(Self, usize), CryptoError> {
        let mut r = Reader(blob);
        let external = match r.take(1)?[0] {
            VERSION => false,
            VERSION_EXTERNAL => true,
            _ => return Err(CryptoError::Malformed),
        };
        let kind = r.take(1)?[0];
        let key_id = key_id_text(kind, r.take(16)?)?;
        let mut acct = [0u8; 8];
        acct.copy_from_slice(r.take(8)?);
        let account = format!("{:012}", u64::from_be_bytes(acct));
        let rlen = r.take(1)?[0] as usize;
        if rlen == 0 || rlen > MAX_REGION_LEN {
            return Err(CryptoError::Malformed);
        }
        let region = std::str::from_utf8(r.take(rlen)?).map_err(|_| CryptoError::Malformed)?;
        if !region.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err(CryptoError::Malformed);
        }
        let material_id = hex::encode(r.take(32)?);
        let mut salt = [0u8; SALT_LEN];
        salt.copy_from_slice(r.take(SALT_LEN)?);
        let header_len = blob.len() - r.0.len();
        if r.0.len() < NONCE_LEN + TAG_LEN || account.len() != 12 {
            return Err(CryptoError::Malformed);
        }
        Ok((
            BlobHeader {
                key: KeyRef { account, region: region.to_string(), key_id },
                material_id,
                salt,
                external,
            },
            header_len,
        ))
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CryptoError> {
        if self.0.len() < n {
            return Err(CryptoError::Malformed);
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
}

/// The encryption context as authenticated bytes: pairs sorted by key, each length-prefixed
/// (u16 big-endian), preceded by the pair count. Unambiguous, unlike a plain concatenation.
pub fn encode_context<'a, I>(pairs: I) -> Vec<u8>
where
    I: IntoIterator<Item = (&'a String, &'a String)>,
{
    let mut v: Vec<(&String, &String)> = pairs.into_iter().collect();
    v.sort();
    let mut out =
        Vec::with_capacity(2 + v.iter().map(|(k, x)| 4 + k.len() + x.len()).sum::<usize>());
    out.extend_from_slice(&(v.len() as u16).to_be_bytes());
    for (k, x) in v {
        for s in [k, x] {
            out.extend_from_slice(&(s.len().min(u16::MAX as usize) as u16).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

/// The framing of an external key store key's blob (version 2): after the header, the XKS
/// proxy's encryption of the inner `nonce ‖ ciphertext ‖ tag` — `u8` IV length, IV, `u8`
/// metadata length, `ciphertextMetadata`, the 16-byte tag, then the proxy's ciphertext. The
/// proxy authenticated the header as its AAD.
pub mod external {
    use super::{Reader, TAG_LEN};
    use crate::CryptoError;

    /// What the proxy's Encrypt returned, as a blob keeps it.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub struct Outer {
        pub iv: Vec<u8>,
        pub metadata: Vec<u8>,
        pub tag: Vec<u8>,
        pub ciphertext: Vec<u8>,
    }

    /// `header ‖ framing(outer)`.
    pub fn assemble(header: &[u8], outer: &Outer) -> Result<Vec<u8>, CryptoError> {
        let iv_len = u8::try_from(outer.iv.len()).map_err(|_| CryptoError::Malformed)?;
        let meta_len = u8::try_from(outer.metadata.len()).map_err(|_| CryptoError::Malformed)?;
        if outer.tag.len() != TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let mut out = Vec::with_capacity(
            header.len()
                + 2
                + outer.iv.len()
                + outer.metadata.len()
                + TAG_LEN
                + outer.ciphertext.len(),
        );
        out.extend_from_slice(header);
        out.push(iv_len);
        out.extend_from_slice(&outer.iv);
        out.push(meta_len);
        out.extend_from_slice(&outer.metadata);
        out.extend_from_slice(&outer.tag);
        out.extend_from_slice(&outer.ciphertext);
        Ok(out)
    }

    /// The proxy's part of a version-2 blob whose header is `header_len` bytes.
    pub fn parse(blob: &[u8], header_len: usize) -> Result<Outer, CryptoError> {
        let mut r = Reader(blob.get(header_len..).ok_or(CryptoError::Malformed)?);
        let iv_len = r.take(1)?[0] as usize;
        let iv = r.take(iv_len)?.to_vec();
        let meta_len = r.take(1)?[0] as usize;
        let metadata = r.take(meta_len)?.to_vec();
        let tag = r.take(TAG_LEN)?.to_vec();
        Ok(Outer { iv, metadata, tag, ciphertext: r.0.to_vec() })
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn framing_round_trips_and_truncations_fail() {
            let outer = Outer {
                iv: vec![1; 12],
                metadata: b"T1abcdefgh".to_vec(),
                tag: vec![2; 16],
                ciphertext: vec![3; 40],
            };
            let blob = assemble(b"HEADER", &outer).unwrap();
            assert_eq!(blob.len(), 6 + 1 + 12 + 1 + 10 + 16 + 40);
            assert_eq!(parse(&blob, 6).unwrap(), outer);
            for n in 6..6 + 1 + 12 + 1 + 10 + 16 {
                assert!(parse(&blob[..n], 6).is_err(), "{n}");
            }
        }
    }
}
