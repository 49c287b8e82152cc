//! FindCoordinator as a broker plug-in for chosen key types ([`FindCoordinatorPlugin`]), so that a
//! cluster without the share-group plug-ins (classic groups only, transactions only) still lets clients
//! find their coordinators, and so that several plug-ins can each answer their own key types: the
//! plug-in declines (`BrokerService::accepts`) requests of other key types, which the broker then
//! offers to the next service claiming FindCoordinator.

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use crate::broker::{BrokerService, BrokerView, ServiceContext};
use crate::coordinator::find_coordinator::{answer_find_coordinator, BrokerEndpoints};
use crate::coordinator::placement::{CoordinatorMetadata, CoordinatorType, InternalTopicsConfig};
use crate::log::TopicPartition;
use crate::net::ConnectionId;

/// The broker's view as placement and FindCoordinator read it: a topic exists when the metadata has
/// it, a coordinator is the live leader of its internal partition, endpoints come from the metadata.
pub struct ViewCoordinatorMetadata<'v, 'a>(pub &'v BrokerView<'a>);

impl CoordinatorMetadata for ViewCoordinatorMetadata<'_, '_> {
    fn topic_exists(&self, topic: &str) -> bool {
        self.0.metadata().topics.contains_key(topic)
    }

    fn alive_leader(&self, topic: &str, partition: i32) -> Option<i32> {
        let (leader, _) = self.0.leader_of(&TopicPartition::new(topic, partition))?;
        (leader >= 0 && self.0.metadata().is_live(leader)).then_some(leader)
    }
}

impl BrokerEndpoints for ViewCoordinatorMetadata<'_, '_> {
    fn endpoint(&self, node_id: i32) -> Option<(String, i32)> {
        let broker = self.0.metadata().brokers.get(&node_id)?;
        Some((broker.host.clone(), broker.port))
    }
}

/// Answers FindCoordinator for `key_types` (placement over `internal_topics`); declines the others.
pub struct FindCoordinatorPlugin {
    key_types: Vec<CoordinatorType>,
    internal_topics: InternalTopicsConfig,
}

impl FindCoordinatorPlugin {
    /// A plug-in answering `key_types`, placing keys over `internal_topics`' partition counts.
    pub fn new(
        key_types: &[CoordinatorType],
        internal_topics: InternalTopicsConfig,
    ) -> FindCoordinatorPlugin {
        FindCoordinatorPlugin {
            key_types: key_types.to_vec(),
            internal_topics,
        }
    }
}

impl BrokerService for FindCoordinatorPlugin {
    fn name(&self) -> &'static str {
        "find-coordinator"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![ApiKey::FindCoordinator]
    }

    fn accepts(&self, request: &RequestKind) -> bool {
        match request {
            RequestKind::FindCoordinator(request) => CoordinatorType::from_id(request.key_type)
                .is_some_and(|key_type| self.key_types.contains(&key_type)),
            _ => false,
        }
    }

    fn handle_request(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let RequestKind::FindCoordinator(request) = request else {
            return;
        };
        // Internal topics are created by the harness at start, so the topic Kafka would auto-create
        // here is not asked for (the client retries on COORDINATOR_NOT_AVAILABLE meanwhile).
        let metadata = ViewCoordinatorMetadata(&cx.view);
        let (response, _to_create) = answer_find_coordinator(
            &request,
            header.request_api_version,
            &self.internal_topics,
            &metadata,
        );
        cx.respond(connection, &header, ResponseKind::FindCoordinator(response));
    }
}
