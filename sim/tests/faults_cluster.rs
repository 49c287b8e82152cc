#![cfg(madsim)]
//! Fault levers against the simulated cluster: one seeded run per lever family the harness can pull
//! (crash/restart, partitions, transport rules, clock skew), each showing the fault happens and is in
//! the trace; and a swarm plan run twice on one seed giving the same trace hash.

use std::collections::BTreeMap;

use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::faults::swarm::{draw_plan, SwarmConfig, SwarmWorld};
use sharesim_sim::faults::{
    run_fault_plan, virtual_now_ms, FaultNode, FaultPlan, FaultScheduler, Lever, NetworkFault,
    PartitionShape, ScheduledFault, LIVENESS_LEVER,
};
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::trace::TraceEvent;

async fn start() -> SimCluster {
    SimCluster::start(SimClusterConfig {
        keep_trace_records: true,
        ..SimClusterConfig::default()
    })
    .await
}

/// Runs `faults` (times relative to now) with the liveness phase `liveness_after_ms` from now.
async fn run(cluster: &mut SimCluster, faults: Vec<(u64, Lever)>, liveness_after_ms: u64) -> u64 {
    let start_ms = virtual_now_ms();
    let plan = FaultPlan {
        faults: faults
            .into_iter()
            .map(|(at_ms, lever)| ScheduledFault {
                at_ms: start_ms + at_ms,
                lever,
            })
            .collect(),
        liveness_at_ms: start_ms + liveness_after_ms,
    };
    let scheduler = run_fault_plan(FaultScheduler::new(plan), cluster).await;
    assert!(scheduler.liveness_started());
    start_ms
}

/// Every `TraceEvent::Fault` as (lever, detail).
fn fault_records(cluster: &SimCluster) -> Vec<(String, String)> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .expect("kept")
            .iter()
            .filter_map(|record| match &record.event {
                TraceEvent::Fault { lever, detail } => Some((lever.clone(), detail.clone())),
                _ => None,
            })
            .collect()
    })
}

fn pair(lever: &str, detail: &str) -> (String, String) {
    (lever.to_string(), detail.to_string())
}

/// Design "Fault levers": a broker crash losing unflushed data, restarted after 2 s; the restarted
/// broker serves metadata again.
#[madsim::test]
async fn broker_crash_and_restart_are_pulled_and_traced() {
    let mut cluster = start().await;
    let crash = Lever::BrokerCrash {
        broker: 2,
        lose_unflushed: true,
        restart_after_ms: Some(2_000),
    };
    run(&mut cluster, vec![(100, crash)], 5_000).await;
    assert_eq!(
        fault_records(&cluster),
        vec![
            pair("broker_crash", "pull: crash broker:2 lose_unflushed=true"),
            pair("broker_crash", "release: restart broker:2"),
        ]
    );
    let client = cluster.test_client("check");
    let addr = cluster.broker_addr(2).expect("broker 2");
    let answered = cluster
        .client_node("check")
        .spawn(async move {
            for _ in 0..100 {
                if client.metadata(None).await.is_ok() {
                    return true;
                }
                madsim::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            false
        })
        .await
        .unwrap();
    assert!(
        answered,
        "the cluster answers after broker {addr} restarted"
    );
}

/// Design "Fault levers": node isolation, a one-direction link and a swizzle-clog, each healed.
#[madsim::test]
async fn partitions_clog_and_heal() {
    let mut cluster = start().await;
    let (b1, b2, b3) = (
        FaultNode::Broker(1),
        FaultNode::Broker(2),
        FaultNode::Broker(3),
    );
    let faults = vec![
        (
            100,
            Lever::Partition {
                shape: PartitionShape::Node,
                nodes: vec![FaultNode::Controller],
                duration_ms: Some(500),
            },
        ),
        (
            1_000,
            Lever::Partition {
                shape: PartitionShape::OneDirection,
                nodes: vec![b1, b2],
                duration_ms: Some(500),
            },
        ),
        (
            2_000,
            Lever::Partition {
                shape: PartitionShape::SwizzleClog { step_ms: 100 },
                nodes: vec![b1, b2, b3],
                duration_ms: None,
            },
        ),
    ];
    run(&mut cluster, faults, 10_000).await;
    assert_eq!(
        fault_records(&cluster),
        vec![
            pair("partition", "pull: clog controller"),
            pair("partition", "release: unclog controller"),
            pair("partition", "pull: clog link broker:1 -> broker:2"),
            pair("partition", "release: unclog link broker:1 -> broker:2"),
            pair("partition", "pull: clog broker:1"),
            pair("partition", "pull: clog broker:2"),
            pair("partition", "pull: clog broker:3"),
            pair("partition", "release: unclog broker:3"),
            pair("partition", "release: unclog broker:2"),
            pair("partition", "release: unclog broker:1"),
        ]
    );
}

/// Design "Fault levers": message loss is a transport rule while the window is open, cleared after.
#[madsim::test]
async fn network_loss_sets_and_clears_the_transport_rule() {
    let mut cluster = start().await;
    let loss = Lever::Network {
        fault: NetworkFault::Loss { probability: 0.25 },
        duration_ms: Some(1_000),
    };
    let start_ms = virtual_now_ms();
    let plan = FaultPlan {
        faults: vec![ScheduledFault {
            at_ms: start_ms + 100,
            lever: loss,
        }],
        liveness_at_ms: start_ms + 5_000,
    };
    let mut scheduler = FaultScheduler::new(plan);
    madsim::time::sleep(std::time::Duration::from_millis(200)).await;
    scheduler.run_due(virtual_now_ms(), &mut cluster);
    // The rule is in the transport now: a message of any API may be dropped.
    let dropped = (0..200)
        .filter(|serial| {
            let connection = sharesim_sim::net::ConnectionId {
                client: "10.0.1.1:1".parse().unwrap(),
                server: "10.0.0.1:9092".parse().unwrap(),
                serial: *serial,
            };
            let direction = sharesim_sim::net::Direction::Request;
            cluster
                .faults()
                .plan_message(connection, direction, 3, 1)
                .is_empty()
        })
        .count();
    assert!(
        (20..=80).contains(&dropped),
        "about a quarter lost: {dropped}"
    );
    let _ = run_fault_plan(scheduler, &mut cluster).await;
    let records = fault_records(&cluster);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records[0]
        .1
        .starts_with("pull: net rule all APIs Both drop=0.25"));
    assert_eq!(
        records[1],
        pair("network_loss", "release: clear net rule all APIs")
    );
}

