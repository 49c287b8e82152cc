//! Share consumer engine tests: one rule per test, each naming its spec section. Fetched data is built with
//! the log module's real v2 batch encoding.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::log::{
    encode_control_batch, encode_data_batch, ControlType, ProducerIdentity, ProducerRecord,
    RawBatch,
};
use crate::semantics::{Release, Semantics};
use crate::share::AcknowledgeType::{self, *};
use crate::ResponseError;

mod proptests;

const TOPIC: TopicId = TopicId(0xabc);
const COORDINATOR: NodeId = NodeId(0);
const LEADER: NodeId = NodeId(1);

pub(super) fn tip(partition: i32) -> TopicIdPartition {
    TopicIdPartition {
        topic_id: TOPIC,
        partition,
    }
}

/// One v2 data batch at `base_offset` with the given values, as the log stores it.
pub(super) fn data_batch(base_offset: i64, values: &[&[u8]]) -> Bytes {
    let records: Vec<ProducerRecord> = values
        .iter()
        .map(|v| ProducerRecord::new(None, Some(v), 1_000))
        .collect();
    let bytes = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).expect("non-empty");
    let batch = RawBatch::split_all(&bytes).expect("valid")[0].restamped(base_offset, 0);
    batch.bytes
}

/// `count` records `v0, v1, ...` in one batch at `base_offset`.
pub(super) fn plain_batch(base_offset: i64, count: usize) -> Bytes {
    let values: Vec<Vec<u8>> = (0..count).map(|i| format!("v{i}").into_bytes()).collect();
    let refs: Vec<&[u8]> = values.iter().map(Vec::as_slice).collect();
    data_batch(base_offset, &refs)
}

fn concat(parts: &[Bytes]) -> Bytes {
    let mut out = BytesMut::new();
    for part in parts {
        out.extend_from_slice(part);
    }
    out.freeze()
}

pub(super) fn acquired(first: i64, last: i64, delivery_count: i16) -> AcquiredRecords {
    AcquiredRecords {
        first_offset: first,
        last_offset: last,
        delivery_count,
    }
}

/// A test driver around one consumer: virtual time, and the transmits and events drained so far.
pub(super) struct Harness {
    pub consumer: ShareConsumer,
    pub now_ms: u64,
    pub events: Vec<ConsumerEvent>,
    pub trace: Vec<ClientTraceEvent>,
}

impl Harness {
    pub fn new(pairs: &[(&str, &str)], semantics: Semantics) -> Harness {
        let config = ShareConsumerConfig::from_pairs(pairs.iter().copied()).expect("valid config");
        Self::with_config(config, semantics, RecordDeserializer::poison_marker())
    }

    pub fn with_config(
        config: ShareConsumerConfig,
        semantics: Semantics,
        deserializer: RecordDeserializer,
    ) -> Harness {
        let mut rng = StdRng::seed_from_u64(7);
        let consumer =
            ShareConsumer::new(config, semantics, deserializer, &mut rng, 0).expect("valid");
        Harness {
            consumer,
            now_ms: 0,
            events: Vec::new(),
            trace: Vec::new(),
        }
    }

    /// Subscribed, joined with `partitions` assigned, all led by LEADER.
    pub fn joined(pairs: &[(&str, &str)], partitions: &[i32]) -> Harness {
        let mut h = Harness::new(pairs, Semantics::default());
        h.join(partitions);
        h
    }

    pub fn join(&mut self, partitions: &[i32]) {
        let now = self.now_ms;
        self.consumer.subscribe(now, &["orders"]).unwrap();
        self.consumer
            .handle_group_coordinator(now, Some(COORDINATOR));
        self.consumer.handle_topic_metadata(
            now,
            &TopicMetadata {
                name: "orders".to_owned(),
                topic_id: TOPIC,
                partition_leaders: partitions.iter().map(|p| (*p, Some(LEADER))).collect(),
            },
        );
        let (request_id, request) = self.expect_heartbeat();
        assert_eq!(request.member_epoch, JOIN_EPOCH);
        assert_eq!(
            request.subscribed_topic_names,
            Some(vec!["orders".to_owned()])
        );
        self.consumer.handle_heartbeat_response(
            now,
            request_id,
            &ShareGroupHeartbeatResponse {
                error: None,
                member_epoch: 1,
                heartbeat_interval_ms: 5_000,
                assignment: Some(vec![AssignedTopic {
                    topic_id: TOPIC,
                    partitions: partitions.to_vec(),
                }]),
            },
        );
        assert_eq!(self.consumer.member_epoch(), 1);
        self.drain();
    }

    pub fn drain(&mut self) {
        while let Some(event) = self.consumer.poll_event() {
            self.events.push(event);
        }
        while let Some(event) = self.consumer.poll_trace() {
            self.trace.push(event);
        }
    }

    pub fn transmits(&mut self) -> Vec<Transmit> {
        let mut out = Vec::new();
        while let Some(t) = self.consumer.poll_transmit(self.now_ms) {
            out.push(t);
        }
        self.drain();
        out
    }

    pub fn expect_heartbeat(&mut self) -> (RequestId, ShareGroupHeartbeatRequest) {
        let transmits = self.transmits();
        transmits
            .into_iter()
            .find_map(|t| match t {
                Transmit::ShareGroupHeartbeat {
                    request_id,
                    request,
                    ..
                } => Some((request_id, request)),
                _ => None,
            })
            .expect("a heartbeat")
    }

    pub fn expect_fetch(&mut self) -> (RequestId, ShareFetchRequest) {
        let transmits = self.transmits();
        let fetches: Vec<_> = transmits
            .into_iter()
            .filter_map(|t| match t {
                Transmit::ShareFetch {
                    request_id,
                    request,
                    ..
                } => Some((request_id, request)),
                _ => None,
            })
            .collect();
        assert_eq!(fetches.len(), 1, "exactly one ShareFetch");
        fetches.into_iter().next().unwrap()
    }

