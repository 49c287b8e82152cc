//! DeleteRecords on the leader: moves the log start offset (the low watermark). Kafka answers once every
//! follower's log start has caught up too (a purgatory); this broker answers with the leader's new low
//! watermark at once, and followers follow through their next fetch.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::state::BrokerState;
use crate::log::TopicPartition;
use crate::ResponseError;

impl BrokerState {
    pub(super) fn handle_delete_records(
        &mut self,
        request: &DeleteRecordsRequest,
    ) -> DeleteRecordsResponse {
        let mut topics = Vec::with_capacity(request.topics.len());
        for topic in &request.topics {
            let mut partitions = Vec::with_capacity(topic.partitions.len());
            for p in &topic.partitions {
                let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                let result = if !self.leaders.contains_key(&tp) {
                    Err(if self.partition_exists(&tp) {
                        ResponseError::NotLeaderOrFollower
                    } else {
                        ResponseError::UnknownTopicOrPartition
                    })
                } else {
                    self.store
                        .with_log(&tp, |log| log.delete_records_before(p.offset))
                        .unwrap_or(Err(ResponseError::NotLeaderOrFollower))
                };
                let base =
                    DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                partitions.push(match result {
                    Ok(low_watermark) => base.with_low_watermark(low_watermark),
                    Err(e) => base.with_error_code(e.code()).with_low_watermark(-1),
                });
            }
            topics.push(
                DeleteRecordsTopicResult::default()
                    .with_name(topic.name.clone())
                    .with_partitions(partitions),
            );
        }
        self.fetch_recheck = true;
        DeleteRecordsResponse::default().with_topics(topics)
    }
}
