//! The broker node: a `net::Server`, a `net::Client` and a `BrokerCore` over a `LogStore` created
//! outside the node (so the disk survives a kill). On (re)start the logs are recovered from their disk
//! images: what was not flushed before a kill is gone.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{RequestHeader, ResponseKind};

use super::timer_race::{TimerRace, Wake};
use super::trace_sink::SharedTrace;
use super::NodeClock;
use crate::broker::{BrokerConfig, BrokerCore, BrokerOutput, BrokerService};
use crate::cluster::BrokerId;
use crate::faults::BrokerFaultSwitches;
use crate::log::LogStore;
use crate::net::{Client, ConnectionId, NetFaults, Server, ServerEvent, TransportError};

/// Builds the services of one broker process (fresh instances on every start: memory is lost on a
/// kill).
pub type ServiceFactory = Arc<dyn Fn(BrokerId) -> Vec<Box<dyn BrokerService>> + Send + Sync>;

/// What a broker node needs, created by the harness outside the node.
#[derive(Clone)]
pub struct BrokerNodeSetup {
    /// The broker's configuration (its `incarnation_id` is replaced by the start count).
    pub config: BrokerConfig,
    /// Its disk.
    pub store: LogStore,
    /// Its clock.
    pub clock: NodeClock,
    /// The transport's fault controller.
    pub faults: NetFaults,
    /// The in-node fault switches (persister failures), shared by every broker.
    pub switches: BrokerFaultSwitches,
    /// The run's trace.
    pub trace: SharedTrace,
    /// The node's name in the trace (`broker-1`).
    pub node_name: String,
    /// The services to plug in.
    pub services: ServiceFactory,
    /// How many times the node started (the incarnation id).
    pub starts: Arc<AtomicU64>,
}

/// What wakes the broker loop besides its timers.
pub(super) enum NodeInput {
    Server(ServerEvent),
    CallResult {
        token: u64,
        result: Result<ResponseKind, TransportError>,
    },
}

