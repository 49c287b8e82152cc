//! Property: random sequences of application calls and broker responses (successes, partition and
//! session errors, disconnects, time passing, poison and corrupt data) never panic, and every
//! acknowledgement reaches exactly one outcome, reported once to the application (ACK-OUTCOME), with
//! every commitSync answered once and close always finishing.

use std::collections::BTreeSet;

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::super::*;
use super::{acquired, data_batch, tip, Harness};
use crate::log::RawBatch;
use crate::semantics::Semantics;
use crate::share::AcknowledgeType;
use crate::ResponseError;

#[derive(Clone, Debug)]
enum Op {
    Poll,
    AcknowledgeAll(u8),
    CommitSync,
    CommitAsync,
    Respond { pick: usize, how: u8, count: u8 },
    Fail { pick: usize },
    Advance { ms: u16 },
    Close,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Poll),
        2 => any::<u8>().prop_map(Op::AcknowledgeAll),
        1 => Just(Op::CommitSync),
        1 => Just(Op::CommitAsync),
        6 => (any::<usize>(), any::<u8>(), 1u8..6).prop_map(|(pick, how, count)| Op::Respond {
            pick,
            how,
            count
        }),
        1 => any::<usize>().prop_map(|pick| Op::Fail { pick }),
        2 => (0u16..40_000).prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Close),
    ]
}

struct World {
    h: Harness,
    outstanding: Vec<Transmit>,
    next_offset: [i64; 2],
    last_records: Vec<ConsumerRecord>,
    commits: BTreeSet<CommitId>,
    member_epoch: i32,
}

impl World {
    fn collect(&mut self) {
        let transmits = self.h.transmits();
        self.outstanding.extend(transmits);
    }

    /// Fresh data for one partition: `count` records (one poison when `poison`), or a corrupt batch.
    fn data(&mut self, partition: usize, count: u8, how: u8) -> (Bytes, Vec<AcquiredRecords>) {
        let base = self.next_offset[partition];
        let values: Vec<Vec<u8>> = (0..count)
            .map(|i| {
                if how % 7 == 1 && i == 0 {
                    b"POISON".to_vec()
                } else {
                    format!("v{i}").into_bytes()
                }
            })
            .collect();
        let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
        let mut bytes = data_batch(base, &refs);
        if how % 7 == 2 {
            bytes = RawBatch::split_all(&bytes).unwrap()[0]
                .corrupted(how as usize)
                .bytes;
        }
        // One extra acquired offset past the data: a gap.
        let last = base + i64::from(count);
        self.next_offset[partition] = last + 1;
        let mut buf = BytesMut::new();
        buf.extend_from_slice(&bytes);
        (
            buf.freeze(),
            vec![acquired(base, last, 1 + i16::from(how % 3))],
        )
    }

