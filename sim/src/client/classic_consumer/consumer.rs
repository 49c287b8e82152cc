//! The classic consumer engine (Kafka's `ClassicKafkaConsumer` with `ConsumerCoordinator`, `Fetcher`
//! and the heartbeat thread): the struct, application commands, and the step that decides what to send.
//! Response handling is in `responses.rs` and request building in `requests.rs`, on the same type.
//!
//! Methods come in the quinn families:
//! * getters: [`member_id`](ClassicConsumer::member_id), [`generation_id`](ClassicConsumer::generation_id),
//!   [`assignment`](ClassicConsumer::assignment), [`position`](ClassicConsumer::position),
//!   [`broker_address`](ClassicConsumer::broker_address), [`state`](ClassicConsumer::state);
//! * inputs: [`handle_response`](ClassicConsumer::handle_response),
//!   [`handle_request_failed`](ClassicConsumer::handle_request_failed),
//!   [`handle_timeout`](ClassicConsumer::handle_timeout);
//! * application commands: [`subscribe`](ClassicConsumer::subscribe), [`poll`](ClassicConsumer::poll),
//!   [`record_processed`](ClassicConsumer::record_processed),
//!   [`commit_sync`](ClassicConsumer::commit_sync), [`close`](ClassicConsumer::close);
//! * outputs: `poll_transmit`, `poll_event`, `poll_trace`, `poll_timeout`.
//!
//! As in the Java client, the group is joined and rebalances are completed only inside `poll` (eager:
//! revoke everything, commit if auto-commit is on, rejoin), while heartbeats go on between polls (the
//! heartbeat thread) and a member that does not poll within `max.poll.interval.ms` leaves the group.
//! The application processes what `poll` returned one record after another, so a slow record holds up
//! every record behind it (head-of-line blocking); `poll` is what commits them (auto-commit commits the
//! positions of records returned by earlier polls).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kafka_protocol::messages::RequestKind;

use super::config::ClassicConsumerConfig;
use super::events::{ClassicConsumerEvent, ClassicRecord, CommitSyncId, Destination, Transmit};
use crate::client::share_consumer::{NodeId, RequestId};
use crate::trace::{ClassicTraceEvent, TopicPartitionName};

/// Where the member stands in the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Not in the group (never joined, left, or fenced); `poll` (re)joins.
    Unjoined,
    /// Committing before a rejoin (eager `onJoinPrepare`).
    PreparingRejoin,
    /// JoinGroup sent.
    Joining,
    /// SyncGroup sent.
    Syncing,
    /// Member of a generation with an assignment.
    Stable,
    /// `close` was called.
    Closing,
    /// Closed.
    Closed,
}

/// Why an OffsetCommit was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum CommitPurpose {
    Auto,
    BeforeRejoin,
    Close,
    Sync(CommitSyncId),
}

/// What an outstanding request was.
#[derive(Clone, Debug)]
pub(super) enum InFlight {
    FindCoordinator,
    Metadata,
    JoinGroup,
    SyncGroup,
    Heartbeat,
    LeaveGroup,
    OffsetFetch,
    ListOffsets(Vec<TopicPartitionName>),
    Fetch {
        node: NodeId,
        assignment_epoch: u64,
        fetch_offsets: BTreeMap<TopicPartitionName, i64>,
    },
    OffsetCommit {
        purpose: CommitPurpose,
        generation_id: i32,
        offsets: BTreeMap<TopicPartitionName, i64>,
    },
}

/// One fetched item waiting for `poll`.
#[derive(Clone, Debug)]
pub(super) enum Buffered {
    Record(ClassicRecord),
    /// Offsets without application records (control batches, aborted data): the position moves past.
    Skip {
        next_offset: i64,
    },
}

/// What metadata says about one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct PartitionLeader {
    pub leader: Option<NodeId>,
    pub leader_epoch: i32,
}

