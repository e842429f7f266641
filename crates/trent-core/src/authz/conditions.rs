//! Condition operators with IAM semantics: String*, Numeric*, Date*, Bool, Arn*, IpAddress,
//! Null, the `...IfExists` suffix and the `ForAnyValue:` / `ForAllValues:` set prefixes.

use std::net::IpAddr;

/// `*` matches any run of characters, `?` any one character.
pub fn wildcard(pattern: &str, text: &str, ignore_case: bool) -> bool {
    // Every call evaluates a few (`kms:*`, `*`, a principal ARN): the common shapes and
    // ASCII are matched without copying either string.
    if pattern == "*" {
        return true;
    }
    let ascii = pattern.is_ascii() && text.is_ascii();
    if !pattern.contains(['*', '?']) {
        return match (ignore_case, ascii) {
            (false, _) => pattern == text,
            (true, true) => pattern.eq_ignore_ascii_case(text),
            (true, false) => pattern.to_lowercase() == text.to_lowercase(),
        };
    }
    match (ignore_case, ascii) {
        (false, true) => glob(pattern.as_bytes(), text.as_bytes(), b'*', b'?'),
        (true, true) => {
            let lower = |s: &str| s.bytes().map(|b| b.to_ascii_lowercase()).collect::<Vec<u8>>();
            glob(&lower(pattern), &lower(text), b'*', b'?')
        }
        (false, false) => {
            glob(&pattern.chars().collect::<Vec<_>>(), &text.chars().collect::<Vec<_>>(), '*', '?')
        }
        (true, false) => glob(
            &pattern.to_lowercase().chars().collect::<Vec<_>>(),
            &text.to_lowercase().chars().collect::<Vec<_>>(),
            '*',
            '?',
        ),
    }
}

/// The wildcard match of `t` by `p` (bytes of ASCII text, or chars), `any` and `one` being
/// `*` and `?`: linear backtracking to the last star.
fn glob<T: PartialEq + Copy>(p: &[T], t: &[T], any: T, one: T) -> bool {
    let (mut pi, mut ti, mut star, mut mark) = (0usize, 0usize, None::<usize>, 0usize);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == one || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == any {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == any {
        pi += 1;
    }
    pi == p.len()
}

/// Seconds since the epoch of an ISO 8601 date (`2026-01-31`, `2026-01-31T12:00:00Z`) or of
/// epoch seconds given as a number.
pub fn parse_date(s: &str) -> Option<f64> {
    if let Ok(n) = s.parse::<f64>() {
        return Some(n);
    }
    let b = s.as_bytes();
    // A date is ASCII: anything else is no date, and the slices below stay on char
    // boundaries (fuzzing found `2030-01-0ϱ00:00:00Z` panicking here).
    if !s.is_ascii() || b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, mo, d) =
        (s[0..4].parse::<i64>().ok()?, s[5..7].parse::<i64>().ok()?, s[8..10].parse::<i64>().ok()?);
    let (mut h, mut mi, mut se) = (0, 0, 0);
    if b.len() >= 19 && (b[10] == b'T' || b[10] == b' ') {
        h = s[11..13].parse::<i64>().ok()?;
        mi = s[14..16].parse::<i64>().ok()?;
        se = s[17..19].parse::<i64>().ok()?;
    }
    let amz = format!("{y:04}{mo:02}{d:02}T{h:02}{mi:02}{se:02}Z");
    trent_sigv4::parse_amz_date(&amz).map(|t| t as f64)
}

fn cidr_contains(cidr: &str, ip: &str) -> bool {
    let Ok(ip) = ip.parse::<IpAddr>() else { return false };
    let (net, bits) = match cidr.split_once('/') {
        Some((n, b)) => (n, b.parse::<u32>().ok()),
        None => (cidr, None),
    };
    let Ok(net) = net.parse::<IpAddr>() else { return false };
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(i)) => {
            let bits = bits.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            (u32::from(n) & mask) == (u32::from(i) & mask)
        }
        (IpAddr::V6(n), IpAddr::V6(i)) => {
            let bits = bits.unwrap_or(128).min(128);
            let mask = if bits == 0 { 0 } else { u128::MAX << (128 - bits) };
            (u128::from(n) & mask) == (u128::from(i) & mask)
        }
        _ => false,
    }
}