    fn respond(&mut self, pick: usize, how: u8, count: u8) {
        if self.outstanding.is_empty() {
            return;
        }
        let transmit = self.outstanding.remove(pick % self.outstanding.len());
        let now = self.h.now_ms;
        match transmit {
            Transmit::ShareFetch {
                request_id,
                request,
                ..
            } => {
                let top_error = (how % 11 == 3).then_some(ResponseError::ShareSessionNotFound);
                let mut partitions = Vec::new();
                for (index, p) in request.partitions.iter().enumerate() {
                    let partition = p.topic_id_partition.partition as usize % 2;
                    let (records, acquired_records) = if how % 5 == 4 || request.is_renew_ack {
                        (Bytes::new(), vec![])
                    } else {
                        self.data(partition, count, how.wrapping_add(index as u8))
                    };
                    partitions.push(ShareFetchResponsePartition {
                        topic_id_partition: p.topic_id_partition,
                        error: (how % 13 == 5).then_some(ResponseError::NotLeaderOrFollower),
                        acknowledge_error: (how % 3 == 2)
                            .then_some(ResponseError::InvalidRecordState),
                        current_leader: Some(NodeId(1 + i32::from(how % 2))),
                        records,
                        acquired_records,
                    });
                }
                self.h.consumer.handle_share_fetch_response(
                    now,
                    request_id,
                    &ShareFetchResponse {
                        error: top_error,
                        acquisition_lock_timeout_ms: 30_000,
                        partitions,
                    },
                );
            }
            Transmit::ShareAcknowledge {
                request_id,
                request,
                ..
            } => {
                let partition_error = match how % 4 {
                    0 => None,
                    1 => Some(ResponseError::InvalidRecordState),
                    2 => Some(ResponseError::CoordinatorNotAvailable),
                    _ => Some(ResponseError::NotLeaderOrFollower),
                };
                let top_error = (how % 9 == 7).then_some(ResponseError::InvalidShareSessionEpoch);
                let response = ShareAcknowledgeResponse {
                    error: top_error,
                    acquisition_lock_timeout_ms: Some(20_000),
                    partitions: request
                        .partitions
                        .iter()
                        // Sometimes a partition is missing from the response (bad input).
                        .filter(|_| how % 17 != 6)
                        .map(|p| ShareAcknowledgeResponsePartition {
                            topic_id_partition: p.topic_id_partition,
                            error: partition_error,
                            current_leader: None,
                        })
                        .collect(),
                };
                self.h
                    .consumer
                    .handle_share_acknowledge_response(now, request_id, &response);
            }
            Transmit::ShareGroupHeartbeat {
                request_id,
                request,
                ..
            } => {
                let fenced = how % 10 == 9;
                self.member_epoch += 1;
                let response = ShareGroupHeartbeatResponse {
                    error: fenced.then_some(ResponseError::FencedMemberEpoch),
                    member_epoch: if request.member_epoch == LEAVE_EPOCH {
                        -1
                    } else {
                        self.member_epoch
                    },
                    heartbeat_interval_ms: 5_000,
                    assignment: Some(vec![AssignedTopic {
                        topic_id: tip(0).topic_id,
                        partitions: vec![0, 1],
                    }]),
                };
                self.h
                    .consumer
                    .handle_heartbeat_response(now, request_id, &response);
            }
        }
        self.h.drain();
    }

    fn apply(&mut self, op: &Op) {
        let now = self.h.now_ms;
        match op {
            Op::Poll => match self.h.poll() {
                Ok(records) => self.last_records = records,
                Err(ClientError::RecordDeserialization {
                    topic_id_partition,
                    offset,
                    ..
                }) => {
                    let _ = self.h.consumer.acknowledge_offset(
                        topic_id_partition,
                        offset,
                        AcknowledgeType::Reject,
                    );
                }
                Err(_) => {}
            },
            Op::AcknowledgeAll(kind) => {
                let ack_type = match kind % 4 {
                    0 => AcknowledgeType::Accept,
                    1 => AcknowledgeType::Release,
                    2 => AcknowledgeType::Reject,
                    _ => AcknowledgeType::Renew,
                };
                for record in self.last_records.clone() {
                    let _ = self.h.consumer.acknowledge(&record, ack_type);
                }
            }
            Op::CommitSync => {
                if let Ok(commit_id) = self.h.consumer.commit_sync(now, 5_000) {
                    self.commits.insert(commit_id);
                }
            }
            Op::CommitAsync => {
                let _ = self.h.consumer.commit_async(now);
            }
            Op::Respond { pick, how, count } => self.respond(*pick, *how, *count),
            Op::Fail { pick } => {
                if !self.outstanding.is_empty() {
                    let transmit = self.outstanding.remove(pick % self.outstanding.len());
                    self.h.consumer.handle_request_failed(
                        now,
                        transmit.request_id(),
                        RequestFailure::Disconnected,
                    );
                }
            }
            Op::Advance { ms } => {
                self.h.now_ms += u64::from(*ms);
                self.h.consumer.handle_timeout(self.h.now_ms);
            }
            Op::Close => {
                let _ = self.h.consumer.close(now, 30_000);
            }
        }
        self.h.drain();
        self.collect();
    }
}

