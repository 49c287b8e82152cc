//! Brokers and the controller driven together in memory (no madsim): every call takes 1 ms, a stopped
//! broker answers nothing and its connections fail.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, ProduceRequest, RequestHeader, RequestKind,
    ResponseKind,
};

use super::*;
use crate::cluster::controller::{Controller, ControllerConfig};
use crate::cluster::BrokerId;
use crate::log::{encode_data_batch, LogStore, ProducerIdentity, ProducerRecord, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::trace::TraceEvent;

const CONTROLLER: &str = "10.0.0.100:9093";
/// The port test clients connect from.
const CLIENT_PORT: u16 = 1;

fn broker_addr(id: BrokerId) -> SocketAddr {
    format!("10.0.0.{id}:9092").parse().unwrap()
}

enum Delivery {
    Request {
        broker: BrokerId,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    },
    Result {
        broker: BrokerId,
        token: u64,
        result: Result<ResponseKind, TransportError>,
    },
    ToClient {
        correlation_id: i32,
        response: ResponseKind,
    },
}

struct Sim {
    now_ms: u64,
    seq: u64,
    controller: Controller,
    brokers: BTreeMap<BrokerId, BrokerCore>,
    stores: BTreeMap<BrokerId, LogStore>,
    down: BTreeSet<BrokerId>,
    queue: BTreeMap<(u64, u64), Delivery>,
    /// Open broker-to-broker calls: (server, connection) -> (caller, token).
    calls: BTreeMap<(BrokerId, ConnectionId), (BrokerId, u64)>,
    responses: BTreeMap<i32, ResponseKind>,
    closed: Vec<ConnectionId>,
    events: Vec<ClusterEvent>,
    next_correlation_id: i32,
}

impl Sim {
    fn new(brokers: i32) -> Sim {
        let mut sim = Sim {
            now_ms: 0,
            seq: 0,
            controller: Controller::new(ControllerConfig::default()),
            brokers: BTreeMap::new(),
            stores: BTreeMap::new(),
            down: BTreeSet::new(),
            queue: BTreeMap::new(),
            calls: BTreeMap::new(),
            responses: BTreeMap::new(),
            closed: Vec::new(),
            events: Vec::new(),
            next_correlation_id: 1,
        };
        for id in 1..=brokers {
            sim.stores.insert(id, LogStore::new());
            sim.start(id);
        }
        // Registration and the first heartbeat unfence every broker.
        sim.run_until(1_000);
        sim
    }

    fn start(&mut self, id: BrokerId) {
        let mut config = BrokerConfig::new(id, broker_addr(id), CONTROLLER.parse().unwrap());
        config.incarnation_id = self.now_ms;
        let core = BrokerCore::new(config, self.stores[&id].clone());
        self.brokers.insert(id, core);
        self.down.remove(&id);
        self.drain(id);
    }

    fn push(&mut self, at_ms: u64, delivery: Delivery) {
        self.seq += 1;
        self.queue.insert((at_ms, self.seq), delivery);
    }

    fn drain(&mut self, id: BrokerId) {
        while let Some(output) = self.brokers.get_mut(&id).and_then(|b| b.poll_output()) {
            let at = self.now_ms + 1;
            match output {
                BrokerOutput::Respond {
                    connection,
                    correlation_id,
                    response,
                    ..
                } => {
                    if let Some((caller, token)) = self.calls.remove(&(id, connection)) {
                        self.push(
                            at,
                            Delivery::Result {
                                broker: caller,
                                token,
                                result: Ok(response),
                            },
                        );
                    } else {
                        self.push(
                            at,
                            Delivery::ToClient {
                                correlation_id,
                                response,
                            },
                        );
                    }
                }
                BrokerOutput::Call {
                    token,
                    to,
                    api_version,
                    request,
                    ..
                } => match to {
                    CallTarget::Controller => {
                        let response = controller_wire::handle_controller_request(
                            &mut self.controller,
                            self.now_ms,
                            request,
                        );
                        self.drain_controller();
                        let result = response.ok_or(TransportError::ConnectionClosed);
                        self.push(
                            at,
                            Delivery::Result {
                                broker: id,
                                token,
                                result,
                            },
                        );
                    }
                    CallTarget::Broker(target) => {
                        let connection = ConnectionId {
                            client: broker_addr(id),
                            server: broker_addr(target),
                            serial: token,
                        };
                        self.calls.insert((target, connection), (id, token));
                        let header = RequestHeader::default()
                            .with_request_api_key(request_key(&request) as i16)
                            .with_request_api_version(api_version)
                            .with_correlation_id(token as i32);
                        self.push(
                            at,
                            Delivery::Request {
                                broker: target,
                                connection,
                                header,
                                request,
                            },
                        );
                    }
                },
                BrokerOutput::Close { connection } => self.closed.push(connection),
                BrokerOutput::Trace(TraceEvent::Cluster { event }) => self.events.push(event),
                BrokerOutput::Trace(_) => {}
            }
        }
    }

    fn drain_controller(&mut self) {
        while let Some(event) = self.controller.poll_event() {
            self.events.push(event.into());
        }
    }

    /// Runs every delivery and timer up to `until_ms`.
    fn run_until(&mut self, until_ms: u64) {
        loop {
            let next_delivery = self.queue.keys().next().map(|&(at, _)| at);
            let next_timer = self
                .brokers
                .iter()
                .filter(|(id, _)| !self.down.contains(id))
                .filter_map(|(id, b)| b.poll_timeout().map(|t| (t.max(self.now_ms), *id)))
                .min();
            let controller_timer = self.controller.poll_timeout();
            let next = [next_delivery, next_timer.map(|(t, _)| t), controller_timer]
                .into_iter()
                .flatten()
                .min();
            let Some(next) = next.filter(|&t| t <= until_ms) else {
                self.now_ms = until_ms;
                return;
            };
            self.now_ms = self.now_ms.max(next);
            if controller_timer.is_some_and(|t| t <= self.now_ms) {
                self.controller.handle_timeout(self.now_ms);
                self.drain_controller();
            }
            if next_delivery.is_some_and(|t| t <= self.now_ms) {
                let (_, delivery) = self.queue.pop_first().unwrap();
                self.deliver(delivery);
                continue;
            }
            if let Some((t, id)) = next_timer {
                if t <= self.now_ms {
                    self.brokers
                        .get_mut(&id)
                        .unwrap()
                        .handle_timeout(self.now_ms);
                    self.drain(id);
                }
            }
        }
    }

    fn deliver(&mut self, delivery: Delivery) {
        let now = self.now_ms;
        match delivery {
            Delivery::Request {
                broker,
                connection,
                header,
                request,
            } => {
                if self.down.contains(&broker) {
                    if let Some((caller, token)) = self.calls.remove(&(broker, connection)) {
                        let result = Err(TransportError::ConnectionClosed);
                        self.push(
                            now + 1,
                            Delivery::Result {
                                broker: caller,
                                token,
                                result,
                            },
                        );
                    }
                    return;
                }
                self.brokers
                    .get_mut(&broker)
                    .unwrap()
                    .handle_request(now, connection, header, request);
                self.drain(broker);
            }
            Delivery::Result {
                broker,
                token,
                result,
            } => {
                if self.down.contains(&broker) {
                    return;
                }
                self.brokers
                    .get_mut(&broker)
                    .unwrap()
                    .handle_call_result(now, token, result);
                self.drain(broker);
            }
            Delivery::ToClient {
                correlation_id,
                response,
            } => {
                self.responses.insert(correlation_id, response);
            }
        }
    }

    /// Kills a broker: no more inputs; calls to it fail; its unflushed log suffix is lost.
    fn kill(&mut self, id: BrokerId) {
        self.down.insert(id);
        self.brokers.remove(&id);
        for ((server, _), (caller, token)) in std::mem::take(&mut self.calls)
            .into_iter()
            .filter(|((server, _), _)| *server == id)
            .collect::<Vec<_>>()
        {
            let _ = server;
            self.push(
                self.now_ms + 1,
                Delivery::Result {
                    broker: caller,
                    token,
                    result: Err(TransportError::ConnectionClosed),
                },
            );
        }
        self.stores[&id].recover_all();
    }

    fn send(&mut self, broker: BrokerId, api_version: i16, request: RequestKind) -> i32 {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let header = RequestHeader::default()
            .with_request_api_key(request_key(&request) as i16)
            .with_request_api_version(api_version)
            .with_correlation_id(correlation_id);
        let connection = ConnectionId {
            client: SocketAddr::new([10, 0, 1, 1].into(), CLIENT_PORT),
            server: broker_addr(broker),
            serial: 1,
        };
        self.push(
            self.now_ms + 1,
            Delivery::Request {
                broker,
                connection,
                header,
                request,
            },
        );
        correlation_id
    }

    /// Sends and runs until the answer arrives (at most 60 s).
    fn call(
        &mut self,
        broker: BrokerId,
        api_version: i16,
        request: RequestKind,
    ) -> Option<ResponseKind> {
        let correlation_id = self.send(broker, api_version, request);
        let deadline = self.now_ms + 60_000;
        while self.now_ms < deadline {
            let step = self.now_ms + 10;
            self.run_until(step);
            if let Some(response) = self.responses.remove(&correlation_id) {
                return Some(response);
            }
        }
        None
    }

    fn leader(&self, topic: &str, partition: i32) -> (BrokerId, i32) {
        let p = self.controller.image().partition(topic, partition).unwrap();
        (p.leader, p.leader_epoch)
    }

    fn create_topic(&mut self, topic: &str, partitions: i32, replication_factor: i16) {
        self.controller
            .handle_create_topic(self.now_ms, topic, partitions, replication_factor)
            .unwrap();
        self.drain_controller();
        // Brokers learn it at their next heartbeat.
        self.run_until(self.now_ms + 3_000);
    }
}

fn request_key(request: &RequestKind) -> ApiKey {
    crate::net::frame::api_key_of_request(request).unwrap()
}

fn batch(values: &[&str]) -> bytes::Bytes {
    let records: Vec<ProducerRecord> = values
        .iter()
        .map(|v| ProducerRecord::new(None, Some(v.as_bytes()), 0))
        .collect();
    encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap()
}

fn produce(topic: &str, partition: i32, acks: i16, values: &[&str]) -> RequestKind {
    RequestKind::Produce(
        ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(30_000)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(super::topics::topic_name(topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(batch(values)))])]),
    )
}

