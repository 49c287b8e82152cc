//! JoinGroup / SyncGroup / Heartbeat / LeaveGroup and session timeouts (Kafka's classic group protocol).

use super::*;

/// Forms a group of `count` members through one rebalance; returns the member ids (leader first) and
/// the generation.
pub(super) fn form_group(harness: &mut Harness, count: usize) -> (Vec<String>, i32) {
    let members: Vec<String> = (0..count).map(|_| harness.join_new().0).collect();
    // Each new member started a rebalance: everyone rejoins until one generation holds them all.
    let generation_id = rejoin_all(harness, &members);
    (members, generation_id)
}

/// Rejoins every member of `members` into a rebalance and completes it; returns the new generation.
pub(super) fn rejoin_all(harness: &mut Harness, members: &[String]) -> i32 {
    let tokens: Vec<RequestToken> = members
        .iter()
        .map(|m| harness.join(m, &[("range", b"sub")]))
        .collect();
    let generation = harness
        .join_response(*tokens.last().unwrap())
        .unwrap()
        .generation_id;
    for token in tokens {
        assert_eq!(
            harness.join_response(token).unwrap().generation_id,
            generation
        );
    }
    generation
}

/// KIP-394: JoinGroup v4+ without a member id gets MEMBER_ID_REQUIRED and a pending member id.
#[test]
fn new_member_must_rejoin_with_its_id() {
    let mut harness = Harness::new();
    let token = harness.join("", &[("range", b"sub")]);
    let response = harness.join_response(token).unwrap();
    assert_eq!(response.error_code, ResponseError::MemberIdRequired.code());
    let member_id = response.member_id.to_string();
    assert!(member_id.starts_with("consumer-"));
    assert!(harness.group().pending_members.contains_key(&member_id));
    assert!(harness.group().members.is_empty());
}

/// JoinGroup v3 and older add the member at once.
#[test]
fn old_join_version_adds_member_at_once() {
    let mut harness = Harness::new();
    let context = harness.context(3);
    let token = context.token;
    harness.coordinator.handle_join_group(
        harness.now_ms,
        context,
        &join_request("", &[("range", b"sub")]),
    );
    harness.drain();
    let response = harness.join_response(token).unwrap();
    assert_eq!(response.error_code, 0);
    assert_eq!(response.generation_id, 1);
    assert_eq!(response.leader, response.member_id);
}

/// A single member's join completes the barrier at once (no initial delay): it becomes leader and
/// receives the members' metadata.
#[test]
fn first_member_becomes_leader_and_gets_metadata() {
    let mut harness = Harness::new();
    let (member_id, token) = harness.join_new();
    let response = harness.join_response(token).unwrap().clone();
    assert_eq!(response.error_code, 0);
    assert_eq!(response.generation_id, 1);
    assert_eq!(response.leader.as_str(), member_id);
    assert_eq!(response.protocol_name.as_deref(), Some("range"));
    assert_eq!(response.members.len(), 1);
    assert_eq!(response.members[0].metadata.as_ref(), b"sub");
    assert_eq!(
        harness.group().state,
        ClassicGroupState::CompletingRebalance
    );
}

/// The join barrier: a second member's join starts a rebalance; it waits until the first rejoins.
#[test]
fn join_barrier_waits_for_every_member() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[(&members[0], b"a0")]);
    assert_eq!(harness.group().state, ClassicGroupState::Stable);
    let (second, second_token) = harness.join_new();
    assert!(
        harness.join_response(second_token).is_none(),
        "parked at the barrier"
    );
    assert_eq!(harness.group().state, ClassicGroupState::PreparingRebalance);
    // The first member learns of the rebalance from its heartbeat.
    assert_eq!(
        harness.heartbeat(&members[0], generation),
        ResponseError::RebalanceInProgress.code()
    );
    let first_token = harness.join(&members[0], &[("range", b"sub")]);
    let leader_response = harness.join_response(first_token).unwrap().clone();
    let follower_response = harness.join_response(second_token).unwrap().clone();
    assert_eq!(leader_response.generation_id, generation + 1);
    assert_eq!(follower_response.generation_id, generation + 1);
    assert_eq!(
        leader_response.leader.as_str(),
        members[0],
        "the leader stays"
    );
    assert_eq!(leader_response.members.len(), 2);
    assert!(
        follower_response.members.is_empty(),
        "only the leader gets the metadata"
    );
    assert_eq!(follower_response.member_id.as_str(), second);
}

