//! The cluster backend's clients: one producer node per producer entry (the simulator's producer client
//! with the engine backend's producer rules: the rate, Kafka's partitioner, `linger.ms` and
//! `batch.size`; acks=all; idempotent by default as Kafka's; poison records marked in their values; an
//! entry with `transactions` runs it transactionally, committing or aborting each transaction) and one
//! share-consumer node per consumer instance ([`Consumers`], which the fault target crashes, restarts,
//! stalls and partitions; classic consumers too, through [`ClassicConsumers`]).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use madsim::rand::Rng;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use rand::rngs::StdRng;
use rand::SeedableRng;
use sharesim_sim::client::application::{slow_record_prefix, AcknowledgePolicy};
use sharesim_sim::client::producer::{Producer, SendRecord};
use sharesim_sim::client::share_consumer::RecordDeserializer;
use sharesim_sim::faults::{virtual_now_ms, FaultError, FaultNode};
use sharesim_sim::harness::SimCluster;
use sharesim_sim::node::{run_share_consumer, spawn_producer, NodeClock, ShareConsumerSetup};

use super::classic::ClassicConsumers;
use super::setup::ClusterSetup;
use crate::runner::engine_backend::{processing_time, ProducerState};
use crate::scenario::workload::{PoisonKind, PoisonRecord, ProducerSpec, Transactions};
use crate::scenario::{GroupType, Policy, Scenario};

/// Value prefix of a record whose processing fails (the application's failure marker).
const PROCESSING_FAILURE_PREFIX: &str = "FAIL-";
/// Value prefix of a record that fails to deserialize (the consumer's poison marker).
const DESERIALIZATION_PREFIX: &str = "POISON-";

/// How many transactional producers finished (every transaction committed or aborted, or the
/// producer failed): the drain watch cannot tell data records from transaction markers by the high
/// watermark, so it waits for these instead.
#[derive(Clone, Debug, Default)]
pub(super) struct TransactionalProducersDone(Arc<AtomicUsize>);

impl TransactionalProducersDone {
    /// Whether at least `count` transactional producers finished.
    pub(super) fn at_least(&self, count: usize) -> bool {
        self.0.load(Ordering::SeqCst) >= count
    }
}

/// Starts one node per scenario producer, writing from `origin_ms` on. Each producer follows the same
/// rules as the engine backend's ([`ProducerState`]): the rate and Kafka's partitioner (key hash or
/// sticky partition); the producer client batches by `linger.ms` and `batch.size` as the engine does
/// (the share-partition leader acquires whole batches, spec 1.5). Returns the producer nodes (for
/// partitions that name `producer:I`) and their clocks (for `clock_skew`), or the first bad producer
/// config.
///
/// A producer's clock (what skew and drift move, as a wrong wall clock moves a Java producer's
/// `time.milliseconds()`): the records' CreateTime timestamps, and the client's own timers (linger,
/// request and transaction timeouts). The workload's pace (when the application hands records over)
/// stays on the simulator's time: it is the scenario's, not the client's.
pub(super) fn spawn_producers(
    cluster: &SimCluster,
    scenario: &Scenario,
    origin_ms: u64,
    transactional_done: &TransactionalProducersDone,
) -> Result<(Vec<NodeHandle>, Vec<NodeClock>), String> {
    let mut nodes = Vec::new();
    let mut clocks = Vec::new();
    for (index, spec) in scenario.producers.iter().enumerate() {
        let clock = NodeClock::new();
        clocks.push(clock.clone());
        let name = format!("producer-{index}");
        let partitions = scenario
            .topics
            .iter()
            .find(|topic| topic.name == spec.topic)
            .map_or(1, |topic| topic.partitions.max(1));
        // Drawn from the run's seeded random stream, in producer order.
        let seed: u64 = madsim::rand::thread_rng().gen();
        let producer = ProducerState::new(spec.clone(), 0, seed)
            .map_err(|problem| format!("producers[{index}].configs.{problem}"))?;
        let node = cluster.client_node(&name);
        if let Some(transactions) = spec.transactions.clone() {
            let transactional = TransactionalProducer {
                name: name.clone(),
                producer,
                transactions,
                partitions,
                seed,
                bootstrap: cluster.bootstrap(),
                faults: cluster.faults().clone(),
                origin_ms,
                done: transactional_done.clone(),
                clock,
            };
            node.spawn(transactional.run());
            nodes.push(node);
            continue;
        }
        let plain = PlainProducer {
            name: name.clone(),
            producer,
            partitions,
            seed,
            bootstrap: cluster.bootstrap(),
            faults: cluster.faults().clone(),
            origin_ms,
            clock,
        };
        node.spawn(plain.run());
        nodes.push(node);
    }
    Ok((nodes, clocks))
}

