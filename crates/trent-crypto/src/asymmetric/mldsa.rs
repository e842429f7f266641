//! ML-DSA over an external μ (FIPS 204 §6.2, `MessageType=EXTERNAL_MU`): the 64-byte message
//! representative the caller computed as SHAKE256(SHAKE256(pk, 64) || 0 || 0 || M). aws-lc-rs
//! signs only whole messages, so this path uses the RustCrypto `ml-dsa` crate on the same
//! seed-form PKCS#8 key.

use super::AsymError;
use crate::Secret;
use ml_dsa::pkcs8::der::AnyRef;
use ml_dsa::pkcs8::spki::AssociatedAlgorithmIdentifier;
use ml_dsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use ml_dsa::{MlDsa44, MlDsa65, MlDsa87, MlDsaParams, Signature, SigningKey, VerifyingKey};
use trent_types::KeySpec;

/// The length of μ.
pub const MU_LEN: usize = 64;

/// The parameter sets whose keys travel as PKCS#8 / SubjectPublicKeyInfo.
trait Params: MlDsaParams + AssociatedAlgorithmIdentifier<Params = AnyRef<'static>> {}
impl<P: MlDsaParams + AssociatedAlgorithmIdentifier<Params = AnyRef<'static>>> Params for P {}

fn sign_with<P: Params>(pkcs8: &Secret, mu: &[u8]) -> Result<Vec<u8>, AsymError> {
    let key = SigningKey::<P>::from_pkcs8_der(pkcs8.as_bytes()).map_err(|_| AsymError::BadKey)?;
    let mu = mu.try_into().map_err(|_| AsymError::DigestLength)?;
    let sig = key
        .expanded_key()
        .sign_mu_randomized(mu, &mut ml_dsa::common::getrandom::SysRng)
        .map_err(|_| AsymError::Failed)?;
    Ok(sig.encode().to_vec())
}

fn verify_with<P: Params>(spki: &[u8], mu: &[u8], signature: &[u8]) -> Result<bool, AsymError> {
    let key = VerifyingKey::<P>::from_public_key_der(spki).map_err(|_| AsymError::BadKey)?;
    let mu = mu.try_into().map_err(|_| AsymError::DigestLength)?;
    let Ok(encoded) = signature.try_into() else { return Ok(false) };
    Ok(Signature::<P>::decode(encoded).is_some_and(|s| key.verify_mu(mu, &s)))
}

/// Signs the 64-byte `mu` with the ML-DSA private key `pkcs8` of `spec`.
pub fn sign_mu(spec: KeySpec, pkcs8: &Secret, mu: &[u8]) -> Result<Vec<u8>, AsymError> {
    match spec {
        KeySpec::MlDsa44 => sign_with::<MlDsa44>(pkcs8, mu),
        KeySpec::MlDsa65 => sign_with::<MlDsa65>(pkcs8, mu),
        KeySpec::MlDsa87 => sign_with::<MlDsa87>(pkcs8, mu),
        _ => Err(AsymError::BadKey),
    }
}

/// Verifies `signature` over the 64-byte `mu` with the ML-DSA public key `spki`.
pub fn verify_mu(
    spec: KeySpec,
    spki: &[u8],
    mu: &[u8],
    signature: &[u8],
) -> Result<bool, AsymError> {
    match spec {
        KeySpec::MlDsa44 => verify_with::<MlDsa44>(spki, mu, signature),
        KeySpec::MlDsa65 => verify_with::<MlDsa65>(spki, mu, signature),
        KeySpec::MlDsa87 => verify_with::<MlDsa87>(spki, mu, signature),
        _ => Err(AsymError::BadKey),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asymmetric::{generate, public_key, sign, verify, Message};
    use shake::{ExtendableOutput, Update, XofReader};
    use trent_types::SigningAlgorithmSpec as SA;

    /// μ as FIPS 204 defines it for pure ML-DSA with an empty context: tr = SHAKE256(pk, 64),
    /// μ = SHAKE256(tr || 0x00 || 0x00 || M, 64). `pk` is the raw key inside the SPKI.
    fn mu(spki: &[u8], raw_pk_len: usize, msg: &[u8]) -> [u8; 64] {
        let pk = &spki[spki.len() - raw_pk_len..];
        let mut tr = [0u8; 64];
        let mut h = shake::Shake256::default();
        h.update(pk);
        h.finalize_xof().read(&mut tr);
        let mut h = shake::Shake256::default();
        h.update(&tr);
        h.update(&[0, 0]);
        h.update(msg);
        let mut out = [0u8; 64];
        h.finalize_xof().read(&mut out);
        out
    }

    #[test]
    fn external_mu_signatures_are_ml_dsa_signatures_of_the_message() {
        for (spec, pk_len) in
            [(KeySpec::MlDsa44, 1312), (KeySpec::MlDsa65, 1952), (KeySpec::MlDsa87, 2592)]
        {
            let key = generate(spec).unwrap();
            let spki = public_key(spec, &key).unwrap();
            let m = mu(&spki, pk_len, b"a message");
            let alg = SA::MlDsaShake256;
            // Signed over μ, verified over the message (aws-lc-rs), and the other way round.
            let s = sign(spec, &key, alg, Message::ExternalMu(&m)).unwrap();
            assert!(verify(spec, &spki, alg, Message::Raw(b"a message"), &s).unwrap());
            let s2 = sign(spec, &key, alg, Message::Raw(b"a message")).unwrap();
            assert!(verify(spec, &spki, alg, Message::ExternalMu(&m), &s2).unwrap());
            let other = mu(&spki, pk_len, b"another message");
            assert!(!verify(spec, &spki, alg, Message::ExternalMu(&other), &s).unwrap());
            assert!(!verify(spec, &spki, alg, Message::ExternalMu(&m), &s[1..]).unwrap());
            assert_eq!(
                sign(spec, &key, alg, Message::ExternalMu(&m[..63])),
                Err(AsymError::DigestLength)
            );
        }
    }
}
