//! The transaction coordinator (Kafka `TransactionCoordinator`), sans-IO: producer id allocation,
//! transactional id -> (producer id, epoch) with epoch bumps that fence zombies, the transaction state
//! machine (Empty, Ongoing, PrepareCommit, PrepareAbort, CompleteCommit, CompleteAbort),
//! AddPartitionsToTxn, EndTxn, WriteTxnMarkers to the partition leaders (COMMIT/ABORT control
//! batches appended to the logs) and `transaction.timeout.ms` aborts.
//!
//! Which broker coordinates a transactional id is FindCoordinator's business
//! (`coordinator::placement`, `__transaction_state` partition leader). The broker routes InitProducerId
//! (with a transactional id), AddPartitionsToTxn and EndTxn to its engine, answers NOT_COORDINATOR
//! itself when it does not lead the id's partition, serves plain InitProducerId (no transactional id)
//! from the same engine's producer id range, and sends each [`TxnMarkerWrite`] to the partitions'
//! leaders as WriteTxnMarkers ([`write_txn_markers_request`]), which serve it with
//! [`serve_write_txn_markers`].
//!
//! Every state change is written to the transactional id's `__transaction_state` partition (acks=all)
//! before the request that caused it is answered ([`encode_txn_record`]); a broker that becomes leader of such a
//! partition replays it and completes what was in flight.
//!
//! Departures (also noted where made): producer id blocks of 1000 come from the cluster's one counter
//! read directly, not through AllocateProducerIds; transaction protocol 1 only (EndTxn up to v4,
//! AddPartitionsToTxn v0-3).

mod config;
mod coordinator;
mod markers;
mod producer_ids;
mod service;
mod txn_log;
mod txn_metadata;

#[cfg(test)]
mod tests;

pub use config::TransactionCoordinatorConfig;
pub use coordinator::{
    add_partitions_to_txn_answer, TransactionCoordinator, TxnMarkerWrite, TxnStateChange,
};
pub use markers::{
    marker_results, serve_write_txn_markers, write_txn_markers_request, MarkerAppend,
    MarkerResults, WRITE_TXN_MARKERS_VERSION,
};
pub use producer_ids::{ProducerIdAllocator, ProducerIdBlocks, PRODUCER_ID_BLOCK_SIZE};
pub use service::{transaction_plugins, TransactionService};
pub use txn_log::{encode_txn_record, replay_txn_records, TRANSACTION_LOG_RECORD_TYPE};
pub use txn_metadata::{TransactionMetadata, TxnState};
