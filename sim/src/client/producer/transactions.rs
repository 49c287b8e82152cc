//! The client side of transactions (Kafka `TransactionManager`): the state machine, the transaction
//! coordinator's address, and which partitions the current transaction holds or still has to add.

use std::collections::BTreeSet;

use super::events::{BrokerAddress, ProducerError};
use crate::log::TopicPartition;

/// The states of a transactional producer (Kafka `TransactionManager.State`, without the
/// idempotent-only ones).
#[derive(Clone, Debug, PartialEq)]
pub enum TransactionState {
    /// Before `init_transactions`.
    Uninitialized,
    /// InitProducerId in progress.
    Initializing,
    /// Ready to begin a transaction.
    Ready,
    /// Between `begin_transaction` and commit/abort.
    InTransaction,
    /// `commit_transaction` called: flushing, then EndTxn(commit).
    Committing,
    /// `abort_transaction` called: waiting for in-flight produces, then EndTxn(abort).
    Aborting,
    /// The transaction failed; only `abort_transaction` is allowed.
    AbortableError(ProducerError),
    /// Fenced or otherwise unusable; the producer can only be closed.
    Fatal(ProducerError),
}

/// Which of the coordinator requests is in flight (Kafka sends them one at a time).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxnRequestKind {
    /// FindCoordinator(TRANSACTION).
    FindCoordinator,
    /// InitProducerId.
    InitProducerId,
    /// AddPartitionsToTxn.
    AddPartitions,
    /// EndTxn.
    EndTxn,
}

/// Transaction bookkeeping of a transactional producer.
#[derive(Clone, Debug, PartialEq)]
pub struct TransactionManager {
    /// `transactional.id`.
    pub transactional_id: String,
    /// Current state.
    pub state: TransactionState,
    /// The coordinator, once found.
    pub coordinator: Option<BrokerAddress>,
    /// The coordinator request in flight, if any.
    pub in_flight: Option<TxnRequestKind>,
    /// No coordinator request before this time (backoff).
    pub retry_at_ms: u64,
    /// Partitions the coordinator added to the current transaction.
    pub added: BTreeSet<TopicPartition>,
    /// Partitions with records in this transaction that are not added yet.
    pub pending: BTreeSet<TopicPartition>,
    /// Partitions in the AddPartitionsToTxn in flight.
    pub adding: BTreeSet<TopicPartition>,
}

impl TransactionManager {
    /// A manager for `transactional.id`.
    pub fn new(transactional_id: String) -> Self {
        TransactionManager {
            transactional_id,
            state: TransactionState::Uninitialized,
            coordinator: None,
            in_flight: None,
            retry_at_ms: 0,
            added: BTreeSet::new(),
            pending: BTreeSet::new(),
            adding: BTreeSet::new(),
        }
    }

    /// Whether records may be sent to the partition (the coordinator added it).
    pub fn may_send_to(&self, topic_partition: &TopicPartition) -> bool {
        self.added.contains(topic_partition)
    }

    /// Notes a partition that a record of this transaction goes to.
    pub fn note_partition(&mut self, topic_partition: &TopicPartition) {
        if !self.added.contains(topic_partition) && !self.adding.contains(topic_partition) {
            self.pending.insert(topic_partition.clone());
        }
    }

    /// Whether the transaction touched any partition (an empty one ends without EndTxn).
    pub fn has_partitions(&self) -> bool {
        !self.added.is_empty() || !self.pending.is_empty() || !self.adding.is_empty()
    }

    /// Forgets the finished transaction's partitions.
    pub fn end_transaction(&mut self) {
        self.added.clear();
        self.pending.clear();
        self.adding.clear();
    }

    /// Moves to the abortable error state unless already fatal or aborting.
    pub fn abortable(&mut self, error: ProducerError) {
        match self.state {
            TransactionState::Fatal(_)
            | TransactionState::Aborting
            | TransactionState::AbortableError(_) => {}
            _ => self.state = TransactionState::AbortableError(error),
        }
    }

    /// Moves to the fatal state.
    pub fn fatal(&mut self, error: ProducerError) {
        self.state = TransactionState::Fatal(error);
    }
}
