//! The share-fetch service against a fake broker (log, leadership) and a fake share coordinator that
//! answers the persister's calls.

use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::read_share_group_state_response::{
    PartitionResult as ReadResultPartition, ReadStateResult,
};
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckWireBatch,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch as FetchWireBatch, FetchPartition, FetchTopic,
};
use kafka_protocol::messages::write_share_group_state_response::{
    PartitionResult as WriteResultPartition, WriteStateResult,
};
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorResponse, GroupId, ReadShareGroupStateResponse, RequestKind,
    ResponseKind, ShareAcknowledgeRequest, ShareFetchRequest, ShareFetchResponse,
    WriteShareGroupStateResponse,
};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::*;
use crate::coordinator::share::{SharePartitionKey, TopicId, TopicIdPartition};
use crate::log::{
    encode_data_batch, FetchIsolation, LogConfig, PartitionLog, ProducerIdentity, ProducerRecord,
    ReadResult,
};
use crate::net::{share_v2, ConnectionId};
use crate::semantics::Semantics;
use crate::share::partition::{AutoOffsetReset, ResetOffsets, SharePartitionConfig};
use crate::share::{MemberId, RecordState};
use crate::ResponseError;

const TOPIC: TopicId = TopicId(0xabcd);
const TP: TopicIdPartition = TopicIdPartition {
    topic_id: TOPIC,
    partition: 0,
};
const COORDINATOR_NODE: i32 = 9;

struct FakeBroker {
    log: RefCell<PartitionLog>,
    leadership: RefCell<Option<Leadership>>,
    config: SharePartitionConfig,
}

impl FakeBroker {
    fn new() -> FakeBroker {
        let config = SharePartitionConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            ..SharePartitionConfig::default()
        };
        FakeBroker {
            log: RefCell::new(PartitionLog::new(LogConfig::default())),
            leadership: RefCell::new(Some(Leadership::Local { leader_epoch: 3 })),
            config,
        }
    }

    /// Appends one batch of `count` records and moves the high watermark to the log end.
    fn produce(&self, count: usize) {
        let records: Vec<ProducerRecord> = (0..count)
            .map(|i| ProducerRecord::new(None, Some(format!("v{i}").as_bytes()), 0))
            .collect();
        let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
        let mut log = self.log.borrow_mut();
        log.append_as_leader(&batch, 3, 0).unwrap();
        let end = log.log_end_offset();
        log.update_high_watermark(end);
    }
}

impl ShareFetchHost for FakeBroker {
    fn node_id(&self) -> i32 {
        1
    }

    fn leadership(&self, tp: TopicIdPartition) -> Option<Leadership> {
        if tp != TP {
            return None;
        }
        *self.leadership.borrow()
    }

