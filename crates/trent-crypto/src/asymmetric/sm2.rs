//! SM2 (GB/T 32918, China Regions only): key generation, PKCS#8 / SubjectPublicKeyInfo
//! (id-ecPublicKey on the SM2 curve, as openssl writes them), SM2DSA signatures (DER, like
//! ECDSA), SM2PKE encryption (ASN.1 DER C1C3C2, GM/T 0009) and ECDH. Uses the RustCrypto
//! `sm2` crate: aws-lc has no SM2.
//!
//! SM2DSA hashes e = SM3(Z_A || M), where Z_A binds the signer's public key and a
//! distinguishing ID. KMS uses the default ID `1234567812345678` (AWS developer guide,
//! "Offline verification with SM2 key pairs"); with MessageType DIGEST the caller sends e.

use super::AsymError;
use crate::{CryptoError, Secret};
use sm2::dsa::signature::hazmat::{PrehashVerifier, RandomizedPrehashSigner};
use sm2::dsa::signature::{RandomizedSigner, Verifier};
use sm2::elliptic_curve::point::AffineCoordinates;
use sm2::elliptic_curve::Generate;
use sm2::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use sm2::{PublicKey, SecretKey};

/// The distinguishing ID KMS uses for SM2DSA.
pub const DISTINGUISHING_ID: &str = "1234567812345678";

/// The largest plaintext SM2PKE takes (Encrypt API).
pub const MAX_PLAINTEXT: usize = 1024;

/// The length of an SM3 digest, the DIGEST message of SM2DSA.
pub const DIGEST_LEN: usize = 32;

/// The operating-system RNG, through the `sm2` crate's own dependencies.
type Rng = sm2::elliptic_curve::common::getrandom::SysRng;

fn secret(pkcs8: &Secret) -> Result<SecretKey, AsymError> {
    SecretKey::from_pkcs8_der(pkcs8.as_bytes()).map_err(|_| AsymError::BadKey)
}

fn public(spki: &[u8]) -> Result<PublicKey, AsymError> {
    PublicKey::from_public_key_der(spki).map_err(|_| AsymError::BadKey)
}

/// A fresh SM2 private key as PKCS#8 DER.
pub fn generate() -> Result<Secret, CryptoError> {
    let key =
        SecretKey::try_generate_from_rng(&mut Rng::default()).map_err(|_| CryptoError::Library)?;
    let der = key.to_pkcs8_der().map_err(|_| CryptoError::Library)?;
    Ok(Secret::from_slice(der.as_bytes()))
}

/// The public key of `pkcs8` as DER SubjectPublicKeyInfo.
pub fn public_key(pkcs8: &Secret) -> Result<Vec<u8>, AsymError> {
    let der = secret(pkcs8)?.public_key().to_public_key_der().map_err(|_| AsymError::BadKey)?;
    Ok(der.into_vec())
}

/// SM2DSA over the message (`digest == false`) or over a caller-computed e (`digest`).
pub fn sign(pkcs8: &Secret, msg: &[u8], digest: bool) -> Result<Vec<u8>, AsymError> {
    let key = sm2::dsa::SigningKey::new(DISTINGUISHING_ID, &secret(pkcs8)?)
        .map_err(|_| AsymError::BadKey)?;
    let sig: sm2::dsa::Signature = if digest {
        if msg.len() != DIGEST_LEN {
            return Err(AsymError::DigestLength);
        }
        key.sign_prehash_with_rng(&mut Rng::default(), msg)
    } else {
        key.try_sign_with_rng(&mut Rng::default(), msg)
    }
    .map_err(|_| AsymError::Failed)?;
    Ok(sig.to_der().to_vec())
}

