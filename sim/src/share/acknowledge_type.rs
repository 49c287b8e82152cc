//! Acknowledge types as they travel in `AcknowledgeTypes` (spec 2.1, `AcknowledgeType.java`).

use serde::{Deserialize, Serialize};

/// What a consumer says about an acquired record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AcknowledgeType {
    /// Wire-only: the offset holds no data record (compacted away, a control marker). Archives it.
    Gap,
    /// Processed: the record becomes ACKNOWLEDGED.
    Accept,
    /// Give it back: AVAILABLE again, or ARCHIVED at the delivery-count limit.
    Release,
    /// Unprocessable: ARCHIVED (ARCHIVING with the DLQ).
    Reject,
    /// Extend the acquisition lock (KIP-1222, 4.2+, request v2 with `IsRenewAck`).
    Renew,
}

impl AcknowledgeType {
    /// Kafka's wire id.
    pub fn id(self) -> i8 {
        match self {
            AcknowledgeType::Gap => 0,
            AcknowledgeType::Accept => 1,
            AcknowledgeType::Release => 2,
            AcknowledgeType::Reject => 3,
            AcknowledgeType::Renew => 4,
        }
    }

    /// The type with Kafka's wire id; `None` for ids no release defines. Whether a request version allows
    /// an id (RENEW needs v2 and `IsRenewAck`) is checked by the request validation, not here.
    pub fn from_id(id: i8) -> Option<AcknowledgeType> {
        match id {
            0 => Some(AcknowledgeType::Gap),
            1 => Some(AcknowledgeType::Accept),
            2 => Some(AcknowledgeType::Release),
            3 => Some(AcknowledgeType::Reject),
            4 => Some(AcknowledgeType::Renew),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 2.1: GAP 0, ACCEPT 1, RELEASE 2, REJECT 3, RENEW 4.
    #[test]
    fn wire_ids_match_kafka() {
        let ids: Vec<i8> = [
            AcknowledgeType::Gap,
            AcknowledgeType::Accept,
            AcknowledgeType::Release,
            AcknowledgeType::Reject,
            AcknowledgeType::Renew,
        ]
        .iter()
        .map(|t| t.id())
        .collect();
        assert_eq!(ids, vec![0, 1, 2, 3, 4]);
        for id in 0..=4 {
            assert_eq!(
                AcknowledgeType::from_id(id).map(AcknowledgeType::id),
                Some(id)
            );
        }
        assert_eq!(AcknowledgeType::from_id(5), None);
        assert_eq!(AcknowledgeType::from_id(-1), None);
    }
}
