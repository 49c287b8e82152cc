//! The share-fetch service: share sessions, the lazily created share partitions of this broker, the
//! persister, and the requests waiting on them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kafka_protocol::messages::ResponseKind;

use super::host::{CallFailure, CallId, RequestToken, ServiceOutput, ShareFetchHost};
use super::persister::{OpResult, Persister, PersisterOp};
use super::requests::PendingRequest;
use crate::coordinator::share::{SharePartitionKey, TopicIdPartition};
use crate::net::ConnectionId;
use crate::semantics::Semantics;
use crate::share::partition::{
    AcknowledgeTicket, PartitionEffect, PartitionState, SharePartition, SharePartitionConfig,
};
use crate::share::session::{self, ReleasedSession, ShareSessionCache, ShareSessionCacheConfig};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// The broker-side share-fetch service (spec 2, 3.1-3.2, 3.5): ShareFetch and ShareAcknowledge with share
/// sessions, the share-partition leaders of this broker, and their persister.
///
/// # How to drive it
///
/// Inputs take `now_ms` (never decreasing) and the broker as `&impl ShareFetchHost`:
/// `handle_share_fetch` / `handle_share_acknowledge` (a client request, named by the broker's
/// [`RequestToken`]), `handle_call_result` (the outcome of an outgoing call), `handle_connection_closed`,
/// `handle_leadership_changed` (metadata moved; share partitions this broker no longer leads are fenced
/// and dropped), `handle_records_appended` (the high watermark or LSO of a partition moved: delayed
/// fetches retry) and `handle_timeout`. After each, drain `poll_output()` and re-arm the timer from
/// `poll_timeout()`.
#[derive(Debug)]
pub struct ShareFetchService {
    pub(super) semantics: Semantics,
    pub(super) sessions: ShareSessionCache,
    pub(super) partitions: BTreeMap<SharePartitionKey, SharePartition>,
    pub(super) persister: Persister,
    /// The serial the session cache knows each connection by.
    connections: BTreeMap<ConnectionId, session::ConnectionId>,
    next_connection_serial: u64,
    pub(super) next_call_id: u64,
    pub(super) pending: BTreeMap<RequestToken, PendingRequest>,
    /// Acknowledgements in flight: (partition, ticket) → the request waiting for them.
    pub(super) tickets: BTreeMap<(SharePartitionKey, AcknowledgeTicket), RequestToken>,
    pub(super) outputs: VecDeque<ServiceOutput>,
    /// Partitions whose delayed fetches should retry.
    pub(super) woken: BTreeSet<TopicIdPartition>,
    /// ShareFetch errors answered only after the request's MaxWaitMs (SHARE_SESSION_LIMIT_REACHED):
    /// token → (deadline, error, AcquisitionLockTimeoutMs).
    pub(super) delayed_errors: BTreeMap<RequestToken, (u64, ResponseError, i32)>,
    /// Groups left with no share session here (`onGroupEmpty`) whose share partitions still await a
    /// persister answer: each is dropped once its answers are in (see `drop_group_partitions`).
    empty_groups: BTreeSet<String>,
}

impl ShareFetchService {
    /// A service for a broker of release `semantics`.
    pub fn new(semantics: Semantics) -> ShareFetchService {
        let sessions = ShareSessionCacheConfig::new(&semantics);
        ShareFetchService::with_session_cache(semantics, sessions)
    }

    /// A service whose share-session cache uses `sessions` (e.g. another
    /// `group.share.max.share.sessions`).
    pub fn with_session_cache(
        semantics: Semantics,
        sessions: ShareSessionCacheConfig,
    ) -> ShareFetchService {
        ShareFetchService {
            sessions: ShareSessionCache::new(sessions),
            semantics,
            partitions: BTreeMap::new(),
            persister: Persister::default(),
            connections: BTreeMap::new(),
            next_connection_serial: 0,
            next_call_id: 0,
            pending: BTreeMap::new(),
            tickets: BTreeMap::new(),
            outputs: VecDeque::new(),
            woken: BTreeSet::new(),
            delayed_errors: BTreeMap::new(),
            empty_groups: BTreeSet::new(),
        }
    }

    // ---- getters ---------------------------------------------------------------------------------

