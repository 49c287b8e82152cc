//! Property: random members joining, syncing, heartbeating, committing, leaving and going silent, with
//! the leader assigning 6 partitions by range over the members its JoinGroup response lists.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;

const PARTITIONS: u8 = 6;
const MEMBERS: usize = 4;

#[derive(Clone, Debug)]
enum Op {
    Join(usize),
    Sync(usize),
    Heartbeat(usize),
    Commit(usize),
    Leave(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..MEMBERS).prop_map(Op::Join),
        (0..MEMBERS).prop_map(Op::Sync),
        (0..MEMBERS).prop_map(Op::Heartbeat),
        (0..MEMBERS).prop_map(Op::Commit),
        (0..MEMBERS).prop_map(Op::Leave),
        (1u64..12_000).prop_map(Op::Advance),
    ]
}

/// What one simulated client knows.
#[derive(Clone, Debug, Default)]
struct Client {
    member_id: String,
    generation_id: i32,
    /// Its latest JoinGroup waiting for an answer.
    join: Option<RequestToken>,
    /// Member ids its JoinGroup response listed, when it is the leader.
    leader_of: Vec<String>,
    /// Its SyncGroups: (token, member id, generation) as sent.
    syncs: Vec<(RequestToken, String, i32)>,
}

fn range_assign(members: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut sorted = members.to_vec();
    sorted.sort();
    let per = PARTITIONS as usize / sorted.len();
    let extra = PARTITIONS as usize % sorted.len();
    let mut next = 0u8;
    sorted
        .into_iter()
        .enumerate()
        .map(|(index, member)| {
            let count = per + usize::from(index < extra);
            let partitions: Vec<u8> = (next..next + count as u8).collect();
            next += count as u8;
            (member, partitions)
        })
        .collect()
}

fn settle_joins(harness: &Harness, clients: &mut [Client]) {
    for client in clients.iter_mut() {
        let Some(token) = client.join else { continue };
        let Some(response) = harness.join_response(token) else {
            continue;
        };
        client.join = None;
        client.member_id = response.member_id.to_string();
        if response.error_code == 0 {
            client.generation_id = response.generation_id;
            client.leader_of = response
                .members
                .iter()
                .map(|m| m.member_id.to_string())
                .collect();
        } else if response.error_code == ResponseError::UnknownMemberId.code() {
            client.member_id.clear();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// No partition is owned by two members in one generation; in a Stable group with members every
    /// partition is assigned; generations never go back; every request is answered exactly once.
    #[test]
    fn assignments_are_exclusive_and_complete(ops in proptest::collection::vec(op(), 1..80)) {
        let mut harness = Harness::new();
        let mut clients = vec![Client::default(); MEMBERS];
        let mut requests = 0usize;
        let mut owners: BTreeMap<(i32, u8), String> = BTreeMap::new();
        let mut last_generation = 0;
        for op in ops {
            match op {
                Op::Join(i) => {
                    let member_id = clients[i].member_id.clone();
                    clients[i].join = Some(harness.join(&member_id, &[("range", b"sub")]));
                    requests += 1;
                }
                Op::Sync(i) => {
                    let client = &clients[i];
                    let assignments = if client.leader_of.is_empty() {
                        Vec::new()
                    } else {
                        range_assign(&client.leader_of)
                    };
                    let refs: Vec<(&str, &[u8])> =
                        assignments.iter().map(|(m, a)| (m.as_str(), a.as_slice())).collect();
                    let (member_id, generation_id) = (client.member_id.clone(), client.generation_id);
                    let token = harness.sync(&member_id, generation_id, &refs);
                    clients[i].syncs.push((token, member_id, generation_id));
                    requests += 1;
                }
                Op::Heartbeat(i) => {
                    let (member_id, generation_id) = (clients[i].member_id.clone(), clients[i].generation_id);
                    harness.heartbeat(&member_id, generation_id);
                    requests += 1;
                }
                Op::Commit(i) => {
                    let (member_id, generation_id) = (clients[i].member_id.clone(), clients[i].generation_id);
                    harness.commit(&member_id, generation_id, &[(0, 1)]);
                    requests += 1;
                }
                Op::Leave(i) => {
                    let member_id = clients[i].member_id.clone();
                    harness.leave(&member_id);
                    clients[i] = Client {
                        join: clients[i].join,
                        syncs: clients[i].syncs.clone(),
                        ..Client::default()
                    };
                    requests += 1;
                }
                Op::Advance(ms) => harness.advance(ms),
            }
            settle_joins(&harness, &mut clients);
            for client in &clients {
                for (token, member_id, generation_id) in &client.syncs {
                    let Some(response) = harness.sync_response(*token) else { continue };
                    if response.error_code != 0 {
                        continue;
                    }
                    for partition in response.assignment.iter() {
                        let key = (*generation_id, *partition);
                        let owner = owners.entry(key).or_insert_with(|| member_id.clone());
                        prop_assert_eq!(owner, member_id, "two owners of {:?}", key);
                    }
                }
            }
            if let Some(group) = harness.coordinator.group(GROUP) {
                prop_assert!(group.generation_id >= last_generation);
                last_generation = group.generation_id;
                if group.state == ClassicGroupState::Stable {
                    let assigned: BTreeSet<u8> =
                        group.members.values().flat_map(|m| m.assignment.iter().copied()).collect();
                    let leader = group.leader_id.clone().unwrap();
                    let leader_listed = clients.iter().any(|c| c.member_id == leader
                        && c.generation_id == group.generation_id
                        && c.leader_of.len() == group.members.len());
                    if leader_listed {
                        prop_assert_eq!(assigned.len(), PARTITIONS as usize, "a partition unassigned");
                    }
                }
            }
        }
        // Let every barrier, session and pending id run out: every request has its one response.
        for _ in 0..4 {
            harness.advance(60_000);
        }
        prop_assert_eq!(harness.responses.len(), requests);
    }
}
