//! INFLIGHT-CAP: the in-flight window `SPEO - SPSO + 1` of a share partition stays within
//! `group.share.partition.max.record.locks`, overshooting by at most one whole log batch, and SPEO grows
//! only from a window below the limit (spec 1.5, `canAcquireRecords`). Decided from
//! `start_offset_moved` and `end_offset_moved` within one leader epoch.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, OracleConfig, Violation};
use super::metrics::Metrics;

const CODE: &str = "INFLIGHT-CAP";

/// SPSO and SPEO of one partition in its newest leader epoch.
#[derive(Debug, Default)]
struct Window {
    leader_epoch: i32,
    start_offset: Option<i64>,
    end_offset: Option<i64>,
}

impl Window {
    fn in_flight(&self) -> i64 {
        match (self.start_offset, self.end_offset) {
            (Some(start), Some(end)) => (end - start + 1).max(0),
            _ => 0,
        }
    }
}

/// The INFLIGHT-CAP checker.
#[derive(Debug)]
pub struct InflightCap {
    limit: i64,
    overshoot_max: i64,
    windows: BTreeMap<SharePartitionKey, Window>,
    first: Option<Violation>,
}

impl InflightCap {
    /// Judges against `config`'s `max_record_locks` and overshoot.
    pub fn new(config: &OracleConfig) -> InflightCap {
        InflightCap {
            limit: i64::from(config.max_record_locks),
            overshoot_max: i64::from(config.in_flight_overshoot_max),
            windows: BTreeMap::new(),
            first: None,
        }
    }
}

impl Checker for InflightCap {
    fn code(&self) -> &'static str {
        "INFLIGHT-CAP"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        let window = self.windows.entry(key).or_insert(Window {
            leader_epoch,
            ..Window::default()
        });
        if leader_epoch > window.leader_epoch {
            *window = Window {
                leader_epoch,
                ..Window::default()
            };
        } else if leader_epoch < window.leader_epoch {
            return;
        }
        let message = match event {
            PartitionEvent::StartOffsetMoved { to, .. } => {
                window.start_offset = Some(*to);
                None
            }
            PartitionEvent::EndOffsetMoved { from, to } => {
                let before = window.in_flight();
                window.end_offset = Some(*to);
                if to > from && before >= self.limit {
                    Some(format!(
                        "SPEO grew from {from} to {to} with {before} records in flight, limit {}",
                        self.limit
                    ))
                } else if window.in_flight() > self.limit + self.overshoot_max {
                    Some(format!(
                        "{} records in flight, limit {} plus overshoot {}",
                        window.in_flight(),
                        self.limit,
                        self.overshoot_max
                    ))
                } else {
                    None
                }
            }
            _ => None,
        };
        if let Some(message) = message {
            keep_first(
                &mut self.first,
                violation_at(CODE, record, None, None, &[], message),
            );
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
