//! Naming partitions in requests: by topic name (older versions) or by topic id (newer ones).

use kafka_protocol::messages::TopicName;
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::state::BrokerState;
use crate::log::TopicPartition;
use crate::ResponseError;

impl BrokerState {
    /// The topic's name from a request's name or id (`by_id` for versions that carry ids). Unknown:
    /// UNKNOWN_TOPIC_ID by id, UNKNOWN_TOPIC_OR_PARTITION by name.
    pub(super) fn resolve_topic(
        &self,
        name: &TopicName,
        topic_id: Uuid,
        by_id: bool,
    ) -> Result<(String, u128), ResponseError> {
        if by_id {
            let id = topic_id.as_u128();
            return self
                .topic_names
                .get(&id)
                .map(|n| (n.clone(), id))
                .ok_or(ResponseError::UnknownTopicId);
        }
        let name = name.0.to_string();
        match self.image.topics.get(&name) {
            Some(t) => Ok((name, t.topic_id)),
            None => Err(ResponseError::UnknownTopicOrPartition),
        }
    }

    /// The partition, if the topic has it.
    pub(super) fn partition_exists(&self, tp: &TopicPartition) -> bool {
        self.image.partition(&tp.topic, tp.partition).is_some()
    }

    /// The leader and epoch the metadata names for a partition (for `current_leader` hints).
    pub(super) fn current_leader(&self, tp: &TopicPartition) -> (i32, i32) {
        self.image
            .partition(&tp.topic, tp.partition)
            .map_or((-1, -1), |p| (p.leader, p.leader_epoch))
    }
}

/// A topic name for a response.
pub(super) fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_string()))
}