/// A producer entry without `transactions`, run by the simulator's producer client (Kafka's
/// `KafkaProducer`): idempotent unless the entry sets `enable.idempotence=false` (Kafka's default since
/// 3.0), so a batch retried after a leader crash is written once. Records follow the engine's producer
/// rules ([`ProducerState`]: rate, keys, partitioner, poison); the client batches them by `linger.ms`
/// and `batch.size` and retries until `delivery.timeout.ms`.
struct PlainProducer {
    name: String,
    producer: ProducerState,
    partitions: u32,
    seed: u64,
    bootstrap: Vec<std::net::SocketAddr>,
    faults: sharesim_sim::net::NetFaults,
    origin_ms: u64,
    /// The producer's clock (see [`spawn_producers`]).
    clock: NodeClock,
}

impl PlainProducer {
    /// Sends every record when it is due, then flushes; stops at a fatal client error.
    async fn run(mut self) {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut config = self.producer.config.clone();
        config.client_id = self.name.clone();
        let client = spawn_producer(
            Producer::new(config, self.seed),
            self.bootstrap.clone(),
            self.clock.clone(),
            self.faults.clone(),
        );
        let topic = self.producer.spec.topic.clone();
        while self.producer.sent < self.producer.spec.count {
            // The workload's pace is the simulator's time; the records' timestamps the clock's.
            let now_ms = virtual_now_ms().saturating_sub(self.origin_ms);
            let due = self.producer.due_by(now_ms);
            let timestamp_ms = self.clock.now_ms().saturating_sub(self.origin_ms);
            while self.producer.sent < due {
                let send = next_record(
                    &mut self.producer,
                    &topic,
                    self.partitions,
                    timestamp_ms,
                    &mut rng,
                );
                if client.send(send).is_err() {
                    return;
                }
                self.producer.sent += 1;
            }
            let wait_ms = match self.producer.sent < self.producer.spec.count {
                // Not started yet: sleep until the start, else one linger window.
                true if now_ms < self.producer.spec.start_ms => {
                    self.producer.spec.start_ms - now_ms
                }
                _ => self.producer.linger_ms(),
            };
            madsim::time::sleep(Duration::from_millis(wait_ms)).await;
        }
        client.flush().await;
    }
}

/// A producer entry with `transactions`, run by the simulator's transactional producer client (its
/// `transactional.id` is the node name unless the entry sets one): records follow the engine's
/// producer rules ([`ProducerState`]: rate, keys, partitioner, poison) and go out
/// `records_per_transaction` at a time, each group in one transaction that is aborted with probability
/// `abort_ratio` (seeded by the run), else committed. The client writes the transaction markers
/// through the brokers' transaction coordinator.
struct TransactionalProducer {
    name: String,
    producer: ProducerState,
    transactions: Transactions,
    partitions: u32,
    seed: u64,
    bootstrap: Vec<std::net::SocketAddr>,
    faults: sharesim_sim::net::NetFaults,
    origin_ms: u64,
    done: TransactionalProducersDone,
    /// The producer's clock (see [`spawn_producers`]).
    clock: NodeClock,
}

impl TransactionalProducer {
    async fn run(mut self) {
        self.produce().await;
        self.done.0.fetch_add(1, Ordering::SeqCst);
    }

