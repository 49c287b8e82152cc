//! Counted-but-allowed outcomes (design, "Counted but allowed (at-least-once)"): duplicates,
//! redeliveries and why, out-of-order deliveries, archives and why, deliveries beyond the limit across
//! failover. A named counter each, in name order.

use std::collections::BTreeMap;

use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::checker::partition_event;

/// Named counters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metrics {
    counters: BTreeMap<String, u64>,
}

impl Metrics {
    /// Adds `by` to the counter `name`.
    pub fn add(&mut self, name: &str, by: u64) {
        if by > 0 {
            *self.counters.entry(name.to_string()).or_insert(0) += by;
        }
    }

    /// The counter `name` (0 when never counted).
    pub fn get(&self, name: &str) -> u64 {
        self.counters.get(name).copied().unwrap_or(0)
    }

    /// Every non-zero counter, in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u64)> {
        self.counters
            .iter()
            .map(|(name, count)| (name.as_str(), *count))
    }
}

/// The snake_case name of a transition cause, for counter names.
pub(crate) fn cause_name(cause: &TransitionCause) -> &'static str {
    match cause {
        TransitionCause::AbortedTransaction => "aborted_transaction",
        TransitionCause::Acknowledge { .. } => "acknowledge",
        TransitionCause::Compaction => "compaction",
        TransitionCause::DeadLetterCompleted => "dead_letter_completed",
        TransitionCause::LogStartOffsetMove => "log_start_offset_move",
        TransitionCause::LockExpiry => "lock_expiry",
        TransitionCause::Rollback => "rollback",
        TransitionCause::SessionRelease => "session_release",
    }
}

/// Counts what the trace shows: redeliveries (by the cause that made the record available again),
/// archives by cause, and, from the consumers, duplicate and out-of-order deliveries.
#[derive(Debug, Default)]
pub(crate) struct MetricsObserver {
    /// Why each (partition, offset) last became AVAILABLE.
    available_cause: BTreeMap<(String, u128, i32, i64), &'static str>,
    /// How often any application got each (partition, offset).
    delivered: BTreeMap<(String, u128, i32, i64), u64>,
    /// The last offset each member's application got, per partition.
    last_delivered: BTreeMap<(String, String, u128, i32), i64>,
}

impl MetricsObserver {
    pub(crate) fn observe(&mut self, record: &TraceRecord, metrics: &mut Metrics) {
        if let Some((key, _, event)) = partition_event(record) {
            let at = |offset: i64| (key.group_id.clone(), key.topic_id.0, key.partition, offset);
            match event {
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    to,
                    cause,
                    ..
                } => {
                    let count = (last_offset - first_offset + 1).max(0) as u64;
                    if *to == RecordState::Archived {
                        metrics.add(&format!("archived.{}", cause_name(cause)), count);
                    }
                    if *to == RecordState::Available {
                        for offset in *first_offset..=*last_offset {
                            self.available_cause.insert(at(offset), cause_name(cause));
                        }
                    }
                }
                PartitionEvent::Acquired {
                    first_offset,
                    last_offset,
                    ..
                } => {
                    for offset in *first_offset..=*last_offset {
                        if let Some(cause) = self.available_cause.remove(&at(offset)) {
                            metrics.add(&format!("redelivered.{cause}"), 1);
                        }
                    }
                }
                _ => {}
            }
        }
        if let TraceEvent::ShareConsumer {
            group_id,
            member,
            event:
                ShareConsumerEvent::RecordDelivered {
                    topic_id,
                    partition,
                    offset,
                    ..
                },
        } = &record.event
        {
            let stream = (group_id.clone(), member.to_string(), topic_id.0, *partition);
            let seen = self
                .delivered
                .entry((group_id.clone(), topic_id.0, *partition, *offset))
                .or_insert(0);
            *seen += 1;
            if *seen > 1 {
                metrics.add("duplicate_deliveries", 1);
            }
            if let Some(last) = self.last_delivered.insert(stream, *offset) {
                if *offset < last {
                    metrics.add("out_of_order_deliveries", 1);
                }
            }
        }
    }
}
