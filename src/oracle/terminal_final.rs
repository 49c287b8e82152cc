//! TERMINAL-FINAL: an ACKNOWLEDGED or ARCHIVED record is never deliverable again (spec 1.2, 1.3). Decided
//! per leader epoch from `transition` (into a terminal state marks the record; out of it only a
//! `rollback` of an unpersisted transition may lead) and `acquired` (never of a marked record). A new
//! leader epoch forgets the marks: which terminal states survive failover is DURABLE's question.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::TraceRecord;

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LeaderEpochs, Violation,
};
use super::metrics::Metrics;

fn is_terminal(state: RecordState) -> bool {
    matches!(state, RecordState::Acknowledged | RecordState::Archived)
}

/// The TERMINAL-FINAL checker.
#[derive(Debug, Default)]
pub struct TerminalFinal {
    leader_epochs: LeaderEpochs,
    /// The terminal state of each marked record and the event that made it so.
    terminal: BTreeMap<(SharePartitionKey, i64), (RecordState, u64)>,
    first: Option<Violation>,
}

impl Checker for TerminalFinal {
    fn code(&self) -> &'static str {
        "TERMINAL-FINAL"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        match self.leader_epochs.admit(&key, leader_epoch) {
            EpochAdmission::Stale => return,
            EpochAdmission::New => self.terminal.retain(|(k, _), _| *k != key),
            EpochAdmission::Current => {}
        }
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    if let Some((state, seq)) = self.terminal.get(&(key.clone(), offset)) {
                        let message =
                            format!("offset {offset} handed to {member} after it became {state:?}");
                        let v = violation_at(
                            self.code(),
                            record,
                            Some(offset),
                            Some(member),
                            &[*seq],
                            message,
                        );
                        keep_first(&mut self.first, v);
                        break;
                    }
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                from,
                to,
                member,
                cause,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    let at = (key.clone(), offset);
                    if is_terminal(*to) {
                        self.terminal.insert(at, (*to, record.seq));
                    } else if let Some((state, seq)) = self.terminal.remove(&at) {
                        if *cause != TransitionCause::Rollback {
                            let message = format!(
                                "offset {offset} left {state:?} for {to:?} (from {from:?})"
                            );
                            let v = violation_at(
                                self.code(),
                                record,
                                Some(offset),
                                member.as_ref(),
                                &[seq],
                                message,
                            );
                            keep_first(&mut self.first, v);
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
