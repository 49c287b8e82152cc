//! The transaction coordinator engine (Kafka `TransactionCoordinator` + `TransactionStateManager` +
//! the marker channel), sans-IO.
//!
//! Inputs: `handle_init_producer_id`, `handle_add_partitions_to_txn`, `handle_end_txn` (each answers
//! at once with the real Kafka response), `handle_marker_results` / `handle_marker_write_failed`
//! (what the partition leaders said to WriteTxnMarkers), `handle_timeout`. Outputs:
//! `poll_marker_write` (markers to send to partition leaders), `poll_event` (state changes for the
//! trace), `poll_timeout`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse,
    InitProducerIdRequest, InitProducerIdResponse, ProducerId,
};

use super::config::TransactionCoordinatorConfig;
use super::producer_ids::ProducerIdAllocator;
use super::txn_metadata::{TransactionMetadata, TxnState};
use crate::log::TopicPartition;
use crate::ResponseError;

/// Markers for one transaction that partition leaders must write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnMarkerWrite {
    /// The transactional id (for the trace).
    pub transactional_id: String,
    /// Producer id of the transaction.
    pub producer_id: i64,
    /// Producer epoch the markers carry (bumped when the transaction was fenced or timed out).
    pub producer_epoch: i16,
    /// This coordinator's epoch (the leader epoch of its `__transaction_state` partition).
    pub coordinator_epoch: i32,
    /// COMMIT (true) or ABORT (false).
    pub committed: bool,
    /// Partitions to write to.
    pub partitions: Vec<TopicPartition>,
}

/// A state change, for the trace.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxnStateChange {
    /// When.
    pub at_ms: u64,
    /// The transactional id.
    pub transactional_id: String,
    /// Producer id after the change.
    pub producer_id: i64,
    /// Producer epoch after the change.
    pub producer_epoch: i16,
    /// State before.
    pub from: Option<TxnState>,
    /// State after.
    pub to: TxnState,
    /// Why (`InitProducerId`, `AddPartitionsToTxn`, `EndTxn`, `MarkersWritten`, `Timeout`, `Fence`).
    pub cause: &'static str,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct MarkerTask {
    transactional_id: String,
    producer_epoch: i16,
    committed: bool,
    remaining: BTreeSet<TopicPartition>,
    in_flight: BTreeSet<TopicPartition>,
    retry_at_ms: u64,
}

/// One broker's transaction coordinator.
///
/// The engine keeps the state in memory; the broker service persists every state change
/// ([`TxnStateChange`]) in `__transaction_state` and hands a new coordinator the replayed state
/// ([`TransactionCoordinator::load`]).
#[derive(Clone, Debug)]
pub struct TransactionCoordinator {
    config: TransactionCoordinatorConfig,
    coordinator_epoch: i32,
    producer_ids: ProducerIdAllocator,
    transactions: BTreeMap<String, TransactionMetadata>,
    /// Pending markers by producer id.
    markers: BTreeMap<i64, MarkerTask>,
    events: VecDeque<TxnStateChange>,
    next_cleanup_ms: u64,
}

impl TransactionCoordinator {
    /// A coordinator with its producer id range and epoch.
    pub fn new(
        config: TransactionCoordinatorConfig,
        producer_ids: ProducerIdAllocator,
        coordinator_epoch: i32,
    ) -> Self {
        TransactionCoordinator {
            config,
            coordinator_epoch,
            producer_ids,
            transactions: BTreeMap::new(),
            markers: BTreeMap::new(),
            events: VecDeque::new(),
            next_cleanup_ms: config.transaction_abort_timed_out_transaction_cleanup_interval_ms,
        }
    }

    // (A) Getters.

    /// The record of a transactional id.
    pub fn transaction(&self, transactional_id: &str) -> Option<&TransactionMetadata> {
        self.transactions.get(transactional_id)
    }

    /// This coordinator's epoch.
    pub fn coordinator_epoch(&self) -> i32 {
        self.coordinator_epoch
    }

    /// A new leader epoch of the coordinator's partition (markers carry it; leaders fence older ones).
    pub fn set_coordinator_epoch(&mut self, coordinator_epoch: i32) {
        self.coordinator_epoch = coordinator_epoch;
    }

