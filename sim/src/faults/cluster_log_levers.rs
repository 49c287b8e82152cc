//! The log-data levers on the [`SimCluster`] harness (spec 6, 7.6): the log start moving (retention,
//! DeleteRecords), the log cleaner, and a batch corrupted on a replica's disk. Each acts on the brokers'
//! [`LogStore`]s, which the harness holds from outside the broker nodes, as a broker's own log manager or
//! the disk itself would:
//! - `log_start_move` / `delete_records` move the log start on the partition's **leader** only (Kafka's
//!   `deleteRecords` and retention run on the leader); followers follow through the log start offset of
//!   their next fetch response (`maybeIncrementLogStartOffset` in the replica fetcher). The share-partition
//!   leader learns it as Kafka's does: its next read below the new start gets OFFSET_OUT_OF_RANGE and it
//!   archives what lies below (`TransitionCause::LogStartOffsetMove`).
//! - `compaction` runs one cleaning pass on **every replica** (each broker's `LogCleaner` cleans its own
//!   logs). Share fetches skip the gaps: missing offsets inside an acquired batch are acknowledged as GAP,
//!   vanished cached batches are archived (`TransitionCause::Compaction`).
//! - `corrupt_batch_on_disk` flips one byte of the batch on the named replica (default: the leader); the
//!   broker serves it as stored and the share consumer's CRC check rejects the whole batch.
//!
//! The partition's leader is the broker of the newest `became_leader` event (highest leader epoch) in the
//! run's trace, so the harness must keep its trace records.

use super::step::FaultError;
use crate::broker::ClusterEvent;
use crate::cluster::BrokerId;
use crate::harness::SimCluster;
use crate::log::{LogStore, TopicPartition, BATCH_HEADER_BYTES, CRC_COVERED_FROM};
use crate::trace::{TraceEvent, TraceRecord};

/// The byte `corrupt_batch_on_disk` flips, counted from the start of the CRC-covered region: the first
/// byte of the first record, so the batch header (offsets, length) still parses and only the CRC fails.
const CORRUPTED_BYTE_INDEX: usize = BATCH_HEADER_BYTES - CRC_COVERED_FROM;

impl SimCluster {
    /// `log_start_move` / `delete_records`: the leader's log start moves to `offset`. An offset past the
    /// high watermark is clamped to it (Kafka's DeleteRecords refuses it with OFFSET_OUT_OF_RANGE; the
    /// engine backend clamps to the log end, and a fault should still move what it can). Below the
    /// current log start nothing happens.
    pub(super) fn move_log_start(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<(), FaultError> {
        let tp = TopicPartition::new(topic, partition);
        let store = self.leader_store(&tp)?;
        store
            .with_log(&tp, |log| {
                let target = offset.clamp(0, log.high_watermark());
                log.delete_records_before(target)
            })
            .ok_or_else(|| no_log(&tp))?
            .map(drop)
            .map_err(|error| FaultError::Refused(format!("{tp:?}: {error:?}")))
    }

    /// `compaction`: one cleaning pass over `topic`'s logs (one partition, or all) on every broker that
    /// holds a replica. Refused when no broker holds any.
    pub(super) fn compact_topic(
        &self,
        topic: &str,
        partition: Option<i32>,
    ) -> Result<(), FaultError> {
        let mut cleaned = 0;
        for broker in self.broker_ids() {
            let Some(store) = self.store(broker) else {
                continue;
            };
            for tp in store.partitions() {
                if tp.topic != topic || partition.is_some_and(|p| p != tp.partition) {
                    continue;
                }
                store.with_log(&tp, |log| log.compact());
                cleaned += 1;
            }
        }
        if cleaned == 0 {
            return Err(FaultError::UnknownTarget(format!(
                "no replica of {topic}{}",
                partition.map_or(String::new(), |p| format!("-{p}"))
            )));
        }
        Ok(())
    }

    /// `corrupt_batch_on_disk`: flips a byte of the batch holding `offset` on `broker`'s replica (the
    /// leader's when `None`). Refused when that replica holds no batch there (not produced yet, or
    /// deleted).
    pub(super) fn corrupt_batch_on_disk(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
        broker: Option<u32>,
    ) -> Result<(), FaultError> {
        let tp = TopicPartition::new(topic, partition);
        let store = match broker {
            Some(broker) => BrokerId::try_from(broker)
                .ok()
                .and_then(|id| self.store(id))
                .ok_or_else(|| FaultError::UnknownTarget(format!("broker:{broker}")))?,
            None => self.leader_store(&tp)?,
        };
        let corrupted = store
            .with_log(&tp, |log| log.corrupt_batch(offset, CORRUPTED_BYTE_INDEX))
            .ok_or_else(|| no_log(&tp))?;
        if !corrupted {
            return Err(FaultError::Refused(format!(
                "no batch holds offset {offset} of {tp:?} on that replica"
            )));
        }
        Ok(())
    }

    /// The disk of the partition's current leader (see the module docs).
    fn leader_store(&self, tp: &TopicPartition) -> Result<&LogStore, FaultError> {
        let leader = self
            .trace()
            .with(|trace| newest_leader(trace.records().unwrap_or_default(), tp))
            .ok_or_else(|| FaultError::Refused(format!("no leader of {tp:?} seen in the trace")))?;
        self.store(leader)
            .ok_or_else(|| FaultError::UnknownTarget(format!("broker:{leader}")))
    }
}

/// The broker of the `became_leader` event with the highest leader epoch for `tp`.
fn newest_leader(records: &[TraceRecord], tp: &TopicPartition) -> Option<BrokerId> {
    records
        .iter()
        .filter_map(|record| match &record.event {
            TraceEvent::Cluster {
                event:
                    ClusterEvent::BecameLeader {
                        topic,
                        partition,
                        leader_epoch,
                        ..
                    },
            } if *topic == tp.topic && *partition == tp.partition => {
                let broker = record.node.strip_prefix("broker-")?.parse().ok()?;
                Some((*leader_epoch, broker))
            }
            _ => None,
        })
        .max_by_key(|(leader_epoch, _)| *leader_epoch)
        .map(|(_, broker)| broker)
}

fn no_log(tp: &TopicPartition) -> FaultError {
    FaultError::UnknownTarget(format!("no log of {tp:?} on that broker"))
}
