//! Scripted runs (a scenario's `script`, see `crate::scenario::script`): the steps drive the one share
//! partition exactly, one virtual millisecond apart. Persister writes wait for `persister_write` steps;
//! `lock_expiry` jumps the clock to the lock's deadline. Where the simulator does something other than
//! the step expected (an acquire that takes other offsets, a lock expiry that also fires earlier locks,
//! a write that is not in flight), the run's facts get a note: the oracle still judges the trace.

use sharesim_sim::share::partition::{AcquireMode, AcquireParams, WriteId};
use sharesim_sim::share::{AcknowledgeType, WriteShareGroupState};
use sharesim_sim::ResponseError;

use super::zombie::Role;
use super::{Action, World};
use crate::scenario::script::{ScriptAckType, ScriptAcquireMode, ScriptStep, ScriptWriteOutcome};

/// The slot a script drives (validation allows exactly one share partition).
const SCRIPT_SLOT: usize = 0;

/// A persister write held until a `persister_write` step.
#[derive(Clone, Debug)]
pub(super) struct HeldWrite {
    slot: usize,
    leader_epoch: i32,
    write_id: WriteId,
    request: WriteShareGroupState,
}

impl HeldWrite {
    /// The offsets the write carries, ascending.
    fn offsets(&self) -> Vec<i64> {
        let mut offsets: Vec<i64> = self
            .request
            .state_batches
            .iter()
            .flat_map(|batch| batch.first_offset..=batch.last_offset)
            .collect();
        offsets.sort_unstable();
        offsets.dedup();
        offsets
    }
}

/// A script in progress.
#[derive(Debug, Default)]
pub(super) struct ScriptRun {
    steps: Vec<ScriptStep>,
    /// The next step to run.
    next: usize,
    /// Writes waiting for a `persister_write` step, oldest first.
    held_writes: Vec<HeldWrite>,
}

impl ScriptRun {
    pub(super) fn new(steps: Vec<ScriptStep>) -> ScriptRun {
        ScriptRun {
            steps,
            next: 0,
            held_writes: Vec::new(),
        }
    }

    /// Whether steps remain.
    pub(super) fn running(&self) -> bool {
        self.next < self.steps.len()
    }
}

fn ack_type(ack_type: ScriptAckType) -> AcknowledgeType {
    match ack_type {
        ScriptAckType::Gap => AcknowledgeType::Gap,
        ScriptAckType::Accept => AcknowledgeType::Accept,
        ScriptAckType::Release => AcknowledgeType::Release,
        ScriptAckType::Reject => AcknowledgeType::Reject,
        ScriptAckType::Renew => AcknowledgeType::Renew,
    }
}

impl World {
    /// Whether persister writes wait for script steps (only while a script runs).
    pub(super) fn script_holds_writes(&self) -> bool {
        self.script.as_ref().is_some_and(ScriptRun::running)
    }

    /// Holds a write until a `persister_write` step.
    pub(super) fn hold_write(
        &mut self,
        slot: usize,
        leader_epoch: i32,
        write_id: WriteId,
        request: WriteShareGroupState,
    ) {
        if let Some(script) = self.script.as_mut() {
            script.held_writes.push(HeldWrite {
                slot,
                leader_epoch,
                write_id,
                request,
            });
        }
    }

    fn script_note(&mut self, index: usize, step: &ScriptStep, message: String) {
        self.facts.notes.push(format!(
            "script[{index}] ({}) at {} ms: {message}",
            step.name(),
            self.now_ms
        ));
    }

    /// Runs the next script step and schedules the one after (or, after the last, the consumers and
    /// the liveness phase).
    pub(super) fn script_step(&mut self) {
        let Some(script) = self.script.as_mut() else {
            return;
        };
        let Some(step) = script.steps.get(script.next).cloned() else {
            return;
        };
        let index = script.next;
        script.next += 1;
        self.perform_script_step(index, &step);
        let now_ms = self.now_ms;
        if self.script_holds_writes() {
            self.schedule(now_ms + 1, Action::ScriptStep);
        } else {
            self.end_script();
        }
    }