/// The classic consumer engine. See the module doc for the driving contract; `now_ms` never goes back.
#[derive(Clone, Debug)]
pub struct ClassicConsumer {
    pub(super) config: ClassicConsumerConfig,
    pub(super) subscription: Vec<String>,
    pub(super) now_ms: u64,
    next_request_id: u64,
    next_commit_id: u64,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<ClassicConsumerEvent>,
    pub(super) traces: VecDeque<ClassicTraceEvent>,
    pub(super) in_flight: BTreeMap<RequestId, InFlight>,
    // Cluster knowledge.
    pub(super) brokers: BTreeMap<NodeId, (String, i32)>,
    pub(super) topic_ids: BTreeMap<String, u128>,
    pub(super) partition_counts: BTreeMap<String, i32>,
    pub(super) leaders: BTreeMap<TopicPartitionName, PartitionLeader>,
    pub(super) metadata_needed: bool,
    pub(super) metadata_refresh_at_ms: u64,
    pub(super) coordinator: Option<NodeId>,
    pub(super) coordinator_retry_at_ms: u64,
    // Membership.
    pub(super) state: MemberState,
    pub(super) member_id: String,
    pub(super) generation_id: i32,
    pub(super) protocol_name: Option<String>,
    pub(super) rejoin_needed: bool,
    pub(super) join_retry_at_ms: u64,
    pub(super) fatal: bool,
    pub(super) next_heartbeat_ms: u64,
    pub(super) last_poll_ms: u64,
    // Assignment, positions and fetched data.
    pub(super) assignment: Vec<TopicPartitionName>,
    /// Bumped whenever the assignment changes, so late fetch responses are dropped.
    pub(super) assignment_epoch: u64,
    pub(super) positions: BTreeMap<TopicPartitionName, i64>,
    pub(super) awaiting_reset: BTreeSet<TopicPartitionName>,
    pub(super) committed: BTreeMap<TopicPartitionName, i64>,
    pub(super) buffered: BTreeMap<TopicPartitionName, VecDeque<Buffered>>,
    pub(super) fetch_backoff_until_ms: BTreeMap<TopicPartitionName, u64>,
    pub(super) next_auto_commit_ms: u64,
    /// Where the next `poll` starts taking records (round robin over partitions).
    poll_cursor: usize,
}

impl ClassicConsumer {
    /// A consumer with `config`, not subscribed yet.
    pub fn new(config: ClassicConsumerConfig) -> ClassicConsumer {
        ClassicConsumer {
            config,
            subscription: Vec::new(),
            now_ms: 0,
            next_request_id: 0,
            next_commit_id: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            traces: VecDeque::new(),
            in_flight: BTreeMap::new(),
            brokers: BTreeMap::new(),
            topic_ids: BTreeMap::new(),
            partition_counts: BTreeMap::new(),
            leaders: BTreeMap::new(),
            metadata_needed: true,
            metadata_refresh_at_ms: 0,
            coordinator: None,
            coordinator_retry_at_ms: 0,
            state: MemberState::Unjoined,
            member_id: String::new(),
            generation_id: -1,
            protocol_name: None,
            rejoin_needed: true,
            join_retry_at_ms: 0,
            fatal: false,
            next_heartbeat_ms: 0,
            last_poll_ms: 0,
            assignment: Vec::new(),
            assignment_epoch: 0,
            positions: BTreeMap::new(),
            awaiting_reset: BTreeSet::new(),
            committed: BTreeMap::new(),
            buffered: BTreeMap::new(),
            fetch_backoff_until_ms: BTreeMap::new(),
            next_auto_commit_ms: 0,
            poll_cursor: 0,
        }
    }

    // (A) getters.

    /// The configuration.
    pub fn config(&self) -> &ClassicConsumerConfig {
        &self.config
    }

    /// The member id (empty before the coordinator gives one).
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The generation (-1 when not a member).
    pub fn generation_id(&self) -> i32 {
        self.generation_id
    }

    /// Where the member stands.
    pub fn state(&self) -> MemberState {
        self.state
    }

    /// The assigned partitions, sorted.
    pub fn assignment(&self) -> &[TopicPartitionName] {
        &self.assignment
    }

    /// The position (next offset `poll` returns) of a partition, once known.
    pub fn position(&self, partition: &TopicPartitionName) -> Option<i64> {
        self.positions.get(partition).copied()
    }

    /// The last offset committed successfully for a partition by this consumer.
    pub fn committed(&self, partition: &TopicPartitionName) -> Option<i64> {
        self.committed.get(partition).copied()
    }

    /// A broker's (host, port), learned from Metadata or FindCoordinator.
    pub fn broker_address(&self, node: NodeId) -> Option<(String, i32)> {
        self.brokers.get(&node).cloned()
    }

    // (C) application commands.

    /// `subscribe(topics)`: takes effect at the next `poll` (a member rejoins with the new subscription).
    pub fn subscribe(&mut self, now_ms: u64, topics: &[&str]) {
        self.advance(now_ms);
        let mut topics: Vec<String> = topics.iter().map(|t| t.to_string()).collect();
        topics.sort();
        topics.dedup();
        if topics != self.subscription {
            self.subscription = topics;
            self.metadata_needed = true;
            self.rejoin_needed = true;
        }
        self.step();
    }

    /// `poll()`: completes a pending rebalance or join (never blocking), auto-commits when due, and
    /// returns up to `max.poll.records` buffered records, in offset order per partition. Returns nothing
    /// while the member is not Stable. Call again after responses arrive.
    pub fn poll(&mut self, now_ms: u64) -> Vec<ClassicRecord> {
        self.advance(now_ms);
        if matches!(self.state, MemberState::Closing | MemberState::Closed) {
            return Vec::new();
        }
        self.last_poll_ms = self.now_ms;
        if self.state == MemberState::Stable && !self.rejoin_needed {
            self.maybe_auto_commit();
        }
        self.maybe_rejoin();
        self.step();
        if self.state != MemberState::Stable || self.rejoin_needed {
            return Vec::new();
        }
        let records = self.take_records();
        self.step();
        records
    }

