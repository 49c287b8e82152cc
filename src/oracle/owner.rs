//! OWNER: acknowledgements, renewals and session releases touch only the records of the member that holds
//! them (spec 1.2 #2-4, #6, #7). Decided from `transition` out of ACQUIRED with cause `acknowledge` or
//! `session_release`, and from `lock_renewed`: the event's member must be the holder.

use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::{MemberId, RecordState};
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, Violation};
use super::holders::Holders;
use super::metrics::Metrics;

/// The OWNER checker.
#[derive(Debug, Default)]
pub struct Owner {
    holders: Holders,
    first: Option<Violation>,
}

impl Owner {
    fn check_range(
        &mut self,
        record: &TraceRecord,
        member: &MemberId,
        first: i64,
        last: i64,
        what: &str,
    ) {
        let Some((key, _, _)) = partition_event(record) else {
            return;
        };
        for offset in first..=last {
            let (holder_name, earlier) = match self.holders.holder(&key, offset) {
                Some(holder) if holder.member == *member => continue,
                Some(holder) => (holder.member.to_string(), vec![holder.acquired_seq]),
                None => ("no member".to_string(), Vec::new()),
            };
            let message =
                format!("{what} by {member} changed offset {offset}, held by {holder_name}");
            let v = violation_at(
                "OWNER",
                record,
                Some(offset),
                Some(member),
                &earlier,
                message,
            );
            keep_first(&mut self.first, v);
            return;
        }
    }
}

impl Checker for Owner {
    fn code(&self) -> &'static str {
        "OWNER"
    }

    fn observe(&mut self, record: &TraceRecord) {
        if let Some((key, leader_epoch, event)) = partition_event(record) {
            self.holders.begin(&key, leader_epoch);
            if !self.holders.is_stale(&key, leader_epoch) {
                match event {
                    PartitionEvent::Transition {
                        first_offset,
                        last_offset,
                        from: RecordState::Acquired,
                        member: Some(member),
                        cause,
                        ..
                    } => {
                        let what = match cause {
                            TransitionCause::Acknowledge { .. } => Some("acknowledgement"),
                            TransitionCause::SessionRelease => Some("session release"),
                            _ => None,
                        };
                        if let Some(what) = what {
                            self.check_range(record, member, *first_offset, *last_offset, what);
                        }
                    }
                    PartitionEvent::LockRenewed {
                        member,
                        first_offset,
                        last_offset,
                        ..
                    } => self.check_range(record, member, *first_offset, *last_offset, "renewal"),
                    _ => {}
                }
            }
        }
        self.holders.apply(record);
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
