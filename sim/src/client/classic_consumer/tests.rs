//! Classic consumers against the real classic coordinator and an in-memory broker (one node, real v2
//! batches in `PartitionLog`s): joining, assignment, fetching, commits, eager rebalances, the 1:1
//! partition limit and `max.poll.interval.ms`.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::client::share_consumer::RequestId;
use crate::coordinator::classic::{
    ClassicEffect, ClassicGroupConfig, ClassicGroupCoordinator, ClassicResponse, RequestContext,
    RequestToken,
};
use crate::log::{
    encode_data_batch, FetchIsolation, LogConfig, PartitionLog, ProducerIdentity, ProducerRecord,
};
use crate::trace::{ClassicTraceEvent, TopicPartitionName};

const TOPIC: &str = "orders";

fn tp(partition: i32) -> TopicPartitionName {
    TopicPartitionName {
        topic: TOPIC.to_string(),
        partition,
    }
}

/// One broker (node 1) hosting the coordinator and every partition; consumers by index.
struct MiniCluster {
    now_ms: u64,
    coordinator: ClassicGroupCoordinator,
    logs: Vec<PartitionLog>,
    consumers: Vec<ClassicConsumer>,
    /// Coordinator request token → (consumer, request id).
    parked: BTreeMap<RequestToken, (usize, RequestId)>,
    next_token: u64,
    traces: Vec<ClassicTraceEvent>,
    events: Vec<(usize, ClassicConsumerEvent)>,
    /// Consumers whose requests are dropped (crashed).
    dead: Vec<bool>,
    /// Fetches answered at the next tick (the broker's fetch.max.wait), so an empty fetch does not spin.
    delayed_fetches: Vec<(usize, RequestId, FetchRequest)>,
}

impl MiniCluster {
    fn new(
        partitions: usize,
        consumers: usize,
        tweak: impl Fn(&mut ClassicConsumerConfig),
    ) -> MiniCluster {
        let config = ClassicGroupConfig {
            initial_rebalance_delay_ms: 0,
            ..ClassicGroupConfig::default()
        };
        let mut cluster = MiniCluster {
            now_ms: 0,
            coordinator: ClassicGroupCoordinator::new(config),
            logs: (0..partitions)
                .map(|_| PartitionLog::new(LogConfig::default()))
                .collect(),
            consumers: Vec::new(),
            parked: BTreeMap::new(),
            next_token: 0,
            traces: Vec::new(),
            events: Vec::new(),
            dead: Vec::new(),
            delayed_fetches: Vec::new(),
        };
        for index in 0..consumers {
            cluster.add_consumer(index, &tweak);
        }
        cluster
    }

    fn add_consumer(&mut self, index: usize, tweak: &impl Fn(&mut ClassicConsumerConfig)) {
        let mut config = ClassicConsumerConfig::new("payments", &format!("consumer-{index}"));
        config.auto_offset_reset = OffsetResetStrategy::Earliest;
        config.session_timeout_ms = 10_000;
        config.max_poll_interval_ms = 30_000;
        tweak(&mut config);
        let mut consumer = ClassicConsumer::new(config);
        consumer.subscribe(self.now_ms, &[TOPIC]);
        self.consumers.push(consumer);
        self.dead.push(false);
    }

    fn produce(&mut self, partition: usize, count: usize) {
        let records: Vec<ProducerRecord> = (0..count)
            .map(|i| {
                ProducerRecord::new(None, Some(format!("v{i}").as_bytes()), self.now_ms as i64)
            })
            .collect();
        let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
        let log = &mut self.logs[partition];
        log.append_as_leader(&batch, 0, self.now_ms as i64).unwrap();
        let end = log.log_end_offset();
        log.update_high_watermark(end);
    }

