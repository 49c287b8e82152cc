//! The transaction metrics of a run with transactional producers (spec 6): `aborted_archived`, the
//! records a read_committed share partition archived as aborted (cause `aborted_transaction`, never
//! handed out), and `aborted_delivered`, those of them an application got anyway (0 unless the broker
//! leaks an aborted record). Set only when the trace shows a transactional batch, so runs without
//! transactions report nothing new.

use std::collections::BTreeSet;

use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::share::partition::{PartitionEvent, TransitionCause};
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{ShareConsumerEvent, TraceEvent, TraceRecord};

use super::metrics::{RecordKey, RunMetrics};

/// Sets `aborted_archived` and `aborted_delivered` when a transactional batch was produced.
pub fn transaction_metrics(records: &[TraceRecord], metrics: &mut RunMetrics) {
    let mut transactional = false;
    let mut aborted: BTreeSet<RecordKey> = BTreeSet::new();
    let mut delivered: BTreeSet<RecordKey> = BTreeSet::new();
    for record in records {
        match &record.event {
            TraceEvent::Cluster {
                event:
                    ClusterEvent::Produced {
                        transactional: true,
                        ..
                    },
            } => transactional = true,
            TraceEvent::SharePartition {
                group_id,
                topic_id,
                partition,
                event:
                    PartitionEvent::Transition {
                        first_offset,
                        last_offset,
                        to: RecordState::Archived,
                        cause: TransitionCause::AbortedTransaction,
                        ..
                    },
                ..
            } => aborted.extend(
                (*first_offset..=*last_offset)
                    .map(|offset| (group_id.clone(), topic_id.0, *partition, offset)),
            ),
            TraceEvent::ShareConsumer {
                group_id,
                event:
                    ShareConsumerEvent::RecordDelivered {
                        topic_id,
                        partition,
                        offset,
                        ..
                    },
                ..
            } => {
                delivered.insert((group_id.clone(), topic_id.0, *partition, *offset));
            }
            _ => {}
        }
    }
    if !transactional {
        return;
    }
    metrics.set("aborted_archived", aborted.len() as f64);
    let leaked = aborted.intersection(&delivered).count();
    metrics.set("aborted_delivered", leaked as f64);
}
