//! ShareGroupHeartbeat, session timeouts and partition initialization (spec 4.1, 5.1).

use proptest::prelude::*;

use super::*;

/// Spec 4.1: empty MemberId, GroupId or RackId, epoch < -1, and epoch 0 without subscriptions are
/// INVALID_REQUEST.
#[test]
fn malformed_requests_are_invalid() {
    let mut h = Harness::new();
    let base = ShareGroupHeartbeatRequest {
        group_id: "g".into(),
        member_id: "m1".into(),
        member_epoch: 0,
        rack_id: None,
        subscribed_topic_names: Some(vec!["orders".into()]),
    };
    let cases = [
        ShareGroupHeartbeatRequest {
            member_id: String::new(),
            ..base.clone()
        },
        ShareGroupHeartbeatRequest {
            group_id: String::new(),
            ..base.clone()
        },
        ShareGroupHeartbeatRequest {
            rack_id: Some(String::new()),
            ..base.clone()
        },
        ShareGroupHeartbeatRequest {
            member_epoch: -2,
            ..base.clone()
        },
        ShareGroupHeartbeatRequest {
            subscribed_topic_names: None,
            ..base.clone()
        },
        ShareGroupHeartbeatRequest {
            subscribed_topic_names: Some(vec![]),
            ..base.clone()
        },
    ];
    for request in cases {
        let response = h.coordinator.handle_heartbeat(h.now_ms, &request);
        assert_eq!(
            response.error,
            Some(ResponseError::InvalidRequest),
            "{request:?}"
        );
    }
    assert!(
        h.coordinator.groups().is_empty(),
        "invalid requests change nothing"
    );
    assert_eq!(h.coordinator.poll_effect(), None);
}

/// Spec 4.1: a new member joins with epoch 0 and gets the group epoch, the heartbeat interval and an
/// (empty, nothing is initialized yet) assignment; the subscribed partitions start initializing with
/// state epoch = group epoch and start offset -1 (spec 5.1).
#[test]
fn join_asks_for_initialization() {
    let mut h = Harness::new();
    let response = h.heartbeat("g", "m1", 0, Some(&["orders"]));
    assert_eq!(response.error, None);
    assert_eq!(response.member_id, Some(MemberId::new("m1")));
    assert_eq!(response.member_epoch, 1);
    assert_eq!(response.heartbeat_interval_ms, 5_000);
    assert_eq!(response.assignment, Some(BTreeMap::new()));
    let requests = h.take_initialize_requests();
    assert_eq!(requests.len(), 1);
    let (group_id, state_epoch, parts) = &requests[0];
    assert_eq!((group_id.as_str(), *state_epoch), ("g", 1));
    assert_eq!(parts.len(), 3);
    assert!(parts
        .iter()
        .all(|p| p.start_offset == -1 && p.topic_id_partition.topic_id == ORDERS));
    assert!(h.group("g").is_initializing(tp(ORDERS, 2)));
    assert!(h
        .traces
        .iter()
        .any(|t| matches!(t, GroupTraceEvent::MemberJoined { .. })));
}

/// Spec 5.1 and 4.1: a successful initialization bumps the group epoch; the next heartbeat computes
/// the target assignment and the member jumps to it at once.
#[test]
fn initialized_partitions_are_assigned_at_the_next_heartbeat() {
    let mut h = Harness::new();
    h.heartbeat("g", "m1", 0, Some(&["orders"]));
    h.initialize_all();
    assert_eq!(h.group("g").group_epoch, 2);
    assert!(h.group("g").is_initialized(tp(ORDERS, 0)));
    let response = h.heartbeat("g", "m1", 1, None);
    assert_eq!(response.error, None);
    assert_eq!(response.member_epoch, 2);
    assert_eq!(response.assignment, Some(by_topic(&[(ORDERS, &[0, 1, 2])])));
    // Nothing changed: no assignment in a plain heartbeat; a full request gets it again.
    let response = h.heartbeat("g", "m1", 2, None);
    assert_eq!((response.member_epoch, response.assignment), (2, None));
    let response = h.heartbeat("g", "m1", 2, Some(&["orders"]));
    assert_eq!(response.assignment, Some(by_topic(&[(ORDERS, &[0, 1, 2])])));
    assert!(
        h.pending.is_empty(),
        "initialized partitions are not initialized again"
    );
}

