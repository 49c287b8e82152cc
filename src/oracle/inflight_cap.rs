//! INFLIGHT-CAP: the in-flight window `SPEO - SPSO + 1` of a share partition stays within
//! `group.share.partition.max.record.locks`, overshooting by at most one whole log batch, and SPEO grows
//! only from a window below the limit (spec 1.5, `canAcquireRecords`). Decided from
//! `start_offset_moved` and `end_offset_moved` within one leader epoch.
//!
//! The overshoot allowed is the largest log batch the run actually acquired: the cluster's `produced`
//! events give every batch's offsets, the share partitions' `acquired` events the ranges handed out, and
//! a batch counts when an acquisition overlaps it. A batch-optimized acquisition takes whole batches, so
//! from a window one record below the limit it ends at most `last_offset - base_offset` records over.
//! Traces without `produced` events (the engine backend's) fall back to the configured
//! `in_flight_overshoot_max`, which that backend sets from its own logs. The allowance is known only at
//! the end, so overshoots are kept and judged in `finish`.

use std::collections::BTreeMap;

use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::coordinator::share::{SharePartitionKey, TopicId};
use sharesim_sim::share::partition::{PartitionEvent, PartitionState};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use super::checker::{keep_first, partition_event, violation_at, Checker, OracleConfig, Violation};
use super::metrics::Metrics;

const CODE: &str = "INFLIGHT-CAP";

/// SPSO and SPEO of one partition in its newest leader epoch.
#[derive(Debug, Default)]
struct Window {
    leader_epoch: i32,
    start_offset: Option<i64>,
    end_offset: Option<i64>,
}

impl Window {
    fn in_flight(&self) -> i64 {
        match (self.start_offset, self.end_offset) {
            (Some(start), Some(end)) => (end - start + 1).max(0),
            _ => 0,
        }
    }
}

/// The INFLIGHT-CAP checker.
#[derive(Debug)]
pub struct InflightCap {
    limit: i64,
    /// The configured overshoot, used when the trace shows no produced batches.
    configured_overshoot_max: i64,
    windows: BTreeMap<SharePartitionKey, Window>,
    /// Every produced batch by partition: base offset -> last offset (a rewrite after truncation
    /// replaces the batch at its base offset).
    batches: BTreeMap<(TopicId, i32), BTreeMap<i64, i64>>,
    /// The largest `last_offset - base_offset` of a produced batch an acquisition overlapped.
    largest_acquired_batch: Option<i64>,
    /// Windows above the limit, each larger than every one kept before it (the first one over the final
    /// allowance is then the first such window in the trace).
    overshoots: Vec<(i64, Violation)>,
    first: Option<Violation>,
}

impl InflightCap {
    /// Judges against `config`'s `max_record_locks` and overshoot.
    pub fn new(config: &OracleConfig) -> InflightCap {
        InflightCap {
            limit: i64::from(config.max_record_locks),
            configured_overshoot_max: i64::from(config.in_flight_overshoot_max),
            windows: BTreeMap::new(),
            batches: BTreeMap::new(),
            largest_acquired_batch: None,
            overshoots: Vec::new(),
            first: None,
        }
    }
}

