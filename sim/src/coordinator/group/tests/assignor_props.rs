//! The simple assignor (spec 4.2): examples and properties.

use proptest::prelude::*;

use super::*;

fn member(name: &str) -> MemberId {
    MemberId::new(name)
}

fn members_subscribed(names: &[&str], topics: &[TopicId]) -> BTreeMap<MemberId, AssignorMember> {
    names
        .iter()
        .map(|name| {
            (
                member(name),
                AssignorMember {
                    subscribed_topic_ids: topics.iter().copied().collect(),
                    current: BTreeSet::new(),
                },
            )
        })
        .collect()
}

fn all_partitions(topics: &[(TopicId, i32)]) -> BTreeSet<TopicIdPartition> {
    topics
        .iter()
        .flat_map(|(topic_id, count)| (0..*count).map(move |p| tp(*topic_id, p)))
        .collect()
}

fn holders(
    result: &BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
) -> BTreeMap<TopicIdPartition, usize> {
    let mut counts = BTreeMap::new();
    for partitions in result.values() {
        for tp in partitions {
            *counts.entry(*tp).or_insert(0) += 1;
        }
    }
    counts
}

fn with_current(
    mut members: BTreeMap<MemberId, AssignorMember>,
    result: &BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
) -> BTreeMap<MemberId, AssignorMember> {
    for (member_id, spec) in members.iter_mut() {
        spec.current = result.get(member_id).cloned().unwrap_or_default();
    }
    members
}

/// Spec 4.2: M > P: 3 members on 2 partitions: each partition shared by ceil(3/2) = 2 members, loads
/// 2, 1, 1.
#[test]
fn more_members_than_partitions_share() {
    let members = members_subscribed(&["a", "b", "c"], &[ORDERS]);
    let result = assign(&members, &all_partitions(&[(ORDERS, 2)]));
    assert!(holders(&result).values().all(|count| *count == 2));
    let mut loads: Vec<usize> = result.values().map(|p| p.len()).collect();
    loads.sort();
    assert_eq!(loads, vec![1, 1, 2]);
}

/// Spec 4.2: only initialized (assignable) partitions are assigned; no partitions, no assignment.
#[test]
fn only_assignable_partitions() {
    let members = members_subscribed(&["a", "b"], &[ORDERS]);
    let result = assign(&members, &partitions(&[(ORDERS, 1)]));
    assert_eq!(
        holders(&result).keys().copied().collect::<Vec<_>>(),
        vec![tp(ORDERS, 1)]
    );
    let result = assign(&members, &BTreeSet::new());
    assert!(result.values().all(|p| p.is_empty()));
    assert_eq!(result.len(), 2, "every member appears");
}

/// Spec 4.2: heterogeneous subscriptions are balanced topic by topic among each topic's subscribers.
#[test]
fn heterogeneous_balances_per_topic() {
    let mut members = members_subscribed(&["a", "b"], &[ORDERS]);
    members.extend(members_subscribed(&["c"], &[ORDERS, AUDIT]));
    let result = assign(&members, &all_partitions(&[(ORDERS, 3), (AUDIT, 2)]));
    assert_eq!(
        result[&member("c")]
            .iter()
            .filter(|tp| tp.topic_id == AUDIT)
            .count(),
        2
    );
    assert!(result[&member("a")].iter().all(|tp| tp.topic_id == ORDERS));
    assert!(holders(&result).values().all(|count| *count == 1));
}

/// Spec 4.2: when the only member with room already holds the partition that needs another member, a
/// swap still reaches Kafka's targets (Kafka's greedy fill would leave the imbalance).
#[test]
fn swap_reaches_the_targets() {
    let mut members = members_subscribed(&["a", "b", "c"], &[ORDERS]);
    members.get_mut(&member("a")).unwrap().current = partitions(&[(ORDERS, 0)]);
    members.get_mut(&member("b")).unwrap().current = partitions(&[(ORDERS, 1)]);
    members.get_mut(&member("c")).unwrap().current = partitions(&[(ORDERS, 1)]);
    let result = assign(&members, &all_partitions(&[(ORDERS, 2)]));
    assert_eq!(
        result[&member("a")],
        partitions(&[(ORDERS, 0), (ORDERS, 1)])
    );
    assert_eq!(result[&member("b")], partitions(&[(ORDERS, 0)]));
    assert_eq!(result[&member("c")], partitions(&[(ORDERS, 1)]));
}