    /// After the last step: writes still held go to the coordinator, consumers start polling, and the
    /// workload phase ends at `duration_ms` or now, whichever is later.
    fn end_script(&mut self) {
        let held = self
            .script
            .as_mut()
            .map(|script| std::mem::take(&mut script.held_writes))
            .unwrap_or_default();
        for write in held {
            self.complete_write(write, ScriptWriteOutcome::Delivered);
        }
        let now_ms = self.now_ms + 1;
        for consumer in 0..self.consumers.len() {
            self.consumers[consumer].held.clear();
            let generation = self.consumers[consumer].generation;
            if !self.consumers[consumer].crashed {
                self.schedule(
                    now_ms,
                    Action::Poll {
                        consumer,
                        generation,
                    },
                );
            }
        }
        let liveness_ms = self.scenario.duration_ms.max(now_ms);
        self.schedule(liveness_ms, Action::LivenessStart);
    }

    fn perform_script_step(&mut self, index: usize, step: &ScriptStep) {
        let slot = SCRIPT_SLOT;
        // The model starts from an initialized share partition (SPSO 0, nothing produced).
        self.ensure_initialized(slot);
        match step {
            ScriptStep::Produce { records } => {
                let (topic, partition) = (self.slots[slot].topic_index, self.slots[slot].partition);
                let now_ms = self.now_ms;
                self.topics[topic].logs[partition as usize]
                    .append(now_ms, vec![None; *records as usize]);
            }
            ScriptStep::Acquire {
                member,
                max_records,
                mode,
                expect_offsets,
            } => {
                let consumer = *member as usize;
                let saved = self.consumers[consumer].params;
                self.consumers[consumer].params = AcquireParams {
                    max_records: *max_records,
                    // BatchSize 1: each log batch is its own acquired range and cached batch, as the
                    // model assumes.
                    batch_size: 1,
                    mode: match mode {
                        ScriptAcquireMode::BatchOptimized => AcquireMode::BatchOptimized,
                        ScriptAcquireMode::RecordLimit => AcquireMode::RecordLimit,
                    },
                };
                let held_before = self.consumers[consumer].held.len();
                self.fetch_into(consumer, slot, *max_records);
                self.consumers[consumer].params = saved;
                let acquired: Vec<i64> = self.consumers[consumer].held[held_before..]
                    .iter()
                    .map(|held| held.offset)
                    .collect();
                if let Some(expected) = expect_offsets {
                    if *expected != acquired {
                        let message = format!("acquired {acquired:?}, the model {expected:?}");
                        self.script_note(index, step, message);
                    }
                }
            }
            ScriptStep::Acknowledge {
                member,
                offsets,
                ack_type: kind,
            } => {
                let consumer = *member as usize;
                let acknowledgements = offsets
                    .iter()
                    .map(|&offset| (offset, ack_type(*kind)))
                    .collect();
                let leader_epoch = self.slots[slot].leader_epoch;
                self.acknowledge(consumer, slot, leader_epoch, acknowledgements, false);
            }
            ScriptStep::LockExpiry { offset, persisted } => {
                self.script_lock_expiry(index, step, *offset, *persisted)
            }
            ScriptStep::SessionClose { member } => {
                let consumer = *member as usize;
                let member_id = self.consumers[consumer].member.clone();
                self.release_session(consumer, &member_id);
            }
            ScriptStep::MemberLeave { member } => self.crash_consumer(*member as usize),
            ScriptStep::PersisterWrite {
                offsets,
                leader_epoch,
                outcome,
            } => {
                let script = self.script.as_mut().expect("a script step runs a script");
                let position = script.held_writes.iter().position(|write| {
                    write.offsets() == *offsets
                        && leader_epoch.is_none_or(|epoch| epoch == write.leader_epoch)
                });
                match position {
                    Some(position) => {
                        let write = script.held_writes.remove(position);
                        self.complete_write(write, *outcome);
                    }
                    None => {
                        let message = format!("no write of offsets {offsets:?} is in flight");
                        self.script_note(index, step, message);
                    }
                }
            }
            ScriptStep::LeaderFailover => {
                let broker = self.slots[slot].leader_broker;
                let next = self.next_live_broker(broker);
                self.fail_over(slot, next);
            }
            ScriptStep::LogStartMove { offset } => {
                let (topic, partition) = (self.slots[slot].topic_index, self.slots[slot].partition);
                let log = &mut self.topics[topic].logs[partition as usize];
                let offset = (*offset).min(log.end_offset());
                log.log_start_offset = log.log_start_offset.max(offset);
                let now_ms = self.now_ms;
                self.slots[slot]
                    .engine
                    .handle_log_start_offset(now_ms, offset);
                self.pump(slot);
            }
            ScriptStep::OffsetReset { start_offset } => {
                // AlterShareGroupOffsets: InitializeShareGroupState at the next state epoch (spec 5.3).
                self.ensure_initialized(slot);
                let key = self.slots[slot].key.clone();
                let (_, state_epoch) = self.shard.epochs_max(&key).unwrap_or((0, 0));
                let now_ms = self.now_ms;
                let result =
                    self.shard
                        .handle_initialize(now_ms, &key, state_epoch + 1, *start_offset);
                if let Err(error) = result.response {
                    self.script_note(index, step, format!("the coordinator refused: {error:?}"));
                }
                self.append_state_records(result.records);
            }
        }
    }

