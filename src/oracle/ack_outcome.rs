//! ACK-OUTCOME: every acknowledgement a consumer sends reaches exactly one outcome, reported once to the
//! application (spec 7.3, the commit callback). Decided from the consumers' `acknowledgements_sent` and
//! `acknowledgement_outcome`: an outcome must cover acknowledgements that were sent and are still waiting,
//! and once the liveness phase's bound has passed nothing may still wait. A run that drained before that
//! bound is judged at its end instead: nothing may have waited longer than `request.timeout.ms` (the
//! client reports a timed-out request's acknowledgements as failed by then). Acknowledgements the client
//! failed without sending them have their own event (`acknowledgements_failed_unsent`), not counted here.
//! A consumer that crashes (the `consumer_crash` lever) takes its waiting acknowledgements with it: no
//! application is left to report to, so they wait for nothing (the cluster names a consumer's node
//! `consumer-E-I`, `consumer-E-I-rN` after restarts, and the lever `consumer:E/I` or `consumer:E`).

use std::collections::BTreeMap;

use sharesim_sim::share::MemberId;
use sharesim_sim::trace::{RunMarker, ShareConsumerEvent, TraceEvent, TraceRecord};

use super::checker::{keep_first, violation_at, Checker, Violation};
use super::metrics::Metrics;

/// Kafka's `request.timeout.ms` default: a request is answered or failed within it.
const REQUEST_TIMEOUT_MS: u64 = 30_000;

/// (group, member, topic, partition, offset).
type AckKey = (String, MemberId, u128, i32, i64);

/// The ACK-OUTCOME checker.
#[derive(Debug, Default)]
pub struct AckOutcome {
    /// Sent acknowledgements waiting for their outcome: the `acknowledgements_sent` events, oldest first.
    waiting: BTreeMap<AckKey, Vec<(u64, u64)>>,
    /// When every waiting acknowledgement must have its outcome (liveness phase start + bound).
    deadline_ms: Option<u64>,
    /// When the run finished (its `run_finished` marker).
    finished_ms: Option<u64>,
    last_at_ms: u64,
    /// The node each member's events come from (a crash names nodes, not members).
    member_nodes: BTreeMap<MemberId, String>,
    first: Option<Violation>,
}

impl Checker for AckOutcome {
    fn code(&self) -> &'static str {
        "ACK-OUTCOME"
    }

    fn observe(&mut self, record: &TraceRecord) {
        self.last_at_ms = record.at_ms;
        match &record.event {
            TraceEvent::Run {
                marker: RunMarker::LivenessPhaseStarted { bound_ms },
            } => self.deadline_ms = Some(record.at_ms + bound_ms),
            TraceEvent::Run {
                marker: RunMarker::RunFinished,
            } => self.finished_ms = Some(record.at_ms),
            TraceEvent::Fault { lever, detail } if lever == "consumer_crash" => {
                if let Some(node_prefix) = crashed_node_prefix(detail) {
                    let crashed = |node: &String| {
                        node.strip_prefix(&node_prefix)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
                    };
                    let members = &self.member_nodes;
                    self.waiting.retain(|(_, member, _, _, _), _| {
                        !members.get(member).is_some_and(crashed)
                    });
                }
            }
            TraceEvent::ShareConsumer {
                group_id,
                member,
                event,
            } => match event {
                ShareConsumerEvent::AcknowledgementsSent {
                    topic_id,
                    partition,
                    acknowledgements,
                } => {
                    self.member_nodes
                        .insert(member.clone(), record.node.clone());
                    for (offset, _) in acknowledgements {
                        let key = (
                            group_id.clone(),
                            member.clone(),
                            topic_id.0,
                            *partition,
                            *offset,
                        );
                        self.waiting
                            .entry(key)
                            .or_default()
                            .push((record.seq, record.at_ms));
                    }
                }
                ShareConsumerEvent::AcknowledgementOutcome {
                    topic_id,
                    partition,
                    acknowledgements,
                    ..
                } => {
                    for (offset, _) in acknowledgements {
                        let key = (
                            group_id.clone(),
                            member.clone(),
                            topic_id.0,
                            *partition,
                            *offset,
                        );
                        let sent = self.waiting.get_mut(&key).filter(|sent| !sent.is_empty());
                        if let Some(sent) = sent {
                            sent.remove(0);
                            continue;
                        }
                        let message = format!(
                            "outcome for offset {offset} reported to {member}, no acknowledgement waiting"
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
                        break;
                    }
                }
                // Failed by the client without being sent (spec 2.3: no share session with the node):
                // nothing was waiting for them here, and their one outcome is this event.
                ShareConsumerEvent::RecordDelivered { .. }
                | ShareConsumerEvent::AcknowledgementsFailedUnsent { .. } => {}
            },
            _ => {}
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        let bound = match (self.deadline_ms, self.finished_ms) {
            (Some(deadline_ms), _) if deadline_ms <= self.last_at_ms => {
                Some((deadline_ms, format!("no outcome by {deadline_ms} ms")))
            }
            (_, Some(end_ms)) => Some((
                end_ms.saturating_sub(REQUEST_TIMEOUT_MS),
                format!("no outcome by the end of the run at {end_ms} ms (request.timeout.ms {REQUEST_TIMEOUT_MS})"),
            )),
            _ => None,
        };
        if let Some((sent_before_ms, why)) = bound {
            for ((_, member, _, _, offset), sent) in &self.waiting {
                if let Some(&(seq, at_ms)) =
                    sent.first().filter(|(_, at_ms)| *at_ms < sent_before_ms)
                {
                    let sent = format!("offset {offset} acknowledged by {member} at {at_ms} ms");
                    let message = format!("{sent}, {why}");
                    let v = Violation {
                        code: "ACK-OUTCOME",
                        seq,
                        at_ms,
                        offset: Some(*offset),
                        member: Some(member.clone()),
                        event_seqs: vec![seq],
                        message,
                    };
                    keep_first(&mut self.first, v);
                    break;
                }
            }
        }
        self.first.take().into_iter().collect()
    }
}

/// The node-name prefix of the consumer a `consumer_crash` pull names: `pull: crash consumer:0/2` →
/// `consumer-0-2`, `pull: crash consumer:1` → `consumer-1`.
fn crashed_node_prefix(detail: &str) -> Option<String> {
    let reference = detail.strip_prefix("pull: crash consumer:")?;
    Some(format!("consumer-{}", reference.replace('/', "-")))
}
