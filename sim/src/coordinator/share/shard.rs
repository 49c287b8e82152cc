//! One share coordinator shard: the state kept for one `__share_group_state` partition, as a sans-IO
//! engine (spec 3.3, 3.4, 5.3; `ShareCoordinatorShard`).
//!
//! Per key (group id, topic id, partition) the shard keeps the image built from ShareSnapshot and
//! ShareUpdate records, the largest leader and state epochs seen (tracked apart from the image: Initialize
//! resets the image's leader epoch to 0 but fencing keeps the maximum), the number of updates since the
//! last snapshot, and the log offset of the latest snapshot (for pruning).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::records::{ShareRecordValue, ShareUpdateValue};
use super::{
    combine_state_batches, ShareCoordinatorConfig, ShareCoordinatorRecord, SharePartitionKey,
    ShareStateImage, TopicId,
};
use crate::share::{PersistedShareState, StateBatch, WriteShareGroupState};
use crate::ResponseError;

/// What a request produced: the records to append to `__share_group_state`, in order, and the response to
/// send once they have all committed (at once when there are none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoordinatorResult<T> {
    /// Append these, then [`ShareCoordinatorShard::replay`] each at its log offset.
    pub records: Vec<ShareCoordinatorRecord>,
    /// Send after the records committed (replicated up to the high watermark).
    pub response: T,
}

impl<T> CoordinatorResult<Result<T, ResponseError>> {
    fn error(error: ResponseError) -> Self {
        CoordinatorResult {
            records: Vec::new(),
            response: Err(error),
        }
    }
}

/// `ReadShareGroupStateSummary`'s answer for one key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ShareStateSummary {
    /// The stored state epoch (0 for a key never initialized).
    pub state_epoch: i32,
    /// The stored leader epoch (0 for a key never initialized).
    pub leader_epoch: i32,
    /// The stored start offset (-1 for a key never initialized).
    pub start_offset: i64,
    /// The stored delivery-complete count, or -1.
    pub delivery_complete_count: i32,
}

/// Background work the shard asks for when its timers fire.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShardJobs {
    /// Cold-partition snapshots to append (and replay), with no response attached.
    pub records: Vec<ShareCoordinatorRecord>,
    /// Delete the `__share_group_state` partition's records below this offset (`deleteRecords`).
    pub delete_records_before: Option<u64>,
}

/// Everything the shard keeps for one key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KeyState {
    image: ShareStateImage,
    /// The largest leader epoch of any record replayed for the key (`leaderEpochMap`).
    leader_epoch_max: i32,
    /// The largest state epoch of any snapshot replayed for the key (`stateEpochMap`).
    state_epoch_max: i32,
    /// ShareUpdates replayed since the last snapshot of the key.
    updates_since_snapshot: u32,
    /// The log offset of the key's latest snapshot: nothing of the key below it is needed any more.
    snapshot_log_offset: u64,
}

impl KeyState {
    /// The latest snapshot of the key was a cold-partition snapshot, which keeps the create timestamp and
    /// moves the write timestamp (Kafka's test: `createTimestamp != writeTimestamp`). Updates carry no
    /// timestamps, so an update after it does not change this.
    fn is_cold_snapshotted(&self) -> bool {
        self.image.create_timestamp_ms != self.image.write_timestamp_ms
    }
}

