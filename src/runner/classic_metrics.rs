//! The `classic.*` metrics: the classic consumer groups' side of a head-of-line comparison, from their
//! `classic` trace events. A classic record's latency runs from its commit (a run fact) to the end of
//! its first processing by the application (its share counterpart ends at ACKNOWLEDGED, which follows
//! the processing by one acknowledgement round trip). Nothing is set when the run has no classic
//! consumer, so share-only reports are unchanged.

use std::collections::BTreeMap;

use sharesim_sim::trace::{ClassicTraceEvent, TraceEvent, TraceRecord};

use super::backend::RunFacts;
use super::metrics::{percentile, RunMetrics};

/// Sets `classic.records_processed`, `classic.duplicates` (records processed more than once),
/// `classic.p50_latency_ms`, `classic.p99_latency_ms`, `classic.max_latency_ms` and, when every
/// committed record of the consumed partitions was processed, `classic.time_to_drain_ms` (from the
/// liveness phase's start, as `time_to_drain_ms`).
pub fn classic_metrics(records: &[TraceRecord], facts: &RunFacts, metrics: &mut RunMetrics) {
    // (group, topic, partition, offset) → first processing end, and how often processed.
    let mut processed: BTreeMap<(String, String, i32, i64), (u64, u64)> = BTreeMap::new();
    for record in records {
        let TraceEvent::Classic {
            event:
                ClassicTraceEvent::RecordProcessed {
                    group_id,
                    topic_partition,
                    offset,
                    ..
                },
        } = &record.event
        else {
            continue;
        };
        let key = (
            group_id.clone(),
            topic_partition.topic.clone(),
            topic_partition.partition,
            *offset,
        );
        let entry = processed.entry(key).or_insert((record.at_ms, 0));
        entry.1 += 1;
    }
    if processed.is_empty() {
        return;
    }
    let produced_at = |topic: &str, partition: i32, offset: i64| {
        let produced = facts
            .produced
            .iter()
            .find(|p| p.topic == topic && p.partition == partition)?;
        usize::try_from(offset)
            .ok()
            .and_then(|index| produced.produced_at_ms.get(index).copied())
    };
    let mut latencies: Vec<u64> = processed
        .iter()
        .filter_map(|((_, topic, partition, offset), (at_ms, _))| {
            Some(at_ms.saturating_sub(produced_at(topic, *partition, *offset)?))
        })
        .collect();
    latencies.sort_unstable();
    let duplicates: u64 = processed.values().map(|(_, times)| times - 1).sum();
    metrics.set("classic.records_processed", processed.len() as f64);
    metrics.set("classic.duplicates", duplicates as f64);
    if let Some(p50) = percentile(&latencies, 0.50) {
        metrics.set("classic.p50_latency_ms", p50 as f64);
    }
    if let Some(p99) = percentile(&latencies, 0.99) {
        metrics.set("classic.p99_latency_ms", p99 as f64);
    }
    if let Some(max) = latencies.last() {
        metrics.set("classic.max_latency_ms", *max as f64);
    }
    let groups: std::collections::BTreeSet<&String> = processed.keys().map(|k| &k.0).collect();
    let mut drained_at_ms = Some(0u64);
    for group in groups {
        let consumed: Vec<&(String, String, i32, i64)> =
            processed.keys().filter(|k| &k.0 == group).collect();
        let topics: std::collections::BTreeSet<&String> = consumed.iter().map(|k| &k.1).collect();
        for produced in facts.produced.iter().filter(|p| topics.contains(&p.topic)) {
            for offset in 0..produced.produced_at_ms.len() as i64 {
                let key = (
                    group.clone(),
                    produced.topic.clone(),
                    produced.partition,
                    offset,
                );
                drained_at_ms = match (drained_at_ms, processed.get(&key)) {
                    (Some(latest), Some((at_ms, _))) => Some(latest.max(*at_ms)),
                    _ => None,
                };
            }
        }
    }
    if let (Some(start), Some(drained)) = (facts.liveness_started_ms, drained_at_ms) {
        metrics.set(
            "classic.time_to_drain_ms",
            drained.saturating_sub(start) as f64,
        );
    }
}
