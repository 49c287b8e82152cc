//! ShareFetch (78) and ShareAcknowledge (79) handling (spec 2.2-2.6): session checks, acknowledgements
//! (piggybacked or not), acquisition with MaxRecords / BatchSize / ShareAcquireMode (v0, Kafka 4.0: no
//! MaxRecords, see [`share_fetch_record_limits`]), delayed fetches
//! (MinBytes / MaxWaitMs), renew-only requests, FINAL epochs, and the responses.
//!
//! A response is sent once every acknowledgement of the request completed (after its persister write)
//! and the fetch part finished (spec 2.3).
//!
//! Choices where the spec is silent or sharesim simplifies (Kafka 4.2 behaviour otherwise):
//! * MinBytes counts the bytes of the acquired batches; any acquisition completes a fetch (Kafka checks
//!   the read's size before acquiring; with the client's MinBytes = 1 the two agree).
//! * Partition order is the session cache's round-robin order; the MaxRecords budget is shared across
//!   the request's partitions in that order.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::share_acknowledge_response::{
    LeaderIdAndEpoch as AckLeader, NodeEndpoint as AckEndpoint, PartitionData as AckPartitionData,
    ShareAcknowledgeTopicResponse,
};
use kafka_protocol::messages::share_fetch_response::{
    AcquiredRecords as WireAcquired, LeaderIdAndEpoch, NodeEndpoint, PartitionData,
    ShareFetchableTopicResponse,
};
use kafka_protocol::messages::{
    BrokerId, ResponseKind, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareFetchRequest,
    ShareFetchResponse,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::host::{Leadership, RequestToken, ServiceOutput, ShareFetchHost};
use super::log_read::read_for_acquisition;
use super::service::ShareFetchService;
use crate::coordinator::share::{SharePartitionKey, TopicId, TopicIdPartition};
use crate::log::FetchIsolation;
use crate::net::share_v2;
use crate::net::ConnectionId;
use crate::share::partition::{
    validate_acknowledgement_batches, AcknowledgementBatch, AcquireMode, AcquireParams,
    AcquiredRecords, FetchedLog, IsolationLevel, PartitionState,
};
use crate::share::session::{ShareAcknowledgeContext, ShareFetchContext, ShareFetchSessionRequest};
use crate::share::MemberId;
use crate::ResponseError;

/// Kafka 4.0's internal broker config `share.fetch.max.fetch.records` (`ShareGroupConfig`, default
/// `Integer.MAX_VALUE`): the records one ShareFetch v0 may acquire. A v0 request has no `MaxRecords` (nor
/// `BatchSize`; spec 2.6: both v1+), so a 4.0 fetch acquires what the log read returns, up to the
/// in-flight limit (`group.share.partition.max.record.locks`, 200 in 4.0), and the 4.0 client hands the
/// application `max.poll.records` of them per poll from its buffer.
const SHARE_FETCH_V0_MAX_FETCH_RECORDS: u32 = i32::MAX as u32;

/// The records a ShareFetch of `version` may acquire and its batch size, from the request's `MaxRecords`
/// and `BatchSize` (the client's `max.poll.records`, spec 2.6, v1+); a v0 request has neither, so both
/// are Kafka 4.0's `share.fetch.max.fetch.records` (acquired records then follow the log's batches).
/// The engine backend's consumers ask the same question with their profile's `share_rpc_version`.
pub fn share_fetch_record_limits(version: i16, max_records: i32, batch_size: i32) -> (u32, u32) {
    if version == 0 {
        return (
            SHARE_FETCH_V0_MAX_FETCH_RECORDS,
            SHARE_FETCH_V0_MAX_FETCH_RECORDS,
        );
    }
    (max_records.max(0) as u32, batch_size.max(1) as u32)
}

/// Which RPC a pending request answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Api {
    ShareFetch,
    ShareAcknowledge,
}

/// One partition's part of a response.
#[derive(Clone, Debug, Default)]
struct PartitionAnswer {
    error: Option<ResponseError>,
    ack_error: Option<ResponseError>,
    /// (leader id, leader epoch) for NOT_LEADER_OR_FOLLOWER.
    leader: Option<(i32, i32)>,
    records: BytesMut,
    acquired: Vec<AcquiredRecords>,
}