/// The rebalance timeout: members that do not rejoin within it are removed and the generation goes on.
#[test]
fn members_missing_the_barrier_are_removed() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    harness.sync(&members[0], generation, &[]);
    harness.sync(&members[1], generation, &[]);
    let token = harness.join(&members[1], &[("range", b"new")]);
    assert!(harness.join_response(token).is_none());
    // Keep member 0's session alive meanwhile (so the barrier, not its session, removes it); it never
    // rejoins.
    for _ in 0..4 {
        harness.advance(9_000);
        harness.heartbeat(&members[0], generation);
    }
    let response = harness.join_response(token).unwrap();
    assert_eq!(response.error_code, 0);
    assert_eq!(response.generation_id, generation + 1);
    assert_eq!(
        response.leader.as_str(),
        members[1],
        "a new leader among those who rejoined"
    );
    assert!(!harness.group().members.contains_key(&members[0]));
    assert!(harness.traces.iter().any(|t| matches!(t,
        ClassicTraceEvent::MemberRemoved { cause, .. } if cause == "rebalance_timeout")));
}

/// SyncGroup: followers wait for the leader, then everyone gets their own assignment; the assignment is
/// written as a GroupMetadata record.
#[test]
fn followers_wait_for_the_leaders_sync() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    let leader = harness.group().leader_id.clone().unwrap();
    let follower = members.iter().find(|m| **m != leader).unwrap().clone();
    let follower_token = harness.sync(&follower, generation, &[]);
    assert!(harness.sync_response(follower_token).is_none());
    let leader_token = harness.sync(&leader, generation, &[(&leader, b"L"), (&follower, b"F")]);
    assert_eq!(
        harness
            .sync_response(leader_token)
            .unwrap()
            .assignment
            .as_ref(),
        b"L"
    );
    assert_eq!(
        harness
            .sync_response(follower_token)
            .unwrap()
            .assignment
            .as_ref(),
        b"F"
    );
    assert_eq!(harness.group().state, ClassicGroupState::Stable);
    let stored = harness.records.iter().rev().find_map(|r| match r {
        ClassicGroupRecord::GroupMetadata { value: Some(v), .. } => Some(v.clone()),
        _ => None,
    });
    let stored = stored.unwrap();
    assert_eq!(stored.generation_id, generation);
    assert_eq!(stored.members.len(), 2);
}

/// SyncGroup errors: unknown member, wrong generation, and during PreparingRebalance.
#[test]
fn sync_group_errors() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    let token = harness.sync("stranger", generation, &[]);
    assert_eq!(
        harness.sync_response(token).unwrap().error_code,
        ResponseError::UnknownMemberId.code()
    );
    let token = harness.sync(&members[0], generation + 5, &[]);
    assert_eq!(
        harness.sync_response(token).unwrap().error_code,
        ResponseError::IllegalGeneration.code()
    );
    harness.sync(&members[0], generation, &[]);
    harness.join_new();
    let token = harness.sync(&members[0], generation, &[]);
    assert_eq!(
        harness.sync_response(token).unwrap().error_code,
        ResponseError::RebalanceInProgress.code()
    );
}

