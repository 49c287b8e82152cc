//! The producer engine (Kafka `KafkaProducer` + `Sender` + `TransactionManager`), sans-IO.
//!
//! Methods, in quinn's groups: (A) getters; (B) inputs `handle_response`, `handle_timeout`; (C)
//! application commands `send`, `flush`, `init_transactions`, `begin_transaction`,
//! `commit_transaction`, `abort_transaction`; (D) outputs `poll_transmit`, `poll_event`,
//! `poll_timeout`. After any input or command, call `poll_transmit` until it returns `None`, drain
//! `poll_event`, and wake up at `poll_timeout` to call `handle_timeout`. Time never goes backwards.

use std::collections::{BTreeMap, VecDeque};

use bytes::Bytes;
use kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, EndTxnRequest, EndTxnResponse,
    FindCoordinatorResponse, InitProducerIdRequest, InitProducerIdResponse, MetadataRequest,
    ProduceRequest, ProduceResponse, ProducerId, RequestKind, ResponseKind, TopicName,
    TransactionalId,
};
use kafka_protocol::protocol::StrBytes;

use super::accumulator::{record_size_estimate, ProducerBatch, RecordAccumulator};
use super::config::{Acks, ProducerConfig};
use super::events::{
    BrokerAddress, DeliveryReport, Destination, ProducerError, ProducerEvent, RecordId,
    RequestFailure, RequestId, Transmit,
};
use super::metadata::ClientMetadata;
use super::partitioner::{partition_for_key, StickyPartition, StickyPartitioner};
use super::sequences::PartitionSequences;
use super::transactions::{TransactionManager, TransactionState, TxnRequestKind};
use crate::log::{encode_data_batch, ProducerIdentity, ProducerRecord, TopicPartition};
use crate::ResponseError;

/// API versions the producer speaks (those of a Kafka 4.x client that still name topics).
pub mod api_versions {
    /// Produce v12 (v13 switches to topic ids).
    pub const PRODUCE: i16 = 12;
    /// Metadata v12.
    pub const METADATA: i16 = 12;
    /// InitProducerId v4.
    pub const INIT_PRODUCER_ID: i16 = 4;
    /// AddPartitionsToTxn v3 (v4+ is the broker-to-coordinator batch form).
    pub const ADD_PARTITIONS_TO_TXN: i16 = 3;
    /// EndTxn v4 (v5 is transaction protocol 2, which bumps the epoch on every commit).
    pub const END_TXN: i16 = 4;
    /// FindCoordinator v4 (batched keys).
    pub const FIND_COORDINATOR: i16 = 4;
}

/// FindCoordinator key type of a transaction coordinator.
pub const COORDINATOR_TYPE_TRANSACTION: i8 = 1;

/// A record as the application sends it.
#[derive(Clone, Debug, PartialEq)]
pub struct SendRecord {
    /// Topic.
    pub topic: String,
    /// Explicit partition, or `None` for the partitioner.
    pub partition: Option<i32>,
    /// Key, value, headers and timestamp.
    pub record: ProducerRecord,
}

#[derive(Clone, Debug, PartialEq)]
struct WaitingRecord {
    record_id: RecordId,
    send: SendRecord,
    deadline_ms: u64,
}

#[derive(Clone, Debug, PartialEq)]
enum InFlight {
    Metadata,
    InitProducerId,
    Transaction(TxnRequestKind),
    Produce {
        node_id: i32,
        batches: Vec<ProducerBatch>,
    },
}

/// The producer engine. See the module documentation for the calling contract.
#[derive(Clone, Debug)]
pub struct Producer {
    config: ProducerConfig,
    now_ms: u64,
    metadata: ClientMetadata,
    metadata_in_flight: bool,
    metadata_retry_at_ms: u64,
    broker_rotation: usize,
    accumulator: RecordAccumulator,
    partitioner: StickyPartitioner,
    sticky: BTreeMap<String, Option<StickyPartition>>,
    waiting: VecDeque<WaitingRecord>,
    identity: Option<ProducerIdentity>,
    init_pid_in_flight: bool,
    init_pid_retry_at_ms: u64,
    sequences: BTreeMap<TopicPartition, PartitionSequences>,
    epoch_bump_pending: bool,
    transactions: Option<TransactionManager>,
    in_flight: BTreeMap<RequestId, InFlight>,
    produce_in_flight: BTreeMap<i32, usize>,
    flushing: bool,
    fatal: Option<ResponseError>,
    events: VecDeque<ProducerEvent>,
    next_request_id: u64,
    next_record_id: u64,
}

impl Producer {
    /// A producer with `config`; `seed` drives the sticky partitioner's choices.
    pub fn new(config: ProducerConfig, seed: u64) -> Self {
        let transactions = config.transactional_id.clone().map(TransactionManager::new);
        Producer {
            config,
            now_ms: 0,
            metadata: ClientMetadata::default(),
            metadata_in_flight: false,
            metadata_retry_at_ms: 0,
            broker_rotation: 0,
            accumulator: RecordAccumulator::default(),
            partitioner: StickyPartitioner::new(seed),
            sticky: BTreeMap::new(),
            waiting: VecDeque::new(),
            identity: None,
            init_pid_in_flight: false,
            init_pid_retry_at_ms: 0,
            sequences: BTreeMap::new(),
            epoch_bump_pending: false,
            transactions,
            in_flight: BTreeMap::new(),
            produce_in_flight: BTreeMap::new(),
            flushing: false,
            fatal: None,
            events: VecDeque::new(),
            next_request_id: 0,
            next_record_id: 0,
        }
    }

