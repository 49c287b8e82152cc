//! Unit tests of the replication rules (Kafka `Partition` leader logic and the fetcher's truncation;
//! design "The simulated cluster": the high watermark follows the ISR, acks=all, truncation on leader
//! change).

use bytes::Bytes;

use super::*;
use crate::cluster::controller::PartitionImage;
use crate::log::{
    encode_data_batch, FetchIsolation, LogConfig, PartitionLog, ProducerIdentity, ProducerRecord,
    UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET,
};
use crate::ResponseError;

const LAG_MS: u64 = 30_000;

fn state(isr: Vec<i32>) -> PartitionImage {
    PartitionImage {
        partition: 0,
        replicas: vec![0, 1, 2],
        isr,
        leader: 0,
        leader_epoch: 3,
        partition_epoch: 5,
    }
}

fn leader_with(min_insync_replicas: usize, isr: Vec<i32>) -> LeaderReplicas {
    let config = ReplicationConfig {
        replica_lag_time_max_ms: LAG_MS,
        min_insync_replicas,
    };
    LeaderReplicas::become_leader(0, config, 0, 10, "t", &state(isr), 0, 0)
}

fn drain(leader: &mut LeaderReplicas) -> Vec<ReplicationEffect> {
    std::iter::from_fn(|| leader.poll_effect()).collect()
}

fn completed(effects: &[ReplicationEffect]) -> Vec<(u64, Result<(), ResponseError>)> {
    effects
        .iter()
        .filter_map(|e| match e {
            ReplicationEffect::ProduceCompleted { request_id, result } => {
                Some((*request_id, *result))
            }
            _ => None,
        })
        .collect()
}

fn alter_requests(effects: &[ReplicationEffect]) -> Vec<Vec<i32>> {
    effects
        .iter()
        .filter_map(|e| match e {
            ReplicationEffect::AlterPartition(r) => Some(r.new_isr.clone()),
            _ => None,
        })
        .collect()
}

/// Kafka defaults: replica.lag.time.max.ms 30000, min.insync.replicas 1; acks 0/1/-1 only.
#[test]
fn config_defaults_and_acks_parsing() {
    let config = ReplicationConfig::default();
    assert_eq!(config.replica_lag_time_max_ms, 30_000);
    assert_eq!(config.min_insync_replicas, 1);
    assert_eq!(Acks::from_wire(-1), Ok(Acks::All));
    assert_eq!(Acks::from_wire(1), Ok(Acks::Leader));
    assert_eq!(Acks::from_wire(0), Ok(Acks::None));
    assert_eq!(Acks::from_wire(2), Err(ResponseError::InvalidRequiredAcks));
}

/// acks=1 completes at append; acks=all completes only when the high watermark passes the batch.
#[test]
fn acks_one_at_append_and_acks_all_at_high_watermark() {
    let mut leader = leader_with(1, vec![0, 1, 2]);
    leader.handle_produce_appended(1, 7, Acks::Leader, 2, 30_000);
    assert_eq!(completed(&drain(&mut leader)), vec![(7, Ok(()))]);
    leader.handle_produce_appended(2, 8, Acks::All, 5, 30_000);
    assert!(completed(&drain(&mut leader)).is_empty());
    assert_eq!(
        leader.handle_follower_fetch(3, 1, 5),
        Ok(0),
        "follower 2 still unknown"
    );
    assert!(completed(&drain(&mut leader)).is_empty());
    assert_eq!(leader.handle_follower_fetch(4, 2, 4), Ok(4));
    let effects = drain(&mut leader);
    assert!(effects.contains(&ReplicationEffect::HighWatermarkChanged { high_watermark: 4 }));
    assert!(completed(&effects).is_empty(), "HW 4 < 5");
    assert_eq!(leader.handle_follower_fetch(5, 2, 5), Ok(5));
    assert_eq!(completed(&drain(&mut leader)), vec![(8, Ok(()))]);
}