impl Checker for InflightCap {
    fn code(&self) -> &'static str {
        "INFLIGHT-CAP"
    }

    fn observe(&mut self, record: &TraceRecord) {
        if let TraceEvent::Cluster {
            event:
                ClusterEvent::Produced {
                    topic_id,
                    partition,
                    base_offset,
                    last_offset,
                    ..
                },
        } = &record.event
        {
            self.batches
                .entry((*topic_id, *partition))
                .or_default()
                .insert(*base_offset, *last_offset);
            return;
        }
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        if let PartitionEvent::Acquired {
            first_offset,
            last_offset,
            ..
        } = event
        {
            self.note_acquired(&key, *first_offset, *last_offset);
        }
        let window = self.windows.entry(key).or_insert(Window {
            leader_epoch,
            ..Window::default()
        });
        if leader_epoch > window.leader_epoch {
            *window = Window {
                leader_epoch,
                ..Window::default()
            };
        } else if leader_epoch < window.leader_epoch {
            return;
        }
        // The same leader's new share partition after it dropped the old one (a fenced write, a group
        // left empty, spec 2.5, 3.4) starts its window afresh from the persisted image.
        if matches!(
            event,
            PartitionEvent::PartitionStateChanged {
                to: PartitionState::Initializing,
                ..
            }
        ) {
            *window = Window {
                leader_epoch,
                ..Window::default()
            };
        }
        let message = match event {
            PartitionEvent::StartOffsetMoved { to, .. } => {
                window.start_offset = Some(*to);
                None
            }
            PartitionEvent::EndOffsetMoved { from, to } => {
                let before = window.in_flight();
                window.end_offset = Some(*to);
                if to > from && before >= self.limit {
                    Some(format!(
                        "SPEO grew from {from} to {to} with {before} records in flight, limit {}",
                        self.limit
                    ))
                } else {
                    let over = window.in_flight() - self.limit;
                    let larger = self.overshoots.last().is_none_or(|(kept, _)| over > *kept);
                    if over > 0 && larger {
                        let message = format!(
                            "{} records in flight, limit {}",
                            window.in_flight(),
                            self.limit
                        );
                        let violation = violation_at(CODE, record, None, None, &[], message);
                        self.overshoots.push((over, violation));
                    }
                    None
                }
            }
            _ => None,
        };
        if let Some(message) = message {
            keep_first(
                &mut self.first,
                violation_at(CODE, record, None, None, &[], message),
            );
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        let (allowance, source) = match self.batches.is_empty() {
            true => (self.configured_overshoot_max, "configured"),
            false => (
                self.largest_acquired_batch.unwrap_or(0),
                "the largest log batch acquired",
            ),
        };
        if let Some((_, mut violation)) = self
            .overshoots
            .drain(..)
            .find(|(over, _)| *over > allowance)
        {
            violation.message = format!(
                "{} plus overshoot {allowance} ({source})",
                violation.message
            );
            let earlier = self
                .first
                .as_ref()
                .is_some_and(|first| first.seq < violation.seq);
            if !earlier {
                self.first = Some(violation);
            }
        }
        self.first.take().into_iter().collect()
    }
}

impl InflightCap {
    /// Widens the allowance to every produced batch that `[first, last]` overlaps.
    fn note_acquired(&mut self, key: &SharePartitionKey, first: i64, last: i64) {
        let Some(batches) = self.batches.get(&(key.topic_id, key.partition)) else {
            return;
        };
        let overlapping = batches
            .range(..=last)
            .rev()
            .take_while(|(_, batch_last)| **batch_last >= first)
            .map(|(base, batch_last)| batch_last - base);
        for size in overlapping {
            let largest = self.largest_acquired_batch.get_or_insert(size);
            *largest = (*largest).max(size);
        }
    }
}

#[cfg(test)]
mod tests {
    use sharesim_sim::share::partition::StartOffsetMoveCause;
    use sharesim_sim::share::MemberId;

    use super::*;
    use crate::oracle::{Oracle, Verdict};

    const TOPIC: TopicId = TopicId(7);

    /// A trace of share partition g/7-0 with `max.record.locks` 100 (and the default configured
    /// overshoot of 500, which the produced batches override).
    struct Trace {
        records: Vec<TraceRecord>,
    }

    impl Trace {
        fn new() -> Trace {
            Trace {
                records: Vec::new(),
            }
        }

        fn push(&mut self, event: TraceEvent) -> &mut Self {
            let seq = self.records.len() as u64;
            self.records.push(TraceRecord {
                seq,
                at_ms: seq,
                node: "broker-1".into(),
                event,
            });
            self
        }

        fn produced(&mut self, base_offset: i64, last_offset: i64) -> &mut Self {
            self.push(TraceEvent::Cluster {
                event: ClusterEvent::Produced {
                    topic: "orders".into(),
                    topic_id: TOPIC,
                    partition: 0,
                    leader_epoch: 0,
                    base_offset,
                    last_offset,
                    producer_id: -1,
                    transactional: false,
                },
            })
        }

