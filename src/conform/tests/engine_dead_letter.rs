//! The simulator's share-partition engine with the dead-letter queue on (`dlq_enabled`), driven
//! directly, and its trace replayed through the model's DLQ rules: REJECT, a lock expiry at the limit
//! and the DLQ's phase 2 as the engine does them conform; judged without the DLQ they do not.

use sharesim_sim::coordinator::share::{
    ShareCoordinatorConfig, ShareCoordinatorShard, SharePartitionKey, TopicIdPartition,
};
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::partition::{
    AcknowledgementBatch, AcquireParams, FetchedLog, LogBatch, PartitionEffect, ResetOffsets,
    SharePartition, SharePartitionConfig,
};

use super::*;
use crate::conform::conform_dead_letter_queue;

const LOCK_DURATION_MS: u64 = 30_000;

/// One engine and the trace of its events.
struct Driven {
    engine: SharePartition,
    trace: Trace,
    now_ms: u64,
}

impl Driven {
    /// A leader (epoch 1) initialized at offset 0 with the DLQ on and delivery-count limit 2.
    fn new() -> Driven {
        let semantics = Semantics::default();
        let key = SharePartitionKey::new(
            "g",
            TopicIdPartition {
                topic_id: TopicId(1),
                partition: 0,
            },
        );
        let mut shard = ShareCoordinatorShard::new(0, ShareCoordinatorConfig::new(&semantics));
        for record in shard.handle_initialize(0, &key, 0, 0).records {
            let offset = shard.next_log_offset();
            shard.replay(offset, &record);
        }
        let read = shard.handle_read(0, &key, 1);
        let config = SharePartitionConfig {
            record_lock_duration_ms: LOCK_DURATION_MS,
            delivery_count_limit: 2,
            dlq_enabled: true,
            ..SharePartitionConfig::for_semantics(&semantics)
        };
        let mut driven = Driven {
            engine: SharePartition::new(config, semantics, 1),
            trace: Trace::keeping_records(),
            now_ms: 0,
        };
        driven.engine.begin_initialize(0);
        let reset = ResetOffsets {
            log_start_offset: 0,
            high_watermark: 0,
            offset_by_duration: Some(0),
        };
        driven
            .engine
            .handle_read_state_result(0, read.response, reset);
        driven.pump();
        driven
    }

    /// Records the engine's events; answers every write with success and every dead-letter enqueue
    /// at once (as the engine backend does), until the engine is quiet.
    fn pump(&mut self) {
        while let Some(effect) = self.engine.poll_effect() {
            match effect {
                PartitionEffect::Event(event) => {
                    let event = TraceEvent::SharePartition {
                        group_id: "g".into(),
                        topic_id: TopicId(1),
                        partition: 0,
                        leader_epoch: self.engine.leader_epoch(),
                        event,
                    };
                    self.trace.record(self.now_ms, "broker-1", event);
                }
                PartitionEffect::WriteState { write_id, .. } => {
                    self.engine
                        .handle_write_result(self.now_ms, write_id, Ok(()));
                }
                PartitionEffect::EnqueueDeadLetters {
                    first_offset,
                    last_offset,
                } => {
                    self.engine
                        .handle_dead_letter_result(self.now_ms, first_offset, last_offset);
                }
                _ => {}
            }
        }
    }

    /// `member` fetches the two one-record log batches from the next fetch offset.
    fn fetch(&mut self, member: &str) {
        let fetch_offset = self.engine.next_fetch_offset();
        let log = FetchedLog {
            fetch_offset,
            batches: (fetch_offset..2).map(|o| LogBatch::data(o, o)).collect(),
            aborted_transactions: Vec::new(),
        };
        let params = AcquireParams::default();
        let acquired = self
            .engine
            .handle_fetch(self.now_ms, &MemberId::new(member), &log, params);
        assert!(!acquired.expect("fetch accepted").is_empty());
        self.pump();
    }

    fn acknowledge(&mut self, member: &str, offset: i64, ack_type: AcknowledgeType) {
        let ack = AcknowledgementBatch::of(offset, offset, ack_type);
        let result = self
            .engine
            .handle_acknowledge(self.now_ms, &MemberId::new(member), &[ack]);
        result.expect("ack accepted");
        self.pump();
    }

    /// Every lock expires.
    fn expire_locks(&mut self) {
        self.now_ms += LOCK_DURATION_MS;
        self.engine.handle_timeout(self.now_ms);
        self.pump();
    }
}

/// Spec 1.2 #4, #5, #10, 1.3, 1.6: the engine's REJECT, lock expiry at the limit and phase 2 with the
/// DLQ conform to the model's DLQ rules; judged without the DLQ, the REJECT to ARCHIVING is reported.
#[test]
fn the_engines_dead_letter_queue_conforms() {
    let mut driven = Driven::new();
    driven.fetch("a");
    driven.acknowledge("a", 0, AcknowledgeType::Reject);
    driven.expire_locks();
    driven.fetch("b");
    driven.expire_locks();
    let records = driven.trace.records().expect("kept").to_vec();
    let archiving = records.iter().filter(|record| {
        matches!(
            &record.event,
            TraceEvent::SharePartition {
                event: PartitionEvent::Transition {
                    to: RecordState::Archiving,
                    ..
                },
                ..
            }
        )
    });
    assert_eq!(archiving.count(), 2, "REJECT and the expiry at the limit");
    assert_eq!(
        driven.engine.start_offset(),
        2,
        "both dead-lettered, SPSO past them"
    );
    let report = conform(&records, 2);
    assert!(report.conforms(), "{:?}", report.first_divergence);
    let without = conform_dead_letter_queue(&records, 2, None, Some(false));
    let divergence = without.first_divergence.expect("REJECT to ARCHIVING");
    assert!(
        divergence.message.contains("cannot lead to Archiving"),
        "{divergence}"
    );
}
