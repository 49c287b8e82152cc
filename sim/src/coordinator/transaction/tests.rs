//! Transaction coordinator tests: the state machine, epoch fencing, markers written into real
//! partition logs, and read_committed over them.

use std::collections::BTreeMap;

use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, EndTxnRequest, InitProducerIdRequest, ProducerId, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::log::{
    consume_fetched, encode_data_batch, ConsumedBatchKind, FetchIsolation, LogConfig, PartitionLog,
    ProducerIdentity, ProducerRecord, TopicPartition,
};
use crate::ResponseError;

const TOPIC: &str = "payments";

fn coordinator() -> TransactionCoordinator {
    TransactionCoordinator::new(
        TransactionCoordinatorConfig::default(),
        ProducerIdAllocator::new(1000, 1000),
        7,
    )
}

fn init(
    c: &mut TransactionCoordinator,
    now_ms: u64,
    id: &str,
) -> (i64, i16, Option<ResponseError>) {
    let response = c.handle_init_producer_id(
        now_ms,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_string(id.to_string()))))
            .with_transaction_timeout_ms(60_000)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    );
    (
        response.producer_id.0,
        response.producer_epoch,
        ResponseError::try_from_code(response.error_code),
    )
}

fn add(
    c: &mut TransactionCoordinator,
    now_ms: u64,
    id: &str,
    producer: (i64, i16),
    partitions: &[i32],
) -> Option<ResponseError> {
    let request = AddPartitionsToTxnRequest::default()
        .with_v3_and_below_transactional_id(TransactionalId(StrBytes::from_string(id.to_string())))
        .with_v3_and_below_producer_id(ProducerId(producer.0))
        .with_v3_and_below_producer_epoch(producer.1)
        .with_v3_and_below_topics(vec![AddPartitionsToTxnTopic::default()
            .with_name(TopicName(StrBytes::from_static_str(TOPIC)))
            .with_partitions(partitions.to_vec())]);
    let response = c.handle_add_partitions_to_txn(now_ms, &request);
    let codes: Vec<i16> = response.results_by_topic_v3_and_below[0]
        .results_by_partition
        .iter()
        .map(|p| p.partition_error_code)
        .collect();
    assert!(codes.windows(2).all(|w| w[0] == w[1]), "one answer for all");
    ResponseError::try_from_code(codes[0])
}

fn end(
    c: &mut TransactionCoordinator,
    now_ms: u64,
    id: &str,
    producer: (i64, i16),
    committed: bool,
) -> Option<ResponseError> {
    let request = EndTxnRequest::default()
        .with_transactional_id(TransactionalId(StrBytes::from_string(id.to_string())))
        .with_producer_id(ProducerId(producer.0))
        .with_producer_epoch(producer.1)
        .with_committed(committed);
    ResponseError::try_from_code(c.handle_end_txn(now_ms, &request).error_code)
}

/// Partition logs of one topic, written the way leaders write them.
struct Logs {
    logs: BTreeMap<i32, PartitionLog>,
}

impl Logs {
    fn new(partitions: i32) -> Self {
        Logs {
            logs: (0..partitions)
                .map(|p| (p, PartitionLog::new(LogConfig::default())))
                .collect(),
        }
    }

    fn produce(&mut self, partition: i32, producer: (i64, i16), sequence: i32, value: &str) {
        let records = [ProducerRecord::new(None, Some(value.as_bytes()), 0)];
        let identity = ProducerIdentity {
            producer_id: producer.0,
            producer_epoch: producer.1,
        };
        let bytes = encode_data_batch(identity, sequence, true, &records).unwrap();
        let log = self.logs.get_mut(&partition).unwrap();
        log.append_as_leader(&bytes, 0, 0).unwrap();
        let end = log.log_end_offset();
        log.update_high_watermark(end);
    }

