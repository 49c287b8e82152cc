//! Share-consumer applications in the engine backend: poll (ShareFetch on every assigned partition,
//! round robin, up to `max.poll.records`), process each record for a drawn time, acknowledge by the
//! scenario's policy, poll again. Deserialization poison is released automatically (spec 7.5) and a
//! corrupt batch rejected (spec 7.6) without reaching the application. Crashes close the connection, so
//! the broker releases the member's records (spec 2.5); stalls only stop polling, so locks expire.

use std::collections::BTreeMap;

use rand::Rng;
use sharesim_sim::client::application::ProcessingTime;
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::broker::share_fetch_record_limits;
use sharesim_sim::share::partition::{
    AcknowledgementBatch, AcquireMode, AcquireParams, EngineMutation,
};
use sharesim_sim::share::{AcknowledgeType, MemberId};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent};

use super::faults::DeferredFault;
use super::mutations::NodeMutation;
use super::zombie::Role;
use super::{Action, World, IDLE_POLL_MS};
use crate::runner::backend::RunError;
use crate::scenario::workload::{Distribution, PoisonKind};
use crate::scenario::{ConsumerSpec, Policy};

/// A record the application holds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Held {
    slot: usize,
    /// The leader epoch of the engine that handed it out.
    leader_epoch: i32,
    pub offset: i64,
    delivery_count: u16,
    poison: Option<PoisonKind>,
    /// A slow record's processing time (poison kind `slow`).
    slow_ms: Option<u64>,
}

/// One consumer instance.
#[derive(Debug)]
pub(super) struct ConsumerState {
    pub entry: usize,
    pub instance: u32,
    /// Bumped by every crash and restart; stale scheduled actions carry an older one.
    pub generation: u32,
    pub member: MemberId,
    pub start_ms: u64,
    pub assigned: Vec<usize>,
    pub next_partition: usize,
    pub params: AcquireParams,
    pub processing: ProcessingTime,
    pub policy: Policy,
    pub failure_ratio: f64,
    pub crashed: bool,
    pub stalled_until_ms: u64,
    pub held: Vec<Held>,
    /// When the application finishes what it holds (the scheduled `Finish`).
    pub finish_at_ms: u64,
    pub spec: ConsumerSpec,
}

/// A scenario distribution as the application's processing time.
pub(crate) fn processing_time(distribution: &Distribution) -> ProcessingTime {
    // An uncut tail is cut at ten minutes: longer than any lock, so it still shows.
    const UNCUT_MAX_MS: u64 = 600_000;
    match distribution {
        Distribution::Fixed { ms } => ProcessingTime::Fixed { ms: *ms },
        Distribution::Uniform { min_ms, max_ms } => ProcessingTime::Uniform {
            min_ms: *min_ms,
            max_ms: *max_ms,
        },
        Distribution::Exponential { mean_ms, max_ms } => ProcessingTime::Exponential {
            mean_ms: *mean_ms,
            max_ms: max_ms.unwrap_or(UNCUT_MAX_MS),
        },
        Distribution::Lognormal {
            median_ms,
            sigma,
            max_ms,
        } => ProcessingTime::LogNormal {
            median_ms: *median_ms,
            sigma: *sigma,
            max_ms: max_ms.unwrap_or(UNCUT_MAX_MS),
        },
    }
}

fn member_name(entry: usize, instance: u32, generation: u32) -> MemberId {
    match generation {
        0 => MemberId::new(format!("consumer-{entry}-{instance}")),
        _ => MemberId::new(format!("consumer-{entry}-{instance}-r{generation}")),
    }
}

