//! The scenario library's reports: per study a directory with `README.md` (the question, the finding
//! with its numbers, the claims, the plots as SVG files), a self-contained `study.html`, and the sweep's
//! own reports; and an index (`index.md`, `index.html`) linking every study. Wall-clock times are never
//! written here: the files must be byte-identical on every machine.

use std::fmt::Write;
use std::path::Path;

use serde_json::json;

use super::html::{page, table};
use super::svg::{bar_chart, escape};
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

/// One plot per metric of the study: its mean per point.
fn plots(run: &StudyRun) -> Vec<(String, String)> {
    let labels: Vec<String> = run.points.iter().map(|point| short_label(point)).collect();
    run.study
        .plots
        .iter()
        .map(|metric| {
            let values: Vec<f64> = run
                .points
                .iter()
                .map(|point| {
                    run.means
                        .get(point)
                        .and_then(|means| means.get(metric))
                        .copied()
                        .unwrap_or(0.0)
                })
                .collect();
            let title = format!(
                "{}: mean {metric} per point ({} seeds)",
                run.name, run.seeds
            );
            (
                metric.clone(),
                bar_chart(&title, &axis_label(run), &labels, &values),
            )
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
