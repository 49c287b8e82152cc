//! One share partition under replay: what the trace has shown of its records, SPSO and the writes in
//! flight, and the step that checks each event against the spec model ([`super::projection`]).

use std::collections::BTreeMap;

use sharesim_sim::share::partition::{
    PartitionEvent, PartitionState, StartOffsetMoveCause, TransitionCause, WriteId,
};
use sharesim_sim::share::{MemberId, RecordState};

use super::projection::{Before, Persisted, SpecRules, Verdict};

/// A step's outcome: the offset concerned and a one-line explanation when the spec does not allow it.
pub(super) type StepResult = Result<(), (Option<i64>, String)>;

/// What the spec knows of one record.
#[derive(Clone, Debug, PartialEq, Eq)]
struct SpecRecord {
    state: RecordState,
    delivery_count: u16,
    owner: Option<MemberId>,
    /// When its acquisition lock expires (from its acquisition or last renewal).
    lock_deadline_ms: Option<u64>,
    /// A two-phase transition (acknowledgement, session release) waits for its write.
    pending: Option<Pending>,
    /// The share coordinator's entry for it, as the committed writes of the trace show it.
    persisted: Option<Persisted>,
    /// In this record's coordinator image it lies below the start offset: a write the trace never
    /// saw answered moved the start past it (set by a restore, see `alternative`).
    image_below_start: bool,
    /// After a restore the trace cannot always tell what the new leader read: each write in flight
    /// at the failover may or may not have reached the coordinator first (the old leader's late
    /// events are stale; the trace never shows the answer). The other records the new leader may
    /// have restored, chained; a step keeps those that allow it.
    alternative: Option<Box<SpecRecord>>,
}

impl SpecRecord {
    /// Never fetched, or restored where nothing was persisted (spec 3.5: a hole is new again).
    fn is_new(&self) -> bool {
        self.state == RecordState::Available && self.delivery_count == 0 && self.persisted.is_none()
    }

    /// The record and its alternatives (see `alternative`).
    fn candidates(&self) -> impl Iterator<Item = &SpecRecord> {
        std::iter::successors(Some(self), |record| record.alternative.as_deref())
    }

    /// Applies `change` to the record and to each of its alternatives.
    fn for_each_candidate(&mut self, mut change: impl FnMut(&mut SpecRecord)) {
        let mut next = Some(self);
        while let Some(record) = next {
            change(record);
            next = record.alternative.as_deref_mut();
        }
    }

    /// The first of `candidates` with the others, without repeats, as its alternatives (`None` when
    /// there is none).
    fn chain(candidates: Vec<SpecRecord>) -> Option<SpecRecord> {
        let mut distinct: Vec<SpecRecord> = Vec::new();
        for mut candidate in candidates {
            candidate.alternative = None;
            if !distinct.contains(&candidate) {
                distinct.push(candidate);
            }
        }
        distinct
            .into_iter()
            .rev()
            .fold(None, |alternative, mut record| {
                record.alternative = alternative.map(Box::new);
                Some(record)
            })
    }
}

/// The rollback snapshot of a pending two-phase transition (spec 3.2).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pending {
    owner: Option<MemberId>,
    delivery_count: u16,
    /// The write that carries it, once started.
    write_id: Option<WriteId>,
}

/// A persister write in flight: the start offset and the entries it carries.
#[derive(Debug)]
struct WriteInFlight {
    start_offset: i64,
    entries: Vec<(i64, Persisted)>,
}

