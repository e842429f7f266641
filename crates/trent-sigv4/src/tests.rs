//! The verifier is checked against signatures made by the `aws-sigv4` crate (the signer of
//! every AWS Rust SDK), not only against our own signer.

use super::*;
use aws_credential_types::Credentials;
use aws_sigv4::http_request::{sign, SignableBody, SignableRequest, SigningSettings};
use aws_smithy_runtime_api::client::identity::Identity;
use std::time::{Duration, UNIX_EPOCH};

const AKID: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const BODY: &[u8] = br#"{"KeyId":"alias/test","Plaintext":"aGVsbG8="}"#;

/// Signs a KMS request with aws-sigv4 at `t` and returns its headers (names lowercased).
fn aws_signed(t: i64, secret: &str, body: &[u8]) -> Vec<(String, String)> {
    let identity: Identity = Credentials::new(AKID, secret, None, None, "test").into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region("eu-west-1")
        .name("kms")
        .time(UNIX_EPOCH + Duration::from_secs(t as u64))
        .settings(SigningSettings::default())
        .build()
        .unwrap()
        .into();
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:4599".to_string()),
        ("content-type".to_string(), "application/x-amz-json-1.1".to_string()),
        ("x-amz-target".to_string(), "TrentService.Encrypt".to_string()),
    ];
    let signable = SignableRequest::new(
        "POST",
        "http://127.0.0.1:4599/",
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        SignableBody::Bytes(body),
    )
    .unwrap();
    let (instructions, _) = sign(signable, &params).unwrap().into_parts();
    for (k, v) in instructions.headers() {
        headers.push((k.to_ascii_lowercase(), v.to_string()));
    }
    headers
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> &'a str {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap()
}

/// Runs our verifier on a request with these headers and body at `now`.
fn verify(h: &[(String, String)], body: &[u8], secret: &str, now: i64) -> Result<(), SigV4Error> {
    let auth = Authorization::parse(header(h, "authorization"))?;
    let amz_date = header(h, "x-amz-date");
    check_scope_and_time(&auth, Some(amz_date), "kms", now)?;
    let pairs: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let input = CanonicalInput { method: "POST", path: "/", query: "", headers: &pairs, body };
    let key = SigningKey::derive(secret, auth.date, auth.region, auth.service);
    verify_signature(&auth, amz_date, &input, &key)
}

const T: i64 = 1_790_000_000;

#[test]
fn accepts_requests_signed_by_aws_sigv4() {
    let h = aws_signed(T, SECRET, BODY);
    let auth = Authorization::parse(header(&h, "authorization")).unwrap();
    assert_eq!((auth.access_key_id, auth.region, auth.service), (AKID, "eu-west-1", "kms"));
    assert_eq!(verify(&h, BODY, SECRET, T), Ok(()));
    assert_eq!(verify(&h, BODY, SECRET, T + 4 * 60), Ok(()));
}

#[test]
fn refuses_a_changed_body_header_or_secret() {
    let h = aws_signed(T, SECRET, BODY);
    assert!(
        matches!(verify(&h, b"{}", SECRET, T), Err(SigV4Error::Invalid(m)) if m.starts_with("The request signature we calculated"))
    );
    assert!(matches!(verify(&h, BODY, "other-secret", T), Err(SigV4Error::Invalid(_))));
    let mut changed = h.clone();
    for (k, v) in changed.iter_mut() {
        if k == "x-amz-target" {
            *v = "TrentService.Decrypt".into();
        }
    }
    assert!(matches!(verify(&changed, BODY, SECRET, T), Err(SigV4Error::Invalid(_))));
}

