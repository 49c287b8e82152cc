//! A share consumer as a madsim node: the [`ShareConsumer`] engine and a [`SimulatedApplication`] over
//! [`Client`], translating the engine's requests into real Kafka messages ([`crate::client::kafka_wire`])
//! and its trace events into the run's trace. No client rule lives here.
//!
//! The loop: poll when the application is ready (after the previous records' processing time, or as soon
//! as a response arrives when the last poll was empty), send what the engine wants sent (each call on its
//! own task), feed responses back, and sleep until the next deadline.
//!
//! Status: compiles against the transport and the engines but is not yet exercised by an end-to-end
//! test (the share-group e2e tests of issue 5 are still to be written).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{MetadataRequest, RequestKind, ResponseKind, TopicName};
use kafka_protocol::protocol::StrBytes;
use madsim::export::futures::future::{select, Either};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{NodeClock, SharedTrace};
use crate::client::application::{ApplicationConfig, PollDecision, SimulatedApplication};
use crate::client::kafka_wire::{self, SHARE_GROUP_HEARTBEAT_VERSION};
use crate::client::share_consumer::{
    AcknowledgementMode, ClientTraceEvent, CommitId, ConsumerEvent, ConsumerRecord, NodeId,
    RecordDeserializer, RequestFailure, RequestId, ShareConsumer, ShareConsumerConfig, Transmit,
};
use crate::coordinator::share::TopicIdPartition;
use crate::net::{Client, NetFaults, TransportError};
use crate::semantics::Semantics;
use crate::share::AcknowledgeType;
use crate::share::MemberId;
use crate::trace::{ShareConsumerEvent, TraceEvent};

/// FindCoordinator `KeyType` of group coordinators.
const COORDINATOR_KEY_TYPE_GROUP: i8 = 0;
/// How long an idle poll waits before polling again when no response wakes it.
const IDLE_POLL_INTERVAL_MS: u64 = 100;
/// Metadata version sent (topic ids in responses from v10).
const METADATA_VERSION: i16 = 12;

/// What one record delivery looked like to the application (for test assertions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivery {
    /// When `poll` returned it.
    pub at_ms: u64,
    /// The member.
    pub member_id: String,
    /// The topic-partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// The broker's delivery count.
    pub delivery_count: i16,
}

/// Counters and deliveries of one consumer, shared with the test that spawned it.
#[derive(Clone, Debug, Default)]
pub struct ConsumerStats {
    inner: Arc<Mutex<StatsInner>>,
}

/// One `AcknowledgementCommitCallback.onComplete` call (one partition of one commit; spec 7.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommitCallback {
    /// When the application saw it.
    pub at_ms: u64,
    /// The partition (the single map key).
    pub partition: i32,
    /// The acknowledged offsets.
    pub offsets: Vec<i64>,
    /// 0 on success, else Kafka's error code.
    pub error_code: i16,
}

/// How the simulated application commits its acknowledgements after handling a poll's records.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CommitStyle {
    /// Never: acknowledgements go with the next poll (piggybacked or in a ShareAcknowledge).
    #[default]
    WithPoll,
    /// `commitSync()` after every poll that returned records; the next poll waits for its result.
    Sync,
    /// `commitAsync()` after every poll that returned records.
    Async,
}

#[derive(Debug, Default)]
struct StatsInner {
    deliveries: Vec<Delivery>,
    acknowledged_ok: u64,
    acknowledged_failed: u64,
    poll_errors: Vec<String>,
    member_id: Option<String>,
    closed: bool,
    commit_callbacks: Vec<CommitCallback>,
    commit_sync_results: Vec<BTreeMap<i32, i16>>,
    session_resets: Vec<(i32, i16)>,
    member_epochs: Vec<i32>,
    renewals: u64,
}

