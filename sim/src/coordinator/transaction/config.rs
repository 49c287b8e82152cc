//! Transaction coordinator settings with Kafka's broker config names and defaults.

/// Broker configs the transaction coordinator consults.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransactionCoordinatorConfig {
    /// `transaction.max.timeout.ms` (default 900000): a larger `transaction.timeout.ms` in
    /// InitProducerId is INVALID_TRANSACTION_TIMEOUT.
    pub transaction_max_timeout_ms: u64,
    /// `transaction.abort.timed.out.transaction.cleanup.interval.ms` (default 10000): how often the
    /// coordinator looks for transactions past their timeout.
    pub transaction_abort_timed_out_transaction_cleanup_interval_ms: u64,
    /// `retry.backoff.ms` of the marker channel (Kafka's `TransactionMarkerChannelManager` retries
    /// failed markers on its next poll; 100 ms here).
    pub marker_retry_backoff_ms: u64,
}

impl Default for TransactionCoordinatorConfig {
    fn default() -> Self {
        TransactionCoordinatorConfig {
            transaction_max_timeout_ms: 900_000,
            transaction_abort_timed_out_transaction_cleanup_interval_ms: 10_000,
            marker_retry_backoff_ms: 100,
        }
    }
}
