//! Acquisition (`SP.acquire`; spec 1.2 #1, 1.3 throttling, 1.5, 1.7, 2.6): turns a log read into
//! `AcquiredRecords` for one member, re-acquiring AVAILABLE cached records and caching new ones.

use super::config::{AcquireMode, AcquireParams, IsolationLevel};
use super::events::{PartitionEvent, PartitionState, StartOffsetMoveCause, WritePurpose};
use super::fetched_log::{push_acquired, AcquiredRecords, FetchedLog};
use super::in_flight_batch::{BatchStates, InFlightBatch};
use super::in_flight_state::InFlightState;
use super::lock_timers::LockTimers;
use super::throttle::{is_last_attempt, throttle_for, Throttle};
use super::two_phase::push_state_batch;
use super::{EngineMutation, SharePartition};
use crate::share::{MemberId, RecordState};
use crate::ResponseError;

/// What every step of one acquisition shares.
#[derive(Clone, Copy)]
struct Fetch<'a> {
    member: &'a MemberId,
    log: &'a FetchedLog,
    lock_deadline_ms: u64,
    record_limit: bool,
    batch_size: u64,
    /// A deliberately wrong variant (mutation sweep only); `None` in every real use.
    mutation: Option<EngineMutation>,
}

impl Fetch<'_> {
    /// Whether this acquisition may take a cached unit: AVAILABLE with no write in flight (spec 1.2 #1).
    /// The acquisition mutations widen this one rule.
    fn may_take(&self, state: &InFlightState) -> bool {
        match self.mutation {
            Some(EngineMutation::AcquireIgnoresLock) => {
                state.is_acquirable() || state.is_acquired_idle()
            }
            Some(EngineMutation::AcquireTerminalRecords) => {
                state.is_acquirable() || state.is_terminal_idle()
            }
            _ => state.is_acquirable(),
        }
    }

    /// Acquires a unit [`Self::may_take`] allowed. Only a mutation lets a unit that is not AVAILABLE
    /// through; it is first forced back to AVAILABLE (its lock dropped), so the acquisition itself stays
    /// the one real transition.
    fn take(&self, state: &mut InFlightState, unit_first_offset: i64, timers: &mut LockTimers) {
        if !state.is_acquirable() {
            debug_assert!(self.mutation.is_some());
            state.cancel_lock(unit_first_offset, timers);
            state.state = RecordState::Available;
            state.member = None;
        }
        state.acquire(
            self.member,
            self.lock_deadline_ms,
            unit_first_offset,
            timers,
        );
    }
}

/// How one cached batch's acquisition ended.
struct Acquired {
    count: u64,
    /// Throttling or the last-attempt rule ends this fetch.
    stop: bool,
}

impl SharePartition {
    /// A fetch of `member` read `log` from `log.fetch_offset` (normally [`Self::next_fetch_offset`]):
    /// acquires what it may and returns the `AcquiredRecords` for the response (spec 2.6). Under
    /// read_committed, aborted batches are archived and left out (spec 6).
    pub fn handle_fetch(
        &mut self,
        now_ms: u64,
        member: &MemberId,
        log: &FetchedLog,
        params: AcquireParams,
    ) -> Result<Vec<AcquiredRecords>, ResponseError> {
        match self.partition_state {
            PartitionState::Active => {}
            // `checkInitializationCompletion`: "retry" while not initialized.
            PartitionState::Empty | PartitionState::Initializing => {
                return Err(ResponseError::LeaderNotAvailable)
            }
            PartitionState::Failed => {
                return Err(ResponseError::try_from_code(self.failure_error_code)
                    .unwrap_or(ResponseError::UnknownServerError))
            }
            PartitionState::Fenced => return Err(ResponseError::FencedStateEpoch),
        }
        if !log.is_well_formed() {
            // A broken read is a broker bug (Kafka would throw IllegalStateException).
            return Err(ResponseError::UnknownServerError);
        }
        let lock_deadline_ms = now_ms + self.config.record_lock_duration_ms;
        let fetch = Fetch {
            member,
            log,
            lock_deadline_ms,
            record_limit: params.mode == AcquireMode::RecordLimit
                && self.semantics.record_limit_acquire_mode_supported,
            batch_size: u64::from(params.batch_size),
            mutation: self.mutation,
        };
        let mut acquired = self.acquire(fetch, u64::from(params.max_records));
        if self.mutation == Some(EngineMutation::DuplicateAcquiredRange) {
            if let Some(&last) = acquired.last() {
                acquired.push(last);
            }
        }
        if self.config.isolation_level == IsolationLevel::ReadCommitted && !acquired.is_empty() {
            self.archive_aborted_transactions(log, &mut acquired);
        }
        if self.semantics.what_if_persist_delivery_count_at_acquisition && !acquired.is_empty() {
            // Not Kafka: persist the attempt now, so a failover cannot lose it (spec 3.5 says Kafka does).
            let mut state_batches = Vec::new();
            for range in &acquired {
                push_state_batch(
                    &mut state_batches,
                    range.first_offset,
                    range.last_offset,
                    RecordState::Available,
                    range.delivery_count,
                );
            }
            self.emit_write(WritePurpose::Acquisition, None, state_batches);
        }
        for range in &acquired {
            self.emit(PartitionEvent::Acquired {
                member: member.clone(),
                first_offset: range.first_offset,
                last_offset: range.last_offset,
                delivery_count: range.delivery_count,
                lock_deadline_ms,
            });
        }
        self.finish_handler(now_ms);
        Ok(acquired)
    }

