//! The broker's state apart from its services, and the helpers every handler shares: outputs, calls,
//! appends as leader, the leader replicas' effects, trace events.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use kafka_protocol::messages::{FetchRequest, ProduceResponse, RequestKind, ResponseKind};

use super::config::BrokerConfig;
use super::output::{BrokerOutput, CallTarget};
use super::service::{AppendRecords, LeadershipChange};
use super::trace::ClusterEvent;
use crate::cluster::controller::MetadataImage;
use crate::cluster::replication::{Acks, LeaderReplicas, ReplicationEffect};
use crate::cluster::BrokerId;
use crate::coordinator::share::TopicId;
use crate::log::{AppendInfo, LogStore, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// Registration, heartbeats and the metadata pull.
#[derive(Debug, Default)]
pub(super) struct Lifecycle {
    /// Set once the controller registered this broker.
    pub broker_epoch: Option<i64>,
    pub registration_in_flight: bool,
    pub next_registration_ms: u64,
    pub heartbeat_in_flight: bool,
    pub next_heartbeat_ms: u64,
    pub metadata_in_flight: bool,
    /// Pull metadata at the next chance even if the heartbeat said we are caught up.
    pub metadata_wanted: bool,
}

/// Why the broker made a call.
#[derive(Clone, Debug)]
pub(super) enum CallPurpose {
    Registration,
    Heartbeat,
    MetadataPull,
    AlterPartition {
        partition: TopicPartition,
        leader_epoch: i32,
    },
    ReplicaFetch {
        leader: BrokerId,
        /// (partition, leader epoch, fetch offset) as sent.
        partitions: Vec<(TopicPartition, i32, i64)>,
    },
    ForwardCreateTopics {
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        fallback: kafka_protocol::messages::CreateTopicsResponse,
    },
    Service {
        service: usize,
        token: u64,
    },
}

/// Who waits for an append to complete.
#[derive(Clone, Debug)]
pub(super) enum AppendWaiter {
    Produce {
        request_key: u64,
        topic_index: usize,
        partition_index: usize,
        info: AppendInfo,
    },
    Service {
        service: usize,
        token: u64,
        info: AppendInfo,
    },
}

/// A produce request waiting for its acks=all partitions.
#[derive(Debug)]
pub(super) struct PendingProduce {
    pub connection: ConnectionId,
    pub correlation_id: i32,
    pub api_version: i16,
    pub response: ProduceResponse,
    pub waiting: usize,
}

/// A fetch parked until MinBytes are available or MaxWait passes.
#[derive(Debug)]
pub(super) struct DelayedFetch {
    pub connection: ConnectionId,
    pub correlation_id: i32,
    pub api_version: i16,
    pub request: FetchRequest,
    pub deadline_ms: u64,
}

/// A result for a service, delivered after the current input.
#[derive(Debug)]
pub(super) enum ServiceResult {
    Call {
        token: u64,
        result: Box<Result<ResponseKind, TransportError>>,
    },
    Append {
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    },
}

/// One replica fetcher (Kafka runs one per source broker).
#[derive(Debug, Default)]
pub(super) struct FetcherState {
    pub in_flight: bool,
    pub retry_at_ms: u64,
}

/// Everything but the services.
pub(super) struct BrokerState {
    pub config: BrokerConfig,
    pub store: LogStore,
    pub now_ms: u64,
    pub lifecycle: Lifecycle,
    pub image: MetadataImage,
    pub topic_names: BTreeMap<u128, String>,
    pub broker_addrs: BTreeMap<BrokerId, SocketAddr>,
    pub leaders: BTreeMap<TopicPartition, LeaderReplicas>,
    pub produces: BTreeMap<u64, PendingProduce>,
    pub appends: BTreeMap<u64, AppendWaiter>,
    pub delayed_fetches: Vec<DelayedFetch>,
    pub fetch_recheck: bool,
    pub calls: BTreeMap<u64, CallPurpose>,
    pub fetchers: BTreeMap<BrokerId, FetcherState>,
    /// Partitions whose replica fetch failed: retry after this time.
    pub partition_backoff: BTreeMap<TopicPartition, u64>,
    pub next_flush_ms: Option<u64>,
    pub next_id: u64,
    pub outputs: VecDeque<BrokerOutput>,
    pub leadership_changes: Vec<LeadershipChange>,
    pub high_watermark_changes: Vec<(TopicPartition, i64)>,
    pub service_results: Vec<(usize, ServiceResult)>,
}

impl BrokerState {
    pub fn new(config: BrokerConfig, store: LogStore) -> Self {
        let next_flush_ms = config.page_cache_flush_interval_ms;
        BrokerState {
            config,
            store,
            now_ms: 0,
            lifecycle: Lifecycle::default(),
            image: MetadataImage::default(),
            topic_names: BTreeMap::new(),
            broker_addrs: BTreeMap::new(),
            leaders: BTreeMap::new(),
            produces: BTreeMap::new(),
            appends: BTreeMap::new(),
            delayed_fetches: Vec::new(),
            fetch_recheck: false,
            calls: BTreeMap::new(),
            fetchers: BTreeMap::new(),
            partition_backoff: BTreeMap::new(),
            next_flush_ms,
            next_id: 1,
            outputs: VecDeque::new(),
            leadership_changes: Vec::new(),
            high_watermark_changes: Vec::new(),
            service_results: Vec::new(),
        }
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub fn trace(&mut self, event: ClusterEvent) {
        self.outputs
            .push_back(BrokerOutput::Trace(TraceEvent::Cluster { event }));
    }

    pub fn respond(
        &mut self,
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        response: ResponseKind,
    ) {
        self.outputs.push_back(BrokerOutput::Respond {
            connection,
            correlation_id,
            api_version,
            response,
        });
    }

    /// Emits a call, or fails it at once (as a connect error) when the target's address is unknown.
    /// Returns the token.
    pub fn call(
        &mut self,
        purpose: CallPurpose,
        to: CallTarget,
        api_version: i16,
        request: RequestKind,
        timeout_ms: u64,
    ) -> Result<u64, TransportError> {
        let address = match to {
            CallTarget::Controller => Some(self.config.controller_addr),
            CallTarget::Broker(id) => self.broker_addrs.get(&id).copied(),
        };
        let Some(address) = address else {
            return Err(TransportError::Connect(format!(
                "no address for {to:?} in the metadata"
            )));
        };
        let token = self.next_id();
        self.calls.insert(token, purpose);
        self.outputs.push_back(BrokerOutput::Call {
            token,
            to,
            address,
            api_version,
            request,
            timeout_ms,
        });
        Ok(token)
    }

    pub fn topic_id(&self, topic: &str) -> u128 {
        self.image.topics.get(topic).map_or(0, |t| t.topic_id)
    }

    /// Appends as leader (Kafka `appendRecordsToLeader`) and registers who waits for the acks.
    /// `make_waiter` builds the waiter from the append's offsets.
    pub fn append_as_leader(
        &mut self,
        partition: &TopicPartition,
        records: &AppendRecords,
        acks: Acks,
        timeout_ms: u64,
        make_waiter: impl FnOnce(AppendInfo) -> Option<AppendWaiter>,
    ) -> Result<AppendInfo, ResponseError> {
        let now_ms = self.now_ms;
        let Some(leader) = self.leaders.get(partition) else {
            return Err(ResponseError::NotLeaderOrFollower);
        };
        leader.check_produce(acks)?;
        let leader_epoch = leader.leader_epoch();
        let appended = self
            .store
            .with_log(partition, |log| {
                let info = match records {
                    AppendRecords::Batch(bytes) => {
                        log.append_as_leader(bytes, leader_epoch, now_ms as i64)
                    }
                    AppendRecords::Marker {
                        producer,
                        control,
                        coordinator_epoch,
                    } => log.append_marker_as_leader(
                        *producer,
                        *control,
                        *coordinator_epoch,
                        leader_epoch,
                        now_ms as i64,
                    ),
                }?;
                let header = log.batches().last().map(|b| b.batch.header.clone());
                Ok((info, log.log_end_offset(), header))
            })
            .ok_or(ResponseError::NotLeaderOrFollower)?;
        let (info, log_end_offset, header) = appended?;
        if !info.duplicate {
            if let Some(header) = header {
                self.trace(ClusterEvent::Produced {
                    topic: partition.topic.clone(),
                    topic_id: TopicId(self.topic_id(&partition.topic)),
                    partition: partition.partition,
                    leader_epoch,
                    base_offset: info.first_offset,
                    last_offset: info.last_offset,
                    producer_id: header.producer_id,
                    transactional: header.is_transactional(),
                });
            }
        }
        let append_id = self.next_id();
        if acks != Acks::None {
            if let Some(waiter) = make_waiter(info) {
                self.appends.insert(append_id, waiter);
            }
        }
        if let Some(leader) = self.leaders.get_mut(partition) {
            leader.handle_produce_appended(now_ms, append_id, acks, log_end_offset, timeout_ms);
        }
        self.fetch_recheck = true;
        self.drain_leader(partition);
        Ok(info)
    }

    /// Applies a leader's effects: produce completions, AlterPartition calls, high-watermark moves.
    pub fn drain_leader(&mut self, partition: &TopicPartition) {
        loop {
            let Some(effect) = self
                .leaders
                .get_mut(partition)
                .and_then(|l| l.poll_effect())
            else {
                return;
            };
            self.apply_leader_effect(partition, effect);
        }
    }

    pub fn apply_leader_effect(&mut self, partition: &TopicPartition, effect: ReplicationEffect) {
        match effect {
            ReplicationEffect::ProduceCompleted { request_id, result } => {
                self.complete_append(request_id, result);
            }
            ReplicationEffect::AlterPartition(request) => {
                let leader_epoch = request.leader_epoch;
                let message = super::controller_wire::alter_partition_request(
                    &request,
                    self.topic_id(&request.topic),
                );
                let purpose = CallPurpose::AlterPartition {
                    partition: partition.clone(),
                    leader_epoch,
                };
                let timeout_ms = self.config.request_timeout_ms;
                let sent = self.call(
                    purpose,
                    CallTarget::Controller,
                    super::controller_wire::ALTER_PARTITION_VERSION,
                    RequestKind::AlterPartition(message),
                    timeout_ms,
                );
                if sent.is_err() {
                    if let Some(leader) = self.leaders.get_mut(partition) {
                        leader.handle_alter_partition_response(
                            self.now_ms,
                            Err(ResponseError::RequestTimedOut),
                        );
                    }
                }
            }
            ReplicationEffect::HighWatermarkChanged { high_watermark } => {
                self.store
                    .with_log(partition, |log| log.update_high_watermark(high_watermark));
                let leader_epoch = self.leaders.get(partition).map_or(-1, |l| l.leader_epoch());
                self.trace(ClusterEvent::HighWatermarkAdvanced {
                    topic: partition.topic.clone(),
                    topic_id: TopicId(self.topic_id(&partition.topic)),
                    partition: partition.partition,
                    leader_epoch,
                    high_watermark,
                });
                self.high_watermark_changes
                    .push((partition.clone(), high_watermark));
                self.fetch_recheck = true;
            }
        }
    }

    /// An append's acks are in (or failed): fill the produce response or tell the service.
    pub fn complete_append(&mut self, append_id: u64, result: Result<(), ResponseError>) {
        match self.appends.remove(&append_id) {
            Some(AppendWaiter::Produce {
                request_key,
                topic_index,
                partition_index,
                info,
            }) => self.complete_produce_partition(
                request_key,
                topic_index,
                partition_index,
                result.map(|()| info),
            ),
            Some(AppendWaiter::Service {
                service,
                token,
                info,
            }) => {
                self.service_results.push((
                    service,
                    ServiceResult::Append {
                        token,
                        result: result.map(|()| info),
                    },
                ));
            }
            None => {}
        }
    }

    /// One partition of a produce request is done: fill its answer, and answer the request when it was
    /// the last one.
    pub fn complete_produce_partition(
        &mut self,
        request_key: u64,
        topic_index: usize,
        partition_index: usize,
        result: Result<AppendInfo, ResponseError>,
    ) {
        let Some(pending) = self.produces.get_mut(&request_key) else {
            return;
        };
        if let Some(p) = pending
            .response
            .responses
            .get_mut(topic_index)
            .and_then(|t| t.partition_responses.get_mut(partition_index))
        {
            super::produce::fill_partition_response(p, result);
        }
        pending.waiting = pending.waiting.saturating_sub(1);
        if pending.waiting == 0 {
            if let Some(done) = self.produces.remove(&request_key) {
                self.respond(
                    done.connection,
                    done.correlation_id,
                    done.api_version,
                    ResponseKind::Produce(done.response),
                );
            }
        }
    }
}
