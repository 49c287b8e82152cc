//! Per-node clocks (design, "The simulated cluster": madsim has one clock; nodes read it through an
//! offset). Every node reads virtual time through its own [`NodeClock`]: an offset (skew) and a drift in
//! parts per million, both changeable while the run goes on (the `clock_skew` fault lever).
//!
//! A node's reading is `true_ms + skew_ms + accumulated drift`, where the drift accumulates from the moment
//! it was set. Readings never go backwards: when a lever moves the clock back (a smaller skew), the clock
//! holds its last reading until true time catches up, as a monotonic clock after an NTP step would. Only
//! integers, no wall clock: the same inputs give the same readings on every run.
//!
//! [`NodeClock`] is the sans-IO value (true time passed in); [`SharedNodeClock`] is the handle a madsim
//! node keeps, reading madsim's virtual time, and shared with the fault scheduler that skews it.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use madsim::time::TimeHandle;

/// Largest drift accepted, in ppm either way (10%: far beyond real quartz, enough for what-ifs).
pub const MAX_DRIFT_PPM: i64 = 100_000;

/// Largest skew accepted, in ms either way (one day).
pub const MAX_SKEW_MS: i64 = 86_400_000;

const PPM: i128 = 1_000_000;

/// A skew or drift out of range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClockError {
    /// `|drift_ppm|` above [`MAX_DRIFT_PPM`].
    DriftOutOfRange {
        /// The drift asked for.
        drift_ppm: i64,
    },
    /// `|skew_ms|` above [`MAX_SKEW_MS`].
    SkewOutOfRange {
        /// The skew asked for.
        skew_ms: i64,
    },
}

impl fmt::Display for ClockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClockError::DriftOutOfRange { drift_ppm } => write!(
                f,
                "clock drift {drift_ppm} ppm is out of range (at most {MAX_DRIFT_PPM} either way)"
            ),
            ClockError::SkewOutOfRange { skew_ms } => write!(
                f,
                "clock skew {skew_ms} ms is out of range (at most {MAX_SKEW_MS} either way)"
            ),
        }
    }
}

impl std::error::Error for ClockError {}

/// One node's view of virtual time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeClock {
    skew_ms: i64,
    drift_ppm: i64,
    /// Drift accumulated before `drift_since_true_ms`, in µs (kept fine so many changes do not round away).
    drift_base_us: i128,
    /// True time at which the current drift began.
    drift_since_true_ms: u64,
    /// The last reading handed out (readings never go below it).
    last_reading_ms: u64,
}

impl Default for NodeClock {
    fn default() -> Self {
        NodeClock::perfect()
    }
}

impl NodeClock {
    /// A clock that reads true virtual time.
    pub fn perfect() -> NodeClock {
        NodeClock {
            skew_ms: 0,
            drift_ppm: 0,
            drift_base_us: 0,
            drift_since_true_ms: 0,
            last_reading_ms: 0,
        }
    }

    /// A clock with `skew_ms` and `drift_ppm` from true time 0.
    pub fn new(skew_ms: i64, drift_ppm: i64) -> Result<NodeClock, ClockError> {
        check(skew_ms, drift_ppm)?;
        Ok(NodeClock {
            skew_ms,
            drift_ppm,
            ..NodeClock::perfect()
        })
    }

    /// The current skew, in ms.
    pub fn skew_ms(&self) -> i64 {
        self.skew_ms
    }

    /// The current drift, in ppm (positive runs fast).
    pub fn drift_ppm(&self) -> i64 {
        self.drift_ppm
    }

    /// The node's reading at true virtual time `true_ms`; never less than an earlier reading.
    pub fn now_ms(&mut self, true_ms: u64) -> u64 {
        let reading = self.raw_ms(true_ms).max(self.last_reading_ms);
        self.last_reading_ms = reading;
        reading
    }

    /// Sets skew and drift from true time `true_ms` on. The drift accumulated so far stays; the skew
    /// replaces the old one.
    pub fn set(&mut self, true_ms: u64, skew_ms: i64, drift_ppm: i64) -> Result<(), ClockError> {
        check(skew_ms, drift_ppm)?;
        self.drift_base_us = self.drift_us(true_ms);
        self.drift_since_true_ms = true_ms;
        self.skew_ms = skew_ms;
        self.drift_ppm = drift_ppm;
        Ok(())
    }

    /// How much true time must pass from `true_ms` until this clock reads `local_deadline_ms` (0 if it
    /// already does): what a node sleeps for a deadline of its own clock. Rounded up, so the node wakes
    /// at or after its deadline, never before.
    pub fn true_ms_until(&self, true_ms: u64, local_deadline_ms: u64) -> u64 {
        let reading = self.raw_ms(true_ms).max(self.last_reading_ms);
        if local_deadline_ms <= reading {
            return 0;
        }
        // While the clock holds after a step back, raw time must first catch up with the held reading.
        let local_gap_ms = i128::from(local_deadline_ms) - i128::from(self.raw_ms(true_ms));
        let rate = PPM + i128::from(self.drift_ppm);
        let estimate_ms = (local_gap_ms * PPM + rate - 1) / rate;
        let mut gap_ms = u64::try_from(estimate_ms.max(0)).unwrap_or(u64::MAX);
        // The estimate ignores the sub-ms drift already accumulated; settle on the exact first instant.
        // The readings are monotone in true time, so a step or two either way finds it.
        while gap_ms > 0 && self.raw_ms(true_ms.saturating_add(gap_ms - 1)) >= local_deadline_ms {
            gap_ms -= 1;
        }
        while self.raw_ms(true_ms.saturating_add(gap_ms)) < local_deadline_ms && gap_ms < u64::MAX {
            gap_ms += 1;
        }
        gap_ms
    }

