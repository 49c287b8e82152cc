//! Scripted runs (`script`): an exact list of share-partition steps for the engine backend, in place of
//! the sampled workload. `sharesim check --emit-scenario` writes one from a model counterexample, so the
//! simulator walks the same path the model found.
//!
//! A scripted scenario has one topic with one partition, one share group, no producers (the script
//! produces), and consumer instances that play the script's members: `member` N is the N-th consumer
//! instance (entries in order, instances within). Steps run one virtual millisecond apart, in order:
//!
//! ```json
//! "script": [
//!   {"step": "produce", "records": 1},
//!   {"step": "acquire", "member": 0, "max_records": 2, "expect_offsets": [0]},
//!   {"step": "lock_expiry", "offset": 0},
//!   {"step": "acknowledge", "member": 0, "offsets": [0], "ack_type": "RELEASE"},
//!   {"step": "persister_write", "offsets": [0], "outcome": "failed"}
//! ]
//! ```
//!
//! While a script runs, persister writes wait until a `persister_write` step delivers or fails them
//! (the writes of a `lock_expiry` complete within that step); scripted members fetch only in `acquire`
//! steps. After the last step the consumers poll as their entries say, the workload phase ends
//! (`duration_ms` or the script's end, whichever is later) and the liveness phase follows as usual.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::error::{FieldError, ScenarioErrorKind as Kind};
use super::path::FieldPath;
use super::scenario::{GroupType, Scenario};

/// `share.acquire.mode` of one scripted fetch.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScriptAcquireMode {
    /// Whole log batches (the default).
    #[default]
    BatchOptimized,
    /// At most `max_records` records (kafka-4.2).
    RecordLimit,
}

/// An acknowledge type, with Kafka's names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScriptAckType {
    /// No data record at the offset.
    Gap,
    /// Processed.
    Accept,
    /// Deliver again.
    Release,
    /// Unprocessable.
    Reject,
    /// Keep the lock (kafka-4.2).
    Renew,
}

/// How a held persister write ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScriptWriteOutcome {
    /// It reaches the share coordinator, which applies it or fences it.
    Delivered,
    /// It never reaches the coordinator; the leader gets COORDINATOR_NOT_AVAILABLE.
    Failed,
}

fn default_true() -> bool {
    true
}

/// One scripted step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "step", rename_all = "snake_case", deny_unknown_fields)]
pub enum ScriptStep {
    /// The producer appends one log batch of `records` records.
    Produce {
        /// Records in the batch (at least 1).
        records: u32,
    },
    /// A ShareFetch by `member` (BatchSize 1: each log batch is its own acquired range).
    Acquire {
        /// The member (consumer instance index).
        member: u32,
        /// `max.poll.records` sent as MaxRecords (at least 1).
        max_records: u32,
        /// `share.acquire.mode`.
        #[serde(default)]
        mode: ScriptAcquireMode,
        /// The offsets the model acquired; a different outcome is noted in the run's facts.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        expect_offsets: Option<Vec<i64>>,
    },
    /// One ShareAcknowledge by `member`: every offset with `ack_type`.
    Acknowledge {
        /// The member.
        member: u32,
        /// The offsets (at least one).
        offsets: Vec<i64>,
        /// The type.
        ack_type: ScriptAckType,
    },
    /// The acquisition lock of `offset` expires now (virtual time jumps to its deadline; locks due
    /// earlier fire too, which is noted). Its lock-timeout write completes within the step.
    LockExpiry {
        /// The offset.
        offset: i64,
        /// Whether the lock-timeout write reaches the coordinator (default true) or fails.
        #[serde(default = "default_true")]
        persisted: bool,
    },
    /// The member's share session closes: the leader releases its records.
    SessionClose {
        /// The member.
        member: u32,
    },
    /// The member closes and leaves the group (its consumer instance stops until the liveness phase).
    MemberLeave {
        /// The member.
        member: u32,
    },
    /// The oldest held persister write carrying exactly `offsets` (of the leader at `leader_epoch`, if
    /// given) completes.
    PersisterWrite {
        /// The offsets the write carries.
        offsets: Vec<i64>,
        /// The writer's leader epoch (the simulator's first leader has epoch 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        leader_epoch: Option<i32>,
        /// Delivered or failed.
        outcome: ScriptWriteOutcome,
    },
    /// Leadership moves to another broker: a new leader at the next epoch reads the persisted state.
    LeaderFailover,
    /// Retention or DeleteRecords moves the log start offset.
    LogStartMove {
        /// The new log start offset.
        offset: i64,
    },
    /// AlterShareGroupOffsets: the persisted state starts again at `start_offset`, next state epoch.
    OffsetReset {
        /// The new start offset.
        start_offset: i64,
    },
}

