//! The one-partition oracle invariants (design.md "Oracle", spec 10) as small reusable checkers. Each
//! looks at engine states (before and after a step) or at what a step handed out, and names the first
//! violation. The engine property tests call them after every step; the model pairing reuses them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::{AcquiredRecords, RecordView, SharePartition};
use crate::share::{MemberId, PersistedShareState, RecordState};

/// A broken invariant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The oracle code (EXCLUSIVE, TERMINAL-FINAL, ...).
    pub invariant: &'static str,
    /// What was seen.
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.invariant, self.detail)
    }
}

fn violation(invariant: &'static str, detail: String) -> Result<(), Violation> {
    Err(Violation { invariant, detail })
}

/// Every cached offset with its state.
fn records(partition: &SharePartition) -> impl Iterator<Item = (i64, RecordView)> + '_ {
    partition.cached_batches().flat_map(|batch| batch.records())
}

/// EXCLUSIVE (state): an ACQUIRED record with no pending write has exactly one owner and a lock.
pub fn check_exclusive(partition: &SharePartition) -> Result<(), Violation> {
    for (offset, record) in records(partition) {
        if record.state == RecordState::Acquired && !record.pending {
            if record.member.is_none() {
                return violation(
                    "EXCLUSIVE",
                    format!("offset {offset} ACQUIRED with no owner"),
                );
            }
            if record.lock_deadline_ms.is_none() {
                return violation(
                    "EXCLUSIVE",
                    format!("offset {offset} ACQUIRED with no lock"),
                );
            }
        }
    }
    Ok(())
}

/// EXCLUSIVE (delivery): a fetch at `now_ms` handed out only offsets that no member held with a live
/// lock just before it (`before` is the engine before the fetch).
pub fn check_fetch_exclusive(
    before: &SharePartition,
    now_ms: u64,
    acquired: &[AcquiredRecords],
) -> Result<(), Violation> {
    for range in acquired {
        for offset in range.first_offset..=range.last_offset {
            if let Some(record) = before.record(offset) {
                if record.is_held_at(now_ms) {
                    let owner = record.member.map(|m| m.to_string()).unwrap_or_default();
                    return violation(
                        "EXCLUSIVE",
                        format!("offset {offset} handed out while held by {owner:?}"),
                    );
                }
            }
        }
    }
    Ok(())
}

/// BATCH-WF (cache): cached batches are ordered and never overlap.
pub fn check_batches_well_formed(partition: &SharePartition) -> Result<(), Violation> {
    let mut previous_last: Option<i64> = None;
    for batch in partition.cached_batches() {
        if batch.first_offset() > batch.last_offset() {
            return violation(
                "BATCH-WF",
                format!("batch {} ends before it starts", batch.first_offset()),
            );
        }
        if previous_last.is_some_and(|last| batch.first_offset() <= last) {
            return violation(
                "BATCH-WF",
                format!("batch {} overlaps the previous batch", batch.first_offset()),
            );
        }
        previous_last = Some(batch.last_offset());
    }
    Ok(())
}

/// BATCH-WF (response): one fetch response hands out every offset at most once.
pub fn check_response_well_formed(acquired: &[AcquiredRecords]) -> Result<(), Violation> {
    let mut previous_last: Option<i64> = None;
    for range in acquired {
        if range.first_offset > range.last_offset {
            return violation("BATCH-WF", format!("inverted acquired range {range:?}"));
        }
        if previous_last.is_some_and(|last| range.first_offset <= last) {
            return violation("BATCH-WF", format!("offset handed out twice at {range:?}"));
        }
        previous_last = Some(range.last_offset);
    }
    Ok(())
}

/// TERMINAL-FINAL: terminal records never become acquirable again within a state epoch. Tracks the
/// offsets seen terminal in memory (forgotten at failover, when the in-memory engine is gone) and the
/// ones made terminal durably (kept across failovers of the same state epoch).
#[derive(Clone, Debug, Default)]
pub struct TerminalTracker {
    in_memory: BTreeSet<i64>,
    durable: BTreeSet<i64>,
}

impl TerminalTracker {
    /// Checks `partition` against what was seen terminal, then remembers its idle terminal records.
    pub fn observe(&mut self, partition: &SharePartition) -> Result<(), Violation> {
        for (offset, record) in records(partition) {
            let seen = self.in_memory.contains(&offset) || self.durable.contains(&offset);
            if seen && !record.state.is_terminal() {
                return violation(
                    "TERMINAL-FINAL",
                    format!(
                        "offset {offset} was terminal and is {:?} again",
                        record.state
                    ),
                );
            }
            if record.state.is_terminal() && !record.pending {
                self.in_memory.insert(offset);
            }
        }
        Ok(())
    }

    /// A fetch must not hand out a terminal offset.
    pub fn check_fetch(&self, acquired: &[AcquiredRecords]) -> Result<(), Violation> {
        for range in acquired {
            for offset in range.first_offset..=range.last_offset {
                if self.in_memory.contains(&offset) || self.durable.contains(&offset) {
                    return violation(
                        "TERMINAL-FINAL",
                        format!("terminal offset {offset} handed out again"),
                    );
                }
            }
        }
        Ok(())
    }

    /// The persisted image after a committed write: its terminal ranges are durable.
    pub fn note_durable(&mut self, image: &PersistedShareState) {
        for batch in &image.state_batches {
            if batch.delivery_state.is_terminal() {
                self.durable.extend(batch.first_offset..=batch.last_offset);
            }
        }
    }

    /// A failover replaced the engine: in-memory-only terminal states (lock-expiry archives whose write
    /// failed, log-start and compaction archives) are legitimately gone.
    pub fn on_failover(&mut self) {
        self.in_memory.clear();
    }
}

