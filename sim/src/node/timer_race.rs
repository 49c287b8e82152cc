//! The broker loop while the `lock_timer_race` lever is pulled: the acquisition-lock timers (and the
//! node's other timers, which fire in the same `handle_timeout`) race the requests handled at the same
//! instant, and the [`LockTimerSwitch`] says who wins. An instant is one reading of the node's clock
//! (engines see whole milliseconds): a timer is *due* at reading `T` when its deadline is at most `T`,
//! and every input read at `T` races it.
//!
//! - Timer first: due timers fire before the first input read at `T` (an ACK arriving exactly at the
//!   lock deadline finds the records already released: `INVALID_RECORD_STATE`).
//! - Handler first: the due timers are held until the clock passes `T`; every input read at `T` is
//!   handled first (the ACK wins). The node sleeps until the reading `T + 1`, then fires them.
//! - Random: drawn once per instant at which timers are due (madsim's seeded RNG, through the switch).
//!
//! Liveness: a timer is held for at most the one instant it became due at. Once the clock reads past
//! the held instant the timers fire before anything else, without a new draw, so a stream of requests
//! cannot starve them; the node never waits on a timer it already fired (it asks `poll_timeout` afresh
//! at every wake) and never drops one (holding only postpones `handle_timeout`).

use std::time::Duration;

use super::broker_node::NodeInput;
use super::NodeClock;
use crate::broker::BrokerCore;
use crate::faults::LockTimerSwitch;

/// What woke the broker loop.
// Returned once per wake and matched at once: boxing the input would allocate on every request.
#[allow(clippy::large_enum_variant)]
pub(super) enum Wake {
    /// An input to handle (the due timers, if the race said so, already fired).
    Input(NodeInput),
    /// The earliest deadline passed with no input first: fire the timers.
    TimersDue,
    /// Timers fired or a held instant ended: look again.
    Again,
    /// The node's inputs closed.
    Closed,
}

/// The race's memory: the instant whose inputs go before the held timers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct TimerRace {
    held_at_ms: Option<u64>,
}

impl TimerRace {
    /// Timers are due at reading `now_ms`: whether they fire now (`true`) or wait for the inputs of
    /// this instant (`false`). `draw` asks the switch (`Some(true)` timer first); it is called at most
    /// once per instant.
    pub(super) fn timers_first(
        &mut self,
        now_ms: u64,
        draw: impl FnOnce() -> Option<bool>,
    ) -> bool {
        match self.held_at_ms {
            // Already decided for this instant: its handlers go first.
            Some(held_ms) if held_ms >= now_ms => false,
            // The held instant is over: the timers are late, they go before anything newer.
            Some(_) => {
                self.held_at_ms = None;
                true
            }
            None => {
                if draw() == Some(false) {
                    self.held_at_ms = Some(now_ms);
                    false
                } else {
                    true
                }
            }
        }
    }

    /// No timer is due: nothing is held.
    pub(super) fn nothing_due(&mut self) {
        self.held_at_ms = None;
    }

    /// The loop's next wake while the lever is pulled (see the module docs).
    pub(super) async fn next_wake(
        &mut self,
        core: &mut BrokerCore,
        clock: &NodeClock,
        switch: &LockTimerSwitch,
        inputs: &async_channel::Receiver<NodeInput>,
    ) -> Wake {
        let now_ms = clock.now_ms();
        let deadline_ms = core.poll_timeout();
        let due = deadline_ms.is_some_and(|at| at <= now_ms);
        if !due {
            self.nothing_due();
        } else if self.timers_first(now_ms, || switch.timer_first()) {
            core.handle_timeout(now_ms);
            return Wake::Again;
        }
        // Held timers wait out their instant (the reading `now + 1` comes strictly later: no busy
        // loop); otherwise wait for the earliest deadline.
        let wake_at_ms = if due { Some(now_ms + 1) } else { deadline_ms };
        let received = match wake_at_ms {
            Some(at_ms) => {
                let wait = Duration::from_millis(clock.until_ms(at_ms));
                match madsim::time::timeout(wait, inputs.recv()).await {
                    Ok(received) => received,
                    Err(_) => return Wake::Again,
                }
            }
            None => inputs.recv().await,
        };
        let Ok(input) = received else {
            return Wake::Closed;
        };
        let now_ms = clock.now_ms();
        if core.poll_timeout().is_some_and(|at| at <= now_ms)
            && self.timers_first(now_ms, || switch.timer_first())
        {
            core.handle_timeout(now_ms);
        }
        Wake::Input(input)
    }
}

#[cfg(test)]
mod tests {
    use super::TimerRace;

    /// Spec 1.4 (lock_timer_race lever): handler first holds the timers for the inputs of the instant
    /// they became due at, and for that instant only; the switch is asked once per instant.
    #[test]
    fn handler_first_holds_one_instant_then_the_timers_fire_without_a_new_draw() {
        let mut race = TimerRace::default();
        let draws = std::cell::Cell::new(0);
        let draw = |answer| {
            draws.set(draws.get() + 1);
            Some(answer)
        };
        assert!(!race.timers_first(100, || draw(false)), "held at 100");
        assert!(!race.timers_first(100, || draw(true)), "still 100: decided");
        assert!(race.timers_first(101, || draw(false)), "late: they fire");
        assert_eq!(draws.get(), 1);
        assert!(
            !race.timers_first(101, || draw(false)),
            "a new due timer: a new draw"
        );
        assert_eq!(draws.get(), 2);
    }

    /// Spec 1.4 (lock_timer_race lever): timer first fires the due timers before the instant's inputs;
    /// with no order set (`None`) the timers fire too (the caller only races while the lever is pulled).
    #[test]
    fn timer_first_and_no_answer_fire_at_once() {
        let mut race = TimerRace::default();
        assert!(race.timers_first(5, || Some(true)));
        assert!(race.timers_first(5, || None));
        assert_eq!(race, TimerRace::default());
    }

    /// A held instant whose timers stopped being due (an ACK cancelled the lock) is forgotten, so the
    /// next due instant is drawn afresh.
    #[test]
    fn nothing_due_forgets_the_held_instant() {
        let mut race = TimerRace::default();
        assert!(!race.timers_first(7, || Some(false)));
        race.nothing_due();
        let mut drawn = false;
        assert!(race.timers_first(9, || {
            drawn = true;
            Some(true)
        }));
        assert!(drawn);
    }
}
