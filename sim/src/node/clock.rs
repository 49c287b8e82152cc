//! A node's clock: madsim's virtual time read through the node's own skew and drift (the `clock_skew`
//! lever), never going backwards on one node (engines require it). The one implementation lives in
//! [`crate::clock`]; nodes and the harness use it under this name.

pub use crate::clock::SharedNodeClock as NodeClock;