/// min.insync.replicas: NOT_ENOUGH_REPLICAS before the append when the ISR is too small.
#[test]
fn not_enough_replicas_before_append() {
    let leader = leader_with(2, vec![0]);
    assert_eq!(
        leader.check_produce(Acks::All),
        Err(ResponseError::NotEnoughReplicas)
    );
    assert_eq!(leader.check_produce(Acks::Leader), Ok(()));
    assert_eq!(leader_with(2, vec![0, 1]).check_produce(Acks::All), Ok(()));
}

/// min.insync.replicas: the ISR shrinks below it after the append; when the HW passes the batch the
/// answer is NOT_ENOUGH_REPLICAS_AFTER_APPEND (the data is written).
#[test]
fn not_enough_replicas_after_append() {
    let mut leader = leader_with(2, vec![0, 1]);
    leader.handle_follower_fetch(1, 1, 0).unwrap();
    leader.handle_produce_appended(2, 1, Acks::All, 3, 60_000);
    // Follower 1 never fetches again: shrink at the first check after the lag.
    leader.handle_timeout(LAG_MS / 2);
    assert!(alter_requests(&drain(&mut leader)).is_empty());
    leader.handle_timeout(LAG_MS + LAG_MS / 2);
    assert_eq!(alter_requests(&drain(&mut leader)), vec![vec![0]]);
    // Maximal ISR: the HW waits until the controller commits the shrink.
    assert_eq!(leader.high_watermark(), 0);
    let mut committed = state(vec![0]);
    committed.partition_epoch = 6;
    leader.handle_alter_partition_response(LAG_MS + LAG_MS / 2, Ok(committed));
    assert_eq!(leader.high_watermark(), 3);
    assert_eq!(
        completed(&drain(&mut leader)),
        vec![(1, Err(ResponseError::NotEnoughReplicasAfterAppend))]
    );
}

/// replica.lag.time.max.ms: a follower that keeps up stays; one that stops fetching is removed; the
/// check runs every lag/2.
#[test]
fn isr_shrinks_only_lagging_followers() {
    let mut leader = leader_with(1, vec![0, 1, 2]);
    assert_eq!(leader.poll_timeout(), LAG_MS / 2);
    for t in (0..=50_000u64).step_by(1000) {
        leader.handle_leader_append(t, (t / 1000) as i64 + 1);
        let leo = (t / 1000) as i64 + 1;
        leader.handle_follower_fetch(t, 1, leo).unwrap();
        if t == 0 {
            leader.handle_follower_fetch(t, 2, leo).unwrap();
        }
        if t >= leader.poll_timeout() {
            leader.handle_timeout(t);
        }
    }
    let requests = alter_requests(&drain(&mut leader));
    assert_eq!(requests, vec![vec![0, 1]]);
    assert_eq!(leader.pending_isr(), Some(&[0, 1][..]));
}

/// ISR expansion: a follower outside the ISR joins when it reaches the high watermark (and the start of
/// the leader epoch); a rejected proposal (INVALID_UPDATE_VERSION) is dropped.
#[test]
fn isr_expands_when_follower_catches_up() {
    let mut leader = leader_with(1, vec![0, 1]);
    leader.handle_leader_append(1, 10);
    leader.handle_follower_fetch(2, 1, 8).unwrap();
    assert_eq!(leader.high_watermark(), 8);
    leader.handle_follower_fetch(3, 2, 5).unwrap();
    assert!(
        alter_requests(&drain(&mut leader)).is_empty(),
        "2 is below the HW"
    );
    leader.handle_follower_fetch(4, 2, 9).unwrap();
    assert_eq!(alter_requests(&drain(&mut leader)), vec![vec![0, 1, 2]]);
    leader.handle_alter_partition_response(5, Err(ResponseError::InvalidUpdateVersion));
    assert_eq!(leader.pending_isr(), None);
    assert_eq!(leader.isr(), &[0, 1]);
    leader.handle_follower_fetch(6, 2, 10).unwrap();
    assert_eq!(alter_requests(&drain(&mut leader)), vec![vec![0, 1, 2]]);
    let mut committed = state(vec![0, 1, 2]);
    committed.partition_epoch = 6;
    leader.handle_alter_partition_response(7, Ok(committed));
    assert_eq!(leader.isr(), &[0, 1, 2]);
}