    /// Every transaction in turn; stops at the first error the client reports (a fenced or failed
    /// producer: the records not sent are simply not produced).
    async fn produce(&mut self) {
        let mut rng = StdRng::seed_from_u64(self.seed);
        let mut config = self.producer.config.clone();
        config.client_id = self.name.clone();
        if config.transactional_id.as_deref().is_none_or(str::is_empty) {
            config.transactional_id = Some(self.name.clone());
        }
        let start_ms = self.origin_ms + self.producer.spec.start_ms;
        madsim::time::sleep(Duration::from_millis(
            start_ms.saturating_sub(virtual_now_ms()),
        ))
        .await;
        let client = spawn_producer(
            Producer::new(config, self.seed),
            self.bootstrap.clone(),
            self.clock.clone(),
            self.faults.clone(),
        );
        if client.init_transactions().await.is_err() {
            return;
        }
        let count = self.producer.spec.count;
        let per_transaction = self.transactions.records_per_transaction.max(1);
        let topic = self.producer.spec.topic.clone();
        while self.producer.sent < count {
            let end = (self.producer.sent + per_transaction).min(count);
            if client.begin_transaction().is_err() {
                return;
            }
            while self.producer.sent < end {
                // Each record is sent when it is due, as an application sends what arrives while its
                // transaction is open: the transaction stays open (and holds the LSO back) until
                // its last record is sent.
                // The workload's pace is the simulator's time; the records' timestamps the clock's.
                loop {
                    let now_ms = virtual_now_ms().saturating_sub(self.origin_ms);
                    if self.producer.due_by(now_ms) > self.producer.sent {
                        break;
                    }
                    madsim::time::sleep(Duration::from_millis(self.producer.linger_ms())).await;
                }
                let timestamp_ms = self.clock.now_ms().saturating_sub(self.origin_ms);
                let send = next_record(
                    &mut self.producer,
                    &topic,
                    self.partitions,
                    timestamp_ms,
                    &mut rng,
                );
                if client.send(send).is_err() {
                    return;
                }
                self.producer.sent += 1;
            }
            let abort_ratio = self.transactions.abort_ratio.clamp(0.0, 1.0);
            let ended = if abort_ratio > 0.0 && rng.gen_bool(abort_ratio) {
                // The records reach the log before the abort marker, as an application's would.
                client.flush().await;
                client.abort_transaction().await
            } else {
                client.commit_transaction().await
            };
            if ended.is_err() {
                return;
            }
        }
    }
}

/// Record `index`'s value: `v{index}` padded to `value_bytes`, with a poison prefix when it is poison.
/// Kills every running node of `nodes` (a consumer's instances): no close, no leave. Refused when none
/// was running. One rule for share and classic consumers.
pub(super) fn kill_running<'a>(
    nodes: impl IntoIterator<Item = &'a mut Option<NodeHandle>>,
    consumer: FaultNode,
) -> Result<(), FaultError> {
    let mut crashed = 0;
    for node in nodes {
        if let Some(node) = node.take() {
            Handle::current().kill(node.id());
            crashed += 1;
        }
    }
    if crashed == 0 {
        return Err(FaultError::Refused(format!("{consumer} is not running")));
    }
    Ok(())
}

/// Pauses (`pause`) or resumes every running node of `nodes` (a consumer's instances): nothing on a
/// paused node runs, heartbeats included. One rule for share and classic consumers.
pub(super) fn pause_running<'a>(
    nodes: impl IntoIterator<Item = &'a Option<NodeHandle>>,
    pause: bool,
) {
    let handle = Handle::current();
    for node in nodes.into_iter().flatten() {
        if pause {
            handle.pause(node.id());
        } else {
            handle.resume(node.id());
        }
    }
}

