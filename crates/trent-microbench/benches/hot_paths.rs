//! Divan benchmarks of Trent's per-request crypto and codec work.
// A test (or benchmark) crate: its helpers unwrap what the test expects to succeed.
#![allow(clippy::unwrap_used)]

use divan::{black_box, Bencher};
use std::collections::BTreeMap;
use trent_crypto::blob::BlobHeader;
use trent_crypto::import::{ImportToken, WrapAlgorithm, WrappingKeyPair, WrappingSpec};
use trent_crypto::{symmetric, KeyRef, Keyring, Secret};
use trent_sigv4::{sign_request, verify_signature, Authorization, CanonicalInput, SigningKey};

fn main() {
    divan::main();
}

fn key() -> KeyRef {
    KeyRef {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        key_id: "1234abcd-12ab-34cd-56ef-1234567890ab".into(),
    }
}

/// A material id is 32 bytes in hex.
const MID: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ARN: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn context() -> BTreeMap<String, String> {
    BTreeMap::from([("purpose".to_string(), "bench".to_string())])
}

/// The symmetric ciphertext blob: Encrypt's work on 1 KiB and 4 KiB.
#[divan::bench(args = [1024, 4096])]
fn blob_encrypt(b: Bencher, size: usize) {
    let material = trent_crypto::random_secret(32).unwrap();
    let plaintext = vec![7u8; size];
    let ctx = context();
    b.bench(|| symmetric::encrypt(key(), MID, &material, black_box(&plaintext), &ctx).unwrap());
}

/// Decrypt's work: parse the header, derive the message key, open.
#[divan::bench(args = [1024, 4096])]
fn blob_decrypt(b: Bencher, size: usize) {
    let material = trent_crypto::random_secret(32).unwrap();
    let ctx = context();
    let blob = symmetric::encrypt(key(), MID, &material, &vec![7u8; size], &ctx).unwrap();
    b.bench(|| {
        let (header, len) = BlobHeader::decode(black_box(&blob)).unwrap();
        symmetric::decrypt(&blob, &header, len, &material, &ctx).unwrap()
    });
}

/// Parsing the blob header only (what finds the key of a Decrypt).
#[divan::bench]
fn blob_header_decode(b: Bencher) {
    let material = trent_crypto::random_secret(32).unwrap();
    let blob = symmetric::encrypt(key(), MID, &material, &[0u8; 1024], &context()).unwrap();
    b.bench(|| BlobHeader::decode(black_box(&blob)).unwrap());
}

/// The body of an Encrypt of 1 KiB (1,024 bytes of 0x5a, base64 "Wlpa"… "Wg=="): the request
/// `scripts/bench` measures against the HTTP ceiling, so that the micro-benchmarks add up to
/// the work one of those calls must do.
static BODY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let plaintext = "Wlpa".repeat(341) + "Wg==";
    format!(r#"{{"KeyId":"1234abcd-12ab-34cd-56ef-1234567890ab","Plaintext":"{plaintext}"}}"#)
});
const DATE: &str = "20261122T093000Z";

fn signed() -> (Vec<(String, Vec<u8>)>, String, SigningKey) {
    let key = SigningKey::derive(
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        &DATE[..8],
        "us-east-1",
        "kms",
    );
    let headers: Vec<(String, Vec<u8>)> = vec![
        ("content-type".into(), b"application/x-amz-json-1.1".to_vec()),
        ("host".into(), b"127.0.0.1:4599".to_vec()),
        ("x-amz-date".into(), DATE.as_bytes().to_vec()),
        ("x-amz-target".into(), b"TrentService.Encrypt".to_vec()),
    ];
    let pairs: Vec<(&str, &[u8])> =
        headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    let input = CanonicalInput {
        method: "POST",
        path: "/",
        query: "",
        headers: &pairs,
        body: BODY.as_bytes(),
    };
    let auth = sign_request(
        &input,
        "content-type;host;x-amz-date;x-amz-target",
        "AKIAIOSFODNN7EXAMPLE",
        &key,
        DATE,
        "us-east-1",
        "kms",
    );
    (headers, auth, key)
}

/// What every request costs before any KMS work (here an Encrypt of 1 KiB, whose body is
/// hashed): parse Authorization, canonical request, string to sign, HMAC with the cached
/// signing key, constant-time compare.
#[divan::bench]
fn sigv4_verify(b: Bencher) {
    let (headers, auth, key) = signed();
    let pairs: Vec<(&str, &[u8])> =
        headers.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
    b.bench(|| {
        let a = Authorization::parse(black_box(&auth)).unwrap();
        let input = CanonicalInput {
            method: "POST",
            path: "/",
            query: "",
            headers: &pairs,
            body: BODY.as_bytes(),
        };
        verify_signature(&a, DATE, &input, &key).unwrap();
    });
}

