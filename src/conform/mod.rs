//! Conformance of a trace to the spec: every share-partition event of a simulator trace is replayed
//! through the record-level step relation of the spec (spec 1.2 transitions with their triggers and
//! guards, 1.3 the delivery-count limit, 1.4 locks, 1.6 SPSO, 2.2 ownership, 3.5 a new leader restoring
//! persisted state), and the first step the spec does not allow is reported with its `seq`.
//!
//! This is the same step relation the stateright spec model (`sharesim_model::ShareModel::step`)
//! implements over a bounded window of at most `RECORDS_MAX` offsets, lifted to whole logs and
//! driven by the engine's own events instead of spec actions. Replaying whole traces through
//! `ShareModel::step` itself needs a mapping of unbounded offsets onto its window; that is not done.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sharesim_sim::share::partition::{
    PartitionEvent, StartOffsetMoveCause, TransitionCause, WriteId,
};
use sharesim_sim::share::{AcknowledgeType, MemberId, RecordState};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

/// The first event the spec does not allow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nonconformance {
    /// The event's `seq`.
    pub seq: u64,
    /// Its virtual time.
    pub at_ms: u64,
    /// The offset concerned.
    pub offset: Option<i64>,
    /// Which rule, and what happened.
    pub message: String,
}

impl fmt::Display for Nonconformance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} ({} ms)", self.seq, self.at_ms)?;
        if let Some(offset) = self.offset {
            write!(f, ", offset {offset}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// The outcome of a conformance replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConformanceReport {
    /// Share-partition events replayed.
    pub steps: u64,
    /// Events of stale leader epochs (zombies) skipped.
    pub stale_steps: u64,
    /// The first step the spec does not allow, if any.
    pub first_divergence: Option<Nonconformance>,
}

impl ConformanceReport {
    /// Whether every step was allowed.
    pub fn conforms(&self) -> bool {
        self.first_divergence.is_none()
    }
}

/// What the spec knows of one record.
#[derive(Clone, Debug)]
struct SpecRecord {
    state: RecordState,
    delivery_count: Option<u16>,
    owner: Option<MemberId>,
}

/// One share partition under replay.
#[derive(Debug, Default)]
struct SpecPartition {
    leader_epoch: i32,
    spso: Option<i64>,
    records: BTreeMap<i64, SpecRecord>,
    /// Offsets transitioned since the last `write_started`: the write it starts carries them.
    since_write: Vec<i64>,
    /// Writes in flight and the offsets each carries.
    writes: BTreeMap<WriteId, Vec<i64>>,
    /// Offsets whose last one-phase transition (a lock expiry) was never persisted: its write failed
    /// without a rollback (spec 1.4), so a new leader restores their earlier, AVAILABLE state.
    unpersisted: BTreeSet<i64>,
}

/// Replays `records` with delivery-count limit `delivery_count_limit` (`L` of spec 1.3).
pub fn conform(records: &[TraceRecord], delivery_count_limit: u16) -> ConformanceReport {
    let mut partitions: BTreeMap<(String, u128, i32), SpecPartition> = BTreeMap::new();
    let mut report = ConformanceReport {
        steps: 0,
        stale_steps: 0,
        first_divergence: None,
    };
    for record in records {
        let TraceEvent::SharePartition {
            group_id,
            topic_id,
            partition,
            leader_epoch,
            event,
        } = &record.event
        else {
            continue;
        };
        let spec = partitions
            .entry((group_id.clone(), topic_id.0, *partition))
            .or_insert_with(|| SpecPartition {
                leader_epoch: *leader_epoch,
                ..SpecPartition::default()
            });
        if *leader_epoch < spec.leader_epoch {
            report.stale_steps += 1;
            continue;
        }
        if *leader_epoch > spec.leader_epoch {
            spec.restore(*leader_epoch);
        }
        report.steps += 1;
        if let Err((offset, message)) = spec.step(event, record.at_ms, delivery_count_limit) {
            report.first_divergence = Some(Nonconformance {
                seq: record.seq,
                at_ms: record.at_ms,
                offset,
                message,
            });
            break;
        }
    }
    report
}

type StepResult = Result<(), (Option<i64>, String)>;

impl SpecPartition {
    /// Spec 3.5: a new leader loads the persisted state. ACQUIRED is never persisted, and the persisted
    /// delivery count may lag the in-memory one, so it is unknown until the next acquisition.
    fn restore(&mut self, leader_epoch: i32) {
        self.leader_epoch = leader_epoch;
        self.spso = None;
        let unpersisted = std::mem::take(&mut self.unpersisted);
        for (offset, record) in self.records.iter_mut() {
            // Spec 3.5: the new leader starts from the persisted image, which never holds ACQUIRED and
            // lacks the transitions whose one-phase writes failed (the record was AVAILABLE before).
            if record.state == RecordState::Acquired || unpersisted.contains(offset) {
                record.state = RecordState::Available;
            }
            record.owner = None;
            record.delivery_count = None;
        }
        self.since_write.clear();
        self.writes.clear();
    }

    fn step(&mut self, event: &PartitionEvent, at_ms: u64, limit: u16) -> StepResult {
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                delivery_count,
                lock_deadline_ms,
            } => {
                if *lock_deadline_ms <= at_ms {
                    return Err((
                        Some(*first_offset),
                        format!("spec 1.4: acquired with a lock deadline {lock_deadline_ms} ms not after now"),
                    ));
                }
                for offset in *first_offset..=*last_offset {
                    self.acquire(offset, member, *delivery_count)?;
                }
                Ok(())
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                from,
                to,
                delivery_count,
                limit_reached,
                member,
                cause,
            } => {
                if *cause != TransitionCause::Rollback {
                    self.since_write.extend(*first_offset..=*last_offset);
                }
                for offset in *first_offset..=*last_offset {
                    let step = TransitionStep {
                        offset,
                        from: *from,
                        to: *to,
                        delivery_count: *delivery_count,
                        limit_reached: *limit_reached,
                        member: member.as_ref(),
                        cause: *cause,
                    };
                    self.transition(&step, limit)?;
                }
                Ok(())
            }
            PartitionEvent::LockRenewed {
                member,
                first_offset,
                last_offset,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    let record = self.records.get(&offset);
                    let held = record.is_some_and(|r| {
                        r.state == RecordState::Acquired && r.owner.as_ref() == Some(member)
                    });
                    if !held {
                        return Err((
                            Some(offset),
                            format!("spec 1.2 #7: {member} renewed a lock it does not hold"),
                        ));
                    }
                }
                Ok(())
            }
            PartitionEvent::StartOffsetMoved { from, to, cause } => {
                self.move_start(*from, *to, *cause)
            }
            PartitionEvent::WriteStarted { write_id, .. } => {
                let carried = std::mem::take(&mut self.since_write);
                self.writes.insert(*write_id, carried);
                Ok(())
            }
            PartitionEvent::WriteCommitted { write_id } => {
                for offset in self.writes.remove(write_id).unwrap_or_default() {
                    self.unpersisted.remove(&offset);
                }
                Ok(())
            }
            PartitionEvent::WriteFailed {
                write_id,
                rolled_back,
                ..
            } => {
                let carried = self.writes.remove(write_id).unwrap_or_default();
                if !rolled_back {
                    self.unpersisted.extend(carried);
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn acquire(&mut self, offset: i64, member: &MemberId, delivery_count: u16) -> StepResult {
        if self.spso.is_some_and(|spso| offset < spso) {
            return Err((Some(offset), "spec 1.6: acquired below SPSO".to_string()));
        }
        match self.records.get(&offset) {
            None if delivery_count == 1 => {}
            None => {
                // Unseen records of a restored leader carry their persisted count.
                if self.spso.is_none() || delivery_count == 0 {
                    return Err((
                        Some(offset),
                        format!("spec 1.2 #1: a new record acquired with delivery count {delivery_count}"),
                    ));
                }
            }
            Some(record) => {
                if record.state != RecordState::Available {
                    return Err((
                        Some(offset),
                        format!(
                            "spec 1.2 #1: acquired from {:?}, only AVAILABLE may be",
                            record.state
                        ),
                    ));
                }
                if let Some(previous) = record.delivery_count {
                    if delivery_count != previous + 1 {
                        return Err((
                            Some(offset),
                            format!(
                                "spec 1.2 #1: delivery count {previous} -> {delivery_count}, \
                                 acquisition adds exactly one"
                            ),
                        ));
                    }
                }
            }
        }
        self.records.insert(
            offset,
            SpecRecord {
                state: RecordState::Acquired,
                delivery_count: Some(delivery_count),
                owner: Some(member.clone()),
            },
        );
        Ok(())
    }

    fn transition(&mut self, step: &TransitionStep<'_>, limit: u16) -> StepResult {
        let offset = step.offset;
        let fail = |message: String| Err((Some(offset), message));
        let current = self.records.get(&offset).cloned();
        if let Some(current) = &current {
            if current.state != step.from {
                return fail(format!(
                    "a transition from {:?} while the record is {:?}",
                    step.from, current.state
                ));
            }
        }
        if let Some(known) = current.as_ref().and_then(|r| r.delivery_count) {
            let decrement = matches!(step.cause, TransitionCause::SessionRelease)
                && step.delivery_count + 1 == known;
            if step.delivery_count != known && !decrement {
                return fail(format!(
                    "spec 1.2: delivery count {known} -> {} on a {:?} transition, which keeps it",
                    step.delivery_count, step.cause
                ));
            }
        }
        let terminal =
            |state: RecordState| matches!(state, RecordState::Acknowledged | RecordState::Archived);
        if terminal(step.from) && step.cause != TransitionCause::Rollback {
            return fail(format!(
                "spec 1.1: {:?} is terminal, yet it became {:?} ({:?})",
                step.from, step.to, step.cause
            ));
        }
        let owner = current.as_ref().and_then(|r| r.owner.clone());
        let below_spso = self.spso.is_some_and(|spso| offset < spso);
        let at_limit = step.delivery_count >= limit;
        let archive_target = matches!(step.to, RecordState::Archived | RecordState::Archiving);
        match step.cause {
            TransitionCause::Acknowledge { ack_type } => {
                if step.from != RecordState::Acquired {
                    return fail(format!(
                        "spec 1.2: {ack_type:?} of a record that is {:?}",
                        step.from
                    ));
                }
                if owner.is_some() && step.member.is_some() && owner.as_ref() != step.member {
                    return fail(format!(
                        "spec 2.2: {ack_type:?} by {} of a record held by {}",
                        step.member.map_or("-".to_string(), |m| m.to_string()),
                        owner.map_or("-".to_string(), |m| m.to_string())
                    ));
                }
                let allowed = match ack_type {
                    AcknowledgeType::Accept => step.to == RecordState::Acknowledged,
                    AcknowledgeType::Release => {
                        (step.to == RecordState::Available && !at_limit)
                            || (archive_target && at_limit)
                    }
                    AcknowledgeType::Reject | AcknowledgeType::Gap => archive_target,
                    AcknowledgeType::Renew => step.to == RecordState::Acquired,
                };
                if !allowed {
                    return fail(format!(
                        "spec 1.2: {ack_type:?} at delivery count {} (limit {limit}) cannot lead to {:?}",
                        step.delivery_count, step.to
                    ));
                }
            }
            TransitionCause::LockExpiry | TransitionCause::SessionRelease => {
                if step.from != RecordState::Acquired {
                    return fail(format!(
                        "spec 1.2 #5/#6: {:?} of a record that is {:?}",
                        step.cause, step.from
                    ));
                }
                if step.cause == TransitionCause::SessionRelease
                    && owner.is_some()
                    && step.member.is_some()
                    && owner.as_ref() != step.member
                {
                    return fail(
                        "spec 1.2 #6: a session release touched another member's record"
                            .to_string(),
                    );
                }
                let must_archive =
                    below_spso || (at_limit && step.cause == TransitionCause::LockExpiry);
                let allowed = match step.to {
                    RecordState::Available => !must_archive,
                    RecordState::Archived | RecordState::Archiving => {
                        below_spso || at_limit || step.limit_reached
                    }
                    _ => false,
                };
                if !allowed {
                    return fail(format!(
                        "spec 1.2 #5/#6, 1.3: {:?} at delivery count {} (limit {limit}) cannot lead to {:?}",
                        step.cause, step.delivery_count, step.to
                    ));
                }
            }
            TransitionCause::LogStartOffsetMove | TransitionCause::Compaction => {
                if step.from != RecordState::Available || !archive_target {
                    return fail(format!(
                        "spec 1.2 #8: {:?} may only archive AVAILABLE records, not {:?} -> {:?}",
                        step.cause, step.from, step.to
                    ));
                }
            }
            TransitionCause::AbortedTransaction => {
                if step.from != RecordState::Acquired || step.to != RecordState::Archived {
                    return fail(
                        "spec 1.2 #9: aborted batches go from ACQUIRED to ARCHIVED".to_string(),
                    );
                }
            }
            TransitionCause::DeadLetterCompleted => {
                if step.from != RecordState::Archiving || step.to != RecordState::Archived {
                    return fail("spec 1.2 #10: ARCHIVING -> ARCHIVED only".to_string());
                }
            }
            TransitionCause::Rollback => {}
        }
        let owner = match (step.to, step.cause) {
            (RecordState::Acquired, TransitionCause::Rollback) => owner.or(step.member.cloned()),
            (RecordState::Acquired, _) => owner,
            _ => None,
        };
        self.records.insert(
            offset,
            SpecRecord {
                state: step.to,
                delivery_count: Some(step.delivery_count),
                owner,
            },
        );
        Ok(())
    }

    fn move_start(&mut self, from: i64, to: i64, cause: StartOffsetMoveCause) -> StepResult {
        match cause {
            StartOffsetMoveCause::Advance => {
                if to < from {
                    return Err((
                        None,
                        format!("spec 1.6: SPSO moved back from {from} to {to}"),
                    ));
                }
                for offset in from..to {
                    if let Some(record) = self.records.get(&offset) {
                        let terminal = matches!(
                            record.state,
                            RecordState::Acknowledged | RecordState::Archived
                        );
                        if !terminal {
                            return Err((
                                Some(offset),
                                format!(
                                    "spec 1.6: SPSO passed a record that is {:?}",
                                    record.state
                                ),
                            ));
                        }
                    }
                }
            }
            StartOffsetMoveCause::Acquisition
            | StartOffsetMoveCause::Initialization
            | StartOffsetMoveCause::LogStartOffsetMove => {}
        }
        self.spso = Some(to);
        self.records.retain(|offset, _| *offset >= to);
        Ok(())
    }
}

/// One offset's part of a `transition` event.
struct TransitionStep<'a> {
    offset: i64,
    from: RecordState,
    to: RecordState,
    delivery_count: u16,
    limit_reached: bool,
    member: Option<&'a MemberId>,
    cause: TransitionCause,
}

#[cfg(test)]
mod tests;
