//! Building the classic consumer's requests (the real Kafka messages) and deciding when each is due.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    BrokerId, FetchRequest, FindCoordinatorRequest, GroupId, HeartbeatRequest, JoinGroupRequest,
    LeaveGroupRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, RequestKind, SyncGroupRequest, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use super::assignor::Assignor;
use super::consumer::{ClassicConsumer, CommitPurpose, InFlight, MemberState};
use super::events::Destination;
use super::protocol::{decode_subscription, encode_assignment, encode_subscription};
use crate::client::share_consumer::NodeId;
use crate::trace::{ClassicTraceEvent, TopicPartitionName};

/// FindCoordinator version (v4+: a list of keys).
pub const FIND_COORDINATOR_VERSION: i16 = 4;
/// Metadata version.
pub const METADATA_VERSION: i16 = 12;
/// JoinGroup version.
pub const JOIN_GROUP_VERSION: i16 = 9;
/// SyncGroup version.
pub const SYNC_GROUP_VERSION: i16 = 5;
/// Heartbeat version.
pub const HEARTBEAT_VERSION: i16 = 4;
/// LeaveGroup version.
pub const LEAVE_GROUP_VERSION: i16 = 5;
/// OffsetCommit version (the last one naming topics).
pub const OFFSET_COMMIT_VERSION: i16 = 9;
/// OffsetFetch version (a list of groups).
pub const OFFSET_FETCH_VERSION: i16 = 8;
/// ListOffsets version.
pub const LIST_OFFSETS_VERSION: i16 = 7;
/// Fetch version (the last one naming topics; the request also carries topic ids for v13+).
pub const FETCH_VERSION: i16 = 12;

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_string())
}

impl ClassicConsumer {
    pub(super) fn group_id(&self) -> GroupId {
        GroupId(s(&self.config.group_id))
    }

    pub(super) fn maybe_refresh_metadata(&mut self) {
        if self.subscription.is_empty() || self.has_in_flight(|f| matches!(f, InFlight::Metadata)) {
            return;
        }
        if !self.metadata_needed && self.now_ms < self.metadata_refresh_at_ms {
            return;
        }
        self.metadata_needed = false;
        self.metadata_refresh_at_ms = self.now_ms + self.config.metadata_max_age_ms;
        let topics = self
            .subscription
            .iter()
            .map(|t| MetadataRequestTopic::default().with_name(Some(TopicName(s(t)))))
            .collect();
        let request = MetadataRequest::default()
            .with_topics(Some(topics))
            .with_allow_auto_topic_creation(false);
        self.send(
            Destination::AnyBroker,
            METADATA_VERSION,
            RequestKind::Metadata(request),
            InFlight::Metadata,
        );
    }

    pub(super) fn maybe_find_coordinator(&mut self) {
        if self.coordinator.is_some()
            || self.now_ms < self.coordinator_retry_at_ms
            || self.has_in_flight(|f| matches!(f, InFlight::FindCoordinator))
        {
            return;
        }
        let request = FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(vec![s(&self.config.group_id)]);
        self.send(
            Destination::AnyBroker,
            FIND_COORDINATOR_VERSION,
            RequestKind::FindCoordinator(request),
            InFlight::FindCoordinator,
        );
    }

    /// The coordinator lost: find it again after the backoff.
    pub(super) fn coordinator_unknown(&mut self) {
        self.coordinator = None;
        self.coordinator_retry_at_ms = self.now_ms + self.config.retry_backoff_ms;
    }

