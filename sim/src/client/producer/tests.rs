//! Producer engine tests against a small in-memory cluster whose partitions are real
//! [`PartitionLog`]s (so duplicates and sequence errors are the log's own verdicts).

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    AddPartitionsToTxnResponse, BrokerId, EndTxnResponse, FindCoordinatorResponse,
    InitProducerIdResponse, MetadataResponse, ProduceResponse, ProducerId, RequestKind,
    ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use proptest::prelude::*;

use super::*;
use crate::log::{
    ConsumedBatchKind, FetchIsolation, LogConfig, PartitionLog, ProducerRecord, RawBatch,
};
use crate::ResponseError;

const TOPIC: &str = "orders";

/// What the fake cluster does to the next produce of a partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ProduceFault {
    /// Append, then lose the response (the client times out).
    LoseResponse,
    /// Lose the request (nothing appended; the client times out).
    LoseRequest,
    /// Answer NOT_LEADER_OR_FOLLOWER without appending, and move the leader.
    NotLeader,
    /// Answer with this error without appending.
    Error(ResponseError),
}

/// A small cluster: brokers 1..=n, one topic, real partition logs, a producer id counter and a
/// minimal transaction coordinator (broker 1) that records what it was asked.
struct FakeCluster {
    broker_count: i32,
    leaders: BTreeMap<i32, i32>,
    logs: BTreeMap<i32, PartitionLog>,
    next_producer_id: i64,
    epochs: BTreeMap<String, (i64, i16)>,
    faults: VecDeque<(i32, ProduceFault)>,
    txn_log: Vec<String>,
    /// Produce requests served.
    produce_requests: usize,
    /// A lost request or response breaks the connection (TCP): later requests to that broker are
    /// lost too until the client's request timeout notices.
    broken_until_ms: BTreeMap<i32, u64>,
    request_timeout_ms: u64,
    /// An injected error is a partition's condition (no ISR, a slow disk), not one request's: other
    /// requests for the partition in the same millisecond get it too.
    failing_until_ms: BTreeMap<i32, (u64, ResponseError)>,
}

impl FakeCluster {
    fn new(broker_count: i32, partition_count: i32) -> Self {
        FakeCluster {
            broker_count,
            leaders: (0..partition_count)
                .map(|p| (p, 1 + p % broker_count))
                .collect(),
            logs: (0..partition_count)
                .map(|p| (p, PartitionLog::new(LogConfig::default())))
                .collect(),
            next_producer_id: 1000,
            epochs: BTreeMap::new(),
            faults: VecDeque::new(),
            txn_log: Vec::new(),
            produce_requests: 0,
            broken_until_ms: BTreeMap::new(),
            request_timeout_ms: 30_000,
            failing_until_ms: BTreeMap::new(),
        }
    }

    fn address(node_id: i32) -> BrokerAddress {
        BrokerAddress {
            node_id,
            host: format!("10.0.0.{node_id}"),
            port: 9092,
        }
    }

    fn move_leader(&mut self, partition: i32) {
        let leader = self.leaders[&partition];
        self.leaders
            .insert(partition, 1 + leader % self.broker_count);
    }