    /// Delivers every queued request and response until nothing moves (bounded).
    fn pump(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            for index in 0..self.consumers.len() {
                while let Some(transmit) = self.consumers[index].poll_transmit() {
                    moved = true;
                    if !self.dead[index] {
                        self.serve(index, transmit);
                    }
                }
                while let Some(event) = self.consumers[index].poll_event() {
                    self.events.push((index, event));
                }
                while let Some(trace) = self.consumers[index].poll_trace() {
                    self.traces.push(trace);
                }
            }
            moved |= self.drain_coordinator();
            if !moved {
                return;
            }
        }
        panic!("the mini cluster did not settle");
    }

    fn drain_coordinator(&mut self) -> bool {
        let mut moved = false;
        while let Some(effect) = self.coordinator.poll_effect() {
            moved = true;
            match effect {
                ClassicEffect::Respond { token, response } => {
                    let (index, request_id) = self.parked.remove(&token).expect("known token");
                    let response = match response {
                        ClassicResponse::JoinGroup(r) => ResponseKind::JoinGroup(r),
                        ClassicResponse::SyncGroup(r) => ResponseKind::SyncGroup(r),
                        ClassicResponse::Heartbeat(r) => ResponseKind::Heartbeat(r),
                        ClassicResponse::LeaveGroup(r) => ResponseKind::LeaveGroup(r),
                        ClassicResponse::OffsetCommit(r) => ResponseKind::OffsetCommit(r),
                        ClassicResponse::OffsetFetch(r) => ResponseKind::OffsetFetch(r),
                    };
                    if !self.dead[index] {
                        self.consumers[index].handle_response(self.now_ms, request_id, response);
                    }
                }
                ClassicEffect::Trace(event) => self.traces.push(event),
                ClassicEffect::AppendRecords { .. } => {}
            }
        }
        moved
    }

    fn serve(&mut self, index: usize, transmit: Transmit) {
        let now_ms = self.now_ms;
        self.next_token += 1;
        let context = RequestContext {
            token: RequestToken(self.next_token),
            api_version: transmit.api_version,
            client_id: format!("consumer-{index}"),
        };
        let parked = (index, transmit.request_id);
        let immediate = match transmit.request {
            RequestKind::FindCoordinator(_) => Some(ResponseKind::FindCoordinator(
                FindCoordinatorResponse::default().with_coordinators(vec![Coordinator::default()
                    .with_key(StrBytes::from_static_str("payments"))
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("10.0.0.1"))
                    .with_port(9092)]),
            )),
            RequestKind::Metadata(_) => Some(ResponseKind::Metadata(self.metadata())),
            RequestKind::ListOffsets(request) => {
                Some(ResponseKind::ListOffsets(self.list_offsets(&request)))
            }
            RequestKind::Fetch(request) => {
                self.delayed_fetches
                    .push((index, transmit.request_id, request));
                None
            }
            RequestKind::JoinGroup(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_join_group(now_ms, context, &r);
                None
            }
            RequestKind::SyncGroup(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_sync_group(now_ms, context, &r);
                None
            }
            RequestKind::Heartbeat(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_heartbeat(now_ms, context, &r);
                None
            }
            RequestKind::LeaveGroup(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_leave_group(now_ms, context, &r);
                None
            }
            RequestKind::OffsetCommit(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_offset_commit(now_ms, context, &r);
                None
            }
            RequestKind::OffsetFetch(r) => {
                self.parked.insert(context.token, parked);
                self.coordinator.handle_offset_fetch(now_ms, context, &r);
                None
            }
            other => panic!("unexpected request {other:?}"),
        };
        if let Some(response) = immediate {
            self.consumers[index].handle_response(now_ms, transmit.request_id, response);
        }
    }

    fn metadata(&self) -> MetadataResponse {
        let partitions = (0..self.logs.len() as i32)
            .map(|p| {
                MetadataResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(BrokerId(1))
                    .with_leader_epoch(0)
            })
            .collect();
        MetadataResponse::default()
            .with_brokers(vec![MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("10.0.0.1"))
                .with_port(9092)])
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str(TOPIC))))
                .with_topic_id(uuid::Uuid::from_u128(7))
                .with_partitions(partitions)])
    }

    fn list_offsets(&self, request: &ListOffsetsRequest) -> ListOffsetsResponse {
        let topics = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let log = &self.logs[p.partition_index as usize];
                        let offset = if p.timestamp == -2 {
                            log.log_start_offset()
                        } else {
                            log.high_watermark()
                        };
                        ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index)
                            .with_offset(offset)
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(t.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }

    fn fetch(&self, request: &FetchRequest) -> FetchResponse {
        let responses = request
            .topics
            .iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let log = &self.logs[p.partition as usize];
                        match log.read(p.fetch_offset, 1 << 20, FetchIsolation::HighWatermark, true)
                        {
                            Ok(read) => PartitionData::default()
                                .with_partition_index(p.partition)
                                .with_high_watermark(read.high_watermark)
                                .with_records(Some(read.records)),
                            Err(error) => PartitionData::default()
                                .with_partition_index(p.partition)
                                .with_error_code(error.code())
                                .with_records(Some(Bytes::new())),
                        }
                    })
                    .collect();
                FetchableTopicResponse::default()
                    .with_topic(t.topic.clone())
                    .with_partitions(partitions)
            })
            .collect();
        FetchResponse::default().with_responses(responses)
    }

    /// Advances time by `ms`, firing every timer, and polls every live consumer; returns what each got.
    fn tick(&mut self, ms: u64) -> Vec<Vec<ClassicRecord>> {
        self.now_ms += ms;
        self.coordinator.handle_timeout(self.now_ms);
        for (index, request_id, request) in std::mem::take(&mut self.delayed_fetches) {
            if !self.dead[index] {
                let response = ResponseKind::Fetch(self.fetch(&request));
                self.consumers[index].handle_response(self.now_ms, request_id, response);
            }
        }
        let mut polled = Vec::new();
        for index in 0..self.consumers.len() {
            if self.dead[index] {
                polled.push(Vec::new());
                continue;
            }
            self.consumers[index].handle_timeout(self.now_ms);
            self.pump();
            let records = self.consumers[index].poll(self.now_ms);
            self.pump();
            polled.push(records);
        }
        polled
    }

    fn run(&mut self, total_ms: u64, step_ms: u64) -> Vec<Vec<ClassicRecord>> {
        let mut all = vec![Vec::new(); self.consumers.len()];
        for _ in 0..total_ms / step_ms {
            for (index, records) in self.tick(step_ms).into_iter().enumerate() {
                all[index].extend(records);
            }
        }
        all
    }
}