/// The fetch part of a ShareFetch while it waits.
#[derive(Clone, Debug)]
struct FetchPart {
    fetch_order: Vec<TopicIdPartition>,
    remaining_records: u32,
    batch_size: u32,
    mode: AcquireMode,
    max_bytes: usize,
    min_bytes: usize,
    max_wait_ms: u64,
    deadline_ms: u64,
    bytes_acquired: usize,
    done: bool,
}

/// A client request not yet answered.
#[derive(Clone, Debug)]
pub(super) struct PendingRequest {
    api: Api,
    group_id: String,
    member: MemberId,
    /// Still being assembled by its handler: do not answer yet.
    assembling: bool,
    acks_outstanding: usize,
    order: Vec<TopicIdPartition>,
    answers: BTreeMap<TopicIdPartition, PartitionAnswer>,
    fetch: Option<FetchPart>,
    /// FINAL epoch: release the session once the acknowledgements completed.
    final_release: bool,
    lock_timeout_ms: i32,
}

impl PendingRequest {
    /// The MaxWaitMs deadline of a waiting fetch.
    pub(super) fn deadline_ms(&self) -> Option<u64> {
        self.fetch
            .as_ref()
            .filter(|fetch| !fetch.done)
            .map(|fetch| fetch.deadline_ms)
    }

    /// A waiting fetch on any of `partitions`.
    pub(super) fn waits_on_any(&self, partitions: &BTreeSet<TopicIdPartition>) -> bool {
        self.fetch.as_ref().is_some_and(|fetch| {
            !fetch.done && fetch.fetch_order.iter().any(|tp| partitions.contains(tp))
        })
    }

    /// The group of the request.
    pub(super) fn group_id(&self) -> &str {
        &self.group_id
    }

    /// A waiting fetch on `tp` ends with `error` on that partition; true when it did.
    pub(super) fn fail_waiting_fetch(
        &mut self,
        tp: TopicIdPartition,
        error: ResponseError,
    ) -> bool {
        let waits = self
            .fetch
            .as_ref()
            .is_some_and(|fetch| !fetch.done && fetch.fetch_order.contains(&tp));
        if !waits {
            return false;
        }
        self.answer(tp).error = Some(error);
        if let Some(fetch) = self.fetch.as_mut() {
            fetch.done = true;
        }
        true
    }

    fn answer(&mut self, tp: TopicIdPartition) -> &mut PartitionAnswer {
        if !self.answers.contains_key(&tp) {
            self.order.push(tp);
        }
        self.answers.entry(tp).or_default()
    }
}

fn topic_id_of(uuid: &Uuid) -> TopicId {
    TopicId(uuid.as_u128())
}

fn wire_batches(batches: impl Iterator<Item = (i64, i64, Vec<i8>)>) -> Vec<AcknowledgementBatch> {
    batches
        .map(
            |(first_offset, last_offset, acknowledge_types)| AcknowledgementBatch {
                first_offset,
                last_offset,
                acknowledge_types,
            },
        )
        .collect()
}

