//! AWS-shaped bodies for the refusals hyper makes itself. When a request cannot even be parsed
//! (a control byte in a header, too many or too large headers, not HTTP at all), hyper answers
//! `4xx` with an empty body and closes the connection before any handler runs; AWS clients
//! expect the JSON error shape. This adapter on the connection's write side recognizes exactly
//! those responses — a 4xx status with only `connection: close`, `content-length: 0` and
//! `date`, which no handler of Trent writes (every one sets `content-type` and a request id)
//! — and sends the same status with a JSON body instead.
//!
//! Why by its bytes: hyper 1.x has no hook to give its own refusals a body (the request is
//! hyperium/hyper#3844; the pull request that would add one, #3911, is not merged), and axum
//! never sees a request hyper could not parse. The recognition is exact rather than loose,
//! and `tests/api/limits.rs` (`http_layer_refusals_have_json_bodies`) sends each kind of
//! refusal: an upgrade of hyper that writes them otherwise fails that test, not silently.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

pub(crate) struct ErrorBodies<S> {
    inner: S,
    /// A rewritten response being written, and how much of it is out.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> ErrorBodies<S> {
    pub(crate) fn new(inner: S) -> Self {
        ErrorBodies { inner, pending: None }
    }
}

/// The JSON answer for one of hyper's own bare refusals, or `None` for any other write.
fn rewrite(buf: &[u8]) -> Option<Vec<u8>> {
    // Cheap first: hyper's bare refusals are short 4xx heads; every other write passes.
    if buf.len() > 256 || !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let text = std::str::from_utf8(buf).ok()?;
    let (head, rest) = text.split_once("\r\n\r\n")?;
    if !rest.is_empty() {
        return None;
    }
    let mut lines = head.split("\r\n");
    let status_line = lines.next()?;
    let code: u16 = status_line.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()?;
    if !(400..500).contains(&code) {
        return None;
    }
    let mut names: Vec<String> = Vec::new();
    let mut date = None;
    for l in lines {
        let (n, v) = l.split_once(':')?;
        let n = n.trim().to_ascii_lowercase();
        match (n.as_str(), v.trim()) {
            ("connection", "close") | ("content-length", "0") => {}
            ("date", d) => date = Some(d.to_string()),
            _ => return None,
        }
        names.push(n);
    }
    names.sort();
    if names != ["connection", "content-length", "date"] {
        return None;
    }
    let (kind, message) = match code {
        431 => ("RequestHeaderFieldsTooLargeException", "Request header fields too large"),
        413 => ("RequestEntityTooLargeException", "Request entity too large"),
        408 => ("RequestTimeoutException", "The request did not arrive in time."),
        _ => ("SerializationException", "The HTTP request is malformed."),
    };
    let body = crate::error::envelope_body(kind, message);
    Some(
        format!(
            "{status_line}\r\nconnection: close\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: {}\r\ndate: {}\r\n\r\n{body}",
            body.len(),
            date.unwrap_or_default()
        )
        .into_bytes(),
    )
}

impl<S: AsyncRead + Unpin> AsyncRead for ErrorBodies<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        if this.pending.is_none() {
            match rewrite(buf) {
                Some(replacement) => this.pending = Some((replacement, 0)),
                None => return Pin::new(&mut this.inner).poll_write(cx, buf),
            }
        }
        // Write the replacement out; the caller's bytes count as written once it is.
        while let Some((out, done)) = this.pending.as_mut() {
            match Pin::new(&mut this.inner).poll_write(cx, &out[*done..]) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(n)) => {
                    *done += n;
                    if *done == out.len() {
                        this.pending = None;
                    }
                }
                Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    /// Not vectored, so that hyper hands over each response as one buffer.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn only_hypers_bare_refusals_are_rewritten() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\nconnection: close\r\ncontent-length: 0\r\ndate: Tue, 01 Dec 2026 12:49:12 GMT\r\n\r\n";
        let out = String::from_utf8(rewrite(bare).unwrap()).unwrap();
        assert!(out.starts_with("HTTP/1.1 431 Request Header Fields Too Large\r\n"), "{out}");
        assert!(out.ends_with(r#"{"__type":"RequestHeaderFieldsTooLargeException","message":"Request header fields too large"}"#));
        let body_len = out.split("\r\n\r\n").nth(1).unwrap().len();
        assert!(out.contains(&format!("content-length: {body_len}\r\n")));
        // Trent's own answers are left alone: an empty 200, and any error with a content type.
        let ours = b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\nx-amzn-requestid: x\r\ncontent-length: 0\r\ndate: d\r\n\r\n";
        assert!(rewrite(ours).is_none());
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 0\r\nconnection: close\r\ndate: d\r\n\r\n";
        assert!(rewrite(ours).is_none());
        assert!(rewrite(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\ndate: d\r\n\r\n{}").is_none());
    }
}
