//! The admin metrics of a run with `offset_reset` levers (spec 5.3): `offset_resets_done`, the
//! AlterShareGroupOffsets calls the group coordinator accepted, and `offset_resets_rejected`, those it
//! answered with an error (NON_EMPTY_GROUP while the group has members). Set only when the trace holds
//! an answer, so other runs report nothing new.

use sharesim_sim::trace::{TraceEvent, TraceRecord};

use super::metrics::RunMetrics;

/// Sets `offset_resets_done` and `offset_resets_rejected` from the answers' fault records.
pub fn admin_metrics(records: &[TraceRecord], metrics: &mut RunMetrics) {
    let (mut done, mut rejected, mut answered) = (0u64, 0u64, false);
    for record in records {
        let TraceEvent::Fault { lever, detail } = &record.event else {
            continue;
        };
        if lever != "offset_reset" || !detail.starts_with("answer: ") {
            continue;
        }
        answered = true;
        if detail.ends_with(": NONE") {
            done += 1;
        } else {
            rejected += 1;
        }
    }
    if answered {
        metrics.set("offset_resets_done", done as f64);
        metrics.set("offset_resets_rejected", rejected as f64);
    }
}
