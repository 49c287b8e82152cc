use std::collections::BTreeMap;

use super::swarm::{draw_plan, SwarmConfig, SwarmWorld, LEVER_KINDS};
use super::*;
use crate::net::{ApiKeySelector, FaultDirection};

/// A target that logs every step and record, refusing the steps it is told to.
#[derive(Default)]
struct LogTarget {
    now_ms: u64,
    steps: Vec<(u64, FaultStep)>,
    records: Vec<FaultRecord>,
    refuse_moves: bool,
}

impl FaultTarget for LogTarget {
    fn apply(&mut self, step: &FaultStep) -> Result<StepOutcome, FaultError> {
        if self.refuse_moves && matches!(step, FaultStep::MoveLeader { .. }) {
            return Err(FaultError::Unsupported("leadership moves".to_string()));
        }
        self.steps.push((self.now_ms, step.clone()));
        Ok(match step {
            FaultStep::MoveLeader { .. } => StepOutcome::LeaderMoved { from: 1 },
            _ => StepOutcome::Done,
        })
    }

    fn record(&mut self, record: FaultRecord) {
        self.records.push(record);
    }
}

/// Runs a plan to its end, stepping through every due time.
fn run(plan: FaultPlan) -> (LogTarget, FaultScheduler) {
    run_with(plan, LogTarget::default())
}

fn run_with(plan: FaultPlan, mut target: LogTarget) -> (LogTarget, FaultScheduler) {
    let mut scheduler = FaultScheduler::new(plan);
    let mut guard = 0;
    while let Some(due_ms) = scheduler.next_due_ms() {
        target.now_ms = due_ms;
        scheduler.run_due(due_ms, &mut target);
        guard += 1;
        assert!(guard < 10_000, "the scheduler must terminate");
    }
    (target, scheduler)
}

fn plan(liveness_at_ms: u64, faults: Vec<(u64, Lever)>) -> FaultPlan {
    FaultPlan {
        faults: faults
            .into_iter()
            .map(|(at_ms, lever)| ScheduledFault { at_ms, lever })
            .collect(),
        liveness_at_ms,
    }
}

const B1: FaultNode = FaultNode::Broker(1);
const B2: FaultNode = FaultNode::Broker(2);
const B3: FaultNode = FaultNode::Broker(3);

/// Design "Fault levers": a crash with a restart delay restarts the broker; every step is in the trace.
#[test]
fn crash_then_restart_after_delay() {
    let (target, _) = run(plan(
        10_000,
        vec![(
            1_000,
            Lever::BrokerCrash {
                broker: 2,
                lose_unflushed: true,
                restart_after_ms: Some(500),
            },
        )],
    ));
    assert_eq!(
        target.steps,
        vec![
            (
                1_000,
                FaultStep::CrashBroker {
                    broker: 2,
                    lose_unflushed: true
                }
            ),
            (1_500, FaultStep::RestartBroker { broker: 2 }),
        ]
    );
    let details: Vec<&str> = target.records.iter().map(|r| r.detail.as_str()).collect();
    assert_eq!(
        details,
        vec![
            "pull: crash broker:2 lose_unflushed=true",
            "release: restart broker:2"
        ]
    );
    assert!(target.records.iter().all(|r| r.lever == "broker_crash"));
}

/// Design "Fault levers": a link partition clogs both directions; a `heal` unclogs them early, and
/// the scheduled end is then a no-op.
#[test]
fn heal_ends_link_partition_early() {
    let (target, _) = run(plan(
        10_000,
        vec![
            (
                100,
                Lever::Partition {
                    shape: PartitionShape::Link,
                    nodes: vec![B1, B2],
                    duration_ms: Some(5_000),
                },
            ),
            (200, Lever::Heal),
        ],
    ));
    assert_eq!(
        target.steps,
        vec![
            (100, FaultStep::ClogLink { from: B1, to: B2 }),
            (100, FaultStep::ClogLink { from: B2, to: B1 }),
            (200, FaultStep::UnclogLink { from: B2, to: B1 }),
            (200, FaultStep::UnclogLink { from: B1, to: B2 }),
        ]
    );
    assert_eq!(target.records[2].lever, "heal");
}

