//! Tests of the share coordinator shard: one rule per test, each naming its spec section, and a proptest
//! over random request sequences.

use proptest::prelude::*;

use super::*;
use crate::semantics::{Release, Semantics};
use crate::share::{PersistedShareState, RecordState, StateBatch, WriteShareGroupState};
use crate::ResponseError;

/// A shard plus the log it appended to: requests are applied by appending and replaying their records
/// and committing them at once, as a coordinator node would.
struct Harness {
    shard: ShareCoordinatorShard,
    log: Vec<(u64, ShareCoordinatorRecord)>,
    now_ms: u64,
}

impl Harness {
    fn new(config: ShareCoordinatorConfig) -> Harness {
        Harness {
            shard: ShareCoordinatorShard::new(0, config),
            log: Vec::new(),
            now_ms: 0,
        }
    }

    fn with_budget(snapshot_update_records_per_snapshot: u32) -> Harness {
        Harness::new(ShareCoordinatorConfig {
            snapshot_update_records_per_snapshot,
            ..ShareCoordinatorConfig::default()
        })
    }

    fn append(&mut self, records: &[ShareCoordinatorRecord]) {
        for record in records {
            let offset = self.shard.next_log_offset();
            self.shard.replay(offset, record);
            self.log.push((offset, record.clone()));
        }
        self.shard.handle_commit(self.shard.next_log_offset());
    }

    fn apply<T>(&mut self, result: CoordinatorResult<T>) -> T {
        self.append(&result.records);
        result.response
    }

    fn initialize(
        &mut self,
        key: &SharePartitionKey,
        state_epoch: i32,
        start: i64,
    ) -> Result<(), ResponseError> {
        let result = self
            .shard
            .handle_initialize(self.now_ms, key, state_epoch, start);
        self.apply(result)
    }

    fn write(
        &mut self,
        key: &SharePartitionKey,
        request: &WriteShareGroupState,
    ) -> Result<(), ResponseError> {
        let result = self.shard.handle_write(self.now_ms, key, request);
        self.apply(result)
    }

    fn read(
        &mut self,
        key: &SharePartitionKey,
        leader_epoch: i32,
    ) -> Result<PersistedShareState, ResponseError> {
        let result = self.shard.handle_read(self.now_ms, key, leader_epoch);
        self.apply(result)
    }

    fn delete(&mut self, key: &SharePartitionKey) -> Result<(), ResponseError> {
        let result = self.shard.handle_delete(key);
        self.apply(result)
    }

    /// A fresh shard that replays the whole log, as after a coordinator failover.
    fn rebuilt(&self) -> ShareCoordinatorShard {
        let log = self.log.iter().map(|(offset, record)| (*offset, record));
        let config = self.shard.config().clone();
        ShareCoordinatorShard::load(self.now_ms, config, log, self.shard.next_log_offset())
    }

    fn assert_rebuild_matches(&self) {
        let rebuilt = self.rebuilt();
        let live: Vec<_> = self.shard.images().collect();
        let replayed: Vec<_> = rebuilt.images().collect();
        assert_eq!(live, replayed);
        for (key, _) in self.shard.images() {
            assert_eq!(self.shard.epochs_max(key), rebuilt.epochs_max(key));
            assert_eq!(
                self.shard.updates_since_snapshot(key),
                rebuilt.updates_since_snapshot(key)
            );
        }
        assert_eq!(
            self.shard.last_redundant_offset(),
            rebuilt.last_redundant_offset()
        );
    }
}

fn key(partition: i32) -> SharePartitionKey {
    SharePartitionKey::new(
        "group-a",
        TopicIdPartition {
            topic_id: TopicId(7),
            partition,
        },
    )
}

fn batch(first_offset: i64, last_offset: i64, state: RecordState, count: u16) -> StateBatch {
    StateBatch {
        first_offset,
        last_offset,
        delivery_state: state,
        delivery_count: count,
    }
}

fn write(
    state_epoch: i32,
    leader_epoch: i32,
    start_offset: i64,
    batches: Vec<StateBatch>,
) -> WriteShareGroupState {
    WriteShareGroupState {
        state_epoch,
        leader_epoch,
        start_offset,
        delivery_complete_count: 0,
        state_batches: batches,
    }
}

fn last_value(harness: &Harness) -> &ShareRecordValue {
    &harness.log.last().expect("a record was appended").1.value
}

