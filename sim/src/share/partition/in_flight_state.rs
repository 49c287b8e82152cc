//! The state of one cached unit (a whole batch or one offset): `InFlightState` of Kafka (spec 1.1-1.3).
//! The transition guard is [`RecordState::can_transition_to`]; the delivery-count limit is applied here
//! and only here (spec 1.3).

use crate::share::{MemberId, RecordState};

use super::effects::WriteId;
use super::lock_timers::LockTimers;

/// `DeliveryCountOps` of Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DeliveryCountOps {
    /// Acquisition: `dc + 1`.
    Increase,
    /// 4.1 session release: `dc - 1`, and the limit is not checked.
    Decrease,
    /// Everything else.
    NoOp,
}

/// The acquisition lock of a unit. `armed` is false once the timer fired while the unit had a pending
/// transition: Kafka's task then `hasExpired()`, which a later rollback consults (spec 1.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct AcquisitionLock {
    pub(crate) deadline_ms: u64,
    pub(crate) armed: bool,
}

/// The snapshot a two-phase transition keeps until its write completes (`rollbackState`; spec 3.2).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct PendingTransition {
    pub(crate) write_id: WriteId,
    pub(crate) rollback_state: RecordState,
    pub(crate) rollback_delivery_count: u16,
    pub(crate) rollback_member: Option<MemberId>,
    /// `isTerminalState`: archived (LSO move, compaction) while pending; the rollback then keeps ARCHIVED.
    pub(crate) archived_meanwhile: bool,
}

/// The state of one unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct InFlightState {
    pub(crate) state: RecordState,
    pub(crate) delivery_count: u16,
    /// The owner while ACQUIRED; `None` (Kafka's `""`) otherwise.
    pub(crate) member: Option<MemberId>,
    pub(crate) lock: Option<AcquisitionLock>,
    pub(crate) pending: Option<PendingTransition>,
}

/// The outcome of [`InFlightState::try_update_state`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Updated {
    pub(crate) from: RecordState,
    pub(crate) to: RecordState,
    pub(crate) limit_reached: bool,
}

impl InFlightState {
    /// A unit read back from the persister, or created AVAILABLE (record_limit) with no owner or lock.
    pub(crate) fn at_rest(state: RecordState, delivery_count: u16) -> InFlightState {
        InFlightState {
            state,
            delivery_count,
            member: None,
            lock: None,
            pending: None,
        }
    }

    /// AVAILABLE with no transition in progress: acquirable.
    pub(crate) fn is_acquirable(&self) -> bool {
        self.state == RecordState::Available && self.pending.is_none()
    }

    /// ACQUIRED with no transition in progress.
    pub(crate) fn is_acquired_idle(&self) -> bool {
        self.state == RecordState::Acquired && self.pending.is_none()
    }

    /// Terminal and durable (no pending write): SPSO may pass it (spec 1.6).
    pub(crate) fn is_terminal_idle(&self) -> bool {
        self.state.is_terminal() && self.pending.is_none()
    }

    /// `IFS.tryUpdateState`: applies the guard, the delivery-count op and the limit (spec 1.1, 1.3).
    /// Returns `None` (Kafka's null, mapped to INVALID_RECORD_STATE by callers) on an illegal transition.
    pub(crate) fn try_update_state(
        &mut self,
        new_state: RecordState,
        ops: DeliveryCountOps,
        delivery_count_limit: u16,
        dlq_enabled: bool,
        member: Option<MemberId>,
    ) -> Option<Updated> {
        if !self.state.can_transition_to(new_state) {
            return None;
        }
        let from = self.state;
        let mut to = new_state;
        let limit_reached = new_state == RecordState::Available
            && ops != DeliveryCountOps::Decrease
            && self.delivery_count >= delivery_count_limit;
        if limit_reached {
            to = archive_target(dlq_enabled);
        }
        self.state = to;
        self.member = member;
        self.delivery_count = match ops {
            DeliveryCountOps::Increase => self.delivery_count.saturating_add(1),
            DeliveryCountOps::Decrease => self.delivery_count.saturating_sub(1),
            DeliveryCountOps::NoOp => self.delivery_count,
        };
        Some(Updated {
            from,
            to,
            limit_reached,
        })
    }

    /// `startStateTransition`: snapshot for rollback, then `try_update_state`.
    pub(crate) fn start_transition(
        &mut self,
        write_id: WriteId,
        new_state: RecordState,
        ops: DeliveryCountOps,
        delivery_count_limit: u16,
        dlq_enabled: bool,
    ) -> Option<Updated> {
        debug_assert!(
            self.pending.is_none(),
            "callers check for an ongoing transition"
        );
        let snapshot = PendingTransition {
            write_id,
            rollback_state: self.state,
            rollback_delivery_count: self.delivery_count,
            rollback_member: self.member.clone(),
            archived_meanwhile: false,
        };
        let updated =
            self.try_update_state(new_state, ops, delivery_count_limit, dlq_enabled, None)?;
        self.pending = Some(snapshot);
        Some(updated)
    }

    /// Acquires the unit for `member` until `deadline_ms` and arms its timer (spec 1.2 #1, 1.4).
    pub(crate) fn acquire(
        &mut self,
        member: &MemberId,
        deadline_ms: u64,
        unit_first_offset: i64,
        timers: &mut LockTimers,
    ) {
        debug_assert!(self.is_acquirable());
        debug_assert!(self.lock.is_none());
        let updated = self.try_update_state(
            RecordState::Acquired,
            DeliveryCountOps::Increase,
            u16::MAX,
            false,
            Some(member.clone()),
        );
        debug_assert!(updated.is_some());
        self.set_lock(deadline_ms, unit_first_offset, timers);
    }

    /// Replaces the lock with a fresh armed one.
    pub(crate) fn set_lock(
        &mut self,
        deadline_ms: u64,
        unit_first_offset: i64,
        timers: &mut LockTimers,
    ) {
        self.cancel_lock(unit_first_offset, timers);
        self.lock = Some(AcquisitionLock {
            deadline_ms,
            armed: true,
        });
        timers.arm(deadline_ms, unit_first_offset);
    }

    /// `cancelAndClearAcquisitionLockTimeoutTask`.
    pub(crate) fn cancel_lock(&mut self, unit_first_offset: i64, timers: &mut LockTimers) {
        if let Some(lock) = self.lock.take() {
            if lock.armed {
                let was_armed = timers.disarm(lock.deadline_ms, unit_first_offset);
                debug_assert!(
                    was_armed,
                    "armed lock without a timer at {unit_first_offset}"
                );
            }
        }
    }

    /// `IFS.archive()`: forced ARCHIVED (LSO move, compaction, aborted transaction), never rolled back.
    pub(crate) fn archive(
        &mut self,
        unit_first_offset: i64,
        timers: &mut LockTimers,
    ) -> RecordState {
        let from = self.state;
        self.state = RecordState::Archived;
        self.member = None;
        self.cancel_lock(unit_first_offset, timers);
        if let Some(pending) = self.pending.as_mut() {
            pending.archived_meanwhile = true;
        }
        from
    }
}

/// Where the delivery-count limit or a REJECT sends a record: ARCHIVING with the DLQ, else ARCHIVED.
pub(crate) fn archive_target(dlq_enabled: bool) -> RecordState {
    if dlq_enabled {
        RecordState::Archiving
    } else {
        RecordState::Archived
    }
}