#[test]
fn enforces_five_minutes_of_skew_each_way_with_aws_messages() {
    let h = aws_signed(T, SECRET, BODY);
    let amz = header(&h, "x-amz-date").to_string();
    // Inside the window either way: accepted.
    for skew in [-4 * 60 - 59, -2 * 60, 0, 2 * 60, 4 * 60 + 59] {
        verify(&h, BODY, SECRET, T + skew).unwrap_or_else(|e| panic!("{skew}: {e:?}"));
    }
    // Signed ten minutes ago: AWS's wording, with the window's edge and now.
    let now = T + 10 * 60;
    let late = verify(&h, BODY, SECRET, now).unwrap_err();
    let expected = format!(
        "Signature expired: {amz} is now earlier than {} ({} - 5 min.)",
        format_amz_date(now - 300),
        format_amz_date(now)
    );
    assert!(matches!(&late, SigV4Error::Invalid(m) if *m == expected), "{late:?}");
    // Signed for ten minutes from now.
    let now = T - 10 * 60;
    let early = verify(&h, BODY, SECRET, now).unwrap_err();
    let expected = format!(
        "Signature not yet current: {amz} is still later than {} ({} + 5 min.)",
        format_amz_date(now + 300),
        format_amz_date(now)
    );
    assert!(matches!(&early, SigV4Error::Invalid(m) if *m == expected), "{early:?}");
    // Just past the edge, each way.
    for skew in [5 * 60 + 1, -5 * 60 - 1] {
        assert!(verify(&h, BODY, SECRET, T + skew).is_err(), "{skew}");
    }
}

#[test]
fn our_signer_matches_aws_sigv4() {
    let h = aws_signed(T, SECRET, BODY);
    let auth = Authorization::parse(header(&h, "authorization")).unwrap();
    let pairs: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let input =
        CanonicalInput { method: "POST", path: "/", query: "", headers: &pairs, body: BODY };
    let key = SigningKey::derive(SECRET, auth.date, "eu-west-1", "kms");
    let ours = sign_request(
        &input,
        auth.signed_headers,
        AKID,
        &key,
        header(&h, "x-amz-date"),
        "eu-west-1",
        "kms",
    );
    assert_eq!(ours, header(&h, "authorization"));
}

#[test]
fn classifies_malformed_headers() {
    assert!(
        matches!(Authorization::parse("Bearer abc"), Err(SigV4Error::Incomplete(m)) if m.contains("requires 'Credential' parameter"))
    );
    assert!(
        matches!(Authorization::parse("AWS4-HMAC-SHA512 Credential=x"), Err(SigV4Error::Incomplete(m)) if m.contains("Unsupported AWS 'algorithm'"))
    );
    assert!(
        matches!(Authorization::parse("AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/kms/aws4_request"), Err(SigV4Error::Incomplete(m)) if m.contains("'Signature'") && m.contains("'SignedHeaders'"))
    );
    assert!(matches!(
        Authorization::parse("AWS4-HMAC-SHA256 Credential=A/x, SignedHeaders=host, Signature=00"),
        Err(SigV4Error::Incomplete(_))
    ));
    let a = Authorization::parse("AWS4-HMAC-SHA256 Credential=A/20250101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00").unwrap();
    assert!(
        matches!(check_scope_and_time(&a, Some("20250101T000000Z"), "kms", 1735689600), Err(SigV4Error::Invalid(m)) if m.contains("correct service: 'kms'"))
    );
    assert!(matches!(check_scope_and_time(&a, None, "s3", 0), Err(SigV4Error::Incomplete(_))));
    assert!(
        matches!(check_scope_and_time(&a, Some("20250102T000000Z"), "s3", 1735776000), Err(SigV4Error::Invalid(m)) if m.starts_with("Date in Credential scope does not match"))
    );
}

/// Signs the request with our signer over exactly `signed` of its headers.
fn signed_with(signed: &str, extra: &[(&str, &str)], region: &str) -> Vec<(String, String)> {
    let amz_date = format_amz_date(T);
    let mut h: Vec<(String, String)> = vec![
        ("content-type".into(), "application/x-amz-json-1.1".into()),
        ("host".into(), "127.0.0.1:4599".into()),
        ("x-amz-date".into(), amz_date.clone()),
        ("x-amz-target".into(), "TrentService.DescribeKey".into()),
    ];
    h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let pairs: Vec<(&str, &[u8])> = h.iter().map(|(k, v)| (k.as_str(), v.as_bytes())).collect();
    let input =
        CanonicalInput { method: "POST", path: "/", query: "", headers: &pairs, body: BODY };
    let key = SigningKey::derive(SECRET, &amz_date[..8], region, "kms");
    let auth = sign_request(&input, signed, AKID, &key, &amz_date, region, "kms");
    h.push(("authorization".into(), auth));
    h
}

