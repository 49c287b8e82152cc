//! SPSO-SAFE: within one leader epoch SPSO never moves backwards, and an `advance` (spec 1.6) passes only
//! records whose last known state is terminal and durable. Decided from `start_offset_moved` and the
//! states `acquired`/`transition` left each offset in. Log-start moves may pass non-terminal records
//! (spec 6); offsets the trace never showed are not judged. Durable: a two-phase transition
//! (acknowledgement, session release) is carried by the `write_started` its handler emits right after it;
//! until that write's `write_committed` (or `write_failed`, with its rollbacks) the offset may not be
//! passed.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::{
    PartitionEvent, StartOffsetMoveCause, TransitionCause, WriteId,
};
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
    /// Offsets whose two-phase transition waits for a write: the write (once started) and the transition.
    pending: BTreeMap<(SharePartitionKey, i64), (Option<WriteId>, u64)>,
    first: Option<Violation>,
}

impl SpsoSafe {
    /// Notes which offsets `event` leaves waiting for a write, and which it settles.
    fn track_writes(&mut self, key: &SharePartitionKey, event: &PartitionEvent, seq: u64) {
        match event {
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                cause,
                ..
            } => {
                let two_phase = matches!(
                    cause,
                    TransitionCause::Acknowledge { .. } | TransitionCause::SessionRelease
                );
                for offset in *first_offset..=*last_offset {
                    let at = (key.clone(), offset);
                    if two_phase {
                        self.pending.insert(at, (None, seq));
                    } else {
                        self.pending.remove(&at);
                    }
                }
            }
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    self.pending.remove(&(key.clone(), offset));
                }
            }
            PartitionEvent::WriteStarted { write_id, .. } => {
                for ((k, _), (write, _)) in self.pending.iter_mut() {
                    if k == key && write.is_none() {
                        *write = Some(*write_id);
                    }
                }
            }
            PartitionEvent::WriteCommitted { write_id }
            | PartitionEvent::WriteFailed { write_id, .. } => {
                self.pending
                    .retain(|(k, _), (write, _)| k != key || *write != Some(*write_id));
            }
            _ => {}
        }
    }

    /// The first offset of `key` in `from..to` whose transition waits for a started write.
    fn first_undurable(
        &self,
        key: &SharePartitionKey,
        from: i64,
        to: i64,
    ) -> Option<(i64, WriteId, u64)> {
        if from >= to {
            return None;
        }
        self.pending
            .range((key.clone(), from)..(key.clone(), to))
            .find_map(|((_, offset), (write, seq))| write.map(|write| (*offset, write, *seq)))
    }
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
            EpochAdmission::New => {
                self.states.forget_partition(&key);
                self.pending.retain(|(k, _), _| *k != key);
            }
            EpochAdmission::Current => {}
        }
        self.states.observe(&key, event, record.seq);
        self.track_writes(&key, event, record.seq);
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
        } else if let Some((offset, write, seq)) = self.first_undurable(&key, *from, *to) {
            let message = format!(
                "SPSO advanced from {from} to {to} past offset {offset}, whose transition waits for \
                 write {}",
                write.0
            );
            let v = violation_at(CODE, record, Some(offset), None, &[seq], message);
            keep_first(&mut self.first, v);
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
