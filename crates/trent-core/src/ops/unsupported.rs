//! Operations of the API that Trent does not implement: custom key stores. They are authorized like every other operation (so a
//! caller learns nothing it may not know) and then answer UnsupportedOperationException.

use crate::gate::AccountTarget;
use crate::{Authorized, Call, Kms, KmsError, Result};
use trent_types::*;

macro_rules! unsupported {
    ($($req:ident => $op:ident, $target:ty, $out:ty;)*) => {$(
        impl Call for $req {
            const OPERATION: Operation = Operation::$op;
            type Target = $target;
            type Output = $out;

            async fn handle(self, _kms: &Kms, _auth: Authorized<'_, $target>) -> Result<$out> {
                Err(KmsError::new(ErrorCode::UnsupportedOperationException, format!(
                    "{} is not supported by this server yet.",
                    Operation::$op.name()
                )))
            }
        }
    )*};
}

unsupported! {
    ConnectCustomKeyStoreRequest => ConnectCustomKeyStore, AccountTarget, ConnectCustomKeyStoreResponse;
    CreateCustomKeyStoreRequest => CreateCustomKeyStore, AccountTarget, CreateCustomKeyStoreResponse;
    DeleteCustomKeyStoreRequest => DeleteCustomKeyStore, AccountTarget, DeleteCustomKeyStoreResponse;
    DescribeCustomKeyStoresRequest => DescribeCustomKeyStores, AccountTarget, DescribeCustomKeyStoresResponse;
    DisconnectCustomKeyStoreRequest => DisconnectCustomKeyStore, AccountTarget, DisconnectCustomKeyStoreResponse;
    UpdateCustomKeyStoreRequest => UpdateCustomKeyStore, AccountTarget, UpdateCustomKeyStoreResponse;
}
