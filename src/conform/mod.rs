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
//! Not in the model: the DLQ's ARCHIVING (the model has no DLQ; checked against the spec's table in
//! [`partition`]), and the trace's own consistency (a transition's `from` must be the state the
//! replay knows: well-formedness, not a protocol rule). The trace does not name its release, so a
//! step conforms when the rules of one profile allow it ([`conform_profile`] fixes the profile).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use sharesim_model::Profile;
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
            spec.restore(*leader_epoch, &rules);
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

#[cfg(test)]
mod tests;
