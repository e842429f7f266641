//! Which root key wraps the data-encryption key: the `root.key` file in the data directory
//! (the default), or an AES key inside a PKCS#11 token (an HSM) when a module is configured.
//! The PIN comes only from the environment (`TRENT_PKCS11_PIN`): flags show in process lists.

use anyhow::Context as _;

use crate::datadir;
use clap::Args;
use std::path::{Path, PathBuf};
use trent_crypto::RootKey;
use trent_hsm::{Pkcs11Config, Pkcs11RootKey};

pub const DEFAULT_KEY_LABEL: &str = "trent-root-key";
pub const PIN_ENV: &str = "TRENT_PKCS11_PIN";

/// The root-key settings of `trent serve` and `trent admin`.
#[derive(Args, Debug, Clone, Default)]
pub struct RootKeyArgs {
    /// PKCS#11 module of the HSM holding the root key (e.g. /usr/lib/softhsm/libsofthsm2.so).
    /// Without it the root key is the file root.key in the data directory.
    #[arg(long, env = "TRENT_PKCS11_MODULE")]
    pub pkcs11_module: Option<PathBuf>,
    /// Label of the PKCS#11 token; the user PIN is read from TRENT_PKCS11_PIN.
    #[arg(long, env = "TRENT_PKCS11_TOKEN_LABEL")]
    pub pkcs11_token_label: Option<String>,
    /// Label of the AES-256 root key in the token (created, non-extractable, if absent).
    #[arg(long, env = "TRENT_PKCS11_KEY_LABEL")]
    pub pkcs11_key_label: Option<String>,
    /// The root key file, instead of root.key in the data directory: one file the nodes of a
    /// cluster on one host share (docs/container.md). Mode 0600, owned by the server's user.
    #[arg(long, env = "TRENT_ROOT_KEY_FILE")]
    pub root_key_file: Option<PathBuf>,
}

impl RootKeyArgs {
    fn pkcs11(&self) -> anyhow::Result<Option<Pkcs11Config>> {
        let Some(module) = &self.pkcs11_module else {
            if self.pkcs11_token_label.is_some() || self.pkcs11_key_label.is_some() {
                return Err(anyhow::anyhow!(
                    "the PKCS#11 token and key labels need --pkcs11-module"
                ));
            }
            return Ok(None);
        };
        let token_label = self
            .pkcs11_token_label
            .clone()
            .context("--pkcs11-module needs --pkcs11-token-label (TRENT_PKCS11_TOKEN_LABEL)")?;
        let pin = std::env::var(PIN_ENV).map_err(|_| {
            anyhow::anyhow!("--pkcs11-module needs the token's user PIN in {PIN_ENV}")
        })?;
        Ok(Some(Pkcs11Config {
            module: module.clone(),
            token_label,
            pin,
            key_label: self.pkcs11_key_label.clone().unwrap_or_else(|| DEFAULT_KEY_LABEL.into()),
        }))
    }
}

/// Opens the configured root key; `create` makes a missing one (the file, or the key in the
/// token) — only ever for a store that has no wrapped data-encryption key yet.
pub fn open(dir: &Path, args: &RootKeyArgs, create: bool) -> anyhow::Result<Box<dyn RootKey>> {
    match args.pkcs11()? {
        Some(_) if args.root_key_file.is_some() => Err(anyhow::anyhow!(
            "--root-key-file and --pkcs11-module exclude each other: the root key is in one place"
        )),
        Some(cfg) => {
            let key = Pkcs11RootKey::open(&cfg, create)?;
            if dir.join(datadir::ROOT_KEY_FILE).exists() {
                tracing::warn!(
                    "the root key is in the HSM; {} in the data directory is not used",
                    datadir::ROOT_KEY_FILE
                );
            }
            Ok(Box::new(key))
        }
        None => {
            let path =
                args.root_key_file.clone().unwrap_or_else(|| dir.join(datadir::ROOT_KEY_FILE));
            let (key, created) = datadir::load_root_key(&path, create)?;
            if created {
                tracing::info!(file = %path.display(), "created the root key file");
            }
            Ok(Box::new(key))
        }
    }
}
