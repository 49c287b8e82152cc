//! The live run's clock: real milliseconds since the server started, the `now_ms` every engine takes.
//! Monotonic (`Instant`), so it never goes backwards, as the engines require.

use std::time::{Duration, Instant};

/// Milliseconds since the live run started.
#[derive(Clone, Copy, Debug)]
pub struct LiveClock {
    started: Instant,
}

impl LiveClock {
    /// A clock reading 0 now.
    pub fn start() -> LiveClock {
        LiveClock {
            started: Instant::now(),
        }
    }

    /// Milliseconds since the start.
    pub fn now_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// How long to wait until `deadline_ms` (zero when it has passed).
    pub fn until(&self, deadline_ms: u64) -> Duration {
        Duration::from_millis(deadline_ms.saturating_sub(self.now_ms()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The clock starts near zero and never goes backwards.
    #[test]
    fn clock_is_monotonic_from_zero() {
        let clock = LiveClock::start();
        let first = clock.now_ms();
        let second = clock.now_ms();
        assert!(second >= first);
        assert_eq!(clock.until(0), Duration::ZERO);
    }
}
