//! `sharesim check --emit-scenario FILE`: a model counterexample (the JSON list of named actions, see
//! `sharesim_model::counterexample`) as a scripted scenario (`crate::scenario::script`) whose steps drive
//! the engine backend through the same path, so the simulator's oracle can judge it.
//!
//! The scenario has one topic with one partition, one share group, the model's members as consumer
//! instances, the delivery-count limit as the broker's `group.share.delivery.count.limit`, and the
//! expectation that the counterexample's invariant is violated. A counterexample of a mutated spec
//! carries the engine's matching mutation switch (`mutations`), where the engine has one.
//!
//! Mappings: a corrupt batch is the client's REJECT of the offsets, a deserialization error its RELEASE
//! (spec 7.5, 7.6); the model's leader epochs count from 0, the simulator's from 1. Not reproduced (the
//! emitter warns): a `group.share.partition.max.record.locks` below Kafka's minimum of 100 (so neither
//! the in-flight-limit-ignored mutation), and a fencing-skipped write sent before the failover, which
//! the simulator's FENCING checker (leader events only) does not judge stale.

use serde_json::{json, Value};
use sharesim_model::counterexample::{Counterexample, NamedStep, WriteOutcome};
use sharesim_model::SpecMutation;

use crate::scenario::{parse_scenario, Scenario};

/// The engine backend's mutation switch that makes the engine the mistake of spec `mutation`, if any.
pub fn engine_switch_for(mutation: SpecMutation) -> Option<&'static str> {
    match mutation {
        SpecMutation::ExpiryIgnoresDeliveryLimit => Some("expiry_ignores_delivery_limit"),
        SpecMutation::ReleaseFromNonOwner => Some("release_from_non_owner"),
        SpecMutation::SpsoPassesPendingWrite => Some("spso_passes_pending_write"),
        SpecMutation::FencingSkipped => Some("skip_leader_epoch_fencing"),
        SpecMutation::InFlightLimitIgnored => Some("ignore_max_record_locks"),
        SpecMutation::FailoverKeepsAcquired
        | SpecMutation::SessionReleasesOthers
        | SpecMutation::PersistedStartRegresses
        | SpecMutation::TerminalMadeAvailable
        | SpecMutation::EarlyAckResponse
        | SpecMutation::DeadLetterFailureRedelivers
        | SpecMutation::SpsoPassesArchiving => None,
    }
}

/// The oracle code of a model property name (`"DC-LIMIT: ..."` → `DC-LIMIT`).
pub fn invariant_code(property: &str) -> &str {
    property.split(':').next().unwrap_or(property).trim()
}

