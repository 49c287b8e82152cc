//! The parsing pipeline: bytes → UTF-8 → JSON (syntax errors with serde_json's position) → position
//! index (duplicate keys) → typed [`Scenario`] (`serde_path_to_error` gives the field path) → semantic
//! validation → sweep values checked by applying each one. Every failure is one [`ScenarioError`].

use std::path::Path;

use serde_json::Value;

use super::error::{FieldError, ScenarioError, ScenarioErrorKind as Kind};
use super::faults::Fault;
use super::nearest::did_you_mean;
use super::path::{FieldPath, PathSegment};
use super::position::{LineColumn, PositionIndex};
use super::scenario::Scenario;
use super::sweep::{set_at_key_path, sweep_points, KeyPath};
use super::validate::validate;

/// A parsed scenario with the text it came from, so that variants (sweep points, `--vary`) can be
/// derived from the document and their errors still point into the file.
#[derive(Clone, Debug)]
pub struct ScenarioFile {
    /// The file name errors print.
    pub file: String,
    /// The JSON document as written (before defaults).
    pub document: Value,
    /// The typed, validated scenario.
    pub scenario: Scenario,
    index: PositionIndex,
}

/// One point of a sweep: the values it sets and the scenario they produce.
#[derive(Clone, Debug)]
pub struct SweepVariant {
    /// `(key path, value)` per swept key, in key order.
    pub values: Vec<(String, Value)>,
    /// The scenario with those values applied.
    pub scenario: Scenario,
}

/// Parses scenario text; `file` names it in errors.
pub fn parse_scenario(file: &str, text: &str) -> Result<Scenario, ScenarioError> {
    ScenarioFile::parse(file, text).map(|parsed| parsed.scenario)
}

/// Reads and parses a scenario file.
pub fn load_scenario(path: &Path) -> Result<ScenarioFile, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| ScenarioError {
        file: file.clone(),
        line: 1,
        column: 1,
        path: FieldPath::root(),
        kind: Kind::Io,
        message: format!("cannot read the file: {error}"),
        hint: None,
    })?;
    ScenarioFile::parse_bytes(&file, &bytes)
}

impl ScenarioFile {
    /// Parses raw bytes (which may not be UTF-8).
    pub fn parse_bytes(file: &str, bytes: &[u8]) -> Result<ScenarioFile, ScenarioError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => ScenarioFile::parse(file, text),
            Err(error) => {
                let valid = std::str::from_utf8(&bytes[..error.valid_up_to()]).unwrap_or_default();
                let (index, _) = PositionIndex::build(valid);
                let at = index.line_column(valid.len());
                Err(ScenarioError {
                    file: file.to_string(),
                    line: at.line,
                    column: at.column,
                    path: FieldPath::root(),
                    kind: Kind::Encoding,
                    message: "the file is not valid UTF-8".to_string(),
                    hint: None,
                })
            }
        }
    }

    /// Parses scenario text.
    pub fn parse(file: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
        let document: Value =
            serde_json::from_str(text).map_err(|error| syntax_error(file, text, &error))?;
        let (index, duplicate) = PositionIndex::build(text);
        if let Some(duplicate) = duplicate {
            return Err(ScenarioError {
                file: file.to_string(),
                line: duplicate.at.line,
                column: duplicate.at.column,
                path: duplicate.path,
                kind: Kind::DuplicateKey,
                message: "duplicate key: this key already appears in the same object".to_string(),
                hint: Some("JSON keeps only the last one; remove one of them".to_string()),
            });
        }
        let scenario = decode(&document).map_err(|error| locate(file, &index, error))?;
        let parsed = ScenarioFile {
            file: file.to_string(),
            document,
            scenario,
            index,
        };
        parsed.sweep_variants()?;
        Ok(parsed)
    }

    /// The scenario with `value` set at each key path (`--vary`), checked like a file. Errors point at
    /// the nearest position that exists in the file, and say which override caused them.
    pub fn with_values(&self, overrides: &[(KeyPath, Value)]) -> Result<Scenario, ScenarioError> {
        let mut document = self.document.clone();
        let mut described = Vec::new();
        for (key, value) in overrides {
            described.push(format!("{key}={value}"));
            set_at_key_path(&mut document, key, value.clone()).map_err(|message| {
                self.error(FieldError::new(
                    FieldPath::root(),
                    Kind::InvalidSweep,
                    message,
                ))
            })?;
        }
        decode(&document).map_err(|error| {
            let mut error = locate(&self.file, &self.index, error);
            error.hint = Some(match error.hint.take() {
                Some(hint) => format!("{hint} (with {})", described.join(", ")),
                None => format!("with {}", described.join(", ")),
            });
            error
        })
    }

    /// Every point of the scenario's `sweep` (one point, with no values, when there is no sweep), each
    /// checked like a file. An invalid sweep value is reported at its place in `sweep`.
    pub fn sweep_variants(&self) -> Result<Vec<SweepVariant>, ScenarioError> {
        let mut keys = Vec::new();
        for (key, values) in &self.scenario.sweep {
            let at = FieldPath::root().key("sweep").key(key);
            let parsed: KeyPath = key.parse().map_err(|message| {
                self.error(FieldError::new(at.clone(), Kind::InvalidSweep, message).at_key())
            })?;
            // Check each value on its own first, so that an error names the exact value.
            for (value_index, value) in values.iter().enumerate() {
                self.with_values(&[(parsed.clone(), value.clone())])
                    .map_err(|inner| {
                        self.error(
                            FieldError::new(
                                at.index(value_index),
                                Kind::InvalidSweep,
                                format!(
                                    "sweeping `{key}` to {value}: {}: {}",
                                    inner.path, inner.message
                                ),
                            )
                            .with_optional_hint(inner.hint.clone()),
                        )
                    })?;
            }
            keys.push((key.clone(), values.clone()));
        }
        sweep_points(&keys)
            .into_iter()
            .map(|values| {
                let overrides: Vec<(KeyPath, Value)> = values
                    .iter()
                    .filter_map(|(key, value)| key.parse().ok().map(|key| (key, value.clone())))
                    .collect();
                let scenario = if overrides.is_empty() {
                    self.scenario.clone()
                } else {
                    self.with_values(&overrides)?
                };
                Ok(SweepVariant { values, scenario })
            })
            .collect()
    }

    fn error(&self, error: FieldError) -> ScenarioError {
        locate(&self.file, &self.index, error)
    }
}