impl ShareFetchService {
    /// A ShareFetch of `version` arrived on `connection`; its response comes as
    /// [`ServiceOutput::Respond`] for `token`, possibly much later (a delayed fetch).
    pub fn handle_share_fetch(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        connection: ConnectionId,
        version: i16,
        request: &ShareFetchRequest,
        host: &impl ShareFetchHost,
    ) {
        let group_id = request
            .group_id
            .as_ref()
            .map_or("", |id| id.0.as_str())
            .to_string();
        let member_id = request
            .member_id
            .as_ref()
            .map_or("", |id| id.as_str())
            .to_string();
        let is_renew_ack = version >= 2 && share_v2::fetch_is_renew_ack(request);
        let lock_timeout_ms = self.lock_timeout_ms(&group_id, host);
        if is_renew_ack
            && (request.max_bytes != 0
                || request.min_bytes != 0
                || request.max_records != 0
                || request.max_wait_ms != 0)
        {
            // Spec 2.3: a renew-only ShareFetch carries no fetch sizes.
            return self.respond_fetch_error(token, ResponseError::InvalidRequest, lock_timeout_ms);
        }
        let mut partitions = Vec::new();
        let mut acks: Vec<(TopicIdPartition, Vec<AcknowledgementBatch>)> = Vec::new();
        for topic in &request.topics {
            for partition in &topic.partitions {
                let tp = TopicIdPartition {
                    topic_id: topic_id_of(&topic.topic_id),
                    partition: partition.partition_index,
                };
                partitions.push(tp);
                if !partition.acknowledgement_batches.is_empty() {
                    let batches = wire_batches(
                        partition
                            .acknowledgement_batches
                            .iter()
                            .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone())),
                    );
                    acks.push((tp, batches));
                }
            }
        }
        let forgotten: Vec<TopicIdPartition> = request
            .forgotten_topics_data
            .iter()
            .flat_map(|topic| {
                topic.partitions.iter().map(|partition| TopicIdPartition {
                    topic_id: topic_id_of(&topic.topic_id),
                    partition: *partition,
                })
            })
            .collect();
        let serial = self.connection_serial(connection);
        let session_request = ShareFetchSessionRequest {
            group_id: &group_id,
            member_id: &member_id,
            session_epoch: request.share_session_epoch,
            partitions: &partitions,
            forgotten: &forgotten,
            has_acknowledgements: !acks.is_empty(),
            connection_id: serial,
        };
        let context = match self.sessions.handle_share_fetch(now_ms, &session_request) {
            Ok(context) => context,
            Err(ResponseError::ShareSessionLimitReached) => {
                // Spec 2.4: the broker waits MaxWaitMs before answering SHARE_SESSION_LIMIT_REACHED.
                let deadline_ms = now_ms + u64::try_from(request.max_wait_ms).unwrap_or(0);
                let error = ResponseError::ShareSessionLimitReached;
                self.delayed_errors
                    .insert(token, (deadline_ms, error, lock_timeout_ms));
                return;
            }
            Err(error) => return self.respond_fetch_error(token, error, lock_timeout_ms),
        };
        let fetch_order = match context {
            ShareFetchContext::Initial { fetch_order, .. }
            | ShareFetchContext::Subsequent { fetch_order } => Some(fetch_order),
            ShareFetchContext::Final => None,
        };
        let mut pending = PendingRequest {
            api: Api::ShareFetch,
            group_id: group_id.clone(),
            member: MemberId::new(&member_id),
            assembling: true,
            acks_outstanding: 0,
            order: Vec::new(),
            answers: BTreeMap::new(),
            fetch: None,
            final_release: fetch_order.is_none(),
            lock_timeout_ms,
        };
        if let Some(fetch_order) = fetch_order.filter(|_| !is_renew_ack) {
            for tp in &fetch_order {
                pending.answer(*tp);
            }
            let max_wait_ms = request.max_wait_ms.max(0) as u64;
            let (remaining_records, batch_size) =
                share_fetch_record_limits(version, request.max_records, request.batch_size);
            pending.fetch = Some(FetchPart {
                fetch_order,
                remaining_records,
                batch_size,
                mode: if version >= 2 && share_v2::share_acquire_mode(request) == 1 {
                    AcquireMode::RecordLimit
                } else {
                    AcquireMode::BatchOptimized
                },
                max_bytes: request.max_bytes.max(0) as usize,
                min_bytes: request.min_bytes.max(0) as usize,
                max_wait_ms,
                deadline_ms: now_ms + max_wait_ms,
                bytes_acquired: 0,
                done: false,
            });
        }
        self.pending.insert(token, pending);
        // Spec 2.3: acknowledgements are applied before the fetch, so released records are in transition
        // and cannot be re-acquired by the same request.
        for (tp, batches) in acks {
            self.acknowledge_partition(now_ms, token, version, is_renew_ack, tp, &batches, host);
        }
        self.retry_fetch(now_ms, token, host, false);
        if let Some(pending) = self.pending.get_mut(&token) {
            pending.assembling = false;
        }
        self.maybe_complete(now_ms, token, host);
        self.process_wakeups(now_ms, host);
    }

    /// A ShareAcknowledge of `version` arrived on `connection`.
    pub fn handle_share_acknowledge(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        _connection: ConnectionId,
        version: i16,
        request: &ShareAcknowledgeRequest,
        host: &impl ShareFetchHost,
    ) {
        let group_id = request
            .group_id
            .as_ref()
            .map_or("", |id| id.0.as_str())
            .to_string();
        let member_id = request
            .member_id
            .as_ref()
            .map_or("", |id| id.as_str())
            .to_string();
        let is_renew_ack = version >= 2 && share_v2::acknowledge_is_renew_ack(request);
        let lock_timeout_ms = self.lock_timeout_ms(&group_id, host);
        let context = match self.sessions.handle_share_acknowledge(
            now_ms,
            &group_id,
            &member_id,
            request.share_session_epoch,
        ) {
            Ok(context) => context,
            Err(error) => {
                let mut response =
                    ShareAcknowledgeResponse::default().with_error_code(error.code());
                share_v2::set_acknowledge_lock_timeout_ms(&mut response, lock_timeout_ms);
                self.outputs.push_back(ServiceOutput::Respond {
                    token,
                    response: ResponseKind::ShareAcknowledge(response),
                });
                return;
            }
        };
        let pending = PendingRequest {
            api: Api::ShareAcknowledge,
            group_id,
            member: MemberId::new(&member_id),
            assembling: true,
            acks_outstanding: 0,
            order: Vec::new(),
            answers: BTreeMap::new(),
            fetch: None,
            final_release: context == ShareAcknowledgeContext::Final,
            lock_timeout_ms,
        };
        self.pending.insert(token, pending);
        for topic in &request.topics {
            for partition in &topic.partitions {
                let tp = TopicIdPartition {
                    topic_id: topic_id_of(&topic.topic_id),
                    partition: partition.partition_index,
                };
                let batches = wire_batches(
                    partition
                        .acknowledgement_batches
                        .iter()
                        .map(|b| (b.first_offset, b.last_offset, b.acknowledge_types.clone())),
                );
                self.acknowledge_partition(
                    now_ms,
                    token,
                    version,
                    is_renew_ack,
                    tp,
                    &batches,
                    host,
                );
            }
        }
        if let Some(pending) = self.pending.get_mut(&token) {
            pending.assembling = false;
        }
        self.maybe_complete(now_ms, token, host);
        self.process_wakeups(now_ms, host);
    }

    fn lock_timeout_ms(&self, group_id: &str, host: &impl ShareFetchHost) -> i32 {
        let duration_ms = host
            .share_partition_config(group_id)
            .record_lock_duration_ms;
        i32::try_from(duration_ms).unwrap_or(i32::MAX)
    }

    /// Applies one partition's acknowledgements of request `token` (spec 2.2).
    #[allow(clippy::too_many_arguments)]
    fn acknowledge_partition(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        version: i16,
        is_renew_ack: bool,
        tp: TopicIdPartition,
        batches: &[AcknowledgementBatch],
        host: &impl ShareFetchHost,
    ) {
        let Some(pending) = self.pending.get_mut(&token) else {
            return;
        };
        let member = pending.member.clone();
        let key = SharePartitionKey::new(pending.group_id.clone(), tp);
        if batches.is_empty() {
            pending.answer(tp);
            return;
        }
        let error = match host.leadership(tp) {
            None => Some(ResponseError::UnknownTopicOrPartition),
            Some(Leadership::Remote {
                leader_id,
                leader_epoch,
            }) => {
                pending.answer(tp).leader = Some((leader_id, leader_epoch));
                Some(ResponseError::NotLeaderOrFollower)
            }
            Some(Leadership::Local { .. }) => {
                validate_acknowledgement_batches(batches, version, is_renew_ack).err()
            }
        };
        if let Some(error) = error {
            pending.answer(tp).ack_error = Some(error);
            return;
        }
        pending.answer(tp);
        let Some(partition) = self.partitions.get_mut(&key) else {
            // Spec 2.2: no share partition in the cache (leadership moved, never fetched here).
            pending.answer(tp).ack_error = Some(ResponseError::UnknownTopicOrPartition);
            return;
        };
        match partition.handle_acknowledge(now_ms, &member, batches) {
            Ok(ticket) => {
                pending.acks_outstanding += 1;
                self.tickets.insert((key.clone(), ticket), token);
            }
            Err(error) => pending.answer(tp).ack_error = Some(error),
        }
        self.drain_partition(now_ms, &key, host);
    }

    /// One acknowledgement of `token` on `tp` finished.
    pub(super) fn acknowledgement_done(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        tp: TopicIdPartition,
        result: Result<(), ResponseError>,
        host: &impl ShareFetchHost,
    ) {
        let Some(pending) = self.pending.get_mut(&token) else {
            return;
        };
        debug_assert!(pending.acks_outstanding > 0);
        pending.acks_outstanding = pending.acks_outstanding.saturating_sub(1);
        if let Err(error) = result {
            pending.answer(tp).ack_error = Some(error);
        }
        self.maybe_complete(now_ms, token, host);
    }

    /// Runs (or re-runs) the fetch part of `token`: acquires what it can and decides whether the fetch is
    /// done. `expired`: the MaxWaitMs deadline passed, so it completes whatever it found.
    pub(super) fn retry_fetch(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        host: &impl ShareFetchHost,
        expired: bool,
    ) {
        let Some(fetch) = self.pending.get(&token).and_then(|p| p.fetch.clone()) else {
            return;
        };
        if fetch.done {
            return;
        }
        let mut any_error = false;
        for tp in &fetch.fetch_order {
            any_error |= self.fetch_partition(now_ms, token, *tp, host);
        }
        let Some(pending) = self.pending.get_mut(&token) else {
            return;
        };
        let Some(fetch) = pending.fetch.as_mut() else {
            return;
        };
        let satisfied = fetch.bytes_acquired > 0 && fetch.bytes_acquired >= fetch.min_bytes;
        if any_error || satisfied || fetch.min_bytes == 0 || fetch.max_wait_ms == 0 || expired {
            fetch.done = true;
            self.maybe_complete(now_ms, token, host);
        }
    }

    /// Acquires on one partition for `token`; true when the partition answers with an error.
    fn fetch_partition(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        tp: TopicIdPartition,
        host: &impl ShareFetchHost,
    ) -> bool {
        let Some(pending) = self.pending.get_mut(&token) else {
            return false;
        };
        let key = SharePartitionKey::new(pending.group_id.clone(), tp);
        let member = pending.member.clone();
        let leader_epoch = match host.leadership(tp) {
            None => {
                pending.answer(tp).error = Some(ResponseError::UnknownTopicOrPartition);
                return true;
            }
            Some(Leadership::Remote {
                leader_id,
                leader_epoch,
            }) => {
                let answer = pending.answer(tp);
                answer.error = Some(ResponseError::NotLeaderOrFollower);
                answer.leader = Some((leader_id, leader_epoch));
                return true;
            }
            Some(Leadership::Local { leader_epoch }) => leader_epoch,
        };
        self.partition_for_fetch(now_ms, &key, leader_epoch, host);
        let Some(partition) = self.partitions.get_mut(&key) else {
            return false;
        };
        let params = {
            let fetch = self.pending[&token].fetch.as_ref().expect("fetch part");
            AcquireParams {
                max_records: fetch.remaining_records,
                batch_size: fetch.batch_size,
                mode: fetch.mode,
            }
        };
        let max_bytes = self.pending[&token]
            .fetch
            .as_ref()
            .map_or(usize::MAX, |fetch| fetch.max_bytes);
        match partition.partition_state() {
            PartitionState::Empty | PartitionState::Initializing => return false,
            PartitionState::Failed | PartitionState::Fenced => {
                let error = partition
                    .handle_fetch(now_ms, &member, &FetchedLog::default(), params)
                    .err()
                    .unwrap_or(ResponseError::UnknownServerError);
                self.pending
                    .get_mut(&token)
                    .expect("pending")
                    .answer(tp)
                    .error = Some(error);
                self.drop_partition(now_ms, &key, error, host);
                return true;
            }
            PartitionState::Active => {}
        }
        if params.max_records == 0 || !partition.can_acquire_records() {
            return false;
        }
        let fetch_offset = partition.next_fetch_offset();
        let isolation = match partition.config().isolation_level {
            IsolationLevel::ReadCommitted => FetchIsolation::TxnCommitted,
            IsolationLevel::ReadUncommitted => FetchIsolation::HighWatermark,
        };
        // Acquisition uses at most `max_records` new offsets past the in-flight window, which holds at
        // most `max_record_locks` records (spec 1.5, 2.6): reading further is wasted copying.
        let offsets_wanted =
            i64::from(params.max_records) + i64::from(partition.config().max_record_locks);
        let read = read_for_acquisition(
            |bytes| host.read_log(tp, fetch_offset, bytes, isolation),
            fetch_offset,
            max_bytes,
            offsets_wanted,
            |read| match isolation {
                FetchIsolation::TxnCommitted => read.last_stable_offset,
                _ => read.high_watermark,
            },
        );
        let parsed = match read {
            Ok(parsed) => parsed,
            Err(ResponseError::OffsetOutOfRange) => {
                // Spec 6: the log start moved past SPSO; SPSO jumps and the error is reset to NONE.
                let reset = host.reset_offsets(tp, now_ms, partition.config().auto_offset_reset);
                partition.handle_log_start_offset(now_ms, reset.log_start_offset);
                self.drain_partition(now_ms, &key, host);
                return false;
            }
            Err(error) => {
                self.pending
                    .get_mut(&token)
                    .expect("pending")
                    .answer(tp)
                    .error = Some(error);
                return true;
            }
        };
        if parsed.is_empty() {
            return false;
        }
        let result = partition.handle_fetch(now_ms, &member, &parsed.fetched, params);
        self.drain_partition(now_ms, &key, host);
        let pending = self.pending.get_mut(&token).expect("pending");
        match result {
            Ok(acquired) if !acquired.is_empty() => {
                let records = parsed.records_for(&acquired);
                let count: u64 = acquired.iter().map(AcquiredRecords::offset_count).sum();
                let fetch = pending.fetch.as_mut().expect("fetch part");
                fetch.remaining_records = fetch
                    .remaining_records
                    .saturating_sub(u32::try_from(count).unwrap_or(u32::MAX));
                fetch.bytes_acquired += records.len().max(1);
                let answer = pending.answer(tp);
                answer.records.extend_from_slice(&records);
                answer.acquired.extend(acquired);
                false
            }
            Ok(_) => false,
            // Still initializing: wait.
            Err(ResponseError::LeaderNotAvailable) => false,
            Err(error) => {
                pending.answer(tp).error = Some(error);
                true
            }
        }
    }

    /// Answers `token` once its acknowledgements completed and its fetch finished; then, for a FINAL
    /// epoch, closes the session and releases the member's records (spec 2.4: the response does not
    /// wait for the release).
    pub(super) fn maybe_complete(
        &mut self,
        now_ms: u64,
        token: RequestToken,
        host: &impl ShareFetchHost,
    ) {
        let ready = self.pending.get(&token).is_some_and(|pending| {
            !pending.assembling
                && pending.acks_outstanding == 0
                && pending.fetch.as_ref().is_none_or(|fetch| fetch.done)
        });
        if !ready {
            return;
        }
        let pending = self.pending.remove(&token).expect("checked above");
        let response = match pending.api {
            Api::ShareFetch => ResponseKind::ShareFetch(fetch_response(&pending, host)),
            Api::ShareAcknowledge => {
                ResponseKind::ShareAcknowledge(acknowledge_response(&pending, host))
            }
        };
        self.outputs
            .push_back(ServiceOutput::Respond { token, response });
        if pending.final_release {
            if let Ok(released) = self
                .sessions
                .release_session(&pending.group_id, pending.member.as_str())
            {
                self.release_session_records(now_ms, &released, host);
            }
        }
    }

    pub(super) fn respond_fetch_error(
        &mut self,
        token: RequestToken,
        error: ResponseError,
        lock_timeout_ms: i32,
    ) {
        let response = ShareFetchResponse::default()
            .with_error_code(error.code())
            .with_acquisition_lock_timeout_ms(lock_timeout_ms);
        self.outputs.push_back(ServiceOutput::Respond {
            token,
            response: ResponseKind::ShareFetch(response),
        });
    }
}