    /// The response, or `None` when it is lost.
    fn serve(
        &mut self,
        now_ms: u64,
        destination: &Destination,
        request: &RequestKind,
    ) -> Option<ResponseKind> {
        let node = match destination {
            Destination::Bootstrap => 1,
            Destination::Broker(b) => b.node_id,
        };
        if self
            .broken_until_ms
            .get(&node)
            .is_some_and(|until| now_ms < *until)
        {
            return None;
        }
        match request {
            RequestKind::Metadata(_) => Some(ResponseKind::Metadata(self.metadata())),
            RequestKind::InitProducerId(r) => {
                let (id, epoch) = match &r.transactional_id {
                    None => {
                        self.next_producer_id += 1;
                        (self.next_producer_id, 0)
                    }
                    Some(t) => {
                        let name = t.0.to_string();
                        self.txn_log.push(format!("InitProducerId {name}"));
                        let next = match self.epochs.get(&name) {
                            Some((id, epoch)) => (*id, epoch + 1),
                            None => {
                                self.next_producer_id += 1;
                                (self.next_producer_id, 0)
                            }
                        };
                        self.epochs.insert(name, next);
                        next
                    }
                };
                Some(ResponseKind::InitProducerId(
                    InitProducerIdResponse::default()
                        .with_producer_id(ProducerId(id))
                        .with_producer_epoch(epoch),
                ))
            }
            RequestKind::FindCoordinator(r) => {
                self.txn_log.push("FindCoordinator".to_string());
                let coordinator = Coordinator::default()
                    .with_key(r.coordinator_keys[0].clone())
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("10.0.0.1"))
                    .with_port(9092);
                Some(ResponseKind::FindCoordinator(
                    FindCoordinatorResponse::default().with_coordinators(vec![coordinator]),
                ))
            }
            RequestKind::AddPartitionsToTxn(r) => {
                let epoch_ok = self.txn_epoch_ok(
                    &r.v3_and_below_transactional_id.0,
                    r.v3_and_below_producer_epoch,
                );
                let code = if epoch_ok {
                    0
                } else {
                    ResponseError::ProducerFenced.code()
                };
                let topics = r
                    .v3_and_below_topics
                    .iter()
                    .map(|t| {
                        for p in &t.partitions {
                            self.txn_log.push(format!("AddPartitionsToTxn {p}"));
                        }
                        AddPartitionsToTxnTopicResult::default()
                            .with_name(t.name.clone())
                            .with_results_by_partition(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        AddPartitionsToTxnPartitionResult::default()
                                            .with_partition_index(*p)
                                            .with_partition_error_code(code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                Some(ResponseKind::AddPartitionsToTxn(
                    AddPartitionsToTxnResponse::default()
                        .with_results_by_topic_v3_and_below(topics),
                ))
            }
            RequestKind::EndTxn(r) => {
                let ok = self.txn_epoch_ok(&r.transactional_id.0, r.producer_epoch);
                self.txn_log
                    .push(format!("EndTxn committed={}", r.committed));
                let code = if ok {
                    0
                } else {
                    ResponseError::ProducerFenced.code()
                };
                Some(ResponseKind::EndTxn(
                    EndTxnResponse::default().with_error_code(code),
                ))
            }
            RequestKind::Produce(r) => {
                self.produce_requests += 1;
                let mut topics = Vec::new();
                for topic in &r.topic_data {
                    let mut partitions = Vec::new();
                    for data in &topic.partition_data {
                        let p = data.index;
                        let fault = match self.faults.front() {
                            Some((fp, f)) if *fp == p => {
                                let f = *f;
                                self.faults.pop_front();
                                Some(f)
                            }
                            _ => None,
                        };
                        let failing = self
                            .failing_until_ms
                            .get(&p)
                            .filter(|(until, _)| now_ms < *until)
                            .map(|(_, e)| *e);
                        let (code, base_offset) = if self.leaders.get(&p) != Some(&node) {
                            (ResponseError::NotLeaderOrFollower.code(), -1)
                        } else if let Some(e) = failing {
                            (e.code(), -1)
                        } else {
                            match fault {
                                Some(ProduceFault::LoseRequest) => {
                                    self.broken_until_ms
                                        .insert(node, now_ms + self.request_timeout_ms);
                                    return None;
                                }
                                Some(ProduceFault::NotLeader) => {
                                    self.move_leader(p);
                                    (ResponseError::NotLeaderOrFollower.code(), -1)
                                }
                                Some(ProduceFault::Error(e)) => {
                                    self.failing_until_ms.insert(p, (now_ms + 1, e));
                                    (e.code(), -1)
                                }
                                _ => {
                                    let records = data.records.clone().unwrap_or_default();
                                    let log = self.logs.get_mut(&p).unwrap();
                                    match log.append_as_leader(&records, 0, now_ms as i64) {
                                        Ok(info) => {
                                            let end = log.log_end_offset();
                                            log.update_high_watermark(end);
                                            if fault == Some(ProduceFault::LoseResponse) {
                                                self.broken_until_ms
                                                    .insert(node, now_ms + self.request_timeout_ms);
                                                return None;
                                            }
                                            (0, info.first_offset)
                                        }
                                        Err(e) => (e.code(), -1),
                                    }
                                }
                            }
                        };
                        partitions.push(
                            PartitionProduceResponse::default()
                                .with_index(p)
                                .with_error_code(code)
                                .with_base_offset(base_offset),
                        );
                    }
                    topics.push(
                        TopicProduceResponse::default()
                            .with_name(topic.name.clone())
                            .with_partition_responses(partitions),
                    );
                }
                Some(ResponseKind::Produce(
                    ProduceResponse::default().with_responses(topics),
                ))
            }
            _ => None,
        }
    }

    fn txn_epoch_ok(&self, transactional_id: &StrBytes, epoch: i16) -> bool {
        self.epochs
            .get(&transactional_id.to_string())
            .is_some_and(|(_, e)| *e == epoch)
    }

    fn metadata(&self) -> MetadataResponse {
        let brokers = (1..=self.broker_count)
            .map(|b| {
                let a = Self::address(b);
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(b))
                    .with_host(StrBytes::from_string(a.host))
                    .with_port(a.port)
            })
            .collect();
        let partitions = self
            .leaders
            .iter()
            .map(|(p, l)| {
                MetadataResponsePartition::default()
                    .with_partition_index(*p)
                    .with_leader_id(BrokerId(*l))
            })
            .collect();
        let topic = MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str(TOPIC))))
            .with_partitions(partitions);
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_topics(vec![topic])
    }

    /// The values of the data records of a partition, in offset order.
    fn values(&self, partition: i32, isolation: FetchIsolation) -> Vec<String> {
        let log = &self.logs[&partition];
        let read = log.read(0, usize::MAX, isolation, true).unwrap();
        let consumed =
            crate::log::consume_fetched(&read.records, 0, read.aborted_transactions.as_deref());
        let mut values = Vec::new();
        for batch in consumed.unwrap() {
            if let ConsumedBatchKind::Data(records) = batch.kind {
                for r in records {
                    values.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
                }
            }
        }
        values
    }
}