impl ConsumerState {
    /// Instance `instance` of `consumers[entry]`, speaking the ShareFetch version of `semantics`.
    pub(super) fn new(
        entry: usize,
        instance: u32,
        spec: &ConsumerSpec,
        assigned: Vec<usize>,
        semantics: &Semantics,
    ) -> Result<ConsumerState, RunError> {
        let config = |name: &str| {
            spec.configs
                .get(name)
                .map(|value| value.as_str().to_string())
        };
        let max_poll_records = match config("max.poll.records") {
            Some(text) => text.parse::<u32>().map_err(|_| {
                RunError(format!("consumers[{entry}]: bad max.poll.records `{text}`"))
            })?,
            None => 500,
        };
        // The broker's rule, as the cluster's brokers apply it: 4.0's ShareFetch v0 carries no
        // MaxRecords, so a fetch acquires up to the in-flight limit, not max.poll.records.
        let max_poll_records = i32::try_from(max_poll_records).unwrap_or(i32::MAX);
        let (max_records, batch_size) = share_fetch_record_limits(
            semantics.share_rpc_version,
            max_poll_records,
            max_poll_records,
        );
        let mode = match config("share.acquire.mode").as_deref() {
            Some("record_limit") => AcquireMode::RecordLimit,
            _ => AcquireMode::BatchOptimized,
        };
        Ok(ConsumerState {
            entry,
            instance,
            generation: 0,
            member: member_name(entry, instance, 0),
            start_ms: spec.start_ms,
            next_partition: instance as usize,
            assigned,
            params: AcquireParams {
                max_records: max_records.max(1),
                batch_size: batch_size.max(1),
                mode,
            },
            processing: processing_time(&spec.processing),
            policy: spec.policy.clone(),
            failure_ratio: spec.failure.processing_failure_ratio.clamp(0.0, 1.0),
            crashed: false,
            stalled_until_ms: 0,
            held: Vec::new(),
            finish_at_ms: 0,
            spec: spec.clone(),
        })
    }

    /// This instance's own crash and stall times from the scenario's `failure`.
    pub(super) fn scheduled_failures(&self, index: usize) -> Vec<(u64, DeferredFault)> {
        let failure = &self.spec.failure;
        let mut scheduled = Vec::new();
        if let Some(at_ms) = failure.crash_at_ms {
            let restart_after_ms = failure.reconnect_after_ms;
            scheduled.push((
                at_ms,
                DeferredFault::ConsumerCrash {
                    consumer: index,
                    restart_after_ms,
                },
            ));
        }
        if let (Some(at_ms), Some(stall_ms)) = (failure.stall_at_ms, failure.stall_for_ms) {
            scheduled.push((
                at_ms,
                DeferredFault::ConsumerStall {
                    consumer: index,
                    stall_ms,
                },
            ));
        }
        scheduled
    }

    /// Whether this instance matches `consumer:entry[/instance]`.
    pub(super) fn is(&self, entry: usize, instance: Option<u32>) -> bool {
        self.entry == entry && instance.is_none_or(|i| i == self.instance)
    }
}

impl World {
    /// Appends a consumer's event.
    pub(super) fn consumer_event(
        &mut self,
        consumer: usize,
        group_id: String,
        event: ShareConsumerEvent,
    ) {
        let member = self.consumers[consumer].member.clone();
        let node = member.to_string();
        let event = TraceEvent::ShareConsumer {
            group_id,
            member,
            event,
        };
        self.trace.record(self.now_ms, &node, event);
    }

    /// A poll: fetch from the assigned partitions, hand records to the application.
    pub(super) fn poll(&mut self, consumer: usize, generation: u32) {
        let state = &self.consumers[consumer];
        if state.crashed || state.generation != generation {
            return;
        }
        if state.stalled_until_ms > self.now_ms {
            let at_ms = state.stalled_until_ms;
            self.schedule(
                at_ms,
                Action::Poll {
                    consumer,
                    generation,
                },
            );
            return;
        }
        let assigned = state.assigned.clone();
        let start = state.next_partition;
        let mut remaining = state.params.max_records;
        for step in 0..assigned.len() {
            if remaining == 0 {
                break;
            }
            let slot = assigned[(start + step) % assigned.len()];
            remaining = remaining.saturating_sub(self.fetch_into(consumer, slot, remaining));
        }
        let state = &mut self.consumers[consumer];
        state.next_partition = state.next_partition.wrapping_add(1);
        if state.held.is_empty() {
            let at_ms = self.now_ms + IDLE_POLL_MS;
            self.schedule(
                at_ms,
                Action::Poll {
                    consumer,
                    generation,
                },
            );
            return;
        }
        let processing = state.processing.clone();
        let slow_ms: Vec<Option<u64>> = state.held.iter().map(|record| record.slow_ms).collect();
        // A draw for slow records too, so the random stream does not depend on which records are slow.
        let total_ms: u64 = slow_ms
            .into_iter()
            .map(|slow_ms| {
                let sampled_ms = processing.sample_ms(&mut self.rng);
                slow_ms.unwrap_or(sampled_ms)
            })
            .sum();
        let at_ms = self.now_ms + total_ms;
        state.finish_at_ms = at_ms;
        if let Policy::RenewLongTasks { renew_after_ms } = state.policy {
            let renew_at_ms = self.now_ms + renew_after_ms.max(1);
            if renew_at_ms < at_ms {
                self.schedule(
                    renew_at_ms,
                    Action::Renew {
                        consumer,
                        generation,
                    },
                );
            }
        }
        self.schedule(
            at_ms,
            Action::Finish {
                consumer,
                generation,
            },
        );
    }

