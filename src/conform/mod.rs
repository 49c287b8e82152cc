//! Conformance of a trace to the spec: every share-partition event of a simulator trace is replayed
//! against the spec model's step relation, and the first step the spec does not allow is reported with
//! its `seq`.
//!
//! The record-level rules are the model's own: each record's acquisition, acknowledgement, lock
//! expiry, session release, lock renewal and log-start archive is projected onto a one-record
//! `sharesim_model::ShareModel` state and taken with `ShareModel::step` (see [`projection`]), so
//! those rules are written once. This module keeps what a trace replay needs around them: the
//! records' known states, owners and delivery counts, SPSO, the writes in flight, a new leader's
//! restore (spec 3.5: ACQUIRED and unpersisted one-phase transitions come back AVAILABLE, counts
//! unknown), SPSO advancement over terminal records (spec 1.6), and the steps the model does not
//! have (aborted transactions, the DLQ's ARCHIVING, rollbacks of failed writes, which it checks
//! only for state consistency). The trace does not name its release, so a step conforms when the
//! rules of one profile allow it ([`conform_profile`] fixes the profile).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sharesim_model::Profile;
use sharesim_sim::share::partition::{
    PartitionEvent, StartOffsetMoveCause, TransitionCause, WriteId,
};
use sharesim_sim::share::{MemberId, RecordState};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use self::projection::{Before, SpecRules, Verdict};

mod projection;

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

/// Replays `records` with delivery-count limit `delivery_count_limit` (`L` of spec 1.3) under the rules
/// of any profile.
pub fn conform(records: &[TraceRecord], delivery_count_limit: u16) -> ConformanceReport {
    conform_profile(records, delivery_count_limit, None)
}

