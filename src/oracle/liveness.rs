//! LIVENESS (end of run): after `liveness_phase_started` (faults healed, consumers polling), every record
//! the trace showed reaches ACKNOWLEDGED or ARCHIVED, or falls below SPSO, within the phase's bound
//! (design, "Check safety first, then liveness"). Decided from the records' last `acquired`/`transition`
//! states and SPSO per partition; a new leader epoch turns ACQUIRED records AVAILABLE (spec 3.5). Records
//! the trace never showed (produced but never fetched) need produce events to be judged.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::share::SharePartitionKey;
use sharesim_sim::share::partition::PartitionEvent;
use sharesim_sim::share::RecordState;
use sharesim_sim::trace::{RunMarker, TraceEvent, TraceRecord};

use super::checker::{
    keep_first, partition_event, Checker, EpochAdmission, LeaderEpochs, Violation,
};
use super::metrics::Metrics;

/// The LIVENESS checker.
#[derive(Debug, Default)]
pub struct Liveness {
    /// (phase start, deadline).
    phase: Option<(u64, u64)>,
    leader_epochs: LeaderEpochs,
    start_offsets: BTreeMap<SharePartitionKey, i64>,
    /// Last state of each record, with the event and its time.
    states: BTreeMap<(SharePartitionKey, i64), (RecordState, u64, u64)>,
    first: Option<Violation>,
}

fn is_terminal(state: RecordState) -> bool {
    matches!(state, RecordState::Acknowledged | RecordState::Archived)
}

impl Liveness {
    fn set(
        &mut self,
        key: &SharePartitionKey,
        offset: i64,
        state: RecordState,
        record: &TraceRecord,
    ) {
        self.states
            .insert((key.clone(), offset), (state, record.seq, record.at_ms));
        if let Some((_, deadline_ms)) = self.phase {
            if is_terminal(state) && record.at_ms > deadline_ms {
                let at_ms = record.at_ms;
                let message = format!(
                    "offset {offset} became {state:?} at {at_ms} ms, past {deadline_ms} ms"
                );
                let v = super::checker::violation_at(
                    "LIVENESS",
                    record,
                    Some(offset),
                    None,
                    &[],
                    message,
                );
                keep_first(&mut self.first, v);
            }
        }
    }
}

impl Checker for Liveness {
    fn code(&self) -> &'static str {
        "LIVENESS"
    }

    fn undecided_reason(&self) -> Option<String> {
        match self.phase {
            None => Some("the trace has no liveness_phase_started marker".to_string()),
            Some(_) => None,
        }
    }

    fn observe(&mut self, record: &TraceRecord) {
        if let TraceEvent::Run {
            marker: RunMarker::LivenessPhaseStarted { bound_ms },
        } = &record.event
        {
            self.phase = Some((record.at_ms, record.at_ms + bound_ms));
        }
        let Some((key, leader_epoch, event)) = partition_event(record) else {
            return;
        };
        match self.leader_epochs.admit(&key, leader_epoch) {
            EpochAdmission::Stale => return,
            EpochAdmission::New => {
                for ((_, _), (state, _, _)) in
                    self.states.iter_mut().filter(|((k, _), _)| *k == key)
                {
                    if *state == RecordState::Acquired {
                        *state = RecordState::Available;
                    }
                }
            }
            EpochAdmission::Current => {}
        }
        match event {
            PartitionEvent::Acquired {
                first_offset,
                last_offset,
                ..
            } => (*first_offset..=*last_offset)
                .for_each(|o| self.set(&key, o, RecordState::Acquired, record)),
            PartitionEvent::Transition {
                first_offset,
                last_offset,
                to,
                ..
            } => (*first_offset..=*last_offset).for_each(|o| self.set(&key, o, *to, record)),
            PartitionEvent::StartOffsetMoved { to, .. } => {
                self.start_offsets.insert(key, *to);
            }
            _ => {}
        }
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        if let Some((phase_start_ms, deadline_ms)) = self.phase {
            for ((key, offset), (state, seq, at_ms)) in &self.states {
                let below_start = self
                    .start_offsets
                    .get(key)
                    .is_some_and(|&spso| *offset < spso);
                if !is_terminal(*state) && !below_start {
                    let partition =
                        format!("{}/{:032x}-{}", key.group_id, key.topic_id.0, key.partition);
                    let phase =
                        format!("liveness phase from {phase_start_ms} ms, bound {deadline_ms} ms");
                    let message = format!(
                        "offset {offset} of {partition} still {state:?} at the end, {phase}"
                    );
                    let v = Violation {
                        code: "LIVENESS",
                        seq: *seq,
                        at_ms: *at_ms,
                        offset: Some(*offset),
                        member: None,
                        event_seqs: vec![*seq],
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