/// Spec 3.4: Read or Write on a key never initialized is INVALID_REQUEST, and appends nothing.
#[test]
fn uninitialized_key_is_invalid_request() {
    let mut h = Harness::with_budget(500);
    assert_eq!(
        h.write(&key(0), &write(0, 0, 0, vec![])),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(h.read(&key(0), 0), Err(ResponseError::InvalidRequest));
    assert!(h.log.is_empty());
}

/// Spec 3.4: negative epochs, a null topic id or a negative partition are INVALID_REQUEST.
#[test]
fn bad_keys_and_negative_epochs_are_invalid_request() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 0).unwrap();
    let null_topic = SharePartitionKey::new(
        "group-a",
        TopicIdPartition {
            topic_id: TopicId::NULL,
            partition: 0,
        },
    );
    let invalid = Err(ResponseError::InvalidRequest);
    assert_eq!(h.initialize(&null_topic, 0, 0), invalid);
    assert_eq!(h.initialize(&key(-1), 0, 0), invalid);
    assert_eq!(h.initialize(&key(1), -1, 0), invalid);
    assert_eq!(h.initialize(&key(1), 0, -2), invalid);
    assert_eq!(h.write(&key(0), &write(-1, 0, 0, vec![])), invalid);
    assert_eq!(h.write(&key(0), &write(0, -1, 0, vec![])), invalid);
    assert_eq!(h.read(&key(0), -1), Err(ResponseError::InvalidRequest));
    assert_eq!(h.delete(&key(-3)), invalid);
    assert_eq!(
        h.shard.summary(&null_topic),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(h.log.len(), 1, "only the valid initialize appended");
}

/// Spec 3.4: Initialize writes a snapshot with empty batches, SnapshotEpoch 0, LeaderEpoch 0 and
/// DeliveryCompleteCount -1 for start offset -1 (0 otherwise).
#[test]
fn initialize_writes_a_fresh_snapshot() {
    let mut h = Harness::with_budget(500);
    h.now_ms = 42;
    h.initialize(&key(0), 3, -1).unwrap();
    let ShareRecordValue::Snapshot(snapshot) = last_value(&h) else {
        panic!("a snapshot")
    };
    assert_eq!(snapshot.snapshot_epoch, 0);
    assert_eq!(snapshot.state_epoch, 3);
    assert_eq!(snapshot.leader_epoch, 0);
    assert_eq!(snapshot.start_offset, -1);
    assert_eq!(snapshot.delivery_complete_count, -1);
    assert_eq!(
        (snapshot.create_timestamp_ms, snapshot.write_timestamp_ms),
        (42, 42)
    );
    assert!(snapshot.state_batches.is_empty());
    h.initialize(&key(1), 3, 10).unwrap();
    assert_eq!(h.shard.image(&key(1)).unwrap().delivery_complete_count, 0);
}

/// Spec 3.4: the same state epoch and start offset again is an idempotent no-op; a new one writes a
/// snapshot with SnapshotEpoch+1 and empty batches; a lower state epoch is FENCED_STATE_EPOCH.
#[test]
fn initialize_is_idempotent_and_fenced_by_state_epoch() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 1, 0).unwrap();
    h.write(
        &key(0),
        &write(1, 1, 0, vec![batch(0, 4, RecordState::Acknowledged, 1)]),
    )
    .unwrap();
    let appended = h.log.len();
    assert_eq!(h.initialize(&key(0), 1, 0), Ok(()));
    assert_eq!(h.log.len(), appended, "idempotent: nothing appended");
    // Alter offsets: same epoch, other start offset, still a fresh snapshot.
    h.initialize(&key(0), 1, 100).unwrap();
    let image = h.shard.image(&key(0)).unwrap();
    assert_eq!((image.snapshot_epoch, image.start_offset), (1, 100));
    assert!(image.state_batches.is_empty());
    h.initialize(&key(0), 2, 50).unwrap();
    assert_eq!(h.shard.image(&key(0)).unwrap().snapshot_epoch, 2);
    assert_eq!(
        h.initialize(&key(0), 1, 50),
        Err(ResponseError::FencedStateEpoch)
    );
    h.assert_rebuild_matches();
}

/// Spec 3.4 and 5.3: after an Initialize with a new state epoch (alter offsets), the live leader's next
/// write with the old state epoch is FENCED_STATE_EPOCH.
#[test]
fn write_with_old_state_epoch_is_fenced_after_alter_offsets() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 1, 0).unwrap();
    h.read(&key(0), 4).unwrap();
    h.write(&key(0), &write(1, 4, 0, vec![])).unwrap();
    h.initialize(&key(0), 2, 30).unwrap();
    assert_eq!(
        h.write(&key(0), &write(1, 4, 0, vec![])),
        Err(ResponseError::FencedStateEpoch)
    );
    assert_eq!(h.write(&key(0), &write(2, 4, 30, vec![])), Ok(()));
}