        fn partition(&mut self, event: PartitionEvent) -> &mut Self {
            self.push(TraceEvent::SharePartition {
                group_id: "g".into(),
                topic_id: TOPIC,
                partition: 0,
                leader_epoch: 0,
                event,
            })
        }

        /// SPSO 0, then an acquisition of `[first, last]` moving SPEO from `first - 1` to `last`.
        fn acquire(&mut self, first: i64, last: i64) -> &mut Self {
            self.partition(PartitionEvent::EndOffsetMoved {
                from: first - 1,
                to: last,
            })
            .partition(PartitionEvent::Acquired {
                member: MemberId::new("a"),
                first_offset: first,
                last_offset: last,
                delivery_count: 1,
                lock_deadline_ms: 30_000,
            })
        }

        fn verdict(&self) -> Verdict {
            let config = OracleConfig {
                max_record_locks: 100,
                ..OracleConfig::default()
            };
            assert_eq!(config.in_flight_overshoot_max, 500);
            let report = Oracle::check(&config, &self.records);
            report.verdict(CODE).cloned().expect("INFLIGHT-CAP judged")
        }
    }

    fn spso_zero() -> PartitionEvent {
        PartitionEvent::StartOffsetMoved {
            from: -1,
            to: 0,
            cause: StartOffsetMoveCause::Initialization,
        }
    }

    /// Spec 1.5: an acquisition from a window below the limit may overshoot by the whole log batch it
    /// takes: 99 in flight, then a 50-record batch makes 149, within 100 + 49.
    #[test]
    fn passes_an_overshoot_of_one_whole_acquired_batch() {
        let mut trace = Trace::new();
        trace.produced(0, 98).produced(99, 148);
        trace.partition(spso_zero()).acquire(0, 98).acquire(99, 148);
        assert_eq!(trace.verdict(), Verdict::Pass);
    }

    /// Spec 1.5: a window past the limit by more than the largest batch acquired fails, even though the
    /// configured overshoot (500) would have allowed it: one fetch takes five 30-record batches from an
    /// empty window, 150 in flight, 50 over a limit of 100 where a batch excuses 29.
    #[test]
    fn fails_an_overshoot_larger_than_any_acquired_batch() {
        let mut trace = Trace::new();
        for base in (0..150).step_by(30) {
            trace.produced(base, base + 29);
        }
        trace.partition(spso_zero()).acquire(0, 149);
        let Verdict::Fail(violation) = trace.verdict() else {
            panic!("an over-cap window passed: {:?}", trace.verdict());
        };
        assert_eq!(
            violation.message,
            "150 records in flight, limit 100 plus overshoot 29 (the largest log batch acquired)"
        );
        assert_eq!(violation.seq, 6);
    }

    /// A produced batch no acquisition touched widens nothing.
    #[test]
    fn batches_never_acquired_do_not_count() {
        let mut trace = Trace::new();
        trace.produced(0, 9).produced(10, 109).produced(110, 999);
        // 110 records in flight: 10 over, within the 99 of the acquired batch [10, 109].
        trace.partition(spso_zero()).acquire(10, 109);
        assert_eq!(trace.verdict(), Verdict::Pass);
        // SPSO passes 100; SPEO then jumps to 300 with no acquisition: 201 in flight, 101 over. Batch
        // [110, 999] (889) was never acquired, so it does not excuse that.
        trace.partition(PartitionEvent::StartOffsetMoved {
            from: 0,
            to: 100,
            cause: StartOffsetMoveCause::Advance,
        });
        trace.partition(PartitionEvent::EndOffsetMoved { from: 109, to: 300 });
        let Verdict::Fail(violation) = trace.verdict() else {
            panic!("an over-cap window passed");
        };
        assert_eq!(
            violation.message,
            "201 records in flight, limit 100 plus overshoot 99 (the largest log batch acquired)"
        );
    }
}