/// The scripted scenario of `example`, as the file's text and the parsed scenario. Also returns
/// warnings: parts of the counterexample the simulator does not reproduce exactly.
pub fn scenario_from_counterexample(
    example: &Counterexample,
) -> Result<(String, Scenario, Vec<String>), String> {
    let cfg = &example.config;
    let mut warnings = Vec::new();
    if cfg.dead_letter_queue {
        return Err(
            "scripted scenarios have no dead-letter queue step; check without \
                    --dead-letter-queue"
                .to_string(),
        );
    }
    if cfg.delivery_count_limit < 2 {
        return Err(format!(
            "delivery-count limit {} is below the broker's minimum of 2 \
             (group.share.min.delivery.count.limit); check with --delivery-count-limit 2 or more",
            cfg.delivery_count_limit
        ));
    }
    if cfg.max_in_flight_records < cfg.records {
        warnings.push(format!(
            "the model caps in-flight records at {}; the simulator's smallest \
             group.share.partition.max.record.locks is 100, so that cap is not reproduced",
            cfg.max_in_flight_records
        ));
        if cfg.mutation == Some(SpecMutation::InFlightLimitIgnored) {
            warnings.push(format!(
                "spec mutation `{}` cannot be reproduced: the engine's ignore_max_record_locks \
                 would need more than 100 records in flight and the counterexample has {}, so the \
                 scenario will not violate INFLIGHT-CAP",
                SpecMutation::InFlightLimitIgnored,
                cfg.records
            ));
        }
    }
    let resets = example
        .steps
        .iter()
        .any(|step| matches!(step, NamedStep::OffsetReset { .. }));
    let script: Vec<Value> = example
        .steps
        .iter()
        .map(|step| script_step(step, cfg.max_records_per_acquire, !resets))
        .collect();
    let code = invariant_code(&example.property);
    let mut mutations = Vec::new();
    if let Some(mutation) = cfg.mutation {
        if mutation == SpecMutation::FencingSkipped {
            // The model's coordinator knows the new leader's epoch at the failover; the simulator's
            // FENCING checker judges only the leaders' events (see `crate::oracle::fencing`).
            warnings.push(format!(
                "spec mutation `{mutation}` may not be reproduced: the simulator's FENCING checker \
                 sees a stale write only when it commits after a newer leader's write, or was sent \
                 after a newer leader read the state; a write sent before the failover and \
                 delivered after it (the model's shortest counterexample) is not judged stale"
            ));
        }
        match engine_switch_for(mutation) {
            Some(switch) => mutations.push(switch),
            None => warnings.push(format!(
                "spec mutation `{mutation}` has no engine mutation switch: the scenario runs the \
                 correct engine, which should not violate {code}"
            )),
        }
    }
    let mutated = cfg
        .mutation
        .map_or(String::new(), |m| format!(" with spec mutation `{m}`"));
    let mut scenario = json!({
        "name": format!("counterexample-{}", code.to_lowercase()),
        "description": format!(
            "Replays a {}-model counterexample{mutated} of \"{}\" ({} steps), emitted by \
             `sharesim check --emit-scenario`.",
            example.model,
            example.property,
            example.steps.len()
        ),
        "profile": example.profile.name(),
        "seeds": [1],
        "duration_ms": 1000,
        "cluster": {
            "configs": {"group.share.delivery.count.limit": cfg.delivery_count_limit}
        },
        "topics": [{"name": "records", "partitions": 1}],
        "groups": [{"name": "share"}],
        "consumers": [{"group": "share", "count": cfg.members}],
        "expectations": {"violated": [code]},
        "script": script,
    });
    if !mutations.is_empty() {
        scenario["mutations"] = json!(mutations);
    }
    let text = format!(
        "{}\n",
        serde_json::to_string_pretty(&scenario).map_err(|e| e.to_string())?
    );
    let parsed = parse_scenario("emitted scenario", &text).map_err(|error| error.to_string())?;
    Ok((text, parsed, warnings))
}

/// One named step as a script step. `epochs` says whether leader epochs map one to one (an offset
/// reset's fencing makes the simulator start a new leader epoch where the model keeps its own).
fn script_step(step: &NamedStep, max_records: u8, epochs: bool) -> Value {
    match step {
        NamedStep::Produce { offsets } => json!({"step": "produce", "records": offsets.len()}),
        NamedStep::Acquire {
            member,
            mode,
            offsets,
            ..
        } => json!({
            "step": "acquire", "member": member, "max_records": max_records, "mode": mode,
            "expect_offsets": offsets,
        }),
        NamedStep::Acknowledge {
            member,
            offset,
            ack_type,
        } => {
            json!({"step": "acknowledge", "member": member, "offsets": [offset], "ack_type": ack_type})
        }
        NamedStep::CorruptBatch {
            member, offsets, ..
        } => {
            json!({"step": "acknowledge", "member": member, "offsets": offsets, "ack_type": "REJECT"})
        }
        NamedStep::DeserializationError { member, offset } => {
            json!({"step": "acknowledge", "member": member, "offsets": [offset], "ack_type": "RELEASE"})
        }
        NamedStep::LockExpiry {
            offset, persisted, ..
        } => json!({"step": "lock_expiry", "offset": offset, "persisted": persisted}),
        NamedStep::SessionClose { member, .. } => {
            json!({"step": "session_close", "member": member})
        }
        NamedStep::MemberLeave { member, .. } => json!({"step": "member_leave", "member": member}),
        NamedStep::PersisterWrite { write, outcome } => {
            let outcome = match outcome {
                WriteOutcome::Failed => "failed",
                WriteOutcome::Committed | WriteOutcome::Fenced => "delivered",
            };
            let mut value =
                json!({"step": "persister_write", "offsets": write.offsets, "outcome": outcome});
            if epochs {
                value["leader_epoch"] = json!(i32::from(write.leader_epoch) + 1);
            }
            value
        }
        NamedStep::LeaderFailover { .. } => json!({"step": "leader_failover"}),
        NamedStep::LogStartMove { log_start_offset } => {
            json!({"step": "log_start_move", "offset": log_start_offset})
        }
        NamedStep::OffsetReset { start_offset, .. } => {
            json!({"step": "offset_reset", "start_offset": start_offset})
        }
        // Refused in `scenario_from_counterexample`: no DLQ step exists.
        NamedStep::DeadLetterCompleted { .. } => json!({"step": "dead_letter_completed"}),
    }
}