/// Fetch validation: beyond the log end is OFFSET_OUT_OF_RANGE, a non-replica NOT_LEADER_OR_FOLLOWER.
#[test]
fn follower_fetch_validation() {
    let mut leader = leader_with(1, vec![0, 1, 2]);
    leader.handle_leader_append(1, 4);
    assert_eq!(
        leader.handle_follower_fetch(2, 1, 5),
        Err(ResponseError::OffsetOutOfRange)
    );
    assert_eq!(
        leader.handle_follower_fetch(2, 9, 0),
        Err(ResponseError::NotLeaderOrFollower)
    );
}

/// Losing leadership fails waiting acks=all requests with NOT_LEADER_OR_FOLLOWER; a timeout is
/// REQUEST_TIMED_OUT.
#[test]
fn leadership_loss_and_timeout_fail_pending_produces() {
    let mut leader = leader_with(1, vec![0, 1]);
    leader.handle_produce_appended(1, 1, Acks::All, 1, 100);
    leader.handle_produce_appended(1, 2, Acks::All, 2, 5000);
    assert_eq!(leader.poll_timeout(), 101);
    leader.handle_timeout(101);
    assert_eq!(
        completed(&drain(&mut leader)),
        vec![(1, Err(ResponseError::RequestTimedOut))]
    );
    let mut moved = state(vec![0, 1]);
    moved.leader = 1;
    moved.leader_epoch = 4;
    assert!(!leader.handle_partition_update(200, &moved));
    assert_eq!(
        completed(&drain(&mut leader)),
        vec![(2, Err(ResponseError::NotLeaderOrFollower))]
    );
}

/// Truncation rule (getOffsetTruncationState): same epoch → min of the end offsets; older local epoch →
/// truncate to it and ask again; unknown → high watermark.
#[test]
fn offset_truncation_state_cases() {
    let local = |epoch: i32| match epoch {
        e if e >= 2 => (2, 12),
        1 => (1, 8),
        _ => (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET),
    };
    assert_eq!(
        offset_truncation_state((2, 10), local, 12, 5),
        TruncationState {
            offset: 10,
            completed: true
        }
    );
    assert_eq!(
        offset_truncation_state((3, 15), local, 12, 5),
        TruncationState {
            offset: 12,
            completed: false
        }
    );
    assert_eq!(
        offset_truncation_state((UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET), local, 12, 5),
        TruncationState {
            offset: 5,
            completed: true
        }
    );
    assert_eq!(
        offset_truncation_state((0, 3), local, 12, 5),
        TruncationState {
            offset: 3,
            completed: false
        }
    );
}

fn batch(values: &[&str]) -> Bytes {
    let records: Vec<ProducerRecord> = values
        .iter()
        .map(|v| ProducerRecord::new(None, Some(v.as_bytes()), 0))
        .collect();
    encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap()
}

fn replicate(from: &PartitionLog, to: &mut PartitionLog) {
    let read = from
        .read(
            to.log_end_offset(),
            usize::MAX,
            FetchIsolation::LogEnd,
            true,
        )
        .unwrap();
    to.append_as_follower(&read.records).unwrap();
}

fn contents(log: &PartitionLog) -> Vec<(i64, i32)> {
    log.batches()
        .iter()
        .map(|b| (b.base_offset(), b.batch.header.partition_leader_epoch))
        .collect()
}

