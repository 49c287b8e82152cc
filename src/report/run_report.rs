//! The report of one run: `report.json` (every metric, the config, the seed, the trace hash, the
//! verdicts), `report.md`, a self-contained `report.html` with inline SVG, and `trace.jsonl`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::Path;

use serde_json::{json, Value};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent};

use super::html::{page, table};
use super::svg::{bar_chart, escape, line_chart, swimlanes, Series};
use super::timeline::{partitions_of, segments};
use crate::oracle::Verdict;
use crate::runner::{latencies_ms, RecordStates, RunOutcome};
use crate::scenario::Scenario;

/// Lanes drawn per swimlane chart at most (evenly sampled offsets beyond that).
const LANES_MAX: usize = 120;
/// Time buckets of the throughput and lag charts.
const BUCKETS: u64 = 60;

/// The command that replays this run.
pub fn replay_command(scenario_path: &str, outcome: &RunOutcome) -> String {
    format!(
        "sharesim replay {scenario_path} --seed {} --expect-hash {}",
        outcome.seed, outcome.trace_hash
    )
}

fn verdict_json(verdict: &Verdict) -> Value {
    match verdict {
        Verdict::Pass => json!({"verdict": "pass"}),
        Verdict::Fail(violation) => json!({
            "verdict": "fail",
            "seq": violation.seq,
            "at_ms": violation.at_ms,
            "offset": violation.offset,
            "member": violation.member.as_ref().map(ToString::to_string),
            "event_seqs": violation.event_seqs,
            "message": violation.message,
        }),
        Verdict::Undecided(why) => json!({"verdict": "undecided", "why": why}),
    }
}

/// `report.json` of a run.
pub fn run_json(outcome: &RunOutcome, scenario: &Scenario, scenario_path: &str) -> Value {
    let verdicts: Vec<Value> = outcome
        .oracle
        .verdicts
        .iter()
        .map(|(code, verdict)| {
            let mut value = verdict_json(verdict);
            value["invariant"] = json!(code);
            value
        })
        .collect();
    let conformance = outcome.conformance.as_ref().map(|report| {
        json!({
            "conforms": report.conforms(),
            "steps": report.steps,
            "stale_steps": report.stale_steps,
            "first_divergence": report.first_divergence.as_ref().map(ToString::to_string),
        })
    });
    json!({
        "kind": "run",
        "scenario": outcome.scenario_name,
        "scenario_file": scenario_path,
        "description": scenario.description,
        "profile": scenario.profile.name(),
        "backend": outcome.facts.backend,
        "seed": outcome.seed,
        "trace_hash": outcome.trace_hash.to_string(),
        "trace_records": outcome.records.len(),
        "passed": outcome.passed(),
        "replay": replay_command(scenario_path, outcome),
        "metrics": outcome.metrics.0,
        "verdicts": verdicts,
        "conformance": conformance,
        "expectations": outcome.expectations,
        "faults_applied": outcome.facts.faults_applied,
        "faults_skipped": outcome.facts.faults_skipped,
        "notes": outcome.facts.notes,
        "virtual_end_ms": outcome.facts.end_ms,
        "liveness_started_ms": outcome.facts.liveness_started_ms,
        "drained_at_ms": outcome.facts.drained_at_ms,
        "config": scenario,
    })
}

fn verdict_word(verdict: &Verdict) -> String {
    match verdict {
        Verdict::Pass => "pass".to_string(),
        Verdict::Fail(violation) => format!("FAIL: {violation}"),
        Verdict::Undecided(why) => format!("undecided ({why})"),
    }
}