const KNOWN: &[&str] = &[
    "StringEquals",
    "ArnEquals",
    "StringEqualsIgnoreCase",
    "StringLike",
    "ArnLike",
    "NumericEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
];

/// Whether one request value matches one policy value under the base operator `op`.
/// `None` for an operator we do not know (the condition then fails closed).
fn matches(op: &str, policy: &str, request: &str) -> Option<bool> {
    let num = |s: &str| s.parse::<f64>().ok();
    Some(match op {
        "StringEquals" | "ArnEquals" => policy == request,
        "StringEqualsIgnoreCase" => policy.eq_ignore_ascii_case(request),
        "StringLike" | "ArnLike" => wildcard(policy, request, false),
        "NumericEquals" => num(request)? == num(policy)?,
        "NumericLessThan" => num(request)? < num(policy)?,
        "NumericLessThanEquals" => num(request)? <= num(policy)?,
        "NumericGreaterThan" => num(request)? > num(policy)?,
        "NumericGreaterThanEquals" => num(request)? >= num(policy)?,
        "DateEquals" => parse_date(request)? == parse_date(policy)?,
        "DateLessThan" => parse_date(request)? < parse_date(policy)?,
        "DateLessThanEquals" => parse_date(request)? <= parse_date(policy)?,
        "DateGreaterThan" => parse_date(request)? > parse_date(policy)?,
        "DateGreaterThanEquals" => parse_date(request)? >= parse_date(policy)?,
        "Bool" => policy.eq_ignore_ascii_case(request),
        "BinaryEquals" => policy == request,
        "IpAddress" => cidr_contains(policy, request),
        _ => return None,
    })
}

/// The positive form of a negated operator (`StringNotEquals` → `StringEquals`).
fn positive(op: &str) -> Option<&'static str> {
    Some(match op {
        "StringNotEquals" => "StringEquals",
        "StringNotEqualsIgnoreCase" => "StringEqualsIgnoreCase",
        "StringNotLike" => "StringLike",
        "NumericNotEquals" => "NumericEquals",
        "DateNotEquals" => "DateEquals",
        "NotIpAddress" => "IpAddress",
        "ArnNotEquals" => "ArnEquals",
        "ArnNotLike" => "ArnLike",
        _ => return None,
    })
}

