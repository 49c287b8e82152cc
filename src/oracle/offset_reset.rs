//! The oracle's view of a share-group offset reset (spec 5.3, 3.4). AlterShareGroupOffsets on an empty
//! group re-initializes the partition's state at a new state epoch; the live share partition is fenced
//! at its next write and its leader loads the new state, in the same leader epoch. To the checkers that
//! reload is a new incarnation of the share partition: what was ACKNOWLEDGED before may legitimately be
//! delivered again (a reset back), and what lies below the new start offset may legitimately never be
//! delivered (a reset forward). [`ResetView`] rewrites the trace the checkers see accordingly, and
//! nothing else: after a successful reset's answer (the `offset_reset` fault record ending in `NONE`),
//! the partition's next INITIALIZING starts an incarnation whose events carry the leader epoch plus the
//! number of incarnations (so each checker forgets per-epoch state as at a failover), and the
//! incarnation's initialization to the reset's start offset counts as a log-start move (records below
//! it are passed, not lost).

use std::borrow::Cow;
use std::collections::BTreeMap;

use sharesim_sim::share::partition::{PartitionEvent, PartitionState, StartOffsetMoveCause};
use sharesim_sim::trace::{TraceEvent, TraceRecord};

/// The `offset_reset` lever's name in fault records.
const LEVER: &str = "offset_reset";

/// A successful reset not yet loaded by the partition's leader: (group, partition) → start offset.
type PendingResets = BTreeMap<(String, i32), i64>;

/// Rewrites share-partition events after successful offset resets (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct ResetView {
    pending: PendingResets,
    /// (group, topic id, partition) → incarnations so far and the start offset of the newest one,
    /// until its initialization event was rewritten.
    incarnations: BTreeMap<(String, u128, i32), (i32, Option<i64>)>,
}

impl ResetView {
    /// The record as the checkers should see it.
    pub(crate) fn view<'a>(&mut self, record: &'a TraceRecord) -> Cow<'a, TraceRecord> {
        match &record.event {
            TraceEvent::Fault { lever, detail } if lever == LEVER => {
                if let Some((group, partition, start_offset)) = successful_reset(detail) {
                    self.pending.insert((group, partition), start_offset);
                }
                Cow::Borrowed(record)
            }
            TraceEvent::SharePartition {
                group_id,
                topic_id,
                partition,
                leader_epoch,
                event,
            } => {
                let key = (group_id.clone(), topic_id.0, *partition);
                let starts_over = matches!(
                    event,
                    PartitionEvent::PartitionStateChanged {
                        to: PartitionState::Initializing,
                        ..
                    }
                );
                if starts_over {
                    if let Some(start) = self.pending.remove(&(group_id.clone(), *partition)) {
                        let entry = self.incarnations.entry(key.clone()).or_insert((0, None));
                        entry.0 += 1;
                        entry.1 = Some(start);
                    }
                }
                let Some((count, start)) = self.incarnations.get_mut(&key) else {
                    return Cow::Borrowed(record);
                };
                let mut rewritten = record.clone();
                let TraceEvent::SharePartition {
                    leader_epoch: epoch,
                    event: rewritten_event,
                    ..
                } = &mut rewritten.event
                else {
                    return Cow::Borrowed(record);
                };
                *epoch = leader_epoch.saturating_add(*count);
                if let PartitionEvent::StartOffsetMoved { to, cause, .. } = rewritten_event {
                    if *cause == StartOffsetMoveCause::Initialization && Some(*to) == *start {
                        *cause = StartOffsetMoveCause::LogStartOffsetMove;
                        *start = None;
                    }
                }
                Cow::Owned(rewritten)
            }
            _ => Cow::Borrowed(record),
        }
    }
}

/// (group, partition) of a successful reset's answer record: the state acknowledged before it is
/// replaced by the admin's (DURABLE promises nothing across it).
pub(crate) fn successful_reset_of(record: &TraceRecord) -> Option<(String, i32)> {
    match &record.event {
        TraceEvent::Fault { lever, detail } if lever == LEVER => {
            successful_reset(detail).map(|(group, partition, _)| (group, partition))
        }
        _ => None,
    }
}

