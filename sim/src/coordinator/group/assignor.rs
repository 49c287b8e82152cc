//! The `simple` share-group assignor (spec 4.2; Kafka's `SimpleAssignor` with its
//! `SimpleHomogeneousAssignmentBuilder` and `SimpleHeterogeneousAssignmentBuilder`).
//!
//! Only initialized partitions are assignable; the caller passes them in. Partitions are not exclusive in a
//! share group, so when there are more members than partitions a partition is shared.
//!
//! **The balancing step** ([`balance`]) takes members that are all eligible for all of a list of
//! partitions, and the members' current assignments:
//! 1. `desired_sharing = ceil(M / P)` members per partition; the `desired_sharing * P` assignments are
//!    split into member quotas that differ by at most one (Kafka's `desiredAssignmentCount`). The larger
//!    quotas go to the members that already hold the most partitions, which keeps the most in place.
//! 2. Keep what each member holds (stickiness), then revoke from over-shared partitions (members holding
//!    the most partitions lose first) and from over-filled members (dropping their most-shared partitions
//!    first).
//! 3. Hand the missing assignments to members under quota, most spare room first. When every member with
//!    room already holds the partition that needs one more member (possible only when partitions are
//!    shared), a member `v` without it hands one of its partitions to the member with room and takes the
//!    needed partition instead, so every quota and the sharing target are always met exactly.
//!
//! **Homogeneous** subscriptions (every member subscribed to the same topics) balance once over all
//! assignable partitions of all topics, as Kafka's homogeneous builder does. **Heterogeneous**
//! subscriptions balance each topic on its own among the members subscribed to it, as Kafka's
//! heterogeneous builder does ("balance is computed for each topic individually and then the assignments are
//! combined"), so a member subscribed to two topics may get one extra partition of each.
//!
//! Deviation from Kafka: Kafka's builders fill greedily and accept "a slight imbalance" when the members
//! with room already hold the partition that needs sharing; the swap of step 3 removes that case, so the
//! targets Kafka aims for (`desired_sharing` members per partition, member loads within one) always hold
//! here. Which member gets which partition is deterministic (ordered maps, sorted ids) but is not Kafka's
//! hash-set order.

use std::collections::{BTreeMap, BTreeSet};

use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::share::MemberId;

/// What the assignor needs to know about one member.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignorMember {
    /// The topics the member subscribes to (names already resolved to ids).
    pub subscribed_topic_ids: BTreeSet<TopicId>,
    /// The member's current target assignment (kept where balance allows).
    pub current: BTreeSet<TopicIdPartition>,
}

/// Computes the target assignment of every member. `assignable` holds the initialized partitions of the
/// subscribed topics; partitions outside it, or of topics a member does not subscribe to, are never
/// assigned. Every member appears in the result, possibly with nothing.
pub fn assign(
    members: &BTreeMap<MemberId, AssignorMember>,
    assignable: &BTreeSet<TopicIdPartition>,
) -> BTreeMap<MemberId, BTreeSet<TopicIdPartition>> {
    let mut result: BTreeMap<MemberId, BTreeSet<TopicIdPartition>> = members
        .keys()
        .map(|member_id| (member_id.clone(), BTreeSet::new()))
        .collect();
    let Some(first) = members.values().next() else {
        return result;
    };
    let homogeneous = members
        .values()
        .all(|member| member.subscribed_topic_ids == first.subscribed_topic_ids);
    if homogeneous {
        let partitions: Vec<TopicIdPartition> = assignable
            .iter()
            .filter(|tp| first.subscribed_topic_ids.contains(&tp.topic_id))
            .copied()
            .collect();
        let member_ids: Vec<MemberId> = members.keys().cloned().collect();
        merge_into(&mut result, balance(&member_ids, &partitions, members));
    } else {
        let mut topic_ids: BTreeSet<TopicId> = BTreeSet::new();
        for member in members.values() {
            topic_ids.extend(member.subscribed_topic_ids.iter().copied());
        }
        for topic_id in topic_ids {
            let partitions: Vec<TopicIdPartition> = assignable
                .iter()
                .filter(|tp| tp.topic_id == topic_id)
                .copied()
                .collect();
            let subscribers: Vec<MemberId> = members
                .iter()
                .filter(|(_, member)| member.subscribed_topic_ids.contains(&topic_id))
                .map(|(member_id, _)| member_id.clone())
                .collect();
            merge_into(&mut result, balance(&subscribers, &partitions, members));
        }
    }
    result
}

fn merge_into(
    result: &mut BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    part: BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
) {
    for (member_id, partitions) in part {
        result.entry(member_id).or_default().extend(partitions);
    }
}

/// `ceil(members / partitions)`: how many members share each partition (0 without partitions).
pub fn desired_sharing(member_count: usize, partition_count: usize) -> usize {
    if partition_count == 0 {
        0
    } else {
        member_count.div_ceil(partition_count)
    }
}