/// The producer's next record (its `sent`-th), stamped `timestamp_ms`, with its poison if it is one and
/// the partition Kafka's partitioner gives it: one rule for plain and transactional producers.
fn next_record(
    producer: &mut ProducerState,
    topic: &str,
    partitions: u32,
    timestamp_ms: u64,
    rng: &mut StdRng,
) -> SendRecord {
    let sequence = producer.sent;
    let poison = producer.poison_of(sequence, rng);
    let value = value_of(&producer.spec, sequence, poison);
    let record = producer.record(sequence, timestamp_ms, &value, rng);
    let partition = producer.partition_of(&record, partitions) as i32;
    SendRecord {
        topic: topic.to_string(),
        partition: Some(partition),
        record,
    }
}

fn value_of(spec: &ProducerSpec, index: u64, poison: Option<PoisonRecord>) -> Vec<u8> {
    let prefix = match poison {
        Some(PoisonRecord {
            kind: PoisonKind::ProcessingFailure,
            ..
        }) => PROCESSING_FAILURE_PREFIX.to_string(),
        Some(PoisonRecord {
            kind: PoisonKind::Deserialization,
            ..
        }) => DESERIALIZATION_PREFIX.to_string(),
        Some(PoisonRecord {
            kind: PoisonKind::Slow,
            processing_ms,
        }) => slow_record_prefix(processing_ms),
        // Corrupt batches are the `corrupt_batch` fault's (not carried out by the cluster yet).
        Some(PoisonRecord {
            kind: PoisonKind::CorruptBatch,
            ..
        })
        | None => String::new(),
    };
    let mut value = format!("{prefix}v{index}").into_bytes();
    if value.len() < spec.value_bytes as usize {
        value.resize(spec.value_bytes as usize, b'.');
    }
    value
}

/// One consumer instance.
struct ConsumerSlot {
    entry: usize,
    instance: u32,
    start_ms: u64,
    setup: ShareConsumerSetup,
    node: Option<NodeHandle>,
    generation: u32,
}

/// Every share-consumer instance of the scenario, started or not.
pub(super) struct Consumers {
    slots: Vec<ConsumerSlot>,
    /// Producer nodes, once started (partitions may name them).
    pub producers: Vec<NodeHandle>,
    /// The producers' clocks, once started (`clock_skew` may name them).
    pub producer_clocks: Vec<NodeClock>,
    /// Consumer configs the share consumer rejected (reported as notes).
    pub problems: Vec<String>,
    /// The classic groups' consumers (fault targets too).
    pub classic: ClassicConsumers,
}

impl Consumers {
    /// The setups of every instance of every share group's consumer entry (nothing starts yet).
    pub(super) fn new(
        cluster: &SimCluster,
        scenario: &Scenario,
        seed: u64,
        setup: &ClusterSetup,
    ) -> Consumers {
        let mut slots = Vec::new();
        let mut problems = Vec::new();
        for (entry, spec) in scenario.consumers.iter().enumerate() {
            let Some(group) = scenario.groups.iter().find(|g| g.name == spec.group) else {
                continue;
            };
            if group.group_type != GroupType::Share {
                continue;
            }
            let topics = group.subscribed_topics(scenario);
            for instance in 0..spec.count {
                let name = format!("consumer-{entry}-{instance}");
                let node_seed = seed ^ ((entry as u64) << 32 | u64::from(instance));
                let mut consumer =
                    cluster.share_consumer_setup(&name, &group.name, &topics, node_seed);
                consumer.semantics = setup.semantics.clone();
                for (config, value) in &spec.configs {
                    if let Err(error) = consumer.config.set(config, value.as_str()) {
                        problems.push(format!("consumers[{entry}].configs.{config}: {error}"));
                    }
                }
                consumer.deserializer =
                    RecordDeserializer::PoisonMarker(DESERIALIZATION_PREFIX.as_bytes().to_vec());
                let application = &mut consumer.application;
                application.processing_time = processing_time(&spec.processing);
                application.failure_probability = spec.failure.processing_failure_ratio;
                application.failure_marker = Some(PROCESSING_FAILURE_PREFIX.as_bytes().to_vec());
                application.policy = match &spec.policy {
                    Policy::Accept | Policy::RenewLongTasks { .. } => AcknowledgePolicy::Accept,
                    Policy::ReleaseOnFailure => AcknowledgePolicy::ReleaseOnFailure,
                    Policy::RejectAfterNTries { tries } => AcknowledgePolicy::RejectAfterTries {
                        tries: i16::try_from(*tries).unwrap_or(i16::MAX),
                    },
                };
                if let Policy::RenewLongTasks { renew_after_ms } = &spec.policy {
                    application.renew_after_ms = Some(*renew_after_ms);
                }
                slots.push(ConsumerSlot {
                    entry,
                    instance,
                    start_ms: spec.start_ms,
                    setup: consumer,
                    node: None,
                    generation: 0,
                });
            }
        }
        problems.dedup();
        Consumers {
            slots,
            producers: Vec::new(),
            producer_clocks: Vec::new(),
            problems,
            classic: ClassicConsumers::default(),
        }
    }

