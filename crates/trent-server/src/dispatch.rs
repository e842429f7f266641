//! From an operation and its body to the domain call and back to JSON. Every operation goes
//! through `Kms::call`, which authorizes it from the operation table before its handler
//! runs. The table is generated from the model (`for_each_operation!`) and the match is
//! exhaustive, so an operation whose request type does not implement `Call` does not compile.

use crate::error::Failure;
use trent_core::{Call, Caller, Kms, KmsError};
use trent_types::*;

type Convert<W, T> = fn(&W, &MemberPath<'_>, &mut Errors) -> Option<T>;

/// Decodes the input, runs the call and encodes its output (an empty body for operations
/// whose output is empty, as AWS answers them).
async fn run<W, R>(
    kms: &Kms,
    caller: &Caller,
    body: &[u8],
    convert: Convert<W, R>,
) -> Result<Vec<u8>, Failure>
where
    W: serde::de::DeserializeOwned + Default,
    R: Call,
{
    let req = decode::<W, R>(body, convert)?;
    let out = kms.call(caller, req).await?;
    let json = serde_json::to_vec(&out)
        .map_err(|e| Failure::Kms(KmsError::Internal(format!("encoding the response: {e}"))))?;
    Ok(if json == b"null" { Vec::new() } else { json })
}

macro_rules! dispatch_table {
    ($($op:ident => $req:ident),* $(,)?) => {
        pub(crate) async fn dispatch(
            kms: &Kms,
            caller: &Caller,
            op: Operation,
            body: &[u8],
        ) -> Result<Vec<u8>, Failure> {
            match op {
                $(Operation::$op => {
                    // The request type must be the operation's own.
                    const { assert!(matches!(<$req as Call>::OPERATION, Operation::$op)) };
                    run(kms, caller, body, $req::from_wire).await
                })*
            }
        }
    };
}

// Every operation of the model, with its request type.
trent_types::for_each_operation!(dispatch_table);