    /// Takes over the transactional ids replayed from a `__transaction_state` partition this broker
    /// now leads (Kafka `TransactionStateManager.loadTransactionsForTxnTopicPartition` then
    /// `TransactionCoordinator.onElection`): each replaces what memory held; a transaction caught in
    /// PrepareCommit / PrepareAbort gets its markers written again (leaders ignore duplicates); an
    /// Ongoing one stays open for its producer's EndTxn or its timeout.
    pub fn load(&mut self, now_ms: u64, loaded: BTreeMap<String, TransactionMetadata>) {
        for (transactional_id, txn) in loaded {
            let state = txn.state;
            self.markers.remove(&txn.producer_id);
            self.transactions.insert(transactional_id.clone(), txn);
            if state.is_prepare() {
                self.queue_markers(now_ms, &transactional_id);
            }
        }
    }

    /// Forgets the transactional ids for which `unloaded` is true (their partition moved to another
    /// coordinator), with their pending markers (Kafka `removeTransactionsForTxnTopicPartition`).
    pub fn unload(&mut self, unloaded: impl Fn(&str) -> bool) {
        self.transactions.retain(|id, _| !unloaded(id));
        self.markers
            .retain(|_, task| !unloaded(task.transactional_id.as_str()));
    }

    // (B) Inputs.

