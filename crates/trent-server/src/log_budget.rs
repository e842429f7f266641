//! A budget for the log lines clients can cause: each refused request is logged, but a flood of
//! them may not fill the disk. A token bucket allows a burst and then a steady rate; lines over
//! budget are counted, and the next line that is written says how many were left out.

use std::sync::Mutex;
use std::time::Instant;

/// Lines per second allowed in the long run, and the burst allowed at once.
const RATE: f64 = 20.0;
const BURST: f64 = 200.0;

pub(crate) struct LogBudget(Mutex<State>);

struct State {
    tokens: f64,
    last: Instant,
    suppressed: u64,
}

impl LogBudget {
    pub(crate) fn new() -> Self {
        LogBudget(Mutex::new(State { tokens: BURST, last: Instant::now(), suppressed: 0 }))
    }

    /// `Some(n)` when a line may be written (`n` lines were left out since the last one),
    /// `None` when this one is over budget.
    pub(crate) fn take(&self) -> Option<u64> {
        let Ok(mut s) = self.0.lock() else { return None };
        let now = Instant::now();
        s.tokens = (s.tokens + now.duration_since(s.last).as_secs_f64() * RATE).min(BURST);
        s.last = now;
        if s.tokens >= 1.0 {
            s.tokens -= 1.0;
            Some(std::mem::take(&mut s.suppressed))
        } else {
            s.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_to_the_burst_and_then_counted() {
        let b = LogBudget::new();
        let written = (0..10_000).filter(|_| b.take().is_some()).count();
        assert!((200..=205).contains(&written), "{written}");
        std::thread::sleep(std::time::Duration::from_millis(120));
        let next = b.take().expect("the budget refills");
        assert!(next >= 9_000, "{next} left out");
    }
}
