//! The share coordinator service on one broker (Kafka's `ShareCoordinatorService` over the
//! `CoordinatorRuntime`): one [`ShareCoordinatorShard`] per `__share_group_state` partition this broker
//! leads, requests routed to the shard that owns each key, records appended to the replicated
//! partition, and answers sent only once those records are committed (spec 3.1, 3.3, 3.4).
//!
//! Sans-IO. Inputs: [`handle_request`](ShareCoordinatorService::handle_request),
//! [`handle_become_leader`](ShareCoordinatorService::handle_become_leader) /
//! [`handle_resign`](ShareCoordinatorService::handle_resign) (leadership of `__share_group_state`
//! partitions), [`handle_high_watermark`](ShareCoordinatorService::handle_high_watermark),
//! [`handle_timeout`](ShareCoordinatorService::handle_timeout). Outputs:
//! [`poll_response`](ShareCoordinatorService::poll_response) and
//! [`poll_timeout`](ShareCoordinatorService::poll_timeout). The log is reached through
//! [`CoordinatorHost`].
//!
//! Choices where Kafka's runtime differs in mechanism:
//! * Loading replays the local replica synchronously when leadership arrives (Kafka loads on a thread);
//!   COORDINATOR_LOAD_IN_PROGRESS is answered only while the replica cannot be read yet (retried every
//!   [`LOAD_RETRY_INTERVAL_MS`]).
//! * Every answer, records or not, waits until everything the shard replayed before it is committed
//!   (Kafka defers record-less writes the same way; its read-only ReadShareGroupStateSummary reads the
//!   last committed snapshot instead, which this rule gives too, a little later).
//! * The write timeout (`share.coordinator.write.timeout.ms`) answers REQUEST_TIMED_OUT normalized to
//!   COORDINATOR_NOT_AVAILABLE; the records stay replayed, as in Kafka.

use std::collections::{BTreeMap, VecDeque};

use super::codec::{decode_share_record, encode_share_record};
use super::host::{normalize_append_error, CoordinatorHost};
use super::share_wire::{
    fill, flatten, PartitionAnswer, PartitionEntry, PartitionOp, ShareStateRequest,
    ShareStateResponse,
};
use crate::coordinator::placement::SHARE_GROUP_STATE_TOPIC_NAME;
use crate::coordinator::share::{
    ShareCoordinatorConfig, ShareCoordinatorRecord, ShareCoordinatorShard,
};
use crate::ResponseError;

/// Identifies one request to the node, which keeps what it needs to answer it (connection, correlation).
pub type RequestToken = u64;

/// How often a load that could not read the replica is retried.
pub const LOAD_RETRY_INTERVAL_MS: u64 = 100;

/// The share coordinator's broker configs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareCoordinatorServiceConfig {
    /// `share.coordinator.state.topic.num.partitions` (default 50).
    pub state_topic_num_partitions: i32,
    /// `share.coordinator.write.timeout.ms` (default 5000).
    pub write_timeout_ms: u64,
    /// The shards' configs.
    pub shard: ShareCoordinatorConfig,
}

impl Default for ShareCoordinatorServiceConfig {
    fn default() -> Self {
        ShareCoordinatorServiceConfig {
            state_topic_num_partitions: 50,
            write_timeout_ms: 5000,
            shard: ShareCoordinatorConfig::default(),
        }
    }
}

/// A partition answer waiting for the high watermark.
#[derive(Clone, Debug)]
struct PendingAnswer {
    token: RequestToken,
    topic_index: usize,
    partition_index: usize,
    /// Answer once the high watermark is above this offset.
    wait_offset: i64,
    deadline_ms: u64,
    answer: PartitionAnswer,
}

#[derive(Clone, Debug)]
struct HostedShard {
    leader_epoch: i32,
    shard: ShareCoordinatorShard,
    high_watermark: i64,
    /// In `wait_offset` order.
    pending: VecDeque<PendingAnswer>,
}

#[derive(Clone, Debug)]
enum Slot {
    Loading { leader_epoch: i32, retry_at_ms: u64 },
    Active(Box<HostedShard>),
}