/// Deserializes and validates a document.
fn decode(document: &Value) -> Result<Scenario, FieldError> {
    if !document.is_object() {
        let found = match document {
            Value::Array(_) => "a list",
            Value::String(_) => "a string",
            Value::Number(_) => "a number",
            Value::Bool(_) => "a boolean",
            _ => "null",
        };
        return Err(FieldError::new(
            FieldPath::root(),
            Kind::InvalidType,
            format!("a scenario is a JSON object; found {found}"),
        ));
    }
    let scenario: Scenario = serde_path_to_error::deserialize(document).map_err(|error| {
        let path = FieldPath::from_serde(error.path());
        refine(document, path, error.inner().to_string())
    })?;
    validate(&scenario)?;
    Ok(scenario)
}

/// The value at `path` in `document`.
fn value_at<'a>(document: &'a Value, path: &FieldPath) -> Option<&'a Value> {
    path.segments
        .iter()
        .try_fold(document, |value, segment| match segment {
            PathSegment::Key(key) => value.get(key),
            PathSegment::Index(index) => value.get(index),
        })
}

/// Turns a serde error into a [`FieldError`]: finds the exact field inside tagged objects (serde
/// reports those at the object), classifies the message, and adds allowed values and suggestions.
fn refine(document: &Value, mut path: FieldPath, mut message: String) -> FieldError {
    // Inside a fault event: decode the event's body as its kind's struct to find the field.
    if let [PathSegment::Key(section), PathSegment::Index(_)] = path.segments.as_slice() {
        if section == "faults" {
            if let Some(Value::Object(object)) = value_at(document, &path) {
                if let Some(Value::String(kind)) = object.get("kind") {
                    let mut body = object.clone();
                    body.remove("kind");
                    body.remove("at_ms");
                    if let Some((inner, inner_message)) =
                        Fault::locate_error(kind, Value::Object(body))
                    {
                        path.segments.extend(inner.segments);
                        message = inner_message;
                    }
                }
            }
        }
    }
    let object = value_at(document, &path).and_then(Value::as_object);
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, allowed) = split_backquoted(rest);
        let allowed_names = backquoted_names(&allowed);
        let hint = did_you_mean(&field, allowed_names.iter().map(String::as_str));
        let target = if object.is_some_and(|object| object.contains_key(&field)) {
            path.key(&field)
        } else {
            path
        };
        return FieldError::new(
            target,
            Kind::UnknownField,
            format!("unknown field `{field}`{}", allowed_suffix(&allowed)),
        )
        .at_key()
        .with_optional_hint(hint);
    }
    if let Some(rest) = message.strip_prefix("unknown variant `") {
        let (variant, allowed) = split_backquoted(rest);
        let allowed_names = backquoted_names(&allowed);
        let hint = did_you_mean(&variant, allowed_names.iter().map(String::as_str));
        // An unknown `kind` of a tagged object: point at the `kind` value.
        let target = if object
            .is_some_and(|object| object.get("kind").and_then(Value::as_str) == Some(&variant))
        {
            path.key("kind")
        } else {
            path
        };
        return FieldError::new(
            target,
            Kind::InvalidType,
            format!("unknown value `{variant}`{}", allowed_suffix(&allowed)),
        )
        .with_optional_hint(hint);
    }
    if message.starts_with("missing field") {
        return FieldError::new(path, Kind::MissingField, message);
    }
    if message.starts_with("invalid type")
        || message.starts_with("invalid value")
        || message.starts_with("invalid length")
    {
        // Inside a tagged object serde reports the object; find the one member holding the bad value.
        let target = object
            .and_then(|object| member_with_unexpected(object, &message))
            .map_or(path.clone(), |member| path.key(&member));
        return FieldError::new(target, Kind::InvalidType, friendly_types(&message));
    }
    FieldError::new(path, Kind::InvalidValue, message)
}