    /// Starts, now, every instance whose entry starts at `start_ms`.
    pub(super) fn spawn_starting_at(&mut self, cluster: &SimCluster, start_ms: u64) {
        for slot in self.slots.iter_mut().filter(|s| s.start_ms == start_ms) {
            let node = cluster.client_node(&slot.setup.node_name);
            node.spawn(run_share_consumer(slot.setup.clone()));
            slot.node = Some(node);
        }
    }

    /// Starts every instance not started yet, each at `origin_ms` plus its entry's `start_ms`.
    pub(super) fn spawn_later(&mut self, cluster: &SimCluster, origin_ms: u64) {
        for slot in self.slots.iter_mut().filter(|s| s.node.is_none()) {
            let node = cluster.client_node(&slot.setup.node_name);
            let setup = slot.setup.clone();
            let start_ms = origin_ms + slot.start_ms;
            node.spawn(async move {
                let wait_ms = start_ms.saturating_sub(virtual_now_ms());
                madsim::time::sleep(Duration::from_millis(wait_ms)).await;
                run_share_consumer(setup).await;
            });
            slot.node = Some(node);
        }
    }

    /// The slots `consumer` names (one instance, or every instance of an entry).
    fn matching(&mut self, consumer: FaultNode) -> Result<Vec<&mut ConsumerSlot>, FaultError> {
        let FaultNode::Consumer { entry, instance } = consumer else {
            return Err(FaultError::UnknownTarget(consumer.to_string()));
        };
        let slots: Vec<&mut ConsumerSlot> = self
            .slots
            .iter_mut()
            .filter(|s| s.entry == entry && instance.is_none_or(|i| i == s.instance))
            .collect();
        if slots.is_empty() {
            return Err(FaultError::UnknownTarget(consumer.to_string()));
        }
        Ok(slots)
    }

    /// Whether `consumer` names a classic group's consumer entry.
    fn is_classic(&self, consumer: FaultNode) -> bool {
        matches!(consumer, FaultNode::Consumer { entry, .. } if self.classic.has_entry(entry))
    }

    /// Kills the consumer's node: no close, no leave; its connections drop and its session times out.
    pub(super) fn crash(&mut self, consumer: FaultNode) -> Result<(), FaultError> {
        if self.is_classic(consumer) {
            return self.classic.crash(consumer);
        }
        let nodes = self
            .matching(consumer)?
            .into_iter()
            .map(|slot| &mut slot.node);
        kill_running(nodes, consumer)
    }

    /// Starts a crashed consumer again on a new node: a new member (as a restarted Kafka client is).
    pub(super) fn restart(
        &mut self,
        cluster: &SimCluster,
        consumer: FaultNode,
    ) -> Result<(), FaultError> {
        if self.is_classic(consumer) {
            return self.classic.restart(cluster, consumer);
        }
        let mut restarted = 0;
        for slot in self.matching(consumer)? {
            if slot.node.is_some() {
                continue;
            }
            slot.generation += 1;
            let mut setup = slot.setup.clone();
            setup.node_name = format!("{}-r{}", slot.setup.node_name, slot.generation);
            setup.config.client_id = setup.node_name.clone();
            setup.seed ^= u64::from(slot.generation) << 48;
            let node = cluster.client_node(&setup.node_name);
            node.spawn(run_share_consumer(setup));
            slot.node = Some(node);
            restarted += 1;
        }
        if restarted == 0 {
            return Err(FaultError::Refused(format!("{consumer} is running")));
        }
        Ok(())
    }

