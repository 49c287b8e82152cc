//! Replication of one partition, sans-IO: the leader's replica state ([`LeaderReplicas`]: follower
//! positions, ISR shrink/expand through AlterPartition, high watermark, acks=1/acks=all completion with
//! `min.insync.replicas`) and the follower's truncation rule on a leader change
//! ([`offset_truncation_state`], [`truncate_follower`]).
//!
//! The engine does not own a log: the broker node appends to its [`crate::log::PartitionLog`], tells the
//! engine the new log end offset, and applies the high watermark it decides. The truncation helper works
//! on real `PartitionLog`s.

mod config;
mod leader;
mod truncation;

pub use config::ReplicationConfig;
pub use leader::{Acks, FollowerState, LeaderReplicas, ReplicationEffect, UNKNOWN_OFFSET};
pub use truncation::{offset_truncation_state, truncate_follower, TruncationState};

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