    pub fn expect_acknowledge(&mut self) -> (RequestId, ShareAcknowledgeRequest) {
        let transmits = self.transmits();
        transmits
            .into_iter()
            .find_map(|t| match t {
                Transmit::ShareAcknowledge {
                    request_id,
                    request,
                    ..
                } => Some((request_id, request)),
                _ => None,
            })
            .expect("a ShareAcknowledge")
    }

    pub fn poll(&mut self) -> Result<Vec<ConsumerRecord>, ClientError> {
        let result = self.consumer.poll(self.now_ms);
        self.drain();
        result
    }

    /// Answers a fetch with one partition's data and acquired ranges.
    pub fn answer_fetch(
        &mut self,
        request_id: RequestId,
        partitions: Vec<(TopicIdPartition, Bytes, Vec<AcquiredRecords>)>,
        acknowledge_error: Option<ResponseError>,
    ) {
        let response = ShareFetchResponse {
            error: None,
            acquisition_lock_timeout_ms: 30_000,
            partitions: partitions
                .into_iter()
                .map(
                    |(tip, records, acquired_records)| ShareFetchResponsePartition {
                        topic_id_partition: tip,
                        error: None,
                        acknowledge_error,
                        current_leader: None,
                        records,
                        acquired_records,
                    },
                )
                .collect(),
        };
        self.consumer
            .handle_share_fetch_response(self.now_ms, request_id, &response);
        self.drain();
    }

    /// Answers every partition of a ShareAcknowledge with `error`.
    pub fn answer_acknowledge(
        &mut self,
        request_id: RequestId,
        request: &ShareAcknowledgeRequest,
        error: Option<ResponseError>,
    ) {
        let response = ShareAcknowledgeResponse {
            error: None,
            acquisition_lock_timeout_ms: Some(30_000),
            partitions: request
                .partitions
                .iter()
                .map(|p| ShareAcknowledgeResponsePartition {
                    topic_id_partition: p.topic_id_partition,
                    error,
                    current_leader: None,
                })
                .collect(),
        };
        self.consumer
            .handle_share_acknowledge_response(self.now_ms, request_id, &response);
        self.drain();
    }

    /// poll → ShareFetch → response with `records`/`acquired` on partition 0 → poll returns records.
    pub fn deliver(
        &mut self,
        records: Bytes,
        acquired: Vec<AcquiredRecords>,
    ) -> (ShareFetchRequest, Result<Vec<ConsumerRecord>, ClientError>) {
        let first = self.poll();
        assert!(matches!(&first, Ok(r) if r.is_empty()), "{first:?}");
        let (request_id, request) = self.expect_fetch();
        self.answer_fetch(request_id, vec![(tip(0), records, acquired)], None);
        (request, self.poll())
    }

    pub fn callbacks(&self) -> Vec<(TopicIdPartition, Vec<i64>, Option<ResponseError>)> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ConsumerEvent::AcknowledgementCommitCallback {
                    topic_id_partition,
                    offsets,
                    error,
                } => Some((*topic_id_partition, offsets.clone(), *error)),
                _ => None,
            })
            .collect()
    }
}

/// The piggybacked or sent acknowledgements of one partition, flattened to (offset, type).
pub(super) fn flatten(batches: &[AcknowledgementBatch]) -> Vec<(i64, AcknowledgeType)> {
    let mut out = Vec::new();
    for batch in batches {
        for offset in batch.first_offset..=batch.last_offset {
            let index = if batch.acknowledge_types.len() == 1 {
                0
            } else {
                (offset - batch.first_offset) as usize
            };
            out.push((offset, batch.acknowledge_types[index]));
        }
    }
    out
}

fn offsets(records: &[ConsumerRecord]) -> Vec<i64> {
    records.iter().map(|r| r.offset).collect()
}

/// Spec 2.4, 2.6: the first fetch opens a session at epoch 0 and sends max.poll.records as MaxRecords and
/// BatchSize; the response's records are delivered with their delivery counts, and the next fetch uses
/// epoch 1.
#[test]
fn first_fetch_opens_session_and_delivers_acquired_records() {
    let mut h = Harness::joined(&[], &[0]);
    let (request, records) = h.deliver(plain_batch(0, 3), vec![acquired(0, 2, 1)]);
    assert_eq!(request.share_session_epoch, 0);
    assert_eq!(request.max_records, 500);
    assert_eq!(request.batch_size, 500);
    assert_eq!(request.partitions.len(), 1);
    let records = records.unwrap();
    assert_eq!(offsets(&records), vec![0, 1, 2]);
    assert!(records
        .iter()
        .all(|r| r.delivery_count == 1 && r.topic == "orders"));
    assert_eq!(h.consumer.share_session_epoch(LEADER), 1);
    assert_eq!(h.consumer.acquisition_lock_timeout_ms(), Some(30_000));
    let delivered = h
        .trace
        .iter()
        .filter(|e| matches!(e, ClientTraceEvent::RecordDelivered { .. }))
        .count();
    assert_eq!(delivered, 3);
}

/// Spec 7.1: the next poll ACCEPTs every record of the previous poll and piggybacks the acks on the next
/// ShareFetch to that leader.
#[test]
fn implicit_poll_accepts_previous_batch_piggybacked() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 3), vec![acquired(0, 2, 1)]);
    assert_eq!(records.unwrap().len(), 3);
    assert!(h.poll().unwrap().is_empty());
    let (request_id, request) = h.expect_fetch();
    assert_eq!(request.share_session_epoch, 1);
    let acks = flatten(&request.partitions[0].acknowledgement_batches);
    assert_eq!(acks, vec![(0, Accept), (1, Accept), (2, Accept)]);
    h.answer_fetch(request_id, vec![(tip(0), Bytes::new(), vec![])], None);
    assert_eq!(h.callbacks(), vec![(tip(0), vec![0, 1, 2], None)]);
}

