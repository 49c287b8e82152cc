//! [`BrokerCore`]: the sans-IO broker. Inputs `handle_*` with the current time, outputs `poll_output` and
//! `poll_timeout` (quinn-proto style). See the module doc of `broker` for the whole picture.

use kafka_protocol::messages::{RequestHeader, RequestKind, ResponseKind};

use super::config::BrokerConfig;
use super::output::BrokerOutput;
use super::service::{BrokerService, ServiceContext, ServiceEffect};
use super::state::{AppendWaiter, BrokerState, CallPurpose, ServiceResult};
use super::trace::ClusterEvent;
use super::view::BrokerView;
use crate::cluster::BrokerId;
use crate::log::LogStore;
use crate::net::{ConnectionId, TransportError};

/// Rounds of service callbacks per input before the broker stops (a service that keeps producing work
/// for itself in a loop is a bug; this keeps the broker from spinning on it).
const SETTLE_ROUNDS_MAX: usize = 64;

/// One broker, sans-IO: its logs (in a [`LogStore`] that outlives it), its leader and follower replicas,
/// its life with the controller, and the services plugged into it.
pub struct BrokerCore {
    pub(super) state: BrokerState,
    pub(super) services: Vec<Box<dyn BrokerService>>,
}

impl std::fmt::Debug for BrokerCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerCore")
            .field("broker_id", &self.state.config.broker_id)
            .field(
                "services",
                &self.services.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl BrokerCore {
    /// A broker starting with the logs in `store` (recovered already after a restart). It registers
    /// with the controller on its first `handle_timeout`.
    pub fn new(config: BrokerConfig, store: LogStore) -> Self {
        let mut state = BrokerState::new(config, store);
        let partitions: Vec<(String, i32, i64)> = state
            .store
            .partitions()
            .into_iter()
            .filter_map(|tp| {
                let end = state.store.with_log(&tp, |log| log.log_end_offset())?;
                Some((tp.topic, tp.partition, end))
            })
            .collect();
        if !partitions.is_empty() {
            state.trace(ClusterEvent::LogsRecovered { partitions });
        }
        BrokerCore {
            state,
            services: Vec::new(),
        }
    }

    /// Plugs in a service; requests for its API keys go to it from now on.
    pub fn add_service(&mut self, service: Box<dyn BrokerService>) {
        self.services.push(service);
    }

    /// This broker's `node.id`.
    pub fn broker_id(&self) -> BrokerId {
        self.state.config.broker_id
    }

    /// The configuration.
    pub fn config(&self) -> &BrokerConfig {
        &self.state.config
    }

    /// Read-only access to logs, leadership and metadata (what services see).
    pub fn view(&self) -> BrokerView<'_> {
        BrokerView { state: &self.state }
    }

    /// The logs.
    pub fn store(&self) -> &LogStore {
        &self.state.store
    }

    // (B) inputs

    /// A request arrived on `connection`.
    pub fn handle_request(
        &mut self,
        now_ms: u64,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        self.advance(now_ms);
        self.dispatch(connection, header, request);
        self.settle();
    }

    /// The outcome of a [`BrokerOutput::Call`].
    pub fn handle_call_result(
        &mut self,
        now_ms: u64,
        token: u64,
        result: Result<ResponseKind, TransportError>,
    ) {
        self.advance(now_ms);
        let Some(purpose) = self.state.calls.remove(&token) else {
            return;
        };
        let state = &mut self.state;
        match purpose {
            CallPurpose::Registration => state.handle_registration_result(result),
            CallPurpose::Heartbeat => state.handle_heartbeat_result(result),
            CallPurpose::MetadataPull => state.handle_metadata_result(result),
            CallPurpose::AlterPartition {
                partition,
                leader_epoch,
            } => state.handle_alter_partition_result(&partition, leader_epoch, result),
            CallPurpose::ReplicaFetch { leader, partitions } => {
                state.handle_replica_fetch_result(leader, partitions, result)
            }
            CallPurpose::ForwardCreateTopics {
                connection,
                correlation_id,
                api_version,
                fallback,
            } => state.handle_create_topics_result(
                connection,
                correlation_id,
                api_version,
                fallback,
                result,
            ),
            CallPurpose::Service { service, token } => state.service_results.push((
                service,
                ServiceResult::Call {
                    token,
                    result: Box::new(result),
                },
            )),
        }
        self.settle();
    }

    /// A client connection ended: its parked fetches and unanswered produces are dropped, services are
    /// told.
    pub fn handle_connection_closed(&mut self, now_ms: u64, connection: ConnectionId) {
        self.advance(now_ms);
        self.state
            .delayed_fetches
            .retain(|f| f.connection != connection);
        self.state
            .produces
            .retain(|_, p| p.connection != connection);
        for index in 0..self.services.len() {
            self.with_service(index, |service, cx| {
                service.handle_connection_closed(now_ms, cx, connection)
            });
        }
        self.settle();
    }

    /// Time passed: heartbeats, ISR checks, produce and fetch deadlines, page-cache writeback, services.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        if let (Some(next), Some(interval)) = (
            self.state.next_flush_ms,
            self.state.config.page_cache_flush_interval_ms,
        ) {
            if now_ms >= next {
                self.state.store.flush_all();
                self.state.next_flush_ms = Some(now_ms + interval.max(1));
            }
        }
        let due: Vec<_> = self
            .state
            .leaders
            .iter()
            .filter(|(_, l)| l.poll_timeout() <= now_ms)
            .map(|(tp, _)| tp.clone())
            .collect();
        for tp in due {
            if let Some(leader) = self.state.leaders.get_mut(&tp) {
                leader.handle_timeout(now_ms);
            }
            self.state.drain_leader(&tp);
        }
        if self
            .state
            .delayed_fetches
            .iter()
            .any(|f| f.deadline_ms <= now_ms)
        {
            self.state.fetch_recheck = true;
        }
        for index in 0..self.services.len() {
            if self.services[index]
                .poll_timeout()
                .is_some_and(|t| t <= now_ms)
            {
                self.with_service(index, |service, cx| service.handle_timeout(now_ms, cx));
            }
        }
        self.settle();
    }

    // (C) outputs

    /// The next thing for the node to do.
    pub fn poll_output(&mut self) -> Option<BrokerOutput> {
        self.state.outputs.pop_front()
    }

    /// When `handle_timeout` must run next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let state = &self.state;
        let leaders = state.leaders.values().map(|l| l.poll_timeout());
        let fetches = state.delayed_fetches.iter().map(|f| f.deadline_ms);
        let services = self.services.iter().filter_map(|s| s.poll_timeout());
        leaders
            .chain(fetches)
            .chain(services)
            .chain(state.lifecycle_timeout())
            .chain(state.fetcher_timeout())
            .chain(state.next_flush_ms)
            .min()
    }

    // internals

    fn advance(&mut self, now_ms: u64) {
        self.state.now_ms = self.state.now_ms.max(now_ms);
    }

    /// Runs `f` on one service with a context, then applies what it asked for.
    pub(super) fn with_service(
        &mut self,
        index: usize,
        f: impl FnOnce(&mut dyn BrokerService, &mut ServiceContext<'_>),
    ) {
        let mut effects = Vec::new();
        {
            let view = BrokerView { state: &self.state };
            let mut cx = ServiceContext::new(view, &mut effects);
            f(self.services[index].as_mut(), &mut cx);
        }
        self.apply_service_effects(index, effects);
    }

    fn apply_service_effects(&mut self, index: usize, effects: Vec<ServiceEffect>) {
        let state = &mut self.state;
        for effect in effects {
            match effect {
                ServiceEffect::Respond {
                    connection,
                    correlation_id,
                    api_version,
                    response,
                } => state.respond(connection, correlation_id, api_version, response),
                ServiceEffect::Call {
                    token,
                    to,
                    api_version,
                    request,
                    timeout_ms,
                } => {
                    let purpose = CallPurpose::Service {
                        service: index,
                        token,
                    };
                    if let Err(error) = state.call(purpose, to, api_version, request, timeout_ms) {
                        state.service_results.push((
                            index,
                            ServiceResult::Call {
                                token,
                                result: Box::new(Err(error)),
                            },
                        ));
                    }
                }
                ServiceEffect::Append {
                    token,
                    partition,
                    records,
                    acks,
                    timeout_ms,
                } => {
                    let appended =
                        state.append_as_leader(&partition, &records, acks, timeout_ms, |info| {
                            Some(AppendWaiter::Service {
                                service: index,
                                token,
                                info,
                            })
                        });
                    if let Err(error) = appended {
                        state.service_results.push((
                            index,
                            ServiceResult::Append {
                                token,
                                result: Err(error),
                            },
                        ));
                    }
                }
                ServiceEffect::Close { connection } => {
                    state.outputs.push_back(BrokerOutput::Close { connection })
                }
                ServiceEffect::Trace(event) => state.outputs.push_back(BrokerOutput::Trace(event)),
            }
        }
    }

    /// Delivers what the last input caused (leadership changes, high-watermark moves, call and append
    /// results to services; parked fetches), then sends what is due (registration, heartbeat, metadata
    /// pull, replica fetches).
    fn settle(&mut self) {
        let now_ms = self.state.now_ms;
        for _ in 0..SETTLE_ROUNDS_MAX {
            if self.state.fetch_recheck {
                self.state.recheck_delayed_fetches();
            }
            let changes = std::mem::take(&mut self.state.leadership_changes);
            let moves = std::mem::take(&mut self.state.high_watermark_changes);
            let results = std::mem::take(&mut self.state.service_results);
            if changes.is_empty() && moves.is_empty() && results.is_empty() {
                break;
            }
            for change in &changes {
                for index in 0..self.services.len() {
                    self.with_service(index, |service, cx| {
                        service.handle_leadership_change(now_ms, cx, change)
                    });
                }
            }
            for (partition, high_watermark) in &moves {
                for index in 0..self.services.len() {
                    self.with_service(index, |service, cx| {
                        service.handle_high_watermark(now_ms, cx, partition, *high_watermark)
                    });
                }
            }
            for (index, result) in results {
                if index >= self.services.len() {
                    continue;
                }
                self.with_service(index, |service, cx| match result {
                    ServiceResult::Call { token, result } => {
                        service.handle_call_result(now_ms, cx, token, *result)
                    }
                    ServiceResult::Append { token, result } => {
                        service.handle_append_result(now_ms, cx, token, result)
                    }
                });
            }
        }
        self.state.lifecycle_tick();
        self.state.maybe_fetch_from_leaders();
    }
}