impl ConsumerStats {
    fn with<R>(&self, f: impl FnOnce(&mut StatsInner) -> R) -> R {
        f(&mut self
            .inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Every record `poll` handed to the application, in order.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.with(|stats| stats.deliveries.clone())
    }

    /// Acknowledged offsets whose outcome was success / failure.
    pub fn acknowledged(&self) -> (u64, u64) {
        self.with(|stats| (stats.acknowledged_ok, stats.acknowledged_failed))
    }

    /// Exceptions `poll` threw (Kafka's names).
    pub fn poll_errors(&self) -> Vec<String> {
        self.with(|stats| stats.poll_errors.clone())
    }

    /// The member id, once the consumer started.
    pub fn member_id(&self) -> Option<String> {
        self.with(|stats| stats.member_id.clone())
    }

    /// True once `close()` completed.
    pub fn is_closed(&self) -> bool {
        self.with(|stats| stats.closed)
    }

    /// Every commit callback, in order.
    pub fn commit_callbacks(&self) -> Vec<CommitCallback> {
        self.with(|stats| stats.commit_callbacks.clone())
    }

    /// The per-partition results of every completed `commitSync` (partition → error code, 0 = ok).
    pub fn commit_sync_results(&self) -> Vec<BTreeMap<i32, i16>> {
        self.with(|stats| stats.commit_sync_results.clone())
    }

    /// Share sessions that restarted at epoch 0: (broker, error code; 0 = transport failure).
    pub fn session_resets(&self) -> Vec<(i32, i16)> {
        self.with(|stats| stats.session_resets.clone())
    }

    /// The member epoch after every membership change (0 while rejoining).
    pub fn member_epochs(&self) -> Vec<i32> {
        self.with(|stats| stats.member_epochs.clone())
    }

    /// Records that came back from a confirmed RENEW (not redeliveries: same acquisition).
    pub fn renewals(&self) -> u64 {
        self.with(|stats| stats.renewals)
    }
}

/// How to run one share consumer node.
#[derive(Clone)]
pub struct ShareConsumerSetup {
    /// Node name in the trace (`consumer-1`).
    pub node_name: String,
    /// The consumer's configs (group id included).
    pub config: ShareConsumerConfig,
    /// The release profile.
    pub semantics: Semantics,
    /// The deserialization rule.
    pub deserializer: RecordDeserializer,
    /// The application's behaviour.
    pub application: ApplicationConfig,
    /// Topics to subscribe to.
    pub topics: Vec<String>,
    /// Bootstrap brokers.
    pub bootstrap: Vec<SocketAddr>,
    /// The transport's faults.
    pub faults: NetFaults,
    /// The run's trace.
    pub trace: SharedTrace,
    /// This node's clock.
    pub clock: NodeClock,
    /// Seed of the application's and member id's RNG.
    pub seed: u64,
    /// `close()` at this time (a clean leave).
    pub close_at_ms: Option<u64>,
    /// Vanish at this time without closing (a crash: connections drop).
    pub crash_at_ms: Option<u64>,
    /// Shared counters for the test.
    pub stats: ConsumerStats,
    /// How the application commits its acknowledgements.
    pub commit: CommitStyle,
    /// A reconnect the fault scheduler asks for (the `consumer_reconnect_late_close` lever).
    pub reconnect: ReconnectRequest,
}

/// A reconnect with a late close (the `consumer_reconnect_late_close` lever): the fault target asks, the
/// consumer node carries it out at its next wake-up. Clones share the request.
#[derive(Clone, Debug, Default)]
pub struct ReconnectRequest(Arc<Mutex<Option<u64>>>);

impl ReconnectRequest {
    /// Asks the consumer to reconnect, the old connections' closes reaching the brokers
    /// `close_delay_ms` late.
    pub fn request(&self, close_delay_ms: u64) {
        *self.lock() = Some(close_delay_ms);
    }

