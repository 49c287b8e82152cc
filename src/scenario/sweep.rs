//! Sweep key paths and `--vary key=v1,v2`: set a value at a key path of a scenario document.
//!
//! A key path is a dot-separated list of segments:
//! * a bare word (`duration_ms`, `cluster`, `workers`) or a quoted string (`"share.record.lock.duration.ms"`)
//!   names an object member; on an array it selects the element whose `name` is that word
//!   (`groups.workers` is the group named `workers`, `topics.orders` the topic named `orders`);
//! * a number, or `[N]` after a segment, selects an array element by index (`consumers[0].count`,
//!   `consumers.0.count`).
//!
//! Setting a member that is absent creates it (and any absent parent objects), so defaults can be
//! varied; the result is then parsed and validated like a file.

use std::fmt;
use std::str::FromStr;

use serde_json::Value;

use super::path::FieldPath;

/// One step of a [`KeyPath`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeySegment {
    /// A member name, or on an array the `name` of an element.
    Name(String),
    /// An array index.
    Index(usize),
}

/// A parsed key path such as `groups.workers.configs."share.record.lock.duration.ms"`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyPath {
    /// The steps, outermost first.
    pub segments: Vec<KeySegment>,
}

impl FromStr for KeyPath {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| format!("invalid key path `{text}`: {why}");
        let chars: Vec<char> = text.chars().collect();
        let mut segments = Vec::new();
        let mut at = 0;
        let mut expect_segment = true;
        while at < chars.len() {
            let c = chars[at];
            if expect_segment {
                if c == '"' {
                    let mut name = String::new();
                    at += 1;
                    loop {
                        match chars.get(at) {
                            None => return Err(bad("unterminated quote")),
                            Some('\\') => {
                                name.push(
                                    *chars.get(at + 1).ok_or_else(|| bad("unterminated quote"))?,
                                );
                                at += 2;
                            }
                            Some('"') => {
                                at += 1;
                                break;
                            }
                            Some(other) => {
                                name.push(*other);
                                at += 1;
                            }
                        }
                    }
                    segments.push(KeySegment::Name(name));
                } else if c == '[' {
                    at = index_segment(&chars, at, &mut segments)
                        .ok_or_else(|| bad("expected `[N]`"))?;
                } else {
                    let start = at;
                    while at < chars.len() && !matches!(chars[at], '.' | '[' | '"') {
                        at += 1;
                    }
                    let word: String = chars[start..at].iter().collect();
                    if word.is_empty() {
                        return Err(bad("empty segment"));
                    }
                    segments.push(match word.parse::<usize>() {
                        Ok(index) => KeySegment::Index(index),
                        Err(_) => KeySegment::Name(word),
                    });
                }
                expect_segment = false;
            } else {
                match c {
                    '.' => {
                        at += 1;
                        expect_segment = true;
                    }
                    '[' => {
                        at = index_segment(&chars, at, &mut segments)
                            .ok_or_else(|| bad("expected `[N]`"))?;
                    }
                    _ => return Err(bad(&format!("unexpected `{c}` after a segment"))),
                }
            }
        }
        if expect_segment {
            return Err(bad(if segments.is_empty() {
                "empty"
            } else {
                "ends with `.`"
            }));
        }
        Ok(KeyPath { segments })
    }
}

/// Parses `[N]` at `at`; returns the offset after it.
fn index_segment(chars: &[char], at: usize, segments: &mut Vec<KeySegment>) -> Option<usize> {
    let close = chars[at..].iter().position(|c| *c == ']')? + at;
    let digits: String = chars[at + 1..close].iter().collect();
    segments.push(KeySegment::Index(digits.parse().ok()?));
    Some(close + 1)
}

impl fmt::Display for KeyPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (position, segment) in self.segments.iter().enumerate() {
            match segment {
                KeySegment::Index(index) => write!(f, "[{index}]")?,
                KeySegment::Name(name) => {
                    if position > 0 {
                        f.write_str(".")?;
                    }
                    let bare = !name.is_empty()
                        && name.parse::<usize>().is_err()
                        && name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
                    if bare {
                        f.write_str(name)?;
                    } else {
                        write!(f, "{name:?}")?;
                    }
                }
            }
        }
        Ok(())
    }
}

