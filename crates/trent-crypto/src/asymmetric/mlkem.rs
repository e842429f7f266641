//! ML-KEM (FIPS 203) key pairs: generation, PKCS#8 private keys in the seed form
//! (draft-ietf-lamps-kyber-certificates), SubjectPublicKeyInfo public keys, Encapsulate and
//! Decapsulate. Uses the RustCrypto `ml-kem` crate, because aws-lc-rs exposes ML-KEM keys only
//! as raw expanded bytes, without the seed or DER encodings KMS clients exchange.

use super::AsymError;
use crate::{CryptoError, Secret};
use ml_kem::kem::Decapsulate;
use ml_kem::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ml_kem::{DecapsulationKey, EncapsulationKey, MlKem1024, MlKem512, MlKem768};
use trent_types::KeySpec;

/// The shared secret is 32 bytes for every parameter set (FIPS 203).
pub const SHARED_SECRET_LEN: usize = 32;

/// Runs `$body` with `$p` naming the parameter set of `$spec` (the crate's parameter trait is
/// private, so the code cannot be generic over it), or evaluates `$other`.
macro_rules! with_params {
    ($spec:expr, $p:ident => $body:expr, $other:expr) => {
        match $spec {
            KeySpec::MlKem512 => {
                type $p = MlKem512;
                $body
            }
            KeySpec::MlKem768 => {
                type $p = MlKem768;
                $body
            }
            KeySpec::MlKem1024 => {
                type $p = MlKem1024;
                $body
            }
            _ => $other,
        }
    };
}

/// Whether `spec` is an ML-KEM spec.
pub fn is_mlkem(spec: KeySpec) -> bool {
    matches!(spec, KeySpec::MlKem512 | KeySpec::MlKem768 | KeySpec::MlKem1024)
}

fn wipe(bytes: &mut [u8]) {
    zeroize::Zeroize::zeroize(bytes);
}

/// A fresh ML-KEM private key of `spec` as seed-form PKCS#8 DER.
pub fn generate(spec: KeySpec) -> Result<Secret, CryptoError> {
    let mut seed = ml_kem::Seed::default();
    crate::random_bytes(&mut seed)?;
    let der = with_params!(spec, P => DecapsulationKey::<P>::from_seed(seed).to_pkcs8_der(), {
        return Err(CryptoError::Malformed)
    });
    wipe(&mut seed);
    Ok(Secret::from_slice(der.map_err(|_| CryptoError::Library)?.as_bytes()))
}

/// The public (encapsulation) key of the private key `pkcs8`, as DER SubjectPublicKeyInfo.
pub fn public_key(spec: KeySpec, pkcs8: &Secret) -> Result<Vec<u8>, AsymError> {
    let der = with_params!(spec, P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(pkcs8.as_bytes())
            .map_err(|_| AsymError::BadKey)?;
        key.encapsulation_key().to_public_key_der()
    }, return Err(AsymError::BadKey));
    Ok(der.map_err(|_| AsymError::BadKey)?.into_vec())
}

/// A fresh shared secret and its encapsulation under the public key `spki`.
pub fn encapsulate(spec: KeySpec, spki: &[u8]) -> Result<(Vec<u8>, Secret), AsymError> {
    let mut m = ml_kem::B32::default();
    crate::random_bytes(&mut m)?;
    // ML-KEM.Encaps is Encaps_internal with a fresh random m (FIPS 203 Algorithm 20).
    let (ct, secret) = with_params!(spec, P => {
        let key = EncapsulationKey::<P>::from_public_key_der(spki)
            .map_err(|_| AsymError::BadKey)?;
        let (ct, mut shared) = key.encapsulate_deterministic(&m);
        let secret = Secret::from_slice(&shared);
        wipe(&mut shared);
        (ct.to_vec(), secret)
    }, return Err(AsymError::BadKey));
    wipe(&mut m);
    Ok((ct, secret))
}

/// The shared secret inside `ciphertext`; `Failed` only for a ciphertext of the wrong length:
/// any other ciphertext yields a pseudo-random secret (implicit rejection).
pub fn decapsulate(spec: KeySpec, pkcs8: &Secret, ciphertext: &[u8]) -> Result<Secret, AsymError> {
    with_params!(spec, P => {
        let key = DecapsulationKey::<P>::from_pkcs8_der(pkcs8.as_bytes())
            .map_err(|_| AsymError::BadKey)?;
        let ct = ciphertext.try_into().map_err(|_| AsymError::Failed)?;
        let mut shared = key.decapsulate(ct);
        let secret = Secret::from_slice(&shared);
        wipe(&mut shared);
        Ok(secret)
    }, Err(AsymError::BadKey))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encapsulate_then_decapsulate() {
        for (spec, ct_len, pkcs8_len) in [
            (KeySpec::MlKem512, 768, 86),
            (KeySpec::MlKem768, 1088, 86),
            (KeySpec::MlKem1024, 1568, 86),
        ] {
            let key = generate(spec).unwrap();
            assert_eq!(key.len(), pkcs8_len, "{spec:?}: seed-form PKCS#8");
            let spki = public_key(spec, &key).unwrap();
            let (ct, shared) = encapsulate(spec, &spki).unwrap();
            assert_eq!(ct.len(), ct_len);
            assert_eq!(shared.len(), SHARED_SECRET_LEN);
            assert_eq!(decapsulate(spec, &key, &ct).unwrap(), shared);
            // Implicit rejection: an altered ciphertext gives another secret, not an error.
            let mut bad = ct.clone();
            bad[0] ^= 1;
            assert_ne!(decapsulate(spec, &key, &bad).unwrap(), shared);
            assert_eq!(decapsulate(spec, &key, &ct[1..]), Err(AsymError::Failed));
        }
        let k512 = generate(KeySpec::MlKem512).unwrap();
        assert_eq!(public_key(KeySpec::MlKem768, &k512), Err(AsymError::BadKey));
    }
}
