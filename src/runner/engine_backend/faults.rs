//! Faults in the engine backend, pulled as the levers of the run's fault plan. Applied: broker crash and
//! restart (leader failover of the share partitions it leads), leadership bounce, zombie leaders (see
//! `zombie.rs`), persister write
//! failures and lost answers, share-coordinator failover (reload by replay), log-start moves, consumer
//! crash, stall and reconnect with a late close.
//! Everything that needs the network, the replicated log or clocks is reported as skipped: the madsim
//! cluster backend simulates those.

use rand::rngs::StdRng;
use rand::Rng;
use sharesim_sim::trace::TraceEvent;
use sharesim_sim::ResponseError;

use super::{Action, World};
use sharesim_sim::faults::{
    api_key_by_name, api_name, CoordinatorKind, FaultNode, Lever, PersisterFault,
};

use crate::runner::backend::FaultFact;

/// The second half of a fault, or a consumer's own scheduled failure.
#[derive(Clone, Debug)]
pub(super) enum DeferredFault {
    /// A crashed broker comes back (leadership stays where it moved).
    BrokerRestart { broker: u32 },
    /// Leadership of the slots returns to `broker`.
    LeadershipBack { slots: Vec<usize>, broker: u32 },
    /// A persister fault window ends.
    PersisterHealed,
    /// The zombie leader of a slot (at that leader epoch) learns it lost leadership and stops.
    ZombieStops { slot: usize, leader_epoch: i32 },
    /// A consumer process dies; it restarts after `restart_after_ms` if given.
    ConsumerCrash {
        consumer: usize,
        restart_after_ms: Option<u64>,
    },
    /// A consumer stalls.
    ConsumerStall { consumer: usize, stall_ms: u64 },
    /// A crashed consumer's replacement starts.
    ConsumerRestart { consumer: usize },
    /// A reconnected consumer's old connection finally closes.
    LateClose {
        consumer: usize,
        member: sharesim_sim::share::MemberId,
    },
}

/// What a faulted persister write does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PersisterOutcome {
    /// The write never reaches the share coordinator; the leader gets the error.
    Fail(ResponseError),
    /// The write lands, its answer is lost: the leader gets `REQUEST_TIMED_OUT`.
    AnswerLost,
}

/// An active persister fault window.
#[derive(Clone, Debug)]
struct PersisterWindow {
    outcome: PersisterOutcome,
    probability: f64,
    until_ms: Option<u64>,
}

/// The backend's fault state.
#[derive(Debug)]
pub(super) struct FaultState {
    /// The run's seed.
    pub seed: u64,
    persister: Option<PersisterWindow>,
    down_brokers: Vec<u32>,
}

impl FaultState {
    pub(super) fn new(seed: u64) -> FaultState {
        FaultState {
            seed,
            persister: None,
            down_brokers: Vec::new(),
        }
    }

    /// Whether the next persister write is faulted, and how.
    pub(super) fn persister_failure(
        &mut self,
        rng: &mut StdRng,
        now_ms: u64,
    ) -> Option<PersisterOutcome> {
        let window = self.persister.as_ref()?;
        if window.until_ms.is_some_and(|until| now_ms >= until) {
            self.persister = None;
            return None;
        }
        rng.gen_bool(window.probability.clamp(0.0, 1.0))
            .then_some(window.outcome)
    }
}

impl World {
    pub(super) fn note_fault(&mut self, kind: &str, detail: String) {
        let event = TraceEvent::Fault {
            lever: kind.to_string(),
            detail: detail.clone(),
        };
        self.trace.record(self.now_ms, "sim", event);
        self.facts.faults_applied.push(FaultFact {
            at_ms: self.now_ms,
            kind: kind.to_string(),
            detail,
        });
    }

    fn skip_fault(&mut self, kind: &str, why: &str) {
        self.facts.faults_skipped.push(FaultFact {
            at_ms: self.now_ms,
            kind: kind.to_string(),
            detail: why.to_string(),
        });
    }

    /// The next live broker after `broker` (itself when every other one is down).
    pub(super) fn next_live_broker(&self, broker: u32) -> u32 {
        let brokers = self.scenario.cluster.brokers.max(1);
        (1..=brokers)
            .map(|step| (broker - 1 + step) % brokers + 1)
            .find(|candidate| !self.faults.down_brokers.contains(candidate))
            .unwrap_or(broker)
    }

    fn consumers_matching(&self, node: FaultNode) -> Vec<usize> {
        match node {
            FaultNode::Consumer { entry, instance } => (0..self.consumers.len())
                .filter(|&index| self.consumers[index].is(entry, instance))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn slots_of(&self, topic: &str, partition: i32) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&index| {
                let slot = &self.slots[index];
                self.topics[slot.topic_index].name == topic && slot.partition as i32 == partition
            })
            .collect()
    }