    /// Pauses (`pause`) or resumes the consumer's node: nothing on it runs meanwhile, heartbeats
    /// included, so a stall longer than the session timeout also loses the membership.
    pub(super) fn pause(&mut self, consumer: FaultNode, pause: bool) -> Result<(), FaultError> {
        if self.is_classic(consumer) {
            return self.classic.pause(consumer, pause);
        }
        let nodes = self.matching(consumer)?.into_iter().map(|slot| &slot.node);
        pause_running(nodes, pause);
        Ok(())
    }

    /// Asks the consumer to reconnect on new connections, the old ones' closes reaching the brokers
    /// `close_delay_ms` late (the `consumer_reconnect_late_close` lever); the consumer node carries it
    /// out at its next wake-up.
    pub(super) fn reconnect(
        &mut self,
        consumer: FaultNode,
        close_delay_ms: u64,
    ) -> Result<(), FaultError> {
        let mut asked = 0;
        for slot in self.matching(consumer)? {
            if slot.node.is_some() {
                slot.setup.reconnect.request(close_delay_ms);
                asked += 1;
            }
        }
        if asked == 0 {
            return Err(FaultError::Refused(format!("{consumer} is not running")));
        }
        Ok(())
    }

    /// Sets the clocks of a producer or consumer reference (every instance of an entry without one):
    /// the `clock_skew` lever. A consumer's clock is everything its client reads time for, as a Java
    /// client's `time.milliseconds()` is: poll and heartbeat timers, request timeouts, the
    /// application's processing time (a classic consumer's too: its heartbeat, poll-interval and
    /// auto-commit timers; the coordinator judges its session on the broker's clock); a forward step
    /// times out what is in flight, a step back (the clock holds until true time catches up) makes
    /// timers wait longer. A restarted instance keeps its machine's clock. The trace is stamped on the
    /// simulator's time (latencies stay true).
    pub(super) fn set_clock(
        &mut self,
        node: FaultNode,
        skew_ms: i64,
        drift_ppm: i64,
    ) -> Result<(), FaultError> {
        let clocks: Vec<NodeClock> = match node {
            FaultNode::Producer(index) => vec![self
                .producer_clocks
                .get(index)
                .cloned()
                .ok_or_else(|| FaultError::UnknownTarget(node.to_string()))?],
            FaultNode::Consumer { .. } if self.is_classic(node) => self.classic.clocks(node)?,
            FaultNode::Consumer { .. } => self
                .matching(node)?
                .into_iter()
                .map(|slot| slot.setup.clock.clone())
                .collect(),
            _ => return Err(FaultError::UnknownTarget(node.to_string())),
        };
        for clock in clocks {
            clock
                .set(skew_ms, drift_ppm)
                .map_err(|error| FaultError::Refused(error.to_string()))?;
        }
        Ok(())
    }

    /// The madsim nodes of a consumer or producer reference (for network partitions).
    pub(super) fn node_ids(&mut self, node: FaultNode) -> Result<Vec<NodeId>, FaultError> {
        match node {
            FaultNode::Producer(index) => self
                .producers
                .get(index)
                .map(|node| vec![node.id()])
                .ok_or_else(|| FaultError::UnknownTarget(node.to_string())),
            FaultNode::Consumer { .. } if self.is_classic(node) => self.classic.node_ids(node),
            FaultNode::Consumer { .. } => Ok(self
                .matching(node)?
                .into_iter()
                .filter_map(|slot| slot.node.as_ref().map(NodeHandle::id))
                .collect()),
            _ => Err(FaultError::UnknownTarget(node.to_string())),
        }
    }
}
