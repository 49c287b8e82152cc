//! Building v2 batches the way a producer and a transaction coordinator do, with kafka-protocol's
//! `RecordBatchEncoder`: data batches for produce requests and COMMIT/ABORT control batches.

use bytes::{Bytes, BytesMut};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};

use super::batch::RawBatch;

/// Who produces a batch: plain, idempotent, or transactional.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProducerIdentity {
    /// Producer id from InitProducerId, -1 for a plain producer.
    pub producer_id: i64,
    /// Producer epoch, -1 for a plain producer.
    pub producer_epoch: i16,
}

impl ProducerIdentity {
    /// A producer without idempotence.
    pub const NONE: ProducerIdentity = ProducerIdentity {
        producer_id: NO_PRODUCER_ID,
        producer_epoch: NO_PRODUCER_EPOCH,
    };
}

/// One record as an application hands it to the producer.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProducerRecord {
    /// Record key (required on compacted topics).
    pub key: Option<Bytes>,
    /// Record value; `None` is a tombstone.
    pub value: Option<Bytes>,
    /// Create time.
    pub timestamp_ms: i64,
    /// Record headers, in order (Kafka allows repeated keys; the v2 format keeps them all, but
    /// kafka-protocol's map keeps the last value of a repeated key).
    pub headers: Vec<(String, Option<Bytes>)>,
}

impl ProducerRecord {
    /// A record with a key and a value.
    pub fn new(key: Option<&[u8]>, value: Option<&[u8]>, timestamp_ms: i64) -> Self {
        ProducerRecord {
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
            timestamp_ms,
            headers: Vec::new(),
        }
    }

    /// The same record with one more header.
    pub fn with_header(mut self, key: &str, value: Option<&[u8]>) -> Self {
        self.headers
            .push((key.to_string(), value.map(Bytes::copy_from_slice)));
        self
    }
}

/// The two transaction markers (`ControlRecordType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ControlType {
    /// ABORT (type 0).
    Abort,
    /// COMMIT (type 1).
    Commit,
}

impl ControlType {
    /// Kafka's wire id.
    pub fn id(self) -> i16 {
        match self {
            ControlType::Abort => 0,
            ControlType::Commit => 1,
        }
    }
}

/// Encodes one data batch as a producer sends it: base offset 0, no leader epoch, sequences from
/// `base_sequence` (ignored without a producer id). Returns `None` for an empty record list.
pub fn encode_data_batch(
    producer: ProducerIdentity,
    base_sequence: i32,
    transactional: bool,
    records: &[ProducerRecord],
) -> Option<Bytes> {
    if records.is_empty() {
        return None;
    }
    // kafka-protocol starts a new batch whenever `offset - sequence` changes, so every record carries the
    // sequence `base + i` (wrapping as Kafka does); without a producer id the base is -1.
    let base = if producer.producer_id >= 0 {
        base_sequence
    } else {
        NO_SEQUENCE
    };
    let encoded: Vec<Record> = records
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: producer.producer_id,
            producer_epoch: producer.producer_epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            sequence: base.wrapping_add(i as i32),
            timestamp: r.timestamp_ms,
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone()))
                .collect(),
        })
        .collect();
    Some(encode(&encoded))
}

/// Encodes a COMMIT or ABORT marker batch as the transaction coordinator's WriteTxnMarkers makes the
/// partition leader write it. Key: version 0 + type; value: version 0 + coordinator epoch.
pub fn encode_control_batch(
    producer: ProducerIdentity,
    control: ControlType,
    coordinator_epoch: i32,
    timestamp_ms: i64,
) -> Bytes {
    let mut key = BytesMut::with_capacity(4);
    key.extend_from_slice(&0i16.to_be_bytes());
    key.extend_from_slice(&control.id().to_be_bytes());
    let mut value = BytesMut::with_capacity(6);
    value.extend_from_slice(&0i16.to_be_bytes());
    value.extend_from_slice(&coordinator_epoch.to_be_bytes());
    let record = Record {
        transactional: true,
        control: true,
        delete_horizon: false,
        partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
        producer_id: producer.producer_id,
        producer_epoch: producer.producer_epoch,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: NO_SEQUENCE,
        timestamp: timestamp_ms,
        key: Some(key.freeze()),
        value: Some(value.freeze()),
        headers: Default::default(),
    };
    encode(std::slice::from_ref(&record))
}

/// The marker type of a control batch, read from its one record's key; `None` when the batch is not a
/// well-formed control batch.
pub fn control_type(batch: &RawBatch) -> Option<ControlType> {
    if !batch.header.is_control() {
        return None;
    }
    let records = batch.decode_records().ok()?;
    let key = records.first()?.key.as_ref()?;
    if key.len() < 4 {
        return None;
    }
    match i16::from_be_bytes([key[2], key[3]]) {
        0 => Some(ControlType::Abort),
        1 => Some(ControlType::Commit),
        _ => None,
    }
}

fn encode(records: &[Record]) -> Bytes {
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    // Encoding uncompressed in-memory records cannot fail: sizes are far below i32::MAX.
    RecordBatchEncoder::encode(&mut buf, records, &options).expect("uncompressed batch encodes");
    buf.freeze()
}
