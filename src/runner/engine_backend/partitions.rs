//! Share partitions in the engine backend: each engine's effects performed (trace events, persister
//! reads and writes through the share-coordinator shard, acknowledgement outcomes), lazy initialization,
//! leader failover, and the producers' appends.

use sharesim_sim::client::producer::{RecordAccumulator, RecordId};
use sharesim_sim::coordinator::share::{ShareCoordinatorRecord, SharePartitionKey};
use sharesim_sim::log::TopicPartition;
use sharesim_sim::share::partition::{
    AutoOffsetReset, PartitionEffect, PartitionState, ResetOffsets, SharePartition,
    SharePartitionConfig, WriteId,
};
use sharesim_sim::share::WriteShareGroupState;
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent};
use sharesim_sim::ResponseError;

use super::faults::PersisterOutcome;
use super::mutations::NodeMutation;
use super::zombie::{Role, ZombieLeader};
use super::{Action, World};

/// One share partition (group, topic partition) and its leader.
#[derive(Debug)]
pub(super) struct SharePartitionSlot {
    pub key: SharePartitionKey,
    pub group_index: usize,
    pub topic_index: usize,
    pub partition: u32,
    pub config: SharePartitionConfig,
    pub engine: SharePartition,
    pub leader_epoch: i32,
    /// The broker that leads the topic partition (and so the share partition).
    pub leader_broker: u32,
    /// The group coordinator initialized the share-group state (InitializeShareGroupState).
    pub initialized: bool,
    /// Some consumer of the scenario reads it (liveness is judged only where someone reads).
    pub consumed: bool,
    /// The old leader, still acting with its old epoch (the `zombie_leader` lever), while it lives.
    pub zombie: Option<ZombieLeader>,
}

impl SharePartitionSlot {
    /// Every record up to `end_offset` is terminal and no write is pending.
    pub fn is_drained(&self, end_offset: i64) -> bool {
        let active = self.engine.partition_state() == PartitionState::Active;
        (active || end_offset == 0)
            && self.engine.start_offset() >= end_offset
            && self.engine.pending_write_count() == 0
    }
}

impl World {
    /// Performs every effect of slot `index`'s leader engine, tracing its events.
    pub(super) fn pump(&mut self, index: usize) {
        self.pump_engine(index, Role::Leader);
    }

    /// Performs every effect of slot `index`'s engine in `role`, tracing its events.
    pub(super) fn pump_engine(&mut self, index: usize, role: Role) {
        while let Some(effect) = self
            .engine_mut(index, role)
            .and_then(|engine| engine.poll_effect())
        {
            let now_ms = self.now_ms;
            let (leader_epoch, broker) = self.epoch_and_broker(index, role);
            match effect {
                PartitionEffect::Event(event) => {
                    let slot = &self.slots[index];
                    let node = format!("broker-{broker}");
                    let event = TraceEvent::SharePartition {
                        group_id: slot.key.group_id.clone(),
                        topic_id: slot.key.topic_id,
                        partition: slot.key.partition,
                        leader_epoch,
                        event,
                    };
                    self.trace.record(now_ms, &node, event);
                }
                PartitionEffect::ReadState { .. } if role == Role::Zombie => {
                    debug_assert!(false, "a zombie never initializes");
                }
                PartitionEffect::ReadState { leader_epoch } => {
                    let key = self.slots[index].key.clone();
                    let read = self.shard.handle_read(now_ms, &key, leader_epoch);
                    self.append_state_records(read.records);
                    let reset = self.reset_offsets(index);
                    self.slots[index]
                        .engine
                        .handle_read_state_result(now_ms, read.response, reset);
                }
                PartitionEffect::WriteState { write_id, request } => {
                    if self.script_holds_writes() {
                        // A scripted run completes writes in its `persister_write` steps.
                        self.hold_write(index, leader_epoch, write_id, request);
                    } else {
                        self.perform_write(index, Some(role), write_id, request);
                    }
                }
                PartitionEffect::AcknowledgeCompleted { ticket, result } => {
                    if let Some((consumer, acknowledgements)) =
                        self.tickets.remove(&(index, leader_epoch, ticket))
                    {
                        let error_code = result.err().map_or(0, |error| error.code());
                        self.ack_outcome(consumer, index, acknowledgements, error_code);
                    }
                }
                PartitionEffect::DropPartition { .. } if role == Role::Zombie => {
                    // The zombie learns it lost leadership (its write was fenced) and stops.
                    self.bury_zombie(index);
                }
                PartitionEffect::DropPartition { .. } => {
                    // The broker drops the partition from its cache; the next fetch initializes it again,
                    // here as the next leader epoch reading the persisted state.
                    let broker = self.slots[index].leader_broker;
                    self.fail_over(index, broker);
                }
                PartitionEffect::EnqueueDeadLetters {
                    first_offset,
                    last_offset,
                } => {
                    // No dead-letter topic in this backend: phase 2 completes at once (spec 1.2 #10
                    // completes whether the enqueue succeeded or failed).
                    if let Some(engine) = self.engine_mut(index, role) {
                        engine.handle_dead_letter_result(now_ms, first_offset, last_offset);
                    }
                }
                PartitionEffect::WakeDelayedFetches => {}
            }
        }
    }