/// Spec 3.4: Initialize resets the image's leader epoch to 0, but fencing keeps the highest one seen, so
/// an older leader stays fenced, and the current leader's read appends its epoch again.
#[test]
fn initialize_keeps_the_leader_epoch_maximum_for_fencing() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 1, 0).unwrap();
    h.read(&key(0), 5).unwrap();
    h.initialize(&key(0), 2, 0).unwrap();
    assert_eq!(h.shard.image(&key(0)).unwrap().leader_epoch, 0);
    assert_eq!(h.shard.epochs_max(&key(0)), Some((5, 2)));
    assert_eq!(
        h.write(&key(0), &write(2, 3, 0, vec![])),
        Err(ResponseError::FencedLeaderEpoch)
    );
    assert_eq!(h.read(&key(0), 4), Err(ResponseError::FencedLeaderEpoch));
    let appended = h.log.len();
    assert_eq!(h.read(&key(0), 5).unwrap().leader_epoch, 5);
    assert_eq!(
        h.log.len(),
        appended + 1,
        "the image had leader epoch 0: the read appends 5"
    );
    h.assert_rebuild_matches();
}

/// Mutation switch `skip_leader_epoch_fencing` (issue 6; spec 3.4 inverted): a write with a lower leader
/// epoch is taken; the state epoch is still checked and the highest leader epoch seen is kept.
#[test]
fn the_skip_leader_epoch_fencing_mutation_takes_a_stale_write() {
    let mut h = Harness::new(ShareCoordinatorConfig {
        skip_leader_epoch_fencing: true,
        ..ShareCoordinatorConfig::default()
    });
    h.initialize(&key(0), 2, 0).unwrap();
    h.write(&key(0), &write(2, 7, 0, vec![])).unwrap();
    assert_eq!(h.write(&key(0), &write(2, 6, 5, vec![])), Ok(()));
    assert_eq!(
        h.write(&key(0), &write(1, 6, 0, vec![])),
        Err(ResponseError::FencedStateEpoch)
    );
    assert_eq!(h.read(&key(0), 6), Err(ResponseError::FencedLeaderEpoch));
}

/// Spec 3.4: a write with a lower leader epoch is FENCED_LEADER_EPOCH; when both epochs are stale the
/// leader epoch is reported (Kafka checks it first).
#[test]
fn write_with_lower_leader_epoch_is_fenced() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 2, 0).unwrap();
    h.write(&key(0), &write(2, 7, 0, vec![])).unwrap();
    assert_eq!(
        h.write(&key(0), &write(2, 6, 0, vec![])),
        Err(ResponseError::FencedLeaderEpoch)
    );
    assert_eq!(
        h.write(&key(0), &write(1, 6, 0, vec![])),
        Err(ResponseError::FencedLeaderEpoch)
    );
    assert_eq!(
        h.write(&key(0), &write(1, 7, 0, vec![])),
        Err(ResponseError::FencedStateEpoch)
    );
    assert_eq!(
        h.write(&key(0), &write(3, 8, 0, vec![])),
        Ok(()),
        "higher epochs are accepted"
    );
}

/// Spec 3.4: a read at the stored leader epoch appends nothing; a higher one appends a ShareUpdate that
/// carries the new epoch and no batches; a lower one is FENCED_LEADER_EPOCH. The response is the image.
#[test]
fn read_with_new_leader_epoch_appends_the_epoch() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 1, 0).unwrap();
    h.write(
        &key(0),
        &write(1, 0, 0, vec![batch(0, 9, RecordState::Available, 1)]),
    )
    .unwrap();
    let appended = h.log.len();
    let state = h.read(&key(0), 0).unwrap();
    assert_eq!(h.log.len(), appended, "same epoch: nothing appended");
    assert_eq!(
        state.state_batches,
        vec![batch(0, 9, RecordState::Available, 1)]
    );
    let state = h.read(&key(0), 3).unwrap();
    assert_eq!(state.leader_epoch, 3);
    assert_eq!(state.state_epoch, 1);
    let ShareRecordValue::Update(update) = last_value(&h) else {
        panic!("an update")
    };
    assert_eq!(update.leader_epoch, 3);
    assert!(update.state_batches.is_empty());
    assert_eq!(h.read(&key(0), 2), Err(ResponseError::FencedLeaderEpoch));
    assert_eq!(
        h.shard.image(&key(0)).unwrap().state_batches,
        state.state_batches
    );
}

