//! The transaction coordinator plugged into a broker ([`BrokerService`]): it claims InitProducerId,
//! AddPartitionsToTxn, EndTxn and WriteTxnMarkers. The first three go to this broker's
//! [`TransactionCoordinator`] (NOT_COORDINATOR when this broker does not lead the transactional id's
//! `__transaction_state` partition); its markers go out as WriteTxnMarkers calls to the partitions'
//! leaders; a WriteTxnMarkers arriving here appends COMMIT/ABORT control batches (acks=all) to the
//! partitions this broker leads and answers once they are replicated.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use kafka_protocol::messages::{
    EndTxnResponse, InitProducerIdResponse, ProducerId, WriteTxnMarkersRequest,
};

use super::{
    add_partitions_to_txn_answer, encode_txn_record, marker_results, replay_txn_records,
    serve_write_txn_markers, write_txn_markers_request, ProducerIdAllocator, ProducerIdBlocks,
    TransactionCoordinator, TransactionCoordinatorConfig, TxnMarkerWrite,
    WRITE_TXN_MARKERS_VERSION,
};
use crate::broker::{
    AppendRecords, BrokerService, CallTarget, LeadershipChange, LeadershipChangeKind,
    ServiceContext,
};
use crate::cluster::replication::Acks;
use crate::coordinator::find_coordinator_plugin::FindCoordinatorPlugin;
use crate::coordinator::placement::{
    coordinator_partition, CoordinatorType, InternalTopicsConfig, TRANSACTION_STATE_TOPIC_NAME,
};
use crate::log::{AppendInfo, FetchIsolation, RawBatch, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::ResponseError;

/// How long a marker append waits for replication (Kafka uses the request timeout).
const MARKER_APPEND_TIMEOUT_MS: u64 = 30_000;
/// How long a `__transaction_state` write waits for replication (Kafka `request.timeout.ms`).
const STATE_WRITE_TIMEOUT_MS: u64 = 30_000;
/// Bytes read per step when replaying a `__transaction_state` partition.
const REPLAY_READ_BYTES: usize = 1 << 20;

/// A response held until the state changes its request caused are in `__transaction_state`
/// (Kafka answers from the append callback).
struct ParkedResponse {
    connection: ConnectionId,
    header: RequestHeader,
    /// The answer once every write succeeded.
    response: ResponseKind,
    /// The answer if a write failed, given the error to carry.
    on_failure: fn(&RequestKind, ResponseError) -> ResponseKind,
    request: RequestKind,
    writes_left: usize,
    failure: Option<ResponseError>,
}

/// A WriteTxnMarkers being served: the appends still running, then one response.
struct PendingMarkers {
    connection: ConnectionId,
    header: RequestHeader,
    /// (producer id, partition) -> result, filled as appends finish.
    results: BTreeMap<(i64, TopicPartition), Option<Result<(), ResponseError>>>,
    request: WriteTxnMarkersRequest,
}

/// The broker service.
pub struct TransactionService {
    coordinator: TransactionCoordinator,
    internal_topics: InternalTopicsConfig,
    next_token: u64,
    /// Marker calls in flight: token -> the write.
    marker_calls: BTreeMap<u64, TxnMarkerWrite>,
    /// Marker appends in flight: token -> (pending request id, producer id, partition).
    marker_appends: BTreeMap<u64, (u64, i64, TopicPartition)>,
    pending: BTreeMap<u64, PendingMarkers>,
    /// `__transaction_state` writes in flight: token -> the parked response waiting for it, if any.
    state_writes: BTreeMap<u64, Option<u64>>,
    /// Responses waiting for their writes, by id.
    parked: BTreeMap<u64, ParkedResponse>,
}

impl TransactionService {
    /// A broker's service, taking producer ids from the cluster's `producer_id_blocks`.
    pub fn new(
        producer_id_blocks: ProducerIdBlocks,
        internal_topics: InternalTopicsConfig,
    ) -> Self {
        TransactionService {
            coordinator: TransactionCoordinator::new(
                TransactionCoordinatorConfig::default(),
                ProducerIdAllocator::from_blocks(producer_id_blocks),
                0,
            ),
            internal_topics,
            next_token: 0,
            marker_calls: BTreeMap::new(),
            marker_appends: BTreeMap::new(),
            pending: BTreeMap::new(),
            state_writes: BTreeMap::new(),
            parked: BTreeMap::new(),
        }
    }

    /// The `__transaction_state` partition of a transactional id.
    fn state_partition(&self, transactional_id: &str) -> Option<TopicPartition> {
        coordinator_partition(
            CoordinatorType::Transaction,
            transactional_id,
            &self.internal_topics,
        )
        .ok()
        .map(|partition| TopicPartition::new(partition.topic, partition.partition))
    }

    /// Writes the current state of every transactional id that changed since the last call to its
    /// `__transaction_state` partition (acks=all, as Kafka's `appendTransactionToLog`); returns the
    /// write tokens, each registered as answering `parked_id`.
    fn persist_changes(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        parked_id: Option<u64>,
    ) -> usize {
        let mut changed: Vec<String> = Vec::new();
        while let Some(change) = self.coordinator.poll_event() {
            if !changed.contains(&change.transactional_id) {
                changed.push(change.transactional_id);
            }
        }
        let mut writes = 0;
        for transactional_id in changed {
            let Some(txn) = self.coordinator.transaction(&transactional_id) else {
                continue;
            };
            let Some(tp) = self.state_partition(&transactional_id) else {
                continue;
            };
            let batch = encode_txn_record(txn, now_ms);
            let token = self.token();
            self.state_writes.insert(token, parked_id);
            cx.append(
                token,
                tp,
                AppendRecords::Batch(batch),
                Acks::All,
                STATE_WRITE_TIMEOUT_MS,
            );
            writes += 1;
        }
        writes
    }

    /// Answers at once when the request changed no state, else once its writes are done.
    fn respond_after_writes(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        (connection, header): (ConnectionId, RequestHeader),
        request: RequestKind,
        response: ResponseKind,
        on_failure: fn(&RequestKind, ResponseError) -> ResponseKind,
    ) {
        let parked_id = self.token();
        let writes = self.persist_changes(now_ms, cx, Some(parked_id));
        if writes == 0 {
            cx.respond(connection, &header, response);
            return;
        }
        self.parked.insert(
            parked_id,
            ParkedResponse {
                connection,
                header,
                response,
                on_failure,
                request,
                writes_left: writes,
                failure: None,
            },
        );
    }

    /// A `__transaction_state` write finished: the parked response goes out after its last write.
    /// Kafka maps a failed write to NOT_COORDINATOR (this broker lost the partition) or
    /// COORDINATOR_NOT_AVAILABLE (anything else), both of which make the producer look up the
    /// coordinator and retry. Departure: the engine already applied the change in memory; Kafka
    /// applies it only after the write (here a broker that lost the partition unloads the id anyway).
    fn handle_state_write_result(
        &mut self,
        cx: &mut ServiceContext<'_>,
        parked_id: Option<u64>,
        result: Result<AppendInfo, ResponseError>,
    ) {
        let Some(parked_id) = parked_id else {
            return;
        };
        let Some(parked) = self.parked.get_mut(&parked_id) else {
            return;
        };
        if let Err(error) = result {
            parked.failure = Some(match error {
                ResponseError::NotLeaderOrFollower | ResponseError::KafkaStorageError => {
                    ResponseError::NotCoordinator
                }
                _ => ResponseError::CoordinatorNotAvailable,
            });
        }
        parked.writes_left -= 1;
        if parked.writes_left > 0 {
            return;
        }
        let parked = self.parked.remove(&parked_id).expect("present above");
        let response = match parked.failure {
            None => parked.response,
            Some(error) => (parked.on_failure)(&parked.request, error),
        };
        cx.respond(parked.connection, &parked.header, response);
    }

    /// This broker now leads `partition` of `__transaction_state`: replay it and take its
    /// transactional ids over.
    fn load_partition(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: &TopicPartition,
    ) {
        let Ok(offsets) = cx.view.offsets(partition) else {
            return;
        };
        let mut batches: Vec<RawBatch> = Vec::new();
        let mut offset = offsets.log_start_offset;
        while offset < offsets.log_end_offset {
            let Ok(read) =
                cx.view
                    .read(partition, offset, REPLAY_READ_BYTES, FetchIsolation::LogEnd)
            else {
                break;
            };
            let Ok(read_batches) = RawBatch::split_all(&read.records) else {
                break;
            };
            let Some(last) = read_batches.last() else {
                break;
            };
            offset = offset.max(last.header.last_offset() + 1);
            batches.extend(read_batches);
        }
        let loaded = replay_txn_records(&batches);
        self.coordinator.load(now_ms, loaded);
        self.persist_changes(now_ms, cx, None);
        self.send_markers(now_ms, cx);
    }

    fn token(&mut self) -> u64 {
        self.next_token += 1;
        self.next_token
    }

    /// NOT_COORDINATOR unless this broker leads the transactional id's `__transaction_state` partition.
    fn check_coordinator(
        &self,
        cx: &ServiceContext<'_>,
        transactional_id: &str,
    ) -> Result<(), ResponseError> {
        let partition = coordinator_partition(
            CoordinatorType::Transaction,
            transactional_id,
            &self.internal_topics,
        )
        .map_err(|_| ResponseError::NotCoordinator)?;
        let tp = TopicPartition::new(partition.topic, partition.partition);
        if cx.view.is_leader(&tp) {
            Ok(())
        } else {
            Err(ResponseError::NotCoordinator)
        }
    }

    /// Sends the coordinator's pending markers, grouped by leader.
    fn send_markers(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        while let Some(write) = self.coordinator.poll_marker_write(now_ms) {
            let mut by_leader: BTreeMap<i32, Vec<TopicPartition>> = BTreeMap::new();
            let mut leaderless = Vec::new();
            for tp in &write.partitions {
                match cx.view.leader_of(tp) {
                    Some((leader, _)) if leader >= 0 => {
                        by_leader.entry(leader).or_default().push(tp.clone())
                    }
                    _ => leaderless.push(tp.clone()),
                }
            }
            if !leaderless.is_empty() {
                self.coordinator
                    .handle_marker_write_failed(now_ms, write.producer_id, &leaderless);
            }
            for (leader, partitions) in by_leader {
                let part = TxnMarkerWrite {
                    partitions,
                    ..write.clone()
                };
                let request = write_txn_markers_request(std::slice::from_ref(&part));
                let token = self.token();
                self.marker_calls.insert(token, part);
                cx.call(
                    token,
                    CallTarget::Broker(leader),
                    WRITE_TXN_MARKERS_VERSION,
                    RequestKind::WriteTxnMarkers(request),
                    MARKER_APPEND_TIMEOUT_MS,
                );
            }
        }
    }

    fn serve_markers(
        &mut self,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: WriteTxnMarkersRequest,
    ) {
        let pending_id = self.token();
        let mut appends = Vec::new();
        // Collect every (producer, partition) first; not-led partitions answer at once.
        let mut results = BTreeMap::new();
        serve_write_txn_markers(&request, |m| {
            let key = (m.producer.producer_id, m.topic_partition.clone());
            if cx.view.is_leader(&m.topic_partition) {
                results.insert(key, None);
                appends.push(m.clone());
            } else {
                results.insert(key, Some(Err(ResponseError::NotLeaderOrFollower)));
            }
            Ok(())
        });
        for m in appends {
            let token = self.token();
            self.marker_appends.insert(
                token,
                (
                    pending_id,
                    m.producer.producer_id,
                    m.topic_partition.clone(),
                ),
            );
            cx.append(
                token,
                m.topic_partition.clone(),
                AppendRecords::Marker {
                    producer: m.producer,
                    control: m.control,
                    coordinator_epoch: m.coordinator_epoch,
                },
                Acks::All,
                MARKER_APPEND_TIMEOUT_MS,
            );
        }
        self.pending.insert(
            pending_id,
            PendingMarkers {
                connection,
                header,
                results,
                request,
            },
        );
        self.maybe_answer_markers(cx, pending_id);
    }

    fn maybe_answer_markers(&mut self, cx: &mut ServiceContext<'_>, pending_id: u64) {
        let Some(pending) = self.pending.get(&pending_id) else {
            return;
        };
        if pending.results.values().any(|r| r.is_none()) {
            return;
        }
        let pending = self.pending.remove(&pending_id).expect("present above");
        let response = serve_write_txn_markers(&pending.request, |m| {
            pending
                .results
                .get(&(m.producer.producer_id, m.topic_partition.clone()))
                .cloned()
                .flatten()
                .unwrap_or(Err(ResponseError::UnknownServerError))
        });
        cx.respond(
            pending.connection,
            &pending.header,
            ResponseKind::WriteTxnMarkers(response),
        );
    }
}

impl BrokerService for TransactionService {
    fn name(&self) -> &'static str {
        "transaction-coordinator"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![
            ApiKey::InitProducerId,
            ApiKey::AddPartitionsToTxn,
            ApiKey::EndTxn,
            ApiKey::WriteTxnMarkers,
        ]
    }

    fn handle_request(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let (response, on_failure): (
            ResponseKind,
            fn(&RequestKind, ResponseError) -> ResponseKind,
        ) = match &request {
            RequestKind::InitProducerId(r) => {
                let check = match r.transactional_id.as_ref() {
                    Some(id) => self.check_coordinator(cx, id.0.as_str()),
                    None => Ok(()),
                };
                let response = match check {
                    Ok(()) => ResponseKind::InitProducerId(
                        self.coordinator.handle_init_producer_id(now_ms, r),
                    ),
                    Err(e) => init_producer_id_error(&request, e),
                };
                (response, init_producer_id_error)
            }
            RequestKind::AddPartitionsToTxn(r) => {
                let response =
                    match self.check_coordinator(cx, r.v3_and_below_transactional_id.0.as_str()) {
                        Ok(()) => ResponseKind::AddPartitionsToTxn(
                            self.coordinator.handle_add_partitions_to_txn(now_ms, r),
                        ),
                        Err(e) => add_partitions_error(&request, e),
                    };
                (response, add_partitions_error)
            }
            RequestKind::EndTxn(r) => {
                let response = match self.check_coordinator(cx, r.transactional_id.0.as_str()) {
                    Ok(()) => ResponseKind::EndTxn(self.coordinator.handle_end_txn(now_ms, r)),
                    Err(e) => end_txn_error(&request, e),
                };
                (response, end_txn_error)
            }
            RequestKind::WriteTxnMarkers(_) => {
                let RequestKind::WriteTxnMarkers(r) = request else {
                    unreachable!("matched above")
                };
                self.serve_markers(cx, connection, header, r);
                return;
            }
            _ => return,
        };
        self.respond_after_writes(
            now_ms,
            cx,
            (connection, header),
            request,
            response,
            on_failure,
        );
        self.send_markers(now_ms, cx);
    }

    fn handle_call_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<ResponseKind, TransportError>,
    ) {
        let Some(write) = self.marker_calls.remove(&token) else {
            return;
        };
        match result {
            Ok(ResponseKind::WriteTxnMarkers(response)) => {
                for results in marker_results(&response) {
                    self.coordinator.handle_marker_results(
                        now_ms,
                        results.producer_id,
                        &results.partitions,
                    );
                }
            }
            _ => self.coordinator.handle_marker_write_failed(
                now_ms,
                write.producer_id,
                &write.partitions,
            ),
        }
        self.persist_changes(now_ms, cx, None);
        self.send_markers(now_ms, cx);
    }

    fn handle_append_result(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) {
        if let Some(parked_id) = self.state_writes.remove(&token) {
            self.handle_state_write_result(cx, parked_id, result);
            return;
        }
        let Some((pending_id, producer_id, tp)) = self.marker_appends.remove(&token) else {
            return;
        };
        if let Some(pending) = self.pending.get_mut(&pending_id) {
            pending
                .results
                .insert((producer_id, tp), Some(result.map(|_| ())));
        }
        self.maybe_answer_markers(cx, pending_id);
    }

    fn handle_leadership_change(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        if change.partition.topic != TRANSACTION_STATE_TOPIC_NAME {
            return;
        }
        match change.kind {
            LeadershipChangeKind::BecameLeader { leader_epoch } => {
                // One engine serves every partition this broker leads; markers carry the newest
                // epoch.
                let epoch = self.coordinator.coordinator_epoch().max(leader_epoch);
                self.coordinator.set_coordinator_epoch(epoch);
                self.load_partition(now_ms, cx, &change.partition);
            }
            LeadershipChangeKind::LostLeadership { .. } => {
                let partition = change.partition.clone();
                let internal_topics = self.internal_topics.clone();
                self.coordinator.unload(|transactional_id| {
                    coordinator_partition(
                        CoordinatorType::Transaction,
                        transactional_id,
                        &internal_topics,
                    )
                    .is_ok_and(|p| p.partition == partition.partition)
                });
            }
        }
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        self.coordinator.handle_timeout(now_ms);
        self.persist_changes(now_ms, cx, None);
        self.send_markers(now_ms, cx);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.coordinator.poll_timeout()
    }
}

