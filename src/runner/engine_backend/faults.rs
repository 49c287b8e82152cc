//! Faults in the engine backend. Applied: broker crash and restart (leader failover of the share
//! partitions it leads), leadership bounce, persister write failures and timeouts, share-coordinator
//! failover (reload by replay), log-start moves, consumer crash, stall and reconnect with a late close.
//! Everything that needs the network, the replicated log or clocks is reported as skipped: the madsim
//! cluster backend simulates those.

use rand::rngs::StdRng;
use rand::Rng;
use sharesim_sim::trace::TraceEvent;
use sharesim_sim::ResponseError;

use super::{Action, World};
use crate::runner::backend::FaultFact;
use crate::scenario::{Fault, FaultEvent, NodeRef};

/// The second half of a fault, or a consumer's own scheduled failure.
#[derive(Clone, Debug)]
pub(super) enum DeferredFault {
    /// A crashed broker comes back (leadership stays where it moved).
    BrokerRestart { broker: u32 },
    /// Leadership of the slots returns to `broker`.
    LeadershipBack { slots: Vec<usize>, broker: u32 },
    /// A persister fault window ends.
    PersisterHealed,
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

/// An active persister fault window.
#[derive(Clone, Debug)]
struct PersisterWindow {
    error: ResponseError,
    probability: f64,
    remaining: Option<u64>,
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

