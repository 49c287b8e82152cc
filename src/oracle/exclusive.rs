//! EXCLUSIVE: a record is held (ACQUIRED, lock not expired) by at most one member at a time (spec 1.2 #1,
//! #5). Decided from `acquired`: no offset it hands out may have a holder whose lock is still live.

use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, Violation};
use super::holders::Holders;
use super::metrics::Metrics;

/// The EXCLUSIVE checker.
#[derive(Debug, Default)]
pub struct Exclusive {
    holders: Holders,
    first: Option<Violation>,
}

impl Checker for Exclusive {
    fn code(&self) -> &'static str {
        "EXCLUSIVE"
    }

    fn observe(&mut self, record: &TraceRecord) {
        if let Some((key, leader_epoch, event)) = partition_event(record) {
            self.holders.begin(&key, leader_epoch);
            if let PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                ..
            } = event
            {
                if !self.holders.is_stale(&key, leader_epoch) {
                    for offset in *first_offset..=*last_offset {
                        let Some(holder) = self.holders.holder(&key, offset) else {
                            continue;
                        };
                        if holder.lock_deadline_ms > record.at_ms {
                            let message = format!(
                                "offset {offset} handed to {member} while {} held it with a lock until {} ms",
                                holder.member, holder.lock_deadline_ms
                            );
                            let earlier = [holder.acquired_seq];
                            let v = violation_at(
                                self.code(),
                                record,
                                Some(offset),
                                Some(member),
                                &earlier,
                                message,
                            );
                            keep_first(&mut self.first, v);
                            break;
                        }
                    }
                }
            }
        }
        self.holders.apply(record);
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