    /// The application finished a record (for the trace: processing time per record).
    pub fn record_processed(&mut self, now_ms: u64, record: &ClassicRecord, processing_ms: u64) {
        self.advance(now_ms);
        self.traces.push_back(ClassicTraceEvent::RecordProcessed {
            group_id: self.config.group_id.clone(),
            member_id: self.member_id.clone(),
            topic_partition: record.topic_partition.clone(),
            offset: record.offset,
            processing_ms,
        });
    }

    /// `commitSync()`: commits the positions of every record `poll` returned. The outcome comes as
    /// [`ClassicConsumerEvent::CommitSyncCompleted`].
    pub fn commit_sync(&mut self, now_ms: u64) -> CommitSyncId {
        self.advance(now_ms);
        self.next_commit_id += 1;
        let commit_id = CommitSyncId(self.next_commit_id);
        if !self.send_commit(CommitPurpose::Sync(commit_id)) {
            let error = Some(crate::ResponseError::CoordinatorNotAvailable);
            self.events
                .push_back(ClassicConsumerEvent::CommitSyncCompleted { commit_id, error });
        }
        self.step();
        commit_id
    }

    /// `close()`: commits (with auto-commit on), leaves the group, then reports
    /// [`ClassicConsumerEvent::Closed`].
    pub fn close(&mut self, now_ms: u64) {
        self.advance(now_ms);
        if matches!(self.state, MemberState::Closing | MemberState::Closed) {
            return;
        }
        let member = self.is_member();
        self.state = MemberState::Closing;
        if member && self.config.enable_auto_commit && self.send_commit(CommitPurpose::Close) {
            return;
        }
        self.finish_close();
    }

    pub(super) fn finish_close(&mut self) {
        if !self.member_id.is_empty() && self.generation_id >= 0 {
            self.send_leave_group("close");
        }
        self.revoke_all();
        self.reset_membership(true);
        self.state = MemberState::Closed;
        self.events.push_back(ClassicConsumerEvent::Closed);
    }

    // (B) time.

