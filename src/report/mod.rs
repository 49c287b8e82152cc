//! Reports: per run `report.json` (metrics, config, seed, trace hash, verdicts), `report.md`, a
//! self-contained `report.html` with inline SVG (record-state swimlanes, delivery-count histogram,
//! end-to-end latency, throughput, consumer lag, faults on the time axis) and `trace.jsonl`; per sweep
//! the same three reports plus `results.json`, which `merge` joins across shards.

pub mod html;
pub mod library_report;
pub mod run_report;
pub mod svg;
pub mod sweep_report;
pub mod timeline;

pub use library_report::{write_library_index, write_study_report};
pub use run_report::{replay_command, run_html, run_json, run_markdown, write_run_report};
pub use sweep_report::{
    failures_text, summarize, summary_text, write_sweep_report, PointSummary, SweepResults,
};
pub use timeline::{record_timeline, TimelineEntry};
