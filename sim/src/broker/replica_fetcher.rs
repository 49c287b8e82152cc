//! The follower role (Kafka's `ReplicaFetcherThread`, one fetcher per leader broker): fetch from the
//! leader at the log end with the last fetched epoch, append what comes back, follow the leader's high
//! watermark and log start, and truncate when the leader reports a diverging epoch (KIP-595) or when the
//! follower fell behind the leader's log start.

use std::collections::BTreeMap;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::{FetchRequest, RequestKind, ResponseKind};

use super::output::CallTarget;
use super::state::{BrokerState, CallPurpose};
use super::topics::topic_name;
use super::trace::ClusterEvent;
use crate::cluster::replication::offset_truncation_state;
use crate::cluster::BrokerId;
use crate::log::TopicPartition;
use crate::net::TransportError;
use crate::ResponseError;

/// Fetch version of the replica fetcher: topic names, last fetched epoch and diverging epoch.
pub const REPLICA_FETCH_VERSION: i16 = 12;

impl BrokerState {
    /// Starts a fetch to every leader this broker follows that has none in flight.
    pub(super) fn maybe_fetch_from_leaders(&mut self) {
        if self.lifecycle.broker_epoch.is_none() {
            return;
        }
        let now_ms = self.now_ms;
        let me = self.config.broker_id;
        let mut by_leader: BTreeMap<BrokerId, Vec<(TopicPartition, i32)>> = BTreeMap::new();
        for topic in self.image.topics.values() {
            for p in &topic.partitions {
                if p.leader == me || !Self::has_leader(p.leader) || !p.replicas.contains(&me) {
                    continue;
                }
                let tp = TopicPartition::new(topic.name.clone(), p.partition);
                if self.partition_backoff.get(&tp).is_some_and(|&t| t > now_ms) {
                    continue;
                }
                by_leader
                    .entry(p.leader)
                    .or_default()
                    .push((tp, p.leader_epoch));
            }
        }
        for (leader, partitions) in by_leader {
            let fetcher = self.fetchers.entry(leader).or_default();
            if fetcher.in_flight || fetcher.retry_at_ms > now_ms {
                continue;
            }
            let mut sent = Vec::with_capacity(partitions.len());
            let mut topics: Vec<FetchTopic> = Vec::new();
            for (tp, leader_epoch) in partitions {
                let Some((fetch_offset, last_fetched_epoch, log_start)) =
                    self.store.with_log(&tp, |log| {
                        (
                            log.log_end_offset(),
                            log.epoch_cache().latest_epoch().unwrap_or(-1),
                            log.log_start_offset(),
                        )
                    })
                else {
                    continue;
                };
                let partition = FetchPartition::default()
                    .with_partition(tp.partition)
                    .with_current_leader_epoch(leader_epoch)
                    .with_fetch_offset(fetch_offset)
                    .with_last_fetched_epoch(last_fetched_epoch)
                    .with_log_start_offset(log_start)
                    .with_partition_max_bytes(self.config.replica_fetch_max_bytes);
                match topics.last_mut() {
                    Some(t) if t.topic.0.as_str() == tp.topic => t.partitions.push(partition),
                    _ => topics.push(
                        FetchTopic::default()
                            .with_topic(topic_name(&tp.topic))
                            .with_partitions(vec![partition]),
                    ),
                }
                sent.push((tp, leader_epoch, fetch_offset));
            }
            if sent.is_empty() {
                continue;
            }
            let request = FetchRequest::default()
                .with_replica_id(me.into())
                .with_max_wait_ms(self.config.replica_fetch_wait_max_ms)
                .with_min_bytes(self.config.replica_fetch_min_bytes)
                .with_max_bytes(self.config.replica_fetch_response_max_bytes)
                .with_session_epoch(-1)
                .with_topics(topics);
            let timeout_ms = self.config.request_timeout_ms;
            let result = self.call(
                CallPurpose::ReplicaFetch {
                    leader,
                    partitions: sent,
                },
                CallTarget::Broker(leader),
                REPLICA_FETCH_VERSION,
                RequestKind::Fetch(request),
                timeout_ms,
            );
            let backoff_ms = self.config.replica_fetch_backoff_ms;
            let fetcher = self.fetchers.entry(leader).or_default();
            match result {
                Ok(_) => fetcher.in_flight = true,
                Err(_) => fetcher.retry_at_ms = now_ms + backoff_ms,
            }
        }
    }

    /// When a fetcher or a partition backoff ends.
    pub(super) fn fetcher_timeout(&self) -> Option<u64> {
        let fetchers = self
            .fetchers
            .values()
            .filter(|f| !f.in_flight && f.retry_at_ms > self.now_ms)
            .map(|f| f.retry_at_ms);
        let partitions = self
            .partition_backoff
            .values()
            .copied()
            .filter(|&t| t > self.now_ms);
        fetchers.chain(partitions).min()
    }

