//! The run's metrics, by the names expectations use (`crate::scenario::expectations::METRICS`): counts
//! from the trace (deliveries, acknowledgements, archives, lock expiries, ...), the oracle's
//! counted-but-allowed outcomes (duplicates, redeliveries, out-of-order), and end-to-end latency from
//! each record's production (a run fact) to its terminal state.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::{AcknowledgeType, RecordState};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::backend::RunFacts;
use crate::oracle::Metrics;

/// Identifies one record of one share group: (group, topic id, partition, offset).
pub type RecordKey = (String, u128, i32, i64);

/// Named metric values, in name order.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunMetrics(pub BTreeMap<String, f64>);

impl RunMetrics {
    /// The value of `name`, if measured.
    pub fn get(&self, name: &str) -> Option<f64> {
        self.0.get(name).copied()
    }

    pub(crate) fn set(&mut self, name: &str, value: f64) {
        self.0.insert(name.to_string(), value);
    }
}

/// The last known state of each record, and when it first became terminal.
#[derive(Debug, Default)]
pub struct RecordStates {
    /// Last state per record.
    pub states: BTreeMap<RecordKey, RecordState>,
    /// First time each record became ACKNOWLEDGED or ARCHIVED (and stayed so).
    pub terminal_at_ms: BTreeMap<RecordKey, u64>,
    /// Highest delivery count seen per record.
    pub delivery_counts: BTreeMap<RecordKey, u16>,
}

impl RecordStates {
    /// Replays the share-partition events of a trace.
    pub fn of(records: &[TraceRecord]) -> RecordStates {
        let mut states = RecordStates::default();
        let mut epochs: BTreeMap<(String, u128, i32), i32> = BTreeMap::new();
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
            let partition_key = (group_id.clone(), topic_id.0, *partition);
            let newest = epochs.entry(partition_key).or_insert(*leader_epoch);
            if *leader_epoch < *newest {
                continue;
            }
            if *leader_epoch > *newest {
                *newest = *leader_epoch;
                // A new leader restores persisted state: ACQUIRED is never persisted (spec 3.5).
                for (key, state) in states.states.iter_mut() {
                    if key.0 == *group_id
                        && key.1 == topic_id.0
                        && key.2 == *partition
                        && *state == RecordState::Acquired
                    {
                        *state = RecordState::Available;
                    }
                }
            }
            let key = |offset: i64| (group_id.clone(), topic_id.0, *partition, offset);
            match event {
                PartitionEvent::Acquired {
                    first_offset,
                    last_offset,
                    delivery_count,
                    ..
                } => {
                    for offset in *first_offset..=*last_offset {
                        states.states.insert(key(offset), RecordState::Acquired);
                        let count = states.delivery_counts.entry(key(offset)).or_insert(0);
                        *count = (*count).max(*delivery_count);
                    }
                }
                PartitionEvent::Transition {
                    first_offset,
                    last_offset,
                    to,
                    ..
                } => {
                    for offset in *first_offset..=*last_offset {
                        states.states.insert(key(offset), *to);
                        if matches!(to, RecordState::Acknowledged | RecordState::Archived) {
                            states
                                .terminal_at_ms
                                .entry(key(offset))
                                .or_insert(record.at_ms);
                        } else {
                            // A rollback undid it: not terminal after all.
                            states.terminal_at_ms.remove(&key(offset));
                        }
                    }
                }
                _ => {}
            }
        }
        states
    }
}

/// The nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[u64], fraction: f64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((fraction * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    Some(sorted[rank - 1])
}

/// End-to-end latencies (production to terminal state), sorted, in ms.
pub fn latencies_ms(states: &RecordStates, facts: &RunFacts) -> Vec<u64> {
    let mut latencies: Vec<u64> = states
        .terminal_at_ms
        .iter()
        .filter_map(|((_, topic_id, partition, offset), at_ms)| {
            let produced = facts.produced_at_ms(*topic_id, *partition, *offset)?;
            Some(at_ms.saturating_sub(produced))
        })
        .collect();
    latencies.sort_unstable();
    latencies
}

