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

/// Mutation switch `assignor_skips_a_member` (issue 6; spec 4.2 inverted): [`assign`] over every
/// member but the last (by id), which gets nothing, as an off-by-one over the member list would.
pub fn assign_skipping_last_member(
    members: &BTreeMap<MemberId, AssignorMember>,
    assignable: &BTreeSet<TopicIdPartition>,
) -> BTreeMap<MemberId, BTreeSet<TopicIdPartition>> {
    let mut others = members.clone();
    let skipped = others.pop_last();
    let mut result = assign(&others, assignable);
    if let Some((member_id, _)) = skipped {
        result.insert(member_id, BTreeSet::new());
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
    let wanted: BTreeSet<TopicIdPartition> = partitions.iter().copied().collect();
    let mut placement = Placement {
        held: BTreeMap::new(),
        holders: wanted.iter().map(|tp| (*tp, BTreeSet::new())).collect(),
    };
    for member_id in member_ids {
        placement.held.insert(member_id.clone(), BTreeSet::new());
        let kept = members
            .get(member_id)
            .map(|member| {
                member
                    .current
                    .intersection(&wanted)
                    .copied()
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for tp in kept {
            placement.grant(member_id, tp);
        }
    }
    if member_ids.is_empty() || wanted.is_empty() {
        return placement.held;
    }
    let sharing = desired_sharing(member_ids.len(), wanted.len());
    placement.revoke_overshared(sharing);
    let quotas = placement.member_quotas(sharing * wanted.len());
    placement.revoke_overfilled(&quotas);
    placement.fill_deficits(sharing, &quotas);

    debug_assert!(placement
        .holders
        .values()
        .all(|holders| holders.len() <= sharing));
    debug_assert!(placement
        .held
        .iter()
        .all(|(member_id, held)| held.len() <= quotas[member_id]));
    debug_assert_eq!(
        placement.held.values().map(BTreeSet::len).sum::<usize>(),
        placement.holders.values().map(BTreeSet::len).sum::<usize>(),
    );
    placement.held
}

/// The assignment being built, indexed both ways; `grant` and `revoke` keep the two in step.
struct Placement {
    /// Member → partitions.
    held: BTreeMap<MemberId, BTreeSet<TopicIdPartition>>,
    /// Partition → members.
    holders: BTreeMap<TopicIdPartition, BTreeSet<MemberId>>,
}

impl Placement {
    fn grant(&mut self, member_id: &MemberId, tp: TopicIdPartition) {
        let added_to_member = self
            .held
            .get_mut(member_id)
            .is_some_and(|held| held.insert(tp));
        let added_to_partition = self
            .holders
            .get_mut(&tp)
            .is_some_and(|holders| holders.insert(member_id.clone()));
        debug_assert!(added_to_member, "{member_id:?} already held {tp:?}");
        debug_assert!(added_to_partition, "{tp:?} already had {member_id:?}");
    }

    fn revoke(&mut self, member_id: &MemberId, tp: TopicIdPartition) {
        let removed_from_member = self
            .held
            .get_mut(member_id)
            .is_some_and(|held| held.remove(&tp));
        let removed_from_partition = self
            .holders
            .get_mut(&tp)
            .is_some_and(|holders| holders.remove(member_id));
        debug_assert!(removed_from_member, "{member_id:?} did not hold {tp:?}");
        debug_assert!(removed_from_partition, "{tp:?} did not have {member_id:?}");
    }

    fn spare(&self, quotas: &BTreeMap<MemberId, usize>, member_id: &MemberId) -> usize {
        quotas[member_id].saturating_sub(self.held[member_id].len())
    }

    /// Partitions held by more than `sharing` members lose the members holding the most partitions.
    fn revoke_overshared(&mut self, sharing: usize) {
        let partitions: Vec<TopicIdPartition> = self.holders.keys().copied().collect();
        for tp in partitions {
            while self.holders[&tp].len() > sharing {
                let loser = self.holders[&tp]
                    .iter()
                    .max_by_key(|member_id| (self.held[*member_id].len(), (*member_id).clone()))
                    .cloned()
                    .expect("more than `sharing` >= 1 members hold the partition");
                self.revoke(&loser, tp);
            }
        }
    }

    /// Splits `total` assignments into quotas that differ by at most one; the larger ones go to the
    /// members holding the most now (ties: smaller member id).
    fn member_quotas(&self, total: usize) -> BTreeMap<MemberId, usize> {
        let member_count = self.held.len();
        let base = total / member_count;
        let extra = total % member_count;
        let mut order: Vec<(&MemberId, usize)> = self
            .held
            .iter()
            .map(|(member_id, held)| (member_id, held.len()))
            .collect();
        order.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        let quotas: BTreeMap<MemberId, usize> = order
            .into_iter()
            .enumerate()
            .map(|(rank, (member_id, _))| (member_id.clone(), base + usize::from(rank < extra)))
            .collect();
        debug_assert_eq!(quotas.values().sum::<usize>(), total);
        quotas
    }

    /// Members above quota drop their most-shared partitions first (ties: the last partition).
    fn revoke_overfilled(&mut self, quotas: &BTreeMap<MemberId, usize>) {
        let member_ids: Vec<MemberId> = self.held.keys().cloned().collect();
        for member_id in member_ids {
            while self.held[&member_id].len() > quotas[&member_id] {
                let dropped = *self.held[&member_id]
                    .iter()
                    .max_by_key(|tp| (self.holders[*tp].len(), **tp))
                    .expect("a member above quota holds a partition");
                self.revoke(&member_id, dropped);
            }
        }
    }

    /// Gives every partition `sharing` members without exceeding any quota (module doc, step 3).
    fn fill_deficits(&mut self, sharing: usize, quotas: &BTreeMap<MemberId, usize>) {
        // Each round adds one assignment, and there are at most `sharing * P` of them.
        let rounds_max = sharing * self.holders.len() + 1;
        for _ in 0..rounds_max {
            // The partition with the fewest members (ties: the first partition).
            let Some(needy) = self
                .holders
                .iter()
                .filter(|(_, holders)| holders.len() < sharing)
                .min_by_key(|(tp, holders)| (holders.len(), **tp))
                .map(|(tp, _)| *tp)
            else {
                return;
            };
            let taker = self
                .held
                .keys()
                .filter(|m| self.spare(quotas, m) > 0 && !self.holders[&needy].contains(*m))
                .max_by(|a, b| {
                    let by_spare = self.spare(quotas, a).cmp(&self.spare(quotas, b));
                    by_spare.then_with(|| b.cmp(a))
                })
                .cloned();
            if let Some(taker) = taker {
                self.grant(&taker, needy);
                continue;
            }
            // Every member with room already holds `needy`: swap (module doc, step 3).
            let Some(roomy) = self
                .held
                .keys()
                .find(|member_id| self.spare(quotas, member_id) > 0)
                .cloned()
            else {
                return; // Total quota equals total demand, so this cannot happen; stop, not spin.
            };
            let swap = self.held.iter().find_map(|(member_id, held)| {
                if self.holders[&needy].contains(member_id) {
                    return None;
                }
                held.iter()
                    .find(|tp| !self.held[&roomy].contains(*tp))
                    .map(|tp| (member_id.clone(), *tp))
            });
            let Some((giver, handed)) = swap else {
                return; // Tolerate the imbalance, as Kafka does; the proptests show it does not happen.
            };
            self.revoke(&giver, handed);
            self.grant(&roomy, handed);
            self.grant(&giver, needy);
        }
    }
}
