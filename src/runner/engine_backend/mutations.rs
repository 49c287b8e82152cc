//! Mutation switches (issue 6): named, deliberate protocol mistakes that exist only to prove the oracle
//! catches what it claims. Off by default; a scenario switches them on by name in `mutations` (never by
//! any other field). Two live in the share-partition engine ([`EngineMutation`]); the others are
//! mistakes of the node glue the engine backend plays (the broker's persister calls and lock timers,
//! the consumer client), where a real broker or client could make them.

use std::collections::BTreeSet;

use sharesim_sim::share::partition::EngineMutation;

use crate::runner::backend::RunError;

/// A deliberate mistake of the engine backend's broker or consumer glue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum NodeMutation {
    /// The broker answers a `WriteShareGroupState` as done without sending it to the share coordinator.
    PersisterAcksWithoutWriting,
    /// The broker reports an acknowledgement's outcome to the consumer twice.
    DuplicateAckOutcome,
    /// The broker never fires acquisition-lock timers.
    SkipLockTimers,
    /// The consumer's application skips the last record of each fetch but still ACCEPTs it.
    AcceptSkippedRecords,
    /// The broker drops the acknowledgements piggybacked on a ShareFetch: never applied, never answered.
    DropPiggybackedAcks,
    /// Persister writes reach the share coordinator as if from the newest leader epoch, so a zombie
    /// leader's writes are never fenced. (The fencing rule itself lives in the share coordinator's shard;
    /// this stands in for skipping it, at the engine backend's one persister call.)
    SkipLeaderEpochFencing,
}

/// One mutation switch: its name, the invariant it must break, and the mistake in plain words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MutationSwitch {
    /// The name a scenario's `mutations` uses.
    pub name: &'static str,
    /// The oracle invariant (or `conformance`) that must catch it.
    pub breaks: &'static str,
    /// The mistake.
    pub mistake: &'static str,
}

/// Every switch the engine backend can turn on, in the order reports list them.
pub const MUTATION_SWITCHES: &[MutationSwitch] = &[
    MutationSwitch {
        name: "expiry_ignores_delivery_limit",
        breaks: "DC-LIMIT",
        mistake: "lock expiry makes a record AVAILABLE again even at the delivery-count limit",
    },
    MutationSwitch {
        name: "release_from_non_owner",
        breaks: "OWNER",
        mistake: "the engine accepts a RELEASE from a member that does not hold the record (a \
                  reconnected client releases what its previous member id held)",
    },
    MutationSwitch {
        name: "persister_acks_without_writing",
        breaks: "DURABLE",
        mistake: "the broker answers WriteShareGroupState as done without writing it",
    },
    MutationSwitch {
        name: "duplicate_ack_outcome",
        breaks: "ACK-OUTCOME",
        mistake: "the broker reports an acknowledgement's outcome twice",
    },
    MutationSwitch {
        name: "skip_lock_timers",
        breaks: "LIVENESS",
        mistake: "the broker never fires acquisition-lock timers",
    },
    MutationSwitch {
        name: "accept_skipped_records",
        breaks: "NO-LOSS",
        mistake: "the consumer ACCEPTs the last record of each fetch without handing it to the application",
    },
    MutationSwitch {
        name: "acquire_ignores_lock",
        breaks: "EXCLUSIVE",
        mistake: "acquisition takes cached ACQUIRED records too, whoever holds their lock",
    },
    MutationSwitch {
        name: "acquire_terminal_records",
        breaks: "TERMINAL-FINAL",
        mistake: "acquisition takes cached ACKNOWLEDGED and ARCHIVED records too",
    },
    MutationSwitch {
        name: "spso_passes_pending_write",
        breaks: "SPSO-SAFE",
        mistake: "SPSO advances over records whose persister write is still in flight",
    },
    MutationSwitch {
        name: "ignore_max_record_locks",
        breaks: "INFLIGHT-CAP",
        mistake: "acquisition ignores group.share.partition.max.record.locks",
    },
    MutationSwitch {
        name: "duplicate_acquired_range",
        breaks: "BATCH-WF",
        mistake: "a ShareFetch response lists its last acquired range twice",
    },
    MutationSwitch {
        name: "drop_piggybacked_acks",
        breaks: "ACK-OUTCOME",
        mistake: "the broker drops the acknowledgements piggybacked on a ShareFetch: never applied, \
                  never answered",
    },
    MutationSwitch {
        name: "skip_leader_epoch_fencing",
        breaks: "FENCING",
        mistake: "the share coordinator takes a zombie leader's writes: leader-epoch fencing skipped",
    },
];

