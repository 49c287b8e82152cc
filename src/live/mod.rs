//! Live mode (`sharesim serve`): the same broker, coordinators and engines the simulation runs, behind
//! real TCP listeners on 127.0.0.1, in real time, for real Kafka clients. Only the driver differs from
//! the madsim nodes (`sharesim_sim::node`): a tokio loop per node moves frames and timers between
//! sockets and the sans-IO engines, and the run's trace goes through the same sink. At shutdown the
//! oracle judges the trace.
//!
//! - [`clock`]: real milliseconds since start, the engines' `now_ms`.
//! - [`listener`]: accepts connections, decodes frames with `net::frame`, writes responses in order.
//! - [`caller`]: outgoing calls (broker to broker and controller) with a timeout on each.
//! - [`broker_driver`] / [`controller_driver`]: the loops around `BrokerCore` and `Controller`.
//! - [`cluster`]: binds, spawns and bootstraps a cluster; [`serve`]: runs it until told to stop.

pub mod broker_driver;
pub mod caller;
pub mod clock;
pub mod cluster;
pub mod controller_driver;
pub mod listener;
mod serve;

pub use cluster::{LiveCluster, LiveClusterConfig};
pub use serve::{serve, ServeOptions, ServeOutcome};
