//! The trace: the one canonical stream of events every run produces (design, "the trace is the
//! contract"). The oracle, the conformance checker, the reports and the snapshots all read it, and its
//! hash names a run: the same seed gives the same hash.

mod hash;
mod json_lines;

pub use hash::{TraceHash, TraceHasher};
pub use json_lines::JsonLinesEncoder;
