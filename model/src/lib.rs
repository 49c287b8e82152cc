//! The spec side of sharesim: stateright models of Kafka share-group delivery (KIP-932).
//!
//! This crate depends on stateright and serde only, never on madsim or the simulator, so that the spec
//! stays independent of the implementation it checks.