/// Spec 4.1: an unknown member with epoch != 0 gets UNKNOWN_MEMBER_ID; a heartbeat for a group that
/// does not exist gets GROUP_ID_NOT_FOUND (Kafka creates groups only at epoch 0).
#[test]
fn unknown_member_and_unknown_group() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    assert_eq!(
        h.heartbeat("g", "m2", 1, None).error,
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        h.heartbeat("g", "m2", -1, None).error,
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        h.heartbeat("nope", "m1", 3, None).error,
        Some(ResponseError::GroupIdNotFound)
    );
}

/// Spec 4.1: an epoch above the coordinator's, or below it and not the previous one, is fenced; the
/// previous epoch is accepted (lost response).
#[test]
fn member_epoch_fencing() {
    let mut h = Harness::new();
    let epoch = h.join("g", "m1", &["orders"]);
    assert_eq!(epoch, 2);
    assert_eq!(h.member("g", "m1").previous_member_epoch, 1);
    assert_eq!(
        h.heartbeat("g", "m1", 3, None).error,
        Some(ResponseError::FencedMemberEpoch)
    );
    let previous = h.heartbeat("g", "m1", 1, None);
    assert_eq!((previous.error, previous.member_epoch), (None, 2));
    // Another join moves m1 to epoch 3 (previous 2): epoch 1 is now neither.
    h.join("g", "m2", &["orders"]);
    assert_eq!(h.heartbeat("g", "m1", 2, None).member_epoch, 3);
    assert_eq!(
        h.heartbeat("g", "m1", 1, None).error,
        Some(ResponseError::FencedMemberEpoch)
    );
    // Kafka applies the same check to epoch 0 from a known member.
    assert_eq!(
        h.heartbeat("g", "m1", 0, Some(&["orders"])).error,
        Some(ResponseError::FencedMemberEpoch)
    );
}

/// Spec 4.1: a full group (`group.share.max.size`) refuses new members with GROUP_MAX_SIZE_REACHED but
/// keeps serving its members.
#[test]
fn group_max_size() {
    let config = GroupCoordinatorConfig {
        max_size: 2,
        ..GroupCoordinatorConfig::default()
    };
    let mut h = Harness::with_config(config);
    h.join("g", "m1", &["orders"]);
    h.join("g", "m2", &["orders"]);
    let response = h.heartbeat("g", "m3", 0, Some(&["orders"]));
    assert_eq!(response.error, Some(ResponseError::GroupMaxSizeReached));
    assert_eq!(h.group("g").members.len(), 2);
    let epoch = h.member("g", "m1").member_epoch;
    assert_eq!(h.heartbeat("g", "m1", epoch, None).error, None);
}

/// Spec 4.1/4.2: a second member gets a share of the partitions; with immediate reconciliation both
/// move to the new epoch at their next heartbeat, and no partition is left unassigned.
#[test]
fn second_member_rebalances() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let response = h.heartbeat("g", "m2", 0, Some(&["orders"]));
    assert_eq!(response.member_epoch, 3);
    let m2 = response.assignment.unwrap();
    let m1_epoch = h.member("g", "m1").member_epoch;
    let m1 = h.heartbeat("g", "m1", m1_epoch, None);
    assert_eq!(m1.member_epoch, 3);
    let m1 = m1
        .assignment
        .expect("m1 lost partitions, so the assignment is sent");
    let m1_count = m1.values().map(|p| p.len()).sum::<usize>();
    let m2_count = m2.values().map(|p| p.len()).sum::<usize>();
    assert_eq!(
        (m1_count, m2_count),
        (2, 1),
        "sticky: m1 keeps two of its three"
    );
    let union: BTreeSet<i32> = m1[&ORDERS].union(&m2[&ORDERS]).copied().collect();
    assert_eq!(union, [0, 1, 2].into());
}