/// Design "Fault levers": overlapping node partitions keep a node clogged until the last one ends.
#[test]
fn overlapping_clogs_hold_until_the_last_window_ends() {
    let node = |at_ms, duration_ms| {
        (
            at_ms,
            Lever::Partition {
                shape: PartitionShape::Node,
                nodes: vec![B3],
                duration_ms: Some(duration_ms),
            },
        )
    };
    let (target, _) = run(plan(10_000, vec![node(100, 1_000), node(500, 2_000)]));
    assert_eq!(
        target.steps,
        vec![
            (100, FaultStep::ClogNode { node: B3 }),
            (2_500, FaultStep::UnclogNode { node: B3 }),
        ]
    );
}

/// Design "Fault levers": swizzle-clog clogs one node per step, then unclogs in reverse order.
#[test]
fn swizzle_clog_steps_in_and_out_in_reverse() {
    let (target, _) = run(plan(
        10_000,
        vec![(
            0,
            Lever::Partition {
                shape: PartitionShape::SwizzleClog { step_ms: 100 },
                nodes: vec![B1, B2, B3],
                duration_ms: None,
            },
        )],
    ));
    assert_eq!(
        target.steps,
        vec![
            (0, FaultStep::ClogNode { node: B1 }),
            (100, FaultStep::ClogNode { node: B2 }),
            (200, FaultStep::ClogNode { node: B3 }),
            (300, FaultStep::UnclogNode { node: B3 }),
            (400, FaultStep::UnclogNode { node: B2 }),
            (500, FaultStep::UnclogNode { node: B1 }),
        ]
    );
}

/// Overlapping transport windows on the same API keys merge (the transport keeps one rule per key), and
/// the rule is cleared when the last window ends.
#[test]
fn network_windows_merge_and_clear() {
    let (target, _) = run(plan(
        10_000,
        vec![
            (
                0,
                Lever::Network {
                    fault: NetworkFault::Loss { probability: 0.2 },
                    duration_ms: Some(1_000),
                },
            ),
            (
                500,
                Lever::Network {
                    fault: NetworkFault::Duplicate { probability: 0.1 },
                    duration_ms: Some(1_000),
                },
            ),
        ],
    ));
    let rules: Vec<(u64, Option<(f64, f64)>)> = target
        .steps
        .iter()
        .map(|(at_ms, step)| match step {
            FaultStep::SetNetRule {
                selector: ApiKeySelector::All,
                rule,
            } => (
                *at_ms,
                Some((rule.drop_probability, rule.duplicate_probability)),
            ),
            FaultStep::ClearNetRule {
                selector: ApiKeySelector::All,
            } => (*at_ms, None),
            other => panic!("unexpected step {other:?}"),
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            (0, Some((0.2, 0.0))),
            (500, Some((0.2, 0.1))),
            (1_000, Some((0.0, 0.1))),
            (1_500, None),
        ]
    );
}

/// Design "Fault levers": persister faults are per-RPC transport rules on the persister RPC, except
/// `persister_fail`, which flips the brokers' persister switch.
#[test]
fn persister_levers_map_to_rules_and_switch() {
    let write = api_key_by_name("WriteShareGroupState").unwrap();
    assert_eq!(write, 85);
    let persister = |fault| Lever::Persister {
        fault,
        api_key: write,
        probability: 1.0,
        duration_ms: Some(100),
    };
    let (target, _) = run(plan(
        10_000,
        vec![
            (0, persister(PersisterFault::Hold { hold_ms: 300 })),
            (1_000, persister(PersisterFault::Fail { error_code: 15 })),
            (2_000, persister(PersisterFault::Timeout)),
        ],
    ));
    let FaultStep::SetNetRule { rule: hold, .. } = &target.steps[0].1 else {
        panic!("hold is a rule: {:?}", target.steps[0]);
    };
    assert_eq!(hold.direction, FaultDirection::Requests);
    assert_eq!((hold.delay_min_ms, hold.delay_max_ms), (300, 300));
    assert_eq!(
        target.steps[2].1,
        FaultStep::SetPersisterFailure {
            api_key: write,
            probability: 1.0,
            error_code: 15
        }
    );
    assert_eq!(
        target.steps[3].1,
        FaultStep::ClearPersisterFailure { api_key: write }
    );
    let FaultStep::SetNetRule { rule: timeout, .. } = &target.steps[4].1 else {
        panic!("timeout is a rule");
    };
    assert_eq!(timeout.direction, FaultDirection::Responses);
    assert_eq!(timeout.drop_probability, 1.0);
}

