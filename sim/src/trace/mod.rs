//! The trace: the one canonical stream of events every run produces (design, "the trace is the
//! contract"). The oracle, the conformance checker, the reports and the snapshots all read it, and its
//! hash names a run: the same seed gives the same hash.

mod classic;
mod event;
mod hash;
mod json_lines;
mod reader;
mod sink;
#[cfg(test)]
mod tests;

pub use classic::{ClassicTraceEvent, CommittedPosition, TopicPartitionName};
pub use event::{RunMarker, ShareConsumerEvent, TraceEvent, TraceRecord};
pub use hash::{TraceHash, TraceHasher};
pub use json_lines::JsonLinesEncoder;
pub use reader::{read_json_lines, TraceReadError};
pub use sink::Trace;
