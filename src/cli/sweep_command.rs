//! `sharesim sweep SCENARIO --seeds A..B [--jobs N] [--shard K/N] [--vary key=v1,v2,...]`: every
//! parameter point on every seed, a progress line on stderr, a table of metrics per point, every failing
//! seed with the exact command that replays it, and the results in `OUT/results.json` for `merge`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use serde_json::Value;

use super::{backend_for, fail, load, parse_varies, scenario_name};
use crate::report::{failures_text, summary_text, write_sweep_report, SweepResults};
use crate::runner::{jobs, point_label, run_jobs, RunOptions, Shard, SweepPoint};
use crate::scenario::sweep::sweep_points;
use crate::scenario::BackendKind;
use crate::scenario::{KeyPath, ScenarioFile};

/// Arguments of `sweep`.
#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// The scenario file (JSON).
    pub scenario: PathBuf,
    /// Seeds `A..B` (B excluded) or `A..=B`; default: the scenario's seeds.
    #[arg(long)]
    pub seeds: Option<String>,
    /// Threads (each seed is its own simulation).
    #[arg(long, default_value_t = 1)]
    pub jobs: usize,
    /// Run only shard K of N of the job list (1-based), e.g. `--shard 2/4`.
    #[arg(long)]
    pub shard: Option<Shard>,
    /// Vary a key path over values, e.g. `--vary 'consumers[0].count=1,2,4'` (repeatable; adds to the
    /// scenario's own `sweep`).
    #[arg(long)]
    pub vary: Vec<String>,
    /// The report directory (default: reports/NAME/sweep, or .../sweep-shard-K-of-N).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Skip the conformance replay.
    #[arg(long)]
    pub no_conform: bool,
    /// The backend (default: the scenario's `backend` field, else `engine`).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
}

/// Parses `A..B` (B excluded), `A..=B`, or a single seed.
pub fn parse_seed_range(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("invalid --seeds `{text}`: expected A..B (B excluded), A..=B or N");
    let number = |s: &str| s.trim().parse::<u64>().map_err(|_| bad());
    let seeds: Vec<u64> = if let Some((a, b)) = text.split_once("..=") {
        (number(a)?..=number(b)?).collect()
    } else if let Some((a, b)) = text.split_once("..") {
        (number(a)?..number(b)?).collect()
    } else {
        vec![number(text)?]
    };
    if seeds.is_empty() {
        return Err(format!("--seeds `{text}` is empty"));
    }
    if seeds.len() > 10_000_000 {
        return Err(format!("--seeds `{text}` has more than 10,000,000 seeds"));
    }
    Ok(seeds)
}

/// The parameter points: the scenario's `sweep` and the `--vary` values, every combination.
pub fn points(
    file: &ScenarioFile,
    varies: &[String],
    name: &str,
) -> Result<Vec<SweepPoint>, String> {
    let mut axes: Vec<(String, Vec<Value>)> = file
        .scenario
        .sweep
        .iter()
        .map(|(key, values)| (key.clone(), values.clone()))
        .collect();
    for (key, values) in parse_varies(varies)? {
        axes.push((key.to_string(), values));
    }
    let mut points = Vec::new();
    for values in sweep_points(&axes) {
        let mut overrides = Vec::new();
        for (key, value) in &values {
            let path: KeyPath = key.parse()?;
            overrides.push((path, value.clone()));
        }
        let mut scenario = if overrides.is_empty() {
            file.scenario.clone()
        } else {
            file.with_values(&overrides)
                .map_err(|error| error.to_string().trim_end().to_string())?
        };
        scenario.name = Some(name.to_string());
        points.push(SweepPoint {
            label: point_label(&values),
            vary_args: values
                .iter()
                .map(|(key, value)| format!("{key}={value}"))
                .collect(),
            scenario,
        });
    }
    Ok(points)
}

/// Runs `sharesim sweep`: exit 0 when every run passed, 1 when some failed, 2 on bad input.
pub fn run_sweep(args: &SweepArgs) -> ExitCode {
    if args.jobs == 0 || args.jobs > 256 {
        return fail(format!("--jobs must be 1..=256, got {}", args.jobs));
    }
    let file = match load(&args.scenario) {
        Ok(file) => file,
        Err(message) => return fail(message),
    };
    let seeds = match &args.seeds {
        Some(text) => match parse_seed_range(text) {
            Ok(seeds) => seeds,
            Err(message) => return fail(message),
        },
        None => file.scenario.seeds.to_vec(),
    };
    let name = scenario_name(&file.scenario, &args.scenario);
    let points = match points(&file, &args.vary, &name) {
        Ok(points) => points,
        Err(message) => return fail(message),
    };
    let job_list = jobs(points.len(), &seeds, args.shard);
    let backend = backend_for(args.backend, &file.scenario);
    let options = RunOptions {
        conform: !args.no_conform,
    };
    let progress = |done: usize, total: usize, failed: usize| {
        // At most about a hundred updates, so a log file stays readable.
        if done != total && done % (total / 100).max(1) != 0 {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = write!(
            stderr,
            "\rsweep {name}: {done}/{total} runs, {failed} failed"
        );
        if done == total {
            let _ = writeln!(stderr);
        }
        let _ = stderr.flush();
    };
    let rows = run_jobs(
        backend.as_ref(),
        &points,
        &job_list,
        args.jobs,
        options,
        &progress,
    );
    let scenario_path = args.scenario.display().to_string();
    let results = SweepResults::new(&name, &scenario_path, backend.name(), args.shard, rows);
    let out = args.out.clone().unwrap_or_else(|| {
        let leaf = match args.shard {
            Some(shard) => format!("sweep-shard-{}-of-{}", shard.index, shard.count),
            None => "sweep".to_string(),
        };
        PathBuf::from("reports").join(&name).join(leaf)
    });
    if let Err(error) = write_sweep_report(&out, &results) {
        return fail(format!(
            "cannot write the report to {}: {error}",
            out.display()
        ));
    }
    print!("{}", summary_text(&results));
    print!("{}", failures_text(&results));
    let failed = results.rows.iter().filter(|row| !row.passed).count();
    println!(
        "{} runs, {failed} failed · results: {} · report: {}",
        results.rows.len(),
        out.join("results.json").display(),
        out.join("report.html").display()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seed ranges: half-open, inclusive, single; bad text is an error.
    #[test]
    fn seed_ranges_parse() {
        assert_eq!(parse_seed_range("1..4"), Ok(vec![1, 2, 3]));
        assert_eq!(parse_seed_range("1..=3"), Ok(vec![1, 2, 3]));
        assert_eq!(parse_seed_range("7"), Ok(vec![7]));
        assert!(parse_seed_range("4..1").is_err());
        assert!(parse_seed_range("a..b").is_err());
        assert!(parse_seed_range("").is_err());
    }
}
