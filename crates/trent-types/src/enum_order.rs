//! The order AWS lists an enum's values in a validation message ("Member must satisfy enum
//! value set: [...]"), which is not the model's: the orders recorded against AWS
//! (../shared/reference/aws-behaviour.md, issue 15) are kept here, in one place. Values newer
//! than a recording follow the recorded ones, in the model's order.

/// Each recorded order, as AWS answered it.
const RECORDED: &[&[&str]] = &[
    // MacAlgorithm
    &["HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"],
    // KeyUsage (recorded before KEY_AGREEMENT and KEM existed)
    &["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"],
    // KeySpec (recorded before SM2, ML-DSA and ML-KEM were in the list)
    &[
        "RSA_2048",
        "ECC_NIST_P384",
        "ECC_NIST_P256",
        "ECC_NIST_P521",
        "HMAC_384",
        "RSA_3072",
        "ECC_SECG_P256K1",
        "RSA_4096",
        "SYMMETRIC_DEFAULT",
        "HMAC_256",
        "HMAC_224",
        "HMAC_512",
    ],
];

/// `names` (an enum's values in the model's order, perhaps filtered) in AWS's order: for the
/// enum a recording covers (every recorded value is a value of it), the recorded values that
/// `names` has first, as recorded, then the others as given.
pub fn aws_order<'a>(names: &[&'a str], all: &[&str]) -> Vec<&'a str> {
    let Some(recorded) = RECORDED.iter().find(|r| r.iter().all(|v| all.contains(v))) else {
        return names.to_vec();
    };
    let mut out: Vec<&'a str> =
        recorded.iter().filter_map(|v| names.iter().find(|n| *n == v).copied()).collect();
    out.extend(names.iter().filter(|n| !recorded.contains(n)));
    out
}

#[cfg(test)]
mod tests {
    use super::aws_order;
    use crate::{KeySpec, KeyUsageType, MacAlgorithmSpec};

    #[test]
    fn recorded_values_come_first_in_recorded_order_then_newer_ones() {
        let mac = aws_order(MacAlgorithmSpec::NAMES, MacAlgorithmSpec::NAMES);
        assert_eq!(mac, ["HMAC_SHA_384", "HMAC_SHA_256", "HMAC_SHA_224", "HMAC_SHA_512"]);
        let usage = aws_order(KeyUsageType::NAMES, KeyUsageType::NAMES);
        assert_eq!(&usage[..3], ["ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC"]);
        assert_eq!(usage.len(), KeyUsageType::NAMES.len());
        let spec = aws_order(KeySpec::NAMES, KeySpec::NAMES);
        assert_eq!(spec[..3], ["RSA_2048", "ECC_NIST_P384", "ECC_NIST_P256"]);
        assert_eq!(spec[11], "HMAC_512");
        let mut sorted = spec.clone();
        sorted.sort();
        let mut model = KeySpec::NAMES.to_vec();
        model.sort();
        assert_eq!(sorted, model, "every value, once");
        // A filtered list keeps the order; an enum no recording covers is as given.
        assert_eq!(
            aws_order(&["HMAC_SHA_512", "HMAC_SHA_384"], MacAlgorithmSpec::NAMES),
            ["HMAC_SHA_384", "HMAC_SHA_512"]
        );
        assert_eq!(aws_order(&["B", "A"], &["B", "A"]), ["B", "A"]);
    }
}
