//! The FindCoordinator (API 10) answer on the wire, built from [`super::placement::find_coordinator`]
//! (`KafkaApis.handleFindCoordinatorRequest`): versions 0-3 carry one key in the top-level fields, 4+ a
//! batch of keys in `Coordinators`.

use std::collections::BTreeSet;

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{BrokerId, FindCoordinatorRequest, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::placement::{
    find_coordinator, CoordinatorLookup, CoordinatorMetadata, CoordinatorType, InternalTopicsConfig,
};
use crate::ResponseError;

/// The first version whose `CoordinatorKeys` batches keys.
pub const FIND_COORDINATOR_BATCHED_VERSION: i16 = 4;
/// The first version that knows the SHARE key type (KIP-932).
pub const FIND_COORDINATOR_SHARE_VERSION: i16 = 6;

/// Where a broker listens, for the response's `Host`/`Port`.
pub trait BrokerEndpoints {
    /// The host and port of a broker, if it is known.
    fn endpoint(&self, node_id: i32) -> Option<(String, i32)>;
}

/// The response to `request` at `version`, and the internal topics the broker should ask the
/// controller to create (Kafka auto-creates internal topics on FindCoordinator).
///
/// An unknown key type, and SHARE below version 6, are INVALID_REQUEST for every key (Kafka rejects the
/// request; sharesim answers it with the error so the client sees the code).
pub fn answer_find_coordinator(
    request: &FindCoordinatorRequest,
    version: i16,
    config: &InternalTopicsConfig,
    metadata: &(impl CoordinatorMetadata + BrokerEndpoints),
) -> (FindCoordinatorResponse, BTreeSet<&'static str>) {
    let key_type = CoordinatorType::from_id(request.key_type)
        .filter(|t| *t != CoordinatorType::Share || version >= FIND_COORDINATOR_SHARE_VERSION);
    let keys: Vec<StrBytes> = if version >= FIND_COORDINATOR_BATCHED_VERSION {
        request.coordinator_keys.clone()
    } else {
        vec![request.key.clone()]
    };
    let mut to_create = BTreeSet::new();
    let mut coordinators = Vec::with_capacity(keys.len());
    for key in keys {
        let lookup = match key_type {
            Some(key_type) => find_coordinator(key_type, key.as_str(), config, metadata),
            None => CoordinatorLookup::Error {
                error: ResponseError::InvalidRequest,
                create_topic: None,
            },
        };
        let found = match lookup {
            CoordinatorLookup::Found { node_id } => metadata
                .endpoint(node_id)
                .map(|(host, port)| (node_id, host, port))
                .ok_or(ResponseError::CoordinatorNotAvailable),
            CoordinatorLookup::Error {
                error,
                create_topic,
            } => {
                to_create.extend(create_topic);
                Err(error)
            }
        };
        let coordinator = match found {
            Ok((node_id, host, port)) => Coordinator::default()
                .with_key(key)
                .with_node_id(BrokerId(node_id))
                .with_host(StrBytes::from_string(host))
                .with_port(port)
                .with_error_code(0)
                .with_error_message(None),
            Err(error) => Coordinator::default()
                .with_key(key)
                .with_node_id(BrokerId(-1))
                .with_host(StrBytes::from_static_str(""))
                .with_port(-1)
                .with_error_code(error.code())
                .with_error_message(Some(StrBytes::from_string(error.to_string()))),
        };
        coordinators.push(coordinator);
    }
    let response = if version >= FIND_COORDINATOR_BATCHED_VERSION {
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    } else {
        let single = coordinators.pop().unwrap_or_default();
        FindCoordinatorResponse::default()
            .with_error_code(single.error_code)
            .with_error_message(single.error_message)
            .with_node_id(single.node_id)
            .with_host(single.host)
            .with_port(single.port)
    };
    (response, to_create)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coordinator::placement::{GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME};

    struct OneLeader;

    impl CoordinatorMetadata for OneLeader {
        fn topic_exists(&self, topic: &str) -> bool {
            topic == GROUP_METADATA_TOPIC_NAME
        }
        fn alive_leader(&self, _topic: &str, _partition: i32) -> Option<i32> {
            Some(2)
        }
    }

    impl BrokerEndpoints for OneLeader {
        fn endpoint(&self, node_id: i32) -> Option<(String, i32)> {
            Some((format!("broker-{node_id}"), 9092))
        }
    }

    /// Spec 3.1: batched keys each get the leader of their partition, or an error and a topic creation.
    #[test]
    fn batched_answer_per_key() {
        let request = FindCoordinatorRequest::default()
            .with_key_type(CoordinatorType::Group.id())
            .with_coordinator_keys(vec![StrBytes::from_static_str("my-group")]);
        let (response, to_create) =
            answer_find_coordinator(&request, 6, &InternalTopicsConfig::default(), &OneLeader);
        assert!(to_create.is_empty());
        assert_eq!(response.coordinators.len(), 1);
        assert_eq!(response.coordinators[0].node_id, BrokerId(2));
        assert_eq!(response.coordinators[0].host.as_str(), "broker-2");

        let share = FindCoordinatorRequest::default()
            .with_key_type(CoordinatorType::Share.id())
            .with_coordinator_keys(vec![StrBytes::from_static_str(
                "g:AAAAAAAAAAAAAAAAAAAAAA:1",
            )]);
        let (response, to_create) =
            answer_find_coordinator(&share, 6, &InternalTopicsConfig::default(), &OneLeader);
        assert_eq!(
            response.coordinators[0].error_code,
            ResponseError::CoordinatorNotAvailable.code()
        );
        assert_eq!(to_create, BTreeSet::from([SHARE_GROUP_STATE_TOPIC_NAME]));
        // SHARE needs version 6.
        let (response, _) =
            answer_find_coordinator(&share, 5, &InternalTopicsConfig::default(), &OneLeader);
        assert_eq!(
            response.coordinators[0].error_code,
            ResponseError::InvalidRequest.code()
        );
    }

    /// Spec 3.1: versions before 4 answer in the top-level fields.
    #[test]
    fn unbatched_answer_in_top_level_fields() {
        let request = FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_key(StrBytes::from_static_str("my-group"));
        let (response, _) =
            answer_find_coordinator(&request, 3, &InternalTopicsConfig::default(), &OneLeader);
        assert_eq!(response.error_code, 0);
        assert_eq!((response.node_id, response.port), (BrokerId(2), 9092));
        assert!(response.coordinators.is_empty());
    }
}
