//! Bookkeeping every record-state change shares: the trace event (coalesced into ranges) and the
//! delivery-complete count (terminal offsets at or after SPSO; spec 1.6, KIP-1226).

use std::collections::VecDeque;

use super::effects::PartitionEffect;
use super::events::{PartitionEvent, TransitionCause};
use super::in_flight_state::Updated;
use crate::share::{MemberId, RecordState};

/// Borrows the outbox and the delivery-complete count of a partition while its cache is being changed.
pub(crate) struct Recorder<'a> {
    pub(crate) effects: &'a mut VecDeque<PartitionEffect>,
    pub(crate) delivery_complete_count: &'a mut i64,
    pub(crate) start_offset: i64,
}

impl Recorder<'_> {
    /// Records that `[first, last]` changed as `updated` says.
    pub(crate) fn transition(
        &mut self,
        first: i64,
        last: i64,
        updated: Updated,
        delivery_count: u16,
        member: Option<&MemberId>,
        cause: TransitionCause,
    ) {
        self.count_terminal_change(first, last, updated.from, updated.to);
        push_transition(
            self.effects,
            PartitionEvent::Transition {
                first_offset: first,
                last_offset: last,
                from: updated.from,
                to: updated.to,
                delivery_count,
                limit_reached: updated.limit_reached,
                member: member.cloned(),
                cause,
            },
        );
    }

    /// Adjusts the delivery-complete count when terminal-ness changes for offsets at or after SPSO.
    pub(crate) fn count_terminal_change(
        &mut self,
        first: i64,
        last: i64,
        from: RecordState,
        to: RecordState,
    ) {
        if from.is_terminal() == to.is_terminal() {
            return;
        }
        let counted_first = first.max(self.start_offset);
        if counted_first > last {
            return;
        }
        let count = last - counted_first + 1;
        if to.is_terminal() {
            *self.delivery_complete_count += count;
        } else {
            *self.delivery_complete_count -= count;
        }
    }
}

/// Appends a transition event, extending the previous one when it is the same change on the next offsets
/// (per-offset batches change one offset at a time; the trace carries ranges).
pub(crate) fn push_transition(effects: &mut VecDeque<PartitionEffect>, event: PartitionEvent) {
    let PartitionEvent::Transition {
        first_offset,
        last_offset,
        from,
        to,
        delivery_count,
        limit_reached,
        member,
        cause,
    } = &event
    else {
        effects.push_back(PartitionEffect::Event(event));
        return;
    };
    if let Some(PartitionEffect::Event(PartitionEvent::Transition {
        last_offset: previous_last,
        from: previous_from,
        to: previous_to,
        delivery_count: previous_count,
        limit_reached: previous_limit,
        member: previous_member,
        cause: previous_cause,
        ..
    })) = effects.back_mut()
    {
        let same = *previous_from == *from
            && *previous_to == *to
            && *previous_count == *delivery_count
            && *previous_limit == *limit_reached
            && *previous_member == *member
            && *previous_cause == *cause;
        if same && *previous_last + 1 == *first_offset {
            *previous_last = *last_offset;
            return;
        }
    }
    effects.push_back(PartitionEffect::Event(event));
}