/// Deriving a signing key (four HMACs): paid once per access key, day and Region.
#[divan::bench]
fn sigv4_derive_signing_key() -> SigningKey {
    SigningKey::derive(
        black_box("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        "20261122",
        "us-east-1",
        "kms",
    )
}

fn token() -> (Keyring, ImportToken) {
    let ring = Keyring::new(&trent_crypto::random_secret(32).unwrap()).unwrap();
    let pair = WrappingKeyPair::generate(WrappingSpec::Rsa2048).unwrap();
    let token = ImportToken {
        key_arn: ARN.to_string(),
        algorithm: WrapAlgorithm::OaepSha256,
        spec: WrappingSpec::Rsa2048,
        expires_ms: 1_800_000_000_000,
        private_pkcs8: pair.private_pkcs8,
    };
    (ring, token)
}

/// GetParametersForImport's token: the wrapping private key sealed under the keyring.
#[divan::bench]
fn import_token_seal(b: Bencher) {
    let (ring, token) = token();
    b.bench(|| token.seal(&ring).unwrap());
}

/// ImportKeyMaterial's first step: open and parse the token.
#[divan::bench]
fn import_token_open(b: Bencher) {
    let (ring, token) = token();
    let sealed = token.seal(&ring).unwrap();
    b.bench(|| ImportToken::open(&ring, black_box(&sealed)).unwrap());
}

/// ImportKeyMaterial's RSA step: unwrapping 32 bytes of material with the wrapping private
/// key (its PKCS#8 parsed, then RSAES-OAEP-SHA-256): the floor of an import's latency.
#[divan::bench(args = [WrappingSpec::Rsa2048, WrappingSpec::Rsa4096])]
fn import_unwrap_material(b: Bencher, spec: WrappingSpec) {
    let pair = WrappingKeyPair::generate(spec).unwrap();
    let alg = WrapAlgorithm::OaepSha256;
    let wrapped = trent_crypto::import::wrap_material(alg, &pair.public_spki, &[7; 32]).unwrap();
    b.bench(|| {
        trent_crypto::import::unwrap_material(alg, &pair.private_pkcs8, black_box(&wrapped))
            .unwrap()
    });
}

/// Opening a key's sealed material (a key-cache miss).
#[divan::bench]
fn material_open(b: Bencher) {
    let ring = Keyring::new(&trent_crypto::random_secret(32).unwrap()).unwrap();
    let material = Secret::from_slice(&[9u8; 32]);
    let sealed = ring.seal_material(ARN, MID, &material).unwrap();
    b.bench(|| ring.open_material(ARN, MID, black_box(&sealed)).unwrap());
}

/// Decoding and validating an Encrypt request body of 1 KiB against the service model.
#[divan::bench]
fn decode_encrypt_request(b: Bencher) {
    b.bench(|| {
        trent_types::decode(black_box(BODY.as_bytes()), trent_types::EncryptRequest::from_wire)
            .unwrap()
    });
}

/// The body of an Encrypt's answer for 1 KiB of plaintext (a 1.2 KB ciphertext blob).
#[divan::bench]
fn encode_encrypt_response(b: Bencher) {
    let out = trent_types::EncryptResponse {
        ciphertext_blob: Some(trent_types::Blob::new(vec![0x5a; 1200])),
        key_id: Some(ARN.into()),
        encryption_algorithm: Some(trent_types::EncryptionAlgorithmSpec::SymmetricDefault),
    };
    b.bench(|| trent_types::encode(black_box(&out)).unwrap());
}

/// The audit record of one Encrypt as the request path makes it: the compact entry built from
/// what the call saw, and its chained line (what `audit.log` gets, before the write; the
/// CloudTrail record is rendered only when the trail is read).
#[divan::bench]
fn audit_record_of_encrypt(b: Bencher) {
    use trent_core::audit::chain::Chain;
    use trent_core::audit::{ApiCall, Outcome, Recorded};
    let caller = trent_core::Caller {
        account: "111122223333".into(),
        region: "us-east-1".into(),
        principal_arn: "arn:aws:iam::111122223333:root".into(),
        access_key_id: "AKIAIOSFODNN7EXAMPLE".into(),
        source_ip: Some("127.0.0.1".into()),
        secure_transport: false,
        quota: Default::default(),
    };
    let recorded = Recorded { resources: vec![ARN.into()], key_material_ids: vec![MID.into()] };
    let mut chain = Chain::start("node-bench");
    b.bench_local(|| {
        let params =
            serde_json::json!({ "keyId": ARN, "encryptionAlgorithm": "SYMMETRIC_DEFAULT" });
        let call = ApiCall {
            event_time_ms: 1_764_619_200_000,
            event_source: "kms.amazonaws.com",
            operation: "Encrypt",
            read_only: true,
            region: "us-east-1",
            caller: Some(&caller),
            presented_access_key_id: None,
            source_ip: Some("127.0.0.1"),
            user_agent: Some("aws-sdk-rust/1.0"),
            request_id: "f3423043-63bc-11e4-bc2b-4198b6150d5c",
            event_id: "91235988-eb87-476a-ac2c-0cdc244e6dca",
            request_parameters: &params,
            response_elements: &serde_json::Value::Null,
            recorded: &recorded,
            outcome: Outcome::Succeeded,
            unauthenticated_calls_not_recorded: 0,
            client_answered: None,
        };
        let mut line = String::new();
        for entry in black_box(call.to_records()) {
            chain.push_entry(&entry, &mut line);
        }
        line
    });
}