    /// InitProducerId (Kafka `handleInitProducerId`): a plain idempotent producer gets a new id; a
    /// transactional one gets its id with the epoch bumped, which fences older instances. An open
    /// transaction is aborted first (its epoch bumped, "PrepareEpochFence") and the caller is told
    /// CONCURRENT_TRANSACTIONS until the abort completes.
    pub fn handle_init_producer_id(
        &mut self,
        now_ms: u64,
        request: &InitProducerIdRequest,
    ) -> InitProducerIdResponse {
        let error = |e: ResponseError| {
            InitProducerIdResponse::default()
                .with_error_code(e.code())
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1)
        };
        let ok = |id: i64, epoch: i16| {
            InitProducerIdResponse::default()
                .with_producer_id(ProducerId(id))
                .with_producer_epoch(epoch)
        };
        let Some(transactional_id) = request.transactional_id.as_ref().map(|t| t.0.to_string())
        else {
            return match self.producer_ids.allocate() {
                Ok(id) => ok(id, 0),
                Err(e) => error(e),
            };
        };
        if transactional_id.is_empty() {
            return error(ResponseError::InvalidRequest);
        }
        let timeout_ms = request.transaction_timeout_ms;
        if timeout_ms <= 0 || timeout_ms as u64 > self.config.transaction_max_timeout_ms {
            return error(ResponseError::InvalidTransactionTimeout);
        }
        if !self.transactions.contains_key(&transactional_id) {
            let producer_id = match self.producer_ids.allocate() {
                Ok(id) => id,
                Err(e) => return error(e),
            };
            self.transactions.insert(
                transactional_id.clone(),
                TransactionMetadata {
                    transactional_id: transactional_id.clone(),
                    producer_id,
                    producer_epoch: -1,
                    timeout_ms: timeout_ms as u64,
                    state: TxnState::Empty,
                    partitions: BTreeSet::new(),
                    txn_start_ms: now_ms,
                    last_update_ms: now_ms,
                },
            );
        }
        let txn = &self.transactions[&transactional_id];
        // KIP-360: a producer recovering with its id and epoch must name the current ones.
        if request.producer_id.0 >= 0
            && (request.producer_id.0 != txn.producer_id
                || request.producer_epoch != txn.producer_epoch)
        {
            return error(ResponseError::ProducerFenced);
        }
        let state = txn.state;
        match state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                error(ResponseError::ConcurrentTransactions)
            }
            TxnState::Ongoing => {
                self.fence_and_abort(now_ms, &transactional_id, "Fence");
                error(ResponseError::ConcurrentTransactions)
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
                let (producer_id, producer_epoch) = match self.bumped(&transactional_id) {
                    Ok(pair) => pair,
                    Err(e) => return error(e),
                };
                let txn = self
                    .transactions
                    .get_mut(&transactional_id)
                    .expect("inserted above");
                txn.producer_id = producer_id;
                txn.producer_epoch = producer_epoch;
                txn.timeout_ms = timeout_ms as u64;
                txn.partitions.clear();
                self.transition(now_ms, &transactional_id, TxnState::Empty, "InitProducerId");
                ok(producer_id, producer_epoch)
            }
        }
    }

    /// AddPartitionsToTxn v0-3 (Kafka `handleAddPartitionsToTransaction`): every partition gets the
    /// same answer.
    pub fn handle_add_partitions_to_txn(
        &mut self,
        now_ms: u64,
        request: &AddPartitionsToTxnRequest,
    ) -> AddPartitionsToTxnResponse {
        let transactional_id = request.v3_and_below_transactional_id.0.to_string();
        let partitions: Vec<TopicPartition> = request
            .v3_and_below_topics
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(|p| TopicPartition::new(t.name.0.to_string(), *p))
            })
            .collect();
        let error = self.add_partitions(
            now_ms,
            &transactional_id,
            request.v3_and_below_producer_id.0,
            request.v3_and_below_producer_epoch,
            &partitions,
        );
        add_partitions_to_txn_answer(request, error)
    }

    fn add_partitions(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        partitions: &[TopicPartition],
    ) -> Option<ResponseError> {
        let txn = match self.validate_producer(transactional_id, producer_id, producer_epoch) {
            Ok(txn) => txn,
            Err(e) => return Some(e),
        };
        let state = txn.state;
        let all_added = partitions.iter().all(|p| txn.partitions.contains(p));
        match state {
            TxnState::PrepareCommit | TxnState::PrepareAbort => {
                Some(ResponseError::ConcurrentTransactions)
            }
            TxnState::Ongoing if all_added => None,
            state => {
                let txn = self
                    .transactions
                    .get_mut(transactional_id)
                    .expect("validated above");
                txn.partitions.extend(partitions.iter().cloned());
                if state != TxnState::Ongoing {
                    txn.txn_start_ms = now_ms;
                    self.transition(
                        now_ms,
                        transactional_id,
                        TxnState::Ongoing,
                        "AddPartitionsToTxn",
                    );
                }
                None
            }
        }
    }

    /// EndTxn v0-4 (Kafka `handleEndTransaction`): an open transaction moves to PrepareCommit or
    /// PrepareAbort and its markers are queued; the answer does not wait for them.
    pub fn handle_end_txn(&mut self, now_ms: u64, request: &EndTxnRequest) -> EndTxnResponse {
        let transactional_id = request.transactional_id.0.to_string();
        let error = self.end_txn(
            now_ms,
            &transactional_id,
            request.producer_id.0,
            request.producer_epoch,
            request.committed,
        );
        let mut response = EndTxnResponse::default().with_error_code(error.map_or(0, |e| e.code()));
        if let Some(txn) = self.transactions.get(&transactional_id) {
            response = response
                .with_producer_id(ProducerId(txn.producer_id))
                .with_producer_epoch(txn.producer_epoch);
        }
        response
    }

    fn end_txn(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
        committed: bool,
    ) -> Option<ResponseError> {
        let txn = match self.validate_producer(transactional_id, producer_id, producer_epoch) {
            Ok(txn) => txn,
            Err(e) => return Some(e),
        };
        match (txn.state, committed) {
            (TxnState::Ongoing, _) => {
                let (to, cause) = if committed {
                    (TxnState::PrepareCommit, "EndTxn")
                } else {
                    (TxnState::PrepareAbort, "EndTxn")
                };
                self.transition(now_ms, transactional_id, to, cause);
                self.queue_markers(now_ms, transactional_id);
                None
            }
            // A retried EndTxn whose first attempt succeeded.
            (TxnState::CompleteCommit, true) | (TxnState::CompleteAbort, false) => None,
            (TxnState::PrepareCommit, true) | (TxnState::PrepareAbort, false) => {
                Some(ResponseError::ConcurrentTransactions)
            }
            _ => Some(ResponseError::InvalidTxnState),
        }
    }

    /// What the partition leaders answered to a WriteTxnMarkers (Kafka
    /// `TransactionMarkerRequestCompletionHandler`): retriable errors are retried after a backoff;
    /// INVALID_PRODUCER_EPOCH or TRANSACTION_COORDINATOR_FENCED mean this coordinator is stale and it
    /// stops completing the transaction; anything else counts as written.
    pub fn handle_marker_results(
        &mut self,
        now_ms: u64,
        producer_id: i64,
        results: &[(TopicPartition, Option<ResponseError>)],
    ) {
        let Some(task) = self.markers.get_mut(&producer_id) else {
            return;
        };
        let mut fenced = false;
        for (tp, error) in results {
            if !task.in_flight.remove(tp) {
                continue;
            }
            match error {
                None => {
                    task.remaining.remove(tp);
                }
                Some(ResponseError::InvalidProducerEpoch)
                | Some(ResponseError::TransactionCoordinatorFenced) => fenced = true,
                Some(e) if marker_error_is_retriable(*e) => {
                    task.retry_at_ms = now_ms + self.config.marker_retry_backoff_ms;
                }
                Some(_) => {
                    task.remaining.remove(tp);
                }
            }
        }
        if fenced {
            self.markers.remove(&producer_id);
            return;
        }
        self.maybe_complete(now_ms, producer_id);
    }

    /// A WriteTxnMarkers got no answer (or its partitions' leader is unknown): retry them later.
    pub fn handle_marker_write_failed(
        &mut self,
        now_ms: u64,
        producer_id: i64,
        partitions: &[TopicPartition],
    ) {
        if let Some(task) = self.markers.get_mut(&producer_id) {
            for tp in partitions {
                task.in_flight.remove(tp);
            }
            task.retry_at_ms = now_ms + self.config.marker_retry_backoff_ms;
        }
    }

    /// Time passed: aborts transactions open longer than their `transaction.timeout.ms` (checked
    /// every `transaction.abort.timed.out.transaction.cleanup.interval.ms`, as Kafka does), bumping
    /// the epoch so the producer is fenced.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if now_ms < self.next_cleanup_ms {
            return;
        }
        let interval = self
            .config
            .transaction_abort_timed_out_transaction_cleanup_interval_ms
            .max(1);
        self.next_cleanup_ms = (now_ms / interval + 1) * interval;
        let timed_out: Vec<String> = self
            .transactions
            .values()
            .filter(|t| t.state == TxnState::Ongoing && t.txn_start_ms + t.timeout_ms <= now_ms)
            .map(|t| t.transactional_id.clone())
            .collect();
        for transactional_id in timed_out {
            self.fence_and_abort(now_ms, &transactional_id, "Timeout");
        }
    }

    // (D) Outputs.

    /// Markers to write now, one transaction at a time; each partition is handed out once until
    /// its result (or failure) comes back.
    pub fn poll_marker_write(&mut self, now_ms: u64) -> Option<TxnMarkerWrite> {
        let coordinator_epoch = self.coordinator_epoch;
        for (producer_id, task) in self.markers.iter_mut() {
            if task.retry_at_ms > now_ms {
                continue;
            }
            let partitions: Vec<TopicPartition> = task
                .remaining
                .iter()
                .filter(|p| !task.in_flight.contains(*p))
                .cloned()
                .collect();
            if partitions.is_empty() {
                continue;
            }
            task.in_flight.extend(partitions.iter().cloned());
            return Some(TxnMarkerWrite {
                transactional_id: task.transactional_id.clone(),
                producer_id: *producer_id,
                producer_epoch: task.producer_epoch,
                coordinator_epoch,
                committed: task.committed,
                partitions,
            });
        }
        None
    }

    /// The next state change, for the trace.
    pub fn poll_event(&mut self) -> Option<TxnStateChange> {
        self.events.pop_front()
    }

    /// When to call `handle_timeout` / `poll_marker_write` next.
    pub fn poll_timeout(&self) -> Option<u64> {
        let retry = self
            .markers
            .values()
            .filter(|t| t.remaining.len() > t.in_flight.len())
            .map(|t| t.retry_at_ms)
            .min();
        let cleanup = self
            .transactions
            .values()
            .any(|t| t.state == TxnState::Ongoing)
            .then_some(self.next_cleanup_ms);
        [retry, cleanup].into_iter().flatten().min()
    }

    // Internals.

    fn validate_producer(
        &self,
        transactional_id: &str,
        producer_id: i64,
        producer_epoch: i16,
    ) -> Result<&TransactionMetadata, ResponseError> {
        let txn = self
            .transactions
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        if txn.producer_id != producer_id {
            return Err(ResponseError::InvalidProducerIdMapping);
        }
        if txn.producer_epoch != producer_epoch {
            return Err(ResponseError::ProducerFenced);
        }
        Ok(txn)
    }

    /// The id and epoch after a bump: a new id when the epoch is exhausted.
    fn bumped(&mut self, transactional_id: &str) -> Result<(i64, i16), ResponseError> {
        let txn = &self.transactions[transactional_id];
        if txn.producer_epoch >= i16::MAX - 1 {
            return Ok((self.producer_ids.allocate()?, 0));
        }
        Ok((txn.producer_id, txn.producer_epoch + 1))
    }

    /// Kafka `PrepareEpochFence` + abort: bump the epoch so the old producer is fenced, then abort
    /// its open transaction with markers carrying the new epoch.
    fn fence_and_abort(&mut self, now_ms: u64, transactional_id: &str, cause: &'static str) {
        let Ok((producer_id, producer_epoch)) = self.bumped(transactional_id) else {
            return;
        };
        let Some(txn) = self.transactions.get_mut(transactional_id) else {
            return;
        };
        if producer_id != txn.producer_id {
            // Exhausted epoch: the markers still go out under the old id at its last epoch.
            txn.producer_epoch = i16::MAX - 1;
        } else {
            txn.producer_epoch = producer_epoch;
        }
        self.transition(now_ms, transactional_id, TxnState::PrepareAbort, cause);
        self.queue_markers(now_ms, transactional_id);
    }

    fn queue_markers(&mut self, now_ms: u64, transactional_id: &str) {
        let txn = &self.transactions[transactional_id];
        let task = MarkerTask {
            transactional_id: transactional_id.to_string(),
            producer_epoch: txn.producer_epoch,
            committed: txn.state == TxnState::PrepareCommit,
            remaining: txn.partitions.clone(),
            in_flight: BTreeSet::new(),
            retry_at_ms: now_ms,
        };
        let producer_id = txn.producer_id;
        self.markers.insert(producer_id, task);
        self.maybe_complete(now_ms, producer_id);
    }

    fn maybe_complete(&mut self, now_ms: u64, producer_id: i64) {
        let Some(task) = self.markers.get(&producer_id) else {
            return;
        };
        if !task.remaining.is_empty() {
            return;
        }
        let task = self.markers.remove(&producer_id).expect("present above");
        let to = if task.committed {
            TxnState::CompleteCommit
        } else {
            TxnState::CompleteAbort
        };
        if let Some(txn) = self.transactions.get_mut(&task.transactional_id) {
            txn.partitions.clear();
        }
        self.transition(now_ms, &task.transactional_id, to, "MarkersWritten");
    }

    fn transition(
        &mut self,
        now_ms: u64,
        transactional_id: &str,
        to: TxnState,
        cause: &'static str,
    ) {
        let Some(txn) = self.transactions.get_mut(transactional_id) else {
            return;
        };
        debug_assert!(legal_transition(txn.state, to), "{:?} -> {to:?}", txn.state);
        let from = txn.state;
        txn.state = to;
        txn.last_update_ms = now_ms;
        self.events.push_back(TxnStateChange {
            at_ms: now_ms,
            transactional_id: transactional_id.to_string(),
            producer_id: txn.producer_id,
            producer_epoch: txn.producer_epoch,
            from: Some(from),
            to,
            cause,
        });
    }
}

