//! `sharesim bench`: the figures of the design's performance targets that exist today, measured in one
//! process: the share-partition engine's cost per record as the in-flight window grows, the engine and
//! cluster backends' records and simulated time per wall second on a scenario, and the spec model
//! checker's unique states per second. Wall-clock figures; they are printed, never asserted.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use sharesim_model::check::{check_spec, CheckOptions};
use sharesim_model::ShareModelCfg;
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::partition::{
    AcknowledgementBatch, AcquireMode, AcquireParams, FetchedLog, LogBatch, PartitionEffect,
    ResetOffsets, SharePartition, SharePartitionConfig,
};
use sharesim_sim::share::{AcknowledgeType, MemberId};

use super::{fail, load, scenario_name};
use crate::runner::{run_scenario, Backend, ClusterBackend, EngineBackend, RunOptions};

/// Arguments of `bench`.
#[derive(Args, Debug, Clone)]
pub struct BenchArgs {
    /// The scenario of the simulator figure.
    #[arg(long, default_value = "scenarios/quickstart.json")]
    pub scenario: PathBuf,
    /// Seconds the model checker may run.
    #[arg(long, default_value_t = 10)]
    pub model_seconds: u64,
    /// Skip the model checker figure.
    #[arg(long)]
    pub no_model: bool,
}

/// Answers every persister write at once and drops the other effects.
fn settle(engine: &mut SharePartition, now_ms: u64) {
    while let Some(effect) = engine.poll_effect() {
        match effect {
            PartitionEffect::WriteState { write_id, .. } => {
                engine.handle_write_result(now_ms, write_id, Ok(()))
            }
            PartitionEffect::ReadState { .. } => {
                let reset = ResetOffsets {
                    log_start_offset: 0,
                    high_watermark: 0,
                    offset_by_duration: None,
                };
                let empty = sharesim_sim::share::PersistedShareState::default();
                engine.handle_read_state_result(now_ms, Ok(empty), reset);
            }
            _ => {}
        }
    }
}

/// Nanoseconds per record of (acquire one new record + accept one old record) with `window` records in
/// flight.
pub fn engine_ns_per_record(window: i64, operations: i64) -> f64 {
    let config = SharePartitionConfig {
        max_record_locks: u32::try_from(window + 1).unwrap_or(u32::MAX),
        record_lock_duration_ms: 3_600_000,
        ..SharePartitionConfig::for_semantics(&Semantics::default())
    };
    let mut engine = SharePartition::new(config, Semantics::default(), 1);
    engine.begin_initialize(0);
    settle(&mut engine, 0);
    let member = MemberId::new("bench");
    let params = AcquireParams {
        max_records: 1,
        batch_size: 1,
        mode: AcquireMode::RecordLimit,
    };
    let fetch = |engine: &mut SharePartition, offset: i64| {
        let log = FetchedLog {
            fetch_offset: offset,
            batches: vec![LogBatch::data(offset, offset)],
            aborted_transactions: Vec::new(),
        };
        let _ = engine.handle_fetch(1, &member, &log, params);
        settle(engine, 1);
    };
    for offset in 0..window {
        fetch(&mut engine, offset);
    }
    let started = Instant::now();
    for step in 0..operations {
        let ack = [AcknowledgementBatch::of(
            step,
            step,
            AcknowledgeType::Accept,
        )];
        let _ = engine.handle_acknowledge(1, &member, &ack);
        settle(&mut engine, 1);
        fetch(&mut engine, window + step);
    }
    started.elapsed().as_nanos() as f64 / operations as f64
}

/// Runs `sharesim bench`.
pub fn run_bench(args: &BenchArgs) -> ExitCode {
    println!("share-partition engine (acquire + accept per record, in-flight window):");
    let mut first = None;
    for window in [200i64, 2_000, 10_000] {
        let ns = engine_ns_per_record(window, 5_000);
        let ratio = ns / *first.get_or_insert(ns);
        println!("  window {window:>6}: {ns:>9.0} ns/record  ({ratio:.2}x the 200-record cost)");
    }
    let file = match load(&args.scenario) {
        Ok(file) => file,
        Err(message) => return fail(message),
    };
    let mut scenario = file.scenario.clone();
    scenario.name = Some(scenario_name(&scenario, &args.scenario));
    let backends: [&dyn Backend; 2] = [&EngineBackend, &ClusterBackend];
    for backend in backends {
        let started = Instant::now();
        let outcome = match run_scenario(backend, &scenario, 1, RunOptions::default()) {
            Ok(outcome) => outcome,
            Err(error) => {
                println!(
                    "simulator, {} backend: not measured ({error})",
                    backend.name()
                );
                continue;
            }
        };
        let wall = started.elapsed().as_secs_f64().max(1e-9);
        let records = outcome.metrics.get("records_produced").unwrap_or(0.0);
        println!(
            "simulator, {} backend ({}, seed 1, oracle and conformance included, {}): {:.0} records \
             end to end per wall second, {:.0} simulated seconds per wall second, {:.1} seeds per \
             second",
            backend.name(),
            scenario.name.as_deref().unwrap_or("scenario"),
            if outcome.passed() { "passed" } else { "FAILED" },
            records / wall,
            outcome.facts.end_ms as f64 / 1000.0 / wall,
            1.0 / wall
        );
    }
    if !args.no_model {
        let options = CheckOptions {
            timeout: Some(Duration::from_secs(args.model_seconds.max(1))),
            ..CheckOptions::default()
        };
        match check_spec(ShareModelCfg::default(), &options) {
            Ok(report) => println!(
                "model checker (default bound, BFS, 1 thread): {} unique states in {:.1} s = {:.0} states/s{}",
                report.unique_states,
                report.elapsed.as_secs_f64(),
                report.unique_states as f64 / report.elapsed.as_secs_f64().max(1e-9),
                if report.complete { ", complete" } else { ", cut by the time limit" }
            ),
            Err(error) => return fail(error),
        }
    }
    ExitCode::SUCCESS
}
