//! Counterexamples (and `sometimes` examples) as a stable JSON list of named steps, to be replayed as a
//! simulator scenario.
//!
//! # Format (stable; change only by adding optional fields)
//!
//! ```json
//! { "model": "spec", "property": "DC-LIMIT: ...", "profile": "kafka-4.2", "config": { ... },
//!   "steps": [ { "action": "produce", "offsets": [0, 1] },
//!              { "action": "acquire", "member": 0, "mode": "batch_optimized", "offsets": [0, 1],
//!                "delivery_counts": [1, 1] }, ... ] }
//! ```
//!
//! Members are indices `0..members`; offsets are log offsets from 0. One object per step, with
//! `action` one of:
//!
//! - `produce` {`offsets`}: the producer appends one log batch.
//! - `acquire` {`member`, `mode`, `offsets`, `delivery_counts`}: a ShareFetch acquires these offsets.
//! - `acknowledge` {`member`, `offset`, `ack_type`: `GAP`/`ACCEPT`/`RELEASE`/`REJECT`}: a one-offset
//!   ack; the transition starts now, the answer comes with its `persister_write`.
//! - `corrupt_batch` {`member`, `log_batch`, `offsets`}: CRC failure; the client REJECTs these offsets
//!   in one request.
//! - `deserialization_error` {`member`, `offset`}: the client RELEASEs the record.
//! - `lock_expiry` {`offset`, `owner`, `new_state`, `during_write`, `persisted`}: the acquisition lock
//!   expires; its write reaches the coordinator (`persisted`) or fails.
//! - `session_close` / `member_leave` {`member`, `offsets`}: the session closes (and the member
//!   leaves); these offsets are released.
//! - `persister_write` {`write`, `outcome`: `committed`/`failed`/`fenced`}: the coordinator answers a
//!   pending write.
//! - `leader_failover` {`leader_epoch`}: a new leader initializes from the persisted image.
//! - `log_start_move` {`log_start_offset`}: retention or DeleteRecords moves the log start.
//! - `offset_reset` {`start_offset`, `state_epoch`}: AlterShareGroupOffsets to `start_offset`.
//!
//! A `write` is `{ "kind": "acknowledge" | "session_release" | "lock_expiry", "member": n | null,
//! "offsets": [...], "start_offset", "leader_epoch", "state_epoch" }`: a simulator matches it to the
//! write its run has in flight.

use std::fmt;

use serde::{Deserialize, Serialize};
use stateright::{Model, Path, Representative};

use crate::config::{AcquireMode, Profile, ShareModelCfg, SpecMutation};
use crate::share_partition::{AckType, ShareAction, ShareModel};
use crate::state::{mask_offsets, PendingWrite, RecordState, ShareState, WriteKind};

/// A persister write, as named in a counterexample.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedWrite {
    /// `acknowledge`, `session_release` or `lock_expiry`.
    pub kind: String,
    /// The member whose request caused it.
    pub member: Option<u8>,
    /// The offsets it carries.
    pub offsets: Vec<u8>,
    /// Its `StartOffset`.
    pub start_offset: u8,
    /// The writer's leader epoch.
    pub leader_epoch: u8,
    /// The writer's state epoch.
    pub state_epoch: u8,
}

impl NamedWrite {
    fn of(write: &PendingWrite) -> NamedWrite {
        let kind = match write.kind {
            WriteKind::Acknowledge(_) => "acknowledge",
            WriteKind::SessionRelease(_) => "session_release",
            WriteKind::LockExpiry => "lock_expiry",
            WriteKind::DeadLetter => "dead_letter",
        };
        NamedWrite {
            kind: kind.to_string(),
            member: write.kind.member().map(|m| m.0),
            offsets: mask_offsets(write.offsets),
            start_offset: write.start_offset,
            leader_epoch: write.leader_epoch,
            state_epoch: write.state_epoch,
        }
    }
}