/// Verifies a DER SM2DSA signature; `Ok(false)` when it does not match.
pub fn verify(spki: &[u8], msg: &[u8], digest: bool, signature: &[u8]) -> Result<bool, AsymError> {
    let key = sm2::dsa::VerifyingKey::new(DISTINGUISHING_ID, public(spki)?)
        .map_err(|_| AsymError::BadKey)?;
    let Ok(sig) = sm2::dsa::Signature::from_der(signature) else { return Ok(false) };
    if digest {
        if msg.len() != DIGEST_LEN {
            return Err(AsymError::DigestLength);
        }
        return Ok(key.verify_prehash(msg, &sig).is_ok());
    }
    Ok(key.verify(msg, &sig).is_ok())
}

/// SM2PKE encryption to the public key `spki`: ASN.1 DER, C1C3C2.
pub fn encrypt(spki: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, AsymError> {
    let key = sm2::pke::EncryptingKey::new(public(spki)?);
    key.encrypt_der(&mut Rng::default(), plaintext).map_err(|_| AsymError::Failed)
}

/// SM2PKE decryption of an ASN.1 DER C1C3C2 ciphertext.
pub fn decrypt(pkcs8: &Secret, ciphertext: &[u8]) -> Result<Secret, AsymError> {
    let key = sm2::pke::DecryptingKey::new(secret(pkcs8)?);
    key.decrypt_der(ciphertext).map(Secret::new).map_err(|_| AsymError::Failed)
}

/// ECDH on the SM2 curve: the x coordinate of d·Q, as for the NIST curves.
pub fn ecdh(pkcs8: &Secret, peer_spki: &[u8]) -> Result<Secret, AsymError> {
    let d = secret(pkcs8)?;
    let q = public(peer_spki).map_err(|_| AsymError::Failed)?;
    let shared = (q.to_projective() * *d.to_nonzero_scalar()).to_affine();
    Ok(Secret::from_slice(&shared.x()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sm3::{Digest, Sm3};

    /// e = SM3(Z_A || M) with Z_A = SM3(ENTL_A || ID_A || a || b || x_G || y_G || x_A || y_A)
    /// (GB/T 32918.2 §5.5), written out from the standard's curve parameters.
    fn e(spki: &[u8], msg: &[u8]) -> Vec<u8> {
        let hex = |s: &str| hex::decode(s).unwrap();
        let point = &spki[spki.len() - 64..]; // x_A || y_A after the 0x04 of the BIT STRING
        let mut z = Sm3::new();
        z.update([0x00, 0x80]); // 16-byte ID: 128 bits
        z.update(DISTINGUISHING_ID);
        z.update(hex("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"));
        z.update(hex("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"));
        z.update(hex("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"));
        z.update(hex("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0"));
        z.update(point);
        let mut h = Sm3::new();
        h.update(z.finalize());
        h.update(msg);
        h.finalize().to_vec()
    }

    #[test]
    fn sign_verify_encrypt_and_agree() {
        let key = generate().unwrap();
        let spki = public_key(&key).unwrap();
        let s = sign(&key, b"message", false).unwrap();
        assert!(verify(&spki, b"message", false, &s).unwrap());
        assert!(!verify(&spki, b"other", false, &s).unwrap());
        // A signature over e is a signature over the message, and the other way round.
        let digest = e(&spki, b"message");
        assert!(verify(&spki, &digest, true, &s).unwrap());
        let s2 = sign(&key, &digest, true).unwrap();
        assert!(verify(&spki, b"message", false, &s2).unwrap());
        assert_eq!(sign(&key, &digest[1..], true), Err(AsymError::DigestLength));
        assert!(!verify(&spki, b"message", false, b"not der").unwrap());

        let ct = encrypt(&spki, b"secret").unwrap();
        assert_eq!(decrypt(&key, &ct).unwrap().as_bytes(), b"secret");
        let mut bad = ct.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert_eq!(decrypt(&key, &bad), Err(AsymError::Failed));

        let other = generate().unwrap();
        let ab = ecdh(&key, &public_key(&other).unwrap()).unwrap();
        assert_eq!(ab, ecdh(&other, &spki).unwrap());
        assert_eq!(ab.len(), 32);
    }
}
