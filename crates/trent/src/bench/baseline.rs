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
    /// Pad the answer to this many bytes (the size of the Trent response it stands for), so
    /// that the ceiling writes what Trent writes.
    #[arg(long)]
    answer_bytes: Option<usize>,
}

/// `ANSWER`, its `CiphertextBlob` padded so that the whole is `size` bytes (or as small as
/// it gets).
fn answer(size: Option<usize>) -> String {
    let Some(size) = size else { return ANSWER.to_string() };
    let pad = size.saturating_sub(ANSWER.len());
    ANSWER.replace(
        r#""CiphertextBlob":"AAAA""#,
        &format!(r#""CiphertextBlob":"AAAA{}""#, "A".repeat(pad)),
    )
}

/// Enough for every workload's setup (CreateKey, Encrypt) to find what it reads.
const ANSWER: &str = r#"{"KeyMetadata":{"KeyId":"00000000-0000-0000-0000-000000000000"},"CiphertextBlob":"AAAA","KeyId":"baseline"}"#;

pub fn run(a: BaselineArgs) -> anyhow::Result<()> {
    if !a.listen.ip().is_loopback() {
        return Err(anyhow::anyhow!("the baseline server listens on loopback only"));
    }
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(async move {
        let body = axum::body::Bytes::from(answer(a.answer_bytes));
        let app = Router::new().route(
            "/",
            post(move |_body: axum::body::Bytes| async move {
                ([("content-type", "application/x-amz-json-1.1")], body)
            }),
        );
        let listener = tokio::net::TcpListener::bind(a.listen).await?;
        Ok(axum::serve(listener, app).await?)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_answer_is_padded_to_the_size_asked_and_stays_json() {
        let a = super::answer(Some(1500));
        assert_eq!(a.len(), 1500);
        assert!(serde_json::from_str::<serde_json::Value>(&a).is_ok());
        assert_eq!(super::answer(None), super::ANSWER);
        assert_eq!(super::answer(Some(3)), super::ANSWER);
    }
}