/// Spec 4.1: a leave (epoch -1) removes the member, answers epoch -1 and bumps the group epoch; the
/// remaining member takes the partitions back.
#[test]
fn leave_bumps_epoch() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    h.join("g", "m2", &["orders"]);
    let epoch_before = h.group("g").group_epoch;
    let response = h.heartbeat("g", "m1", h.member("g", "m1").member_epoch, None);
    assert_eq!(
        response.assignment.map(|a| a[&ORDERS].len()),
        Some(2),
        "m1 shares with m2"
    );
    let response = h.heartbeat("g", "m2", -1, None);
    assert_eq!((response.error, response.member_epoch), (None, -1));
    assert_eq!(h.group("g").group_epoch, epoch_before + 1);
    assert!(!h.group("g").members.contains_key(&MemberId::new("m2")));
    let response = h.heartbeat("g", "m1", h.member("g", "m1").member_epoch, None);
    assert_eq!(response.assignment, Some(by_topic(&[(ORDERS, &[0, 1, 2])])));
    assert!(h.traces.iter().any(|t| matches!(
        t,
        GroupTraceEvent::MemberRemoved {
            cause: MemberRemovalCause::Leave,
            ..
        }
    )));
}

/// Spec 4.1: a member whose session (45000 ms) runs out is fenced: removed, group epoch bumped; its
/// next heartbeat is UNKNOWN_MEMBER_ID. A heartbeat restarts the session.
#[test]
fn session_expiry_fences() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    h.join("g", "m2", &["orders"]);
    let joined_ms = h.now_ms;
    assert_eq!(h.coordinator.poll_timeout(), Some(joined_ms + 45_000));
    h.advance(30_000);
    let epoch = h.member("g", "m2").member_epoch;
    h.heartbeat("g", "m2", epoch, None);
    assert_eq!(
        h.coordinator.session_deadline_ms("g", &MemberId::new("m2")),
        Some(h.now_ms + 45_000)
    );
    h.advance(14_999);
    h.coordinator.handle_timeout(h.now_ms);
    assert_eq!(h.group("g").members.len(), 2, "not yet");
    h.advance(1);
    let epoch_before = h.group("g").group_epoch;
    h.coordinator.handle_timeout(h.now_ms);
    h.drain();
    assert_eq!(h.group("g").members.len(), 1);
    assert_eq!(h.group("g").group_epoch, epoch_before + 1);
    assert!(h.traces.iter().any(|t| matches!(
        t,
        GroupTraceEvent::MemberRemoved { cause: MemberRemovalCause::SessionTimeout, member_id, .. }
            if member_id.as_str() == "m1"
    )));
    assert_eq!(
        h.heartbeat("g", "m1", epoch, None).error,
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(
        h.coordinator.poll_timeout(),
        h.coordinator.session_deadline_ms("g", &MemberId::new("m2"))
    );
    // The fenced member can rejoin with epoch 0.
    assert_eq!(h.heartbeat("g", "m1", 0, Some(&["orders"])).error, None);
    h.assert_replay_reproduces_state();
}

/// Spec 4.1: the group's share.session.timeout.ms and share.heartbeat.interval.ms overrides apply.
#[test]
fn group_timing_overrides() {
    let mut h = Harness::new();
    let config = ShareGroupConfig::from_entries(
        [
            ("share.session.timeout.ms", "60000"),
            ("share.heartbeat.interval.ms", "7000"),
        ],
        h.coordinator.config(),
    )
    .unwrap();
    h.coordinator.set_group_config("g", config);
    let response = h.heartbeat("g", "m1", 0, Some(&["orders"]));
    assert_eq!(response.heartbeat_interval_ms, 7_000);
    assert_eq!(h.coordinator.poll_timeout(), Some(h.now_ms + 60_000));
}

