//! The live controller: the same sans-IO `Controller` the madsim `node::run_controller` drives, behind
//! a TCP listener; requests are translated by `broker::controller_wire`, decisions go to the trace.

use std::collections::BTreeMap;

use sharesim_sim::broker::controller_wire::handle_controller_request;
use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::cluster::controller::{Controller, ControllerConfig};
use sharesim_sim::net::{encode_response, ConnectionId};
use sharesim_sim::node::SharedTrace;
use sharesim_sim::trace::TraceEvent;
use tokio::net::TcpListener;
use tokio::sync::mpsc::unbounded_channel;

use super::clock::LiveClock;
use super::listener::{accept_loop, LiveConnection, LiveEvent};

/// Runs the controller on `listener` until the process ends (spawn it on a `LocalSet`).
pub async fn run_live_controller(
    listener: TcpListener,
    config: ControllerConfig,
    clock: LiveClock,
    trace: SharedTrace,
    node_name: String,
) {
    let (events_tx, mut events) = unbounded_channel::<LiveEvent>();
    tokio::task::spawn_local(accept_loop(listener, node_name.clone(), events_tx));
    let mut controller = Controller::new(config);
    let mut connections: BTreeMap<ConnectionId, LiveConnection> = BTreeMap::new();
    loop {
        let event = match controller.poll_timeout() {
            Some(deadline_ms) => {
                match tokio::time::timeout(clock.until(deadline_ms), events.recv()).await {
                    Ok(Some(event)) => Some(event),
                    Ok(None) => return,
                    Err(_) => None,
                }
            }
            None => match events.recv().await {
                Some(event) => Some(event),
                None => return,
            },
        };
        let now_ms = clock.now_ms();
        match event {
            None => controller.handle_timeout(now_ms),
            Some(LiveEvent::Opened(connection, open)) => {
                connections.insert(connection, open);
            }
            Some(LiveEvent::Closed(connection)) => {
                if let Some(open) = connections.remove(&connection) {
                    open.close();
                }
            }
            Some(LiveEvent::Request(incoming)) => {
                let incoming = *incoming;
                let connection = incoming.connection;
                let version = incoming.header.request_api_version;
                let correlation_id = incoming.header.correlation_id;
                let frame = handle_controller_request(&mut controller, now_ms, incoming.request)
                    .and_then(|response| encode_response(version, correlation_id, &response).ok());
                match frame {
                    Some(frame) => {
                        if let Some(open) = connections.get(&connection) {
                            let _ = open.frames.send(frame);
                        }
                    }
                    // Not a controller API: Kafka closes the connection.
                    None => {
                        if let Some(open) = connections.remove(&connection) {
                            open.close();
                        }
                    }
                }
            }
        }
        while let Some(event) = controller.poll_event() {
            let event = TraceEvent::Cluster {
                event: ClusterEvent::from(event),
            };
            trace.record(clock.now_ms(), &node_name, event);
        }
    }
}
