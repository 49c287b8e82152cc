//! A small driver for one engine: virtual time, effect draining, and shorthands for logs and acks.

use crate::semantics::{Release, Semantics};
use crate::share::partition::*;
use crate::share::{AcknowledgeType, MemberId, PersistedShareState, WriteShareGroupState};
use crate::ResponseError;

pub(super) fn member(name: &str) -> MemberId {
    MemberId::new(name)
}

/// A read from `fetch_offset` returning plain data batches `[base, last]`.
pub(super) fn log(fetch_offset: i64, batches: &[(i64, i64)]) -> FetchedLog {
    FetchedLog {
        fetch_offset,
        batches: batches.iter().map(|&(b, l)| LogBatch::data(b, l)).collect(),
        aborted_transactions: Vec::new(),
    }
}

pub(super) fn params(max_records: u32) -> AcquireParams {
    AcquireParams {
        max_records,
        batch_size: max_records,
        mode: AcquireMode::BatchOptimized,
    }
}

pub(super) fn record_limit(max_records: u32) -> AcquireParams {
    AcquireParams {
        max_records,
        batch_size: max_records,
        mode: AcquireMode::RecordLimit,
    }
}

pub(super) fn ranges(acquired: &[AcquiredRecords]) -> Vec<(i64, i64, u16)> {
    acquired
        .iter()
        .map(|r| (r.first_offset, r.last_offset, r.delivery_count))
        .collect()
}

pub(super) fn reset_at(offset: i64) -> ResetOffsets {
    ResetOffsets {
        log_start_offset: offset,
        high_watermark: offset,
        offset_by_duration: Some(offset),
    }
}

pub(super) struct Harness {
    pub(super) sp: SharePartition,
    pub(super) now_ms: u64,
    pub(super) writes: Vec<(WriteId, WriteShareGroupState)>,
    pub(super) completions: Vec<(AcknowledgeTicket, Result<(), ResponseError>)>,
    pub(super) events: Vec<PartitionEvent>,
    pub(super) other: Vec<PartitionEffect>,
}

impl Harness {
    /// An ACTIVE partition with default config (profile 4.2) starting at offset 0.
    pub(super) fn new() -> Harness {
        Harness::with_config(SharePartitionConfig::default(), Semantics::default())
    }

    pub(super) fn for_release(release: Release) -> Harness {
        let semantics = Semantics::for_release(release);
        Harness::with_config(SharePartitionConfig::for_semantics(&semantics), semantics)
    }

    pub(super) fn with_config(config: SharePartitionConfig, semantics: Semantics) -> Harness {
        let image = PersistedShareState {
            state_epoch: 1,
            leader_epoch: 0,
            start_offset: 0,
            delivery_complete_count: 0,
            state_batches: Vec::new(),
        };
        Harness::from_image(config, semantics, Ok(image), reset_at(0))
    }

    pub(super) fn from_image(
        config: SharePartitionConfig,
        semantics: Semantics,
        image: Result<PersistedShareState, ResponseError>,
        reset: ResetOffsets,
    ) -> Harness {
        let mut harness = Harness {
            sp: SharePartition::new(config, semantics, 1),
            now_ms: 1_000,
            writes: Vec::new(),
            completions: Vec::new(),
            events: Vec::new(),
            other: Vec::new(),
        };
        harness.sp.begin_initialize(harness.now_ms);
        harness
            .sp
            .handle_read_state_result(harness.now_ms, image, reset);
        harness.pump();
        harness
    }

    /// Drains effects into the harness lists.
    pub(super) fn pump(&mut self) {
        while let Some(effect) = self.sp.poll_effect() {
            match effect {
                PartitionEffect::WriteState { write_id, request } => {
                    self.writes.push((write_id, request))
                }
                PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                    self.completions.push((ticket, result))
                }
                PartitionEffect::Event(event) => self.events.push(event),
                other => self.other.push(other),
            }
        }
    }

    pub(super) fn fetch_log(
        &mut self,
        name: &str,
        fetched: &FetchedLog,
        params: AcquireParams,
    ) -> Vec<(i64, i64, u16)> {
        let acquired = self
            .sp
            .handle_fetch(self.now_ms, &member(name), fetched, params)
            .expect("fetch on an active partition");
        self.pump();
        ranges(&acquired)
    }

    /// Fetches from the next fetch offset with the given log batches.
    pub(super) fn fetch(
        &mut self,
        name: &str,
        batches: &[(i64, i64)],
        params: AcquireParams,
    ) -> Vec<(i64, i64, u16)> {
        let fetched = log(self.sp.next_fetch_offset(), batches);
        self.fetch_log(name, &fetched, params)
    }

    pub(super) fn ack_batches(
        &mut self,
        name: &str,
        batches: &[AcknowledgementBatch],
    ) -> Result<AcknowledgeTicket, ResponseError> {
        let result = self
            .sp
            .handle_acknowledge(self.now_ms, &member(name), batches);
        self.pump();
        result
    }

    pub(super) fn ack(
        &mut self,
        name: &str,
        first: i64,
        last: i64,
        ack_type: AcknowledgeType,
    ) -> Result<AcknowledgeTicket, ResponseError> {
        self.ack_batches(name, &[AcknowledgementBatch::of(first, last, ack_type)])
    }

    /// Answers every outstanding write with `result`, oldest first.
    pub(super) fn complete_writes(&mut self, result: Result<(), ResponseError>) {
        let writes = std::mem::take(&mut self.writes);
        for (write_id, _) in writes {
            self.sp.handle_write_result(self.now_ms, write_id, result);
            self.pump();
        }
    }

    /// Acknowledges and commits.
    pub(super) fn ack_committed(
        &mut self,
        name: &str,
        first: i64,
        last: i64,
        ack_type: AcknowledgeType,
    ) {
        self.ack(name, first, last, ack_type).expect("ack accepted");
        self.complete_writes(Ok(()));
    }

    pub(super) fn advance(&mut self, ms: u64) {
        self.now_ms += ms;
        self.sp.handle_timeout(self.now_ms);
        self.pump();
    }

    pub(super) fn state(&self, offset: i64) -> crate::share::RecordState {
        self.sp.record(offset).expect("cached offset").state
    }

    pub(super) fn count(&self, offset: i64) -> u16 {
        self.sp
            .record(offset)
            .expect("cached offset")
            .delivery_count
    }
}
