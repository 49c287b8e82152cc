//! Reads a JSON-lines trace back into records, naming the line of the first bad one.

use std::fmt;

use super::event::TraceRecord;

/// A trace line that does not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceReadError {
    /// 1-based line number.
    pub line: usize,
    /// Why it did not parse (serde_json's message, with the column).
    pub message: String,
}

impl fmt::Display for TraceReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "trace line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for TraceReadError {}

/// Parses every non-empty line of `text` as one [`TraceRecord`]; `seq` must count up from 0.
pub fn read_json_lines(text: &str) -> Result<Vec<TraceRecord>, TraceReadError> {
    let mut records = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let record: TraceRecord = serde_json::from_str(line).map_err(|error| TraceReadError {
            line: index + 1,
            message: error.to_string(),
        })?;
        let expected_seq = records.len() as u64;
        if record.seq != expected_seq {
            return Err(TraceReadError {
                line: index + 1,
                message: format!("seq {} where {expected_seq} was expected", record.seq),
            });
        }
        records.push(record);
    }
    Ok(records)
}
