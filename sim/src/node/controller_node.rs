//! The controller node: the sans-IO `Controller` behind a `net::Server`; requests are translated by
//! `broker::controller_wire`, decisions go to the trace. The engine sits in a [`SharedController`] so
//! the harness can also hand it an administrator's request (a leadership move) between two requests.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use super::trace_sink::SharedTrace;
use super::NodeClock;
use crate::broker::controller_wire::handle_controller_request;
use crate::broker::ClusterEvent;
use crate::cluster::controller::{Controller, ControllerConfig};
use crate::net::{NetFaults, Server, ServerEvent};
use crate::trace::TraceEvent;

/// The controller engine of one cluster, shared by its node and the harness, with the clock and the
/// trace its decisions are recorded with.
#[derive(Clone, Debug)]
pub struct SharedController {
    engine: Arc<Mutex<Controller>>,
    clock: NodeClock,
    trace: SharedTrace,
    node_name: String,
}

impl SharedController {
    /// A controller with no brokers and no topics.
    pub fn new(
        config: ControllerConfig,
        clock: NodeClock,
        trace: SharedTrace,
        node_name: String,
    ) -> SharedController {
        SharedController {
            engine: Arc::new(Mutex::new(Controller::new(config))),
            clock,
            trace,
            node_name,
        }
    }

    /// The controller's clock.
    pub fn clock(&self) -> &NodeClock {
        &self.clock
    }

    /// Runs `f` on the engine at the controller's `now_ms` (call [`SharedController::record_decisions`]
    /// after it).
    pub fn with<R>(&self, f: impl FnOnce(&mut Controller, u64) -> R) -> R {
        f(&mut self.lock(), self.clock.now_ms())
    }

    /// Records the decisions the engine took since the last call, in order, in the trace.
    pub fn record_decisions(&self) {
        let mut engine = self.lock();
        while let Some(event) = engine.poll_event() {
            let event = TraceEvent::Cluster {
                event: ClusterEvent::from(event),
            };
            self.trace
                .record(self.clock.now_ms(), &self.node_name, event);
        }
    }

    fn lock(&self) -> MutexGuard<'_, Controller> {
        // A poisoned lock means a test already panicked; the engine checks its own invariants.
        self.engine
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Runs the controller at `addr` until the node is killed. The controller is not replicated and the
/// harness never kills it (its engine, outside the node, would survive a restart as if its metadata log
/// had).
pub async fn run_controller(addr: SocketAddr, controller: SharedController, faults: NetFaults) {
    let Ok(server) = Server::bind(addr, faults).await else {
        return;
    };
    loop {
        let event = match controller.with(|engine, _| engine.poll_timeout()) {
            Some(deadline_ms) => {
                let wait = Duration::from_millis(controller.clock().until_ms(deadline_ms));
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
        match event {
            None => controller.with(|engine, now_ms| engine.handle_timeout(now_ms)),
            Some(ServerEvent::Request(incoming)) => {
                let incoming = *incoming;
                let response = controller.with(|engine, now_ms| {
                    handle_controller_request(engine, now_ms, incoming.request)
                });
                match response {
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
        controller.record_decisions();
    }
}