fn code(error: Option<ResponseError>) -> i16 {
    error.map_or(0, |error| error.code())
}

/// Topics in order of first appearance, each with its partitions in request order.
fn grouped(order: &[TopicIdPartition]) -> Vec<(TopicId, Vec<TopicIdPartition>)> {
    let mut topics: Vec<(TopicId, Vec<TopicIdPartition>)> = Vec::new();
    for tp in order {
        match topics.iter_mut().find(|(topic, _)| *topic == tp.topic_id) {
            Some((_, partitions)) => partitions.push(*tp),
            None => topics.push((tp.topic_id, vec![*tp])),
        }
    }
    topics
}

fn leader_ids(pending: &PendingRequest) -> BTreeSet<i32> {
    pending
        .answers
        .values()
        .filter_map(|answer| answer.leader.map(|(id, _)| id))
        .filter(|id| *id >= 0)
        .collect()
}

fn fetch_response(pending: &PendingRequest, host: &impl ShareFetchHost) -> ShareFetchResponse {
    let responses = grouped(&pending.order)
        .into_iter()
        .map(|(topic_id, partitions)| {
            let partitions = partitions
                .iter()
                .map(|tp| {
                    let answer = &pending.answers[tp];
                    let (leader_id, leader_epoch) = answer.leader.unwrap_or((-1, -1));
                    PartitionData::default()
                        .with_partition_index(tp.partition)
                        .with_error_code(code(answer.error))
                        .with_acknowledge_error_code(code(answer.ack_error))
                        .with_current_leader(
                            LeaderIdAndEpoch::default()
                                .with_leader_id(leader_id)
                                .with_leader_epoch(leader_epoch),
                        )
                        .with_records(Some(Bytes::copy_from_slice(&answer.records)))
                        .with_acquired_records(
                            answer
                                .acquired
                                .iter()
                                .map(|range| {
                                    WireAcquired::default()
                                        .with_first_offset(range.first_offset)
                                        .with_last_offset(range.last_offset)
                                        .with_delivery_count(range.delivery_count as i16)
                                })
                                .collect(),
                        )
                })
                .collect();
            ShareFetchableTopicResponse::default()
                .with_topic_id(Uuid::from_u128(topic_id.0))
                .with_partitions(partitions)
        })
        .collect();
    let node_endpoints = leader_ids(pending)
        .into_iter()
        .filter_map(|id| host.endpoint(id))
        .map(|endpoint| {
            NodeEndpoint::default()
                .with_node_id(BrokerId(endpoint.node_id))
                .with_host(StrBytes::from_string(endpoint.host))
                .with_port(endpoint.port)
        })
        .collect();
    ShareFetchResponse::default()
        .with_acquisition_lock_timeout_ms(pending.lock_timeout_ms)
        .with_responses(responses)
        .with_node_endpoints(node_endpoints)
}