    /// Fires what is due: heartbeats, retries, the poll-interval check.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        self.step();
    }

    // (D) outputs.

    /// The next request to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<ClassicConsumerEvent> {
        self.events.pop_front()
    }

    /// The next trace event.
    pub fn poll_trace(&mut self) -> Option<ClassicTraceEvent> {
        self.traces.pop_front()
    }

    /// The next time `handle_timeout` has work: a heartbeat, a retry, the poll-interval deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        if self.state == MemberState::Closed {
            return None;
        }
        let mut deadlines = vec![self.metadata_refresh_at_ms];
        if self.coordinator.is_none() {
            deadlines.push(self.coordinator_retry_at_ms);
        }
        if self.is_member() {
            deadlines.push(self.next_heartbeat_ms);
            deadlines.push(self.last_poll_ms + self.config.max_poll_interval_ms + 1);
        }
        deadlines.extend(self.fetch_backoff_until_ms.values().copied());
        deadlines.into_iter().filter(|d| *d > self.now_ms).min()
    }

    // The step: decide what to send.

    pub(super) fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = self.now_ms.max(now_ms);
    }

    pub(super) fn is_member(&self) -> bool {
        matches!(
            self.state,
            MemberState::Stable | MemberState::PreparingRejoin
        )
    }

    pub(super) fn has_in_flight(&self, matches: impl Fn(&InFlight) -> bool) -> bool {
        self.in_flight.values().any(matches)
    }

    pub(super) fn send(
        &mut self,
        destination: Destination,
        api_version: i16,
        request: RequestKind,
        what: InFlight,
    ) {
        self.next_request_id += 1;
        let request_id = RequestId(self.next_request_id);
        self.in_flight.insert(request_id, what);
        self.transmits.push_back(Transmit {
            request_id,
            destination,
            api_version,
            request,
        });
    }

    /// Sends whatever is due. Called after every input.
    pub(super) fn step(&mut self) {
        if matches!(self.state, MemberState::Closed) {
            return;
        }
        self.check_poll_interval();
        self.maybe_refresh_metadata();
        self.maybe_find_coordinator();
        if self.state == MemberState::Closing {
            return;
        }
        self.maybe_heartbeat();
        if self.state == MemberState::Stable && !self.rejoin_needed {
            self.maybe_fetch_positions();
            self.maybe_fetch();
        }
        self.check_invariants();
    }

    /// `max.poll.interval.ms`: a member that has not polled for that long leaves the group (the Java
    /// heartbeat thread's `maybeLeaveGroup`); what it consumed since its last commit is not committed.
    fn check_poll_interval(&mut self) {
        if self.is_member() && self.now_ms > self.last_poll_ms + self.config.max_poll_interval_ms {
            self.send_leave_group("max_poll_interval_exceeded");
            self.revoke_all();
            self.reset_membership(true);
            self.rejoin_needed = true;
        }
    }

    /// At `poll`: an eager rebalance commits (auto-commit), revokes every partition, then joins.
    fn maybe_rejoin(&mut self) {
        if !self.rejoin_needed
            || self.fatal
            || self.subscription.is_empty()
            || self.coordinator.is_none()
        {
            return;
        }
        if self.now_ms < self.join_retry_at_ms {
            return;
        }
        match self.state {
            MemberState::Stable => {
                if self.config.enable_auto_commit && self.send_commit(CommitPurpose::BeforeRejoin) {
                    self.state = MemberState::PreparingRejoin;
                } else {
                    self.revoke_all();
                    self.send_join_group();
                }
            }
            MemberState::Unjoined => self.send_join_group(),
            _ => {}
        }
    }

    /// Eager revocation: every partition goes, with its positions and fetched data.
    pub(super) fn revoke_all(&mut self) {
        if !self.assignment.is_empty() {
            self.traces.push_back(ClassicTraceEvent::PartitionsRevoked {
                group_id: self.config.group_id.clone(),
                member_id: self.member_id.clone(),
                partitions: self.assignment.clone(),
            });
        }
        self.assignment.clear();
        self.assignment_epoch += 1;
        self.positions.clear();
        self.awaiting_reset.clear();
        self.buffered.clear();
        self.fetch_backoff_until_ms.clear();
    }

    /// Forgets the generation (and the member id when `forget_member_id`), as Kafka's
    /// `resetGenerationOnResponseError` / `resetStateAndRejoin` do.
    pub(super) fn reset_membership(&mut self, forget_member_id: bool) {
        if forget_member_id {
            self.member_id.clear();
        }
        self.generation_id = -1;
        self.protocol_name = None;
        if !matches!(self.state, MemberState::Closing | MemberState::Closed) {
            self.state = MemberState::Unjoined;
        }
    }

    fn maybe_auto_commit(&mut self) {
        if !self.config.enable_auto_commit || self.now_ms < self.next_auto_commit_ms {
            return;
        }
        self.next_auto_commit_ms = self.now_ms + self.config.auto_commit_interval_ms;
        if self.has_in_flight(|f| {
            matches!(
                f,
                InFlight::OffsetCommit {
                    purpose: CommitPurpose::Auto,
                    ..
                }
            )
        }) {
            return;
        }
        // Only positions that moved since the last successful commit (Java commits all of them; this
        // keeps the trace to real changes, the committed offsets are the same).
        if self
            .positions
            .iter()
            .any(|(tp, offset)| self.committed.get(tp) != Some(offset))
        {
            self.send_commit(CommitPurpose::Auto);
        }
    }

    fn take_records(&mut self) -> Vec<ClassicRecord> {
        let mut records = Vec::new();
        let partitions: Vec<TopicPartitionName> = self.buffered.keys().cloned().collect();
        if partitions.is_empty() {
            return records;
        }
        let count = partitions.len();
        for index in 0..count {
            let tp = &partitions[(self.poll_cursor + index) % count];
            let queue = self.buffered.get_mut(tp).expect("listed above");
            while records.len() < self.config.max_poll_records {
                let Some(item) = queue.pop_front() else { break };
                match item {
                    Buffered::Skip { next_offset } => {
                        self.positions.insert(tp.clone(), next_offset);
                    }
                    Buffered::Record(record) => {
                        self.positions.insert(tp.clone(), record.offset + 1);
                        self.traces.push_back(ClassicTraceEvent::RecordDelivered {
                            group_id: self.config.group_id.clone(),
                            member_id: self.member_id.clone(),
                            topic_partition: tp.clone(),
                            offset: record.offset,
                            timestamp_ms: record.timestamp_ms,
                        });
                        records.push(record);
                    }
                }
            }
            if records.len() >= self.config.max_poll_records {
                self.poll_cursor = (self.poll_cursor + index + 1) % count;
                break;
            }
        }
        self.buffered.retain(|_, queue| !queue.is_empty());
        records
    }

    fn check_invariants(&self) {
        for tp in self.positions.keys() {
            debug_assert!(
                self.assignment.contains(tp),
                "position of an unassigned partition"
            );
        }
        for tp in self.buffered.keys() {
            debug_assert!(
                self.assignment.contains(tp),
                "data of an unassigned partition"
            );
        }
        if self.state == MemberState::Stable {
            debug_assert!(self.generation_id >= 0);
        }
    }
}
