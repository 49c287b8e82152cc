//! Coordinators as sans-IO engines. `share` is the share coordinator: it owns the `__share_group_state`
//! partitions and keeps the persisted state of every share partition (spec 3). `placement` says which
//! internal-topic partition (and so which broker) coordinates a key; `find_coordinator` answers
//! FindCoordinator with it.

pub mod classic;
pub mod find_coordinator;
pub mod find_coordinator_plugin;
pub mod group;
pub mod placement;
pub mod runtime;
pub mod share;
pub mod transaction;
