//! The JSON Schema of scenario files, generated from the [`Scenario`] types with `schemars` (doc comments
//! become descriptions, serde attributes become the shape). The checked-in
//! `scenarios/scenario.schema.json` is this output; a test fails when it is stale.

use super::scenario::Scenario;

/// The schema as a JSON value (draft 2020-12).
pub fn scenario_schema() -> serde_json::Value {
    let mut schema = schemars::schema_for!(Scenario);
    schema.insert(
        "$id".to_string(),
        "https://sharesim.invalid/scenario.schema.json".into(),
    );
    schema.insert("title".to_string(), "sharesim scenario".into());
    schema.to_value()
}

/// The schema as the checked-in file's text (pretty JSON and a final newline).
pub fn scenario_schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&scenario_schema()).unwrap_or_default();
    text.push('\n');
    text
}
