//! The live broker: the same `BrokerCore` (and services) the madsim `node::run_broker` drives, driven
//! here by a real-time loop: requests from the TCP listener, outgoing calls over TCP, timers from the
//! tokio clock, trace events into the run's shared trace. No protocol rule lives here.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

use kafka_protocol::messages::ResponseKind;
use sharesim_sim::broker::{BrokerConfig, BrokerCore, BrokerOutput};
use sharesim_sim::log::LogStore;
use sharesim_sim::net::{encode_response, ConnectionId, TransportError};
use sharesim_sim::node::{ServiceFactory, SharedTrace};
use tokio::net::TcpListener;
use tokio::sync::mpsc::unbounded_channel;

use super::caller::LiveCaller;
use super::clock::LiveClock;
use super::listener::{accept_loop, LiveConnection, LiveEvent};

/// What a live broker needs.
pub struct LiveBrokerSetup {
    /// Its configuration (advertised address = the listener's address).
    pub config: BrokerConfig,
    /// Its already-bound listener.
    pub listener: TcpListener,
    /// The services plugged in (share fetch, coordinators).
    pub services: ServiceFactory,
    /// The run's clock.
    pub clock: LiveClock,
    /// The run's trace.
    pub trace: SharedTrace,
    /// The node's name in the trace (`broker-1`).
    pub node_name: String,
}

enum BrokerInput {
    Net(LiveEvent),
    CallResult {
        token: u64,
        result: Result<ResponseKind, TransportError>,
    },
}

/// Runs one broker until the process ends (spawn it on a `LocalSet`).
pub async fn run_live_broker(setup: LiveBrokerSetup) {
    let LiveBrokerSetup {
        config,
        listener,
        services,
        clock,
        trace,
        node_name,
    } = setup;
    let mut config = config;
    config.incarnation_id = 1;
    let store = LogStore::new();
    let mut core = BrokerCore::new(config.clone(), store);
    for service in services(config.broker_id) {
        core.add_service(service);
    }
    let caller = Rc::new(LiveCaller::new(&node_name));
    let (inputs_tx, mut inputs) = unbounded_channel::<BrokerInput>();
    let (events_tx, mut events) = unbounded_channel::<LiveEvent>();
    tokio::task::spawn_local(accept_loop(listener, node_name.clone(), events_tx));
    {
        let inputs_tx = inputs_tx.clone();
        tokio::task::spawn_local(async move {
            while let Some(event) = events.recv().await {
                if inputs_tx.send(BrokerInput::Net(event)).is_err() {
                    return;
                }
            }
        });
    }
    let mut connections: BTreeMap<ConnectionId, LiveConnection> = BTreeMap::new();
    loop {
        while let Some(output) = core.poll_output() {
            match output {
                BrokerOutput::Respond {
                    connection,
                    correlation_id,
                    api_version,
                    response,
                } => match encode_response(api_version, correlation_id, &response) {
                    Ok(frame) => {
                        if let Some(open) = connections.get(&connection) {
                            let _ = open.frames.send(frame);
                        }
                    }
                    Err(error) => {
                        // An engine answer the wire cannot carry at the negotiated version: a bug
                        // here, reported, and the connection closed as Kafka would on a failure.
                        eprintln!(
                            "sharesim serve: {node_name}: cannot encode a response at v{api_version}: \
                             {error:?}; closing {connection}"
                        );
                        close_connection(&mut core, &mut connections, connection, clock.now_ms());
                    }
                },
                BrokerOutput::Call {
                    token,
                    address,
                    api_version,
                    request,
                    timeout_ms,
                    ..
                } => {
                    let caller = caller.clone();
                    let inputs_tx = inputs_tx.clone();
                    tokio::task::spawn_local(async move {
                        let timeout = Duration::from_millis(timeout_ms.max(1));
                        let result = caller.call(address, api_version, request, timeout).await;
                        let _ = inputs_tx.send(BrokerInput::CallResult { token, result });
                    });
                }
                BrokerOutput::Close { connection } => {
                    close_connection(&mut core, &mut connections, connection, clock.now_ms());
                }
                BrokerOutput::Trace(event) => trace.record(clock.now_ms(), &node_name, event),
            }
        }
        let input = match core.poll_timeout() {
            Some(deadline_ms) => {
                match tokio::time::timeout(clock.until(deadline_ms), inputs.recv()).await {
                    Ok(Some(input)) => Some(input),
                    Ok(None) => return,
                    Err(_) => None,
                }
            }
            None => match inputs.recv().await {
                Some(input) => Some(input),
                None => return,
            },
        };
        let now_ms = clock.now_ms();
        match input {
            None => core.handle_timeout(now_ms),
            Some(BrokerInput::Net(LiveEvent::Opened(connection, open))) => {
                connections.insert(connection, open);
            }
            Some(BrokerInput::Net(LiveEvent::Request(incoming))) => {
                let incoming = *incoming;
                core.handle_request(
                    now_ms,
                    incoming.connection,
                    incoming.header,
                    incoming.request,
                );
            }
            Some(BrokerInput::Net(LiveEvent::Closed(connection))) => {
                // A connection the broker closed itself was already forgotten (and reported).
                if let Some(open) = connections.remove(&connection) {
                    open.close();
                    core.handle_connection_closed(now_ms, connection);
                }
            }
            Some(BrokerInput::CallResult { token, result }) => {
                core.handle_call_result(now_ms, token, result);
            }
        }
    }
}

/// Closes a connection the broker decided to close, and tells the broker it is closed (as the madsim
/// server's hang-up does through its closed event).
fn close_connection(
    core: &mut BrokerCore,
    connections: &mut BTreeMap<ConnectionId, LiveConnection>,
    connection: ConnectionId,
    now_ms: u64,
) {
    if let Some(open) = connections.remove(&connection) {
        open.close();
        core.handle_connection_closed(now_ms, connection);
    }
}