/// InitProducerId's answer carrying `error`.
fn init_producer_id_error(_request: &RequestKind, error: ResponseError) -> ResponseKind {
    ResponseKind::InitProducerId(
        InitProducerIdResponse::default()
            .with_error_code(error.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    )
}

/// AddPartitionsToTxn's answer giving every partition `error`.
fn add_partitions_error(request: &RequestKind, error: ResponseError) -> ResponseKind {
    match request {
        RequestKind::AddPartitionsToTxn(r) => {
            ResponseKind::AddPartitionsToTxn(add_partitions_to_txn_answer(r, Some(error)))
        }
        _ => ResponseKind::AddPartitionsToTxn(Default::default()),
    }
}

/// EndTxn's answer carrying `error`.
fn end_txn_error(_request: &RequestKind, error: ResponseError) -> ResponseKind {
    ResponseKind::EndTxn(EndTxnResponse::default().with_error_code(error.code()))
}

/// The plug-ins a broker needs for idempotent and transactional producers: a transaction coordinator
/// taking producer ids from the cluster's `producer_id_blocks`, and FindCoordinator for TRANSACTION keys (declining other key
/// types, so it composes with the group plug-ins). `__transaction_state` must exist
/// (`InternalTopicsConfig::spec`).
pub fn transaction_plugins(
    producer_id_blocks: &ProducerIdBlocks,
    internal_topics: &InternalTopicsConfig,
) -> Vec<Box<dyn BrokerService>> {
    vec![
        Box::new(TransactionService::new(
            producer_id_blocks.clone(),
            internal_topics.clone(),
        )),
        Box::new(FindCoordinatorPlugin::new(
            &[CoordinatorType::Transaction],
            internal_topics.clone(),
        )),
    ]
}
