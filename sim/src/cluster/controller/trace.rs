//! The controller's trace events. Field order is part of the trace contract: append, never reorder.

use serde::{Deserialize, Serialize};

use crate::cluster::BrokerId;

/// One observable controller decision, in the order it was taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ControllerEvent {
    /// A broker registered (or re-registered after a restart) with a new broker epoch.
    BrokerRegistered {
        now_ms: u64,
        broker_id: BrokerId,
        broker_epoch: i64,
    },
    /// A broker was fenced: its session expired or it asked to be fenced.
    BrokerFenced {
        now_ms: u64,
        broker_id: BrokerId,
        broker_epoch: i64,
    },
    /// A broker was unfenced by a heartbeat.
    BrokerUnfenced {
        now_ms: u64,
        broker_id: BrokerId,
        broker_epoch: i64,
    },
    /// A topic was created.
    TopicCreated {
        now_ms: u64,
        topic: String,
        topic_id: u128,
        partitions: i32,
        replication_factor: i16,
    },
    /// A partition's leader changed (`new_leader` may be -1: no eligible leader).
    LeaderElected {
        now_ms: u64,
        topic: String,
        partition: i32,
        old_leader: BrokerId,
        new_leader: BrokerId,
        leader_epoch: i32,
        partition_epoch: i32,
    },
    /// A partition's ISR changed (by AlterPartition or by fencing a member).
    IsrChanged {
        now_ms: u64,
        topic: String,
        partition: i32,
        old_isr: Vec<BrokerId>,
        new_isr: Vec<BrokerId>,
        leader_epoch: i32,
        partition_epoch: i32,
    },
}
