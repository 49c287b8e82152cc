//! Property test of the leader's replica state under random produces, follower fetches, time and
//! controller answers.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::cluster::controller::PartitionImage;
use crate::ResponseError;

#[derive(Clone, Debug)]
enum Op {
    Produce {
        records: i64,
        acks_all: bool,
    },
    /// Follower fetches at its log end, then receives up to `fetched` records of the answer.
    Fetch {
        follower: i32,
        fetched: i64,
    },
    Tick {
        elapsed_ms: u64,
    },
    /// The controller answers the AlterPartition in flight (commit or INVALID_UPDATE_VERSION).
    ControllerReply {
        commit: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1i64..4, any::<bool>()).prop_map(|(records, acks_all)| Op::Produce { records, acks_all }),
        (1i32..3, 0i64..6).prop_map(|(follower, fetched)| Op::Fetch { follower, fetched }),
        (1u64..20_000).prop_map(|elapsed_ms| Op::Tick { elapsed_ms }),
        any::<bool>().prop_map(|commit| Op::ControllerReply { commit }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The HW never decreases and never exceeds the log end of any (maximal) ISR member; an acks=all
    /// success means the batch is on every committed ISR member at that moment.
    #[test]
    fn high_watermark_and_acks_all_are_safe(
        min_insync_replicas in 1usize..=3,
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let config = ReplicationConfig { replica_lag_time_max_ms: 30_000, min_insync_replicas };
        let mut image = PartitionImage {
            partition: 0, replicas: vec![0, 1, 2], isr: vec![0, 1, 2], leader: 0,
            leader_epoch: 0, partition_epoch: 0,
        };
        let mut leader = LeaderReplicas::become_leader(0, config, 0, 1, "t", &image, 0, 0);
        let mut now_ms = 0u64;
        let mut log_end: BTreeMap<i32, i64> = [(0, 0), (1, 0), (2, 0)].into_iter().collect();
        let mut required_by_request: BTreeMap<u64, (bool, i64)> = BTreeMap::new();
        let mut next_request_id = 0u64;
        let mut last_hw = 0i64;
        for op in ops {
            match op {
                Op::Produce { records, acks_all } => {
                    let acks = if acks_all { Acks::All } else { Acks::Leader };
                    match leader.check_produce(acks) {
                        Ok(()) => {
                            *log_end.get_mut(&0).unwrap() += records;
                            next_request_id += 1;
                            required_by_request.insert(next_request_id, (acks_all, log_end[&0]));
                            let end = log_end[&0];
                            leader.handle_produce_appended(now_ms, next_request_id, acks, end, 1 << 40);
                        }
                        Err(e) => {
                            prop_assert_eq!(e, ResponseError::NotEnoughReplicas);
                            prop_assert!(acks_all && leader.isr().len() < min_insync_replicas);
                        }
                    }
                }
                Op::Fetch { follower, fetched } => {
                    let at = log_end[&follower];
                    let hw = leader.handle_follower_fetch(now_ms, follower, at).unwrap();
                    prop_assert!(hw <= log_end[&0]);
                    let leader_end = log_end[&0];
                    log_end.insert(follower, (at + fetched).min(leader_end));
                }
                Op::Tick { elapsed_ms } => {
                    now_ms += elapsed_ms;
                    if now_ms >= leader.poll_timeout() {
                        leader.handle_timeout(now_ms);
                    }
                }
                Op::ControllerReply { commit } => {
                    if let Some(proposed) = leader.pending_isr().map(<[i32]>::to_vec) {
                        if commit {
                            image.isr = proposed;
                            image.partition_epoch += 1;
                            leader.handle_alter_partition_response(now_ms, Ok(image.clone()));
                        } else {
                            leader.handle_alter_partition_response(
                                now_ms, Err(ResponseError::InvalidUpdateVersion));
                        }
                    }
                }
            }
            let hw = leader.high_watermark();
            prop_assert!(hw >= last_hw, "HW went back: {} -> {}", last_hw, hw);
            last_hw = hw;
            for member in leader.maximal_isr() {
                prop_assert!(hw <= log_end[&member], "HW {} above {}'s LEO {}", hw, member, log_end[&member]);
            }
            while let Some(effect) = leader.poll_effect() {
                if let ReplicationEffect::ProduceCompleted { request_id, result } = effect {
                    let (acks_all, required) = required_by_request[&request_id];
                    if acks_all && result.is_ok() {
                        prop_assert!(leader.isr().len() >= min_insync_replicas);
                        for member in leader.isr() {
                            prop_assert!(log_end[member] >= required,
                                "acked {} but {} has only {}", required, member, log_end[member]);
                        }
                    }
                }
            }
        }
    }
}