/// Runs one broker process until the node is killed.
pub async fn run_broker(setup: BrokerNodeSetup) {
    // A restart after a kill: the page cache is gone.
    setup.store.recover_all();
    let mut config = setup.config.clone();
    config.incarnation_id = setup.starts.fetch_add(1, Ordering::Relaxed) + 1;
    let addr = config.advertised_addr;
    let Ok(server) = Server::bind(addr, setup.faults.clone()).await else {
        return;
    };
    let server = Arc::new(server);
    let client = Arc::new(Client::new(setup.node_name.clone(), setup.faults.clone()));
    let mut core = BrokerCore::new(config.clone(), setup.store.clone());
    for service in (setup.services)(config.broker_id) {
        core.add_service(service);
    }
    let (inputs_tx, inputs) = async_channel::unbounded::<NodeInput>();
    {
        let server = server.clone();
        let tx = inputs_tx.clone();
        madsim::task::spawn(async move {
            while let Some(event) = server.next_event().await {
                if tx.send(NodeInput::Server(event)).await.is_err() {
                    return;
                }
            }
        });
    }
    let mut responders: BTreeMap<
        ConnectionId,
        async_channel::Sender<(RequestHeader, ResponseKind)>,
    > = BTreeMap::new();
    let mut race = TimerRace::default();
    loop {
        if setup
            .trace
            .step(setup.clock.true_now_ms(), &setup.node_name)
            .is_err()
        {
            // The run exceeded its limits: the broker stops; the backend reports the failure.
            return;
        }
        while let Some(output) = core.poll_output() {
            match output {
                BrokerOutput::Respond {
                    connection,
                    correlation_id,
                    api_version,
                    response,
                } => {
                    let header = RequestHeader::default()
                        .with_request_api_version(api_version)
                        .with_correlation_id(correlation_id);
                    let responder = responders
                        .entry(connection)
                        .or_insert_with(|| spawn_responder(server.clone(), connection));
                    let _ = responder.try_send((header, response));
                }
                BrokerOutput::Call {
                    token,
                    address,
                    api_version,
                    request,
                    timeout_ms,
                    ..
                } => {
                    if let Some(response) = setup.switches.persister.fail_call(&request) {
                        // The `persister_fail` lever: the call fails without reaching the share
                        // coordinator; the persister sees Kafka's error code as the answer.
                        let tx = inputs_tx.clone();
                        let result = Ok(response);
                        let _ = tx.try_send(NodeInput::CallResult { token, result });
                        continue;
                    }
                    let client = client.clone();
                    let tx = inputs_tx.clone();
                    madsim::task::spawn(async move {
                        let timeout = Duration::from_millis(timeout_ms.max(1));
                        let result = call(&client, address, api_version, request, timeout).await;
                        let _ = tx.send(NodeInput::CallResult { token, result }).await;
                    });
                }
                BrokerOutput::Close { connection } => {
                    responders.remove(&connection);
                    server.close(connection);
                }
                BrokerOutput::Trace(event) => {
                    setup
                        .trace
                        .record(setup.clock.now_ms(), &setup.node_name, event)
                }
            }
        }
        let wake = if setup.switches.lock_timer.order().is_some() {
            // The `lock_timer_race` lever is pulled: the switch orders due timers against the
            // requests of the same instant (see `timer_race.rs`).
            race.next_wake(&mut core, &setup.clock, &setup.switches.lock_timer, &inputs)
                .await
        } else {
            race = TimerRace::default();
            natural_wake(&core, &setup.clock, &inputs).await
        };
        let input = match wake {
            Wake::Input(input) => Some(input),
            Wake::TimersDue => None,
            Wake::Again => continue,
            Wake::Closed => return,
        };
        let now_ms = setup.clock.now_ms();
        match input {
            None => core.handle_timeout(now_ms),
            Some(NodeInput::Server(ServerEvent::Opened(_))) => {}
            Some(NodeInput::Server(ServerEvent::Request(incoming))) => {
                let incoming = *incoming;
                core.handle_request(
                    now_ms,
                    incoming.connection,
                    incoming.header,
                    incoming.request,
                )
            }
            Some(NodeInput::Server(ServerEvent::Closed { connection, .. })) => {
                responders.remove(&connection);
                core.handle_connection_closed(now_ms, connection)
            }
            Some(NodeInput::CallResult { token, result }) => {
                core.handle_call_result(now_ms, token, result)
            }
        }
    }
}

/// The node's natural order: the next input, or the timers when the earliest deadline passes first (an
/// input already waiting wins over a due timer).
async fn natural_wake(
    core: &BrokerCore,
    clock: &NodeClock,
    inputs: &async_channel::Receiver<NodeInput>,
) -> Wake {
    let received = match core.poll_timeout() {
        Some(deadline_ms) => {
            let wait = Duration::from_millis(clock.until_ms(deadline_ms));
            match madsim::time::timeout(wait, inputs.recv()).await {
                Ok(received) => received,
                Err(_) => return Wake::TimersDue,
            }
        }
        None => inputs.recv().await,
    };
    received.map_or(Wake::Closed, Wake::Input)
}

async fn call(
    client: &Client,
    address: SocketAddr,
    api_version: i16,
    request: kafka_protocol::messages::RequestKind,
    timeout: Duration,
) -> Result<ResponseKind, TransportError> {
    // The connection setup shares the call's budget.
    match madsim::time::timeout(timeout, client.call(address, api_version, request, timeout)).await
    {
        Ok(result) => result,
        Err(_) => Err(TransportError::Timeout),
    }
}

/// Sends one connection's responses in order, without holding up the broker loop.
fn spawn_responder(
    server: Arc<Server>,
    connection: ConnectionId,
) -> async_channel::Sender<(RequestHeader, ResponseKind)> {
    let (tx, rx) = async_channel::unbounded::<(RequestHeader, ResponseKind)>();
    madsim::task::spawn(async move {
        while let Ok((header, response)) = rx.recv().await {
            if server.respond(connection, &header, response).await.is_err() {
                return;
            }
        }
    });
    tx
}
