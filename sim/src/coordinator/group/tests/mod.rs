//! Tests of the share-group engine. `Harness` drives one coordinator with a shared virtual clock and
//! collects what it emits; each file covers one area and names the spec section it checks.

mod admin;
mod assignor_props;
mod heartbeat;
mod replay;

use std::collections::{BTreeMap, BTreeSet};

use super::*;
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::share::MemberId;
use crate::ResponseError;

pub(super) const ORDERS: TopicId = TopicId(0x0A);
pub(super) const AUDIT: TopicId = TopicId(0x0B);

pub(super) fn tp(topic_id: TopicId, partition: i32) -> TopicIdPartition {
    TopicIdPartition {
        topic_id,
        partition,
    }
}

/// One coordinator, a clock, and everything it emitted.
pub(super) struct Harness {
    pub coordinator: ShareGroupCoordinator,
    pub now_ms: u64,
    /// Every record appended so far, in order.
    pub records: Vec<GroupCoordinatorRecord>,
    /// Persister requests and traces not yet looked at.
    pub pending: Vec<GroupEffect>,
    /// Every trace event so far.
    pub traces: Vec<GroupTraceEvent>,
}

impl Harness {
    /// Topics `orders` (3 partitions) and `audit` (2 partitions), Kafka 4.2 defaults.
    pub fn new() -> Harness {
        Harness::with_config(GroupCoordinatorConfig::default())
    }

    pub fn with_config(config: GroupCoordinatorConfig) -> Harness {
        let mut harness = Harness {
            coordinator: ShareGroupCoordinator::new(config),
            now_ms: 1_000,
            records: Vec::new(),
            pending: Vec::new(),
            traces: Vec::new(),
        };
        harness.set_topics(&[("orders", ORDERS, 3), ("audit", AUDIT, 2)]);
        harness
    }

    pub fn set_topics(&mut self, topics: &[(&str, TopicId, i32)]) {
        let image = topics
            .iter()
            .map(|(name, topic_id, partition_count)| {
                (
                    name.to_string(),
                    TopicMetadata {
                        topic_id: *topic_id,
                        partition_count: *partition_count,
                    },
                )
            })
            .collect();
        self.coordinator.handle_metadata_update(self.now_ms, image);
    }

    pub fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
    }

    /// Moves emitted records to `records`, traces to `traces`, and persister requests to `pending`.
    pub fn drain(&mut self) {
        while let Some(effect) = self.coordinator.poll_effect() {
            match effect {
                GroupEffect::AppendRecords { records } => self.records.extend(records),
                GroupEffect::Trace(event) => self.traces.push(event),
                other => self.pending.push(other),
            }
        }
    }

    pub fn heartbeat(
        &mut self,
        group_id: &str,
        member_id: &str,
        member_epoch: i32,
        topics: Option<&[&str]>,
    ) -> ShareGroupHeartbeatResponse {
        let request = ShareGroupHeartbeatRequest {
            group_id: group_id.to_string(),
            member_id: member_id.to_string(),
            member_epoch,
            rack_id: None,
            subscribed_topic_names: topics
                .map(|names| names.iter().map(|n| n.to_string()).collect()),
        };
        let response = self.coordinator.handle_heartbeat(self.now_ms, &request);
        self.drain();
        response
    }

    /// Takes the pending InitializeShareGroupState requests.
    pub fn take_initialize_requests(&mut self) -> Vec<(String, i32, Vec<InitializePartition>)> {
        let mut taken = Vec::new();
        self.pending.retain(|effect| match effect {
            GroupEffect::InitializeShareGroupState {
                group_id,
                state_epoch,
                partitions,
            } => {
                taken.push((group_id.clone(), *state_epoch, partitions.clone()));
                false
            }
            _ => true,
        });
        taken
    }

    /// Answers every pending InitializeShareGroupState with success.
    pub fn initialize_all(&mut self) {
        for (group_id, _, partitions) in self.take_initialize_requests() {
            let results: Vec<(TopicIdPartition, Option<ResponseError>)> = partitions
                .iter()
                .map(|p| (p.topic_id_partition, None))
                .collect();
            self.coordinator
                .handle_initialize_result(self.now_ms, &group_id, &results);
            self.drain();
        }
    }

    /// Joins, initializes what the join asked for, and heartbeats again; returns the member epoch.
    pub fn join(&mut self, group_id: &str, member_id: &str, topics: &[&str]) -> i32 {
        let response = self.heartbeat(group_id, member_id, 0, Some(topics));
        assert_eq!(response.error, None, "{:?}", response.error_message);
        self.initialize_all();
        let response = self.heartbeat(group_id, member_id, response.member_epoch, None);
        assert_eq!(response.error, None, "{:?}", response.error_message);
        response.member_epoch
    }

    pub fn group(&self, group_id: &str) -> &ShareGroup {
        self.coordinator.group(group_id).expect("the group exists")
    }

    pub fn member(&self, group_id: &str, member_id: &str) -> &ShareGroupMember {
        &self.group(group_id).members[&MemberId::new(member_id)]
    }

    /// Replaying every record from scratch gives the same groups.
    pub fn assert_replay_reproduces_state(&self) {
        let loaded = ShareGroupCoordinator::load(
            self.now_ms,
            self.coordinator.config().clone(),
            self.records.iter(),
        );
        assert_eq!(loaded.groups(), self.coordinator.groups());
    }
}

pub(super) fn partitions(list: &[(TopicId, i32)]) -> BTreeSet<TopicIdPartition> {
    list.iter()
        .map(|(topic_id, partition)| tp(*topic_id, *partition))
        .collect()
}

pub(super) fn by_topic(list: &[(TopicId, &[i32])]) -> BTreeMap<TopicId, BTreeSet<i32>> {
    list.iter()
        .map(|(topic_id, parts)| (*topic_id, parts.iter().copied().collect()))
        .collect()
}