/// Runs `ops`, closes, checks ACK-OUTCOME; returns (acknowledgements reported, records delivered).
fn run(mode: &str, ops: &[Op]) -> (u64, usize) {
    let mut h = Harness::new(
        &[
            ("share.acknowledgement.mode", mode),
            ("max.poll.records", "4"),
        ],
        Semantics::default(),
    );
    h.join(&[0, 1]);
    let mut world = World {
        h,
        outstanding: Vec::new(),
        next_offset: [0, 0],
        last_records: Vec::new(),
        commits: BTreeSet::new(),
        member_epoch: 1,
    };
    world.collect();
    for op in ops {
        world.apply(op);
        let (taken, reported) = world.h.consumer.acknowledgement_counts();
        assert!(reported <= taken);
    }
    // Close, answering everything successfully, and let the deadline pass if something hangs.
    world.apply(&Op::Close);
    for _ in 0..200 {
        if world.h.consumer.is_closed() {
            break;
        }
        if world.outstanding.is_empty() {
            world.apply(&Op::Advance { ms: 10_000 });
        } else {
            world.apply(&Op::Respond {
                pick: 0,
                how: 0,
                count: 1,
            });
        }
    }
    assert!(world.h.consumer.is_closed(), "close finishes");
    let (taken, reported) = world.h.consumer.acknowledgement_counts();
    assert_eq!(
        taken, reported,
        "ACK-OUTCOME: every acknowledgement has one outcome"
    );

    let outcomes: Vec<_> = world
        .h
        .trace
        .iter()
        .filter_map(|e| match e {
            ClientTraceEvent::AcknowledgementOutcome {
                topic_id_partition,
                acknowledgements,
                ..
            } => Some((*topic_id_partition, acknowledgements.len())),
            _ => None,
        })
        .collect();
    let callbacks: Vec<_> = world
        .h
        .events
        .iter()
        .filter_map(|e| match e {
            ConsumerEvent::AcknowledgementCommitCallback {
                topic_id_partition,
                offsets,
                ..
            } => Some((*topic_id_partition, offsets.len())),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcomes, callbacks,
        "one callback per outcome, same partition and offsets"
    );
    assert_eq!(
        outcomes.iter().map(|(_, n)| *n as u64).sum::<u64>(),
        reported
    );

    let completed: Vec<CommitId> = world
        .h
        .events
        .iter()
        .filter_map(|e| match e {
            ConsumerEvent::CommitSyncCompleted { commit_id, .. } => Some(*commit_id),
            _ => None,
        })
        .collect();
    let unique: BTreeSet<CommitId> = completed.iter().copied().collect();
    assert_eq!(
        unique.len(),
        completed.len(),
        "each commitSync completes once"
    );
    assert_eq!(unique, world.commits, "every commitSync completes");
    let closed = world
        .h
        .events
        .iter()
        .filter(|e| **e == ConsumerEvent::Closed)
        .count();
    assert_eq!(closed, 1);
    let delivered = world
        .h
        .trace
        .iter()
        .filter(|e| matches!(e, ClientTraceEvent::RecordDelivered { .. }))
        .count();
    (reported, delivered)
}

/// The generator's world reaches deliveries and outcomes (the property is not vacuous).
#[test]
fn property_world_delivers_and_acknowledges() {
    let respond = |how| Op::Respond {
        pick: 0,
        how,
        count: 3,
    };
    let ops = [
        Op::Poll,
        respond(0),
        Op::Poll,
        Op::AcknowledgeAll(0),
        Op::Poll,
        respond(0),
        Op::CommitSync,
        respond(0),
        respond(0),
    ];
    for mode in ["implicit", "explicit"] {
        let (reported, delivered) = run(mode, &ops);
        assert!(delivered >= 3, "{mode}: {delivered}");
        assert!(reported >= 3, "{mode}: {reported}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Spec 7.1/7.3 and the oracle's ACK-OUTCOME, implicit mode.
    #[test]
    fn implicit_mode_every_ack_has_one_outcome(ops in prop::collection::vec(op(), 0..60)) {
        run("implicit", &ops);
    }

    /// Spec 7.2/7.3/7.8 and ACK-OUTCOME, explicit mode (with RENEW and deserialization overrides).
    #[test]
    fn explicit_mode_every_ack_has_one_outcome(ops in prop::collection::vec(op(), 0..60)) {
        run("explicit", &ops);
    }
}
