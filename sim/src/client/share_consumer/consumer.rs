//! The share consumer engine (spec 7; Kafka `ShareConsumerImpl`, `ShareConsumeRequestManager`,
//! `ShareCompletedFetch`): application commands and `poll`. Request building and response handling live
//! in `requests.rs`, on the same type.
//!
//! The engine is sans-IO. Its methods come in four groups, as quinn's `Connection`:
//! * (A) getters: [`ShareConsumer::member_id`], [`ShareConsumer::acquisition_lock_timeout_ms`], ...;
//! * (B) inputs: `handle_timeout`, `handle_topic_metadata`, `handle_group_coordinator`,
//!   `handle_share_fetch_response`, `handle_share_acknowledge_response`, `handle_heartbeat_response`,
//!   `handle_request_failed`;
//! * (C) application commands: `subscribe`, `poll`, `acknowledge`, `acknowledge_offset`, `commit_sync`,
//!   `commit_async`, `close`;
//! * (D) outputs: `poll_transmit` (requests to send), `poll_event` (callbacks, commit results, close),
//!   `poll_trace` (trace events), `poll_timeout` (the next deadline).
//!
//! After any (B) or (C) call, drain `poll_transmit`, `poll_event` and `poll_trace`, then read
//! `poll_timeout` and call `handle_timeout` when it passes. `now_ms` must never go backwards. `poll` never
//! blocks: it returns what is buffered; the node calls it again after responses arrive.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use rand::Rng;

use super::completed_fetch::{CompletedFetch, ConsumerRecord, FetchItem};
use super::config::{AcknowledgementMode, AcquireMode, ConfigError, ShareConsumerConfig};
use super::deserializer::RecordDeserializer;
use super::events::{ClientError, ClientTraceEvent, CommitId, ConsumerEvent};
use super::membership::{MemberState, Membership};
use super::wire::{NodeId, RequestId, Transmit};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::semantics::Semantics;
use crate::share::AcknowledgeType;
use crate::ResponseError;

/// The acknowledgement mode in force. 4.0 infers it from API usage (spec 8): UNKNOWN until a poll returns
/// records, then PENDING until either `acknowledge` (EXPLICIT) or another poll (IMPLICIT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AcknowledgementModeState {
    /// No records delivered yet (4.0 only).
    Unknown,
    /// Records delivered, no decision yet (4.0 only).
    Pending,
    /// Implicit acknowledgement.
    Implicit,
    /// Explicit acknowledgement.
    Explicit,
}

/// What a delivered offset is waiting for.
#[derive(Clone, Debug)]
pub(super) enum EntryKind {
    /// A record returned to the application.
    Record(ConsumerRecord),
    /// A record that failed to deserialize: automatically RELEASEd, overridable by `acknowledge_offset`.
    /// `held` keeps it from being sent until its exception reached the application.
    DeserializationFailure { held: bool },
    /// A GAP or a REJECT of a corrupt batch, decided by the client.
    Automatic,
}

/// One acquired offset of the current poll's records, not yet taken for sending.
#[derive(Clone, Debug)]
pub(super) struct DeliveredEntry {
    pub node: NodeId,
    pub ack: Option<AcknowledgeType>,
    pub kind: EntryKind,
}

/// Acknowledgements of one partition taken for sending to one node, as one unit of outcome: they get
/// exactly one outcome, reported once (ACK-OUTCOME).
#[derive(Clone, Debug, Default)]
pub(super) struct PendingAcks {
    pub acks: BTreeMap<i64, AcknowledgeType>,
    /// Records acknowledged with RENEW: they come back in a poll once the broker confirms (spec 7.8).
    pub renew_records: BTreeMap<i64, ConsumerRecord>,
    /// `commitSync` calls waiting for the outcome.
    pub waiters: BTreeSet<CommitId>,
    /// Fail with a timeout if not completed by then.
    pub deadline_ms: u64,
    /// Send in a ShareAcknowledge, never piggybacked (commitSync / commitAsync; spec 2.3).
    pub send_alone: bool,
    /// The offsets of `acks` that went on the wire (a retried unit was sent before); the others get
    /// their outcome without ever having been sent (failed locally).
    pub sent: BTreeSet<i64>,
}

