//! Swarm mode ("swarm testing"): every seed draws its own fault plan. First each lever is switched on
//! or off for the seed (with its probability), then faults of the switched-on levers strike at
//! exponentially distributed intervals until the workload ends, each with parameters drawn from the seed
//! (which node, when, how long, how hard). Every plan ends with the liveness phase.
//!
//! The draw is deterministic per seed and independent of madsim: it runs before the simulation, from its
//! own SplitMix64 stream seeded with the run's seed, so the plan of a seed can be printed, stored in a
//! report and replayed as a scenario.

use std::collections::BTreeMap;

use super::lever::{
    api_key_by_name, CoordinatorKind, FaultNode, FaultPlan, Lever, LockTimerOrder, LogStartCause,
    NetworkFault, PartitionShape, PersisterFault, RpcFault, ScheduledFault,
};
use crate::net::FaultDirection;
use crate::ResponseError;

/// Scheduled admin actions (`offset_reset`): levers a scenario may pull at a time, never drawn by a
/// swarm (an admin's request is no fault; adding it to [`LEVER_KINDS`] would also shift every swarm
/// seed's draws). The scenario's `FAULT_KINDS` are [`LEVER_KINDS`] followed by these.
pub const ADMIN_LEVER_KINDS: &[&str] = &["offset_reset"];

/// Every lever's kind name, in the design's order (the scenario's `FAULT_KINDS` must equal this).
pub const LEVER_KINDS: &[&str] = &[
    "broker_crash",
    "broker_restart",
    "partition",
    "heal",
    "network_delay",
    "network_loss",
    "network_duplicate",
    "network_reorder",
    "rpc_drop",
    "rpc_hold",
    "rpc_delay",
    "persister_hold",
    "persister_fail",
    "persister_timeout",
    "persister_reorder",
    "persister_duplicate",
    "lock_timer_race",
    "leadership_bounce",
    "zombie_leader",
    "share_coordinator_failover",
    "group_coordinator_failover",
    "log_start_move",
    "delete_records",
    "compaction",
    "corrupt_batch_on_disk",
    "consumer_crash",
    "consumer_stall",
    "consumer_reconnect_late_close",
    "clock_skew",
];

/// APIs a swarm `rpc_*` fault may hit.
const SWARM_RPC_APIS: &[&str] = &[
    "ShareFetch",
    "ShareAcknowledge",
    "ShareGroupHeartbeat",
    "Fetch",
    "Produce",
    "WriteShareGroupState",
    "ReadShareGroupState",
];

/// Persister RPCs a swarm `persister_*` fault may hit (mostly writes: they carry acknowledgements).
const SWARM_PERSISTER_RPCS: &[&str] = &[
    "WriteShareGroupState",
    "WriteShareGroupState",
    "ReadShareGroupState",
];

/// The swarm section of a scenario, in the simulator's terms.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmConfig {
    /// Lever kind → probability that a seed switches it on. Empty: every lever with probability 0.5.
    pub levers: BTreeMap<String, f64>,
    /// Mean time between two faults.
    pub mean_interval_ms: u64,
    /// At most this many faults per run.
    pub max_faults: u32,
    /// Each fault window lasts at most this long.
    pub max_fault_duration_ms: u64,
}

impl Default for SwarmConfig {
    /// The scenario defaults: every lever at 0.5, a fault every 5 s on average, at most 20, windows of
    /// at most 10 s.
    fn default() -> Self {
        SwarmConfig {
            levers: BTreeMap::new(),
            mean_interval_ms: 5_000,
            max_faults: 20,
            max_fault_duration_ms: 10_000,
        }
    }
}

/// What the cluster has, so that drawn faults name real things.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SwarmWorld {
    /// Broker ids.
    pub brokers: Vec<u32>,
    /// Topics: (name, partition count, compacted).
    pub topics: Vec<(String, i32, bool)>,
    /// Group ids.
    pub groups: Vec<String>,
    /// Consumer instances (`FaultNode::Consumer` with an instance).
    pub consumers: Vec<FaultNode>,
    /// Producer entries.
    pub producers: usize,
    /// Whether a dedicated controller node exists.
    pub dedicated_controller: bool,
}