/// Spec 7.1: acknowledge() is not allowed in implicit mode.
#[test]
fn implicit_mode_rejects_acknowledge() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    let record = records.unwrap()[0].clone();
    assert!(matches!(
        h.consumer.acknowledge(&record, Accept),
        Err(ClientError::IllegalState(_))
    ));
}

/// Spec 7.7: close in implicit mode does not accept the last poll's records; it sends a FINAL-epoch
/// ShareAcknowledge without them, then leaves with epoch -1, then reports Closed.
#[test]
fn close_in_implicit_mode_releases_instead_of_accepting() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    assert_eq!(records.unwrap().len(), 2);
    h.consumer.close(h.now_ms, 30_000).unwrap();
    let (request_id, request) = h.expect_acknowledge();
    assert_eq!(request.share_session_epoch, -1);
    assert!(request.partitions.is_empty(), "no ACCEPT on close");
    h.answer_acknowledge(request_id, &request, None);
    let (heartbeat_id, heartbeat) = h.expect_heartbeat();
    assert_eq!(heartbeat.member_epoch, LEAVE_EPOCH);
    assert!(!h.consumer.is_closed());
    h.consumer.handle_heartbeat_response(
        h.now_ms,
        heartbeat_id,
        &ShareGroupHeartbeatResponse {
            error: None,
            member_epoch: -1,
            heartbeat_interval_ms: 0,
            assignment: None,
        },
    );
    h.drain();
    assert!(h.consumer.is_closed());
    assert!(h.events.contains(&ConsumerEvent::Closed));
    assert!(matches!(h.poll(), Err(ClientError::IllegalState(_))));
}

/// Spec 7.7: close sends explicit acks with the FINAL epoch and their callback runs.
#[test]
fn close_sends_pending_explicit_acks_with_final_epoch() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    let records = records.unwrap();
    h.consumer.acknowledge(&records[0], Reject).unwrap();
    h.consumer.close(h.now_ms, 30_000).unwrap();
    let (request_id, request) = h.expect_acknowledge();
    assert_eq!(request.share_session_epoch, -1);
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Reject)]
    );
    h.answer_acknowledge(request_id, &request, None);
    assert_eq!(h.callbacks(), vec![(tip(0), vec![0], None)]);
}

/// Spec 7.2: the next poll throws IllegalStateException while a record of the previous poll has no ack.
#[test]
fn explicit_next_poll_throws_while_records_unacknowledged() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    let records = records.unwrap();
    h.consumer.acknowledge(&records[0], Accept).unwrap();
    assert!(matches!(h.poll(), Err(ClientError::IllegalState(_))));
    h.consumer.acknowledge(&records[1], Release).unwrap();
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Accept), (1, Release)]
    );
}

/// Spec 7.2: an ack can be overwritten before it is sent; after it was taken for sending, acknowledging
/// the record again throws IllegalStateException.
#[test]
fn explicit_ack_overwrite_before_send_and_illegal_after() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    let record = records.unwrap()[0].clone();
    h.consumer.acknowledge(&record, Accept).unwrap();
    h.consumer.acknowledge(&record, Reject).unwrap();
    h.consumer.commit_async(h.now_ms).unwrap();
    assert!(matches!(
        h.consumer.acknowledge(&record, Accept),
        Err(ClientError::IllegalState(_))
    ));
    let (_, request) = h.expect_acknowledge();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Reject)]
    );
}

/// Spec 7.8: RENEW takes the record out of in-flight until the broker confirms; it then re-appears in the
/// next poll with the same delivery count. The request is a renew ShareAcknowledge (IsRenewAck).
#[test]
fn renew_reappears_after_confirmation() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    let records = records.unwrap();
    h.consumer.acknowledge(&records[0], Renew).unwrap();
    h.consumer.acknowledge(&records[1], Accept).unwrap();
    // Accept cannot be turned into RENEW.
    assert!(matches!(
        h.consumer.acknowledge(&records[1], Renew),
        Err(ClientError::IllegalState(_))
    ));
    assert!(h.poll().unwrap().is_empty(), "renewed record not back yet");
    let (request_id, request) = h.expect_acknowledge();
    assert!(request.is_renew_ack);
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Renew), (1, Accept)]
    );
    h.answer_acknowledge(request_id, &request, None);
    let again = h.poll().unwrap();
    assert_eq!(offsets(&again), vec![0]);
    assert_eq!(again[0].delivery_count, 1);
    // It must be acknowledged again in explicit mode.
    assert!(matches!(h.poll(), Err(ClientError::IllegalState(_))));
}