/// Spec 5.1: a failed initialization un-initializes the partitions; they are asked for again only after
/// group.share.initialize.retry.interval.ms (30000).
#[test]
fn failed_initialization_is_retried_after_the_interval() {
    let mut h = Harness::new();
    h.heartbeat("g", "m1", 0, Some(&["audit"]));
    let (_, _, parts) = h.take_initialize_requests().remove(0);
    let results: Vec<_> = parts
        .iter()
        .map(|p| {
            (
                p.topic_id_partition,
                Some(ResponseError::CoordinatorNotAvailable),
            )
        })
        .collect();
    h.coordinator
        .handle_initialize_result(h.now_ms, "g", &results);
    h.drain();
    assert!(!h.group("g").is_initializing(tp(AUDIT, 0)));
    assert_eq!(
        h.group("g").group_epoch,
        1,
        "a failure does not bump the epoch"
    );
    h.advance(29_999);
    h.heartbeat("g", "m1", 1, None);
    assert!(h.take_initialize_requests().is_empty(), "too early");
    h.advance(1);
    h.heartbeat("g", "m1", 1, None);
    let retried = h.take_initialize_requests();
    assert_eq!(retried.len(), 1);
    assert_eq!(retried[0].2.len(), 2);
}

/// Spec 5.1: an initialization that was never answered (lost response, coordinator failover) is asked
/// for again once its initializing timestamp is older than the retry interval.
#[test]
fn unanswered_initialization_is_retried() {
    let mut h = Harness::new();
    h.heartbeat("g", "m1", 0, Some(&["audit"]));
    assert_eq!(h.take_initialize_requests().len(), 1);
    h.advance(10_000);
    h.heartbeat("g", "m1", 1, None);
    assert!(h.take_initialize_requests().is_empty());
    h.advance(20_000);
    h.heartbeat("g", "m1", 1, None);
    assert_eq!(h.take_initialize_requests().len(), 1);
}

/// Spec 4.1, 5.1: a metadata change (a new partition) bumps the group epoch at the next heartbeat and the
/// new partition is initialized, then assigned.
#[test]
fn new_partition_bumps_epoch_and_is_initialized() {
    let mut h = Harness::new();
    let epoch = h.join("g", "m1", &["audit"]);
    h.set_topics(&[("orders", ORDERS, 3), ("audit", AUDIT, 3)]);
    let response = h.heartbeat("g", "m1", epoch, None);
    assert_eq!(response.member_epoch, epoch + 1);
    assert!(h.traces.iter().any(|t| matches!(
        t,
        GroupTraceEvent::GroupEpochBumped {
            cause: EpochBumpCause::MetadataChanged,
            ..
        }
    )));
    let requests = h.take_initialize_requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].2,
        vec![InitializePartition {
            topic_id_partition: tp(AUDIT, 2),
            start_offset: -1
        }]
    );
    assert_eq!(requests[0].1, epoch + 1, "state epoch = group epoch");
    h.pending.clear();
    h.coordinator
        .handle_initialize_result(h.now_ms, "g", &[(tp(AUDIT, 2), None)]);
    h.drain();
    let response = h.heartbeat("g", "m1", epoch + 1, None);
    assert_eq!(response.assignment, Some(by_topic(&[(AUDIT, &[0, 1, 2])])));
}

/// Spec 4.1: a subscription change bumps the epoch and the member's assignment follows its topics.
#[test]
fn subscription_change_moves_assignment() {
    let mut h = Harness::new();
    let epoch = h.join("g", "m1", &["orders"]);
    let response = h.heartbeat("g", "m1", epoch, Some(&["audit"]));
    assert_eq!(
        response.assignment,
        Some(BTreeMap::new()),
        "audit is not initialized yet"
    );
    h.initialize_all();
    let response = h.heartbeat("g", "m1", response.member_epoch, None);
    assert_eq!(response.assignment, Some(by_topic(&[(AUDIT, &[0, 1])])));
    h.assert_replay_reproduces_state();
}

