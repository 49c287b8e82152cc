//! FENCING: writes with a stale leader epoch are rejected (spec 2.2, 3.2). Decided from `write_committed`:
//! once a write of leader epoch E committed for a share partition, no write of an older leader epoch may
//! commit after it. (State-epoch fencing needs the share coordinator's events; see the report.)

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, Violation};
use super::metrics::Metrics;

/// The FENCING checker.
#[derive(Debug, Default)]
pub struct Fencing {
    /// The newest leader epoch with a committed write, and that event.
    committed: BTreeMap<SharePartitionKey, (i32, u64)>,
    first: Option<Violation>,
}

impl Checker for Fencing {
    fn code(&self) -> &'static str {
        "FENCING"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, PartitionEvent::WriteCommitted { write_id })) =
            partition_event(record)
        else {
            return;
        };
        match self.committed.get(&key) {
            Some(&(newest, seq)) if leader_epoch < newest => {
                let message = format!(
                    "write {} of leader epoch {leader_epoch} committed after one of epoch {newest}",
                    write_id.0
                );
                keep_first(
                    &mut self.first,
                    violation_at("FENCING", record, None, None, &[seq], message),
                );
            }
            Some(&(newest, _)) if leader_epoch == newest => {}
            _ => {
                self.committed.insert(key, (leader_epoch, record.seq));
            }
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
