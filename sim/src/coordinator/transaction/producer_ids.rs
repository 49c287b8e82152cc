//! Producer id allocation (Kafka `RPCProducerIdManager` on the broker, `ProducerIdControlManager` on the
//! controller).
//!
//! Kafka brokers take blocks of 1000 ids from the controller (AllocateProducerIds); the controller keeps
//! the next block in the metadata log, so an id is never handed out twice, across brokers and across
//! their restarts. Here [`ProducerIdBlocks`] stands for the controller's durable counter: one per
//! cluster, shared by every broker's coordinator and outliving broker restarts. Departure: a broker takes
//! a block by reading the counter directly, without the RPC, so it never waits for a block.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use crate::ResponseError;

/// Ids in one block (Kafka `ProducerIdsBlock.PRODUCER_ID_BLOCK_SIZE`).
pub const PRODUCER_ID_BLOCK_SIZE: i64 = 1000;

/// The controller's record of the next producer id block, shared by every broker of a cluster.
///
/// Why an `Arc<AtomicI64>`: the broker services are rebuilt on each restart by a factory closure, and the
/// counter must outlive them as the metadata log does. The simulation runs on one thread, so the order
/// of `take_block` calls, and with it every id, is deterministic.
#[derive(Clone, Debug, Default)]
pub struct ProducerIdBlocks {
    next_block_first_id: Arc<AtomicI64>,
}

impl ProducerIdBlocks {
    /// The next block `[first, first + PRODUCER_ID_BLOCK_SIZE)`; none once ids run out (Kafka's
    /// controller answers UNKNOWN_SERVER_ERROR when the id space is exhausted).
    pub fn take_block(&self) -> Option<i64> {
        let first = self
            .next_block_first_id
            .fetch_add(PRODUCER_ID_BLOCK_SIZE, Ordering::Relaxed);
        (first <= i64::MAX - PRODUCER_ID_BLOCK_SIZE).then_some(first)
    }
}

/// Hands out producer ids from its current block, taking the next block from the controller when it
/// is used up.
#[derive(Clone, Debug)]
pub struct ProducerIdAllocator {
    next_id: i64,
    end_id: i64,
    /// Where new blocks come from; none for a fixed range.
    blocks: Option<ProducerIdBlocks>,
}

impl ProducerIdAllocator {
    /// A fixed range of ids `[first_id, first_id + count)`, with no more blocks after it.
    pub fn new(first_id: i64, count: i64) -> Self {
        ProducerIdAllocator {
            next_id: first_id,
            end_id: first_id.saturating_add(count),
            blocks: None,
        }
    }

    /// Ids from the controller's blocks, one block at a time.
    pub fn from_blocks(blocks: ProducerIdBlocks) -> Self {
        ProducerIdAllocator {
            next_id: 0,
            end_id: 0,
            blocks: Some(blocks),
        }
    }

    /// The next id; COORDINATOR_LOAD_IN_PROGRESS when no id is left (Kafka's answer while it waits
    /// for a new block).
    pub fn allocate(&mut self) -> Result<i64, ResponseError> {
        if self.next_id >= self.end_id {
            let first = self
                .blocks
                .as_ref()
                .and_then(ProducerIdBlocks::take_block)
                .ok_or(ResponseError::CoordinatorLoadInProgress)?;
            self.next_id = first;
            self.end_id = first + PRODUCER_ID_BLOCK_SIZE;
        }
        let id = self.next_id;
        self.next_id += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids stay unique across brokers and across a broker's restart: a restarted broker's coordinator
    /// starts from a new block, not from the ids it handed out before (Kafka's controller keeps the
    /// next block in the metadata log).
    #[test]
    fn ids_are_never_handed_out_twice_across_brokers_and_restarts() {
        let blocks = ProducerIdBlocks::default();
        let mut broker_1 = ProducerIdAllocator::from_blocks(blocks.clone());
        let mut broker_2 = ProducerIdAllocator::from_blocks(blocks.clone());
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..1500 {
            assert!(seen.insert(broker_1.allocate().unwrap()));
            assert!(seen.insert(broker_2.allocate().unwrap()));
        }
        let mut broker_1_restarted = ProducerIdAllocator::from_blocks(blocks);
        for _ in 0..10 {
            assert!(seen.insert(broker_1_restarted.allocate().unwrap()));
        }
        assert_eq!(*seen.first().unwrap(), 0);
    }

    /// A fixed range runs out with COORDINATOR_LOAD_IN_PROGRESS.
    #[test]
    fn a_fixed_range_runs_out() {
        let mut allocator = ProducerIdAllocator::new(5, 2);
        assert_eq!(allocator.allocate(), Ok(5));
        assert_eq!(allocator.allocate(), Ok(6));
        assert_eq!(
            allocator.allocate(),
            Err(ResponseError::CoordinatorLoadInProgress)
        );
    }
}
