//! The transaction coordinator's records in `__transaction_state` (Kafka `TransactionLog`): one record
//! per transactional id and state change, keyed by the id so that compaction keeps the newest, read
//! back in offset order by a coordinator taking the partition over (last record of an id wins).
//!
//! Key: 2-byte big-endian record type 0 (Kafka's `TransactionLogKey`) then the JSON key; value: JSON of
//! the metadata. The bodies are JSON rather than Kafka's binary schemas, as in
//! `coordinator::runtime::codec`: only sharesim reads these topics.

use std::collections::{BTreeMap, BTreeSet};

use bytes::{BufMut, Bytes, BytesMut};
use serde::{Deserialize, Serialize};

use super::txn_metadata::{TransactionMetadata, TxnState};
use crate::log::{encode_data_batch, ProducerIdentity, ProducerRecord, RawBatch, TopicPartition};

/// Kafka's `TransactionLogKey` record type.
pub const TRANSACTION_LOG_RECORD_TYPE: u16 = 0;

#[derive(Serialize, Deserialize)]
struct TxnLogKey {
    transactional_id: String,
}

#[derive(Serialize, Deserialize)]
struct TxnLogValue {
    producer_id: i64,
    producer_epoch: i16,
    timeout_ms: u64,
    state: String,
    partitions: Vec<(String, i32)>,
    txn_start_ms: u64,
    last_update_ms: u64,
}

/// The one-record batch that stores `txn` (appended to the id's `__transaction_state` partition).
pub fn encode_txn_record(txn: &TransactionMetadata, now_ms: u64) -> Bytes {
    let key = TxnLogKey {
        transactional_id: txn.transactional_id.clone(),
    };
    let value = TxnLogValue {
        producer_id: txn.producer_id,
        producer_epoch: txn.producer_epoch,
        timeout_ms: txn.timeout_ms,
        state: txn.state.name().to_string(),
        partitions: txn
            .partitions
            .iter()
            .map(|tp| (tp.topic.to_string(), tp.partition))
            .collect(),
        txn_start_ms: txn.txn_start_ms,
        last_update_ms: txn.last_update_ms,
    };
    let key_json = serde_json::to_vec(&key).expect("transaction log keys serialize");
    let mut key_bytes = BytesMut::with_capacity(2 + key_json.len());
    key_bytes.put_u16(TRANSACTION_LOG_RECORD_TYPE);
    key_bytes.put_slice(&key_json);
    let value_bytes = serde_json::to_vec(&value).expect("transaction log values serialize");
    let record = ProducerRecord::new(Some(&key_bytes), Some(&value_bytes), now_ms as i64);
    encode_data_batch(ProducerIdentity::NONE, 0, false, &[record]).expect("one record")
}

/// Replays the batches of a `__transaction_state` partition, in offset order: the newest metadata
/// of every transactional id (a tombstone removes it). Records that do not decode (another type, a
/// corrupt body) are skipped, as Kafka skips unknown record versions.
pub fn replay_txn_records<'a>(
    batches: impl IntoIterator<Item = &'a RawBatch>,
) -> BTreeMap<String, TransactionMetadata> {
    let mut transactions = BTreeMap::new();
    for batch in batches {
        if batch.header.is_control() {
            continue;
        }
        let Ok(records) = batch.decode_records() else {
            continue;
        };
        for record in records {
            let Some(key) = record.key.as_ref() else {
                continue;
            };
            if key.len() < 2 || u16::from_be_bytes([key[0], key[1]]) != TRANSACTION_LOG_RECORD_TYPE
            {
                continue;
            }
            let Ok(key) = serde_json::from_slice::<TxnLogKey>(&key[2..]) else {
                continue;
            };
            match record.value.as_ref() {
                None => {
                    transactions.remove(&key.transactional_id);
                }
                Some(value) => {
                    if let Some(txn) = decode_value(&key.transactional_id, value) {
                        transactions.insert(key.transactional_id, txn);
                    }
                }
            }
        }
    }
    transactions
}

fn decode_value(transactional_id: &str, value: &[u8]) -> Option<TransactionMetadata> {
    let value: TxnLogValue = serde_json::from_slice(value).ok()?;
    let state = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
    ]
    .into_iter()
    .find(|state| state.name() == value.state)?;
    Some(TransactionMetadata {
        transactional_id: transactional_id.to_string(),
        producer_id: value.producer_id,
        producer_epoch: value.producer_epoch,
        timeout_ms: value.timeout_ms,
        state,
        partitions: value
            .partitions
            .into_iter()
            .map(|(topic, partition)| TopicPartition::new(topic, partition))
            .collect::<BTreeSet<_>>(),
        txn_start_ms: value.txn_start_ms,
        last_update_ms: value.last_update_ms,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(state: TxnState, epoch: i16) -> TransactionMetadata {
        TransactionMetadata {
            transactional_id: "txn-1".to_string(),
            producer_id: 7,
            producer_epoch: epoch,
            timeout_ms: 60_000,
            state,
            partitions: [TopicPartition::new("t", 0), TopicPartition::new("t", 1)]
                .into_iter()
                .collect(),
            txn_start_ms: 10,
            last_update_ms: 20,
        }
    }

    /// Kafka `TransactionStateManager.loadTransactionMetadata`: the newest record of an id wins.
    #[test]
    fn replay_keeps_the_newest_record_of_each_id() {
        let ongoing = metadata(TxnState::Ongoing, 0);
        let prepare = metadata(TxnState::PrepareCommit, 0);
        let other = TransactionMetadata {
            transactional_id: "txn-2".to_string(),
            ..metadata(TxnState::Empty, 3)
        };
        let batches: Vec<RawBatch> = [&ongoing, &other, &prepare]
            .iter()
            .map(|txn| {
                let (mut batches, _) = RawBatch::split_prefix(&encode_txn_record(txn, 5)).unwrap();
                batches.remove(0)
            })
            .collect();
        let replayed = replay_txn_records(&batches);
        assert_eq!(replayed.len(), 2);
        assert_eq!(replayed["txn-1"], prepare);
        assert_eq!(replayed["txn-2"], other);
    }

    /// Records of another type or with a body that does not parse are skipped, not a panic.
    #[test]
    fn foreign_and_corrupt_records_are_skipped() {
        let record = ProducerRecord::new(Some(b"\x00\x05{}"), Some(b"{}"), 0);
        let foreign = encode_data_batch(ProducerIdentity::NONE, 0, false, &[record]).unwrap();
        let record = ProducerRecord::new(
            Some(b"\x00\x00{\"transactional_id\":\"x\"}"),
            Some(b"not json"),
            0,
        );
        let corrupt = encode_data_batch(ProducerIdentity::NONE, 0, false, &[record]).unwrap();
        let batches: Vec<RawBatch> = [foreign, corrupt]
            .iter()
            .flat_map(|bytes| RawBatch::split_prefix(bytes).unwrap().0)
            .collect();
        assert!(replay_txn_records(&batches).is_empty());
    }
}
