//! One partition's fetched data as the consumer walks it (Kafka `ShareCompletedFetch`): the acquired
//! offsets in increasing order, each either a data record to deliver, a gap to acknowledge as GAP (no data
//! record there: compaction, a control marker; spec 2.6, 6), or part of a corrupt batch to REJECT whole
//! (spec 7.6). Decoding and CRC checks are the log module's (`consume_fetched`).

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;

use super::wire::{AcquiredRecords, NodeId};
use crate::coordinator::share::TopicIdPartition;
use crate::log::{consume_fetched, ConsumedBatchKind};

/// Acquired offsets one response may make the client track for one partition. A response claiming more
/// is bad input: the excess is ignored (its locks expire on the broker).
pub const ACQUIRED_OFFSETS_PER_PARTITION_MAX: u64 = 1 << 20;

/// A data record delivered to the application (Kafka `ConsumerRecord` plus the delivery count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsumerRecord {
    /// The topic name (empty when metadata did not name the topic id).
    pub topic: String,
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// The offset.
    pub offset: i64,
    /// The delivery count the broker sent with the acquisition.
    pub delivery_count: i16,
    /// Record key.
    pub key: Option<Bytes>,
    /// Record value.
    pub value: Option<Bytes>,
    /// Record timestamp.
    pub timestamp_ms: i64,
    /// The broker the record was fetched from: its acknowledgement goes there.
    pub node: NodeId,
    /// Base offset of the log batch holding it (batch_optimized polls finish the current log batch).
    pub log_batch_base_offset: i64,
}

/// The next thing the consumer meets walking a completed fetch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchItem {
    /// An acquired offset with a data record.
    Record(ConsumerRecord),
    /// An acquired offset without a data record: acknowledged as GAP.
    Gap {
        /// The offset.
        offset: i64,
    },
    /// A batch that failed its CRC or decoding: every acquired offset in it is REJECTed.
    CorruptBatch {
        /// Base offset of the corrupt batch.
        base_offset: i64,
        /// The acquired offsets inside it.
        offsets: Vec<i64>,
    },
}

/// A partition's fetched data not yet handed to the application.
#[derive(Clone, Debug)]
pub struct CompletedFetch {
    /// The partition.
    pub topic_id_partition: TopicIdPartition,
    /// The broker it came from.
    pub node: NodeId,
    items: VecDeque<FetchItem>,
}

impl CompletedFetch {
    /// Interprets one ShareFetch response partition. Acquired ranges that are malformed (first > last,
    /// overlapping earlier ones) are skipped; the delivery count of a record is its range's.
    pub fn new(
        topic: &str,
        topic_id_partition: TopicIdPartition,
        node: NodeId,
        records: &Bytes,
        acquired: &[AcquiredRecords],
    ) -> CompletedFetch {
        let acquired_offsets = acquired_offsets(acquired);
        let first_acquired = acquired_offsets.keys().next().copied().unwrap_or(0);
        // A framing error means no batch can be trusted: the whole fetched range is one corrupt unit.
        let consumed = consume_fetched(records, first_acquired, None).unwrap_or_else(|_| {
            vec![crate::log::ConsumedBatch {
                base_offset: first_acquired,
                last_offset: acquired_offsets.keys().next_back().copied().unwrap_or(0),
                kind: ConsumedBatchKind::Corrupt,
            }]
        });
        let mut data: BTreeMap<i64, ConsumerRecord> = BTreeMap::new();
        let mut corrupt: Vec<(i64, i64)> = Vec::new();
        for batch in consumed {
            match batch.kind {
                ConsumedBatchKind::Data(records) => {
                    for record in records {
                        let Some(&delivery_count) = acquired_offsets.get(&record.offset) else {
                            continue; // Fetched but not acquired by us: skipped (spec 2.6).
                        };
                        data.entry(record.offset).or_insert(ConsumerRecord {
                            topic: topic.to_owned(),
                            topic_id_partition,
                            offset: record.offset,
                            delivery_count,
                            key: record.key,
                            value: record.value,
                            timestamp_ms: record.timestamp,
                            node,
                            log_batch_base_offset: batch.base_offset,
                        });
                    }
                }
                ConsumedBatchKind::Corrupt => corrupt.push((batch.base_offset, batch.last_offset)),
                ConsumedBatchKind::Control | ConsumedBatchKind::Aborted => {}
            }
        }
        let mut items = VecDeque::with_capacity(acquired_offsets.len());
        let mut reported_corrupt: Option<(i64, i64)> = None;
        for &offset in acquired_offsets.keys() {
            if let Some(&(base, last)) = corrupt.iter().find(|(b, l)| *b <= offset && offset <= *l)
            {
                if reported_corrupt != Some((base, last)) {
                    reported_corrupt = Some((base, last));
                    let offsets = acquired_offsets
                        .range(base..=last)
                        .map(|(o, _)| *o)
                        .collect();
                    items.push_back(FetchItem::CorruptBatch {
                        base_offset: base,
                        offsets,
                    });
                }
                continue;
            }
            match data.remove(&offset) {
                Some(record) => items.push_back(FetchItem::Record(record)),
                None => items.push_back(FetchItem::Gap { offset }),
            }
        }
        CompletedFetch {
            topic_id_partition,
            node,
            items,
        }
    }

    /// The next item, without consuming it.
    pub fn peek(&self) -> Option<&FetchItem> {
        self.items.front()
    }

    /// Consumes the next item.
    pub fn next_item(&mut self) -> Option<FetchItem> {
        self.items.pop_front()
    }

    /// True when every item was consumed.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Offsets still to be walked, for acknowledging nothing of them (they stay acquired until the session
    /// closes or the locks expire).
    pub fn remaining_len(&self) -> usize {
        self.items.len()
    }
}

/// Acquired offset → delivery count, skipping malformed and overlapping ranges, capped in size.
fn acquired_offsets(acquired: &[AcquiredRecords]) -> BTreeMap<i64, i16> {
    let mut offsets = BTreeMap::new();
    let mut budget = ACQUIRED_OFFSETS_PER_PARTITION_MAX;
    for range in acquired {
        if range.first_offset < 0 || range.first_offset > range.last_offset {
            continue;
        }
        let mut offset = range.first_offset;
        while offset <= range.last_offset && budget > 0 {
            offsets.entry(offset).or_insert(range.delivery_count);
            budget -= 1;
            offset += 1;
        }
    }
    offsets
}
