//! The share-fetch service as a [`BrokerService`] plugged into [`crate::broker::BrokerCore`]: it claims
//! ShareFetch and ShareAcknowledge, reads the broker through [`BrokerView`], and turns the service's
//! outputs into the broker's effects.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use super::host::{
    CallFailure, CallId, CallTarget, Leadership, NodeEndpoint, RequestToken, ServiceOutput,
    ShareFetchHost,
};
use super::service::ShareFetchService;
use crate::broker::{self, BrokerService, BrokerView, LeadershipChange, ServiceContext};
use crate::cluster::NO_LEADER;
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::log::{FetchIsolation, ReadResult, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::semantics::Semantics;
use crate::share::partition::{AutoOffsetReset, ResetOffsets, SharePartitionConfig};
use crate::ResponseError;

/// Timeout of the persister's inter-broker calls (`request.timeout.ms` default 30 s).
pub const PERSISTER_CALL_TIMEOUT_MS: u64 = 30_000;

/// The share-fetch service inside a broker.
pub struct ShareFetchBrokerService {
    service: ShareFetchService,
    config: SharePartitionConfig,
    /// Requests waiting for an answer: where to send it.
    requests: BTreeMap<RequestToken, (ConnectionId, RequestHeader)>,
    next_token: u64,
}

impl ShareFetchBrokerService {
    /// A service of release `semantics` whose share partitions use `config` (the broker's
    /// `group.share.*` defaults; group overrides are not propagated to brokers yet).
    pub fn new(semantics: Semantics, config: SharePartitionConfig) -> ShareFetchBrokerService {
        ShareFetchBrokerService {
            service: ShareFetchService::new(semantics),
            config,
            requests: BTreeMap::new(),
            next_token: 0,
        }
    }

    /// The engine (for tests and checkers).
    pub fn service(&self) -> &ShareFetchService {
        &self.service
    }

    fn flush(&mut self, cx: &mut ServiceContext<'_>) {
        while let Some(output) = self.service.poll_output() {
            match output {
                ServiceOutput::Respond { token, response } => {
                    if let Some((connection, header)) = self.requests.remove(&token) {
                        cx.respond(connection, &header, response);
                    }
                }
                ServiceOutput::Call {
                    call_id,
                    target,
                    api_version,
                    request,
                } => {
                    let to = match target {
                        CallTarget::AnyBroker => broker::CallTarget::Broker(cx.view.broker_id()),
                        CallTarget::Node(id) => broker::CallTarget::Broker(id),
                    };
                    cx.call(
                        call_id.0,
                        to,
                        api_version,
                        request,
                        PERSISTER_CALL_TIMEOUT_MS,
                    );
                }
                ServiceOutput::Event(event) => cx.trace(event),
            }
        }
    }
}

/// [`BrokerView`] as the service's host.
struct ViewHost<'v, 'a> {
    view: &'v BrokerView<'a>,
    config: &'v SharePartitionConfig,
}

impl ViewHost<'_, '_> {
    fn topic_partition(&self, tp: TopicIdPartition) -> Option<TopicPartition> {
        let name = self.view.topic_name(tp.topic_id.0)?;
        Some(TopicPartition::new(name, tp.partition))
    }
}

impl ShareFetchHost for ViewHost<'_, '_> {
    fn node_id(&self) -> i32 {
        self.view.broker_id()
    }

    fn leadership(&self, tp: TopicIdPartition) -> Option<Leadership> {
        let partition = self.topic_partition(tp)?;
        let image = self.view.partition_state(&partition)?;
        if let Some(leader_epoch) = self.view.leader_epoch(&partition) {
            return Some(Leadership::Local { leader_epoch });
        }
        let leader_id = if image.leader == NO_LEADER {
            -1
        } else {
            image.leader
        };
        Some(Leadership::Remote {
            leader_id,
            leader_epoch: image.leader_epoch,
        })
    }

    fn read_log(
        &self,
        tp: TopicIdPartition,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> Result<ReadResult, ResponseError> {
        let partition = self
            .topic_partition(tp)
            .ok_or(ResponseError::UnknownTopicOrPartition)?;
        self.view
            .read(&partition, fetch_offset, max_bytes, isolation)
    }

    fn reset_offsets(
        &self,
        tp: TopicIdPartition,
        _now_ms: u64,
        _: AutoOffsetReset,
    ) -> ResetOffsets {
        let offsets = self
            .topic_partition(tp)
            .and_then(|partition| self.view.offsets(&partition).ok());
        ResetOffsets {
            log_start_offset: offsets.map_or(0, |o| o.log_start_offset),
            high_watermark: offsets.map_or(0, |o| o.high_watermark),
            // by_duration needs timestamps the view does not index yet: initialization fails.
            offset_by_duration: None,
        }
    }

    fn share_partition_config(&self, _group_id: &str) -> SharePartitionConfig {
        self.config.clone()
    }

    fn endpoint(&self, node_id: i32) -> Option<NodeEndpoint> {
        let address = self.view.broker_address(node_id)?;
        Some(NodeEndpoint {
            node_id,
            host: address.ip().to_string(),
            port: i32::from(address.port()),
        })
    }
}

impl BrokerService for ShareFetchBrokerService {
    fn name(&self) -> &'static str {
        "share-fetch"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![ApiKey::ShareFetch, ApiKey::ShareAcknowledge]
    }

    fn handle_request(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let token = RequestToken(self.next_token);
        self.next_token += 1;
        let version = header.request_api_version;
        self.requests.insert(token, (connection, header));
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        match &request {
            RequestKind::ShareFetch(request) => self
                .service
                .handle_share_fetch(now_ms, token, connection, version, request, &host),
            RequestKind::ShareAcknowledge(request) => self
                .service
                .handle_share_acknowledge(now_ms, token, connection, version, request, &host),
            _ => {
                self.requests.remove(&token);
            }
        }
        self.flush(cx);
    }

    fn handle_call_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<ResponseKind, TransportError>,
    ) {
        let result = result.map_err(|error| match error {
            TransportError::Timeout => CallFailure::TimedOut,
            _ => CallFailure::Disconnected,
        });
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        self.service
            .handle_call_result(now_ms, CallId(token), result, &host);
        self.flush(cx);
    }

    fn handle_leadership_change(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        self.service.handle_leadership_changed(now_ms, &host);
        let tp = TopicIdPartition {
            topic_id: TopicId(change.topic_id),
            partition: change.partition.partition,
        };
        self.service.handle_records_appended(now_ms, tp, &host);
        self.flush(cx);
    }

    fn handle_high_watermark(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: &TopicPartition,
        _high_watermark: i64,
    ) {
        let Some(topic_id) = cx.view.topic_id(&partition.topic) else {
            return;
        };
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        let tp = TopicIdPartition {
            topic_id: TopicId(topic_id),
            partition: partition.partition,
        };
        self.service.handle_records_appended(now_ms, tp, &host);
        self.flush(cx);
    }

    fn handle_connection_closed(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
    ) {
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        self.service
            .handle_connection_closed(now_ms, connection, &host);
        self.flush(cx);
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
        };
        self.service.handle_timeout(now_ms, &host);
        self.flush(cx);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.service.poll_timeout()
    }
}
