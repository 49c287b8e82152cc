//! FENCING: writes with a stale leader epoch are rejected (spec 2.2, 3.2, 3.4). Decided per share
//! partition from the leaders' own events, two ways:
//! * once a write of leader epoch E committed, no write of an older leader epoch may commit after it;
//! * a write started after a leader of a newer epoch became ACTIVE (its ReadShareGroupState, which fences
//!   every older leader at the share coordinator, had been answered) must not commit: it reached the
//!   coordinator after that read.
//!
//! (State-epoch fencing needs the share coordinator's events; see the report.)

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::{PartitionEvent, PartitionState, WriteId};
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, Violation};
use super::metrics::Metrics;

/// A write started after a newer leader had read the state: that leader's epoch and the two events.
#[derive(Clone, Copy, Debug)]
struct FencedAtStart {
    newer_epoch: i32,
    activated_seq: u64,
    started_seq: u64,
}

/// The FENCING checker.
#[derive(Debug, Default)]
pub struct Fencing {
    /// The newest leader epoch with a committed write, and that event.
    committed: BTreeMap<SharePartitionKey, (i32, u64)>,
    /// The newest leader epoch that became ACTIVE, and that event.
    activated: BTreeMap<SharePartitionKey, (i32, u64)>,
    /// Writes started by an older leader after a newer one became ACTIVE.
    fenced_at_start: BTreeMap<(SharePartitionKey, i32, WriteId), FencedAtStart>,
    first: Option<Violation>,
}

impl Fencing {
    fn commit(
        &mut self,
        record: &TraceRecord,
        key: SharePartitionKey,
        leader_epoch: i32,
        id: WriteId,
    ) {
        if let Some(fenced) = self
            .fenced_at_start
            .remove(&(key.clone(), leader_epoch, id))
        {
            let message = format!(
                "write {} of leader epoch {leader_epoch} committed, sent after the leader of epoch {} \
                 had read the state",
                id.0, fenced.newer_epoch
            );
            let earlier = [fenced.activated_seq, fenced.started_seq];
            keep_first(
                &mut self.first,
                violation_at("FENCING", record, None, None, &earlier, message),
            );
        }
        match self.committed.get(&key) {
            Some(&(newest, seq)) if leader_epoch < newest => {
                let message = format!(
                    "write {} of leader epoch {leader_epoch} committed after one of epoch {newest}",
                    id.0
                );
                keep_first(
                    &mut self.first,
                    violation_at("FENCING", record, None, None, &[seq], message),
                );
            }
            Some(&(newest, _)) if leader_epoch == newest => {}
            _ => {
                self.committed.insert(key, (leader_epoch, record.seq));
            }
        }
    }
}

impl Checker for Fencing {
    fn code(&self) -> &'static str {
        "FENCING"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        match event {
            PartitionEvent::PartitionStateChanged {
                to: PartitionState::Active,
                ..
            } => {
                let newer = self
                    .activated
                    .get(&key)
                    .is_none_or(|&(newest, _)| leader_epoch > newest);
                if newer {
                    self.activated.insert(key, (leader_epoch, record.seq));
                }
            }
            PartitionEvent::WriteStarted { write_id, .. } => {
                if let Some(&(newest, activated_seq)) = self.activated.get(&key) {
                    if leader_epoch < newest {
                        let fenced = FencedAtStart {
                            newer_epoch: newest,
                            activated_seq,
                            started_seq: record.seq,
                        };
                        self.fenced_at_start
                            .insert((key, leader_epoch, *write_id), fenced);
                    }
                }
            }
            PartitionEvent::WriteCommitted { write_id } => {
                self.commit(record, key, leader_epoch, *write_id);
            }
            PartitionEvent::WriteFailed { write_id, .. } => {
                self.fenced_at_start.remove(&(key, leader_epoch, *write_id));
            }
            _ => {}
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