impl PendingAcks {
    pub fn merge(&mut self, other: PendingAcks) {
        // Each offset is taken once until its outcome, so two units never share an offset.
        debug_assert!(other.acks.keys().all(|o| !self.acks.contains_key(o)));
        self.acks.extend(other.acks);
        self.renew_records.extend(other.renew_records);
        self.waiters.extend(other.waiters);
        self.deadline_ms = self.deadline_ms.min(other.deadline_ms);
        self.send_alone |= other.send_alone;
        self.sent.extend(other.sent);
    }

    pub fn has_renew(&self) -> bool {
        self.acks.values().any(|t| *t == AcknowledgeType::Renew)
    }
}

/// A share session as the client keeps it per broker (spec 2.4).
#[derive(Clone, Debug, Default)]
pub(super) struct NodeSession {
    /// The epoch of the next request: 0 opens a session.
    pub epoch: i32,
    /// Partitions the broker has in the session.
    pub partitions: BTreeSet<TopicIdPartition>,
    /// The one request outstanding to this node.
    pub in_flight: Option<RequestId>,
    /// Do not send before this (SHARE_SESSION_LIMIT_REACHED backoff).
    pub retry_at_ms: Option<u64>,
}

/// What an outstanding request was.
#[derive(Clone, Debug)]
pub(super) enum RequestKind {
    ShareFetch {
        epoch: i32,
        partitions: BTreeSet<TopicIdPartition>,
        forgotten: BTreeSet<TopicIdPartition>,
    },
    ShareAcknowledge {
        epoch: i32,
    },
    Heartbeat,
}

/// An outstanding request.
#[derive(Clone, Debug)]
pub(super) struct InFlightRequest {
    pub node: NodeId,
    pub kind: RequestKind,
    pub acks: BTreeMap<TopicIdPartition, PendingAcks>,
    pub deadline_ms: u64,
}

/// A `commitSync` in progress.
#[derive(Clone, Debug)]
pub(super) struct SyncCommit {
    pub deadline_ms: u64,
    /// `None` while waiting; `Some(error)` once known.
    pub results: BTreeMap<TopicIdPartition, Option<Option<ResponseError>>>,
}

/// `close()` in progress.
#[derive(Clone, Copy, Debug)]
pub(super) struct CloseState {
    pub deadline_ms: u64,
    pub leave_started: bool,
}

/// The share consumer engine. See the module documentation for the driving contract.
#[derive(Debug)]
pub struct ShareConsumer {
    pub(super) config: ShareConsumerConfig,
    pub(super) semantics: Semantics,
    pub(super) deserializer: RecordDeserializer,
    pub(super) membership: Membership,
    pub(super) mode: AcknowledgementModeState,
    pub(super) topic_names: BTreeMap<TopicId, String>,
    pub(super) leaders: BTreeMap<TopicIdPartition, NodeId>,
    pub(super) sessions: BTreeMap<NodeId, NodeSession>,
    pub(super) buffer: VecDeque<CompletedFetch>,
    pub(super) renewed: VecDeque<ConsumerRecord>,
    pub(super) delivered: BTreeMap<TopicIdPartition, BTreeMap<i64, DeliveredEntry>>,
    pub(super) pending: BTreeMap<NodeId, BTreeMap<TopicIdPartition, PendingAcks>>,
    pub(super) requests: BTreeMap<RequestId, InFlightRequest>,
    pub(super) sync_commits: BTreeMap<CommitId, SyncCommit>,
    pub(super) deferred_error: Option<ClientError>,
    pub(super) fatal_error: Option<ClientError>,
    pub(super) acquisition_lock_timeout_ms: Option<i32>,
    pub(super) fetch_wanted: bool,
    pub(super) last_poll_ms: u64,
    pub(super) close: Option<CloseState>,
    pub(super) closed: bool,
    pub(super) next_request_id: u64,
    pub(super) next_commit_id: u64,
    pub(super) transmits: VecDeque<Transmit>,
    pub(super) events: VecDeque<ConsumerEvent>,
    pub(super) trace: VecDeque<ClientTraceEvent>,
    /// Acknowledgements taken for sending, counted per offset (ACK-OUTCOME bookkeeping).
    pub(super) acks_taken: u64,
    /// Acknowledgements that reached their outcome, counted per offset.
    pub(super) acks_reported: u64,
}

