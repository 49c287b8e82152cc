//! The simulation commands of the `sharesim` CLI, one file each: `run`, `sweep`, `merge`, `replay`,
//! `conform`, `bench`. Shared here: loading a scenario with `--vary` overrides, choosing the backend,
//! and the one-line error exit.

pub mod bench_command;
pub mod conform_command;
pub mod library_command;
pub mod merge_command;
pub mod mutations_command;
pub mod replay_command;
pub mod run_command;
pub mod serve_command;
pub mod sweep_command;

use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use crate::runner::{Backend, EngineBackend};
use crate::scenario::{
    load_scenario, parse_vary_arg, BackendKind, KeyPath, Scenario, ScenarioFile,
};

/// The backend that runs a scenario: the command line's `--backend` when given, else the scenario's
/// `backend` field, else the engine backend.
pub fn backend_for(cli: Option<BackendKind>, scenario: &Scenario) -> Box<dyn Backend> {
    match cli.or(scenario.backend).unwrap_or_default() {
        BackendKind::Engine => Box::new(EngineBackend),
        BackendKind::Cluster => Box::new(crate::runner::cluster_backend::ClusterBackend),
    }
}

/// Prints `sharesim: MESSAGE` and returns exit code 2 (bad input).
pub fn fail(message: impl AsRef<str>) -> ExitCode {
    eprintln!("sharesim: {}", message.as_ref());
    ExitCode::from(2)
}

/// Loads a scenario file.
pub fn load(path: &Path) -> Result<ScenarioFile, String> {
    load_scenario(path).map_err(|error| error.to_string().trim_end().to_string())
}

/// Parses `--vary` arguments.
pub fn parse_varies(varies: &[String]) -> Result<Vec<(KeyPath, Vec<Value>)>, String> {
    varies.iter().map(|arg| parse_vary_arg(arg)).collect()
}

/// The scenario with single-valued `--vary` overrides applied (run, replay).
pub fn scenario_with_overrides(file: &ScenarioFile, varies: &[String]) -> Result<Scenario, String> {
    let parsed = parse_varies(varies)?;
    let mut overrides = Vec::new();
    for ((key, values), arg) in parsed.into_iter().zip(varies) {
        if values.len() != 1 {
            return Err(format!(
                "--vary `{arg}` has {} values; this command takes one (use `sweep` for several)",
                values.len()
            ));
        }
        overrides.extend(values.into_iter().map(|value| (key.clone(), value)));
    }
    if overrides.is_empty() {
        return Ok(file.scenario.clone());
    }
    file.with_values(&overrides)
        .map_err(|error| error.to_string().trim_end().to_string())
}

/// The scenario's name: its `name`, else the file stem.
pub fn scenario_name(scenario: &Scenario, path: &Path) -> String {
    scenario.name.clone().unwrap_or_else(|| {
        path.file_stem().map_or("scenario".to_string(), |stem| {
            stem.to_string_lossy().to_string()
        })
    })
}
