//! Fetch, served by the leader: consumers (read_uncommitted up to the high watermark, read_committed up
//! to the last stable offset with the aborted transactions) and followers (`replica_id` >= 0: up to the
//! log end, updating the follower's position, with KIP-320/KIP-595 leader-epoch checks and the diverging
//! epoch that makes a follower truncate). MinBytes/MaxWait: a fetch with too few bytes waits until data
//! arrives or MaxWait passes.
//!
//! Fetch sessions (KIP-227) are not kept: every response has session id 0, which tells a client asking
//! for a session that none was created (Kafka does that when its session cache is full), so clients send
//! full fetches.

use kafka_protocol::messages::fetch_response::{
    EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{FetchRequest, FetchResponse, ResponseKind};

use super::state::{BrokerState, DelayedFetch};
use crate::log::{FetchIsolation, TopicPartition};
use crate::net::ConnectionId;
use crate::ResponseError;

/// Fetch v13 names topics by id.
const FETCH_TOPIC_ID_VERSION: i16 = 13;
/// Fetch v15 moves the replica id into `replica_state`.
const FETCH_REPLICA_STATE_VERSION: i16 = 15;
/// Kafka's `IsolationLevel.READ_COMMITTED`.
const READ_COMMITTED: i8 = 1;

/// The replica id of a fetch: a broker id for followers, -1 for consumers.
pub(super) fn replica_id(request: &FetchRequest, api_version: i16) -> i32 {
    if api_version >= FETCH_REPLICA_STATE_VERSION {
        request.replica_state.replica_id.0
    } else {
        request.replica_id.0
    }
}

impl BrokerState {
    pub(super) fn handle_fetch(
        &mut self,
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        request: FetchRequest,
    ) {
        let deadline_ms = self.now_ms + request.max_wait_ms.max(0) as u64;
        let delayed = DelayedFetch {
            connection,
            correlation_id,
            api_version,
            request,
            deadline_ms,
        };
        if let Some(parked) = self.try_complete_fetch(delayed) {
            self.delayed_fetches.push(parked);
        }
    }

    /// Answers the fetch if it is ready (enough bytes, an error, a divergence, or its deadline passed);
    /// otherwise hands it back to wait.
    pub(super) fn try_complete_fetch(&mut self, fetch: DelayedFetch) -> Option<DelayedFetch> {
        let (response, bytes, urgent) = self.read_fetch(&fetch.request, fetch.api_version);
        let min_bytes = fetch.request.min_bytes.max(0) as usize;
        if urgent || bytes >= min_bytes || self.now_ms >= fetch.deadline_ms {
            self.respond(
                fetch.connection,
                fetch.correlation_id,
                fetch.api_version,
                ResponseKind::Fetch(response),
            );
            None
        } else {
            Some(fetch)
        }
    }

    /// Re-checks every parked fetch (after appends, high-watermark moves, leadership changes, time).
    pub(super) fn recheck_delayed_fetches(&mut self) {
        let mut passes = 0;
        while std::mem::take(&mut self.fetch_recheck) || passes == 0 {
            passes += 1;
            let parked = std::mem::take(&mut self.delayed_fetches);
            for fetch in parked {
                if let Some(still) = self.try_complete_fetch(fetch) {
                    self.delayed_fetches.push(still);
                }
            }
            if passes > 8 {
                break;
            }
        }
    }

    /// Builds the response: (response, record bytes, whether it must go now).
    fn read_fetch(
        &mut self,
        request: &FetchRequest,
        api_version: i16,
    ) -> (FetchResponse, usize, bool) {
        let follower = replica_id(request, api_version);
        let isolation = if follower >= 0 {
            FetchIsolation::LogEnd
        } else if request.isolation_level == READ_COMMITTED {
            FetchIsolation::TxnCommitted
        } else {
            FetchIsolation::HighWatermark
        };
        let by_id = api_version >= FETCH_TOPIC_ID_VERSION;
        let mut remaining = request.max_bytes.max(0) as usize;
        let mut total = 0usize;
        let mut urgent = false;
        let mut responses = Vec::with_capacity(request.topics.len());
        for topic in &request.topics {
            let resolved = self.resolve_topic(&topic.topic, topic.topic_id, by_id);
            let mut partitions = Vec::with_capacity(topic.partitions.len());
            for fp in &topic.partitions {
                let mut data = PartitionData::default()
                    .with_partition_index(fp.partition)
                    .with_high_watermark(-1)
                    .with_last_stable_offset(-1)
                    .with_log_start_offset(-1);
                let outcome = match &resolved {
                    Err(e) => Err(*e),
                    Ok((name, _)) => {
                        let tp = TopicPartition::new(name.clone(), fp.partition);
                        let max_bytes = (fp.partition_max_bytes.max(0) as usize).min(remaining);
                        self.read_partition(
                            &tp,
                            fp,
                            follower,
                            isolation,
                            max_bytes,
                            total == 0,
                            &mut data,
                        )
                        .inspect_err(|&e| {
                            if e == ResponseError::NotLeaderOrFollower
                                || e == ResponseError::FencedLeaderEpoch
                            {
                                let (leader, epoch) = self.current_leader(&tp);
                                data.current_leader = LeaderIdAndEpoch::default()
                                    .with_leader_id(leader.into())
                                    .with_leader_epoch(epoch);
                            }
                        })
                    }
                };
                match outcome {
                    Ok(bytes) => {
                        total += bytes;
                        remaining = remaining.saturating_sub(bytes);
                        if data.diverging_epoch.epoch >= 0 {
                            urgent = true;
                        }
                    }
                    Err(e) => {
                        data.error_code = e.code();
                        urgent = true;
                    }
                }
                partitions.push(data);
            }
            responses.push(
                FetchableTopicResponse::default()
                    .with_topic(topic.topic.clone())
                    .with_topic_id(topic.topic_id)
                    .with_partitions(partitions),
            );
        }
        (
            FetchResponse::default().with_responses(responses),
            total,
            urgent,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn read_partition(
        &mut self,
        tp: &TopicPartition,
        fp: &kafka_protocol::messages::fetch_request::FetchPartition,
        follower: i32,
        isolation: FetchIsolation,
        max_bytes: usize,
        min_one_batch: bool,
        data: &mut PartitionData,
    ) -> Result<usize, ResponseError> {
        let now_ms = self.now_ms;
        let Some(leader) = self.leaders.get(tp) else {
            return Err(if self.partition_exists(tp) {
                ResponseError::NotLeaderOrFollower
            } else {
                ResponseError::UnknownTopicOrPartition
            });
        };
        let leader_epoch = leader.leader_epoch();
        // KIP-320: a fetcher with an older epoch is fenced; a newer one means our metadata is behind.
        if fp.current_leader_epoch >= 0 {
            if fp.current_leader_epoch < leader_epoch {
                return Err(ResponseError::FencedLeaderEpoch);
            }
            if fp.current_leader_epoch > leader_epoch {
                return Err(ResponseError::UnknownLeaderEpoch);
            }
        }
        let offsets = self.store.with_log(tp, |log| {
            (
                log.log_start_offset(),
                log.high_watermark(),
                log.last_stable_offset(),
                log.end_offset_for_epoch(fp.last_fetched_epoch.max(0)),
            )
        });
        let Some((log_start, high_watermark, last_stable, epoch_end)) = offsets else {
            return Err(ResponseError::NotLeaderOrFollower);
        };
        data.log_start_offset = log_start;
        data.high_watermark = high_watermark;
        data.last_stable_offset = last_stable;
        if follower >= 0 {
            // KIP-595 divergence: the follower's last fetched epoch ends earlier here, or is unknown.
            if fp.last_fetched_epoch >= 0 {
                let (epoch, end_offset) = epoch_end;
                if epoch < fp.last_fetched_epoch || end_offset < fp.fetch_offset {
                    data.diverging_epoch = EpochEndOffset::default()
                        .with_epoch(epoch)
                        .with_end_offset(end_offset);
                    return Ok(0);
                }
            }
            let leader = self
                .leaders
                .get_mut(tp)
                .ok_or(ResponseError::NotLeaderOrFollower)?;
            leader.handle_follower_fetch(now_ms, follower, fp.fetch_offset)?;
            self.drain_leader(tp);
        }
        let read = self
            .store
            .with_log(tp, |log| {
                log.read(fp.fetch_offset, max_bytes, isolation, min_one_batch)
            })
            .ok_or(ResponseError::NotLeaderOrFollower)??;
        data.high_watermark = read.high_watermark;
        data.last_stable_offset = read.last_stable_offset;
        data.log_start_offset = read.log_start_offset;
        data.aborted_transactions = read
            .aborted_transactions
            .map(|txns| txns.iter().map(|t| t.to_fetch_response()).collect());
        let bytes = read.records.len();
        data.records = Some(read.records);
        Ok(bytes)
    }
}
