//! The metadata image: what the controller has decided, as brokers fetch it. It carries what a
//! MetadataResponse needs (brokers, topics, partitions with leader, leader epoch, replicas, ISR) and the
//! partition state a leader needs for AlterPartition (partition epoch).

use std::collections::BTreeMap;

use crate::cluster::{BrokerId, NO_LEADER};
use crate::ResponseError;

/// One registered broker.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BrokerImage {
    /// `node.id`.
    pub broker_id: BrokerId,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `broker.rack`, if set.
    pub rack: Option<String>,
    /// The epoch handed out at registration; a restart registers again and gets a larger one.
    pub broker_epoch: i64,
    /// Fenced brokers lead nothing, are not in any ISR (unless the last member) and are hidden from clients.
    pub fenced: bool,
}

/// One partition's replication state (KRaft `PartitionRegistration`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PartitionImage {
    /// Partition index.
    pub partition: i32,
    /// Assigned replicas, in preference order (the first is the preferred leader).
    pub replicas: Vec<BrokerId>,
    /// In-sync replicas, in replica order.
    pub isr: Vec<BrokerId>,
    /// The leader, or [`NO_LEADER`] (-1).
    pub leader: BrokerId,
    /// Bumped on every leader change.
    pub leader_epoch: i32,
    /// Bumped on every change of this partition (Kafka's partition epoch, AlterPartition's version).
    pub partition_epoch: i32,
}

/// One topic.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TopicImage {
    /// Topic name.
    pub name: String,
    /// Topic id (a UUID as `u128`: `Uuid::from_u128`), deterministic.
    pub topic_id: u128,
    /// Partitions, indexed by partition number.
    pub partitions: Vec<PartitionImage>,
}

/// The whole image, versioned: `version` grows by one with every change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct MetadataImage {
    /// Monotonic metadata version (KRaft's metadata offset).
    pub version: u64,
    /// Registered brokers by id.
    pub brokers: BTreeMap<BrokerId, BrokerImage>,
    /// Topics by name.
    pub topics: BTreeMap<String, TopicImage>,
}

/// One partition as a MetadataResponse shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PartitionMetadata {
    /// `LEADER_NOT_AVAILABLE` when the partition has no leader, else `None`.
    pub error: Option<ResponseError>,
    /// The partition's state.
    pub state: PartitionImage,
}

/// One topic as a MetadataResponse shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicMetadata {
    /// `UNKNOWN_TOPIC_OR_PARTITION` for a topic that does not exist, else `None`.
    pub error: Option<ResponseError>,
    /// The name asked for.
    pub name: String,
    /// Topic id (0 when unknown, Kafka's `Uuid.ZERO_UUID`).
    pub topic_id: u128,
    /// Partitions (empty when unknown).
    pub partitions: Vec<PartitionMetadata>,
}

impl MetadataImage {
    /// The brokers a MetadataResponse lists: registered and unfenced, by id.
    pub fn live_brokers(&self) -> Vec<&BrokerImage> {
        self.brokers.values().filter(|b| !b.fenced).collect()
    }

    /// Whether `broker_id` is registered and unfenced.
    pub fn is_live(&self, broker_id: BrokerId) -> bool {
        self.brokers.get(&broker_id).is_some_and(|b| !b.fenced)
    }

    /// One partition's state, if it exists.
    pub fn partition(&self, topic: &str, partition: i32) -> Option<&PartitionImage> {
        let index = usize::try_from(partition).ok()?;
        self.topics.get(topic)?.partitions.get(index)
    }

    /// MetadataResponse topics for `names` (every topic when `None`), with Kafka's per-topic and
    /// per-partition errors. Auto-creation is off (`auto.create.topics.enable` is not modelled).
    pub fn describe_topics(&self, names: Option<&[String]>) -> Vec<TopicMetadata> {
        let wanted: Vec<String> = match names {
            Some(names) => names.to_vec(),
            None => self.topics.keys().cloned().collect(),
        };
        wanted
            .into_iter()
            .map(|name| match self.topics.get(&name) {
                None => TopicMetadata {
                    error: Some(ResponseError::UnknownTopicOrPartition),
                    name,
                    topic_id: 0,
                    partitions: Vec::new(),
                },
                Some(topic) => TopicMetadata {
                    error: None,
                    name,
                    topic_id: topic.topic_id,
                    partitions: topic
                        .partitions
                        .iter()
                        .map(|p| PartitionMetadata {
                            error: (p.leader == NO_LEADER)
                                .then_some(ResponseError::LeaderNotAvailable),
                            state: p.clone(),
                        })
                        .collect(),
                },
            })
            .collect()
    }
}