/// Evaluates one operator on one key. `request` is `None` when the request context has no
/// such key; multi-valued keys carry several values.
pub fn evaluate(operator: &str, policy_values: &[String], request: Option<&[String]>) -> bool {
    let (set, rest) = if let Some(r) = operator.strip_prefix("ForAnyValue:") {
        (Some(true), r)
    } else if let Some(r) = operator.strip_prefix("ForAllValues:") {
        (Some(false), r)
    } else {
        (None, operator)
    };
    let (op, if_exists) = match rest.strip_suffix("IfExists") {
        Some(o) => (o, true),
        None => (rest, false),
    };
    if op == "Null" {
        let absent = request.is_none_or(|v| v.is_empty());
        return policy_values
            .iter()
            .any(|p| p.eq_ignore_ascii_case(if absent { "true" } else { "false" }));
    }
    let values = match request {
        Some(v) if !v.is_empty() => v,
        _ => {
            // Missing key: ForAllValues is vacuously true; IfExists passes; negated
            // operators are true (nothing equals); positive operators are false.
            return set == Some(false) || if_exists || (set.is_none() && positive(op).is_some());
        }
    };
    let (base, negated) = match positive(op) {
        Some(p) => (p, true),
        None => (op, false),
    };
    let one = |v: &String| -> bool {
        let any = policy_values.iter().any(|p| matches(base, p, v).unwrap_or(false));
        if negated {
            !any
        } else {
            any
        }
    };
    if !KNOWN.contains(&base) {
        // Unknown operator: fail closed.
        return false;
    }
    match set {
        Some(false) => values.iter().all(one),
        _ => values.iter().any(one),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn a_date_with_a_multibyte_character_is_no_date() {
        assert_eq!(parse_date("2030-01-0\u{3f1}00:00:00Z"), None);
        assert_eq!(parse_date("2030-01-01T00:00:0\u{e9}Z"), None);
        assert_eq!(parse_date("\u{e9}030-01-01"), None);
        assert!(parse_date("2030-01-01T00:00:00Z").is_some());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard("kms:*", "kms:Encrypt", false));
        assert!(wildcard("kms:Get*", "kms:GetParametersForImport", false));
        assert!(wildcard("kms:?ncrypt", "kms:Encrypt", false));
        assert!(!wildcard("kms:Get*", "kms:ImportKeyMaterial", false));
        assert!(wildcard("KMS:ENCRYPT", "kms:Encrypt", true));
        assert!(wildcard("*", "", false));
        assert!(wildcard("a*b*c", "aXXbYYc", false) && !wildcard("a*b*c", "aXXbYY", false));
        // Without wildcards, with case, and beyond ASCII (each takes its own path).
        assert!(wildcard("kms:Encrypt", "kms:Encrypt", false));
        assert!(!wildcard("kms:encrypt", "kms:Encrypt", false));
        assert!(
            wildcard("KMS:E?CRYPT", "kms:Encrypt", true)
                && !wildcard("KMS:E?CRYPT", "kms:Encrypt", false)
        );
        assert!(wildcard("café", "CAFÉ", true) && !wildcard("café", "CAFÉ", false));
        assert!(wildcard("ca?é*", "CAFÉ au lait", true) && wildcard("ça*", "ça va", false));
        assert!(!wildcard("?", "", false) && wildcard("??", "éé", false));
    }

    #[test]
    fn string_numeric_date_bool_ip() {
        assert!(evaluate(
            "StringEquals",
            &v(&["RSAES_OAEP_SHA_256"]),
            Some(&v(&["RSAES_OAEP_SHA_256"]))
        ));
        assert!(!evaluate(
            "StringEquals",
            &v(&["RSAES_OAEP_SHA_256"]),
            Some(&v(&["RSAES_OAEP_SHA_1"]))
        ));
        assert!(evaluate("StringNotEquals", &v(&["A"]), Some(&v(&["B"]))));
        assert!(evaluate("StringLike", &v(&["alias/app-*"]), Some(&v(&["alias/app-prod"]))));
        assert!(evaluate("NumericLessThanEquals", &v(&["1700000000"]), Some(&v(&["1600000000"]))));
        assert!(!evaluate("NumericLessThanEquals", &v(&["1700000000"]), Some(&v(&["1800000000"]))));
        assert!(evaluate(
            "DateLessThan",
            &v(&["2030-01-01T00:00:00Z"]),
            Some(&v(&["2029-12-31T23:59:59Z"]))
        ));
        assert!(evaluate("Bool", &v(&["true"]), Some(&v(&["TRUE"]))));
        assert!(evaluate("IpAddress", &v(&["10.0.0.0/8"]), Some(&v(&["10.1.2.3"]))));
        assert!(evaluate("NotIpAddress", &v(&["10.0.0.0/8"]), Some(&v(&["192.168.1.1"]))));
        assert!(evaluate("IpAddress", &v(&["::1/128"]), Some(&v(&["::1"]))));
        assert!(!evaluate("NoSuchOperator", &v(&["x"]), Some(&v(&["x"]))));
    }

    #[test]
    fn missing_keys_if_exists_and_null() {
        assert!(!evaluate("StringEquals", &v(&["x"]), None));
        assert!(evaluate("StringEqualsIfExists", &v(&["x"]), None));
        assert!(!evaluate("StringEqualsIfExists", &v(&["x"]), Some(&v(&["y"]))));
        assert!(evaluate("StringNotEquals", &v(&["x"]), None));
        assert!(evaluate("Null", &v(&["true"]), None));
        assert!(!evaluate("Null", &v(&["true"]), Some(&v(&["KEY_MATERIAL_EXPIRES"]))));
        assert!(evaluate("Null", &v(&["false"]), Some(&v(&["KEY_MATERIAL_EXPIRES"]))));
    }

    #[test]
    fn set_operators() {
        let req = v(&["Department", "Project"]);
        assert!(evaluate("ForAnyValue:StringEquals", &v(&["Project"]), Some(&req)));
        assert!(!evaluate("ForAllValues:StringEquals", &v(&["Project"]), Some(&req)));
        assert!(evaluate(
            "ForAllValues:StringEquals",
            &v(&["Project", "Department", "Other"]),
            Some(&req)
        ));
        // ForAllValues is true when the request has no values at all.
        assert!(evaluate("ForAllValues:StringEquals", &v(&["Project"]), None));
        assert!(!evaluate("ForAnyValue:StringEquals", &v(&["Project"]), None));
    }
}
