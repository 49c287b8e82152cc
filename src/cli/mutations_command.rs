//! `sharesim mutations SCENARIO [--seeds A..B] [--only NAME] [--out FILE]`: the mutation-switch sweep.
//! For each switch, the seeds run until the invariant it breaks is reported violated, as a Markdown
//! table (printed, and written to `--out`). Exit 0 when every switch is caught, 1 otherwise.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

use super::sweep_command::parse_seed_range;
use super::{backend_for, fail, load, scenario_name};
use crate::runner::{
    mutation_table, sweep_mutation, CLUSTER_ONLY_MUTATION_SWITCHES, MUTATION_SWITCHES,
};
use crate::scenario::BackendKind;

/// Arguments of `mutations`.
#[derive(Args, Debug, Clone)]
pub struct MutationsArgs {
    /// The scenario file (JSON), e.g. `scenarios/swarm.json`.
    pub scenario: PathBuf,
    /// Seeds to try per switch, `A..B` (B excluded) or `A..=B`.
    #[arg(long, default_value = "1..101")]
    pub seeds: String,
    /// Only this switch (repeatable).
    #[arg(long)]
    pub only: Vec<String>,
    /// Also write the table to this file.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The backend (default: the scenario's `backend` field, else `engine`).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
}

/// Runs `sharesim mutations`.
pub fn run_mutations(args: &MutationsArgs) -> ExitCode {
    let file = match load(&args.scenario) {
        Ok(file) => file,
        Err(message) => return fail(message),
    };
    let seeds = match parse_seed_range(&args.seeds) {
        Ok(seeds) => seeds,
        Err(message) => return fail(message),
    };
    let named = MUTATION_SWITCHES
        .iter()
        .chain(CLUSTER_ONLY_MUTATION_SWITCHES)
        .filter(|s| args.only.iter().any(|n| n == s.name));
    if let Some(unknown) = args
        .only
        .iter()
        .find(|name| !named.clone().any(|s| s.name == name.as_str()))
    {
        return fail(format!("unknown mutation switch `{unknown}`"));
    }
    let backend = backend_for(args.backend, &file.scenario);
    let mut catches = Vec::new();
    // Without `--only`, every switch the backend carries: the engine's list on the engine backend, the
    // cluster's few (leader-epoch fencing, the assignor) on the cluster, rather than stopping at the first
    // switch the backend refuses.
    let switches: Vec<_> = if args.only.is_empty() {
        MUTATION_SWITCHES
            .iter()
            .chain(CLUSTER_ONLY_MUTATION_SWITCHES)
            .filter(|switch| backend.carries_mutation(switch.name))
            .collect()
    } else {
        named.collect()
    };
    for switch in switches {
        match sweep_mutation(backend.as_ref(), &file.scenario, switch, &seeds) {
            Ok(catch) => catches.push(catch),
            Err(error) => return fail(error.to_string()),
        }
    }
    let name = scenario_name(&file.scenario, &args.scenario);
    let table = mutation_table(&name, &catches);
    print!("{table}");
    if let Some(out) = &args.out {
        if let Err(error) = std::fs::write(out, &table) {
            return fail(format!("cannot write {}: {error}", out.display()));
        }
    }
    if catches.iter().all(|catch| catch.caught_at_seed.is_some()) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
