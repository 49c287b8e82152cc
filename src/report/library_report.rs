//! The scenario library's reports: per study a directory with `README.md` (the question, the finding
//! with its numbers, the claims, the plots as SVG files), a self-contained `study.html`, and the sweep's
//! own reports; and an index (`index.md`, `index.html`) linking every study. Wall-clock times are never
//! written here: the files must be byte-identical on every machine.

use std::fmt::Write;
use std::path::Path;

use serde_json::json;

use super::html::{page, table};
use super::svg::{bar_chart, escape, heat_map};
use super::sweep_report::write_sweep_report;
use crate::runner::StudyRun;

/// A point label shortened for a chart axis: the values only (`1000`, `4.2 · 8`).
fn short_label(point: &str) -> String {
    if point == "default" {
        return point.to_string();
    }
    point
        .split(' ')
        .map(|part| {
            let value = part.rsplit_once('=').map_or(part, |(_, value)| value);
            value
                .trim_matches('"')
                .trim_start_matches("kafka-")
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The swept keys, for a chart's axis label.
fn axis_label(run: &StudyRun) -> String {
    let keys: Vec<&str> = run.results.rows.first().map_or(Vec::new(), |row| {
        row.vary_args
            .iter()
            .map(|arg| arg.split_once('=').map_or(arg.as_str(), |(key, _)| key))
            .collect()
    });
    if keys.is_empty() {
        "point".to_string()
    } else {
        keys.join(" · ")
    }
}

/// A two-key sweep laid out as a grid: the first key's values down, the second's across, and the point
/// label at each cell (`None` where no run had those values).
struct SweepGrid {
    keys: (String, String),
    rows: Vec<String>,
    columns: Vec<String>,
    points: Vec<Vec<Option<String>>>,
}

fn sweep_grid(run: &StudyRun) -> Option<SweepGrid> {
    let split = |arg: &str| {
        arg.split_once('=')
            .map(|(key, value)| (key.to_string(), value.trim_matches('"').to_string()))
    };
    let mut keys = None;
    let mut cells: Vec<(String, String, String)> = Vec::new();
    for row in &run.results.rows {
        let [first, second] = row.vary_args.as_slice() else {
            return None;
        };
        let ((first_key, row_value), (second_key, column_value)) = (split(first)?, split(second)?);
        keys.get_or_insert((first_key, second_key));
        cells.push((row_value, column_value, row.point.clone()));
    }
    let mut rows: Vec<String> = Vec::new();
    let mut columns: Vec<String> = Vec::new();
    for (row_value, column_value, _) in &cells {
        if !rows.contains(row_value) {
            rows.push(row_value.clone());
        }
        if !columns.contains(column_value) {
            columns.push(column_value.clone());
        }
    }
    let points = rows
        .iter()
        .map(|row_value| {
            columns
                .iter()
                .map(|column_value| {
                    cells
                        .iter()
                        .find(|(r, c, _)| r == row_value && c == column_value)
                        .map(|(_, _, point)| point.clone())
                })
                .collect()
        })
        .collect();
    Some(SweepGrid {
        keys: keys?,
        rows,
        columns,
        points,
    })
}

/// One plot per metric of the study: its mean per point, as bars; a sweep over two keys is drawn as a
/// heat map instead, so that both axes can be read at once.
fn plots(run: &StudyRun) -> Vec<(String, String)> {
    let mean = |point: &str, metric: &str| {
        run.means
            .get(point)
            .and_then(|means| means.get(metric))
            .copied()
    };
    let grid = sweep_grid(run);
    let labels: Vec<String> = run.points.iter().map(|point| short_label(point)).collect();
    run.study
        .plots
        .iter()
        .map(|metric| {
            let title = format!(
                "{}: mean {metric} per point ({} seeds)",
                run.name, run.seeds
            );
            let svg = match &grid {
                Some(grid) => {
                    let cells: Vec<Vec<Option<f64>>> = grid
                        .points
                        .iter()
                        .map(|row| {
                            row.iter()
                                .map(|point| point.as_deref().and_then(|p| mean(p, metric)))
                                .collect()
                        })
                        .collect();
                    heat_map(
                        &title,
                        (grid.keys.1.as_str(), grid.keys.0.as_str()),
                        &grid.columns,
                        &grid.rows,
                        &cells,
                    )
                }
                None => {
                    let values: Vec<f64> = run
                        .points
                        .iter()
                        .map(|point| mean(point, metric).unwrap_or(0.0))
                        .collect();
                    bar_chart(&title, &axis_label(run), &labels, &values)
                }
            };
            (metric.clone(), svg)
        })
        .collect()
}

fn verdict(run: &StudyRun) -> &'static str {
    if run.passed() {
        "PASSED"
    } else {
        "FAILED"
    }
}

fn claim_rows(run: &StudyRun) -> Vec<Vec<String>> {
    run.claims
        .iter()
        .map(|claim| {
            vec![
                claim.claim.clone(),
                if claim.holds { "yes" } else { "NO" }.to_string(),
                claim.found.clone(),
            ]
        })
        .collect()
}

/// Writes one study's directory.
pub fn write_study_report(dir: &Path, run: &StudyRun, scenario_file: &str) -> std::io::Result<()> {
    write_sweep_report(dir, &run.results)?;
    let plots = plots(run);
    let mut md = format!("# {}: {}\n\n", run.name, run.study.question);
    let _ = writeln!(
        md,
        "**{}** · {} points × seeds {} = {} runs, {} failed · claims {}/{} hold · backend `{}`\n",
        verdict(run),
        run.points.len(),
        run.seeds,
        run.results.rows.len(),
        run.failed_runs(),
        run.claims.len() - run.failed_claims(),
        run.claims.len(),
        run.results.backend
    );
    let _ = writeln!(md, "**Finding.** {}\n", run.finding);
    let _ = writeln!(md, "**Setup.** {}\n", run.description);
    if !run.claims.is_empty() {
        let _ = writeln!(md, "| claim | holds | found |\n|---|---|---|");
        for row in claim_rows(run) {
            let _ = writeln!(md, "| `{}` | {} | {} |", row[0], row[1], row[2]);
        }
        md.push('\n');
    }
    for (metric, svg) in &plots {
        std::fs::write(dir.join(format!("{metric}.svg")), svg)?;
        let _ = writeln!(md, "![mean {metric} per point]({metric}.svg)\n");
    }
    let _ = writeln!(
        md,
        "Every point and failing seed: [report.md](report.md) · scenario: `{scenario_file}` · \
         rerun: `sharesim library --only {}`",
        run.name
    );
    std::fs::write(dir.join("README.md"), md)?;

    let mut body = format!(
        "<h1>{}: {}</h1><p class=\"status {}\">{}</p><p><b>Finding.</b> {}</p><p><b>Setup.</b> {}</p>",
        escape(&run.name),
        escape(&run.study.question),
        verdict(run).to_lowercase(),
        verdict(run),
        escape(&run.finding),
        escape(&run.description)
    );
    if !run.claims.is_empty() {
        body.push_str("<h2>Claims</h2>");
        body.push_str(&table(&["claim", "holds", "found"], &claim_rows(run)));
    }
    for (_, svg) in &plots {
        body.push_str(svg);
    }
    let _ = write!(
        body,
        "<p>Every point and failing seed: <a href=\"report.html\">the sweep report</a> · scenario \
         <code>{}</code></p>",
        escape(scenario_file)
    );
    std::fs::write(
        dir.join("study.html"),
        page(&format!("sharesim study: {}", run.name), &body),
    )?;
    let study = json!({
        "kind": "study",
        "name": run.name,
        "scenario_file": scenario_file,
        "question": run.study.question,
        "finding": run.finding,
        "seeds": run.seeds,
        "runs": run.results.rows.len(),
        "failed_runs": run.failed_runs(),
        "claims": run.claims,
        "means": run.means,
        "passed": run.passed(),
    });
    let text = serde_json::to_string_pretty(&study).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("study.json"), text + "\n")
}

/// Writes `index.md` and `index.html` over every study (by directory name).
pub fn write_library_index(dir: &Path, runs: &[(String, &StudyRun)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let total_runs: usize = runs.iter().map(|(_, run)| run.results.rows.len()).sum();
    let failed = runs.iter().filter(|(_, run)| !run.passed()).count();
    let mut md = format!(
        "# The sharesim scenario library\n\n{} studies, {} runs, {} studies failing. Each study is a \
         scenario in `scenarios/library/` run on its fixed seeds; its finding is regenerated from the \
         numbers on every run, its claims are checked by `cargo test` (`tests/scenario_library.rs`). \
         Regenerate with `sharesim library` (or `SHARESIM_BLESS=1 cargo test --test scenario_library`).\n\n",
        runs.len(),
        total_runs,
        failed
    );
    let _ = writeln!(
        md,
        "| study | question | finding | runs | verdict |\n|---|---|---|---|---|"
    );
    let mut rows = Vec::new();
    for (directory, run) in runs {
        let _ = writeln!(
            md,
            "| [{}]({directory}/README.md) | {} | {} | {} | {} |",
            run.name,
            run.study.question,
            run.finding.replace('|', "\\|"),
            run.results.rows.len(),
            verdict(run)
        );
        rows.push((directory, run));
    }
    std::fs::write(dir.join("index.md"), md)?;
    let mut body = format!(
        "<h1>The sharesim scenario library</h1><p>{} studies, {} runs, {} studies failing.</p>\
         <table><tr><th>study</th><th>question</th><th>finding</th><th>runs</th><th>verdict</th></tr>",
        runs.len(),
        total_runs,
        failed
    );
    for (directory, run) in rows {
        let _ = write!(
            body,
            "<tr><td><a href=\"{}/study.html\">{}</a></td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"status {}\">{}</td></tr>",
            escape(directory),
            escape(&run.name),
            escape(&run.study.question),
            escape(&run.finding),
            run.results.rows.len(),
            verdict(run).to_lowercase(),
            verdict(run)
        );
    }
    body.push_str("</table>");
    std::fs::write(
        dir.join("index.html"),
        page("sharesim scenario library", &body),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Chart labels keep only the values.
    #[test]
    fn shortens_point_labels() {
        assert_eq!(
            short_label(r#"groups.w.configs."share.record.lock.duration.ms"=1000"#),
            "1000"
        );
        assert_eq!(
            short_label(r#"profile="kafka-4.2" consumers[0].count=8"#),
            "4.2 · 8"
        );
        assert_eq!(short_label("default"), "default");
    }
}