/// Design "per-node clocks": a broker's clock skews and drifts while the lever is pulled, and returns to
/// true time in the liveness phase; a lever the harness cannot pull is recorded as skipped.
#[madsim::test]
async fn clock_skew_changes_a_broker_clock_until_liveness() {
    let mut cluster = start().await;
    let skew = Lever::ClockSkew {
        node: FaultNode::Broker(2),
        skew_ms: 5_000,
        drift_ppm: 1_000,
    };
    let consumer_stall = Lever::ConsumerStall {
        consumer: FaultNode::Consumer {
            entry: 0,
            instance: Some(0),
        },
        stall_ms: 100,
    };
    let start_ms = virtual_now_ms();
    let plan = FaultPlan {
        faults: vec![
            ScheduledFault {
                at_ms: start_ms + 100,
                lever: skew,
            },
            ScheduledFault {
                at_ms: start_ms + 200,
                lever: consumer_stall,
            },
        ],
        liveness_at_ms: start_ms + 10_100,
    };
    let mut scheduler = FaultScheduler::new(plan);
    madsim::time::sleep(std::time::Duration::from_millis(100)).await;
    scheduler.run_due(virtual_now_ms(), &mut cluster);
    let clock = cluster.clock(2).expect("broker 2").clone();
    let before_ms = clock.now_ms();
    madsim::time::sleep(std::time::Duration::from_millis(10_000)).await;
    let after_ms = clock.now_ms();
    assert_eq!(after_ms - before_ms, 10_010, "10 s at +1000 ppm");
    assert_eq!(clock.setting(), (5_000, 1_000));
    let scheduler = run_fault_plan(scheduler, &mut cluster).await;
    assert_eq!(clock.setting(), (0, 0));
    let records = fault_records(&cluster);
    assert_eq!(
        records[0],
        pair(
            "clock_skew",
            "pull: clock broker:2 skew=5000ms drift=1000ppm"
        )
    );
    assert!(records[1].1.starts_with("skipped: stall consumer:0/0"));
    assert_eq!(
        records[2],
        pair(
            LIVENESS_LEVER,
            "release: clock broker:2 skew=0ms drift=0ppm"
        )
    );
    assert_eq!(scheduler.errors().len(), 1);
}

/// Design "Deterministic to the byte": a swarm plan over the levers the harness pulls, run twice on
/// one seed, gives the same trace hash; another seed draws another plan.
#[test]
fn same_seed_same_trace_hash_with_a_swarm_plan() {
    fn run_seed(seed: u64) -> (String, usize) {
        let runtime =
            madsim::runtime::Runtime::with_seed_and_config(seed, madsim::Config::default());
        runtime.block_on(async move {
            let mut cluster = start().await;
            let config = SwarmConfig {
                levers: BTreeMap::from(
                    [
                        "broker_crash",
                        "partition",
                        "network_loss",
                        "network_delay",
                        "network_duplicate",
                        "clock_skew",
                    ]
                    .map(|lever| (lever.to_string(), 1.0)),
                ),
                mean_interval_ms: 1_000,
                max_faults: 10,
                max_fault_duration_ms: 3_000,
            };
            let world = SwarmWorld {
                brokers: vec![1, 2, 3],
                dedicated_controller: true,
                ..SwarmWorld::default()
            };
            let start_ms = virtual_now_ms();
            let mut plan = draw_plan(&config, &world, seed, 15_000);
            for fault in &mut plan.faults {
                fault.at_ms += start_ms;
            }
            plan.liveness_at_ms += start_ms;
            let faults = plan.faults.len();
            run_fault_plan(FaultScheduler::new(plan), &mut cluster).await;
            madsim::time::sleep(std::time::Duration::from_millis(5_000)).await;
            (format!("{:?}", cluster.trace_hash()), faults)
        })
    }
    let (first, faults) = run_seed(7);
    assert!(faults > 0);
    assert_eq!(run_seed(7), (first.clone(), faults));
    assert_ne!(run_seed(8).0, first);
}

