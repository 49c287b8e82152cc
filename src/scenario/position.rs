//! Where each value of a scenario file sits in its text, so that an error found after deserializing (a
//! value out of range, an unknown config name) still names the line and column of the offending value.
//!
//! [`PositionIndex::build`] scans the JSON text once, after `serde_json` has accepted it, and records for
//! every field path the byte offset of its value and, for object members, of its key. It also reports the
//! first duplicate key, which `serde_json` silently resolves to the last one.

use std::collections::BTreeMap;

use super::path::FieldPath;

/// A 1-based line and column (in characters) in a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LineColumn {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

/// Byte offsets of one value and of the key that names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Span {
    key_offset: Option<usize>,
    value_offset: usize,
}

/// A duplicate object key found while scanning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DuplicateKey {
    /// The path of the duplicated member.
    pub path: FieldPath,
    /// Where the second occurrence's key starts.
    pub at: LineColumn,
}

/// Field path → position, for one file's text.
#[derive(Clone, Debug, Default)]
pub struct PositionIndex {
    spans: BTreeMap<FieldPath, Span>,
    line_starts: Vec<usize>,
    text_len: usize,
    text: String,
}

impl PositionIndex {
    /// Scans `text` (valid JSON). On text that is not valid JSON the index is partial but never panics.
    pub fn build(text: &str) -> (PositionIndex, Option<DuplicateKey>) {
        let mut line_starts = vec![0];
        for (offset, byte) in text.bytes().enumerate() {
            if byte == b'\n' {
                line_starts.push(offset + 1);
            }
        }
        let mut index = PositionIndex {
            spans: BTreeMap::new(),
            line_starts,
            text_len: text.len(),
            text: text.to_string(),
        };
        let mut scanner = Scanner {
            bytes: text.as_bytes(),
            text,
            offset: 0,
            duplicate: None,
        };
        scanner.skip_whitespace();
        let mut spans = BTreeMap::new();
        scanner.value(&FieldPath::root(), None, &mut spans, 0);
        index.spans = spans;
        let duplicate = scanner.duplicate.map(|(path, offset)| DuplicateKey {
            path,
            at: index.line_column(offset),
        });
        (index, duplicate)
    }

    /// The line and column of a byte offset (clamped to the end of the text).
    pub fn line_column(&self, offset: usize) -> LineColumn {
        let offset = offset.min(self.text_len);
        let line_index = match self.line_starts.binary_search(&offset) {
            Ok(index) => index,
            Err(index) => index.saturating_sub(1),
        };
        let line_start = self.line_starts[line_index];
        // Count characters, not bytes; `get` keeps a mid-character offset from panicking.
        let column = self
            .text
            .get(line_start..offset)
            .map_or(offset - line_start, |prefix| prefix.chars().count());
        LineColumn {
            line: line_index + 1,
            column: column + 1,
        }
    }

    /// Where the value at `path` starts; the nearest indexed ancestor if `path` itself is absent (a
    /// missing field points at the object that lacks it).
    pub fn value_position(&self, path: &FieldPath) -> LineColumn {
        let mut path = path.clone();
        loop {
            if let Some(span) = self.spans.get(&path) {
                return self.line_column(span.value_offset);
            }
            if path.is_root() {
                return LineColumn { line: 1, column: 1 };
            }
            path = path.parent();
        }
    }

    /// Where the key naming the member at `path` starts (its value if it has no key, e.g. an array
    /// element), falling back like [`PositionIndex::value_position`].
    pub fn key_position(&self, path: &FieldPath) -> LineColumn {
        match self.spans.get(path) {
            Some(Span {
                key_offset: Some(offset),
                ..
            }) => self.line_column(*offset),
            _ => self.value_position(path),
        }
    }

    /// Whether a value exists at `path`.
    pub fn contains(&self, path: &FieldPath) -> bool {
        self.spans.contains_key(path)
    }
}

/// A forgiving recursive-descent walk over JSON text. It only reads positions; `serde_json` has already
/// validated the text, so on malformed input it stops early instead of reporting anything.
struct Scanner<'a> {
    bytes: &'a [u8],
    text: &'a str,
    offset: usize,
    duplicate: Option<(FieldPath, usize)>,
}

/// `serde_json` refuses nesting deeper than 128; stop scanning there too.
const MAX_DEPTH: usize = 256;

