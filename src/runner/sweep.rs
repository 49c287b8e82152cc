//! Sweeps: every (parameter point, seed) job of a scenario, optionally one shard `K/N` of them, run on
//! `jobs` threads (each job is its own simulation, so threads never share a run), with one result row
//! per job. Rows are what `merge` joins across shards.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::metrics::RunMetrics;
use super::run::{run_scenario, RunOptions};
pub use crate::scenario::sweep::point_label;
use crate::scenario::Scenario;

/// One point of the parameter space: the values it sets, and the scenario they give.
#[derive(Clone, Debug)]
pub struct SweepPoint {
    /// A label such as `consumers[0].count=4` (`default` when nothing varies).
    pub label: String,
    /// The `--vary`/sweep arguments that reproduce it, e.g. `--vary 'consumers[0].count=4'`.
    pub vary_args: Vec<String>,
    /// The scenario at this point.
    pub scenario: Scenario,
}

/// A shard of the job list: jobs `i` with `i % count == index - 1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based.
    pub index: u32,
    /// Number of shards.
    pub count: u32,
}

impl std::str::FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || format!("invalid shard `{text}`: expected K/N with 1 <= K <= N, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = index.trim().parse().map_err(|_| bad())?;
        let count: u32 = count.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The result of one job.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// The point's label.
    pub point: String,
    /// The `--vary` arguments of the point.
    pub vary_args: Vec<String>,
    /// The seed.
    pub seed: u64,
    /// Whether the run passed.
    pub passed: bool,
    /// The trace hash (16 hex digits), or empty when the run could not start.
    pub trace_hash: String,
    /// The run's metrics.
    pub metrics: RunMetrics,
    /// Why it failed: unmet expectations, the first nonconforming step, or the run error.
    pub failures: Vec<String>,
}

/// Every job of `points` × `seeds` in a fixed order (point-major), filtered to `shard`.
pub fn jobs(points: usize, seeds: &[u64], shard: Option<Shard>) -> Vec<(usize, u64)> {
    let all = (0..points).flat_map(|point| seeds.iter().map(move |seed| (point, *seed)));
    all.enumerate()
        .filter(|(index, _)| {
            shard.is_none_or(|s| *index as u64 % u64::from(s.count) == u64::from(s.index - 1))
        })
        .map(|(_, job)| job)
        .collect()
}

/// Runs `jobs` on `threads` threads; `progress(done, total, failed)` is called after each job.
pub fn run_jobs(
    backend: &dyn Backend,
    points: &[SweepPoint],
    jobs: &[(usize, u64)],
    threads: usize,
    options: RunOptions,
    progress: &(dyn Fn(usize, usize, usize) + Sync),
) -> Vec<SweepRow> {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let failed = AtomicUsize::new(0);
    let rows: Mutex<Vec<(usize, SweepRow)>> = Mutex::new(Vec::with_capacity(jobs.len()));
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1).min(jobs.len().max(1)) {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                let Some(&(point, seed)) = jobs.get(index) else {
                    break;
                };
                let row = run_one(backend, &points[point], seed, options);
                if !row.passed {
                    failed.fetch_add(1, Ordering::SeqCst);
                }
                rows.lock()
                    .expect("no thread panics holding it")
                    .push((index, row));
                let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                progress(finished, jobs.len(), failed.load(Ordering::SeqCst));
            });
        }
    });
    let mut rows = rows.into_inner().expect("threads joined");
    rows.sort_by_key(|(index, _)| *index);
    rows.into_iter().map(|(_, row)| row).collect()
}

fn run_one(backend: &dyn Backend, point: &SweepPoint, seed: u64, options: RunOptions) -> SweepRow {
    let mut row = SweepRow {
        point: point.label.clone(),
        vary_args: point.vary_args.clone(),
        seed,
        passed: false,
        trace_hash: String::new(),
        metrics: RunMetrics::default(),
        failures: Vec::new(),
    };
    match run_scenario(backend, &point.scenario, seed, options) {
        Ok(outcome) => {
            row.passed = outcome.passed();
            row.trace_hash = outcome.trace_hash.to_string();
            row.failures = outcome
                .expectations
                .iter()
                .filter(|result| !result.met)
                .map(|result| format!("{}: {}", result.expectation, result.found))
                .collect();
            if let Some(divergence) = outcome
                .conformance
                .as_ref()
                .and_then(|c| c.first_divergence.as_ref())
            {
                row.failures.push(format!("conformance: {divergence}"));
            }
            row.metrics = outcome.metrics;
        }
        Err(error) => row.failures.push(format!("run error: {error}")),
    }
    row
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shards partition the job list: disjoint, and together everything.
    #[test]
    fn shards_partition_the_jobs() {
        let seeds: Vec<u64> = (1..=10).collect();
        let all = jobs(3, &seeds, None);
        assert_eq!(all.len(), 30);
        let mut joined: Vec<(usize, u64)> = (1..=4)
            .flat_map(|index| jobs(3, &seeds, Some(Shard { index, count: 4 })))
            .collect();
        joined.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(joined, expected);
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        for bad in ["0/4", "5/4", "x", "1/0", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