    /// Pulls one lever of the run's [`sharesim_sim::faults::FaultPlan`] (the one mapping of scenario
    /// faults and swarm draws onto levers, shared with the madsim cluster).
    pub(super) fn apply_fault(&mut self, lever: Lever) {
        let kind = lever.kind();
        let now_ms = self.now_ms;
        match lever {
            Lever::BrokerCrash {
                broker,
                lose_unflushed,
                restart_after_ms,
            } => {
                if !self.faults.down_brokers.contains(&broker) {
                    self.faults.down_brokers.push(broker);
                }
                let new_leader = self.next_live_broker(broker);
                let led: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| self.slots[i].leader_broker == broker)
                    .collect();
                // The engine backend's logs are durable at once: there is no unflushed data to lose.
                let unflushed = if lose_unflushed {
                    " (no unflushed data at engine level: nothing lost)"
                } else {
                    ""
                };
                self.note_fault(
                    kind,
                    format!(
                        "broker {broker} crashed{unflushed}; {} share partitions fail over to \
                         broker {new_leader}",
                        led.len()
                    ),
                );
                for slot in led {
                    self.fail_over(slot, new_leader);
                }
                if let Some(after_ms) = restart_after_ms {
                    let restart = DeferredFault::BrokerRestart { broker };
                    self.schedule(now_ms + after_ms, Action::Deferred(restart));
                }
            }
            Lever::BrokerRestart { broker } => {
                self.apply_deferred(DeferredFault::BrokerRestart { broker });
            }
            Lever::LeadershipBounce {
                topic,
                partition,
                via_broker,
                back_after_ms,
            } => {
                let slots = self.slots_of(&topic, partition);
                let Some(&first) = slots.first() else {
                    return self.skip_fault(kind, "no share group reads that topic partition");
                };
                let home = self.slots[first].leader_broker;
                let via = via_broker.unwrap_or_else(|| self.next_live_broker(home));
                self.note_fault(
                    kind,
                    format!(
                        "{topic}-{partition} leadership moves to broker {via}, back to {home} \
                         after {back_after_ms} ms"
                    ),
                );
                for &slot in &slots {
                    self.fail_over(slot, via);
                }
                let back = DeferredFault::LeadershipBack {
                    slots,
                    broker: home,
                };
                self.schedule(now_ms + back_after_ms, Action::Deferred(back));
            }
            Lever::ZombieLeader {
                topic,
                partition,
                duration_ms,
            } => {
                let slots = self.slots_of(&topic, partition);
                if let Err(why) = self.raise_zombies(kind, slots, duration_ms) {
                    self.skip_fault(kind, why);
                }
            }
            Lever::Persister {
                fault,
                api_key,
                probability,
                duration_ms,
            } => self.persister_window(kind, fault, api_key, probability, duration_ms),
            Lever::CoordinatorFailover {
                kind: CoordinatorKind::Share,
                ..
            } => {
                self.note_fault(
                    kind,
                    "the share coordinator reloads __share_group_state by replay".to_string(),
                );
                self.reload_share_coordinator();
            }
            Lever::LogStartMove {
                topic,
                partition,
                offset,
                ..
            } => {
                let Some(topic_index) = self.topics.iter().position(|t| t.name == topic) else {
                    return self.skip_fault(kind, "unknown topic");
                };
                let Some(log) = usize::try_from(partition)
                    .ok()
                    .and_then(|p| self.topics[topic_index].logs.get_mut(p))
                else {
                    return self.skip_fault(kind, "unknown partition");
                };
                // Past the log end is clamped (as Kafka's DeleteRecords refuses it).
                let offset = offset.clamp(0, log.end_offset());
                log.log_start_offset = log.log_start_offset.max(offset);
                self.note_fault(
                    kind,
                    format!("{topic}-{partition} log start offset -> {offset}"),
                );
                for slot in self.slots_of(&topic, partition) {
                    self.slots[slot]
                        .engine
                        .handle_log_start_offset(now_ms, offset);
                    self.pump(slot);
                }
            }
            Lever::ConsumerCrash {
                consumer,
                restart_after_ms,
            } => {
                for consumer in self.consumers_matching(consumer) {
                    let deferred = DeferredFault::ConsumerCrash {
                        consumer,
                        restart_after_ms,
                    };
                    self.apply_deferred(deferred);
                }
            }
            Lever::ConsumerStall { consumer, stall_ms } => {
                for consumer in self.consumers_matching(consumer) {
                    let deferred = DeferredFault::ConsumerStall { consumer, stall_ms };
                    self.apply_deferred(deferred);
                }
            }
            Lever::ConsumerReconnectLateClose {
                consumer,
                close_delay_ms,
            } => {
                for consumer in self.consumers_matching(consumer) {
                    let old = self.consumers[consumer].member.clone();
                    self.note_fault(
                        kind,
                        format!(
                            "{old} reconnects as a new member; its old connection closes \
                             {close_delay_ms} ms later"
                        ),
                    );
                    self.reconnect_consumer(consumer);
                    let late = DeferredFault::LateClose {
                        consumer,
                        member: old,
                    };
                    self.schedule(now_ms + close_delay_ms, Action::Deferred(late));
                }
            }
            Lever::Heal => {
                self.note_fault(kind, "every fault window heals".to_string());
                self.heal_all();
            }
            _ => self.skip_fault(
                kind,
                "not simulated by the engine backend (needs the madsim cluster: network, \
                 replicated log, clocks, RPC hooks, group coordinator)",
            ),
        }
    }

    /// A persister fault window. The engine backend's share partitions call the persister only to
    /// write (`WriteShareGroupState`); it can fail a write or lose its answer (the write lands, the
    /// leader sees `REQUEST_TIMED_OUT`). Holding, reordering and duplicating calls need the network.
    fn persister_window(
        &mut self,
        kind: &str,
        fault: PersisterFault,
        api_key: i16,
        probability: f64,
        duration_ms: Option<u64>,
    ) {
        let write_api_key = api_key_by_name("WriteShareGroupState");
        if Some(api_key) != write_api_key {
            return self.skip_fault(
                kind,
                &format!(
                    "the engine backend's persister calls are WriteShareGroupState only, not {}",
                    api_name(api_key)
                ),
            );
        }
        let outcome = match fault {
            PersisterFault::Fail { error_code } => match ResponseError::try_from_code(error_code) {
                Some(error) => PersisterOutcome::Fail(error),
                None => return self.skip_fault(kind, &format!("unknown error code {error_code}")),
            },
            PersisterFault::Timeout => PersisterOutcome::AnswerLost,
            _ => {
                return self.skip_fault(
                    kind,
                    "holding, reordering or duplicating persister calls needs the madsim cluster",
                )
            }
        };
        let what = match outcome {
            PersisterOutcome::Fail(error) => format!("fail with {error:?}"),
            PersisterOutcome::AnswerLost => "land, but their answers are lost".to_string(),
        };
        self.note_fault(
            kind,
            format!(
                "WriteShareGroupState calls {what} (probability {probability}, for {duration_ms:?} ms)"
            ),
        );
        self.faults.persister = Some(PersisterWindow {
            outcome,
            probability,
            until_ms: duration_ms.map(|ms| self.now_ms + ms),
        });
        if let Some(ms) = duration_ms {
            self.schedule(
                self.now_ms + ms,
                Action::Deferred(DeferredFault::PersisterHealed),
            );
        }
    }

    pub(super) fn apply_deferred(&mut self, deferred: DeferredFault) {
        let now_ms = self.now_ms;
        match deferred {
            DeferredFault::BrokerRestart { broker } => {
                self.faults.down_brokers.retain(|down| *down != broker);
                self.note_fault("broker_restart", format!("broker {broker} restarted"));
            }
            DeferredFault::LeadershipBack { slots, broker } => {
                self.note_fault(
                    "leadership_bounce",
                    format!("leadership returns to broker {broker}"),
                );
                for slot in slots {
                    self.fail_over(slot, broker);
                }
            }
            DeferredFault::ZombieStops { slot, leader_epoch } => {
                let alive = self.slots[slot]
                    .zombie
                    .as_ref()
                    .is_some_and(|zombie| zombie.leader_epoch == leader_epoch);
                if alive {
                    self.note_fault(
                        "zombie_leader",
                        format!("the zombie leader at leader epoch {leader_epoch} stops"),
                    );
                    self.bury_zombie(slot);
                }
            }
            DeferredFault::PersisterHealed => {
                if self.faults.persister.take().is_some() {
                    self.note_fault("heal", "persister faults end".to_string());
                }
            }
            DeferredFault::ConsumerCrash {
                consumer,
                restart_after_ms,
            } => {
                let member = self.consumers[consumer].member.clone();
                self.note_fault(
                    "consumer_crash",
                    format!("{member} crashed (restart after {restart_after_ms:?} ms)"),
                );
                self.crash_consumer(consumer);
                if let Some(after_ms) = restart_after_ms {
                    let restart = DeferredFault::ConsumerRestart { consumer };
                    self.schedule(now_ms + after_ms, Action::Deferred(restart));
                }
            }
            DeferredFault::ConsumerStall { consumer, stall_ms } => {
                let member = self.consumers[consumer].member.clone();
                self.note_fault(
                    "consumer_stall",
                    format!("{member} stalls for {stall_ms} ms"),
                );
                self.stall_consumer(consumer, stall_ms);
            }
            DeferredFault::ConsumerRestart { consumer } => {
                self.restart_consumer(consumer);
                let member = self.consumers[consumer].member.clone();
                self.note_fault("consumer_restart", format!("{member} started"));
            }
            DeferredFault::LateClose { consumer, member } => {
                self.note_fault(
                    "consumer_reconnect_late_close",
                    format!("the old connection of {member} closes"),
                );
                self.release_on_disconnect(consumer, &member);
            }
        }
    }

    /// Every fault window heals: persister faults end, brokers restart, stalls end.
    pub(super) fn heal_all(&mut self) {
        self.bury_all_zombies();
        self.faults.persister = None;
        self.faults.down_brokers.clear();
        for consumer in &mut self.consumers {
            consumer.stalled_until_ms = 0;
        }
    }
}