/// One share partition under replay.
#[derive(Debug)]
pub(super) struct SpecPartition {
    /// The leader epoch of the events replayed.
    pub leader_epoch: i32,
    spso: Option<i64>,
    records: BTreeMap<i64, SpecRecord>,
    /// Offsets transitioned (and to be persisted) since the last `write_started`: the write it starts
    /// carries them.
    since_write: Vec<i64>,
    writes: BTreeMap<WriteId, WriteInFlight>,
    /// Writes answered with a failure since the last restore: the persister retries a write whose
    /// answer was lost, so an earlier attempt may have landed although the last one failed (cluster
    /// swarm seed 171: an ACCEPT rolled back after COORDINATOR_LOAD_IN_PROGRESS, restored ACKNOWLEDGED
    /// by the next leader). A restore takes them as possibly landed, as unanswered ones.
    failed_writes: BTreeMap<WriteId, WriteInFlight>,
    /// The coordinator's start offset as the committed writes show it (spec 3.3: the largest).
    persisted_start: Option<i64>,
    /// Records have changed since the last restore (a share partition is serving).
    serving: bool,
}

/// The acquisition lock an `acquired` or `lock_renewed` event starts, and when.
#[derive(Clone, Copy, Debug)]
struct Lock {
    deadline_ms: u64,
    at_ms: u64,
}

impl Lock {
    /// Whether it is live when it starts (the model, which abstracts time, knows only that).
    fn live(self) -> bool {
        self.deadline_ms > self.at_ms
    }

    fn refusal(self, what: &str) -> String {
        format!(
            "spec 1.4 (EXCLUSIVE): {what} with a lock deadline {} ms not after now; an acquired \
             record holds a live lock",
            self.deadline_ms
        )
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
    at_ms: u64,
}

impl SpecPartition {
    /// A partition first seen at `leader_epoch`.
    pub fn new(leader_epoch: i32) -> SpecPartition {
        SpecPartition {
            leader_epoch,
            spso: None,
            records: BTreeMap::new(),
            since_write: Vec::new(),
            writes: BTreeMap::new(),
            failed_writes: BTreeMap::new(),
            persisted_start: None,
            serving: false,
        }
    }

    /// Whether `event` starts a new share partition of the same leader after the old one served
    /// records (spec 3.4: a fenced write drops it; a failed read too, before it served any).
    pub fn reinitializes(&self, event: &PartitionEvent) -> bool {
        let initializing = matches!(
            event,
            PartitionEvent::PartitionStateChanged {
                to: PartitionState::Initializing,
                ..
            }
        );
        self.serving && initializing
    }

    fn below_spso(&self, offset: i64) -> bool {
        self.spso.is_some_and(|spso| offset < spso)
    }

    /// What the model is told of `record` at `offset` before a step by `member` at `at_ms`.
    fn before(
        &self,
        offset: i64,
        record: &SpecRecord,
        member: Option<&MemberId>,
        at_ms: u64,
    ) -> Before {
        Before {
            state: record.state,
            delivery_count: record.delivery_count,
            requester_owns: record.owner.is_none()
                || member.is_none()
                || record.owner.as_ref() == member,
            below_spso: self.below_spso(offset),
            rollback_delivery_count: record.pending.as_ref().map(|p| p.delivery_count),
            lock_live: record
                .lock_deadline_ms
                .is_none_or(|deadline| deadline > at_ms),
            persisted: record.persisted,
            below_persisted_start: false,
        }
    }

    /// Applies `step` to the record at `offset` (`None`: not seen) and to each of its restore
    /// alternatives; stores the records the step leads to from those that allow it (the first one's
    /// refusal is reported when none does).
    fn update(
        &mut self,
        offset: i64,
        step: impl Fn(&Self, Option<&SpecRecord>) -> Result<SpecRecord, String>,
    ) -> StepResult {
        let candidates: Vec<Option<&SpecRecord>> = match self.records.get(&offset) {
            Some(record) => record.candidates().map(Some).collect(),
            None => vec![None],
        };
        let mut allowed = Vec::new();
        let mut refusal = None;
        for candidate in candidates {
            match step(self, candidate) {
                Ok(record) => allowed.push(SpecRecord {
                    // The coordinator's image is what it was: a step changes the leader's record.
                    image_below_start: candidate.is_some_and(|c| c.image_below_start),
                    ..record
                }),
                Err(message) => {
                    refusal.get_or_insert(message);
                }
            }
        }
        let record = SpecRecord::chain(allowed)
            .ok_or_else(|| (Some(offset), refusal.unwrap_or_default()))?;
        self.records.insert(offset, record);
        Ok(())
    }

