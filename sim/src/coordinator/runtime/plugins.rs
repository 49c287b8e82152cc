//! The coordinator services as broker plug-ins (`crate::broker::BrokerService`):
//!
//! * [`ShareCoordinatorPlugin`]: Initialize/Read/Write/Delete ShareGroupState and
//!   ReadShareGroupStateSummary, over [`ShareCoordinatorService`];
//! * [`GroupCoordinatorPlugin`]: FindCoordinator (every key type), ShareGroupHeartbeat,
//!   ShareGroupDescribe and the share-group offset admin APIs, over [`GroupCoordinatorService`]; its
//!   share-state calls go to the share coordinators through a [`StateCallRouter`] as inter-broker RPCs,
//!   and its partition end-offset lookups (DescribeShareGroupOffsets lag) go to the data partitions'
//!   leaders as ListOffsets through a [`LatestOffsetsClient`], leaders taken from this broker's metadata;
//! * [`coordinator_plugins`]: both, for a cluster's service factory.
//!
//! Leadership of `__share_group_state` and `__consumer_offsets` partitions, their high watermarks and
//! the broker's timer drive the services; metadata (topics) is refreshed from the broker's view before
//! every input.
//!
//! Status: compiled and clippy-clean against the broker contract, but not yet exercised by a madsim
//! test (the failover tests were written, not run, before the session ended).

use std::collections::BTreeMap;

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use super::latest_offsets::LatestOffsetsClient;