    fn read_log(
        &self,
        _tp: TopicIdPartition,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> Result<ReadResult, ResponseError> {
        self.log
            .borrow()
            .read(fetch_offset, max_bytes, isolation, true)
    }

    fn reset_offsets(
        &self,
        _tp: TopicIdPartition,
        _now_ms: u64,
        _: AutoOffsetReset,
    ) -> ResetOffsets {
        let log = self.log.borrow();
        ResetOffsets {
            log_start_offset: log.log_start_offset(),
            high_watermark: log.high_watermark(),
            offset_by_duration: None,
        }
    }

    fn share_partition_config(&self, _group_id: &str) -> SharePartitionConfig {
        self.config.clone()
    }

    fn endpoint(&self, node_id: i32) -> Option<NodeEndpoint> {
        Some(NodeEndpoint {
            node_id,
            host: format!("broker-{node_id}"),
            port: 9092,
        })
    }
}

/// The service, the broker, and a fake share coordinator answering persister calls.
struct Harness {
    service: ShareFetchService,
    broker: FakeBroker,
    now_ms: u64,
    responses: BTreeMap<RequestToken, ResponseKind>,
    /// Calls not yet answered.
    calls: VecDeque<(CallId, CallTarget, RequestKind)>,
    /// Errors the coordinator answers the next writes with (front first).
    write_errors: VecDeque<ResponseError>,
    /// Errors the coordinator answers the next reads with (front first).
    read_errors: VecDeque<ResponseError>,
    writes: Vec<RequestKind>,
    next_token: u64,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            service: ShareFetchService::new(Semantics::default()),
            broker: FakeBroker::new(),
            now_ms: 1_000,
            responses: BTreeMap::new(),
            calls: VecDeque::new(),
            write_errors: VecDeque::new(),
            read_errors: VecDeque::new(),
            writes: Vec::new(),
            next_token: 0,
        }
    }

    fn collect(&mut self) {
        while let Some(output) = self.service.poll_output() {
            match output {
                ServiceOutput::Respond { token, response } => {
                    assert!(
                        self.responses.insert(token, response).is_none(),
                        "answered twice"
                    );
                }
                ServiceOutput::Call {
                    call_id,
                    target,
                    request,
                    ..
                } => self.calls.push_back((call_id, target, request)),
                ServiceOutput::Event(_) => {}
            }
        }
    }

    /// Answers every pending call as a healthy coordinator would.
    fn answer_calls(&mut self) {
        self.collect();
        while let Some((call_id, _target, request)) = self.calls.pop_front() {
            let response = match &request {
                RequestKind::FindCoordinator(request) => ResponseKind::FindCoordinator(
                    FindCoordinatorResponse::default().with_coordinators(
                        request
                            .coordinator_keys
                            .iter()
                            .map(|key| {
                                Coordinator::default()
                                    .with_key(key.clone())
                                    .with_node_id(BrokerId(COORDINATOR_NODE))
                            })
                            .collect(),
                    ),
                ),
                RequestKind::ReadShareGroupState(request) => {
                    let topic = &request.topics[0];
                    let code = self.read_errors.pop_front().map_or(0, |e| e.code());
                    ResponseKind::ReadShareGroupState(
                        ReadShareGroupStateResponse::default().with_results(vec![
                            ReadStateResult::default()
                                .with_topic_id(topic.topic_id)
                                .with_partitions(vec![ReadResultPartition::default()
                                    .with_partition(topic.partitions[0].partition)
                                    .with_error_code(code)
                                    .with_state_epoch(1)
                                    .with_start_offset(-1)]),
                        ]),
                    )
                }
                RequestKind::WriteShareGroupState(write) => {
                    self.writes.push(request.clone());
                    let topic = &write.topics[0];
                    let code = self.write_errors.pop_front().map_or(0, |e| e.code());
                    ResponseKind::WriteShareGroupState(
                        WriteShareGroupStateResponse::default().with_results(vec![
                            WriteStateResult::default()
                                .with_topic_id(topic.topic_id)
                                .with_partitions(vec![WriteResultPartition::default()
                                    .with_partition(topic.partitions[0].partition)
                                    .with_error_code(code)]),
                        ]),
                    )
                }
                other => panic!("unexpected call {other:?}"),
            };
            self.service
                .handle_call_result(self.now_ms, call_id, Ok(response), &self.broker);
            self.collect();
        }
    }

    fn connection(&self, serial: u64) -> ConnectionId {
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        ConnectionId {
            client: SocketAddr::new(ip, 40_000),
            server: SocketAddr::new(ip, 9092),
            serial,
        }
    }

    fn fetch(&mut self, member: &str, epoch: i32, acks: &[(i64, i64, i8)]) -> RequestToken {
        self.fetch_with(member, epoch, acks, 500, 0, 1)
    }

    fn fetch_with(
        &mut self,
        member: &str,
        epoch: i32,
        acks: &[(i64, i64, i8)],
        max_wait_ms: i32,
        connection: u64,
        version: i16,
    ) -> RequestToken {
        let request = ShareFetchRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
            .with_member_id(Some(StrBytes::from_string(member.to_string())))
            .with_share_session_epoch(epoch)
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_records(500)
            .with_batch_size(500)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(Uuid::from_u128(TOPIC.0))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(
                        acks.iter()
                            .map(|(first, last, ack)| {
                                FetchWireBatch::default()
                                    .with_first_offset(*first)
                                    .with_last_offset(*last)
                                    .with_acknowledge_types(vec![*ack])
                            })
                            .collect(),
                    )])]);
        self.fetch_request(request, connection, version)
    }

    fn fetch_request(
        &mut self,
        request: ShareFetchRequest,
        connection: u64,
        version: i16,
    ) -> RequestToken {
        let token = RequestToken(self.next_token);
        self.next_token += 1;
        let connection = self.connection(connection);
        self.service.handle_share_fetch(
            self.now_ms,
            token,
            connection,
            version,
            &request,
            &self.broker,
        );
        self.answer_calls();
        token
    }

    fn acknowledge(&mut self, member: &str, epoch: i32, acks: &[(i64, i64, i8)]) -> RequestToken {
        let request = ShareAcknowledgeRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
            .with_member_id(Some(StrBytes::from_string(member.to_string())))
            .with_share_session_epoch(epoch)
            .with_topics(vec![AcknowledgeTopic::default()
                .with_topic_id(Uuid::from_u128(TOPIC.0))
                .with_partitions(vec![AcknowledgePartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(
                        acks.iter()
                            .map(|(first, last, ack)| {
                                AckWireBatch::default()
                                    .with_first_offset(*first)
                                    .with_last_offset(*last)
                                    .with_acknowledge_types(vec![*ack])
                            })
                            .collect(),
                    )])]);
        let token = RequestToken(self.next_token);
        self.next_token += 1;
        let connection = self.connection(0);
        self.service.handle_share_acknowledge(
            self.now_ms,
            token,
            connection,
            2,
            &request,
            &self.broker,
        );
        self.answer_calls();
        token
    }

    fn advance(&mut self, by_ms: u64) {
        self.now_ms += by_ms;
        self.service.handle_timeout(self.now_ms, &self.broker);
        self.answer_calls();
    }

    fn fetch_response(&self, token: RequestToken) -> &ShareFetchResponse {
        match self.responses.get(&token) {
            Some(ResponseKind::ShareFetch(response)) => response,
            other => panic!("no ShareFetch response for {token:?}: {other:?}"),
        }
    }

    /// (first, last, delivery count) of the response's single partition.
    fn acquired(&self, token: RequestToken) -> Vec<(i64, i64, i16)> {
        let response = self.fetch_response(token);
        response
            .responses
            .iter()
            .flat_map(|topic| topic.partitions.iter())
            .flat_map(|partition| partition.acquired_records.iter())
            .map(|range| (range.first_offset, range.last_offset, range.delivery_count))
            .collect()
    }

    fn partition(&self) -> &crate::share::partition::SharePartition {
        self.service
            .share_partition(&SharePartitionKey::new("g", TP))
            .expect("share partition exists")
    }
}

