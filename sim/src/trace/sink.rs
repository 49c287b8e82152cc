//! The trace sink: numbers every event, encodes it as one canonical JSON line (hashed as it goes), and
//! keeps the records for the oracle when asked to.

use super::event::{TraceEvent, TraceRecord};
use super::hash::TraceHash;
use super::json_lines::JsonLinesEncoder;

/// Where a run writes its events.
#[derive(Debug)]
pub struct Trace {
    encoder: JsonLinesEncoder,
    next_seq: u64,
    kept_records: Option<Vec<TraceRecord>>,
}

impl Trace {
    /// A trace that only hashes (the cheap default for seed sweeps).
    pub fn hashing_only() -> Trace {
        Trace {
            encoder: JsonLinesEncoder::hashing_only(),
            next_seq: 0,
            kept_records: None,
        }
    }

    /// A trace that hashes and keeps the records (for the oracle).
    pub fn keeping_records() -> Trace {
        Trace {
            kept_records: Some(Vec::new()),
            ..Trace::hashing_only()
        }
    }

    /// A trace that hashes and keeps both the records and the JSON-lines text (for reports, replay).
    pub fn keeping_records_and_text() -> Trace {
        Trace {
            encoder: JsonLinesEncoder::keeping_text(),
            next_seq: 0,
            kept_records: Some(Vec::new()),
        }
    }

    /// Appends one event at virtual time `at_ms` from `node`; returns its `seq`.
    pub fn record(&mut self, at_ms: u64, node: &str, event: TraceEvent) -> u64 {
        let record = TraceRecord {
            seq: self.next_seq,
            at_ms,
            node: node.to_string(),
            event,
        };
        self.next_seq += 1;
        self.encoder.encode(&record);
        if let Some(kept) = &mut self.kept_records {
            kept.push(record);
        }
        self.next_seq - 1
    }

    /// The hash of every record so far.
    pub fn hash(&self) -> TraceHash {
        self.encoder.hash()
    }

    /// Number of records so far.
    pub fn len(&self) -> u64 {
        self.next_seq
    }

    /// Whether nothing was recorded yet.
    pub fn is_empty(&self) -> bool {
        self.next_seq == 0
    }

    /// The kept records, if this trace keeps them.
    pub fn records(&self) -> Option<&[TraceRecord]> {
        self.kept_records.as_deref()
    }

    /// The kept JSON-lines text, if this trace keeps it.
    pub fn text(&self) -> Option<&[u8]> {
        self.encoder.text()
    }
}