use super::broker_host::{BrokerHost, EffectTokens};
use super::group_wire::{GroupRequest, GroupResponse};
use super::{
    GroupCoordinatorService, GroupCoordinatorServiceConfig, RequestToken, ShareCoordinatorService,
    ShareCoordinatorServiceConfig, ShareStateRequest, ShareStateResponse, StateCallRouter,
};
use crate::broker::{
    BrokerService, CallTarget, LeadershipChange, LeadershipChangeKind, ServiceContext,
};
use crate::coordinator::find_coordinator::answer_find_coordinator;
use crate::coordinator::find_coordinator_plugin::ViewCoordinatorMetadata;
use crate::coordinator::group::{GroupCoordinatorConfig, TopicMetadata};
use crate::coordinator::placement::{
    InternalTopicsConfig, GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME,
};
use crate::coordinator::share::{ShareCoordinatorConfig, TopicId};
use crate::log::{AppendInfo, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::ResponseError;

/// Version of the share-state RPCs the group coordinator sends: the highest the transport speaks
/// (ReadShareGroupStateSummary v1 carries the delivery-complete count, KIP-1226; the others are v0).
fn state_rpc_version(request: &RequestKind) -> i16 {
    crate::net::frame::api_key_of_request(request)
        .map_or(0, |key| crate::net::share_state_v1::version_range(key).max)
}
/// Timeout of those RPCs (`request.timeout.ms` default 30000).
const STATE_RPC_TIMEOUT_MS: u64 = 30_000;
/// Timeout of the end-offset ListOffsets: Kafka's `NetworkPartitionMetadataClient` send thread uses
/// `CommonClientConfigs.DEFAULT_SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS` (30 s) as its request timeout.
const LIST_OFFSETS_TIMEOUT_MS: u64 = 30_000;

/// ListOffsets version of the end-offset lookups: the newest the transport speaks, as Kafka's client
/// negotiates.
fn list_offsets_version() -> i16 {
    ApiKey::ListOffsets.valid_versions().max
}

/// Both coordinator plug-ins for one broker, sized by `topics` (internal-topic partition counts), the
/// share coordinator's shards configured by `share_shard`, the group coordinator's by `group_shard`.
pub fn coordinator_plugins(
    topics: &InternalTopicsConfig,
    share_shard: &ShareCoordinatorConfig,
    group_shard: &GroupCoordinatorConfig,
) -> Vec<Box<dyn BrokerService>> {
    let share = ShareCoordinatorServiceConfig {
        state_topic_num_partitions: topics.share_state_topic_num_partitions,
        shard: share_shard.clone(),
        ..ShareCoordinatorServiceConfig::default()
    };
    let group = GroupCoordinatorServiceConfig {
        offsets_topic_num_partitions: topics.offsets_topic_num_partitions,
        share: group_shard.clone(),
        ..GroupCoordinatorServiceConfig::default()
    };
    vec![
        Box::new(ShareCoordinatorPlugin::new(share)),
        Box::new(GroupCoordinatorPlugin::new(group, topics.clone())),
    ]
}

/// The clients' requests a plug-in holds until its service answers.
#[derive(Clone, Debug, Default)]
struct HeldRequests {
    next_token: RequestToken,
    held: BTreeMap<RequestToken, (ConnectionId, RequestHeader)>,
}

impl HeldRequests {
    fn hold(&mut self, connection: ConnectionId, header: RequestHeader) -> RequestToken {
        let token = self.next_token;
        self.next_token += 1;
        self.held.insert(token, (connection, header));
        token
    }

    fn answer(&mut self, cx: &mut ServiceContext<'_>, token: RequestToken, response: ResponseKind) {
        if let Some((connection, header)) = self.held.remove(&token) {
            cx.respond(connection, &header, response);
        }
    }
}

/// The share coordinator inside a broker.
pub struct ShareCoordinatorPlugin {
    service: ShareCoordinatorService,
    tokens: EffectTokens,
    requests: HeldRequests,
}

impl ShareCoordinatorPlugin {
    /// A plug-in leading nothing yet.
    pub fn new(config: ShareCoordinatorServiceConfig) -> ShareCoordinatorPlugin {
        ShareCoordinatorPlugin {
            service: ShareCoordinatorService::new(config),
            tokens: EffectTokens::default(),
            requests: HeldRequests::default(),
        }
    }

    fn flush(&mut self, cx: &mut ServiceContext<'_>) {
        while let Some((token, response)) = self.service.poll_response() {
            self.requests
                .answer(cx, token, response.into_response_kind());
        }
    }
}

impl BrokerService for ShareCoordinatorPlugin {
    fn name(&self) -> &'static str {
        "share-coordinator"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![
            ApiKey::InitializeShareGroupState,
            ApiKey::ReadShareGroupState,
            ApiKey::WriteShareGroupState,
            ApiKey::DeleteShareGroupState,
            ApiKey::ReadShareGroupStateSummary,
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
        let Some(request) = ShareStateRequest::from_request_kind(request) else {
            return;
        };
        let token = self.requests.hold(connection, header);
        let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
        self.service
            .handle_request(now_ms, &mut host, token, &request);
        self.flush(cx);
    }

    fn handle_call_result(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        token: u64,
        _result: Result<ResponseKind, TransportError>,
    ) {
        // Only the prune job's DeleteRecords; a failed prune is simply tried again later.
        self.tokens.take_delete(token);
    }

    fn handle_append_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) {
        if let Some((partition, first_offset, error)) = self.tokens.append_failure(token, result) {
            let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
            self.service
                .handle_append_failed(now_ms, &mut host, partition, first_offset, error);
            self.flush(cx);
        }
    }

    fn handle_leadership_change(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        if change.partition.topic != SHARE_GROUP_STATE_TOPIC_NAME {
            return;
        }
        let partition = change.partition.partition;
        match change.kind {
            LeadershipChangeKind::BecameLeader { leader_epoch } => {
                let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
                self.service
                    .handle_become_leader(now_ms, &mut host, partition, leader_epoch);
            }
            LeadershipChangeKind::LostLeadership { .. } => {
                self.service.handle_resign(now_ms, partition);
            }
        }
        self.flush(cx);
    }

    fn handle_high_watermark(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: &TopicPartition,
        high_watermark: i64,
    ) {
        if partition.topic == SHARE_GROUP_STATE_TOPIC_NAME {
            self.service
                .handle_high_watermark(now_ms, partition.partition, high_watermark);
            self.flush(cx);
        }
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        if self.service.poll_timeout().is_some_and(|at| at <= now_ms) {
            let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
            self.service.handle_timeout(now_ms, &mut host);
            self.flush(cx);
        }
    }

    fn poll_timeout(&self) -> Option<u64> {
        self.service.poll_timeout()
    }
}

/// The group coordinator's share-group side (and FindCoordinator) inside a broker.
pub struct GroupCoordinatorPlugin {
    service: GroupCoordinatorService,
    router: StateCallRouter,
    internal_topics: InternalTopicsConfig,
    tokens: EffectTokens,
    requests: HeldRequests,
    /// Call token → router RPC id.
    rpcs: BTreeMap<u64, u64>,
    latest_offsets: LatestOffsetsClient,
    /// Call token → end-offset lookup RPC id.
    list_offsets_rpcs: BTreeMap<u64, u64>,
    topics: BTreeMap<String, TopicMetadata>,
}

impl GroupCoordinatorPlugin {
    /// A plug-in leading nothing yet.
    pub fn new(
        config: GroupCoordinatorServiceConfig,
        internal_topics: InternalTopicsConfig,
    ) -> GroupCoordinatorPlugin {
        GroupCoordinatorPlugin {
            service: GroupCoordinatorService::new(config),
            router: StateCallRouter::new(internal_topics.share_state_topic_num_partitions),
            internal_topics,
            tokens: EffectTokens::default(),
            requests: HeldRequests::default(),
            rpcs: BTreeMap::new(),
            latest_offsets: LatestOffsetsClient::default(),
            list_offsets_rpcs: BTreeMap::new(),
            topics: BTreeMap::new(),
        }
    }

