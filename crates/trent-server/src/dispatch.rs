//! From an operation and its body to the domain call and back to JSON. Every operation goes
//! through `Kms::call`, which authorizes it from the operation table before its handler
//! runs. The table is generated from the model (`for_each_operation!`) and the match is
//! exhaustive, so an operation whose request type does not implement `Call` does not compile.
//! Each call also yields what its audit record shows of it (`Dispatched`).

use crate::error::Failure;
use serde_json::Value;
use trent_core::audit::{recorded, Recorded};
use trent_core::{Call, Caller, Kms, KmsError};
use trent_types::trail::Trail;
use trent_types::*;

type Convert<W, T> = fn(W, &MemberPath<'_>, &mut Errors) -> Option<T>;

/// The answer to one call, and what CloudTrail shows of it.
pub(crate) struct Dispatched {
    pub body: Result<Vec<u8>, Failure>,
    pub request_parameters: Value,
    pub response_elements: Value,
    pub recorded: Recorded,
}

impl Dispatched {
    pub(crate) fn refused(f: Failure) -> Self {
        Dispatched {
            body: Err(f),
            request_parameters: Value::Null,
            response_elements: Value::Null,
            recorded: Recorded::default(),
        }
    }
}

/// CloudTrail's `responseElements`: nothing for calls that only read (AWS logs `null` for
/// them, cryptographic operations included); otherwise the output's view, with the ARN of
/// the key acted on in `keyId` ("CloudTrail log entries for this operation recorded on or
/// after December 2022 include the key ARN of the affected KMS key in the
/// responseElements.keyId value", AWS KMS developer guide, e.g. the CreateAlias entry).
fn response_elements(op: Operation, output: &impl Trail, recorded: &Recorded) -> Value {
    let spec = op.spec();
    if spec.read_only {
        return Value::Null;
    }
    let mut m = match output.trail() {
        Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    if spec.resources.names_a_key() {
        if let Some(arn) = recorded.resources.iter().find(|a| !a.contains(":alias/")) {
            m.insert("keyId".into(), Value::from(arn.as_str()));
        }
    }
    if m.is_empty() {
        Value::Null
    } else {
        Value::Object(m)
    }
}

/// Decodes the input, runs the call and encodes its output (an empty body for operations
/// whose output is empty, as AWS answers them).
async fn run<W, R>(kms: &Kms, caller: &Caller, body: &[u8], convert: Convert<W, R>) -> Dispatched
where
    W: serde::de::DeserializeOwned + Default,
    R: Call,
{
    let req = match decode::<W, R>(body, convert) {
        Ok(req) => req,
        Err(e) => return Dispatched::refused(e.into()),
    };
    let request_parameters = req.request_parameters();
    let (out, recorded) = recorded(kms.call(caller, req)).await;
    let out = match out {
        Ok(out) => out,
        Err(e) => {
            return Dispatched {
                body: Err(e.into()),
                request_parameters,
                response_elements: Value::Null,
                recorded,
            }
        }
    };
    let response_elements = response_elements(R::OPERATION, &out, &recorded);
    let body = trent_types::encode(&out)
        .map_err(|e| Failure::Kms(KmsError::from(trent_core::Fault::from(e))));
    Dispatched { body, request_parameters, response_elements, recorded }
}

macro_rules! dispatch_table {
    ($($op:ident => $req:ident),* $(,)?) => {
        pub(crate) async fn dispatch(
            kms: &Kms,
            caller: &Caller,
            op: Operation,
            body: &[u8],
        ) -> Dispatched {
            match op {
                $(Operation::$op => {
                    // The request type must be the operation's own.
                    const { assert!(matches!(<$req as trent_types::Request>::OPERATION, Operation::$op)) };
                    // Boxed: unboxed, this future would be as large as the largest operation's
                    // state, and the task that runs it is copied whole when it is spawned,
                    // polled and read (8% of an Encrypt's CPU in memcpy, by perf).
                    Box::pin(run(kms, caller, body, $req::from_wire)).await
                })*
            }
        }
    };
}

// Every operation of the model, with its request type.
trent_types::for_each_operation!(dispatch_table);
