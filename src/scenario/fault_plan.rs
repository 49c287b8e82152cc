//! From a scenario's `faults` and `swarm` sections to the simulator's [`FaultPlan`] for one seed: the
//! one function that maps scenario fault kinds onto levers ([`fault_plan`]), plus what the harness needs
//! besides (the swarm's view of the cluster, the initial per-node clocks). Every field of a scenario
//! fault reaches its lever: the scenario format has no field the levers cannot carry.

use sharesim_sim::faults::swarm::{draw_plan, SwarmConfig, SwarmWorld};
use sharesim_sim::faults::{
    api_key_by_name, CoordinatorKind, FaultNode, FaultPlan, Lever, LockTimerOrder, LogStartCause,
    NetworkFault, PartitionShape, PersisterFault, RpcFault, ScheduledFault,
};
use sharesim_sim::net::FaultDirection;
use sharesim_sim::ResponseError;

use super::faults::{Fault, PartitionMode, RaceOrder, RpcDirection};
use super::node::NodeRef;
use super::scenario::Scenario;
use super::workload::Distribution;

/// The fault plan of `scenario` for `seed`: its scheduled faults, then (in swarm mode) the faults the
/// seed draws, with the liveness phase at the end of the workload (`duration_ms`). Errors name a fault
/// the simulator cannot express (validation already rejects them, so this is a second line).
pub fn fault_plan(scenario: &Scenario, seed: u64) -> Result<FaultPlan, String> {
    let mut faults = Vec::new();
    for (index, event) in scenario.faults.iter().enumerate() {
        let lever = lever(&event.fault)
            .map_err(|error| format!("faults[{index}] ({}): {error}", event.fault.kind()))?;
        faults.push(ScheduledFault {
            at_ms: event.at_ms,
            lever,
        });
    }
    if let Some(swarm) = &scenario.swarm {
        let config = SwarmConfig {
            levers: swarm.levers.clone(),
            mean_interval_ms: swarm.mean_interval_ms,
            max_faults: swarm.max_faults,
            max_fault_duration_ms: swarm.max_fault_duration_ms,
        };
        let drawn = draw_plan(&config, &swarm_world(scenario), seed, scenario.duration_ms);
        faults.extend(drawn.faults);
    }
    Ok(FaultPlan {
        faults,
        liveness_at_ms: scenario.duration_ms,
    })
}

/// The cluster as swarm mode draws from it: brokers, topics, groups, every consumer instance.
pub fn swarm_world(scenario: &Scenario) -> SwarmWorld {
    SwarmWorld {
        brokers: (1..=scenario.cluster.brokers).collect(),
        topics: scenario
            .topics
            .iter()
            .map(|topic| {
                let compacted = topic
                    .configs
                    .get("cleanup.policy")
                    .is_some_and(|policy| policy.as_str().contains("compact"));
                (topic.name.clone(), topic.partitions as i32, compacted)
            })
            .collect(),
        groups: scenario
            .groups
            .iter()
            .map(|group| group.name.clone())
            .collect(),
        consumers: scenario
            .consumers
            .iter()
            .enumerate()
            .flat_map(|(entry, spec)| {
                (0..spec.count).map(move |instance| FaultNode::Consumer {
                    entry,
                    instance: Some(instance),
                })
            })
            .collect(),
        producers: scenario.producers.len(),
        dedicated_controller: scenario.cluster.controller == "dedicated",
    }
}

/// The per-node clocks of `cluster.clocks`, set before the run starts (not faults: the liveness phase
/// leaves them alone). Errors name a bad node.
pub fn initial_clocks(scenario: &Scenario) -> Result<Vec<(FaultNode, i64, i64)>, String> {
    scenario
        .cluster
        .clocks
        .iter()
        .map(|clock| {
            let node: NodeRef = clock.node.parse()?;
            Ok((fault_node(node), clock.skew_ms, clock.drift_ppm))
        })
        .collect()
}

/// A scenario node reference in the simulator's terms.
pub fn fault_node(node: NodeRef) -> FaultNode {
    node.0
}

