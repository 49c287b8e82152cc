//! Unit tests of the controller rules (Kafka KRaft behaviour; design "The simulated cluster").

use super::*;
use crate::cluster::NO_LEADER;
use crate::ResponseError;

const SESSION_MS: u64 = 9000;

fn registration(broker_id: i32, incarnation_id: u64) -> BrokerRegistration {
    BrokerRegistration {
        broker_id,
        incarnation_id,
        host: format!("broker-{broker_id}"),
        port: 9092,
        rack: None,
    }
}

fn heartbeat(broker_id: i32, broker_epoch: i64) -> BrokerHeartbeat {
    BrokerHeartbeat {
        broker_id,
        broker_epoch,
        want_fence: false,
    }
}

/// Registers and unfences brokers 0..n at time 0; returns the controller and their epochs.
fn cluster(n: i32) -> (Controller, Vec<i64>) {
    let mut c = Controller::new(ControllerConfig::default());
    let epochs: Vec<i64> = (0..n)
        .map(|b| c.handle_register_broker(0, registration(b, 1)).unwrap())
        .collect();
    for b in 0..n {
        c.handle_heartbeat(0, heartbeat(b, epochs[b as usize]))
            .unwrap();
    }
    (c, epochs)
}

fn drain(c: &mut Controller) -> Vec<ControllerEvent> {
    std::iter::from_fn(|| c.poll_event()).collect()
}

/// Kafka defaults: broker.session.timeout.ms 9000, broker.heartbeat.interval.ms 2000.
#[test]
fn config_defaults_are_kafkas() {
    let config = ControllerConfig::default();
    assert_eq!(config.broker_session_timeout_ms, 9000);
    assert_eq!(config.broker_heartbeat_interval_ms, 2000);
}

/// KRaft: a registered broker starts fenced; a heartbeat unfences it; unknown or stale epochs are refused.
#[test]
fn registration_starts_fenced_and_heartbeat_unfences() {
    let mut c = Controller::new(ControllerConfig::default());
    let epoch = c.handle_register_broker(0, registration(1, 7)).unwrap();
    assert!(c.image().brokers[&1].fenced);
    assert!(c.image().live_brokers().is_empty());
    let reply = c.handle_heartbeat(10, heartbeat(1, epoch)).unwrap();
    assert!(!reply.is_fenced);
    assert_eq!(reply.metadata_version, c.image().version);
    assert_eq!(
        c.handle_heartbeat(10, heartbeat(2, epoch)),
        Err(ResponseError::BrokerIdNotRegistered)
    );
    assert_eq!(
        c.handle_heartbeat(10, heartbeat(1, epoch + 5)),
        Err(ResponseError::StaleBrokerEpoch)
    );
    // A retry by the same incarnation gets the same epoch; a new incarnation while live is a duplicate.
    assert_eq!(c.handle_register_broker(11, registration(1, 7)), Ok(epoch));
    assert_eq!(
        c.handle_register_broker(11, registration(1, 8)),
        Err(ResponseError::DuplicateBrokerRegistration)
    );
}

/// broker.session.timeout.ms: no heartbeat for 9000 ms fences the broker; heartbeats keep it alive.
#[test]
fn session_expiry_fences_and_poll_timeout_names_it() {
    let (mut c, epochs) = cluster(2);
    assert_eq!(c.poll_timeout(), Some(SESSION_MS));
    c.handle_heartbeat(2000, heartbeat(0, epochs[0])).unwrap();
    assert_eq!(c.poll_timeout(), Some(SESSION_MS), "broker 1 expires first");
    c.handle_timeout(SESSION_MS - 1);
    assert!(!c.image().brokers[&1].fenced);
    c.handle_timeout(SESSION_MS);
    assert!(c.image().brokers[&1].fenced);
    assert!(!c.image().brokers[&0].fenced);
    assert_eq!(c.poll_timeout(), Some(2000 + SESSION_MS));
    assert!(drain(&mut c).contains(&ControllerEvent::BrokerFenced {
        now_ms: SESSION_MS,
        broker_id: 1,
        broker_epoch: epochs[1]
    }));
    // A restarted broker registers a new incarnation once its old session is gone: new, larger epoch.
    let new_epoch = c
        .handle_register_broker(SESSION_MS + 1, registration(1, 2))
        .unwrap();
    assert!(new_epoch > epochs[1]);
}