    /// `renew_long_tasks`: the application is still working `renew_after_ms` after its poll, so it
    /// acknowledges what it holds with RENEW (spec 7.8: the records stay acquired, their locks restart)
    /// and commits; again every `renew_after_ms` until it finishes. A stalled application renews
    /// nothing (its locks run out, as they would in a frozen process).
    pub(super) fn renew_locks(&mut self, consumer: usize, generation: u32) {
        let state = &self.consumers[consumer];
        if state.crashed || state.generation != generation || state.held.is_empty() {
            return;
        }
        let Policy::RenewLongTasks { renew_after_ms } = state.policy else {
            return;
        };
        if state.stalled_until_ms <= self.now_ms {
            let mut by_slot: BTreeMap<(usize, i32), Vec<(i64, AcknowledgeType)>> = BTreeMap::new();
            for record in &state.held {
                // Poison the client released or rejected itself is not the application's to renew.
                if record.poison.is_some_and(|kind| {
                    !matches!(kind, PoisonKind::ProcessingFailure | PoisonKind::Slow)
                }) {
                    continue;
                }
                by_slot
                    .entry((record.slot, record.leader_epoch))
                    .or_default()
                    .push((record.offset, AcknowledgeType::Renew));
            }
            // RENEW goes with commitAsync, a ShareAcknowledge of its own (not piggybacked).
            for ((slot, leader_epoch), renewals) in by_slot {
                self.acknowledge(consumer, slot, leader_epoch, renewals, false);
            }
        }
        let next_ms = self.now_ms + renew_after_ms.max(1);
        if next_ms < self.consumers[consumer].finish_at_ms {
            self.schedule(
                next_ms,
                Action::Renew {
                    consumer,
                    generation,
                },
            );
        }
    }

    /// One ShareFetch of `consumer` on slot `slot`; returns how many records it acquired.
    pub(super) fn fetch_into(&mut self, consumer: usize, slot: usize, max_records: u32) -> u32 {
        self.ensure_initialized(slot);
        let fetch_offset = self.slots[slot].engine.next_fetch_offset();
        let log =
            &self.topics[self.slots[slot].topic_index].logs[self.slots[slot].partition as usize];
        let read = log.read(fetch_offset);
        if read.batches.is_empty() {
            return 0;
        }
        let params = AcquireParams {
            max_records,
            ..self.consumers[consumer].params
        };
        let member = self.consumers[consumer].member.clone();
        let acquired = self.slots[slot]
            .engine
            .handle_fetch(self.now_ms, &member, &read, params)
            .unwrap_or_default();
        self.pump(slot);
        let skipped_offset = acquired
            .last()
            .map(|range| range.last_offset)
            .filter(|_| self.mutations.has(NodeMutation::AcceptSkippedRecords));
        let mut count = 0;
        for range in acquired {
            for offset in range.first_offset..=range.last_offset {
                let log = &self.topics[self.slots[slot].topic_index].logs
                    [self.slots[slot].partition as usize];
                let poison_record = log.poison_at(offset);
                let poison = poison_record.map(|record| record.kind);
                let slow_ms = poison_record
                    .filter(|record| record.kind == PoisonKind::Slow)
                    .map(|record| record.processing_ms);
                count += 1;
                let leader_epoch = self.slots[slot].leader_epoch;
                self.consumers[consumer].held.push(Held {
                    slot,
                    leader_epoch,
                    offset,
                    delivery_count: range.delivery_count,
                    poison,
                    slow_ms,
                });
                // Deserialization errors and CRC failures never reach the application (spec 7.5, 7.6).
                if matches!(
                    poison,
                    Some(PoisonKind::Deserialization | PoisonKind::CorruptBatch)
                ) || skipped_offset == Some(offset)
                {
                    continue;
                }
                let key = &self.slots[slot].key;
                let event = ShareConsumerEvent::RecordDelivered {
                    topic_id: key.topic_id,
                    partition: key.partition,
                    offset,
                    delivery_count: range.delivery_count,
                };
                let group_id = key.group_id.clone();
                self.consumer_event(consumer, group_id, event);
            }
        }
        count
    }

