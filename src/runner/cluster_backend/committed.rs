//! What the cluster's trace says about the workload: which records were committed and when (the high
//! watermark's advances, [`produced_partitions`]), and, while the run goes on, whether the consumers
//! have initialized their share partitions and whether every committed record reached a terminal
//! state ([`DrainWatch`], read incrementally from the shared trace).

use std::collections::{BTreeMap, BTreeSet};

use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::harness::SharedTrace;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{ClassicTraceEvent, TraceEvent, TraceRecord};

use crate::runner::backend::ProducedPartition;
use crate::scenario::{GroupSpec, GroupType, Scenario};

/// The committed records of every partition of the scenario's topics: offset `n` was committed when a
/// leader's high watermark first passed it (acks=all: what a producer saw acknowledged).
pub(super) fn produced_partitions(
    scenario: &Scenario,
    records: &[TraceRecord],
) -> Vec<ProducedPartition> {
    let mut topic_ids = BTreeMap::new();
    let mut produced: BTreeMap<(String, i32), (u128, Vec<u64>)> = BTreeMap::new();
    for topic in &scenario.topics {
        for partition in 0..topic.partitions as i32 {
            produced.insert((topic.name.clone(), partition), (0, Vec::new()));
        }
    }
    for record in records {
        let TraceEvent::Cluster { event } = &record.event else {
            continue;
        };
        match event {
            ClusterEvent::TopicCreated {
                topic, topic_id, ..
            } => {
                topic_ids.insert(topic.clone(), topic_id.0);
            }
            ClusterEvent::HighWatermarkAdvanced {
                topic,
                partition,
                high_watermark,
                ..
            } => {
                if let Some((_, at_ms)) = produced.get_mut(&(topic.clone(), *partition)) {
                    let new = usize::try_from(*high_watermark).unwrap_or(0);
                    if new > at_ms.len() {
                        at_ms.resize(new, record.at_ms);
                    }
                }
            }
            _ => {}
        }
    }
    let mut partitions = Vec::new();
    for topic in &scenario.topics {
        for partition in 0..topic.partitions as i32 {
            let (_, at_ms) = produced
                .remove(&(topic.name.clone(), partition))
                .unwrap_or_default();
            partitions.push(ProducedPartition {
                topic: topic.name.clone(),
                topic_id: topic_ids.get(&topic.name).copied().unwrap_or(0),
                partition,
                produced_at_ms: at_ms,
            });
        }
    }
    partitions
}

/// One share partition as the watch sees it.
#[derive(Debug, Default)]
struct Watched {
    initialized: bool,
    start_offset: i64,
    states: BTreeMap<i64, RecordState>,
}

/// Follows the shared trace while the run goes on.
pub(super) struct DrainWatch {
    cursor: usize,
    /// Topic name → (id, partitions), once created.
    topics: BTreeMap<String, (u128, i32)>,
    /// (topic id, partition) → high watermark.
    high_watermarks: BTreeMap<(u128, i32), i64>,
    /// (group, topic id, partition) → share partition.
    partitions: BTreeMap<(String, u128, i32), Watched>,
    /// Share groups with consumers: (group, subscribed topics, has a consumer starting at 0).
    groups: Vec<(String, Vec<String>, bool)>,
    /// The scenario's topics (not the internal ones).
    scenario_topics: Vec<String>,
    /// Records the producers will send in all.
    records_to_produce: i64,
    /// Classic groups with consumers: (group, records produced to its topics, has a consumer
    /// starting at 0).
    classic_groups: Vec<(String, u64, bool)>,
    /// Classic groups whose consumers received an assignment.
    classic_assigned: BTreeSet<String>,
    /// Records each classic group's application finished: group → (topic, partition, offset).
    classic_processed: BTreeMap<String, BTreeSet<(String, i32, i64)>>,
}

