//! A simple client for tests: metadata, CreateTopics, produce with retries (idempotent when given a
//! producer id, so a retry after a lost answer is not a duplicate), and fetch. It runs inside a madsim
//! node's task.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::create_topics_request::CreatableTopic;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    CreateTopicsRequest, FetchRequest, MetadataRequest, MetadataResponse, ProduceRequest,
    RequestKind, ResponseKind, TopicName,
};
use kafka_protocol::protocol::StrBytes;

use crate::broker::controller_wire::check;
use crate::log::{consume_fetched, AbortedTxn, BatchError, ConsumedBatch};
use crate::net::{Client, NetFaults, TransportError};
use crate::ResponseError;

/// Versions the test client speaks.
const METADATA_VERSION: i16 = 12;
const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 12;
const CREATE_TOPICS_VERSION: i16 = 5;
/// Kafka's `request.timeout.ms` default.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Kafka's `retry.backoff.ms` default.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);
/// Kafka's `delivery.timeout.ms` default: how long a produce keeps retrying.
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(120);

/// One partition of a fetch answer.
#[derive(Clone, Debug, PartialEq)]
pub struct FetchedPartition {
    /// The offset fetched from.
    pub fetch_offset: i64,
    /// High watermark.
    pub high_watermark: i64,
    /// Last stable offset.
    pub last_stable_offset: i64,
    /// Log start offset.
    pub log_start_offset: i64,
    /// The raw record batches.
    pub records: Bytes,
    /// Aborted transactions (read_committed only).
    pub aborted: Option<Vec<AbortedTxn>>,
}

impl FetchedPartition {
    /// The batches as a consumer sees them (CRC checked, aborted transactions dropped).
    pub fn consume(&self) -> Result<Vec<ConsumedBatch>, BatchError> {
        consume_fetched(&self.records, self.fetch_offset, self.aborted.as_deref())
    }
}

/// A test client.
#[derive(Debug)]
pub struct TestClient {
    client: Client,
    bootstrap: Vec<SocketAddr>,
    /// (topic, partition) -> leader address, from the last metadata.
    leaders: Mutex<BTreeMap<(String, i32), SocketAddr>>,
}

fn topic_name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

impl TestClient {
    /// A client named `name` bootstrapped on `bootstrap`.
    pub fn new(name: &str, bootstrap: Vec<SocketAddr>, faults: NetFaults) -> Self {
        TestClient {
            client: Client::new(name, faults),
            bootstrap,
            leaders: Mutex::new(BTreeMap::new()),
        }
    }

    /// Metadata from the first bootstrap broker that answers; remembers the leaders.
    pub async fn metadata(
        &self,
        topics: Option<&[&str]>,
    ) -> Result<MetadataResponse, TransportError> {
        let request = MetadataRequest::default().with_topics(topics.map(|names| {
            names
                .iter()
                .map(|t| MetadataRequestTopic::default().with_name(Some(topic_name(t))))
                .collect()
        }));
        let mut last_error = TransportError::ConnectionClosed;
        for &addr in &self.bootstrap {
            let result = self
                .client
                .call(
                    addr,
                    METADATA_VERSION,
                    RequestKind::Metadata(request.clone()),
                    REQUEST_TIMEOUT,
                )
                .await;
            match result {
                Ok(ResponseKind::Metadata(metadata)) => {
                    self.remember_leaders(&metadata);
                    return Ok(metadata);
                }
                Ok(_) => last_error = TransportError::MalformedResponse,
                Err(e) => last_error = e,
            }
        }
        Err(last_error)
    }

    fn remember_leaders(&self, metadata: &MetadataResponse) {
        let addrs: BTreeMap<i32, SocketAddr> = metadata
            .brokers
            .iter()
            .filter_map(|b| {
                format!("{}:{}", b.host, b.port)
                    .parse()
                    .ok()
                    .map(|a| (b.node_id.0, a))
            })
            .collect();
        let mut leaders = self.leaders.lock().unwrap_or_else(|p| p.into_inner());
        for topic in &metadata.topics {
            let Some(name) = &topic.name else { continue };
            for p in &topic.partitions {
                let key = (name.0.to_string(), p.partition_index);
                match addrs.get(&p.leader_id.0) {
                    Some(&addr) if p.error_code == 0 => {
                        leaders.insert(key, addr);
                    }
                    _ => {
                        leaders.remove(&key);
                    }
                }
            }
        }
    }