    fn take(&self) -> Option<u64> {
        self.lock().take()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A record whose processing outlasts `renew_after_ms`: the application renews its lock while it works
/// (explicit mode, 4.2+; spec 7.8).
struct RenewTask {
    record: ConsumerRecord,
    acknowledge_type: AcknowledgeType,
    finish_at_ms: u64,
    every_ms: u64,
    next_renew_ms: u64,
    /// The application holds the record (it was returned by a poll and not sent with RENEW since).
    held: bool,
}

/// What a call task reports back.
enum Reply {
    Engine {
        request_id: RequestId,
        kind: EngineCall,
        result: Result<ResponseKind, TransportError>,
    },
    Metadata(Result<ResponseKind, TransportError>),
    Coordinator(Result<ResponseKind, TransportError>),
}

#[derive(Clone, Copy)]
enum EngineCall {
    Fetch,
    Acknowledge,
    Heartbeat,
}

/// Runs one share consumer until it closes or crashes.
pub async fn run_share_consumer(setup: ShareConsumerSetup) {
    let clock = setup.clock.clone();
    let mut rng = StdRng::seed_from_u64(setup.seed);
    let client = Arc::new(Client::new(setup.node_name.clone(), setup.faults.clone()));
    let request_timeout = Duration::from_millis(setup.config.request_timeout_ms);
    let explicit = setup.config.acknowledgement_mode == AcknowledgementMode::Explicit;
    let Ok(mut consumer) = ShareConsumer::new(
        setup.config.clone(),
        setup.semantics.clone(),
        setup.deserializer.clone(),
        &mut rng,
        clock.now_ms(),
    ) else {
        return;
    };
    let member_id = consumer.member_id().to_string();
    setup
        .stats
        .with(|stats| stats.member_id = Some(member_id.clone()));
    let topics: Vec<&str> = setup.topics.iter().map(String::as_str).collect();
    if consumer.subscribe(clock.now_ms(), &topics).is_err() {
        return;
    }
    let mut app = SimulatedApplication::new(setup.application.clone());
    let (tx, rx) = async_channel::unbounded::<Reply>();
    let mut brokers: BTreeMap<i32, SocketAddr> = BTreeMap::new();
    let spawn_call =
        |to: SocketAddr,
         version: i16,
         request: RequestKind,
         wrap: Box<dyn FnOnce(Result<ResponseKind, TransportError>) -> Reply + Send>| {
            let client = client.clone();
            let tx = tx.clone();
            madsim::task::spawn(async move {
                let result = client.call(to, version, request, request_timeout).await;
                let _ = tx.send(wrap(result)).await;
            });
        };
    let bootstrap = |index: u64| setup.bootstrap[(index as usize) % setup.bootstrap.len().max(1)];
    let mut lookups = 0u64;
    let metadata_request = || {
        RequestKind::Metadata(
            MetadataRequest::default().with_topics(Some(
                setup
                    .topics
                    .iter()
                    .map(|name| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(name.clone()))))
                    })
                    .collect(),
            )),
        )
    };
    let coordinator_request = || {
        RequestKind::FindCoordinator(
            FindCoordinatorRequest::default()
                .with_key_type(COORDINATOR_KEY_TYPE_GROUP)
                .with_coordinator_keys(vec![StrBytes::from_string(setup.config.group_id.clone())]),
        )
    };
    spawn_call(
        bootstrap(0),
        METADATA_VERSION,
        metadata_request(),
        Box::new(Reply::Metadata),
    );
    spawn_call(
        bootstrap(0),
        6,
        coordinator_request(),
        Box::new(Reply::Coordinator),
    );
    let mut next_poll_ms = clock.now_ms();
    let mut poll_on_reply = false;
    let mut closing = false;
    let mut waiting_commit: Option<CommitId> = None;
    let mut tasks: BTreeMap<(TopicIdPartition, i64), RenewTask> = BTreeMap::new();
    loop {
        if setup
            .trace
            .step(clock.true_now_ms(), &setup.node_name)
            .is_err()
        {
            // The run exceeded its limits (it stopped making virtual-time progress): stop, as a
            // crash would; the backend reports the run as failed.
            return;
        }
        let now_ms = clock.now_ms();
        if setup.crash_at_ms.is_some_and(|at| now_ms >= at) {
            // A crash: the node's connections drop with it (the client is dropped on return).
            return;
        }
        if let Some(close_delay_ms) = setup.reconnect.take() {
            // The client drops every connection (their closes reach the brokers late) and starts its
            // share sessions over on new ones.
            client.disconnect_all_late(close_delay_ms);
            consumer.handle_connections_lost(now_ms);
        }
        consumer.handle_timeout(now_ms);
        if !closing && setup.close_at_ms.is_some_and(|at| now_ms >= at) {
            closing = true;
            let _ = consumer.close(now_ms, 30_000);
        }
        if !closing {
            let renewed = advance_renew_tasks(&mut consumer, &mut tasks, now_ms);
            if renewed {
                let _ = consumer.commit_async(now_ms);
            }
        }
        // A long task gets its renewed record back with a poll in the middle of its processing (only
        // when it holds nothing unacknowledged, which would make that poll throw).
        let renew_poll = !tasks.is_empty()
            && tasks.values().all(|t| !t.held)
            && consumer.renewed_record_count() > 0;
        if !closing && waiting_commit.is_none() && (now_ms >= next_poll_ms || renew_poll) {
            match app.before_poll(&mut rng, now_ms) {
                PollDecision::Crash => return,
                PollDecision::Stall { until_ms } => next_poll_ms = until_ms,
                PollDecision::Poll => match consumer.poll(now_ms) {
                    Ok(records) if records.is_empty() => {
                        poll_on_reply = true;
                        next_poll_ms = now_ms + IDLE_POLL_INTERVAL_MS;
                    }
                    Ok(records) => {
                        poll_on_reply = false;
                        let mut busy_ms = 0;
                        let mut deliveries = Vec::with_capacity(records.len());
                        for record in &records {
                            let key = (record.topic_id_partition, record.offset);
                            if let Some(task) = tasks.get_mut(&key) {
                                // Back from a confirmed RENEW: the same acquisition, still in work.
                                setup.stats.with(|stats| stats.renewals += 1);
                                task.record = record.clone();
                                task.held = true;
                                continue;
                            }
                            let decision = app.on_record(&mut rng, now_ms, record);
                            busy_ms += decision.processing_ms;
                            deliveries.push(Delivery {
                                at_ms: now_ms,
                                member_id: member_id.clone(),
                                partition: record.topic_id_partition.partition,
                                offset: record.offset,
                                delivery_count: record.delivery_count,
                            });
                            let renew_every_ms = decision
                                .renew_every_ms
                                .filter(|_| explicit && setup.semantics.renew_supported);
                            if let Some(every_ms) = renew_every_ms {
                                tasks.insert(
                                    key,
                                    RenewTask {
                                        record: record.clone(),
                                        acknowledge_type: decision.acknowledge_type,
                                        finish_at_ms: now_ms + busy_ms,
                                        every_ms,
                                        next_renew_ms: now_ms + every_ms,
                                        held: true,
                                    },
                                );
                            } else if explicit {
                                let _ = consumer.acknowledge(record, decision.acknowledge_type);
                            }
                        }
                        // One lock per poll, not per record.
                        setup
                            .stats
                            .with(|stats| stats.deliveries.append(&mut deliveries));
                        // Tasks finished by now are acknowledged before committing.
                        advance_renew_tasks(&mut consumer, &mut tasks, now_ms);
                        next_poll_ms = next_poll_ms.max(now_ms + busy_ms.max(1));
                        match setup.commit {
                            CommitStyle::WithPoll => {}
                            CommitStyle::Sync => {
                                waiting_commit = consumer
                                    .commit_sync(now_ms, setup.config.default_api_timeout_ms)
                                    .ok();
                            }
                            CommitStyle::Async => {
                                let _ = consumer.commit_async(now_ms);
                            }
                        }
                    }
                    Err(error) => {
                        setup
                            .stats
                            .with(|stats| stats.poll_errors.push(error.name().to_string()));
                        if let (true, Some(ack)) = (explicit, app.on_deserialization_error()) {
                            if let crate::client::share_consumer::ClientError::RecordDeserialization {
                                topic_id_partition,
                                offset,
                                ..
                            } = &error
                            {
                                let _ = consumer.acknowledge_offset(*topic_id_partition, *offset, ack);
                            }
                        }
                        next_poll_ms = now_ms + 1;
                    }
                },
            }
        }
        while let Some(transmit) = consumer.poll_transmit(now_ms) {
            let node = match &transmit {
                Transmit::ShareFetch { node, .. }
                | Transmit::ShareAcknowledge { node, .. }
                | Transmit::ShareGroupHeartbeat { node, .. } => *node,
            };
            let request_id = transmit.request_id();
            let (kind, version, request) = match &transmit {
                Transmit::ShareFetch { request, .. } => (
                    EngineCall::Fetch,
                    request.version,
                    kafka_wire::share_fetch_request(request),
                ),
                Transmit::ShareAcknowledge { request, .. } => (
                    EngineCall::Acknowledge,
                    request.version,
                    kafka_wire::share_acknowledge_request(request),
                ),
                Transmit::ShareGroupHeartbeat { request, .. } => (
                    EngineCall::Heartbeat,
                    SHARE_GROUP_HEARTBEAT_VERSION,
                    kafka_wire::share_group_heartbeat_request(request),
                ),
            };
            match brokers.get(&node.0) {
                Some(addr) => spawn_call(
                    *addr,
                    version,
                    request,
                    Box::new(move |result| Reply::Engine {
                        request_id,
                        kind,
                        result,
                    }),
                ),
                None => {
                    let failed = Reply::Engine {
                        request_id,
                        kind,
                        result: Err(TransportError::Connect("unknown node".to_string())),
                    };
                    let _ = tx.try_send(failed);
                }
            }
        }
        while let Some(event) = consumer.poll_event() {
            match event {
                ConsumerEvent::MetadataUpdateNeeded => {
                    lookups += 1;
                    spawn_call(
                        bootstrap(lookups),
                        METADATA_VERSION,
                        metadata_request(),
                        Box::new(Reply::Metadata),
                    );
                }
                ConsumerEvent::CoordinatorLookupNeeded => {
                    lookups += 1;
                    spawn_call(
                        bootstrap(lookups),
                        6,
                        coordinator_request(),
                        Box::new(Reply::Coordinator),
                    );
                }
                ConsumerEvent::AcknowledgementCommitCallback {
                    topic_id_partition,
                    offsets,
                    error,
                } => {
                    setup.stats.with(|stats| {
                        match error {
                            None => stats.acknowledged_ok += offsets.len() as u64,
                            Some(_) => stats.acknowledged_failed += offsets.len() as u64,
                        }
                        stats.commit_callbacks.push(CommitCallback {
                            at_ms: now_ms,
                            partition: topic_id_partition.partition,
                            offsets,
                            error_code: error.map_or(0, |e| e.code()),
                        });
                    });
                }
                ConsumerEvent::Closed => {
                    record_traces(&mut consumer, &setup);
                    setup.stats.with(|stats| stats.closed = true);
                    return;
                }
                ConsumerEvent::CommitSyncCompleted { commit_id, results } => {
                    if waiting_commit == Some(commit_id) {
                        waiting_commit = None;
                    }
                    let results = results
                        .iter()
                        .map(|(tip, error)| (tip.partition, error.map_or(0, |e| e.code())))
                        .collect();
                    setup
                        .stats
                        .with(|stats| stats.commit_sync_results.push(results));
                }
            }
        }
        record_traces(&mut consumer, &setup);
        let mut deadline_ms = consumer.poll_timeout().unwrap_or(u64::MAX);
        if !closing {
            if waiting_commit.is_none() {
                deadline_ms = deadline_ms.min(next_poll_ms);
            }
            for task in tasks.values().filter(|t| t.held) {
                deadline_ms = deadline_ms.min(task.next_renew_ms.min(task.finish_at_ms));
            }
            if let Some(at) = setup.close_at_ms {
                deadline_ms = deadline_ms.min(at);
            }
        }
        if let Some(at) = setup.crash_at_ms {
            deadline_ms = deadline_ms.min(at);
        }
        let wait_ms = clock
            .until_ms(deadline_ms)
            .min(60_000)
            .max(if deadline_ms <= now_ms { 0 } else { 1 });
        let reply = {
            let sleep = std::pin::pin!(madsim::time::sleep(Duration::from_millis(wait_ms)));
            let recv = std::pin::pin!(rx.recv());
            match select(recv, sleep).await {
                Either::Left((reply, _)) => reply.ok(),
                Either::Right(_) => None,
            }
        };
        let Some(reply) = reply else {
            continue;
        };
        let now_ms = clock.now_ms();
        if poll_on_reply {
            next_poll_ms = now_ms;
        }
        match reply {
            Reply::Metadata(Ok(ResponseKind::Metadata(response))) => {
                let (topics, addresses) = kafka_wire::metadata_response(&response);
                brokers.extend(addresses);
                for topic in &topics {
                    consumer.handle_topic_metadata(now_ms, topic);
                }
                if consumer.has_leaderless_assignment() {
                    // An assigned partition still has no leader (this broker did not know it, or
                    // the election is under way): ask again after retry.backoff.ms, as Kafka's
                    // fetchers do, from the next bootstrap broker.
                    lookups += 1;
                    madsim::time::sleep(Duration::from_millis(setup.config.retry_backoff_ms)).await;
                    spawn_call(
                        bootstrap(lookups),
                        METADATA_VERSION,
                        metadata_request(),
                        Box::new(Reply::Metadata),
                    );
                }
            }
            Reply::Metadata(_) => {
                lookups += 1;
                madsim::time::sleep(Duration::from_millis(setup.config.retry_backoff_ms)).await;
                spawn_call(
                    bootstrap(lookups),
                    METADATA_VERSION,
                    metadata_request(),
                    Box::new(Reply::Metadata),
                );
            }
            Reply::Coordinator(Ok(ResponseKind::FindCoordinator(response))) => {
                let found = response
                    .coordinators
                    .first()
                    .filter(|entry| entry.error_code == 0 && entry.node_id.0 >= 0);
                // The coordinator is reached at the address FindCoordinator names, as Kafka's
                // `CoordinatorRequestManager` builds its node from the response's host and port: the
                // metadata the consumer has may not list that broker yet (a broker restarted before
                // it caught up with the controller answers Metadata without brokers).
                if let Some(entry) = found {
                    let host = entry.host.as_str().parse().ok();
                    let port = u16::try_from(entry.port).ok();
                    if let (Some(host), Some(port)) = (host, port) {
                        brokers.insert(entry.node_id.0, SocketAddr::new(host, port));
                    }
                }
                let node = found.map(|entry| NodeId(entry.node_id.0));
                if node.is_none() {
                    lookups += 1;
                    madsim::time::sleep(Duration::from_millis(setup.config.retry_backoff_ms)).await;
                    spawn_call(
                        bootstrap(lookups),
                        6,
                        coordinator_request(),
                        Box::new(Reply::Coordinator),
                    );
                }
                consumer.handle_group_coordinator(now_ms, node);
            }
            Reply::Coordinator(_) => {
                lookups += 1;
                madsim::time::sleep(Duration::from_millis(setup.config.retry_backoff_ms)).await;
                spawn_call(
                    bootstrap(lookups),
                    6,
                    coordinator_request(),
                    Box::new(Reply::Coordinator),
                );
            }
            Reply::Engine {
                request_id,
                kind,
                result,
            } => match (kind, result) {
                (EngineCall::Fetch, Ok(ResponseKind::ShareFetch(response))) => consumer
                    .handle_share_fetch_response(
                        now_ms,
                        request_id,
                        &kafka_wire::share_fetch_response(&response),
                    ),
                (EngineCall::Acknowledge, Ok(ResponseKind::ShareAcknowledge(response))) => consumer
                    .handle_share_acknowledge_response(
                        now_ms,
                        request_id,
                        &kafka_wire::share_acknowledge_response(&response),
                    ),
                (EngineCall::Heartbeat, Ok(ResponseKind::ShareGroupHeartbeat(response))) => {
                    consumer.handle_heartbeat_response(
                        now_ms,
                        request_id,
                        &kafka_wire::share_group_heartbeat_response(&response),
                    )
                }
                (_, Err(TransportError::Timeout)) => {
                    consumer.handle_request_failed(now_ms, request_id, RequestFailure::TimedOut)
                }
                (_, _) => {
                    consumer.handle_request_failed(now_ms, request_id, RequestFailure::Disconnected)
                }
            },
        }
    }
}

