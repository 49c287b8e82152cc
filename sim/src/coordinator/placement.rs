//! Coordinator placement: which partition of which internal topic owns a coordinator key, and so which
//! broker is the coordinator (the leader of that partition), as Kafka's FindCoordinator computes it
//! (`KafkaApis.getCoordinator`, `GroupCoordinatorService.partitionFor`, `ShareCoordinatorService
//! .partitionFor`, spec 3.1).
//!
//! * GROUP keys (group ids, classic and share groups alike): `__consumer_offsets` partition
//!   `Utils.abs(groupId.hashCode()) % offsets.topic.num.partitions`;
//! * SHARE keys (`"groupId:topicId:partition"`): `__share_group_state` partition
//!   `Utils.abs(key.hashCode()) % share.coordinator.state.topic.num.partitions`;
//! * TRANSACTION keys (transactional ids): `__transaction_state` partition
//!   `Utils.abs(transactionalId.hashCode()) % transaction.state.log.num.partitions`.
//!
//! `hashCode` is Java's `String.hashCode` over UTF-16 code units; `Utils.abs` maps `i32::MIN` to 0.
//! Pure functions: the broker supplies its metadata through [`CoordinatorMetadata`].

use serde::{Deserialize, Serialize};

use crate::coordinator::share::{SharePartitionKey, TopicId};
use crate::ResponseError;

/// The group coordinator's internal topic (`Topic.GROUP_METADATA_TOPIC_NAME`).
pub const GROUP_METADATA_TOPIC_NAME: &str = "__consumer_offsets";
/// The share coordinator's internal topic (`Topic.SHARE_GROUP_STATE_TOPIC_NAME`).
pub const SHARE_GROUP_STATE_TOPIC_NAME: &str = "__share_group_state";
/// The transaction coordinator's internal topic (`Topic.TRANSACTION_STATE_TOPIC_NAME`).
pub const TRANSACTION_STATE_TOPIC_NAME: &str = "__transaction_state";

/// FindCoordinator's `KeyType` (`CoordinatorType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CoordinatorType {
    /// 0: a group id.
    Group,
    /// 1: a transactional id.
    Transaction,
    /// 2: a share-partition key `groupId:topicId:partition` (FindCoordinator v6+).
    Share,
}

impl CoordinatorType {
    /// The type for a wire `KeyType`; `None` for unknown ids (Kafka: INVALID_REQUEST).
    pub fn from_id(id: i8) -> Option<CoordinatorType> {
        match id {
            0 => Some(CoordinatorType::Group),
            1 => Some(CoordinatorType::Transaction),
            2 => Some(CoordinatorType::Share),
            _ => None,
        }
    }

    /// The wire `KeyType`.
    pub fn id(self) -> i8 {
        match self {
            CoordinatorType::Group => 0,
            CoordinatorType::Transaction => 1,
            CoordinatorType::Share => 2,
        }
    }

    /// The internal topic whose partition leaders are this type's coordinators.
    pub fn internal_topic(self) -> &'static str {
        match self {
            CoordinatorType::Group => GROUP_METADATA_TOPIC_NAME,
            CoordinatorType::Transaction => TRANSACTION_STATE_TOPIC_NAME,
            CoordinatorType::Share => SHARE_GROUP_STATE_TOPIC_NAME,
        }
    }
}

