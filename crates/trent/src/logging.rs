//! The log of `trent serve`: text lines (ANSI colour only when standard error is a terminal)
//! or JSON lines (`--log-format json`). Whatever a client sends may reach a log field (a key
//! id in a refusal, say); every control character of every field is escaped, so no request can
//! forge a line, end one early or send escape sequences to an operator's terminal.

use anyhow::Context as _;

use clap::ValueEnum;
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::IsTerminal;
use tracing_subscriber::field::MakeExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum LogFormat {
    /// `time LEVEL message field=value ...`
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// `s` with every control character (C0, DEL, C1) written as an escape.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// A writer for JSON lines: serde_json escapes C0 controls itself, but not DEL and C1 (which
/// some terminals obey); those are escaped here, the line's own newline kept.
struct JsonLines;

struct EscapingWriter(std::io::Stderr);

impl std::io::Write for EscapingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        let (body, newline) = match text.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (text.as_ref(), ""),
        };
        let mut out = String::with_capacity(body.len() + 1);
        for c in body.chars() {
            if c.is_control() {
                let _ = write!(out, "\\u{:04x}", c as u32);
            } else {
                out.push(c);
            }
        }
        out.push_str(newline);
        self.0.write_all(out.as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for JsonLines {
    type Writer = EscapingWriter;
    fn make_writer(&'a self) -> EscapingWriter {
        EscapingWriter(std::io::stderr())
    }
}

/// A panic is logged as one ERROR line with its location only: its message can quote request
/// data (a slice error prints the string it sliced), which may be plaintext or a forged line.
fn log_panics() {
    std::panic::set_hook(Box::new(|info| {
        let at = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
        tracing::error!(at = %at, "a task panicked (message withheld; it may quote request data)");
    }));
}

/// Installs the global subscriber and the panic hook.
pub fn init(filter: &str, format: LogFormat) -> anyhow::Result<()> {
    log_panics();
    if matches!(filter, "json" | "text") {
        return Err(anyhow::anyhow!(
            "--log takes a filter such as `info`; for the format use --log-format {filter}"
        ));
    }
    let filter = tracing_subscriber::EnvFilter::try_new(filter).context("bad log filter")?;
    match format {
        LogFormat::Text => {
            let fields = tracing_subscriber::fmt::format::debug_fn(|w, field, value| {
                let text = format!("{value:?}");
                let text = escape_control(&text);
                if field.name() == "message" {
                    w.write_str(&text)
                } else {
                    write!(w, "{}={}", field.name(), text)
                }
            })
            .delimited(" ");
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_target(false)
                .with_ansi(std::io::stderr().is_terminal())
                .fmt_fields(fields)
                .init();
        }
        LogFormat::Json => {
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_target(false)
                .with_ansi(false)
                .json()
                .with_writer(JsonLines)
                .init();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::escape_control;

    #[test]
    fn control_characters_cannot_end_or_colour_a_line() {
        let forged = "k\n2026-12-01T00:00:00Z WARN admin: root key exported\u{1b}[31m\0\u{9b}";
        let e = escape_control(forged);
        assert!(!e.chars().any(char::is_control), "{e}");
        assert_eq!(
            e,
            "k\\n2026-12-01T00:00:00Z WARN admin: root key exported\\u{1b}[31m\\u{0}\\u{9b}"
        );
        assert!(matches!(escape_control("plain"), std::borrow::Cow::Borrowed(_)));
    }
}