/// A producer wired to a fake cluster with instant delivery; lost messages time out after
/// `request.timeout.ms`.
struct Harness {
    producer: Producer,
    cluster: FakeCluster,
    now_ms: u64,
    /// Responses to deliver: (at, request id, response or failure).
    inbox: Vec<(u64, RequestId, Result<ResponseKind, RequestFailure>)>,
    events: Vec<ProducerEvent>,
    transmits: Vec<Transmit>,
    /// Hold produce requests instead of serving them (for the in-flight cap).
    hold_produce: bool,
    held: Vec<Transmit>,
}

impl Harness {
    fn new(config: ProducerConfig, brokers: i32, partitions: i32) -> Self {
        let mut cluster = FakeCluster::new(brokers, partitions);
        cluster.request_timeout_ms = config.request_timeout_ms;
        Harness {
            producer: Producer::new(config, 7),
            cluster,
            now_ms: 0,
            inbox: Vec::new(),
            events: Vec::new(),
            transmits: Vec::new(),
            hold_produce: false,
            held: Vec::new(),
        }
    }

    fn send(&mut self, key: Option<&str>, value: &str) -> RecordId {
        self.send_to(None, key, value)
    }

    fn send_to(&mut self, partition: Option<i32>, key: Option<&str>, value: &str) -> RecordId {
        let record = ProducerRecord::new(
            key.map(|k| k.as_bytes()),
            Some(value.as_bytes()),
            self.now_ms as i64,
        );
        let id = self
            .producer
            .send(
                self.now_ms,
                SendRecord {
                    topic: TOPIC.to_string(),
                    partition,
                    record,
                },
            )
            .unwrap();
        self.pump();
        id
    }