    /// `lastOffsetAndMaxRecordsToAcquire` (spec 1.5). When the window is full, only records inside it
    /// may be re-acquired, up to SPEO. Kafka then uses SPEO as the last offset even when the read ended
    /// before it; sharesim caps it at the read's last offset, so no offset past the data is acquired.
    fn last_offset_and_max_records(
        &self,
        fetch_offset: i64,
        max_fetch_records: u64,
        fetched_last_offset: i64,
    ) -> Option<(i64, u64)> {
        let room = if self.mutation == Some(EngineMutation::IgnoreMaxRecordLocks) {
            i64::MAX
        } else {
            i64::from(self.config.max_record_locks) - self.in_flight_count() as i64
        };
        let max_fetch = max_fetch_records as i64;
        let mut max_records = max_fetch.min(room);
        let mut last_offset = fetched_last_offset;
        if max_records <= 0 {
            if fetch_offset > self.end_offset {
                return None;
            }
            max_records = max_fetch.min(self.end_offset - fetch_offset + 1);
            last_offset = self.end_offset.min(fetched_last_offset);
        }
        (max_records > 0).then_some((last_offset, max_records as u64))
    }

    /// The acquisition loop over the cached batches the read overlaps, then new records after them.
    fn acquire(&mut self, fetch: Fetch<'_>, max_fetch_records: u64) -> Vec<AcquiredRecords> {
        let mut result = Vec::new();
        let (Some(first_log), Some(last_log)) =
            (fetch.log.batches.first(), fetch.log.batches.last())
        else {
            return result;
        };
        if max_fetch_records == 0 {
            return result;
        }
        let Some((last_to_acquire, max_records)) = self.last_offset_and_max_records(
            fetch.log.fetch_offset,
            max_fetch_records,
            last_log.last_offset,
        ) else {
            return result;
        };
        let request_first = first_log.base_offset;
        self.maybe_archive_stale_batches(fetch.log.fetch_offset, request_first);
        if request_first > last_to_acquire {
            // A full window caps acquisition at SPEO, and this read starts past it.
            return result;
        }
        let base = super::two_phase::floor_key(&self.cache, request_first);
        let keys: Vec<i64> = self
            .cache
            .range(base..=last_to_acquire)
            .map(|(&key, _)| key)
            .collect();
        let Some(&last_key) = keys.last() else {
            self.acquire_new_records(
                fetch,
                request_first,
                last_to_acquire,
                max_records,
                &mut result,
            );
            return result;
        };
        let mut count = 0u64;
        let mut gap_start = base;
        let mut stopped = false;
        for key in keys {
            if count >= max_records {
                break;
            }
            let (first, last) = {
                let batch = &self.cache[&key];
                (batch.first_offset, batch.last_offset)
            };
            if self.gap_window.is_some() {
                // Spec 3.5: holes inside the initial-read window are new records.
                if gap_start < first {
                    count += self.acquire_new_records(
                        fetch,
                        gap_start,
                        first - 1,
                        max_records - count,
                        &mut result,
                    );
                }
                gap_start = last + 1;
                if count >= max_records {
                    break;
                }
            }
            let step = self.acquire_cached_batch(
                fetch,
                key,
                request_first,
                last_to_acquire,
                max_records - count,
                count,
                &mut result,
            );
            count += step.count;
            if step.stop {
                stopped = true;
                break;
            }
        }
        let last_cached = self
            .cache
            .get(&last_key)
            .map_or(last_key, |batch| batch.last_offset);
        if !stopped && count < max_records && last_to_acquire > last_cached {
            self.acquire_new_records(
                fetch,
                last_cached + 1,
                last_to_acquire,
                max_records - count,
                &mut result,
            );
        }
        if let Some(last) = result.last() {
            self.note_gap_window_progress(last.last_offset + 1);
        }
        result
    }