    /// Sends a persister write of slot `index`'s engine in `role` to the share coordinator (through the
    /// run's persister faults and mutation switches) and hands the engine the result (`None`: the
    /// writer is gone, e.g. a scripted run's old leader, and nobody hears the answer).
    pub(super) fn perform_write(
        &mut self,
        index: usize,
        role: Option<Role>,
        write_id: WriteId,
        mut request: WriteShareGroupState,
    ) {
        let now_ms = self.now_ms;
        if self.mutations.has(NodeMutation::SkipLeaderEpochFencing) {
            // Stands in for a coordinator that skips its leader-epoch check: the write
            // arrives as if from the newest leader, so nothing can fence it.
            request.leader_epoch = request.leader_epoch.max(self.slots[index].leader_epoch);
        }
        let fault = self.faults.persister_failure(&mut self.rng, now_ms);
        let unwritten = self
            .mutations
            .has(NodeMutation::PersisterAcksWithoutWriting);
        let result = match fault {
            _ if unwritten => Ok(()),
            Some(PersisterOutcome::Fail(error)) => Err(error),
            Some(PersisterOutcome::AnswerLost) | None => {
                let key = self.slots[index].key.clone();
                let written = self.shard.handle_write(now_ms, &key, &request);
                self.append_state_records(written.records);
                match fault {
                    Some(_) => Err(ResponseError::RequestTimedOut),
                    None => written.response,
                }
            }
        };
        if let Some(engine) = role.and_then(|role| self.engine_mut(index, role)) {
            engine.handle_write_result(now_ms, write_id, result);
        }
    }

    /// Appends to `__share_group_state`, replays and commits (a healthy, replicated coordinator log).
    pub(super) fn append_state_records(&mut self, records: Vec<ShareCoordinatorRecord>) {
        for record in records {
            self.shard.replay(self.shard_log.len() as u64, &record);
            self.shard_log.push(record);
        }
        self.shard.handle_commit(self.shard_log.len() as u64);
    }

    /// A new share coordinator loads `__share_group_state` by replay (spec 3.1).
    pub(super) fn reload_share_coordinator(&mut self) {
        let config = sharesim_sim::coordinator::share::ShareCoordinatorConfig::default();
        let mut shard =
            sharesim_sim::coordinator::share::ShareCoordinatorShard::new(self.now_ms, config);
        for (offset, record) in self.shard_log.iter().enumerate() {
            shard.replay(offset as u64, record);
        }
        shard.handle_commit(self.shard_log.len() as u64);
        self.shard = shard;
    }

    /// The offsets `share.auto.offset.reset` may use (spec 5.2).
    fn reset_offsets(&self, index: usize) -> ResetOffsets {
        let slot = &self.slots[index];
        let log = &self.topics[slot.topic_index].logs[slot.partition as usize];
        let offset_by_duration = match slot.config.auto_offset_reset {
            AutoOffsetReset::ByDuration { duration_ms } => {
                let since_ms = self.now_ms.saturating_sub(duration_ms);
                let first = log.produced_at_ms.partition_point(|at| *at < since_ms) as i64;
                Some(first.max(log.log_start_offset))
            }
            _ => None,
        };
        ResetOffsets {
            log_start_offset: log.log_start_offset,
            high_watermark: log.end_offset(),
            offset_by_duration,
        }
    }

    /// The first use of a share partition: the group coordinator initializes its state (start offset
    /// -1, so `share.auto.offset.reset` applies), then the leader reads it.
    pub(super) fn ensure_initialized(&mut self, index: usize) {
        if !self.slots[index].initialized {
            self.slots[index].initialized = true;
            let key = self.slots[index].key.clone();
            let initialized = self.shard.handle_initialize(self.now_ms, &key, 0, -1);
            self.append_state_records(initialized.records);
        }
        if self.slots[index].engine.partition_state() == PartitionState::Empty {
            self.slots[index].engine.begin_initialize(self.now_ms);
            self.pump(index);
        }
    }

