//! Per-record histories from the trace: the state segments the swimlanes draw, and the one-record
//! timeline `replay --offset` prints (every acquisition with owner and lock deadline, every ack, every
//! transition with its cause, every delivery to an application and every outcome).

use std::collections::BTreeMap;

use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::svg::Segment;

/// The upper-case name of a record state.
pub fn state_name(state: RecordState) -> &'static str {
    match state {
        RecordState::Available => "AVAILABLE",
        RecordState::Acquired => "ACQUIRED",
        RecordState::Acknowledged => "ACKNOWLEDGED",
        RecordState::Archiving => "ARCHIVING",
        RecordState::Archived => "ARCHIVED",
    }
}

/// A share partition: (group, topic id, partition).
pub type PartitionKey = (String, u128, i32);

/// The share partitions of a trace, in first-seen order.
pub fn partitions_of(records: &[TraceRecord]) -> Vec<PartitionKey> {
    let mut seen = Vec::new();
    for record in records {
        if let TraceEvent::SharePartition {
            group_id,
            topic_id,
            partition,
            ..
        } = &record.event
        {
            let key = (group_id.clone(), topic_id.0, *partition);
            if !seen.contains(&key) {
                seen.push(key);
            }
        }
    }
    seen
}

/// State segments per offset of one share partition, up to `end_ms`.
pub fn segments(
    records: &[TraceRecord],
    partition: &PartitionKey,
    end_ms: u64,
) -> BTreeMap<i64, Vec<Segment>> {
    let mut open: BTreeMap<i64, (u64, &'static str)> = BTreeMap::new();
    let mut lanes: BTreeMap<i64, Vec<Segment>> = BTreeMap::new();
    let mut set = |offset: i64, at_ms: u64, state: &'static str| {
        if let Some((from_ms, previous)) = open.insert(offset, (at_ms, state)) {
            lanes.entry(offset).or_default().push(Segment {
                from_ms,
                to_ms: at_ms,
                state: previous,
            });
        } else {
            lanes.entry(offset).or_default();
        }
    };
    for record in records {
        let TraceEvent::SharePartition {
            group_id,
            topic_id,
            partition: index,
            event,
            ..
        } = &record.event
        else {
            continue;
        };
        if (group_id, topic_id.0, *index) != (&partition.0, partition.1, partition.2) {
            continue;
        }
        match event {
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    set(offset, record.at_ms, "ACQUIRED");
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                to,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    set(offset, record.at_ms, state_name(*to));
                }
            }
            _ => {}
        }
    }
    for (offset, (from_ms, state)) in open {
        lanes.entry(offset).or_default().push(Segment {
            from_ms,
            to_ms: end_ms.max(from_ms),
            state,
        });
    }
    lanes
}

/// One line of a record's timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelineEntry {
    /// The trace `seq`.
    pub seq: u64,
    /// Virtual time.
    pub at_ms: u64,
    /// The node that emitted it.
    pub node: String,
    /// What happened to the record.
    pub what: String,
}

fn covers(first: i64, last: i64, offset: i64) -> bool {
    (first..=last).contains(&offset)
}

/// Every event of the trace that concerns `offset` of `topic_id`/`partition` (any group, or only
/// `group`), in trace order.
pub fn record_timeline(
    records: &[TraceRecord],
    group: Option<&str>,
    topic_id: Option<u128>,
    partition: i32,
    offset: i64,
) -> Vec<TimelineEntry> {
    let matches = |g: &str, t: u128, p: i32| {
        group.is_none_or(|wanted| wanted == g)
            && topic_id.is_none_or(|id| id == t)
            && p == partition
    };
    let mut entries = Vec::new();
    for record in records {
        let what = match &record.event {
            TraceEvent::SharePartition {
                group_id,
                topic_id,
                partition,
                leader_epoch,
                event,
            } if matches(group_id, topic_id.0, *partition) => match event {
                PartitionEvent::Acquired {
                    member,
                    first_offset,
                    last_offset,
                    delivery_count,
                    lock_deadline_ms,
                } if covers(*first_offset, *last_offset, offset) => Some(format!(
                    "ACQUIRED by {member} (delivery {delivery_count}, lock until {lock_deadline_ms} ms, \
                     leader epoch {leader_epoch}, group {group_id})"
                )),
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    from,
                    to,
                    delivery_count,
                    limit_reached,
                    member,
                    cause,
                } if covers(*first_offset, *last_offset, offset) => Some(format!(
                    "{} -> {} by {cause:?}{}{} (delivery count {delivery_count})",
                    state_name(*from),
                    state_name(*to),
                    member
                        .as_ref()
                        .map_or(String::new(), |m| format!(" of {m}")),
                    if *limit_reached { ", delivery limit reached" } else { "" },
                )),
                PartitionEvent::LockRenewed {
                    member,
                    first_offset,
                    last_offset,
                    lock_deadline_ms,
                } if covers(*first_offset, *last_offset, offset) => {
                    Some(format!("lock renewed by {member} until {lock_deadline_ms} ms"))
                }
                PartitionEvent::StartOffsetMoved { from, to, cause }
                    if *from <= offset && offset < *to =>
                {
                    Some(format!("SPSO {from} -> {to} passes it ({cause:?})"))
                }
                _ => None,
            },
            TraceEvent::ShareConsumer {
                group_id,
                member,
                event,
            } => match event {
                ShareConsumerEvent::RecordDelivered {
                    topic_id,
                    partition,
                    offset: delivered,
                    delivery_count,
                } if matches(group_id, topic_id.0, *partition) && *delivered == offset => Some(
                    format!("delivered to the application of {member} (delivery count {delivery_count})"),
                ),
                ShareConsumerEvent::AcknowledgementsSent {
                    topic_id,
                    partition,
                    acknowledgements,
                } if matches(group_id, topic_id.0, *partition) => acknowledgements
                    .iter()
                    .find(|(o, _)| *o == offset)
                    .map(|(_, ack_type)| format!("{member} sends {ack_type:?}")),
                ShareConsumerEvent::AcknowledgementOutcome {
                    topic_id,
                    partition,
                    acknowledgements,
                    error_code,
                } if matches(group_id, topic_id.0, *partition) => acknowledgements
                    .iter()
                    .find(|(o, _)| *o == offset)
                    .map(|(_, ack_type)| match error_code {
                        0 => format!("{member}'s {ack_type:?} succeeded"),
                        code => format!("{member}'s {ack_type:?} failed with error code {code}"),
                    }),
                ShareConsumerEvent::AcknowledgementsFailedUnsent {
                    topic_id,
                    partition,
                    acknowledgements,
                    error_code,
                } if matches(group_id, topic_id.0, *partition) => acknowledgements
                    .iter()
                    .find(|(o, _)| *o == offset)
                    .map(|(_, ack_type)| {
                        format!("{member}'s {ack_type:?} failed unsent with error code {error_code}")
                    }),
                _ => None,
            },
            TraceEvent::Fault { lever, detail } => Some(format!("fault {lever}: {detail}")),
            _ => None,
        };
        if let Some(what) = what {
            entries.push(TimelineEntry {
                seq: record.seq,
                at_ms: record.at_ms,
                node: record.node.clone(),
                what,
            });
        }
    }
    entries
}