/// Spec 3.5, 2.6: the first fetch creates the share partition, initializes it through FindCoordinator
/// (key type SHARE) and ReadShareGroupState, and the waiting fetch then acquires the records.
#[test]
fn first_fetch_initializes_through_the_persister_and_acquires() {
    let mut h = Harness::new();
    h.broker.produce(5);
    let token = RequestToken(0);
    h.service.handle_share_fetch(
        h.now_ms,
        token,
        h.connection(0),
        1,
        &ShareFetchRequest::default()
            .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
            .with_member_id(Some(StrBytes::from_static_str("a")))
            .with_max_wait_ms(500)
            .with_min_bytes(1)
            .with_max_records(500)
            .with_batch_size(500)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(Uuid::from_u128(TOPIC.0))
                .with_partitions(vec![
                    FetchPartition::default().with_partition_index(0)
                ])]),
        &h.broker,
    );
    h.next_token = 1;
    h.collect();
    let (_, target, RequestKind::FindCoordinator(find)) = h.calls[0].clone() else {
        panic!("FindCoordinator first");
    };
    assert_eq!(target, CallTarget::AnyBroker);
    assert_eq!(find.key_type, COORDINATOR_KEY_TYPE_SHARE);
    assert_eq!(
        find.coordinator_keys[0].as_str(),
        coordinator_key(&SharePartitionKey::new("g", TP))
    );
    assert!(h.responses.is_empty(), "the fetch waits for initialization");
    h.answer_calls();
    assert_eq!(h.acquired(token), vec![(0, 4, 1)]);
    assert_eq!(h.fetch_response(token).acquisition_lock_timeout_ms, 30_000);
    let record = h.partition().record(2).unwrap();
    assert_eq!(record.state, RecordState::Acquired);
}