/// Design "Oracle": the liveness phase heals every fault (crashed nodes restart, clogs and rules go,
/// clocks return to true time) and nothing is pulled after it.
#[test]
fn liveness_phase_heals_everything_and_pulls_nothing_more() {
    let consumer = FaultNode::Consumer {
        entry: 0,
        instance: Some(1),
    };
    let (target, scheduler) = run(plan(
        1_000,
        vec![
            (
                10,
                Lever::BrokerCrash {
                    broker: 1,
                    lose_unflushed: false,
                    restart_after_ms: None,
                },
            ),
            (
                20,
                Lever::Partition {
                    shape: PartitionShape::OneDirection,
                    nodes: vec![B2, B3],
                    duration_ms: None,
                },
            ),
            (
                30,
                Lever::ConsumerCrash {
                    consumer,
                    restart_after_ms: None,
                },
            ),
            (
                40,
                Lever::ClockSkew {
                    node: B2,
                    skew_ms: 5_000,
                    drift_ppm: 100,
                },
            ),
            (
                50,
                Lever::LockTimerRace {
                    order: LockTimerOrder::TimerFirst,
                    duration_ms: None,
                },
            ),
            (
                2_000,
                Lever::BrokerCrash {
                    broker: 3,
                    lose_unflushed: false,
                    restart_after_ms: None,
                },
            ),
        ],
    ));
    let healed: Vec<&FaultStep> = target
        .steps
        .iter()
        .filter(|(at_ms, _)| *at_ms == 1_000)
        .map(|(_, step)| step)
        .collect();
    assert_eq!(
        healed,
        vec![
            &FaultStep::RestartBroker { broker: 1 },
            &FaultStep::UnclogLink { from: B2, to: B3 },
            &FaultStep::RestartConsumer { consumer },
            &FaultStep::SetClock {
                node: B2,
                skew_ms: 0,
                drift_ppm: 0
            },
            &FaultStep::SetLockTimerOrder { order: None },
        ]
    );
    assert!(
        !target.steps.iter().any(|(_, step)| *step
            == FaultStep::CrashBroker {
                broker: 3,
                lose_unflushed: false
            }),
        "nothing is pulled at or after the liveness phase"
    );
    assert!(scheduler.liveness_started());
    assert!(target
        .records
        .iter()
        .filter(|r| r.at_ms == 1_000)
        .all(|r| r.lever == LIVENESS_LEVER));
}

/// Design "Fault levers": a leadership bounce moves leadership back to the leader it took it from.
#[test]
fn leadership_bounce_moves_back() {
    let (target, _) = run(plan(
        10_000,
        vec![(
            100,
            Lever::LeadershipBounce {
                topic: "orders".to_string(),
                partition: 0,
                via_broker: Some(2),
                back_after_ms: 400,
            },
        )],
    ));
    assert_eq!(
        target.steps[1],
        (
            500,
            FaultStep::MoveLeader {
                topic: "orders".to_string(),
                partition: 0,
                to: Some(1)
            }
        )
    );
}

/// A lever the harness cannot pull is recorded as skipped with the reason, and the run goes on.
#[test]
fn unsupported_steps_are_recorded_as_skipped() {
    let target = LogTarget {
        refuse_moves: true,
        ..LogTarget::default()
    };
    let (target, scheduler) = run_with(
        plan(
            10_000,
            vec![
                (
                    100,
                    Lever::LeadershipBounce {
                        topic: "orders".to_string(),
                        partition: 0,
                        via_broker: None,
                        back_after_ms: 400,
                    },
                ),
                (200, Lever::BrokerRestart { broker: 1 }),
            ],
        ),
        target,
    );
    assert!(target.steps.is_empty());
    assert!(target.records[0]
        .detail
        .starts_with("skipped: move leader orders-0"));
    assert!(target.records[0]
        .detail
        .contains("unsupported fault: leadership moves"));
    assert!(target.records[1].detail.contains("not crashed"));
    assert_eq!(scheduler.errors().len(), 1);
}

