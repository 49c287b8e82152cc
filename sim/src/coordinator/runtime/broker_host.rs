//! [`CoordinatorHost`] over the broker's plug-in contract (`crate::broker::ServiceContext`): appends
//! become `cx.append` effects (acks=1: the service tracks commit through high-watermark events), reads
//! for replay go through the broker's view up to the log end, record deletion is a DeleteRecords call to
//! this broker, metadata comes from the view.
//!
//! The contract applies effects after the service returns, so [`CoordinatorHost::append`] predicts the
//! first offset: the log end now plus what this call already queued for the partition (only the
//! coordinator appends to its partitions). The append's result is checked against the prediction in
//! [`EffectTokens::take_append`]; a mismatch or an error makes the service reload the partition.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::{DeleteRecordsRequest, RequestKind, TopicName};
use kafka_protocol::protocol::StrBytes;

use super::host::{CoordinatorHost, LogRecord};
use crate::broker::{AppendRecords, CallTarget, ServiceContext};
use crate::cluster::replication::Acks;
use crate::coordinator::share::TopicIdPartition;
use crate::log::{
    encode_data_batch, AppendInfo, FetchIsolation, ProducerIdentity, ProducerRecord, RawBatch,
    TopicPartition,
};
use crate::ResponseError;

/// How long the broker may take to apply an append (acks=1 answers at once; this only bounds it).
const APPEND_TIMEOUT_MS: u64 = 5_000;
/// Bytes read per step when replaying a partition.
const REPLAY_READ_BYTES: usize = 1 << 20;
/// DeleteRecords version sent to this broker by the prune job.
const DELETE_RECORDS_VERSION: i16 = 2;

/// The tokens a plug-in hands to the broker for appends and calls, and what each one was for.
#[derive(Clone, Debug, Default)]
pub struct EffectTokens {
    next_token: u64,
    /// Append token → (internal partition, predicted first offset).
    appends: BTreeMap<u64, (i32, i64)>,
    /// DeleteRecords call tokens (their results are ignored).
    deletes: BTreeSet<u64>,
}

impl EffectTokens {
    /// A fresh token.
    pub fn fresh(&mut self) -> u64 {
        let token = self.next_token;
        self.next_token += 1;
        token
    }

    /// The append behind `token`, if it is one: (partition, predicted first offset).
    pub fn take_append(&mut self, token: u64) -> Option<(i32, i64)> {
        self.appends.remove(&token)
    }

    /// The outcome of the append behind `token` when it failed or landed elsewhere than predicted:
    /// (partition, predicted first offset, error); `None` for success or a token that is no append.
    pub fn append_failure(
        &mut self,
        token: u64,
        result: Result<AppendInfo, ResponseError>,
    ) -> Option<(i32, i64, ResponseError)> {
        let (partition, first_offset) = self.take_append(token)?;
        let error = match result {
            Ok(info) if info.first_offset == first_offset => return None,
            Ok(_) => ResponseError::UnknownServerError,
            Err(error) => error,
        };
        Some((partition, first_offset, error))
    }

    /// Whether `token` is a DeleteRecords call of the prune job (and forgets it).
    pub fn take_delete(&mut self, token: u64) -> bool {
        self.deletes.remove(&token)
    }
}