/// The AddPartitionsToTxn v0-3 response giving every partition of `request` the same `error` (Kafka
/// answers v0-3 that way; a broker that is not the coordinator answers NOT_COORDINATOR with it).
pub fn add_partitions_to_txn_answer(
    request: &AddPartitionsToTxnRequest,
    error: Option<ResponseError>,
) -> AddPartitionsToTxnResponse {
    let code = error.map_or(0, |e| e.code());
    let topics = request
        .v3_and_below_topics
        .iter()
        .map(|t| {
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(
                    t.partitions
                        .iter()
                        .map(|p| {
                            AddPartitionsToTxnPartitionResult::default()
                                .with_partition_index(*p)
                                .with_partition_error_code(code)
                        })
                        .collect(),
                )
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(topics)
}

/// Kafka `TransactionState.validPreviousStates`, for our own invariant checks.
fn legal_transition(from: TxnState, to: TxnState) -> bool {
    use TxnState::*;
    match to {
        Empty => matches!(from, Empty | CompleteCommit | CompleteAbort),
        Ongoing => matches!(from, Ongoing | Empty | CompleteCommit | CompleteAbort),
        PrepareCommit | PrepareAbort => from == Ongoing,
        CompleteCommit => from == PrepareCommit,
        CompleteAbort => from == PrepareAbort,
    }
}

/// Marker errors the marker channel retries.
fn marker_error_is_retriable(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::UnknownTopicOrPartition
            | ResponseError::NotLeaderOrFollower
            | ResponseError::NotEnoughReplicas
            | ResponseError::NotEnoughReplicasAfterAppend
            | ResponseError::RequestTimedOut
            | ResponseError::KafkaStorageError
            | ResponseError::NetworkException
            | ResponseError::LeaderNotAvailable
    )
}
