//! The cluster's trace events: produce and commit, leadership and ISR changes, broker fencing, log
//! truncation. Externally tagged (the trace must read back, and a 128-bit topic id cannot pass through
//! serde's buffer for internally tagged enums). Field order is part of the trace contract: append, never
//! reorder.

use serde::{Deserialize, Serialize};

use crate::cluster::controller::ControllerEvent;
use crate::cluster::BrokerId;
use crate::coordinator::share::TopicId;

/// One observable event of the brokers or the controller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClusterEvent {
    /// The leader appended a produce batch (not yet committed).
    Produced {
        /// Topic name.
        topic: String,
        /// Topic id.
        topic_id: TopicId,
        /// Partition index.
        partition: i32,
        /// The leader epoch it was appended in.
        leader_epoch: i32,
        /// First offset of the batch.
        base_offset: i64,
        /// Last offset of the batch.
        last_offset: i64,
        /// Producer id (-1 without idempotence).
        producer_id: i64,
        /// Whether the batch is transactional.
        transactional: bool,
    },
    /// The leader's high watermark advanced: every offset below it is committed.
    HighWatermarkAdvanced {
        /// Topic name.
        topic: String,
        /// Topic id.
        topic_id: TopicId,
        /// Partition index.
        partition: i32,
        /// The leader epoch.
        leader_epoch: i32,
        /// The new high watermark.
        high_watermark: i64,
    },
    /// This broker became the leader of a partition.
    BecameLeader {
        /// Topic name.
        topic: String,
        /// Topic id.
        topic_id: TopicId,
        /// Partition index.
        partition: i32,
        /// The new leader epoch.
        leader_epoch: i32,
        /// The leader's log end offset at that moment.
        log_end_offset: i64,
    },
    /// This broker stopped leading a partition.
    LostLeadership {
        /// Topic name.
        topic: String,
        /// Topic id.
        topic_id: TopicId,
        /// Partition index.
        partition: i32,
        /// The epoch it led in.
        leader_epoch: i32,
        /// The new leader (-1: none).
        new_leader: BrokerId,
    },
    /// A follower truncated its log (divergence from the leader, or far behind its log start).
    LogTruncated {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// Log end offset before.
        from_offset: i64,
        /// Log end offset after.
        to_offset: i64,
    },
    /// A broker restarted and recovered its logs from disk.
    LogsRecovered {
        /// Per partition (topic, partition, log end offset after recovery).
        partitions: Vec<(String, i32, i64)>,
    },
    /// The controller registered a broker.
    BrokerRegistered {
        /// Broker id.
        broker_id: BrokerId,
        /// Its new broker epoch.
        broker_epoch: i64,
    },
    /// The controller fenced a broker (session expired, or asked).
    BrokerFenced {
        /// Broker id.
        broker_id: BrokerId,
        /// Its broker epoch.
        broker_epoch: i64,
    },
    /// The controller unfenced a broker.
    BrokerUnfenced {
        /// Broker id.
        broker_id: BrokerId,
        /// Its broker epoch.
        broker_epoch: i64,
    },
    /// The controller created a topic.
    TopicCreated {
        /// Topic name.
        topic: String,
        /// Topic id.
        topic_id: TopicId,
        /// Partition count.
        partitions: i32,
        /// Replication factor.
        replication_factor: i16,
    },
    /// The controller elected a leader (`new_leader` -1: no eligible leader).
    LeaderElected {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The previous leader.
        old_leader: BrokerId,
        /// The new leader.
        new_leader: BrokerId,
        /// The new leader epoch.
        leader_epoch: i32,
        /// The new partition epoch.
        partition_epoch: i32,
    },
    /// The controller committed an ISR change.
    IsrChanged {
        /// Topic name.
        topic: String,
        /// Partition index.
        partition: i32,
        /// The ISR before.
        old_isr: Vec<BrokerId>,
        /// The ISR after.
        new_isr: Vec<BrokerId>,
        /// The leader epoch.
        leader_epoch: i32,
        /// The new partition epoch.
        partition_epoch: i32,
    },
}

impl From<ControllerEvent> for ClusterEvent {
    fn from(event: ControllerEvent) -> Self {
        match event {
            ControllerEvent::BrokerRegistered {
                broker_id,
                broker_epoch,
                ..
            } => ClusterEvent::BrokerRegistered {
                broker_id,
                broker_epoch,
            },
            ControllerEvent::BrokerFenced {
                broker_id,
                broker_epoch,
                ..
            } => ClusterEvent::BrokerFenced {
                broker_id,
                broker_epoch,
            },
            ControllerEvent::BrokerUnfenced {
                broker_id,
                broker_epoch,
                ..
            } => ClusterEvent::BrokerUnfenced {
                broker_id,
                broker_epoch,
            },
            ControllerEvent::TopicCreated {
                topic,
                topic_id,
                partitions,
                replication_factor,
                ..
            } => ClusterEvent::TopicCreated {
                topic,
                topic_id: TopicId(topic_id),
                partitions,
                replication_factor,
            },
            ControllerEvent::LeaderElected {
                topic,
                partition,
                old_leader,
                new_leader,
                leader_epoch,
                partition_epoch,
                ..
            } => ClusterEvent::LeaderElected {
                topic,
                partition,
                old_leader,
                new_leader,
                leader_epoch,
                partition_epoch,
            },
            ControllerEvent::IsrChanged {
                topic,
                partition,
                old_isr,
                new_isr,
                leader_epoch,
                partition_epoch,
                ..
            } => ClusterEvent::IsrChanged {
                topic,
                partition,
                old_isr,
                new_isr,
                leader_epoch,
                partition_epoch,
            },
        }
    }
}