    /// Sends whatever the producer wants to send and delivers what is due now.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut progressed = false;
            while let Some(t) = self.producer.poll_transmit(self.now_ms) {
                progressed = true;
                self.transmits.push(t.clone());
                if self.hold_produce && matches!(t.request, RequestKind::Produce(_)) {
                    self.held.push(t);
                    continue;
                }
                let response = self.cluster.serve(self.now_ms, &t.destination, &t.request);
                if !t.expects_response {
                    continue;
                }
                match response {
                    Some(r) => self.inbox.push((self.now_ms, t.request_id, Ok(r))),
                    None => self.inbox.push((
                        self.now_ms + t.timeout_ms,
                        t.request_id,
                        Err(RequestFailure::TimedOut),
                    )),
                }
            }
            let due: Vec<_> = {
                let now = self.now_ms;
                let (due, later): (Vec<_>, Vec<_>) =
                    self.inbox.drain(..).partition(|(at, _, _)| *at <= now);
                self.inbox = later;
                due
            };
            for (_, id, r) in due {
                progressed = true;
                self.producer.handle_response(self.now_ms, id, r);
            }
            while let Some(e) = self.producer.poll_event() {
                self.events.push(e);
            }
            if !progressed {
                return;
            }
        }
        panic!("the producer never settles");
    }

    /// Advances virtual time to the producer's or the inbox's next deadline, up to `until_ms`.
    fn run_until(&mut self, until_ms: u64) {
        self.pump();
        loop {
            let next = [
                self.producer.poll_timeout(),
                self.inbox.iter().map(|(at, _, _)| *at).min(),
            ]
            .into_iter()
            .flatten()
            .min();
            match next {
                Some(at) if at <= until_ms => {
                    self.now_ms = self.now_ms.max(at);
                    self.producer.handle_timeout(self.now_ms);
                    self.pump();
                }
                _ => break,
            }
        }
        self.now_ms = self.now_ms.max(until_ms);
        self.producer.handle_timeout(self.now_ms);
        self.pump();
    }

    fn reports(&self) -> Vec<&DeliveryReport> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ProducerEvent::Delivery(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    fn report(&self, id: RecordId) -> Option<&DeliveryReport> {
        self.reports().into_iter().find(|d| d.record_id == id)
    }

    fn produce_count(&self) -> usize {
        self.transmits
            .iter()
            .filter(|t| matches!(t.request, RequestKind::Produce(_)))
            .count()
    }
}

fn config() -> ProducerConfig {
    ProducerConfig::default()
}

/// Kafka's `UtilsTest.testMurmur2` vectors.
#[test]
fn murmur2_matches_kafka() {
    let cases: &[(&str, i32)] = &[
        ("21", -973_932_308),
        ("foobar", -790_332_482),
        ("a-little-bit-long-string", -985_981_536),
        ("a-little-bit-longer-string", -1_486_304_829),
        (
            "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
            -58_897_971,
        ),
        ("abc", 479_470_107),
    ];
    for (input, expected) in cases {
        assert_eq!(murmur2(input.as_bytes()), *expected, "murmur2({input})");
    }
    assert_eq!(to_positive(i32::MIN), 0);
    assert_eq!(to_positive(-1), i32::MAX);
}

/// Keyed records go to `toPositive(murmur2(key)) % partitions`, all with the same key to one place.
#[test]
fn keyed_records_follow_murmur2() {
    let mut h = Harness::new(config(), 3, 6);
    let ids: Vec<_> = ["k1", "k2", "k3", "k1"]
        .iter()
        .map(|k| (k, h.send(Some(k), "v")))
        .collect();
    h.run_until(1_000);
    for (key, id) in ids {
        let report = h.report(id).expect("delivered");
        assert_eq!(report.error, None);
        assert_eq!(report.partition, partition_for_key(key.as_bytes(), 6));
    }
}

/// Records without a key stick to one partition until batch.size bytes went there (KIP-794).
#[test]
fn null_keys_stick_to_a_partition_until_batch_size() {
    let mut c = config();
    c.batch_size = 1_000;
    let mut h = Harness::new(c, 3, 6);
    let ids: Vec<_> = (0..40)
        .map(|i| h.send(None, &format!("{i:0>100}")))
        .collect();
    h.run_until(1_000);
    let partitions: Vec<i32> = ids
        .iter()
        .map(|id| h.report(*id).unwrap().partition)
        .collect();
    // ~121 bytes per record: the partition changes after every 9 records.
    assert!(partitions[..8].iter().all(|p| *p == partitions[0]));
    let switches = partitions.windows(2).filter(|w| w[0] != w[1]).count();
    assert!((3..=5).contains(&switches), "{partitions:?}");
}