#[derive(Clone, Debug)]
enum Step {
    Heartbeat {
        member: u8,
        epoch_choice: u8,
        topics: Option<u8>,
    },
    Advance {
        ms: u32,
    },
    InitializeAll,
    Timeout,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (0u8..4, 0u8..6, proptest::option::of(0u8..4))
            .prop_map(|(member, epoch_choice, topics)| Step::Heartbeat { member, epoch_choice, topics }),
        2 => (0u32..50_000).prop_map(|ms| Step::Advance { ms }),
        2 => Just(Step::InitializeAll),
        1 => Just(Step::Timeout),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Spec 4.1: any heartbeat sequence is answered with one of Kafka's codes, never a panic, and the
    /// engine's invariants (checked after every input) and replay hold throughout.
    #[test]
    fn heartbeat_sequences_never_panic(steps in proptest::collection::vec(step(), 1..60)) {
        let allowed = [
            ResponseError::InvalidRequest,
            ResponseError::UnknownMemberId,
            ResponseError::FencedMemberEpoch,
            ResponseError::GroupIdNotFound,
            ResponseError::GroupMaxSizeReached,
        ];
        let config = GroupCoordinatorConfig { max_size: 3, ..GroupCoordinatorConfig::default() };
        let mut h = Harness::with_config(config);
        let topic_sets: [&[&str]; 4] = [&["orders"], &["audit"], &["orders", "audit"], &[]];
        for step in steps {
            match step {
                Step::Heartbeat { member, epoch_choice, topics } => {
                    let member_id = format!("m{member}");
                    let known = h.coordinator.group("g")
                        .and_then(|g| g.members.get(&MemberId::new(&member_id)))
                        .map(|m| (m.member_epoch, m.previous_member_epoch));
                    let epoch = match (epoch_choice, known) {
                        (0, _) => 0,
                        (1, _) => -1,
                        (2, Some((current, _))) => current,
                        (3, Some((_, previous))) => previous,
                        (4, Some((current, _))) => current + 1,
                        (_, _) => i32::from(epoch_choice) - 7,
                    };
                    let topics = topics.map(|t| topic_sets[t as usize]);
                    let response = h.heartbeat("g", &member_id, epoch, topics);
                    if let Some(error) = response.error {
                        prop_assert!(allowed.contains(&error), "{error:?}");
                    } else if epoch >= 0 {
                        let member = h.member("g", &member_id);
                        prop_assert_eq!(response.member_epoch, member.member_epoch);
                        prop_assert_eq!(member.member_epoch, h.group("g").assignment_epoch);
                    }
                }
                Step::Advance { ms } => h.advance(u64::from(ms)),
                Step::InitializeAll => h.initialize_all(),
                Step::Timeout => {
                    h.coordinator.handle_timeout(h.now_ms);
                    h.drain();
                }
            }
            check_target_covers_assignable(&h)?;
        }
        h.assert_replay_reproduces_state();
    }
}

/// Spec 4.2 at the engine level: once the target is computed for the current group epoch, every
/// assignable partition (initialized, of a subscribed topic) is in some member's target, and every
/// member's assignment is within its own subscription.
fn check_target_covers_assignable(h: &Harness) -> Result<(), TestCaseError> {
    let Some(group) = h.coordinator.group("g") else {
        return Ok(());
    };
    let ids = |names: &BTreeSet<String>| -> BTreeSet<TopicId> {
        names
            .iter()
            .filter_map(|name| match name.as_str() {
                "orders" => Some(ORDERS),
                "audit" => Some(AUDIT),
                _ => None,
            })
            .collect()
    };
    for member in group.members.values() {
        let subscribed = ids(&member.subscribed_topic_names);
        prop_assert!(member
            .assigned_partitions
            .iter()
            .all(|tp| subscribed.contains(&tp.topic_id)));
    }
    if group.members.is_empty() || group.assignment_epoch != group.group_epoch {
        return Ok(());
    }
    let subscribed = ids(&group.subscribed_topic_names());
    let targeted: BTreeSet<TopicIdPartition> = group
        .target_assignment
        .values()
        .flatten()
        .copied()
        .collect();
    for tp in group.initialized_partitions() {
        if subscribed.contains(&tp.topic_id) {
            prop_assert!(
                targeted.contains(&tp),
                "{tp:?} is assignable but nobody's target"
            );
        }
    }
    Ok(())
}