    fn drift_us(&self, true_ms: u64) -> i128 {
        let since_ms = i128::from(true_ms.saturating_sub(self.drift_since_true_ms));
        // ms × ppm / 1e6 gives ms; × 1000 for µs.
        self.drift_base_us + since_ms * i128::from(self.drift_ppm) / 1_000
    }

    fn raw_ms(&self, true_ms: u64) -> u64 {
        let local_us =
            i128::from(true_ms) * 1_000 + i128::from(self.skew_ms) * 1_000 + self.drift_us(true_ms);
        u64::try_from(local_us.div_euclid(1_000).max(0)).unwrap_or(u64::MAX)
    }
}

fn check(skew_ms: i64, drift_ppm: i64) -> Result<(), ClockError> {
    if drift_ppm.abs() > MAX_DRIFT_PPM {
        return Err(ClockError::DriftOutOfRange { drift_ppm });
    }
    if skew_ms.abs() > MAX_SKEW_MS {
        return Err(ClockError::SkewOutOfRange { skew_ms });
    }
    Ok(())
}

/// A node's clock as a madsim node keeps it: [`NodeClock`] reading madsim's virtual time; cloned into
/// the fault scheduler, which skews it at run time. The one clock of every node (brokers, controller,
/// clients); `crate::node::NodeClock` is this type.
#[derive(Clone)]
pub struct SharedNodeClock {
    clock: Arc<Mutex<NodeClock>>,
    /// The runtime's time source, looked up once (nodes read the clock on every event).
    time: Option<TimeHandle>,
}

impl fmt::Debug for SharedNodeClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedNodeClock")
            .field("clock", &*self.lock())
            .finish()
    }
}

impl Default for SharedNodeClock {
    fn default() -> Self {
        SharedNodeClock {
            clock: Arc::new(Mutex::new(NodeClock::perfect())),
            time: TimeHandle::try_current(),
        }
    }
}

impl SharedNodeClock {
    /// A clock reading true virtual time (what every node starts with).
    pub fn new() -> SharedNodeClock {
        SharedNodeClock::default()
    }

    /// A clock with a skew and drift from the start.
    pub fn with_setting(skew_ms: i64, drift_ppm: i64) -> Result<SharedNodeClock, ClockError> {
        Ok(SharedNodeClock {
            clock: Arc::new(Mutex::new(NodeClock::new(skew_ms, drift_ppm)?)),
            ..SharedNodeClock::default()
        })
    }

    /// The node's reading now (the one line each node uses instead of madsim's elapsed time).
    pub fn now_ms(&self) -> u64 {
        let true_ms = self.true_now_ms();
        self.lock().now_ms(true_ms)
    }

    /// How much virtual time until this clock reads `local_deadline_ms`, in ms (what a node sleeps
    /// for a deadline of its own clock).
    pub fn until_ms(&self, local_deadline_ms: u64) -> u64 {
        let true_ms = self.true_now_ms();
        self.lock().true_ms_until(true_ms, local_deadline_ms)
    }

    /// Sets skew and drift from now on (the `clock_skew` lever).
    pub fn set(&self, skew_ms: i64, drift_ppm: i64) -> Result<(), ClockError> {
        let true_ms = self.true_now_ms();
        self.lock().set(true_ms, skew_ms, drift_ppm)
    }

    /// The current (skew ms, drift ppm).
    pub fn setting(&self) -> (i64, i64) {
        let clock = self.lock();
        (clock.skew_ms(), clock.drift_ppm())
    }