/// Switches only the cluster backend carries (`--backend cluster`): the mistake is its group
/// coordinator's, and the engine backend has none (its consumers own every partition up front). They
/// are not in [`MUTATION_SWITCHES`], the list `sharesim mutations` sweeps on the engine backend (and
/// `reports/mutations.md`); `sharesim mutations --backend cluster --only NAME` sweeps one of them.
pub const CLUSTER_ONLY_MUTATION_SWITCHES: &[MutationSwitch] = &[MutationSwitch {
    name: "assignor_skips_a_member",
    breaks: "MEMBERSHIP",
    mistake:
        "the group coordinator's simple assignor leaves the last member (by id) out: it gets no \
              partitions while the others share the assignment",
}];

/// The switches a run has on.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Mutations {
    /// The engine's own switch (one at a time).
    pub engine: Option<EngineMutation>,
    /// The glue's switches.
    pub node: BTreeSet<NodeMutation>,
}

impl Mutations {
    /// Whether glue switch `mutation` is on.
    pub(crate) fn has(&self, mutation: NodeMutation) -> bool {
        self.node.contains(&mutation)
    }

    /// The switches `names` turn on; an unknown name is an error listing the known ones.
    pub(crate) fn parse(names: &[String]) -> Result<Mutations, RunError> {
        let mut mutations = Mutations::default();
        for name in names {
            let node = match name.as_str() {
                "persister_acks_without_writing" => Some(NodeMutation::PersisterAcksWithoutWriting),
                "duplicate_ack_outcome" => Some(NodeMutation::DuplicateAckOutcome),
                "skip_lock_timers" => Some(NodeMutation::SkipLockTimers),
                "accept_skipped_records" => Some(NodeMutation::AcceptSkippedRecords),
                "drop_piggybacked_acks" => Some(NodeMutation::DropPiggybackedAcks),
                "skip_leader_epoch_fencing" => Some(NodeMutation::SkipLeaderEpochFencing),
                _ => None,
            };
            if let Some(node) = node {
                mutations.node.insert(node);
                continue;
            }
            if CLUSTER_ONLY_MUTATION_SWITCHES
                .iter()
                .any(|s| s.name == name)
            {
                return Err(RunError(format!(
                    "the mutation switch `{name}` exists only on the cluster backend (its group \
                     coordinator makes the mistake); use --backend cluster"
                )));
            }
            let kebab = serde_json::Value::String(name.replace('_', "-"));
            let engine: EngineMutation = serde_json::from_value(kebab).map_err(|_| {
                let known: Vec<String> = MUTATION_SWITCHES
                    .iter()
                    .map(|switch| format!("`{}`", switch.name))
                    .collect();
                RunError(format!(
                    "unknown mutation `{name}`: the engine backend knows {}",
                    known.join(", ")
                ))
            })?;
            if mutations.engine.replace(engine).is_some() {
                return Err(RunError(
                    "the engine backend switches on one engine mutation at a time".to_string(),
                ));
            }
        }
        Ok(mutations)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 6: every listed switch parses, and an unknown one is a clear error naming the known ones.
    #[test]
    fn every_listed_switch_parses() {
        for switch in MUTATION_SWITCHES {
            let parsed = Mutations::parse(&[switch.name.to_string()]).expect(switch.name);
            assert_ne!(parsed, Mutations::default(), "{}", switch.name);
        }
        for switch in CLUSTER_ONLY_MUTATION_SWITCHES {
            let error = Mutations::parse(&[switch.name.to_string()]).unwrap_err();
            assert!(error.0.contains("only on the cluster backend"), "{error:?}");
        }
        let error = Mutations::parse(&["skip_fencing_typo".to_string()]).unwrap_err();
        assert!(error.0.contains("unknown mutation `skip_fencing_typo`"));
        assert!(error.0.contains("`skip_lock_timers`"));
    }
}