/// linger.ms holds a lone record; batch.size sends a full batch at once.
#[test]
fn linger_and_batch_size_decide_when_a_batch_goes() {
    let mut c = config();
    c.linger_ms = 50;
    c.batch_size = 500;
    let mut h = Harness::new(c, 1, 1);
    h.run_until(10);
    let first = h.send(None, "a");
    h.run_until(59);
    assert_eq!(h.produce_count(), 0, "lingering");
    h.run_until(60);
    assert_eq!(h.produce_count(), 1);
    assert_eq!(h.report(first).unwrap().offset, Some(0));
    // Five 100-byte records overflow batch.size: the first batch is full and goes without lingering.
    for i in 0..5 {
        h.send(None, &format!("{i:0>100}"));
    }
    assert_eq!(h.produce_count(), 2);
}

/// A leader move answered with NOT_LEADER_OR_FOLLOWER refreshes metadata and retries at the new
/// leader; the record lands once.
#[test]
fn not_leader_refreshes_metadata_and_retries_at_the_new_leader() {
    let mut h = Harness::new(config(), 3, 1);
    h.cluster.faults.push_back((0, ProduceFault::NotLeader));
    let id = h.send(None, "x");
    h.run_until(5_000);
    let report = h.report(id).unwrap();
    assert_eq!(report.error, None);
    assert_eq!(report.offset, Some(0));
    assert_eq!(
        h.cluster.values(0, FetchIsolation::HighWatermark),
        vec!["x"]
    );
    let metadata_requests = h
        .transmits
        .iter()
        .filter(|t| matches!(t.request, RequestKind::Metadata(_)))
        .count();
    assert!(metadata_requests >= 2);
}

/// At most max.in.flight.requests.per.connection produce requests wait at one broker.
#[test]
fn in_flight_requests_per_connection_are_capped() {
    let mut c = config();
    c.max_in_flight_requests_per_connection = 2;
    c.linger_ms = 0;
    let mut h = Harness::new(c, 1, 4);
    h.run_until(1);
    h.hold_produce = true;
    for p in 0..4 {
        h.send_to(Some(p), None, "v");
        h.send_to(Some(p), None, "w");
    }
    h.run_until(100);
    assert_eq!(h.held.len(), 2);
}

/// A response lost after the append makes the idempotent producer retry; the log's producer state
/// answers the retry with the original offset, so the record is stored once.
#[test]
fn idempotent_retry_after_a_lost_response_is_stored_once() {
    let mut h = Harness::new(config(), 1, 1);
    h.cluster.faults.push_back((0, ProduceFault::LoseResponse));
    let id = h.send(None, "once");
    let second = h.send(None, "twice?");
    h.run_until(120_000);
    assert_eq!(h.report(id).unwrap().offset, Some(0));
    assert_eq!(h.report(second).unwrap().error, None);
    assert_eq!(
        h.cluster.values(0, FetchIsolation::HighWatermark),
        vec!["once", "twice?"]
    );
}

/// Without idempotence the same loss writes the record twice (what idempotence prevents).
#[test]
fn plain_retry_after_a_lost_response_duplicates() {
    let mut c = config();
    c.enable_idempotence = false;
    let mut h = Harness::new(c, 1, 1);
    h.cluster.faults.push_back((0, ProduceFault::LoseResponse));
    h.send(None, "dup");
    h.run_until(120_000);
    assert_eq!(
        h.cluster.values(0, FetchIsolation::HighWatermark),
        vec!["dup", "dup"]
    );
}

