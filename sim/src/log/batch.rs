//! Kafka v2 record batches as bytes: the fixed 61-byte header, CRC-32C, and the fields a broker re-stamps.
//!
//! Layout (Kafka `DefaultRecordBatch`): baseOffset i64, batchLength i32, partitionLeaderEpoch i32, magic i8,
//! crc u32, attributes i16, lastOffsetDelta i32, baseTimestamp i64, maxTimestamp i64, producerId i64,
//! producerEpoch i16, baseSequence i32, recordCount i32, records. The CRC covers everything from the
//! attributes to the end, so a broker can re-stamp the base offset and the partition leader epoch without
//! recomputing it; setting a log-append time changes covered bytes, so that recomputes it (as Kafka does).

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Record, RecordBatchDecoder};

use crate::ResponseError;

/// Size of the v2 batch header, records excluded.
pub const BATCH_HEADER_BYTES: usize = 61;
/// Bytes before the part counted by `batchLength`: the base offset and the length itself.
pub const LOG_OVERHEAD_BYTES: usize = 12;
/// The only record format sharesim speaks (v0/v1 message sets are gone since Kafka 4.0).
pub const MAGIC_V2: i8 = 2;

const BASE_OFFSET_AT: usize = 0;
const BATCH_LENGTH_AT: usize = 8;
const PARTITION_LEADER_EPOCH_AT: usize = 12;
const MAGIC_AT: usize = 16;
const CRC_AT: usize = 17;
/// First byte covered by the CRC.
pub const CRC_COVERED_FROM: usize = 21;
const ATTRIBUTES_AT: usize = 21;
const LAST_OFFSET_DELTA_AT: usize = 23;
const BASE_TIMESTAMP_AT: usize = 27;
const MAX_TIMESTAMP_AT: usize = 35;
const PRODUCER_ID_AT: usize = 43;
const PRODUCER_EPOCH_AT: usize = 51;
const BASE_SEQUENCE_AT: usize = 53;
const RECORD_COUNT_AT: usize = 57;

const COMPRESSION_MASK: i16 = 0x07;
const TIMESTAMP_TYPE_LOG_APPEND_BIT: i16 = 1 << 3;
const TRANSACTIONAL_BIT: i16 = 1 << 4;
const CONTROL_BIT: i16 = 1 << 5;

/// Why bytes are not a well-formed sequence of v2 batches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BatchError {
    /// Fewer bytes than the header or than `batchLength` announces.
    Truncated,
    /// A magic byte other than 2.
    UnsupportedMagic(i8),
    /// A `batchLength` too small to hold the v2 header.
    InvalidLength(i32),
}

impl BatchError {
    /// The error code a broker answers a produce request with (Kafka: `CorruptRecordException`).
    pub fn to_response_error(&self) -> ResponseError {
        match self {
            BatchError::UnsupportedMagic(_) => ResponseError::UnsupportedForMessageFormat,
            BatchError::Truncated | BatchError::InvalidLength(_) => ResponseError::CorruptMessage,
        }
    }
}

/// The decoded fixed header of one v2 batch.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    /// Offset of the first record (0 in a produce request; assigned by the leader).
    pub base_offset: i64,
    /// Bytes after the length field.
    pub batch_length: i32,
    /// Leader epoch stamped by the leader that appended the batch.
    pub partition_leader_epoch: i32,
    /// Stored CRC-32C.
    pub crc: u32,
    /// Compression, timestamp type, transactional and control bits.
    pub attributes: i16,
    /// `lastOffset - baseOffset`; kept by compaction even when records vanish.
    pub last_offset_delta: i32,
    /// Timestamp of the first record.
    pub base_timestamp_ms: i64,
    /// Largest timestamp (or the log-append time).
    pub max_timestamp_ms: i64,
    /// Producer id, -1 without idempotence.
    pub producer_id: i64,
    /// Producer epoch, -1 without idempotence.
    pub producer_epoch: i16,
    /// Sequence of the first record, -1 without idempotence.
    pub base_sequence: i32,
    /// Records in the batch (0 for an empty batch kept by compaction).
    pub record_count: i32,
}