    /// The share partition of `key`, if this broker holds one.
    pub fn share_partition(&self, key: &SharePartitionKey) -> Option<&SharePartition> {
        self.partitions.get(key)
    }

    /// Every share partition held, in key order.
    pub fn share_partitions(&self) -> impl Iterator<Item = (&SharePartitionKey, &SharePartition)> {
        self.partitions.iter()
    }

    /// The share sessions.
    pub fn sessions(&self) -> &ShareSessionCache {
        &self.sessions
    }

    /// Client requests not yet answered (delayed fetches and requests waiting for writes).
    pub fn pending_request_count(&self) -> usize {
        self.pending.len()
    }

    /// Persister operations in flight.
    pub fn persister_in_flight(&self) -> usize {
        self.persister.in_flight()
    }

    // ---- outputs ---------------------------------------------------------------------------------

    /// The next output, oldest first.
    pub fn poll_output(&mut self) -> Option<ServiceOutput> {
        self.outputs.pop_front()
    }

    /// The earliest deadline: a lock expiry, a delayed fetch's MaxWaitMs, or a persister retry.
    pub fn poll_timeout(&self) -> Option<u64> {
        let locks = self
            .partitions
            .values()
            .filter_map(SharePartition::poll_timeout);
        let delayed = self
            .pending
            .values()
            .filter_map(PendingRequest::deadline_ms);
        let errors = self.delayed_errors.values().map(|(at, _, _)| *at);
        locks
            .chain(delayed)
            .chain(errors)
            .chain(self.persister.poll_timeout())
            .min()
    }

    // ---- inputs ----------------------------------------------------------------------------------

    /// Time passed: lock expiries, delayed-fetch deadlines, persister retries.
    pub fn handle_timeout(&mut self, now_ms: u64, host: &impl ShareFetchHost) {
        let expired: Vec<SharePartitionKey> = self
            .partitions
            .iter()
            .filter(|(_, partition)| partition.poll_timeout().is_some_and(|at| at <= now_ms))
            .map(|(key, _)| key.clone())
            .collect();
        for key in expired {
            if let Some(partition) = self.partitions.get_mut(&key) {
                partition.handle_timeout(now_ms);
            }
            self.drain_partition(now_ms, &key, host);
        }
        self.persister
            .handle_timeout(now_ms, &mut self.next_call_id);
        self.flush_persister(now_ms, host);
        let due: Vec<RequestToken> = self
            .pending
            .iter()
            .filter(|(_, pending)| pending.deadline_ms().is_some_and(|at| at <= now_ms))
            .map(|(token, _)| *token)
            .collect();
        for token in due {
            self.retry_fetch(now_ms, token, host, true);
        }
        let due_errors: Vec<RequestToken> = self
            .delayed_errors
            .iter()
            .filter(|(_, (at, _, _))| *at <= now_ms)
            .map(|(token, _)| *token)
            .collect();
        for token in due_errors {
            if let Some((_, error, lock_timeout_ms)) = self.delayed_errors.remove(&token) {
                self.respond_fetch_error(token, error, lock_timeout_ms);
            }
        }
        self.process_wakeups(now_ms, host);
    }

    /// The group configs changed: every share partition takes its group's new effective configs
    /// (Kafka reads them at each use; spec 1.4).
    pub fn handle_group_configs_changed(
        &mut self,
        config_for: impl Fn(&str) -> SharePartitionConfig,
    ) {
        for (key, partition) in self.partitions.iter_mut() {
            let config = config_for(&key.group_id);
            if *partition.config() != config {
                partition.update_config(config);
            }
        }
    }

    /// The outcome of outgoing call `call_id` (a persister call).
    pub fn handle_call_result(
        &mut self,
        now_ms: u64,
        call_id: CallId,
        result: Result<ResponseKind, CallFailure>,
        host: &impl ShareFetchHost,
    ) {
        self.persister
            .handle_call_result(now_ms, call_id, result, &mut self.next_call_id);
        self.flush_persister(now_ms, host);
        self.process_wakeups(now_ms, host);
    }