    /// Spec 3.5: a new leader loads the persisted image. The trace cannot tell which of the writes in
    /// flight at the failover reached the coordinator before the new leader's read (a write's answer
    /// is an event of the old, now stale, leader, or never comes: swarm seeds 38, 54 and 150 of the
    /// cluster backend), so every record the new leader may have restored is kept: each candidate
    /// of the old leader (a restore that never served settled nothing) with any of those writes
    /// landed, and so may any write answered with a failure since the last restore (see
    /// `failed_writes`). Writes carry each record's entry and the start offset, so each record's candidates
    /// are taken on their own (a write landing for one record and not another is allowed too: an
    /// over-approximation that keeps the replay per record). A write the coordinator committed is
    /// durable (its `write_committed` event merged it into `persisted`); only an unanswered or a
    /// failed one is uncertain.
    pub fn restore(&mut self, leader_epoch: i32, rules: &SpecRules) {
        self.leader_epoch = leader_epoch;
        self.spso = None;
        self.serving = false;
        self.since_write.clear();
        let mut in_flight = std::mem::take(&mut self.writes);
        in_flight.append(&mut self.failed_writes);
        let persisted_start = self.persisted_start;
        for (&offset, record) in self.records.iter_mut() {
            let below = |start: i64| offset < start;
            let mut restored = Vec::new();
            for candidate in record.candidates() {
                // The images of the record the coordinator may hold: (entry, below its start).
                let below_start = candidate.image_below_start || persisted_start.is_some_and(below);
                let mut images = vec![(candidate.persisted, below_start)];
                for write in in_flight.values() {
                    let landed: Vec<(Option<Persisted>, bool)> = images
                        .iter()
                        .map(|&(persisted, below_start)| {
                            let entries = write.entries.iter().filter(|(o, _)| *o == offset);
                            let persisted = entries.fold(persisted, |persisted, &(_, entry)| {
                                rules.merge(persisted, entry)
                            });
                            (persisted, below_start || below(write.start_offset))
                        })
                        .collect();
                    for image in landed {
                        if !images.contains(&image) {
                            images.push(image);
                        }
                    }
                }
                // Every write landed first: the image the old leader meant to leave.
                for &(persisted, below_start) in images.iter().rev() {
                    let before = Before {
                        below_persisted_start: below_start,
                        rollback_delivery_count: candidate
                            .pending
                            .as_ref()
                            .map(|p| p.delivery_count),
                        persisted,
                        ..Before::new(candidate.state, candidate.delivery_count)
                    };
                    let (state, delivery_count) = rules.restore(&before);
                    restored.push(SpecRecord {
                        state,
                        delivery_count,
                        owner: None,
                        lock_deadline_ms: None,
                        pending: None,
                        persisted,
                        image_below_start: below_start,
                        alternative: None,
                    });
                }
            }
            *record = SpecRecord::chain(restored).expect("a record has one candidate at least");
        }
    }