/// Spec 7, 7.8: no prefetch. Once a ShareFetch acquired records the client sends no ShareFetch while the
/// application holds them (Kafka `ShareConsumeRequestManager` clears `fetchMoreRecords`; only a poll that
/// finds nothing to hand out asks for more), nor while a RENEW is outstanding; the renewed record's return
/// is the same delivery, not traced again.
#[test]
fn no_fetch_while_the_application_holds_records_or_a_renew_is_outstanding() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    let record = records.unwrap()[0].clone();
    assert!(h
        .transmits()
        .iter()
        .all(|t| !matches!(t, Transmit::ShareFetch { .. })));
    h.now_ms += 10_000;
    h.consumer.handle_timeout(h.now_ms);
    assert!(h
        .transmits()
        .iter()
        .all(|t| !matches!(t, Transmit::ShareFetch { .. })));
    h.consumer.acknowledge(&record, Renew).unwrap();
    h.consumer.commit_async(h.now_ms).unwrap();
    assert!(h.poll().unwrap().is_empty(), "renewed record not back yet");
    let transmits = h.transmits();
    assert!(transmits
        .iter()
        .all(|t| !matches!(t, Transmit::ShareFetch { .. })));
    let (request_id, request) = transmits
        .into_iter()
        .find_map(|t| match t {
            Transmit::ShareAcknowledge {
                request_id,
                request,
                ..
            } => Some((request_id, request)),
            _ => None,
        })
        .expect("the RENEW");
    h.answer_acknowledge(request_id, &request, None);
    assert!(h
        .transmits()
        .iter()
        .all(|t| !matches!(t, Transmit::ShareFetch { .. })));
    let again = h.poll().unwrap();
    assert_eq!(offsets(&again), vec![0]);
    let delivered = h
        .trace
        .iter()
        .filter(|e| matches!(e, ClientTraceEvent::RecordDelivered { .. }))
        .count();
    assert_eq!(delivered, 1, "the renewed record is the same delivery");
    h.consumer.acknowledge(&again[0], Accept).unwrap();
    // Nothing left to hand out: this poll asks for more, with the ACCEPT piggybacked.
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Accept)]
    );
}

/// Spec 7.8: RENEW does not exist before 4.2.
#[test]
fn renew_needs_4_2() {
    let mut h = Harness::new(
        &[("share.acknowledgement.mode", "explicit")],
        Semantics::for_release(Release::Kafka4_1),
    );
    h.join(&[0]);
    let (request, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(request.version, 1);
    let record = records.unwrap()[0].clone();
    assert!(matches!(
        h.consumer.acknowledge(&record, Renew),
        Err(ClientError::IllegalArgument(_))
    ));
}

/// Spec 7.3: commitSync sends a ShareAcknowledge; the callback runs once per partition per commit with a
/// single-entry map, and commitSync reports one result per partition.
#[test]
fn callback_once_per_partition_per_commit() {
    let mut h = Harness::joined(&[], &[0, 1]);
    assert!(h.poll().unwrap().is_empty());
    let (request_id, request) = h.expect_fetch();
    assert_eq!(request.partitions.len(), 2);
    h.answer_fetch(
        request_id,
        vec![
            (tip(0), plain_batch(0, 2), vec![acquired(0, 1, 1)]),
            (tip(1), plain_batch(5, 1), vec![acquired(5, 5, 2)]),
        ],
        None,
    );
    assert_eq!(h.poll().unwrap().len(), 3);
    let commit_id = h.consumer.commit_sync(h.now_ms, 10_000).unwrap();
    let (ack_id, ack) = h.expect_acknowledge();
    assert_eq!(ack.partitions.len(), 2);
    let response = ShareAcknowledgeResponse {
        error: None,
        acquisition_lock_timeout_ms: Some(30_000),
        partitions: vec![
            ShareAcknowledgeResponsePartition {
                topic_id_partition: tip(0),
                error: None,
                current_leader: None,
            },
            ShareAcknowledgeResponsePartition {
                topic_id_partition: tip(1),
                error: Some(ResponseError::InvalidRecordState),
                current_leader: None,
            },
        ],
    };
    h.consumer
        .handle_share_acknowledge_response(h.now_ms, ack_id, &response);
    h.drain();
    let callbacks = h.callbacks();
    assert_eq!(
        callbacks,
        vec![
            (tip(0), vec![0, 1], None),
            (tip(1), vec![5], Some(ResponseError::InvalidRecordState)),
        ]
    );
    let expected: BTreeMap<_, _> = [
        (tip(0), None),
        (tip(1), Some(ResponseError::InvalidRecordState)),
    ]
    .into_iter()
    .collect();
    assert!(h.events.contains(&ConsumerEvent::CommitSyncCompleted {
        commit_id,
        results: expected
    }));
}

/// Spec 7.3: commitSync with nothing to commit completes at once with an empty map; one that times out
/// reports the cut-off partitions as timed out and the late outcome still reaches the callback once.
#[test]
fn commit_sync_timeout_and_empty_commit() {
    let mut h = Harness::joined(&[], &[0]);
    let empty = h.consumer.commit_sync(h.now_ms, 1_000).unwrap();
    h.drain();
    assert!(h.events.contains(&ConsumerEvent::CommitSyncCompleted {
        commit_id: empty,
        results: BTreeMap::new()
    }));
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(records.unwrap().len(), 1);
    let commit_id = h.consumer.commit_sync(h.now_ms, 1_000).unwrap();
    let (ack_id, ack) = h.expect_acknowledge();
    h.now_ms += 1_000;
    h.consumer.handle_timeout(h.now_ms);
    h.drain();
    let expected: BTreeMap<_, _> = [(tip(0), Some(ResponseError::RequestTimedOut))].into();
    assert!(h.events.contains(&ConsumerEvent::CommitSyncCompleted {
        commit_id,
        results: expected
    }));
    h.answer_acknowledge(ack_id, &ack, None);
    assert_eq!(h.callbacks(), vec![(tip(0), vec![0], None)]);
}

/// Spec 7.5: a record that fails to deserialize gets an automatic RELEASE; records parsed before it are
/// returned first and the RecordDeserializationException is thrown by the next poll.
#[test]
fn deserialization_error_released_and_surfaced_next_poll() {
    let mut h = Harness::joined(&[], &[0]);
    let values: [&[u8]; 4] = [b"ok0", b"ok1", b"POISON!", b"ok3"];
    let (_, records) = h.deliver(data_batch(0, &values), vec![acquired(0, 3, 1)]);
    assert_eq!(offsets(&records.unwrap()), vec![0, 1]);
    let error = h.poll().unwrap_err();
    assert_eq!(
        error,
        ClientError::RecordDeserialization {
            topic_id_partition: tip(0),
            offset: 2,
            message: "value carries the poison marker".to_owned()
        }
    );
    assert!(h.trace.iter().any(|e| matches!(
        e,
        ClientTraceEvent::PollError {
            error: "RecordDeserializationException",
            offset: Some(2),
            ..
        }
    )));
    // The rest of the batch comes with the next poll, which piggybacks every ack so far.
    let rest = h.poll().unwrap();
    assert_eq!(offsets(&rest), vec![3]);
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Accept), (1, Accept), (2, Release), (3, Accept)]
    );
}