    pub(super) fn maybe_heartbeat(&mut self) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if !self.is_member()
            || self.now_ms < self.next_heartbeat_ms
            || self.has_in_flight(|f| matches!(f, InFlight::Heartbeat))
        {
            return;
        }
        self.next_heartbeat_ms = self.now_ms + self.config.heartbeat_interval_ms;
        let request = HeartbeatRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation_id)
            .with_member_id(s(&self.member_id));
        self.send(
            Destination::Node(coordinator),
            HEARTBEAT_VERSION,
            RequestKind::Heartbeat(request),
            InFlight::Heartbeat,
        );
    }

    pub(super) fn send_join_group(&mut self) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let metadata = encode_subscription(&self.subscription, self.generation_id);
        let protocols = self
            .config
            .partition_assignment_strategy
            .iter()
            .map(|assignor| {
                JoinGroupRequestProtocol::default()
                    .with_name(s(assignor.name()))
                    .with_metadata(metadata.clone())
            })
            .collect();
        let request = JoinGroupRequest::default()
            .with_group_id(self.group_id())
            .with_session_timeout_ms(clamp_i32(self.config.session_timeout_ms))
            .with_rebalance_timeout_ms(clamp_i32(self.config.max_poll_interval_ms))
            .with_member_id(s(&self.member_id))
            .with_protocol_type(s("consumer"))
            .with_protocols(protocols);
        self.state = MemberState::Joining;
        self.send(
            Destination::Node(coordinator),
            JOIN_GROUP_VERSION,
            RequestKind::JoinGroup(request),
            InFlight::JoinGroup,
        );
    }

    /// After JoinGroup: the leader runs the assignor over every member's subscription.
    pub(super) fn send_sync_group(&mut self, members: &[(String, Vec<u8>)]) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let assignments = match self.protocol_name.as_deref().and_then(Assignor::from_name) {
            Some(assignor) if !members.is_empty() => {
                let subscriptions: BTreeMap<String, BTreeSet<String>> = members
                    .iter()
                    .map(|(id, metadata)| {
                        let topics = decode_subscription(metadata).unwrap_or_default();
                        (id.clone(), topics.into_iter().collect())
                    })
                    .collect();
                let counts: BTreeMap<String, i32> = self
                    .partition_counts
                    .iter()
                    .filter(|(topic, _)| subscriptions.values().any(|t| t.contains(*topic)))
                    .map(|(topic, count)| (topic.clone(), *count))
                    .collect();
                assignor
                    .assign(&counts, &subscriptions)
                    .into_iter()
                    .map(|(id, partitions)| {
                        SyncGroupRequestAssignment::default()
                            .with_member_id(s(&id))
                            .with_assignment(encode_assignment(&partitions))
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        let request = SyncGroupRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id(self.generation_id)
            .with_member_id(s(&self.member_id))
            .with_protocol_type(Some(s("consumer")))
            .with_protocol_name(self.protocol_name.as_deref().map(s))
            .with_assignments(assignments);
        self.state = MemberState::Syncing;
        self.send(
            Destination::Node(coordinator),
            SYNC_GROUP_VERSION,
            RequestKind::SyncGroup(request),
            InFlight::SyncGroup,
        );
    }

    pub(super) fn send_leave_group(&mut self, reason: &str) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        if self.member_id.is_empty() {
            return;
        }
        let request = LeaveGroupRequest::default()
            .with_group_id(self.group_id())
            .with_members(vec![MemberIdentity::default()
                .with_member_id(s(&self.member_id))
                .with_reason(Some(s(reason)))]);
        self.traces.push_back(ClassicTraceEvent::MemberLeft {
            group_id: self.config.group_id.clone(),
            member_id: self.member_id.clone(),
            reason: reason.to_string(),
        });
        self.send(
            Destination::Node(coordinator),
            LEAVE_GROUP_VERSION,
            RequestKind::LeaveGroup(request),
            InFlight::LeaveGroup,
        );
    }

    /// Commits the current positions; false when there is no coordinator or nothing to commit.
    pub(super) fn send_commit(&mut self, purpose: CommitPurpose) -> bool {
        let Some(coordinator) = self.coordinator else {
            return false;
        };
        if self.positions.is_empty() {
            return false;
        }
        let offsets = self.positions.clone();
        let mut topics: Vec<OffsetCommitRequestTopic> = Vec::new();
        for (tp, offset) in &offsets {
            let partition = OffsetCommitRequestPartition::default()
                .with_partition_index(tp.partition)
                .with_committed_offset(*offset)
                .with_committed_leader_epoch(-1)
                .with_committed_metadata(Some(s("")));
            match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
                Some(topic) => topic.partitions.push(partition),
                None => topics.push(
                    OffsetCommitRequestTopic::default()
                        .with_name(TopicName(s(&tp.topic)))
                        .with_partitions(vec![partition]),
                ),
            }
        }
        let request = OffsetCommitRequest::default()
            .with_group_id(self.group_id())
            .with_generation_id_or_member_epoch(self.generation_id)
            .with_member_id(s(&self.member_id))
            .with_topics(topics);
        let what = InFlight::OffsetCommit {
            purpose,
            generation_id: self.generation_id,
            offsets,
        };
        self.send(
            Destination::Node(coordinator),
            OFFSET_COMMIT_VERSION,
            RequestKind::OffsetCommit(request),
            what,
        );
        true
    }

    /// Positions come from the committed offsets (OffsetFetch), else from `auto.offset.reset`.
    pub(super) fn maybe_fetch_positions(&mut self) {
        let Some(coordinator) = self.coordinator else {
            return;
        };
        let missing: Vec<TopicPartitionName> = self
            .assignment
            .iter()
            .filter(|tp| !self.positions.contains_key(*tp) && !self.awaiting_reset.contains(*tp))
            .cloned()
            .collect();
        if !missing.is_empty() && !self.has_in_flight(|f| matches!(f, InFlight::OffsetFetch)) {
            let mut topics: Vec<OffsetFetchRequestTopics> = Vec::new();
            for tp in &missing {
                match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
                    Some(topic) => topic.partition_indexes.push(tp.partition),
                    None => topics.push(
                        OffsetFetchRequestTopics::default()
                            .with_name(TopicName(s(&tp.topic)))
                            .with_partition_indexes(vec![tp.partition]),
                    ),
                }
            }
            let request =
                OffsetFetchRequest::default().with_groups(vec![OffsetFetchRequestGroup::default()
                    .with_group_id(self.group_id())
                    .with_topics(Some(topics))]);
            self.send(
                Destination::Node(coordinator),
                OFFSET_FETCH_VERSION,
                RequestKind::OffsetFetch(request),
                InFlight::OffsetFetch,
            );
        }
        self.maybe_list_offsets();
    }

    fn maybe_list_offsets(&mut self) {
        let listing: BTreeSet<TopicPartitionName> = self
            .in_flight
            .values()
            .filter_map(|f| match f {
                InFlight::ListOffsets(partitions) => Some(partitions.clone()),
                _ => None,
            })
            .flatten()
            .collect();
        let mut by_leader: BTreeMap<NodeId, Vec<TopicPartitionName>> = BTreeMap::new();
        for tp in &self.awaiting_reset {
            if listing.contains(tp) {
                continue;
            }
            if let Some(leader) = self.leaders.get(tp).and_then(|l| l.leader) {
                by_leader.entry(leader).or_default().push(tp.clone());
            }
        }
        let timestamp = self.config.auto_offset_reset.list_offsets_timestamp();
        for (node, partitions) in by_leader {
            let mut topics: Vec<ListOffsetsTopic> = Vec::new();
            for tp in &partitions {
                let epoch = self.leaders.get(tp).map_or(-1, |l| l.leader_epoch);
                let partition = ListOffsetsPartition::default()
                    .with_partition_index(tp.partition)
                    .with_current_leader_epoch(epoch)
                    .with_timestamp(timestamp);
                match topics.iter_mut().find(|t| t.name.0.as_str() == tp.topic) {
                    Some(topic) => topic.partitions.push(partition),
                    None => topics.push(
                        ListOffsetsTopic::default()
                            .with_name(TopicName(s(&tp.topic)))
                            .with_partitions(vec![partition]),
                    ),
                }
            }
            let request = ListOffsetsRequest::default()
                .with_replica_id(BrokerId(-1))
                .with_topics(topics);
            self.send(
                Destination::Node(node),
                LIST_OFFSETS_VERSION,
                RequestKind::ListOffsets(request),
                InFlight::ListOffsets(partitions),
            );
        }
    }

    /// One Fetch per leader at a time, for assigned partitions with a position, nothing buffered, and
    /// no backoff.
    pub(super) fn maybe_fetch(&mut self) {
        let busy: BTreeSet<NodeId> = self
            .in_flight
            .values()
            .filter_map(|f| match f {
                InFlight::Fetch { node, .. } => Some(*node),
                _ => None,
            })
            .collect();
        let mut by_leader: BTreeMap<NodeId, BTreeMap<TopicPartitionName, i64>> = BTreeMap::new();
        for tp in &self.assignment {
            let Some(position) = self.positions.get(tp) else {
                continue;
            };
            if self.buffered.contains_key(tp)
                || self
                    .fetch_backoff_until_ms
                    .get(tp)
                    .is_some_and(|until| *until > self.now_ms)
            {
                continue;
            }
            let Some(leader) = self.leaders.get(tp).and_then(|l| l.leader) else {
                self.metadata_needed = true;
                continue;
            };
            if !busy.contains(&leader) {
                by_leader
                    .entry(leader)
                    .or_default()
                    .insert(tp.clone(), *position);
            }
        }
        for (node, fetch_offsets) in by_leader {
            let request = self.fetch_request(&fetch_offsets);
            let what = InFlight::Fetch {
                node,
                assignment_epoch: self.assignment_epoch,
                fetch_offsets,
            };
            self.send(
                Destination::Node(node),
                FETCH_VERSION,
                RequestKind::Fetch(request),
                what,
            );
        }
    }

    fn fetch_request(&self, fetch_offsets: &BTreeMap<TopicPartitionName, i64>) -> FetchRequest {
        let mut topics: Vec<FetchTopic> = Vec::new();
        for (tp, offset) in fetch_offsets {
            let epoch = self.leaders.get(tp).map_or(-1, |l| l.leader_epoch);
            let partition = FetchPartition::default()
                .with_partition(tp.partition)
                .with_current_leader_epoch(epoch)
                .with_fetch_offset(*offset)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(self.config.max_partition_fetch_bytes);
            match topics.iter_mut().find(|t| t.topic.0.as_str() == tp.topic) {
                Some(topic) => topic.partitions.push(partition),
                None => {
                    let topic_id = self.topic_ids.get(&tp.topic).copied().unwrap_or(0);
                    topics.push(
                        FetchTopic::default()
                            .with_topic(TopicName(s(&tp.topic)))
                            .with_topic_id(uuid::Uuid::from_u128(topic_id))
                            .with_partitions(vec![partition]),
                    )
                }
            }
        }
        // Sessionless full fetches (session id 0, epoch -1), read_uncommitted.
        FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(clamp_i32(self.config.fetch_max_wait_ms))
            .with_min_bytes(self.config.fetch_min_bytes)
            .with_max_bytes(self.config.fetch_max_bytes)
            .with_isolation_level(0)
            .with_session_id(0)
            .with_session_epoch(-1)
            .with_topics(topics)
    }
}

fn clamp_i32(value: u64) -> i32 {
    i32::try_from(value).unwrap_or(i32::MAX)
}
