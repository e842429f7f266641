//! The operations of the API, one module per family. Each implements `Call` for the requests
//! of its family (authorization is the gate's, before a handler runs) over the shared
//! context of `Kms`: the store, the key cache, the keyring and the clock.

pub(crate) mod aliases;
pub(crate) mod asymmetric;
pub(crate) mod crypto;
pub(crate) mod data_keys;
pub(crate) mod grants;
pub(crate) mod import;
pub(crate) mod kem;
pub(crate) mod keys;
pub(crate) mod mac;
pub(crate) mod multi_region;
pub(crate) mod paging;
pub(crate) mod policy;
pub(crate) mod rotation;
pub(crate) mod tags;
pub(crate) mod usable;