impl ScriptStep {
    /// The step's name as written in `step`.
    pub fn name(&self) -> &'static str {
        match self {
            ScriptStep::Produce { .. } => "produce",
            ScriptStep::Acquire { .. } => "acquire",
            ScriptStep::Acknowledge { .. } => "acknowledge",
            ScriptStep::LockExpiry { .. } => "lock_expiry",
            ScriptStep::SessionClose { .. } => "session_close",
            ScriptStep::MemberLeave { .. } => "member_leave",
            ScriptStep::PersisterWrite { .. } => "persister_write",
            ScriptStep::LeaderFailover => "leader_failover",
            ScriptStep::LogStartMove { .. } => "log_start_move",
            ScriptStep::OffsetReset { .. } => "offset_reset",
        }
    }

    fn member(&self) -> Option<u32> {
        match self {
            ScriptStep::Acquire { member, .. }
            | ScriptStep::Acknowledge { member, .. }
            | ScriptStep::SessionClose { member }
            | ScriptStep::MemberLeave { member } => Some(*member),
            _ => None,
        }
    }
}

/// Checks a scenario's `script` against the rest of the scenario (see the module docs).
pub fn validate_script(scenario: &Scenario) -> Result<(), FieldError> {
    if scenario.script.is_empty() {
        return Ok(());
    }
    let root = FieldPath::root();
    let needs = |path: FieldPath, message: &str| {
        Err(FieldError::new(
            path,
            Kind::InvalidValue,
            format!("a scripted scenario (`script`) needs {message}"),
        ))
    };
    if scenario.topics.len() != 1 || scenario.topics[0].partitions != 1 {
        return needs(root.key("topics"), "exactly one topic with one partition");
    }
    let share_groups: Vec<&str> = scenario
        .groups
        .iter()
        .filter(|group| group.group_type == GroupType::Share)
        .map(|group| group.name.as_str())
        .collect();
    if share_groups.len() != 1 || scenario.groups.len() != 1 {
        return needs(root.key("groups"), "exactly one share group");
    }
    if !scenario.producers.is_empty() {
        return needs(
            root.key("producers"),
            "no producers (its `produce` steps produce)",
        );
    }
    let members: u32 = scenario
        .consumers
        .iter()
        .filter(|consumer| consumer.group == share_groups[0])
        .map(|consumer| consumer.count)
        .sum();
    for (index, step) in scenario.script.iter().enumerate() {
        let path = root.key("script").index(index);
        if let Some(member) = step.member() {
            if member >= members {
                return Err(FieldError::new(
                    path.key("member"),
                    Kind::InvalidValue,
                    format!(
                        "member {member} does not exist: the share group's consumers have {members} \
                         instances (members 0..{members})"
                    ),
                ));
            }
        }
        let positive = |value: u32, field: &str| {
            if value == 0 {
                Err(FieldError::new(
                    path.key(field),
                    Kind::InvalidValue,
                    format!("`{field}` must be at least 1"),
                ))
            } else {
                Ok(())
            }
        };
        let offsets_ok = |offsets: &[i64]| {
            if offsets.is_empty() || offsets.iter().any(|offset| *offset < 0) {
                Err(FieldError::new(
                    path.key("offsets"),
                    Kind::InvalidValue,
                    "`offsets` must list at least one offset, none negative",
                ))
            } else {
                Ok(())
            }
        };
        let offset_ok = |offset: i64, field: &str| {
            if offset < 0 {
                Err(FieldError::new(
                    path.key(field),
                    Kind::InvalidValue,
                    format!("`{field}` must not be negative"),
                ))
            } else {
                Ok(())
            }
        };
        match step {
            ScriptStep::Produce { records } => positive(*records, "records")?,
            ScriptStep::Acquire {
                max_records, mode, ..
            } => {
                positive(*max_records, "max_records")?;
                if *mode == ScriptAcquireMode::RecordLimit
                    && scenario.profile < sharesim_sim::semantics::Release::Kafka4_2
                {
                    return Err(FieldError::new(
                        path.key("mode"),
                        Kind::InvalidValue,
                        "share.acquire.mode record_limit needs kafka-4.2",
                    ));
                }
            }
            ScriptStep::Acknowledge { offsets, .. }
            | ScriptStep::PersisterWrite { offsets, .. } => offsets_ok(offsets)?,
            ScriptStep::LockExpiry { offset, .. } | ScriptStep::LogStartMove { offset } => {
                offset_ok(*offset, "offset")?
            }
            ScriptStep::OffsetReset { start_offset } => offset_ok(*start_offset, "start_offset")?,
            ScriptStep::SessionClose { .. }
            | ScriptStep::MemberLeave { .. }
            | ScriptStep::LeaderFailover => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_scenario;

    fn scripted(script: &str) -> String {
        format!(
            "{{\n  \"topics\": [{{\"name\": \"t\"}}],\n  \"groups\": [{{\"name\": \"g\"}}],\n  \
             \"consumers\": [{{\"group\": \"g\", \"count\": 2}}],\n  \"script\": [\n{script}\n  ]\n}}\n"
        )
    }

    /// Issue 7: a valid script parses into its steps.
    #[test]
    fn a_script_parses() {
        let text = scripted(
            "    {\"step\": \"produce\", \"records\": 2},\n    \
             {\"step\": \"acquire\", \"member\": 1, \"max_records\": 2},\n    \
             {\"step\": \"lock_expiry\", \"offset\": 0, \"persisted\": false},\n    \
             {\"step\": \"leader_failover\"}",
        );
        let scenario = parse_scenario("s.json", &text).expect("valid");
        assert_eq!(scenario.script.len(), 4);
        assert_eq!(scenario.script[3].name(), "leader_failover");
    }

    /// Issue 7: bad scripts get one error with file, line, column and field path.
    #[test]
    fn bad_scripts_name_file_line_column_and_path() {
        let unknown_member = scripted(
            "    {\"step\": \"produce\", \"records\": 1},\n    \
             {\"step\": \"session_close\", \"member\": 2}",
        );
        let error = parse_scenario("s.json", &unknown_member).expect_err("member 2 of 2");
        let text = error.to_string();
        assert!(text.starts_with("s.json:7:"), "{text}");
        assert!(text.contains("script[1].member"), "{text}");
        assert!(text.contains("members 0..2"), "{text}");

        let unknown_step = scripted("    {\"step\": \"teleport\"}");
        let text = parse_scenario("s.json", &unknown_step)
            .expect_err("unknown step")
            .to_string();
        assert!(text.starts_with("s.json:6:"), "{text}");
        assert!(text.contains("teleport"), "{text}");

        let unknown_field = scripted("    {\"step\": \"produce\", \"records\": 1, \"count\": 3}");
        let text = parse_scenario("s.json", &unknown_field)
            .expect_err("unknown field")
            .to_string();
        assert!(text.contains("script[0]"), "{text}");
        assert!(text.contains("count"), "{text}");

        let with_producer = scripted("    {\"step\": \"produce\", \"records\": 1}").replace(
            "\"consumers\"",
            "\"producers\": [{\"topic\": \"t\"}],\n  \"consumers\"",
        );
        let text = parse_scenario("s.json", &with_producer)
            .expect_err("producers with a script")
            .to_string();
        assert!(text.contains("no producers"), "{text}");
    }
}