    /// One cached batch: whole when it is AVAILABLE and fully inside the read, else per offset
    /// (`acquireSubsetBatchRecords`), throttled when its delivery count is high (spec 1.3).
    #[allow(clippy::too_many_arguments)]
    fn acquire_cached_batch(
        &mut self,
        fetch: Fetch<'_>,
        key: i64,
        request_first: i64,
        request_last: i64,
        remaining: u64,
        acquired_before: u64,
        result: &mut Vec<AcquiredRecords>,
    ) -> Acquired {
        let limit = self.config.delivery_count_limit;
        let throttling = self.semantics.delivery_throttling;
        let batch = self.cache.get_mut(&key).expect("key from the cache");
        let full_match = batch.first_offset >= request_first && batch.last_offset <= request_last;
        let record_limit_subset = fetch.record_limit && batch.offset_count() > remaining;
        let throttle = throttling
            .then(|| throttle_for(batch, request_first, request_last, limit))
            .flatten();
        let nothing = Acquired {
            count: 0,
            stop: false,
        };
        if !full_match || batch.is_split() || record_limit_subset || throttle.is_some() {
            if let Some(whole) = batch.whole_state() {
                if throttle.is_none() && !fetch.may_take(whole) {
                    // Spec 1.7: a batch not AVAILABLE is skipped, not split.
                    return nothing;
                }
            }
            if throttle.is_some() && acquired_before > 0 {
                // Spec 1.3: stop before a throttled batch when something was already acquired.
                return Acquired {
                    count: 0,
                    stop: true,
                };
            }
            batch.split(&mut self.timers);
            let step = acquire_subset(
                batch,
                &mut self.timers,
                fetch,
                (request_first, request_last),
                remaining,
                acquired_before,
                throttle,
                limit,
                throttling,
                result,
            );
            let leftover = {
                let mut any = false;
                batch.for_each_unit_in(batch.first_offset, batch.last_offset, |_, _, state| {
                    any |= state.is_acquirable();
                });
                any
            };
            self.find_next_fetch_offset |= leftover;
            return Acquired {
                count: step.count,
                stop: step.stop || throttle.is_some(),
            };
        }
        let (first, last) = (batch.first_offset, batch.last_offset);
        let BatchStates::Whole(state) = &mut batch.states else {
            unreachable!("not split: checked above");
        };
        if !fetch.may_take(state) {
            return nothing;
        }
        fetch.take(state, first, &mut self.timers);
        push_acquired(result, first, last, state.delivery_count);
        Acquired {
            count: (last - first + 1) as u64,
            stop: false,
        }
    }

    /// `acquireNewBatchRecords` + `createBatches`: caches `[first, last]` (clipped to what may be
    /// acquired) as new ACQUIRED batches with `dc = 1`, grouped at log-batch boundaries once a group
    /// reaches `batch_size`. Returns the number of offsets acquired.
    ///
    /// New records never start below SPSO: Kafka can start at a log batch's base offset below it after a
    /// log-start move inside a batch; sharesim clips there.
    fn acquire_new_records(
        &mut self,
        fetch: Fetch<'_>,
        first: i64,
        last: i64,
        max_records: u64,
        result: &mut Vec<AcquiredRecords>,
    ) -> u64 {
        let mut first = first.max(self.start_offset);
        if self.cache.is_empty() && self.end_offset > first {
            first = self.end_offset;
        }
        if first > last || max_records == 0 {
            return 0;
        }
        let mut last_cached = last;
        let mut last_acquired = last;
        if (max_records as i64) < last - first + 1 {
            let request_offset = first + max_records as i64 - 1;
            last_cached = fetch
                .log
                .last_offset_of_batch_containing(request_offset)
                .unwrap_or(request_offset)
                .clamp(request_offset, last);
            // Spec 1.7: record_limit caches the whole log batch but acquires only up to the limit.
            last_acquired = if fetch.record_limit {
                request_offset
            } else {
                last_cached
            };
        }
        for (group_first, group_last) in
            create_groups(fetch.log, first, last_cached, fetch.batch_size)
        {
            let batch = self.new_group(fetch, group_first, group_last, last_acquired);
            if group_first <= last_acquired {
                push_acquired(result, group_first, group_last.min(last_acquired), 1);
            }
            self.cache.insert(group_first, batch);
            if self.cache.first_key_value().map(|(&key, _)| key) == Some(group_first) {
                // The cache was empty before (or this fills the head): SPSO starts here.
                self.advance_start_offset_to(group_first, StartOffsetMoveCause::Acquisition);
            }
        }
        if last_cached > self.end_offset {
            self.set_end_offset(last_cached);
        }
        self.note_gap_window_progress(last_cached + 1);
        (last_acquired - first + 1) as u64
    }

