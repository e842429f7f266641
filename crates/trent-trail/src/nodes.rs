//! The nodes that write journals for this store, registered when they start (meta
//! `trail/node/<node>`): a journal of a node the store never saw is not this trail's, however
//! well it is chained (its genesis is public).

use trent_store::{MetaStore, StoreError};

fn meta_name(node: &str) -> String {
    format!("trail/node/{node}")
}

/// Registers `node` (once; later starts keep the first registration).
pub async fn register(store: &dyn MetaStore, node: &str, now_ms: i64) -> Result<(), StoreError> {
    store.put_meta_if_absent(&meta_name(node), &now_ms.to_be_bytes()).await.map(drop)
}

/// Whether `node` was registered by a server of this store.
pub async fn known(store: &dyn MetaStore, node: &str) -> Result<bool, StoreError> {
    Ok(store.get_meta(&meta_name(node)).await?.is_some())
}
