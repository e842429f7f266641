//! Where the data is: the flags `trent admin`, `trent audit verify` and a restore share, and
//! opening the store and its keyring there when no server holds the data directory.

use clap::Args;
use std::path::PathBuf;
use std::sync::Arc;

/// Where the data is: the flags `trent admin` and `trent audit verify` share.
#[derive(Args)]
pub(crate) struct Place {
    /// The data directory of the server.
    #[arg(long, env = "TRENT_DATA_DIR", default_value = "./trent-data")]
    pub data_dir: PathBuf,
    /// The PostgreSQL database of the nodes, when they use one (see `trent serve`).
    #[arg(long, env = "TRENT_DATABASE_URL")]
    pub database_url: Option<String>,
    #[command(flatten)]
    pub root_key: crate::root_key::RootKeyArgs,
}

/// Opens the store and its keyring here (no server holds the data directory).
pub(crate) async fn open_store(
    p: &Place,
) -> anyhow::Result<(Arc<dyn trent_store::Store>, trent_crypto::Keyring)> {
    let (store, _) = crate::storage::open(&p.data_dir, p.database_url.as_deref(), false).await?;
    let root = crate::root_key::open(&p.data_dir, &p.root_key, false)?;
    let keyring = trent_core::Bootstrap::new(store.as_ref()).open_keyring(root.as_ref()).await?;
    Ok((store, keyring))
}
