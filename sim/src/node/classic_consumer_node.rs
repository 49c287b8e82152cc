//! A classic consumer as a madsim node: a [`Client`] moving the [`ClassicConsumer`] engine's requests,
//! and a [`SimulatedApplication`] that polls and processes records one after another (the Java
//! consumer's single application thread; heartbeats and responses go on meanwhile, as its heartbeat
//! thread does). No protocol rule lives here.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{NodeClock, SharedTrace};
use crate::client::application::{ApplicationConfig, PollDecision, SimulatedApplication};
use crate::client::classic_consumer::{
    ClassicConsumer, ClassicConsumerConfig, ClassicRecord, Destination, MemberState, Transmit,
};
use crate::client::share_consumer::{ConsumerRecord, NodeId};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::net::{Client, NetFaults, TransportError};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// How long an empty `poll` waits for a response before polling again (the application's poll
/// timeout).
const POLL_WAIT_MS: u64 = 50;
/// `request.timeout.ms` (30 s); fetches also get `fetch.max.wait.ms`.
const REQUEST_TIMEOUT_MS: u64 = 30_000;
/// The network loop wakes at least this often to fire the engine's timers.
const NETWORK_TICK_MS: u64 = 1_000;
/// How long `close` may take (commit, LeaveGroup) before the node gives up.
const CLOSE_TIMEOUT_MS: u64 = 30_000;

/// What a classic consumer node needs.
#[derive(Clone)]
pub struct ClassicConsumerSetup {
    /// The node's name in the trace (`classic-1`).
    pub node_name: String,
    /// The consumer's configuration.
    pub consumer: ClassicConsumerConfig,
    /// The subscribed topics.
    pub topics: Vec<String>,
    /// The simulated application.
    pub application: ApplicationConfig,
    /// Seed of the application's random draws.
    pub seed: u64,
    /// Bootstrap brokers.
    pub bootstrap: Vec<SocketAddr>,
    /// The transport's fault controller.
    pub faults: NetFaults,
    /// The run's trace.
    pub trace: SharedTrace,
    /// The node's clock: every timer of the client and the application reads it (the `clock_skew`
    /// lever moves it); shared with the fault scheduler.
    pub clock: NodeClock,
    /// Set it to close the consumer (it commits and leaves); the node then returns.
    pub close: Arc<AtomicBool>,
}

struct Shared {
    engine: ClassicConsumer,
    bootstrap_cursor: usize,
}

/// Wakes for the two loops: each gets its own channel so that neither takes the other's wake.
#[derive(Clone)]
struct Wakes {
    network: (async_channel::Sender<()>, async_channel::Receiver<()>),
    application: (async_channel::Sender<()>, async_channel::Receiver<()>),
}

impl Wakes {
    fn new() -> Wakes {
        Wakes {
            network: async_channel::unbounded(),
            application: async_channel::unbounded(),
        }
    }

    fn network(&self) {
        let _ = self.network.0.try_send(());
    }

    fn both(&self) {
        let _ = self.network.0.try_send(());
        let _ = self.application.0.try_send(());
    }
}

/// Runs a classic consumer until `close` is set (then closes it: commit and LeaveGroup) or the
/// application crashes (then the node goes silent and its session expires at the coordinator).
/// Returns the records the application processed, in order.
pub async fn run_classic_consumer(setup: ClassicConsumerSetup) -> Vec<ClassicRecord> {
    let client = Arc::new(Client::new(setup.node_name.clone(), setup.faults.clone()));
    let mut engine = ClassicConsumer::new(setup.consumer.clone());
    let topics: Vec<&str> = setup.topics.iter().map(String::as_str).collect();
    engine.subscribe(setup.clock.now_ms(), &topics);
    let shared = Arc::new(Mutex::new(Shared {
        engine,
        bootstrap_cursor: 0,
    }));
    let wakes = Wakes::new();
    let network = madsim::task::spawn(drive_network(
        setup.clone(),
        client,
        shared.clone(),
        wakes.clone(),
    ));
    let (processed, crashed) = run_application(&setup, &shared, &wakes).await;
    if !crashed {
        lock(&shared).engine.close(setup.clock.now_ms());
        wakes.network();
        let mut waited_ms = 0;
        while lock(&shared).engine.state() != MemberState::Closed && waited_ms < CLOSE_TIMEOUT_MS {
            let _ = madsim::time::timeout(
                local_duration(&setup.clock, POLL_WAIT_MS),
                wakes.application.1.recv(),
            )
            .await;
            waited_ms += POLL_WAIT_MS;
        }
        // Let the network loop send the LeaveGroup queued by the close.
        wakes.network();
        madsim::time::sleep(Duration::from_millis(1)).await;
    }
    network.abort();
    processed
}

async fn run_application(
    setup: &ClassicConsumerSetup,
    shared: &Mutex<Shared>,
    wakes: &Wakes,
) -> (Vec<ClassicRecord>, bool) {
    let mut rng = StdRng::seed_from_u64(setup.seed);
    let mut application = SimulatedApplication::new(setup.application.clone());
    let mut processed = Vec::new();
    while !setup.close.load(Ordering::Relaxed) {
        let now_ms = setup.clock.now_ms();
        match application.before_poll(&mut rng, now_ms) {
            PollDecision::Crash => return (processed, true),
            PollDecision::Stall { until_ms } => {
                madsim::time::sleep(Duration::from_millis(setup.clock.until_ms(until_ms).max(1)))
                    .await;
                continue;
            }
            PollDecision::Poll => {}
        }
        let records = {
            let mut guard = lock(shared);
            let records = guard.engine.poll(setup.clock.now_ms());
            flush_trace(setup, &mut guard.engine);
            records
        };
        wakes.network();
        if records.is_empty() {
            let _ = madsim::time::timeout(
                local_duration(&setup.clock, POLL_WAIT_MS),
                wakes.application.1.recv(),
            )
            .await;
            continue;
        }
        for record in records {
            let decision =
                application.on_record(&mut rng, setup.clock.now_ms(), &as_share_record(&record));
            let processing_ms = decision.processing_ms;
            madsim::time::sleep(local_duration(&setup.clock, processing_ms)).await;
            let mut guard = lock(shared);
            guard
                .engine
                .record_processed(setup.clock.now_ms(), &record, processing_ms);
            flush_trace(setup, &mut guard.engine);
            processed.push(record);
        }
    }
    (processed, false)
}