/// Truncation on leader change (KIP-101): the old leader's unreplicated suffix diverges from the new
/// leader's log; OffsetsForLeaderEpoch truncation makes them consistent and keeps every record acked with
/// acks=all.
#[test]
fn divergent_logs_converge_after_failover() {
    let mut a = PartitionLog::new(LogConfig::default());
    let mut b = PartitionLog::new(LogConfig::default());
    let mut leader = LeaderReplicas::become_leader(
        0,
        ReplicationConfig::default(),
        0,
        1,
        "t",
        &PartitionImage {
            partition: 0,
            replicas: vec![0, 1],
            isr: vec![0, 1],
            leader: 0,
            leader_epoch: 0,
            partition_epoch: 0,
        },
        0,
        0,
    );
    a.assign_leader_epoch(0);
    // Epoch 0 on A: two acks=all batches replicated to B and acknowledged.
    for (id, values) in [(1u64, &["a", "b"][..]), (2, &["c"][..])] {
        let info = a.append_as_leader(&batch(values), 0, 0).unwrap();
        leader.handle_produce_appended(1, id, Acks::All, info.last_offset + 1, 30_000);
        replicate(&a, &mut b);
        let hw = leader
            .handle_follower_fetch(2, 1, b.log_end_offset())
            .unwrap();
        a.update_high_watermark(hw);
    }
    let acked = completed(&drain(&mut leader));
    assert_eq!(acked, vec![(1, Ok(())), (2, Ok(()))]);
    let acked_end = a.high_watermark();
    assert_eq!(acked_end, 3);
    // A appends two more batches B never fetches (acks=all, not acknowledged), then dies.
    for (id, values) in [(3u64, &["x"][..]), (4, &["y", "z"][..])] {
        let info = a.append_as_leader(&batch(values), 0, 0).unwrap();
        leader.handle_produce_appended(3, id, Acks::All, info.last_offset + 1, 30_000);
    }
    assert!(completed(&drain(&mut leader)).is_empty());
    assert_eq!(a.log_end_offset(), 6);
    // B becomes leader in epoch 1 and takes new writes at offsets 3.. that A's suffix conflicts with.
    b.assign_leader_epoch(1);
    b.append_as_leader(&batch(&["p", "q"]), 1, 0).unwrap();
    b.append_as_leader(&batch(&["r"]), 1, 0).unwrap();
    assert_ne!(contents(&a), contents(&b));
    // A comes back as follower: OffsetsForLeaderEpoch(0) on B answers (0, 3); A truncates to 3.
    assert_eq!(b.end_offset_for_epoch(0), (0, 3));
    let truncated_to = truncate_follower(&mut a, &b, 8);
    assert_eq!(truncated_to, 3);
    replicate(&b, &mut a);
    assert_eq!(contents(&a), contents(&b));
    assert_eq!(a.log_end_offset(), b.log_end_offset());
    // No acknowledged record lost: the acked prefix is identical byte for byte.
    let read = |log: &PartitionLog| {
        log.read(0, usize::MAX, FetchIsolation::LogEnd, true)
            .unwrap()
            .records
    };
    let a_bytes = read(&a);
    let acked_batches: Vec<_> = a
        .batches()
        .iter()
        .filter(|s| s.last_offset() < acked_end)
        .collect();
    assert_eq!(acked_batches.len(), 2);
    assert_eq!(a_bytes, read(&b));
}

/// A follower that knows an epoch the new leader never had (a zombie suffix in a higher local epoch that
/// the leader knows nothing of) is truncated over several OffsetsForLeaderEpoch rounds.
#[test]
fn truncation_takes_several_rounds_for_unknown_epochs() {
    let mut leader = PartitionLog::new(LogConfig::default());
    let mut follower = PartitionLog::new(LogConfig::default());
    leader.assign_leader_epoch(0);
    leader.append_as_leader(&batch(&["a"]), 0, 0).unwrap();
    replicate(&leader, &mut follower);
    // Follower was briefly leader in epoch 1 (the other side never saw it) and wrote alone.
    follower.assign_leader_epoch(1);
    follower
        .append_as_leader(&batch(&["zombie"]), 1, 0)
        .unwrap();
    // Meanwhile the leader got epoch 2 and wrote.
    leader.assign_leader_epoch(2);
    leader.append_as_leader(&batch(&["b", "c"]), 2, 0).unwrap();
    assert_eq!(truncate_follower(&mut follower, &leader, 8), 1);
    replicate(&leader, &mut follower);
    assert_eq!(contents(&follower), contents(&leader));
}
