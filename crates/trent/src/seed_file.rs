//! The seed file of `trent serve --init FILE` (TOML, docs/configuration.md "Seeding"): read,
//! its defaults applied and its files (policies, key material) read relative to it, into the
//! domain's [`trent_core::Seed`].

use anyhow::Context as _;

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use trent_core::{Seed, SeedAccessKey, SeedAccount, SeedKey, SeedMaterial, SeedUser};
use trent_crypto::Secret;
use trent_types::{KeySpec, KeyUsageType, OriginType};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    accounts: Vec<Account>,
    #[serde(default)]
    users: Vec<User>,
    #[serde(default)]
    access_keys: Vec<AccessKey>,
    #[serde(default)]
    keys: Vec<Key>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Account {
    id: String,
    /// The ARN partition (aws, aws-cn, aws-us-gov, …; default aws).
    partition: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct User {
    account: Option<String>,
    name: String,
    /// Policy name → the policy JSON.
    #[serde(default)]
    policies: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AccessKey {
    account: Option<String>,
    user: Option<String>,
    id: String,
    secret: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Key {
    id: String,
    account: Option<String>,
    region: Option<String>,
    spec: Option<String>,
    usage: Option<String>,
    origin: Option<String>,
    #[serde(default)]
    description: String,
    policy: Option<String>,
    policy_file: Option<PathBuf>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(default)]
    aliases: Vec<String>,
    enabled: Option<bool>,
    material_file: Option<PathBuf>,
    valid_to: Option<String>,
    valid_for_days: Option<u32>,
}

fn enumerated<T>(
    what: &str,
    text: Option<&str>,
    default: T,
    parse: fn(&str) -> Option<T>,
) -> anyhow::Result<T> {
    match text {
        None => Ok(default),
        Some(t) => parse(t).with_context(|| format!("{what} '{t}' is not one AWS knows")),
    }
}

fn read(base: &Path, p: &Path) -> anyhow::Result<Vec<u8>> {
    let path = base.join(p);
    std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
}

fn valid_to_ms(k: &Key, now_ms: i64) -> anyhow::Result<Option<i64>> {
    use aws_sdk_kms::primitives::{DateTime, DateTimeFormat};
    match (&k.valid_to, k.valid_for_days) {
        (Some(_), Some(_)) => {
            Err(anyhow::anyhow!("key {}: valid_to or valid_for_days, not both", k.id))
        }
        (Some(t), None) => DateTime::from_str(t, DateTimeFormat::DateTime)
            .map(|d| Some(d.secs() * 1000))
            .with_context(|| format!("key {}: valid_to '{t}'", k.id)),
        (None, Some(days)) => Ok(Some(now_ms + i64::from(days) * 86_400_000)),
        (None, None) => Ok(None),
    }
}

fn key(k: Key, base: &Path, account: &str, now_ms: i64) -> anyhow::Result<SeedKey> {
    let spec = enumerated("spec", k.spec.as_deref(), KeySpec::SymmetricDefault, KeySpec::parse)?;
    let usage =
        enumerated("usage", k.usage.as_deref(), KeyUsageType::EncryptDecrypt, KeyUsageType::parse)?;
    if spec != KeySpec::SymmetricDefault && k.usage.is_none() {
        return Err(anyhow::anyhow!("key {}: a {spec} key needs a usage", k.id));
    }
    let origin = enumerated("origin", k.origin.as_deref(), OriginType::AwsKms, OriginType::parse)?;
    let policy = match (k.policy.clone(), &k.policy_file) {
        (Some(_), Some(_)) => {
            return Err(anyhow::anyhow!("key {}: policy or policy_file, not both", k.id))
        }
        (Some(p), None) => Some(p),
        (None, Some(f)) => Some(
            String::from_utf8(read(base, f)?)
                .map_err(|_| anyhow::anyhow!("{} is not UTF-8", f.display()))?,
        ),
        (None, None) => None,
    };
    let material = match &k.material_file {
        Some(f) => Some(SeedMaterial {
            bytes: Secret::new(read(base, f)?),
            valid_to_ms: valid_to_ms(&k, now_ms)?,
        }),
        None if k.valid_to.is_some() || k.valid_for_days.is_some() => {
            return Err(anyhow::anyhow!("key {}: an expiry needs material_file", k.id))
        }
        None => None,
    };
    Ok(SeedKey {
        account: k.account.unwrap_or_else(|| account.to_string()),
        region: k.region.unwrap_or_else(|| "us-east-1".into()),
        id: k.id,
        spec,
        usage,
        origin,
        description: k.description,
        policy,
        tags: k.tags,
        aliases: k.aliases,
        enabled: k.enabled.unwrap_or(true),
        material,
    })
}

/// Reads `path`; `account` is the server's default account, `now_ms` its clock.
pub fn load(path: &Path, account: &str, now_ms: i64) -> anyhow::Result<Seed> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let file: File =
        toml::from_str(&text).map_err(|e| crate::config::toml_error(path, &text, &e))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let in_file = |e: anyhow::Error| e.context(path.display().to_string());
    Ok(Seed {
        accounts: file
            .accounts
            .into_iter()
            .map(|a| SeedAccount { id: a.id, partition: a.partition })
            .collect(),
        users: file
            .users
            .into_iter()
            .map(|u| SeedUser {
                account: u.account.unwrap_or_else(|| account.into()),
                name: u.name,
                policies: u.policies,
            })
            .collect(),
        access_keys: file
            .access_keys
            .into_iter()
            .map(|k| SeedAccessKey {
                account: k.account.unwrap_or_else(|| account.into()),
                user: k.user,
                id: k.id,
                secret: Secret::new(k.secret.into_bytes()),
            })
            .collect(),
        keys: file
            .keys
            .into_iter()
            .map(|k| key(k, base, account, now_ms))
            .collect::<Result<_, _>>()
            .map_err(in_file)?,
    })
}