    /// Delivers every marker the coordinator wants written, as leaders would; `fail` answers the
    /// first write of a partition with an error instead.
    fn deliver_markers(
        &mut self,
        c: &mut TransactionCoordinator,
        now_ms: u64,
        mut fail: Option<(i32, ResponseError)>,
    ) -> usize {
        let mut writes = 0;
        while let Some(write) = c.poll_marker_write(now_ms) {
            writes += 1;
            let request = write_txn_markers_request(std::slice::from_ref(&write));
            let response = serve_write_txn_markers(&request, |m| {
                if let Some((p, e)) = fail {
                    if p == m.topic_partition.partition {
                        fail = None;
                        return Err(e);
                    }
                }
                let log = self.logs.get_mut(&m.topic_partition.partition).unwrap();
                log.append_marker_as_leader(m.producer, m.control, m.coordinator_epoch, 0, 0)?;
                let end = log.log_end_offset();
                log.update_high_watermark(end);
                Ok(())
            });
            for results in marker_results(&response) {
                c.handle_marker_results(now_ms, results.producer_id, &results.partitions);
            }
        }
        writes
    }

    fn values(&self, partition: i32, isolation: FetchIsolation) -> Vec<String> {
        let read = self.logs[&partition]
            .read(0, usize::MAX, isolation, true)
            .unwrap();
        consume_fetched(&read.records, 0, read.aborted_transactions.as_deref())
            .unwrap()
            .into_iter()
            .filter_map(|b| match b.kind {
                ConsumedBatchKind::Data(records) => Some(records),
                _ => None,
            })
            .flatten()
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    }
}

/// Plain InitProducerId hands out distinct ids from the coordinator's block, epoch 0.
#[test]
fn idempotent_producers_get_distinct_ids() {
    let mut c = coordinator();
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_producer_id(ProducerId(-1))
        .with_producer_epoch(-1);
    let a = c.handle_init_producer_id(0, &request);
    let b = c.handle_init_producer_id(0, &request);
    assert_eq!((a.error_code, b.error_code), (0, 0));
    assert_ne!(a.producer_id, b.producer_id);
    assert!((1000..2000).contains(&a.producer_id.0));
    assert_eq!(a.producer_epoch, 0);
    let mut other = TransactionCoordinator::new(
        TransactionCoordinatorConfig::default(),
        ProducerIdAllocator::new(2000, 1000),
        0,
    );
    let c2 = other.handle_init_producer_id(0, &request);
    assert_ne!(c2.producer_id, a.producer_id);
}