#[derive(Clone, Debug)]
struct OpenRequest {
    response: ShareStateResponse,
    waiting: usize,
}

/// Counters for tests and reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ShareCoordinatorStats {
    /// Shards loaded (leadership gained and the partition replayed).
    pub loads: u64,
    /// Records replayed by loads.
    pub records_replayed: u64,
    /// Records skipped by loads because they did not decode.
    pub records_undecodable: u64,
    /// Answers that timed out waiting for their commit.
    pub write_timeouts: u64,
}

/// The share coordinator of one broker.
#[derive(Clone, Debug)]
pub struct ShareCoordinatorService {
    config: ShareCoordinatorServiceConfig,
    slots: BTreeMap<i32, Slot>,
    open: BTreeMap<RequestToken, OpenRequest>,
    responses: VecDeque<(RequestToken, ShareStateResponse)>,
    stats: ShareCoordinatorStats,
    now_ms: u64,
}

impl ShareCoordinatorService {
    /// A service leading no partition yet.
    pub fn new(config: ShareCoordinatorServiceConfig) -> ShareCoordinatorService {
        ShareCoordinatorService {
            config,
            slots: BTreeMap::new(),
            open: BTreeMap::new(),
            responses: VecDeque::new(),
            stats: ShareCoordinatorStats::default(),
            now_ms: 0,
        }
    }

