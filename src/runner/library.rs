//! The scenario library (issue 8): a study is a library scenario's whole sweep (every point on every
//! seed of the file), judged twice: each run by the scenario's expectations, and the sweep as a whole by
//! the study's claims across points. Its finding is filled in from the same numbers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::sweep::SweepRow;
use crate::report::SweepResults;
use crate::scenario::study::{evaluate_claim, fill_finding, ClaimResult, PointMeans, Study};

/// A study after its sweep ran.
#[derive(Clone, Debug, Serialize)]
pub struct StudyRun {
    /// The scenario's name.
    pub name: String,
    /// The scenario's description.
    pub description: String,
    /// The study as written.
    pub study: Study,
    /// The seeds, as a range (`1..=5`) or a list.
    pub seeds: String,
    /// The sweep's point labels, in sweep order.
    pub points: Vec<String>,
    /// Mean of every measured metric per point.
    pub means: PointMeans,
    /// The finding with its numbers.
    pub finding: String,
    /// Each claim's verdict.
    pub claims: Vec<ClaimResult>,
    /// The sweep's rows (and everything `merge` and the sweep report need).
    pub results: SweepResults,
}

impl StudyRun {
    /// Judges a finished sweep.
    pub fn new(
        description: &str,
        study: &Study,
        seeds: &[u64],
        points: Vec<String>,
        results: SweepResults,
    ) -> StudyRun {
        let means = point_means(&results.rows);
        let seeds = seeds_label(seeds);
        let finding = fill_finding(&study.finding, &seeds, results.rows.len(), &means, &points);
        let claims = study
            .claims
            .iter()
            .map(|claim| evaluate_claim(claim, &points, &means))
            .collect();
        StudyRun {
            name: results.scenario.clone(),
            description: description.to_string(),
            study: study.clone(),
            seeds,
            points,
            means,
            finding,
            claims,
            results,
        }
    }

    /// Runs whose expectations failed.
    pub fn failed_runs(&self) -> usize {
        self.results.rows.iter().filter(|row| !row.passed).count()
    }

    /// Claims that do not hold.
    pub fn failed_claims(&self) -> usize {
        self.claims.iter().filter(|claim| !claim.holds).count()
    }

    /// Every run met its expectations and every claim holds.
    pub fn passed(&self) -> bool {
        self.failed_runs() == 0 && self.failed_claims() == 0
    }
}

/// The mean of every metric per point, over the runs that measured it.
pub fn point_means(rows: &[SweepRow]) -> PointMeans {
    let mut sums: BTreeMap<&str, BTreeMap<&str, (f64, usize)>> = BTreeMap::new();
    for row in rows {
        let point = sums.entry(row.point.as_str()).or_default();
        for (metric, value) in &row.metrics.0 {
            let entry = point.entry(metric.as_str()).or_insert((0.0, 0));
            entry.0 += value;
            entry.1 += 1;
        }
    }
    sums.into_iter()
        .map(|(point, metrics)| {
            let means = metrics
                .into_iter()
                .map(|(metric, (sum, count))| (metric.to_string(), sum / count as f64))
                .collect();
            (point.to_string(), means)
        })
        .collect()
}

/// `1..=5` for consecutive seeds, else the list.
pub fn seeds_label(seeds: &[u64]) -> String {
    match (seeds.first(), seeds.last()) {
        (Some(first), Some(last))
            if seeds.len() > 2 && seeds.windows(2).all(|pair| pair[1] == pair[0] + 1) =>
        {
            format!("{first}..={last}")
        }
        _ => seeds
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The library's scenario files in `dir`: every `*.json`, sorted by name.
pub fn library_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| {
        format!(
            "cannot read the library directory {}: {error}",
            dir.display()
        )
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.json scenarios in {}", dir.display()));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runner::metrics::RunMetrics;

    fn row(point: &str, seed: u64, duplicates: f64) -> SweepRow {
        SweepRow {
            point: point.to_string(),
            vary_args: Vec::new(),
            seed,
            passed: true,
            trace_hash: String::new(),
            metrics: RunMetrics(BTreeMap::from([("duplicates".to_string(), duplicates)])),
            failures: Vec::new(),
        }
    }

    /// Means are per point over its seeds; a false claim fails the study even when every run passed.
    #[test]
    fn a_study_fails_on_a_false_claim() {
        let rows = vec![
            row("a=1", 1, 2.0),
            row("a=1", 2, 4.0),
            row("a=2", 1, 0.0),
            row("a=2", 2, 1.0),
        ];
        let study = Study {
            question: "q".into(),
            finding: "{duplicates@a=1} then {duplicates@a=2} over {seeds}".into(),
            claims: vec![
                "duplicates@a=2 < duplicates@a=1".into(),
                "duplicates@a=2 == 0".into(),
            ],
            plots: Vec::new(),
        };
        let results = SweepResults::new("s", "s.json", "engine", None, rows);
        let run = StudyRun::new(
            "d",
            &study,
            &[1, 2],
            vec!["a=1".into(), "a=2".into()],
            results,
        );
        assert_eq!(run.finding, "3 then 0.5 over 1, 2");
        assert_eq!(run.failed_runs(), 0);
        assert!(run.claims[0].holds);
        assert!(!run.claims[1].holds);
        assert_eq!(run.claims[1].found, "0.5 == 0");
        assert!(!run.passed());
    }

    /// Consecutive seeds read as a range.
    #[test]
    fn labels_seed_ranges() {
        assert_eq!(seeds_label(&[1, 2, 3, 4, 5]), "1..=5");
        assert_eq!(seeds_label(&[1, 3, 7]), "1, 3, 7");
    }
}