/// Spec 7.5: in explicit mode the automatic RELEASE can be overridden to REJECT with
/// acknowledge(topic, partition, offset, type), and only for that offset.
#[test]
fn deserialization_error_explicit_override_to_reject() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let values: [&[u8]; 2] = [b"POISON", b"ok"];
    let (_, result) = h.deliver(data_batch(0, &values), vec![acquired(0, 1, 1)]);
    // The first record fails: nothing was parsed before it, so poll throws at once.
    assert!(matches!(
        result,
        Err(ClientError::RecordDeserialization { offset: 0, .. })
    ));
    assert!(matches!(
        h.consumer.acknowledge_offset(tip(0), 1, Reject),
        Err(ClientError::IllegalState(_))
    ));
    h.consumer.acknowledge_offset(tip(0), 0, Reject).unwrap();
    let records = h.poll().unwrap();
    assert_eq!(offsets(&records), vec![1]);
    h.consumer.acknowledge(&records[0], Accept).unwrap();
    h.consumer.commit_async(h.now_ms).unwrap();
    let (_, request) = h.expect_acknowledge();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Reject), (1, Accept)]
    );
}

/// Spec 7.6: a CRC failure REJECTs every acquired offset of that batch; poll throws
/// CorruptRecordException, deferred to the next poll when records were already returned.
#[test]
fn crc_failure_rejects_the_whole_batch() {
    let mut h = Harness::joined(&[], &[0]);
    let good = plain_batch(0, 2);
    let bad = RawBatch::split_all(&plain_batch(2, 3)).unwrap()[0]
        .corrupted(5)
        .bytes;
    let (_, records) = h.deliver(concat(&[good, bad]), vec![acquired(0, 4, 1)]);
    assert_eq!(offsets(&records.unwrap()), vec![0, 1]);
    assert_eq!(
        h.poll().unwrap_err(),
        ClientError::CorruptRecord {
            topic_id_partition: tip(0),
            base_offset: 2
        }
    );
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![
            (0, Accept),
            (1, Accept),
            (2, Reject),
            (3, Reject),
            (4, Reject)
        ]
    );
}

/// Spec 7.4: 10 records in one log batch with max.poll.records=5 give 10 records in batch_optimized.
#[test]
fn max_poll_records_is_soft_in_batch_optimized() {
    let mut h = Harness::joined(&[("max.poll.records", "5")], &[0]);
    let (request, records) = h.deliver(plain_batch(0, 10), vec![acquired(0, 9, 1)]);
    assert_eq!(request.max_records, 5);
    assert_eq!(request.share_acquire_mode, 0);
    assert_eq!(records.unwrap().len(), 10);
}

/// Spec 7.4: in batch_optimized the current log batch is finished, but no new batch is started past the
/// limit; record_limit is strict.
#[test]
fn max_poll_records_soft_stops_at_batch_boundary_and_strict_in_record_limit() {
    let two_batches = concat(&[plain_batch(0, 4), plain_batch(4, 4)]);
    let mut h = Harness::joined(&[("max.poll.records", "3")], &[0]);
    let (_, records) = h.deliver(two_batches.clone(), vec![acquired(0, 7, 1)]);
    assert_eq!(offsets(&records.unwrap()), vec![0, 1, 2, 3]);
    assert_eq!(offsets(&h.poll().unwrap()), vec![4, 5, 6, 7]);

    let mut h = Harness::joined(
        &[
            ("max.poll.records", "3"),
            ("share.acquire.mode", "record_limit"),
        ],
        &[0],
    );
    let (request, records) = h.deliver(two_batches, vec![acquired(0, 7, 1)]);
    assert_eq!(request.share_acquire_mode, 1);
    assert_eq!(offsets(&records.unwrap()), vec![0, 1, 2]);
    assert_eq!(offsets(&h.poll().unwrap()), vec![3, 4, 5]);
    assert_eq!(offsets(&h.poll().unwrap()), vec![6, 7]);
}

/// Spec 6, 2.6: acquired offsets without a data record (a control marker, a compaction hole) are acked
/// as GAP automatically and never delivered.
#[test]
fn control_marker_and_missing_offsets_are_acked_as_gap() {
    let mut h = Harness::joined(&[], &[0]);
    let producer = ProducerIdentity {
        producer_id: 9,
        producer_epoch: 0,
    };
    let marker = encode_control_batch(producer, ControlType::Commit, 0, 1_000);
    let marker = RawBatch::split_all(&marker).unwrap()[0]
        .restamped(2, 0)
        .bytes;
    // Offsets 0-1 data, 2 the marker, 3 compacted away, 4 data.
    let fetched = concat(&[plain_batch(0, 2), marker, plain_batch(4, 1)]);
    let (_, records) = h.deliver(fetched, vec![acquired(0, 4, 1)]);
    assert_eq!(offsets(&records.unwrap()), vec![0, 1, 4]);
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(
        flatten(&request.partitions[0].acknowledgement_batches),
        vec![(0, Accept), (1, Accept), (2, Gap), (3, Gap), (4, Accept)]
    );
}