/// OUT_OF_ORDER_SEQUENCE_NUMBER for the batch the broker expects next is not retried: the batch
/// fails and the idempotent producer bumps its epoch (KIP-360); later records still go through.
#[test]
fn out_of_order_sequence_for_the_next_batch_bumps_the_epoch() {
    let mut h = Harness::new(config(), 1, 1);
    h.cluster.faults.push_back((
        0,
        ProduceFault::Error(ResponseError::OutOfOrderSequenceNumber),
    ));
    let failed = h.send(None, "lost");
    h.run_until(1_000);
    assert_eq!(
        h.report(failed).unwrap().error,
        Some(ProducerError::Broker(
            ResponseError::OutOfOrderSequenceNumber
        ))
    );
    assert!(h.events.iter().any(|e| matches!(
        e,
        ProducerEvent::EpochBumped {
            producer_epoch: 1,
            ..
        }
    )));
    let ok = h.send(None, "after");
    h.run_until(2_000);
    assert_eq!(h.report(ok).unwrap().error, None);
    assert_eq!(
        h.cluster.values(0, FetchIsolation::HighWatermark),
        vec!["after"]
    );
}

/// delivery.timeout.ms fails records that cannot be delivered; the report names the timeout.
#[test]
fn delivery_timeout_fails_records_that_never_get_through() {
    let mut c = config();
    c.delivery_timeout_ms = 40_000;
    c.request_timeout_ms = 10_000;
    let mut h = Harness::new(c, 1, 1);
    for _ in 0..100 {
        h.cluster.faults.push_back((0, ProduceFault::LoseRequest));
    }
    let id = h.send(None, "x");
    h.run_until(100_000);
    let report = h.report(id).unwrap();
    assert!(report.error.is_some());
    assert_eq!(report.offset, None);
    assert!(h
        .cluster
        .values(0, FetchIsolation::HighWatermark)
        .is_empty());
}

/// acks=0 reports at once without an offset; the record is still written.
#[test]
fn acks_zero_reports_without_offsets() {
    let mut props = BTreeMap::new();
    props.insert("acks".to_string(), "0".to_string());
    let c = ProducerConfig::from_properties(&props).unwrap();
    assert!(
        !c.enable_idempotence,
        "idempotence silently off with acks=0"
    );
    let mut h = Harness::new(c, 1, 1);
    let id = h.send(None, "fire");
    h.run_until(100);
    let report = h.report(id).unwrap();
    assert_eq!((report.offset, report.error.clone()), (None, None));
    assert_eq!(
        h.cluster.values(0, FetchIsolation::HighWatermark),
        vec!["fire"]
    );
}

/// Config names, defaults and Kafka's validation.
#[test]
fn config_parses_kafka_names_and_rejects_conflicts() {
    let d = ProducerConfig::default();
    assert_eq!((d.linger_ms, d.batch_size, d.acks), (5, 16_384, Acks::All));
    assert_eq!(
        (d.delivery_timeout_ms, d.request_timeout_ms),
        (120_000, 30_000)
    );
    let mut props = BTreeMap::new();
    props.insert("enable.idempotence".to_string(), "true".to_string());
    props.insert("acks".to_string(), "1".to_string());
    assert!(ProducerConfig::from_properties(&props).is_err());
    let mut props = BTreeMap::new();
    props.insert("lingr.ms".to_string(), "1".to_string());
    assert_eq!(
        ProducerConfig::from_properties(&props).unwrap_err().name,
        "lingr.ms"
    );
    let mut props = BTreeMap::new();
    props.insert("transactional.id".to_string(), "t".to_string());
    props.insert("linger.ms".to_string(), "0".to_string());
    let c = ProducerConfig::from_properties(&props).unwrap();
    assert!(c.idempotent());
}

fn transactional(id: &str) -> ProducerConfig {
    let mut c = config();
    c.transactional_id = Some(id.to_string());
    c
}

fn init(h: &mut Harness) {
    h.producer.init_transactions(h.now_ms).unwrap();
    h.run_until(h.now_ms + 100);
    assert_eq!(
        h.producer.transaction_state(),
        Some(&TransactionState::Ready)
    );
}