/// Sets `value` at `path` in `document`, creating absent object members. Returns the field path it
/// resolved to (array elements selected by name become indexes).
pub fn set_at_key_path(
    document: &mut Value,
    path: &KeyPath,
    value: Value,
) -> Result<FieldPath, String> {
    let mut resolved = FieldPath::root();
    let mut current = document;
    for segment in &path.segments {
        current = match (segment, current) {
            (KeySegment::Name(name), Value::Object(map)) => {
                resolved = resolved.key(name);
                map.entry(name.clone()).or_insert(Value::Null)
            }
            (KeySegment::Name(name), Value::Array(items)) => {
                let found = items.iter().position(|item| {
                    item.get("name").and_then(Value::as_str) == Some(name.as_str())
                });
                let Some(index) = found else {
                    return Err(format!("`{resolved}` has no element named `{name}`"));
                };
                resolved = resolved.index(index);
                &mut items[index]
            }
            (KeySegment::Index(index), Value::Array(items)) => {
                let length = items.len();
                let Some(item) = items.get_mut(*index) else {
                    return Err(format!(
                        "`{resolved}` has {length} elements; index {index} is out of range"
                    ));
                };
                resolved = resolved.index(*index);
                item
            }
            (KeySegment::Name(name), slot @ Value::Null) => {
                // An absent member on the way: create the object.
                *slot = Value::Object(serde_json::Map::new());
                resolved = resolved.key(name);
                match slot {
                    Value::Object(map) => map.entry(name.clone()).or_insert(Value::Null),
                    _ => unreachable!("just made an object"),
                }
            }
            (segment, other) => {
                let what = match other {
                    Value::Array(_) => "an array",
                    Value::Object(_) => "an object",
                    _ => "a plain value",
                };
                let step = match segment {
                    KeySegment::Name(name) => format!("member `{name}`"),
                    KeySegment::Index(index) => format!("index {index}"),
                };
                return Err(format!("`{resolved}` is {what}; it has no {step}"));
            }
        };
    }
    *current = value;
    Ok(resolved)
}

/// Parses one `--vary` value: JSON if it parses (`15000`, `true`, `"x"`, `[1,2]`), else a plain string.
pub fn parse_vary_value(text: &str) -> Value {
    serde_json::from_str(text.trim()).unwrap_or_else(|_| Value::String(text.trim().to_string()))
}

/// Parses `key=v1,v2,...` (the CLI's `--vary`). Commas inside quotes or brackets do not split, so
/// `cleanup.policy="compact,delete"` is one value.
pub fn parse_vary_arg(arg: &str) -> Result<(KeyPath, Vec<Value>), String> {
    let (key, values) = split_key_value(arg)
        .ok_or_else(|| format!("invalid --vary `{arg}`: expected KEY=VALUE[,VALUE...]"))?;
    let key: KeyPath = key.parse()?;
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut quoted = false;
    let mut escaped = false;
    let mut current = String::new();
    for c in values.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && matches!(c, '[' | '{') {
            depth += 1;
        } else if !quoted && matches!(c, ']' | '}') {
            depth -= 1;
        } else if !quoted && depth == 0 && c == ',' {
            parts.push(parse_vary_value(&current));
            current.clear();
            continue;
        }
        current.push(c);
    }
    parts.push(parse_vary_value(&current));
    if values.trim().is_empty() {
        return Err(format!("invalid --vary `{arg}`: no values after `=`"));
    }
    Ok((key, parts))
}

/// Splits at the first `=` outside quotes.
fn split_key_value(arg: &str) -> Option<(&str, &str)> {
    let mut quoted = false;
    for (at, c) in arg.char_indices() {
        match c {
            '"' => quoted = !quoted,
            '=' if !quoted => return Some((&arg[..at], &arg[at + 1..])),
            _ => {}
        }
    }
    None
}