    /// Replays one event.
    pub fn step(&mut self, event: &PartitionEvent, at_ms: u64, rules: &SpecRules) -> StepResult {
        if !matches!(event, PartitionEvent::PartitionStateChanged { .. }) {
            self.serving = true;
        }
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                delivery_count,
                lock_deadline_ms,
            } => {
                for offset in *first_offset..=*last_offset {
                    let lock = Lock {
                        deadline_ms: *lock_deadline_ms,
                        at_ms,
                    };
                    self.acquire(offset, member, *delivery_count, lock, rules)?;
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
                if is_persisted(*cause) {
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
                        at_ms,
                    };
                    self.transition(&step, rules)?;
                }
                Ok(())
            }
            PartitionEvent::LockRenewed {
                member,
                first_offset,
                last_offset,
                lock_deadline_ms,
            } => {
                for offset in *first_offset..=*last_offset {
                    let lock = Lock {
                        deadline_ms: *lock_deadline_ms,
                        at_ms,
                    };
                    self.renew(offset, member, lock, rules)?;
                }
                Ok(())
            }
            PartitionEvent::StartOffsetMoved { from, to, cause } => {
                self.move_start(*from, *to, *cause, rules)
            }
            PartitionEvent::WriteStarted {
                write_id,
                start_offset,
                ..
            } => {
                self.start_write(*write_id, *start_offset);
                Ok(())
            }
            PartitionEvent::WriteCommitted { write_id } => {
                self.complete_write(*write_id, true, rules);
                Ok(())
            }
            PartitionEvent::WriteFailed { write_id, .. } => {
                self.complete_write(*write_id, false, rules);
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
        lock: Lock,
        rules: &SpecRules,
    ) -> StepResult {
        self.update(offset, |spec, current| {
            let below_spso = spec.below_spso(offset);
            let before = match current {
                // A record the trace has not seen is new: produced, never fetched.
                None => Before {
                    below_spso,
                    ..Before::fresh()
                },
                Some(record) => spec.before(offset, record, Some(member), 0),
            };
            match rules.acquire(&before, delivery_count) {
                Verdict::Allowed if !rules.acquired_lock_allowed(&before, lock.live()) => {
                    Err(lock.refusal("acquired"))
                }
                Verdict::Allowed => Ok(SpecRecord {
                    state: RecordState::Acquired,
                    delivery_count,
                    owner: Some(member.clone()),
                    lock_deadline_ms: Some(lock.deadline_ms),
                    pending: None,
                    persisted: current.and_then(|record| record.persisted),
                    image_below_start: false,
                    alternative: None,
                }),
                Verdict::Refused if below_spso => Err("spec 1.6: acquired below SPSO".to_string()),
                Verdict::Refused if before.rollback_delivery_count.is_some() => Err(format!(
                    "spec 1.2 #1: acquired while its transition to {:?} waits for its write",
                    before.state
                )),
                Verdict::Refused => Err(format!(
                    "spec 1.2 #1: acquired from {:?}, only AVAILABLE may be",
                    before.state
                )),
                Verdict::Leads(after) if current.is_none_or(SpecRecord::is_new) => Err(format!(
                    "spec 1.2 #1: a new record acquired with delivery count {delivery_count}; the \
                     spec gives {}",
                    after.delivery_count
                )),
                Verdict::Leads(after) => Err(format!(
                    "spec 1.2 #1: delivery count {} -> {delivery_count}; acquisition gives {}",
                    before.delivery_count, after.delivery_count
                )),
            }
        })
    }

    fn renew(
        &mut self,
        offset: i64,
        member: &MemberId,
        lock: Lock,
        rules: &SpecRules,
    ) -> StepResult {
        self.update(offset, |spec, current| {
            // Spec 1.2 #7: a RENEW by the holder keeps the record ACQUIRED.
            let before = |record: &SpecRecord| Before {
                below_spso: false,
                ..spec.before(offset, record, Some(member), lock.at_ms)
            };
            let renewed = current.filter(|record| {
                let before = before(record);
                let (state, count) = (RecordState::Acquired, before.delivery_count);
                let renew = sharesim_sim::share::AcknowledgeType::Renew;
                rules.acknowledge(&before, renew, state, count) == Verdict::Allowed
            });
            match renewed {
                Some(record) if !rules.renewed_lock_allowed(&before(record), lock.live()) => {
                    Err(lock.refusal("renewed"))
                }
                Some(record) => Ok(SpecRecord {
                    lock_deadline_ms: Some(lock.deadline_ms),
                    alternative: None,
                    ..record.clone()
                }),
                None => Err(format!(
                    "spec 1.2 #7: {member} renewed a lock it does not hold"
                )),
            }
        })
    }

    fn transition(&mut self, step: &TransitionStep<'_>, rules: &SpecRules) -> StepResult {
        self.update(step.offset, |spec, current| {
            spec.transition_record(step, current, rules)
        })
    }