/// How the coordinator answered a write.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WriteOutcome {
    /// Applied; the leader commits (or the write was a late one that changes only the image).
    Committed,
    /// Failed (e.g. COORDINATOR_NOT_AVAILABLE); the leader rolls back.
    Failed,
    /// Rejected with FENCED_LEADER_EPOCH or FENCED_STATE_EPOCH.
    Fenced,
}

/// One step of a counterexample, with everything a replay needs named explicitly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum NamedStep {
    /// The producer appends a log batch.
    Produce {
        /// Offsets appended.
        offsets: Vec<u8>,
    },
    /// A ShareFetch acquires records.
    Acquire {
        /// Fetching member.
        member: u8,
        /// Acquire mode.
        mode: AcquireMode,
        /// Offsets acquired.
        offsets: Vec<u8>,
        /// Their delivery counts after acquisition.
        delivery_counts: Vec<u8>,
    },
    /// A one-offset acknowledgement.
    Acknowledge {
        /// Acknowledging member.
        member: u8,
        /// Offset.
        offset: u8,
        /// Ack type.
        ack_type: AckType,
    },
    /// A corrupt batch: the client REJECTs the offsets it acquired from the log batch.
    CorruptBatch {
        /// Consuming member.
        member: u8,
        /// Log batch index.
        log_batch: u8,
        /// Offsets rejected.
        offsets: Vec<u8>,
    },
    /// A deserialization error: the client RELEASEs the record.
    DeserializationError {
        /// Consuming member.
        member: u8,
        /// Offset.
        offset: u8,
    },
    /// An acquisition lock expires.
    LockExpiry {
        /// Offset.
        offset: u8,
        /// The member that held it.
        owner: Option<u8>,
        /// The state afterwards (the target of the pending transition if `during_write`).
        new_state: RecordState,
        /// Whether an ack write was pending (the record is skipped, see spec 1.4).
        during_write: bool,
        /// Whether the lock-timeout write reached the coordinator (`false`: it failed).
        persisted: bool,
    },
    /// A share session closes.
    SessionClose {
        /// Member.
        member: u8,
        /// Offsets released.
        offsets: Vec<u8>,
    },
    /// A member closes and leaves.
    MemberLeave {
        /// Member.
        member: u8,
        /// Offsets released.
        offsets: Vec<u8>,
    },
    /// The coordinator answers a pending write.
    PersisterWrite {
        /// The write.
        write: NamedWrite,
        /// The answer.
        outcome: WriteOutcome,
    },
    /// Leadership moves.
    LeaderFailover {
        /// The new leader epoch.
        leader_epoch: u8,
    },
    /// The log start offset moves.
    LogStartMove {
        /// The new log start offset.
        log_start_offset: u8,
    },
    /// The group's offsets are reset.
    OffsetReset {
        /// The new start offset.
        start_offset: u8,
        /// The new state epoch.
        state_epoch: u8,
    },
    /// The DLQ's phase 2 archives an ARCHIVING record.
    DeadLetterCompleted {
        /// Offset.
        offset: u8,
        /// Whether the enqueue to the DLQ topic succeeded.
        enqueued: bool,
        /// The state afterwards (ARCHIVED).
        new_state: RecordState,
        /// Whether the ARCHIVED write reached the coordinator (`false`: it failed).
        persisted: bool,
    },
}