/// The share coordinator state of one `__share_group_state` partition.
///
/// Methods come in the quinn families:
/// * getters: [`image`](Self::image), [`summary`](Self::summary), [`last_redundant_offset`]
///   (Self::last_redundant_offset), ...;
/// * requests: `handle_write`, `handle_read`, `handle_initialize`, `handle_delete` take `&self`, because
///   the image changes only when a record is replayed (as in Kafka's coordinator runtime). Each returns
///   the records to append and the response to send once they commit;
/// * log input: [`replay`](Self::replay) every record at its log offset, in log order: the records just
///   emitted (when appended), or the whole partition when the shard is loaded after a failover; then
///   [`handle_commit`](Self::handle_commit) with the high watermark;
/// * timers: [`poll_timeout`](Self::poll_timeout) gives the next deadline, and
///   [`handle_timeout`](Self::handle_timeout) returns the cold-snapshot records and the prune offset.
///
/// Contract with the node: handle one request at a time, and replay its records before the next
/// `handle_*` call, so that every request sees the state its predecessors wrote. If an append fails, the
/// records are not replayed and the response becomes the append's error; if the partition is lost, the
/// node drops the shard and the next owner rebuilds it by replay. `now_ms` never goes backwards.
#[derive(Clone, Debug)]
pub struct ShareCoordinatorShard {
    config: ShareCoordinatorConfig,
    keys: BTreeMap<SharePartitionKey, KeyState>,
    /// The `snapshot_log_offset` of every key, to find their minimum quickly (one record per offset).
    snapshot_log_offsets: BTreeSet<u64>,
    /// One past the last replayed log offset.
    next_log_offset: u64,
    /// (log offset, redundant offset once that record is in) of replayed records not yet committed.
    uncommitted_redundant_offsets: VecDeque<(u64, u64)>,
    /// Records below this offset are redundant, counting committed records only.
    committed_redundant_offset: u64,
    /// The last `delete_records_before` handed out.
    pruned_before_offset: u64,
    /// When the cold-partition snapshot job runs next.
    cold_snapshot_deadline_ms: u64,
    /// When the prune job runs next.
    prune_deadline_ms: u64,
}

impl ShareCoordinatorShard {
    /// An empty shard whose timers start counting at `now_ms`.
    pub fn new(now_ms: u64, config: ShareCoordinatorConfig) -> ShareCoordinatorShard {
        let cold_snapshot_deadline_ms =
            now_ms.saturating_add(config.cold_partition_snapshot_interval_ms.max(1));
        let prune_deadline_ms = now_ms.saturating_add(config.state_topic_prune_interval_ms.max(1));
        ShareCoordinatorShard {
            config,
            keys: BTreeMap::new(),
            snapshot_log_offsets: BTreeSet::new(),
            next_log_offset: 0,
            uncommitted_redundant_offsets: VecDeque::new(),
            committed_redundant_offset: 0,
            pruned_before_offset: 0,
            cold_snapshot_deadline_ms,
            prune_deadline_ms,
        }
    }

    /// A shard rebuilt from its `__share_group_state` partition when the coordinator takes it over
    /// (failover, restart): every record replayed in log order, records below `committed_end_offset`
    /// (the high watermark) counted as committed.
    pub fn load<'a>(
        now_ms: u64,
        config: ShareCoordinatorConfig,
        log: impl IntoIterator<Item = (u64, &'a ShareCoordinatorRecord)>,
        committed_end_offset: u64,
    ) -> ShareCoordinatorShard {
        let mut shard = ShareCoordinatorShard::new(now_ms, config);
        for (log_offset, record) in log {
            shard.replay(log_offset, record);
        }
        shard.handle_commit(committed_end_offset);
        shard
    }