    // (A) Getters.

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.config
    }

    /// Producer id and epoch, once InitProducerId answered.
    pub fn identity(&self) -> Option<ProducerIdentity> {
        self.identity
    }

    /// The transaction state of a transactional producer.
    pub fn transaction_state(&self) -> Option<&TransactionState> {
        self.transactions.as_ref().map(|t| &t.state)
    }

    /// The fatal error, if the producer hit one.
    pub fn fatal_error(&self) -> Option<ResponseError> {
        self.fatal
    }

    /// The cluster as the producer knows it.
    pub fn metadata(&self) -> &ClientMetadata {
        &self.metadata
    }

    /// Whether every sent record has its delivery report and no request is in flight.
    pub fn is_idle(&self) -> bool {
        self.accumulator.is_empty() && self.waiting.is_empty() && self.in_flight_produces() == 0
    }

    fn in_flight_produces(&self) -> usize {
        self.produce_in_flight.values().sum()
    }

    // (C) Application commands.

    /// Sends a record (Kafka `send`): it joins a batch and its [`DeliveryReport`] comes later as an
    /// event. Errors here are the ones `send` throws at once.
    pub fn send(&mut self, now_ms: u64, send: SendRecord) -> Result<RecordId, ProducerError> {
        self.advance(now_ms);
        if let Some(error) = self.fatal {
            return Err(ProducerError::Fatal(error));
        }
        if let Some(txn) = &self.transactions {
            match &txn.state {
                TransactionState::InTransaction => {}
                TransactionState::AbortableError(e) | TransactionState::Fatal(e) => {
                    return Err(e.clone())
                }
                _ => return Err(ProducerError::IllegalState("send outside a transaction")),
            }
        }
        if record_size_estimate(&send.record) + super::accumulator::BATCH_OVERHEAD_BYTES
            > self.config.max_request_size
        {
            return Err(ProducerError::RecordTooLarge);
        }
        self.next_record_id += 1;
        let record_id = RecordId(self.next_record_id);
        self.metadata.want(&send.topic);
        let waiting = WaitingRecord {
            record_id,
            send,
            deadline_ms: now_ms + self.config.max_block_ms,
        };
        if self.metadata.topic(&waiting.send.topic).is_some() {
            self.place(waiting);
        } else {
            self.waiting.push_back(waiting);
        }
        Ok(record_id)
    }

    /// Makes every batch ready at once (Kafka `flush`); delivery reports follow.
    pub fn flush(&mut self, now_ms: u64) {
        self.advance(now_ms);
        self.flushing = true;
    }

    /// Starts `initTransactions`: finds the coordinator, gets a producer id and epoch (fencing older
    /// instances of the same `transactional.id`). [`ProducerEvent::TransactionsInitialized`] follows.
    pub fn init_transactions(&mut self, now_ms: u64) -> Result<(), ProducerError> {
        self.advance(now_ms);
        let txn = self
            .transactions
            .as_mut()
            .ok_or(ProducerError::IllegalState("no transactional.id"))?;
        if txn.state != TransactionState::Uninitialized {
            return Err(ProducerError::IllegalState(
                "transactions already initialized",
            ));
        }
        txn.state = TransactionState::Initializing;
        Ok(())
    }

    /// `beginTransaction`.
    pub fn begin_transaction(&mut self, now_ms: u64) -> Result<(), ProducerError> {
        self.advance(now_ms);
        let txn = self
            .transactions
            .as_mut()
            .ok_or(ProducerError::IllegalState("no transactional.id"))?;
        match &txn.state {
            TransactionState::Ready => {
                txn.state = TransactionState::InTransaction;
                Ok(())
            }
            TransactionState::Fatal(e) => Err(e.clone()),
            _ => Err(ProducerError::IllegalState("begin outside the Ready state")),
        }
    }

    /// `commitTransaction`: flushes, waits for every batch, then EndTxn(commit). The outcome comes as
    /// [`ProducerEvent::TransactionCommitted`] or [`ProducerEvent::TransactionFailed`].
    pub fn commit_transaction(&mut self, now_ms: u64) -> Result<(), ProducerError> {
        self.advance(now_ms);
        let txn = self
            .transactions
            .as_mut()
            .ok_or(ProducerError::IllegalState("no transactional.id"))?;
        match &txn.state {
            TransactionState::InTransaction => {
                txn.state = TransactionState::Committing;
                self.flushing = true;
                Ok(())
            }
            TransactionState::AbortableError(e) | TransactionState::Fatal(e) => Err(e.clone()),
            _ => Err(ProducerError::IllegalState("commit outside a transaction")),
        }
    }

    /// `abortTransaction`: drops unsent batches (their records fail with
    /// [`ProducerError::TransactionAborted`]), waits for in-flight ones, then EndTxn(abort).
    pub fn abort_transaction(&mut self, now_ms: u64) -> Result<(), ProducerError> {
        self.advance(now_ms);
        let txn = self
            .transactions
            .as_mut()
            .ok_or(ProducerError::IllegalState("no transactional.id"))?;
        match &txn.state {
            TransactionState::InTransaction | TransactionState::AbortableError(_) => {
                txn.state = TransactionState::Aborting;
                // Partitions not yet added hold no data: nothing to abort there.
                txn.pending.clear();
            }
            TransactionState::Fatal(e) => return Err(e.clone()),
            _ => return Err(ProducerError::IllegalState("abort outside a transaction")),
        }
        for batch in self.accumulator.take_all() {
            self.fail_batch(batch, ProducerError::TransactionAborted);
        }
        while let Some(waiting) = self.waiting.pop_front() {
            self.report_unplaced(waiting, ProducerError::TransactionAborted);
        }
        Ok(())
    }

    // (B) Inputs.

    /// Time passed: expires batches past `delivery.timeout.ms` and records past `max.block.ms`.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        for batch in self
            .accumulator
            .take_expired(now_ms, self.config.delivery_timeout_ms)
        {
            self.fail_batch(batch, ProducerError::DeliveryTimeout);
        }
        let mut kept = VecDeque::new();
        while let Some(waiting) = self.waiting.pop_front() {
            if waiting.deadline_ms <= now_ms {
                self.report_unplaced(waiting, ProducerError::MetadataTimeout);
            } else {
                kept.push_back(waiting);
            }
        }
        self.waiting = kept;
    }

    /// The response to a request from [`Producer::poll_transmit`], or why there is none.
    pub fn handle_response(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        response: Result<ResponseKind, RequestFailure>,
    ) {
        self.advance(now_ms);
        let Some(in_flight) = self.in_flight.remove(&request_id) else {
            return;
        };
        match (in_flight, response) {
            (InFlight::Metadata, Ok(ResponseKind::Metadata(response))) => {
                self.metadata_in_flight = false;
                self.metadata.update(now_ms, &response);
                if let Some(error) = ResponseError::try_from_code(response.error_code) {
                    self.metadata_failed(error);
                }
                self.place_waiting();
            }
            (InFlight::Metadata, _) => {
                self.metadata_in_flight = false;
                self.metadata_failed(ResponseError::NetworkException);
            }
            (InFlight::InitProducerId, Ok(ResponseKind::InitProducerId(response))) => {
                self.init_pid_in_flight = false;
                self.on_idempotent_init_producer_id(&response);
            }
            (InFlight::InitProducerId, _) => {
                self.init_pid_in_flight = false;
                self.init_pid_retry_at_ms = now_ms + self.config.retry_backoff_ms;
            }
            (InFlight::Transaction(kind), response) => self.on_txn_response(kind, response),
            (InFlight::Produce { node_id, batches }, response) => {
                if let Some(count) = self.produce_in_flight.get_mut(&node_id) {
                    *count = count.saturating_sub(1);
                }
                match response {
                    Ok(ResponseKind::Produce(response)) => {
                        self.on_produce_response(batches, &response)
                    }
                    Ok(_) => {
                        for batch in batches {
                            self.on_batch_error(batch, ResponseError::UnknownServerError);
                        }
                    }
                    Err(failure) => {
                        self.metadata.request_update();
                        for batch in batches {
                            self.on_batch_error(batch, failure.to_response_error());
                        }
                        self.disconnect(node_id);
                    }
                }
            }
        }
    }

    // (D) Outputs.

    /// The next request to send, if any.
    pub fn poll_transmit(&mut self, now_ms: u64) -> Option<Transmit> {
        self.advance(now_ms);
        if self.fatal.is_some() {
            return None;
        }
        self.maybe_bump_epoch();
        self.maybe_finish_flush();
        if let Some(transmit) = self.poll_metadata(now_ms) {
            return Some(transmit);
        }
        if let Some(transmit) = self.poll_transaction(now_ms) {
            return Some(transmit);
        }
        if let Some(transmit) = self.poll_init_producer_id(now_ms) {
            return Some(transmit);
        }
        self.poll_produce(now_ms)
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<ProducerEvent> {
        self.events.pop_front()
    }

    /// When to call [`Producer::handle_timeout`] (and poll again) next, if ever.
    pub fn poll_timeout(&self) -> Option<u64> {
        let now = self.now_ms;
        let mut candidates = vec![
            self.accumulator.next_ready_ms(self.config.linger_ms),
            self.accumulator
                .next_expiry_ms(self.config.delivery_timeout_ms),
            self.waiting.iter().map(|w| w.deadline_ms).min(),
        ];
        if !self.metadata_in_flight {
            candidates.push(
                self.metadata
                    .refresh_due_ms(self.config.metadata_max_age_ms)
                    .map(|due| due.max(self.metadata_retry_at_ms)),
            );
        }
        if let Some(txn) = &self.transactions {
            if txn.in_flight.is_none() {
                candidates.push(Some(txn.retry_at_ms));
            }
        }
        if self.config.idempotent() && self.identity.is_none() && !self.init_pid_in_flight {
            candidates.push(Some(self.init_pid_retry_at_ms));
        }
        // Deadlines already passed are blocked on something else (a response, a leader): only the
        // future ones can wake the producer, and returning a past one would spin.
        candidates.into_iter().flatten().filter(|&t| t > now).min()
    }

    // Internals: placing records.

    fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.now_ms, "time went backwards");
        self.now_ms = self.now_ms.max(now_ms);
    }

    fn place_waiting(&mut self) {
        let mut kept = VecDeque::new();
        while let Some(waiting) = self.waiting.pop_front() {
            if self.metadata.topic(&waiting.send.topic).is_some() {
                self.place(waiting);
            } else if let Some(error) = self
                .metadata
                .topic_error(&waiting.send.topic)
                .filter(|e| !e.is_retriable())
            {
                self.report_unplaced(waiting, ProducerError::Broker(error));
            } else {
                kept.push_back(waiting);
            }
        }
        self.waiting = kept;
    }

    /// Chooses the partition of a record whose topic is known and appends it.
    fn place(&mut self, waiting: WaitingRecord) {
        let topic = waiting.send.topic.clone();
        let Some(count) = self
            .metadata
            .topic(&topic)
            .map(|t| t.partitions.len() as i32)
        else {
            self.waiting.push_back(waiting);
            return;
        };
        let partition = match (waiting.send.partition, &waiting.send.record.key) {
            (Some(p), _) if p < 0 || p >= count => {
                self.report_unplaced(waiting, ProducerError::UnknownPartition);
                return;
            }
            (Some(p), _) => p,
            (None, Some(key)) if !self.config.partitioner_ignore_keys => {
                partition_for_key(key, count)
            }
            (None, _) => {
                let available = self.metadata.available_partitions(&topic);
                let sticky = self.sticky.entry(topic.clone()).or_default();
                self.partitioner.partition(
                    sticky,
                    count,
                    &available,
                    record_size_estimate(&waiting.send.record),
                    self.config.batch_size,
                )
            }
        };
        let topic_partition = TopicPartition::new(topic, partition);
        if let Some(txn) = &mut self.transactions {
            txn.note_partition(&topic_partition);
        }
        self.accumulator.append(
            self.now_ms,
            &topic_partition,
            waiting.send.record,
            waiting.record_id,
            self.config.batch_size,
        );
    }

    fn report_unplaced(&mut self, waiting: WaitingRecord, error: ProducerError) {
        self.events
            .push_back(ProducerEvent::Delivery(DeliveryReport {
                record_id: waiting.record_id,
                topic: waiting.send.topic,
                partition: waiting.send.partition.unwrap_or(-1),
                offset: None,
                error: Some(error),
            }));
    }

    // Internals: metadata and producer ids.

    fn next_request(&mut self, in_flight: InFlight) -> RequestId {
        self.next_request_id += 1;
        let id = RequestId(self.next_request_id);
        self.in_flight.insert(id, in_flight);
        id
    }

    /// Any known broker, rotating after failures (Kafka's least-loaded node, simplified).
    fn any_broker(&self) -> Destination {
        let brokers: Vec<&BrokerAddress> = self.metadata.brokers().collect();
        if brokers.is_empty() {
            return Destination::Bootstrap;
        }
        Destination::Broker(brokers[self.broker_rotation % brokers.len()].clone())
    }

    fn metadata_failed(&mut self, _error: ResponseError) {
        self.broker_rotation += 1;
        self.metadata.request_update();
        self.metadata_retry_at_ms = self.now_ms + self.config.retry_backoff_ms;
    }

    fn poll_metadata(&mut self, now_ms: u64) -> Option<Transmit> {
        if self.metadata_in_flight || now_ms < self.metadata_retry_at_ms {
            return None;
        }
        let due = self
            .metadata
            .refresh_due_ms(self.config.metadata_max_age_ms)?;
        if due > now_ms {
            return None;
        }
        let topics = self
            .metadata
            .wanted_topics()
            .map(|t| {
                MetadataRequestTopic::default()
                    .with_name(Some(TopicName(StrBytes::from_string(t.clone()))))
            })
            .collect();
        let request = MetadataRequest::default()
            .with_topics(Some(topics))
            .with_allow_auto_topic_creation(false);
        self.metadata_in_flight = true;
        // Retries of a failing refresh wait at least retry.backoff.ms.
        self.metadata_retry_at_ms = now_ms;
        let destination = self.any_broker();
        let request_id = self.next_request(InFlight::Metadata);
        Some(self.transmit(
            request_id,
            destination,
            api_versions::METADATA,
            RequestKind::Metadata(request),
        ))
    }

    fn transmit(
        &self,
        request_id: RequestId,
        destination: Destination,
        api_version: i16,
        request: RequestKind,
    ) -> Transmit {
        Transmit {
            request_id,
            destination,
            api_version,
            request,
            timeout_ms: self.config.request_timeout_ms,
            expects_response: true,
        }
    }

    fn poll_init_producer_id(&mut self, now_ms: u64) -> Option<Transmit> {
        if !self.config.idempotent()
            || self.transactions.is_some()
            || self.identity.is_some()
            || self.init_pid_in_flight
            || now_ms < self.init_pid_retry_at_ms
        {
            return None;
        }
        self.init_pid_in_flight = true;
        let request = InitProducerIdRequest::default()
            .with_transactional_id(None)
            .with_transaction_timeout_ms(i32::MAX)
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1);
        let destination = self.any_broker();
        let request_id = self.next_request(InFlight::InitProducerId);
        Some(self.transmit(
            request_id,
            destination,
            api_versions::INIT_PRODUCER_ID,
            RequestKind::InitProducerId(request),
        ))
    }

    fn on_idempotent_init_producer_id(&mut self, response: &InitProducerIdResponse) {
        match ResponseError::try_from_code(response.error_code) {
            None => self.set_identity(response.producer_id.0, response.producer_epoch),
            Some(error) if error.is_retriable() => {
                self.broker_rotation += 1;
                self.init_pid_retry_at_ms = self.now_ms + self.config.retry_backoff_ms;
            }
            Some(error) => self.become_fatal(error),
        }
    }

    fn set_identity(&mut self, producer_id: i64, producer_epoch: i16) {
        self.identity = Some(ProducerIdentity {
            producer_id,
            producer_epoch,
        });
        // A new id or epoch starts every partition's sequences at 0.
        self.sequences.clear();
        self.accumulator.reset_sequences();
    }

    /// KIP-360: an idempotent producer whose batch failed after it got a sequence bumps its epoch
    /// locally once nothing is in flight, so the broker accepts sequence 0 again.
    fn maybe_bump_epoch(&mut self) {
        if !self.epoch_bump_pending || self.in_flight_produces() > 0 {
            return;
        }
        self.epoch_bump_pending = false;
        let Some(identity) = self.identity else {
            return;
        };
        if identity.producer_epoch == i16::MAX {
            // The epoch is exhausted: ask for a new producer id.
            self.identity = None;
            self.sequences.clear();
            self.accumulator.reset_sequences();
            return;
        }
        let epoch = identity.producer_epoch + 1;
        self.set_identity(identity.producer_id, epoch);
        self.events.push_back(ProducerEvent::EpochBumped {
            producer_id: identity.producer_id,
            producer_epoch: epoch,
        });
    }

    fn maybe_finish_flush(&mut self) {
        if self.flushing && self.accumulator.is_empty() && self.waiting.is_empty() {
            self.flushing = false;
        }
    }

    fn become_fatal(&mut self, error: ResponseError) {
        if self.fatal.is_some() {
            return;
        }
        self.fatal = Some(error);
        if let Some(txn) = &mut self.transactions {
            let was_ending = matches!(
                txn.state,
                TransactionState::Committing | TransactionState::Aborting
            );
            txn.fatal(ProducerError::Fatal(error));
            if was_ending {
                self.events
                    .push_back(ProducerEvent::TransactionFailed(ProducerError::Fatal(
                        error,
                    )));
            }
        }
        for batch in self.accumulator.take_all() {
            self.fail_batch(batch, ProducerError::Fatal(error));
        }
        while let Some(waiting) = self.waiting.pop_front() {
            self.report_unplaced(waiting, ProducerError::Fatal(error));
        }
    }

    // Internals: transactions.

    fn poll_transaction(&mut self, now_ms: u64) -> Option<Transmit> {
        let produces_in_flight = self.in_flight_produces();
        let accumulator_empty = self.accumulator.is_empty() && self.waiting.is_empty();
        let txn = self.transactions.as_mut()?;
        if txn.in_flight.is_some() || now_ms < txn.retry_at_ms {
            return None;
        }
        // What would be sent, if the coordinator were known.
        let next = match &txn.state {
            TransactionState::Initializing => Some(TxnRequestKind::InitProducerId),
            TransactionState::InTransaction | TransactionState::Committing
                if !txn.pending.is_empty() =>
            {
                Some(TxnRequestKind::AddPartitions)
            }
            TransactionState::Committing | TransactionState::Aborting => {
                let committing = txn.state == TransactionState::Committing;
                let drained = produces_in_flight == 0 && (!committing || accumulator_empty);
                if !drained {
                    None
                } else if !txn.has_partitions() {
                    // An empty transaction ends locally (Kafka sends no EndTxn).
                    txn.state = TransactionState::Ready;
                    txn.end_transaction();
                    self.events.push_back(if committing {
                        ProducerEvent::TransactionCommitted
                    } else {
                        ProducerEvent::TransactionAborted
                    });
                    None
                } else {
                    Some(TxnRequestKind::EndTxn)
                }
            }
            _ => None,
        }?;
        let Some(coordinator) = txn.coordinator.clone() else {
            txn.in_flight = Some(TxnRequestKind::FindCoordinator);
            let request = FindCoordinatorRequest::default()
                .with_key_type(COORDINATOR_TYPE_TRANSACTION)
                .with_coordinator_keys(vec![StrBytes::from_string(txn.transactional_id.clone())]);
            let destination = self.any_broker();
            let kind = TxnRequestKind::FindCoordinator;
            let request_id = self.next_request(InFlight::Transaction(kind));
            return Some(self.transmit(
                request_id,
                destination,
                api_versions::FIND_COORDINATOR,
                RequestKind::FindCoordinator(request),
            ));
        };
        let transactional_id = TransactionalId(StrBytes::from_string(txn.transactional_id.clone()));
        let identity = self.identity.unwrap_or(ProducerIdentity::NONE);
        let (api_version, request) = match next {
            TxnRequestKind::InitProducerId => (
                api_versions::INIT_PRODUCER_ID,
                RequestKind::InitProducerId(
                    InitProducerIdRequest::default()
                        .with_transactional_id(Some(transactional_id))
                        .with_transaction_timeout_ms(
                            self.config.transaction_timeout_ms.min(i32::MAX as u64) as i32,
                        )
                        .with_producer_id(ProducerId(-1))
                        .with_producer_epoch(-1),
                ),
            ),
            TxnRequestKind::AddPartitions => {
                txn.adding = std::mem::take(&mut txn.pending);
                let mut topics: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for tp in &txn.adding {
                    topics.entry(&tp.topic).or_default().push(tp.partition);
                }
                let topics = topics
                    .into_iter()
                    .map(|(name, partitions)| {
                        AddPartitionsToTxnTopic::default()
                            .with_name(TopicName(StrBytes::from_string(name.to_string())))
                            .with_partitions(partitions)
                    })
                    .collect();
                (
                    api_versions::ADD_PARTITIONS_TO_TXN,
                    RequestKind::AddPartitionsToTxn(
                        AddPartitionsToTxnRequest::default()
                            .with_v3_and_below_transactional_id(transactional_id)
                            .with_v3_and_below_producer_id(ProducerId(identity.producer_id))
                            .with_v3_and_below_producer_epoch(identity.producer_epoch)
                            .with_v3_and_below_topics(topics),
                    ),
                )
            }
            TxnRequestKind::EndTxn => (
                api_versions::END_TXN,
                RequestKind::EndTxn(
                    EndTxnRequest::default()
                        .with_transactional_id(transactional_id)
                        .with_producer_id(ProducerId(identity.producer_id))
                        .with_producer_epoch(identity.producer_epoch)
                        .with_committed(txn.state == TransactionState::Committing),
                ),
            ),
            TxnRequestKind::FindCoordinator => unreachable!("chosen above only"),
        };
        txn.in_flight = Some(next);
        let request_id = self.next_request(InFlight::Transaction(next));
        Some(self.transmit(
            request_id,
            Destination::Broker(coordinator),
            api_version,
            request,
        ))
    }

    fn txn_retry(&mut self, find_coordinator: bool) {
        let backoff = self.config.retry_backoff_ms;
        if let Some(txn) = &mut self.transactions {
            txn.retry_at_ms = self.now_ms + backoff;
            if find_coordinator {
                txn.coordinator = None;
            }
        }
    }

    fn on_txn_response(
        &mut self,
        kind: TxnRequestKind,
        response: Result<ResponseKind, RequestFailure>,
    ) {
        let Some(txn) = self.transactions.as_mut() else {
            return;
        };
        txn.in_flight = None;
        if kind == TxnRequestKind::AddPartitions {
            // Until the answer says otherwise, the partitions are still to be added.
            let adding = std::mem::take(&mut txn.adding);
            txn.pending.extend(adding.iter().cloned());
        }
        let response = match response {
            Ok(response) => response,
            Err(_) => return self.txn_retry(true),
        };
        match (kind, response) {
            (TxnRequestKind::FindCoordinator, ResponseKind::FindCoordinator(r)) => {
                self.on_find_coordinator(&r)
            }
            (TxnRequestKind::InitProducerId, ResponseKind::InitProducerId(r)) => {
                self.on_txn_init_producer_id(&r)
            }
            (TxnRequestKind::AddPartitions, ResponseKind::AddPartitionsToTxn(r)) => {
                self.on_add_partitions(&r)
            }
            (TxnRequestKind::EndTxn, ResponseKind::EndTxn(r)) => self.on_end_txn(&r),
            _ => self.txn_retry(true),
        }
    }

    fn on_find_coordinator(&mut self, response: &FindCoordinatorResponse) {
        let found = response
            .coordinators
            .first()
            .and_then(|c| match ResponseError::try_from_code(c.error_code) {
                None => Some(BrokerAddress {
                    node_id: c.node_id.0,
                    host: c.host.to_string(),
                    port: c.port,
                }),
                Some(_) => None,
            });
        match found {
            Some(coordinator) => {
                if let Some(txn) = &mut self.transactions {
                    txn.coordinator = Some(coordinator);
                }
            }
            None => {
                self.broker_rotation += 1;
                self.txn_retry(true);
            }
        }
    }

    /// Kafka `TransactionManager` error handling shared by the coordinator requests: `Ok(())` when
    /// handled (retry scheduled or fatal), `Err(error)` for the caller to handle.
    fn txn_common_error(&mut self, error: ResponseError) -> Result<(), ResponseError> {
        match error {
            ResponseError::NotCoordinator | ResponseError::CoordinatorNotAvailable => {
                self.txn_retry(true);
                Ok(())
            }
            ResponseError::CoordinatorLoadInProgress | ResponseError::ConcurrentTransactions => {
                self.txn_retry(false);
                Ok(())
            }
            ResponseError::ProducerFenced
            | ResponseError::InvalidProducerEpoch
            | ResponseError::InvalidProducerIdMapping
            | ResponseError::TransactionalIdAuthorizationFailed
            | ResponseError::InvalidTxnState => {
                // Kafka maps INVALID_PRODUCER_EPOCH from the coordinator to ProducerFencedException.
                let fatal = if error == ResponseError::InvalidProducerEpoch {
                    ResponseError::ProducerFenced
                } else {
                    error
                };
                self.become_fatal(fatal);
                Ok(())
            }
            other => Err(other),
        }
    }

    fn on_txn_init_producer_id(&mut self, response: &InitProducerIdResponse) {
        match ResponseError::try_from_code(response.error_code) {
            None => {
                self.set_identity(response.producer_id.0, response.producer_epoch);
                if let Some(txn) = &mut self.transactions {
                    txn.state = TransactionState::Ready;
                }
                self.events
                    .push_back(ProducerEvent::TransactionsInitialized {
                        producer_id: response.producer_id.0,
                        producer_epoch: response.producer_epoch,
                    });
            }
            Some(error) => {
                if let Err(other) = self.txn_common_error(error) {
                    self.become_fatal(other);
                }
            }
        }
    }

    fn on_add_partitions(&mut self, response: &AddPartitionsToTxnResponse) {
        if let Some(error) = ResponseError::try_from_code(response.error_code) {
            if let Err(other) = self.txn_common_error(error) {
                self.txn_abortable(other);
            }
            return;
        }
        let mut results: Vec<(TopicPartition, Option<ResponseError>)> = Vec::new();
        for topic in &response.results_by_topic_v3_and_below {
            for partition in &topic.results_by_partition {
                results.push((
                    TopicPartition::new(topic.name.0.to_string(), partition.partition_index),
                    ResponseError::try_from_code(partition.partition_error_code),
                ));
            }
        }
        let mut first_error = None;
        for (tp, error) in results {
            match error {
                None => {
                    if let Some(txn) = &mut self.transactions {
                        txn.pending.remove(&tp);
                        txn.added.insert(tp);
                    }
                }
                Some(ResponseError::OperationNotAttempted) => {}
                Some(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            if let Err(other) = self.txn_common_error(error) {
                self.txn_abortable(other);
            }
        }
    }

    fn txn_abortable(&mut self, error: ResponseError) {
        let Some(txn) = self.transactions.as_mut() else {
            return;
        };
        let was_committing = txn.state == TransactionState::Committing;
        txn.abortable(ProducerError::Abortable(error));
        if was_committing {
            self.events
                .push_back(ProducerEvent::TransactionFailed(ProducerError::Abortable(
                    error,
                )));
        }
    }

    fn on_end_txn(&mut self, response: &EndTxnResponse) {
        match ResponseError::try_from_code(response.error_code) {
            None => {
                let Some(txn) = self.transactions.as_mut() else {
                    return;
                };
                let committed = txn.state == TransactionState::Committing;
                txn.state = TransactionState::Ready;
                txn.end_transaction();
                self.events.push_back(if committed {
                    ProducerEvent::TransactionCommitted
                } else {
                    ProducerEvent::TransactionAborted
                });
            }
            Some(error) => {
                if let Err(other) = self.txn_common_error(error) {
                    self.become_fatal(other);
                }
            }
        }
    }

    // Internals: produce.

    fn poll_produce(&mut self, now_ms: u64) -> Option<Transmit> {
        let idempotent = self.config.idempotent();
        if idempotent && (self.identity.is_none() || self.epoch_bump_pending) {
            return None;
        }
        let flushing = self.flushing
            || self
                .transactions
                .as_ref()
                .is_some_and(|t| t.state == TransactionState::Committing);
        let mut chosen: Option<(BrokerAddress, Vec<TopicPartition>)> = None;
        let mut request_bytes = 0usize;
        for tp in self.accumulator.partitions() {
            if let Some(txn) = &self.transactions {
                let sending = matches!(
                    txn.state,
                    TransactionState::InTransaction | TransactionState::Committing
                );
                if !sending || !txn.may_send_to(&tp) {
                    continue;
                }
            }
            let Some(leader) = self.metadata.leader(&tp.topic, tp.partition).cloned() else {
                self.metadata.request_update();
                continue;
            };
            if let Some((node, _)) = &chosen {
                if node.node_id != leader.node_id {
                    continue;
                }
            }
            let in_flight = self
                .produce_in_flight
                .get(&leader.node_id)
                .copied()
                .unwrap_or(0);
            if in_flight >= self.config.max_in_flight_requests_per_connection {
                continue;
            }
            if !self.accumulator.is_ready(
                now_ms,
                &tp,
                self.config.linger_ms,
                self.config.batch_size,
                flushing,
            ) {
                continue;
            }
            let Some(first) = self.accumulator.first(&tp) else {
                continue;
            };
            if idempotent && !self.may_drain_in_order(&tp, first) {
                continue;
            }
            if request_bytes > 0 && request_bytes + first.size_bytes > self.config.max_request_size
            {
                break;
            }
            request_bytes += first.size_bytes;
            chosen
                .get_or_insert_with(|| (leader, Vec::new()))
                .1
                .push(tp);
        }
        let (leader, partitions) = chosen?;
        let mut batches = Vec::with_capacity(partitions.len());
        for tp in partitions {
            let Some(mut batch) = self.accumulator.pop_first(&tp) else {
                continue;
            };
            if idempotent && batch.base_sequence.is_none() {
                let sequences = self.sequences.entry(tp.clone()).or_default();
                batch.base_sequence = Some(sequences.assign(batch.records.len()));
                batch.producer = self.identity;
            }
            batch.attempts += 1;
            batch.retry_at_ms = None;
            batches.push(batch);
        }
        Some(self.produce_request(leader, batches))
    }

    /// Kafka `shouldStopDrainBatchesForPartition`: a retried batch goes only when it is the first
    /// unresolved one of its partition, so the broker sees the sequences in order.
    fn may_drain_in_order(&self, tp: &TopicPartition, first: &ProducerBatch) -> bool {
        let Some(sequences) = self.sequences.get(tp) else {
            return true;
        };
        match first.base_sequence {
            Some(base) => sequences.first_unresolved() == Some(base),
            None => true,
        }
    }

    fn produce_request(&mut self, leader: BrokerAddress, batches: Vec<ProducerBatch>) -> Transmit {
        let transactional = self.transactions.is_some();
        let mut topics: BTreeMap<String, Vec<PartitionProduceData>> = BTreeMap::new();
        for batch in &batches {
            let identity = batch.producer.unwrap_or(ProducerIdentity::NONE);
            let records: Option<Bytes> = encode_data_batch(
                identity,
                batch.base_sequence.unwrap_or(-1),
                transactional,
                &batch.records,
            );
            topics
                .entry(batch.topic_partition.topic.clone())
                .or_default()
                .push(
                    PartitionProduceData::default()
                        .with_index(batch.topic_partition.partition)
                        .with_records(records),
                );
        }
        let topic_data = topics
            .into_iter()
            .map(|(name, partitions)| {
                TopicProduceData::default()
                    .with_name(TopicName(StrBytes::from_string(name)))
                    .with_partition_data(partitions)
            })
            .collect();
        let request = ProduceRequest::default()
            .with_transactional_id(
                self.config
                    .transactional_id
                    .clone()
                    .map(|t| TransactionalId(StrBytes::from_string(t))),
            )
            .with_acks(self.config.acks.wire_value())
            .with_timeout_ms(self.config.request_timeout_ms.min(i32::MAX as u64) as i32)
            .with_topic_data(topic_data);
        let node_id = leader.node_id;
        if self.config.acks == Acks::None {
            // No response will come: the records count as sent, offsets unknown (Kafka does the same).
            self.next_request_id += 1;
            let request_id = RequestId(self.next_request_id);
            for batch in batches {
                self.complete_batch(batch, None);
            }
            let mut transmit = self.transmit(
                request_id,
                Destination::Broker(leader),
                api_versions::PRODUCE,
                RequestKind::Produce(request),
            );
            transmit.expects_response = false;
            return transmit;
        }
        *self.produce_in_flight.entry(node_id).or_insert(0) += 1;
        let request_id = self.next_request(InFlight::Produce { node_id, batches });
        self.transmit(
            request_id,
            Destination::Broker(leader),
            api_versions::PRODUCE,
            RequestKind::Produce(request),
        )
    }

    fn on_produce_response(&mut self, batches: Vec<ProducerBatch>, response: &ProduceResponse) {
        let mut answers: BTreeMap<(String, i32), (Option<ResponseError>, i64)> = BTreeMap::new();
        for topic in &response.responses {
            for partition in &topic.partition_responses {
                answers.insert(
                    (topic.name.0.to_string(), partition.index),
                    (
                        ResponseError::try_from_code(partition.error_code),
                        partition.base_offset,
                    ),
                );
            }
        }
        for batch in batches {
            let key = (
                batch.topic_partition.topic.clone(),
                batch.topic_partition.partition,
            );
            match answers.get(&key).copied() {
                Some((None, base_offset)) => self.complete_batch(batch, Some(base_offset)),
                // Kafka treats DUPLICATE_SEQUENCE_NUMBER as success: the batch is already in the log
                // (older than the five batches the broker remembers), at an offset it no longer knows.
                Some((Some(ResponseError::DuplicateSequenceNumber), _)) => {
                    self.complete_batch(batch, None)
                }
                Some((Some(error), _)) => self.on_batch_error(batch, error),
                // A response that omits a partition it was asked about is bad input.
                None => self.on_batch_error(batch, ResponseError::UnknownServerError),
            }
        }
    }

    /// Kafka's `NetworkClient` closes a connection whose request timed out or failed: every other
    /// request in flight on it fails too (as a disconnect), so nothing sent later on a dead connection
    /// can overtake a batch that is still to be retried.
    fn disconnect(&mut self, node: i32) {
        let others: Vec<RequestId> = self
            .in_flight
            .iter()
            .filter(|(_, f)| matches!(f, InFlight::Produce { node_id, .. } if *node_id == node))
            .map(|(id, _)| *id)
            .collect();
        for id in others {
            if let Some(InFlight::Produce { node_id, batches }) = self.in_flight.remove(&id) {
                if let Some(count) = self.produce_in_flight.get_mut(&node_id) {
                    *count = count.saturating_sub(1);
                }
                for batch in batches {
                    self.on_batch_error(batch, ResponseError::NetworkException);
                }
            }
        }
    }

    /// Kafka `Sender.completeBatch` / `canRetry` for a failed batch.
    fn on_batch_error(&mut self, mut batch: ProducerBatch, error: ResponseError) {
        if error == ResponseError::OutOfOrderSequenceNumber && self.acknowledged_after(&batch) {
            // The broker acknowledged a later sequence of this epoch, and it appends a producer's
            // batches only in sequence order: this batch is in the log, and its retry is refused only
            // because it left the broker's window of five remembered batches. Its response was lost
            // while later ones arrived (a fault TCP would not produce; Java's client would retry it
            // until delivery.timeout.ms). Complete it without an offset, as DUPLICATE_SEQUENCE_NUMBER.
            self.complete_batch(batch, None);
            return;
        }
        if invalidates_metadata(error) {
            self.metadata.request_update();
        }
        let tp = batch.topic_partition.clone();
        if matches!(
            error,
            ResponseError::ProducerFenced
                | ResponseError::InvalidProducerEpoch
                | ResponseError::TransactionalIdAuthorizationFailed
        ) && self.transactions.is_some()
        {
            self.fail_batch(batch, ProducerError::Fatal(ResponseError::ProducerFenced));
            self.become_fatal(ResponseError::ProducerFenced);
            return;
        }
        let deadline_passed = self.now_ms >= batch.created_ms + self.config.delivery_timeout_ms;
        let retries_left = batch.attempts <= self.config.retries;
        let retriable = match error {
            // Out of order but not the batch the broker expects next: an earlier batch failed and
            // this one follows it; retry it after that one (Kafka `canRetry`).
            ResponseError::OutOfOrderSequenceNumber => batch
                .base_sequence
                .is_some_and(|base| self.sequences.get(&tp).is_some_and(|s| !s.is_next(base))),
            e => e.is_retriable(),
        };
        let aborting = self
            .transactions
            .as_ref()
            .is_some_and(|t| matches!(t.state, TransactionState::Aborting));
        if retriable && retries_left && !deadline_passed && self.fatal.is_none() && !aborting {
            let exponent = batch.attempts.saturating_sub(1).min(16);
            let backoff = self
                .config
                .retry_backoff_ms
                .saturating_mul(1 << exponent)
                .min(
                    self.config
                        .retry_backoff_max_ms
                        .max(self.config.retry_backoff_ms),
                );
            batch.retry_at_ms = Some(self.now_ms + backoff);
            self.accumulator.reenqueue(batch);
            return;
        }
        self.fail_batch(batch, ProducerError::Broker(error));
    }

    /// Whether the broker acknowledged a sequence after `batch`'s, in the batch's epoch.
    fn acknowledged_after(&self, batch: &ProducerBatch) -> bool {
        let Some(last_sequence) = batch.last_sequence() else {
            return false;
        };
        batch.producer == self.identity
            && self.sequences.get(&batch.topic_partition).is_some_and(|s| {
                s.last_acked_sequence >= 0 && last_sequence < s.last_acked_sequence
            })
    }

    fn complete_batch(&mut self, batch: ProducerBatch, base_offset: Option<i64>) {
        if let (Some(base), Some(last)) = (batch.base_sequence, batch.last_sequence()) {
            if batch.producer == self.identity {
                if let Some(sequences) = self.sequences.get_mut(&batch.topic_partition) {
                    sequences.acknowledge(base, last);
                }
            }
        }
        for (i, record_id) in batch.record_ids.iter().enumerate() {
            self.events
                .push_back(ProducerEvent::Delivery(DeliveryReport {
                    record_id: *record_id,
                    topic: batch.topic_partition.topic.clone(),
                    partition: batch.topic_partition.partition,
                    offset: base_offset.filter(|o| *o >= 0).map(|o| o + i as i64),
                    error: None,
                }));
        }
    }

    /// A batch failed for good: its records get error reports; a batch that already had a sequence
    /// leaves a hole, which an idempotent producer repairs with an epoch bump and a transactional
    /// one by aborting.
    fn fail_batch(&mut self, batch: ProducerBatch, error: ProducerError) {
        if let Some(base) = batch.base_sequence {
            if batch.producer == self.identity {
                if let Some(sequences) = self.sequences.get_mut(&batch.topic_partition) {
                    sequences.forget(base);
                }
                if self.transactions.is_none() {
                    self.epoch_bump_pending = true;
                }
            }
        }
        if self.transactions.is_some()
            && !matches!(
                error,
                ProducerError::TransactionAborted | ProducerError::Fatal(_)
            )
        {
            let code = match &error {
                ProducerError::Broker(e) => *e,
                _ => ResponseError::RequestTimedOut,
            };
            self.txn_abortable(code);
        }
        for record_id in &batch.record_ids {
            self.events
                .push_back(ProducerEvent::Delivery(DeliveryReport {
                    record_id: *record_id,
                    topic: batch.topic_partition.topic.clone(),
                    partition: batch.topic_partition.partition,
                    offset: None,
                    error: Some(error.clone()),
                }));
        }
    }
}

/// Errors after which Kafka refreshes metadata (`InvalidMetadataException` and disconnects).
fn invalidates_metadata(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::NotLeaderOrFollower
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::LeaderNotAvailable
            | ResponseError::FencedLeaderEpoch
            | ResponseError::UnknownLeaderEpoch
            | ResponseError::KafkaStorageError
            | ResponseError::NetworkException
    )
}
