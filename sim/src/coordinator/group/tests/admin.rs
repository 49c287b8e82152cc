//! The admin APIs (spec 5.3).

use super::*;

fn alter(topic_name: &str, partitions: &[(i32, i64)]) -> AlterOffsetsTopic {
    AlterOffsetsTopic {
        topic_name: topic_name.to_string(),
        partitions: partitions.to_vec(),
    }
}

/// Spec 5.3: AlterShareGroupOffsets on a group with members is NON_EMPTY_GROUP.
#[test]
fn alter_offsets_needs_an_empty_group() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let result = h
        .coordinator
        .handle_alter_offsets(h.now_ms, "g", &[alter("orders", &[(0, 5)])]);
    assert_eq!(result, Err(ResponseError::NonEmptyGroup));
}

/// Spec 5.3: AlterShareGroupOffsets creates a missing group, bumps the group epoch, marks the known
/// partitions initializing, answers UNKNOWN_TOPIC_OR_PARTITION for the others, and asks for
/// InitializeShareGroupState with the new epoch and the requested start offsets.
#[test]
fn alter_offsets_initializes_with_the_new_epoch() {
    let mut h = Harness::new();
    let result = h
        .coordinator
        .handle_alter_offsets(
            h.now_ms,
            "g",
            &[alter("orders", &[(0, 5), (7, 1)]), alter("nope", &[(0, 0)])],
        )
        .unwrap();
    h.drain();
    assert_eq!(
        result[0].partitions,
        vec![(0, None), (7, Some(ResponseError::UnknownTopicOrPartition))]
    );
    assert_eq!(
        result[1].partitions,
        vec![(0, Some(ResponseError::UnknownTopicOrPartition))]
    );
    assert_eq!(h.group("g").group_epoch, 1);
    assert!(h.group("g").is_initializing(tp(ORDERS, 0)));
    let requests = h.take_initialize_requests();
    assert_eq!(
        requests,
        vec![(
            "g".to_string(),
            1,
            vec![InitializePartition {
                topic_id_partition: tp(ORDERS, 0),
                start_offset: 5
            }]
        )]
    );
    h.coordinator
        .handle_initialize_result(h.now_ms, "g", &[(tp(ORDERS, 0), None)]);
    h.drain();
    assert!(h.group("g").is_initialized(tp(ORDERS, 0)));
    // Altering an initialized partition again takes it back to initializing with a newer epoch.
    h.coordinator
        .handle_alter_offsets(h.now_ms, "g", &[alter("orders", &[(0, 9)])])
        .unwrap();
    h.drain();
    assert!(!h.group("g").is_initialized(tp(ORDERS, 0)));
    let requests = h.take_initialize_requests();
    assert_eq!(requests[0].1, h.group("g").group_epoch);
    assert!(requests[0].1 > 2);
    h.assert_replay_reproduces_state();
}

/// Spec 5.3: DeleteShareGroupOffsets: GROUP_ID_NOT_FOUND, NON_EMPTY_GROUP, and only initialized or
/// deleting topics are eligible; eligible topics move to deleting and DeleteShareGroupState is asked
/// for; completion removes them, and the next subscription initializes them again with -1.
#[test]
fn delete_offsets_lifecycle() {
    let mut h = Harness::new();
    assert_eq!(
        h.coordinator
            .handle_delete_offsets(h.now_ms, "g", &["orders".into()]),
        Err(ResponseError::GroupIdNotFound)
    );
    h.join("g", "m1", &["orders"]);
    assert_eq!(
        h.coordinator
            .handle_delete_offsets(h.now_ms, "g", &["orders".into()]),
        Err(ResponseError::NonEmptyGroup)
    );
    h.heartbeat("g", "m1", -1, None);
    let result = h
        .coordinator
        .handle_delete_offsets(h.now_ms, "g", &["orders".into(), "audit".into()])
        .unwrap();
    h.drain();
    assert_eq!(result[0].error, None);
    assert_eq!(
        result[1].error,
        Some(ResponseError::UnknownTopicOrPartition),
        "audit was never initialized"
    );
    assert!(h
        .group("g")
        .partition_metadata
        .deleting_topics
        .contains_key(&ORDERS));
    assert!(!h.group("g").is_initialized(tp(ORDERS, 0)));
    let deletes: Vec<_> = h.pending.drain(..).collect();
    assert_eq!(
        deletes,
        vec![GroupEffect::DeleteShareGroupState {
            group_id: "g".into(),
            partitions: partitions(&[(ORDERS, 0), (ORDERS, 1), (ORDERS, 2)]),
        }]
    );
    // While deleting, a subscription does not initialize the topic; a second delete asks again.
    h.heartbeat("g", "m2", 0, Some(&["orders"]));
    assert!(h.take_initialize_requests().is_empty());
    h.heartbeat("g", "m2", -1, None);
    assert_eq!(
        h.coordinator
            .handle_delete_offsets(h.now_ms, "g", &["orders".into()])
            .unwrap()[0]
            .error,
        None
    );
    h.drain();
    assert_eq!(h.pending.len(), 1);
    h.pending.clear();
    h.coordinator
        .handle_delete_state_result(h.now_ms, "g", &[ORDERS].into(), Ok(()));
    h.drain();
    assert!(h.group("g").partition_metadata.deleting_topics.is_empty());
    h.heartbeat("g", "m3", 0, Some(&["orders"]));
    let requests = h.take_initialize_requests();
    assert_eq!(requests[0].2.len(), 3);
    assert!(requests[0].2.iter().all(|p| p.start_offset == -1));
    h.assert_replay_reproduces_state();
}

