//! Produce: append each partition's batch as leader; answer at once (acks=1, errors), when the high
//! watermark passes every batch (acks=all, the purgatory, REQUEST_TIMED_OUT after `timeout_ms`), or never
//! (acks=0).

use bytes::Bytes;
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, ResponseKind};

use super::service::AppendRecords;
use super::state::{AppendWaiter, BrokerState, PendingProduce};
use crate::cluster::replication::Acks;
use crate::log::{AppendInfo, TopicPartition};
use crate::net::ConnectionId;
use crate::ResponseError;

/// Produce v13 names topics by id.
const PRODUCE_TOPIC_ID_VERSION: i16 = 13;
/// Produce v10 answers NOT_LEADER_OR_FOLLOWER with the current leader (KIP-951).
const PRODUCE_CURRENT_LEADER_VERSION: i16 = 10;

/// Fills one partition's answer from the append's outcome.
pub(super) fn fill_partition_response(
    p: &mut PartitionProduceResponse,
    result: Result<AppendInfo, ResponseError>,
) {
    match result {
        Ok(info) => {
            p.error_code = 0;
            p.base_offset = info.first_offset;
            p.log_append_time_ms = info.log_append_time_ms;
            p.log_start_offset = info.log_start_offset;
        }
        Err(e) => {
            p.error_code = e.code();
            p.base_offset = -1;
            p.log_append_time_ms = -1;
            p.log_start_offset = -1;
        }
    }
}

impl BrokerState {
    pub(super) fn handle_produce(
        &mut self,
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        request: ProduceRequest,
    ) {
        let acks = Acks::from_wire(request.acks);
        let timeout_ms = request.timeout_ms.max(0) as u64;
        let by_id = api_version >= PRODUCE_TOPIC_ID_VERSION;
        let mut response = ProduceResponse::default();
        let mut to_append: Vec<(usize, usize, TopicPartition, Bytes)> = Vec::new();
        for (topic_index, topic) in request.topic_data.into_iter().enumerate() {
            let resolved = self.resolve_topic(&topic.name, topic.topic_id, by_id);
            let mut partition_responses = Vec::with_capacity(topic.partition_data.len());
            for (partition_index, data) in topic.partition_data.into_iter().enumerate() {
                let mut p = PartitionProduceResponse::default().with_index(data.index);
                let checked = match (&resolved, acks) {
                    (Err(e), _) => Err(*e),
                    (_, Err(e)) => Err(e),
                    (Ok((name, _)), Ok(_)) => {
                        let tp = TopicPartition::new(name.clone(), data.index);
                        if self.partition_exists(&tp) {
                            Ok(tp)
                        } else {
                            Err(ResponseError::UnknownTopicOrPartition)
                        }
                    }
                };
                match checked {
                    Ok(tp) => to_append.push((
                        topic_index,
                        partition_index,
                        tp,
                        data.records.unwrap_or_default(),
                    )),
                    Err(e) => fill_partition_response(&mut p, Err(e)),
                }
                partition_responses.push(p);
            }
            response.responses.push(
                TopicProduceResponse::default()
                    .with_name(topic.name)
                    .with_topic_id(topic.topic_id)
                    .with_partition_responses(partition_responses),
            );
        }
        let acks = match acks {
            Ok(acks) => acks,
            Err(_) => {
                self.respond(
                    connection,
                    correlation_id,
                    api_version,
                    ResponseKind::Produce(response),
                );
                return;
            }
        };
        let request_key = self.next_id();
        if acks != Acks::None {
            // Registered before appending: acks=1 completes during the append itself.
            self.produces.insert(
                request_key,
                PendingProduce {
                    connection,
                    correlation_id,
                    api_version,
                    response,
                    waiting: to_append.len() + 1,
                },
            );
        }
        for (topic_index, partition_index, tp, records) in to_append {
            let appended = self.append_as_leader(
                &tp,
                &AppendRecords::Batch(records),
                acks,
                timeout_ms,
                |info| {
                    Some(AppendWaiter::Produce {
                        request_key,
                        topic_index,
                        partition_index,
                        info,
                    })
                },
            );
            if let Err(error) = appended {
                if error == ResponseError::NotLeaderOrFollower
                    && api_version >= PRODUCE_CURRENT_LEADER_VERSION
                {
                    let (leader, epoch) = self.current_leader(&tp);
                    if let Some(p) =
                        self.produce_partition_mut(request_key, topic_index, partition_index)
                    {
                        p.current_leader = LeaderIdAndEpoch::default()
                            .with_leader_id(leader.into())
                            .with_leader_epoch(epoch);
                    }
                }
                self.complete_produce_partition(
                    request_key,
                    topic_index,
                    partition_index,
                    Err(error),
                );
            }
        }
        // The extra count held the response back while appending; release it.
        if let Some(pending) = self.produces.get_mut(&request_key) {
            pending.waiting -= 1;
            if pending.waiting == 0 {
                if let Some(done) = self.produces.remove(&request_key) {
                    self.respond(
                        done.connection,
                        done.correlation_id,
                        done.api_version,
                        ResponseKind::Produce(done.response),
                    );
                }
            }
        }
    }

    fn produce_partition_mut(
        &mut self,
        request_key: u64,
        topic_index: usize,
        partition_index: usize,
    ) -> Option<&mut PartitionProduceResponse> {
        self.produces
            .get_mut(&request_key)?
            .response
            .responses
            .get_mut(topic_index)?
            .partition_responses
            .get_mut(partition_index)
    }
}