/// Java's `String.hashCode`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16 code units, wrapping in i32.
pub fn java_string_hash(text: &str) -> i32 {
    text.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// Kafka's `Utils.abs`: `Math.abs`, except that `i32::MIN` maps to 0 instead of staying negative.
pub fn kafka_utils_abs(value: i32) -> i32 {
    if value == i32::MIN {
        0
    } else {
        value.abs()
    }
}

/// `Utils.abs(text.hashCode()) % num_partitions`; `None` when `num_partitions` is not positive.
pub fn partition_for_text(text: &str, num_partitions: i32) -> Option<i32> {
    (num_partitions > 0).then(|| kafka_utils_abs(java_string_hash(text)) % num_partitions)
}

/// The `__consumer_offsets` partition of a group (`GroupCoordinatorService.partitionFor`).
pub fn group_coordinator_partition(
    group_id: &str,
    offsets_topic_num_partitions: i32,
) -> Option<i32> {
    partition_for_text(group_id, offsets_topic_num_partitions)
}

/// The `__share_group_state` partition of a share-partition key (`ShareCoordinatorService.partitionFor`).
pub fn share_coordinator_partition(
    key: &SharePartitionKey,
    state_topic_num_partitions: i32,
) -> Option<i32> {
    key.state_partition(state_topic_num_partitions)
}

/// The broker configs that size the internal topics, with Kafka's defaults (`GroupCoordinatorConfig`,
/// `ShareCoordinatorConfig`, `TransactionLogConfig`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InternalTopicsConfig {
    /// `offsets.topic.num.partitions` (default 50).
    pub offsets_topic_num_partitions: i32,
    /// `offsets.topic.replication.factor` (default 3).
    pub offsets_topic_replication_factor: i16,
    /// `share.coordinator.state.topic.num.partitions` (default 50).
    pub share_state_topic_num_partitions: i32,
    /// `share.coordinator.state.topic.replication.factor` (default 3).
    pub share_state_topic_replication_factor: i16,
    /// `share.coordinator.state.topic.min.isr` (default 2).
    pub share_state_topic_min_isr: i32,
    /// `transaction.state.log.num.partitions` (default 50).
    pub transaction_state_topic_num_partitions: i32,
    /// `transaction.state.log.replication.factor` (default 3).
    pub transaction_state_topic_replication_factor: i16,
    /// `transaction.state.log.min.isr` (default 2).
    pub transaction_state_topic_min_isr: i32,
}

impl Default for InternalTopicsConfig {
    fn default() -> Self {
        InternalTopicsConfig {
            offsets_topic_num_partitions: 50,
            offsets_topic_replication_factor: 3,
            share_state_topic_num_partitions: 50,
            share_state_topic_replication_factor: 3,
            share_state_topic_min_isr: 2,
            transaction_state_topic_num_partitions: 50,
            transaction_state_topic_replication_factor: 3,
            transaction_state_topic_min_isr: 2,
        }
    }
}

/// How to create one internal topic (what Kafka's `AutoTopicCreationManager` asks the controller for).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InternalTopicSpec {
    /// The topic name.
    pub name: &'static str,
    /// Its partition count.
    pub num_partitions: i32,
    /// Its replication factor.
    pub replication_factor: i16,
    /// Topic configs (Kafka's names and values).
    pub configs: Vec<(&'static str, String)>,
}

impl InternalTopicsConfig {
    /// The creation spec of an internal topic, `None` for other names.
    pub fn spec(&self, topic_name: &str) -> Option<InternalTopicSpec> {
        let spec = match topic_name {
            // `GroupCoordinatorService.groupMetadataTopicConfigs`: compacted, 100 MiB segments.
            GROUP_METADATA_TOPIC_NAME => InternalTopicSpec {
                name: GROUP_METADATA_TOPIC_NAME,
                num_partitions: self.offsets_topic_num_partitions,
                replication_factor: self.offsets_topic_replication_factor,
                configs: vec![
                    ("cleanup.policy", "compact".to_string()),
                    ("compression.type", "producer".to_string()),
                    ("segment.bytes", "104857600".to_string()),
                ],
            },
            // `ShareCoordinatorService.shareGroupStateTopicConfigs` (spec 3.1): delete policy, never
            // expired by time; the coordinator prunes by deleteRecords.
            SHARE_GROUP_STATE_TOPIC_NAME => InternalTopicSpec {
                name: SHARE_GROUP_STATE_TOPIC_NAME,
                num_partitions: self.share_state_topic_num_partitions,
                replication_factor: self.share_state_topic_replication_factor,
                configs: vec![
                    ("cleanup.policy", "delete".to_string()),
                    ("retention.ms", "-1".to_string()),
                    (
                        "min.insync.replicas",
                        self.share_state_topic_min_isr.to_string(),
                    ),
                    ("segment.bytes", "104857600".to_string()),
                ],
            },
            TRANSACTION_STATE_TOPIC_NAME => InternalTopicSpec {
                name: TRANSACTION_STATE_TOPIC_NAME,
                num_partitions: self.transaction_state_topic_num_partitions,
                replication_factor: self.transaction_state_topic_replication_factor,
                configs: vec![
                    ("cleanup.policy", "compact".to_string()),
                    (
                        "min.insync.replicas",
                        self.transaction_state_topic_min_isr.to_string(),
                    ),
                ],
            },
            _ => return None,
        };
        Some(spec)
    }

