//! `sharesim run SCENARIO [--seed N] [--out DIR]`: one run, a summary on the terminal and a report
//! directory.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::{backend_for, fail, load, scenario_name, scenario_with_overrides};
use crate::oracle::Verdict;
use crate::report::write_run_report;
use crate::runner::{run_scenario, RunOptions, RunOutcome};
use crate::scenario::BackendKind;

/// Arguments of `run`.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The scenario file (JSON).
    pub scenario: PathBuf,
    /// The seed (default: the scenario's first seed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// The report directory (default: reports/NAME/seed-N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Set one value at a key path, e.g. `--vary 'consumers[0].count=8'` (repeatable).
    #[arg(long)]
    pub vary: Vec<String>,
    /// Skip the conformance replay through the spec's step relation.
    #[arg(long)]
    pub no_conform: bool,
    /// The backend (default: the scenario's `backend` field, else `engine`).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
}

/// The terminal summary of a run.
pub fn summary(outcome: &RunOutcome, report: Option<&str>) -> String {
    let metric = |name: &str| {
        outcome
            .metrics
            .get(name)
            .map_or("-".to_string(), |v| v.to_string())
    };
    let mut passing = 0;
    let mut failing = Vec::new();
    let mut undecided = Vec::new();
    for (code, verdict) in &outcome.oracle.verdicts {
        match verdict {
            Verdict::Pass => passing += 1,
            Verdict::Fail(violation) => failing.push(violation.to_string()),
            Verdict::Undecided(_) => undecided.push(*code),
        }
    }
    let mut text = format!(
        "{} seed {} ({} backend): {}\n",
        outcome.scenario_name,
        outcome.seed,
        outcome.facts.backend,
        if outcome.passed() { "PASSED" } else { "FAILED" }
    );
    text += &format!(
        "  records {} produced, {} consumed · deliveries {} · duplicates {} · redeliveries {} · \
         acknowledged {} · archived {}\n",
        metric("records_produced"),
        metric("records_consumed"),
        metric("deliveries"),
        metric("duplicates"),
        metric("redeliveries"),
        metric("acknowledged"),
        metric("archived"),
    );
    text += &format!(
        "  latency p50 {} ms, p99 {} ms · lock expiries {} · max delivery count {}\n",
        metric("p50_latency_ms"),
        metric("p99_latency_ms"),
        metric("lock_expiries"),
        metric("max_delivery_count"),
    );
    text += &format!(
        "  invariants: {passing} hold, {} violated, {} undecided{}\n",
        failing.len(),
        undecided.len(),
        if undecided.is_empty() {
            String::new()
        } else {
            format!(" ({})", undecided.join(", "))
        }
    );
    for violation in &failing {
        text += &format!("    {violation}\n");
    }
    if let Some(conformance) = &outcome.conformance {
        text += &match &conformance.first_divergence {
            None => format!(
                "  conformance: {} steps, every step allowed by the spec\n",
                conformance.steps
            ),
            Some(divergence) => {
                format!("  conformance: first step the spec does not allow: {divergence}\n")
            }
        };
    }
    for result in outcome.expectations.iter().filter(|r| !r.met) {
        text += &format!(
            "  expectation not met: {} ({})\n",
            result.expectation, result.found
        );
    }
    if !outcome.facts.faults_skipped.is_empty() {
        text += &format!(
            "  faults skipped by this backend: {}\n",
            outcome
                .facts
                .faults_skipped
                .iter()
                .map(|f| f.kind.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for note in &outcome.facts.notes {
        text += &format!("  note: {note}\n");
    }
    text += &format!(
        "  trace hash {} ({} records)\n",
        outcome.trace_hash,
        outcome.records.len()
    );
    if let Some(report) = report {
        text += &format!("  report: {report}\n");
    }
    text
}

/// Runs `sharesim run`: exit 0 when the run passed, 1 when it failed, 2 on bad input.
pub fn run_run(args: &RunArgs) -> ExitCode {
    let file = match load(&args.scenario) {
        Ok(file) => file,
        Err(message) => return fail(message),
    };
    let scenario = match scenario_with_overrides(&file, &args.vary) {
        Ok(scenario) => scenario,
        Err(message) => return fail(message),
    };
    let seed = match args
        .seed
        .or_else(|| scenario.seeds.to_vec().first().copied())
    {
        Some(seed) => seed,
        None => return fail("the scenario has no seeds; pass --seed N"),
    };
    let mut named = scenario.clone();
    named.name = Some(scenario_name(&scenario, &args.scenario));
    let options = RunOptions {
        conform: !args.no_conform,
    };
    let backend = backend_for(args.backend, &named);
    let outcome = match run_scenario(backend.as_ref(), &named, seed, options) {
        Ok(outcome) => outcome,
        Err(error) => return fail(error.to_string()),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports")
            .join(named.name.clone().unwrap_or_default())
            .join(format!("seed-{seed}"))
    });
    let scenario_path = args.scenario.display().to_string();
    if let Err(error) = write_run_report(&out, &outcome, &named, &scenario_path) {
        return fail(format!(
            "cannot write the report to {}: {error}",
            out.display()
        ));
    }
    let report = out.join("report.html").display().to_string();
    print!("{}", summary(&outcome, Some(&report)));
    if outcome.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
