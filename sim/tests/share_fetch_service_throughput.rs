//! Throughput of the broker-side share-fetch service alone (no network, no madsim): 16 members share 2
//! partitions holding 100,000 records; each member fetches (MaxRecords 500) with its previous records'
//! ACCEPTs piggybacked, and a stand-in coordinator answers every FindCoordinator, Read and Write at once.
//! Prints records delivered and acknowledged per wall-clock second. `#[ignore]`: run with
//! `cargo test --release -p sharesim-sim --test share_fetch_service_throughput -- --ignored --nocapture`.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::read_share_group_state_response::{
    PartitionResult as ReadPartition, ReadStateResult,
};
use kafka_protocol::messages::share_fetch_request::{
    AcknowledgementBatch, FetchPartition, FetchTopic,
};
use kafka_protocol::messages::write_share_group_state_response::{
    PartitionResult as WritePartition, WriteStateResult,
};
use kafka_protocol::messages::{
    BrokerId, FindCoordinatorResponse, GroupId, ReadShareGroupStateResponse, RequestKind,
    ResponseKind, ShareFetchRequest, WriteShareGroupStateResponse,
};
use kafka_protocol::protocol::StrBytes;
use sharesim_sim::coordinator::share::{TopicId, TopicIdPartition};
use sharesim_sim::log::{
    encode_data_batch, FetchIsolation, LogConfig, PartitionLog, ProducerIdentity, ProducerRecord,
    ReadResult,
};
use sharesim_sim::net::ConnectionId;
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::broker::{
    Leadership, NodeEndpoint, RequestToken, ServiceOutput, ShareFetchHost, ShareFetchService,
};
use sharesim_sim::share::partition::{AutoOffsetReset, ResetOffsets, SharePartitionConfig};
use sharesim_sim::ResponseError;
use uuid::Uuid;

const TOPIC: TopicId = TopicId(0x5eed);
const PARTITIONS: i32 = 2;
const MEMBERS: usize = 16;
const RECORDS: usize = 100_000;
const BATCH_RECORDS: usize = 100;

struct Logs {
    logs: BTreeMap<i32, RefCell<PartitionLog>>,
}