/// Spec 3.2, 2.3: a piggybacked ACCEPT is persisted before the response; the response carries the
/// acknowledge error code separately from the fetch's.
#[test]
fn piggybacked_accept_is_persisted_before_the_response() {
    let mut h = Harness::new();
    h.broker.produce(3);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 2, 1)]);
    // Hold the write: the response must not come before it.
    let token = RequestToken(h.next_token);
    h.next_token += 1;
    let request = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
        .with_member_id(Some(StrBytes::from_static_str("a")))
        .with_share_session_epoch(1)
        .with_max_wait_ms(0)
        .with_max_records(500)
        .with_batch_size(500)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(Uuid::from_u128(TOPIC.0))
            .with_partitions(vec![FetchPartition::default()
                .with_partition_index(0)
                .with_acknowledgement_batches(vec![FetchWireBatch::default()
                    .with_first_offset(0)
                    .with_last_offset(2)
                    .with_acknowledge_types(vec![1])])])]);
    h.service
        .handle_share_fetch(h.now_ms, token, h.connection(0), 1, &request, &h.broker);
    h.collect();
    assert!(
        !h.responses.contains_key(&token),
        "waits for WriteShareGroupState"
    );
    assert!(matches!(
        h.calls.back(),
        Some((
            _,
            CallTarget::Node(COORDINATOR_NODE),
            RequestKind::WriteShareGroupState(_)
        ))
    ));
    h.answer_calls();
    let response = h.fetch_response(token);
    let partition = &response.responses[0].partitions[0];
    assert_eq!(partition.acknowledge_error_code, 0);
    assert_eq!(partition.error_code, 0);
    // Every offset is terminal: SPSO passed them and the cache let them go (spec 1.6).
    assert_eq!(h.partition().start_offset(), 3);
    assert!(h.partition().record(1).is_none());
}

/// Spec 3.1, 3.2: NOT_COORDINATOR is retried after a backoff of 1 s (with a fresh FindCoordinator);
/// FENCED_STATE_EPOCH is not retried and maps to NOT_LEADER_OR_FOLLOWER, dropping the partition.
#[test]
fn persister_retries_coordinator_errors_and_maps_fencing() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    h.write_errors.push_back(ResponseError::NotCoordinator);
    let token = h.fetch_with("a", 1, &[(0, 0, 1)], 0, 0, 1);
    assert!(!h.responses.contains_key(&token), "retry pending");
    assert_eq!(
        h.service.poll_timeout(),
        Some(h.now_ms + RETRY_BACKOFF_INITIAL_MS).min(h.service.poll_timeout())
    );
    h.advance(RETRY_BACKOFF_INITIAL_MS);
    assert_eq!(h.writes.len(), 2, "the write was sent again");
    assert_eq!(
        h.fetch_response(token).responses[0].partitions[0].acknowledge_error_code,
        0
    );

    h.write_errors.push_back(ResponseError::FencedStateEpoch);
    let token = h.fetch_with("a", 2, &[(1, 1, 1)], 0, 0, 1);
    let partition = &h.fetch_response(token).responses[0].partitions[0];
    assert_eq!(
        partition.acknowledge_error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
    assert!(h
        .service
        .share_partition(&SharePartitionKey::new("g", TP))
        .is_none());
}