    /// Leadership of slot `index` moves to `broker`: a new engine at the next leader epoch reads the
    /// persisted state (spec 3.5). Acknowledgements pending on the old leader fail with
    /// NOT_LEADER_OR_FOLLOWER, as the client would see.
    pub(super) fn fail_over(&mut self, index: usize, broker: u32) {
        let old_epoch = self.slots[index].leader_epoch;
        let pending: Vec<_> = self
            .tickets
            .keys()
            .filter(|(slot, epoch, _)| *slot == index && *epoch == old_epoch)
            .copied()
            .collect();
        for key in pending {
            if let Some((consumer, acknowledgements)) = self.tickets.remove(&key) {
                let code = ResponseError::NotLeaderOrFollower.code();
                self.ack_outcome(consumer, index, acknowledgements, code);
            }
        }
        self.replace_leader(index, broker);
        if self.slots[index].initialized {
            self.pump(index);
        }
    }

    /// A new engine at the next leader epoch on `broker` takes slot `index` over (reading the persisted
    /// state if the share partition was initialized); returns the old engine. The caller pumps.
    pub(super) fn replace_leader(&mut self, index: usize, broker: u32) -> SharePartition {
        let slot = &mut self.slots[index];
        slot.leader_epoch += 1;
        slot.leader_broker = broker;
        let mut engine = SharePartition::new(
            slot.config.clone(),
            self.semantics.clone(),
            slot.leader_epoch,
        );
        engine.set_mutation(self.mutation);
        if slot.initialized {
            engine.begin_initialize(self.now_ms);
        }
        std::mem::replace(&mut slot.engine, engine)
    }

    /// A consumer learns the outcome of acknowledgements it sent to slot `index`.
    pub(super) fn ack_outcome(
        &mut self,
        consumer: usize,
        index: usize,
        acknowledgements: Vec<(i64, sharesim_sim::share::AcknowledgeType)>,
        error_code: i16,
    ) {
        let slot = &self.slots[index];
        let event = ShareConsumerEvent::AcknowledgementOutcome {
            topic_id: slot.key.topic_id,
            partition: slot.key.partition,
            acknowledgements,
            error_code,
        };
        let group_id = slot.key.group_id.clone();
        if self.mutations.has(NodeMutation::DuplicateAckOutcome) {
            self.consumer_event(consumer, group_id.clone(), event.clone());
        }
        self.consumer_event(consumer, group_id, event);
    }

    /// Producer `index` appends everything due by now, one batch per partition, and comes back after
    /// `linger.ms` while it has records left.
    pub(super) fn produce(&mut self, index: usize) {
        let due = self.producers[index].due_by(self.now_ms);
        let topic_index = self.producers[index].topic_index;
        let partitions = self.topics[topic_index].logs.len() as u32;
        let topic = self.topics[topic_index].name.clone();
        let value = vec![0u8; self.producers[index].spec.value_bytes as usize];
        // One linger window's records, batched by the producer client's accumulator (`batch.size`).
        let mut accumulator = RecordAccumulator::default();
        let mut poison = Vec::new();
        while self.producers[index].sent < due {
            let producer = &mut self.producers[index];
            let sequence = producer.sent;
            let record = producer.record(sequence, self.now_ms, &value, &mut self.rng);
            let partition = producer.partition_of(&record, partitions);
            poison.push(producer.poison_of(sequence, &mut self.rng));
            let topic_partition = TopicPartition {
                topic: topic.clone(),
                partition: partition as i32,
            };
            let record_id = RecordId(poison.len() as u64 - 1);
            let batch_size = producer.config.batch_size;
            accumulator.append(self.now_ms, &topic_partition, record, record_id, batch_size);
            producer.sent += 1;
        }
        for batch in accumulator.take_all() {
            let batch_poison = batch
                .record_ids
                .iter()
                .map(|id| poison[id.0 as usize])
                .collect();
            let partition = batch.topic_partition.partition as usize;
            self.topics[topic_index].logs[partition].append(self.now_ms, batch_poison);
        }
        let producer = &self.producers[index];
        if producer.sent < producer.spec.count {
            let next_ms = self.now_ms + producer.linger_ms();
            self.schedule(next_ms, Action::Produce(index));
        }
    }
}
