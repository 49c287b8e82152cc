//! The controller node: the sans-IO `Controller` behind a `net::Server`; requests are translated by
//! `broker::controller_wire`, decisions go to the trace.

use std::net::SocketAddr;
use std::time::Duration;

use super::trace_sink::SharedTrace;
use super::NodeClock;
use crate::broker::controller_wire::handle_controller_request;
use crate::broker::ClusterEvent;
use crate::cluster::controller::{Controller, ControllerConfig};
use crate::net::{NetFaults, Server, ServerEvent};
use crate::trace::TraceEvent;

/// Runs the controller at `addr` until the node is killed (the controller is not replicated: a restart
/// starts from an empty image, so the harness never kills it).
pub async fn run_controller(
    addr: SocketAddr,
    config: ControllerConfig,
    faults: NetFaults,
    clock: NodeClock,
    trace: SharedTrace,
    node_name: String,
) {
    let Ok(server) = Server::bind(addr, faults).await else {
        return;
    };
    let mut controller = Controller::new(config);
    loop {
        let event = match controller.poll_timeout() {
            Some(deadline_ms) => {
                let wait = Duration::from_millis(clock.until_ms(deadline_ms));
                match madsim::time::timeout(wait, server.next_event()).await {
                    Ok(Some(event)) => Some(event),
                    Ok(None) => return,
                    Err(_) => None,
                }
            }
            None => match server.next_event().await {
                Some(event) => Some(event),
                None => return,
            },
        };
        let now_ms = clock.now_ms();
        match event {
            None => controller.handle_timeout(now_ms),
            Some(ServerEvent::Request(incoming)) => {
                let incoming = *incoming;
                match handle_controller_request(&mut controller, now_ms, incoming.request) {
                    Some(response) => {
                        let _ = server
                            .respond(incoming.connection, &incoming.header, response)
                            .await;
                    }
                    None => server.close(incoming.connection),
                }
            }
            Some(_) => {}
        }
        while let Some(event) = controller.poll_event() {
            let event = TraceEvent::Cluster {
                event: ClusterEvent::from(event),
            };
            trace.record(clock.now_ms(), &node_name, event);
        }
    }
}