/// Spec 2.2: a fetch on a follower answers NOT_LEADER_OR_FOLLOWER with the current leader and its
/// endpoint.
#[test]
fn follower_answers_not_leader_with_current_leader() {
    let mut h = Harness::new();
    *h.broker.leadership.borrow_mut() = Some(Leadership::Remote {
        leader_id: 2,
        leader_epoch: 7,
    });
    let token = h.fetch("a", 0, &[]);
    let response = h.fetch_response(token);
    let partition = &response.responses[0].partitions[0];
    assert_eq!(
        partition.error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
    assert_eq!(partition.current_leader.leader_id, 2);
    assert_eq!(partition.current_leader.leader_epoch, 7);
    assert_eq!(response.node_endpoints[0].node_id, BrokerId(2));
}

/// Spec 2.4: a FINAL ShareAcknowledge applies its acks, answers, then releases the member's other
/// records (persisted), so another member acquires them with the delivery count kept (4.2).
#[test]
fn final_acknowledge_closes_the_session_and_releases() {
    let mut h = Harness::new();
    h.broker.produce(4);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 3, 1)]);
    let token = h.acknowledge("a", -1, &[(0, 0, 1)]);
    let Some(ResponseKind::ShareAcknowledge(response)) = h.responses.get(&token) else {
        panic!("no ShareAcknowledge response");
    };
    assert_eq!(response.responses[0].partitions[0].error_code, 0);
    assert_eq!(
        share_v2::acknowledge_lock_timeout_ms(response),
        Some(30_000)
    );
    assert!(h.service.sessions().is_empty());
    assert_eq!(
        h.partition().record(1).unwrap().state,
        RecordState::Available
    );
    let other = h.fetch_with("b", 0, &[], 500, 1, 1);
    assert_eq!(h.acquired(other), vec![(1, 3, 2)]);
}

/// Spec 2.5: closing the connection releases the session's records (4.1+); another member's session
/// keeps the group alive on the broker, so the share partition stays.
#[test]
fn connection_close_releases_the_members_records() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch_with("a", 0, &[], 500, 7, 1);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    let other = h.fetch_with("b", 0, &[], 0, 8, 1);
    assert_eq!(h.acquired(other), vec![]);
    let connection = h.connection(7);
    h.service
        .handle_connection_closed(h.now_ms, connection, &h.broker);
    h.answer_calls();
    assert_eq!(
        h.partition().record(0).unwrap().state,
        RecordState::Available
    );
    assert_eq!(h.service.sessions().len(), 1);
}

/// Spec 2.5, 5.3 (4.1+, `onGroupEmpty`): when the closed connection held the group's last share session
/// on the broker, the released records are written and the share partition is then dropped; the next
/// fetch re-reads the state from the share coordinator (so an offset reset made meanwhile is seen).
#[test]
fn the_last_session_of_a_group_closing_drops_its_share_partitions() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch_with("a", 0, &[], 500, 7, 1);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    let writes_before = h.writes.len();
    let connection = h.connection(7);
    h.service
        .handle_connection_closed(h.now_ms, connection, &h.broker);
    h.answer_calls();
    assert!(h.service.sessions().is_empty());
    assert_eq!(h.writes.len(), writes_before + 1, "the release was written");
    let key = SharePartitionKey::new("g", TP);
    assert!(
        h.service.share_partition(&key).is_none(),
        "dropped once the release write was answered"
    );
    // The next fetch re-reads the coordinator's state (this fake coordinator stores nothing, so the
    // records come back with delivery count 1; the dropped in-memory state would have given 2).
    let again = h.fetch_with("b", 0, &[], 500, 8, 1);
    assert_eq!(h.acquired(again), vec![(0, 1, 1)]);
}

/// Spec 1.4, 2.6: a lock expiry through `handle_timeout` makes the record AVAILABLE and wakes a delayed
/// fetch of another member, which gets it with the delivery count raised.
#[test]
fn lock_expiry_wakes_a_delayed_fetch_of_another_member() {
    let mut h = Harness::new();
    h.broker.produce(1);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 0, 1)]);
    let waiting = h.fetch_with("b", 0, &[], 60_000, 1, 1);
    assert!(
        !h.responses.contains_key(&waiting),
        "nothing to acquire yet"
    );
    h.advance(30_000);
    assert_eq!(h.acquired(waiting), vec![(0, 0, 2)]);
}