    /// The service (for tests and reports).
    pub fn service(&self) -> &GroupCoordinatorService {
        &self.service
    }

    /// Feeds the service the non-internal topics of the broker's metadata when they changed.
    fn refresh_metadata(&mut self, now_ms: u64, cx: &ServiceContext<'_>) {
        let topics: BTreeMap<String, TopicMetadata> = cx
            .view
            .metadata()
            .topics
            .values()
            .filter(|topic| !topic.name.starts_with("__"))
            .map(|topic| {
                let metadata = TopicMetadata {
                    topic_id: TopicId(topic.topic_id),
                    partition_count: i32::try_from(topic.partitions.len()).unwrap_or(i32::MAX),
                };
                (topic.name.clone(), metadata)
            })
            .collect();
        if topics != self.topics {
            self.topics = topics.clone();
            self.service.handle_metadata_update(now_ms, topics);
        }
    }

    /// Moves answers to clients, persister calls to the router, router RPCs to the share coordinators
    /// and router replies back to the service, until nothing moves.
    fn pump(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        loop {
            let mut moved = false;
            while let Some((token, response)) = self.service.poll_response() {
                moved = true;
                let response = match response {
                    GroupResponse::Heartbeat(r) => ResponseKind::ShareGroupHeartbeat(r),
                    GroupResponse::Describe(r) => ResponseKind::ShareGroupDescribe(r),
                    GroupResponse::AlterOffsets(r) => ResponseKind::AlterShareGroupOffsets(r),
                    GroupResponse::DeleteOffsets(r) => ResponseKind::DeleteShareGroupOffsets(r),
                    GroupResponse::DescribeOffsets(r) => ResponseKind::DescribeShareGroupOffsets(r),
                };
                self.requests.answer(cx, token, response);
            }
            // Membership events (joins, assignments, removals, epoch bumps) for the oracle's MEMBERSHIP.
            while let Some(event) = self.service.poll_trace() {
                cx.trace(crate::trace::TraceEvent::GroupCoordinator { event });
            }
            while let Some((call, request)) = self.service.poll_persister_call() {
                moved = true;
                self.router.submit(call, &request);
            }
            while let Some(rpc) = self.router.poll_rpc() {
                moved = true;
                let state_tp =
                    TopicPartition::new(SHARE_GROUP_STATE_TOPIC_NAME, rpc.state_partition);
                let leader = cx
                    .view
                    .leader_of(&state_tp)
                    .map(|(leader, _)| leader)
                    .filter(|leader| *leader >= 0);
                let Some(leader) = leader else {
                    let error = Err(ResponseError::CoordinatorNotAvailable);
                    self.router.handle_rpc_result(now_ms, rpc.rpc_id, error);
                    continue;
                };
                let request = rpc.request.into_request_kind();
                let token = self.tokens.fresh();
                self.rpcs.insert(token, rpc.rpc_id);
                cx.call(
                    token,
                    CallTarget::Broker(leader),
                    state_rpc_version(&request),
                    request,
                    STATE_RPC_TIMEOUT_MS,
                );
            }
            while let Some((call, reply)) = self.router.poll_reply() {
                moved = true;
                let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
                self.service
                    .handle_persister_reply(now_ms, &mut host, call, reply);
            }
            while let Some((call, partitions)) = self.service.poll_end_offsets_call() {
                moved = true;
                let view = &cx.view;
                self.latest_offsets.submit(call, &partitions, |tp| {
                    let name = view.topic_name(tp.topic_id.0)?;
                    let leader = view
                        .leader_of(&TopicPartition::new(name, tp.partition))
                        .map(|(leader, _)| leader)
                        .filter(|leader| *leader >= 0);
                    Some((name.to_string(), leader))
                });
            }
            while let Some(rpc) = self.latest_offsets.poll_rpc() {
                moved = true;
                let token = self.tokens.fresh();
                self.list_offsets_rpcs.insert(token, rpc.rpc_id);
                cx.call(
                    token,
                    CallTarget::Broker(rpc.leader),
                    list_offsets_version(),
                    RequestKind::ListOffsets(rpc.request),
                    LIST_OFFSETS_TIMEOUT_MS,
                );
            }
            while let Some((call, replies)) = self.latest_offsets.poll_reply() {
                moved = true;
                self.service
                    .handle_end_offsets_reply(now_ms, call, &replies);
            }
            if !moved {
                break;
            }
        }
    }
}

