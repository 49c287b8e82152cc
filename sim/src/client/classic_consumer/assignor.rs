//! The consumer-side partition assignors the group leader runs (Kafka's `RangeAssignor` and
//! `RoundRobinAssignor`), on member subscriptions and partition counts, deterministic by member id.

use std::collections::{BTreeMap, BTreeSet};

use crate::trace::TopicPartitionName;

/// An assignor the classic consumer can run, by its `partition.assignment.strategy` protocol name.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Assignor {
    /// `range`: per topic, consecutive partitions to members sorted by id; the first members get one
    /// more when the count does not divide.
    Range,
    /// `roundrobin`: every subscribed partition, sorted, dealt to members sorted by id in turn,
    /// skipping members not subscribed to its topic.
    RoundRobin,
}

impl Assignor {
    /// The protocol name in JoinGroup.
    pub fn name(self) -> &'static str {
        match self {
            Assignor::Range => "range",
            Assignor::RoundRobin => "roundrobin",
        }
    }

    /// The assignor with this protocol name.
    pub fn from_name(name: &str) -> Option<Assignor> {
        match name {
            "range" => Some(Assignor::Range),
            "roundrobin" => Some(Assignor::RoundRobin),
            _ => None,
        }
    }

    /// Assigns the partitions of the subscribed topics (`partition_counts`, topic → count; topics
    /// missing from it are skipped) to `subscriptions` (member id → topics). Every member gets an entry.
    pub fn assign(
        self,
        partition_counts: &BTreeMap<String, i32>,
        subscriptions: &BTreeMap<String, BTreeSet<String>>,
    ) -> BTreeMap<String, Vec<TopicPartitionName>> {
        let mut assignment: BTreeMap<String, Vec<TopicPartitionName>> = subscriptions
            .keys()
            .map(|member| (member.clone(), Vec::new()))
            .collect();
        match self {
            Assignor::Range => range(partition_counts, subscriptions, &mut assignment),
            Assignor::RoundRobin => round_robin(partition_counts, subscriptions, &mut assignment),
        }
        assignment
    }
}

fn range(
    partition_counts: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, BTreeSet<String>>,
    assignment: &mut BTreeMap<String, Vec<TopicPartitionName>>,
) {
    for (topic, count) in partition_counts {
        // BTreeMap keys are sorted: members in member-id order, as Kafka sorts them.
        let members: Vec<&String> = subscriptions
            .iter()
            .filter(|(_, topics)| topics.contains(topic))
            .map(|(member, _)| member)
            .collect();
        if members.is_empty() || *count <= 0 {
            continue;
        }
        let per_member = *count as usize / members.len();
        let with_extra = *count as usize % members.len();
        let mut next = 0i32;
        for (index, member) in members.into_iter().enumerate() {
            let take = per_member + usize::from(index < with_extra);
            let owned = assignment
                .get_mut(member)
                .expect("every member has an entry");
            for partition in next..next + take as i32 {
                owned.push(TopicPartitionName {
                    topic: topic.clone(),
                    partition,
                });
            }
            next += take as i32;
        }
    }
}