    // ---- getters -------------------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ShareCoordinatorServiceConfig {
        &self.config
    }

    /// The shard of a `__share_group_state` partition, when it is loaded here.
    pub fn shard(&self, partition: i32) -> Option<&ShareCoordinatorShard> {
        match self.slots.get(&partition) {
            Some(Slot::Active(hosted)) => Some(&hosted.shard),
            _ => None,
        }
    }

    /// The partitions this broker coordinates (loaded or loading), with their leader epochs.
    pub fn hosted_partitions(&self) -> BTreeMap<i32, i32> {
        self.slots
            .iter()
            .map(|(partition, slot)| {
                let epoch = match slot {
                    Slot::Loading { leader_epoch, .. } => *leader_epoch,
                    Slot::Active(hosted) => hosted.leader_epoch,
                };
                (*partition, epoch)
            })
            .collect()
    }

    /// Counters.
    pub fn stats(&self) -> ShareCoordinatorStats {
        self.stats
    }

    /// Requests not answered yet.
    pub fn open_requests(&self) -> usize {
        self.open.len()
    }

    // ---- inputs --------------------------------------------------------------------------------------

    /// This broker became the leader of `__share_group_state`-`partition` at `leader_epoch`: the shard is
    /// rebuilt by replaying the partition (spec 3.3 replay). Answers pending under an older epoch fail
    /// with NOT_COORDINATOR.
    pub fn handle_become_leader(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        partition: i32,
        leader_epoch: i32,
    ) {
        self.advance(now_ms);
        if let Some(Slot::Active(hosted)) = self.slots.get(&partition) {
            if hosted.leader_epoch == leader_epoch {
                return;
            }
        }
        self.drop_slot(partition);
        self.load(host, partition, leader_epoch);
    }

    /// This broker no longer leads `__share_group_state`-`partition`: the shard is dropped and its
    /// pending answers fail with NOT_COORDINATOR.
    pub fn handle_resign(&mut self, now_ms: u64, partition: i32) {
        self.advance(now_ms);
        self.drop_slot(partition);
    }

    /// The high watermark of `__share_group_state`-`partition` moved: answers whose records are now
    /// committed go out.
    pub fn handle_high_watermark(&mut self, now_ms: u64, partition: i32, high_watermark: i64) {
        self.advance(now_ms);
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        hosted.high_watermark = hosted.high_watermark.max(high_watermark);
        hosted
            .shard
            .handle_commit(u64::try_from(hosted.high_watermark).unwrap_or(0));
        let mut ready = Vec::new();
        while let Some(front) = hosted.pending.front() {
            if front.wait_offset >= hosted.high_watermark {
                break;
            }
            ready.extend(hosted.pending.pop_front());
        }
        for answer in ready {
            self.complete(
                answer.token,
                answer.topic_index,
                answer.partition_index,
                Ok(answer.answer),
            );
        }
    }

    /// An append the service made through [`CoordinatorHost::append`] did not land where the host said
    /// (a broker that appends asynchronously reports the failure later): answers waiting on offsets from
    /// `first_offset` fail with `error` (normalized), and the shard is reloaded from the log, which
    /// undoes the records it had replayed.
    pub fn handle_append_failed(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        partition: i32,
        first_offset: i64,
        error: ResponseError,
    ) {
        self.advance(now_ms);
        let Some(Slot::Active(hosted)) = self.slots.get_mut(&partition) else {
            return;
        };
        let leader_epoch = hosted.leader_epoch;
        let (failed, kept): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut hosted.pending)
            .into_iter()
            .partition(|answer| answer.wait_offset >= first_offset);
        hosted.pending = kept;
        for answer in failed {
            let error = normalize_append_error(error);
            self.complete(
                answer.token,
                answer.topic_index,
                answer.partition_index,
                Err(error),
            );
        }
        let pending = match self.slots.remove(&partition) {
            Some(Slot::Active(hosted)) => hosted.pending,
            _ => VecDeque::new(),
        };
        self.load(host, partition, leader_epoch);
        match self.slots.get_mut(&partition) {
            Some(Slot::Active(hosted)) => hosted.pending = pending,
            _ => {
                for answer in pending {
                    let error = Err(ResponseError::CoordinatorLoadInProgress);
                    self.complete(
                        answer.token,
                        answer.topic_index,
                        answer.partition_index,
                        error,
                    );
                }
            }
        }
    }

    /// A share-state request (spec 3.3, 3.4). Each partition goes to the shard owning its key:
    /// NOT_COORDINATOR when this broker does not lead that `__share_group_state` partition,
    /// COORDINATOR_LOAD_IN_PROGRESS while it loads. The response comes out of
    /// [`poll_response`](Self::poll_response) once every partition is answered.
    pub fn handle_request(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        token: RequestToken,
        request: &ShareStateRequest,
    ) {
        self.advance(now_ms);
        let (entries, response) = flatten(request);
        self.open.insert(
            token,
            OpenRequest {
                response,
                waiting: entries.len(),
            },
        );
        if entries.is_empty() {
            self.finish_if_done(token);
            return;
        }
        for entry in entries {
            self.handle_partition(host, token, entry);
        }
    }

    /// Runs the shards' snapshot and prune jobs whose time came (spec 3.3), fails answers whose write
    /// timeout passed, and retries loads.
    pub fn handle_timeout(&mut self, now_ms: u64, host: &mut impl CoordinatorHost) {
        self.advance(now_ms);
        let partitions: Vec<i32> = self.slots.keys().copied().collect();
        for partition in partitions {
            match self.slots.get_mut(&partition) {
                Some(Slot::Loading {
                    leader_epoch,
                    retry_at_ms,
                }) if *retry_at_ms <= now_ms => {
                    let leader_epoch = *leader_epoch;
                    self.load(host, partition, leader_epoch);
                }
                Some(Slot::Active(hosted)) => {
                    if hosted.shard.poll_timeout() <= now_ms {
                        let jobs = hosted.shard.handle_timeout(now_ms);
                        if !jobs.records.is_empty() {
                            // Cold snapshots answer nobody; a failed append is simply not replayed.
                            let _ = Self::append(host, partition, hosted, &jobs.records);
                        }
                        if let Some(offset) = jobs.delete_records_before {
                            let offset = i64::try_from(offset).unwrap_or(i64::MAX);
                            host.delete_records_before(
                                SHARE_GROUP_STATE_TOPIC_NAME,
                                partition,
                                offset,
                            );
                        }
                    }
                    let mut expired = Vec::new();
                    hosted.pending.retain(|answer| {
                        let keep = answer.deadline_ms > now_ms;
                        if !keep {
                            expired.push(answer.clone());
                        }
                        keep
                    });
                    for answer in expired {
                        self.stats.write_timeouts += 1;
                        self.complete(
                            answer.token,
                            answer.topic_index,
                            answer.partition_index,
                            Err(normalize_append_error(ResponseError::RequestTimedOut)),
                        );
                    }
                }
                _ => {}
            }
        }
    }

    /// Topics were deleted from the cluster (spec 3.3): every hosted shard tombstones their keys.
    pub fn handle_topics_deleted(
        &mut self,
        now_ms: u64,
        host: &mut impl CoordinatorHost,
        topic_ids: &[crate::coordinator::share::TopicId],
    ) {
        self.advance(now_ms);
        for (partition, slot) in self.slots.iter_mut() {
            if let Slot::Active(hosted) = slot {
                let records = hosted.shard.handle_topics_deleted(topic_ids);
                if !records.is_empty() {
                    let _ = Self::append(host, *partition, hosted, &records);
                }
            }
        }
    }

    // ---- outputs -------------------------------------------------------------------------------------

    /// The next finished response.
    pub fn poll_response(&mut self) -> Option<(RequestToken, ShareStateResponse)> {
        self.responses.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work next.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots
            .values()
            .map(|slot| match slot {
                Slot::Loading { retry_at_ms, .. } => *retry_at_ms,
                Slot::Active(hosted) => {
                    let next_deadline = hosted.pending.iter().map(|a| a.deadline_ms).min();
                    next_deadline.map_or(hosted.shard.poll_timeout(), |deadline_ms| {
                        deadline_ms.min(hosted.shard.poll_timeout())
                    })
                }
            })
            .min()
    }

    // ---- internals -----------------------------------------------------------------------------------

    fn handle_partition(
        &mut self,
        host: &mut impl CoordinatorHost,
        token: RequestToken,
        entry: PartitionEntry,
    ) {
        let (t, p) = (entry.topic_index, entry.partition_index);
        let num_partitions = self.config.state_topic_num_partitions;
        let Some(partition) = entry.key.state_partition(num_partitions) else {
            return self.complete(token, t, p, Err(ResponseError::CoordinatorNotAvailable));
        };
        let hosted = match self.slots.get_mut(&partition) {
            None => return self.complete(token, t, p, Err(ResponseError::NotCoordinator)),
            Some(Slot::Loading { .. }) => {
                return self.complete(token, t, p, Err(ResponseError::CoordinatorLoadInProgress))
            }
            Some(Slot::Active(hosted)) => hosted,
        };
        let now_ms = self.now_ms;
        let shard = &hosted.shard;
        let (records, answer) = match &entry.op {
            PartitionOp::Invalid => (Vec::new(), Err(ResponseError::InvalidRequest)),
            PartitionOp::Read { leader_epoch } => {
                let result = shard.handle_read(now_ms, &entry.key, *leader_epoch);
                (result.records, result.response.map(PartitionAnswer::State))
            }
            PartitionOp::Write(write) => {
                let result = shard.handle_write(now_ms, &entry.key, write);
                (
                    result.records,
                    result.response.map(|()| PartitionAnswer::Done),
                )
            }
            PartitionOp::Initialize {
                state_epoch,
                start_offset,
            } => {
                let result =
                    shard.handle_initialize(now_ms, &entry.key, *state_epoch, *start_offset);
                (
                    result.records,
                    result.response.map(|()| PartitionAnswer::Done),
                )
            }
            PartitionOp::Delete => {
                let result = shard.handle_delete(&entry.key);
                (
                    result.records,
                    result.response.map(|()| PartitionAnswer::Done),
                )
            }
            PartitionOp::ReadSummary => (
                Vec::new(),
                shard.summary(&entry.key).map(PartitionAnswer::Summary),
            ),
        };
        // Kafka checks the metadata image after the shard's own checks (`maybeGetWriteStateError`).
        let needs_metadata = !matches!(entry.op, PartitionOp::Delete | PartitionOp::ReadSummary);
        let answer = answer.and_then(|answer| {
            if needs_metadata && !host.partition_exists(entry.key.topic_id_partition()) {
                Err(ResponseError::UnknownTopicOrPartition)
            } else {
                Ok(answer)
            }
        });
        let answer = match answer {
            Ok(answer) => answer,
            Err(error) => return self.complete(token, t, p, Err(error)),
        };
        let wait_offset = if records.is_empty() {
            i64::try_from(hosted.shard.next_log_offset()).unwrap_or(i64::MAX) - 1
        } else {
            match Self::append(host, partition, hosted, &records) {
                Ok(last_offset) => last_offset,
                Err(error) => return self.complete(token, t, p, Err(error)),
            }
        };
        if wait_offset < hosted.high_watermark {
            return self.complete(token, t, p, Ok(answer));
        }
        hosted.pending.push_back(PendingAnswer {
            token,
            topic_index: t,
            partition_index: p,
            wait_offset,
            deadline_ms: now_ms.saturating_add(self.config.write_timeout_ms),
            answer,
        });
    }

    /// Appends `records` to the shard's partition and replays them at their offsets; returns the last
    /// offset.
    fn append(
        host: &mut impl CoordinatorHost,
        partition: i32,
        hosted: &mut HostedShard,
        records: &[ShareCoordinatorRecord],
    ) -> Result<i64, ResponseError> {
        debug_assert!(!records.is_empty());
        let encoded = records.iter().map(encode_share_record).collect();
        let first_offset = host
            .append(
                SHARE_GROUP_STATE_TOPIC_NAME,
                partition,
                hosted.leader_epoch,
                encoded,
            )
            .map_err(normalize_append_error)?;
        let mut offset = first_offset;
        for record in records {
            hosted
                .shard
                .replay(u64::try_from(offset).unwrap_or(0), record);
            offset += 1;
        }
        Ok(offset - 1)
    }

    fn load(&mut self, host: &mut impl CoordinatorHost, partition: i32, leader_epoch: i32) {
        let log = match host.read_records(SHARE_GROUP_STATE_TOPIC_NAME, partition) {
            Ok(log) => log,
            Err(_) => {
                self.slots.insert(
                    partition,
                    Slot::Loading {
                        leader_epoch,
                        retry_at_ms: self.now_ms.saturating_add(LOAD_RETRY_INTERVAL_MS),
                    },
                );
                return;
            }
        };
        let mut records = Vec::with_capacity(log.len());
        for (offset, record) in &log {
            match decode_share_record(record) {
                Ok(decoded) => records.push((u64::try_from(*offset).unwrap_or(0), decoded)),
                Err(_) => self.stats.records_undecodable += 1,
            }
        }
        let high_watermark = host.high_watermark(SHARE_GROUP_STATE_TOPIC_NAME, partition);
        let shard = ShareCoordinatorShard::load(
            self.now_ms,
            self.config.shard.clone(),
            records.iter().map(|(offset, record)| (*offset, record)),
            u64::try_from(high_watermark).unwrap_or(0),
        );
        self.stats.loads += 1;
        self.stats.records_replayed += records.len() as u64;
        self.slots.insert(
            partition,
            Slot::Active(Box::new(HostedShard {
                leader_epoch,
                shard,
                high_watermark,
                pending: VecDeque::new(),
            })),
        );
    }

    fn drop_slot(&mut self, partition: i32) {
        if let Some(Slot::Active(hosted)) = self.slots.remove(&partition) {
            for answer in hosted.pending {
                self.complete(
                    answer.token,
                    answer.topic_index,
                    answer.partition_index,
                    Err(ResponseError::NotCoordinator),
                );
            }
        }
    }

    fn complete(
        &mut self,
        token: RequestToken,
        topic_index: usize,
        partition_index: usize,
        outcome: Result<PartitionAnswer, ResponseError>,
    ) {
        let Some(open) = self.open.get_mut(&token) else {
            debug_assert!(false, "an answer for an unknown request");
            return;
        };
        fill(&mut open.response, topic_index, partition_index, outcome);
        debug_assert!(open.waiting > 0);
        open.waiting -= 1;
        self.finish_if_done(token);
    }

    fn finish_if_done(&mut self, token: RequestToken) {
        if self.open.get(&token).is_some_and(|open| open.waiting == 0) {
            let open = self.open.remove(&token).expect("checked above");
            self.responses.push_back((token, open.response));
        }
    }

    fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = self.now_ms.max(now_ms);
    }
}
