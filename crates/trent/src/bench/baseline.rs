//! The plain-HTTP ceiling: an axum server that answers every POST with a fixed JSON body and
//! does no KMS work, measured with the same load generator so that Trent's figures can be
//! stated as a share of what this machine's HTTP stack can do.

use axum::routing::post;
use axum::Router;
use clap::Args;
use std::net::SocketAddr;

#[derive(Args)]
pub struct BaselineArgs {
    #[arg(long, default_value = "127.0.0.1:4698")]
    listen: SocketAddr,
}

/// Enough for every workload's setup (CreateKey, Encrypt) to find what it reads.
const ANSWER: &str = r#"{"KeyMetadata":{"KeyId":"00000000-0000-0000-0000-000000000000"},"CiphertextBlob":"AAAA","KeyId":"baseline"}"#;

pub fn run(a: BaselineArgs) -> Result<(), String> {
    if !a.listen.ip().is_loopback() {
        return Err("the baseline server listens on loopback only".into());
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?
        .block_on(async move {
            let app = Router::new().route(
                "/",
                post(|_body: axum::body::Bytes| async {
                    ([("content-type", "application/x-amz-json-1.1")], ANSWER)
                }),
            );
            let listener =
                tokio::net::TcpListener::bind(a.listen).await.map_err(|e| e.to_string())?;
            axum::serve(listener, app).await.map_err(|e| e.to_string())
        })
}