fn round_robin(
    partition_counts: &BTreeMap<String, i32>,
    subscriptions: &BTreeMap<String, BTreeSet<String>>,
    assignment: &mut BTreeMap<String, Vec<TopicPartitionName>>,
) {
    let members: Vec<&String> = subscriptions.keys().collect();
    if members.is_empty() {
        return;
    }
    let mut cursor = 0usize;
    for (topic, count) in partition_counts {
        if !subscriptions.values().any(|topics| topics.contains(topic)) {
            continue;
        }
        for partition in 0..(*count).max(0) {
            // Some member is subscribed, so this finds one within a full turn.
            loop {
                let member = members[cursor % members.len()];
                cursor += 1;
                if subscriptions[member].contains(topic) {
                    assignment
                        .get_mut(member)
                        .expect("every member has an entry")
                        .push(TopicPartitionName {
                            topic: topic.clone(),
                            partition,
                        });
                    break;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn subs(members: &[(&str, &[&str])]) -> BTreeMap<String, BTreeSet<String>> {
        members
            .iter()
            .map(|(m, topics)| {
                (
                    m.to_string(),
                    topics.iter().map(|t| t.to_string()).collect(),
                )
            })
            .collect()
    }

    fn names(partitions: &[TopicPartitionName]) -> Vec<String> {
        partitions
            .iter()
            .map(|p| format!("{}-{}", p.topic, p.partition))
            .collect()
    }

    /// RangeAssignor: 2 consumers, 2 topics of 3 partitions: c0 gets t0p0,t0p1,t1p0,t1p1 (Javadoc example).
    #[test]
    fn range_matches_kafka_javadoc() {
        let counts = BTreeMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let result = Assignor::Range.assign(
            &counts,
            &subs(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]),
        );
        assert_eq!(names(&result["c0"]), ["t0-0", "t0-1", "t1-0", "t1-1"]);
        assert_eq!(names(&result["c1"]), ["t0-2", "t1-2"]);
    }

    /// RoundRobinAssignor: the same case deals t0p0,t0p2,t1p1 to c0 (Javadoc example).
    #[test]
    fn round_robin_matches_kafka_javadoc() {
        let counts = BTreeMap::from([("t0".to_string(), 3), ("t1".to_string(), 3)]);
        let result = Assignor::RoundRobin.assign(
            &counts,
            &subs(&[("c0", &["t0", "t1"]), ("c1", &["t0", "t1"])]),
        );
        assert_eq!(names(&result["c0"]), ["t0-0", "t0-2", "t1-1"]);
        assert_eq!(names(&result["c1"]), ["t0-1", "t1-0", "t1-2"]);
    }

    /// The 1:1 limit: with more members than partitions the extra members get nothing.
    #[test]
    fn extra_members_get_nothing() {
        let counts = BTreeMap::from([("t".to_string(), 2)]);
        let members = subs(&[("a", &["t"]), ("b", &["t"]), ("c", &["t"]), ("d", &["t"])]);
        for assignor in [Assignor::Range, Assignor::RoundRobin] {
            let result = assignor.assign(&counts, &members);
            assert_eq!(result.values().filter(|p| p.is_empty()).count(), 2);
        }
    }

    proptest! {
        /// Every subscribed partition goes to exactly one subscribed member.
        #[test]
        fn assignment_is_exclusive_and_complete(
            member_count in 1usize..8,
            counts in proptest::collection::vec(0i32..10, 1..4),
            subscribed in proptest::collection::vec(proptest::collection::vec(any::<bool>(), 4), 8),
            round_robin in any::<bool>(),
        ) {
            let topics: BTreeMap<String, i32> =
                counts.iter().enumerate().map(|(i, c)| (format!("t{i}"), *c)).collect();
            let subscriptions: BTreeMap<String, BTreeSet<String>> = (0..member_count)
                .map(|m| {
                    let chosen = topics
                        .keys()
                        .enumerate()
                        .filter(|(i, _)| subscribed[m][*i])
                        .map(|(_, t)| t.clone());
                    (format!("m{m}"), chosen.collect())
                })
                .collect();
            let assignor = if round_robin { Assignor::RoundRobin } else { Assignor::Range };
            let result = assignor.assign(&topics, &subscriptions);
            let mut seen = BTreeSet::new();
            for (member, partitions) in &result {
                for p in partitions {
                    prop_assert!(subscriptions[member].contains(&p.topic));
                    prop_assert!(seen.insert(p.clone()), "assigned twice: {:?}", p);
                }
            }
            for (topic, count) in &topics {
                if subscriptions.values().any(|t| t.contains(topic)) {
                    for partition in 0..*count {
                        let key = TopicPartitionName { topic: topic.clone(), partition };
                        prop_assert!(seen.contains(&key));
                    }
                }
            }
        }
    }
}
