//! NO-LOSS: nothing is skipped silently. Decided, as far as the events allow, from two rules: (1) a record
//! a member ACCEPTed must have been delivered to that member's application first (a consumer with no
//! `record_delivered` events is not judged); (2) a new leader's initial SPSO (`start_offset_moved`, cause
//! `initialization`) must not pass a record an earlier leader epoch left non-terminal, unless a log-start
//! move passed it; (3) every committed record at or past the share partition's SPSO was delivered at
//! least once, judged against the committed ends the runner knows ([`super::committed`]).

use std::collections::BTreeSet;

use sharesim_sim::share::partition::{PartitionEvent, StartOffsetMoveCause};
use sharesim_sim::share::{AcknowledgeType, MemberId};
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::checker::{
    keep_first, partition_event, violation_at, Checker, EpochAdmission, LastStates, LeaderEpochs,
    Violation,
};
use super::committed::{CommittedCoverage, CommittedPartition};
use super::metrics::Metrics;

/// The NO-LOSS checker.
#[derive(Debug, Default)]
pub struct NoLoss {
    /// Members whose consumers report deliveries.
    reporting_members: BTreeSet<(String, MemberId)>,
    /// (group, member, topic, partition, offset) delivered to the application.
    delivered: BTreeSet<(String, MemberId, u128, i32, i64)>,
    leader_epochs: LeaderEpochs,
    /// Last state of each record and the event (kept across leader epochs: a new leader's initial SPSO
    /// is judged against what earlier epochs left).
    states: LastStates,
    /// Rule (3): committed records never shown.
    coverage: CommittedCoverage,
    first: Option<Violation>,
}

impl NoLoss {
    /// NO-LOSS judging rule (3) against `committed` (empty: rules (1) and (2) only).
    pub fn new(committed: Vec<CommittedPartition>) -> NoLoss {
        NoLoss {
            coverage: CommittedCoverage::new(committed),
            ..NoLoss::default()
        }
    }
}

impl Checker for NoLoss {
    fn code(&self) -> &'static str {
        "NO-LOSS"
    }

    fn observe(&mut self, record: &TraceRecord) {
        self.coverage.observe_record(record);
        if let TraceEvent::ShareConsumer {
            group_id,
            member,
            event,
        } = &record.event
        {
            match event {
                ShareConsumerEvent::RecordDelivered {
                    topic_id,
                    partition,
                    offset,
                    ..
                } => {
                    self.reporting_members
                        .insert((group_id.clone(), member.clone()));
                    self.delivered.insert((
                        group_id.clone(),
                        member.clone(),
                        topic_id.0,
                        *partition,
                        *offset,
                    ));
                }
                ShareConsumerEvent::AcknowledgementsSent {
                    topic_id,
                    partition,
                    acknowledgements,
                } => {
                    if !self
                        .reporting_members
                        .contains(&(group_id.clone(), member.clone()))
                    {
                        return;
                    }
                    for (offset, ack_type) in acknowledgements {
                        let delivered = (
                            group_id.clone(),
                            member.clone(),
                            topic_id.0,
                            *partition,
                            *offset,
                        );
                        if *ack_type == AcknowledgeType::Accept
                            && !self.delivered.contains(&delivered)
                        {
                            let message = format!(
                                "{member} accepted offset {offset} that its application never got"
                            );
                            let v = violation_at(
                                self.code(),
                                record,
                                Some(*offset),
                                Some(member),
                                &[],
                                message,
                            );
                            keep_first(&mut self.first, v);
                            return;
                        }
                    }
                }
                ShareConsumerEvent::AcknowledgementOutcome { .. }
                | ShareConsumerEvent::AcknowledgementsFailedUnsent { .. } => {}
            }
            return;
        }
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        let admission = self.leader_epochs.admit(&key, leader_epoch);
        if admission == EpochAdmission::Stale {
            return;
        }
        self.states.observe(&key, event, record.seq);
        self.coverage.observe(&key, event);
        let PartitionEvent::StartOffsetMoved { from, to, cause } = event else {
            return;
        };
        match cause {
            StartOffsetMoveCause::LogStartOffsetMove => self.states.forget_below(&key, *to),
            StartOffsetMoveCause::Initialization => {
                if let Some((offset, state, seq)) =
                    self.states.first_non_terminal(&key, i64::MIN, *to)
                {
                    let start =
                        format!("leader epoch {leader_epoch} started at SPSO {to} (from {from})");
                    let message = format!("{start}, skipping offset {offset} left {state:?}");
                    let v = violation_at(self.code(), record, Some(offset), None, &[seq], message);
                    keep_first(&mut self.first, v);
                }
            }
            _ => {}
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        if let Some(skipped) = self.coverage.first_skipped() {
            keep_first(&mut self.first, skipped);
        }
        self.first.take().into_iter().collect()
    }
}