/// CreateTopics: Kafka's validation errors, and round-robin placement with leader = first replica.
#[test]
fn create_topic_validates_and_places_round_robin() {
    let (mut c, _) = cluster(3);
    assert_eq!(
        c.handle_create_topic(1, "", 1, 1),
        Err(ResponseError::InvalidTopicException)
    );
    assert_eq!(
        c.handle_create_topic(1, "a/b", 1, 1),
        Err(ResponseError::InvalidTopicException)
    );
    assert_eq!(
        c.handle_create_topic(1, "t", 0, 1),
        Err(ResponseError::InvalidPartitions)
    );
    assert_eq!(
        c.handle_create_topic(1, "t", 1, 0),
        Err(ResponseError::InvalidReplicationFactor)
    );
    assert_eq!(
        c.handle_create_topic(1, "t", 1, 4),
        Err(ResponseError::InvalidReplicationFactor)
    );
    let id = c.handle_create_topic(1, "t", 3, 2).unwrap();
    assert_ne!(id, 0);
    assert_eq!(
        c.handle_create_topic(1, "t", 3, 2),
        Err(ResponseError::TopicAlreadyExists)
    );
    let topic = &c.image().topics["t"];
    let replicas: Vec<Vec<i32>> = topic
        .partitions
        .iter()
        .map(|p| p.replicas.clone())
        .collect();
    assert_eq!(replicas, vec![vec![0, 1], vec![1, 2], vec![2, 0]]);
    for p in &topic.partitions {
        assert_eq!(p.leader, p.replicas[0]);
        assert_eq!(p.isr, p.replicas);
        assert_eq!((p.leader_epoch, p.partition_epoch), (0, 0));
    }
    // Deterministic ids: a second controller fed the same inputs gives the same id.
    let (mut c2, _) = cluster(3);
    assert_eq!(c2.handle_create_topic(1, "t", 3, 2), Ok(id));
}

/// Leader election on fencing: the dead leader leaves the ISR, the next ISR replica leads, epochs grow.
#[test]
fn fenced_leader_is_replaced_from_the_isr() {
    let (mut c, epochs) = cluster(3);
    c.handle_create_topic(0, "t", 1, 3).unwrap();
    drain(&mut c);
    let version = c.image().version;
    c.handle_heartbeat(5000, heartbeat(1, epochs[1])).unwrap();
    c.handle_heartbeat(5000, heartbeat(2, epochs[2])).unwrap();
    c.handle_timeout(SESSION_MS); // broker 0 expires
    let p = c.image().partition("t", 0).unwrap().clone();
    assert_eq!(p.leader, 1);
    assert_eq!(p.isr, vec![1, 2]);
    assert_eq!(p.leader_epoch, 1);
    assert!(p.partition_epoch >= 2);
    assert!(c.image().version > version);
    let events = drain(&mut c);
    assert!(events.iter().any(|e| matches!(
        e,
        ControllerEvent::LeaderElected {
            old_leader: 0,
            new_leader: 1,
            leader_epoch: 1,
            ..
        }
    )));
    assert!(events.iter().any(
        |e| matches!(e, ControllerEvent::IsrChanged { new_isr, .. } if new_isr == &vec![1, 2])
    ));
}

