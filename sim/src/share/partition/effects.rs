//! What a share partition asks of its host: effects drained with `poll_effect()` (quinn's `poll_*`
//! family). The host performs them (sends the write, replies to the client, wakes purgatory) and feeds the
//! outcome back through a `handle_*` input.

use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use super::events::PartitionEvent;
use crate::share::WriteShareGroupState;
use crate::ResponseError;

/// Identifies one persister write; `handle_write_result` names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct WriteId(pub u64);

/// Identifies one acknowledge request on this partition; its outcome arrives as
/// [`PartitionEffect::AcknowledgeCompleted`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AcknowledgeTicket(pub u64);

/// One effect for the host.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PartitionEffect {
    /// The acknowledge request `ticket` finished: `Ok` once its write committed (or nothing needed
    /// persisting), or the mapped persister error after a rollback (spec 3.2).
    AcknowledgeCompleted {
        /// The ticket `handle_acknowledge` returned.
        ticket: AcknowledgeTicket,
        /// The per-partition `AcknowledgeErrorCode`.
        result: Result<(), ResponseError>,
    },
    /// The partition must be removed from the broker's share-partition cache (a fenced write; spec 2.2).
    DropPartition {
        /// The mapped error.
        error: ResponseError,
    },
    /// ARCHIVING records must be copied to the dead-letter queue; report completion with
    /// `handle_dead_letter_result` (spec 1.2 #10).
    EnqueueDeadLetters {
        /// First offset.
        first_offset: i64,
        /// Last offset (inclusive).
        last_offset: i64,
    },
    /// A trace event.
    Event(PartitionEvent),
    /// Send `ReadShareGroupState` for this partition with `leader_epoch` (spec 3.5).
    ReadState {
        /// This leader's epoch.
        leader_epoch: i32,
    },
    /// Delayed share fetches waiting on this partition may complete now (spec 1.4, 2.6).
    WakeDelayedFetches,
    /// Send this `WriteShareGroupState` entry; report the outcome with `handle_write_result`.
    WriteState {
        /// Names the write in `handle_write_result`.
        write_id: WriteId,
        /// The request entry (spec 3.2).
        request: WriteShareGroupState,
    },
}

/// `ResponseError` has no `Hash`; effects hash through Kafka's error codes.
impl Hash for PartitionEffect {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                ticket.hash(state);
                result.as_ref().err().map(ResponseError::code).hash(state);
            }
            PartitionEffect::DropPartition { error } => error.code().hash(state),
            PartitionEffect::EnqueueDeadLetters {
                first_offset,
                last_offset,
            } => (first_offset, last_offset).hash(state),
            PartitionEffect::Event(event) => event.hash(state),
            PartitionEffect::ReadState { leader_epoch } => leader_epoch.hash(state),
            PartitionEffect::WakeDelayedFetches => {}
            PartitionEffect::WriteState { write_id, request } => (write_id, request).hash(state),
        }
    }
}