impl fmt::Display for NamedStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NamedStep::Produce { offsets } => write!(f, "produce offsets {offsets:?}"),
            NamedStep::Acquire { member, mode, offsets, delivery_counts } => write!(
                f,
                "member {member} acquires offsets {offsets:?} ({mode:?}), delivery counts {delivery_counts:?}"
            ),
            NamedStep::Acknowledge { member, offset, ack_type } => {
                write!(f, "member {member} acknowledges offset {offset} with {ack_type:?}")
            }
            NamedStep::CorruptBatch { member, log_batch, offsets } => {
                write!(f, "member {member} finds log batch {log_batch} corrupt and rejects {offsets:?}")
            }
            NamedStep::DeserializationError { member, offset } => {
                write!(f, "member {member} fails to deserialize offset {offset} and releases it")
            }
            NamedStep::LockExpiry { offset, owner, new_state, during_write, persisted } => {
                let owner = owner.map_or("nobody".to_string(), |m| format!("member {m}"));
                let during = if *during_write { " during a pending write" } else { "" };
                let write = if *persisted { "" } else { " (its write fails)" };
                write!(f, "lock of offset {offset} (held by {owner}) expires{during}: {new_state:?}{write}")
            }
            NamedStep::SessionClose { member, offsets } => {
                write!(f, "member {member} closes its session, releasing {offsets:?}")
            }
            NamedStep::MemberLeave { member, offsets } => {
                write!(f, "member {member} leaves the group, releasing {offsets:?}")
            }
            NamedStep::PersisterWrite { write, outcome } => {
                let member = write.member.map_or(String::new(), |m| format!(" of member {m}"));
                write!(
                    f,
                    "{} write{member} for {:?} (start {}, leader epoch {}, state epoch {}): {outcome:?}",
                    write.kind, write.offsets, write.start_offset, write.leader_epoch, write.state_epoch
                )
            }
            NamedStep::LeaderFailover { leader_epoch } => {
                write!(f, "leader fails over; new leader epoch {leader_epoch}")
            }
            NamedStep::LogStartMove { log_start_offset } => {
                write!(f, "log start offset moves to {log_start_offset}")
            }
            NamedStep::OffsetReset { start_offset, state_epoch } => {
                write!(f, "group offsets reset to {start_offset}; state epoch {state_epoch}")
            }
            NamedStep::DeadLetterCompleted { offset, enqueued, new_state, persisted } => {
                let enqueue = if *enqueued { "succeeds" } else { "fails" };
                let write = if *persisted { "" } else { " (its write fails)" };
                write!(f, "dead-letter enqueue of offset {offset} {enqueue}: {new_state:?}{write}")
            }
        }
    }
}

/// A counterexample (or example) path, ready to serialize.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counterexample {
    /// Which model produced it (`spec`).
    pub model: String,
    /// The property it violates (or, for `sometimes`, reaches).
    pub property: String,
    /// The profile.
    pub profile: Profile,
    /// The bounds it was found with.
    pub config: ShareModelCfg,
    /// The steps, in order.
    pub steps: Vec<NamedStep>,
}

impl Counterexample {
    /// The steps as numbered lines.
    pub fn numbered_steps(&self) -> String {
        let mut out = String::new();
        for (index, step) in self.steps.iter().enumerate() {
            out.push_str(&format!("{:>3}. {step}\n", index + 1));
        }
        out
    }
}

