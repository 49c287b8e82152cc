//! The spec side of sharesim: stateright models of Kafka share-group delivery (KIP-932).
//!
//! This crate depends on stateright and serde only, never on madsim or the simulator, so that the spec
//! stays independent of the implementation it checks.
//!
//! - [`share_partition`]: the model of one share partition ([`ShareModel`], [`ShareAction`]) and its
//!   properties ([`share_partition::names`]).
//! - [`config`]: the bounds ([`ShareModelCfg`]), the profile and the deliberately wrong variants
//!   ([`SpecMutation`]).
//! - [`bfs`]: the parallel breadth-first checker [`check`] runs BFS with.
//! - [`state`]: the compact state. [`symmetry`]: member renaming. [`counterexample`]: the JSON form of
//!   a path. [`check`]: running a check and collecting verdicts.

pub mod bfs;
pub mod check;
pub mod config;
pub mod counterexample;
pub mod share_partition;
pub mod state;
pub mod symmetry;

pub use check::{check_spec, run_check, CheckOptions, CheckReport, Strategy, Verdict};
pub use config::{AcquireMode, AcquireModes, Profile, ShareModelCfg, SpecMutation};
pub use counterexample::{counterexample, Counterexample, NamedStep};
pub use share_partition::{AckType, Response, ShareAction, ShareModel};
pub use state::ShareState;