impl BatchHeader {
    /// Parses the header at the start of `bytes` (which may hold more than one batch).
    pub fn parse(bytes: &[u8]) -> Result<Self, BatchError> {
        if bytes.len() < BATCH_HEADER_BYTES {
            return Err(BatchError::Truncated);
        }
        let magic = bytes[MAGIC_AT] as i8;
        if magic != MAGIC_V2 {
            return Err(BatchError::UnsupportedMagic(magic));
        }
        let batch_length = read_i32(bytes, BATCH_LENGTH_AT);
        if (batch_length as i64) < (BATCH_HEADER_BYTES - LOG_OVERHEAD_BYTES) as i64 {
            return Err(BatchError::InvalidLength(batch_length));
        }
        Ok(BatchHeader {
            base_offset: read_i64(bytes, BASE_OFFSET_AT),
            batch_length,
            partition_leader_epoch: read_i32(bytes, PARTITION_LEADER_EPOCH_AT),
            crc: read_i32(bytes, CRC_AT) as u32,
            attributes: read_i16(bytes, ATTRIBUTES_AT),
            last_offset_delta: read_i32(bytes, LAST_OFFSET_DELTA_AT),
            base_timestamp_ms: read_i64(bytes, BASE_TIMESTAMP_AT),
            max_timestamp_ms: read_i64(bytes, MAX_TIMESTAMP_AT),
            producer_id: read_i64(bytes, PRODUCER_ID_AT),
            producer_epoch: read_i16(bytes, PRODUCER_EPOCH_AT),
            base_sequence: read_i32(bytes, BASE_SEQUENCE_AT),
            record_count: read_i32(bytes, RECORD_COUNT_AT),
        })
    }

    /// Offset of the last record slot (kept across compaction).
    pub fn last_offset(&self) -> i64 {
        self.base_offset + self.last_offset_delta as i64
    }

    /// The whole batch size on the wire.
    pub fn size_bytes(&self) -> usize {
        LOG_OVERHEAD_BYTES + self.batch_length as usize
    }

    /// Compression codec id (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).
    pub fn compression_codec(&self) -> i16 {
        self.attributes & COMPRESSION_MASK
    }

    /// True when the batch belongs to a transaction.
    pub fn is_transactional(&self) -> bool {
        self.attributes & TRANSACTIONAL_BIT != 0
    }

    /// True for a transaction marker batch (COMMIT/ABORT).
    pub fn is_control(&self) -> bool {
        self.attributes & CONTROL_BIT != 0
    }

    /// True when the timestamps are log-append times.
    pub fn is_log_append_time(&self) -> bool {
        self.attributes & TIMESTAMP_TYPE_LOG_APPEND_BIT != 0
    }

    /// True for idempotent and transactional producers.
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Sequence of the last record, wrapping at `i32::MAX` as Kafka's `incrementSequence` does.
    pub fn last_sequence(&self) -> i32 {
        increment_sequence(self.base_sequence, self.last_offset_delta)
    }
}

/// Kafka's `DefaultRecordBatch.incrementSequence`: sequences wrap from `i32::MAX` to 0.
pub fn increment_sequence(sequence: i32, increment: i32) -> i32 {
    if sequence > i32::MAX - increment {
        increment - (i32::MAX - sequence) - 1
    } else {
        sequence + increment
    }
}

/// One whole v2 batch: its parsed header and its exact bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawBatch {
    /// The parsed header (read from `bytes`, not trusted for the CRC).
    pub header: BatchHeader,
    /// The batch bytes, header included.
    pub bytes: Bytes,
}

impl RawBatch {
    /// Splits `records` into whole batches; any trailing byte that is not a whole batch is an error.
    pub fn split_all(records: &Bytes) -> Result<Vec<RawBatch>, BatchError> {
        let (batches, rest) = Self::split_prefix(records)?;
        if rest > 0 {
            return Err(BatchError::Truncated);
        }
        Ok(batches)
    }

    /// Splits a fetched `records` field the way consumers read it: a partial batch at the end (a broker may
    /// cut the last one at the byte limit) is ignored. Returns the batches and the ignored byte count.
    pub fn split_prefix(records: &Bytes) -> Result<(Vec<RawBatch>, usize), BatchError> {
        let mut batches = Vec::new();
        let mut at = 0usize;
        while at < records.len() {
            let rest = &records[at..];
            let header = match BatchHeader::parse(rest) {
                Ok(header) => header,
                Err(BatchError::Truncated) => return Ok((batches, rest.len())),
                Err(other) => return Err(other),
            };
            let size = header.size_bytes();
            if size > rest.len() {
                return Ok((batches, rest.len()));
            }
            batches.push(RawBatch {
                header,
                bytes: records.slice(at..at + size),
            });
            at += size;
        }
        Ok((batches, 0))
    }

    /// The CRC-32C of the covered bytes, as it should be stored.
    pub fn computed_crc(&self) -> u32 {
        compute_crc(&self.bytes)
    }

    /// True when the stored CRC matches the bytes (Kafka `RecordBatch.isValid`).
    pub fn crc_is_valid(&self) -> bool {
        self.header.crc == self.computed_crc()
    }

    /// The consumer's check (`check.crcs=true`): CORRUPT_MESSAGE when the CRC does not match.
    pub fn verify_crc(&self) -> Result<(), ResponseError> {
        if self.crc_is_valid() {
            Ok(())
        } else {
            Err(ResponseError::CorruptMessage)
        }
    }