/// Every metric of a run.
pub fn run_metrics(records: &[TraceRecord], facts: &RunFacts, oracle: &Metrics) -> RunMetrics {
    let mut metrics = RunMetrics::default();
    let states = RecordStates::of(records);
    let mut deliveries = 0u64;
    let mut consumed = std::collections::BTreeSet::new();
    let (mut released, mut rejected, mut lock_expiries) = (0u64, 0u64, 0u64);
    for record in records {
        match &record.event {
            TraceEvent::ShareConsumer {
                group_id,
                event:
                    ShareConsumerEvent::RecordDelivered {
                        topic_id,
                        partition,
                        offset,
                        ..
                    },
                ..
            } => {
                deliveries += 1;
                consumed.insert((group_id.clone(), topic_id.0, *partition, *offset));
            }
            TraceEvent::SharePartition {
                event:
                    PartitionEvent::Transition {
                        first_offset,
                        last_offset,
                        cause,
                        ..
                    },
                ..
            } => {
                let count = (last_offset - first_offset + 1).max(0) as u64;
                match cause {
                    TransitionCause::Acknowledge {
                        ack_type: AcknowledgeType::Release,
                    } => released += count,
                    TransitionCause::Acknowledge {
                        ack_type: AcknowledgeType::Reject,
                    } => rejected += count,
                    TransitionCause::LockExpiry => lock_expiries += count,
                    _ => {}
                }
            }
            _ => {}
        }
    }
    let final_count = |wanted: RecordState| {
        states
            .states
            .values()
            .filter(|state| **state == wanted)
            .count() as f64
    };
    metrics.set("records_produced", facts.records_produced() as f64);
    metrics.set("records_consumed", consumed.len() as f64);
    metrics.set("deliveries", deliveries as f64);
    metrics.set("acknowledged", final_count(RecordState::Acknowledged));
    metrics.set("archived", final_count(RecordState::Archived));
    metrics.set("released", released as f64);
    metrics.set("rejected", rejected as f64);
    metrics.set("lock_expiries", lock_expiries as f64);
    metrics.set("duplicates", oracle.get("duplicate_deliveries") as f64);
    metrics.set("out_of_order", oracle.get("out_of_order_deliveries") as f64);
    let redeliveries: u64 = oracle
        .iter()
        .filter(|(name, _)| name.starts_with("redelivered."))
        .map(|(_, count)| count)
        .sum();
    metrics.set("redeliveries", redeliveries as f64);
    metrics.set(
        "delivery_count_limit_exceeded",
        oracle.get("deliveries_beyond_limit_across_failover") as f64,
    );
    let max_dc = states.delivery_counts.values().copied().max().unwrap_or(0);
    metrics.set("max_delivery_count", f64::from(max_dc));
    let latencies = latencies_ms(&states, facts);
    if let Some(p50) = percentile(&latencies, 0.50) {
        metrics.set("p50_latency_ms", p50 as f64);
    }
    if let Some(p99) = percentile(&latencies, 0.99) {
        metrics.set("p99_latency_ms", p99 as f64);
    }
    if let Some(max) = latencies.last() {
        metrics.set("max_latency_ms", *max as f64);
    }
    if let (Some(start), Some(drained)) = (facts.liveness_started_ms, facts.drained_at_ms) {
        metrics.set("time_to_drain_ms", drained.saturating_sub(start) as f64);
    }
    for (name, count) in oracle.iter() {
        metrics.set(&format!("oracle.{name}"), count as f64);
    }
    super::classic_metrics::classic_metrics(records, facts, &mut metrics);
    super::transaction_metrics::transaction_metrics(records, &mut metrics);
    super::admin_metrics::admin_metrics(records, &mut metrics);
    metrics
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nearest-rank percentiles.
    #[test]
    fn percentiles_use_nearest_rank() {
        let values: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&values, 0.5), Some(50));
        assert_eq!(percentile(&values, 0.99), Some(99));
        assert_eq!(percentile(&values, 1.0), Some(100));
        assert_eq!(percentile(&[], 0.5), None);
        assert_eq!(percentile(&[7], 0.01), Some(7));
    }
}