/// Every controller `leader_elected` event of `topic`-0 as (old leader, new leader, leader epoch).
fn elections(cluster: &SimCluster, topic: &str) -> Vec<(i32, i32, i32)> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .expect("kept")
            .iter()
            .filter_map(|record| match &record.event {
                TraceEvent::Cluster {
                    event:
                        ClusterEvent::LeaderElected {
                            topic: elected,
                            partition: 0,
                            old_leader,
                            new_leader,
                            leader_epoch,
                            ..
                        },
                } if elected == topic => Some((*old_leader, *new_leader, *leader_epoch)),
                _ => None,
            })
            .collect()
    })
}

/// Design "Fault levers" (leadership bounce B1 → B2 → B1), seed 11: the controller moves `t`-0 to the
/// next ISR replica with a bumped leader epoch and moves it back when the window closes; both moves are
/// in the trace, as the lever's pull and release and as the controller's elections.
#[test]
fn leadership_bounce_moves_the_leader_away_and_back() {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(11, madsim::Config::default());
    runtime.block_on(async {
        let mut cluster = start().await;
        cluster.create_topic("t", 1, 3).await.expect("topic t");
        let bounce = Lever::LeadershipBounce {
            topic: "t".to_string(),
            partition: 0,
            via_broker: None,
            back_after_ms: 3_000,
        };
        run(&mut cluster, vec![(100, bounce)], 5_000).await;
        let leader = elections(&cluster, "t");
        assert_eq!(leader.len(), 2, "{leader:?}");
        let (first, second) = (leader[0], leader[1]);
        assert_ne!(first.0, first.1);
        assert_eq!(
            (second.0, second.1),
            (first.1, first.0),
            "moved back: {leader:?}"
        );
        assert_eq!(second.2, first.2 + 1, "each move bumps the leader epoch");
        assert_eq!(
            fault_records(&cluster),
            vec![
                pair(
                    "leadership_bounce",
                    "pull: move leader t-0 to next ISR replica"
                ),
                pair(
                    "leadership_bounce",
                    &format!("release: move leader t-0 to broker:{}", first.0)
                ),
            ]
        );
        // A move to a broker outside the ISR is refused and recorded as skipped.
        let refused = Lever::LeadershipBounce {
            topic: "t".to_string(),
            partition: 0,
            via_broker: Some(9),
            back_after_ms: 1_000,
        };
        run(&mut cluster, vec![(100, refused)], 2_000).await;
        let records = fault_records(&cluster);
        assert!(
            records[2]
                .1
                .starts_with("skipped: move leader t-0 to broker:9"),
            "{records:?}"
        );
    });
}

/// `lost_leadership` events of `topic`-0 as (node, virtual time).
fn lost_leadership(cluster: &SimCluster, topic: &str) -> Vec<(String, u64)> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .expect("kept")
            .iter()
            .filter_map(|record| match &record.event {
                TraceEvent::Cluster {
                    event: ClusterEvent::LostLeadership { topic: lost, .. },
                } if lost == topic => Some((record.node.clone(), record.at_ms)),
                _ => None,
            })
            .collect()
    })
}

/// Design "Fault levers" (zombie leaders writing with an old epoch), seed 12: the controller moves
/// `t`-0 away from its leader at once, but the old leader, cut off from the controller, only learns it
/// lost the partition when the zombie stops 5 s later; the new leader learns it at its next metadata
/// pull.
#[test]
fn a_zombie_leader_learns_it_lost_the_partition_only_when_it_stops() {
    let runtime = madsim::runtime::Runtime::with_seed_and_config(12, madsim::Config::default());
    runtime.block_on(async {
        let mut cluster = start().await;
        cluster.create_topic("t", 1, 3).await.expect("topic t");
        let zombie = Lever::ZombieLeader {
            topic: "t".to_string(),
            partition: 0,
            duration_ms: 5_000,
        };
        let start_ms = run(&mut cluster, vec![(100, zombie)], 6_000).await;
        madsim::time::sleep(std::time::Duration::from_millis(3_000)).await;
        assert_eq!(
            fault_records(&cluster),
            vec![
                pair("zombie_leader", "pull: zombie leader t-0"),
                pair("zombie_leader", "release: zombie leader t-0 stops"),
            ]
        );
        let elected = elections(&cluster, "t");
        assert_eq!(elected.len(), 1, "{elected:?}");
        let old_leader = format!("broker-{}", elected[0].0);
        let lost = lost_leadership(&cluster, "t");
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert_eq!(lost[0].0, old_leader);
        assert!(
            lost[0].1 >= start_ms + 5_100,
            "the zombie heard of the move at {} ms, before it stopped ({} ms)",
            lost[0].1,
            start_ms + 5_100
        );
    });
}
