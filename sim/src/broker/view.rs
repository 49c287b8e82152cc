//! [`BrokerView`]: what a service may read of its broker (logs, leadership, metadata), without changing it.

use std::net::SocketAddr;

use super::state::BrokerState;
use crate::cluster::controller::{MetadataImage, PartitionImage};
use crate::cluster::{BrokerId, NO_LEADER};
use crate::log::{AbortedTxn, FetchIsolation, ReadResult, TopicPartition};
use crate::ResponseError;

/// A partition's offsets on this broker.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionOffsets {
    /// First readable offset.
    pub log_start_offset: i64,
    /// High watermark (committed below it).
    pub high_watermark: i64,
    /// Last stable offset (no open transaction below it).
    pub last_stable_offset: i64,
    /// Offset of the next record.
    pub log_end_offset: i64,
}

/// Read-only access to a broker's state for services.
#[derive(Clone, Copy)]
pub struct BrokerView<'a> {
    pub(super) state: &'a BrokerState,
}

impl<'a> BrokerView<'a> {
    /// This broker's `node.id`.
    pub fn broker_id(&self) -> BrokerId {
        self.state.config.broker_id
    }

    /// This broker's epoch from its registration, once registered.
    pub fn broker_epoch(&self) -> Option<i64> {
        self.state.lifecycle.broker_epoch
    }

    /// The metadata image this broker has (live brokers, topics, partitions, leaders, ISR, epochs).
    pub fn metadata(&self) -> &'a MetadataImage {
        &self.state.image
    }

    /// A topic's name from its id.
    pub fn topic_name(&self, topic_id: u128) -> Option<&'a str> {
        self.state.topic_names.get(&topic_id).map(String::as_str)
    }

    /// A topic's id from its name.
    pub fn topic_id(&self, topic: &str) -> Option<u128> {
        self.state.image.topics.get(topic).map(|t| t.topic_id)
    }

    /// A topic's partition count.
    pub fn partition_count(&self, topic: &str) -> Option<i32> {
        self.state
            .image
            .topics
            .get(topic)
            .map(|t| t.partitions.len() as i32)
    }

    /// A live broker's address.
    pub fn broker_address(&self, broker_id: BrokerId) -> Option<SocketAddr> {
        self.state.broker_addrs.get(&broker_id).copied()
    }

    /// A partition's replicas, ISR, leader and epochs, as the metadata says.
    pub fn partition_state(&self, partition: &TopicPartition) -> Option<&'a PartitionImage> {
        self.state
            .image
            .partition(&partition.topic, partition.partition)
    }

    /// The partition's current leader and leader epoch per the metadata; `None` without a leader.
    pub fn leader_of(&self, partition: &TopicPartition) -> Option<(BrokerId, i32)> {
        self.partition_state(partition)
            .filter(|p| p.leader != NO_LEADER)
            .map(|p| (p.leader, p.leader_epoch))
    }

    /// Whether this broker leads the partition now (its log takes appends and serves reads).
    pub fn is_leader(&self, partition: &TopicPartition) -> bool {
        self.state.leaders.contains_key(partition)
    }

    /// The leader epoch this broker leads the partition in.
    pub fn leader_epoch(&self, partition: &TopicPartition) -> Option<i32> {
        self.state.leaders.get(partition).map(|l| l.leader_epoch())
    }

    /// The partitions this broker leads, with their leader epochs, in order.
    pub fn led_partitions(&self) -> Vec<(TopicPartition, i32)> {
        self.state
            .leaders
            .iter()
            .map(|(tp, l)| (tp.clone(), l.leader_epoch()))
            .collect()
    }

    /// Offsets of a partition this broker leads (NOT_LEADER_OR_FOLLOWER otherwise).
    pub fn offsets(&self, partition: &TopicPartition) -> Result<PartitionOffsets, ResponseError> {
        self.leader_log(partition, |log| PartitionOffsets {
            log_start_offset: log.log_start_offset(),
            high_watermark: log.high_watermark(),
            last_stable_offset: log.last_stable_offset(),
            log_end_offset: log.log_end_offset(),
        })
    }

    /// Reads whole batches from `fetch_offset` up to the bound of `isolation` (high watermark for
    /// read_uncommitted, last stable offset with the aborted transactions for read_committed), at most
    /// `max_bytes` but always the first batch. Only on the leader.
    pub fn read(
        &self,
        partition: &TopicPartition,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> Result<ReadResult, ResponseError> {
        self.leader_log(partition, |log| {
            log.read(fetch_offset, max_bytes, isolation, true)
        })?
    }

    /// Aborted transactions overlapping `[from_offset, to_offset)` of a partition this broker leads.
    pub fn aborted_transactions(
        &self,
        partition: &TopicPartition,
        from_offset: i64,
        to_offset: i64,
    ) -> Result<Vec<AbortedTxn>, ResponseError> {
        self.leader_log(partition, |log| {
            log.producer_state()
                .aborted_overlapping(from_offset, to_offset)
        })
    }

    /// The first record at or after `timestamp_ms` below the high watermark of a partition this broker
    /// leads, through the log's time index (ListOffsets by timestamp; spec 5.2 by_duration). `None` when
    /// no record is that recent.
    pub fn offset_for_timestamp(
        &self,
        partition: &TopicPartition,
        timestamp_ms: i64,
    ) -> Result<Option<crate::log::TimestampAndOffset>, ResponseError> {
        self.leader_log(partition, |log| {
            let high_watermark = log.high_watermark();
            crate::log::offset_for_timestamp(log, timestamp_ms, high_watermark)
        })
    }

    fn leader_log<R>(
        &self,
        partition: &TopicPartition,
        f: impl FnOnce(&mut crate::log::PartitionLog) -> R,
    ) -> Result<R, ResponseError> {
        if !self.is_leader(partition) {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        self.state
            .store
            .with_log(partition, f)
            .ok_or(ResponseError::NotLeaderOrFollower)
    }
}
