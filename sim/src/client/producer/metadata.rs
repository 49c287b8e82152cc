//! The producer's view of the cluster, learned from Metadata responses (Kafka `Metadata`): brokers,
//! the partitions of each topic and their leaders. Refreshed on a schedule (`metadata.max.age.ms`) and
//! whenever a produce fails with an error that means the view is stale.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::MetadataResponse;

use super::events::BrokerAddress;
use crate::ResponseError;

/// Leader of one partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PartitionLeader {
    /// Leader broker id, -1 when there is none.
    pub leader_id: i32,
    /// Leader epoch.
    pub leader_epoch: i32,
}

/// One topic's partitions (index = partition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicInfo {
    /// Leader of each partition.
    pub partitions: Vec<PartitionLeader>,
}

/// What the producer knows about the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientMetadata {
    brokers: BTreeMap<i32, BrokerAddress>,
    topics: BTreeMap<String, TopicInfo>,
    /// Topics the application produces to; every Metadata request asks for all of them.
    wanted: BTreeSet<String>,
    /// Topics the last response said do not exist (or failed).
    errors: BTreeMap<String, ResponseError>,
    update_requested: bool,
    last_refresh_ms: Option<u64>,
}

impl ClientMetadata {
    /// Known brokers.
    pub fn brokers(&self) -> impl Iterator<Item = &BrokerAddress> {
        self.brokers.values()
    }

    /// A broker's address.
    pub fn broker(&self, node_id: i32) -> Option<&BrokerAddress> {
        self.brokers.get(&node_id)
    }

    /// A topic's partitions, once known.
    pub fn topic(&self, topic: &str) -> Option<&TopicInfo> {
        self.topics.get(topic)
    }

    /// The last error for a topic (UNKNOWN_TOPIC_OR_PARTITION...).
    pub fn topic_error(&self, topic: &str) -> Option<ResponseError> {
        self.errors.get(topic).copied()
    }

    /// The leader of a partition, if it has one that the producer can reach.
    pub fn leader(&self, topic: &str, partition: i32) -> Option<&BrokerAddress> {
        let leader = self.topics.get(topic)?.partitions.get(partition as usize)?;
        self.brokers.get(&leader.leader_id)
    }

    /// Topics the producer asks about.
    pub fn wanted_topics(&self) -> impl Iterator<Item = &String> {
        self.wanted.iter()
    }

    /// Starts tracking a topic; true when it is new (a refresh is then due).
    pub fn want(&mut self, topic: &str) -> bool {
        let new = self.wanted.insert(topic.to_string());
        if new {
            self.update_requested = true;
        }
        new
    }

    /// Asks for a refresh (a produce saw NOT_LEADER_OR_FOLLOWER, ...).
    pub fn request_update(&mut self) {
        self.update_requested = true;
    }

    /// When the next refresh is due, given `metadata.max.age.ms`; `None` when nothing is wanted.
    pub fn refresh_due_ms(&self, max_age_ms: u64) -> Option<u64> {
        if self.wanted.is_empty() && self.brokers.is_empty() && !self.update_requested {
            return None;
        }
        match self.last_refresh_ms {
            _ if self.update_requested => Some(0),
            None => Some(0),
            Some(last) => Some(last.saturating_add(max_age_ms)),
        }
    }

    /// Takes in a Metadata response.
    pub fn update(&mut self, now_ms: u64, response: &MetadataResponse) {
        self.last_refresh_ms = Some(now_ms);
        self.update_requested = false;
        if !response.brokers.is_empty() {
            self.brokers = response
                .brokers
                .iter()
                .map(|b| {
                    let address = BrokerAddress {
                        node_id: b.node_id.0,
                        host: b.host.to_string(),
                        port: b.port,
                    };
                    (b.node_id.0, address)
                })
                .collect();
        }
        for topic in &response.topics {
            let Some(name) = topic.name.as_ref().map(|n| n.0.to_string()) else {
                continue;
            };
            if let Some(error) = ResponseError::try_from_code(topic.error_code) {
                // A leaderless or unknown topic keeps its old view (if any) and is asked again.
                self.errors.insert(name, error);
                self.update_requested = true;
                continue;
            }
            self.errors.remove(&name);
            let count = topic
                .partitions
                .iter()
                .map(|p| p.partition_index + 1)
                .max()
                .unwrap_or(0)
                .max(0) as usize;
            let mut partitions = vec![
                PartitionLeader {
                    leader_id: -1,
                    leader_epoch: -1,
                };
                count
            ];
            for p in &topic.partitions {
                if p.partition_index < 0 {
                    continue;
                }
                let leader_id = if ResponseError::try_from_code(p.error_code).is_some() {
                    self.update_requested = true;
                    -1
                } else {
                    p.leader_id.0
                };
                partitions[p.partition_index as usize] = PartitionLeader {
                    leader_id,
                    leader_epoch: p.leader_epoch,
                };
            }
            if partitions.is_empty() {
                continue;
            }
            self.topics.insert(name, TopicInfo { partitions });
        }
    }

    /// Partitions of a topic whose leader is known (the sticky partitioner prefers them).
    pub fn available_partitions(&self, topic: &str) -> Vec<i32> {
        self.topics
            .get(topic)
            .map(|t| {
                t.partitions
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| self.brokers.contains_key(&l.leader_id))
                    .map(|(i, _)| i as i32)
                    .collect()
            })
            .unwrap_or_default()
    }
}