    /// The application finished what it holds: acknowledge per the policy, then poll again.
    pub(super) fn finish_processing(&mut self, consumer: usize, generation: u32) {
        let state = &self.consumers[consumer];
        if state.crashed || state.generation != generation {
            return;
        }
        if state.stalled_until_ms > self.now_ms {
            let at_ms = state.stalled_until_ms;
            self.schedule(
                at_ms,
                Action::Finish {
                    consumer,
                    generation,
                },
            );
            return;
        }
        let held = std::mem::take(&mut self.consumers[consumer].held);
        let mut by_slot: BTreeMap<(usize, i32), Vec<(i64, AcknowledgeType)>> = BTreeMap::new();
        for record in held {
            let ack_type = self.decide(consumer, &record);
            by_slot
                .entry((record.slot, record.leader_epoch))
                .or_default()
                .push((record.offset, ack_type));
        }
        // They ride on the next ShareFetch (the poll scheduled below), as the client piggybacks them.
        for ((slot, leader_epoch), acknowledgements) in by_slot {
            self.acknowledge(consumer, slot, leader_epoch, acknowledgements, true);
        }
        let now_ms = self.now_ms;
        self.schedule(
            now_ms,
            Action::Poll {
                consumer,
                generation,
            },
        );
    }

    /// The acknowledgement the application (or the client, for poison) gives one record.
    fn decide(&mut self, consumer: usize, record: &Held) -> AcknowledgeType {
        match record.poison {
            Some(PoisonKind::Deserialization) => return AcknowledgeType::Release,
            Some(PoisonKind::CorruptBatch) => return AcknowledgeType::Reject,
            _ => {}
        }
        let ratio = self.consumers[consumer].failure_ratio;
        let failed = record.poison == Some(PoisonKind::ProcessingFailure)
            || (ratio > 0.0 && self.rng.gen_bool(ratio));
        match (&self.consumers[consumer].policy, failed) {
            (_, false) | (Policy::Accept, true) | (Policy::RenewLongTasks { .. }, true) => {
                AcknowledgeType::Accept
            }
            (Policy::ReleaseOnFailure, true) => AcknowledgeType::Release,
            (Policy::RejectAfterNTries { tries }, true) => {
                if u32::from(record.delivery_count) >= *tries {
                    AcknowledgeType::Reject
                } else {
                    AcknowledgeType::Release
                }
            }
        }
    }

    /// Sends acknowledgements for slot `slot` of records fetched at `leader_epoch` (to the zombie leader
    /// if they came from it), `piggybacked` on a ShareFetch or in a ShareAcknowledge.
    pub(super) fn acknowledge(
        &mut self,
        consumer: usize,
        slot: usize,
        leader_epoch: i32,
        acknowledgements: Vec<(i64, AcknowledgeType)>,
        piggybacked: bool,
    ) {
        let key = self.slots[slot].key.clone();
        let sent = ShareConsumerEvent::AcknowledgementsSent {
            topic_id: key.topic_id,
            partition: key.partition,
            acknowledgements: acknowledgements.clone(),
        };
        self.consumer_event(consumer, key.group_id.clone(), sent);
        if piggybacked && self.mutations.has(NodeMutation::DropPiggybackedAcks) {
            // The broker's ShareFetch handler forgets the acknowledgements it carries.
            return;
        }
        let batches: Vec<AcknowledgementBatch> = acknowledgements
            .iter()
            .map(|&(offset, ack_type)| AcknowledgementBatch::of(offset, offset, ack_type))
            .collect();
        let member = self.consumers[consumer].member.clone();
        let role = self.role_for(slot, leader_epoch);
        let (engine_epoch, _) = self.epoch_and_broker(slot, role);
        let now_ms = self.now_ms;
        let answer = self
            .engine_mut(slot, role)
            .map(|engine| engine.handle_acknowledge(now_ms, &member, &batches));
        match answer {
            Some(Ok(ticket)) => {
                self.tickets
                    .insert((slot, engine_epoch, ticket), (consumer, acknowledgements));
            }
            Some(Err(error)) => self.ack_outcome(consumer, slot, acknowledgements, error.code()),
            None => {}
        }
        self.pump_engine(slot, role);
    }

