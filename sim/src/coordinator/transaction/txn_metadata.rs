//! What the coordinator keeps per transactional id (Kafka `TransactionMetadata`) and the transaction
//! states (Kafka `TransactionState`).

use std::collections::BTreeSet;

use crate::log::TopicPartition;

/// The states of a transactional id at its coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TxnState {
    /// No transaction in progress (after InitProducerId).
    Empty,
    /// Partitions were added: a transaction is open.
    Ongoing,
    /// EndTxn(commit) accepted: COMMIT markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a timeout or a fence: ABORT markers are being written.
    PrepareAbort,
    /// Every COMMIT marker is written.
    CompleteCommit,
    /// Every ABORT marker is written.
    CompleteAbort,
}

impl TxnState {
    /// Kafka's state name.
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }

    /// Whether markers are being written.
    pub fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }
}

/// The coordinator's record of one transactional id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TransactionMetadata {
    /// The transactional id.
    pub transactional_id: String,
    /// Its producer id.
    pub producer_id: i64,
    /// Current producer epoch (-1 before the first InitProducerId completes).
    pub producer_epoch: i16,
    /// `transaction.timeout.ms` from the last InitProducerId.
    pub timeout_ms: u64,
    /// Current state.
    pub state: TxnState,
    /// Partitions in the current transaction.
    pub partitions: BTreeSet<TopicPartition>,
    /// When the current transaction started (first AddPartitionsToTxn).
    pub txn_start_ms: u64,
    /// Last state change.
    pub last_update_ms: u64,
}