/// (group, partition, start offset) of an `answer: AlterShareGroupOffsets GROUP TOPIC-P to S: NONE`.
fn successful_reset(detail: &str) -> Option<(String, i32, i64)> {
    let rest = detail.strip_prefix("answer: AlterShareGroupOffsets ")?;
    let (call, answer) = rest.split_once(": ")?;
    if answer != "NONE" {
        return None;
    }
    let mut words = call.split(' ');
    let group = words.next()?.to_string();
    let (_, partition) = words.next()?.rsplit_once('-')?;
    let start_offset = words.nth(1)?.parse().ok()?;
    Some((group, partition.parse().ok()?, start_offset))
}

#[cfg(test)]
mod tests {
    use sharesim_sim::coordinator::share::TopicId;
    use sharesim_sim::share::MemberId;

    use super::*;

    fn record(seq: u64, event: TraceEvent) -> TraceRecord {
        TraceRecord {
            seq,
            at_ms: seq,
            node: "broker-1".to_string(),
            event,
        }
    }

    fn partition(event: PartitionEvent) -> TraceEvent {
        TraceEvent::SharePartition {
            group_id: "g".to_string(),
            topic_id: TopicId(7),
            partition: 0,
            leader_epoch: 3,
            event,
        }
    }

    fn epoch_and_event(record: &TraceRecord) -> (i32, PartitionEvent) {
        match &record.event {
            TraceEvent::SharePartition {
                leader_epoch,
                event,
                ..
            } => (*leader_epoch, event.clone()),
            _ => panic!("not a partition event"),
        }
    }

    /// Spec 5.3 / 3.4: after a successful AlterShareGroupOffsets the reloaded share partition is a new
    /// incarnation (epoch + 1) whose initialization to the reset offset passes the records below it;
    /// a refused reset (NON_EMPTY_GROUP) changes nothing.
    #[test]
    fn a_successful_reset_starts_a_new_incarnation_at_its_offset() {
        let mut view = ResetView::default();
        let refused = record(
            0,
            TraceEvent::Fault {
                lever: LEVER.to_string(),
                detail: "answer: AlterShareGroupOffsets g orders-0 to 9: NON_EMPTY_GROUP (68)"
                    .to_string(),
            },
        );
        assert!(matches!(view.view(&refused), Cow::Borrowed(_)));
        let initializing = PartitionEvent::PartitionStateChanged {
            from: PartitionState::Empty,
            to: PartitionState::Initializing,
            error_code: 0,
        };
        let before = record(1, partition(initializing.clone()));
        assert_eq!(epoch_and_event(&view.view(&before)).0, 3, "no reset yet");
        let done = record(
            2,
            TraceEvent::Fault {
                lever: LEVER.to_string(),
                detail: "answer: AlterShareGroupOffsets g orders-0 to 900: NONE".to_string(),
            },
        );
        view.view(&done);
        let acquired = PartitionEvent::Acquired {
            member: MemberId::new("m1"),
            first_offset: 5,
            last_offset: 5,
            delivery_count: 1,
            lock_deadline_ms: 30_000,
        };
        let stale = record(3, partition(acquired.clone()));
        assert_eq!(
            epoch_and_event(&view.view(&stale)).0,
            3,
            "the old incarnation until the leader reloads"
        );
        assert_eq!(
            epoch_and_event(&view.view(&record(4, partition(initializing)))).0,
            4
        );
        let init = PartitionEvent::StartOffsetMoved {
            from: 0,
            to: 900,
            cause: StartOffsetMoveCause::Initialization,
        };
        let (epoch, event) = epoch_and_event(&view.view(&record(5, partition(init))));
        assert_eq!(epoch, 4);
        assert_eq!(
            event,
            PartitionEvent::StartOffsetMoved {
                from: 0,
                to: 900,
                cause: StartOffsetMoveCause::LogStartOffsetMove,
            }
        );
        assert_eq!(
            epoch_and_event(&view.view(&record(6, partition(acquired)))).0,
            4
        );
    }
}
