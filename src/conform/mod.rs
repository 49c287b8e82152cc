//! Conformance of a trace to the spec: every share-partition event of a simulator trace is replayed
//! against the spec model's step relation, and the first step the spec does not allow is reported with
//! its `seq`.
//!
//! The rules are the model's own: each record's acquisition (a new record's first delivery count
//! too), acknowledgement, lock expiry, session release, lock renewal, log-start archive, aborted
//! transaction archive, rollback of a failed write, SPSO advancement over it, the coordinator's merge
//! of a write and a new leader's restore are projected onto a one-record
//! `sharesim_model::ShareModel` state and taken with `ShareModel::step` (see [`projection`]), so those
//! rules are written once. [`partition`] keeps what a trace replay needs around them: the records'
//! known states, owners, locks, pending writes and persisted images, SPSO and the writes in flight.
//! Some rules are the model's invariants rather than its steps: SPSO moving back is judged by its
//! SPSO-SAFE, and the lock an acquisition or RENEW starts (live when its deadline lies after now; the
//! model abstracts time) by its EXCLUSIVE ([`sharesim_model::ShareModel::always_holds`]).
//! A group with a dead-letter queue (KIP-1191) is replayed against the model with its
//! `dead_letter_queue` switch on: REJECT and the delivery-count limit lead to ARCHIVING, which SPSO
//! does not pass, and the DLQ's phase 2 archives it. The trace does not name its group configs, so
//! unless the caller says ([`conform_dead_letter_queue`]) a group has the DLQ when its trace shows
//! ARCHIVING; then every REJECT and limit of the group must go through ARCHIVING.
//! Not in the model: the trace's own consistency (a transition's `from` must be the state the
//! replay knows: well-formedness, not a protocol rule). The trace does not name its release, so a
//! step conforms when the rules of one profile allow it ([`conform_profile`] fixes the profile).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sharesim_model::Profile;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use self::partition::SpecPartition;
use self::projection::SpecRules;

mod partition;
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

/// Replays `records` with delivery-count limit `delivery_count_limit` (`L` of spec 1.3) under the rules
/// of any profile.
pub fn conform(records: &[TraceRecord], delivery_count_limit: u16) -> ConformanceReport {
    conform_profile(records, delivery_count_limit, None)
}

/// Replays `records` with delivery-count limit `delivery_count_limit` under `profile`'s rules (any
/// profile's when `None`); a group has the dead-letter queue when its trace shows ARCHIVING.
pub fn conform_profile(
    records: &[TraceRecord],
    delivery_count_limit: u16,
    profile: Option<Profile>,
) -> ConformanceReport {
    conform_dead_letter_queue(records, delivery_count_limit, profile, None)
}

/// [`conform_profile`], with every group's dead-letter queue on or off as `dead_letter_queue` says
/// (KIP-1191: `errors.deadletterqueue.topic.name` set); `None` infers it per group from the trace
/// (the DLQ is on for a group whose trace shows an ARCHIVING record).
pub fn conform_dead_letter_queue(
    records: &[TraceRecord],
    delivery_count_limit: u16,
    profile: Option<Profile>,
    dead_letter_queue: Option<bool>,
) -> ConformanceReport {
    let without_dlq = SpecRules::new(delivery_count_limit, profile, false);
    let with_dlq = SpecRules::new(delivery_count_limit, profile, true);
    let dlq_groups = match dead_letter_queue {
        None => groups_showing_archiving(records),
        Some(_) => BTreeSet::new(),
    };
    let mut partitions: BTreeMap<(String, u128, i32), SpecPartition> = BTreeMap::new();
    let mut report = ConformanceReport {
        steps: 0,
        stale_steps: 0,
        first_divergence: None,
    };
    // (group, partition) of accepted offset resets not yet loaded by the partition's leader.
    let mut resets: BTreeSet<(String, i32)> = BTreeSet::new();
    for record in records {
        if let Some(reset) = crate::oracle::offset_reset::successful_reset_of(record) {
            resets.insert(reset);
        }
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
        let rules = if dead_letter_queue.unwrap_or_else(|| dlq_groups.contains(group_id)) {
            &with_dlq
        } else {
            &without_dlq
        };
        let spec = partitions
            .entry((group_id.clone(), topic_id.0, *partition))
            .or_insert_with(|| SpecPartition::new(*leader_epoch));
        if *leader_epoch < spec.leader_epoch {
            report.stale_steps += 1;
            continue;
        }
        // Spec 3.4, 3.5: a new leader, or the same leader's new share partition after it dropped
        // the old one (a fenced write, a failed read), starts from the persisted image.
        if spec.reinitializes(event) && resets.remove(&(group_id.clone(), *partition)) {
            // Spec 5.3: AlterShareGroupOffsets replaced the persisted state with a fresh snapshot at
            // the new start offset; the reloaded share partition starts from nothing.
            *spec = SpecPartition::new(*leader_epoch);
        } else if *leader_epoch > spec.leader_epoch || spec.reinitializes(event) {
            spec.restore(*leader_epoch, rules);
        }
        report.steps += 1;
        if let Err((offset, message)) = spec.step(event, record.at_ms, rules) {
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

/// The groups whose share-partition events show an ARCHIVING record: only a dead-letter queue
/// makes one (spec 1.1).
fn groups_showing_archiving(records: &[TraceRecord]) -> BTreeSet<String> {
    let mut groups = BTreeSet::new();
    for record in records {
        let TraceEvent::SharePartition {
            group_id, event, ..
        } = &record.event
        else {
            continue;
        };
        if let PartitionEvent::Transition { from, to, .. } = event {
            if *from == RecordState::Archiving || *to == RecordState::Archiving {
                groups.insert(group_id.clone());
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests;