/// Unclean election off: when the last ISR member dies there is no leader (-1), the ISR keeps that member,
/// and the metadata shows LEADER_NOT_AVAILABLE; when it comes back it leads again.
#[test]
fn no_unclean_election_and_last_isr_member_returns() {
    let (mut c, epochs) = cluster(2);
    c.handle_create_topic(0, "t", 1, 2).unwrap();
    // Shrink to the leader alone.
    let p = c.image().partition("t", 0).unwrap().clone();
    let request = AlterPartitionRequest {
        broker_id: 0,
        broker_epoch: epochs[0],
        topic: "t".into(),
        partition: 0,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        new_isr: vec![0],
    };
    c.handle_alter_partition(1, &request).unwrap();
    c.handle_heartbeat(5000, heartbeat(1, epochs[1])).unwrap();
    c.handle_timeout(SESSION_MS); // broker 0, the only ISR member, dies
    let p = c.image().partition("t", 0).unwrap().clone();
    assert_eq!(p.leader, NO_LEADER);
    assert_eq!(p.isr, vec![0]);
    let described = c
        .image()
        .describe_topics(Some(&["t".to_string(), "nope".to_string()]));
    assert_eq!(
        described[0].partitions[0].error,
        Some(ResponseError::LeaderNotAvailable)
    );
    assert_eq!(
        described[1].error,
        Some(ResponseError::UnknownTopicOrPartition)
    );
    // Broker 0 restarts (new incarnation, new epoch) and comes back: it leads with a new epoch.
    let epoch = c
        .handle_register_broker(SESSION_MS + 1, registration(0, 2))
        .unwrap();
    c.handle_heartbeat(SESSION_MS + 2, heartbeat(0, epoch))
        .unwrap();
    let p2 = c.image().partition("t", 0).unwrap().clone();
    assert_eq!(p2.leader, 0);
    assert!(p2.leader_epoch > p.leader_epoch);
    assert_eq!(c.image().describe_topics(None)[0].partitions[0].error, None);
}

/// AlterPartition: Kafka's error order and the partition-epoch (update version) check.
#[test]
fn alter_partition_checks_epochs_and_membership() {
    let (mut c, epochs) = cluster(3);
    c.handle_create_topic(0, "t", 1, 3).unwrap();
    let p = c.image().partition("t", 0).unwrap().clone();
    let base = AlterPartitionRequest {
        broker_id: 0,
        broker_epoch: epochs[0],
        topic: "t".into(),
        partition: 0,
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        new_isr: vec![0, 1],
    };
    let with = |f: &dyn Fn(&mut AlterPartitionRequest)| {
        let mut r = base.clone();
        f(&mut r);
        r
    };
    let cases: Vec<(AlterPartitionRequest, ResponseError)> = vec![
        (
            with(&|r| r.broker_epoch = 99),
            ResponseError::StaleBrokerEpoch,
        ),
        (
            with(&|r| r.topic = "x".into()),
            ResponseError::UnknownTopicOrPartition,
        ),
        (
            with(&|r| r.partition = 3),
            ResponseError::UnknownTopicOrPartition,
        ),
        (
            with(&|r| r.leader_epoch = -1),
            ResponseError::FencedLeaderEpoch,
        ),
        (
            with(&|r| {
                r.broker_id = 1;
                r.broker_epoch = epochs[1];
            }),
            ResponseError::InvalidRequest,
        ),
        (
            with(&|r| r.partition_epoch = 5),
            ResponseError::InvalidUpdateVersion,
        ),
        (
            with(&|r| r.new_isr = vec![1, 2]),
            ResponseError::InvalidRequest,
        ),
        (
            with(&|r| r.new_isr = vec![0, 0]),
            ResponseError::InvalidRequest,
        ),
        (
            with(&|r| r.new_isr = vec![0, 7]),
            ResponseError::InvalidRequest,
        ),
    ];
    for (request, error) in cases {
        assert_eq!(
            c.handle_alter_partition(1, &request),
            Err(error),
            "{request:?}"
        );
    }
    let updated = c.handle_alter_partition(1, &base).unwrap();
    assert_eq!(updated.isr, vec![0, 1]);
    assert_eq!(updated.partition_epoch, p.partition_epoch + 1);
    // The same request again is now stale.
    assert_eq!(
        c.handle_alter_partition(1, &base),
        Err(ResponseError::InvalidUpdateVersion)
    );
    // Expanding with a fenced broker is INELIGIBLE_REPLICA.
    c.handle_heartbeat(5000, heartbeat(0, epochs[0])).unwrap();
    c.handle_heartbeat(5000, heartbeat(1, epochs[1])).unwrap();
    c.handle_timeout(SESSION_MS); // broker 2 fenced
    let p = c.image().partition("t", 0).unwrap().clone();
    let expand = AlterPartitionRequest {
        leader_epoch: p.leader_epoch,
        partition_epoch: p.partition_epoch,
        new_isr: vec![0, 1, 2],
        ..base.clone()
    };
    assert_eq!(
        c.handle_alter_partition(SESSION_MS, &expand),
        Err(ResponseError::IneligibleReplica)
    );
}