impl Scanner<'_> {
    fn skip_whitespace(&mut self) {
        while let Some(byte) = self.bytes.get(self.offset) {
            if byte.is_ascii_whitespace() {
                self.offset += 1;
            } else {
                break;
            }
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.offset).copied()
    }

    /// Scans one value at `self.offset` (whitespace already skipped). Returns false on malformed input.
    fn value(
        &mut self,
        path: &FieldPath,
        key_offset: Option<usize>,
        spans: &mut BTreeMap<FieldPath, Span>,
        depth: usize,
    ) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        spans.insert(
            path.clone(),
            Span {
                key_offset,
                value_offset: self.offset,
            },
        );
        match self.peek() {
            Some(b'{') => self.object(path, spans, depth),
            Some(b'[') => self.array(path, spans, depth),
            Some(b'"') => self.string().is_some(),
            Some(_) => {
                // A number or literal: up to the next delimiter.
                while let Some(byte) = self.peek() {
                    if matches!(byte, b',' | b'}' | b']') || byte.is_ascii_whitespace() {
                        break;
                    }
                    self.offset += 1;
                }
                true
            }
            None => false,
        }
    }

    /// Scans a string token and returns its decoded text.
    fn string(&mut self) -> Option<String> {
        let start = self.offset;
        self.offset += 1;
        loop {
            match self.peek()? {
                b'"' => {
                    self.offset += 1;
                    break;
                }
                b'\\' => self.offset += 2,
                _ => self.offset += 1,
            }
        }
        let token = self.text.get(start..self.offset)?;
        serde_json::from_str(token).ok()
    }

    fn object(
        &mut self,
        path: &FieldPath,
        spans: &mut BTreeMap<FieldPath, Span>,
        depth: usize,
    ) -> bool {
        self.offset += 1;
        let mut seen = std::collections::BTreeSet::new();
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b'}') => {
                    self.offset += 1;
                    return true;
                }
                Some(b',') => {
                    self.offset += 1;
                    continue;
                }
                Some(b'"') => {}
                _ => return false,
            }
            let key_offset = self.offset;
            let Some(key) = self.string() else {
                return false;
            };
            let member = path.key(&key);
            if !seen.insert(key) && self.duplicate.is_none() {
                self.duplicate = Some((member.clone(), key_offset));
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return false;
            }
            self.offset += 1;
            self.skip_whitespace();
            let before = self.offset;
            if !self.value(&member, Some(key_offset), spans, depth + 1) || self.offset == before {
                return false;
            }
        }
    }

    fn array(
        &mut self,
        path: &FieldPath,
        spans: &mut BTreeMap<FieldPath, Span>,
        depth: usize,
    ) -> bool {
        self.offset += 1;
        let mut index = 0;
        loop {
            self.skip_whitespace();
            match self.peek() {
                Some(b']') => {
                    self.offset += 1;
                    return true;
                }
                Some(b',') => {
                    self.offset += 1;
                    continue;
                }
                Some(_) => {
                    let before = self.offset;
                    // No progress means malformed text (a stray `}`): stop instead of looping.
                    if !self.value(&path.index(index), None, spans, depth + 1)
                        || self.offset == before
                    {
                        return false;
                    }
                    index += 1;
                }
                None => return false,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys and values of nested members are found at their line and column.
    #[test]
    fn indexes_nested_keys_and_values() {
        let text = "{\n  \"groups\": [\n    {\"name\": \"é\", \"configs\": {\"a.b\": 7}}\n  ]\n}";
        let (index, duplicate) = PositionIndex::build(text);
        assert!(duplicate.is_none());
        let value = FieldPath::root()
            .key("groups")
            .index(0)
            .key("configs")
            .key("a.b");
        assert_eq!(
            index.value_position(&value),
            LineColumn {
                line: 3,
                column: 38
            }
        );
        assert_eq!(
            index.key_position(&value),
            LineColumn {
                line: 3,
                column: 31
            }
        );
        let element = FieldPath::root().key("groups").index(0);
        assert_eq!(
            index.key_position(&element),
            LineColumn { line: 3, column: 5 }
        );
        // A missing member falls back to its parent object.
        let missing = element.key("type");
        assert_eq!(
            index.value_position(&missing),
            LineColumn { line: 3, column: 5 }
        );
    }

    /// Malformed text ends the scan instead of looping (the index is also built for error positions).
    #[test]
    fn malformed_text_terminates() {
        for text in [
            "[}",
            "{\"a\": }",
            "[1, }, 2",
            "{\"a\" 1}",
            "\"open",
            "[[[",
            "{\"a\":[}]}",
        ] {
            let _ = PositionIndex::build(text);
        }
    }

    /// The second occurrence of a key is reported.
    #[test]
    fn reports_duplicate_keys() {
        let (_, duplicate) = PositionIndex::build("{\"a\": 1,\n \"a\": 2}");
        let duplicate = duplicate.expect("duplicate");
        assert_eq!(duplicate.path, FieldPath::root().key("a"));
        assert_eq!(duplicate.at, LineColumn { line: 2, column: 2 });
    }
}