    // ---- getters -------------------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ShareCoordinatorConfig {
        &self.config
    }

    /// The image of `key`, if it is initialized.
    pub fn image(&self, key: &SharePartitionKey) -> Option<&ShareStateImage> {
        self.keys.get(key).map(|state| &state.image)
    }

    /// Every initialized key with its image, in key order.
    pub fn images(&self) -> impl Iterator<Item = (&SharePartitionKey, &ShareStateImage)> {
        self.keys.iter().map(|(key, state)| (key, &state.image))
    }

    /// The largest (leader epoch, state epoch) replayed for `key`: what fencing compares with.
    pub fn epochs_max(&self, key: &SharePartitionKey) -> Option<(i32, i32)> {
        self.keys
            .get(key)
            .map(|state| (state.leader_epoch_max, state.state_epoch_max))
    }

    /// ShareUpdates replayed for `key` since its last snapshot.
    pub fn updates_since_snapshot(&self, key: &SharePartitionKey) -> Option<u32> {
        self.keys.get(key).map(|state| state.updates_since_snapshot)
    }

    /// One past the last replayed log offset.
    pub fn next_log_offset(&self) -> u64 {
        self.next_log_offset
    }

    /// The "last redundant offset": every committed record below it is superseded by a later committed
    /// snapshot (or belongs to a deleted key), so it may be deleted. It is the minimum of the keys' latest
    /// snapshot offsets, or everything replayed when no key is left (`ShareCoordinatorOffsetsManager`).
    pub fn last_redundant_offset(&self) -> u64 {
        self.committed_redundant_offset
    }

    /// `ReadShareGroupStateSummary`: the stored start offset, delivery-complete count and epochs. Leader
    /// epochs are not checked: the group coordinator, which asks, knows none. A key never initialized
    /// answers start offset -1 and state epoch 0 (Kafka's `PartitionFactory` defaults).
    pub fn summary(&self, key: &SharePartitionKey) -> Result<ShareStateSummary, ResponseError> {
        validate_key(key)?;
        let summary = match self.keys.get(key) {
            Some(state) => ShareStateSummary {
                state_epoch: state.image.state_epoch,
                leader_epoch: state.image.leader_epoch,
                start_offset: state.image.start_offset,
                delivery_complete_count: state.image.delivery_complete_count,
            },
            None => ShareStateSummary {
                state_epoch: 0,
                leader_epoch: 0,
                start_offset: -1,
                delivery_complete_count: -1,
            },
        };
        Ok(summary)
    }

    // ---- requests ------------------------------------------------------------------------------------

    /// `WriteShareGroupState` for one key (spec 3.3, 3.4).
    ///
    /// Checks, in Kafka's order: a bad key or negative epochs → INVALID_REQUEST; a key never initialized →
    /// INVALID_REQUEST; a leader epoch below the largest seen → FENCED_LEADER_EPOCH; a state epoch below
    /// the largest seen → FENCED_STATE_EPOCH. (Topics missing from metadata, UNKNOWN_TOPIC_OR_PARTITION,
    /// are the node's check: the shard has no metadata.)
    ///
    /// Then the start offset never regresses (`max(request, stored)`), the delivery-complete count follows
    /// the spec 3.3 rule, and the result is a ShareUpdate carrying the request's batches, or a ShareSnapshot
    /// of the fully merged state once the key's update budget is spent.
    pub fn handle_write(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        request: &WriteShareGroupState,
    ) -> CoordinatorResult<Result<(), ResponseError>> {
        match self.write_record(now_ms, key, request) {
            Ok(record) => CoordinatorResult {
                records: vec![record],
                response: Ok(()),
            },
            Err(error) => CoordinatorResult::error(error),
        }
    }

    /// `ReadShareGroupState` for one key, by a share-partition leader at `leader_epoch` (spec 3.4, 3.5).
    ///
    /// A lower leader epoch than the largest seen is FENCED_LEADER_EPOCH. A leader epoch different from
    /// the image's appends a record carrying it and no batches (a ShareUpdate, or a ShareSnapshot when the
    /// update budget is spent): the read itself fences older leaders. The response is the image as it is
    /// once that record is in.
    pub fn handle_read(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        leader_epoch: i32,
    ) -> CoordinatorResult<Result<PersistedShareState, ResponseError>> {
        let state = match self.readable_state(key, leader_epoch) {
            Ok(state) => state,
            Err(error) => return CoordinatorResult::error(error),
        };
        // Compared with the image's epoch, not the maximum: after an Initialize (image epoch 0) the current
        // leader's read writes its epoch back into the image. The spec says "different (higher)".
        if state.image.leader_epoch == leader_epoch {
            return CoordinatorResult {
                records: Vec::new(),
                response: Ok(state.image.to_persisted()),
            };
        }
        let mut next = state.image.clone();
        next.leader_epoch = leader_epoch;
        let (record, next) = self.state_record(now_ms, key, state, next, Vec::new());
        CoordinatorResult {
            records: vec![record],
            response: Ok(next.to_persisted()),
        }
    }

    /// `InitializeShareGroupState` for one key (spec 3.4, 5.1, 5.3): from the group coordinator when a
    /// share partition is first used, and on AlterShareGroupOffsets.
    ///
    /// A state epoch below the largest seen is FENCED_STATE_EPOCH. The same state epoch and start offset
    /// as stored is an idempotent no-op. Otherwise a fresh snapshot: empty batches, SnapshotEpoch previous+1
    /// (or 0), LeaderEpoch 0 (the maximum kept for fencing stays), DeliveryCompleteCount -1 when the start
    /// offset is -1, else 0. Negative state epochs and start offsets below -1 are INVALID_REQUEST.
    pub fn handle_initialize(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        state_epoch: i32,
        start_offset: i64,
    ) -> CoordinatorResult<Result<(), ResponseError>> {
        match self.initialize_record(now_ms, key, state_epoch, start_offset) {
            Ok(records) => CoordinatorResult {
                records,
                response: Ok(()),
            },
            Err(error) => CoordinatorResult::error(error),
        }
    }

    /// `DeleteShareGroupState` for one key (spec 5.3): a tombstone. Deleting a key that does not exist
    /// succeeds with nothing to append.
    pub fn handle_delete(
        &self,
        key: &SharePartitionKey,
    ) -> CoordinatorResult<Result<(), ResponseError>> {
        if let Err(error) = validate_key(key) {
            return CoordinatorResult::error(error);
        }
        let records = if self.keys.contains_key(key) {
            vec![ShareCoordinatorRecord {
                key: key.clone(),
                value: ShareRecordValue::Tombstone,
            }]
        } else {
            Vec::new()
        };
        CoordinatorResult {
            records,
            response: Ok(()),
        }
    }

    /// Topics were deleted from the cluster metadata (spec 3.3, `maybeCleanupShareState`): a tombstone
    /// for every key of those topics, to append like a request's records, with no response.
    pub fn handle_topics_deleted(&self, topic_ids: &[TopicId]) -> Vec<ShareCoordinatorRecord> {
        self.keys
            .keys()
            .filter(|key| topic_ids.contains(&key.topic_id))
            .map(|key| ShareCoordinatorRecord {
                key: key.clone(),
                value: ShareRecordValue::Tombstone,
            })
            .collect()
    }

    // ---- log input -----------------------------------------------------------------------------------

    /// Applies one record of the partition at `log_offset` (spec 3.3 replay): a snapshot replaces the
    /// image, an update is merged, a tombstone deletes the key. The largest leader and state epochs are
    /// tracked apart from the image. Offsets must increase from one call to the next.
    pub fn replay(&mut self, log_offset: u64, record: &ShareCoordinatorRecord) {
        debug_assert!(
            log_offset >= self.next_log_offset,
            "records are replayed in log order: {log_offset} after {}",
            self.next_log_offset
        );
        match &record.value {
            ShareRecordValue::Snapshot(snapshot) => {
                let image = ShareStateImage::from_snapshot(snapshot);
                if let Some(state) = self.keys.get_mut(&record.key) {
                    self.snapshot_log_offsets.remove(&state.snapshot_log_offset);
                    state.leader_epoch_max = state.leader_epoch_max.max(image.leader_epoch);
                    state.state_epoch_max = state.state_epoch_max.max(image.state_epoch);
                    state.image = image;
                    state.updates_since_snapshot = 0;
                    state.snapshot_log_offset = log_offset;
                } else {
                    let state = KeyState {
                        leader_epoch_max: image.leader_epoch,
                        state_epoch_max: image.state_epoch,
                        image,
                        updates_since_snapshot: 0,
                        snapshot_log_offset: log_offset,
                    };
                    self.keys.insert(record.key.clone(), state);
                }
                self.snapshot_log_offsets.insert(log_offset);
            }
            ShareRecordValue::Update(update) => {
                if let Some(state) = self.keys.get_mut(&record.key) {
                    state.image.apply_update(update);
                    state.leader_epoch_max = state.leader_epoch_max.max(update.leader_epoch);
                    state.updates_since_snapshot = state.updates_since_snapshot.saturating_add(1);
                } else {
                    // No snapshot before it: the update is the whole image, and the oldest record of the
                    // key, so pruning must keep it.
                    let image = ShareStateImage::from_orphan_update(update);
                    let state = KeyState {
                        leader_epoch_max: image.leader_epoch,
                        state_epoch_max: image.state_epoch,
                        image,
                        updates_since_snapshot: 1,
                        snapshot_log_offset: log_offset,
                    };
                    self.keys.insert(record.key.clone(), state);
                    self.snapshot_log_offsets.insert(log_offset);
                }
            }
            ShareRecordValue::Tombstone => {
                if let Some(state) = self.keys.remove(&record.key) {
                    self.snapshot_log_offsets.remove(&state.snapshot_log_offset);
                }
            }
        }
        self.next_log_offset = log_offset.saturating_add(1);
        let redundant_offset = self.redundant_offset();
        self.uncommitted_redundant_offsets
            .push_back((log_offset, redundant_offset));
        self.check_invariants(&record.key);
    }

    /// The partition's high watermark moved: records below `committed_end_offset` are committed. Only
    /// committed snapshots let older records be pruned, since an uncommitted one may yet be truncated.
    pub fn handle_commit(&mut self, committed_end_offset: u64) {
        while let Some(&(log_offset, redundant_offset)) = self.uncommitted_redundant_offsets.front()
        {
            if log_offset >= committed_end_offset {
                break;
            }
            self.uncommitted_redundant_offsets.pop_front();
            debug_assert!(redundant_offset <= log_offset.saturating_add(1));
            self.committed_redundant_offset = self.committed_redundant_offset.max(redundant_offset);
        }
    }

    // ---- timers --------------------------------------------------------------------------------------

    /// The next time [`handle_timeout`](Self::handle_timeout) has work: the earlier of the cold-partition
    /// snapshot job and the prune job.
    pub fn poll_timeout(&self) -> u64 {
        self.cold_snapshot_deadline_ms.min(self.prune_deadline_ms)
    }

    /// Runs the jobs whose deadline passed and re-arms them (spec 3.3):
    /// * cold-partition snapshots (`share.coordinator.cold.partition.snapshot.interval.ms`): unless every
    ///   key is already cold-snapshotted, every key whose last snapshot was written more than the interval
    ///   ago gets a snapshot with SnapshotEpoch+1 (`snapshotColdPartitions`);
    /// * pruning (`share.coordinator.state.topic.prune.interval.ms`): the last redundant offset, when it
    ///   moved since the last prune.
    pub fn handle_timeout(&mut self, now_ms: u64) -> ShardJobs {
        let mut jobs = ShardJobs::default();
        if now_ms >= self.cold_snapshot_deadline_ms {
            jobs.records = self.cold_snapshot_records(now_ms);
            let interval_ms = self.config.cold_partition_snapshot_interval_ms.max(1);
            self.cold_snapshot_deadline_ms = now_ms.saturating_add(interval_ms);
        }
        if now_ms >= self.prune_deadline_ms {
            if self.committed_redundant_offset > self.pruned_before_offset {
                self.pruned_before_offset = self.committed_redundant_offset;
                jobs.delete_records_before = Some(self.pruned_before_offset);
            }
            let interval_ms = self.config.state_topic_prune_interval_ms.max(1);
            self.prune_deadline_ms = now_ms.saturating_add(interval_ms);
        }
        debug_assert!(
            self.poll_timeout() > now_ms,
            "each job that ran is re-armed in the future"
        );
        jobs
    }

    // ---- internals -----------------------------------------------------------------------------------

    fn write_record(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        request: &WriteShareGroupState,
    ) -> Result<ShareCoordinatorRecord, ResponseError> {
        validate_key(key)?;
        if request.state_epoch < 0 || request.leader_epoch < 0 {
            return Err(ResponseError::InvalidRequest);
        }
        // "Write operation on uninitialized share partition not allowed".
        let state = self.keys.get(key).ok_or(ResponseError::InvalidRequest)?;
        // Kafka checks the leader epoch first (`maybeGetWriteStateError`); the spec does not order them.
        let fenced = request.leader_epoch < state.leader_epoch_max;
        if fenced && !self.config.skip_leader_epoch_fencing {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if request.state_epoch < state.state_epoch_max {
            return Err(ResponseError::FencedStateEpoch);
        }
        let current = &state.image;
        let start_offset = request.start_offset.max(current.start_offset);
        let mut next = current.clone();
        next.leader_epoch = request.leader_epoch;
        next.start_offset = start_offset;
        next.delivery_complete_count = self.delivery_complete_count_after_write(current, request);
        next.state_batches =
            combine_state_batches(&current.state_batches, &request.state_batches, start_offset);
        // The request's batches may overlap each other: merge them among themselves first.
        let delta_batches = combine_state_batches(&[], &request.state_batches, start_offset);
        let (record, _) = self.state_record(now_ms, key, state, next, delta_batches);
        Ok(record)
    }

    /// Spec 3.3: the maximum of old and new when the start offsets are equal, the old value when the
    /// request's start offset is behind, the request's value otherwise. Always -1 before KIP-1226.
    fn delivery_complete_count_after_write(
        &self,
        current: &ShareStateImage,
        request: &WriteShareGroupState,
    ) -> i32 {
        if !self.config.delivery_complete_count {
            return -1;
        }
        match request.start_offset.cmp(&current.start_offset) {
            std::cmp::Ordering::Equal => current
                .delivery_complete_count
                .max(request.delivery_complete_count),
            std::cmp::Ordering::Less => current.delivery_complete_count,
            std::cmp::Ordering::Greater => request.delivery_complete_count,
        }
    }

    fn readable_state(
        &self,
        key: &SharePartitionKey,
        leader_epoch: i32,
    ) -> Result<&KeyState, ResponseError> {
        validate_key(key)?;
        if leader_epoch < 0 {
            return Err(ResponseError::InvalidRequest);
        }
        // "Read operation on uninitialized share partition not allowed".
        let state = self.keys.get(key).ok_or(ResponseError::InvalidRequest)?;
        if leader_epoch < state.leader_epoch_max {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        Ok(state)
    }

    fn initialize_record(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        state_epoch: i32,
        start_offset: i64,
    ) -> Result<Vec<ShareCoordinatorRecord>, ResponseError> {
        validate_key(key)?;
        if state_epoch < 0 || start_offset < -1 {
            return Err(ResponseError::InvalidRequest);
        }
        let existing = self.keys.get(key);
        if let Some(state) = existing {
            if state_epoch < state.state_epoch_max {
                return Err(ResponseError::FencedStateEpoch);
            }
            if state.image.state_epoch == state_epoch && state.image.start_offset == start_offset {
                return Ok(Vec::new());
            }
        }
        let timestamp_ms = timestamp_ms(now_ms);
        let image = ShareStateImage {
            // Wraps only after 2^31 snapshots of one key; saturate rather than overflow.
            snapshot_epoch: existing
                .map_or(0, |state| state.image.snapshot_epoch.saturating_add(1)),
            state_epoch,
            // `ShareGroupOffset.UNINITIALIZED_EPOCH`; the shard's maximum keeps any higher epoch.
            leader_epoch: 0,
            start_offset,
            delivery_complete_count: if self.config.delivery_complete_count && start_offset != -1 {
                0
            } else {
                -1
            },
            create_timestamp_ms: timestamp_ms,
            write_timestamp_ms: timestamp_ms,
            state_batches: Vec::new(),
        };
        Ok(vec![ShareCoordinatorRecord {
            key: key.clone(),
            value: ShareRecordValue::Snapshot(image.to_snapshot_value()),
        }])
    }

    /// The record that takes `state` to `next`: a ShareUpdate carrying `delta_batches`, or, when the key
    /// has had its budget of updates since the last snapshot, a ShareSnapshot of `next` with
    /// SnapshotEpoch+1. Returns the record and the image it produces once replayed.
    fn state_record(
        &self,
        now_ms: u64,
        key: &SharePartitionKey,
        state: &KeyState,
        mut next: ShareStateImage,
        delta_batches: Vec<StateBatch>,
    ) -> (ShareCoordinatorRecord, ShareStateImage) {
        let value =
            if state.updates_since_snapshot >= self.config.snapshot_update_records_per_snapshot {
                next.snapshot_epoch = state.image.snapshot_epoch.saturating_add(1);
                next.create_timestamp_ms = timestamp_ms(now_ms);
                next.write_timestamp_ms = timestamp_ms(now_ms);
                ShareRecordValue::Snapshot(next.to_snapshot_value())
            } else {
                ShareRecordValue::Update(ShareUpdateValue {
                    snapshot_epoch: state.image.snapshot_epoch,
                    leader_epoch: next.leader_epoch,
                    start_offset: next.start_offset,
                    delivery_complete_count: next.delivery_complete_count,
                    state_batches: delta_batches,
                })
            };
        debug_assert_replays_to(&state.image, &value, &next);
        let record = ShareCoordinatorRecord {
            key: key.clone(),
            value,
        };
        (record, next)
    }

    fn cold_snapshot_records(&self, now_ms: u64) -> Vec<ShareCoordinatorRecord> {
        // The system is quiet: another round of snapshots would not let pruning advance.
        if self.keys.values().all(KeyState::is_cold_snapshotted) {
            return Vec::new();
        }
        let now_timestamp_ms = timestamp_ms(now_ms);
        let interval_ms =
            i64::try_from(self.config.cold_partition_snapshot_interval_ms).unwrap_or(i64::MAX);
        let mut records = Vec::new();
        for (key, state) in &self.keys {
            let idle_ms = now_timestamp_ms.saturating_sub(state.image.write_timestamp_ms);
            if idle_ms <= interval_ms {
                continue;
            }
            let mut image = state.image.clone();
            image.snapshot_epoch = image.snapshot_epoch.saturating_add(1);
            // The create timestamp stays: a write timestamp that differs from it marks the snapshot cold.
            image.write_timestamp_ms = now_timestamp_ms;
            debug_assert!(image.create_timestamp_ms != image.write_timestamp_ms);
            records.push(ShareCoordinatorRecord {
                key: key.clone(),
                value: ShareRecordValue::Snapshot(image.to_snapshot_value()),
            });
        }
        records
    }

    /// Records below this offset are redundant given everything replayed so far.
    fn redundant_offset(&self) -> u64 {
        match self.snapshot_log_offsets.first() {
            Some(&oldest_snapshot_offset) => oldest_snapshot_offset,
            None => self.next_log_offset,
        }
    }

    fn check_invariants(&self, replayed_key: &SharePartitionKey) {
        debug_assert_eq!(self.snapshot_log_offsets.len(), self.keys.len());
        if let Some(state) = self.keys.get(replayed_key) {
            debug_assert!(state.leader_epoch_max >= state.image.leader_epoch);
            debug_assert!(state.state_epoch_max >= state.image.state_epoch);
            debug_assert!(self
                .snapshot_log_offsets
                .contains(&state.snapshot_log_offset));
            let batches = &state.image.state_batches;
            debug_assert!(batches
                .windows(2)
                .all(|p| p[0].last_offset < p[1].first_offset));
            debug_assert!(batches
                .first()
                .is_none_or(|b| b.first_offset >= state.image.start_offset));
        }
    }
}

/// Spec 3.4: a null topic id, a negative partition or an empty group id is INVALID_REQUEST.
fn validate_key(key: &SharePartitionKey) -> Result<(), ResponseError> {
    if key.group_id.is_empty() || key.topic_id.is_null() || key.partition < 0 {
        return Err(ResponseError::InvalidRequest);
    }
    Ok(())
}

fn timestamp_ms(now_ms: u64) -> i64 {
    i64::try_from(now_ms).unwrap_or(i64::MAX)
}

/// The record the handler emits must, once replayed, produce exactly the image the handler computed:
/// the incremental path (update merged into the old image) and the full path agree.
fn debug_assert_replays_to(
    current: &ShareStateImage,
    value: &ShareRecordValue,
    expected: &ShareStateImage,
) {
    if cfg!(debug_assertions) {
        let replayed = match value {
            ShareRecordValue::Snapshot(snapshot) => ShareStateImage::from_snapshot(snapshot),
            ShareRecordValue::Update(update) => {
                let mut image = current.clone();
                image.apply_update(update);
                image
            }
            ShareRecordValue::Tombstone => unreachable!("state records are never tombstones"),
        };
        debug_assert_eq!(
            &replayed, expected,
            "replaying the emitted record reproduces the image"
        );
    }
}