    /// Jumps the clock to `offset`'s lock deadline and fires the timers due; the writes this emits
    /// complete at once, delivered or failed as `persisted` says.
    fn script_lock_expiry(
        &mut self,
        index: usize,
        step: &ScriptStep,
        offset: i64,
        persisted: bool,
    ) {
        let slot = SCRIPT_SLOT;
        let engine = &self.slots[slot].engine;
        let Some(deadline_ms) = engine
            .record(offset)
            .filter(|view| view.lock_armed)
            .and_then(|view| view.lock_deadline_ms)
        else {
            let message = format!("offset {offset} holds no armed lock; nothing expires");
            return self.script_note(index, step, message);
        };
        let also_due: Vec<i64> = (engine.start_offset()..engine.end_offset())
            .filter(|&other| other != offset)
            .filter(|&other| {
                engine.record(other).is_some_and(|view| {
                    view.lock_armed && view.lock_deadline_ms.is_some_and(|d| d <= deadline_ms)
                })
            })
            .collect();
        if !also_due.is_empty() {
            let message =
                format!("the locks of offsets {also_due:?} were due first and expire too");
            self.script_note(index, step, message);
        }
        self.now_ms = self.now_ms.max(deadline_ms);
        let held_before = self
            .script
            .as_ref()
            .map_or(0, |script| script.held_writes.len());
        let now_ms = self.now_ms;
        self.slots[slot].engine.handle_timeout(now_ms);
        self.pump(slot);
        let emitted = self
            .script
            .as_mut()
            .map(|script| script.held_writes.split_off(held_before))
            .unwrap_or_default();
        let outcome = if persisted {
            ScriptWriteOutcome::Delivered
        } else {
            ScriptWriteOutcome::Failed
        };
        for write in emitted {
            self.complete_write(write, outcome);
        }
    }

    /// Completes a held write: it reaches the coordinator (through the run's mutation switches) or
    /// fails; the engine that wrote it (if it still exists) gets the answer.
    fn complete_write(&mut self, write: HeldWrite, outcome: ScriptWriteOutcome) {
        let slot = write.slot;
        let role = if write.leader_epoch == self.slots[slot].leader_epoch {
            Some(Role::Leader)
        } else if self.slots[slot]
            .zombie
            .as_ref()
            .is_some_and(|zombie| zombie.leader_epoch == write.leader_epoch)
        {
            Some(Role::Zombie)
        } else {
            None
        };
        match outcome {
            ScriptWriteOutcome::Delivered => {
                self.perform_write(slot, role, write.write_id, write.request);
            }
            ScriptWriteOutcome::Failed => {
                let now_ms = self.now_ms;
                if let Some(engine) = role.and_then(|role| self.engine_mut(slot, role)) {
                    let error = ResponseError::CoordinatorNotAvailable;
                    engine.handle_write_result(now_ms, write.write_id, Err(error));
                }
            }
        }
        if let Some(role) = role {
            self.pump_engine(slot, role);
        }
    }
}