    /// The record a transition leads to, if the spec allows it.
    fn transition_record(
        &self,
        step: &TransitionStep<'_>,
        current: Option<&SpecRecord>,
        rules: &SpecRules,
    ) -> Result<SpecRecord, String> {
        let below_spso = self.below_spso(step.offset);
        if step.cause == TransitionCause::AbortedTransaction {
            // Spec 1.2 #9: acquired and archived at once; the trace shows only the archive.
            let before = match current {
                Some(record) => self.before(step.offset, record, step.member, step.at_ms),
                None => Before {
                    below_spso,
                    ..Before::fresh()
                },
            };
            let verdict = rules.acquire_aborted(&before, step.to, step.delivery_count);
            return match verdict {
                Verdict::Allowed if step.from == RecordState::Acquired => Ok(SpecRecord {
                    state: step.to,
                    delivery_count: step.delivery_count,
                    owner: None,
                    lock_deadline_ms: None,
                    pending: None,
                    persisted: current.and_then(|record| record.persisted),
                    image_below_start: false,
                    alternative: None,
                }),
                Verdict::Refused => Err(format!(
                    "spec 1.2 #9: an aborted transaction's record archived from {:?}; only an \
                     AVAILABLE record is acquired, then archived",
                    before.state
                )),
                _ => Err(format!(
                    "spec 1.2 #9: an aborted transaction's record goes ACQUIRED -> ARCHIVED at its \
                     acquisition, not {:?} -> {:?}",
                    step.from, step.to
                )),
            };
        }
        // Trace well-formedness, not a protocol rule: the event's `from` repeats what the replay
        // already knows of the record (the model judges the step from that), so a different `from`
        // means the trace contradicts its own earlier events. Kept to name that plainly.
        if let Some(current) = current {
            if current.state != step.from {
                return Err(format!(
                    "a transition from {:?} while the record is {:?}",
                    step.from, current.state
                ));
            }
        }
        let owner = current.and_then(|record| record.owner.clone());
        let before = match current {
            Some(record) => self.before(step.offset, record, step.member, step.at_ms),
            // Not seen (below SPSO, or before the trace): judged from the trace's own `from`.
            None => Before {
                below_spso,
                ..Before::new(step.from, step.delivery_count)
            },
        };
        let limit = rules.limit();
        let name = |member: Option<&MemberId>| member.map_or("-".to_string(), |m| m.to_string());
        let leads = |rule: &str, what: String, verdict: Verdict| {
            match verdict {
            Verdict::Allowed => Ok(()),
            Verdict::Leads(after) => Err(format!(
                "{rule}: {what} at delivery count {} (limit {limit}) cannot lead to {:?} with delivery \
                 count {}; the spec leads to {:?} with delivery count {}",
                before.delivery_count,
                step.to,
                step.delivery_count,
                after.state,
                after.delivery_count
            )),
            Verdict::Refused => Err(format!("{rule}: {what} of a record that is {:?}", step.from)),
        }
        };
        let mut pending = None;
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
                    && !before.requester_owns
                    && step.from == RecordState::Acquired
                {
                    return Err(format!(
                        "spec 2.2: {ack_type:?} by {} of a record held by {}",
                        name(step.member),
                        name(owner.as_ref())
                    ));
                }
                leads("spec 1.2", format!("{ack_type:?}"), verdict)?;
                pending = Some(Pending {
                    owner: owner.clone().or(step.member.cloned()),
                    delivery_count: before.delivery_count,
                    write_id: None,
                });
            }
            TransitionCause::LockExpiry => {
                let verdict = rules.lock_expiry(&before, step.to, step.delivery_count);
                leads("spec 1.2 #5, 1.3", "LockExpiry".to_string(), verdict)?;
            }
            TransitionCause::SessionRelease => {
                let verdict = rules.session_release(&before, step.to, step.delivery_count);
                if verdict == Verdict::Refused && !before.requester_owns {
                    return Err(
                        "spec 1.2 #6: a session release touched another member's record"
                            .to_string(),
                    );
                }
                leads("spec 1.2 #6", "SessionRelease".to_string(), verdict)?;
                pending = Some(Pending {
                    owner: owner.clone().or(step.member.cloned()),
                    delivery_count: before.delivery_count,
                    write_id: None,
                });
            }
            TransitionCause::LogStartOffsetMove | TransitionCause::Compaction => {
                let verdict = rules.log_start_move(&before, step.to, step.delivery_count);
                if verdict != Verdict::Allowed {
                    return Err(format!(
                        "spec 1.2 #8: {:?} may only archive AVAILABLE records, not {:?} -> {:?}",
                        step.cause, step.from, step.to
                    ));
                }
                // A pending RELEASE archived meanwhile stays ARCHIVED whatever its write does.
                pending = current.and_then(|record| record.pending.clone());
            }
            TransitionCause::Rollback => {
                if current.is_none() {
                    // Not seen: nothing to roll back to is known.
                    return Ok(SpecRecord {
                        state: step.to,
                        delivery_count: step.delivery_count,
                        owner: None,
                        lock_deadline_ms: None,
                        pending: None,
                        persisted: None,
                        image_below_start: false,
                        alternative: None,
                    });
                }
                let lock = if before.lock_live { "live" } else { "expired" };
                match rules.rollback(&before, step.to, step.delivery_count) {
                    Verdict::Allowed => {}
                    Verdict::Leads(after) => {
                        return Err(format!(
                            "spec 1.4, 3.2: a failed write rolled {:?} back to {:?} with delivery count \
                             {}; with the lock {lock} the spec rolls back to {:?} with delivery count {}",
                            step.from, step.to, step.delivery_count, after.state, after.delivery_count
                        ))
                    }
                    Verdict::Refused => {
                        return Err(format!(
                            "spec 3.2: a rollback of a {:?} record with no transition waiting for its \
                             write",
                            step.from
                        ))
                    }
                }
                let rolled_back_owner = current
                    .and_then(|record| record.pending.as_ref())
                    .and_then(|pending| pending.owner.clone());
                let acquired = step.to == RecordState::Acquired;
                return Ok(SpecRecord {
                    state: step.to,
                    delivery_count: step.delivery_count,
                    owner: rolled_back_owner.filter(|_| acquired),
                    lock_deadline_ms: current
                        .and_then(|record| record.lock_deadline_ms)
                        .filter(|_| acquired),
                    pending: None,
                    persisted: current.and_then(|record| record.persisted),
                    image_below_start: false,
                    alternative: None,
                });
            }
            TransitionCause::DeadLetterCompleted => {
                let verdict = rules.dead_letter_completed(&before, step.to, step.delivery_count);
                if verdict == Verdict::Refused && before.rollback_delivery_count.is_some() {
                    return Err(format!(
                        "spec 1.2 #10: the DLQ's phase 2 completed while the transition to {:?} \
                         waits for its write; phase 2 starts once phase 1 is written",
                        before.state
                    ));
                }
                leads("spec 1.2 #10", "the DLQ's phase 2".to_string(), verdict)?;
            }
            TransitionCause::AbortedTransaction => unreachable!("handled above"),
        }
        let acquired = step.to == RecordState::Acquired;
        Ok(SpecRecord {
            state: step.to,
            delivery_count: step.delivery_count,
            owner: owner.filter(|_| acquired),
            lock_deadline_ms: current
                .and_then(|record| record.lock_deadline_ms)
                .filter(|_| acquired || pending.is_some()),
            pending,
            persisted: current.and_then(|record| record.persisted),
            image_below_start: false,
            alternative: None,
        })
    }

    fn move_start(
        &mut self,
        from: i64,
        to: i64,
        cause: StartOffsetMoveCause,
        rules: &SpecRules,
    ) -> StepResult {
        if cause == StartOffsetMoveCause::Advance {
            // The first record SPSO would come back before, as the replay knows it (a record it
            // forgot lay below SPSO; the model's answer does not depend on its state).
            let back_before = (to < from).then(|| match self.records.get(&to) {
                Some(record) => self.before(to, record, None, 0),
                None => Before::new(RecordState::Archived, 1),
            });
            if back_before.is_some_and(|before| !rules.spso_may_move_back(&before)) {
                return Err((
                    Some(to),
                    format!("spec 1.6 (SPSO-SAFE): SPSO moved back from {from} to {to}"),
                ));
            }
            for offset in from..to {
                let Some(record) = self.records.get(&offset) else {
                    continue;
                };
                let mut candidates = record.candidates();
                let passes = candidates
                    .any(|record| rules.spso_passes(&self.before(offset, record, None, 0)));
                if !passes {
                    let message = match &record.pending {
                        Some(_) => format!(
                            "spec 1.6: SPSO passed a record whose transition to {:?} waits for its \
                             write",
                            record.state
                        ),
                        None => {
                            format!("spec 1.6: SPSO passed a record that is {:?}", record.state)
                        }
                    };
                    return Err((Some(offset), message));
                }
            }
        }
        self.spso = Some(to);
        self.prune();
        Ok(())
    }

    fn start_write(&mut self, write_id: WriteId, start_offset: i64) {
        let mut entries = Vec::new();
        for offset in std::mem::take(&mut self.since_write) {
            let Some(record) = self.records.get_mut(&offset) else {
                continue;
            };
            record.for_each_candidate(|record| {
                if let Some(pending) = record.pending.as_mut() {
                    pending.write_id.get_or_insert(write_id);
                }
            });
            // ACQUIRED is never persisted (spec 1.1).
            if record.state != RecordState::Acquired {
                entries.retain(|(o, _)| *o != offset);
                entries.push((offset, (record.state, record.delivery_count)));
            }
        }
        let write = WriteInFlight {
            start_offset,
            entries,
        };
        self.writes.insert(write_id, write);
    }

    /// A write's outcome: committed, its entries merge into the coordinator's image (spec 3.3) and
    /// its pending transitions commit; failed, nothing is persisted (its rollbacks were replayed).
    fn complete_write(&mut self, write_id: WriteId, committed: bool, rules: &SpecRules) {
        let Some(write) = self.writes.remove(&write_id) else {
            return;
        };
        for &(offset, entry) in &write.entries {
            let Some(record) = self.records.get_mut(&offset) else {
                continue;
            };
            record.for_each_candidate(|record| {
                if committed {
                    record.persisted = rules.merge(record.persisted, entry);
                }
                let carried = record
                    .pending
                    .as_ref()
                    .is_some_and(|pending| pending.write_id == Some(write_id));
                if carried {
                    record.pending = None;
                }
            });
        }
        if committed {
            self.persisted_start = self.persisted_start.max(Some(write.start_offset));
            self.prune();
        } else {
            self.failed_writes.insert(write_id, write);
        }
    }

    /// Forgets the records no step can read again: below SPSO and below the coordinator's start
    /// offset (a new leader restores them ARCHIVED).
    fn prune(&mut self) {
        let (Some(spso), Some(persisted_start)) = (self.spso, self.persisted_start) else {
            return;
        };
        let floor = spso.min(persisted_start);
        self.records.retain(|offset, _| *offset >= floor);
    }
}

/// Whether a transition of this cause is written to the share coordinator (spec 3.2: log-start and
/// compaction archives, aborted-transaction archives and rollbacks are not).
fn is_persisted(cause: TransitionCause) -> bool {
    match cause {
        TransitionCause::Acknowledge { .. }
        | TransitionCause::LockExpiry
        | TransitionCause::SessionRelease
        | TransitionCause::DeadLetterCompleted => true,
        TransitionCause::AbortedTransaction
        | TransitionCause::Compaction
        | TransitionCause::LogStartOffsetMove
        | TransitionCause::Rollback => false,
    }
}
