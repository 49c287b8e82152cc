//! Coordinators as sans-IO engines. `share` is the share coordinator: it owns the `__share_group_state`
//! partitions and keeps the persisted state of every share partition (spec 3).

pub mod group;
pub mod share;