impl ShareFetchHost for Logs {
    fn node_id(&self) -> i32 {
        1
    }
    fn leadership(&self, tp: TopicIdPartition) -> Option<Leadership> {
        self.logs
            .contains_key(&tp.partition)
            .then_some(Leadership::Local { leader_epoch: 0 })
    }
    fn read_log(
        &self,
        tp: TopicIdPartition,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> Result<ReadResult, ResponseError> {
        self.logs[&tp.partition]
            .borrow()
            .read(fetch_offset, max_bytes, isolation, true)
    }
    fn reset_offsets(&self, tp: TopicIdPartition, _: u64, _: AutoOffsetReset) -> ResetOffsets {
        let log = self.logs[&tp.partition].borrow();
        ResetOffsets {
            log_start_offset: log.log_start_offset(),
            high_watermark: log.high_watermark(),
            offset_by_duration: None,
        }
    }
    fn share_partition_config(&self, _: &str) -> SharePartitionConfig {
        SharePartitionConfig {
            auto_offset_reset: AutoOffsetReset::Earliest,
            ..SharePartitionConfig::default()
        }
    }
    fn endpoint(&self, _: i32) -> Option<NodeEndpoint> {
        None
    }
}

fn coordinator_answer(request: &RequestKind) -> ResponseKind {
    match request {
        RequestKind::FindCoordinator(request) => ResponseKind::FindCoordinator(
            FindCoordinatorResponse::default().with_coordinators(
                request
                    .coordinator_keys
                    .iter()
                    .map(|key| {
                        Coordinator::default()
                            .with_key(key.clone())
                            .with_node_id(BrokerId(1))
                    })
                    .collect(),
            ),
        ),
        RequestKind::ReadShareGroupState(request) => {
            let topic = &request.topics[0];
            ResponseKind::ReadShareGroupState(ReadShareGroupStateResponse::default().with_results(
                vec![ReadStateResult::default()
                    .with_topic_id(topic.topic_id)
                    .with_partitions(vec![ReadPartition::default()
                        .with_partition(topic.partitions[0].partition)
                        .with_start_offset(-1)])],
            ))
        }
        RequestKind::WriteShareGroupState(request) => {
            let topic = &request.topics[0];
            ResponseKind::WriteShareGroupState(
                WriteShareGroupStateResponse::default().with_results(vec![
                    WriteStateResult::default()
                        .with_topic_id(topic.topic_id)
                        .with_partitions(vec![
                            WritePartition::default().with_partition(topic.partitions[0].partition)
                        ]),
                ]),
            )
        }
        other => panic!("unexpected call {other:?}"),
    }
}

/// Records delivered and acknowledged per wall-clock second through the share-fetch service.
#[test]
#[ignore]
fn share_fetch_service_records_per_second() {
    let mut logs = BTreeMap::new();
    for partition in 0..PARTITIONS {
        let mut log = PartitionLog::new(LogConfig::default());
        let per_partition = RECORDS / PARTITIONS as usize;
        for _ in 0..per_partition / BATCH_RECORDS {
            let records: Vec<ProducerRecord> = (0..BATCH_RECORDS)
                .map(|_| ProducerRecord::new(None, Some(b"value-of-a-record"), 0))
                .collect();
            let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
            log.append_as_leader(&batch, 0, 0).unwrap();
        }
        let end = log.log_end_offset();
        log.update_high_watermark(end);
        logs.insert(partition, RefCell::new(log));
    }
    let host = Logs { logs };
    let mut service = ShareFetchService::new(Semantics::default());
    let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
    let mut epochs = [0i32; MEMBERS];
    // Per member: the ranges acquired by its last fetch, per partition, to ACCEPT on the next one.
    let mut held: Vec<BTreeMap<i32, Vec<(i64, i64)>>> = vec![BTreeMap::new(); MEMBERS];
    let (mut delivered, mut acknowledged) = (0u64, 0u64);
    let mut now_ms = 0u64;
    let mut next_token = 0u64;
    let started = std::time::Instant::now();
    let mut idle_rounds = 0;
    while acknowledged < RECORDS as u64 && idle_rounds < 100 {
        let mut progressed = false;
        for member in 0..MEMBERS {
            now_ms += 1;
            let partitions = (0..PARTITIONS)
                .map(|partition| {
                    let acks: Vec<AcknowledgementBatch> = held[member]
                        .remove(&partition)
                        .unwrap_or_default()
                        .into_iter()
                        .map(|(first, last)| {
                            acknowledged += (last - first + 1) as u64;
                            AcknowledgementBatch::default()
                                .with_first_offset(first)
                                .with_last_offset(last)
                                .with_acknowledge_types(vec![1])
                        })
                        .collect();
                    FetchPartition::default()
                        .with_partition_index(partition)
                        .with_acknowledgement_batches(acks)
                })
                .collect();
            let request = ShareFetchRequest::default()
                .with_group_id(Some(GroupId(StrBytes::from_static_str("bench"))))
                .with_member_id(Some(StrBytes::from_string(format!("member-{member:02}"))))
                .with_share_session_epoch(epochs[member])
                .with_max_wait_ms(0)
                .with_min_bytes(1)
                .with_max_records(500)
                .with_batch_size(500)
                .with_topics(vec![FetchTopic::default()
                    .with_topic_id(Uuid::from_u128(TOPIC.0))
                    .with_partitions(partitions)]);
            let connection = ConnectionId {
                client: SocketAddr::new(ip, 40_000 + member as u16),
                server: SocketAddr::new(ip, 9092),
                serial: member as u64,
            };
            let token = RequestToken(next_token);
            next_token += 1;
            service.handle_share_fetch(now_ms, token, connection, 2, &request, &host);
            epochs[member] = if epochs[member] == 0 {
                1
            } else {
                epochs[member] + 1
            };
            // Answer calls (and the calls their answers cause) until the response is out.
            loop {
                let mut calls = Vec::new();
                while let Some(output) = service.poll_output() {
                    match output {
                        ServiceOutput::Respond {
                            response: ResponseKind::ShareFetch(response),
                            ..
                        } => {
                            for partition in response.responses.iter().flat_map(|t| &t.partitions) {
                                for range in &partition.acquired_records {
                                    delivered +=
                                        (range.last_offset - range.first_offset + 1) as u64;
                                    progressed = true;
                                    held[member]
                                        .entry(partition.partition_index)
                                        .or_default()
                                        .push((range.first_offset, range.last_offset));
                                }
                            }
                        }
                        ServiceOutput::Call {
                            call_id, request, ..
                        } => calls.push((call_id, coordinator_answer(&request))),
                        _ => {}
                    }
                }
                if calls.is_empty() {
                    break;
                }
                for (call_id, answer) in calls {
                    service.handle_call_result(now_ms, call_id, Ok(answer), &host);
                }
            }
        }
        idle_rounds = if progressed { 0 } else { idle_rounds + 1 };
    }
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "share-fetch service: {delivered} records delivered, {acknowledged} acknowledged in {elapsed:.3} s \
         wall: {:.0} delivered+acknowledged records/s ({} members, {} partitions)",
        acknowledged as f64 / elapsed,
        MEMBERS,
        PARTITIONS
    );
    assert_eq!(
        acknowledged, RECORDS as u64,
        "every record delivered and acknowledged"
    );
    for partition in 0..PARTITIONS {
        let key = sharesim_sim::coordinator::share::SharePartitionKey::new(
            "bench",
            TopicIdPartition {
                topic_id: TOPIC,
                partition,
            },
        );
        let share_partition = service.share_partition(&key).unwrap();
        assert_eq!(
            share_partition.start_offset(),
            (RECORDS / PARTITIONS as usize) as i64
        );
    }
}