    fn lock(&self) -> MutexGuard<'_, NodeClock> {
        // A poisoned lock means a test already panicked; the clock value itself is always consistent.
        self.clock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// madsim's true virtual time, in ms since the simulation started: for observations (trace stamps,
    /// latencies), never for the node's own decisions.
    pub fn true_now_ms(&self) -> u64 {
        match &self.time {
            Some(time) => time.elapsed().as_millis() as u64,
            // Made outside a runtime: look the runtime up on every reading.
            None => TimeHandle::try_current()
                .map(|handle| handle.elapsed().as_millis() as u64)
                .unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Design "per-node clocks": a perfect clock reads true time.
    #[test]
    fn perfect_clock_reads_true_time() {
        let mut clock = NodeClock::perfect();
        assert_eq!(clock.now_ms(0), 0);
        assert_eq!(clock.now_ms(12_345), 12_345);
    }

    /// Design "per-node clocks": a skew is an offset; a drift accumulates from when it was set.
    #[test]
    fn skew_and_drift_shift_readings() {
        let mut clock = NodeClock::new(500, 1_000).unwrap(); // +500 ms, +0.1%
        assert_eq!(clock.now_ms(0), 500);
        assert_eq!(clock.now_ms(10_000), 10_000 + 500 + 10);
        let mut slow = NodeClock::new(-200, -50_000).unwrap(); // -200 ms, -5%
        assert_eq!(slow.now_ms(0), 0, "clamped at zero, never negative");
        assert_eq!(slow.now_ms(10_000), 10_000 - 200 - 500);
    }

    /// Design "clock skew" lever: changing the drift keeps what accumulated; changing the skew replaces it.
    #[test]
    fn changes_at_run_time_keep_accumulated_drift() {
        let mut clock = NodeClock::perfect();
        clock.set(0, 0, 10_000).unwrap(); // +1%
        assert_eq!(clock.now_ms(1_000), 1_010);
        clock.set(1_000, 100, 0).unwrap();
        assert_eq!(clock.now_ms(2_000), 2_000 + 10 + 100);
    }

    /// Design "per-node clocks": a step back holds the clock until true time catches up.
    #[test]
    fn step_back_holds_instead_of_going_backwards() {
        let mut clock = NodeClock::new(1_000, 0).unwrap();
        assert_eq!(clock.now_ms(5_000), 6_000);
        clock.set(5_000, 0, 0).unwrap();
        assert_eq!(clock.now_ms(5_500), 6_000, "held");
        assert_eq!(clock.now_ms(6_500), 6_500, "caught up");
    }

    /// Bad input: out-of-range skew or drift is an error, not a panic.
    #[test]
    fn out_of_range_settings_are_errors() {
        assert_eq!(
            NodeClock::new(0, MAX_DRIFT_PPM + 1),
            Err(ClockError::DriftOutOfRange {
                drift_ppm: MAX_DRIFT_PPM + 1
            })
        );
        assert!(NodeClock::new(-MAX_SKEW_MS - 1, 0).is_err());
        let mut clock = NodeClock::perfect();
        assert!(clock.set(10, 0, -MAX_DRIFT_PPM - 1).is_err());
        assert_eq!(
            clock,
            NodeClock::perfect(),
            "a refused change leaves the clock alone"
        );
    }

    /// Sleeping `true_ms_until` a local deadline wakes the node at or just after it.
    #[test]
    fn sleep_until_local_deadline_converts_through_drift() {
        let clock = NodeClock::new(0, 100_000).unwrap(); // runs 10% fast
        assert_eq!(clock.true_ms_until(0, 1_100), 1_000);
        assert_eq!(clock.true_ms_until(0, 0), 0);
        let held = {
            let mut clock = NodeClock::new(1_000, 0).unwrap();
            clock.now_ms(0);
            clock.set(0, 0, 0).unwrap();
            clock
        };
        assert_eq!(held.true_ms_until(0, 1_000), 0, "already read 1000");
        assert_eq!(held.true_ms_until(0, 1_500), 1_500);
    }

    proptest! {
        /// Design "per-node clocks": readings are monotone under any sequence of lever changes, and the
        /// same changes give the same readings (determinism).
        #[test]
        fn readings_are_monotone_and_deterministic(
            steps in prop::collection::vec(
                (0u64..5_000, -5_000i64..5_000, -MAX_DRIFT_PPM..=MAX_DRIFT_PPM, any::<bool>()),
                1..40,
            )
        ) {
            let run = || {
                let mut clock = NodeClock::perfect();
                let mut true_ms = 0;
                let mut readings = Vec::new();
                for &(advance_ms, skew_ms, drift_ppm, change) in &steps {
                    true_ms += advance_ms;
                    if change {
                        clock.set(true_ms, skew_ms, drift_ppm).unwrap();
                    }
                    readings.push(clock.now_ms(true_ms));
                }
                readings
            };
            let readings = run();
            prop_assert!(readings.windows(2).all(|pair| pair[0] <= pair[1]));
            prop_assert_eq!(readings, run());
        }

        /// Sleeping the converted duration reaches the local deadline, and one ms less does not (no
        /// early wake-ups, no oversleeping beyond rounding).
        #[test]
        fn sleep_conversion_reaches_the_deadline(
            skew_ms in -5_000i64..5_000,
            drift_ppm in -MAX_DRIFT_PPM..=MAX_DRIFT_PPM,
            start_ms in 0u64..100_000,
            ahead_ms in 1u64..100_000,
        ) {
            let mut clock = NodeClock::new(skew_ms, drift_ppm).unwrap();
            let now = clock.now_ms(start_ms);
            let deadline = now + ahead_ms;
            let sleep_ms = clock.true_ms_until(start_ms, deadline);
            prop_assert!(clock.clone().now_ms(start_ms + sleep_ms) >= deadline);
            if sleep_ms > 0 {
                prop_assert!(clock.clone().now_ms(start_ms + sleep_ms - 1) < deadline);
            }
        }
    }
}
