//! DURABLE: a state change acknowledged to a client survives leader and coordinator failover (spec 3.2:
//! the leader answers only after the write committed). Decided from the consumers' successful
//! `acknowledgement_outcome` of ACCEPT, REJECT or GAP (terminal types) for offsets whose acknowledgement
//! the leader applied (its `transition` with that cause and member, not undone by a `rollback`
//! transition before the outcome): no share partition of the newest leader epoch seen (or a newer
//! one) may hand such an offset out again. A zombie leader (an older epoch, still acting) hands out what
//! its stale memory holds; that delivery is a duplicate the zombie cannot make durable, since its next
//! write is fenced, and is left to FENCING as the other checkers leave it. An acknowledgement the leader
//! skipped (spec 2.2: records
//! already below SPSO, archived meanwhile) changed nothing, so its success promises nothing. (That
//! persisted state never regresses needs the share coordinator's events, which the trace does not carry
//! yet.)

use std::collections::{BTreeMap, BTreeSet};

use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::{AcknowledgeType, MemberId};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LeaderEpochs, Violation,
};
use super::metrics::Metrics;

/// (group, topic, partition, offset) of a record.
type RecordKey = (String, u128, i32, i64);

/// The DURABLE checker.
#[derive(Debug, Default)]
pub struct Durable {
    /// (group, topic, partition, offset) → the member told, the type, the outcome event.
    acknowledged: BTreeMap<RecordKey, (MemberId, AcknowledgeType, u64)>,
    /// Acknowledgements a leader applied, waiting for their outcome: (record, member).
    applied: BTreeSet<(RecordKey, MemberId)>,
    /// The newest leader epoch of each share partition (older ones are zombies).
    leader_epochs: LeaderEpochs,
    first: Option<Violation>,
}

impl Checker for Durable {
    fn code(&self) -> &'static str {
        "DURABLE"
    }

    fn observe(&mut self, record: &TraceRecord) {
        if let Some((group, partition)) = super::offset_reset::successful_reset_of(record) {
            // Spec 5.3: an offset reset replaces the group's state; what was acknowledged before may
            // be delivered again.
            self.acknowledged
                .retain(|(g, _, p, _), _| !(*g == group && *p == partition));
            return;
        }
        if let TraceEvent::ShareConsumer {
            group_id,
            member,
            event:
                ShareConsumerEvent::AcknowledgementOutcome {
                    topic_id,
                    partition,
                    acknowledgements,
                    error_code,
                },
        } = &record.event
        {
            for (offset, ack_type) in acknowledgements {
                let key = (group_id.clone(), topic_id.0, *partition, *offset);
                // Every outcome, failed ones too, settles the application it answers: a stale entry
                // would otherwise vouch for a later acknowledgement the leader skipped.
                let applied = self.applied.remove(&(key.clone(), member.clone()));
                if *error_code == 0 && *ack_type != AcknowledgeType::Release && applied {
                    self.acknowledged
                        .insert(key, (member.clone(), *ack_type, record.seq));
                }
            }
            return;
        }
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        let stale = self.leader_epochs.admit(&key, leader_epoch) == EpochAdmission::Stale;
        if let PartitionEvent::Transition {
            first_offset,
            last_offset,
            member: Some(member),
            cause: TransitionCause::Acknowledge { .. },
            ..
        } = event
        {
            for offset in *first_offset..=*last_offset {
                let at = (key.group_id.clone(), key.topic_id.0, key.partition, offset);
                self.applied.insert((at, member.clone()));
            }
            return;
        }
        if let PartitionEvent::Transition {
            first_offset,
            last_offset,
            cause: TransitionCause::Rollback,
            ..
        } = event
        {
            // Spec 3.2: the write failed and the transition was undone; nothing was applied.
            self.applied
                .retain(|((group_id, topic_id, partition, offset), _)| {
                    !(*group_id == key.group_id
                        && *topic_id == key.topic_id.0
                        && *partition == key.partition
                        && (*first_offset..=*last_offset).contains(offset))
                });
            return;
        }
        let PartitionEvent::Acquired {
            member,
            first_offset,
            last_offset,
            ..
        } = event
        else {
            return;
        };
        if stale {
            return;
        }
        for offset in *first_offset..=*last_offset {
            let at = (key.group_id.clone(), key.topic_id.0, key.partition, offset);
            if let Some((told, ack_type, seq)) = self.acknowledged.get(&at) {
                let message = format!(
                    "offset {offset} handed to {member} after {told} was told its {ack_type:?} succeeded"
                );
                let v = violation_at(
                    self.code(),
                    record,
                    Some(offset),
                    Some(member),
                    &[*seq],
                    message,
                );
                keep_first(&mut self.first, v);
                return;
            }
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
