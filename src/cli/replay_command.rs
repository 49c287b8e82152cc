//! `sharesim replay SCENARIO --seed N [--expect-hash H] [--offset N]`: re-runs a seed, confirms the trace
//! hash, and with `--offset` prints one record's whole life as a timeline.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{backend_for, fail, load, scenario_name, scenario_with_overrides};
use crate::report::record_timeline;
use crate::runner::{run_scenario, RunOptions};
use crate::scenario::BackendKind;

/// Arguments of `replay`.
#[derive(Args, Debug, Clone)]
pub struct ReplayArgs {
    /// The scenario file (JSON).
    pub scenario: PathBuf,
    /// The seed.
    #[arg(long)]
    pub seed: u64,
    /// The trace hash the run must reproduce (16 hex digits).
    #[arg(long)]
    pub expect_hash: Option<String>,
    /// Print the timeline of this offset.
    #[arg(long)]
    pub offset: Option<i64>,
    /// The partition of `--offset` (default 0).
    #[arg(long, default_value_t = 0)]
    pub partition: i32,
    /// The topic of `--offset` (default: any).
    #[arg(long)]
    pub topic: Option<String>,
    /// The share group of `--offset` (default: any).
    #[arg(long)]
    pub group: Option<String>,
    /// Set one value at a key path, as the failing sweep point did (repeatable).
    #[arg(long)]
    pub vary: Vec<String>,
    /// The backend (default: the scenario's `backend` field, else `engine`).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
}

/// Runs `sharesim replay`: exit 0 when the hash matches (or none was given), 1 when it differs, 2 on bad
/// input.
pub fn run_replay(args: &ReplayArgs) -> ExitCode {
    if let Some(hash) = &args.expect_hash {
        if hash.len() != 16 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return fail(format!(
                "--expect-hash `{hash}`: a trace hash has 16 hex digits"
            ));
        }
    }
    let file = match load(&args.scenario) {
        Ok(file) => file,
        Err(message) => return fail(message),
    };
    let mut scenario = match scenario_with_overrides(&file, &args.vary) {
        Ok(scenario) => scenario,
        Err(message) => return fail(message),
    };
    scenario.name = Some(scenario_name(&scenario, &args.scenario));
    if let Some(topic) = &args.topic {
        if !scenario.topics.iter().any(|t| &t.name == topic) {
            return fail(format!("--topic `{topic}` is not a topic of the scenario"));
        }
    }
    let backend = backend_for(args.backend, &scenario);
    let options = RunOptions { conform: false };
    let outcome = match run_scenario(backend.as_ref(), &scenario, args.seed, options) {
        Ok(outcome) => outcome,
        Err(error) => return fail(error.to_string()),
    };
    println!(
        "{} seed {}: trace hash {} ({} records, {} backend)",
        outcome.scenario_name,
        args.seed,
        outcome.trace_hash,
        outcome.records.len(),
        outcome.facts.backend
    );
    if let Some(offset) = args.offset {
        // Each backend names its topic ids (the cluster's controller draws them): the run's facts say.
        let topic_id = args.topic.as_ref().and_then(|topic| {
            outcome
                .facts
                .produced
                .iter()
                .find(|produced| &produced.topic == topic)
                .map(|produced| produced.topic_id)
        });
        let timeline = record_timeline(
            &outcome.records,
            args.group.as_deref(),
            topic_id,
            args.partition,
            offset,
        );
        println!("offset {offset} of partition {}:", args.partition);
        if timeline
            .iter()
            .all(|entry| entry.what.starts_with("fault "))
        {
            println!("  (no event concerns this record)");
        }
        for entry in timeline {
            println!(
                "  {:>8} ms  seq {:<7} {:<24} {}",
                entry.at_ms, entry.seq, entry.node, entry.what
            );
        }
    }
    match &args.expect_hash {
        Some(expected) if !expected.eq_ignore_ascii_case(&outcome.trace_hash.to_string()) => {
            println!(
                "hash MISMATCH: expected {expected}, got {}",
                outcome.trace_hash
            );
            ExitCode::from(1)
        }
        Some(_) => {
            println!("hash confirmed");
            ExitCode::SUCCESS
        }
        None => ExitCode::SUCCESS,
    }
}
