//! Property test of the controller under random broker deaths, revivals, restarts and ISR changes.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::cluster::NO_LEADER;
use crate::ResponseError;

const BROKERS: i32 = 4;

#[derive(Clone, Debug)]
enum Op {
    /// Advance virtual time; live brokers heartbeat first.
    Tick { elapsed_ms: u64 },
    /// A broker stops heartbeating (crash or partition).
    Kill { broker: i32 },
    /// A stopped broker comes back: a new incarnation registers again.
    Revive { broker: i32 },
    /// The leader of a partition proposes an ISR (a random subset), maybe with stale epochs.
    AlterIsr {
        partition: i32,
        members: u8,
        stale: bool,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (1u64..6000).prop_map(|elapsed_ms| Op::Tick { elapsed_ms }),
        (0..BROKERS).prop_map(|broker| Op::Kill { broker }),
        (0..BROKERS).prop_map(|broker| Op::Revive { broker }),
        (0..3i32, any::<u8>(), any::<bool>()).prop_map(|(partition, members, stale)| {
            Op::AlterIsr {
                partition,
                members,
                stale,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Leaders are always live ISR members; leader and partition epochs and metadata versions never go
    /// back; every elected leader is in the ISR.
    #[test]
    fn leadership_and_versions_stay_safe(ops in proptest::collection::vec(op(), 1..80)) {
        let mut c = Controller::new(ControllerConfig::default());
        let mut now_ms = 0u64;
        let mut alive: BTreeMap<i32, (u64, i64)> = BTreeMap::new(); // broker -> (incarnation, epoch)
        let mut incarnation = 0u64;
        for b in 0..BROKERS {
            incarnation += 1;
            let epoch = c.handle_register_broker(0, BrokerRegistration {
                broker_id: b, incarnation_id: incarnation, host: "h".into(), port: 1, rack: None,
            }).unwrap();
            c.handle_heartbeat(0, BrokerHeartbeat { broker_id: b, broker_epoch: epoch, want_fence: false })
                .unwrap();
            alive.insert(b, (incarnation, epoch));
        }
        c.handle_create_topic(0, "t", 3, 3).unwrap();
        let mut last_version = c.image().version;
        let mut last_epochs: Vec<(i32, i32)> = vec![(0, 0); 3];
        let mut dead: Vec<i32> = Vec::new();
        for op in ops {
            match op {
                Op::Tick { elapsed_ms } => {
                    for (&b, &(_, epoch)) in &alive {
                        c.handle_heartbeat(now_ms, BrokerHeartbeat {
                            broker_id: b, broker_epoch: epoch, want_fence: false,
                        }).unwrap();
                    }
                    // Fire every timer due within the step, in order.
                    let until = now_ms + elapsed_ms;
                    while let Some(deadline) = c.poll_timeout().filter(|&d| d <= until) {
                        now_ms = now_ms.max(deadline);
                        c.handle_timeout(now_ms);
                    }
                    now_ms = until;
                }
                Op::Kill { broker } => {
                    if alive.remove(&broker).is_some() {
                        dead.push(broker);
                    }
                }
                Op::Revive { broker } => {
                    if dead.contains(&broker) {
                        incarnation += 1;
                        let registered = c.handle_register_broker(now_ms, BrokerRegistration {
                            broker_id: broker, incarnation_id: incarnation, host: "h".into(), port: 1,
                            rack: None,
                        });
                        // Refused while the old session is still live: try again later.
                        if let Ok(epoch) = registered {
                            dead.retain(|&b| b != broker);
                            alive.insert(broker, (incarnation, epoch));
                        } else {
                            prop_assert_eq!(registered, Err(ResponseError::DuplicateBrokerRegistration));
                        }
                    }
                }
                Op::AlterIsr { partition, members, stale } => {
                    let p = c.image().partition("t", partition).unwrap().clone();
                    if p.leader != NO_LEADER {
                        let new_isr: Vec<i32> = p.replicas.iter().copied().enumerate()
                            .filter(|&(i, r)| r == p.leader || members & (1 << i) != 0)
                            .map(|(_, r)| r).collect();
                        let broker_epoch = c.image().brokers[&p.leader].broker_epoch;
                        let request = AlterPartitionRequest {
                            broker_id: p.leader, broker_epoch, topic: "t".into(), partition,
                            leader_epoch: p.leader_epoch,
                            partition_epoch: p.partition_epoch - i32::from(stale),
                            new_isr,
                        };
                        let result = c.handle_alter_partition(now_ms, &request);
                        if stale {
                            prop_assert_eq!(result, Err(ResponseError::InvalidUpdateVersion));
                        }
                    }
                }
            }
            let image = c.image();
            prop_assert!(image.version >= last_version);
            last_version = image.version;
            for (i, p) in image.topics["t"].partitions.iter().enumerate() {
                prop_assert!(!p.isr.is_empty());
                prop_assert!(p.isr.iter().all(|r| p.replicas.contains(r)));
                if p.leader != NO_LEADER {
                    prop_assert!(p.isr.contains(&p.leader), "leader outside ISR: {:?}", p);
                    prop_assert!(image.is_live(p.leader));
                } else {
                    // No leader only when no ISR member is live (unclean election off).
                    prop_assert!(p.isr.iter().all(|&r| !image.is_live(r)), "{:?}", p);
                }
                prop_assert!(p.leader_epoch >= last_epochs[i].0);
                prop_assert!(p.partition_epoch >= last_epochs[i].1);
                last_epochs[i] = (p.leader_epoch, p.partition_epoch);
            }
            let mut leader_epochs: BTreeMap<i32, i32> = BTreeMap::new();
            while let Some(event) = c.poll_event() {
                if let ControllerEvent::LeaderElected { partition, leader_epoch, new_leader, .. } = event {
                    let previous = leader_epochs.insert(partition, leader_epoch);
                    prop_assert!(previous.is_none_or(|e| e < leader_epoch));
                    if new_leader != NO_LEADER {
                        prop_assert!(c.image().brokers.contains_key(&new_leader));
                    }
                }
            }
        }
    }
}
