//! What every checker shares: the observer interface, the violation it reports, the oracle's settings,
//! and the view of a trace record as one share partition's event.

use std::collections::BTreeMap;
use std::fmt;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::{MemberId, RecordState};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

use super::metrics::Metrics;

/// The first broken rule of one invariant, with the events that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The invariant's code (EXCLUSIVE, TERMINAL-FINAL, ...).
    pub code: &'static str,
    /// The `seq` of the event that broke it.
    pub seq: u64,
    /// Its virtual time.
    pub at_ms: u64,
    /// The offset concerned, if one.
    pub offset: Option<i64>,
    /// The member concerned, if one.
    pub member: Option<MemberId>,
    /// Every event that takes part (earlier ones first, the breaking one last).
    pub event_seqs: Vec<u64>,
    /// One line: what happened and why it is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at seq {} ({} ms): {}",
            self.code, self.seq, self.at_ms, self.message
        )
    }
}

/// An observer of the trace that decides one invariant.
pub trait Checker {
    /// The invariant's code.
    fn code(&self) -> &'static str;
    /// Sees the next record, in trace order.
    fn observe(&mut self, record: &TraceRecord);
    /// Why this trace cannot decide the invariant (a missing phase marker), if it cannot.
    fn undecided_reason(&self) -> Option<String> {
        None
    }
    /// The run ended: the violations found (the first one only), adding counted outcomes to `metrics`.
    fn finish(&mut self, metrics: &mut Metrics) -> Vec<Violation>;
}

/// The limits the oracle judges against: the run's configuration, as Kafka names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OracleConfig {
    /// `group.share.delivery.count.limit`.
    pub delivery_count_limit: u16,
    /// `group.share.partition.max.record.locks`.
    pub max_record_locks: u32,
    /// How far one acquisition may overshoot `max_record_locks` by taking a whole log batch (spec 1.5).
    pub in_flight_overshoot_max: u32,
    /// `group.share.session.timeout.ms` (or the group's `share.session.timeout.ms`).
    pub session_timeout_ms: u64,
    /// `group.share.heartbeat.interval.ms` (or the group's `share.heartbeat.interval.ms`).
    pub heartbeat_interval_ms: u64,
}

impl Default for OracleConfig {
    /// Kafka 4.2's defaults.
    fn default() -> Self {
        OracleConfig {
            delivery_count_limit: 5,
            max_record_locks: 2_000,
            in_flight_overshoot_max: 500,
            session_timeout_ms: 45_000,
            heartbeat_interval_ms: 5_000,
        }
    }
}

/// A record as one share partition's event: its key, the emitting leader's epoch, the event.
pub(crate) fn partition_event(
    record: &TraceRecord,
) -> Option<(SharePartitionKey, i32, &PartitionEvent)> {
    match &record.event {
        TraceEvent::SharePartition {
            group_id,
            topic_id,
            partition,
            leader_epoch,
            event,
        } => Some((
            SharePartitionKey {
                group_id: group_id.clone(),
                topic_id: *topic_id,
                partition: *partition,
            },
            *leader_epoch,
            event,
        )),
        _ => None,
    }
}

/// Keeps the first violation only.
pub(crate) fn keep_first(first: &mut Option<Violation>, violation: Violation) {
    if first.is_none() {
        *first = Some(violation);
    }
}

/// A violation at `record`.
pub(crate) fn violation_at(
    code: &'static str,
    record: &TraceRecord,
    offset: Option<i64>,
    member: Option<&MemberId>,
    earlier_seqs: &[u64],
    message: String,
) -> Violation {
    let mut event_seqs = earlier_seqs.to_vec();
    event_seqs.push(record.seq);
    Violation {
        code,
        seq: record.seq,
        at_ms: record.at_ms,
        offset,
        member: member.cloned(),
        event_seqs,
        message,
    }
}

/// How a partition event's leader epoch compares with the newest one seen for its partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EpochAdmission {
    /// From a leader older than one already seen (a zombie): checkers ignore it.
    Stale,
    /// From the newest leader seen so far.
    Current,
    /// From a newer leader than any seen: per-epoch state of the partition must be reset first.
    New,
}

/// The newest leader epoch seen per share partition, shared by every checker that judges per epoch.
#[derive(Debug, Default)]
pub(crate) struct LeaderEpochs(BTreeMap<SharePartitionKey, i32>);

impl LeaderEpochs {
    /// Notes `leader_epoch` for `key` and says how it compares with the newest seen before.
    pub(crate) fn admit(&mut self, key: &SharePartitionKey, leader_epoch: i32) -> EpochAdmission {
        let newest = self.0.entry(key.clone()).or_insert(leader_epoch);
        if leader_epoch > *newest {
            *newest = leader_epoch;
            EpochAdmission::New
        } else if leader_epoch < *newest {
            EpochAdmission::Stale
        } else {
            EpochAdmission::Current
        }
    }

    /// The newest leader epoch seen for `key`, if any.
    pub(crate) fn get(&self, key: &SharePartitionKey) -> Option<&i32> {
        self.0.get(key)
    }
}

/// The last state each record of each share partition was seen in (left by `acquired` and
/// `transition`), with that event's `seq`: what NO-LOSS and SPSO-SAFE judge a moving SPSO against.
#[derive(Debug, Default)]
pub(crate) struct LastStates(BTreeMap<(SharePartitionKey, i64), (RecordState, u64)>);

impl LastStates {
    /// Notes the states `event` (the record at `seq`) leaves its offsets in; other events change nothing.
    pub(crate) fn observe(&mut self, key: &SharePartitionKey, event: &PartitionEvent, seq: u64) {
        let (first_offset, last_offset, state) = match event {
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            } => (*first_offset, *last_offset, RecordState::Acquired),
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                to,
                ..
            } => (*first_offset, *last_offset, *to),
            _ => return,
        };
        for offset in first_offset..=last_offset {
            self.0.insert((key.clone(), offset), (state, seq));
        }
    }

    /// Forgets every record of `key` (a new leader epoch starts over).
    pub(crate) fn forget_partition(&mut self, key: &SharePartitionKey) {
        self.0.retain(|(k, _), _| k != key);
    }

    /// Forgets the records of `key` below `offset` (the log start passed them).
    pub(crate) fn forget_below(&mut self, key: &SharePartitionKey, offset: i64) {
        self.0.retain(|(k, o), _| k != key || *o >= offset);
    }

    /// The first record of `key` in `from..to` whose last state is not terminal (ACKNOWLEDGED or
    /// ARCHIVED): its offset, state and the event that left it there.
    pub(crate) fn first_non_terminal(
        &self,
        key: &SharePartitionKey,
        from: i64,
        to: i64,
    ) -> Option<(i64, RecordState, u64)> {
        if from >= to {
            return None;
        }
        self.0
            .range((key.clone(), from)..(key.clone(), to))
            .find(|(_, (state, _))| {
                !matches!(state, RecordState::Acknowledged | RecordState::Archived)
            })
            .map(|((_, offset), (state, seq))| (*offset, *state, *seq))
    }
}