/// A rebalance during CompletingRebalance fails the parked SyncGroups with REBALANCE_IN_PROGRESS.
#[test]
fn rebalance_fails_parked_syncs() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    let leader = harness.group().leader_id.clone().unwrap();
    let follower = members.iter().find(|m| **m != leader).unwrap().clone();
    let token = harness.sync(&follower, generation, &[]);
    harness.join_new();
    assert_eq!(
        harness.sync_response(token).unwrap().error_code,
        ResponseError::RebalanceInProgress.code()
    );
}

/// Heartbeat errors: unknown member and illegal generation; a Stable member's heartbeat succeeds.
#[test]
fn heartbeat_checks_member_and_generation() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    assert_eq!(harness.heartbeat(&members[0], generation), 0);
    assert_eq!(
        harness.heartbeat("stranger", generation),
        ResponseError::UnknownMemberId.code()
    );
    assert_eq!(
        harness.heartbeat(&members[0], generation - 1),
        ResponseError::IllegalGeneration.code()
    );
}

/// Session timeout: a member that stops heartbeating is removed and a rebalance starts; the others
/// then rejoin into a new generation.
#[test]
fn session_timeout_removes_member_and_rebalances() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    let leader = harness.group().leader_id.clone().unwrap();
    harness.sync(&members[1], generation, &[]);
    harness.sync(&leader, generation, &[]);
    let survivor = members[0].clone();
    harness.advance(6_000);
    assert_eq!(harness.heartbeat(&survivor, generation), 0);
    assert!(harness.group().members.contains_key(&members[1]));
    // Member 1's session (10 s) runs out at 11 s; member 0 heartbeated at 7 s.
    harness.advance(6_000);
    assert!(!harness.group().members.contains_key(&members[1]));
    assert_eq!(harness.group().state, ClassicGroupState::PreparingRebalance);
    assert_eq!(
        harness.heartbeat(&survivor, generation),
        ResponseError::RebalanceInProgress.code()
    );
    let new_generation = rejoin_all(&mut harness, &[survivor]);
    assert_eq!(new_generation, generation + 1);
    assert!(harness.traces.iter().any(|t| matches!(t,
        ClassicTraceEvent::MemberRemoved { cause, .. } if cause == "session_timeout")));
}

/// A pending member id expires after the session timeout and no longer blocks the barrier.
#[test]
fn pending_member_expires() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    harness.join("", &[("range", b"sub")]);
    assert_eq!(harness.group().pending_members.len(), 1);
    harness.advance(SESSION_MS as u64);
    assert!(harness.group().pending_members.is_empty());
}

/// LeaveGroup removes the member and starts a rebalance; an unknown member gets UNKNOWN_MEMBER_ID.
#[test]
fn leave_group_rebalances() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    harness.sync(&members[1], generation, &[]);
    harness.sync(&harness.group().leader_id.clone().unwrap(), generation, &[]);
    let response = harness.leave(&members[1]);
    assert_eq!(response.members[0].error_code, 0);
    assert_eq!(harness.group().state, ClassicGroupState::PreparingRebalance);
    let response = harness.leave("stranger");
    assert_eq!(
        response.members[0].error_code,
        ResponseError::UnknownMemberId.code()
    );
    let generation_after = rejoin_all(&mut harness, &members[..1]);
    assert_eq!(generation_after, generation + 1);
}

/// The last member leaving makes the group Empty with a new generation, written as a record.
#[test]
fn last_member_leaving_empties_the_group() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    harness.leave(&members[0]);
    assert_eq!(harness.group().state, ClassicGroupState::Empty);
    assert_eq!(harness.group().generation_id, generation + 1);
    assert!(matches!(harness.records.last(),
        Some(ClassicGroupRecord::GroupMetadata { value: Some(v), .. }) if v.members.is_empty()));
}

