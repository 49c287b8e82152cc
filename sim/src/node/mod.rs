//! Thin madsim nodes: they move bytes and timers between the transport (`net`) and the sans-IO engines
//! (`broker::BrokerCore`, `cluster::controller::Controller`), and read time through a per-node
//! [`NodeClock`]. No protocol rule lives here.

mod broker_node;
mod classic_consumer_node;
mod controller_node;
mod producer_node;
mod run_limits;
mod share_consumer_node;
mod timer_race;
mod trace_sink;

/// A node's clock: the one implementation, [`crate::clock::SharedNodeClock`], under the name nodes and
/// tests use.
pub use crate::clock::SharedNodeClock as NodeClock;
pub use broker_node::{run_broker, BrokerNodeSetup, ServiceFactory};
pub use classic_consumer_node::{run_classic_consumer, ClassicConsumerSetup};
pub use controller_node::{run_controller, SharedController};
pub use producer_node::{spawn_producer, ProducerHandle};
pub use run_limits::{
    RunLimitExceeded, RunLimits, MAX_NODE_STEPS_PER_STEP_WINDOW, MAX_TRACE_RECORDS_PER_RUN,
    STEP_WINDOW_VIRTUAL_MS,
};
pub use share_consumer_node::{
    run_share_consumer, CommitCallback, CommitStyle, ConsumerStats, Delivery, ReconnectRequest,
    ShareConsumerSetup,
};
pub use trace_sink::SharedTrace;