/// Spec 4.1, 4.2: the largest group (200 members, `group.share.max.size`) over 1000 partitions and
/// over 7 partitions gets Kafka's targets.
#[test]
fn largest_group_gets_the_targets() {
    let names: Vec<String> = (0..200).map(|i| format!("member-{i:03}")).collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let members = members_subscribed(&refs, &[ORDERS]);
    for partition_count in [1_000, 7] {
        let result = assign(&members, &all_partitions(&[(ORDERS, partition_count)]));
        let sharing = desired_sharing(200, partition_count as usize);
        assert!(holders(&result).values().all(|count| *count == sharing));
        let loads: BTreeSet<usize> = result.values().map(BTreeSet::len).collect();
        assert!(loads.len() <= 2, "{loads:?}");
    }
}

fn topic_ids() -> [TopicId; 3] {
    [ORDERS, AUDIT, TopicId(0x0C)]
}

/// A random group: member count, partition counts of three topics, a subscription mask per member, and
/// a random current assignment (as bits).
fn group_strategy() -> impl Strategy<Value = (usize, [i32; 3], Vec<u8>, Vec<u64>)> {
    (1usize..14, [1i32..7, 1i32..7, 1i32..7]).prop_flat_map(|(member_count, partition_counts)| {
        (
            Just(member_count),
            Just(partition_counts),
            proptest::collection::vec(1u8..8, member_count),
            proptest::collection::vec(any::<u64>(), member_count),
        )
    })
}

fn build(
    member_count: usize,
    partition_counts: [i32; 3],
    masks: &[u8],
    current_bits: &[u64],
    homogeneous: bool,
) -> (
    BTreeMap<MemberId, AssignorMember>,
    BTreeSet<TopicIdPartition>,
) {
    let topics = topic_ids();
    let assignable = all_partitions(&[
        (topics[0], partition_counts[0]),
        (topics[1], partition_counts[1]),
        (topics[2], partition_counts[2]),
    ]);
    let ordered: Vec<TopicIdPartition> = assignable.iter().copied().collect();
    let mut members = BTreeMap::new();
    for index in 0..member_count {
        let mask = if homogeneous { masks[0] } else { masks[index] };
        let subscribed: BTreeSet<TopicId> = (0..3)
            .filter(|bit| mask & (1 << bit) != 0)
            .map(|bit| topics[bit])
            .collect();
        let current = ordered
            .iter()
            .enumerate()
            .filter(|(i, _)| current_bits[index] & (1 << (i % 64)) != 0)
            .map(|(_, tp)| *tp)
            .collect();
        members.insert(
            MemberId::new(format!("member-{index:02}")),
            AssignorMember {
                subscribed_topic_ids: subscribed,
                current,
            },
        );
    }
    (members, assignable)
}