fn invalid_with(r: Result<(), SigV4Error>, text: &str) {
    match r {
        Err(SigV4Error::Invalid(m)) | Err(SigV4Error::Incomplete(m)) if m.contains(text) => {}
        other => panic!("expected a refusal with {text:?}, got {other:?}"),
    }
}

#[test]
fn the_operation_and_host_must_be_signed() {
    let all = signed_with("content-type;host;x-amz-date;x-amz-target", &[], "us-east-1");
    assert_eq!(verify(&all, BODY, SECRET, T), Ok(()));
    // A request signed without X-Amz-Target could be resent as any operation.
    for signed in ["host;x-amz-date", "content-type;host;x-amz-date"] {
        let h = signed_with(signed, &[], "us-east-1");
        invalid_with(verify(&h, BODY, SECRET, T), "'x-amz-target' must be a 'SignedHeader'");
    }
    let h = signed_with("content-type;x-amz-date;x-amz-target", &[], "us-east-1");
    invalid_with(verify(&h, BODY, SECRET, T), "'Host' or ':authority' must be a 'SignedHeader'");
    // Every x-amz-* header, whatever it is.
    let h = signed_with(
        "content-type;host;x-amz-date;x-amz-target",
        &[("x-amz-extra", "1")],
        "us-east-1",
    );
    invalid_with(verify(&h, BODY, SECRET, T), "'x-amz-extra' must be a 'SignedHeader'");
    // A signed header the request does not have.
    let mut h = signed_with("content-type;host;x-amz-date;x-amz-target", &[], "us-east-1");
    h.retain(|(k, _)| k != "content-type");
    invalid_with(verify(&h, BODY, SECRET, T), "'content-type' is named as a SignedHeader");
}

#[test]
fn the_signature_is_lower_case_hex() {
    let mut h = signed_with("content-type;host;x-amz-date;x-amz-target", &[], "us-east-1");
    for (k, v) in h.iter_mut() {
        if k == "authorization" {
            let (head, sig) = v.rsplit_once("Signature=").unwrap();
            *v = format!("{head}Signature={}", sig.to_ascii_uppercase());
        }
    }
    invalid_with(verify(&h, BODY, SECRET, T), "The request signature we calculated");
}

#[test]
fn the_scope_names_a_well_formed_region() {
    for good in ["us-east-1", "us-gov-west-1", "cn-north-1", "eu-central-2", "eusc-de-east-1"] {
        assert!(valid_region(good), "{good}");
    }
    let long = "a".repeat(300);
    for bad in ["us-east-1:444455556666", "Us-East-1", long.as_str(), "local", "us-east", "-1", ""]
    {
        assert!(!valid_region(bad), "{bad}");
    }
    let h = signed_with("content-type;host;x-amz-date;x-amz-target", &[], "us-east-1:444455556666");
    invalid_with(verify(&h, BODY, SECRET, T), "Credential should be scoped to a valid region");
}

#[test]
fn query_escapes_are_decoded_on_bytes() {
    // `%` before a multi-byte character panicked when sliced as `&str` (fuzz finding), and
    // `%+5` was taken for an escape by `from_str_radix`'s sign handling.
    let headers: Vec<(&str, &[u8])> = vec![("host", b"localhost")];
    let canonical = |query: &str| {
        let input =
            CanonicalInput { method: "POST", path: "/", query, headers: &headers, body: b"" };
        canonical_request(&input, "host").unwrap()
    };
    let c = canonical("a=%é1");
    assert!(c.contains("\na=%25%C3%A91\n"), "{c}");
    assert!(canonical("a=%+5").contains("\na=%25%205\n"));
    assert!(canonical("a=%41%2f").contains("\na=A%2F\n"));
}

#[test]
fn header_values_are_trimmed_and_their_runs_of_spaces_folded() {
    let canonical = |value: &'static [u8]| {
        let headers: Vec<(&str, &[u8])> = vec![("host", b"localhost"), ("x-amz-target", value)];
        let input =
            CanonicalInput { method: "POST", path: "/", query: "", headers: &headers, body: b"" };
        canonical_request(&input, "host;x-amz-target").unwrap()
    };
    assert!(canonical(b"  a b ").contains("\nx-amz-target:a b\n"));
    assert!(canonical(b" a   b\t c ").contains("\nx-amz-target:a b c\n"));
    assert!(canonical(b"a\tb").contains("\nx-amz-target:a b\n"));
}