/// Spec 3.3: a write emits a ShareUpdate; replay merges its batches into the image.
#[test]
fn write_emits_an_update_that_replay_merges() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 0).unwrap();
    h.write(
        &key(0),
        &write(0, 0, 0, vec![batch(0, 9, RecordState::Available, 1)]),
    )
    .unwrap();
    h.write(
        &key(0),
        &write(0, 0, 0, vec![batch(3, 4, RecordState::Acknowledged, 1)]),
    )
    .unwrap();
    let ShareRecordValue::Update(update) = last_value(&h) else {
        panic!("an update")
    };
    assert_eq!(
        update.state_batches,
        vec![batch(3, 4, RecordState::Acknowledged, 1)]
    );
    assert_eq!(update.snapshot_epoch, 0);
    assert_eq!(
        h.shard.image(&key(0)).unwrap().state_batches,
        vec![
            batch(0, 2, RecordState::Available, 1),
            batch(3, 4, RecordState::Acknowledged, 1),
            batch(5, 9, RecordState::Available, 1),
        ]
    );
    h.assert_rebuild_matches();
}

/// Spec 3.3: newStartOffset = max(request, current): a write with an older start offset does not move
/// it back, and batches below the start offset are pruned.
#[test]
fn start_offset_never_regresses_on_write() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 0).unwrap();
    h.write(
        &key(0),
        &write(0, 0, 0, vec![batch(0, 19, RecordState::Available, 1)]),
    )
    .unwrap();
    h.write(&key(0), &write(0, 0, 10, vec![])).unwrap();
    h.write(
        &key(0),
        &write(0, 0, 5, vec![batch(5, 6, RecordState::Archived, 2)]),
    )
    .unwrap();
    let image = h.shard.image(&key(0)).unwrap();
    assert_eq!(image.start_offset, 10);
    assert_eq!(
        image.state_batches,
        vec![batch(10, 19, RecordState::Available, 1)]
    );
    h.assert_rebuild_matches();
}

/// Spec 3.3: the delivery-complete count is the max when start offsets are equal, the old value when the
/// request is behind, the request's value when it is ahead.
#[test]
fn delivery_complete_count_rule() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 10).unwrap();
    let with_count = |start_offset, count| WriteShareGroupState {
        delivery_complete_count: count,
        ..write(0, 0, start_offset, vec![])
    };
    let count = |h: &Harness| h.shard.image(&key(0)).unwrap().delivery_complete_count;
    h.write(&key(0), &with_count(10, 4)).unwrap();
    assert_eq!(count(&h), 4);
    h.write(&key(0), &with_count(10, 2)).unwrap();
    assert_eq!(count(&h), 4, "equal start offsets: max(4, 2)");
    h.write(&key(0), &with_count(5, 9)).unwrap();
    assert_eq!(count(&h), 4, "request behind: the old value");
    h.write(&key(0), &with_count(12, 1)).unwrap();
    assert_eq!(count(&h), 1, "request ahead: the request's value");
    h.assert_rebuild_matches();
}

/// Spec 3.3 (KIP-1226 is 4.2+): before 4.2 every record carries delivery-complete count -1.
#[test]
fn delivery_complete_count_is_absent_before_4_2() {
    let mut h = Harness::new(ShareCoordinatorConfig::new(&Semantics::for_release(
        Release::Kafka4_1,
    )));
    h.initialize(&key(0), 0, 10).unwrap();
    h.write(
        &key(0),
        &WriteShareGroupState {
            delivery_complete_count: 3,
            ..write(0, 0, 12, vec![])
        },
    )
    .unwrap();
    assert_eq!(h.shard.image(&key(0)).unwrap().delivery_complete_count, -1);
    assert_eq!(
        h.shard.summary(&key(0)).unwrap().delivery_complete_count,
        -1
    );
}

/// Spec 3.3: once the key has had `share.coordinator.snapshot.update.records.per.snapshot` updates
/// since its last snapshot, the next write emits a ShareSnapshot of the merged state with SnapshotEpoch+1.
#[test]
fn update_budget_turns_the_next_write_into_a_snapshot() {
    let mut h = Harness::with_budget(3);
    h.initialize(&key(0), 0, 0).unwrap();
    for offset in 0..3 {
        h.write(
            &key(0),
            &write(
                0,
                0,
                0,
                vec![batch(offset, offset, RecordState::Acknowledged, 1)],
            ),
        )
        .unwrap();
        assert!(matches!(last_value(&h), ShareRecordValue::Update(_)));
    }
    assert_eq!(h.shard.updates_since_snapshot(&key(0)), Some(3));
    h.now_ms = 77;
    h.write(
        &key(0),
        &write(0, 2, 1, vec![batch(3, 3, RecordState::Archived, 1)]),
    )
    .unwrap();
    let ShareRecordValue::Snapshot(snapshot) = last_value(&h) else {
        panic!("a snapshot")
    };
    assert_eq!(snapshot.snapshot_epoch, 1);
    assert_eq!(snapshot.leader_epoch, 2);
    assert_eq!(snapshot.start_offset, 1);
    assert_eq!(
        (snapshot.create_timestamp_ms, snapshot.write_timestamp_ms),
        (77, 77)
    );
    assert_eq!(
        snapshot.state_batches,
        vec![
            batch(1, 2, RecordState::Acknowledged, 1),
            batch(3, 3, RecordState::Archived, 1)
        ]
    );
    assert_eq!(h.shard.updates_since_snapshot(&key(0)), Some(0));
    h.write(&key(0), &write(0, 2, 1, vec![])).unwrap();
    assert!(
        matches!(last_value(&h), ShareRecordValue::Update(_)),
        "the budget starts again"
    );
    h.assert_rebuild_matches();
}