    /// The consumer process dies: its connection closes, so every leader releases its records (4.1 and
    /// later). In 4.0 a disconnect released nothing (spec 2.4, 8: `Semantics::release_on_disconnect`,
    /// as the cluster's session cache does): the records wait for their acquisition locks to expire.
    pub(super) fn crash_consumer(&mut self, consumer: usize) {
        let state = &mut self.consumers[consumer];
        if state.crashed {
            return;
        }
        state.crashed = true;
        state.generation += 1;
        state.held.clear();
        let member = state.member.clone();
        self.release_on_disconnect(consumer, &member);
    }

    /// A connection of `member` closed without a final ShareAcknowledge: its session's records are
    /// released where the release does that on a disconnect (4.1 and later), else kept until their locks
    /// expire.
    pub(super) fn release_on_disconnect(&mut self, consumer: usize, member: &MemberId) {
        if self.semantics.release_on_disconnect {
            self.release_session(consumer, member);
        }
    }

    /// Every leader releases `member`'s records (a share session closed).
    /// A zombie leader the member talked to sees the connection close too.
    pub(super) fn release_session(&mut self, consumer: usize, member: &MemberId) {
        let now_ms = self.now_ms;
        for slot in self.consumers[consumer].assigned.clone() {
            for role in [Role::Leader, Role::Zombie] {
                let Some(engine) = self.engine_mut(slot, role) else {
                    continue;
                };
                if engine.partition_state()
                    == sharesim_sim::share::partition::PartitionState::Active
                {
                    engine.handle_release_session(now_ms, member);
                    self.pump_engine(slot, role);
                }
            }
        }
    }

    /// A new member starts in place of a crashed (or reconnecting) one.
    pub(super) fn restart_consumer(&mut self, consumer: usize) {
        let state = &mut self.consumers[consumer];
        state.crashed = false;
        state.stalled_until_ms = 0;
        state.generation += 1;
        state.held.clear();
        state.member = member_name(state.entry, state.instance, state.generation);
        let generation = state.generation;
        let now_ms = self.now_ms;
        self.schedule(
            now_ms,
            Action::Poll {
                consumer,
                generation,
            },
        );
    }

    /// The consumer reconnects as a new member. With the mutation switch `release_from_non_owner` on,
    /// the client also makes the mistake that switch needs to show: the new member RELEASEs what the
    /// previous member id still held (the engine must refuse it, spec 2.2; the mutated engine accepts).
    pub(super) fn reconnect_consumer(&mut self, consumer: usize) {
        let releases_others = self.mutation == Some(EngineMutation::ReleaseFromNonOwner);
        let previous = if releases_others {
            std::mem::take(&mut self.consumers[consumer].held)
        } else {
            Vec::new()
        };
        self.restart_consumer(consumer);
        let mut by_slot: BTreeMap<(usize, i32), Vec<(i64, AcknowledgeType)>> = BTreeMap::new();
        for record in previous {
            by_slot
                .entry((record.slot, record.leader_epoch))
                .or_default()
                .push((record.offset, AcknowledgeType::Release));
        }
        for ((slot, leader_epoch), acknowledgements) in by_slot {
            self.acknowledge(consumer, slot, leader_epoch, acknowledgements, false);
        }
    }

    /// Liveness phase: a crashed consumer comes back, a stalled one resumes.
    pub(super) fn revive(&mut self, consumer: usize) {
        if self.consumers[consumer].crashed {
            self.restart_consumer(consumer);
        } else {
            self.consumers[consumer].stalled_until_ms = 0;
        }
    }

    /// The consumer stops polling and processing for `stall_ms`.
    pub(super) fn stall_consumer(&mut self, consumer: usize, stall_ms: u64) {
        let until_ms = self.now_ms + stall_ms;
        let state = &mut self.consumers[consumer];
        state.stalled_until_ms = state.stalled_until_ms.max(until_ms);
    }
}