impl ShareConsumer {
    /// A consumer with a member id drawn from `rng` (Kafka's `Uuid.randomUuid().toString()` format). The
    /// config is validated against the release profile.
    pub fn new(
        config: ShareConsumerConfig,
        semantics: Semantics,
        deserializer: RecordDeserializer,
        rng: &mut impl Rng,
        now_ms: u64,
    ) -> Result<ShareConsumer, ConfigError> {
        config.validate(&semantics)?;
        let member_id = TopicId(rng.gen::<u128>()).to_kafka_string();
        let mode = if !semantics.acknowledgement_mode_config_supported {
            AcknowledgementModeState::Unknown
        } else {
            match config.acknowledgement_mode {
                AcknowledgementMode::Implicit => AcknowledgementModeState::Implicit,
                AcknowledgementMode::Explicit => AcknowledgementModeState::Explicit,
            }
        };
        Ok(ShareConsumer {
            config,
            semantics,
            deserializer,
            membership: Membership::new(member_id),
            mode,
            topic_names: BTreeMap::new(),
            leaders: BTreeMap::new(),
            sessions: BTreeMap::new(),
            buffer: VecDeque::new(),
            renewed: VecDeque::new(),
            delivered: BTreeMap::new(),
            pending: BTreeMap::new(),
            requests: BTreeMap::new(),
            sync_commits: BTreeMap::new(),
            deferred_error: None,
            fatal_error: None,
            acquisition_lock_timeout_ms: None,
            fetch_wanted: false,
            last_poll_ms: now_ms,
            close: None,
            closed: false,
            next_request_id: 0,
            next_commit_id: 0,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            trace: VecDeque::new(),
            acks_taken: 0,
            acks_reported: 0,
        })
    }

    // ----- (A) getters -----

    /// The client-generated member id.
    pub fn member_id(&self) -> &str {
        self.membership.member_id()
    }

    /// The member epoch.
    pub fn member_epoch(&self) -> i32 {
        self.membership.member_epoch()
    }

