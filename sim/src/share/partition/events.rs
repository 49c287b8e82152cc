//! Trace events a share partition emits (as [`super::PartitionEffect::Event`]). They carry offset
//! ranges, never one event per record on the hot path, and serialize with a stable field order (the
//! declaration order), so they can be mapped into the global trace unchanged.

use serde::{Deserialize, Serialize};

use super::effects::WriteId;
use crate::share::{AcknowledgeType, MemberId, RecordState};

/// Why records changed state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum TransitionCause {
    /// Read-committed acquisition of a batch of an aborted transaction (spec 1.2 #9).
    AbortedTransaction,
    /// An acknowledgement of this type (spec 1.2 #2-4).
    Acknowledge {
        /// The acknowledge type.
        ack_type: AcknowledgeType,
    },
    /// A fetch found cached AVAILABLE batches that compaction removed (spec 1.2 #8b).
    Compaction,
    /// DLQ phase 2 finished (spec 1.2 #10).
    DeadLetterCompleted,
    /// The log start offset moved past AVAILABLE records (spec 1.2 #8a).
    LogStartOffsetMove,
    /// The acquisition lock expired (spec 1.2 #5).
    LockExpiry,
    /// A failed write (or a failed request) undid an in-memory transition (spec 1.4, 3.2).
    Rollback,
    /// The member's share session closed (spec 1.2 #6).
    SessionRelease,
}

/// Why SPSO moved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StartOffsetMoveCause {
    /// Terminal records at the head were passed (spec 1.6).
    Advance,
    /// The first acquisition into an empty cache started past SPSO (`acquireNewBatchRecords`).
    Acquisition,
    /// Initialization from the persisted state (spec 3.5).
    Initialization,
    /// The log start offset moved (spec 1.6, 6).
    LogStartOffsetMove,
}

/// What a persister write is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WritePurpose {
    /// ACCEPT/RELEASE/REJECT/GAP acknowledgements (two-phase).
    Acknowledge,
    /// What-if `what_if_persist_delivery_count_at_acquisition`: the new delivery counts of an
    /// acquisition, written as AVAILABLE (ACQUIRED is never persisted); failure is ignored.
    Acquisition,
    /// DLQ phase 2: ARCHIVING to ARCHIVED (failure leaves ARCHIVED in memory).
    DeadLetterArchive,
    /// Lock expiry (the transition stands even if the write fails).
    LockExpiry,
    /// A share-session release (two-phase).
    SessionRelease,
}

/// The partition's life cycle (spec 1.7, 3.5).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PartitionState {
    /// Created, not yet read from the share coordinator.
    Empty,
    /// The ReadShareGroupState call is in flight.
    Initializing,
    /// Serving fetches and acknowledgements.
    Active,
    /// Initialization failed; the broker removes the partition.
    Failed,
    /// Removed from the broker's cache (leadership moved, or a write was fenced).
    Fenced,
}

/// One trace event of a share partition.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum PartitionEvent {
    /// `[first_offset, last_offset]` was acquired by `member` and handed out (spec 1.2 #1). Offsets a
    /// read_committed fetch archives as aborted are not handed out and get no `Acquired` event, only
    /// their ACQUIRED → ARCHIVED transition (cause `aborted_transaction`), emitted just before.
    Acquired {
        /// The fetching member.
        member: MemberId,
        /// First offset.
        first_offset: i64,
        /// Last offset (inclusive).
        last_offset: i64,
        /// The delivery count after acquisition.
        delivery_count: u16,
        /// When the acquisition lock expires.
        lock_deadline_ms: u64,
    },
    /// SPEO moved.
    EndOffsetMoved {
        /// Previous SPEO.
        from: i64,
        /// New SPEO.
        to: i64,
    },
    /// `member` renewed the locks of `[first_offset, last_offset]` (spec 1.2 #7).
    LockRenewed {
        /// The owner.
        member: MemberId,
        /// First offset.
        first_offset: i64,
        /// Last offset (inclusive).
        last_offset: i64,
        /// The new deadline.
        lock_deadline_ms: u64,
    },
    /// The partition's life-cycle state changed.
    PartitionStateChanged {
        /// Previous state.
        from: PartitionState,
        /// New state.
        to: PartitionState,
        /// The error that caused FAILED or FENCED (Kafka code), 0 otherwise.
        error_code: i16,
    },
    /// SPSO moved.
    StartOffsetMoved {
        /// Previous SPSO.
        from: i64,
        /// New SPSO.
        to: i64,
        /// Why.
        cause: StartOffsetMoveCause,
    },
    /// `[first_offset, last_offset]` went from `from` to `to` in memory.
    Transition {
        /// First offset.
        first_offset: i64,
        /// Last offset (inclusive).
        last_offset: i64,
        /// Previous state.
        from: RecordState,
        /// New state.
        to: RecordState,
        /// Delivery count after the transition.
        delivery_count: u16,
        /// The delivery-count limit turned an AVAILABLE target into ARCHIVED/ARCHIVING (spec 1.3).
        limit_reached: bool,
        /// The member whose request caused it (acknowledgements, session release).
        member: Option<MemberId>,
        /// Why.
        #[serde(flatten)]
        cause: TransitionCause,
    },
    /// A persister write committed the pending transitions it carried.
    WriteCommitted {
        /// The write.
        write_id: WriteId,
    },
    /// A persister write failed; two-phase transitions were rolled back.
    WriteFailed {
        /// The write.
        write_id: WriteId,
        /// The persister's error (Kafka code).
        error_code: i16,
        /// Whether in-memory transitions were undone (acknowledge, session release).
        rolled_back: bool,
    },
    /// A persister write was emitted.
    WriteStarted {
        /// The write.
        write_id: WriteId,
        /// What it is for.
        purpose: WritePurpose,
        /// The `StartOffset` it carries.
        start_offset: i64,
        /// Number of `StateBatches` ranges.
        state_batch_count: u32,
    },
}
