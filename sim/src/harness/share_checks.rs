//! Checks over a share-group run's trace records, for tests: who held which record when (the EXCLUSIVE
//! invariant as the share-partition leaders report it), and which offsets the consumers saw accepted.
//! These read the trace, the contract every other checker reads too.

use std::collections::{BTreeMap, BTreeSet};

use crate::share::partition::{PartitionEvent, TransitionCause};
use crate::share::{AcknowledgeType, MemberId, RecordState};
use crate::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

/// A share partition as the trace names it: (group, topic id, partition).
pub type SharePartitionName = (String, u128, i32);

/// Every time a record was acquired while another member's acquisition of it was still live, in one
/// leader epoch (a failover starts over: the new leader never saw the old ACQUIRED state). Empty when
/// the run kept EXCLUSIVE.
pub fn exclusive_holding_violations(records: &[TraceRecord]) -> Vec<String> {
    let mut holders: BTreeMap<(SharePartitionName, i32), BTreeMap<i64, MemberId>> = BTreeMap::new();
    let mut violations = Vec::new();
    for record in records {
        let TraceEvent::SharePartition {
            group_id,
            topic_id,
            partition,
            leader_epoch,
            event,
        } = &record.event
        else {
            continue;
        };
        let key = ((group_id.clone(), topic_id.0, *partition), *leader_epoch);
        let held = holders.entry(key).or_default();
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    if let Some(holder) = held.insert(offset, member.clone()) {
                        violations.push(format!(
                            "seq {}: offset {offset} of partition {partition} acquired by {member:?} \
                             while held by {holder:?}",
                            record.seq
                        ));
                    }
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                from: RecordState::Acquired,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    held.remove(&offset);
                }
            }
            _ => {}
        }
    }
    violations
}

/// The offsets of each partition whose ACCEPT a consumer saw succeed (an acknowledgement outcome with
/// no error), by partition index.
pub fn accepted_offsets(records: &[TraceRecord]) -> BTreeMap<i32, BTreeSet<i64>> {
    let mut accepted: BTreeMap<i32, BTreeSet<i64>> = BTreeMap::new();
    for record in records {
        if let TraceEvent::ShareConsumer {
            event:
                ShareConsumerEvent::AcknowledgementOutcome {
                    partition,
                    acknowledgements,
                    error_code: 0,
                    ..
                },
            ..
        } = &record.event
        {
            let offsets = accepted.entry(*partition).or_default();
            for (offset, kind) in acknowledgements {
                if *kind == AcknowledgeType::Accept {
                    offsets.insert(*offset);
                }
            }
        }
    }
    accepted
}

/// One record state transition of one offset, as a share-partition leader reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OffsetTransition {
    /// Virtual time.
    pub at_ms: u64,
    /// The leader epoch of the engine that made it.
    pub leader_epoch: i32,
    /// Previous state.
    pub from: RecordState,
    /// New state.
    pub to: RecordState,
    /// Delivery count after it.
    pub delivery_count: u16,
    /// The delivery-count limit turned a release into an archive.
    pub limit_reached: bool,
    /// The member whose request caused it.
    pub member: Option<MemberId>,
    /// Why.
    pub cause: TransitionCause,
}

/// Every record state transition of `offset` of partition `partition_index` in the share-partition
/// leaders' events, in trace order.
pub fn transitions_of(
    records: &[TraceRecord],
    partition_index: i32,
    offset: i64,
) -> Vec<OffsetTransition> {
    records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::SharePartition {
                partition,
                leader_epoch,
                event:
                    PartitionEvent::Transition {
                        first_offset,
                        last_offset,
                        from,
                        to,
                        delivery_count,
                        limit_reached,
                        member,
                        cause,
                    },
                ..
            } if *partition == partition_index
                && (*first_offset..=*last_offset).contains(&offset) =>
            {
                Some(OffsetTransition {
                    at_ms: record.at_ms,
                    leader_epoch: *leader_epoch,
                    from: *from,
                    to: *to,
                    delivery_count: *delivery_count,
                    limit_reached: *limit_reached,
                    member: member.clone(),
                    cause: *cause,
                })
            }
            _ => None,
        })
        .collect()
}

/// The latest share-partition start offset (SPSO) any leader of partition `partition_index` reported:
/// every offset below it reached a durable terminal state (SPSO-SAFE).
pub fn share_partition_start_offset(records: &[TraceRecord], partition_index: i32) -> Option<i64> {
    records.iter().rev().find_map(|record| match &record.event {
        TraceEvent::SharePartition {
            partition,
            event: PartitionEvent::StartOffsetMoved { to, .. },
            ..
        } if *partition == partition_index => Some(*to),
        _ => None,
    })
}

/// Offsets of partition `partition_index` that any leader moved to ARCHIVED.
pub fn archived_offsets(records: &[TraceRecord], partition_index: i32) -> BTreeSet<i64> {
    let mut archived = BTreeSet::new();
    for record in records {
        if let TraceEvent::SharePartition {
            partition,
            event:
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    to: RecordState::Archived,
                    ..
                },
            ..
        } = &record.event
        {
            if *partition == partition_index {
                archived.extend(*first_offset..=*last_offset);
            }
        }
    }
    archived
}
