//! Turning a partition's acknowledgements (offset → type) into wire `AcknowledgementBatches` the way
//! Kafka's `Acknowledgements.getAcknowledgementBatches` does: one batch per run of contiguous offsets, with
//! a single type when every offset of the run has the same type, else one type per offset (spec 2.1).

use std::collections::BTreeMap;

use super::wire::AcknowledgementBatch;
use crate::share::AcknowledgeType;

/// The wire batches for `acks`, ordered by offset; batches never overlap, so the broker's ordering check
/// (spec 2.2) always passes.
pub fn acknowledgement_batches(acks: &BTreeMap<i64, AcknowledgeType>) -> Vec<AcknowledgementBatch> {
    let mut batches: Vec<AcknowledgementBatch> = Vec::new();
    for (&offset, &ack_type) in acks {
        match batches.last_mut() {
            Some(batch) if batch.last_offset.checked_add(1) == Some(offset) => {
                batch.last_offset = offset;
                batch.acknowledge_types.push(ack_type);
            }
            _ => batches.push(AcknowledgementBatch {
                first_offset: offset,
                last_offset: offset,
                acknowledge_types: vec![ack_type],
            }),
        }
    }
    for batch in &mut batches {
        let first = batch.acknowledge_types[0];
        if batch.acknowledge_types.iter().all(|t| *t == first) {
            batch.acknowledge_types.truncate(1);
        }
        debug_assert!(
            batch.acknowledge_types.len() == 1
                || batch.acknowledge_types.len() as i64
                    == batch.last_offset - batch.first_offset + 1
        );
    }
    batches
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 2.1: one type for a uniform run, one per offset otherwise, a new batch at every hole.
    #[test]
    fn runs_are_compressed_and_split_at_holes() {
        use AcknowledgeType::*;
        let acks: BTreeMap<i64, AcknowledgeType> = [
            (0, Accept),
            (1, Accept),
            (2, Accept),
            (3, Release),
            (4, Gap),
            (7, Reject),
        ]
        .into_iter()
        .collect();
        let batches = acknowledgement_batches(&acks);
        assert_eq!(batches.len(), 2);
        assert_eq!((batches[0].first_offset, batches[0].last_offset), (0, 4));
        assert_eq!(
            batches[0].acknowledge_types,
            vec![Accept, Accept, Accept, Release, Gap]
        );
        assert_eq!((batches[1].first_offset, batches[1].last_offset), (7, 7));
        assert_eq!(batches[1].acknowledge_types, vec![Reject]);
        let uniform: BTreeMap<i64, AcknowledgeType> = (10..20).map(|o| (o, Accept)).collect();
        let batches = acknowledgement_batches(&uniform);
        assert_eq!(batches.len(), 1);
        assert_eq!(batches[0].acknowledge_types, vec![Accept]);
    }
}