/// The seed's plan: which levers are on, and the faults drawn, with the liveness phase at
/// `liveness_at_ms` (the end of the workload).
pub fn draw_plan(
    config: &SwarmConfig,
    world: &SwarmWorld,
    seed: u64,
    liveness_at_ms: u64,
) -> FaultPlan {
    let mut rng = SwarmRng::new(seed);
    let enabled: Vec<&'static str> = LEVER_KINDS
        .iter()
        .copied()
        .filter(|kind| {
            let chance = if config.levers.is_empty() {
                0.5
            } else {
                config.levers.get(*kind).copied().unwrap_or(0.0)
            };
            // Always draw, so one lever's probability does not shift the others' draws.
            let on = rng.chance(chance);
            on && drawable(kind, world)
        })
        .collect();
    let mut faults = Vec::new();
    let mut at_ms = 0u64;
    let mean_ms = config.mean_interval_ms.max(1) as f64;
    while !enabled.is_empty() && faults.len() < config.max_faults as usize {
        at_ms = at_ms.saturating_add(rng.exponential_ms(mean_ms).max(1));
        if at_ms >= liveness_at_ms {
            break;
        }
        let kind = enabled[rng.below(enabled.len() as u64) as usize];
        if let Some(lever) = draw_lever(kind, config, world, &mut rng) {
            faults.push(ScheduledFault { at_ms, lever });
        }
    }
    FaultPlan {
        faults,
        liveness_at_ms,
    }
}

/// Whether the world has what the lever needs.
fn drawable(kind: &str, world: &SwarmWorld) -> bool {
    let has_topic = !world.topics.is_empty();
    match kind {
        "broker_crash" | "broker_restart" => !world.brokers.is_empty(),
        "leadership_bounce"
        | "zombie_leader"
        | "log_start_move"
        | "delete_records"
        | "corrupt_batch_on_disk" => has_topic && !world.brokers.is_empty(),
        "compaction" => world.topics.iter().any(|(_, _, compacted)| *compacted),
        "consumer_crash" | "consumer_stall" | "consumer_reconnect_late_close" => {
            !world.consumers.is_empty()
        }
        "share_coordinator_failover" | "group_coordinator_failover" => !world.groups.is_empty(),
        "partition" | "clock_skew" => !all_nodes(world).is_empty(),
        _ => true,
    }
}

fn all_nodes(world: &SwarmWorld) -> Vec<FaultNode> {
    let mut nodes: Vec<FaultNode> = world
        .brokers
        .iter()
        .map(|&id| FaultNode::Broker(id))
        .collect();
    if world.dedicated_controller {
        nodes.push(FaultNode::Controller);
    }
    nodes.extend((0..world.producers).map(FaultNode::Producer));
    nodes.extend(world.consumers.iter().copied());
    nodes
}

