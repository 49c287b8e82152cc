//! One share partition as Kafka's share-partition leader keeps it (`SharePartition.java`; spec sections 1,
//! 2.1-2.2, 2.5-2.6, 3.2, 3.5, 5.2, 6): the KIP-932 record-state machine, sans-IO and driven by virtual
//! time.
//!
//! Records are AVAILABLE, ACQUIRED (by one member, under a time-limited acquisition lock), ACKNOWLEDGED or
//! ARCHIVED (terminal), or ARCHIVING (waiting for the dead-letter queue, behind `dlq_enabled`). The cache
//! holds the in-flight window `[SPSO, SPEO]` as batches keyed by first offset, each with one shared state
//! or one state per offset. Acknowledgements and session releases are two-phase: the in-memory change
//! happens at once with a rollback snapshot, a `WriteShareGroupState` is emitted, and the change commits
//! or rolls back when the write's outcome is fed back.

mod aborted;
mod ack_validation;
mod acknowledge;
mod acquire;
pub mod checkers;
mod config;
mod consistency;
mod dead_letter;
mod effects;
mod events;
mod expiry;
mod fetched_log;
mod in_flight_batch;
mod in_flight_state;
mod initialize;
mod lock_timers;
mod log_start;
mod mutation;
mod offsets;
mod recorder;
mod release;
mod throttle;
mod two_phase;
mod views;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, VecDeque};

pub use ack_validation::{validate_acknowledgement_batches, AcknowledgementBatch};
pub use config::{
    AcquireMode, AcquireParams, AutoOffsetReset, IsolationLevel, SharePartitionConfig,
};
pub use effects::{AcknowledgeTicket, PartitionEffect, WriteId};
pub use events::{
    PartitionEvent, PartitionState, StartOffsetMoveCause, TransitionCause, WritePurpose,
};
pub use fetched_log::{
    AbortedTransaction, AcquiredRecords, ControlMarker, FetchedLog, LogBatch, ResetOffsets,
};
#[doc(hidden)]
pub use mutation::EngineMutation;
pub use offsets::GapWindow;
pub use two_phase::map_persister_error;
pub use views::{CachedBatchView, RecordView};

use crate::semantics::Semantics;
use in_flight_batch::InFlightBatch;
use lock_timers::LockTimers;
use two_phase::PendingWrite;

/// The share-partition engine.
///
/// # How to drive it (the quinn contract)
///
/// The methods come in four families:
///
/// * **Getters** (`start_offset`, `end_offset`, `next_fetch_offset`, `can_acquire_records`,
///   `in_flight_count`, `record`, `cached_batches`, ...): read-only views.
/// * **Inputs** `handle_*(now_ms, ...)`: a fetch's log read (`handle_fetch`), an acknowledge request
///   (`handle_acknowledge`), a persister write or read outcome (`handle_write_result`,
///   `handle_read_state_result`), a share-session release (`handle_release_session`), the log start
///   offset moving (`handle_log_start_offset`), the DLQ finishing (`handle_dead_letter_result`),
///   leadership loss (`handle_fenced`), and timers (`handle_timeout`).
/// * **Commands**: `begin_initialize` (asks for the ReadShareGroupState) and `update_config` (a dynamic
///   group-config change).
/// * **Outputs**: `poll_effect()` (writes and reads to send, acknowledge completions, fetch wake-ups,
///   trace events) and `poll_timeout()` (the earliest acquisition-lock deadline).
///
/// After every input or command, drain `poll_effect()` until it returns `None`, then re-arm the host's
/// timer from `poll_timeout()` and call `handle_timeout` when it passes. `now_ms` must never go
/// backwards. Every `handle_*` ends with `check_invariants()` in debug builds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SharePartition {
    config: SharePartitionConfig,
    semantics: Semantics,
    /// The partition leader epoch this instance serves; fixed at creation.
    leader_epoch: i32,
    /// Read from the share coordinator at initialization (spec 3.4).
    state_epoch: i32,
    partition_state: PartitionState,
    /// The error that made the partition FAILED or FENCED (Kafka code), 0 otherwise.
    failure_error_code: i16,
    /// SPSO.
    start_offset: i64,
    /// SPEO.
    end_offset: i64,
    /// `cachedState`: batches by first offset, never overlapping.
    cache: BTreeMap<i64, InFlightBatch>,
    timers: LockTimers,
    /// `findNextFetchOffset`: scan the cache for the next AVAILABLE offset.
    find_next_fetch_offset: bool,
    /// `persisterReadResultGapWindow` (spec 3.5).
    gap_window: Option<GapWindow>,
    /// KIP-1226 `deliveryCompleteCount`: the number of cached offsets `>= SPSO` whose state is terminal
    /// (ACKNOWLEDGED or ARCHIVED). Source: the `DeliveryCompleteCount` field of Kafka 4.2's
    /// `WriteShareGroupStateRequest.json` ("the number of offsets greater than or equal to share-partition
    /// start offset for which delivery has been completed") and `SharePartition.deliveryCompleteCount`
    /// (spec 1.6). Offsets past SPEO are never cached, so every counted offset lies in [SPSO, SPEO].
    delivery_complete_count: i64,
    /// Writes emitted and not yet answered.
    writes: BTreeMap<WriteId, PendingWrite>,
    next_write_id: u64,
    next_ticket: u64,
    effects: VecDeque<PartitionEffect>,
    /// A deliberately wrong variant for model-checker tests; `None` in every real use.
    mutation: Option<EngineMutation>,
}