/// The member of `object` whose value serde's "invalid type: X, expected Y" message describes as X, if
/// exactly one member matches.
fn member_with_unexpected(
    object: &serde_json::Map<String, Value>,
    message: &str,
) -> Option<String> {
    let unexpected = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))?
        .split(", expected")
        .next()?;
    let describe = |value: &Value| match value {
        Value::Null => "null".to_string(),
        Value::Bool(flag) => format!("boolean `{flag}`"),
        Value::Number(number) if number.is_f64() => format!("floating point `{number}`"),
        Value::Number(number) => format!("integer `{number}`"),
        Value::String(text) => format!("string {text:?}"),
        Value::Array(_) => "sequence".to_string(),
        Value::Object(_) => "map".to_string(),
    };
    let mut matches = object
        .iter()
        .filter(|(name, value)| name.as_str() != "kind" && describe(value) == unexpected);
    let (name, _) = matches.next()?;
    matches.next().is_none().then(|| name.clone())
}

/// Splits "name`, expected ..." into ("name", ", expected ...").
fn split_backquoted(rest: &str) -> (String, String) {
    match rest.split_once('`') {
        Some((name, tail)) => (name.to_string(), tail.to_string()),
        None => (rest.to_string(), String::new()),
    }
}

/// The backquoted names in serde's "expected one of `a`, `b`".
fn backquoted_names(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

/// ", expected one of `a`, `b`" → "; expected one of `a`, `b`".
fn allowed_suffix(tail: &str) -> String {
    match tail.trim_start_matches(',').trim() {
        "" => String::new(),
        rest => format!("; {rest}"),
    }
}

/// Serde names Rust types in messages; say what a scenario author writes instead.
fn friendly_types(message: &str) -> String {
    [
        ("expected u64", "expected a non-negative integer"),
        ("expected u32", "expected a non-negative integer below 2^32"),
        ("expected usize", "expected a non-negative integer"),
        ("expected i64", "expected an integer"),
        ("expected f64", "expected a number"),
        ("expected a sequence", "expected a list"),
        ("expected a map", "expected an object"),
    ]
    .iter()
    .fold(message.to_string(), |text, (from, to)| {
        text.replace(from, to)
    })
}

fn locate(file: &str, index: &PositionIndex, error: FieldError) -> ScenarioError {
    let at = if error.at_key {
        index.key_position(&error.path)
    } else {
        index.value_position(&error.path)
    };
    ScenarioError {
        file: file.to_string(),
        line: at.line,
        column: at.column,
        path: error.path,
        kind: error.kind,
        message: error.message,
        hint: error.hint,
    }
}

/// A JSON syntax error at serde_json's position, clamped into the file and converted to a character
/// column.
fn syntax_error(file: &str, text: &str, error: &serde_json::Error) -> ScenarioError {
    let full = error.to_string();
    let message = match full.rfind(" at line ") {
        Some(at) => full[..at].to_string(),
        None => full,
    };
    let at = clamp_position(text, error.line(), error.column());
    ScenarioError {
        file: file.to_string(),
        line: at.line,
        column: at.column,
        path: FieldPath::root(),
        kind: Kind::Syntax,
        message: format!("invalid JSON: {message}"),
        hint: None,
    }
}

/// serde_json counts columns in bytes and may point one past the end; return a 1-based character
/// position that lies inside the text (or just after its last character).
fn clamp_position(text: &str, line: usize, byte_column: usize) -> LineColumn {
    let lines: Vec<&str> = text.split('\n').collect();
    let line = line.clamp(1, lines.len());
    let content = lines[line - 1];
    let mut end = byte_column.saturating_sub(1).min(content.len());
    while !content.is_char_boundary(end) {
        end -= 1;
    }
    LineColumn {
        line,
        column: content[..end].chars().count() + 1,
    }
}
