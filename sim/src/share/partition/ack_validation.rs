//! Request-level checks of acknowledgement batches (`KafkaApis.validateAcknowledgementBatches`; spec
//! 2.2). Any failure makes the whole partition's acknowledgements INVALID_REQUEST, and none is applied.

use serde::{Deserialize, Serialize};

use crate::share::AcknowledgeType;
use crate::ResponseError;

/// One `AcknowledgementBatches` entry as it arrives: raw wire type ids, so that bad ids can be rejected
/// with Kafka's error rather than being unrepresentable.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AcknowledgementBatch {
    /// `FirstOffset`.
    pub first_offset: i64,
    /// `LastOffset` (inclusive).
    pub last_offset: i64,
    /// `AcknowledgeTypes`: one id for the whole range, or exactly one per offset.
    pub acknowledge_types: Vec<i8>,
}

impl AcknowledgementBatch {
    /// `[first_offset, last_offset]` acknowledged with one type.
    pub fn of(first_offset: i64, last_offset: i64, ack_type: AcknowledgeType) -> Self {
        AcknowledgementBatch {
            first_offset,
            last_offset,
            acknowledge_types: vec![ack_type.id()],
        }
    }

    /// `[first_offset, first_offset + types.len() - 1]` with one type per offset.
    pub fn per_offset(first_offset: i64, types: &[AcknowledgeType]) -> Self {
        AcknowledgementBatch {
            first_offset,
            last_offset: first_offset + types.len() as i64 - 1,
            acknowledge_types: types.iter().map(|t| t.id()).collect(),
        }
    }

    /// The wire id for `offset` (the single id, or the per-offset one).
    pub(crate) fn type_id_at(&self, offset: i64) -> i8 {
        if self.acknowledge_types.len() == 1 {
            self.acknowledge_types[0]
        } else {
            self.acknowledge_types[(offset - self.first_offset) as usize]
        }
    }
}

/// `KA.validateAcknowledgementBatches` for a request of `request_version` with `IsRenewAck` =
/// `is_renew_ack`:
/// * `first > last`;
/// * `first < previous batch's last` (strict: a batch may start exactly at the previous last offset);
/// * empty `AcknowledgeTypes`;
/// * a per-offset array of the wrong length;
/// * a type below 0 or above 3 (above 4 from v2);
/// * type 4 (RENEW) while `IsRenewAck` is false.
pub fn validate_acknowledgement_batches(
    batches: &[AcknowledgementBatch],
    request_version: i16,
    is_renew_ack: bool,
) -> Result<(), ResponseError> {
    let max_type_id = if request_version >= 2 {
        AcknowledgeType::Renew.id()
    } else {
        AcknowledgeType::Reject.id()
    };
    let mut previous_last: Option<i64> = None;
    for batch in batches {
        if batch.first_offset > batch.last_offset {
            return Err(ResponseError::InvalidRequest);
        }
        if previous_last.is_some_and(|last| batch.first_offset < last) {
            return Err(ResponseError::InvalidRequest);
        }
        let types = &batch.acknowledge_types;
        if types.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        let offset_count = (batch.last_offset as i128) - (batch.first_offset as i128) + 1;
        if types.len() != 1 && types.len() as i128 != offset_count {
            return Err(ResponseError::InvalidRequest);
        }
        for &id in types {
            if id < 0 || id > max_type_id {
                return Err(ResponseError::InvalidRequest);
            }
            if id == AcknowledgeType::Renew.id() && !is_renew_ack {
                return Err(ResponseError::InvalidRequest);
            }
        }
        previous_last = Some(batch.last_offset);
    }
    Ok(())
}