fn draw_lever(
    kind: &str,
    config: &SwarmConfig,
    world: &SwarmWorld,
    rng: &mut SwarmRng,
) -> Option<Lever> {
    let max_window_ms = config.max_fault_duration_ms.max(1);
    let window_ms = |rng: &mut SwarmRng| 1 + rng.below(max_window_ms);
    let lever = match kind {
        "broker_crash" => Lever::BrokerCrash {
            broker: *rng.pick(&world.brokers)?,
            lose_unflushed: rng.chance(0.5),
            restart_after_ms: Some(window_ms(rng)),
        },
        "broker_restart" => Lever::BrokerRestart {
            broker: *rng.pick(&world.brokers)?,
        },
        "partition" => {
            let nodes = all_nodes(world);
            let duration_ms = Some(window_ms(rng));
            match rng.below(4) {
                0 => Lever::Partition {
                    shape: PartitionShape::Node,
                    nodes: vec![*rng.pick(&nodes)?],
                    duration_ms,
                },
                shape if nodes.len() >= 2 => {
                    let a = *rng.pick(&nodes)?;
                    let others: Vec<FaultNode> =
                        nodes.iter().copied().filter(|n| *n != a).collect();
                    let b = *rng.pick(&others)?;
                    match shape {
                        1 => Lever::Partition {
                            shape: PartitionShape::Link,
                            nodes: vec![a, b],
                            duration_ms,
                        },
                        2 => Lever::Partition {
                            shape: PartitionShape::OneDirection,
                            nodes: vec![a, b],
                            duration_ms,
                        },
                        _ => {
                            let mut shuffled = nodes.clone();
                            rng.shuffle(&mut shuffled);
                            shuffled.truncate(2 + rng.below(nodes.len() as u64 - 1) as usize);
                            let step_ms = 1 + rng.below(max_window_ms / 4 + 1);
                            Lever::Partition {
                                shape: PartitionShape::SwizzleClog { step_ms },
                                nodes: shuffled,
                                duration_ms,
                            }
                        }
                    }
                }
                _ => Lever::Partition {
                    shape: PartitionShape::Node,
                    nodes: vec![*rng.pick(&nodes)?],
                    duration_ms,
                },
            }
        }
        "heal" => Lever::Heal,
        "network_delay" => {
            let max_ms = 1 + rng.below(500);
            Lever::Network {
                fault: NetworkFault::Delay {
                    min_ms: rng.below(max_ms),
                    max_ms,
                },
                duration_ms: Some(window_ms(rng)),
            }
        }
        "network_loss" => Lever::Network {
            fault: NetworkFault::Loss {
                probability: rng.probability(0.01, 0.3),
            },
            duration_ms: Some(window_ms(rng)),
        },
        "network_duplicate" => Lever::Network {
            fault: NetworkFault::Duplicate {
                probability: rng.probability(0.01, 0.3),
            },
            duration_ms: Some(window_ms(rng)),
        },
        "network_reorder" => Lever::Network {
            fault: NetworkFault::Reorder {
                probability: rng.probability(0.05, 0.5),
                max_delay_ms: 1 + rng.below(200),
            },
            duration_ms: Some(window_ms(rng)),
        },
        "rpc_drop" | "rpc_hold" | "rpc_delay" => {
            let api_key = api_key_by_name(rng.pick(SWARM_RPC_APIS)?)?;
            let fault = match kind {
                "rpc_drop" => RpcFault::Drop,
                "rpc_hold" => RpcFault::Hold {
                    hold_ms: 1 + rng.below(5_000),
                },
                _ => RpcFault::Delay {
                    delay_ms: 1 + rng.below(2_000),
                },
            };
            let direction = if rng.chance(0.5) {
                FaultDirection::Requests
            } else {
                FaultDirection::Responses
            };
            Lever::Rpc {
                fault,
                api_key,
                direction,
                probability: rng.probability(0.1, 1.0),
                duration_ms: Some(window_ms(rng)),
            }
        }
        "persister_hold"
        | "persister_fail"
        | "persister_timeout"
        | "persister_reorder"
        | "persister_duplicate" => {
            let api_key = api_key_by_name(rng.pick(SWARM_PERSISTER_RPCS)?)?;
            let fault = match kind {
                "persister_hold" => PersisterFault::Hold {
                    hold_ms: 1 + rng.below(5_000),
                },
                "persister_fail" => PersisterFault::Fail {
                    error_code: rng
                        .pick(&[
                            ResponseError::CoordinatorNotAvailable,
                            ResponseError::CoordinatorLoadInProgress,
                            ResponseError::NotCoordinator,
                            ResponseError::UnknownServerError,
                        ])?
                        .code(),
                },
                "persister_timeout" => PersisterFault::Timeout,
                "persister_reorder" => PersisterFault::Reorder {
                    window_ms: 1 + rng.below(1_000),
                },
                _ => PersisterFault::Duplicate,
            };
            Lever::Persister {
                fault,
                api_key,
                probability: rng.probability(0.1, 1.0),
                duration_ms: Some(window_ms(rng)),
            }
        }
        "lock_timer_race" => Lever::LockTimerRace {
            order: *rng.pick(&[
                LockTimerOrder::TimerFirst,
                LockTimerOrder::HandlerFirst,
                LockTimerOrder::Random,
            ])?,
            duration_ms: Some(window_ms(rng)),
        },
        "leadership_bounce" => {
            let (topic, partition) = pick_partition(world, rng)?;
            Lever::LeadershipBounce {
                topic,
                partition,
                via_broker: None,
                back_after_ms: window_ms(rng),
            }
        }
        "zombie_leader" => {
            let (topic, partition) = pick_partition(world, rng)?;
            Lever::ZombieLeader {
                topic,
                partition,
                duration_ms: window_ms(rng),
            }
        }
        "share_coordinator_failover" | "group_coordinator_failover" => Lever::CoordinatorFailover {
            kind: if kind == "share_coordinator_failover" {
                CoordinatorKind::Share
            } else {
                CoordinatorKind::Group
            },
            group: Some(rng.pick(&world.groups)?.clone()),
        },
        "log_start_move" | "delete_records" => {
            let (topic, partition) = pick_partition(world, rng)?;
            Lever::LogStartMove {
                topic,
                partition,
                // Offsets past the log end are clamped by the broker (as Kafka's DeleteRecords refuses
                // them); small ones hit the records the workload wrote first.
                offset: rng.below(200) as i64,
                cause: if kind == "log_start_move" {
                    LogStartCause::Retention
                } else {
                    LogStartCause::DeleteRecords
                },
            }
        }
        "compaction" => {
            let compacted: Vec<&(String, i32, bool)> =
                world.topics.iter().filter(|(_, _, c)| *c).collect();
            let (topic, _, _) = rng.pick(&compacted)?;
            Lever::Compaction {
                topic: topic.clone(),
                partition: None,
            }
        }
        "corrupt_batch_on_disk" => {
            let (topic, partition) = pick_partition(world, rng)?;
            Lever::CorruptBatch {
                topic,
                partition,
                offset: rng.below(200) as i64,
                broker: None,
            }
        }
        "consumer_crash" => Lever::ConsumerCrash {
            consumer: *rng.pick(&world.consumers)?,
            restart_after_ms: rng.chance(0.75).then(|| window_ms(rng)),
        },
        "consumer_stall" => Lever::ConsumerStall {
            consumer: *rng.pick(&world.consumers)?,
            stall_ms: window_ms(rng),
        },
        "consumer_reconnect_late_close" => Lever::ConsumerReconnectLateClose {
            consumer: *rng.pick(&world.consumers)?,
            close_delay_ms: 1 + rng.below(max_window_ms),
        },
        "clock_skew" => Lever::ClockSkew {
            node: *rng.pick(&all_nodes(world))?,
            skew_ms: rng.below(20_001) as i64 - 10_000,
            drift_ppm: rng.below(2_001) as i64 - 1_000,
        },
        _ => return None,
    };
    Some(lever)
}