/// The broker as a [`CoordinatorHost`], for the length of one service call.
pub struct BrokerHost<'x, 'a> {
    now_ms: u64,
    cx: &'x mut ServiceContext<'a>,
    tokens: &'x mut EffectTokens,
    queued: BTreeMap<(&'static str, i32), i64>,
}

impl<'x, 'a> BrokerHost<'x, 'a> {
    /// Wraps `cx` for one call at `now_ms`.
    pub fn new(now_ms: u64, cx: &'x mut ServiceContext<'a>, tokens: &'x mut EffectTokens) -> Self {
        BrokerHost {
            now_ms,
            cx,
            tokens,
            queued: BTreeMap::new(),
        }
    }
}

impl CoordinatorHost for BrokerHost<'_, '_> {
    fn append(
        &mut self,
        topic: &'static str,
        partition: i32,
        _leader_epoch: i32,
        records: Vec<LogRecord>,
    ) -> Result<i64, ResponseError> {
        let tp = TopicPartition::new(topic, partition);
        if !self.cx.view.is_leader(&tp) {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        let log_end_offset = self.cx.view.offsets(&tp)?.log_end_offset;
        let queued = self.queued.entry((topic, partition)).or_default();
        let first_offset = log_end_offset + *queued;
        *queued += records.len() as i64;
        let timestamp_ms = i64::try_from(self.now_ms).unwrap_or(i64::MAX);
        let records: Vec<ProducerRecord> = records
            .into_iter()
            .map(|record| ProducerRecord {
                key: record.key,
                value: record.value,
                timestamp_ms,
                headers: Vec::new(),
            })
            .collect();
        let batch = encode_data_batch(ProducerIdentity::NONE, -1, false, &records)
            .ok_or(ResponseError::InvalidRequest)?;
        let token = self.tokens.fresh();
        self.tokens.appends.insert(token, (partition, first_offset));
        self.cx.append(
            token,
            tp,
            AppendRecords::Batch(batch),
            Acks::Leader,
            APPEND_TIMEOUT_MS,
        );
        Ok(first_offset)
    }

    fn read_records(
        &self,
        topic: &'static str,
        partition: i32,
    ) -> Result<Vec<(i64, LogRecord)>, ResponseError> {
        let tp = TopicPartition::new(topic, partition);
        let offsets = self.cx.view.offsets(&tp)?;
        let mut records = Vec::new();
        let mut offset = offsets.log_start_offset;
        while offset < offsets.log_end_offset {
            let read = self
                .cx
                .view
                .read(&tp, offset, REPLAY_READ_BYTES, FetchIsolation::LogEnd)?;
            let batches =
                RawBatch::split_all(&read.records).map_err(|_| ResponseError::CorruptMessage)?;
            if batches.is_empty() {
                break;
            }
            for batch in batches {
                let last_offset = batch.header.last_offset();
                if !batch.header.is_control() {
                    for record in batch.decode_records()? {
                        if record.offset >= offset {
                            let log_record = LogRecord {
                                key: record.key,
                                value: record.value,
                            };
                            records.push((record.offset, log_record));
                        }
                    }
                }
                offset = offset.max(last_offset + 1);
            }
        }
        Ok(records)
    }

    fn high_watermark(&self, topic: &'static str, partition: i32) -> i64 {
        let tp = TopicPartition::new(topic, partition);
        self.cx
            .view
            .offsets(&tp)
            .map_or(0, |offsets| offsets.high_watermark)
    }

    fn delete_records_before(&mut self, topic: &'static str, partition: i32, offset: i64) {
        let request = DeleteRecordsRequest::default()
            .with_topics(vec![DeleteRecordsTopic::default()
                .with_name(TopicName(StrBytes::from_static_str(topic)))
                .with_partitions(vec![DeleteRecordsPartition::default()
                    .with_partition_index(partition)
                    .with_offset(offset)])])
            .with_timeout_ms(APPEND_TIMEOUT_MS as i32);
        let token = self.tokens.fresh();
        self.tokens.deletes.insert(token);
        let broker_id = self.cx.view.broker_id();
        self.cx.call(
            token,
            CallTarget::Broker(broker_id),
            DELETE_RECORDS_VERSION,
            RequestKind::DeleteRecords(request),
            APPEND_TIMEOUT_MS,
        );
    }

    fn partition_exists(&self, tp: TopicIdPartition) -> bool {
        self.cx
            .view
            .topic_name(tp.topic_id.0)
            .and_then(|name| self.cx.view.partition_count(name))
            .is_some_and(|count| (0..count).contains(&tp.partition))
    }
}
