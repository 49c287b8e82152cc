//! Clients, sans-IO: the share consumer engine (spec 7) and the simulated application behaviour that a
//! consumer node drives it with. Nodes own sockets and timers; these structs own every client rule.

pub mod application;
pub mod classic_consumer;
pub mod kafka_wire;
pub mod producer;
pub mod share_consumer;