/// `report.md` of a run.
pub fn run_markdown(outcome: &RunOutcome, scenario_path: &str) -> String {
    let mut md = String::new();
    let _ = writeln!(md, "# {} — seed {}\n", outcome.scenario_name, outcome.seed);
    let _ = writeln!(
        md,
        "**{}** · backend `{}` · trace hash `{}` · {} trace records\n",
        if outcome.passed() { "PASSED" } else { "FAILED" },
        outcome.facts.backend,
        outcome.trace_hash,
        outcome.records.len()
    );
    let _ = writeln!(md, "Replay: `{}`\n", replay_command(scenario_path, outcome));
    let _ = writeln!(md, "## Invariants\n\n| invariant | verdict |\n|---|---|");
    for (code, verdict) in &outcome.oracle.verdicts {
        let _ = writeln!(
            md,
            "| {code} | {} |",
            verdict_word(verdict).replace('|', "\\|")
        );
    }
    if let Some(conformance) = &outcome.conformance {
        let _ = writeln!(
            md,
            "\nConformance to the spec's step relation: {} ({} steps).",
            match &conformance.first_divergence {
                None => "every step allowed".to_string(),
                Some(divergence) => format!("first step not allowed: {divergence}"),
            },
            conformance.steps
        );
    }
    let _ = writeln!(
        md,
        "\n## Expectations\n\n| expectation | met | found |\n|---|---|---|"
    );
    for result in &outcome.expectations {
        let _ = writeln!(
            md,
            "| {} | {} | {} |",
            result.expectation,
            if result.met { "yes" } else { "**no**" },
            result.found.replace('|', "\\|")
        );
    }
    let _ = writeln!(md, "\n## Metrics\n\n| metric | value |\n|---|---|");
    for (name, value) in &outcome.metrics.0 {
        let _ = writeln!(md, "| {name} | {value} |");
    }
    if !outcome.facts.faults_applied.is_empty() || !outcome.facts.faults_skipped.is_empty() {
        let _ = writeln!(md, "\n## Faults\n");
        for fault in &outcome.facts.faults_applied {
            let _ = writeln!(
                md,
                "- {} ms `{}`: {}",
                fault.at_ms, fault.kind, fault.detail
            );
        }
        for fault in &outcome.facts.faults_skipped {
            let _ = writeln!(
                md,
                "- {} ms `{}` skipped: {}",
                fault.at_ms, fault.kind, fault.detail
            );
        }
    }
    if !outcome.facts.notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for note in &outcome.facts.notes {
            let _ = writeln!(md, "- {note}");
        }
    }
    md
}

/// Per time bucket: records produced, records terminal, and the lag (produced but not yet terminal).
fn time_series(outcome: &RunOutcome, states: &RecordStates) -> (Vec<Series>, Vec<Series>) {
    let end_ms = outcome.facts.end_ms.max(1);
    let bucket_ms = end_ms.div_ceil(BUCKETS).max(1);
    let buckets = end_ms.div_ceil(bucket_ms) as usize + 1;
    let mut produced = vec![0u64; buckets];
    for partition in &outcome.facts.produced {
        for at_ms in &partition.produced_at_ms {
            produced[(*at_ms / bucket_ms) as usize] += 1;
        }
    }
    let mut terminal = vec![0u64; buckets];
    for at_ms in states.terminal_at_ms.values() {
        terminal[((*at_ms / bucket_ms) as usize).min(buckets - 1)] += 1;
    }
    let mut delivered = vec![0u64; buckets];
    for record in &outcome.records {
        if let TraceEvent::ShareConsumer {
            event: ShareConsumerEvent::RecordDelivered { .. },
            ..
        } = &record.event
        {
            delivered[((record.at_ms / bucket_ms) as usize).min(buckets - 1)] += 1;
        }
    }
    let per_second = 1000.0 / bucket_ms as f64;
    let points = |counts: &[u64]| -> Vec<(f64, f64)> {
        counts
            .iter()
            .enumerate()
            .map(|(i, c)| ((i as u64 * bucket_ms) as f64, *c as f64 * per_second))
            .collect()
    };
    let throughput = vec![
        Series {
            name: "produced/s".into(),
            color: "#2563eb",
            points: points(&produced),
        },
        Series {
            name: "delivered/s".into(),
            color: "#f59e0b",
            points: points(&delivered),
        },
        Series {
            name: "terminal/s".into(),
            color: "#16a34a",
            points: points(&terminal),
        },
    ];
    let (mut cumulative_produced, mut cumulative_terminal) = (0i64, 0i64);
    let lag = produced
        .iter()
        .zip(&terminal)
        .enumerate()
        .map(|(i, (p, t))| {
            cumulative_produced += *p as i64;
            cumulative_terminal += *t as i64;
            let lag = (cumulative_produced - cumulative_terminal).max(0);
            ((i as u64 * bucket_ms) as f64, lag as f64)
        })
        .collect();
    let lag = vec![Series {
        name: "records not yet terminal".into(),
        color: "#dc2626",
        points: lag,
    }];
    (throughput, lag)
}

