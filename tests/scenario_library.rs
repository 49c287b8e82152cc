//! The scenario library (issue 8): every study in `scenarios/library/` passes (each run meets its
//! scenario's expectations, every claim across points holds), and the committed reports under
//! `reports/library/` are what `sharesim library` writes today, byte for byte, so a finding's numbers can
//! never go stale. Regenerate with `SHARESIM_BLESS=1 cargo test --test scenario_library` (or
//! `sharesim library`) and review the diff.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use sharesim::cli::library_command::{run_study_file, study_directory};
use sharesim::report::{write_library_index, write_study_report};
use sharesim::runner::{library_files, StudyRun};

fn bless() -> bool {
    std::env::var_os("SHARESIM_BLESS").is_some()
}

/// Every file under `dir`, relative to it, sorted.
fn files_under(dir: &Path) -> BTreeSet<PathBuf> {
    let mut found = BTreeSet::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                found.insert(path.strip_prefix(dir).unwrap().to_path_buf());
            }
        }
    }
    found
}

#[test]
fn every_study_passes_and_its_committed_report_is_current() {
    // Cargo runs integration tests from the package root: paths stay relative, as in the reports.
    let library = Path::new("scenarios/library");
    let committed = Path::new("reports/library");
    let out = std::env::temp_dir().join(format!("sharesim-library-{}", std::process::id()));
    let mut runs: Vec<(String, StudyRun)> = Vec::new();
    let mut problems = Vec::new();
    for path in library_files(library).unwrap() {
        let run = run_study_file(&path, None, 2).unwrap();
        let directory = study_directory(&path);
        write_study_report(&out.join(&directory), &run, &path.display().to_string()).unwrap();
        if run.failed_runs() > 0 {
            let row = run.results.rows.iter().find(|row| !row.passed).unwrap();
            problems.push(format!(
                "{}: {} runs failed, e.g. seed {} [{}]: {}",
                run.name,
                run.failed_runs(),
                row.seed,
                row.point,
                row.failures.join("; ")
            ));
        }
        for claim in run.claims.iter().filter(|claim| !claim.holds) {
            problems.push(format!(
                "{}: claim `{}` does not hold ({})",
                run.name, claim.claim, claim.found
            ));
        }
        runs.push((directory, run));
    }
    let index: Vec<(String, &StudyRun)> = runs
        .iter()
        .map(|(directory, run)| (directory.clone(), run))
        .collect();
    write_library_index(&out, &index).unwrap();
    let generated = files_under(&out);
    if bless() {
        std::fs::remove_dir_all(committed).ok();
    }
    for file in &generated {
        let bytes = std::fs::read(out.join(file)).unwrap();
        let target = committed.join(file);
        if bless() {
            std::fs::create_dir_all(target.parent().unwrap()).unwrap();
            std::fs::write(&target, &bytes).unwrap();
        } else if std::fs::read(&target).ok().as_deref() != Some(bytes.as_slice()) {
            problems.push(format!(
                "{} differs from what `sharesim library` writes",
                target.display()
            ));
        }
    }
    for stale in files_under(committed).difference(&generated) {
        problems.push(format!(
            "{} is no longer generated",
            committed.join(stale).display()
        ));
    }
    std::fs::remove_dir_all(&out).ok();
    assert!(
        problems.is_empty(),
        "the scenario library (SHARESIM_BLESS=1 regenerates the reports):\n{}",
        problems.join("\n")
    );
}