/// Every combination of sweep values, in key order then value order (the first key varies slowest).
pub fn sweep_points(sweep: &[(String, Vec<Value>)]) -> Vec<Vec<(String, Value)>> {
    let mut points: Vec<Vec<(String, Value)>> = vec![Vec::new()];
    for (key, values) in sweep {
        let mut next = Vec::with_capacity(points.len() * values.len());
        for point in &points {
            for value in values {
                let mut extended = point.clone();
                extended.push((key.clone(), value.clone()));
                next.push(extended);
            }
        }
        points = next;
    }
    points
}

/// A label for a point's values, e.g. `consumers[0].count=4`.
pub fn point_label(values: &[(String, Value)]) -> String {
    if values.is_empty() {
        return "default".to_string();
    }
    values
        .iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Key paths parse quoted config names, names, and both index forms.
    #[test]
    fn key_paths_parse() {
        let path: KeyPath = r#"groups.workers.configs."share.record.lock.duration.ms""#
            .parse()
            .unwrap();
        assert_eq!(
            path.segments,
            vec![
                KeySegment::Name("groups".into()),
                KeySegment::Name("workers".into()),
                KeySegment::Name("configs".into()),
                KeySegment::Name("share.record.lock.duration.ms".into()),
            ]
        );
        assert_eq!(
            path.to_string(),
            r#"groups.workers.configs."share.record.lock.duration.ms""#
        );
        let path: KeyPath = "consumers[0].count".parse().unwrap();
        assert_eq!(path, "consumers.0.count".parse().unwrap());
        for bad in ["", "a.", ".a", "a[x]", "a\"b\"", "\"open"] {
            assert!(bad.parse::<KeyPath>().is_err(), "{bad}");
        }
    }

    /// Setting by element name, by index, and creating absent members.
    #[test]
    fn set_values_at_key_paths() {
        let mut document = json!({"groups": [{"name": "a"}, {"name": "workers", "configs": {}}]});
        let path: KeyPath = r#"groups.workers.configs."share.record.lock.duration.ms""#
            .parse()
            .unwrap();
        let resolved = set_at_key_path(&mut document, &path, json!(15000)).unwrap();
        assert_eq!(
            resolved.to_string(),
            r#"groups[1].configs."share.record.lock.duration.ms""#
        );
        assert_eq!(
            document["groups"][1]["configs"]["share.record.lock.duration.ms"],
            json!(15000)
        );
        let created = set_at_key_path(
            &mut document,
            &"cluster.configs.x".parse().unwrap(),
            json!(1),
        );
        assert!(created.is_ok());
        assert_eq!(document["cluster"]["configs"]["x"], json!(1));
        let missing = set_at_key_path(
            &mut document,
            &"groups.nobody.configs".parse().unwrap(),
            json!(1),
        );
        assert_eq!(
            missing.unwrap_err(),
            "`groups` has no element named `nobody`"
        );
        let out_of_range = set_at_key_path(&mut document, &"groups[5]".parse().unwrap(), json!(1));
        assert_eq!(
            out_of_range.unwrap_err(),
            "`groups` has 2 elements; index 5 is out of range"
        );
    }

    /// `--vary` splits values on commas outside quotes and brackets.
    #[test]
    fn vary_arguments_split_values() {
        let (key, values) =
            parse_vary_arg(r#"topics.t.configs."cleanup.policy"="compact,delete",delete"#).unwrap();
        assert_eq!(key.to_string(), r#"topics.t.configs."cleanup.policy""#);
        assert_eq!(values, vec![json!("compact,delete"), json!("delete")]);
        let (_, values) = parse_vary_arg("duration_ms=1000, 2000").unwrap();
        assert_eq!(values, vec![json!(1000), json!(2000)]);
        assert!(parse_vary_arg("duration_ms").is_err());
        assert!(parse_vary_arg("duration_ms=").is_err());
    }

    /// The cartesian product of sweep values, first key slowest.
    #[test]
    fn sweep_points_are_the_product() {
        let points = sweep_points(&[
            ("a".into(), vec![json!(1), json!(2)]),
            ("b".into(), vec![json!("x"), json!("y"), json!("z")]),
        ]);
        assert_eq!(points.len(), 6);
        assert_eq!(
            points[1],
            vec![("a".into(), json!(1)), ("b".into(), json!("y"))]
        );
    }
}