/// Checks Kafka's targets for one balancing scope: each partition has exactly ceil(M/P) members, and
/// the members' loads in the scope differ by at most one.
fn check_scope(
    result: &BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    scope_members: &[MemberId],
    scope_partitions: &BTreeSet<TopicIdPartition>,
) -> Result<(), TestCaseError> {
    if scope_members.is_empty() {
        return Ok(());
    }
    let sharing = desired_sharing(scope_members.len(), scope_partitions.len());
    for partition in scope_partitions {
        let count = scope_members
            .iter()
            .filter(|m| result[*m].contains(partition))
            .count();
        prop_assert_eq!(count, sharing, "partition {:?}", partition);
    }
    let loads: Vec<usize> = scope_members
        .iter()
        .map(|m| result[m].intersection(scope_partitions).count())
        .collect();
    let (min, max) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
    prop_assert!(max - min <= 1, "loads {:?}", loads);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Spec 4.2: homogeneous: every partition assigned to exactly ceil(M/P) members (so exactly one
    /// when M <= P), loads within one, from any starting assignment; the result is a fixed point
    /// (assigning again changes nothing) and deterministic.
    #[test]
    fn homogeneous_targets_hold((member_count, counts, masks, bits) in group_strategy()) {
        let (members, assignable) = build(member_count, counts, &masks, &bits, true);
        let result = assign(&members, &assignable);
        let subscribed = &members.values().next().unwrap().subscribed_topic_ids;
        let scope: BTreeSet<TopicIdPartition> =
            assignable.iter().filter(|tp| subscribed.contains(&tp.topic_id)).copied().collect();
        let ids: Vec<MemberId> = members.keys().cloned().collect();
        check_scope(&result, &ids, &scope)?;
        for partitions in result.values() {
            prop_assert!(partitions.is_subset(&scope));
        }
        prop_assert_eq!(&assign(&members, &assignable), &result, "deterministic");
        let again = assign(&with_current(members, &result), &assignable);
        prop_assert_eq!(again, result, "a balanced assignment is kept as it is");
    }

    /// Spec 4.2: heterogeneous: per topic, every partition gets ceil(M_t/P_t) of the topic's subscribers,
    /// their loads in the topic differ by at most one, and nobody gets a topic it does not subscribe to.
    #[test]
    fn heterogeneous_targets_hold((member_count, counts, masks, bits) in group_strategy()) {
        let (members, assignable) = build(member_count, counts, &masks, &bits, false);
        let result = assign(&members, &assignable);
        let first = members.values().next().unwrap().subscribed_topic_ids.clone();
        let homogeneous = members.values().all(|m| m.subscribed_topic_ids == first);
        for (member_id, partitions) in &result {
            for tp in partitions {
                prop_assert!(members[member_id].subscribed_topic_ids.contains(&tp.topic_id));
            }
        }
        if !homogeneous {
            for topic_id in topic_ids() {
                let subscribers: Vec<MemberId> = members
                    .iter()
                    .filter(|(_, m)| m.subscribed_topic_ids.contains(&topic_id))
                    .map(|(id, _)| id.clone())
                    .collect();
                let scope: BTreeSet<TopicIdPartition> =
                    assignable.iter().filter(|tp| tp.topic_id == topic_id).copied().collect();
                check_scope(&result, &subscribers, &scope)?;
            }
        }
        let again = assign(&with_current(members, &result), &assignable);
        prop_assert_eq!(again, result);
    }

    /// Spec 4.2 (stickiness): adding a member to a balanced homogeneous group, when the sharing target
    /// stays the same, only takes partitions away from the existing members (nobody else gains) and
    /// moves exactly as many assignments as the new member receives. Removing a member only adds.
    #[test]
    fn adding_or_removing_a_member_moves_little(
        member_count in 1usize..12,
        partition_count in 1i32..16,
    ) {
        let names: Vec<String> = (0..member_count).map(|i| format!("member-{i:02}")).collect();
        let refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let assignable = all_partitions(&[(ORDERS, partition_count)]);
        let members = members_subscribed(&refs, &[ORDERS]);
        let before = assign(&members, &assignable);
        let p = partition_count as usize;

        if desired_sharing(member_count + 1, p) == desired_sharing(member_count, p) {
            let mut grown = with_current(members.clone(), &before);
            grown.insert(member("newcomer"), AssignorMember {
                subscribed_topic_ids: [ORDERS].into(),
                current: BTreeSet::new(),
            });
            let after = assign(&grown, &assignable);
            let mut moved = 0;
            for (member_id, old) in &before {
                prop_assert!(after[member_id].is_subset(old), "{member_id:?} gained a partition");
                moved += old.len() - after[member_id].len();
            }
            prop_assert_eq!(moved, after[&member("newcomer")].len());
        }
        if member_count > 1 && desired_sharing(member_count - 1, p) == desired_sharing(member_count, p) {
            let mut shrunk = with_current(members, &before);
            let gone = member(refs[0]);
            shrunk.remove(&gone);
            let after = assign(&shrunk, &assignable);
            for (member_id, new) in &after {
                prop_assert!(before[member_id].is_subset(new), "{member_id:?} lost a partition");
            }
        }
    }
}