/// Names one step taken from `before` by `action`, arriving at `after` (all without renaming).
pub fn name_step(
    model: &ShareModel,
    before: &ShareState,
    action: ShareAction,
    after: &ShareState,
) -> NamedStep {
    let changed_to = |state: RecordState| -> Vec<u8> {
        (0..before.records.len() as u8)
            .filter(|&o| after.record(o).state == state && after.record(o).pending.is_none())
            .filter(|&o| before.record(o).state != state || before.record(o).pending.is_some())
            .collect()
    };
    // The offsets whose two-phase transition this step started.
    let started_transitions = || -> Vec<u8> {
        (0..before.records.len() as u8)
            .filter(|&o| after.record(o).pending.is_some() && before.record(o).pending.is_none())
            .collect()
    };
    match action {
        ShareAction::Produce => NamedStep::Produce {
            offsets: (before.produced..after.produced).collect(),
        },
        ShareAction::Acquire { member, mode } => {
            let offsets = changed_to(RecordState::Acquired);
            let delivery_counts = offsets
                .iter()
                .map(|&o| after.record(o).delivery_count)
                .collect();
            NamedStep::Acquire {
                member: member.0,
                mode,
                offsets,
                delivery_counts,
            }
        }
        ShareAction::Acknowledge {
            member,
            offset,
            ack_type,
        } => NamedStep::Acknowledge {
            member: member.0,
            offset,
            ack_type,
        },
        ShareAction::CorruptBatch { member, log_batch } => {
            let offsets = (0..before.records.len() as u8)
                .filter(|&o| {
                    after.record(o).pending.is_some() && before.record(o).pending.is_none()
                })
                .collect();
            NamedStep::CorruptBatch {
                member: member.0,
                log_batch,
                offsets,
            }
        }
        ShareAction::DeserializationError { member, offset } => NamedStep::DeserializationError {
            member: member.0,
            offset,
        },
        ShareAction::LockExpiry { offset, persisted } => {
            let record = before.record(offset);
            let owner = record
                .owner
                .or(record.pending.map(|r| r.owner))
                .map(|m| m.0);
            NamedStep::LockExpiry {
                offset,
                owner,
                new_state: after.record(offset).state,
                during_write: record.pending.is_some(),
                persisted,
            }
        }
        ShareAction::SessionClose { member } => NamedStep::SessionClose {
            member: member.0,
            offsets: started_transitions(),
        },
        ShareAction::MemberLeave { member } => NamedStep::MemberLeave {
            member: member.0,
            offsets: started_transitions(),
        },
        ShareAction::WriteSucceeds { slot } | ShareAction::WriteFails { slot } => {
            let write = before.writes[slot as usize].expect("a write step names a pending write");
            let stale = write.leader_epoch < before.coordinator.leader_epoch
                || write.state_epoch < before.coordinator.state_epoch;
            let fencing = model.cfg.mutation != Some(SpecMutation::FencingSkipped);
            let outcome = match action {
                ShareAction::WriteFails { .. } => WriteOutcome::Failed,
                _ if stale && fencing => WriteOutcome::Fenced,
                _ => WriteOutcome::Committed,
            };
            NamedStep::PersisterWrite {
                write: NamedWrite::of(&write),
                outcome,
            }
        }
        ShareAction::LeaderFailover => NamedStep::LeaderFailover {
            leader_epoch: after.leader_epoch,
        },
        ShareAction::LogStartMove { log_start } => NamedStep::LogStartMove {
            log_start_offset: log_start,
        },
        ShareAction::OffsetReset { start_offset } => NamedStep::OffsetReset {
            start_offset,
            state_epoch: after.coordinator.state_epoch,
        },
        ShareAction::DeadLetterCompleted {
            offset,
            enqueued,
            persisted,
        } => NamedStep::DeadLetterCompleted {
            offset,
            enqueued,
            new_state: after.record(offset).state,
            persisted,
        },
    }
}

/// Turns a checker path into named steps. When the model canonicalizes states (BFS symmetry), the
/// path's member names change between steps; the path is then replayed on the unreduced model, picking
/// at each step a successor in the same symmetry class, so the steps form one real trace.
pub fn counterexample(
    model: &ShareModel,
    property: &str,
    path: Path<ShareState, ShareAction>,
) -> Counterexample {
    let plain = ShareModel::new(ShareModelCfg {
        symmetry: false,
        ..model.cfg.clone()
    });
    let pairs = path.into_vec();
    let mut steps = Vec::new();
    let mut actual = plain.initial_state();
    let mut candidates = Vec::new();
    for window in pairs.windows(2) {
        let (_, Some(action)) = &window[0] else {
            break;
        };
        let target = &window[1].0;
        let chosen = if model.cfg.symmetry {
            candidates.clear();
            plain.actions(&actual, &mut candidates);
            let matching = candidates.iter().copied().find_map(|candidate| {
                let next = plain.next_state(&actual, candidate)?;
                (next.representative() == *target).then_some((candidate, next))
            });
            matching.expect("a canonical successor has a renamed successor in the unreduced model")
        } else {
            let next = plain
                .next_state(&actual, *action)
                .expect("path steps are transitions");
            (*action, next)
        };
        steps.push(name_step(&plain, &actual, chosen.0, &chosen.1));
        actual = chosen.1;
    }
    Counterexample {
        model: "spec".to_string(),
        property: property.to_string(),
        profile: model.cfg.profile,
        config: ShareModelCfg {
            symmetry: false,
            ..model.cfg.clone()
        },
        steps,
    }
}