/// A second InitProducerId for the same transactional id bumps the epoch; the old epoch is fenced
/// on AddPartitionsToTxn and EndTxn (PRODUCER_FENCED).
#[test]
fn init_producer_id_bumps_the_epoch_and_fences_the_old_one() {
    let mut c = coordinator();
    let (id, epoch, e) = init(&mut c, 0, "t");
    assert_eq!((epoch, e), (0, None));
    let (id2, epoch2, e2) = init(&mut c, 1, "t");
    assert_eq!((id2, epoch2, e2), (id, 1, None));
    assert_eq!(
        add(&mut c, 2, "t", (id, 0), &[0]),
        Some(ResponseError::ProducerFenced)
    );
    assert_eq!(add(&mut c, 2, "t", (id, 1), &[0]), None);
    assert_eq!(
        end(&mut c, 3, "t", (id, 0), true),
        Some(ResponseError::ProducerFenced)
    );
    assert_eq!(
        add(&mut c, 3, "t", (id + 1, 1), &[0]),
        Some(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        add(&mut c, 3, "unknown", (id, 1), &[0]),
        Some(ResponseError::InvalidProducerIdMapping)
    );
}

/// Commit: Ongoing -> PrepareCommit -> CompleteCommit once every partition has its COMMIT marker;
/// read_committed then sees the records.
#[test]
fn commit_writes_markers_and_completes() {
    let mut c = coordinator();
    let mut logs = Logs::new(2);
    let (id, epoch, _) = init(&mut c, 0, "t");
    assert_eq!(add(&mut c, 1, "t", (id, epoch), &[0, 1]), None);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::Ongoing);
    logs.produce(0, (id, epoch), 0, "a");
    logs.produce(1, (id, epoch), 0, "b");
    assert!(
        logs.values(0, FetchIsolation::TxnCommitted).is_empty(),
        "LSO holds back"
    );
    assert_eq!(end(&mut c, 2, "t", (id, epoch), true), None);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::PrepareCommit);
    assert_eq!(
        end(&mut c, 2, "t", (id, epoch), true),
        Some(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        add(&mut c, 2, "t", (id, epoch), &[0]),
        Some(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(logs.deliver_markers(&mut c, 3, None), 1);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::CompleteCommit);
    assert!(c.transaction("t").unwrap().partitions.is_empty());
    assert_eq!(logs.values(0, FetchIsolation::TxnCommitted), vec!["a"]);
    assert_eq!(logs.values(1, FetchIsolation::TxnCommitted), vec!["b"]);
    // A retried EndTxn after completion is answered NONE; the opposite outcome is INVALID_TXN_STATE.
    assert_eq!(end(&mut c, 4, "t", (id, epoch), true), None);
    assert_eq!(
        end(&mut c, 4, "t", (id, epoch), false),
        Some(ResponseError::InvalidTxnState)
    );
    let causes: Vec<(TxnState, &str)> = std::iter::from_fn(|| c.poll_event())
        .map(|e| (e.to, e.cause))
        .collect();
    assert_eq!(
        causes,
        vec![
            (TxnState::Empty, "InitProducerId"),
            (TxnState::Ongoing, "AddPartitionsToTxn"),
            (TxnState::PrepareCommit, "EndTxn"),
            (TxnState::CompleteCommit, "MarkersWritten"),
        ]
    );
}

/// Abort: ABORT markers; read_committed skips the aborted records, read_uncommitted returns them.
#[test]
fn abort_hides_records_from_read_committed_only() {
    let mut c = coordinator();
    let mut logs = Logs::new(1);
    let (id, epoch, _) = init(&mut c, 0, "t");
    add(&mut c, 0, "t", (id, epoch), &[0]);
    logs.produce(0, (id, epoch), 0, "kept?");
    assert_eq!(end(&mut c, 1, "t", (id, epoch), false), None);
    logs.deliver_markers(&mut c, 1, None);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::CompleteAbort);
    add(&mut c, 2, "t", (id, epoch), &[0]);
    logs.produce(0, (id, epoch), 1, "committed");
    end(&mut c, 3, "t", (id, epoch), true);
    logs.deliver_markers(&mut c, 3, None);
    assert_eq!(
        logs.values(0, FetchIsolation::TxnCommitted),
        vec!["committed"]
    );
    assert_eq!(
        logs.values(0, FetchIsolation::HighWatermark),
        vec!["kept?", "committed"]
    );
}

/// EndTxn without a transaction is INVALID_TXN_STATE; an empty transaction needs no markers.
#[test]
fn end_txn_without_a_transaction_is_invalid() {
    let mut c = coordinator();
    let (id, epoch, _) = init(&mut c, 0, "t");
    assert_eq!(
        end(&mut c, 1, "t", (id, epoch), true),
        Some(ResponseError::InvalidTxnState)
    );
}

/// A marker answered NOT_LEADER_OR_FOLLOWER is retried after the backoff until it is written.
#[test]
fn failed_markers_are_retried() {
    let mut c = coordinator();
    let mut logs = Logs::new(2);
    let (id, epoch, _) = init(&mut c, 0, "t");
    add(&mut c, 0, "t", (id, epoch), &[0, 1]);
    logs.produce(1, (id, epoch), 0, "x");
    end(&mut c, 1, "t", (id, epoch), true);
    logs.deliver_markers(&mut c, 1, Some((1, ResponseError::NotLeaderOrFollower)));
    assert_eq!(c.transaction("t").unwrap().state, TxnState::PrepareCommit);
    assert!(c.poll_marker_write(1).is_none(), "backing off");
    assert_eq!(c.poll_timeout(), Some(101));
    logs.deliver_markers(&mut c, 101, None);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::CompleteCommit);
    assert_eq!(logs.values(1, FetchIsolation::TxnCommitted), vec!["x"]);
}

