//! Record states of a share partition and the generic transition guard (spec 1.1, `RecordState.java`).

use serde::{Deserialize, Serialize};

/// The delivery state of one offset in a share partition. The ids are Kafka's wire and persisted ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    /// Can be acquired.
    Available,
    /// Held by one member under a time-limited acquisition lock. Never persisted.
    Acquired,
    /// Accepted by the consumer. Terminal.
    Acknowledged,
    /// Waiting for the dead-letter queue (KIP-1191, behind the DLQ switch). Not terminal.
    Archiving,
    /// Rejected, gap, delivery-count limit reached, aborted, or below the log start offset. Terminal.
    Archived,
}

impl RecordState {
    /// Kafka's id for the state (`DeliveryState` in persisted batches).
    pub fn id(self) -> i8 {
        match self {
            RecordState::Available => 0,
            RecordState::Acquired => 1,
            RecordState::Acknowledged => 2,
            RecordState::Archiving => 3,
            RecordState::Archived => 4,
        }
    }

    /// The state with Kafka's id, if there is one.
    pub fn from_id(id: i8) -> Option<RecordState> {
        match id {
            0 => Some(RecordState::Available),
            1 => Some(RecordState::Acquired),
            2 => Some(RecordState::Acknowledged),
            3 => Some(RecordState::Archiving),
            4 => Some(RecordState::Archived),
            _ => None,
        }
    }

    /// ACKNOWLEDGED and ARCHIVED can never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, RecordState::Acknowledged | RecordState::Archived)
    }

    /// `RecordState.validateTransition`: the same state is illegal, nothing leaves a terminal state,
    /// AVAILABLE only goes to ACQUIRED, and everything else is allowed.
    pub fn can_transition_to(self, next: RecordState) -> bool {
        if self == next || self.is_terminal() {
            return false;
        }
        if self == RecordState::Available {
            return next == RecordState::Acquired;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [RecordState; 5] = [
        RecordState::Available,
        RecordState::Acquired,
        RecordState::Acknowledged,
        RecordState::Archiving,
        RecordState::Archived,
    ];

    /// Spec 1.1: ids 0, 1, 2, 3, 4 round-trip, and no other id is a state.
    #[test]
    fn ids_round_trip() {
        for state in ALL {
            assert_eq!(RecordState::from_id(state.id()), Some(state));
        }
        assert_eq!(RecordState::from_id(5), None);
        assert_eq!(RecordState::from_id(-1), None);
    }

    /// Spec 1.1, the generic transition guard, checked over every pair.
    #[test]
    fn transition_guard_matches_validate_transition() {
        for from in ALL {
            for to in ALL {
                let expected = match from {
                    _ if from == to => false,
                    RecordState::Acknowledged | RecordState::Archived => false,
                    RecordState::Available => to == RecordState::Acquired,
                    _ => true,
                };
                assert_eq!(from.can_transition_to(to), expected, "{from:?} -> {to:?}");
            }
        }
    }
}