impl SharePartition {
    /// A partition in state EMPTY for the leader at `leader_epoch`. Call `begin_initialize` next.
    pub fn new(config: SharePartitionConfig, semantics: Semantics, leader_epoch: i32) -> Self {
        SharePartition {
            config,
            semantics,
            leader_epoch,
            state_epoch: 0,
            partition_state: PartitionState::Empty,
            failure_error_code: 0,
            start_offset: 0,
            end_offset: 0,
            cache: BTreeMap::new(),
            timers: LockTimers::default(),
            find_next_fetch_offset: false,
            gap_window: None,
            delivery_complete_count: 0,
            writes: BTreeMap::new(),
            next_write_id: 0,
            next_ticket: 0,
            effects: VecDeque::new(),
            mutation: None,
        }
    }

    /// Turns on a deliberately wrong variant (model-checker tests only).
    #[doc(hidden)]
    pub fn set_mutation(&mut self, mutation: Option<EngineMutation>) {
        self.mutation = mutation;
    }

    // ---- (A) getters ----

    /// The configs in force.
    pub fn config(&self) -> &SharePartitionConfig {
        &self.config
    }

    /// The behaviour profile.
    pub fn semantics(&self) -> &Semantics {
        &self.semantics
    }

    /// The leader epoch of this instance.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// The state epoch read at initialization.
    pub fn state_epoch(&self) -> i32 {
        self.state_epoch
    }

    /// EMPTY, INITIALIZING, ACTIVE, FAILED or FENCED.
    pub fn partition_state(&self) -> PartitionState {
        self.partition_state
    }

    /// SPSO.
    pub fn start_offset(&self) -> i64 {
        self.start_offset
    }

    /// SPEO.
    pub fn end_offset(&self) -> i64 {
        self.end_offset
    }

    /// Terminal offsets at or after SPSO, as sent with writes (KIP-1226).
    pub fn delivery_complete_count(&self) -> i64 {
        self.delivery_complete_count
    }

    /// The initial-read gap window, while active (spec 3.5).
    pub fn gap_window(&self) -> Option<GapWindow> {
        self.gap_window
    }

    /// Writes emitted and not yet answered.
    pub fn pending_write_count(&self) -> usize {
        self.writes.len()
    }

    /// Armed acquisition-lock timers.
    pub fn armed_lock_count(&self) -> usize {
        self.timers.len()
    }

    /// The state of `offset`, if cached.
    pub fn record(&self, offset: i64) -> Option<RecordView> {
        let (_, batch) = self.cache.range(..=offset).next_back()?;
        batch
            .contains(offset)
            .then(|| RecordView::of(batch.state_at(offset)))
    }

    /// The cached batches in offset order (for checkers and reports).
    pub fn cached_batches(&self) -> impl Iterator<Item = CachedBatchView<'_>> + '_ {
        self.cache.values().map(CachedBatchView::new)
    }

    // ---- (D) outputs ----

    /// The next effect for the host, oldest first.
    pub fn poll_effect(&mut self) -> Option<PartitionEffect> {
        self.effects.pop_front()
    }

    /// The earliest armed acquisition-lock deadline: call `handle_timeout` once `now_ms` reaches it.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.timers.earliest_deadline_ms()
    }

    // ---- (C) commands ----

    /// A dynamic group-config change (Kafka reads the delivery-count limit, lock duration and in-flight
    /// limit at every use).
    pub fn update_config(&mut self, config: SharePartitionConfig) {
        self.config = config;
    }

    // ---- shared helpers ----

    fn emit(&mut self, event: PartitionEvent) {
        self.effects.push_back(PartitionEffect::Event(event));
    }

    fn set_partition_state(&mut self, to: PartitionState, error_code: i16) {
        let from = self.partition_state;
        if from == to {
            return;
        }
        self.partition_state = to;
        self.failure_error_code = error_code;
        self.emit(PartitionEvent::PartitionStateChanged {
            from,
            to,
            error_code,
        });
    }

    fn set_end_offset(&mut self, to: i64) {
        let from = self.end_offset;
        if from != to {
            self.end_offset = to;
            self.emit(PartitionEvent::EndOffsetMoved { from, to });
        }
    }

    /// Moves SPSO forward to `to`, taking the passed terminal offsets out of the delivery-complete count.
    fn advance_start_offset_to(&mut self, to: i64, cause: StartOffsetMoveCause) {
        let from = self.start_offset;
        if to <= from {
            return;
        }
        let passed_terminal: i64 = self
            .cache
            .range(..to)
            .rev()
            .take_while(|(_, batch)| batch.last_offset >= from)
            .map(|(_, batch)| batch.terminal_count_in(from, to - 1))
            .sum();
        self.delivery_complete_count -= passed_terminal;
        self.start_offset = to;
        self.emit(PartitionEvent::StartOffsetMoved { from, to, cause });
    }

    fn allocate_write_id(&mut self) -> WriteId {
        let id = WriteId(self.next_write_id);
        self.next_write_id += 1;
        id
    }

    /// Ends every input: drops a stale next-fetch-offset scan request and checks the invariants.
    fn finish_handler(&mut self, now_ms: u64) {
        if self.find_next_fetch_offset && self.first_acquirable_offset().is_none() {
            self.find_next_fetch_offset = false;
        }
        self.check_invariants(now_ms);
    }

    /// Debug builds assert [`Self::verify_consistency`] after every input.
    fn check_invariants(&self, now_ms: u64) {
        // A FENCED partition dropped its timers on purpose; the broker discards it. A mutated engine is
        // wrong on purpose: its own bookkeeping checks would stop the run before the oracle judges it.
        if cfg!(debug_assertions)
            && self.partition_state != PartitionState::Fenced
            && self.mutation.is_none()
        {
            if let Err(violation) = self.verify_consistency(now_ms) {
                panic!("share partition invariant violated at {now_ms} ms: {violation}");
            }
        }
    }
}
