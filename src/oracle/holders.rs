//! Who holds which record's acquisition lock, as the trace shows it (spec 1.2 #1, #5, #7): set by
//! `acquired`, moved by `lock_renewed`, given up by any transition out of ACQUIRED (and restored by a
//! rollback into it), forgotten when a new leader epoch starts (ACQUIRED is never persisted, spec 3.5) or
//! the partition is fenced. Events of older leader epochs (zombie leaders) are left to FENCING.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::{PartitionEvent, PartitionState, TransitionCause};
use sharesim_sim::share::{MemberId, RecordState};
use sharesim_sim::trace::TraceRecord;

use super::checker::{partition_event, EpochAdmission, LeaderEpochs};

/// One holder of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Holder {
    pub(crate) member: MemberId,
    pub(crate) lock_deadline_ms: u64,
    /// The `acquired` event.
    pub(crate) acquired_seq: u64,
}

/// Lock holders per share partition and offset.
#[derive(Debug, Default)]
pub(crate) struct Holders {
    leader_epochs: LeaderEpochs,
    held: BTreeMap<(SharePartitionKey, i64), Holder>,
    /// Holders whose record left ACQUIRED, kept so a rollback can restore them.
    released: BTreeMap<(SharePartitionKey, i64), Holder>,
}

impl Holders {
    /// The record's holder, if any (its lock may have expired).
    pub(crate) fn holder(&self, key: &SharePartitionKey, offset: i64) -> Option<&Holder> {
        self.held.get(&(key.clone(), offset))
    }

    /// Whether `leader_epoch` is older than the newest seen for `key` (a zombie's event).
    pub(crate) fn is_stale(&self, key: &SharePartitionKey, leader_epoch: i32) -> bool {
        self.leader_epochs
            .get(key)
            .is_some_and(|&newest| leader_epoch < newest)
    }

    /// Notes a new leader epoch before the event is judged: holders of older epochs are gone.
    pub(crate) fn begin(&mut self, key: &SharePartitionKey, leader_epoch: i32) {
        if self.leader_epochs.admit(key, leader_epoch) == EpochAdmission::New {
            self.forget(key);
        }
    }

    /// Applies `record` after it was judged.
    pub(crate) fn apply(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        self.begin(&key, leader_epoch);
        if self.is_stale(&key, leader_epoch) {
            return;
        }
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                lock_deadline_ms,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    let holder = Holder {
                        member: member.clone(),
                        lock_deadline_ms: *lock_deadline_ms,
                        acquired_seq: record.seq,
                    };
                    self.held.insert((key.clone(), offset), holder);
                }
            }
            PartitionEvent::LockRenewed {
                first_offset,
                last_offset,
                lock_deadline_ms,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    if let Some(holder) = self.held.get_mut(&(key.clone(), offset)) {
                        holder.lock_deadline_ms = *lock_deadline_ms;
                    }
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                from,
                to,
                cause,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    let at = (key.clone(), offset);
                    if *from == RecordState::Acquired && *to != RecordState::Acquired {
                        if let Some(holder) = self.held.remove(&at) {
                            self.released.insert(at.clone(), holder);
                        }
                    }
                    if *to == RecordState::Acquired && *cause == TransitionCause::Rollback {
                        if let Some(holder) = self.released.remove(&at) {
                            self.held.insert(at, holder);
                        }
                    }
                }
            }
            PartitionEvent::PartitionStateChanged {
                to: PartitionState::Fenced | PartitionState::Failed,
                ..
            } => self.forget(&key),
            _ => {}
        }
    }

    fn forget(&mut self, key: &SharePartitionKey) {
        self.held.retain(|(k, _), _| k != key);
        self.released.retain(|(k, _), _| k != key);
    }
}
