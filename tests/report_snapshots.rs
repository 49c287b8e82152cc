//! insta snapshots pin the report of a few canonical seeds: trace hash, record count, metrics,
//! verdicts, conformance and faults. A change in any engine, the runner or the oracle shows up here as a
//! reviewed diff (`cargo insta review`, or `INSTA_UPDATE=always cargo test --test report_snapshots`).

use std::path::Path;

use serde_json::{json, Value};
use sharesim::report::run_json;
use sharesim::runner::{run_scenario, EngineBackend, RunOptions};
use sharesim::scenario::load_scenario;

fn summary(file: &str, seed: u64) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(file);
    let scenario = load_scenario(&path).unwrap().scenario;
    let outcome = run_scenario(&EngineBackend, &scenario, seed, RunOptions::default()).unwrap();
    let report = run_json(&outcome, &scenario, &format!("scenarios/{file}"));
    json!({
        "scenario": report["scenario"],
        "seed": report["seed"],
        "trace_hash": report["trace_hash"],
        "trace_records": report["trace_records"],
        "passed": report["passed"],
        "metrics": report["metrics"],
        "verdicts": report["verdicts"],
        "conformance": report["conformance"],
        "faults_applied": report["faults_applied"],
        "faults_skipped": report["faults_skipped"],
    })
}

#[test]
fn quickstart_seed_1() {
    insta::assert_json_snapshot!(summary("quickstart.json", 1));
}

#[test]
fn minimal_seed_1() {
    insta::assert_json_snapshot!(summary("minimal.json", 1));
}

#[test]
fn swarm_seed_3() {
    insta::assert_json_snapshot!(summary("swarm.json", 3));
}

/// The report files are written, and the HTML is self-contained with its charts.
#[test]
fn run_reports_are_written_and_self_contained() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/quickstart.json");
    let scenario = load_scenario(&path).unwrap().scenario;
    let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default()).unwrap();
    let dir = std::env::temp_dir().join(format!("sharesim-report-test-{}", std::process::id()));
    sharesim::report::write_run_report(&dir, &outcome, &scenario, "scenarios/quickstart.json")
        .unwrap();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(
        html.matches("<svg").count() >= 6,
        "swimlanes, histograms, throughput, lag"
    );
    assert!(
        html.contains("class=\"fault\""),
        "the broker crash is marked on the time axis"
    );
    for external in ["<script", "src=\"http", "href=\"http", "<link"] {
        assert!(!html.contains(external), "{external}");
    }
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["trace_hash"], outcome.trace_hash.to_string());
    assert_eq!(json["config"]["name"], "quickstart");
    let trace = std::fs::read_to_string(dir.join("trace.jsonl")).unwrap();
    let records = sharesim::sim::trace::read_json_lines(&trace).unwrap();
    assert_eq!(records.len(), outcome.records.len());
    std::fs::remove_dir_all(&dir).ok();
}
