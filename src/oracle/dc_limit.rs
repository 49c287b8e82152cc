//! DC-LIMIT: no record is delivered more often than `group.share.delivery.count.limit` allows (spec 1.3).
//! Decided from `acquired`: its delivery count stays within the limit, and one leader epoch hands an
//! offset out at most `limit` times (less what a 4.1 session release gave back, spec 1.2 #6, seen as a
//! `transition` that lowers the delivery count). Across failover the count restarts from the persisted
//! one (spec 3.5, "delivery counts are approximate"): deliveries beyond the limit counted over all epochs
//! are allowed and reported as the metric `deliveries_beyond_limit_across_failover`.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::trace::TraceRecord;

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LeaderEpochs, Violation,
};
use super::metrics::Metrics;

/// Deliveries of one record.
#[derive(Debug, Default)]
struct Deliveries {
    /// In the newest leader epoch, less session-release give-backs.
    in_epoch: u32,
    /// The delivery count it was last handed out (or transitioned) with.
    last_count: u16,
    /// Over all epochs.
    total: u32,
    /// The `acquired` events, newest last.
    seqs: Vec<u64>,
}

/// The DC-LIMIT checker.
#[derive(Debug)]
pub struct DcLimit {
    limit: u16,
    leader_epochs: LeaderEpochs,
    deliveries: BTreeMap<(SharePartitionKey, i64), Deliveries>,
    first: Option<Violation>,
}

impl DcLimit {
    /// Judges against `group.share.delivery.count.limit` = `limit`.
    pub fn new(limit: u16) -> DcLimit {
        DcLimit {
            limit,
            leader_epochs: LeaderEpochs::default(),
            deliveries: BTreeMap::new(),
            first: None,
        }
    }
}

impl Checker for DcLimit {
    fn code(&self) -> &'static str {
        "DC-LIMIT"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        match self.leader_epochs.admit(&key, leader_epoch) {
            EpochAdmission::Stale => return,
            EpochAdmission::New => {
                for (_, deliveries) in self.deliveries.iter_mut().filter(|((k, _), _)| *k == key) {
                    deliveries.in_epoch = 0;
                }
            }
            EpochAdmission::Current => {}
        }
        match event {
            PartitionEvent::Acquired {
                member,
                first_offset,
                last_offset,
                delivery_count,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    let deliveries = self.deliveries.entry((key.clone(), offset)).or_default();
                    deliveries.in_epoch += 1;
                    deliveries.total += 1;
                    deliveries.last_count = *delivery_count;
                    deliveries.seqs.push(record.seq);
                    let message = if *delivery_count > self.limit {
                        format!(
                            "offset {offset} has delivery count {delivery_count}, limit {}",
                            self.limit
                        )
                    } else if deliveries.in_epoch > u32::from(self.limit) {
                        format!(
                            "offset {offset} delivered {} times in leader epoch {leader_epoch}, limit {}",
                            deliveries.in_epoch, self.limit
                        )
                    } else {
                        continue;
                    };
                    let earlier = &deliveries.seqs[..deliveries.seqs.len() - 1];
                    let v = violation_at(
                        "DC-LIMIT",
                        record,
                        Some(offset),
                        Some(member),
                        earlier,
                        message,
                    );
                    keep_first(&mut self.first, v);
                    break;
                }
            }
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                delivery_count,
                ..
            } => {
                for offset in *first_offset..=*last_offset {
                    if let Some(deliveries) = self.deliveries.get_mut(&(key.clone(), offset)) {
                        let given_back = deliveries.last_count.saturating_sub(*delivery_count);
                        deliveries.in_epoch =
                            deliveries.in_epoch.saturating_sub(u32::from(given_back));
                        deliveries.last_count = *delivery_count;
                    }
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, metrics: &mut Metrics) -> Vec<Violation> {
        let beyond: u64 = self
            .deliveries
            .values()
            .map(|d| u64::from(d.total.saturating_sub(u32::from(self.limit))))
            .sum();
        metrics.add("deliveries_beyond_limit_across_failover", beyond);
        self.first.take().into_iter().collect()
    }
}