    /// Whether the next persister write fails, and how.
    pub(super) fn persister_failure(
        &mut self,
        rng: &mut StdRng,
        now_ms: u64,
    ) -> Option<ResponseError> {
        let window = self.persister.as_mut()?;
        if window.until_ms.is_some_and(|until| now_ms >= until) || window.remaining == Some(0) {
            self.persister = None;
            return None;
        }
        if !rng.gen_bool(window.probability.clamp(0.0, 1.0)) {
            return None;
        }
        if let Some(remaining) = &mut window.remaining {
            *remaining -= 1;
        }
        Some(window.error)
    }
}

impl World {
    fn note_fault(&mut self, kind: &str, detail: String) {
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
    fn next_live_broker(&self, broker: u32) -> u32 {
        let brokers = self.scenario.cluster.brokers.max(1);
        (1..=brokers)
            .map(|step| (broker - 1 + step) % brokers + 1)
            .find(|candidate| !self.faults.down_brokers.contains(candidate))
            .unwrap_or(broker)
    }

    fn consumers_matching(&self, node: &NodeRef) -> Vec<usize> {
        match node {
            NodeRef::Consumer { entry, instance } => (0..self.consumers.len())
                .filter(|&index| self.consumers[index].is(*entry, *instance))
                .collect(),
            _ => Vec::new(),
        }
    }

    fn slots_of(&self, topic: &str, partition: u32) -> Vec<usize> {
        (0..self.slots.len())
            .filter(|&index| {
                let slot = &self.slots[index];
                self.topics[slot.topic_index].name == topic && slot.partition == partition
            })
            .collect()
    }

    pub(super) fn apply_fault(&mut self, event: FaultEvent) {
        let kind = event.fault.kind();
        let now_ms = self.now_ms;
        match event.fault {
            Fault::BrokerCrash(crash) => {
                if !self.faults.down_brokers.contains(&crash.broker) {
                    self.faults.down_brokers.push(crash.broker);
                }
                let new_leader = self.next_live_broker(crash.broker);
                let led: Vec<usize> = (0..self.slots.len())
                    .filter(|&i| self.slots[i].leader_broker == crash.broker)
                    .collect();
                self.note_fault(
                    kind,
                    format!(
                        "broker {} crashed; {} share partitions fail over to broker {new_leader}",
                        crash.broker,
                        led.len()
                    ),
                );
                for slot in led {
                    self.fail_over(slot, new_leader);
                }
                if let Some(after_ms) = crash.restart_after_ms {
                    let restart = DeferredFault::BrokerRestart {
                        broker: crash.broker,
                    };
                    self.schedule(now_ms + after_ms, Action::Deferred(restart));
                }
            }
            Fault::BrokerRestart(restart) => {
                self.apply_deferred(DeferredFault::BrokerRestart {
                    broker: restart.broker,
                });
            }
            Fault::LeadershipBounce(bounce) => {
                let slots = self.slots_of(&bounce.topic, bounce.partition);
                let Some(&first) = slots.first() else {
                    return self.skip_fault(kind, "no share group reads that topic partition");
                };
                let home = self.slots[first].leader_broker;
                let via = bounce
                    .via_broker
                    .unwrap_or_else(|| self.next_live_broker(home));
                self.note_fault(
                    kind,
                    format!(
                        "{}-{} leadership moves to broker {via}, back to {home} after {} ms",
                        bounce.topic, bounce.partition, bounce.back_after_ms
                    ),
                );
                for &slot in &slots {
                    self.fail_over(slot, via);
                }
                let back = DeferredFault::LeadershipBack {
                    slots,
                    broker: home,
                };
                self.schedule(now_ms + bounce.back_after_ms, Action::Deferred(back));
            }
            Fault::PersisterFail(fault) | Fault::PersisterTimeout(fault) => {
                let error = if kind == "persister_timeout" {
                    ResponseError::RequestTimedOut
                } else {
                    ResponseError::CoordinatorNotAvailable
                };
                self.note_fault(
                    kind,
                    format!(
                        "{} fails with {error:?} (probability {}, count {:?}, for {:?} ms)",
                        fault.rpc, fault.probability, fault.count, fault.duration_ms
                    ),
                );
                self.faults.persister = Some(PersisterWindow {
                    error,
                    probability: fault.probability,
                    remaining: fault.count,
                    until_ms: fault.duration_ms.map(|ms| now_ms + ms),
                });
                if let Some(ms) = fault.duration_ms {
                    self.schedule(
                        now_ms + ms,
                        Action::Deferred(DeferredFault::PersisterHealed),
                    );
                }
            }
            Fault::ShareCoordinatorFailover(_) => {
                self.note_fault(
                    kind,
                    "the share coordinator reloads __share_group_state by replay".to_string(),
                );
                self.reload_share_coordinator();
            }
            Fault::LogStartMove(moved) | Fault::DeleteRecords(moved) => {
                let Some(topic_index) = self.topics.iter().position(|t| t.name == moved.topic)
                else {
                    return self.skip_fault(kind, "unknown topic");
                };
                let Some(log) = self.topics[topic_index]
                    .logs
                    .get_mut(moved.partition as usize)
                else {
                    return self.skip_fault(kind, "unknown partition");
                };
                let offset = (moved.offset as i64).min(log.end_offset());
                log.log_start_offset = log.log_start_offset.max(offset);
                self.note_fault(
                    kind,
                    format!(
                        "{}-{} log start offset -> {offset}",
                        moved.topic, moved.partition
                    ),
                );
                for slot in self.slots_of(&moved.topic, moved.partition) {
                    self.slots[slot]
                        .engine
                        .handle_log_start_offset(now_ms, offset);
                    self.pump(slot);
                }
            }
            Fault::ConsumerCrash(crash) => {
                for consumer in self.consumers_matching(&crash.consumer) {
                    let deferred = DeferredFault::ConsumerCrash {
                        consumer,
                        restart_after_ms: crash.restart_after_ms,
                    };
                    self.apply_deferred(deferred);
                }
            }
            Fault::ConsumerStall(stall) => {
                for consumer in self.consumers_matching(&stall.consumer) {
                    let deferred = DeferredFault::ConsumerStall {
                        consumer,
                        stall_ms: stall.stall_ms,
                    };
                    self.apply_deferred(deferred);
                }
            }
            Fault::ConsumerReconnectLateClose(reconnect) => {
                for consumer in self.consumers_matching(&reconnect.consumer) {
                    let old = self.consumers[consumer].member.clone();
                    self.note_fault(
                        kind,
                        format!(
                            "{old} reconnects as a new member; its old connection closes {} ms later",
                            reconnect.close_delay_ms
                        ),
                    );
                    self.restart_consumer(consumer);
                    let late = DeferredFault::LateClose {
                        consumer,
                        member: old,
                    };
                    self.schedule(now_ms + reconnect.close_delay_ms, Action::Deferred(late));
                }
            }
            Fault::Heal(_) => {
                self.note_fault(kind, "every fault window heals".to_string());
                self.heal_all();
            }
            _ => self.skip_fault(
                kind,
                "not simulated by the engine backend (needs the madsim cluster: network, \
                 replicated log, clocks, RPC hooks)",
            ),
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
                self.release_session(consumer, &member);
            }
        }
    }

    /// Every fault window heals: persister faults end, brokers restart, stalls end.
    pub(super) fn heal_all(&mut self) {
        self.faults.persister = None;
        self.faults.down_brokers.clear();
        for consumer in &mut self.consumers {
            consumer.stalled_until_ms = 0;
        }
    }
}