/// Spec 3.4: a read with a new leader epoch when the budget is spent appends a snapshot instead.
#[test]
fn read_with_spent_budget_appends_a_snapshot() {
    let mut h = Harness::with_budget(1);
    h.initialize(&key(0), 0, 0).unwrap();
    h.write(
        &key(0),
        &write(0, 0, 0, vec![batch(0, 0, RecordState::Acknowledged, 1)]),
    )
    .unwrap();
    h.read(&key(0), 1).unwrap();
    let ShareRecordValue::Snapshot(snapshot) = last_value(&h) else {
        panic!("a snapshot")
    };
    assert_eq!((snapshot.snapshot_epoch, snapshot.leader_epoch), (1, 1));
    assert_eq!(
        snapshot.state_batches,
        vec![batch(0, 0, RecordState::Acknowledged, 1)]
    );
}

/// Spec 3.3 and 5.3: delete writes a tombstone; the key is then uninitialized again, and a new Initialize
/// starts at SnapshotEpoch 0. Deleting an unknown key succeeds and appends nothing.
#[test]
fn delete_writes_a_tombstone() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 4, 0).unwrap();
    h.read(&key(0), 9).unwrap();
    h.delete(&key(0)).unwrap();
    assert_eq!(last_value(&h), &ShareRecordValue::Tombstone);
    assert!(h.shard.image(&key(0)).is_none());
    assert_eq!(
        h.write(&key(0), &write(4, 9, 0, vec![])),
        Err(ResponseError::InvalidRequest)
    );
    let appended = h.log.len();
    assert_eq!(h.delete(&key(0)), Ok(()));
    assert_eq!(h.log.len(), appended);
    h.initialize(&key(0), 1, 0).unwrap();
    assert_eq!(h.shard.image(&key(0)).unwrap().snapshot_epoch, 0);
    assert_eq!(
        h.shard.epochs_max(&key(0)),
        Some((0, 1)),
        "the tombstone forgot the old epochs"
    );
    h.assert_rebuild_matches();
}

/// Spec 3.3: deleting a topic writes a tombstone for every key of that topic, and only those.
#[test]
fn topic_deletion_tombstones_its_keys() {
    let mut h = Harness::with_budget(500);
    let other_topic = SharePartitionKey::new(
        "group-b",
        TopicIdPartition {
            topic_id: TopicId(8),
            partition: 0,
        },
    );
    h.initialize(&key(0), 0, 0).unwrap();
    h.initialize(&key(1), 0, 0).unwrap();
    h.initialize(&other_topic, 0, 0).unwrap();
    let records = h.shard.handle_topics_deleted(&[TopicId(7), TopicId(99)]);
    assert_eq!(records.len(), 2);
    assert!(records
        .iter()
        .all(|record| record.value == ShareRecordValue::Tombstone));
    h.append(&records);
    let keys: Vec<_> = h.shard.images().map(|(key, _)| key.clone()).collect();
    assert_eq!(keys, vec![other_topic]);
}

/// Spec 5.3: the summary reports start offset, delivery-complete count and epochs; a key never
/// initialized reports start offset -1.
#[test]
fn summary_reports_the_stored_state() {
    let mut h = Harness::with_budget(500);
    assert_eq!(h.shard.summary(&key(0)).unwrap().start_offset, -1);
    h.initialize(&key(0), 2, 5).unwrap();
    h.read(&key(0), 3).unwrap();
    let summary = h.shard.summary(&key(0)).unwrap();
    assert_eq!(
        summary,
        ShareStateSummary {
            state_epoch: 2,
            leader_epoch: 3,
            start_offset: 5,
            delivery_complete_count: 0
        }
    );
}