#[cfg(test)]
mod tests {
    use sharesim_model::check::{check_spec, CheckOptions};
    use sharesim_model::counterexample::counterexample;
    use sharesim_model::share_partition::names;
    use sharesim_model::{ShareModel, ShareModelCfg, SpecMutation};

    use super::*;
    use crate::oracle::Verdict;
    use crate::runner::{run_scenario, EngineBackend, RunOptions, RunOutcome};

    /// The first counterexample of `property` in the spec model `cfg` (BFS: the shortest).
    fn spec_counterexample(cfg: ShareModelCfg, property: &str) -> Counterexample {
        let report = check_spec(cfg.clone(), &CheckOptions::default()).expect("valid bounds");
        let path = report
            .result(property)
            .and_then(|result| result.path.clone())
            .expect("the mutation is caught");
        counterexample(&ShareModel::new(cfg), property, path)
    }

    /// Issue 7 (spec 1.3): a counterexample of the spec mutated so that lock expiry forgets the
    /// delivery-count limit, emitted as a scenario, violates DC-LIMIT in the simulator's oracle with
    /// the engine's matching mutation switch on, and every invariant holds with the switch off.
    #[test]
    fn a_mutated_spec_counterexample_reproduces_in_the_simulator() {
        let cfg = ShareModelCfg {
            records: 1,
            members: 1,
            delivery_count_limit: 2,
            mutation: Some(SpecMutation::ExpiryIgnoresDeliveryLimit),
            ..ShareModelCfg::default()
        };
        let (text, mutated, healthy) =
            assert_reproduces(cfg, names::DC_LIMIT, "expiry_ignores_delivery_limit");
        assert!(text.contains("\"lock_expiry\""), "{text}");
        assert!(mutated.facts.notes.is_empty(), "{:?}", mutated.facts.notes);
        assert!(healthy.conformance.as_ref().is_some_and(|c| c.conforms()));
    }

