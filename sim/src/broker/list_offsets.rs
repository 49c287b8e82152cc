//! ListOffsets on the leader: earliest (-2, and -4 earliest-local, -5 earliest-pending-upload: no
//! tiered storage here, so all are the log start), latest (-1: the high watermark, or the last stable
//! offset under read_committed), max timestamp (-3), and by timestamp (the first record whose timestamp
//! reaches it, found through the log's time index, as Kafka's `fetchOffsetByTimestamp`).

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::state::BrokerState;
use crate::log::TopicPartition;
use crate::ResponseError;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;
const EARLIEST_PENDING_UPLOAD: i64 = -5;
const READ_COMMITTED: i8 = 1;

impl BrokerState {
    pub(super) fn handle_list_offsets(&self, request: &ListOffsetsRequest) -> ListOffsetsResponse {
        let topics = request
            .topics
            .iter()
            .map(|topic| {
                let partitions = topic
                    .partitions
                    .iter()
                    .map(|p| {
                        let tp = TopicPartition::new(topic.name.0.to_string(), p.partition_index);
                        let base = ListOffsetsPartitionResponse::default()
                            .with_partition_index(p.partition_index);
                        match self.list_offset(
                            &tp,
                            p.current_leader_epoch,
                            p.timestamp,
                            request.isolation_level,
                        ) {
                            Ok((timestamp, offset, leader_epoch)) => base
                                .with_timestamp(timestamp)
                                .with_offset(offset)
                                .with_leader_epoch(leader_epoch),
                            Err(e) => base
                                .with_error_code(e.code())
                                .with_offset(-1)
                                .with_timestamp(-1),
                        }
                    })
                    .collect();
                ListOffsetsTopicResponse::default()
                    .with_name(topic.name.clone())
                    .with_partitions(partitions)
            })
            .collect();
        ListOffsetsResponse::default().with_topics(topics)
    }

    /// (timestamp, offset, leader epoch) for one partition.
    fn list_offset(
        &self,
        tp: &TopicPartition,
        current_leader_epoch: i32,
        timestamp: i64,
        isolation_level: i8,
    ) -> Result<(i64, i64, i32), ResponseError> {
        let Some(leader) = self.leaders.get(tp) else {
            return Err(if self.partition_exists(tp) {
                ResponseError::NotLeaderOrFollower
            } else {
                ResponseError::UnknownTopicOrPartition
            });
        };
        let leader_epoch = leader.leader_epoch();
        if current_leader_epoch >= 0 && current_leader_epoch < leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if current_leader_epoch > leader_epoch {
            return Err(ResponseError::UnknownLeaderEpoch);
        }
        self.store
            .with_log(tp, |log| match timestamp {
                EARLIEST | EARLIEST_LOCAL | EARLIEST_PENDING_UPLOAD => {
                    Ok((-1, log.log_start_offset(), leader_epoch))
                }
                LATEST => {
                    let offset = if isolation_level == READ_COMMITTED {
                        log.last_stable_offset()
                    } else {
                        log.high_watermark()
                    };
                    Ok((-1, offset, leader_epoch))
                }
                MAX_TIMESTAMP => Ok(log
                    .batches()
                    .iter()
                    .filter(|b| {
                        b.last_offset() < log.high_watermark() && !b.batch.header.is_control()
                    })
                    .max_by_key(|b| b.batch.header.max_timestamp_ms)
                    .map_or((-1, -1, leader_epoch), |b| {
                        (
                            b.batch.header.max_timestamp_ms,
                            b.base_offset(),
                            b.batch.header.partition_leader_epoch,
                        )
                    })),
                ts if ts >= 0 => {
                    let high_watermark = log.high_watermark();
                    Ok(
                        crate::log::offset_for_timestamp(log, ts, high_watermark).map_or(
                            (-1, -1, leader_epoch),
                            |found| {
                                let epoch = log
                                    .batches()
                                    .iter()
                                    .find(|b| b.last_offset() >= found.offset)
                                    .map_or(leader_epoch, |b| {
                                        b.batch.header.partition_leader_epoch
                                    });
                                (found.timestamp_ms, found.offset, epoch)
                            },
                        ),
                    )
                }
                _ => Err(ResponseError::InvalidRequest),
            })
            .ok_or(ResponseError::NotLeaderOrFollower)?
    }
}
