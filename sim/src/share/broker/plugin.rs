//! The share-fetch service as a [`BrokerService`] plugged into [`crate::broker::BrokerCore`]: it claims
//! ShareFetch and ShareAcknowledge, reads the broker through [`BrokerView`], and turns the service's
//! outputs into the broker's effects.

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use super::group_configs::{effective_share_partition_config, SharedGroupConfigs};
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
use crate::share::session::ShareSessionCacheConfig;
use crate::ResponseError;

/// Timeout of the persister's inter-broker calls (`request.timeout.ms` default 30 s).
pub const PERSISTER_CALL_TIMEOUT_MS: u64 = 30_000;

/// The share-fetch service inside a broker.
pub struct ShareFetchBrokerService {
    service: ShareFetchService,
    config: SharePartitionConfig,
    /// The run's group config overrides, and the version the share partitions last took.
    group_configs: SharedGroupConfigs,
    group_configs_seen: u64,
    /// Requests waiting for an answer: where to send it.
    requests: BTreeMap<RequestToken, (ConnectionId, RequestHeader)>,
    next_token: u64,
}

impl ShareFetchBrokerService {
    /// A service of release `semantics` whose share partitions use `config` (the broker's
    /// `group.share.*` defaults), with no group overrides.
    pub fn new(semantics: Semantics, config: SharePartitionConfig) -> ShareFetchBrokerService {
        ShareFetchBrokerService {
            service: ShareFetchService::new(semantics),
            config,
            group_configs: SharedGroupConfigs::new(),
            group_configs_seen: 0,
            requests: BTreeMap::new(),
            next_token: 0,
        }
    }

    /// Share partitions of a group take its overrides from `group_configs` (shared by every broker of
    /// the run, as the controller's metadata is), over the broker defaults.
    pub fn with_group_configs(mut self, group_configs: SharedGroupConfigs) -> Self {
        self.group_configs = group_configs;
        self.group_configs_seen = 0;
        self
    }

    /// `group.share.max.share.sessions` of this broker (default 2000; spec 2.4). Call before any
    /// request.
    pub fn with_max_share_sessions(mut self, max_share_sessions: usize) -> Self {
        let semantics = self.service.semantics.clone();
        let mut sessions = ShareSessionCacheConfig::new(&semantics);
        sessions.max_share_sessions = max_share_sessions;
        self.service = ShareFetchService::with_session_cache(semantics, sessions);
        self
    }

    /// Pushes changed group configs into the live share partitions.
    fn refresh_group_configs(&mut self) {
        let version = self.group_configs.version();
        if version == self.group_configs_seen {
            return;
        }
        self.group_configs_seen = version;
        let (broker, groups) = (&self.config, &self.group_configs);
        self.service.handle_group_configs_changed(|group_id| {
            effective_share_partition_config(broker, &groups.get(group_id))
        });
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
    group_configs: &'v SharedGroupConfigs,
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
        now_ms: u64,
        reset: AutoOffsetReset,
    ) -> ResetOffsets {
        let partition = self.topic_partition(tp);
        let offsets = partition
            .as_ref()
            .and_then(|partition| self.view.offsets(partition).ok());
        // Spec 5.2: by_duration is the first offset whose timestamp is at least now - duration, through
        // the log's time index; the high watermark when no record is that recent; a failed lookup
        // fails the initialization.
        let offset_by_duration = match (reset, &partition) {
            (AutoOffsetReset::ByDuration { duration_ms }, Some(partition)) => {
                let target_ms =
                    i64::try_from(now_ms.saturating_sub(duration_ms)).unwrap_or(i64::MAX);
                match self.view.offset_for_timestamp(partition, target_ms) {
                    Ok(Some(found)) => Some(found.offset),
                    Ok(None) => offsets.map(|o| o.high_watermark),
                    Err(_) => None,
                }
            }
            _ => None,
        };
        ResetOffsets {
            log_start_offset: offsets.map_or(0, |o| o.log_start_offset),
            high_watermark: offsets.map_or(0, |o| o.high_watermark),
            offset_by_duration,
        }
    }

    fn share_partition_config(&self, group_id: &str) -> SharePartitionConfig {
        effective_share_partition_config(self.config, &self.group_configs.get(group_id))
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
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
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
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
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
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
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
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
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
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
        };
        self.service
            .handle_connection_closed(now_ms, connection, &host);
        self.flush(cx);
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        self.refresh_group_configs();
        let host = ViewHost {
            view: &cx.view,
            config: &self.config,
            group_configs: &self.group_configs,
        };
        self.service.handle_timeout(now_ms, &host);
        self.flush(cx);
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.service.poll_timeout()
    }
}