    pub(super) fn handle_replica_fetch_result(
        &mut self,
        leader: BrokerId,
        partitions: Vec<(TopicPartition, i32, i64)>,
        result: Result<ResponseKind, TransportError>,
    ) {
        let now_ms = self.now_ms;
        let backoff_ms = self.config.replica_fetch_backoff_ms;
        let fetcher = self.fetchers.entry(leader).or_default();
        fetcher.in_flight = false;
        let response = match result {
            Ok(ResponseKind::Fetch(response)) if response.error_code == 0 => response,
            _ => {
                fetcher.retry_at_ms = now_ms + backoff_ms;
                return;
            }
        };
        let mut by_partition: BTreeMap<(String, i32), PartitionData> = BTreeMap::new();
        for topic in response.responses {
            for p in topic.partitions {
                by_partition.insert((topic.topic.0.to_string(), p.partition_index), p);
            }
        }
        for (tp, leader_epoch, fetch_offset) in partitions {
            let Some(data) = by_partition.remove(&(tp.topic.clone(), tp.partition)) else {
                continue;
            };
            // Drop answers for a leadership that has changed since the request left.
            let current = self.image.partition(&tp.topic, tp.partition);
            if current.is_none_or(|p| p.leader != leader || p.leader_epoch != leader_epoch) {
                continue;
            }
            if let Err(error) = self.apply_fetched(&tp, fetch_offset, data) {
                let _ = error;
                self.partition_backoff.insert(tp, now_ms + backoff_ms);
            }
        }
    }

    /// Applies one partition of the leader's answer to the follower's log.
    fn apply_fetched(
        &mut self,
        tp: &TopicPartition,
        fetch_offset: i64,
        data: PartitionData,
    ) -> Result<(), ResponseError> {
        if data.error_code != 0 {
            let error = ResponseError::try_from_code(data.error_code)
                .unwrap_or(ResponseError::UnknownServerError);
            if error == ResponseError::OffsetOutOfRange {
                self.handle_out_of_range(tp, data.log_start_offset, data.high_watermark);
                return Ok(());
            }
            return Err(error);
        }
        if data.diverging_epoch.epoch >= 0 || data.diverging_epoch.end_offset >= 0 {
            let answer = (data.diverging_epoch.epoch, data.diverging_epoch.end_offset);
            let truncated = self.store.with_log(tp, |log| {
                let state = offset_truncation_state(
                    answer,
                    |epoch| log.end_offset_for_epoch(epoch),
                    log.log_end_offset(),
                    log.high_watermark(),
                );
                let from = log.log_end_offset();
                log.truncate_to(state.offset);
                (from, log.log_end_offset())
            });
            if let Some((from_offset, to_offset)) = truncated {
                if from_offset != to_offset {
                    self.trace_truncation(tp, from_offset, to_offset);
                }
            }
            return Ok(());
        }
        let records = data.records.unwrap_or_default();
        self.store
            .with_log(tp, |log| {
                if log.log_end_offset() != fetch_offset {
                    // Our log moved while the fetch was out (truncated): refetch from the new end.
                    return Ok(());
                }
                if !records.is_empty() {
                    log.append_as_follower(&records)?;
                }
                log.update_high_watermark(data.high_watermark.min(log.log_end_offset()));
                // Kafka `maybeIncrementLogStartOffset` on the follower (bounded by its high watermark).
                if data.log_start_offset > log.log_start_offset()
                    && data.log_start_offset <= log.high_watermark()
                {
                    let _ = log.delete_records_before(data.log_start_offset);
                }
                Ok(())
            })
            .unwrap_or(Err(ResponseError::NotLeaderOrFollower))
    }

    fn handle_out_of_range(
        &mut self,
        tp: &TopicPartition,
        leader_log_start: i64,
        leader_high_watermark: i64,
    ) {
        let truncated = self.store.with_log(tp, |log| {
            let from = log.log_end_offset();
            if leader_log_start >= 0 && from < leader_log_start {
                // Far behind: the leader deleted what we miss; start over at its log start.
                log.truncate_fully_and_start_at(leader_log_start);
            } else if leader_high_watermark >= 0 && from > leader_high_watermark {
                log.truncate_to(leader_high_watermark);
            }
            (from, log.log_end_offset())
        });
        if let Some((from_offset, to_offset)) = truncated {
            if from_offset != to_offset {
                self.trace_truncation(tp, from_offset, to_offset);
            }
        }
    }

    fn trace_truncation(&mut self, tp: &TopicPartition, from_offset: i64, to_offset: i64) {
        self.trace(ClusterEvent::LogTruncated {
            topic: tp.topic.clone(),
            partition: tp.partition,
            from_offset,
            to_offset,
        });
    }
}
