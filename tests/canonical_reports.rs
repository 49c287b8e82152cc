//! The committed canonical reports under `reports/` are what the runner produces today, byte for byte:
//! the README's main command (`run scenarios/quickstart.json`, seed 1), a few other scenarios, and the
//! mutation-switch table. A change in any engine, the runner, the oracle or the report writers shows up
//! as a diff here. Regenerate with `SHARESIM_BLESS=1 cargo test --test canonical_reports` (or by
//! running the commands in `reports/README.md`) and review the diff.

use std::path::{Path, PathBuf};

use sharesim::cli::backend_for;
use sharesim::report::write_run_report;
use sharesim::runner::{
    mutation_table, run_scenario, sweep_mutation, EngineBackend, RunOptions, MUTATION_SWITCHES,
};
use sharesim::scenario::load_scenario;

/// (scenario file, seed): each is committed at `reports/NAME/seed-N/`.
const CANONICAL_RUNS: &[(&str, u64)] = &[
    ("quickstart.json", 1),
    ("minimal.json", 1),
    ("head_of_line.json", 1),
    ("swarm.json", 3),
];

/// The files of a run report that are committed (`trace.jsonl` is not: its hash is in `report.json`).
const COMMITTED_FILES: &[&str] = &["report.json", "report.md", "report.html"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn bless() -> bool {
    std::env::var_os("SHARESIM_BLESS").is_some()
}

/// Compares `generated` with the committed file (or writes it when blessing); returns a problem.
fn compare(committed: &Path, generated: &[u8]) -> Option<String> {
    if bless() {
        std::fs::create_dir_all(committed.parent().unwrap()).unwrap();
        std::fs::write(committed, generated).unwrap();
        return None;
    }
    match std::fs::read(committed) {
        Ok(bytes) if bytes == generated => None,
        Ok(_) => Some(format!(
            "{} differs from what the runner writes",
            committed.display()
        )),
        Err(error) => Some(format!("{}: {error}", committed.display())),
    }
}

/// Every canonical run's report files are current.
#[test]
fn committed_run_reports_are_current() {
    let mut problems = Vec::new();
    for &(file, seed) in CANONICAL_RUNS {
        let scenario_path = format!("scenarios/{file}");
        let mut scenario = load_scenario(&root().join(&scenario_path))
            .unwrap()
            .scenario;
        // As `sharesim run` names it: the scenario's name, else the file stem.
        let name = scenario
            .name
            .clone()
            .unwrap_or_else(|| file.trim_end_matches(".json").to_string());
        scenario.name = Some(name.clone());
        // On the scenario's own backend, as `sharesim run` does.
        let backend = backend_for(None, &scenario);
        let outcome =
            run_scenario(backend.as_ref(), &scenario, seed, RunOptions::default()).unwrap();
        let out = std::env::temp_dir().join(format!(
            "sharesim-canonical-{}-{name}-{seed}",
            std::process::id()
        ));
        write_run_report(&out, &outcome, &scenario, &scenario_path).unwrap();
        let committed = root()
            .join("reports")
            .join(&name)
            .join(format!("seed-{seed}"));
        for report_file in COMMITTED_FILES {
            let generated = std::fs::read(out.join(report_file)).unwrap();
            problems.extend(compare(&committed.join(report_file), &generated));
        }
        std::fs::remove_dir_all(&out).ok();
    }
    assert!(
        problems.is_empty(),
        "{}\nregenerate with `SHARESIM_BLESS=1 cargo test --test canonical_reports` and review",
        problems.join("\n")
    );
}

/// The mutation-switch table (`sharesim mutations scenarios/swarm.json --seeds 1..101`) is current.
#[test]
fn committed_mutation_table_is_current() {
    let path = root().join("scenarios/swarm.json");
    let scenario = load_scenario(&path).unwrap().scenario;
    let seeds: Vec<u64> = (1..101).collect();
    let catches: Vec<_> = MUTATION_SWITCHES
        .iter()
        .map(|switch| sweep_mutation(&EngineBackend, &scenario, switch, &seeds).unwrap())
        .collect();
    let table = mutation_table("swarm", &catches);
    let problem = compare(&root().join("reports/mutations.md"), table.as_bytes());
    assert!(problem.is_none(), "{problem:?}: regenerate and review");
}
