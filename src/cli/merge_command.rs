//! `sharesim merge RESULTS... [--out DIR]`: joins the `results.json` of sweep shards into one sweep
//! report.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;

use super::fail;
use crate::report::{failures_text, summary_text, write_sweep_report, SweepResults};

/// Arguments of `merge`.
#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// `results.json` files of sweep shards, or the directories holding them.
    #[arg(required = true)]
    pub results: Vec<PathBuf>,
    /// The merged report directory (default: reports/NAME/sweep-merged).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

fn read_results(path: &Path) -> Result<SweepResults, String> {
    let file = if path.is_dir() {
        path.join("results.json")
    } else {
        path.to_path_buf()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|error| format!("{}: cannot read: {error}", file.display()))?;
    let results: SweepResults = serde_json::from_str(&text)
        .map_err(|error| format!("{}: not a sweep results file: {error}", file.display()))?;
    if results.kind != "sweep-results" {
        return Err(format!("{}: not a sweep results file", file.display()));
    }
    Ok(results)
}

/// Runs `sharesim merge`: exit 0 when every merged run passed, 1 when some failed, 2 on bad input.
pub fn run_merge(args: &MergeArgs) -> ExitCode {
    let mut parts = Vec::new();
    for path in &args.results {
        match read_results(path) {
            Ok(results) => parts.push(results),
            Err(message) => return fail(message),
        }
    }
    let merged = match SweepResults::merge(parts) {
        Ok(merged) => merged,
        Err(message) => return fail(message),
    };
    let out = args.out.clone().unwrap_or_else(|| {
        PathBuf::from("reports")
            .join(&merged.scenario)
            .join("sweep-merged")
    });
    if let Err(error) = write_sweep_report(&out, &merged) {
        return fail(format!(
            "cannot write the report to {}: {error}",
            out.display()
        ));
    }
    print!("{}", summary_text(&merged));
    print!("{}", failures_text(&merged));
    let failed = merged.rows.iter().filter(|row| !row.passed).count();
    println!(
        "{} runs merged, {failed} failed · report: {}",
        merged.rows.len(),
        out.join("report.html").display()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}