    /// One new cached batch: ACQUIRED up to `last_acquired`, AVAILABLE with `dc = 0` after it
    /// (record_limit), split when it straddles that offset.
    fn new_group(
        &mut self,
        fetch: Fetch<'_>,
        first: i64,
        last: i64,
        last_acquired: i64,
    ) -> InFlightBatch {
        let fresh = InFlightState::at_rest(RecordState::Available, 0);
        if first > last_acquired {
            self.find_next_fetch_offset = true;
            return InFlightBatch::whole(first, last, fresh);
        }
        if last <= last_acquired {
            let mut state = fresh;
            state.acquire(
                fetch.member,
                fetch.lock_deadline_ms,
                first,
                &mut self.timers,
            );
            return InFlightBatch::whole(first, last, state);
        }
        self.find_next_fetch_offset = true;
        let states = (first..=last)
            .map(|offset| {
                let mut state = fresh.clone();
                if offset <= last_acquired {
                    state.acquire(
                        fetch.member,
                        fetch.lock_deadline_ms,
                        offset,
                        &mut self.timers,
                    );
                }
                state
            })
            .collect();
        InFlightBatch {
            first_offset: first,
            last_offset: last,
            states: BatchStates::PerOffset(states),
        }
    }
}

/// `acquireSubsetBatchRecords` on a split batch, with the throttling limits of spec 1.3.
#[allow(clippy::too_many_arguments)]
fn acquire_subset(
    batch: &mut InFlightBatch,
    timers: &mut super::lock_timers::LockTimers,
    fetch: Fetch<'_>,
    (request_first, request_last): (i64, i64),
    remaining: u64,
    acquired_before: u64,
    throttle: Option<Throttle>,
    delivery_count_limit: u16,
    throttling: bool,
    result: &mut Vec<AcquiredRecords>,
) -> Acquired {
    let offsets_max = throttle.map_or(u64::MAX, |throttle| throttle.offsets_max);
    let first = batch.first_offset;
    let from = first.max(request_first);
    let to = batch.last_offset.min(request_last);
    let BatchStates::PerOffset(states) = &mut batch.states else {
        unreachable!("split by the caller");
    };
    let mut count = 0u64;
    let mut stop = false;
    for offset in from..=to {
        if (fetch.record_limit && count >= remaining) || count >= offsets_max {
            break;
        }
        let state = &mut states[(offset - first) as usize];
        if !fetch.may_take(state) {
            continue;
        }
        let last_attempt =
            throttling && is_last_attempt(state.delivery_count, delivery_count_limit);
        if last_attempt && count + acquired_before > 0 {
            // Spec 1.3: the last attempt goes alone; stop before it.
            stop = true;
            break;
        }
        fetch.take(state, offset, timers);
        push_acquired(result, offset, offset, state.delivery_count);
        count += 1;
        if last_attempt {
            stop = true;
            break;
        }
    }
    Acquired { count, stop }
}

/// `createBatches`: splits `[first, last]` into groups at log-batch boundaries once a group holds at least
/// `batch_size` offsets.
fn create_groups(log: &FetchedLog, first: i64, last: i64, batch_size: u64) -> Vec<(i64, i64)> {
    let mut groups = Vec::new();
    let mut group_first = first;
    if (last - first + 1) as u64 > batch_size {
        for batch in &log.batches {
            if batch.base_offset < first {
                continue;
            }
            if batch.base_offset > last {
                break;
            }
            if (batch.base_offset - group_first) as u64 >= batch_size
                && batch.base_offset > group_first
            {
                groups.push((group_first, batch.base_offset - 1));
                group_first = batch.base_offset;
            }
        }
    }
    if group_first <= last {
        groups.push((group_first, last));
    }
    groups
}
