//! NO-LOSS's third rule: every committed record a share group must consume is delivered at least once.
//! The trace alone cannot say what was committed (a run whose consumers never fetched has no
//! share-partition events at all), so the runner passes what it knows ([`CommittedPartition`], from the
//! backend's produced records): the high watermark, and the first offset committed after the group's
//! consumers started. A record from the lower of that offset and the share partition's initial SPSO
//! (`share.auto.offset.reset` may legitimately skip what came before the consumers) up to the high
//! watermark that no `acquired` or `transition` event ever showed was skipped silently, unless a
//! log-start move or an acquisition past a gap (compaction) passed it. Once the run's `compaction` fault
//! was pulled, an acquisition starting past every offset the share partition has shown passes the gap
//! too (the cleaner removed whole batches there; spec 6). Records shown but left non-terminal are
//! LIVENESS's to judge.

use std::collections::{BTreeMap, BTreeSet};

use sharesim_sim::coordinator::share::{SharePartitionKey, TopicId};
use sharesim_sim::share::partition::{PartitionEvent, StartOffsetMoveCause};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use super::checker::Violation;

/// Records a share group must consume: offsets `0..end_offset` of one topic partition were committed
/// and the group subscribes to the topic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommittedPartition {
    /// The share group.
    pub group_id: String,
    /// The topic id the trace uses.
    pub topic_id: u128,
    /// Partition index.
    pub partition: i32,
    /// The high watermark at the end of the run (offsets below it were committed).
    pub end_offset: i64,
    /// The first offset committed after the group's consumers started: from here on every record is
    /// due to the group whatever the offset reset says.
    pub deliver_from_offset: i64,
}

/// What the trace showed of each share partition: its first initialized SPSO, its newest SPSO, and
/// every offset an `acquired` or `transition` event touched.
#[derive(Debug, Default)]
pub(crate) struct CommittedCoverage {
    committed: Vec<CommittedPartition>,
    initial_start_offsets: BTreeMap<SharePartitionKey, i64>,
    /// Offsets passed legitimately without a delivery: below a log-start move, or in the gap an
    /// acquisition started past (`[from, to)`).
    passed: BTreeMap<SharePartitionKey, Vec<(i64, i64)>>,
    shown: BTreeMap<SharePartitionKey, BTreeSet<i64>>,
    /// A `compaction` fault was pulled: acquisitions may jump over removed batches.
    compaction_pulled: bool,
    /// (seq, at_ms) of the last record seen: where an end-of-run violation is reported.
    last_seen: (u64, u64),
}

impl CommittedCoverage {
    /// Coverage judged against `committed`.
    pub(crate) fn new(committed: Vec<CommittedPartition>) -> CommittedCoverage {
        CommittedCoverage {
            committed,
            ..CommittedCoverage::default()
        }
    }

    /// Notes a record (every record, for `last_seen`).
    pub(crate) fn observe_record(&mut self, record: &TraceRecord) {
        self.last_seen = (record.seq, record.at_ms);
        if let TraceEvent::Fault { lever, detail } = &record.event {
            self.compaction_pulled |= lever == "compaction" && detail.starts_with("pull");
        }
    }