/// A transaction: FindCoordinator, InitProducerId, AddPartitionsToTxn before the first produce to a
/// partition, EndTxn(commit) after every batch is acknowledged.
#[test]
fn transaction_commit_follows_kafkas_request_order() {
    let mut h = Harness::new(transactional("tx-1"), 2, 2);
    init(&mut h);
    h.producer.begin_transaction(h.now_ms).unwrap();
    let a = h.send_to(Some(0), None, "a");
    let b = h.send_to(Some(1), None, "b");
    h.producer.commit_transaction(h.now_ms).unwrap();
    h.run_until(h.now_ms + 1_000);
    assert!(h.events.contains(&ProducerEvent::TransactionCommitted));
    assert_eq!(h.report(a).unwrap().error, None);
    assert_eq!(h.report(b).unwrap().error, None);
    assert_eq!(
        h.cluster.txn_log,
        vec![
            "FindCoordinator",
            "InitProducerId tx-1",
            "AddPartitionsToTxn 0",
            "AddPartitionsToTxn 1",
            "EndTxn committed=true"
        ]
    );
    // Every produce came after the partitions were added.
    let first_produce = h
        .transmits
        .iter()
        .position(|t| matches!(t.request, RequestKind::Produce(_)))
        .unwrap();
    let add = h
        .transmits
        .iter()
        .position(|t| matches!(t.request, RequestKind::AddPartitionsToTxn(_)))
        .unwrap();
    assert!(add < first_produce);
    assert_eq!(
        h.producer.transaction_state(),
        Some(&TransactionState::Ready)
    );
}

/// Abort drops unsent records (TransactionAborted) and ends with EndTxn(abort); an empty transaction
/// ends without any EndTxn.
#[test]
fn transaction_abort_fails_unsent_records_and_empty_transactions_end_locally() {
    let mut c = transactional("tx-2");
    c.linger_ms = 1_000;
    let mut h = Harness::new(c, 1, 1);
    init(&mut h);
    h.producer.begin_transaction(h.now_ms).unwrap();
    let id = h.send(None, "unsent");
    h.producer.abort_transaction(h.now_ms).unwrap();
    h.run_until(h.now_ms + 100);
    assert_eq!(
        h.report(id).unwrap().error,
        Some(ProducerError::TransactionAborted)
    );
    assert!(h.events.contains(&ProducerEvent::TransactionAborted));
    assert_eq!(h.cluster.txn_log.last().unwrap(), "EndTxn committed=false");
    let ends = h.cluster.txn_log.len();
    h.producer.begin_transaction(h.now_ms).unwrap();
    h.producer.commit_transaction(h.now_ms).unwrap();
    h.run_until(h.now_ms + 100);
    assert_eq!(
        h.cluster.txn_log.len(),
        ends,
        "no request for an empty transaction"
    );
    assert_eq!(
        h.events
            .iter()
            .filter(|e| **e == ProducerEvent::TransactionCommitted)
            .count(),
        1
    );
}

/// A second producer with the same transactional.id bumps the epoch; the first is fenced and fatal.
#[test]
fn zombie_with_an_old_epoch_is_fenced() {
    let mut zombie = Harness::new(transactional("tx-z"), 1, 1);
    init(&mut zombie);
    // A new instance (same cluster state) initializes: epoch 1.
    let mut fresh = Producer::new(transactional("tx-z"), 1);
    fresh.init_transactions(0).unwrap();
    std::mem::swap(&mut zombie.producer, &mut fresh);
    zombie.run_until(zombie.now_ms + 100);
    std::mem::swap(&mut zombie.producer, &mut fresh);
    assert_eq!(zombie.cluster.epochs["tx-z"].1, 1);
    zombie.producer.begin_transaction(zombie.now_ms).unwrap();
    let id = zombie.send(None, "zombie");
    zombie.run_until(zombie.now_ms + 1_000);
    assert_eq!(
        zombie.producer.fatal_error(),
        Some(ResponseError::ProducerFenced)
    );
    assert!(zombie.report(id).unwrap().error.is_some());
    assert!(matches!(
        zombie.producer.send(
            zombie.now_ms,
            SendRecord {
                topic: TOPIC.to_string(),
                partition: None,
                record: ProducerRecord::new(None, Some(b"late"), 0),
            }
        ),
        Err(ProducerError::Fatal(ResponseError::ProducerFenced)) | Err(ProducerError::Abortable(_))
    ));
}

