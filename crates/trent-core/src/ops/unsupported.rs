//! Operations of the API that Trent does not implement: custom key stores. They are authorized like every other operation (so a
//! caller learns nothing it may not know) and then answer UnsupportedOperationException.

use crate::gate::AccountTarget;
use crate::{Authorized, Call, Kms, KmsError, Result};
use trent_types::*;

macro_rules! unsupported {
    ($($req:ident => $target:ty;)*) => {$(
        impl Call for $req {
            type Target = $target;

            async fn handle(
                self,
                _kms: &Kms,
                _auth: Authorized<'_, $target>,
            ) -> Result<<Self as Request>::Response> {
                Err(KmsError::new(ErrorCode::UnsupportedOperationException, format!(
                    "{} is not supported by this server yet.",
                    Self::OPERATION.name()
                )))
            }
        }
    )*};
}

unsupported! {
    ConnectCustomKeyStoreRequest => AccountTarget;
    CreateCustomKeyStoreRequest => AccountTarget;
    DeleteCustomKeyStoreRequest => AccountTarget;
    DescribeCustomKeyStoresRequest => AccountTarget;
    DisconnectCustomKeyStoreRequest => AccountTarget;
    UpdateCustomKeyStoreRequest => AccountTarget;
}
