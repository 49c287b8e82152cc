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
    add_partitions_to_txn_answer, marker_results, serve_write_txn_markers,
    write_txn_markers_request, ProducerIdAllocator, TransactionCoordinator,
    TransactionCoordinatorConfig, TxnMarkerWrite, WRITE_TXN_MARKERS_VERSION,
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
use crate::log::{AppendInfo, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::ResponseError;

/// How long a marker append waits for replication (Kafka uses the request timeout).
const MARKER_APPEND_TIMEOUT_MS: u64 = 30_000;

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
}

impl TransactionService {
    /// The service of broker `broker_id` (its producer id range follows from the id).
    pub fn new(broker_id: i32, internal_topics: InternalTopicsConfig) -> Self {
        TransactionService {
            coordinator: TransactionCoordinator::new(
                TransactionCoordinatorConfig::default(),
                ProducerIdAllocator::for_broker(broker_id),
                0,
            ),
            internal_topics,
            next_token: 0,
            marker_calls: BTreeMap::new(),
            marker_appends: BTreeMap::new(),
            pending: BTreeMap::new(),
        }
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
        let response = match request {
            RequestKind::InitProducerId(r) => {
                let check = match r.transactional_id.as_ref() {
                    Some(id) => self.check_coordinator(cx, id.0.as_str()),
                    None => Ok(()),
                };
                match check {
                    Ok(()) => ResponseKind::InitProducerId(
                        self.coordinator.handle_init_producer_id(now_ms, &r),
                    ),
                    Err(e) => ResponseKind::InitProducerId(
                        InitProducerIdResponse::default()
                            .with_error_code(e.code())
                            .with_producer_id(ProducerId(-1))
                            .with_producer_epoch(-1),
                    ),
                }
            }
            RequestKind::AddPartitionsToTxn(r) => {
                match self.check_coordinator(cx, r.v3_and_below_transactional_id.0.as_str()) {
                    Ok(()) => ResponseKind::AddPartitionsToTxn(
                        self.coordinator.handle_add_partitions_to_txn(now_ms, &r),
                    ),
                    Err(e) => {
                        ResponseKind::AddPartitionsToTxn(add_partitions_to_txn_answer(&r, Some(e)))
                    }
                }
            }
            RequestKind::EndTxn(r) => match self
                .check_coordinator(cx, r.transactional_id.0.as_str())
            {
                Ok(()) => ResponseKind::EndTxn(self.coordinator.handle_end_txn(now_ms, &r)),
                Err(e) => ResponseKind::EndTxn(EndTxnResponse::default().with_error_code(e.code())),
            },
            RequestKind::WriteTxnMarkers(r) => {
                self.serve_markers(cx, connection, header, r);
                return;
            }
            _ => return,
        };
        cx.respond(connection, &header, response);
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
        self.send_markers(now_ms, cx);
    }

    fn handle_append_result(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) {
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
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        if change.partition.topic != TRANSACTION_STATE_TOPIC_NAME {
            return;
        }
        if let LeadershipChangeKind::BecameLeader { leader_epoch } = change.kind {
            // One engine serves every partition this broker leads; markers carry the newest epoch.
            let epoch = self.coordinator.coordinator_epoch().max(leader_epoch);
            self.coordinator.set_coordinator_epoch(epoch);
        }
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        self.coordinator.handle_timeout(now_ms);
        self.send_markers(now_ms, cx);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.coordinator.poll_timeout()
    }
}

/// The plug-ins a broker needs for idempotent and transactional producers: the transaction
/// coordinator of broker `broker_id` and FindCoordinator for TRANSACTION keys (declining other key
/// types, so it composes with the group plug-ins). `__transaction_state` must exist
/// (`InternalTopicsConfig::spec`).
pub fn transaction_plugins(
    broker_id: i32,
    internal_topics: &InternalTopicsConfig,
) -> Vec<Box<dyn BrokerService>> {
    vec![
        Box::new(TransactionService::new(broker_id, internal_topics.clone())),
        Box::new(FindCoordinatorPlugin::new(
            &[CoordinatorType::Transaction],
            internal_topics.clone(),
        )),
    ]
}