    /// Emits the counterexample of `property` in the mutated spec `cfg`, checks the scenario carries
    /// `switch`, and runs it: `code` fails with the switch on, every invariant holds with it off.
    fn assert_reproduces(
        cfg: ShareModelCfg,
        property: &str,
        switch: &str,
    ) -> (String, RunOutcome, RunOutcome) {
        let code = invariant_code(property).to_string();
        let example = spec_counterexample(cfg, property);
        let (text, scenario, warnings) =
            scenario_from_counterexample(&example).expect("emits a scenario");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(scenario.mutations, [switch]);
        let mutated = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default())
            .expect("the scenario runs");
        assert!(
            matches!(mutated.oracle.verdict(&code), Some(Verdict::Fail(_))),
            "switch on: {:?}\nnotes: {:?}\n{text}",
            mutated.oracle.verdicts,
            mutated.facts.notes
        );
        assert!(mutated.passed(), "the scenario expects {code} violated");
        let correct = Scenario {
            mutations: Vec::new(),
            ..scenario
        };
        let healthy = run_scenario(&EngineBackend, &correct, 1, RunOptions::default())
            .expect("the scenario runs");
        assert!(
            healthy.oracle.violations().is_empty(),
            "switch off: {:?}",
            healthy.oracle.violations()
        );
        (text, mutated, healthy)
    }

    /// Spec 2.2: a RELEASE from a member that does not own the record breaks OWNER in the simulator
    /// with `release_from_non_owner` on, and nothing breaks with it off.
    #[test]
    fn a_release_from_non_owner_counterexample_reproduces() {
        let cfg = ShareModelCfg {
            records: 1,
            members: 2,
            delivery_count_limit: 2,
            mutation: Some(SpecMutation::ReleaseFromNonOwner),
            ..ShareModelCfg::default()
        };
        assert_reproduces(cfg, names::OWNER, "release_from_non_owner");
    }

    /// Spec 1.6: SPSO passing a record whose write is pending breaks SPSO-SAFE in the simulator with
    /// `spso_passes_pending_write` on, and nothing breaks with it off.
    #[test]
    fn an_spso_passes_pending_write_counterexample_reproduces() {
        let cfg = ShareModelCfg {
            records: 2,
            members: 1,
            delivery_count_limit: 2,
            mutation: Some(SpecMutation::SpsoPassesPendingWrite),
            ..ShareModelCfg::default()
        };
        assert_reproduces(cfg, names::SPSO_SAFE, "spso_passes_pending_write");
    }

    /// Spec 3.4: the model's shortest FENCING counterexample (an old leader's write, sent before the
    /// failover, delivered after it) is invisible to the simulator's FENCING checker, which judges
    /// the leaders' events only: the emitter says so, and the scenario indeed passes FENCING with
    /// `skip_leader_epoch_fencing` on (if this starts failing, the checker learnt to see it: drop
    /// the warning and use `assert_reproduces`).
    #[test]
    fn a_fencing_skipped_counterexample_is_flagged_as_not_reproduced() {
        let cfg = ShareModelCfg {
            records: 1,
            members: 1,
            delivery_count_limit: 2,
            failovers_max: 1,
            mutation: Some(SpecMutation::FencingSkipped),
            ..ShareModelCfg::default()
        };
        let example = spec_counterexample(cfg, names::FENCING);
        let (_, scenario, warnings) = scenario_from_counterexample(&example).expect("emits");
        assert_eq!(scenario.mutations, ["skip_leader_epoch_fencing"]);
        assert!(
            warnings
                .iter()
                .any(|w| w.contains("may not be reproduced") && w.contains("FENCING checker")),
            "{warnings:?}"
        );
        let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default())
            .expect("the scenario runs");
        assert!(outcome.facts.notes.is_empty(), "{:?}", outcome.facts.notes);
        assert_eq!(outcome.oracle.verdict("FENCING"), Some(&Verdict::Pass));
    }

    /// Spec 1.5: the model's in-flight cap below Kafka's minimum of 100 record locks cannot be
    /// configured in the simulator, so the emitter says the mutation is not reproduced, and why.
    #[test]
    fn an_in_flight_cap_below_kafkas_minimum_is_not_reproduced() {
        let cfg = ShareModelCfg {
            records: 2,
            members: 1,
            delivery_count_limit: 2,
            max_in_flight_records: 1,
            mutation: Some(SpecMutation::InFlightLimitIgnored),
            ..ShareModelCfg::default()
        };
        let example = spec_counterexample(cfg, names::INFLIGHT_CAP);
        let (_, scenario, warnings) = scenario_from_counterexample(&example).expect("emits");
        assert_eq!(scenario.mutations, ["ignore_max_record_locks"]);
        assert!(
            warnings.iter().any(|w| w.contains("cannot be reproduced")
                && w.contains("ignore_max_record_locks")
                && w.contains("100")),
            "{warnings:?}"
        );
    }

    /// Issue 7: a path of the correct spec through acquisitions, an ACCEPT, a lock expiry, a session
    /// close whose write fails and rolls back, a corrupt batch, a leader failover, a deserialization
    /// error and a member leaving replays step for step in the simulator (every acquisition takes the
    /// model's offsets, every write is in flight when named) and breaks no invariant.
    #[test]
    fn a_correct_spec_path_replays_step_for_step() {
        use sharesim_model::state::Member;
        use sharesim_model::{AckType, AcquireMode, Response, ShareAction};
        let cfg = ShareModelCfg {
            records: 3,
            members: 2,
            delivery_count_limit: 2,
            failovers_max: 1,
            write_failures_max: 1,
            corrupt_batches_max: 1,
            deserialization_errors_max: 1,
            ..ShareModelCfg::default()
        };
        let model = ShareModel::new(cfg.clone());
        let (m0, m1) = (Member(0), Member(1));
        let acquire = |member| ShareAction::Acquire {
            member,
            mode: AcquireMode::BatchOptimized,
        };
        let actions = [
            ShareAction::Produce,
            ShareAction::Produce,
            ShareAction::Produce,
            acquire(m0),
            ShareAction::Acknowledge {
                member: m0,
                offset: 0,
                ack_type: AckType::Accept,
            },
            ShareAction::WriteSucceeds { slot: 0 },
            ShareAction::LockExpiry {
                offset: 1,
                persisted: true,
            },
            acquire(m1),
            ShareAction::SessionClose { member: m1 },
            ShareAction::WriteFails { slot: 0 },
            ShareAction::CorruptBatch {
                member: m1,
                log_batch: 2,
            },
            ShareAction::WriteSucceeds { slot: 0 },
            ShareAction::LeaderFailover,
            acquire(m0),
            ShareAction::DeserializationError {
                member: m0,
                offset: 1,
            },
            ShareAction::WriteSucceeds { slot: 0 },
            ShareAction::MemberLeave { member: m1 },
        ];
        let mut state = model.initial_state();
        let mut steps = Vec::new();
        for action in actions {
            let (next, response) = model.step(&state, action);
            assert_eq!(response, Response::None, "{action:?} at {state:?}");
            steps.push(sharesim_model::counterexample::name_step(
                &model, &state, action, &next,
            ));
            state = next;
        }
        let example = Counterexample {
            model: "spec".to_string(),
            property: names::DC_LIMIT.to_string(),
            profile: cfg.profile,
            config: cfg,
            steps,
        };
        let (_, scenario, warnings) = scenario_from_counterexample(&example).expect("emits");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(scenario.script.len(), example.steps.len());
        let outcome = run_scenario(&EngineBackend, &scenario, 1, RunOptions::default())
            .expect("the scenario runs");
        assert!(outcome.facts.notes.is_empty(), "{:#?}", outcome.facts.notes);
        assert!(
            outcome.oracle.violations().is_empty(),
            "{:?}",
            outcome.oracle.violations()
        );
        assert!(outcome.conformance.as_ref().is_some_and(|c| c.conforms()));
    }

    /// A delivery-count limit below the broker's minimum of 2 cannot be configured: a clear error.
    #[test]
    fn a_limit_below_kafkas_minimum_is_refused() {
        let cfg = ShareModelCfg {
            records: 1,
            members: 1,
            delivery_count_limit: 1,
            mutation: Some(SpecMutation::ExpiryIgnoresDeliveryLimit),
            ..ShareModelCfg::default()
        };
        let example = spec_counterexample(cfg, names::DC_LIMIT);
        let error = scenario_from_counterexample(&example).expect_err("limit 1 is refused");
        assert!(error.contains("minimum of 2"), "{error}");
    }
}