/// DC-LIMIT: no record is delivered more often than the limit allows. Attempts the engine legitimately
/// forgets are forgiven: acquisitions and in-memory-only counts lost at failover (spec 3.5, "delivery
/// counts are approximate across leader failover") and the 4.1 session-release decrement (spec 1.2 #6).
#[derive(Clone, Debug, Default)]
pub struct DeliveryCounter {
    delivered: BTreeMap<i64, u32>,
    forgiven: BTreeMap<i64, u32>,
    /// The delivery count each offset was last handed out with, as the engine then counted it.
    last_count: BTreeMap<i64, u16>,
}

impl DeliveryCounter {
    /// Counts a fetch's deliveries and checks each against `delivery_count_limit`.
    pub fn record_fetch(
        &mut self,
        acquired: &[AcquiredRecords],
        delivery_count_limit: u16,
    ) -> Result<(), Violation> {
        for range in acquired {
            if range.delivery_count > delivery_count_limit {
                return violation(
                    "DC-LIMIT",
                    format!("{range:?} delivered with a count above {delivery_count_limit}"),
                );
            }
            for offset in range.first_offset..=range.last_offset {
                self.last_count.insert(offset, range.delivery_count);
                let delivered = self.delivered.entry(offset).or_insert(0);
                *delivered += 1;
                let counted = *delivered - self.forgiven.get(&offset).copied().unwrap_or(0);
                if counted > u32::from(delivery_count_limit) {
                    return violation(
                        "DC-LIMIT",
                        format!(
                            "offset {offset} delivered {delivered} times, {counted} counted \
                             (limit {delivery_count_limit})"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// `attempts` deliveries of `offset` no longer count.
    pub fn forgive(&mut self, offset: i64, attempts: u32) {
        *self.forgiven.entry(offset).or_insert(0) += attempts;
    }

    /// After a failover (or a 4.1 session release) to the engine `now`: every delivered offset that `now`
    /// may still deliver and that it counts lower than when it was last handed out is forgiven the
    /// difference. Offsets below SPSO and not cached can never be delivered again and are left alone.
    pub fn forgive_lost_counts(&mut self, now: &SharePartition) {
        let mut lost = Vec::new();
        for (&offset, &count) in &self.last_count {
            let current = match now.record(offset) {
                Some(record) => record.delivery_count,
                None if offset >= now.start_offset() => 0,
                None => continue,
            };
            if count > current {
                lost.push((offset, count, current));
            }
        }
        for (offset, count, current) in lost {
            self.forgive(offset, u32::from(count - current));
            self.last_count.insert(offset, current);
        }
    }
}

/// What kind of step moved SPSO (log-start moves may pass non-terminal records).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartOffsetStep {
    /// The log start offset moved.
    LogStartOffsetMove,
    /// Anything else.
    Other,
}

/// SPSO-SAFE: within one engine (one leader epoch) SPSO never moves backwards, and outside log-start
/// moves it only passes cached records that are terminal with no pending write. A log-start move leaves
/// no AVAILABLE record below the new SPSO.
pub fn check_start_offset_move(
    before: &SharePartition,
    after: &SharePartition,
    step: StartOffsetStep,
) -> Result<(), Violation> {
    let (from, to) = (before.start_offset(), after.start_offset());
    if to < from {
        return violation("SPSO-SAFE", format!("SPSO moved back from {from} to {to}"));
    }
    if to == from {
        return Ok(());
    }
    for (offset, record) in records(before).filter(|(offset, _)| (from..to).contains(offset)) {
        let ok = match (step, after.record(offset)) {
            (StartOffsetStep::Other, Some(now)) => now.state.is_terminal() && !now.pending,
            (StartOffsetStep::Other, None) => record.state.is_terminal(),
            (StartOffsetStep::LogStartOffsetMove, Some(now)) => now.state != RecordState::Available,
            (StartOffsetStep::LogStartOffsetMove, None) => true,
        };
        if !ok {
            return violation(
                "SPSO-SAFE",
                format!(
                    "SPSO {from} -> {to} passed offset {offset} ({:?})",
                    record.state
                ),
            );
        }
    }
    Ok(())
}

/// INFLIGHT-CAP (spec 1.5): `SPEO - SPSO + 1` stays within `max_record_locks` plus the whole-log-batch
/// overshoot `overshoot_max`, and SPEO grows only from a window below the limit.
pub fn check_in_flight_cap(
    before: &SharePartition,
    after: &SharePartition,
    overshoot_max: u64,
) -> Result<(), Violation> {
    let limit = u64::from(after.config().max_record_locks);
    if after.in_flight_count() > limit + overshoot_max {
        return violation(
            "INFLIGHT-CAP",
            format!(
                "{} records in flight, limit {limit}",
                after.in_flight_count()
            ),
        );
    }
    if after.end_offset() > before.end_offset() && before.in_flight_count() >= limit {
        return violation(
            "INFLIGHT-CAP",
            format!(
                "SPEO grew {} -> {} from a full window of {}",
                before.end_offset(),
                after.end_offset(),
                before.in_flight_count()
            ),
        );
    }
    Ok(())
}

/// OWNER: an acknowledge or session release of `member` changed only records `member` held.
pub fn check_owner(
    before: &SharePartition,
    after: &SharePartition,
    member: &MemberId,
) -> Result<(), Violation> {
    for (offset, record) in records(before) {
        let now = after.record(offset);
        if now.as_ref() == Some(&record) {
            continue;
        }
        let owned = record.state == RecordState::Acquired
            && !record.pending
            && record.member.as_ref() == Some(member);
        if !owned {
            return violation(
                "OWNER",
                format!(
                    "{member} changed offset {offset}, held by {:?}",
                    record.member
                ),
            );
        }
    }
    Ok(())
}