    /// A client connection closed (spec 2.5): its share session is released (4.1+).
    pub fn handle_connection_closed(
        &mut self,
        now_ms: u64,
        connection: ConnectionId,
        host: &impl ShareFetchHost,
    ) {
        let Some(serial) = self.connections.remove(&connection) else {
            return;
        };
        let outcome = self.sessions.handle_disconnect(serial);
        if let Some(released) = outcome.released {
            self.release_session_records(now_ms, &released, host);
        }
        if let Some(group_id) = outcome.group_empty {
            self.drop_group_partitions(now_ms, &group_id, host);
        }
        self.process_wakeups(now_ms, host);
    }

    /// The group has no share session left on this broker (4.1+, `SPM.ShareGroupListenerImpl
    /// .onGroupEmpty`, KAFKA-19116/KAFKA-19258, apache/kafka#19666): its share partitions are fenced
    /// and dropped from the cache, so the next fetch re-reads their state from the share coordinator
    /// (an offset reset made while the group was empty then takes effect at once).
    ///
    /// Kafka drops them at once and lets the release writes just started complete on the discarded
    /// objects. Here a persister answer is matched to its partition by key, leader epoch and write id,
    /// which a re-created partition of the same epoch could reuse; so a partition still waiting for an
    /// answer is dropped when the last one arrives (milliseconds later), if the group is still empty.
    fn drop_group_partitions(&mut self, now_ms: u64, group_id: &str, host: &impl ShareFetchHost) {
        for key in self.group_partition_keys(group_id) {
            if !self.drop_if_idle(now_ms, &key, host) {
                self.empty_groups.insert(group_id.to_string());
            }
        }
    }

    /// The keys of `group_id`'s share partitions on this broker.
    fn group_partition_keys(&self, group_id: &str) -> Vec<SharePartitionKey> {
        self.partitions
            .keys()
            .filter(|key| key.group_id == group_id)
            .cloned()
            .collect()
    }

    /// Fences and drops `key`'s partition of an empty group unless it awaits a persister answer;
    /// whether it is gone.
    fn drop_if_idle(
        &mut self,
        now_ms: u64,
        key: &SharePartitionKey,
        host: &impl ShareFetchHost,
    ) -> bool {
        let Some(partition) = self.partitions.get_mut(key) else {
            return true;
        };
        if partition.pending_write_count() > 0
            || partition.partition_state() == PartitionState::Initializing
        {
            return false;
        }
        partition.handle_fenced(now_ms);
        self.drain_partition(now_ms, key, host);
        self.drop_partition(now_ms, key, ResponseError::NotLeaderOrFollower, host);
        true
    }

    /// After a persister answer: the partitions of groups left empty are dropped once idle; a group
    /// that has a session again keeps them.
    fn drop_idle_partitions_of_empty_groups(&mut self, now_ms: u64, host: &impl ShareFetchHost) {
        // Taken out while dropping: a drop drains the partition, which flushes the persister, which
        // comes back here.
        let groups = std::mem::take(&mut self.empty_groups);
        let mut waiting = BTreeSet::new();
        for group_id in groups {
            if self.sessions.group_session_count(&group_id) > 0 {
                continue;
            }
            let mut all_gone = true;
            for key in self.group_partition_keys(&group_id) {
                all_gone &= self.drop_if_idle(now_ms, &key, host);
            }
            if !all_gone {
                waiting.insert(group_id);
            }
        }
        self.empty_groups.extend(waiting);
    }

