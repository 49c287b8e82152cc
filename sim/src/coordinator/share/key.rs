//! Identities: Kafka's topic id, a topic-id partition, and the share-partition key (group id, topic id,
//! partition) under which the share coordinator keeps state (spec 3.1, 3.3).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Kafka's topic id (a UUID), as its 128 bits. The node converts with `Uuid::as_u128`/`Uuid::from_u128`.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicId(pub u128);

impl TopicId {
    /// `Uuid.ZERO`: what a missing (null) topic id looks like on the wire.
    pub const NULL: TopicId = TopicId(0);

    /// Whether this is the null topic id, which requests must not carry (spec 3.4).
    pub fn is_null(self) -> bool {
        self == TopicId::NULL
    }
}

impl fmt::Debug for TopicId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicId({:032x})", self.0)
    }
}

/// One partition of a topic, named by topic id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TopicIdPartition {
    /// The topic.
    pub topic_id: TopicId,
    /// The partition index; negative indexes are bad input (INVALID_REQUEST at the coordinator).
    pub partition: i32,
}

/// The key of one share partition: the state a group keeps for one topic-partition (`SharePartitionKey`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SharePartitionKey {
    /// The share group.
    pub group_id: String,
    /// The topic.
    pub topic_id: TopicId,
    /// The partition index.
    pub partition: i32,
}

impl SharePartitionKey {
    /// The key of `group_id`'s share partition on `topic_id_partition`.
    pub fn new(
        group_id: impl Into<String>,
        topic_id_partition: TopicIdPartition,
    ) -> SharePartitionKey {
        SharePartitionKey {
            group_id: group_id.into(),
            topic_id: topic_id_partition.topic_id,
            partition: topic_id_partition.partition,
        }
    }

    /// The topic-partition part of the key.
    pub fn topic_id_partition(&self) -> TopicIdPartition {
        TopicIdPartition {
            topic_id: self.topic_id,
            partition: self.partition,
        }
    }
}
