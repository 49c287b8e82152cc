//! Metadata for clients: live brokers, topics with ids, and per partition leader, leader epoch,
//! replicas, ISR and offline replicas, from this broker's image (which may lag the controller's, as in
//! Kafka). Auto-creation is off.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{MetadataRequest, MetadataResponse};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::state::BrokerState;
use crate::ResponseError;

impl BrokerState {
    pub(super) fn handle_metadata(
        &self,
        api_version: i16,
        request: &MetadataRequest,
    ) -> MetadataResponse {
        let live = self.image.live_brokers();
        let brokers = live
            .iter()
            .map(|b| {
                MetadataResponseBroker::default()
                    .with_node_id(b.broker_id.into())
                    .with_host(StrBytes::from_string(b.host.clone()))
                    .with_port(b.port)
                    .with_rack(b.rack.clone().map(StrBytes::from_string))
            })
            .collect();
        // Requested topics by name, or by id (v10+ may name topics by id only).
        let mut by_id_errors = Vec::new();
        let names: Option<Vec<String>> = match &request.topics {
            None => None,
            Some(topics) if topics.is_empty() && api_version == 0 => None,
            Some(topics) => Some(
                topics
                    .iter()
                    .filter_map(|t| match &t.name {
                        Some(name) => Some(name.0.to_string()),
                        None => {
                            let id = t.topic_id.as_u128();
                            match self.topic_names.get(&id) {
                                Some(name) => Some(name.clone()),
                                None => {
                                    by_id_errors.push(
                                        MetadataResponseTopic::default()
                                            .with_error_code(ResponseError::UnknownTopicId.code())
                                            .with_topic_id(t.topic_id),
                                    );
                                    None
                                }
                            }
                        }
                    })
                    .collect(),
            ),
        };
        let mut topics: Vec<MetadataResponseTopic> = self
            .image
            .describe_topics(names.as_deref())
            .into_iter()
            .map(|t| {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| {
                        let s = &p.state;
                        MetadataResponsePartition::default()
                            .with_error_code(p.error.map_or(0, |e| e.code()))
                            .with_partition_index(s.partition)
                            .with_leader_id(s.leader.into())
                            .with_leader_epoch(s.leader_epoch)
                            .with_replica_nodes(s.replicas.iter().map(|&b| b.into()).collect())
                            .with_isr_nodes(s.isr.iter().map(|&b| b.into()).collect())
                            .with_offline_replicas(
                                s.replicas
                                    .iter()
                                    .filter(|&&b| !self.image.is_live(b))
                                    .map(|&b| b.into())
                                    .collect(),
                            )
                    })
                    .collect();
                MetadataResponseTopic::default()
                    .with_error_code(t.error.map_or(0, |e| e.code()))
                    .with_name(Some(StrBytes::from_string(t.name.clone()).into()))
                    .with_topic_id(Uuid::from_u128(t.topic_id))
                    .with_is_internal(t.name.starts_with("__"))
                    .with_partitions(partitions)
            })
            .collect();
        topics.extend(by_id_errors);
        // KRaft answers a live broker as "controller"; the lowest id keeps it deterministic.
        let controller_id = live.first().map_or(-1, |b| b.broker_id);
        MetadataResponse::default()
            .with_brokers(brokers)
            .with_cluster_id(Some(StrBytes::from_string(self.config.cluster_id.clone())))
            .with_controller_id(controller_id.into())
            .with_topics(topics)
    }
}