/// Spec 2.4: SHARE_SESSION_NOT_FOUND restarts the session at epoch 0; the acks of that request fail, and
/// acks pending for the old session fail with NETWORK_EXCEPTION instead of riding the epoch-0 fetch.
#[test]
fn session_restart_at_epoch_0_after_share_session_not_found() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    assert_eq!(records.unwrap().len(), 2);
    assert!(h.poll().unwrap().is_empty());
    let (request_id, request) = h.expect_fetch();
    assert_eq!(request.share_session_epoch, 1);
    h.consumer.handle_share_fetch_response(
        h.now_ms,
        request_id,
        &ShareFetchResponse {
            error: Some(ResponseError::ShareSessionNotFound),
            acquisition_lock_timeout_ms: -1,
            partitions: vec![],
        },
    );
    h.drain();
    assert_eq!(h.consumer.share_session_epoch(LEADER), 0);
    assert_eq!(
        h.callbacks(),
        vec![(
            tip(0),
            vec![0, 1],
            Some(ResponseError::ShareSessionNotFound)
        )]
    );
    assert!(h.trace.iter().any(|e| matches!(
        e,
        ClientTraceEvent::ShareSessionReset {
            error_code: 122,
            ..
        }
    )));
    let (_, reopen) = h.expect_fetch();
    assert_eq!(reopen.share_session_epoch, 0);
    assert!(reopen
        .partitions
        .iter()
        .all(|p| p.acknowledgement_batches.is_empty()));
}

/// Spec 2.3: acks are forbidden on an epoch-0 ShareFetch; the client fails them locally with
/// NETWORK_EXCEPTION.
#[test]
fn no_acks_on_an_epoch_0_fetch() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(records.unwrap().len(), 1);
    // The connection drops while the application processes (no fetch is out: spec 7, no prefetch):
    // the session starts over at epoch 0.
    assert!(h.transmits().is_empty());
    h.consumer.handle_connections_lost(h.now_ms);
    h.drain();
    assert!(h.callbacks().is_empty());
    // The implicit ACCEPT of offset 0 cannot ride the epoch-0 fetch: it fails locally.
    assert!(h.poll().unwrap().is_empty());
    let (_, request) = h.expect_fetch();
    assert_eq!(request.share_session_epoch, 0);
    assert!(request
        .partitions
        .iter()
        .all(|p| p.acknowledgement_batches.is_empty()));
    assert_eq!(
        h.callbacks(),
        vec![(tip(0), vec![0], Some(ResponseError::NetworkException))]
    );
    // ACK-OUTCOME: the trace tells that this outcome is of an acknowledgement never sent.
    assert!(!h
        .trace
        .iter()
        .any(|e| matches!(e, ClientTraceEvent::AcknowledgementsSent { .. })));
    assert!(h.trace.iter().any(|e| matches!(
        e,
        ClientTraceEvent::AcknowledgementOutcome { unsent_offsets, error_code: 13, .. }
            if unsent_offsets == &vec![0]
    )));
}

/// Spec 2.3/2.4, Kafka's KAFKA-19485 case: a ShareAcknowledge answered SHARE_SESSION_NOT_FOUND (the
/// leader restarted) fails its own acks with that error and restarts the session at epoch 0; an ack the
/// application makes afterwards cannot ride the epoch-0 fetch and fails locally with NETWORK_EXCEPTION,
/// as Kafka 4.2's client does (not INVALID_SHARE_SESSION_EPOCH, which only 4.1.0's client used).
#[test]
fn an_ack_made_after_a_lost_session_fails_with_network_exception_not_a_session_error() {
    let mut h = Harness::joined(&[("share.acknowledgement.mode", "explicit")], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 2), vec![acquired(0, 1, 1)]);
    let records = records.unwrap();
    h.consumer.acknowledge(&records[0], Accept).unwrap();
    h.consumer.commit_async(h.now_ms).unwrap();
    let (request_id, request) = h.expect_acknowledge();
    assert_eq!(request.share_session_epoch, 1);
    let response = ShareAcknowledgeResponse {
        error: Some(ResponseError::ShareSessionNotFound),
        acquisition_lock_timeout_ms: None,
        partitions: vec![],
    };
    h.consumer
        .handle_share_acknowledge_response(h.now_ms, request_id, &response);
    h.drain();
    assert_eq!(h.consumer.share_session_epoch(LEADER), 0);
    assert_eq!(
        h.callbacks(),
        vec![(tip(0), vec![0], Some(ResponseError::ShareSessionNotFound))],
        "the ack that went on the wire fails with the broker's session error"
    );
    h.consumer.acknowledge(&records[1], Release).unwrap();
    assert!(h.poll().unwrap().is_empty());
    let (_, reopen) = h.expect_fetch();
    assert_eq!(reopen.share_session_epoch, 0);
    assert!(reopen
        .partitions
        .iter()
        .all(|p| p.acknowledgement_batches.is_empty()));
    assert_eq!(
        h.callbacks()[1..],
        [(tip(0), vec![1], Some(ResponseError::NetworkException))],
        "the ack made after the reset never goes on the wire"
    );
    assert!(h.trace.iter().any(|e| matches!(
        e,
        ClientTraceEvent::AcknowledgementOutcome { unsent_offsets, error_code: 13, .. }
            if unsent_offsets == &vec![1]
    )));
}