/// Spec 2.6: a ShareAcknowledge that releases records wakes a delayed fetch of another member, which
/// acquires them with the delivery count raised (the ack is persisted first).
#[test]
fn release_acknowledgement_wakes_a_delayed_fetch_of_another_member() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    let waiting = h.fetch_with("b", 0, &[], 60_000, 1, 1);
    assert!(
        !h.responses.contains_key(&waiting),
        "nothing to acquire yet"
    );
    let release = h.acknowledge("a", 1, &[(0, 1, 2)]);
    assert!(h.responses.contains_key(&release));
    assert_eq!(h.acquired(waiting), vec![(0, 1, 2)]);
}

/// Spec 2.6: a delayed fetch completes when new records arrive, or empty at MaxWaitMs.
#[test]
fn delayed_fetch_woken_by_new_data_or_expiring_empty() {
    let mut h = Harness::new();
    h.broker.produce(1);
    let first = h.fetch("a", 0, &[(0, 0, 1)][..0]);
    assert_eq!(h.acquired(first), vec![(0, 0, 1)]);
    let waiting = h.fetch_with("a", 1, &[], 500, 0, 1);
    assert!(!h.responses.contains_key(&waiting));
    h.broker.produce(2);
    h.service.handle_records_appended(h.now_ms, TP, &h.broker);
    h.answer_calls();
    assert_eq!(h.acquired(waiting), vec![(1, 2, 1)]);
    let empty = h.fetch_with("a", 2, &[], 500, 0, 1);
    assert!(!h.responses.contains_key(&empty));
    h.advance(500);
    assert!(h.acquired(empty).is_empty());
}

/// Spec 3.5, 2.2: on leadership loss the share partition is fenced and dropped; a late ack on this
/// broker then answers NOT_LEADER_OR_FOLLOWER with the new leader.
#[test]
fn leadership_loss_fences_and_drops_the_share_partition() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    *h.broker.leadership.borrow_mut() = Some(Leadership::Remote {
        leader_id: 2,
        leader_epoch: 4,
    });
    h.service.handle_leadership_changed(h.now_ms, &h.broker);
    assert!(h
        .service
        .share_partition(&SharePartitionKey::new("g", TP))
        .is_none());
    let token = h.acknowledge("a", 1, &[(0, 1, 1)]);
    let Some(ResponseKind::ShareAcknowledge(response)) = h.responses.get(&token) else {
        panic!("no response");
    };
    assert_eq!(
        response.responses[0].partitions[0].error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
    assert_eq!(
        response.responses[0].partitions[0].current_leader.leader_id,
        2
    );
}

/// Spec 2.3, 1.2 #7: a renew-only v2 ShareFetch must carry zero sizes; with them it renews the lock and
/// fetches nothing.
#[test]
fn renew_only_fetch_checks_sizes_and_renews() {
    let mut h = Harness::new();
    h.broker.produce(1);
    let first = h.fetch_with("a", 0, &[], 500, 0, 2);
    assert_eq!(h.acquired(first), vec![(0, 0, 1)]);
    let deadline_before = h.partition().record(0).unwrap().lock_deadline_ms;
    let mut bad = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
        .with_member_id(Some(StrBytes::from_static_str("a")))
        .with_share_session_epoch(1)
        .with_max_wait_ms(500);
    share_v2::set_fetch_is_renew_ack(&mut bad, true);
    let token = h.fetch_request(bad.clone(), 0, 2);
    assert_eq!(
        h.fetch_response(token).error_code,
        ResponseError::InvalidRequest.code()
    );

    h.now_ms += 10_000;
    let mut renew =
        bad.with_max_wait_ms(0)
            .with_max_bytes(0)
            .with_topics(vec![FetchTopic::default()
                .with_topic_id(Uuid::from_u128(TOPIC.0))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition_index(0)
                    .with_acknowledgement_batches(vec![FetchWireBatch::default()
                        .with_first_offset(0)
                        .with_last_offset(0)
                        .with_acknowledge_types(vec![4])])])]);
    share_v2::set_fetch_is_renew_ack(&mut renew, true);
    let token = h.fetch_request(renew, 0, 2);
    let partition = &h.fetch_response(token).responses[0].partitions[0];
    assert_eq!(partition.acknowledge_error_code, 0);
    assert!(partition.acquired_records.is_empty());
    let deadline_after = h.partition().record(0).unwrap().lock_deadline_ms;
    assert_eq!(deadline_after, deadline_before.map(|at| at + 10_000));
    let _ = MemberId::new("a");
}

