//! SPSO-SAFE: within one leader epoch SPSO never moves backwards, and an `advance` (spec 1.6) passes only
//! records whose last known state is terminal. Decided from `start_offset_moved` and the states
//! `acquired`/`transition` left each offset in. Log-start moves may pass non-terminal records (spec 6);
//! offsets the trace never showed are not judged. That the passed terminal states were also durable needs
//! the write that carried each transition, which the events do not name (see the report).

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::{PartitionEvent, StartOffsetMoveCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::TraceRecord;

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LeaderEpochs, Violation,
};
use super::metrics::Metrics;

const CODE: &str = "SPSO-SAFE";

/// The SPSO-SAFE checker.
#[derive(Debug, Default)]
pub struct SpsoSafe {
    leader_epochs: LeaderEpochs,
    /// The last state each offset was seen in, and the event.
    states: BTreeMap<(SharePartitionKey, i64), (RecordState, u64)>,
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
            EpochAdmission::New => self.states.retain(|(k, _), _| *k != key),
            EpochAdmission::Current => {}
        }
        match event {
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    self.states
                        .insert((key.clone(), offset), (RecordState::Acquired, record.seq));
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                to,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    self.states.insert((key.clone(), offset), (*to, record.seq));
                }
            }
            PartitionEvent::StartOffsetMoved { from, to, cause } => {
                if to < from && *cause != StartOffsetMoveCause::Initialization {
                    let message = format!("SPSO moved backwards from {from} to {to} ({cause:?})");
                    keep_first(
                        &mut self.first,
                        violation_at(CODE, record, None, None, &[], message),
                    );
                }
                if *cause == StartOffsetMoveCause::Advance && to > from {
                    let passed = self.states.range((key.clone(), *from)..(key.clone(), *to));
                    for ((_, offset), (state, seq)) in passed {
                        if !matches!(state, RecordState::Acknowledged | RecordState::Archived) {
                            let moved = format!("SPSO advanced from {from} to {to}");
                            let message =
                                format!("{moved} past offset {offset} in state {state:?}");
                            let v = violation_at(
                                self.code(),
                                record,
                                Some(*offset),
                                None,
                                &[*seq],
                                message,
                            );
                            keep_first(&mut self.first, v);
                            break;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