/// One scenario fault as a lever.
fn lever(fault: &Fault) -> Result<Lever, String> {
    Ok(match fault {
        Fault::BrokerCrash(crash) => Lever::BrokerCrash {
            broker: crash.broker,
            lose_unflushed: crash.lose_unflushed,
            restart_after_ms: crash.restart_after_ms,
        },
        Fault::BrokerRestart(restart) => Lever::BrokerRestart {
            broker: restart.broker,
        },
        Fault::Partition(partition) => Lever::Partition {
            shape: match partition.mode {
                PartitionMode::Node => PartitionShape::Node,
                PartitionMode::Link => PartitionShape::Link,
                PartitionMode::OneDirection => PartitionShape::OneDirection,
                PartitionMode::SwizzleClog => PartitionShape::SwizzleClog {
                    step_ms: partition.step_ms.unwrap_or(1_000),
                },
            },
            nodes: partition.nodes.iter().copied().map(fault_node).collect(),
            duration_ms: partition.duration_ms,
        },
        Fault::Heal(_) => Lever::Heal,
        Fault::NetworkDelay(delay) => {
            let (min_ms, max_ms) = delay_range(&delay.delay);
            Lever::Network {
                fault: NetworkFault::Delay { min_ms, max_ms },
                duration_ms: delay.duration_ms,
            }
        }
        Fault::NetworkLoss(chance) => Lever::Network {
            fault: NetworkFault::Loss {
                probability: chance.probability,
            },
            duration_ms: chance.duration_ms,
        },
        Fault::NetworkDuplicate(chance) => Lever::Network {
            fault: NetworkFault::Duplicate {
                probability: chance.probability,
            },
            duration_ms: chance.duration_ms,
        },
        Fault::NetworkReorder(reorder) => Lever::Network {
            fault: NetworkFault::Reorder {
                probability: reorder.probability,
                max_delay_ms: reorder.max_delay_ms,
            },
            duration_ms: reorder.duration_ms,
        },
        Fault::RpcDrop(rpc) | Fault::RpcHold(rpc) | Fault::RpcDelay(rpc) => {
            let delay_ms = rpc.delay_ms.unwrap_or(0);
            Lever::Rpc {
                fault: match fault {
                    Fault::RpcDrop(_) => RpcFault::Drop,
                    Fault::RpcHold(_) => RpcFault::Hold { hold_ms: delay_ms },
                    _ => RpcFault::Delay { delay_ms },
                },
                api_key: api_key(&rpc.api)?,
                direction: match rpc.direction {
                    RpcDirection::Request => FaultDirection::Requests,
                    RpcDirection::Response => FaultDirection::Responses,
                },
                probability: rpc.probability,
                duration_ms: rpc.duration_ms,
            }
        }
        Fault::PersisterHold(persister)
        | Fault::PersisterFail(persister)
        | Fault::PersisterTimeout(persister)
        | Fault::PersisterReorder(persister)
        | Fault::PersisterDuplicate(persister) => Lever::Persister {
            fault: match fault {
                Fault::PersisterHold(_) => PersisterFault::Hold {
                    hold_ms: persister.hold_ms.unwrap_or(0),
                },
                Fault::PersisterFail(_) => PersisterFault::Fail {
                    error_code: persister_error(
                        persister
                            .error
                            .as_deref()
                            .unwrap_or("COORDINATOR_NOT_AVAILABLE"),
                    )?,
                },
                Fault::PersisterTimeout(_) => PersisterFault::Timeout,
                // The scenario's `hold_ms` bounds the hold-back; 1 s if not given.
                Fault::PersisterReorder(_) => PersisterFault::Reorder {
                    window_ms: persister.hold_ms.unwrap_or(1_000),
                },
                _ => PersisterFault::Duplicate,
            },
            api_key: api_key(&persister.rpc)?,
            probability: persister.probability,
            duration_ms: persister.duration_ms,
        },
        Fault::LockTimerRace(race) => Lever::LockTimerRace {
            order: match race.order {
                RaceOrder::TimerFirst => LockTimerOrder::TimerFirst,
                RaceOrder::HandlerFirst => LockTimerOrder::HandlerFirst,
                RaceOrder::Random => LockTimerOrder::Random,
            },
            duration_ms: race.duration_ms,
        },
        Fault::LeadershipBounce(bounce) => Lever::LeadershipBounce {
            topic: bounce.topic.clone(),
            partition: bounce.partition as i32,
            via_broker: bounce.via_broker,
            back_after_ms: bounce.back_after_ms,
        },
        Fault::ZombieLeader(zombie) => Lever::ZombieLeader {
            topic: zombie.topic.clone(),
            partition: zombie.partition as i32,
            duration_ms: zombie.duration_ms,
        },
        Fault::ShareCoordinatorFailover(failover) => Lever::CoordinatorFailover {
            kind: CoordinatorKind::Share,
            group: failover.group.clone(),
        },
        Fault::GroupCoordinatorFailover(failover) => Lever::CoordinatorFailover {
            kind: CoordinatorKind::Group,
            group: failover.group.clone(),
        },
        Fault::LogStartMove(moved) | Fault::DeleteRecords(moved) => Lever::LogStartMove {
            topic: moved.topic.clone(),
            partition: moved.partition as i32,
            offset: i64::try_from(moved.offset).map_err(|_| "offset too large".to_string())?,
            cause: if matches!(fault, Fault::LogStartMove(_)) {
                LogStartCause::Retention
            } else {
                LogStartCause::DeleteRecords
            },
        },
        Fault::Compaction(compaction) => Lever::Compaction {
            topic: compaction.topic.clone(),
            partition: compaction.partition.map(|p| p as i32),
        },
        Fault::CorruptBatchOnDisk(corrupt) => Lever::CorruptBatch {
            topic: corrupt.topic.clone(),
            partition: corrupt.partition as i32,
            offset: i64::try_from(corrupt.offset).map_err(|_| "offset too large".to_string())?,
            broker: corrupt.broker,
        },
        Fault::ConsumerCrash(crash) => Lever::ConsumerCrash {
            consumer: fault_node(crash.consumer),
            restart_after_ms: crash.restart_after_ms,
        },
        Fault::ConsumerStall(stall) => Lever::ConsumerStall {
            consumer: fault_node(stall.consumer),
            stall_ms: stall.stall_ms,
        },
        Fault::ConsumerReconnectLateClose(reconnect) => Lever::ConsumerReconnectLateClose {
            consumer: fault_node(reconnect.consumer),
            close_delay_ms: reconnect.close_delay_ms,
        },
        Fault::ClockSkew(skew) => Lever::ClockSkew {
            node: fault_node(skew.node),
            skew_ms: skew.skew_ms,
            drift_ppm: skew.drift_ppm,
        },
        Fault::OffsetReset(reset) => Lever::OffsetReset {
            group: reset.group.clone(),
            topic: reset.topic.clone(),
            partition: reset.partition as i32,
            start_offset: i64::try_from(reset.start_offset)
                .map_err(|_| "start_offset too large".to_string())?,
        },
    })
}