/// Spec 3.3: the cold-partition job snapshots keys whose last snapshot is older than the interval
/// (keeping the create timestamp, moving the write timestamp), and does nothing while every key is
/// cold-snapshotted, even after updates, which carry no timestamps (`snapshotColdPartitions`).
#[test]
fn cold_partition_snapshots() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 0).unwrap();
    h.initialize(&key(1), 0, 0).unwrap();
    assert_eq!(h.shard.poll_timeout(), 300_000);
    h.now_ms = 299_999;
    assert_eq!(
        h.shard.handle_timeout(h.now_ms),
        ShardJobs::default(),
        "not yet due"
    );
    h.now_ms = 300_001;
    let jobs = h.shard.handle_timeout(h.now_ms);
    assert_eq!(jobs.records.len(), 2);
    h.append(&jobs.records);
    let image = h.shard.image(&key(0)).unwrap();
    let timestamps = (image.create_timestamp_ms, image.write_timestamp_ms);
    assert_eq!((image.snapshot_epoch, timestamps), (1, (0, 300_001)));
    h.now_ms = 900_000;
    assert!(
        h.shard.handle_timeout(h.now_ms).records.is_empty(),
        "every key is cold-snapshotted"
    );
    h.write(
        &key(1),
        &write(0, 0, 0, vec![batch(0, 0, RecordState::Acknowledged, 1)]),
    )
    .unwrap();
    h.now_ms = 1_300_000;
    assert!(
        h.shard.handle_timeout(h.now_ms).records.is_empty(),
        "updates carry no time"
    );
    h.now_ms = 1_400_000;
    h.initialize(&key(2), 0, 0).unwrap();
    h.now_ms = 1_600_000;
    let jobs = h.shard.handle_timeout(h.now_ms);
    let keys: Vec<_> = jobs
        .records
        .iter()
        .map(|record| record.key.clone())
        .collect();
    assert_eq!(
        keys,
        vec![key(0), key(1)],
        "key 2 was written 200000 ms ago"
    );
    h.append(&jobs.records);
    let image = h.shard.image(&key(1)).unwrap();
    assert_eq!(
        image.state_batches,
        vec![batch(0, 0, RecordState::Acknowledged, 1)]
    );
    h.assert_rebuild_matches();
}

/// Spec 3.3: the last redundant offset is the minimum of the keys' latest snapshot offsets, counts only
/// committed records, and the prune job hands it out when it moved.
#[test]
fn prune_offset_is_the_oldest_latest_snapshot() {
    let mut h = Harness::with_budget(1);
    h.initialize(&key(0), 0, 0).unwrap(); // offset 0
    h.initialize(&key(1), 0, 0).unwrap(); // offset 1
    assert_eq!(h.shard.last_redundant_offset(), 0);
    h.write(&key(0), &write(0, 0, 0, vec![])).unwrap(); // 2: update
    h.write(&key(0), &write(0, 0, 0, vec![])).unwrap(); // 3: snapshot of key 0
    assert_eq!(
        h.shard.last_redundant_offset(),
        1,
        "key 1's snapshot at 1 is the oldest needed"
    );
    // Uncommitted snapshots do not count.
    let result = h.shard.handle_initialize(0, &key(1), 1, 0);
    h.shard.replay(4, &result.records[0]);
    assert_eq!(h.shard.last_redundant_offset(), 1);
    h.shard.handle_commit(5);
    assert_eq!(h.shard.last_redundant_offset(), 3);
    let jobs = h.shard.handle_timeout(300_000);
    assert_eq!(jobs.delete_records_before, Some(3));
    assert_eq!(
        h.shard.handle_timeout(600_000).delete_records_before,
        None,
        "nothing new to prune"
    );
}

/// Spec 3.3: when every key is deleted, every record is redundant, tombstones included.
#[test]
fn prune_offset_when_every_key_is_deleted() {
    let mut h = Harness::with_budget(500);
    h.initialize(&key(0), 0, 0).unwrap();
    h.write(&key(0), &write(0, 0, 0, vec![])).unwrap();
    h.delete(&key(0)).unwrap();
    assert_eq!(h.shard.last_redundant_offset(), 3);
}

/// Spec 3.3: a ShareUpdate with start offset -1 and leader epoch -1 leaves both unchanged on replay.
#[test]
fn update_minus_one_fields_mean_unchanged() {
    let mut shard = ShareCoordinatorShard::new(0, ShareCoordinatorConfig::default());
    let init = shard.handle_initialize(0, &key(0), 0, 8).records;
    shard.replay(0, &init[0]);
    let update = ShareCoordinatorRecord {
        key: key(0),
        value: ShareRecordValue::Update(ShareUpdateValue {
            snapshot_epoch: 0,
            leader_epoch: -1,
            start_offset: -1,
            delivery_complete_count: 0,
            state_batches: vec![batch(9, 9, RecordState::Archived, 1)],
        }),
    };
    shard.replay(1, &update);
    let image = shard.image(&key(0)).unwrap();
    assert_eq!((image.start_offset, image.leader_epoch), (8, 0));
    assert_eq!(
        image.state_batches,
        vec![batch(9, 9, RecordState::Archived, 1)]
    );
}