    /// The partition count of the internal topic of `key_type`.
    pub fn num_partitions(&self, key_type: CoordinatorType) -> i32 {
        match key_type {
            CoordinatorType::Group => self.offsets_topic_num_partitions,
            CoordinatorType::Transaction => self.transaction_state_topic_num_partitions,
            CoordinatorType::Share => self.share_state_topic_num_partitions,
        }
    }
}

/// One partition of an internal topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct CoordinatorPartition {
    /// The internal topic.
    pub topic: &'static str,
    /// The partition whose leader is the coordinator.
    pub partition: i32,
}

/// Kafka's `Uuid.fromString`: URL-safe base64 of 16 bytes, 22 characters, no padding. `None` when
/// malformed.
pub fn topic_id_from_kafka_string(text: &str) -> Option<TopicId> {
    if text.len() != 22 {
        return None;
    }
    let mut bits: u128 = 0;
    for (index, byte) in text.bytes().enumerate() {
        let sextet = match byte {
            b'A'..=b'Z' => byte - b'A',
            b'a'..=b'z' => byte - b'a' + 26,
            b'0'..=b'9' => byte - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        if index < 21 {
            bits = (bits << 6) | u128::from(sextet);
        } else {
            // 21 sextets carry 126 bits; the last character carries the final 2 bits in its top bits.
            if sextet & 0x0f != 0 {
                return None;
            }
            bits = (bits << 2) | u128::from(sextet >> 4);
        }
    }
    Some(TopicId(bits))
}

/// Kafka's `SharePartitionKey.getInstance`: `"groupId:topicId:partition"`, each part non-blank, the
/// group id trimmed. Malformed keys are INVALID_REQUEST (Kafka throws IllegalArgumentException).
pub fn parse_share_coordinator_key(key: &str) -> Result<SharePartitionKey, ResponseError> {
    let tokens: Vec<&str> = key.split(':').collect();
    let [group_id, topic_id, partition] = tokens.as_slice() else {
        return Err(ResponseError::InvalidRequest);
    };
    if group_id.trim().is_empty() || topic_id.trim().is_empty() || partition.trim().is_empty() {
        return Err(ResponseError::InvalidRequest);
    }
    let topic_id = topic_id_from_kafka_string(topic_id).ok_or(ResponseError::InvalidRequest)?;
    let partition: i32 = partition
        .parse()
        .map_err(|_| ResponseError::InvalidRequest)?;
    Ok(SharePartitionKey {
        group_id: group_id.trim().to_string(),
        topic_id,
        partition,
    })
}

/// The internal-topic partition that owns `key` of `key_type`. A malformed share key is
/// INVALID_REQUEST. Share keys hash their canonical text (`asCoordinatorKey`), not the raw request text.
pub fn coordinator_partition(
    key_type: CoordinatorType,
    key: &str,
    config: &InternalTopicsConfig,
) -> Result<CoordinatorPartition, ResponseError> {
    let num_partitions = config.num_partitions(key_type);
    let partition = match key_type {
        CoordinatorType::Group | CoordinatorType::Transaction => {
            partition_for_text(key, num_partitions)
        }
        CoordinatorType::Share => {
            share_coordinator_partition(&parse_share_coordinator_key(key)?, num_partitions)
        }
    };
    let partition = partition.ok_or(ResponseError::CoordinatorNotAvailable)?;
    Ok(CoordinatorPartition {
        topic: key_type.internal_topic(),
        partition,
    })
}

/// What FindCoordinator needs from the broker's metadata cache.
pub trait CoordinatorMetadata {
    /// Whether the topic exists in the metadata image.
    fn topic_exists(&self, topic: &str) -> bool;
    /// The leader of the partition if it has one and that broker is alive (registered, unfenced).
    fn alive_leader(&self, topic: &str, partition: i32) -> Option<i32>;
}

/// FindCoordinator's answer for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoordinatorLookup {
    /// The coordinator is this broker.
    Found {
        /// The broker id.
        node_id: i32,
    },
    /// No coordinator to name.
    Error {
        /// COORDINATOR_NOT_AVAILABLE (retriable) or INVALID_REQUEST.
        error: ResponseError,
        /// The internal topic is missing: Kafka asks the controller to create it (auto-creation of
        /// internal topics) and answers COORDINATOR_NOT_AVAILABLE meanwhile.
        create_topic: Option<&'static str>,
    },
}