    /// Metadata changed: every share partition whose topic-partition this broker no longer leads at the
    /// partition's leader epoch is fenced and dropped (spec 3.5, `onBecomingFollower`); acknowledgements
    /// waiting on it fail with NOT_LEADER_OR_FOLLOWER, and waiting fetches retry (and see the error).
    pub fn handle_leadership_changed(&mut self, now_ms: u64, host: &impl ShareFetchHost) {
        let lost: Vec<SharePartitionKey> = self
            .partitions
            .iter()
            .filter(|(key, partition)| {
                !matches!(host.leadership(key.topic_id_partition()),
                    Some(super::host::Leadership::Local { leader_epoch })
                        if leader_epoch == partition.leader_epoch())
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in lost {
            if let Some(partition) = self.partitions.get_mut(&key) {
                partition.handle_fenced(now_ms);
            }
            self.drain_partition(now_ms, &key, host);
            self.drop_partition(now_ms, &key, ResponseError::NotLeaderOrFollower, host);
        }
        self.process_wakeups(now_ms, host);
    }

    /// New records became readable on `tp` (high watermark or LSO moved): delayed fetches retry.
    pub fn handle_records_appended(
        &mut self,
        now_ms: u64,
        tp: TopicIdPartition,
        host: &impl ShareFetchHost,
    ) {
        self.woken.insert(tp);
        self.process_wakeups(now_ms, host);
    }

    // ---- internals -------------------------------------------------------------------------------

    pub(super) fn connection_serial(&mut self, connection: ConnectionId) -> session::ConnectionId {
        if let Some(serial) = self.connections.get(&connection) {
            return *serial;
        }
        let serial = session::ConnectionId(self.next_connection_serial);
        self.next_connection_serial += 1;
        self.connections.insert(connection, serial);
        serial
    }

    /// The share partition of `key` led here at `leader_epoch`, created (and its initialization
    /// started) when missing; one of an older epoch is replaced.
    pub(super) fn partition_for_fetch(
        &mut self,
        now_ms: u64,
        key: &SharePartitionKey,
        leader_epoch: i32,
        host: &impl ShareFetchHost,
    ) {
        if let Some(existing) = self.partitions.get(key) {
            if existing.leader_epoch() == leader_epoch {
                return;
            }
            if let Some(partition) = self.partitions.get_mut(key) {
                partition.handle_fenced(now_ms);
            }
            self.drain_partition(now_ms, key, host);
            self.drop_partition(now_ms, key, ResponseError::NotLeaderOrFollower, host);
        }
        let config = host.share_partition_config(&key.group_id);
        let mut partition = SharePartition::new(config, self.semantics.clone(), leader_epoch);
        partition.begin_initialize(now_ms);
        self.partitions.insert(key.clone(), partition);
        self.drain_partition(now_ms, key, host);
    }

    /// Drains the effects of `key`'s partition: trace events, persister requests, acknowledgement
    /// completions, wake-ups, drops.
    pub(super) fn drain_partition(
        &mut self,
        now_ms: u64,
        key: &SharePartitionKey,
        host: &impl ShareFetchHost,
    ) {
        let mut drop_error = None;
        loop {
            let Some(partition) = self.partitions.get_mut(key) else {
                return;
            };
            let leader_epoch = partition.leader_epoch();
            let Some(effect) = partition.poll_effect() else {
                break;
            };
            match effect {
                PartitionEffect::Event(event) => {
                    self.outputs
                        .push_back(ServiceOutput::Event(TraceEvent::SharePartition {
                            group_id: key.group_id.clone(),
                            topic_id: key.topic_id,
                            partition: key.partition,
                            leader_epoch,
                            event,
                        }));
                }
                PartitionEffect::ReadState { leader_epoch } => {
                    let op = PersisterOp::Read { leader_epoch };
                    self.persister
                        .submit(key.clone(), leader_epoch, op, &mut self.next_call_id);
                }
                PartitionEffect::WriteState { write_id, request } => {
                    let op = PersisterOp::Write { write_id, request };
                    self.persister
                        .submit(key.clone(), leader_epoch, op, &mut self.next_call_id);
                }
                PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                    if let Some(token) = self.tickets.remove(&(key.clone(), ticket)) {
                        self.acknowledgement_done(
                            now_ms,
                            token,
                            key.topic_id_partition(),
                            result,
                            host,
                        );
                    }
                }
                PartitionEffect::WakeDelayedFetches => {
                    self.woken.insert(key.topic_id_partition());
                }
                PartitionEffect::EnqueueDeadLetters {
                    first_offset,
                    last_offset,
                } => {
                    // No dead-letter queue in the simulated cluster yet: phase 2 at once (spec 1.2 #10).
                    partition.handle_dead_letter_result(now_ms, first_offset, last_offset);
                }
                PartitionEffect::DropPartition { error } => drop_error = Some(error),
            }
        }
        self.flush_persister(now_ms, host);
        if let Some(error) = drop_error {
            self.drop_partition(now_ms, key, error, host);
        }
    }

    /// Removes `key`'s partition from the cache (spec 2.2: fenced or failed partitions are re-initialized
    /// by the next fetch); acknowledgements still waiting on it fail with `error`.
    pub(super) fn drop_partition(
        &mut self,
        now_ms: u64,
        key: &SharePartitionKey,
        error: ResponseError,
        host: &impl ShareFetchHost,
    ) {
        if self.partitions.remove(key).is_none() {
            return;
        }
        let orphaned: Vec<(AcknowledgeTicket, RequestToken)> = self
            .tickets
            .range((key.clone(), AcknowledgeTicket(0))..=(key.clone(), AcknowledgeTicket(u64::MAX)))
            .map(|((_, ticket), token)| (*ticket, *token))
            .collect();
        for (ticket, token) in orphaned {
            self.tickets.remove(&(key.clone(), ticket));
            self.acknowledgement_done(now_ms, token, key.topic_id_partition(), Err(error), host);
        }
        // Fetches of this group waiting on the partition complete with the error (a delayed fetch
        // completes on any partition error; spec 2.6, 3.5).
        let tp = key.topic_id_partition();
        let waiting: Vec<RequestToken> = self
            .pending
            .iter_mut()
            .filter(|(_, pending)| pending.group_id() == key.group_id)
            .filter_map(|(token, pending)| pending.fail_waiting_fetch(tp, error).then_some(*token))
            .collect();
        for token in waiting {
            self.maybe_complete(now_ms, token, host);
        }
    }

    /// Sends the persister's calls and hands its finished operations to their partitions.
    pub(super) fn flush_persister(&mut self, now_ms: u64, host: &impl ShareFetchHost) {
        while let Some(call) = self.persister.poll_call() {
            self.outputs.push_back(ServiceOutput::Call {
                call_id: call.call_id,
                target: call.target,
                api_version: call.api_version,
                request: call.request,
            });
        }
        while let Some(outcome) = self.persister.poll_outcome() {
            let key = outcome.key;
            let Some(partition) = self.partitions.get_mut(&key) else {
                continue;
            };
            if partition.leader_epoch() != outcome.leader_epoch {
                continue;
            }
            match outcome.result {
                OpResult::Read(result) => {
                    let tp = key.topic_id_partition();
                    let reset =
                        host.reset_offsets(tp, now_ms, partition.config().auto_offset_reset);
                    partition.handle_read_state_result(now_ms, result, reset);
                    if partition.partition_state() == PartitionState::Failed {
                        // The waiting fetch sees the error once; the next fetch re-initializes.
                        self.woken.insert(tp);
                    }
                }
                OpResult::Write(write_id, result) => {
                    partition.handle_write_result(now_ms, write_id, result);
                }
            }
            self.drain_partition(now_ms, &key, host);
        }
        if !self.empty_groups.is_empty() {
            self.drop_idle_partitions_of_empty_groups(now_ms, host);
        }
    }

    /// Releases `released.key.member_id`'s records on every partition of the closed session (spec 2.4).
    pub(super) fn release_session_records(
        &mut self,
        now_ms: u64,
        released: &ReleasedSession,
        host: &impl ShareFetchHost,
    ) {
        let member = released.key.member_id.clone();
        for tp in &released.partitions {
            let key = SharePartitionKey::new(released.key.group_id.clone(), *tp);
            if let Some(partition) = self.partitions.get_mut(&key) {
                partition.handle_release_session(now_ms, &member);
                self.drain_partition(now_ms, &key, host);
            }
        }
    }

    /// Retries the delayed fetches waiting on woken partitions.
    pub(super) fn process_wakeups(&mut self, now_ms: u64, host: &impl ShareFetchHost) {
        // A retry can wake further partitions (an acquisition starts nothing, but a drop does): loop
        // until quiet, bounded by the number of waiting requests per round.
        let mut rounds = 0;
        while !self.woken.is_empty() && rounds < 8 {
            rounds += 1;
            let woken = std::mem::take(&mut self.woken);
            let waiting: Vec<RequestToken> = self
                .pending
                .iter()
                .filter(|(_, pending)| pending.waits_on_any(&woken))
                .map(|(token, _)| *token)
                .collect();
            for token in waiting {
                self.retry_fetch(now_ms, token, host, false);
            }
        }
        self.woken.clear();
    }
}