/// Spec 2.4: a failed request (disconnect) restarts the session; its acks fail with the disconnect.
#[test]
fn disconnect_fails_in_flight_acks_and_resets_session() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(records.unwrap().len(), 1);
    h.consumer.commit_async(h.now_ms).unwrap();
    let transmits = h.transmits();
    let ack_id = transmits
        .iter()
        .find_map(|t| match t {
            Transmit::ShareAcknowledge { request_id, .. } => Some(*request_id),
            _ => None,
        })
        .expect("commitAsync uses ShareAcknowledge");
    h.consumer
        .handle_request_failed(h.now_ms, ack_id, RequestFailure::Disconnected);
    h.drain();
    assert_eq!(h.consumer.share_session_epoch(LEADER), 0);
    assert_eq!(
        h.callbacks(),
        vec![(tip(0), vec![0], Some(ResponseError::NetworkException))]
    );
    // ACK-OUTCOME: these went on the wire; their outcome says so.
    assert!(h.trace.iter().any(|e| matches!(
        e,
        ClientTraceEvent::AcknowledgementOutcome { unsent_offsets, error_code: 13, .. }
            if unsent_offsets.is_empty()
    )));
}

/// Spec 2.2: NOT_LEADER_OR_FOLLOWER is not retried; the client moves to the current leader.
#[test]
fn not_leader_moves_to_current_leader() {
    let mut h = Harness::joined(&[], &[0]);
    assert!(h.poll().unwrap().is_empty());
    let (request_id, _) = h.expect_fetch();
    h.consumer.handle_share_fetch_response(
        h.now_ms,
        request_id,
        &ShareFetchResponse {
            error: None,
            acquisition_lock_timeout_ms: 30_000,
            partitions: vec![ShareFetchResponsePartition {
                topic_id_partition: tip(0),
                error: Some(ResponseError::NotLeaderOrFollower),
                acknowledge_error: None,
                current_leader: Some(NodeId(2)),
                records: Bytes::new(),
                acquired_records: vec![],
            }],
        },
    );
    h.drain();
    assert!(h.events.contains(&ConsumerEvent::MetadataUpdateNeeded));
    let transmits = h.transmits();
    let nodes: Vec<NodeId> = transmits
        .iter()
        .filter_map(|t| match t {
            Transmit::ShareFetch { node, .. } => Some(*node),
            Transmit::ShareAcknowledge { node, .. } => Some(*node),
            _ => None,
        })
        .collect();
    // A fetch to the new leader, and the old leader's now useless session is closed.
    assert!(nodes.contains(&NodeId(2)), "{transmits:?}");
}

/// Spec 4.1: FENCED_MEMBER_EPOCH makes the member rejoin with epoch 0 and its full subscription.
#[test]
fn fenced_member_rejoins_at_epoch_0() {
    let mut h = Harness::joined(&[], &[0]);
    h.now_ms += 5_000;
    let (request_id, request) = h.expect_heartbeat();
    assert_eq!(request.member_epoch, 1);
    assert_eq!(request.subscribed_topic_names, None);
    h.consumer.handle_heartbeat_response(
        h.now_ms,
        request_id,
        &ShareGroupHeartbeatResponse {
            error: Some(ResponseError::FencedMemberEpoch),
            member_epoch: 0,
            heartbeat_interval_ms: 0,
            assignment: None,
        },
    );
    assert!(h.consumer.assignment().is_empty());
    let (_, rejoin) = h.expect_heartbeat();
    assert_eq!(rejoin.member_epoch, 0);
    assert_eq!(rejoin.member_id, h.consumer.member_id());
    assert_eq!(
        rejoin.subscribed_topic_names,
        Some(vec!["orders".to_owned()])
    );
}

/// Spec 4.1: without a poll for max.poll.interval.ms the member leaves; the next poll rejoins.
#[test]
fn max_poll_interval_leaves_and_poll_rejoins() {
    let mut h = Harness::joined(&[("max.poll.interval.ms", "1000")], &[0]);
    assert_eq!(h.consumer.poll_timeout(), Some(1_000));
    h.now_ms = 1_000;
    h.consumer.handle_timeout(h.now_ms);
    let (id, leave) = h.expect_heartbeat();
    assert_eq!(leave.member_epoch, LEAVE_EPOCH);
    h.consumer.handle_heartbeat_response(
        h.now_ms,
        id,
        &ShareGroupHeartbeatResponse {
            error: None,
            member_epoch: -1,
            heartbeat_interval_ms: 0,
            assignment: None,
        },
    );
    assert_eq!(h.consumer.member_state(), MemberState::Left);
    h.poll().unwrap();
    let (_, join) = h.expect_heartbeat();
    assert_eq!(join.member_epoch, JOIN_EPOCH);
}

