//! The checked-in JSON Schema is current, and every example scenario parses and validates against it.

mod scenario_support;

use std::path::PathBuf;

use sharesim::scenario::load_scenario;
use sharesim::scenario::schema::{scenario_schema, scenario_schema_text};

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn example_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios/")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .filter(|path| !path.to_string_lossy().ends_with(".schema.json"))
        .collect();
    files.sort();
    files
}

/// The schema file is what the types generate. Regenerate with `SHARESIM_BLESS=1 cargo test --test
/// scenario_schema`.
#[test]
fn checked_in_schema_is_current() {
    let path = scenarios_dir().join("scenario.schema.json");
    let generated = scenario_schema_text();
    if std::env::var_os("SHARESIM_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated,
        "scenarios/scenario.schema.json is stale: run `SHARESIM_BLESS=1 cargo test --test scenario_schema`"
    );
}

/// Every example parses with our parser (including its sweep points) and validates against the schema.
#[test]
fn every_example_parses_and_matches_the_schema() {
    let schema = scenario_schema();
    let files = example_files();
    assert!(files.len() >= 4, "examples: {files:?}");
    for file in files {
        let parsed = load_scenario(&file).unwrap_or_else(|error| panic!("{error}"));
        parsed
            .sweep_variants()
            .unwrap_or_else(|error| panic!("{error}"));
        let document: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        let problems = scenario_support::schema_errors(&schema, &document);
        assert!(problems.is_empty(), "{}: {problems:#?}", file.display());
    }
}

/// The schema validator is not vacuous: documents the parser rejects for their shape fail it too.
#[test]
fn schema_rejects_bad_shapes() {
    let schema = scenario_schema();
    for bad in [
        r#"{"topics": [{"name": "t", "partitions": "two"}]}"#,
        r#"{"clustr": {}}"#,
        r#"{"faults": [{"at_ms": 1, "kind": "broker_crash"}]}"#,
        r#"{"faults": [{"at_ms": 1, "kind": "broker_crash", "broker": 1, "bogus": 1}]}"#,
        r#"{"profile": "kafka-9"}"#,
        r#"{"consumers": [{"group": "g", "processing": {"kind": "fixed"}}]}"#,
        r#"{"seeds": {"start": 1}}"#,
    ] {
        let document: serde_json::Value = serde_json::from_str(bad).unwrap();
        assert!(
            !scenario_support::schema_errors(&schema, &document).is_empty(),
            "{bad}"
        );
    }
}

/// A parsed scenario serializes (for report.json) to a file that parses back to the same scenario.
#[test]
fn examples_round_trip_through_serialization() {
    for file in example_files() {
        let parsed = load_scenario(&file).unwrap_or_else(|error| panic!("{error}"));
        let text = serde_json::to_string_pretty(&parsed.scenario).unwrap();
        let again = sharesim::scenario::parse_scenario("round-trip.json", &text)
            .unwrap_or_else(|error| panic!("{}: {error}\n{text}", file.display()));
        assert_eq!(again, parsed.scenario, "{}", file.display());
    }
}

/// The head-of-line example sweeps the share consumer count: one variant per value, in order.
#[test]
fn sweep_variants_apply_each_value() {
    let parsed = load_scenario(&scenarios_dir().join("head_of_line.json")).unwrap();
    let variants = parsed.sweep_variants().unwrap();
    let counts: Vec<u32> = variants
        .iter()
        .map(|v| v.scenario.consumers[0].count)
        .collect();
    assert_eq!(counts, vec![1, 2, 4, 8]);
    assert_eq!(
        variants[2].values,
        vec![("consumers[0].count".to_string(), serde_json::json!(4))]
    );
    // Everything else is untouched.
    assert_eq!(
        variants[0].scenario.consumers[1],
        parsed.scenario.consumers[1]
    );
}