/// Two consumers on four partitions: the range assignor splits them 2/2, every record is delivered
/// once, in offset order per partition.
#[test]
fn group_splits_partitions_and_consumes_everything() {
    let mut cluster = MiniCluster::new(4, 2, |_| {});
    for partition in 0..4 {
        cluster.produce(partition, 5);
    }
    let delivered = cluster.run(5_000, 100);
    for consumer in &cluster.consumers {
        assert_eq!(consumer.state(), MemberState::Stable);
        assert_eq!(consumer.assignment().len(), 2);
    }
    let mut seen: BTreeMap<TopicPartitionName, Vec<i64>> = BTreeMap::new();
    for records in &delivered {
        for record in records {
            seen.entry(record.topic_partition.clone())
                .or_default()
                .push(record.offset);
        }
    }
    for partition in 0..4 {
        assert_eq!(seen[&tp(partition)], (0..5).collect::<Vec<i64>>());
    }
}

/// The 1:1 limit: three consumers on two partitions: one consumer gets no partition and no record.
#[test]
fn extra_consumers_stay_idle() {
    let mut cluster = MiniCluster::new(2, 3, |_| {});
    cluster.produce(0, 3);
    cluster.produce(1, 3);
    let delivered = cluster.run(5_000, 100);
    let idle: Vec<usize> = (0..3)
        .filter(|i| cluster.consumers[*i].assignment().is_empty())
        .collect();
    assert_eq!(idle.len(), 1);
    assert!(delivered[idle[0]].is_empty());
    assert_eq!(delivered.iter().map(Vec::len).sum::<usize>(), 6);
}

/// Auto-commit commits the positions of polled records; a consumer joining later starts from them.
#[test]
fn auto_commit_and_resume_from_committed() {
    let mut cluster = MiniCluster::new(1, 1, |c| c.auto_commit_interval_ms = 1_000);
    cluster.produce(0, 4);
    cluster.run(3_000, 100);
    assert_eq!(cluster.consumers[0].committed(&tp(0)), Some(4));
    cluster.consumers[0].close(cluster.now_ms);
    cluster.pump();
    assert!(cluster
        .events
        .iter()
        .any(|(i, e)| *i == 0 && *e == ClassicConsumerEvent::Closed));
    cluster.produce(0, 2);
    cluster.add_consumer(1, &|_: &mut ClassicConsumerConfig| {});
    let delivered = cluster.run(3_000, 100);
    let offsets: Vec<i64> = delivered[1].iter().map(|r| r.offset).collect();
    assert_eq!(offsets, vec![4, 5]);
}

/// Eager rebalance: a second consumer joining makes the first revoke everything (after committing) and
/// both rejoin; records are not lost and partitions move with their committed offsets.
#[test]
fn joining_consumer_triggers_eager_rebalance() {
    let mut cluster = MiniCluster::new(2, 1, |c| c.auto_commit_interval_ms = 500);
    cluster.produce(0, 3);
    cluster.produce(1, 3);
    let first = cluster.run(2_000, 100);
    assert_eq!(first[0].len(), 6);
    cluster.add_consumer(1, &|c: &mut ClassicConsumerConfig| {
        c.auto_commit_interval_ms = 500
    });
    cluster.produce(0, 2);
    cluster.produce(1, 2);
    let second = cluster.run(10_000, 100);
    assert!(cluster
        .traces
        .iter()
        .any(|t| matches!(t, ClassicTraceEvent::PartitionsRevoked { .. })));
    assert_eq!(cluster.consumers[0].assignment().len(), 1);
    assert_eq!(cluster.consumers[1].assignment().len(), 1);
    let mut later: Vec<(i32, i64)> = second
        .iter()
        .flatten()
        .map(|r| (r.topic_partition.partition, r.offset))
        .collect();
    later.sort();
    assert_eq!(
        later,
        vec![(0, 3), (0, 4), (1, 3), (1, 4)],
        "no loss, no redelivery of committed work"
    );
}