/// JoinGroup validation: session timeout bounds, empty protocols, unknown member of a missing group,
/// and protocols the group does not support.
#[test]
fn join_validation_errors() {
    let mut harness = Harness::new();
    let context = harness.context(9);
    let token = context.token;
    let request = join_request("", &[("range", b"")]).with_session_timeout_ms(1_000);
    harness
        .coordinator
        .handle_join_group(harness.now_ms, context, &request);
    harness.drain();
    assert_eq!(
        harness.join_response(token).unwrap().error_code,
        ResponseError::InvalidSessionTimeout.code()
    );
    let token = harness.join("", &[]);
    assert_eq!(
        harness.join_response(token).unwrap().error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
    let token = harness.join("ghost", &[("range", b"")]);
    assert_eq!(
        harness.join_response(token).unwrap().error_code,
        ResponseError::UnknownMemberId.code()
    );
    form_group(&mut harness, 1);
    let token = harness.join("", &[("roundrobin", b"")]);
    assert_eq!(
        harness.join_response(token).unwrap().error_code,
        ResponseError::InconsistentGroupProtocol.code()
    );
}

/// The protocol is chosen by vote among the protocols every member supports.
#[test]
fn protocol_selected_by_vote() {
    let mut harness = Harness::new();
    let context = harness.context(3);
    harness.coordinator.handle_join_group(
        harness.now_ms,
        context,
        &join_request("", &[("roundrobin", b""), ("range", b"")]),
    );
    harness.drain();
    let leader = harness.group().leader_id.clone().unwrap();
    let generation = harness.group().generation_id;
    harness.sync(&leader, generation, &[]);
    let context = harness.context(3);
    let second = context.token;
    harness.coordinator.handle_join_group(
        harness.now_ms,
        context,
        &join_request("", &[("range", b""), ("roundrobin", b"")]),
    );
    let context = harness.context(3);
    harness.coordinator.handle_join_group(
        harness.now_ms,
        context,
        &join_request(&leader, &[("roundrobin", b""), ("range", b"")]),
    );
    harness.drain();
    // One vote each: the tie goes to the longest-standing member's preference.
    assert_eq!(
        harness
            .join_response(second)
            .unwrap()
            .protocol_name
            .as_deref(),
        Some("roundrobin")
    );
}

/// group.initial.rebalance.delay.ms: the first rebalance of an empty group waits, so members joining
/// together land in one generation.
#[test]
fn initial_rebalance_delay_gathers_members() {
    let mut harness = Harness::with_config(ClassicGroupConfig::default());
    let (_, first) = harness.join_new();
    harness.advance(1_000);
    let (_, second) = harness.join_new();
    assert!(harness.join_response(first).is_none());
    harness.advance(2_000);
    assert!(
        harness.join_response(first).is_none(),
        "a new member extended the delay"
    );
    harness.advance(3_000);
    let generation = harness.join_response(first).unwrap().generation_id;
    assert_eq!(
        harness.join_response(second).unwrap().generation_id,
        generation
    );
    assert_eq!(generation, 1);
}

/// Replay: loading the log gives back the Stable generation with its members, assignments and offsets.
#[test]
fn replay_rebuilds_groups() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 2);
    let leader = harness.group().leader_id.clone().unwrap();
    let follower = members.iter().find(|m| **m != leader).unwrap().clone();
    harness.sync(&follower, generation, &[]);
    harness.sync(&leader, generation, &[(&leader, b"L"), (&follower, b"F")]);
    harness.commit(&leader, generation, &[(0, 42)]);
    let loaded =
        ClassicGroupCoordinator::load(ClassicGroupConfig::default(), 50_000, &harness.records);
    let group = loaded.group(GROUP).unwrap();
    assert_eq!(group.state, ClassicGroupState::Stable);
    assert_eq!(group.generation_id, generation);
    assert_eq!(group.leader_id.as_deref(), Some(leader.as_str()));
    assert_eq!(group.members[&follower].assignment, b"F");
    assert_eq!(
        group.offsets[&("orders".to_string(), 0)].committed_offset,
        42
    );
    assert_eq!(
        group.members[&leader].session_deadline_ms,
        50_000 + SESSION_MS as u64
    );
}