#[derive(Clone, Debug)]
enum Op {
    Initialize {
        partition: i32,
        state_epoch: i32,
        start_offset: i64,
    },
    Write {
        partition: i32,
        state_epoch: i32,
        leader_epoch: i32,
        start_offset: i64,
        batches: Vec<StateBatch>,
    },
    Read {
        partition: i32,
        leader_epoch: i32,
    },
    Delete {
        partition: i32,
    },
    Tick {
        advance_ms: u64,
    },
}

fn arbitrary_op() -> impl Strategy<Value = Op> {
    let state = prop::sample::select(vec![
        RecordState::Available,
        RecordState::Acknowledged,
        RecordState::Archived,
    ]);
    let batch =
        (0i64..40, 0i64..6, state, 0u16..4).prop_map(|(f, len, s, c)| batch(f, f + len, s, c));
    let initial_start_offset = prop_oneof![Just(-1i64), Just(0), -2i64..30];
    prop_oneof![
        1 => (0i32..2, -1i32..4, initial_start_offset).prop_map(
            |(partition, state_epoch, start_offset)| Op::Initialize {
                partition,
                state_epoch,
                start_offset
            }
        ),
        4 => (0i32..2, -1i32..4, -1i32..6, -1i64..30, prop::collection::vec(batch, 0..3)).prop_map(
            |(partition, state_epoch, leader_epoch, start_offset, batches)| Op::Write {
                partition,
                state_epoch,
                leader_epoch,
                start_offset,
                batches
            }
        ),
        1 => (0i32..2, -1i32..6).prop_map(|(partition, leader_epoch)| Op::Read { partition, leader_epoch }),
        1 => (0i32..2).prop_map(|partition| Op::Delete { partition }),
        1 => (0u64..400_000).prop_map(|advance_ms| Op::Tick { advance_ms }),
    ]
}

proptest! {
    /// Spec 3.3 and 3.4 over random request sequences: writes and reads never move the start offset back,
    /// an accepted write or read had epochs at least the maxima (fencing), errors are Kafka's codes, and
    /// replaying the log from scratch reproduces the live shard.
    #[test]
    fn random_requests_keep_the_rules(
        ops in prop::collection::vec(arbitrary_op(), 1..40),
        budget in 0u32..4,
    ) {
        let mut h = Harness::with_budget(budget);
        for op in ops {
            match op {
                Op::Initialize { partition, state_epoch, start_offset } => {
                    let outcome = h.initialize(&key(partition), state_epoch, start_offset);
                    prop_assert!(matches!(outcome, Ok(()) | Err(ResponseError::InvalidRequest
                        | ResponseError::FencedStateEpoch)));
                }
                Op::Write { partition, state_epoch, leader_epoch, start_offset, batches } => {
                    let before = h.shard.image(&key(partition)).cloned();
                    let maxima = h.shard.epochs_max(&key(partition));
                    let request = write(state_epoch, leader_epoch, start_offset, batches);
                    let outcome = h.write(&key(partition), &request);
                    match outcome {
                        Ok(()) => {
                            let (before, (leader_max, state_max)) = (before.unwrap(), maxima.unwrap());
                            prop_assert!(leader_epoch >= leader_max && state_epoch >= state_max);
                            let after = h.shard.image(&key(partition)).unwrap();
                            prop_assert!(after.start_offset >= before.start_offset);
                            prop_assert!(after.start_offset >= start_offset);
                        }
                        Err(error) => prop_assert!(matches!(error, ResponseError::InvalidRequest
                            | ResponseError::FencedLeaderEpoch | ResponseError::FencedStateEpoch)),
                    }
                }
                Op::Read { partition, leader_epoch } => {
                    let before = h.shard.image(&key(partition)).cloned();
                    match h.read(&key(partition), leader_epoch) {
                        Ok(state) => {
                            let before = before.unwrap();
                            prop_assert_eq!(state.start_offset, before.start_offset);
                            prop_assert_eq!(&state.state_batches, &before.state_batches);
                            prop_assert_eq!(state.leader_epoch, leader_epoch);
                            prop_assert_eq!(&state, &h.shard.image(&key(partition)).unwrap().to_persisted());
                        }
                        Err(error) => prop_assert!(matches!(error, ResponseError::InvalidRequest
                            | ResponseError::FencedLeaderEpoch)),
                    }
                }
                Op::Delete { partition } => prop_assert_eq!(h.delete(&key(partition)), Ok(())),
                Op::Tick { advance_ms } => {
                    h.now_ms += advance_ms;
                    let jobs = h.shard.handle_timeout(h.now_ms);
                    h.append(&jobs.records);
                    if let Some(before) = jobs.delete_records_before {
                        prop_assert!(before <= h.shard.next_log_offset());
                    }
                }
            }
        }
        h.assert_rebuild_matches();
    }

    /// Pruning is safe: replaying only the records at or after the last redundant offset rebuilds the
    /// same images as replaying the whole log.
    #[test]
    fn pruned_log_replays_to_the_same_images(ops in prop::collection::vec(arbitrary_op(), 1..40)) {
        let mut h = Harness::with_budget(1);
        for op in ops {
            match op {
                Op::Initialize { partition, state_epoch, start_offset } => {
                    let _ = h.initialize(&key(partition), state_epoch, start_offset);
                }
                Op::Write { partition, state_epoch, leader_epoch, start_offset, batches } => {
                    let request = write(state_epoch, leader_epoch, start_offset, batches);
                    let _ = h.write(&key(partition), &request);
                }
                Op::Read { partition, leader_epoch } => {
                    let _ = h.read(&key(partition), leader_epoch);
                }
                Op::Delete { partition } => {
                    let _ = h.delete(&key(partition));
                }
                Op::Tick { advance_ms } => {
                    h.now_ms += advance_ms;
                    let jobs = h.shard.handle_timeout(h.now_ms);
                    h.append(&jobs.records);
                }
            }
        }
        let prune_before = h.shard.last_redundant_offset();
        let mut pruned = ShareCoordinatorShard::new(0, h.shard.config().clone());
        for (offset, record) in h.log.iter().filter(|(offset, _)| *offset >= prune_before) {
            pruned.replay(*offset, record);
        }
        let live: Vec<_> = h.shard.images().collect();
        let replayed: Vec<_> = pruned.images().collect();
        prop_assert_eq!(live, replayed);
    }
}