    /// The membership lifecycle state.
    pub fn member_state(&self) -> MemberState {
        self.membership.state()
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> &BTreeSet<TopicIdPartition> {
        self.membership.assignment()
    }

    /// Whether an assigned partition has no known leader. Kafka's fetchers then ask for a metadata update
    /// again (after `retry.backoff.ms`) until one is known: a partition whose leader died would
    /// otherwise never be fetched again.
    pub fn has_leaderless_assignment(&self) -> bool {
        self.close.is_none()
            && self
                .membership
                .assignment()
                .iter()
                .any(|tip| !self.leaders.contains_key(tip))
    }

    /// `acquisitionLockTimeoutMs()`: the value from the last ShareFetch (or v2 ShareAcknowledge) response.
    pub fn acquisition_lock_timeout_ms(&self) -> Option<i32> {
        self.acquisition_lock_timeout_ms
    }

    /// The acknowledgement mode in force.
    pub fn acknowledgement_mode(&self) -> AcknowledgementModeState {
        self.mode
    }

    /// The epoch the next request to `node` carries (0 = no session).
    pub fn share_session_epoch(&self, node: NodeId) -> i32 {
        self.sessions.get(&node).map_or(0, |s| s.epoch)
    }

    /// True once `close` finished.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The configuration.
    pub fn config(&self) -> &ShareConsumerConfig {
        &self.config
    }

    /// Records whose RENEW the broker confirmed, waiting to come back in the next `poll` (spec 7.8).
    pub fn renewed_record_count(&self) -> usize {
        self.renewed.len()
    }

    /// (acknowledgements taken for sending, acknowledgements whose outcome was reported), per offset.
    /// After `close` they are equal (ACK-OUTCOME).
    pub fn acknowledgement_counts(&self) -> (u64, u64) {
        (self.acks_taken, self.acks_reported)
    }

    // ----- (C) application commands -----

    /// `subscribe(topics)`: topic names only; an empty list is `unsubscribe()`.
    pub fn subscribe(&mut self, now_ms: u64, topics: &[&str]) -> Result<(), ClientError> {
        self.ensure_open()?;
        if topics.iter().any(|t| t.trim().is_empty()) {
            return Err(ClientError::IllegalArgument(
                "Topic collection to subscribe to cannot contain null or empty topic".to_owned(),
            ));
        }
        let mut names: Vec<String> = topics.iter().map(|t| (*t).to_owned()).collect();
        names.sort();
        names.dedup();
        self.membership.subscribe(now_ms, names);
        Ok(())
    }

    /// `unsubscribe()`: leave the group (heartbeat epoch -1).
    pub fn unsubscribe(&mut self, now_ms: u64) -> Result<(), ClientError> {
        self.ensure_open()?;
        self.membership.leave(now_ms);
        Ok(())
    }

    /// `poll()`: acknowledges the previous poll's records (implicit mode), surfaces a deferred exception,
    /// and returns buffered records (spec 7.1-7.6). Never blocks.
    pub fn poll(&mut self, now_ms: u64) -> Result<Vec<ConsumerRecord>, ClientError> {
        self.ensure_open()?;
        if self.membership.subscription().is_empty() {
            return Err(ClientError::IllegalState(
                "Consumer is not subscribed to any topics".to_owned(),
            ));
        }
        self.last_poll_ms = now_ms;
        if self.membership.state() == MemberState::Left {
            // Left on max.poll.interval.ms: a poll rejoins.
            self.membership.rejoin(now_ms);
        }
        if let Some(error) = self.fatal_error.clone() {
            return Err(error);
        }
        match self.mode {
            AcknowledgementModeState::Explicit => {
                if self.has_unacknowledged_records() {
                    return Err(ClientError::IllegalState(
                        "All records must be acknowledged in explicit acknowledgement mode"
                            .to_owned(),
                    ));
                }
            }
            AcknowledgementModeState::Pending => {
                self.mode = AcknowledgementModeState::Implicit;
                self.accept_unacknowledged();
            }
            AcknowledgementModeState::Implicit => self.accept_unacknowledged(),
            AcknowledgementModeState::Unknown => {}
        }
        let deadline_ms = now_ms + self.config.default_api_timeout_ms;
        self.take_acknowledgements(now_ms, None, deadline_ms, false);
        if let Some(error) = self.deferred_error.take() {
            return Err(self.surface(now_ms, error));
        }
        let renewed_before = self.renewed.len();
        let (records, error) = self.collect_records();
        // Renewed records come first; they are the same acquisition back again, not a new delivery.
        let renewed_returned = renewed_before - self.renewed.len();
        // Fetch more only when nothing is left to hand out, as Kafka 4.2's `ShareConsumerImpl.collect`
        // sends its ShareFetchEvent only when the current fetch and the buffer are empty; renewed records
        // (confirmed or still waiting for the broker) keep the current fetch non-empty.
        // `ShareConsumeRequestManager` clears `fetchMoreRecords` when a ShareFetch response acquires
        // records, so the client never fetches ahead while the application holds records (their locks
        // would run down unseen).
        if records.is_empty()
            && self.renewed.is_empty()
            && self.buffer.is_empty()
            && !self.renew_outstanding()
        {
            self.fetch_wanted = true;
        }
        if let Some(error) = error {
            if records.is_empty() {
                return Err(self.surface(now_ms, error));
            }
            self.deferred_error = Some(error);
        }
        for record in records.iter().skip(renewed_returned) {
            self.trace.push_back(ClientTraceEvent::RecordDelivered {
                at_ms: now_ms,
                member_id: self.member_id().to_owned(),
                topic_id_partition: record.topic_id_partition,
                offset: record.offset,
                delivery_count: record.delivery_count,
            });
        }
        if !records.is_empty() && self.mode == AcknowledgementModeState::Unknown {
            self.mode = AcknowledgementModeState::Pending;
        }
        self.check_invariants();
        Ok(records)
    }

    /// `acknowledge(record, type)` (explicit mode; spec 7.2, 7.8). The default type is ACCEPT.
    pub fn acknowledge(
        &mut self,
        record: &ConsumerRecord,
        ack_type: AcknowledgeType,
    ) -> Result<(), ClientError> {
        self.ensure_open()?;
        match ack_type {
            AcknowledgeType::Gap => {
                return Err(ClientError::IllegalArgument(
                    "GAP is not an application acknowledge type".to_owned(),
                ))
            }
            AcknowledgeType::Renew if !self.semantics.renew_supported => {
                return Err(ClientError::IllegalArgument(format!(
                    "RENEW does not exist in {}",
                    self.semantics.release
                )))
            }
            _ => {}
        }
        self.ensure_explicit()?;
        let entry = self
            .delivered
            .get_mut(&record.topic_id_partition)
            .and_then(|entries| entries.get_mut(&record.offset))
            .filter(|entry| matches!(entry.kind, EntryKind::Record(_)))
            .ok_or_else(|| {
                ClientError::IllegalState(
                    "The record cannot be acknowledged: it is not in the current batch or its \
                     acknowledgement was already sent"
                        .to_owned(),
                )
            })?;
        if ack_type == AcknowledgeType::Renew
            && entry.ack.is_some_and(|t| t != AcknowledgeType::Renew)
        {
            return Err(ClientError::IllegalState(
                "A record already acknowledged with another type cannot be renewed".to_owned(),
            ));
        }
        entry.ack = Some(ack_type);
        if self.mode == AcknowledgementModeState::Pending {
            self.mode = AcknowledgementModeState::Explicit;
        }
        Ok(())
    }

    /// `acknowledge(topic, partition, offset, type)`: only to override the automatic RELEASE of a record
    /// that failed to deserialize (spec 7.5).
    pub fn acknowledge_offset(
        &mut self,
        topic_id_partition: TopicIdPartition,
        offset: i64,
        ack_type: AcknowledgeType,
    ) -> Result<(), ClientError> {
        self.ensure_open()?;
        if !matches!(
            ack_type,
            AcknowledgeType::Accept | AcknowledgeType::Release | AcknowledgeType::Reject
        ) {
            return Err(ClientError::IllegalArgument(format!(
                "{ack_type:?} cannot override a deserialization failure"
            )));
        }
        self.ensure_explicit()?;
        let entry = self
            .delivered
            .get_mut(&topic_id_partition)
            .and_then(|entries| entries.get_mut(&offset))
            .filter(|entry| matches!(entry.kind, EntryKind::DeserializationFailure { .. }))
            .ok_or_else(|| {
                ClientError::IllegalState(
                    "The offset is not that of a record that failed to deserialize".to_owned(),
                )
            })?;
        entry.ack = Some(ack_type);
        Ok(())
    }

    /// `commitSync(timeout)`: sends every pending acknowledgement in ShareAcknowledge requests; the result
    /// arrives as [`ConsumerEvent::CommitSyncCompleted`] (spec 7.3).
    pub fn commit_sync(&mut self, now_ms: u64, timeout_ms: u64) -> Result<CommitId, ClientError> {
        self.ensure_open()?;
        if self.mode == AcknowledgementModeState::Implicit {
            self.accept_unacknowledged();
        }
        let commit_id = CommitId(self.next_commit_id);
        self.next_commit_id += 1;
        let deadline_ms = now_ms.saturating_add(timeout_ms);
        self.take_acknowledgements(now_ms, Some(commit_id), deadline_ms, true);
        let mut results = BTreeMap::new();
        for partitions in self.pending.values_mut() {
            for (tip, pending) in partitions.iter_mut() {
                pending.waiters.insert(commit_id);
                pending.send_alone = true;
                results.insert(*tip, None);
            }
        }
        if results.is_empty() {
            self.events.push_back(ConsumerEvent::CommitSyncCompleted {
                commit_id,
                results: BTreeMap::new(),
            });
        } else {
            self.sync_commits.insert(
                commit_id,
                SyncCommit {
                    deadline_ms,
                    results,
                },
            );
        }
        Ok(commit_id)
    }

    /// `commitAsync()`: sends the pending acknowledgements in ShareAcknowledge requests without waiting.
    pub fn commit_async(&mut self, now_ms: u64) -> Result<(), ClientError> {
        self.ensure_open()?;
        if self.mode == AcknowledgementModeState::Implicit {
            self.accept_unacknowledged();
        }
        let deadline_ms = now_ms + self.config.default_api_timeout_ms;
        self.take_acknowledgements(now_ms, None, deadline_ms, true);
        Ok(())
    }

    /// `close(timeout)`: FINAL ShareAcknowledge with the pending acknowledgements to every node with a
    /// session, then leave the group; [`ConsumerEvent::Closed`] when done (spec 7.7). Implicit mode does
    /// not accept the last poll's records: the session close releases them.
    pub fn close(&mut self, now_ms: u64, timeout_ms: u64) -> Result<(), ClientError> {
        if self.closed || self.close.is_some() {
            return Ok(());
        }
        let deadline_ms = now_ms.saturating_add(timeout_ms.min(self.config.request_timeout_ms));
        // Only acknowledgements already made are sent; un-acknowledged records are dropped here and
        // released by the broker when the session closes.
        self.take_acknowledgements(now_ms, None, deadline_ms, true);
        self.delivered.clear();
        self.buffer.clear();
        self.renewed.clear();
        self.deferred_error = None;
        self.close = Some(CloseState {
            deadline_ms,
            leave_started: false,
        });
        self.advance_close(now_ms);
        Ok(())
    }

    // ----- (D) outputs -----

    /// The next request to send.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        if self.transmits.is_empty() {
            self.prepare_transmits(now_ms);
        }
        self.transmits.pop_front()
    }

    /// The next event for the application side.
    pub fn poll_event(&mut self) -> Option<ConsumerEvent> {
        self.events.pop_front()
    }

    /// The next trace event.
    pub fn poll_trace(&mut self) -> Option<ClientTraceEvent> {
        self.trace.pop_front()
    }

    // ----- internals -----

    fn ensure_open(&self) -> Result<(), ClientError> {
        if self.closed || self.close.is_some() {
            Err(ClientError::IllegalState(
                "This consumer has already been closed".to_owned(),
            ))
        } else {
            Ok(())
        }
    }

    fn ensure_explicit(&self) -> Result<(), ClientError> {
        match self.mode {
            AcknowledgementModeState::Implicit => Err(ClientError::IllegalState(
                "acknowledge() is not allowed: implicit acknowledgement of delivery is in use"
                    .to_owned(),
            )),
            _ => Ok(()),
        }
    }

    /// Whether a RENEW is taken for sending or waiting for its answer (spec 7.8).
    fn renew_outstanding(&self) -> bool {
        let pending = self.pending.values().flat_map(BTreeMap::values);
        let in_flight = self.requests.values().flat_map(|r| r.acks.values());
        pending
            .chain(in_flight)
            .any(|acks| !acks.renew_records.is_empty())
    }

    fn has_unacknowledged_records(&self) -> bool {
        self.delivered
            .values()
            .flat_map(|e| e.values())
            .any(|entry| entry.ack.is_none() && matches!(entry.kind, EntryKind::Record(_)))
    }

    /// `acknowledgeAll(ACCEPT)`: ACCEPT every delivered record without an acknowledgement; existing ones
    /// (an automatic RELEASE) are not overwritten.
    fn accept_unacknowledged(&mut self) {
        for entry in self.delivered.values_mut().flat_map(|e| e.values_mut()) {
            if entry.ack.is_none() {
                entry.ack = Some(AcknowledgeType::Accept);
            }
        }
    }

    /// Moves every decided, not held acknowledgement to the pending queue of its node.
    pub(super) fn take_acknowledgements(
        &mut self,
        now_ms: u64,
        waiter: Option<CommitId>,
        deadline_ms: u64,
        send_alone: bool,
    ) {
        let delivered = std::mem::take(&mut self.delivered);
        for (tip, entries) in delivered {
            for (offset, entry) in entries {
                let held = matches!(entry.kind, EntryKind::DeserializationFailure { held: true });
                let Some(ack_type) = entry.ack.filter(|_| !held) else {
                    self.delivered.entry(tip).or_default().insert(offset, entry);
                    continue;
                };
                let mut taken = PendingAcks {
                    deadline_ms,
                    send_alone,
                    ..PendingAcks::default()
                };
                taken.acks.insert(offset, ack_type);
                if ack_type == AcknowledgeType::Renew {
                    if let EntryKind::Record(record) = entry.kind {
                        taken.renew_records.insert(offset, record);
                    }
                }
                taken.waiters.extend(waiter);
                self.acks_taken += 1;
                self.queue_pending(now_ms, entry.node, tip, taken, true);
            }
        }
    }

    /// Queues a unit of acknowledgements for `node`. An offset can only be pending once: when the broker
    /// re-acquired an offset whose earlier acknowledgement was never sent, the older decision is
    /// superseded and reported as INVALID_RECORD_STATE (its acquisition is gone). `incoming_is_newer`
    /// says which side is older: a fresh take is newer, a retried unit is older.
    pub(super) fn queue_pending(
        &mut self,
        now_ms: u64,
        node: NodeId,
        tip: TopicIdPartition,
        mut acks: PendingAcks,
        incoming_is_newer: bool,
    ) {
        debug_assert!(!acks.acks.is_empty());
        let partitions = self.pending.entry(node).or_default();
        let mut superseded = PendingAcks::default();
        if let Some(existing) = partitions.get_mut(&tip) {
            let overlap: Vec<i64> = acks
                .acks
                .keys()
                .filter(|o| existing.acks.contains_key(o))
                .copied()
                .collect();
            let older = if incoming_is_newer {
                &mut *existing
            } else {
                &mut acks
            };
            for offset in overlap {
                if let Some(ack_type) = older.acks.remove(&offset) {
                    superseded.acks.insert(offset, ack_type);
                }
                older.renew_records.remove(&offset);
                if older.sent.remove(&offset) {
                    superseded.sent.insert(offset);
                }
            }
            superseded.waiters = older.waiters.clone();
            if existing.acks.is_empty() {
                partitions.remove(&tip);
            }
        }
        if !acks.acks.is_empty() {
            match partitions.entry(tip) {
                std::collections::btree_map::Entry::Occupied(mut existing) => {
                    existing.get_mut().merge(acks)
                }
                std::collections::btree_map::Entry::Vacant(slot) => {
                    slot.insert(acks);
                }
            }
        }
        if partitions.is_empty() {
            self.pending.remove(&node);
        }
        if !superseded.acks.is_empty() {
            self.report_outcome(
                now_ms,
                tip,
                superseded,
                Some(ResponseError::InvalidRecordState),
            );
        }
    }

    /// Records an exception thrown to the application: the trace event, and the end of the holds on
    /// deserialization failures (their acknowledgement can now be overridden and then sent).
    fn surface(&mut self, now_ms: u64, error: ClientError) -> ClientError {
        for entry in self.delivered.values_mut().flat_map(|e| e.values_mut()) {
            if let EntryKind::DeserializationFailure { held } = &mut entry.kind {
                *held = false;
            }
        }
        let (topic_id_partition, offset) = match &error {
            ClientError::RecordDeserialization {
                topic_id_partition,
                offset,
                ..
            } => (Some(*topic_id_partition), Some(*offset)),
            ClientError::CorruptRecord {
                topic_id_partition,
                base_offset,
            } => (Some(*topic_id_partition), Some(*base_offset)),
            _ => (None, None),
        };
        self.trace.push_back(ClientTraceEvent::PollError {
            at_ms: now_ms,
            member_id: self.member_id().to_owned(),
            error: error.name(),
            topic_id_partition,
            offset,
        });
        error
    }

    fn add_entry(&mut self, tip: TopicIdPartition, offset: i64, entry: DeliveredEntry) {
        if let Some(previous) = self.delivered.entry(tip).or_default().insert(offset, entry) {
            // The same offset delivered twice in one poll (its lock expired while buffered and the broker
            // re-acquired it): the earlier decision is superseded, and still gets its one outcome.
            if let Some(ack_type) = previous.ack {
                let mut superseded = PendingAcks::default();
                superseded.acks.insert(offset, ack_type);
                self.acks_taken += 1;
                let now_ms = self.last_poll_ms;
                self.report_outcome(
                    now_ms,
                    tip,
                    superseded,
                    Some(ResponseError::InvalidRecordState),
                );
            }
        }
    }

    /// Walks renewed records and the buffer (Kafka `ShareFetchCollector`): GAPs and corrupt batches are
    /// acknowledged automatically, records are returned up to `max.poll.records` (soft in batch_optimized,
    /// strict in record_limit), and the first exception stops the walk.
    fn collect_records(&mut self) -> (Vec<ConsumerRecord>, Option<ClientError>) {
        let max_records = self.config.max_poll_records as usize;
        let strict = self.config.acquire_mode == AcquireMode::RecordLimit;
        let mut records: Vec<ConsumerRecord> = Vec::new();
        while records.len() < max_records {
            let Some(record) = self.renewed.pop_front() else {
                break;
            };
            let entry = DeliveredEntry {
                node: record.node,
                ack: None,
                kind: EntryKind::Record(record.clone()),
            };
            self.add_entry(record.topic_id_partition, record.offset, entry);
            records.push(record);
        }
        let mut error = None;
        let mut current_batch: Option<(TopicIdPartition, i64)> = None;
        'fetches: while let Some(mut fetch) = self.buffer.pop_front() {
            let (tip, node) = (fetch.topic_id_partition, fetch.node);
            while let Some(item) = fetch.peek() {
                match item {
                    FetchItem::Gap { offset } => {
                        let offset = *offset;
                        let entry = DeliveredEntry {
                            node,
                            ack: Some(AcknowledgeType::Gap),
                            kind: EntryKind::Automatic,
                        };
                        self.add_entry(tip, offset, entry);
                    }
                    FetchItem::CorruptBatch {
                        base_offset,
                        offsets,
                    } => {
                        // Spec 7.6: REJECT every acquired offset of the batch.
                        let base_offset = *base_offset;
                        for offset in offsets.clone() {
                            let entry = DeliveredEntry {
                                node,
                                ack: Some(AcknowledgeType::Reject),
                                kind: EntryKind::Automatic,
                            };
                            self.add_entry(tip, offset, entry);
                        }
                        fetch.next_item();
                        error = Some(ClientError::CorruptRecord {
                            topic_id_partition: tip,
                            base_offset,
                        });
                        self.requeue_fetch(fetch);
                        break 'fetches;
                    }
                    FetchItem::Record(record) => {
                        let finishes_batch =
                            !strict && current_batch == Some((tip, record.log_batch_base_offset));
                        if records.len() >= max_records && !finishes_batch {
                            self.requeue_fetch(fetch);
                            break 'fetches;
                        }
                        let offset = record.offset;
                        if let Err(message) = self
                            .deserializer
                            .deserialize(record.key.as_ref(), record.value.as_ref())
                        {
                            // Spec 7.5: automatic RELEASE, surfaced now or by the next poll.
                            let entry = DeliveredEntry {
                                node,
                                ack: Some(AcknowledgeType::Release),
                                kind: EntryKind::DeserializationFailure { held: true },
                            };
                            self.add_entry(tip, offset, entry);
                            fetch.next_item();
                            error = Some(ClientError::RecordDeserialization {
                                topic_id_partition: tip,
                                offset,
                                message,
                            });
                            self.requeue_fetch(fetch);
                            break 'fetches;
                        }
                        current_batch = Some((tip, record.log_batch_base_offset));
                        let record = record.clone();
                        let entry = DeliveredEntry {
                            node,
                            ack: None,
                            kind: EntryKind::Record(record.clone()),
                        };
                        self.add_entry(tip, offset, entry);
                        records.push(record);
                    }
                }
                fetch.next_item();
            }
        }
        // Spec 8: within one poll, a partition's records are in increasing offset order.
        records.sort_by_key(|r| (r.topic_id_partition, r.offset));
        (records, error)
    }

    fn requeue_fetch(&mut self, fetch: CompletedFetch) {
        if !fetch.is_empty() {
            self.buffer.push_front(fetch);
        }
    }

    /// Our own consistency; never depends on input.
    pub(super) fn check_invariants(&self) {
        if cfg!(debug_assertions) {
            for (node, session) in &self.sessions {
                if let Some(request_id) = session.in_flight {
                    let request = self.requests.get(&request_id);
                    debug_assert!(request.is_some_and(|r| r.node == *node));
                }
            }
            for partitions in self.pending.values() {
                debug_assert!(!partitions.is_empty());
                debug_assert!(partitions.values().all(|p| !p.acks.is_empty()));
            }
            debug_assert!(self.delivered.values().all(|e| !e.is_empty()));
            debug_assert!(self.buffer.iter().all(|f| !f.is_empty()));
            if self.closed {
                debug_assert!(self.pending.is_empty());
            }
            // ACK-OUTCOME: every taken acknowledgement is pending, in flight, or reported, exactly once.
            let pending: usize = self
                .pending
                .values()
                .flat_map(|p| p.values())
                .map(|p| p.acks.len())
                .sum();
            let in_flight: usize = self
                .requests
                .values()
                .flat_map(|r| r.acks.values())
                .map(|p| p.acks.len())
                .sum();
            debug_assert_eq!(
                self.acks_taken,
                self.acks_reported + pending as u64 + in_flight as u64,
                "ACK-OUTCOME bookkeeping"
            );
        }
    }
}
