//! Key identifiers: key id, key ARN, alias name and alias ARN, resolved to a key record with
//! AWS's NotFoundException messages (as recorded against AWS; the identifier forms are
//! those of <https://docs.aws.amazon.com/kms/latest/developerguide/find-cmk-id-arn.html>).

use super::decide::Check;
use crate::{Caller, Kms, KmsError, Result};
use std::sync::Arc;
use trent_store::{partition_of, KeyRecord, KeyRef};
use trent_types::ErrorCode;

/// Which identifier forms an operation accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Accept {
    /// Key id or key ARN (management operations, import, rotation).
    KeyOnly,
    /// Also alias name and alias ARN (cryptographic operations, DescribeKey).
    KeyOrAlias,
}

/// What a `KeyId` names, before it is looked up: a key (by id or key ARN) or an alias (by
/// name or alias ARN), with the account and Region an ARN gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyIdentifier<'a> {
    Key { account: Option<&'a str>, region: Option<&'a str>, key_id: &'a str },
    Alias { account: Option<&'a str>, region: Option<&'a str>, name: &'a str },
}

use KeyIdentifier as Parsed;

pub(crate) fn is_key_id(s: &str) -> bool {
    if let Some(h) = s.strip_prefix("mrk-") {
        return h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit());
    }
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// Parses a `KeyId` as AWS accepts it; `None` is AWS's "Invalid keyId".
pub fn parse_key_identifier(id: &str) -> Option<KeyIdentifier<'_>> {
    if id.starts_with("alias/") {
        return Some(Parsed::Alias { account: None, region: None, name: id });
    }
    if let Some(rest) = id.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        if parts.len() != 5 || !parts[0].starts_with("aws") || parts[1] != "kms" {
            return None;
        }
        let (region, account, resource) = (parts[2], parts[3], parts[4]);
        if let Some(key_id) = resource.strip_prefix("key/") {
            return is_key_id(key_id).then_some(Parsed::Key {
                account: Some(account),
                region: Some(region),
                key_id,
            });
        }
        if resource.starts_with("alias/") {
            return Some(Parsed::Alias {
                account: Some(account),
                region: Some(region),
                name: resource,
            });
        }
        return None;
    }
    is_key_id(id).then_some(Parsed::Key { account: None, region: None, key_id: id })
}

pub(super) fn invalid_key_id(id: &str) -> KmsError {
    KmsError::new(ErrorCode::NotFoundException, format!("Invalid keyId '{id}'"))
}

pub(crate) fn key_not_found(key: &KeyRef) -> KmsError {
    KmsError::new(ErrorCode::NotFoundException, format!("Key '{}' does not exist", key.arn()))
}

pub(crate) fn alias_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:{}:kms:{region}:{account}:{name}", partition_of(region))
}

pub(crate) fn alias_not_found(account: &str, region: &str, name: &str) -> KmsError {
    KmsError::new(
        ErrorCode::NotFoundException,
        format!("Alias {} is not found.", alias_arn(account, region, name)),
    )
}

impl Kms {
    /// Turns an identifier into the key it names, without loading it.
    pub(super) async fn key_ref(
        &self,
        caller: &Caller,
        id: &str,
        accept: Accept,
    ) -> Result<KeyRef> {
        let parsed = parse_key_identifier(id).ok_or_else(|| invalid_key_id(id))?;
        match parsed {
            Parsed::Key { account, region, key_id } => {
                if let Some(r) = region {
                    if r != caller.region {
                        return Err(KmsError::new(
                            ErrorCode::NotFoundException,
                            format!("Invalid arn {r}"),
                        ));
                    }
                }
                Ok(KeyRef {
                    account: account.unwrap_or(&caller.account).to_string(),
                    region: caller.region.clone(),
                    key_id: key_id.to_string(),
                })
            }
            Parsed::Alias { account, region, name } => {
                if accept == Accept::KeyOnly {
                    return Err(invalid_key_id(id));
                }
                if let Some(r) = region {
                    if r != caller.region {
                        return Err(KmsError::new(
                            ErrorCode::NotFoundException,
                            format!("Invalid arn {r}"),
                        ));
                    }
                }
                let account = account.unwrap_or(&caller.account);
                let alias = self
                    .store
                    .get_alias(account, &caller.region, name)
                    .await?
                    .ok_or_else(|| alias_not_found(account, &caller.region, name))?;
                Ok(KeyRef {
                    account: account.to_string(),
                    region: caller.region.clone(),
                    key_id: alias.target_key_id,
                })
            }
        }
    }