/// The scenario's groups of `group_type` that have at least one consumer instance, each with whether
/// one of its consumers starts at time 0.
fn consumed_groups(
    scenario: &Scenario,
    group_type: GroupType,
) -> impl Iterator<Item = (&GroupSpec, bool)> {
    scenario
        .groups
        .iter()
        .filter(move |group| group.group_type == group_type)
        .filter_map(|group| {
            let mut consumers = scenario
                .consumers
                .iter()
                .filter(|c| c.group == group.name && c.count > 0)
                .peekable();
            consumers.peek()?;
            Some((group, consumers.any(|c| c.start_ms == 0)))
        })
}

impl DrainWatch {
    /// A watch of `scenario`'s share groups.
    pub(super) fn new(scenario: &Scenario) -> DrainWatch {
        let groups = consumed_groups(scenario, GroupType::Share)
            .map(|(group, at_zero)| {
                let topics = group
                    .subscribed_topics(scenario)
                    .into_iter()
                    .map(str::to_string)
                    .collect();
                (group.name.clone(), topics, at_zero)
            })
            .collect();
        let classic_groups = consumed_groups(scenario, GroupType::Classic)
            .map(|(group, at_zero)| {
                let records: u64 = scenario
                    .producers
                    .iter()
                    .filter(|p| group.subscribes_to(&p.topic))
                    .map(|p| p.count)
                    .sum();
                (group.name.clone(), records, at_zero)
            })
            .collect();
        DrainWatch {
            classic_groups,
            classic_assigned: BTreeSet::new(),
            classic_processed: BTreeMap::new(),
            cursor: 0,
            topics: BTreeMap::new(),
            high_watermarks: BTreeMap::new(),
            partitions: BTreeMap::new(),
            groups,
            scenario_topics: scenario.topics.iter().map(|t| t.name.clone()).collect(),
            records_to_produce: scenario
                .producers
                .iter()
                .map(|producer| i64::try_from(producer.count).unwrap_or(i64::MAX))
                .sum(),
        }
    }

    /// Reads the records added since the last call.
    pub(super) fn catch_up(&mut self, trace: &SharedTrace) {
        let cursor = self.cursor;
        let fresh = trace
            .with(|trace| {
                trace
                    .records()
                    .map(|records| records.get(cursor..).unwrap_or_default().to_vec())
            })
            .unwrap_or_default();
        self.cursor += fresh.len();
        fresh.iter().for_each(|record| self.observe(record));
    }

    fn observe(&mut self, record: &TraceRecord) {
        match &record.event {
            TraceEvent::Cluster {
                event:
                    ClusterEvent::TopicCreated {
                        topic,
                        topic_id,
                        partitions,
                        ..
                    },
            } => {
                self.topics.insert(topic.clone(), (topic_id.0, *partitions));
            }
            TraceEvent::Cluster {
                event:
                    ClusterEvent::HighWatermarkAdvanced {
                        topic_id,
                        partition,
                        high_watermark,
                        ..
                    },
            } => {
                let known = self
                    .high_watermarks
                    .entry((topic_id.0, *partition))
                    .or_default();
                *known = (*known).max(*high_watermark);
            }
            TraceEvent::SharePartition {
                group_id,
                topic_id,
                partition,
                event,
                ..
            } => {
                let watched = self
                    .partitions
                    .entry((group_id.clone(), topic_id.0, *partition))
                    .or_default();
                match event {
                    PartitionEvent::StartOffsetMoved { to, .. } => {
                        watched.initialized = true;
                        watched.start_offset = *to;
                    }
                    PartitionEvent::Acquired {
                        first_offset,
                        last_offset,
                        ..
                    } => (*first_offset..=*last_offset).for_each(|offset| {
                        watched.states.insert(offset, RecordState::Acquired);
                    }),
                    PartitionEvent::Transition {
                        first_offset,
                        last_offset,
                        to,
                        ..
                    } => (*first_offset..=*last_offset).for_each(|offset| {
                        watched.states.insert(offset, *to);
                    }),
                    _ => {}
                }
            }
            TraceEvent::Classic {
                event: ClassicTraceEvent::AssignmentReceived { group_id, .. },
            } => {
                self.classic_assigned.insert(group_id.clone());
            }
            TraceEvent::Classic {
                event:
                    ClassicTraceEvent::RecordProcessed {
                        group_id,
                        topic_partition,
                        offset,
                        ..
                    },
            } => {
                self.classic_processed
                    .entry(group_id.clone())
                    .or_default()
                    .insert((
                        topic_partition.topic.clone(),
                        topic_partition.partition,
                        *offset,
                    ));
            }
            _ => {}
        }
    }

