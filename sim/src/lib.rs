//! The system under test: Kafka share groups (KIP-932) as sans-IO engines, and (later) the simulated cluster
//! that runs them under madsim.
//!
//! Every protocol rule lives in a plain struct driven by virtual time and inputs. Async nodes only move
//! bytes and timers. The semantics are those of `shared/spec/share-groups.md`; release differences are
//! consulted through one [`semantics::Semantics`] value.

pub mod broker;
pub mod client;
pub mod clock;
pub mod cluster;
pub mod coordinator;
pub mod faults;
pub mod harness;
pub mod log;
pub mod net;
pub mod node;
pub mod semantics;
pub mod share;
pub mod trace;

/// Kafka's error codes, as the `kafka-protocol` crate names them. Engines return these, never strings.
pub use kafka_protocol::error::ResponseError;
