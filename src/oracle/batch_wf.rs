//! BATCH-WF: acquired ranges are well formed (`0 <= first <= last`) and one fetch response never hands
//! out an offset twice. A response is the run of consecutive `acquired` events of one partition for one
//! member at one instant (the engine emits a fetch's acquisitions together).

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::MemberId;
use sharesim_sim::trace::TraceRecord;

use super::checker::{keep_first, partition_event, violation_at, Checker, Violation};
use super::metrics::Metrics;

/// The response being read: who, when, and the offsets it handed out with their event.
#[derive(Debug)]
struct Response {
    key: SharePartitionKey,
    member: MemberId,
    at_ms: u64,
    last_seq: u64,
    offsets: BTreeMap<i64, u64>,
}

/// The BATCH-WF checker.
#[derive(Debug, Default)]
pub struct BatchWf {
    response: Option<Response>,
    first: Option<Violation>,
}

impl Checker for BatchWf {
    fn code(&self) -> &'static str {
        "BATCH-WF"
    }

    fn observe(&mut self, record: &TraceRecord) {
        let Some((key, _, event)) = partition_event(record) else {
            return;
        };
        let PartitionEvent::Acquired {
            member,
            first_offset,
            last_offset,
            ..
        } = event
        else {
            return;
        };
        if *first_offset < 0 || first_offset > last_offset {
            let message =
                format!("acquired range [{first_offset}, {last_offset}] is not well formed");
            let v = violation_at(
                self.code(),
                record,
                Some(*first_offset),
                Some(member),
                &[],
                message,
            );
            keep_first(&mut self.first, v);
            return;
        }
        let continues = self.response.as_ref().is_some_and(|r| {
            r.key == key
                && r.member == *member
                && r.at_ms == record.at_ms
                && r.last_seq + 1 == record.seq
        });
        if !continues {
            self.response = Some(Response {
                key,
                member: member.clone(),
                at_ms: record.at_ms,
                last_seq: record.seq,
                offsets: BTreeMap::new(),
            });
        }
        let response = self.response.as_mut().expect("set above");
        response.last_seq = record.seq;
        for offset in *first_offset..=*last_offset {
            if let Some(earlier) = response.offsets.insert(offset, record.seq) {
                let message = format!("one response handed offset {offset} to {member} twice");
                let v = violation_at(
                    "BATCH-WF",
                    record,
                    Some(offset),
                    Some(member),
                    &[earlier],
                    message,
                );
                keep_first(&mut self.first, v);
                return;
            }
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