fn world() -> SwarmWorld {
    SwarmWorld {
        brokers: vec![1, 2, 3],
        topics: vec![("orders".to_string(), 3, false)],
        groups: vec!["workers".to_string()],
        consumers: (0..3)
            .map(|instance| FaultNode::Consumer {
                entry: 0,
                instance: Some(instance),
            })
            .collect(),
        producers: 1,
        dedicated_controller: true,
    }
}

/// Design "Fault levers" (swarm): the same seed draws the same plan; different seeds draw different ones;
/// every fault falls before the liveness phase, which ends every plan.
#[test]
fn swarm_draw_is_deterministic_per_seed() {
    let config = SwarmConfig::default();
    let plans: Vec<FaultPlan> = (1..=20)
        .map(|seed| draw_plan(&config, &world(), seed, 60_000))
        .collect();
    for (index, plan) in plans.iter().enumerate() {
        assert_eq!(
            *plan,
            draw_plan(&config, &world(), index as u64 + 1, 60_000)
        );
        assert_eq!(plan.liveness_at_ms, 60_000);
        assert!(plan.faults.iter().all(|f| f.at_ms < 60_000));
        assert!(plan.faults.len() <= config.max_faults as usize);
    }
    let distinct: std::collections::BTreeSet<String> =
        plans.iter().map(|plan| format!("{plan:?}")).collect();
    assert_eq!(
        distinct.len(),
        plans.len(),
        "different seeds, different plans"
    );
    let kinds: std::collections::BTreeSet<&str> = plans
        .iter()
        .flat_map(|plan| plan.faults.iter().map(|f| f.lever.kind()))
        .collect();
    assert!(
        kinds.len() >= 15,
        "the swarm reaches many levers: {kinds:?}"
    );
}

/// Swarm: only the levers given are drawn; a lever with probability 0 never is.
#[test]
fn swarm_draws_only_enabled_levers() {
    let config = SwarmConfig {
        levers: BTreeMap::from([
            ("broker_crash".to_string(), 1.0),
            ("network_loss".to_string(), 1.0),
            ("clock_skew".to_string(), 0.0),
        ]),
        ..SwarmConfig::default()
    };
    for seed in 0..20 {
        let plan = draw_plan(&config, &world(), seed, 60_000);
        assert!(!plan.faults.is_empty());
        assert!(plan
            .faults
            .iter()
            .all(|f| matches!(f.lever.kind(), "broker_crash" | "network_loss")));
    }
}

/// Every drawn plan runs through the scheduler to the liveness heal, leaving nothing pulled: after the
/// heal no clog, rule, crash or stall remains (counted from the steps).
#[test]
fn swarm_plans_run_to_a_full_heal() {
    for seed in 0..50 {
        let plan = draw_plan(&SwarmConfig::default(), &world(), seed, 60_000);
        let (target, scheduler) = run(plan);
        assert!(scheduler.liveness_started());
        let mut crashed = std::collections::BTreeSet::new();
        let mut clogged = std::collections::BTreeSet::new();
        let mut rules = std::collections::BTreeSet::new();
        for (_, step) in &target.steps {
            match step {
                FaultStep::CrashBroker { broker, .. } => assert!(crashed.insert(*broker)),
                FaultStep::RestartBroker { broker } => assert!(crashed.remove(broker)),
                FaultStep::ClogNode { node } => assert!(clogged.insert(format!("{node}"))),
                FaultStep::UnclogNode { node } => assert!(clogged.remove(&format!("{node}"))),
                FaultStep::ClogLink { from, to } => {
                    assert!(clogged.insert(format!("{from}->{to}")))
                }
                FaultStep::UnclogLink { from, to } => {
                    assert!(clogged.remove(&format!("{from}->{to}")))
                }
                FaultStep::SetNetRule { selector, .. } => {
                    rules.insert(*selector);
                }
                FaultStep::ClearNetRule { selector } => assert!(rules.remove(selector)),
                _ => {}
            }
        }
        assert!(
            crashed.is_empty() && clogged.is_empty() && rules.is_empty(),
            "seed {seed}"
        );
    }
}

/// The lever names are the scenario's kind names, one per lever.
#[test]
fn lever_kinds_are_distinct() {
    let distinct: std::collections::BTreeSet<&&str> = LEVER_KINDS.iter().collect();
    assert_eq!(distinct.len(), LEVER_KINDS.len());
}