/// Sends what the engine asks for (each call on its own task), fires its timers.
async fn drive_network(
    setup: ClassicConsumerSetup,
    client: Arc<Client>,
    shared: Arc<Mutex<Shared>>,
    wakes: Wakes,
) {
    loop {
        let (transmits, deadline_ms) = {
            let mut guard = lock(&shared);
            guard.engine.handle_timeout(setup.clock.now_ms());
            let mut transmits = Vec::new();
            while let Some(transmit) = guard.engine.poll_transmit() {
                let address = resolve(&mut guard, transmit.destination, &setup.bootstrap);
                transmits.push((transmit, address));
            }
            flush_trace(&setup, &mut guard.engine);
            (transmits, guard.engine.poll_timeout())
        };
        for (transmit, address) in transmits {
            madsim::task::spawn(call(
                setup.clone(),
                client.clone(),
                shared.clone(),
                wakes.clone(),
                transmit,
                address,
            ));
        }
        let wait_ms = deadline_ms
            .map_or(NETWORK_TICK_MS, |deadline| {
                setup.clock.until_ms(deadline).max(1)
            })
            .min(NETWORK_TICK_MS);
        let _ = madsim::time::timeout(Duration::from_millis(wait_ms), wakes.network.1.recv()).await;
    }
}

async fn call(
    setup: ClassicConsumerSetup,
    client: Arc<Client>,
    shared: Arc<Mutex<Shared>>,
    wakes: Wakes,
    transmit: Transmit,
    address: Option<SocketAddr>,
) {
    let timeout_ms = REQUEST_TIMEOUT_MS + setup.consumer.fetch_max_wait_ms;
    let result = match address {
        Some(address) => {
            client
                .call(
                    address,
                    transmit.api_version,
                    transmit.request,
                    Duration::from_millis(timeout_ms),
                )
                .await
        }
        None => Err(TransportError::Connect("unknown broker".to_string())),
    };
    {
        let mut guard = lock(&shared);
        let now_ms = setup.clock.now_ms();
        match result {
            Ok(response) => guard
                .engine
                .handle_response(now_ms, transmit.request_id, response),
            Err(error) => {
                let code = match error {
                    TransportError::Timeout => ResponseError::RequestTimedOut,
                    _ => ResponseError::NetworkException,
                };
                guard
                    .engine
                    .handle_request_failed(now_ms, transmit.request_id, code);
            }
        }
        flush_trace(&setup, &mut guard.engine);
    }
    wakes.both();
}

fn resolve(
    shared: &mut Shared,
    destination: Destination,
    bootstrap: &[SocketAddr],
) -> Option<SocketAddr> {
    match destination {
        Destination::AnyBroker => {
            if bootstrap.is_empty() {
                return None;
            }
            shared.bootstrap_cursor = (shared.bootstrap_cursor + 1) % bootstrap.len();
            Some(bootstrap[shared.bootstrap_cursor])
        }
        Destination::Node(node) => shared
            .engine
            .broker_address(node)
            .and_then(|(host, port)| format!("{host}:{port}").parse().ok()),
    }
}

/// How long, in true time, until the node's clock has moved `local_ms` on from now: the node's waits
/// (a poll's timeout, the application's processing) run on its own clock, as a Java client's `Timer`s
/// read `time.milliseconds()`, so a skewed clock stretches or shrinks them. A perfect clock gives
/// `local_ms` itself.
fn local_duration(clock: &NodeClock, local_ms: u64) -> Duration {
    let deadline_ms = clock.now_ms().saturating_add(local_ms);
    Duration::from_millis(clock.until_ms(deadline_ms))
}

/// Moves the engine's trace events into the run's trace; application events are not used here.
///
/// Stamped with the simulator's true time, not the consumer's clock (which the `clock_skew` lever
/// moves): the trace is the simulator's observation, and the `classic.*` latencies are measured on it.
fn flush_trace(setup: &ClassicConsumerSetup, engine: &mut ClassicConsumer) {
    while let Some(event) = engine.poll_trace() {
        setup.trace.record(
            setup.clock.true_now_ms(),
            &setup.node_name,
            TraceEvent::Classic { event },
        );
    }
    while engine.poll_event().is_some() {}
}

/// The simulated application decides on share-consumer records; a classic record is one delivered
/// once (delivery count 1), without a topic id.
fn as_share_record(record: &ClassicRecord) -> ConsumerRecord {
    ConsumerRecord {
        topic: record.topic_partition.topic.clone(),
        topic_id_partition: TopicIdPartition {
            topic_id: TopicId::NULL,
            partition: record.topic_partition.partition,
        },
        offset: record.offset,
        delivery_count: 1,
        key: record.key.clone(),
        value: record.value.clone(),
        timestamp_ms: record.timestamp_ms,
        node: NodeId(-1),
        log_batch_base_offset: record.offset,
    }
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock is a bug in the engine; the state is still readable.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
