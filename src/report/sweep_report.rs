//! The report of a sweep (or of merged shards): a table of metrics per parameter point, every failing
//! seed with the command that replays it, as `results.json` (the rows `merge` joins), `report.json`,
//! `report.md` and a self-contained `report.html`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use super::html::{page, table};
use super::svg::{bar_chart, escape, format_number};
use crate::runner::{Shard, SweepRow};

/// Metrics shown per point (mean over seeds).
pub const TABLE_METRICS: &[&str] = &[
    "deliveries",
    "duplicates",
    "redeliveries",
    "archived",
    "lock_expiries",
    "max_delivery_count",
    "p50_latency_ms",
    "p99_latency_ms",
    "time_to_drain_ms",
];

/// What a sweep (or a shard of it) wrote: the file `merge` reads.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SweepResults {
    /// Always `sweep-results`.
    pub kind: String,
    /// The scenario's name.
    pub scenario: String,
    /// The scenario file as given on the command line (used in replay commands).
    pub scenario_file: String,
    /// The backend.
    pub backend: String,
    /// The shard this file holds, if one.
    pub shard: Option<Shard>,
    /// One row per job.
    pub rows: Vec<SweepRow>,
}

impl SweepResults {
    /// Results of a sweep.
    pub fn new(
        scenario: &str,
        scenario_file: &str,
        backend: &str,
        shard: Option<Shard>,
        rows: Vec<SweepRow>,
    ) -> Self {
        SweepResults {
            kind: "sweep-results".to_string(),
            scenario: scenario.to_string(),
            scenario_file: scenario_file.to_string(),
            backend: backend.to_string(),
            shard,
            rows,
        }
    }

    /// Joins shards of one sweep; rows of the same (point, seed) are kept once.
    pub fn merge(parts: Vec<SweepResults>) -> Result<SweepResults, String> {
        let mut parts = parts.into_iter();
        let mut merged = parts.next().ok_or("nothing to merge")?;
        merged.shard = None;
        for part in parts {
            if part.scenario_file != merged.scenario_file || part.scenario != merged.scenario {
                return Err(format!(
                    "cannot merge results of `{}` ({}) with `{}` ({})",
                    part.scenario, part.scenario_file, merged.scenario, merged.scenario_file
                ));
            }
            merged.rows.extend(part.rows);
        }
        let mut seen = std::collections::BTreeSet::new();
        merged
            .rows
            .retain(|row| seen.insert((row.point.clone(), row.seed)));
        merged
            .rows
            .sort_by(|a, b| (a.point.as_str(), a.seed).cmp(&(b.point.as_str(), b.seed)));
        Ok(merged)
    }

    /// The command that replays one row.
    pub fn replay_command(&self, row: &SweepRow) -> String {
        let mut command = format!("sharesim replay {} --seed {}", self.scenario_file, row.seed);
        for vary in &row.vary_args {
            let _ = write!(command, " --vary '{vary}'");
        }
        if !row.trace_hash.is_empty() {
            let _ = write!(command, " --expect-hash {}", row.trace_hash);
        }
        command
    }
}

/// Per-point aggregates.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PointSummary {
    /// The point's label.
    pub point: String,
    /// Runs.
    pub runs: usize,
    /// Passed runs.
    pub passed: usize,
    /// Mean of each table metric over the runs that measured it.
    pub means: BTreeMap<String, f64>,
}

/// Aggregates per point, in first-seen order.
pub fn summarize(rows: &[SweepRow]) -> Vec<PointSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&SweepRow>> = BTreeMap::new();
    for row in rows {
        if !groups.contains_key(&row.point) {
            order.push(row.point.clone());
        }
        groups.entry(row.point.clone()).or_default().push(row);
    }
    order
        .into_iter()
        .map(|point| {
            let rows = &groups[&point];
            let mut means = BTreeMap::new();
            for metric in TABLE_METRICS {
                let values: Vec<f64> = rows.iter().filter_map(|r| r.metrics.get(metric)).collect();
                if !values.is_empty() {
                    means.insert(
                        metric.to_string(),
                        values.iter().sum::<f64>() / values.len() as f64,
                    );
                }
            }
            PointSummary {
                point,
                runs: rows.len(),
                passed: rows.iter().filter(|r| r.passed).count(),
                means,
            }
        })
        .collect()
}