/// Spec 2.4: acknowledgements on an initial-epoch ShareFetch are a top-level INVALID_REQUEST.
#[test]
fn acks_on_the_initial_epoch_are_invalid() {
    let mut h = Harness::new();
    h.broker.produce(1);
    let token = h.fetch("a", 0, &[(0, 0, 1)]);
    assert_eq!(
        h.fetch_response(token).error_code,
        ResponseError::InvalidRequest.code()
    );
}

/// Spec 2.2: a type above 3 on v1 (RENEW needs v2 and IsRenewAck) makes the partition's acks
/// INVALID_REQUEST, and none of them is applied.
#[test]
fn bad_ack_type_is_invalid_request_and_applies_nothing() {
    let mut h = Harness::new();
    h.broker.produce(2);
    let first = h.fetch("a", 0, &[]);
    assert_eq!(h.acquired(first), vec![(0, 1, 1)]);
    let token = h.fetch_with("a", 1, &[(0, 0, 1), (1, 1, 4)], 0, 0, 1);
    let partition = &h.fetch_response(token).responses[0].partitions[0];
    assert_eq!(
        partition.acknowledge_error_code,
        ResponseError::InvalidRequest.code()
    );
    assert_eq!(
        h.partition().record(0).unwrap().state,
        RecordState::Acquired
    );
    assert!(h.writes.is_empty());
}

/// Spec 2.6: in record_limit mode (v2 ShareAcquireMode 1) at most MaxRecords offsets are acquired, even
/// inside one log batch; batch_optimized hands out the whole batch.
#[test]
fn record_limit_mode_caps_the_acquisition() {
    let mut h = Harness::new();
    h.broker.produce(10);
    let mut request = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(StrBytes::from_static_str("g"))))
        .with_member_id(Some(StrBytes::from_static_str("a")))
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_records(3)
        .with_batch_size(3)
        .with_topics(vec![FetchTopic::default()
            .with_topic_id(Uuid::from_u128(TOPIC.0))
            .with_partitions(vec![
                FetchPartition::default().with_partition_index(0)
            ])]);
    share_v2::set_share_acquire_mode(&mut request, 1);
    let token = h.fetch_request(request.clone(), 0, 2);
    assert_eq!(h.acquired(token), vec![(0, 2, 1)]);
    share_v2::set_share_acquire_mode(&mut request, 0);
    let token = h.fetch_request(
        request.with_member_id(Some(StrBytes::from_static_str("b"))),
        1,
        2,
    );
    assert_eq!(h.acquired(token), vec![(3, 9, 1)]);
}

/// Spec 3.1: a retriable error is retried at most ATTEMPTS_MAX times, then returned; spec 3.5: a failed
/// initialization answers the fetch with the mapped error and the next fetch initializes again.
#[test]
fn persister_gives_up_after_the_last_attempt_and_initialization_retries() {
    let mut h = Harness::new();
    h.broker.produce(1);
    for _ in 0..ATTEMPTS_MAX {
        h.read_errors
            .push_back(ResponseError::CoordinatorLoadInProgress);
    }
    let token = h.fetch_with("a", 0, &[], 600_000, 0, 1);
    for _ in 0..ATTEMPTS_MAX {
        h.advance(RETRY_BACKOFF_MAX_MS);
    }
    let partition = &h.fetch_response(token).responses[0].partitions[0];
    assert_eq!(
        partition.error_code,
        ResponseError::CoordinatorNotAvailable.code()
    );
    assert!(h
        .service
        .share_partition(&SharePartitionKey::new("g", TP))
        .is_none());
    let token = h.fetch_with("a", 1, &[], 500, 0, 1);
    assert_eq!(h.acquired(token), vec![(0, 0, 1)]);
}