    /// Decodes the records with kafka-protocol, which verifies the CRC-32C itself; any failure (CRC,
    /// malformed record, compression not built in) is CORRUPT_MESSAGE, as a consumer would report it.
    pub fn decode_records(&self) -> Result<Vec<Record>, ResponseError> {
        let mut bytes = self.bytes.clone();
        RecordBatchDecoder::decode(&mut bytes)
            .map(|set| set.records)
            .map_err(|_| ResponseError::CorruptMessage)
    }

    /// A copy with a new base offset and partition leader epoch; the CRC does not cover them, so the stored
    /// CRC stays (Kafka `setLastOffset` / `setPartitionLeaderEpoch`).
    pub fn restamped(&self, base_offset: i64, partition_leader_epoch: i32) -> RawBatch {
        let mut bytes = BytesMut::from(&self.bytes[..]);
        bytes[BASE_OFFSET_AT..BASE_OFFSET_AT + 8].copy_from_slice(&base_offset.to_be_bytes());
        bytes[PARTITION_LEADER_EPOCH_AT..PARTITION_LEADER_EPOCH_AT + 4]
            .copy_from_slice(&partition_leader_epoch.to_be_bytes());
        Self::from_valid_bytes(bytes.freeze())
    }

    /// A copy stamped with a log-append time: timestamp-type bit and max timestamp change, so the CRC is
    /// recomputed (Kafka `setMaxTimestamp(LOG_APPEND_TIME, now)`).
    pub fn with_log_append_time(&self, now_ms: i64) -> RawBatch {
        let mut bytes = BytesMut::from(&self.bytes[..]);
        let attributes = self.header.attributes | TIMESTAMP_TYPE_LOG_APPEND_BIT;
        bytes[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
        bytes[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now_ms.to_be_bytes());
        let crc = compute_crc(&bytes);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        Self::from_valid_bytes(bytes.freeze())
    }

    /// A copy whose CRC is recomputed after the caller changed covered bytes.
    pub(crate) fn with_fresh_crc(bytes: BytesMut) -> RawBatch {
        let mut bytes = bytes;
        let crc = compute_crc(&bytes);
        bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        Self::from_valid_bytes(bytes.freeze())
    }

    /// A copy with one byte of the CRC-covered region flipped: the fault "corrupt batch on disk".
    /// `byte_index` is folded into the covered region so the damage always breaks the CRC.
    pub fn corrupted(&self, byte_index: usize) -> RawBatch {
        let mut bytes = BytesMut::from(&self.bytes[..]);
        let covered = bytes.len() - CRC_COVERED_FROM;
        let at = CRC_COVERED_FROM + byte_index % covered;
        bytes[at] ^= 0xFF;
        // The header stays the parsed one: the log indexes batches by offsets outside the covered region.
        RawBatch {
            header: self.header.clone(),
            bytes: bytes.freeze(),
        }
    }

    fn from_valid_bytes(bytes: Bytes) -> RawBatch {
        // Our own writes keep the header well formed; a failure here is a bug in this module.
        let header = BatchHeader::parse(&bytes).expect("re-stamped batch keeps a valid header");
        RawBatch { header, bytes }
    }
}

/// CRC-32C over the covered part of one batch (attributes to end).
pub fn compute_crc(batch_bytes: &[u8]) -> u32 {
    crc32c::crc32c(&batch_bytes[CRC_COVERED_FROM..])
}

/// The consumer-side CRC check for a fetched `records` field: every whole batch must pass CRC-32C and
/// decode with kafka-protocol. Returns the base offset of the first corrupt batch as the error.
pub fn check_fetched_records(records: &Bytes) -> Result<(), (i64, ResponseError)> {
    let (batches, _) = RawBatch::split_prefix(records).map_err(|e| (-1, e.to_response_error()))?;
    for batch in batches {
        batch
            .decode_records()
            .map_err(|error| (batch.header.base_offset, error))?;
    }
    Ok(())
}

fn read_i16(bytes: &[u8], at: usize) -> i16 {
    i16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn read_i32(bytes: &[u8], at: usize) -> i32 {
    let mut raw = [0u8; 4];
    raw.copy_from_slice(&bytes[at..at + 4]);
    i32::from_be_bytes(raw)
}

fn read_i64(bytes: &[u8], at: usize) -> i64 {
    let mut raw = [0u8; 8];
    raw.copy_from_slice(&bytes[at..at + 8]);
    i64::from_be_bytes(raw)
}

/// Byte offsets inside the header, for code that rewrites batches (compaction).
pub(crate) mod layout {
    pub const RECORD_COUNT_AT: usize = super::RECORD_COUNT_AT;
    pub const BATCH_LENGTH_AT: usize = super::BATCH_LENGTH_AT;
}