/// transaction.timeout.ms: an open transaction past its timeout is aborted at the next cleanup
/// tick with a bumped epoch; the producer is then fenced.
#[test]
fn timed_out_transactions_are_aborted_and_fence_the_producer() {
    let mut c = coordinator();
    let mut logs = Logs::new(1);
    let (id, epoch, _) = init(&mut c, 0, "t");
    add(&mut c, 1_000, "t", (id, epoch), &[0]);
    logs.produce(0, (id, epoch), 0, "late");
    c.handle_timeout(60_000);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::Ongoing);
    assert_eq!(c.poll_timeout(), Some(70_000));
    c.handle_timeout(70_000);
    let txn = c.transaction("t").unwrap();
    assert_eq!(
        (txn.state, txn.producer_epoch),
        (TxnState::PrepareAbort, epoch + 1)
    );
    logs.deliver_markers(&mut c, 70_000, None);
    assert_eq!(c.transaction("t").unwrap().state, TxnState::CompleteAbort);
    assert_eq!(
        end(&mut c, 70_001, "t", (id, epoch), true),
        Some(ResponseError::ProducerFenced)
    );
    assert!(logs.values(0, FetchIsolation::TxnCommitted).is_empty());
    // The zombie's data batches are now refused by the log: its epoch is older than the marker's.
    let identity = ProducerIdentity {
        producer_id: id,
        producer_epoch: epoch,
    };
    let bytes = encode_data_batch(
        identity,
        1,
        true,
        &[ProducerRecord::new(None, Some(b"z"), 0)],
    );
    assert_eq!(
        logs.logs
            .get_mut(&0)
            .unwrap()
            .append_as_leader(&bytes.unwrap(), 0, 0),
        Err(ResponseError::InvalidProducerEpoch)
    );
}

/// InitProducerId while a transaction is open fences and aborts it (CONCURRENT_TRANSACTIONS until
/// the abort completes); the retry then gets a newer epoch.
#[test]
fn init_producer_id_aborts_an_open_transaction() {
    let mut c = coordinator();
    let mut logs = Logs::new(1);
    let (id, epoch, _) = init(&mut c, 0, "t");
    add(&mut c, 0, "t", (id, epoch), &[0]);
    logs.produce(0, (id, epoch), 0, "open");
    let (_, _, e) = init(&mut c, 1, "t");
    assert_eq!(e, Some(ResponseError::ConcurrentTransactions));
    assert_eq!(c.transaction("t").unwrap().state, TxnState::PrepareAbort);
    logs.deliver_markers(&mut c, 1, None);
    let (id2, epoch2, e2) = init(&mut c, 2, "t");
    assert_eq!((id2, epoch2, e2), (id, epoch + 2, None));
    assert!(logs.values(0, FetchIsolation::TxnCommitted).is_empty());
    assert_eq!(logs.values(0, FetchIsolation::HighWatermark), vec!["open"]);
}

/// transaction.timeout.ms above transaction.max.timeout.ms is INVALID_TRANSACTION_TIMEOUT.
#[test]
fn too_long_transaction_timeouts_are_refused() {
    let mut c = coordinator();
    let response = c.handle_init_producer_id(
        0,
        &InitProducerIdRequest::default()
            .with_transactional_id(Some(TransactionalId(StrBytes::from_static_str("t"))))
            .with_transaction_timeout_ms(900_001)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    );
    assert_eq!(
        ResponseError::try_from_code(response.error_code),
        Some(ResponseError::InvalidTransactionTimeout)
    );
    let _ = TopicPartition::new(TOPIC, 0);
}
