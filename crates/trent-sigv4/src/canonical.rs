//! The SigV4 canonical request: method, URI, query, signed headers and payload hash.

use aws_lc_rs::digest;

/// What the verifier needs from an HTTP request.
pub struct CanonicalInput<'a> {
    pub method: &'a str,
    /// The raw path as sent (still percent-encoded).
    pub path: &'a str,
    /// The raw query string, without `?`.
    pub query: &'a str,
    /// Every header (name, value); names in any case, repeated names allowed.
    pub headers: &'a [(&'a str, &'a [u8])],
    pub body: &'a [u8],
}

/// Builds the canonical request, or `None` when a signed header is absent or not text.
pub fn canonical_request(input: &CanonicalInput<'_>, signed_headers: &str) -> Option<String> {
    let mut out = String::with_capacity(256);
    out.push_str(input.method);
    out.push('\n');
    canonical_uri(input.path, &mut out);
    out.push('\n');
    canonical_query(input.query, &mut out);
    out.push('\n');
    for name in signed_headers.split(';') {
        if name.is_empty() || name.bytes().any(|b| b.is_ascii_uppercase()) {
            return None;
        }
        let mut first = true;
        out.push_str(name);
        out.push(':');
        let mut found = false;
        for (n, v) in input.headers {
            if n.eq_ignore_ascii_case(name) {
                found = true;
                if !first {
                    out.push(',');
                }
                first = false;
                push_trimmed(std::str::from_utf8(v).ok()?, &mut out);
            }
        }
        if !found {
            return None;
        }
        out.push('\n');
    }
    out.push('\n');
    out.push_str(signed_headers);
    out.push('\n');
    push_hex_sha256(input.body, &mut out);
    Some(out)
}

/// The lowercase hex SHA-256 of `data`, appended to `out` (into place: `hex::encode` goes
/// char by char, and every request hashes its body and its canonical request).
pub(crate) fn push_hex_sha256(data: &[u8], out: &mut String) {
    let mut hex = [0u8; 64];
    // The buffer is exactly twice the digest's length, and hex digits are ASCII.
    let _ = hex::encode_to_slice(digest::digest(&digest::SHA256, data).as_ref(), &mut hex);
    out.push_str(std::str::from_utf8(&hex).unwrap_or_default());
}

/// Trims the value and folds runs of spaces into one, as SigV4 requires.
fn push_trimmed(v: &str, out: &mut String) {
    let v = v.trim();
    // Nearly every value has nothing to fold.
    if !v.contains('\t') && !v.contains("  ") {
        out.push_str(v);
        return;
    }
    let mut prev_space = false;
    for c in v.chars() {
        if c == ' ' || c == '\t' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
        } else {
            out.push(c);
            prev_space = false;
        }
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~')
}

fn encode_into(s: &[u8], keep_slash: bool, out: &mut String) {
    for &b in s {
        if is_unreserved(b) || (keep_slash && b == b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

/// Non-S3 services encode the (already encoded) path once more, segment by segment.
fn canonical_uri(path: &str, out: &mut String) {
    if path.is_empty() {
        out.push('/');
    } else {
        encode_into(path.as_bytes(), true, out);
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        // On bytes, not `&str` slices: a `%` before a multi-byte character must not panic
        // (found by the sigv4 fuzz target).
        if b[i] == b'%' && i + 2 < b.len() {
            let hex = |c: u8| (c as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(if b[i] == b'+' { b' ' } else { b[i] });
        i += 1;
    }
    out
}

fn canonical_query(query: &str, out: &mut String) {
    if query.is_empty() {
        return;
    }
    let mut pairs: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            let (mut ek, mut ev) = (String::new(), String::new());
            encode_into(&percent_decode(k), false, &mut ek);
            encode_into(&percent_decode(v), false, &mut ev);
            (ek, ev)
        })
        .collect();
    pairs.sort();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        out.push_str(v);
    }
}
