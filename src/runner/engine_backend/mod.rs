//! The engine-level backend: the real sans-IO engines (one `SharePartition` per share group and topic
//! partition, the share-coordinator shard persisting every write) driven in-process by a small
//! discrete-event loop, with simulated producers and share-consumer applications. There is no network,
//! no replication and no broker process here: leader failover is a new engine at the next leader epoch
//! that reads the persisted state, a crashed consumer's connection closes at once, and faults that need
//! the network or the log layer are reported as skipped. The madsim cluster backend runs the same
//! scenarios over the simulated network; this one is fast, exact about the record-state machine, and
//! runs anywhere without services.

mod consumer;
mod faults;
mod log;
mod mutations;
mod partitions;
mod script;
mod setup;
mod unsimulated;
mod zombie;

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::SeedableRng;
use sharesim_sim::coordinator::share::{ShareCoordinatorRecord, ShareCoordinatorShard, TopicId};
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::partition::{AcknowledgeTicket, EngineMutation};
use sharesim_sim::share::AcknowledgeType;
use sharesim_sim::trace::{RunMarker, Trace, TraceEvent};

pub(crate) use self::consumer::processing_time;
pub(crate) use self::log::ProducerState;
pub use self::mutations::{MutationSwitch, CLUSTER_ONLY_MUTATION_SWITCHES, MUTATION_SWITCHES};
pub(crate) use self::setup::share_partition_config;

use self::consumer::ConsumerState;
use self::log::PartitionLog;
use self::partitions::SharePartitionSlot;
use self::zombie::Role;
use super::backend::{Backend, BackendRun, RunError, RunFacts};
use crate::scenario::Scenario;

/// An idle consumer polls again after this long (a ShareFetch with nothing to return waits up to
/// `fetch.max.wait.ms`; the delayed fetch is woken by new data, which this loop approximates by polling).
const IDLE_POLL_MS: u64 = 50;
/// A run stops after this many loop steps whatever happens (a bug guard, never reached by a sane run).
const STEPS_MAX: u64 = 20_000_000;

/// The in-process engine backend (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct EngineBackend;

impl Backend for EngineBackend {
    fn name(&self) -> &'static str {
        "engine"
    }

    fn run(&self, scenario: &Scenario, seed: u64) -> Result<BackendRun, RunError> {
        let mut world = World::new(scenario, seed)?;
        world.run();
        Ok(world.finish())
    }

    fn carries_mutation(&self, name: &str) -> bool {
        MUTATION_SWITCHES.iter().any(|switch| switch.name == name)
    }
}

/// A topic and its partition logs.
#[derive(Debug)]
struct TopicState {
    name: String,
    topic_id: TopicId,
    logs: Vec<PartitionLog>,
}

/// Something scheduled at a virtual time.
#[derive(Clone, Debug)]
enum Action {
    /// A producer sends what is due.
    Produce(usize),
    /// A consumer polls (if still at this generation).
    Poll { consumer: usize, generation: u32 },
    /// A consumer finished processing what it holds and acknowledges.
    Finish { consumer: usize, generation: u32 },
    /// A consumer still processing renews the acquisition locks of what it holds.
    Renew { consumer: usize, generation: u32 },
    /// A lever of the run's fault plan (scheduled or drawn by swarm mode).
    Fault(sharesim_sim::faults::Lever),
    /// A deferred half of a fault (restart, bounce back, window end).
    Deferred(faults::DeferredFault),
    /// The workload ends: heal everything, keep polling, require convergence.
    LivenessStart,
    /// The next step of the scenario's `script`.
    ScriptStep,
}

/// An acknowledgement in flight: the consumer that sent it and what it acknowledged.
type PendingAck = (usize, Vec<(i64, AcknowledgeType)>);

/// The whole simulated run.
struct World {
    scenario: Scenario,
    rng: StdRng,
    trace: Trace,
    now_ms: u64,
    semantics: Semantics,
    mutation: Option<EngineMutation>,
    /// Every mutation switch of the run (the engine's and the glue's).
    mutations: mutations::Mutations,
    topics: Vec<TopicState>,
    slots: Vec<SharePartitionSlot>,
    shard: ShareCoordinatorShard,
    /// Everything appended to `__share_group_state`, to reload a new coordinator by replay.
    shard_log: Vec<ShareCoordinatorRecord>,
    /// Pending acknowledgements: (slot, the answering engine's leader epoch, ticket) → (consumer, what it
    /// acknowledged).
    tickets: BTreeMap<(usize, i32, AcknowledgeTicket), PendingAck>,
    producers: Vec<ProducerState>,
    consumers: Vec<ConsumerState>,
    queue: BTreeMap<(u64, u64), Action>,
    next_action_seq: u64,
    faults: faults::FaultState,
    facts: RunFacts,
    in_liveness_phase: bool,
    /// The scenario's `script`, when it has one (see `script.rs`).
    script: Option<script::ScriptRun>,
}

impl World {
    /// Schedules `action` at `at_ms` (after everything already scheduled then).
    fn schedule(&mut self, at_ms: u64, action: Action) {
        self.queue.insert((at_ms, self.next_action_seq), action);
        self.next_action_seq += 1;
    }

    /// Appends a run-level event.
    fn mark(&mut self, marker: RunMarker) {
        self.trace
            .record(self.now_ms, "sim", TraceEvent::Run { marker });
    }