fn acknowledge_response(
    pending: &PendingRequest,
    host: &impl ShareFetchHost,
) -> ShareAcknowledgeResponse {
    let responses = grouped(&pending.order)
        .into_iter()
        .map(|(topic_id, partitions)| {
            let partitions = partitions
                .iter()
                .map(|tp| {
                    let answer = &pending.answers[tp];
                    let (leader_id, leader_epoch) = answer.leader.unwrap_or((-1, -1));
                    AckPartitionData::default()
                        .with_partition_index(tp.partition)
                        .with_error_code(code(answer.ack_error.or(answer.error)))
                        .with_current_leader(
                            AckLeader::default()
                                .with_leader_id(leader_id)
                                .with_leader_epoch(leader_epoch),
                        )
                })
                .collect();
            ShareAcknowledgeTopicResponse::default()
                .with_topic_id(Uuid::from_u128(topic_id.0))
                .with_partitions(partitions)
        })
        .collect();
    let node_endpoints = leader_ids(pending)
        .into_iter()
        .filter_map(|id| host.endpoint(id))
        .map(|endpoint| {
            AckEndpoint::default()
                .with_node_id(BrokerId(endpoint.node_id))
                .with_host(StrBytes::from_string(endpoint.host))
                .with_port(endpoint.port)
        })
        .collect();
    let mut response = ShareAcknowledgeResponse::default()
        .with_responses(responses)
        .with_node_endpoints(node_endpoints);
    share_v2::set_acknowledge_lock_timeout_ms(&mut response, pending.lock_timeout_ms);
    response
}