fn fetch(topic: &str, partition: i32, offset: i64, max_wait_ms: i32) -> RequestKind {
    RequestKind::Fetch(
        FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(1 << 20)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(super::topics::topic_name(topic))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(offset)
                    .with_current_leader_epoch(-1)
                    .with_partition_max_bytes(1 << 20)])]),
    )
}

fn produce_result(response: &ResponseKind) -> (i16, i64) {
    let ResponseKind::Produce(r) = response else {
        panic!("not a produce response: {response:?}");
    };
    let p = &r.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

/// Offsets of the data records in a fetch answer.
fn fetched_offsets(response: &ResponseKind) -> (i16, i64, Vec<i64>) {
    let ResponseKind::Fetch(r) = response else {
        panic!("not a fetch response: {response:?}");
    };
    let p = &r.responses[0].partitions[0];
    let records = p.records.clone().unwrap_or_default();
    let consumed = crate::log::consume_fetched(&records, 0, None).unwrap();
    let offsets = consumed
        .iter()
        .flat_map(|b| match &b.kind {
            crate::log::ConsumedBatchKind::Data(records) => {
                records.iter().map(|r| r.offset).collect()
            }
            _ => Vec::new(),
        })
        .collect();
    (p.error_code, p.high_watermark, offsets)
}

/// Registration and heartbeats unfence every broker; a created topic gets leaders on them.
#[test]
fn brokers_register_and_learn_leadership() {
    let mut sim = Sim::new(3);
    sim.run_until(1_000);
    assert_eq!(sim.controller.image().live_brokers().len(), 3);
    sim.create_topic("orders", 3, 3);
    for p in 0..3 {
        let (leader, epoch) = sim.leader("orders", p);
        let tp = TopicPartition::new("orders", p);
        assert!(
            sim.brokers[&leader].view().is_leader(&tp),
            "broker {leader} leads {p}"
        );
        assert_eq!(sim.brokers[&leader].view().leader_epoch(&tp), Some(epoch));
    }
}

/// acks=all answers once the followers have the batch; consumers then read it below the HW.
#[test]
fn acks_all_produce_is_answered_after_replication_and_readable() {
    let mut sim = Sim::new(3);
    sim.create_topic("orders", 1, 3);
    let (leader, _) = sim.leader("orders", 0);
    let answer = sim
        .call(leader, 9, produce("orders", 0, -1, &["a", "b"]))
        .unwrap();
    assert_eq!(produce_result(&answer), (0, 0));
    for id in 1..=3 {
        let end = sim.stores[&id]
            .with_log(&TopicPartition::new("orders", 0), |l| l.log_end_offset())
            .unwrap();
        assert_eq!(end, 2, "broker {id} has the batch before the answer");
    }
    let answer = sim.call(leader, 12, fetch("orders", 0, 0, 0)).unwrap();
    assert_eq!(fetched_offsets(&answer), (0, 2, vec![0, 1]));
    assert!(sim.events.iter().any(|e| matches!(
        e,
        ClusterEvent::HighWatermarkAdvanced {
            high_watermark: 2,
            ..
        }
    )));
}

/// A fetch with MinBytes waits for data: answered when a produce lands, not before.
#[test]
fn delayed_fetch_completes_when_data_arrives() {
    let mut sim = Sim::new(1);
    sim.create_topic("orders", 1, 1);
    let correlation_id = sim.send(1, 12, fetch("orders", 0, 0, 5_000));
    sim.run_until(sim.now_ms + 1_000);
    assert!(!sim.responses.contains_key(&correlation_id), "parked");
    let answer = sim.call(1, 9, produce("orders", 0, 1, &["x"])).unwrap();
    assert_eq!(produce_result(&answer).0, 0);
    sim.run_until(sim.now_ms + 10);
    let fetched = sim.responses.remove(&correlation_id).expect("answered");
    assert_eq!(fetched_offsets(&fetched).2, vec![0]);
}

/// A produce to a broker that does not lead the partition is NOT_LEADER_OR_FOLLOWER.
#[test]
fn produce_to_a_follower_is_not_leader() {
    let mut sim = Sim::new(2);
    sim.create_topic("orders", 1, 2);
    let (leader, _) = sim.leader("orders", 0);
    let follower = if leader == 1 { 2 } else { 1 };
    let answer = sim
        .call(follower, 9, produce("orders", 0, -1, &["a"]))
        .unwrap();
    assert_eq!(
        produce_result(&answer).0,
        crate::ResponseError::NotLeaderOrFollower.code()
    );
}

/// Failover: the leader dies, a follower from the ISR takes over with a higher epoch, no acknowledged
/// record is lost, and the restarted old leader rejoins the ISR.
#[test]
fn failover_keeps_acknowledged_records_and_old_leader_rejoins() {
    let mut sim = Sim::new(3);
    sim.create_topic("orders", 1, 3);
    let (old_leader, old_epoch) = sim.leader("orders", 0);
    for i in 0..5 {
        let value = format!("v{i}");
        let answer = sim
            .call(old_leader, 9, produce("orders", 0, -1, &[&value]))
            .unwrap();
        assert_eq!(produce_result(&answer), (0, i));
    }
    sim.kill(old_leader);
    sim.run_until(sim.now_ms + 15_000);
    let (new_leader, new_epoch) = sim.leader("orders", 0);
    assert_ne!(new_leader, old_leader);
    assert!(new_epoch > old_epoch);
    let answer = sim
        .call(new_leader, 9, produce("orders", 0, -1, &["after"]))
        .unwrap();
    assert_eq!(produce_result(&answer), (0, 5));
    let answer = sim.call(new_leader, 12, fetch("orders", 0, 0, 0)).unwrap();
    assert_eq!(fetched_offsets(&answer).2, vec![0, 1, 2, 3, 4, 5]);
    sim.start(old_leader);
    sim.run_until(sim.now_ms + 30_000);
    let isr = &sim.controller.image().partition("orders", 0).unwrap().isr;
    assert!(isr.contains(&old_leader), "rejoined the ISR: {isr:?}");
    let end = sim.stores[&old_leader]
        .with_log(&TopicPartition::new("orders", 0), |l| l.log_end_offset())
        .unwrap();
    assert_eq!(end, 6);
}

/// ApiVersions lists the broker's APIs; an API nobody serves closes the connection.
#[test]
fn api_versions_lists_apis_and_unserved_api_closes() {
    let mut sim = Sim::new(1);
    sim.run_until(100);
    let answer = sim
        .call(
            1,
            3,
            RequestKind::ApiVersions(ApiVersionsRequest::default()),
        )
        .unwrap();
    let ResponseKind::ApiVersions(r) = answer else {
        panic!()
    };
    let keys: Vec<i16> = r.api_keys.iter().map(|k| k.api_key).collect();
    assert!(keys.contains(&(ApiKey::Produce as i16)));
    assert!(keys.contains(&(ApiKey::Fetch as i16)));
    assert!(!keys.contains(&(ApiKey::ShareFetch as i16)));
    let correlation_id = sim.send(
        1,
        1,
        RequestKind::ShareFetch(kafka_protocol::messages::ShareFetchRequest::default()),
    );
    sim.run_until(sim.now_ms + 100);
    assert!(!sim.responses.contains_key(&correlation_id));
    assert_eq!(sim.closed.len(), 1);
}

/// Answers FindCoordinator for one key type with its own name in the error message, declining the
/// others (`BrokerService::accepts`).
struct KeyTypeService {
    name: &'static str,
    key_type: i8,
}

impl BrokerService for KeyTypeService {
    fn name(&self) -> &'static str {
        self.name
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![ApiKey::FindCoordinator]
    }

    fn accepts(&self, request: &RequestKind) -> bool {
        matches!(request, RequestKind::FindCoordinator(r) if r.key_type == self.key_type)
    }

    fn handle_request(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        _request: RequestKind,
    ) {
        let response = kafka_protocol::messages::FindCoordinatorResponse::default()
            .with_error_message(Some(kafka_protocol::protocol::StrBytes::from_static_str(
                self.name,
            )));
        cx.respond(connection, &header, ResponseKind::FindCoordinator(response));
    }
}

/// An API key claimed by two services goes to the first that accepts the request; one nobody accepts
/// closes the connection, like an unclaimed key.
#[test]
fn shared_api_key_goes_to_the_service_that_accepts_it() {
    let mut sim = Sim::new(1);
    let broker = sim.brokers.get_mut(&1).unwrap();
    broker.add_service(Box::new(KeyTypeService {
        name: "transactions",
        key_type: 1,
    }));
    broker.add_service(Box::new(KeyTypeService {
        name: "groups",
        key_type: 0,
    }));
    let find = |key_type: i8| {
        RequestKind::FindCoordinator(
            kafka_protocol::messages::FindCoordinatorRequest::default().with_key_type(key_type),
        )
    };
    for (key_type, expected) in [(0, "groups"), (1, "transactions")] {
        let Some(ResponseKind::FindCoordinator(r)) = sim.call(1, 4, find(key_type)) else {
            panic!("FindCoordinator for key type {key_type} unanswered");
        };
        assert_eq!(r.error_message.as_deref(), Some(expected));
    }
    let correlation_id = sim.send(1, 4, find(2));
    sim.run_until(sim.now_ms + 100);
    assert!(!sim.responses.contains_key(&correlation_id));
    assert_eq!(sim.closed.len(), 1);
}