    /// The earliest lock deadline of any engine (leaders and zombies).
    fn next_timer(&self) -> Option<(u64, usize, Role)> {
        if self.mutations.has(mutations::NodeMutation::SkipLockTimers) {
            return None;
        }
        self.slots
            .iter()
            .enumerate()
            .flat_map(|(index, slot)| {
                let leader = slot
                    .engine
                    .poll_timeout()
                    .map(|at| (at, index, Role::Leader));
                let zombie = slot.zombie.as_ref().and_then(|zombie| {
                    zombie
                        .engine
                        .poll_timeout()
                        .map(|at| (at, index, Role::Zombie))
                });
                leader.into_iter().chain(zombie)
            })
            .min()
    }

    fn run(&mut self) {
        self.trace.record(
            0,
            "sim",
            TraceEvent::Run {
                marker: RunMarker::RunStarted {
                    seed: self.facts_seed(),
                },
            },
        );
        let bound_ms = self.scenario.liveness_bound_ms;
        let mut deadline_ms = self.scenario.duration_ms + bound_ms;
        for _ in 0..STEPS_MAX {
            if self.script.is_some() {
                // A script's lock expiries move the clock: its liveness phase starts when it ends.
                deadline_ms = self
                    .facts
                    .liveness_started_ms
                    .map_or(u64::MAX, |at| at + bound_ms);
            }
            let next_action = self.queue.keys().next().map(|(at, _)| *at);
            let next_timer = self.next_timer();
            let next_ms = match (next_action, next_timer) {
                (None, None) => break,
                (Some(a), None) => a,
                (None, Some((t, _, _))) => t,
                (Some(a), Some((t, _, _))) => a.min(t),
            };
            if next_ms > deadline_ms {
                break;
            }
            self.now_ms = self.now_ms.max(next_ms);
            // Lock timers due now fire before requests handled at the same instant.
            if let Some((at, slot, role)) = next_timer.filter(|(at, _, _)| *at <= self.now_ms) {
                debug_assert!(at <= self.now_ms);
                let now_ms = self.now_ms;
                if let Some(engine) = self.engine_mut(slot, role) {
                    engine.handle_timeout(now_ms);
                }
                self.pump_engine(slot, role);
            } else if let Some((_, action)) = self.queue.pop_first() {
                self.perform(action);
            }
            if self.in_liveness_phase && self.drained() {
                self.facts.drained_at_ms = Some(self.now_ms);
                break;
            }
        }
        self.now_ms += 1;
        self.mark(RunMarker::RunFinished);
        self.facts.end_ms = self.now_ms;
    }

    fn facts_seed(&self) -> u64 {
        self.faults.seed
    }

    fn perform(&mut self, action: Action) {
        match action {
            Action::Produce(producer) => self.produce(producer),
            Action::Poll {
                consumer,
                generation,
            } => self.poll(consumer, generation),
            Action::Finish {
                consumer,
                generation,
            } => self.finish_processing(consumer, generation),
            Action::Renew {
                consumer,
                generation,
            } => self.renew_locks(consumer, generation),
            Action::Fault(event) => self.apply_fault(event),
            Action::Deferred(deferred) => self.apply_deferred(deferred),
            Action::LivenessStart => self.start_liveness_phase(),
            Action::ScriptStep => self.script_step(),
        }
    }

    /// Producers stop, every fault heals, crashed consumers come back, everyone keeps polling.
    fn start_liveness_phase(&mut self) {
        self.in_liveness_phase = true;
        self.facts.liveness_started_ms = Some(self.now_ms);
        let bound_ms = self.scenario.liveness_bound_ms;
        self.mark(RunMarker::LivenessPhaseStarted { bound_ms });
        self.heal_all();
        self.queue
            .retain(|_, action| !matches!(action, Action::Produce(_) | Action::Fault(_)));
        for consumer in 0..self.consumers.len() {
            self.revive(consumer);
        }
    }

    /// Every record of every consumed partition is terminal and nothing is in flight.
    fn drained(&self) -> bool {
        let producing = self
            .producers
            .iter()
            .any(|producer| producer.sent < producer.spec.count && !self.in_liveness_phase);
        !producing
            && self.slots.iter().all(|slot| {
                let log = &self.topics[slot.topic_index].logs[slot.partition as usize];
                !slot.consumed || slot.is_drained(log.end_offset())
            })
    }

    fn finish(mut self) -> BackendRun {
        for topic in &self.topics {
            for (partition, log) in topic.logs.iter().enumerate() {
                self.facts.produced.push(super::backend::ProducedPartition {
                    topic: topic.name.clone(),
                    topic_id: topic.topic_id.0,
                    partition: partition as i32,
                    produced_at_ms: log.produced_at_ms.clone(),
                });
            }
        }
        let largest_batch = self
            .topics
            .iter()
            .flat_map(|topic| topic.logs.iter())
            .flat_map(|log| log.batches.iter())
            .map(|batch| (batch.last_offset - batch.base_offset) as u32)
            .max()
            .unwrap_or(0);
        self.facts.oracle_config.in_flight_overshoot_max = largest_batch;
        BackendRun {
            trace: self.trace,
            facts: self.facts,
        }
    }
}

/// The seeded RNG of a run.
fn run_rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}