/// Metadata versions: every change bumps the version; brokers fetch only what is newer.
#[test]
fn metadata_version_grows_and_fetch_is_incremental() {
    let (mut c, _) = cluster(1);
    let v = c.image().version;
    assert!(c.metadata_since(v).is_none());
    c.handle_create_topic(1, "t", 1, 1).unwrap();
    assert_eq!(c.image().version, v + 1);
    assert_eq!(c.metadata_since(v).unwrap().topics.len(), 1);
}

/// Trace events serialise with stable field order (the trace contract).
#[test]
fn trace_events_serialise_in_field_order() {
    let event = ControllerEvent::LeaderElected {
        now_ms: 5,
        topic: "t".into(),
        partition: 0,
        old_leader: 0,
        new_leader: 1,
        leader_epoch: 1,
        partition_epoch: 2,
    };
    assert_eq!(
        serde_json::to_string(&event).unwrap(),
        concat!(
            r#"{"event":"leader_elected","now_ms":5,"topic":"t","partition":0,"old_leader":0,"#,
            r#""new_leader":1,"leader_epoch":1,"partition_epoch":2}"#
        )
    );
}

/// Design "Fault levers" (leadership bounce; Kafka's ElectLeaders answers): a move makes the target or
/// the next live ISR replica leader with a bumped leader epoch and keeps the ISR; moving back bumps it
/// again; a target that leads, is outside the ISR or fenced, or an unknown partition is refused.
#[test]
fn move_leader_elects_the_target_or_the_next_isr_replica() {
    let (mut c, epochs) = cluster(3);
    c.handle_create_topic(0, "t", 1, 3).unwrap();
    let before = c.image().partition("t", 0).unwrap().clone();
    drain(&mut c);
    let moved = c.handle_move_leader(5, "t", 0, None).unwrap();
    assert_eq!(moved.old_leader, before.leader);
    let next = before.replicas[1];
    assert_eq!(moved.partition.leader, next);
    assert_eq!(moved.partition.leader_epoch, before.leader_epoch + 1);
    assert_eq!(moved.partition.isr, before.isr);
    assert!(matches!(
        drain(&mut c).as_slice(),
        [ControllerEvent::LeaderElected { old_leader, new_leader, .. }]
            if *old_leader == before.leader && *new_leader == next
    ));
    let back = c
        .handle_move_leader(6, "t", 0, Some(before.leader))
        .unwrap();
    assert_eq!(back.partition.leader, before.leader);
    assert_eq!(back.partition.leader_epoch, before.leader_epoch + 2);
    assert_eq!(
        c.handle_move_leader(7, "t", 0, Some(before.leader)),
        Err(ResponseError::ElectionNotNeeded)
    );
    assert_eq!(
        c.handle_move_leader(7, "t", 0, Some(42)),
        Err(ResponseError::PreferredLeaderNotAvailable)
    );
    assert_eq!(
        c.handle_move_leader(7, "nope", 0, None),
        Err(ResponseError::UnknownTopicOrPartition)
    );
    // Fence the other two replicas: nobody else is eligible.
    for &b in &before.replicas[1..] {
        let fence = BrokerHeartbeat {
            want_fence: true,
            ..heartbeat(b, epochs[b as usize])
        };
        c.handle_heartbeat(8, fence).unwrap();
    }
    assert_eq!(
        c.handle_move_leader(9, "t", 0, None),
        Err(ResponseError::EligibleLeadersNotAvailable)
    );
    assert_eq!(
        c.handle_move_leader(9, "t", 0, Some(before.replicas[1])),
        Err(ResponseError::PreferredLeaderNotAvailable)
    );
}