/// Replays `records` with delivery-count limit `delivery_count_limit` under `profile`'s rules (any
/// profile's when `None`).
pub fn conform_profile(
    records: &[TraceRecord],
    delivery_count_limit: u16,
    profile: Option<Profile>,
) -> ConformanceReport {
    let rules = SpecRules::new(delivery_count_limit, profile);
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
        if let Err((offset, message)) = spec.step(event, record.at_ms, &rules) {
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

    fn step(&mut self, event: &PartitionEvent, at_ms: u64, rules: &SpecRules) -> StepResult {
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
                    self.acquire(offset, member, *delivery_count, rules)?;
                }
                Ok(())
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                from,
                to,
                delivery_count,
                member,
                cause,
                ..
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
                        member: member.as_ref(),
                        cause: *cause,
                    };
                    self.transition(&step, rules)?;
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
                    // Spec 1.2 #7: a RENEW by the holder keeps the record ACQUIRED.
                    let held = self.records.get(&offset).is_some_and(|record| {
                        let before = Before {
                            state: record.state,
                            delivery_count: record.delivery_count.unwrap_or(1),
                            requester_owns: record.owner.as_ref() == Some(member),
                            below_spso: false,
                        };
                        let count = before.delivery_count;
                        let renew = sharesim_sim::share::AcknowledgeType::Renew;
                        let verdict =
                            rules.acknowledge(&before, renew, RecordState::Acquired, count);
                        verdict == Verdict::Allowed
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

    fn acquire(
        &mut self,
        offset: i64,
        member: &MemberId,
        delivery_count: u16,
        rules: &SpecRules,
    ) -> StepResult {
        let below_spso = self.spso.is_some_and(|spso| offset < spso);
        let before = match self.records.get(&offset) {
            None => {
                // A record the trace has not seen is new (delivery count 0), unless a restored leader
                // carries its persisted count (known only after the restore set SPSO).
                let restored = self.spso.is_some() && delivery_count != 0;
                if delivery_count != 1 && !restored {
                    return Err((
                        Some(offset),
                        format!("spec 1.2 #1: a new record acquired with delivery count {delivery_count}"),
                    ));
                }
                Before {
                    state: RecordState::Available,
                    delivery_count: delivery_count.saturating_sub(1),
                    requester_owns: true,
                    below_spso,
                }
            }
            Some(record) => Before {
                state: record.state,
                delivery_count: record
                    .delivery_count
                    .unwrap_or(delivery_count.saturating_sub(1)),
                requester_owns: record.owner.as_ref().is_none_or(|owner| owner == member),
                below_spso,
            },
        };
        match rules.acquire(&before, delivery_count) {
            Verdict::Allowed => {}
            Verdict::Refused if below_spso => {
                return Err((Some(offset), "spec 1.6: acquired below SPSO".to_string()));
            }
            Verdict::Refused => {
                return Err((
                    Some(offset),
                    format!(
                        "spec 1.2 #1: acquired from {:?}, only AVAILABLE may be",
                        before.state
                    ),
                ));
            }
            Verdict::Leads(_) => {
                return Err((
                    Some(offset),
                    format!(
                        "spec 1.2 #1: delivery count {} -> {delivery_count}, acquisition adds exactly one",
                        before.delivery_count
                    ),
                ));
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

    fn transition(&mut self, step: &TransitionStep<'_>, rules: &SpecRules) -> StepResult {
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
        let owner = current.as_ref().and_then(|r| r.owner.clone());
        let below_spso = self.spso.is_some_and(|spso| offset < spso);
        let requester_owns =
            owner.is_none() || step.member.is_none() || owner.as_ref() == step.member;
        let before = Before {
            state: step.from,
            delivery_count: current
                .as_ref()
                .and_then(|r| r.delivery_count)
                .unwrap_or(step.delivery_count),
            requester_owns,
            below_spso,
        };
        let limit = rules.limit();
        let name = |member: Option<&MemberId>| member.map_or("-".to_string(), |m| m.to_string());
        let leads = |rule: &str, what: String, verdict: Verdict| {
            match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Leads(after) => fail(format!(
                "{rule}: {what} at delivery count {} (limit {limit}) cannot lead to {:?} with delivery \
                 count {}; the spec leads to {:?} with delivery count {}",
                before.delivery_count, step.to, step.delivery_count, after.state, after.delivery_count
            )),
            Verdict::Refused => fail(format!("{rule}: {what} of a record that is {:?}", step.from)),
        }
        };
        match step.cause {
            TransitionCause::Acknowledge { ack_type } => {
                // An ack below SPSO is silently skipped by the spec (spec 2.2); the record is judged
                // as if at SPSO, where the spec applies the ack.
                let at_spso = Before {
                    below_spso: false,
                    ..before
                };
                let verdict = rules.acknowledge(&at_spso, ack_type, step.to, step.delivery_count);
                if verdict == Verdict::Refused
                    && !requester_owns
                    && step.from == RecordState::Acquired
                {
                    return fail(format!(
                        "spec 2.2: {ack_type:?} by {} of a record held by {}",
                        name(step.member),
                        name(owner.as_ref())
                    ));
                }
                leads("spec 1.2", format!("{ack_type:?}"), verdict)?;
            }
            TransitionCause::LockExpiry => {
                let verdict = rules.lock_expiry(&before, step.to, step.delivery_count);
                leads("spec 1.2 #5, 1.3", "LockExpiry".to_string(), verdict)?;
            }
            TransitionCause::SessionRelease => {
                let verdict = rules.session_release(&before, step.to, step.delivery_count);
                if verdict == Verdict::Refused && !requester_owns {
                    return fail(
                        "spec 1.2 #6: a session release touched another member's record"
                            .to_string(),
                    );
                }
                leads("spec 1.2 #6", "SessionRelease".to_string(), verdict)?;
            }
            TransitionCause::LogStartOffsetMove | TransitionCause::Compaction => {
                let verdict = rules.log_start_move(&before, step.to, step.delivery_count);
                if verdict != Verdict::Allowed {
                    return fail(format!(
                        "spec 1.2 #8: {:?} may only archive AVAILABLE records, not {:?} -> {:?}",
                        step.cause, step.from, step.to
                    ));
                }
            }
            // Not in the model (no transactions, no DLQ); the rule is the spec's table.
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
    member: Option<&'a MemberId>,
    cause: TransitionCause,
}

#[cfg(test)]
mod tests;