    /// Every (group, topic id, partition) the share groups consume; `at_zero_only`: only the groups
    /// with a consumer starting at 0. `None` while a topic is not created yet.
    fn consumed(&self, at_zero_only: bool) -> Option<Vec<(String, u128, i32)>> {
        let mut consumed = Vec::new();
        for (group, topics, at_zero) in &self.groups {
            if at_zero_only && !at_zero {
                continue;
            }
            for topic in topics {
                let (topic_id, partitions) = self.topics.get(topic)?;
                consumed.extend((0..*partitions).map(|p| (group.clone(), *topic_id, p)));
            }
        }
        Some(consumed)
    }

    /// The consumers starting at 0 have initialized every share partition they consume.
    /// The classic groups with a consumer starting at 0 have an assignment.
    pub(super) fn ready(&self) -> bool {
        let classic_ready = self
            .classic_groups
            .iter()
            .filter(|(_, _, at_zero)| *at_zero)
            .all(|(group, _, _)| self.classic_assigned.contains(group));
        classic_ready
            && self.consumed(true).is_some_and(|consumed| {
                consumed
                    .iter()
                    .all(|key| self.partitions.get(key).is_some_and(|w| w.initialized))
            })
    }

    /// The producers' records are all committed (retries may commit more).
    pub(super) fn producers_done(&self) -> bool {
        let committed: i64 = self
            .scenario_topics
            .iter()
            .filter_map(|name| self.topics.get(name))
            .flat_map(|(topic_id, partitions)| (0..*partitions).map(move |p| (*topic_id, p)))
            .map(|key| self.high_watermarks.get(&key).copied().unwrap_or(0))
            .sum();
        committed >= self.records_to_produce
    }

    /// Every committed record of every consumed share partition is ACKNOWLEDGED or ARCHIVED, below the
    /// share partition's start offset, or in a gap acquisition passed; every classic group processed as
    /// many records as were produced to its topics.
    pub(super) fn drained(&self) -> bool {
        let Some(consumed) = self.consumed(false) else {
            return false;
        };
        let classic_drained = self.classic_groups.iter().all(|(group, records, _)| {
            self.classic_processed
                .get(group)
                .is_some_and(|processed| processed.len() as u64 >= *records)
        });
        if !classic_drained {
            return false;
        }
        consumed.iter().all(|(group, topic_id, partition)| {
            let high_watermark = self
                .high_watermarks
                .get(&(*topic_id, *partition))
                .copied()
                .unwrap_or(0);
            match self.partitions.get(&(group.clone(), *topic_id, *partition)) {
                None => high_watermark == 0,
                Some(watched) => {
                    // Acquisition goes in offset order: an offset never acquired below one that was
                    // is gone from the log (a compaction gap SPSO may not pass; spec 6), not pending.
                    let highest_acquired = watched.states.keys().next_back().copied();
                    watched.initialized
                        && (watched.start_offset..high_watermark).all(|offset| {
                            match watched.states.get(&offset) {
                                Some(state) => matches!(
                                    state,
                                    RecordState::Acknowledged | RecordState::Archived
                                ),
                                None => highest_acquired.is_some_and(|highest| offset < highest),
                            }
                        })
                }
            }
        })
    }
}