fn summary_rows(summaries: &[PointSummary]) -> Vec<Vec<String>> {
    summaries
        .iter()
        .map(|summary| {
            let mut row = vec![
                summary.point.clone(),
                summary.runs.to_string(),
                (summary.runs - summary.passed).to_string(),
            ];
            for metric in TABLE_METRICS {
                row.push(summary.means.get(*metric).map_or("—".to_string(), |v| {
                    format_number((v * 10.0).round() / 10.0)
                }));
            }
            row
        })
        .collect()
}

fn header() -> Vec<&'static str> {
    let mut header = vec!["point", "runs", "failed"];
    header.extend(TABLE_METRICS.iter().copied());
    header
}

/// The summary table as aligned text for the terminal.
pub fn summary_text(results: &SweepResults) -> String {
    let rows = summary_rows(&summarize(&results.rows));
    let header = header();
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut text = String::new();
    let line = |cells: Vec<String>, text: &mut String| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(text, "{}", padded.join("  ").trim_end());
    };
    line(header.iter().map(|h| h.to_string()).collect(), &mut text);
    for row in rows {
        line(row, &mut text);
    }
    text
}

/// The failing rows with their replay commands.
pub fn failures_text(results: &SweepResults) -> String {
    let mut text = String::new();
    for row in results.rows.iter().filter(|row| !row.passed) {
        let _ = writeln!(
            text,
            "FAIL seed {} [{}]: {}\n  replay: {}",
            row.seed,
            row.point,
            row.failures.first().map_or("", String::as_str),
            results.replay_command(row)
        );
    }
    text
}

/// Writes `results.json`, `report.json`, `report.md` and `report.html` into `dir`.
pub fn write_sweep_report(dir: &Path, results: &SweepResults) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let text = serde_json::to_string_pretty(results).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("results.json"), text + "\n")?;
    let summaries = summarize(&results.rows);
    let failing: Vec<_> = results
        .rows
        .iter()
        .filter(|row| !row.passed)
        .map(|row| {
            json!({"seed": row.seed, "point": row.point, "failures": row.failures,
                   "replay": results.replay_command(row)})
        })
        .collect();
    let report = json!({
        "kind": "sweep",
        "scenario": results.scenario,
        "scenario_file": results.scenario_file,
        "backend": results.backend,
        "shard": results.shard,
        "runs": results.rows.len(),
        "failed": failing.len(),
        "points": summaries,
        "failing": failing,
    });
    let text = serde_json::to_string_pretty(&report).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), text + "\n")?;
    let mut md = format!(
        "# Sweep of {} ({} runs, {} failed)\n\n",
        results.scenario,
        results.rows.len(),
        failing.len()
    );
    let header = header();
    let _ = writeln!(md, "| {} |", header.join(" | "));
    let _ = writeln!(md, "|{}", "---|".repeat(header.len()));
    for row in summary_rows(&summaries) {
        let _ = writeln!(md, "| {} |", row.join(" | "));
    }
    if !failing.is_empty() {
        let _ = writeln!(md, "\n## Failing seeds\n");
        for row in results.rows.iter().filter(|row| !row.passed) {
            let _ = writeln!(
                md,
                "- seed {} [{}]: {}\n  `{}`",
                row.seed,
                row.point,
                row.failures.join("; "),
                results.replay_command(row)
            );
        }
    }
    std::fs::write(dir.join("report.md"), md)?;
    let mut body = format!(
        "<h1>Sweep of {}</h1><p>{} runs, {} failed · backend <code>{}</code></p>",
        escape(&results.scenario),
        results.rows.len(),
        failing.len(),
        escape(&results.backend)
    );
    body.push_str(&table(&header, &summary_rows(&summaries)));
    for metric in ["duplicates", "redeliveries", "p99_latency_ms"] {
        let labels: Vec<String> = summaries.iter().map(|s| s.point.clone()).collect();
        let values: Vec<f64> = summaries
            .iter()
            .map(|s| s.means.get(metric).copied().unwrap_or(0.0))
            .collect();
        body.push_str(&bar_chart(
            &format!("mean {metric} per point"),
            "point",
            &labels,
            &values,
        ));
    }
    if !failing.is_empty() {
        body.push_str("<h2>Failing seeds</h2>");
        let rows: Vec<Vec<String>> = results
            .rows
            .iter()
            .filter(|row| !row.passed)
            .map(|row| {
                vec![
                    row.seed.to_string(),
                    row.point.clone(),
                    row.failures.join("; "),
                    results.replay_command(row),
                ]
            })
            .collect();
        body.push_str(&table(&["seed", "point", "why", "replay"], &rows));
    }
    std::fs::write(
        dir.join("report.html"),
        page(&format!("sharesim sweep: {}", results.scenario), &body),
    )?;
    Ok(())
}