fn api_key(name: &str) -> Result<i16, String> {
    api_key_by_name(name).ok_or_else(|| format!("unknown Kafka API `{name}`"))
}

/// A `persister_fail` error name (validation's `PERSISTER_ERRORS`) as Kafka's code.
fn persister_error(name: &str) -> Result<i16, String> {
    let error = match name {
        "COORDINATOR_LOAD_IN_PROGRESS" => ResponseError::CoordinatorLoadInProgress,
        "COORDINATOR_NOT_AVAILABLE" => ResponseError::CoordinatorNotAvailable,
        "FENCED_LEADER_EPOCH" => ResponseError::FencedLeaderEpoch,
        "FENCED_STATE_EPOCH" => ResponseError::FencedStateEpoch,
        "INVALID_REQUEST" => ResponseError::InvalidRequest,
        "NOT_COORDINATOR" => ResponseError::NotCoordinator,
        "REQUEST_TIMED_OUT" => ResponseError::RequestTimedOut,
        "UNKNOWN_SERVER_ERROR" => ResponseError::UnknownServerError,
        other => return Err(format!("unknown persister error `{other}`")),
    };
    Ok(error.code())
}

/// The transport draws a delay uniformly from a range: a distribution's range, with the long-tailed ones
/// cut at their `max_ms` (or, without one, at a point past most of their mass).
fn delay_range(delay: &Distribution) -> (u64, u64) {
    match *delay {
        Distribution::Fixed { ms } => (ms, ms),
        Distribution::Uniform { min_ms, max_ms } => (min_ms, max_ms.max(min_ms)),
        Distribution::Exponential { mean_ms, max_ms } => {
            (0, max_ms.unwrap_or((mean_ms * 3.0).max(0.0) as u64))
        }
        Distribution::Lognormal {
            median_ms,
            sigma,
            max_ms,
        } => (
            0,
            max_ms.unwrap_or((median_ms * (2.0 * sigma).exp()).max(0.0) as u64),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{parse_scenario, FAULT_KINDS};
    use sharesim_sim::faults::swarm::{ADMIN_LEVER_KINDS, LEVER_KINDS};

    /// Design "Faults are first-class and named": the scenario's kinds are the simulator's levers
    /// (the swarm's, then the scheduled admin actions).
    #[test]
    fn scenario_kinds_are_the_simulator_levers() {
        assert_eq!(FAULT_KINDS, [LEVER_KINDS, ADMIN_LEVER_KINDS].concat());
    }

    /// Every scenario fault kind maps onto the lever of the same name, with its parameters.
    #[test]
    fn every_fault_kind_maps_to_its_lever() {
        let text = r#"{
          "duration_ms": 100000,
          "topics": [{"name": "t", "partitions": 2}, {"name": "c", "configs": {"cleanup.policy": "compact"}}],
          "groups": [{"name": "g"}],
          "producers": [{"topic": "t"}],
          "consumers": [{"group": "g", "count": 2}],
          "faults": [
            {"at_ms": 1, "kind": "broker_crash", "broker": 2, "lose_unflushed": true, "restart_after_ms": 50},
            {"at_ms": 2, "kind": "broker_restart", "broker": 2},
            {"at_ms": 3, "kind": "partition", "mode": "swizzle_clog", "nodes": ["broker:1", "consumer:0/1"]},
            {"at_ms": 4, "kind": "heal"},
            {"at_ms": 5, "kind": "network_delay", "delay": {"kind": "uniform", "min_ms": 5, "max_ms": 9}},
            {"at_ms": 6, "kind": "network_loss", "probability": 0.1},
            {"at_ms": 7, "kind": "network_duplicate", "probability": 0.2},
            {"at_ms": 8, "kind": "network_reorder", "probability": 0.3, "max_delay_ms": 40},
            {"at_ms": 9, "kind": "rpc_drop", "api": "ShareAcknowledge", "direction": "response"},
            {"at_ms": 10, "kind": "rpc_hold", "api": "ShareFetch", "delay_ms": 300},
            {"at_ms": 11, "kind": "rpc_delay", "api": "Produce", "delay_ms": 30},
            {"at_ms": 12, "kind": "persister_hold", "hold_ms": 700},
            {"at_ms": 13, "kind": "persister_fail", "error": "FENCED_STATE_EPOCH"},
            {"at_ms": 14, "kind": "persister_timeout"},
            {"at_ms": 15, "kind": "persister_reorder"},
            {"at_ms": 16, "kind": "persister_duplicate", "rpc": "ReadShareGroupState"},
            {"at_ms": 17, "kind": "lock_timer_race", "order": "timer_first"},
            {"at_ms": 18, "kind": "leadership_bounce", "topic": "t", "partition": 1},
            {"at_ms": 19, "kind": "zombie_leader", "topic": "t"},
            {"at_ms": 20, "kind": "share_coordinator_failover"},
            {"at_ms": 21, "kind": "group_coordinator_failover", "group": "g"},
            {"at_ms": 22, "kind": "log_start_move", "topic": "t", "offset": 5},
            {"at_ms": 23, "kind": "delete_records", "topic": "t", "offset": 6},
            {"at_ms": 24, "kind": "compaction", "topic": "c"},
            {"at_ms": 25, "kind": "corrupt_batch_on_disk", "topic": "t", "offset": 3},
            {"at_ms": 26, "kind": "consumer_crash", "consumer": "consumer:0/1"},
            {"at_ms": 27, "kind": "consumer_stall", "consumer": "consumer:0", "stall_ms": 100},
            {"at_ms": 28, "kind": "consumer_reconnect_late_close", "consumer": "consumer:0/0", "close_delay_ms": 9},
            {"at_ms": 29, "kind": "clock_skew", "node": "broker:3", "skew_ms": -40, "drift_ppm": 200},
            {"at_ms": 30, "kind": "offset_reset", "group": "g", "topic": "t", "partition": 1, "start_offset": 4}
          ]
        }"#;
        let scenario = parse_scenario("kinds.json", text).expect("valid");
        let plan = fault_plan(&scenario, 1).expect("maps");
        let kinds: Vec<&str> = plan.faults.iter().map(|f| f.lever.kind()).collect();
        assert_eq!(kinds, FAULT_KINDS);
        assert_eq!(plan.liveness_at_ms, 100_000);
        assert_eq!(
            plan.faults[0].lever,
            Lever::BrokerCrash {
                broker: 2,
                lose_unflushed: true,
                restart_after_ms: Some(50)
            }
        );
        assert_eq!(
            plan.faults[2].lever,
            Lever::Partition {
                shape: PartitionShape::SwizzleClog { step_ms: 1_000 },
                nodes: vec![
                    FaultNode::Broker(1),
                    FaultNode::Consumer {
                        entry: 0,
                        instance: Some(1)
                    }
                ],
                duration_ms: None
            }
        );
        assert_eq!(
            plan.faults[8].lever,
            Lever::Rpc {
                fault: RpcFault::Drop,
                api_key: 79,
                direction: FaultDirection::Responses,
                probability: 1.0,
                duration_ms: None
            }
        );
        assert_eq!(
            plan.faults[12].lever,
            Lever::Persister {
                fault: PersisterFault::Fail { error_code: 124 },
                api_key: 85,
                probability: 1.0,
                duration_ms: None
            }
        );
        assert_eq!(
            plan.faults[29].lever,
            Lever::OffsetReset {
                group: "g".to_string(),
                topic: "t".to_string(),
                partition: 1,
                start_offset: 4
            }
        );
        assert_eq!(
            plan.faults[28].lever,
            Lever::ClockSkew {
                node: FaultNode::Broker(3),
                skew_ms: -40,
                drift_ppm: 200
            }
        );
    }

    /// Swarm mode (the shipped `scenarios/swarm.json`): each seed draws its own plan after the scheduled
    /// faults, the same plan for the same seed, only from the levers the scenario names.
    #[test]
    fn swarm_scenario_draws_a_plan_per_seed() {
        let text =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/swarm.json"))
                .expect("the shipped swarm scenario");
        let scenario = parse_scenario("swarm.json", &text).expect("valid");
        let swarm = scenario.swarm.as_ref().expect("swarm section");
        let plans: Vec<FaultPlan> = (1..=10)
            .map(|seed| fault_plan(&scenario, seed).expect("maps"))
            .collect();
        for (seed, plan) in (1..=10).zip(&plans) {
            assert_eq!(plan, &fault_plan(&scenario, seed).unwrap());
            assert!(plan.faults.len() <= swarm.max_faults as usize);
            assert!(plan.faults.iter().all(
                |f| swarm.levers.contains_key(f.lever.kind()) && f.at_ms < scenario.duration_ms
            ));
        }
        assert_ne!(plans[0], plans[1]);
        let world = swarm_world(&scenario);
        assert_eq!(world.consumers.len(), 3);
        assert_eq!(world.brokers, vec![1, 2, 3]);
    }
}
