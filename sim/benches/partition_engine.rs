//! Cost per record of acquire + acknowledge in the share-partition engine, at in-flight windows of 200,
//! 2,000 and 10,000 records (design.md "Performance": it must stay flat, O(log n)).
//!
//! Steady state: the window is kept full; every round acknowledges (ACCEPT) the oldest acquired group,
//! completes its write (SPSO advances, the group is evicted), and acquires a new group at the head.
//!
//! Run: `cargo bench -p sharesim-sim --bench partition_engine`. Figures are printed, never asserted. The
//! per-record cost is the thread's CPU time (`/proc/thread-self/schedstat`), so that other processes on a
//! shared machine do not inflate it; wall-clock time is printed beside it. Each window is measured
//! `REPETITIONS` times, the windows interleaved within each repetition so that a burst of load on the
//! machine hits all of them alike, and the median is reported.

use std::hint::black_box;
use std::time::Instant;

use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::partition::{
    AcknowledgementBatch, AcquireMode, AcquireParams, FetchedLog, LogBatch, PartitionEffect,
    SharePartition, SharePartitionConfig,
};
use sharesim_sim::share::{AcknowledgeType, MemberId, PersistedShareState};

const WINDOWS: [u32; 3] = [200, 2_000, 10_000];
const RECORDS_MEASURED: u64 = 400_000;
const REPETITIONS: usize = 5;

/// Drains effects, answering writes with success; returns how many effects there were.
fn pump(
    sp: &mut SharePartition,
    now_ms: u64,
    writes: &mut Vec<sharesim_sim::share::partition::WriteId>,
) -> usize {
    let mut count = 0;
    loop {
        while let Some(effect) = sp.poll_effect() {
            count += 1;
            if let PartitionEffect::WriteState { write_id, .. } = effect {
                writes.push(write_id);
            }
            black_box(());
        }
        if writes.is_empty() {
            return count;
        }
        for write_id in writes.drain(..) {
            sp.handle_write_result(now_ms, write_id, Ok(()));
        }
    }
}

/// Builds an ACTIVE partition with `window` records acquired in groups of `group` records.
fn steady_partition(
    window: u32,
    group: i64,
    log: &mut FetchedLog,
) -> (SharePartition, MemberId, u64) {
    let config = SharePartitionConfig {
        max_record_locks: window,
        ..SharePartitionConfig::default()
    };
    let mut sp = SharePartition::new(config, Semantics::default(), 1);
    let mut writes = Vec::new();
    sp.begin_initialize(0);
    let image = PersistedShareState {
        state_epoch: 1,
        start_offset: 0,
        ..Default::default()
    };
    let reset = sharesim_sim::share::partition::ResetOffsets {
        log_start_offset: 0,
        high_watermark: 0,
        offset_by_duration: None,
    };
    sp.handle_read_state_result(0, Ok(image), reset);
    pump(&mut sp, 0, &mut writes);
    let member = MemberId::new("bench-member");
    let mut now_ms = 1;
    while sp.in_flight_count() < u64::from(window) {
        acquire_group(&mut sp, &member, now_ms, group, log);
        pump(&mut sp, now_ms, &mut writes);
        now_ms += 1;
    }
    (sp, member, now_ms)
}

fn acquire_group(
    sp: &mut SharePartition,
    member: &MemberId,
    now_ms: u64,
    group: i64,
    log: &mut FetchedLog,
) {
    let offset = sp.next_fetch_offset();
    log.fetch_offset = offset;
    log.batches[0] = LogBatch::data(offset, offset + group - 1);
    let params = AcquireParams {
        max_records: group as u32,
        batch_size: group as u32,
        mode: AcquireMode::BatchOptimized,
    };
    let acquired = sp
        .handle_fetch(now_ms, member, log, params)
        .expect("active");
    assert_eq!(acquired.len(), 1, "one group per fetch");
    black_box(acquired);
}

/// CPU time this thread has run, in nanoseconds (Linux `schedstat`), if readable.
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// Nanoseconds per record (CPU, wall) of one acquire + acknowledge + commit, at `window` records in
/// flight.
fn measure(window: u32, group: i64) -> (f64, f64) {
    let mut log = FetchedLog {
        fetch_offset: 0,
        batches: vec![LogBatch::data(0, 0)],
        aborted_transactions: Vec::new(),
    };
    let (mut sp, member, mut now_ms) = steady_partition(window, group, &mut log);
    let mut writes = Vec::new();
    let rounds = RECORDS_MEASURED / group as u64;
    let cpu_started = thread_cpu_ns();
    let started = Instant::now();
    for _ in 0..rounds {
        let oldest = sp.start_offset();
        let ack = [AcknowledgementBatch::of(
            oldest,
            oldest + group - 1,
            AcknowledgeType::Accept,
        )];
        sp.handle_acknowledge(now_ms, &member, black_box(&ack))
            .expect("own records");
        pump(&mut sp, now_ms, &mut writes);
        acquire_group(&mut sp, &member, now_ms, group, &mut log);
        pump(&mut sp, now_ms, &mut writes);
        now_ms += 1;
    }
    let wall_ns = started.elapsed().as_nanos() as f64;
    let cpu_ns = match (cpu_started, thread_cpu_ns()) {
        (Some(start), Some(end)) => (end - start) as f64,
        _ => wall_ns,
    };
    assert_eq!(
        sp.in_flight_count(),
        u64::from(window),
        "the window stayed full"
    );
    let records = (rounds * group as u64) as f64;
    (cpu_ns / records, wall_ns / records)
}

/// The median of a few measurements.
fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    for group in [10i64, 1] {
        let mut cpu_runs = vec![Vec::new(); WINDOWS.len()];
        let mut wall_runs = vec![Vec::new(); WINDOWS.len()];
        for _ in 0..REPETITIONS {
            for (index, &window) in WINDOWS.iter().enumerate() {
                let (cpu, wall) = measure(window, group);
                cpu_runs[index].push(cpu);
                wall_runs[index].push(wall);
            }
        }
        let cpu: Vec<f64> = cpu_runs.into_iter().map(median).collect();
        let wall: Vec<f64> = wall_runs.into_iter().map(median).collect();
        for (index, window) in WINDOWS.iter().enumerate() {
            println!(
                "partition_engine: window {window:>6} records, groups of {group:>2}: {:>7.1} ns CPU per record \
                 ({:>7.1} ns wall), acquire + acknowledge + commit, median of {REPETITIONS}",
                cpu[index], wall[index]
            );
        }
        let largest = cpu.iter().cloned().fold(f64::MIN, f64::max);
        let smallest = cpu.iter().cloned().fold(f64::MAX, f64::min);
        println!(
            "partition_engine: groups of {group:>2}: largest/smallest = {:.2}",
            largest / smallest
        );
    }
}
