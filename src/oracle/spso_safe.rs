//! SPSO-SAFE: within one leader epoch SPSO never moves backwards, and an `advance` (spec 1.6) passes only
//! records whose last known state is terminal. Decided from `start_offset_moved` and the states
//! `acquired`/`transition` left each offset in. Log-start moves may pass non-terminal records (spec 6);
//! offsets the trace never showed are not judged. That the passed terminal states were also durable needs
//! the write that carried each transition, which the events do not name (see the report).

use sharesim_sim::share::partition::{PartitionEvent, StartOffsetMoveCause};
use sharesim_sim::trace::TraceRecord;

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LastStates, LeaderEpochs,
    Violation,
};
use super::metrics::Metrics;

const CODE: &str = "SPSO-SAFE";

/// The SPSO-SAFE checker.
#[derive(Debug, Default)]
pub struct SpsoSafe {
    leader_epochs: LeaderEpochs,
    /// The last state each offset was seen in, and the event.
    states: LastStates,
    first: Option<Violation>,
}

impl Checker for SpsoSafe {
    fn code(&self) -> &'static str {
        "SPSO-SAFE"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        match self.leader_epochs.admit(&key, leader_epoch) {
            EpochAdmission::Stale => return,
            EpochAdmission::New => self.states.forget_partition(&key),
            EpochAdmission::Current => {}
        }
        self.states.observe(&key, event, record.seq);
        let PartitionEvent::StartOffsetMoved { from, to, cause } = event else {
            return;
        };
        if to < from && *cause != StartOffsetMoveCause::Initialization {
            let message = format!("SPSO moved backwards from {from} to {to} ({cause:?})");
            keep_first(
                &mut self.first,
                violation_at(CODE, record, None, None, &[], message),
            );
        }
        if *cause != StartOffsetMoveCause::Advance {
            return;
        }
        if let Some((offset, state, seq)) = self.states.first_non_terminal(&key, *from, *to) {
            let message = format!(
                "SPSO advanced from {from} to {to} past offset {offset} in state {state:?}"
            );
            let v = violation_at(CODE, record, Some(offset), None, &[seq], message);
            keep_first(&mut self.first, v);
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