/// `report.html` of a run: self-contained, inline SVG.
pub fn run_html(outcome: &RunOutcome, scenario_path: &str) -> String {
    let states = RecordStates::of(&outcome.records);
    let end_ms = outcome.facts.end_ms;
    let faults: Vec<(u64, String)> = outcome
        .facts
        .faults_applied
        .iter()
        .map(|fault| (fault.at_ms, format!("{}: {}", fault.kind, fault.detail)))
        .collect();
    let mut body = String::new();
    let status = if outcome.passed() { "passed" } else { "failed" };
    let _ = write!(
        body,
        r#"<h1>{} — seed {}</h1><p class="status {status}">{}</p><p>Backend <code>{}</code> · trace hash <code>{}</code> · {} trace records · replay: <code>{}</code></p>"#,
        escape(&outcome.scenario_name),
        outcome.seed,
        status.to_uppercase(),
        escape(&outcome.facts.backend),
        outcome.trace_hash,
        outcome.records.len(),
        escape(&replay_command(scenario_path, outcome))
    );
    let summary: Vec<Vec<String>> = [
        "records_produced",
        "records_consumed",
        "deliveries",
        "duplicates",
        "redeliveries",
        "acknowledged",
        "archived",
        "lock_expiries",
        "p50_latency_ms",
        "p99_latency_ms",
    ]
    .iter()
    .map(|name| {
        vec![
            name.to_string(),
            outcome
                .metrics
                .get(name)
                .map_or("—".to_string(), |v| v.to_string()),
        ]
    })
    .collect();
    body.push_str("<h2>Summary</h2>");
    body.push_str(&table(&["metric", "value"], &summary));
    let verdicts: Vec<Vec<String>> = outcome
        .oracle
        .verdicts
        .iter()
        .map(|(code, verdict)| vec![code.to_string(), verdict_word(verdict)])
        .collect();
    body.push_str("<h2>Invariants</h2>");
    body.push_str(&table(&["invariant", "verdict"], &verdicts));
    if let Some(conformance) = &outcome.conformance {
        let _ = write!(
            body,
            "<p>Conformance to the spec's step relation: {} ({} steps).</p>",
            escape(&match &conformance.first_divergence {
                None => "every step allowed".to_string(),
                Some(divergence) => format!("first step not allowed: {divergence}"),
            }),
            conformance.steps
        );
    }
    body.push_str("<h2>Record states over time</h2>");
    for partition in partitions_of(&outcome.records).iter().take(4) {
        let lanes = segments(&outcome.records, partition, end_ms);
        let step = lanes.len().div_ceil(LANES_MAX).max(1);
        let drawn: Vec<(String, Vec<_>)> = lanes
            .into_iter()
            .enumerate()
            .filter(|(index, _)| index % step == 0)
            .map(|(_, (offset, lane))| (offset.to_string(), lane))
            .collect();
        let title = format!(
            "{} p{} · {} offsets{}",
            partition.0,
            partition.2,
            drawn.len(),
            if step > 1 {
                format!(", every {step}th")
            } else {
                String::new()
            }
        );
        body.push_str(&swimlanes(&title, end_ms, &drawn, &faults));
    }
    let mut histogram: BTreeMap<u16, u64> = BTreeMap::new();
    for count in states.delivery_counts.values() {
        *histogram.entry(*count).or_insert(0) += 1;
    }
    let labels: Vec<String> = histogram.keys().map(ToString::to_string).collect();
    let values: Vec<f64> = histogram.values().map(|v| *v as f64).collect();
    body.push_str("<h2>Delivery counts</h2>");
    body.push_str(&bar_chart(
        "records by final delivery count",
        "delivery count",
        &labels,
        &values,
    ));
    let latencies = latencies_ms(&states, &outcome.facts);
    let mut buckets: BTreeMap<u32, u64> = BTreeMap::new();
    for latency in &latencies {
        let bucket = 64 - latency.leading_zeros();
        *buckets.entry(bucket).or_insert(0) += 1;
    }
    let labels: Vec<String> = buckets
        .keys()
        .map(|b| match b {
            0 => "0".to_string(),
            b => format!("<{}", 1u64 << b),
        })
        .collect();
    let values: Vec<f64> = buckets.values().map(|v| *v as f64).collect();
    body.push_str("<h2>End-to-end latency</h2>");
    body.push_str(&bar_chart(
        "records by latency from production to terminal state",
        "latency (ms, power-of-two buckets)",
        &labels,
        &values,
    ));
    let (throughput, lag) = time_series(outcome, &states);
    body.push_str("<h2>Throughput</h2>");
    body.push_str(&line_chart(
        "records per second",
        end_ms,
        &throughput,
        &faults,
    ));
    body.push_str("<h2>Consumer lag</h2>");
    body.push_str(&line_chart(
        "records produced but not yet terminal",
        end_ms,
        &lag,
        &faults,
    ));
    let fault_rows: Vec<Vec<String>> = outcome
        .facts
        .faults_applied
        .iter()
        .map(|f| vec![f.at_ms.to_string(), f.kind.clone(), f.detail.clone()])
        .chain(outcome.facts.faults_skipped.iter().map(|f| {
            vec![
                f.at_ms.to_string(),
                f.kind.clone(),
                format!("skipped: {}", f.detail),
            ]
        }))
        .collect();
    if !fault_rows.is_empty() {
        body.push_str("<h2>Faults</h2>");
        body.push_str(&table(&["at ms", "kind", "what"], &fault_rows));
    }
    let expectations: Vec<Vec<String>> = outcome
        .expectations
        .iter()
        .map(|r| {
            vec![
                r.expectation.clone(),
                if r.met { "yes" } else { "NO" }.to_string(),
                r.found.clone(),
            ]
        })
        .collect();
    body.push_str("<h2>Expectations</h2>");
    body.push_str(&table(&["expectation", "met", "found"], &expectations));
    let metrics: Vec<Vec<String>> = outcome
        .metrics
        .0
        .iter()
        .map(|(name, value)| vec![name.clone(), value.to_string()])
        .collect();
    body.push_str("<h2>All metrics</h2>");
    body.push_str(&table(&["metric", "value"], &metrics));
    page(
        &format!("sharesim: {} seed {}", outcome.scenario_name, outcome.seed),
        &body,
    )
}

/// Writes `report.json`, `report.md`, `report.html` and `trace.jsonl` into `dir`.
pub fn write_run_report(
    dir: &Path,
    outcome: &RunOutcome,
    scenario: &Scenario,
    scenario_path: &str,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = run_json(outcome, scenario, scenario_path);
    let text = serde_json::to_string_pretty(&json).map_err(std::io::Error::other)?;
    std::fs::write(dir.join("report.json"), text + "\n")?;
    std::fs::write(dir.join("report.md"), run_markdown(outcome, scenario_path))?;
    std::fs::write(dir.join("report.html"), run_html(outcome, scenario_path))?;
    std::fs::write(dir.join("trace.jsonl"), &outcome.trace_text)?;
    Ok(())
}
