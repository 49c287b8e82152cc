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

impl TopicId {
    /// Kafka's `Uuid.toString()`: URL-safe base64 of the 16 bytes (most significant first), no padding.
    pub fn to_kafka_string(self) -> String {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let bytes = self.0.to_be_bytes();
        let mut text = String::with_capacity(22);
        for chunk in bytes.chunks(3) {
            let mut group = [0u8; 3];
            group[..chunk.len()].copy_from_slice(chunk);
            let bits = u32::from(group[0]) << 16 | u32::from(group[1]) << 8 | u32::from(group[2]);
            // A chunk of n bytes yields n + 1 characters without padding.
            for index in 0..=chunk.len() {
                let sextet = (bits >> (18 - 6 * index)) & 0x3f;
                text.push(char::from(ALPHABET[sextet as usize]));
            }
        }
        debug_assert_eq!(text.len(), 22);
        text
    }
}

impl SharePartitionKey {
    /// The `__share_group_state` partition that owns this key (spec 3.1,
    /// `ShareCoordinatorService.partitionFor`): `Utils.abs(hashCode("groupId:topicId:partition")) %
    /// numPartitions`, with Java's `String.hashCode` over UTF-16 code units. `None` when
    /// `num_partitions` is not positive.
    pub fn state_partition(&self, num_partitions: i32) -> Option<i32> {
        if num_partitions <= 0 {
            return None;
        }
        let coordinator_key = format!(
            "{}:{}:{}",
            self.group_id,
            self.topic_id.to_kafka_string(),
            self.partition
        );
        let hash = coordinator_key.encode_utf16().fold(0i32, |hash, unit| {
            hash.wrapping_mul(31).wrapping_add(i32::from(unit))
        });
        // Kafka's `Utils.abs`: i32::MIN maps to 0 rather than overflowing.
        let non_negative = if hash == i32::MIN { 0 } else { hash.abs() };
        Some(non_negative % num_partitions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Kafka's `Uuid.toString` is URL-safe base64 without padding (22 characters).
    #[test]
    fn topic_id_text_is_kafka_base64() {
        assert_eq!(TopicId(0).to_kafka_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(
            TopicId(u128::MAX).to_kafka_string(),
            "_____________________w"
        );
        // Uuid(most = 0x0123456789abcdef, least = 0xfedcba9876543210).
        let topic_id = TopicId(0x0123_4567_89ab_cdef_fedc_ba98_7654_3210);
        assert_eq!(topic_id.to_kafka_string(), "ASNFZ4mrze_-3LqYdlQyEA");
    }

    /// Spec 3.1: the state partition is abs(Java hashCode of "group:topic:partition") % partitions.
    #[test]
    fn state_partition_follows_java_string_hash() {
        let key = SharePartitionKey::new(
            "g",
            TopicIdPartition {
                topic_id: TopicId(0),
                partition: 1,
            },
        );
        // Java: "g:AAAAAAAAAAAAAAAAAAAAAA:1".hashCode() == -92982198; 92982198 % 50 == 48.
        assert_eq!(key.state_partition(50), Some(48));
        assert_eq!(key.state_partition(0), None);
        assert_eq!(key.state_partition(-3), None);
    }
}
