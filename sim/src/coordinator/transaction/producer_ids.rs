//! Producer id allocation (Kafka `ProducerIdManager`).
//!
//! Departure: Kafka brokers take blocks of 1000 ids from the controller (AllocateProducerIds) so ids are
//! unique cluster-wide. Here each broker's coordinator is given a disjoint range up front
//! ([`ProducerIdAllocator::for_broker`]), which gives the same uniqueness without the RPC.

use crate::ResponseError;

/// Ids each broker may hand out (`for_broker`): a billion is far beyond any simulated run.
pub const PRODUCER_IDS_PER_BROKER: i64 = 1_000_000_000;

/// Hands out producer ids from a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerIdAllocator {
    next_id: i64,
    end_id: i64,
}

impl ProducerIdAllocator {
    /// Ids `[first_id, first_id + count)`.
    pub fn new(first_id: i64, count: i64) -> Self {
        ProducerIdAllocator {
            next_id: first_id,
            end_id: first_id.saturating_add(count),
        }
    }

    /// The range of broker `broker_id` (ids are disjoint between brokers).
    pub fn for_broker(broker_id: i32) -> Self {
        let first = i64::from(broker_id.max(0)) * PRODUCER_IDS_PER_BROKER;
        Self::new(first, PRODUCER_IDS_PER_BROKER)
    }

    /// The next id; COORDINATOR_LOAD_IN_PROGRESS when the range is used up (Kafka's answer while it
    /// waits for a new block).
    pub fn allocate(&mut self) -> Result<i64, ResponseError> {
        if self.next_id >= self.end_id {
            return Err(ResponseError::CoordinatorLoadInProgress);
        }
        let id = self.next_id;
        self.next_id += 1;
        Ok(id)
    }
}