    fn leader(&self, topic: &str, partition: i32) -> Option<SocketAddr> {
        self.leaders
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&(topic.to_string(), partition))
            .copied()
    }

    /// CreateTopics through the first bootstrap broker.
    pub async fn create_topic(
        &self,
        topic: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<(), ResponseError> {
        let request = CreateTopicsRequest::default()
            .with_timeout_ms(30_000)
            .with_topics(vec![CreatableTopic::default()
                .with_name(topic_name(topic))
                .with_num_partitions(partitions)
                .with_replication_factor(replication_factor)]);
        for _ in 0..100 {
            for &addr in &self.bootstrap {
                let result = self
                    .client
                    .call(
                        addr,
                        CREATE_TOPICS_VERSION,
                        RequestKind::CreateTopics(request.clone()),
                        REQUEST_TIMEOUT,
                    )
                    .await;
                if let Ok(ResponseKind::CreateTopics(response)) = result {
                    let code = response.topics.first().map_or(0, |t| t.error_code);
                    return check(code);
                }
            }
            madsim::time::sleep(RETRY_BACKOFF).await;
        }
        Err(ResponseError::RequestTimedOut)
    }

    /// Waits until every partition of `topic` has a leader in the metadata.
    pub async fn wait_for_leaders(
        &self,
        topic: &str,
        partitions: i32,
        timeout: Duration,
    ) -> Result<(), ResponseError> {
        let rounds = (timeout.as_millis() / RETRY_BACKOFF.as_millis()).max(1);
        for _ in 0..rounds {
            if self.metadata(Some(&[topic])).await.is_ok()
                && (0..partitions).all(|p| self.leader(topic, p).is_some())
            {
                return Ok(());
            }
            madsim::time::sleep(RETRY_BACKOFF).await;
        }
        Err(ResponseError::LeaderNotAvailable)
    }

    /// Produces one batch to a partition's leader, retrying retriable errors (leader changes, timeouts,
    /// lost connections) for `delivery.timeout.ms`. Returns the base offset. Retries resend the same
    /// bytes: with a producer id and sequence the leader answers a duplicate with the original offset.
    pub async fn produce(
        &self,
        topic: &str,
        partition: i32,
        batch: Bytes,
        acks: i16,
    ) -> Result<i64, ResponseError> {
        let request = ProduceRequest::default()
            .with_acks(acks)
            .with_timeout_ms(REQUEST_TIMEOUT.as_millis() as i32)
            .with_topic_data(vec![TopicProduceData::default()
                .with_name(topic_name(topic))
                .with_partition_data(vec![PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(batch))])]);
        let deadline = madsim::time::Instant::now() + DELIVERY_TIMEOUT;
        let mut last_error = ResponseError::RequestTimedOut;
        while madsim::time::Instant::now() < deadline {
            let Some(leader) = self.leader(topic, partition) else {
                let _ = self.metadata(Some(&[topic])).await;
                if self.leader(topic, partition).is_none() {
                    madsim::time::sleep(RETRY_BACKOFF).await;
                }
                continue;
            };
            let result = self
                .client
                .call(
                    leader,
                    PRODUCE_VERSION,
                    RequestKind::Produce(request.clone()),
                    REQUEST_TIMEOUT,
                )
                .await;
            let outcome = match result {
                Ok(ResponseKind::Produce(response)) => {
                    let p = response
                        .responses
                        .first()
                        .and_then(|t| t.partition_responses.first());
                    match p {
                        Some(p) => check(p.error_code).map(|()| p.base_offset),
                        None => Err(ResponseError::UnknownServerError),
                    }
                }
                Ok(_) => Err(ResponseError::UnknownServerError),
                Err(_) => Err(ResponseError::NetworkException),
            };
            match outcome {
                Ok(offset) => return Ok(offset),
                Err(e) if is_retriable(e) => {
                    last_error = e;
                    madsim::time::sleep(RETRY_BACKOFF).await;
                    let _ = self.metadata(Some(&[topic])).await;
                }
                Err(e) => return Err(e),
            }
        }
        Err(last_error)
    }

    /// One fetch from the partition's leader (metadata looked up first if needed).
    pub async fn fetch(
        &self,
        topic: &str,
        partition: i32,
        fetch_offset: i64,
        isolation_level: i8,
        max_wait_ms: i32,
    ) -> Result<FetchedPartition, ResponseError> {
        if self.leader(topic, partition).is_none() {
            let _ = self.metadata(Some(&[topic])).await;
        }
        let leader = self
            .leader(topic, partition)
            .ok_or(ResponseError::LeaderNotAvailable)?;
        let request = FetchRequest::default()
            .with_replica_id((-1).into())
            .with_max_wait_ms(max_wait_ms)
            .with_min_bytes(1)
            .with_max_bytes(52_428_800)
            .with_isolation_level(isolation_level)
            .with_session_epoch(-1)
            .with_topics(vec![FetchTopic::default()
                .with_topic(topic_name(topic))
                .with_partitions(vec![FetchPartition::default()
                    .with_partition(partition)
                    .with_fetch_offset(fetch_offset)
                    .with_current_leader_epoch(-1)
                    .with_partition_max_bytes(1_048_576)])]);
        let result = self
            .client
            .call(
                leader,
                FETCH_VERSION,
                RequestKind::Fetch(request),
                REQUEST_TIMEOUT,
            )
            .await;
        let response = match result {
            Ok(ResponseKind::Fetch(response)) => response,
            _ => {
                let _ = self.metadata(Some(&[topic])).await;
                return Err(ResponseError::NetworkException);
            }
        };
        let p = response
            .responses
            .first()
            .and_then(|t| t.partitions.first())
            .ok_or(ResponseError::UnknownServerError)?;
        if let Err(e) = check(p.error_code) {
            let _ = self.metadata(Some(&[topic])).await;
            return Err(e);
        }
        Ok(FetchedPartition {
            fetch_offset,
            high_watermark: p.high_watermark,
            last_stable_offset: p.last_stable_offset,
            log_start_offset: p.log_start_offset,
            records: p.records.clone().unwrap_or_default(),
            aborted: p.aborted_transactions.as_ref().map(|txns| {
                txns.iter()
                    .map(|t| AbortedTxn {
                        producer_id: t.producer_id.0,
                        first_offset: t.first_offset,
                        last_offset: i64::MAX,
                        last_stable_offset: -1,
                    })
                    .collect()
            }),
        })
    }
}

/// Kafka's retriable produce errors (and transport failures).
fn is_retriable(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::NotLeaderOrFollower
            | ResponseError::LeaderNotAvailable
            | ResponseError::RequestTimedOut
            | ResponseError::NetworkException
            | ResponseError::NotEnoughReplicas
            | ResponseError::NotEnoughReplicasAfterAppend
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::FencedLeaderEpoch
            | ResponseError::UnknownLeaderEpoch
    )
}