    /// Loads a key as it is now (`lifecycle`), without writing: a key whose deletion date has
    /// passed is gone, and imported material whose `ValidTo` has passed is deleted, even
    /// before the background pass (or the key's next write) persists it.
    pub(super) async fn load_key(&self, key: &KeyRef) -> Result<Arc<KeyRecord>> {
        let rec = Arc::clone(
            &self.held.keys.cached_key(key).await?.ok_or_else(|| key_not_found(key))?.rec,
        );
        if crate::lifecycle::is_past_deletion(&rec, self.now_ms()) {
            return Err(key_not_found(key));
        }
        Ok(rec)
    }

    /// Resolves and loads a key and authorizes `check` on it; `kms:RequestAlias` is the alias
    /// name when the request named the key by an alias.
    pub(super) async fn resolve_key(
        &self,
        caller: &Caller,
        id: &str,
        accept: Accept,
        check: Check<'_>,
    ) -> Result<Arc<KeyRecord>> {
        let alias = (id.starts_with("alias/") || id.contains(":alias/"))
            .then(|| id.rsplit_once(':').map(|(_, n)| n).unwrap_or(id));
        let key = self.key_ref(caller, id, accept).await?;
        let rec = self.load_key(&key).await?;
        self.authorize_key(caller, &rec, &Check { alias, ..check }).await?;
        Ok(rec)
    }
}

/// The rules the model's pattern cannot express (CreateAlias API reference: an alias name may
/// not begin with `alias/aws/`;
/// <https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html>).
pub(crate) fn check_alias_name(name: &str) -> Result<()> {
    if !name.starts_with("alias/") {
        return Err(KmsError::validation(
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(KmsError::new(ErrorCode::NotAuthorizedException, String::new()));
    }
    if name.contains(':') || name.len() == "alias/".len() {
        return Err(KmsError::validation(format!(
            "{name} contains invalid characters for an alias"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    //! `KeyId` in each form AWS accepts, and the near misses it refuses as "Invalid keyId".
    use super::*;

    const ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";
    const MRK: &str = "mrk-1234abcd12ab34cd56ef1234567890ab";

    fn key(
        account: Option<&'static str>,
        region: Option<&'static str>,
        key_id: &'static str,
    ) -> Option<Parsed<'static>> {
        Some(Parsed::Key { account, region, key_id })
    }

    fn alias(
        account: Option<&'static str>,
        region: Option<&'static str>,
        name: &'static str,
    ) -> Option<Parsed<'static>> {
        Some(Parsed::Alias { account, region, name })
    }

    #[test]
    fn each_identifier_form_parses_to_what_it_names() {
        let cases: &[(&str, Option<Parsed<'static>>)] = &[
            (ID, key(None, None, ID)),
            (MRK, key(None, None, MRK)),
            ("alias/prod", alias(None, None, "alias/prod")),
            (
                "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                key(Some("111122223333"), Some("us-east-1"), ID),
            ),
            (
                "arn:aws-cn:kms:cn-north-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab",
                key(Some("111122223333"), Some("cn-north-1"), MRK),
            ),
            (
                "arn:aws:kms:eu-west-1:111122223333:alias/prod",
                alias(Some("111122223333"), Some("eu-west-1"), "alias/prod"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_key_identifier(input), *want, "{input}");
        }
    }

    #[test]
    fn near_misses_are_invalid_key_ids() {
        let cases = [
            "",
            "1234abcd-12ab-34cd-56ef-1234567890a", // one digit short
            "1234abcd-12ab-34cd-56ef-1234567890abc", // one too many
            "1234abcd_12ab_34cd_56ef_1234567890ab", // wrong separators
            "1234abcg-12ab-34cd-56ef-1234567890ab", // not hex
            "mrk-1234abcd12ab34cd56ef1234567890a", // short multi-Region id
            "key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:s3:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:kms:us-east-1:111122223333:key/not-a-key-id",
            "arn:aws:kms:us-east-1:111122223333:grant/abc",
            "arn:aws:kms:us-east-1:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:gcp:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ];
        for input in cases {
            assert_eq!(parse_key_identifier(input), None, "{input:?} should be an invalid keyId");
        }
    }

    #[test]
    fn the_refusals_carry_awss_messages() {
        assert_eq!(invalid_key_id("nope").message(), "Invalid keyId 'nope'");
        let k = KeyRef {
            account: "111122223333".into(),
            region: "us-east-1".into(),
            key_id: ID.into(),
        };
        let e = key_not_found(&k);
        assert_eq!(e.code(), ErrorCode::NotFoundException);
        assert_eq!(
            e.message(),
            "Key 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab' does not exist"
        );
    }
}
