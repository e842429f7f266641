//! Progress of long operator work (`admin create-keys`, `admin backup`, `admin restore`,
//! `bench`) on standard error: a bar on a terminal; elsewhere (a log, CI) a plain line every
//! few seconds and one at the end, so that a pipeline shows the work is alive without
//! filling its log with redraws. Standard output keeps the command's answer alone.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal as _;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How often a plain line is written when standard error is not a terminal.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// What is counted.
#[derive(Clone, Copy)]
pub enum Unit {
    /// Things, named in the plural (`keys`, `requests`).
    Count(&'static str),
    /// Bytes, shown as KiB, MiB, GiB.
    Bytes,
    /// Seconds of a run of fixed length.
    Seconds,
}

pub struct Progress {
    label: String,
    unit: Unit,
    total: u64,
    started: Instant,
    /// On a terminal: the bar.
    bar: Option<ProgressBar>,
    /// Elsewhere: when the last plain line was written.
    last_line: Mutex<Instant>,
}

impl Progress {
    /// Progress of `label` towards `total`.
    pub fn new(label: impl Into<String>, total: u64, unit: Unit) -> Self {
        let label = label.into();
        let bar = std::io::stderr().is_terminal().then(|| {
            let template = match unit {
                Unit::Count(what) => format!(
                    "{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {what} ({{percent}}%), {{rate}} {what}/s, {{eta}} left"
                ),
                Unit::Bytes => "{msg} [{bar:30}] {bytes}/{total_bytes} ({percent}%), {bytes_per_sec}, {eta} left".into(),
                Unit::Seconds => "{msg} [{bar:30}] {pos}/{len} s".into(),
            };
            let style = ProgressStyle::with_template(&template)
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .with_key("rate", |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = w.write_str(&grouped(state.per_sec() as u64));
                })
                .progress_chars("=> ");
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style);
            bar.set_message(label.clone());
            bar
        });
        Progress {
            label,
            unit,
            total,
            started: Instant::now(),
            bar,
            last_line: Mutex::new(Instant::now()),
        }
    }

    /// `done` of the total are done.
    pub fn set(&self, done: u64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done.min(self.total));
            return;
        }
        let Ok(mut last) = self.last_line.lock() else { return };
        if last.elapsed() >= PLAIN_EVERY {
            *last = Instant::now();
            eprintln!("{}", self.line(done));
        }
    }

    /// The work is over: the bar is cleared, or the last plain line written.
    pub fn finish(&self, done: u64) {
        match &self.bar {
            Some(bar) => bar.finish_and_clear(),
            None => eprintln!("{}", self.line(done)),
        }
    }

    /// `trent: creating keys: 120,000 of 1,000,000 keys (12%), 11,000 keys/s, about 80 s left`
    fn line(&self, done: u64) -> String {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        let pct = done.saturating_mul(100).checked_div(self.total).unwrap_or(100);
        let rate = done as f64 / secs;
        let left = if done >= self.total || rate <= 0.0 {
            String::new()
        } else {
            format!(", about {:.0} s left", (self.total - done) as f64 / rate)
        };
        match self.unit {
            Unit::Count(what) => format!(
                "trent: {}: {} of {} {what} ({pct}%), {} {what}/s{left}",
                self.label,
                grouped(done),
                grouped(self.total),
                grouped(rate as u64)
            ),
            Unit::Bytes => format!(
                "trent: {}: {} of {} ({pct}%), {}/s{left}",
                self.label,
                bytes(done),
                bytes(self.total),
                bytes(rate as u64)
            ),
            Unit::Seconds => {
                format!("trent: {}: {done} of {} s ({pct}%)", self.label, self.total)
            }
        }
    }
}

/// 1234567 as `1,234,567`.
fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_say_how_far_how_fast_and_how_long() {
        let p = Progress {
            label: "creating keys".into(),
            unit: Unit::Count("keys"),
            total: 1_000_000,
            started: Instant::now() - Duration::from_secs(10),
            bar: None,
            last_line: Mutex::new(Instant::now()),
        };
        let line = p.line(250_000);
        assert!(
            line.starts_with("trent: creating keys: 250,000 of 1,000,000 keys (25%), 2"),
            "{line}"
        );
        assert!(line.contains(" keys/s, about 3"), "{line}");
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert!(!p.line(1_000_000).contains("left"));
    }
}
