//! Records and replay: the state is rebuilt from the emitted records after a coordinator failover.

use super::*;

/// Replaying every emitted record from scratch reproduces the groups exactly; members' session timers
/// restart at load time (as Kafka reschedules them on load).
#[test]
fn replay_reproduces_state_and_restarts_sessions() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    h.join("g", "m2", &["orders", "audit"]);
    h.join("other", "x", &["audit"]);
    let epoch = h.member("g", "m1").member_epoch;
    h.heartbeat("g", "m1", epoch, None);
    h.heartbeat("g", "m2", -1, None);
    h.assert_replay_reproduces_state();

    let load_ms = h.now_ms + 100_000;
    let loaded =
        ShareGroupCoordinator::load(load_ms, h.coordinator.config().clone(), h.records.iter());
    assert_eq!(
        loaded.session_deadline_ms("g", &MemberId::new("m1")),
        Some(load_ms + 45_000)
    );
    assert_eq!(loaded.poll_timeout(), Some(load_ms + 45_000));
    assert_eq!(loaded.session_deadline_ms("g", &MemberId::new("m2")), None);
}

/// The coordinator's records serialize with serde and read back equal (the node stores them).
#[test]
fn records_and_effects_round_trip_through_json() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let json = serde_json::to_string(&h.records).unwrap();
    let back: Vec<GroupCoordinatorRecord> = serde_json::from_str(&json).unwrap();
    assert_eq!(back, h.records);
    let trace = serde_json::to_string(&h.traces[0]).unwrap();
    assert!(
        trace.starts_with("{\"MemberJoined\":{\"at_ms\":"),
        "{trace}"
    );
}

/// A member leave writes tombstones before the epoch bump (Kafka's order), and replaying a tombstone
/// for a deleted group is harmless.
#[test]
fn leave_writes_tombstones_then_epoch() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let before = h.records.len();
    h.heartbeat("g", "m1", -1, None);
    let kinds: Vec<&str> = h.records[before..]
        .iter()
        .map(|record| match record {
            GroupCoordinatorRecord::CurrentMemberAssignment { value: None, .. } => {
                "current-tombstone"
            }
            GroupCoordinatorRecord::TargetAssignmentMember { value: None, .. } => {
                "target-tombstone"
            }
            GroupCoordinatorRecord::MemberMetadata { value: None, .. } => "member-tombstone",
            GroupCoordinatorRecord::GroupMetadata { value: Some(_), .. } => "epoch",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            "current-tombstone",
            "target-tombstone",
            "member-tombstone",
            "epoch"
        ]
    );
    h.assert_replay_reproduces_state();
}

/// After a coordinator failover the members keep their epochs: the next heartbeat with the epoch they
/// had is accepted, and the assignment is unchanged.
#[test]
fn members_keep_their_epochs_across_failover() {
    let mut h = Harness::new();
    let epoch = h.join("g", "m1", &["orders"]);
    let mut loaded =
        ShareGroupCoordinator::load(h.now_ms, h.coordinator.config().clone(), h.records.iter());
    let topics = BTreeMap::from([
        (
            "orders".to_string(),
            TopicMetadata {
                topic_id: ORDERS,
                partition_count: 3,
            },
        ),
        (
            "audit".to_string(),
            TopicMetadata {
                topic_id: AUDIT,
                partition_count: 2,
            },
        ),
    ]);
    loaded.handle_metadata_update(h.now_ms, topics);
    let request = ShareGroupHeartbeatRequest {
        group_id: "g".into(),
        member_id: "m1".into(),
        member_epoch: epoch,
        rack_id: None,
        subscribed_topic_names: None,
    };
    let response = loaded.handle_heartbeat(h.now_ms, &request);
    assert_eq!(
        (response.error, response.member_epoch, response.assignment),
        (None, epoch, None)
    );
    let mut appended = Vec::new();
    while let Some(effect) = loaded.poll_effect() {
        appended.push(effect);
    }
    assert!(
        appended.is_empty(),
        "a steady member costs no records after a reload: {appended:?}"
    );
}

/// Deterministic to the byte: the same inputs give the same effects.
#[test]
fn same_inputs_same_effects() {
    let run = || {
        let mut h = Harness::new();
        for member in ["m3", "m1", "m2"] {
            h.join("g", member, &["orders", "audit"]);
        }
        h.advance(50_000);
        h.coordinator.handle_timeout(h.now_ms);
        h.drain();
        serde_json::to_string(&(h.records, h.traces)).unwrap()
    };
    assert_eq!(run(), run());
}