/// Balances `partitions` over `member_ids`, every member eligible for every partition (see the module
/// doc). The result has one entry per member id.
pub fn balance(
    member_ids: &[MemberId],
    partitions: &[TopicIdPartition],
    members: &BTreeMap<MemberId, AssignorMember>,
) -> BTreeMap<MemberId, BTreeSet<TopicIdPartition>> {
    let mut held: BTreeMap<MemberId, BTreeSet<TopicIdPartition>> = BTreeMap::new();
    let wanted: BTreeSet<TopicIdPartition> = partitions.iter().copied().collect();
    for member_id in member_ids {
        let current = members
            .get(member_id)
            .map(|member| member.current.intersection(&wanted).copied().collect())
            .unwrap_or_default();
        held.insert(member_id.clone(), current);
    }
    if member_ids.is_empty() || partitions.is_empty() {
        return held;
    }
    let sharing = desired_sharing(member_ids.len(), partitions.len());
    let mut holders: BTreeMap<TopicIdPartition, BTreeSet<MemberId>> =
        wanted.iter().map(|tp| (*tp, BTreeSet::new())).collect();
    for (member_id, partitions) in &held {
        for tp in partitions {
            holders.entry(*tp).or_default().insert(member_id.clone());
        }
    }

    revoke_overshared(sharing, &mut held, &mut holders);
    let quotas = member_quotas(sharing * partitions.len(), &held);
    revoke_overfilled(&quotas, &mut held, &mut holders);
    fill_deficits(sharing, &quotas, &mut held, &mut holders);

    debug_assert!(holders.values().all(|members| members.len() <= sharing));
    debug_assert!(held
        .iter()
        .all(|(member_id, partitions)| partitions.len() <= quotas[member_id]));
    held
}

/// Partitions held by more than `sharing` members lose the members holding the most partitions.
fn revoke_overshared(
    sharing: usize,
    held: &mut BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    holders: &mut BTreeMap<TopicIdPartition, BTreeSet<MemberId>>,
) {
    for (tp, members) in holders.iter_mut() {
        while members.len() > sharing {
            let loser = members
                .iter()
                .max_by_key(|member_id| (held[*member_id].len(), (*member_id).clone()))
                .cloned()
                .expect("more than `sharing` >= 1 members hold the partition");
            members.remove(&loser);
            held.get_mut(&loser).map(|partitions| partitions.remove(tp));
        }
    }
}

/// Splits `total` assignments into quotas that differ by at most one; the larger ones go to the members
/// holding the most now (ties: smaller member id).
fn member_quotas(
    total: usize,
    held: &BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
) -> BTreeMap<MemberId, usize> {
    let member_count = held.len();
    let base = total / member_count;
    let extra = total % member_count;
    let mut order: Vec<(&MemberId, usize)> = held
        .iter()
        .map(|(member_id, partitions)| (member_id, partitions.len()))
        .collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    order
        .into_iter()
        .enumerate()
        .map(|(rank, (member_id, _))| (member_id.clone(), base + usize::from(rank < extra)))
        .collect()
}

/// Members above quota drop their most-shared partitions first (ties: the last partition).
fn revoke_overfilled(
    quotas: &BTreeMap<MemberId, usize>,
    held: &mut BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    holders: &mut BTreeMap<TopicIdPartition, BTreeSet<MemberId>>,
) {
    for (member_id, partitions) in held.iter_mut() {
        let quota = quotas[member_id];
        while partitions.len() > quota {
            let dropped = *partitions
                .iter()
                .max_by_key(|tp| (holders[*tp].len(), **tp))
                .expect("a member above quota holds a partition");
            partitions.remove(&dropped);
            holders
                .get_mut(&dropped)
                .map(|members| members.remove(member_id));
        }
    }
}

/// Gives every partition `sharing` members without exceeding any quota (module doc, step 3).
fn fill_deficits(
    sharing: usize,
    quotas: &BTreeMap<MemberId, usize>,
    held: &mut BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    holders: &mut BTreeMap<TopicIdPartition, BTreeSet<MemberId>>,
) {
    // Each round adds one assignment, and there are at most `sharing * P` of them.
    let rounds_max = sharing * holders.len() + 1;
    for _ in 0..rounds_max {
        // The partition with the fewest members (ties: the first partition).
        let Some((&needy, _)) = holders
            .iter()
            .filter(|(_, members)| members.len() < sharing)
            .min_by_key(|(tp, members)| (members.len(), **tp))
        else {
            return;
        };
        let spare = |member_id: &MemberId,
                     held: &BTreeMap<MemberId, BTreeSet<TopicIdPartition>>| {
            quotas[member_id].saturating_sub(held[member_id].len())
        };
        let taker = held
            .keys()
            .filter(|member_id| spare(member_id, held) > 0 && !holders[&needy].contains(*member_id))
            .max_by(|a, b| spare(a, held).cmp(&spare(b, held)).then_with(|| b.cmp(a)))
            .cloned();
        if let Some(taker) = taker {
            held.get_mut(&taker)
                .map(|partitions| partitions.insert(needy));
            holders.get_mut(&needy).map(|members| members.insert(taker));
            continue;
        }
        // Every member with room already holds `needy`: swap (module doc, step 3).
        let Some(roomy) = held
            .keys()
            .find(|member_id| spare(member_id, held) > 0)
            .cloned()
        else {
            return; // Total quota equals total demand, so this cannot happen; stop rather than spin.
        };
        let swap = held.iter().find_map(|(member_id, partitions)| {
            if holders[&needy].contains(member_id) {
                return None;
            }
            partitions
                .iter()
                .find(|tp| !held[&roomy].contains(*tp))
                .map(|tp| (member_id.clone(), *tp))
        });
        let Some((giver, handed)) = swap else {
            return; // Tolerate the imbalance, as Kafka does; the proptests show it does not happen.
        };
        move_partition(held, holders, &giver, &roomy, handed);
        held.get_mut(&giver)
            .map(|partitions| partitions.insert(needy));
        holders.get_mut(&needy).map(|members| members.insert(giver));
    }
}

fn move_partition(
    held: &mut BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    holders: &mut BTreeMap<TopicIdPartition, BTreeSet<MemberId>>,
    from: &MemberId,
    to: &MemberId,
    tp: TopicIdPartition,
) {
    held.get_mut(from).map(|partitions| partitions.remove(&tp));
    held.get_mut(to).map(|partitions| partitions.insert(tp));
    if let Some(members) = holders.get_mut(&tp) {
        members.remove(from);
        members.insert(to.clone());
    }
}