/// A batch that the log rejects as fenced (INVALID_PRODUCER_EPOCH) makes a transactional producer
/// fatal; nothing it sends afterwards goes out.
#[test]
fn fenced_produce_is_fatal_for_a_transactional_producer() {
    let mut h = Harness::new(transactional("tx-f"), 1, 1);
    init(&mut h);
    h.producer.begin_transaction(h.now_ms).unwrap();
    h.cluster
        .faults
        .push_back((0, ProduceFault::Error(ResponseError::InvalidProducerEpoch)));
    let id = h.send(None, "x");
    h.run_until(h.now_ms + 1_000);
    assert!(h.report(id).unwrap().error.is_some());
    assert_eq!(
        h.producer.fatal_error(),
        Some(ResponseError::ProducerFenced)
    );
    let produces = h.produce_count();
    h.run_until(h.now_ms + 10_000);
    assert_eq!(h.produce_count(), produces);
}

/// A sequence stored in the log after a transport loss decodes to the same producer id.
#[test]
fn batches_carry_the_producer_id_and_sequences() {
    let mut h = Harness::new(config(), 1, 1);
    h.send(None, "a");
    h.run_until(100);
    h.send(None, "b");
    h.run_until(200);
    let log = &h.cluster.logs[&0];
    let read = log
        .read(0, usize::MAX, FetchIsolation::HighWatermark, true)
        .unwrap();
    let batches = RawBatch::split_all(&read.records).unwrap();
    assert_eq!(batches.len(), 2);
    assert_eq!(
        batches[0].header.producer_id,
        h.producer.identity().unwrap().producer_id
    );
    assert_eq!(
        (
            batches[0].header.base_sequence,
            batches[1].header.base_sequence
        ),
        (0, 1)
    );
    let _: Bytes = read.records;
}

fn fault_strategy() -> impl Strategy<Value = ProduceFault> {
    prop_oneof![
        Just(ProduceFault::LoseResponse),
        Just(ProduceFault::LoseRequest),
        Just(ProduceFault::NotLeader),
        Just(ProduceFault::Error(ResponseError::NotEnoughReplicas)),
        Just(ProduceFault::Error(ResponseError::RequestTimedOut)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Idempotence: whatever retriable faults hit the produce requests (lost requests and responses,
    /// leader moves, retriable errors), every record sent by an idempotent producer with up to five
    /// requests in flight is stored exactly once, in send order per partition, and its delivery
    /// report names the offset where it is.
    #[test]
    fn idempotent_retries_never_duplicate_or_reorder(
        records in proptest::collection::vec((0i32..3, 0u64..30), 1..60),
        faults in proptest::collection::vec((0i32..3, fault_strategy()), 0..25),
        max_in_flight in 1usize..=5,
        linger_ms in 0u64..20,
    ) {
        let mut c = config();
        c.max_in_flight_requests_per_connection = max_in_flight;
        c.linger_ms = linger_ms;
        c.batch_size = 200;
        c.request_timeout_ms = 1_000;
        let mut h = Harness::new(c, 3, 3);
        h.cluster.faults = faults.into_iter().collect();
        let mut sent: BTreeMap<i32, Vec<(RecordId, String)>> = BTreeMap::new();
        for (i, (partition, gap_ms)) in records.iter().enumerate() {
            let value = format!("r{i}");
            let id = h.send_to(Some(*partition), None, &value);
            sent.entry(*partition).or_default().push((id, value));
            let until = h.now_ms + gap_ms;
            h.run_until(until);
        }
        h.producer.flush(h.now_ms);
        let until = h.now_ms + 100_000;
        h.run_until(until);
        prop_assert!(h.producer.is_idle());
        for (partition, records) in &sent {
            let values = h.cluster.values(*partition, FetchIsolation::HighWatermark);
            let expected: Vec<String> = records.iter().map(|(_, v)| v.clone()).collect();
            prop_assert_eq!(&values, &expected);
            for (offset, (id, _)) in records.iter().enumerate() {
                let report = h.report(*id).unwrap();
                prop_assert_eq!(report.error.clone(), None);
                prop_assert_eq!(report.offset, Some(offset as i64));
            }
        }
    }
}