/// Spec 4.1: a rack change is recorded (member metadata) but does not bump the group epoch; a
/// subscription change does.
#[test]
fn rack_change_is_recorded_without_epoch_bump() {
    let mut h = Harness::new();
    let epoch = h.join("g", "m1", &["orders"]);
    let group_epoch = h.group("g").group_epoch;
    let request = ShareGroupHeartbeatRequest {
        group_id: "g".into(),
        member_id: "m1".into(),
        member_epoch: epoch,
        rack_id: Some("rack-a".into()),
        subscribed_topic_names: None,
    };
    let before = h.records.len();
    let response = h.coordinator.handle_heartbeat(h.now_ms, &request);
    h.drain();
    assert_eq!((response.error, response.member_epoch), (None, epoch));
    assert_eq!(h.group("g").group_epoch, group_epoch);
    assert_eq!(h.member("g", "m1").rack_id.as_deref(), Some("rack-a"));
    assert!(matches!(
        h.records[before..],
        [GroupCoordinatorRecord::MemberMetadata { value: Some(_), .. }]
    ));
    // Unchanged rack (None = unchanged) writes nothing.
    let before = h.records.len();
    h.heartbeat("g", "m1", epoch, None);
    assert_eq!(
        h.records.len(),
        before,
        "a plain heartbeat writes no record"
    );
    assert_eq!(h.member("g", "m1").rack_id.as_deref(), Some("rack-a"));
}

/// Spec 4.1: when the last member leaves or expires the group is Empty and no timer is armed.
#[test]
fn empty_group_has_no_timer() {
    let mut h = Harness::new();
    assert_eq!(h.coordinator.poll_timeout(), None);
    h.join("g", "m1", &["orders"]);
    h.join("g", "m2", &["audit"]);
    h.heartbeat("g", "m1", -1, None);
    assert!(h.coordinator.poll_timeout().is_some());
    h.advance(45_000);
    h.coordinator.handle_timeout(h.now_ms);
    h.drain();
    assert_eq!(h.coordinator.poll_timeout(), None);
    assert_eq!(h.group("g").state(), ShareGroupState::Empty);
    assert!(
        h.group("g").target_assignment.is_empty(),
        "targets of removed members are tombstoned"
    );
}

/// Spec 4.1, 5.1: the trace says why each epoch was bumped and when an assignment changed.
#[test]
fn trace_explains_epochs_and_assignments() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let causes: Vec<EpochBumpCause> = h
        .traces
        .iter()
        .filter_map(|t| match t {
            GroupTraceEvent::GroupEpochBumped { cause, .. } => Some(*cause),
            _ => None,
        })
        .collect();
    assert_eq!(
        causes,
        vec![
            EpochBumpCause::SubscriptionChanged,
            EpochBumpCause::PartitionsInitialized
        ]
    );
    let assigned: Vec<&BTreeSet<TopicIdPartition>> = h
        .traces
        .iter()
        .filter_map(|t| match t {
            GroupTraceEvent::AssignmentChanged {
                partitions,
                member_epoch: 2,
                ..
            } => Some(partitions),
            _ => None,
        })
        .collect();
    assert_eq!(
        assigned,
        vec![&partitions(&[(ORDERS, 0), (ORDERS, 1), (ORDERS, 2)])]
    );
}

/// Spec 4.2 through the engine: more members than partitions share them, ceil(M/P) per partition.
#[test]
fn more_members_than_partitions_all_get_work() {
    let mut h = Harness::new();
    for member in ["m1", "m2", "m3", "m4", "m5"] {
        h.join("g", member, &["audit"]);
    }
    let mut holders: BTreeMap<i32, usize> = BTreeMap::new();
    for member in ["m1", "m2", "m3", "m4", "m5"] {
        let epoch = h.member("g", member).member_epoch;
        let response = h.heartbeat("g", member, epoch, None);
        assert_eq!(response.error, None);
        let assigned = &h.member("g", member).assigned_partitions;
        assert!(!assigned.is_empty(), "{member} gets a partition");
        for tp in assigned {
            *holders.entry(tp.partition).or_default() += 1;
        }
    }
    assert_eq!(
        holders,
        BTreeMap::from([(0, 3), (1, 3)]),
        "ceil(5/2) = 3 members per partition"
    );
}