/// Spec 4.3: a session with nothing assigned, buffered or pending is closed with the FINAL epoch.
#[test]
fn idle_session_is_closed_when_no_longer_needed() {
    let mut h = Harness::joined(&[], &[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(records.unwrap().len(), 1);
    // No fetch goes out while the application works (spec 7: no prefetch); only the heartbeat.
    h.now_ms += 5_000;
    let transmits = h.transmits();
    assert_eq!(transmits.len(), 1, "{transmits:?}");
    for transmit in transmits {
        match transmit {
            Transmit::ShareGroupHeartbeat { request_id, .. } => {
                h.consumer.handle_heartbeat_response(
                    h.now_ms,
                    request_id,
                    &ShareGroupHeartbeatResponse {
                        error: None,
                        member_epoch: 2,
                        heartbeat_interval_ms: 5_000,
                        assignment: Some(vec![]),
                    },
                );
            }
            Transmit::ShareFetch { request_id, .. } => h.answer_fetch(request_id, vec![], None),
            Transmit::ShareAcknowledge { .. } => panic!("nothing to acknowledge yet"),
        }
    }
    assert!(h.consumer.assignment().is_empty());
    // The un-acked record keeps the session open; the implicit ACCEPT goes alone, then the session closes.
    assert!(h.poll().unwrap().is_empty());
    let (ack_id, ack) = h.expect_acknowledge();
    assert_eq!(ack.share_session_epoch, 1);
    h.answer_acknowledge(ack_id, &ack, None);
    let (_, close) = h.expect_acknowledge();
    assert_eq!(close.share_session_epoch, -1);
    assert!(close.partitions.is_empty());
}

/// Spec 8 (4.0): the mode is inferred: a poll after records without acknowledge() makes it implicit; an
/// acknowledge() makes it explicit.
#[test]
fn kafka_4_0_infers_the_acknowledgement_mode() {
    let mut h = Harness::new(&[], Semantics::for_release(Release::Kafka4_0));
    h.join(&[0]);
    assert_eq!(
        h.consumer.acknowledgement_mode(),
        AcknowledgementModeState::Unknown
    );
    let (request, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    assert_eq!(request.version, 0);
    assert_eq!(records.unwrap().len(), 1);
    assert_eq!(
        h.consumer.acknowledgement_mode(),
        AcknowledgementModeState::Pending
    );
    assert!(h.poll().unwrap().is_empty());
    assert_eq!(
        h.consumer.acknowledgement_mode(),
        AcknowledgementModeState::Implicit
    );

    let mut h = Harness::new(&[], Semantics::for_release(Release::Kafka4_0));
    h.join(&[0]);
    let (_, records) = h.deliver(plain_batch(0, 1), vec![acquired(0, 0, 1)]);
    h.consumer
        .acknowledge(&records.unwrap()[0], Accept)
        .unwrap();
    assert_eq!(
        h.consumer.acknowledgement_mode(),
        AcknowledgementModeState::Explicit
    );
}

/// Spec 7.4, 8: within one poll a partition's records are in increasing offset order, even when two
/// responses for it are buffered.
#[test]
fn records_of_a_partition_come_in_offset_order() {
    let mut h = Harness::joined(&[], &[0]);
    assert!(h.poll().unwrap().is_empty());
    let (request_id, _) = h.expect_fetch();
    let response = ShareFetchResponse {
        error: None,
        acquisition_lock_timeout_ms: 30_000,
        partitions: vec![
            ShareFetchResponsePartition {
                topic_id_partition: tip(0),
                error: None,
                acknowledge_error: None,
                current_leader: None,
                records: plain_batch(5, 2),
                acquired_records: vec![acquired(5, 6, 1)],
            },
            ShareFetchResponsePartition {
                topic_id_partition: tip(0),
                error: None,
                acknowledge_error: None,
                current_leader: None,
                records: plain_batch(0, 2),
                acquired_records: vec![acquired(0, 1, 3)],
            },
        ],
    };
    h.consumer
        .handle_share_fetch_response(h.now_ms, request_id, &response);
    assert_eq!(offsets(&h.poll().unwrap()), vec![0, 1, 5, 6]);
}

/// The trace serializes with a stable field order.
#[test]
fn trace_events_serialize_with_stable_field_order() {
    let event = ClientTraceEvent::RecordDelivered {
        at_ms: 5,
        member_id: "m".to_owned(),
        topic_id_partition: tip(0),
        offset: 3,
        delivery_count: 2,
    };
    let text = serde_json::to_string(&event).unwrap();
    assert!(
        text.starts_with(r#"{"event":"record_delivered","at_ms":5,"member_id":"m""#),
        "{text}"
    );
}

/// Spec 2.2: a leader error moves the client to the partition's current leader; while an assigned
/// partition has no known leader (a metadata answer from a broker that did not know it) the consumer
/// says so, and its node asks for metadata again until a leader is known.
#[test]
fn an_assigned_partition_without_a_leader_is_reported_until_one_is_known() {
    let mut h = Harness::joined(&[], &[0]);
    assert!(!h.consumer.has_leaderless_assignment());
    let unknown = TopicMetadata {
        name: "orders".to_owned(),
        topic_id: TOPIC,
        partition_leaders: vec![(0, None)],
    };
    h.consumer.handle_topic_metadata(h.now_ms, &unknown);
    assert!(h.consumer.has_leaderless_assignment());
    let known = TopicMetadata {
        partition_leaders: vec![(0, Some(LEADER))],
        ..unknown
    };
    h.consumer.handle_topic_metadata(h.now_ms, &known);
    assert!(!h.consumer.has_leaderless_assignment());
}

/// Spec 2.2, 7: an assignment that names a partition the consumer's metadata has no leader for (its
/// first metadata answer came from a broker that did not know the topic yet) asks for a metadata update,
/// so the partition gets fetched once a leader is known.
#[test]
fn an_assignment_without_a_known_leader_asks_for_metadata() {
    let mut h = Harness::new(&[], Semantics::default());
    let now = h.now_ms;
    h.consumer.subscribe(now, &["orders"]).unwrap();
    h.consumer.handle_group_coordinator(now, Some(COORDINATOR));
    let (request_id, _) = h.expect_heartbeat();
    h.drain();
    h.events.clear();
    h.consumer.handle_heartbeat_response(
        now,
        request_id,
        &ShareGroupHeartbeatResponse {
            error: None,
            member_epoch: 1,
            heartbeat_interval_ms: 5_000,
            assignment: Some(vec![AssignedTopic {
                topic_id: TOPIC,
                partitions: vec![0],
            }]),
        },
    );
    h.drain();
    assert!(h.consumer.has_leaderless_assignment());
    assert!(h.events.contains(&ConsumerEvent::MetadataUpdateNeeded));
}