impl BrokerService for GroupCoordinatorPlugin {
    fn name(&self) -> &'static str {
        "group-coordinator-share"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![
            ApiKey::FindCoordinator,
            ApiKey::ShareGroupHeartbeat,
            ApiKey::ShareGroupDescribe,
            ApiKey::AlterShareGroupOffsets,
            ApiKey::DeleteShareGroupOffsets,
            ApiKey::DescribeShareGroupOffsets,
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
        let request = match request {
            RequestKind::FindCoordinator(request) => {
                // Missing internal topics are created by the cluster at start (the harness), so the
                // topics Kafka would auto-create here are not asked for.
                let metadata = ViewCoordinatorMetadata(&cx.view);
                let (response, _to_create) = answer_find_coordinator(
                    &request,
                    header.request_api_version,
                    &self.internal_topics,
                    &metadata,
                );
                cx.respond(connection, &header, ResponseKind::FindCoordinator(response));
                return;
            }
            RequestKind::ShareGroupHeartbeat(r) => GroupRequest::Heartbeat(r),
            RequestKind::ShareGroupDescribe(r) => GroupRequest::Describe(r),
            RequestKind::AlterShareGroupOffsets(r) => GroupRequest::AlterOffsets(r),
            RequestKind::DeleteShareGroupOffsets(r) => GroupRequest::DeleteOffsets(r),
            RequestKind::DescribeShareGroupOffsets(r) => GroupRequest::DescribeOffsets(r),
            _ => return,
        };
        self.refresh_metadata(now_ms, cx);
        let token = self.requests.hold(connection, header);
        let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
        self.service
            .handle_request(now_ms, &mut host, token, &request);
        self.pump(now_ms, cx);
    }

    fn handle_call_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<ResponseKind, TransportError>,
    ) {
        if self.tokens.take_delete(token) {
            return;
        }
        if let Some(rpc_id) = self.list_offsets_rpcs.remove(&token) {
            let result = match result {
                Ok(ResponseKind::ListOffsets(response)) => Ok(response),
                Ok(_) => Err(ResponseError::UnknownServerError),
                Err(TransportError::Timeout) => Err(ResponseError::RequestTimedOut),
                Err(_) => Err(ResponseError::NetworkException),
            };
            self.latest_offsets.handle_rpc_result(rpc_id, result);
            self.pump(now_ms, cx);
            return;
        }
        let Some(rpc_id) = self.rpcs.remove(&token) else {
            return;
        };
        let result = match result {
            Ok(response) => ShareStateResponse::from_response_kind(response)
                .ok_or(ResponseError::UnknownServerError),
            Err(TransportError::Timeout) => Err(ResponseError::RequestTimedOut),
            Err(_) => Err(ResponseError::NetworkException),
        };
        self.router.handle_rpc_result(now_ms, rpc_id, result);
        self.pump(now_ms, cx);
    }

    fn handle_append_result(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) {
        if let Some((partition, first_offset, error)) = self.tokens.append_failure(token, result) {
            let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
            self.service
                .handle_append_failed(now_ms, &mut host, partition, first_offset, error);
            self.pump(now_ms, cx);
        }
    }

    fn handle_leadership_change(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        change: &LeadershipChange,
    ) {
        if change.partition.topic != GROUP_METADATA_TOPIC_NAME {
            return;
        }
        self.refresh_metadata(now_ms, cx);
        let partition = change.partition.partition;
        match change.kind {
            LeadershipChangeKind::BecameLeader { leader_epoch } => {
                let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
                self.service
                    .handle_become_leader(now_ms, &mut host, partition, leader_epoch);
            }
            LeadershipChangeKind::LostLeadership { .. } => {
                self.service.handle_resign(now_ms, partition);
            }
        }
        self.pump(now_ms, cx);
    }

    fn handle_high_watermark(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        partition: &TopicPartition,
        high_watermark: i64,
    ) {
        if partition.topic == GROUP_METADATA_TOPIC_NAME {
            self.service
                .handle_high_watermark(now_ms, partition.partition, high_watermark);
            self.pump(now_ms, cx);
        }
    }

    fn handle_timeout(&mut self, now_ms: u64, cx: &mut ServiceContext<'_>) {
        if self.router.poll_timeout().is_some_and(|at| at <= now_ms) {
            self.router.handle_timeout(now_ms);
        }
        if self.service.poll_timeout().is_some_and(|at| at <= now_ms) {
            self.refresh_metadata(now_ms, cx);
            let mut host = BrokerHost::new(now_ms, cx, &mut self.tokens);
            self.service.handle_timeout(now_ms, &mut host);
        }
        self.pump(now_ms, cx);
    }

    fn poll_timeout(&self) -> Option<u64> {
        match (self.service.poll_timeout(), self.router.poll_timeout()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}
