//! The simulated cluster's sans-IO engines: the metadata controller (brokers, topics, leaders, ISR) and the
//! leader/follower replication rules of one partition. The madsim broker node glues them to the transport
//! and to the partition logs; no protocol rule lives in the node.

pub mod controller;
pub mod replication;

/// A broker's `node.id`.
pub type BrokerId = i32;

/// Kafka's "no leader" value in metadata (`LeaderAndIsr.NO_LEADER`).
pub const NO_LEADER: BrokerId = -1;