    /// Notes one admitted (not stale) share-partition event.
    pub(crate) fn observe(&mut self, key: &SharePartitionKey, event: &PartitionEvent) {
        let (first, last) = match event {
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            }
            | PartitionEvent::Transition {
                first_offset,
                last_offset,
                ..
            } => (*first_offset, *last_offset),
            PartitionEvent::StartOffsetMoved { from, to, cause } => {
                match cause {
                    StartOffsetMoveCause::Initialization => {
                        self.initial_start_offsets.entry(key.clone()).or_insert(*to);
                    }
                    StartOffsetMoveCause::LogStartOffsetMove => {
                        self.passed
                            .entry(key.clone())
                            .or_default()
                            .push((i64::MIN, *to));
                    }
                    StartOffsetMoveCause::Acquisition => {
                        self.passed
                            .entry(key.clone())
                            .or_default()
                            .push((*from, *to));
                    }
                    StartOffsetMoveCause::Advance => {}
                }
                return;
            }
            _ => return,
        };
        if self.compaction_pulled && matches!(event, PartitionEvent::Acquired { .. }) {
            let highest_shown = self.shown.get(key).and_then(|shown| shown.last()).copied();
            if let Some(highest) = highest_shown.filter(|highest| first > highest + 1) {
                self.passed
                    .entry(key.clone())
                    .or_default()
                    .push((highest + 1, first));
            }
        }
        self.shown
            .entry(key.clone())
            .or_default()
            .extend(first..=last);
    }

    /// The first committed record never delivered, if any.
    pub(crate) fn first_skipped(&self) -> Option<Violation> {
        self.committed.iter().find_map(|c| self.skipped_in(c))
    }

    fn skipped_in(&self, committed: &CommittedPartition) -> Option<Violation> {
        if committed.end_offset <= 0 {
            return None;
        }
        let key = SharePartitionKey {
            group_id: committed.group_id.clone(),
            topic_id: TopicId(committed.topic_id),
            partition: committed.partition,
        };
        let name = format!(
            "group {} partition {} (topic id {:x})",
            committed.group_id, committed.partition, committed.topic_id
        );
        let (seq, at_ms) = self.last_seen;
        let violation = |offset: i64, message: String| Violation {
            code: "NO-LOSS",
            seq,
            at_ms,
            offset: Some(offset),
            member: None,
            event_seqs: vec![seq],
            message,
        };
        let Some(initial) = self.initial_start_offsets.get(&key) else {
            if committed.deliver_from_offset >= committed.end_offset {
                return None;
            }
            let end = committed.end_offset;
            let message = format!(
                "{name}: {end} records committed but the share partition never initialized"
            );
            return Some(violation(0, message));
        };
        let from = (*initial).min(committed.deliver_from_offset).max(0);
        let shown = self.shown.get(&key);
        let passed = self.passed.get(&key);
        let offset = (from..committed.end_offset).find(|offset| {
            !shown.is_some_and(|shown| shown.contains(offset))
                && !passed.is_some_and(|gaps| gaps.iter().any(|(a, b)| (*a..*b).contains(offset)))
        })?;
        let end = committed.end_offset;
        let message = format!(
            "{name}: offset {offset} committed (high watermark {end}, initial SPSO {initial}) was \
             never delivered"
        );
        Some(violation(offset, message))
    }
}

#[cfg(test)]
mod tests {
    use sharesim_sim::share::MemberId;

    use super::*;

    fn key() -> SharePartitionKey {
        SharePartitionKey {
            group_id: "g".to_string(),
            topic_id: TopicId(1),
            partition: 0,
        }
    }

    fn acquired(first_offset: i64, last_offset: i64) -> PartitionEvent {
        PartitionEvent::Acquired {
            member: MemberId::new("m"),
            first_offset,
            last_offset,
            delivery_count: 1,
            lock_deadline_ms: 30_000,
        }
    }

    fn fault(lever: &str, detail: &str) -> TraceRecord {
        TraceRecord {
            seq: 0,
            at_ms: 0,
            node: "sim".to_string(),
            event: TraceEvent::Fault {
                lever: lever.to_string(),
                detail: detail.to_string(),
            },
        }
    }

    /// Offsets 0..10 committed; acquisitions show 0..=2 and 8..=9, jumping over 3..8.
    fn coverage_after(faults: &[TraceRecord]) -> CommittedCoverage {
        let mut coverage = CommittedCoverage::new(vec![CommittedPartition {
            group_id: "g".to_string(),
            topic_id: 1,
            partition: 0,
            end_offset: 10,
            deliver_from_offset: 0,
        }]);
        let initialized = PartitionEvent::StartOffsetMoved {
            from: 0,
            to: 0,
            cause: StartOffsetMoveCause::Initialization,
        };
        coverage.observe(&key(), &initialized);
        coverage.observe(&key(), &acquired(0, 2));
        faults
            .iter()
            .for_each(|record| coverage.observe_record(record));
        coverage.observe(&key(), &acquired(8, 9));
        coverage
    }

    /// Spec 6: after a pulled compaction, an acquisition past a gap the cleaner left passes it.
    #[test]
    fn a_compaction_gap_an_acquisition_jumps_is_passed() {
        let coverage = coverage_after(&[fault("compaction", "pull: compact t")]);
        assert!(coverage.first_skipped().is_none());
    }

    /// NO-LOSS: without a compaction (or with one only skipped), the same jump skips offset 3.
    #[test]
    fn a_jump_without_a_compaction_skips_records() {
        for faults in [
            Vec::new(),
            vec![fault("compaction", "skipped: compact t (unsupported)")],
        ] {
            let skipped = coverage_after(&faults).first_skipped().expect("offset 3");
            assert_eq!(skipped.offset, Some(3));
        }
    }
}
