//! `sharesim library [--dir scenarios/library] [--out reports/library] [--only NAME] [--jobs N]`: runs
//! every study of the scenario library on its own seeds and sweep, writes each study's report and the
//! index, prints a progress line per study with its wall time, the whole library's time and the slowest
//! study. Exit 0 when every run met its expectations and every claim held, 1 otherwise, 2 on bad input.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;

use super::sweep_command::points;
use super::{backend_for, fail, load, scenario_name};
use crate::report::{write_library_index, write_study_report, SweepResults};
use crate::runner::{jobs, library_files, run_jobs, RunOptions, StudyRun};
use crate::scenario::BackendKind;

/// Arguments of `library`.
#[derive(Args, Debug, Clone)]
pub struct LibraryArgs {
    /// The directory of library scenarios.
    #[arg(long, default_value = "scenarios/library")]
    pub dir: PathBuf,
    /// Where the reports go (one directory per study, plus the index).
    #[arg(long, default_value = "reports/library")]
    pub out: PathBuf,
    /// Run only the study with this name (or file stem); the index is not rewritten.
    #[arg(long)]
    pub only: Option<String>,
    /// Threads (each run is its own simulation).
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// The backend (default: the scenario's `backend` field, else `engine`).
    #[arg(long, value_enum)]
    pub backend: Option<BackendKind>,
}

/// Runs the study of one library scenario file: its whole sweep on its own seeds, on `backend` when
/// given, else on the scenario's own `backend`.
pub fn run_study_file(
    path: &Path,
    backend: Option<BackendKind>,
    threads: usize,
) -> Result<StudyRun, String> {
    let file = load(path)?;
    let backend = backend_for(backend, &file.scenario);
    let backend = backend.as_ref();
    let study = file.scenario.study.clone().ok_or_else(|| {
        format!(
            "{}: a library scenario needs a `study` (question, finding, claims, plots)",
            path.display()
        )
    })?;
    let name = scenario_name(&file.scenario, path);
    let sweep_points = points(&file, &[], &name)?;
    let seeds = file.scenario.seeds.to_vec();
    let job_list = jobs(sweep_points.len(), &seeds, None);
    let rows = run_jobs(
        backend,
        &sweep_points,
        &job_list,
        threads,
        RunOptions { conform: true },
        &|_, _, _| {},
    );
    let labels = sweep_points
        .iter()
        .map(|point| point.label.clone())
        .collect();
    let results = SweepResults::new(
        &name,
        &path.display().to_string(),
        backend.name(),
        None,
        rows,
    );
    let description = file.scenario.description.clone().unwrap_or_default();
    Ok(StudyRun::new(&description, &study, &seeds, labels, results))
}

/// The report directory of a study file: its file stem (`lock_expiry.json` → `lock_expiry`).
pub fn study_directory(path: &Path) -> String {
    path.file_stem().map_or("study".to_string(), |stem| {
        stem.to_string_lossy().to_string()
    })
}

/// Runs `sharesim library`.
pub fn run_library(args: &LibraryArgs) -> ExitCode {
    if args.jobs == 0 || args.jobs > 256 {
        return fail(format!("--jobs must be 1..=256, got {}", args.jobs));
    }
    let files = match library_files(&args.dir) {
        Ok(files) => files,
        Err(message) => return fail(message),
    };
    let files: Vec<PathBuf> = match &args.only {
        None => files,
        Some(only) => {
            let chosen: Vec<PathBuf> = files
                .into_iter()
                .filter(|path| {
                    study_directory(path) == *only
                        || load(path).is_ok_and(|file| file.scenario.name.as_deref() == Some(only))
                })
                .collect();
            if chosen.is_empty() {
                // A file that does not load has no name to match: say so, or a typo in the study
                // itself reads as a wrong --only.
                let broken: Vec<String> = library_files(&args.dir)
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|path| load(path).err())
                    .map(|error| format!("\n  {error}"))
                    .collect();
                let unloadable = if broken.is_empty() {
                    String::new()
                } else {
                    format!("; these files did not load:{}", broken.concat())
                };
                return fail(format!(
                    "no study named `{only}` in {}{unloadable}",
                    args.dir.display()
                ));
            }
            chosen
        }
    };
    let started = Instant::now();
    let mut runs: Vec<(String, StudyRun)> = Vec::new();
    let mut slowest: Option<(String, f64)> = None;
    for (index, path) in files.iter().enumerate() {
        let study_started = Instant::now();
        let run = match run_study_file(path, args.backend, args.jobs) {
            Ok(run) => run,
            Err(message) => return fail(message),
        };
        let seconds = study_started.elapsed().as_secs_f64();
        let directory = study_directory(path);
        if let Err(error) = write_study_report(
            &args.out.join(&directory),
            &run,
            &path.display().to_string(),
        ) {
            return fail(format!(
                "cannot write {}: {error}",
                args.out.join(&directory).display()
            ));
        }
        eprintln!(
            "library [{}/{}] {}: {} runs, {} failed, claims {}/{} hold, {} ({seconds:.1} s)",
            index + 1,
            files.len(),
            run.name,
            run.results.rows.len(),
            run.failed_runs(),
            run.claims.len() - run.failed_claims(),
            run.claims.len(),
            if run.passed() { "PASSED" } else { "FAILED" }
        );
        for claim in run.claims.iter().filter(|claim| !claim.holds) {
            eprintln!("  claim `{}` does not hold: {}", claim.claim, claim.found);
        }
        for row in run.results.rows.iter().filter(|row| !row.passed).take(3) {
            eprintln!(
                "  seed {} [{}]: {}\n    replay: {}",
                row.seed,
                row.point,
                row.failures.first().map_or("", String::as_str),
                run.results.replay_command(row)
            );
        }
        if slowest.as_ref().is_none_or(|(_, s)| seconds > *s) {
            slowest = Some((run.name.clone(), seconds));
        }
        runs.push((directory, run));
    }
    if args.only.is_none() {
        let index: Vec<(String, &StudyRun)> = runs
            .iter()
            .map(|(directory, run)| (directory.clone(), run))
            .collect();
        if let Err(error) = write_library_index(&args.out, &index) {
            return fail(format!(
                "cannot write the index to {}: {error}",
                args.out.display()
            ));
        }
    }
    let total_runs: usize = runs.iter().map(|(_, run)| run.results.rows.len()).sum();
    let failing: Vec<&str> = runs
        .iter()
        .filter(|(_, run)| !run.passed())
        .map(|(_, run)| run.name.as_str())
        .collect();
    let (slowest_name, slowest_seconds) = slowest.unwrap_or_default();
    println!(
        "library: {} studies, {total_runs} runs, {} failing in {:.1} s on {} threads; slowest: {slowest_name} \
         ({slowest_seconds:.1} s) · index: {}",
        runs.len(),
        failing.len(),
        started.elapsed().as_secs_f64(),
        args.jobs,
        args.out.join("index.md").display()
    );
    if failing.is_empty() {
        ExitCode::SUCCESS
    } else {
        println!("failing studies: {}", failing.join(", "));
        ExitCode::from(1)
    }
}