fn pick_partition(world: &SwarmWorld, rng: &mut SwarmRng) -> Option<(String, i32)> {
    let (topic, partitions, _) = rng.pick(&world.topics)?;
    let partition = rng.below((*partitions).max(1) as u64) as i32;
    Some((topic.clone(), partition))
}

/// SplitMix64: a tiny, stable PRNG, so a seed's plan never changes with a dependency's version.
#[derive(Clone, Debug)]
pub struct SwarmRng {
    state: u64,
}

impl SwarmRng {
    /// A stream for `seed` (mixed, so seeds 1, 2, 3 give unrelated streams).
    pub fn new(seed: u64) -> SwarmRng {
        SwarmRng {
            state: seed ^ 0x5157_4152_4d5f_5345, // "SWARM_SE"
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..bound` (0 when `bound` is 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            return 0;
        }
        // Multiply-shift: no modulo bias worth noticing for the small bounds used here.
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `[low, high]`, rounded to 3 decimals so plans print cleanly.
    pub fn probability(&mut self, low: f64, high: f64) -> f64 {
        let p = low + (high - low) * self.unit();
        (p * 1000.0).round() / 1000.0
    }

    /// Exponential with mean `mean_ms`, whole ms.
    pub fn exponential_ms(&mut self, mean_ms: f64) -> u64 {
        let u = 1.0 - self.unit(); // (0, 1]
        (-u.ln() * mean_ms) as u64
    }

    /// One element, `None` if empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        if items.is_empty() {
            return None;
        }
        items.get(self.below(items.len() as u64) as usize)
    }

    /// Fisher-Yates.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}
