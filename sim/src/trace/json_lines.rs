//! The canonical encoding of the trace: one JSON object per line, fields in declaration order (serde's
//! derive keeps it), `\n` after every line, hashed as it is written.

use serde::Serialize;

use super::hash::{TraceHash, TraceHasher};

/// Encodes trace records as JSON lines, hashing every byte, and optionally keeping the bytes.
#[derive(Debug)]
pub struct JsonLinesEncoder {
    hasher: TraceHasher,
    line: Vec<u8>,
    kept_bytes: Option<Vec<u8>>,
    line_count: u64,
}

impl JsonLinesEncoder {
    /// An encoder that only hashes (the cheap default for sweeps).
    pub fn hashing_only() -> JsonLinesEncoder {
        JsonLinesEncoder {
            hasher: TraceHasher::new(),
            line: Vec::new(),
            kept_bytes: None,
            line_count: 0,
        }
    }

    /// An encoder that hashes and keeps the JSON-lines text (for reports and `replay`).
    pub fn keeping_text() -> JsonLinesEncoder {
        JsonLinesEncoder {
            kept_bytes: Some(Vec::new()),
            ..JsonLinesEncoder::hashing_only()
        }
    }

    /// Appends one record as one line.
    pub fn encode<T: Serialize>(&mut self, record: &T) {
        self.line.clear();
        // Serializing our own plain data types into a Vec cannot fail: no maps with non-string keys, no
        // I/O. A failure here is a bug in a trace type, not bad input.
        serde_json::to_writer(&mut self.line, record).expect("trace records serialize to JSON");
        self.line.push(b'\n');
        debug_assert_eq!(
            self.line.iter().filter(|&&b| b == b'\n').count(),
            1,
            "one line per record"
        );
        self.hasher.update(&self.line);
        if let Some(kept) = &mut self.kept_bytes {
            kept.extend_from_slice(&self.line);
        }
        self.line_count += 1;
    }

    /// The hash of every line so far.
    pub fn hash(&self) -> TraceHash {
        self.hasher.finish()
    }

    /// Number of lines so far.
    pub fn line_count(&self) -> u64 {
        self.line_count
    }

    /// The text so far, if this encoder keeps it.
    pub fn text(&self) -> Option<&[u8]> {
        self.kept_bytes.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize;

    use super::*;

    #[derive(Serialize)]
    struct Line {
        at_ms: u64,
        what: &'static str,
    }

    #[test]
    fn field_order_is_declaration_order_and_each_record_is_one_line() {
        let mut encoder = JsonLinesEncoder::keeping_text();
        encoder.encode(&Line {
            at_ms: 5,
            what: "a\nb",
        });
        encoder.encode(&Line {
            at_ms: 6,
            what: "c",
        });
        let text = String::from_utf8(encoder.text().unwrap().to_vec()).unwrap();
        assert_eq!(
            text,
            "{\"at_ms\":5,\"what\":\"a\\nb\"}\n{\"at_ms\":6,\"what\":\"c\"}\n"
        );
        assert_eq!(encoder.line_count(), 2);
    }

    #[test]
    fn hash_covers_exactly_the_text() {
        let mut keeping = JsonLinesEncoder::keeping_text();
        let mut hashing = JsonLinesEncoder::hashing_only();
        for at_ms in 0..10 {
            keeping.encode(&Line { at_ms, what: "x" });
            hashing.encode(&Line { at_ms, what: "x" });
        }
        let mut direct = TraceHasher::new();
        direct.update(keeping.text().unwrap());
        assert_eq!(keeping.hash(), direct.finish());
        assert_eq!(hashing.hash(), keeping.hash());
        assert!(hashing.text().is_none());
    }

    #[test]
    fn different_traces_hash_differently() {
        let mut one = JsonLinesEncoder::hashing_only();
        let mut two = JsonLinesEncoder::hashing_only();
        one.encode(&Line {
            at_ms: 1,
            what: "x",
        });
        two.encode(&Line {
            at_ms: 2,
            what: "x",
        });
        assert_ne!(one.hash(), two.hash());
    }
}