/// `KafkaApis.getCoordinator` for one key: the partition that owns the key, then its alive leader;
/// COORDINATOR_NOT_AVAILABLE when the topic is missing (and should be created) or the partition has no
/// alive leader.
pub fn find_coordinator(
    key_type: CoordinatorType,
    key: &str,
    config: &InternalTopicsConfig,
    metadata: &impl CoordinatorMetadata,
) -> CoordinatorLookup {
    let owner = match coordinator_partition(key_type, key, config) {
        Ok(owner) => owner,
        Err(error) => {
            return CoordinatorLookup::Error {
                error,
                create_topic: None,
            }
        }
    };
    if !metadata.topic_exists(owner.topic) {
        return CoordinatorLookup::Error {
            error: ResponseError::CoordinatorNotAvailable,
            create_topic: Some(owner.topic),
        };
    }
    match metadata.alive_leader(owner.topic, owner.partition) {
        Some(node_id) => CoordinatorLookup::Found { node_id },
        None => CoordinatorLookup::Error {
            error: ResponseError::CoordinatorNotAvailable,
            create_topic: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::coordinator::share::TopicIdPartition;

    /// Spec 3.1: Java's String.hashCode, checked against values Java prints.
    #[test]
    fn java_string_hash_matches_java() {
        assert_eq!(java_string_hash(""), 0);
        assert_eq!(java_string_hash("hello"), 99_162_322);
        assert_eq!(java_string_hash("my-group"), -1_906_497_762);
        assert_eq!(java_string_hash("polygenelubricants"), i32::MIN);
        // Non-ASCII: UTF-16 units, a surrogate pair for the emoji.
        assert_eq!(java_string_hash("grüße"), 98_768_023);
        assert_eq!(java_string_hash("\u{1F600}"), 1_772_899);
        assert_eq!(java_string_hash("Aa"), java_string_hash("BB"));
    }

    /// Spec 3.1: Utils.abs maps i32::MIN to 0, so such a key lands on partition 0.
    #[test]
    fn utils_abs_of_min_is_zero() {
        assert_eq!(kafka_utils_abs(i32::MIN), 0);
        assert_eq!(kafka_utils_abs(-5), 5);
        assert_eq!(partition_for_text("polygenelubricants", 50), Some(0));
        assert_eq!(partition_for_text("x", 0), None);
    }

    /// Spec 3.1: a group's coordinator partition is abs(hashCode) % offsets.topic.num.partitions.
    #[test]
    fn group_partition_follows_java_hash() {
        assert_eq!(group_coordinator_partition("hello", 50), Some(22));
        assert_eq!(group_coordinator_partition("my-group", 50), Some(12));
        assert_eq!(group_coordinator_partition("share-group", 50), Some(7));
        assert_eq!(
            group_coordinator_partition("console-consumer-12345", 50),
            Some(6)
        );
        assert_eq!(
            group_coordinator_partition("my-group", 3),
            Some(1_906_497_762 % 3)
        );
    }

    /// Spec 3.1: Uuid text round-trips and malformed text is rejected.
    #[test]
    fn topic_id_text_round_trips() {
        for bits in [
            0u128,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            let text = TopicId(bits).to_kafka_string();
            assert_eq!(topic_id_from_kafka_string(&text), Some(TopicId(bits)));
        }
        assert_eq!(topic_id_from_kafka_string("short"), None);
        assert_eq!(topic_id_from_kafka_string("ASNFZ4mrze_-3LqYdlQyE!"), None);
        // The last character may only carry two bits.
        assert_eq!(topic_id_from_kafka_string("AAAAAAAAAAAAAAAAAAAAAB"), None);
    }

    /// Spec 3.1: a share key routes to abs(hash("group:topic:partition")) % 50 of __share_group_state.
    #[test]
    fn share_key_routes_to_state_partition() {
        let config = InternalTopicsConfig::default();
        let owner = coordinator_partition(
            CoordinatorType::Share,
            "g:AAAAAAAAAAAAAAAAAAAAAA:1",
            &config,
        );
        // Java: "g:AAAAAAAAAAAAAAAAAAAAAA:1".hashCode() == -92982198; 92982198 % 50 == 48.
        assert_eq!(
            owner,
            Ok(CoordinatorPartition {
                topic: SHARE_GROUP_STATE_TOPIC_NAME,
                partition: 48
            })
        );
        let key = parse_share_coordinator_key(" g :AAAAAAAAAAAAAAAAAAAAAA:1").unwrap();
        assert_eq!(
            key,
            SharePartitionKey::new(
                "g",
                TopicIdPartition {
                    topic_id: TopicId(0),
                    partition: 1
                }
            )
        );
        for bad in [
            "",
            "g",
            "g:AAAAAAAAAAAAAAAAAAAAAA",
            "g::1",
            " :AAAAAAAAAAAAAAAAAAAAAA:1",
            "g:x:1",
        ] {
            assert_eq!(
                coordinator_partition(CoordinatorType::Share, bad, &config),
                Err(ResponseError::InvalidRequest),
                "{bad:?}"
            );
        }
        assert_eq!(
            parse_share_coordinator_key("g:AAAAAAAAAAAAAAAAAAAAAA:one"),
            Err(ResponseError::InvalidRequest)
        );
    }

    struct FakeMetadata {
        topics: BTreeMap<&'static str, Vec<Option<i32>>>,
    }

    impl CoordinatorMetadata for FakeMetadata {
        fn topic_exists(&self, topic: &str) -> bool {
            self.topics.contains_key(topic)
        }
        fn alive_leader(&self, topic: &str, partition: i32) -> Option<i32> {
            let leaders = self.topics.get(topic)?;
            *leaders.get(usize::try_from(partition).ok()?)?
        }
    }

    /// Spec 3.1: the coordinator is the alive leader of the owning partition; a missing topic asks for
    /// its creation; no leader is COORDINATOR_NOT_AVAILABLE.
    #[test]
    fn find_coordinator_names_the_partition_leader() {
        let config = InternalTopicsConfig {
            offsets_topic_num_partitions: 3,
            ..InternalTopicsConfig::default()
        };
        let empty = FakeMetadata {
            topics: BTreeMap::new(),
        };
        assert_eq!(
            find_coordinator(CoordinatorType::Group, "my-group", &config, &empty),
            CoordinatorLookup::Error {
                error: ResponseError::CoordinatorNotAvailable,
                create_topic: Some(GROUP_METADATA_TOPIC_NAME)
            }
        );
        // "my-group" → 1906497762 % 3 == 0.
        let metadata = FakeMetadata {
            topics: BTreeMap::from([(GROUP_METADATA_TOPIC_NAME, vec![Some(7), None, Some(9)])]),
        };
        assert_eq!(
            find_coordinator(CoordinatorType::Group, "my-group", &config, &metadata),
            CoordinatorLookup::Found { node_id: 7 }
        );
        // "hello" → 99162322 % 3 == 1, which has no leader.
        assert_eq!(
            find_coordinator(CoordinatorType::Group, "hello", &config, &metadata),
            CoordinatorLookup::Error {
                error: ResponseError::CoordinatorNotAvailable,
                create_topic: None
            }
        );
        assert_eq!(
            find_coordinator(CoordinatorType::Share, "bad", &config, &metadata),
            CoordinatorLookup::Error {
                error: ResponseError::InvalidRequest,
                create_topic: None
            }
        );
    }

    /// Spec 3.1 and 9: the internal topics' defaults.
    #[test]
    fn internal_topic_defaults_are_kafkas() {
        let config = InternalTopicsConfig::default();
        let share = config.spec(SHARE_GROUP_STATE_TOPIC_NAME).unwrap();
        assert_eq!((share.num_partitions, share.replication_factor), (50, 3));
        assert!(share
            .configs
            .contains(&("min.insync.replicas", "2".to_string())));
        let offsets = config.spec(GROUP_METADATA_TOPIC_NAME).unwrap();
        assert_eq!(
            (offsets.num_partitions, offsets.replication_factor),
            (50, 3)
        );
        assert!(config.spec("orders").is_none());
        assert_eq!(CoordinatorType::from_id(2), Some(CoordinatorType::Share));
        assert_eq!(CoordinatorType::from_id(3), None);
    }
}