/// Acknowledges the held long tasks that finished (their decided type) and sends RENEW for those due a
/// renewal; true when a RENEW was made (the caller sends it with `commitAsync`).
fn advance_renew_tasks(
    consumer: &mut ShareConsumer,
    tasks: &mut BTreeMap<(TopicIdPartition, i64), RenewTask>,
    now_ms: u64,
) -> bool {
    let mut renewed = false;
    tasks.retain(|_, task| {
        if !task.held {
            return true;
        }
        if task.finish_at_ms <= now_ms {
            let _ = consumer.acknowledge(&task.record, task.acknowledge_type);
            return false;
        }
        if task.next_renew_ms <= now_ms {
            if consumer
                .acknowledge(&task.record, AcknowledgeType::Renew)
                .is_ok()
            {
                renewed = true;
                task.held = false;
            }
            task.next_renew_ms = now_ms + task.every_ms;
        }
        true
    });
    renewed
}

/// Moves the engine's trace events into the run's trace.
///
/// Stamped with the simulator's true time, not the consumer's clock (which the `clock_skew` lever
/// moves): the trace is the simulator's observation, and latencies are measured on it.
fn record_traces(consumer: &mut ShareConsumer, setup: &ShareConsumerSetup) {
    let stamp_ms = setup.clock.true_now_ms();
    while let Some(event) = consumer.poll_trace() {
        match &event {
            ClientTraceEvent::ShareSessionReset {
                node, error_code, ..
            } => setup
                .stats
                .with(|stats| stats.session_resets.push((node.0, *error_code))),
            ClientTraceEvent::Membership { member_epoch, .. } => setup
                .stats
                .with(|stats| stats.member_epochs.push(*member_epoch)),
            _ => {}
        }
        let mapped: Vec<(String, ShareConsumerEvent)> = match event {
            ClientTraceEvent::RecordDelivered {
                member_id,
                topic_id_partition,
                offset,
                delivery_count,
                ..
            } => vec![(
                member_id,
                ShareConsumerEvent::RecordDelivered {
                    topic_id: topic_id_partition.topic_id,
                    partition: topic_id_partition.partition,
                    offset,
                    delivery_count: delivery_count.max(0) as u16,
                },
            )],
            ClientTraceEvent::AcknowledgementsSent {
                member_id,
                topic_id_partition,
                acknowledgements,
                ..
            } => vec![(
                member_id,
                ShareConsumerEvent::AcknowledgementsSent {
                    topic_id: topic_id_partition.topic_id,
                    partition: topic_id_partition.partition,
                    acknowledgements,
                },
            )],
            ClientTraceEvent::AcknowledgementOutcome {
                member_id,
                topic_id_partition,
                acknowledgements,
                error_code,
                unsent_offsets,
                ..
            } => {
                // The acknowledgements that went on the wire and those failed locally are told apart:
                // ACK-OUTCOME pairs each outcome with a sent acknowledgement.
                let (unsent, sent): (Vec<_>, Vec<_>) = acknowledgements
                    .into_iter()
                    .partition(|(offset, _)| unsent_offsets.contains(offset));
                let topic_id = topic_id_partition.topic_id;
                let partition = topic_id_partition.partition;
                let mut mapped = Vec::new();
                if !sent.is_empty() {
                    let event = ShareConsumerEvent::AcknowledgementOutcome {
                        topic_id,
                        partition,
                        acknowledgements: sent,
                        error_code,
                    };
                    mapped.push((member_id.clone(), event));
                }
                if !unsent.is_empty() {
                    let event = ShareConsumerEvent::AcknowledgementsFailedUnsent {
                        topic_id,
                        partition,
                        acknowledgements: unsent,
                        error_code,
                    };
                    mapped.push((member_id, event));
                }
                mapped
            }
            _ => Vec::new(),
        };
        for (member_id, event) in mapped {
            setup.trace.record(
                stamp_ms,
                &setup.node_name,
                TraceEvent::ShareConsumer {
                    group_id: setup.config.group_id.clone(),
                    member: MemberId::new(member_id),
                    event,
                },
            );
        }
    }
}