/// Applies one random op and names what happened, for the reachability test below.
fn drive(h: &mut Harness, op: Op) -> &'static str {
    let appended = h.log.len();
    let label = match op {
        Op::Initialize {
            partition,
            state_epoch,
            start_offset,
        } => match h.initialize(&key(partition), state_epoch, start_offset) {
            Ok(()) if h.log.len() == appended => "initialize no-op",
            Ok(()) => "initialize",
            Err(ResponseError::FencedStateEpoch) => "initialize fenced",
            Err(_) => "initialize invalid",
        },
        Op::Write {
            partition,
            state_epoch,
            leader_epoch,
            start_offset,
            batches,
        } => {
            let request = write(state_epoch, leader_epoch, start_offset, batches);
            match h.write(&key(partition), &request) {
                Ok(()) if matches!(last_value(h), ShareRecordValue::Snapshot(_)) => {
                    "write snapshot"
                }
                Ok(()) => "write update",
                Err(ResponseError::FencedLeaderEpoch) => "write fenced leader epoch",
                Err(ResponseError::FencedStateEpoch) => "write fenced state epoch",
                Err(_) => "write invalid",
            }
        }
        Op::Read {
            partition,
            leader_epoch,
        } => match h.read(&key(partition), leader_epoch) {
            Ok(_) if h.log.len() == appended => "read",
            Ok(_) => "read appends leader epoch",
            Err(ResponseError::FencedLeaderEpoch) => "read fenced",
            Err(_) => "read invalid",
        },
        Op::Delete { partition } => {
            h.delete(&key(partition)).unwrap();
            if h.log.len() == appended {
                "delete unknown"
            } else {
                "delete"
            }
        }
        Op::Tick { advance_ms } => {
            h.now_ms += advance_ms;
            let jobs = h.shard.handle_timeout(h.now_ms);
            h.append(&jobs.records);
            match (jobs.records.is_empty(), jobs.delete_records_before) {
                (false, _) => "cold snapshot",
                (true, Some(_)) => "prune",
                (true, None) => "tick",
            }
        }
    };
    label
}

/// Reachability: the random sequences of the proptests above do reach every outcome, so their
/// properties are not vacuous.
#[test]
fn random_requests_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let ops = prop::collection::vec(arbitrary_op(), 1..40);
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..300 {
        let mut h = Harness::with_budget(2);
        for op in ops.new_tree(&mut runner).unwrap().current() {
            seen.insert(drive(&mut h, op));
        }
    }
    let expected = [
        "initialize",
        "initialize no-op",
        "initialize fenced",
        "initialize invalid",
        "write update",
        "write snapshot",
        "write fenced leader epoch",
        "write fenced state epoch",
        "write invalid",
        "read",
        "read appends leader epoch",
        "read fenced",
        "delete",
        "delete unknown",
        "cold snapshot",
        "prune",
    ];
    let missing: Vec<_> = expected
        .iter()
        .filter(|label| !seen.contains(*label))
        .collect();
    assert!(missing.is_empty(), "never reached: {missing:?}");
}