/// Spec 5.3: DescribeShareGroupOffsets: lag = end - start - deliveryCompleteCount; -1 when unknown;
/// an uninitialized partition reports start offset -1.
#[test]
fn describe_offsets_lag() {
    let mut h = Harness::new();
    assert_eq!(
        h.coordinator.describe_offsets("g", None, &BTreeMap::new()),
        Err(ResponseError::GroupIdNotFound)
    );
    h.join("g", "m1", &["orders"]);
    let summaries = BTreeMap::from([
        (
            tp(ORDERS, 0),
            PartitionOffsetSummary {
                start_offset: 10,
                delivery_complete_count: 3,
                partition_end_offset: Some(20),
            },
        ),
        (
            tp(ORDERS, 1),
            PartitionOffsetSummary {
                start_offset: 10,
                delivery_complete_count: -1,
                partition_end_offset: Some(20),
            },
        ),
        (
            tp(ORDERS, 2),
            PartitionOffsetSummary {
                start_offset: 4,
                delivery_complete_count: 0,
                partition_end_offset: None,
            },
        ),
    ]);
    let described = h
        .coordinator
        .describe_offsets("g", None, &summaries)
        .unwrap();
    let lags: Vec<(i32, i64, i64)> = described
        .iter()
        .map(|d| (d.partition, d.start_offset, d.lag))
        .collect();
    assert_eq!(lags, vec![(0, 10, 7), (1, 10, -1), (2, 4, -1)]);
    let topics = [
        ("audit".to_string(), vec![0]),
        ("nope".to_string(), vec![0]),
    ];
    let described = h
        .coordinator
        .describe_offsets("g", Some(&topics), &summaries)
        .unwrap();
    assert_eq!(
        (
            described[0].start_offset,
            described[0].lag,
            described[0].error
        ),
        (-1, -1, None)
    );
    assert_eq!(
        described[1].error,
        Some(ResponseError::UnknownTopicOrPartition)
    );
}

/// Spec 5.3: DeleteShareGroups needs an empty group; deleting one tombstones it and deletes its share
/// state through the persister.
#[test]
fn delete_groups() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let results = h
        .coordinator
        .handle_delete_groups(h.now_ms, &["g".into(), "nope".into()]);
    assert_eq!(
        results,
        vec![
            ("g".into(), Some(ResponseError::NonEmptyGroup)),
            ("nope".into(), Some(ResponseError::GroupIdNotFound))
        ]
    );
    h.heartbeat("g", "m1", -1, None);
    assert_eq!(
        h.coordinator.handle_delete_groups(h.now_ms, &["g".into()]),
        vec![("g".into(), None)]
    );
    h.drain();
    assert!(h.coordinator.group("g").is_none());
    assert!(matches!(
        h.pending.last(),
        Some(GroupEffect::DeleteShareGroupState { partitions, .. }) if partitions.len() == 3
    ));
    h.assert_replay_reproduces_state();
    assert_eq!(
        h.coordinator.describe_groups(&["g".into()]),
        vec![Err(ResponseError::GroupIdNotFound)]
    );
}

/// ShareGroupDescribe: state, epochs, members and their assignments.
#[test]
fn describe_groups_reports_members() {
    let mut h = Harness::new();
    h.join("g", "m1", &["orders"]);
    let description = h
        .coordinator
        .describe_groups(&["g".into()])
        .remove(0)
        .unwrap();
    assert_eq!(description.state, ShareGroupState::Stable);
    assert_eq!(description.state.name(), "Stable");
    assert_eq!(
        (description.group_epoch, description.assignment_epoch),
        (2, 2)
    );
    assert_eq!(description.assignor_name, "simple");
    assert_eq!(description.members.len(), 1);
    assert_eq!(description.members[0].member.member_epoch, 2);
    assert_eq!(
        description.members[0].assignment,
        by_topic(&[(ORDERS, &[0, 1, 2])])
    );
}
