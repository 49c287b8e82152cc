//! OffsetCommit / OffsetFetch with the classic generation and member checks.

use super::membership::form_group;
use super::*;

/// A member of the current generation commits; OffsetFetch returns it, -1 for uncommitted partitions.
#[test]
fn member_commits_and_fetches() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    assert_eq!(
        harness.commit(&members[0], generation, &[(0, 10), (1, 20)]),
        vec![0, 0]
    );
    assert_eq!(harness.fetch_offsets(&[0, 1, 2]), vec![10, 20, -1]);
    assert_eq!(
        harness
            .records
            .iter()
            .filter(|r| matches!(r, ClassicGroupRecord::OffsetCommit { .. }))
            .count(),
        2
    );
}

/// A stale generation gets ILLEGAL_GENERATION, an unknown member UNKNOWN_MEMBER_ID; nothing is stored.
#[test]
fn stale_generation_and_unknown_member_are_refused() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    let illegal = ResponseError::IllegalGeneration.code();
    assert_eq!(
        harness.commit(&members[0], generation - 1, &[(0, 10)]),
        vec![illegal]
    );
    let unknown = ResponseError::UnknownMemberId.code();
    assert_eq!(
        harness.commit("stranger", generation, &[(0, 10)]),
        vec![unknown]
    );
    assert_eq!(harness.fetch_offsets(&[0]), vec![-1]);
}

/// During PreparingRebalance the current generation may still commit (eager consumers commit before
/// rejoining); during CompletingRebalance commits get REBALANCE_IN_PROGRESS.
#[test]
fn commits_during_rebalances() {
    let mut harness = Harness::new();
    let (members, generation) = form_group(&mut harness, 1);
    let in_progress = ResponseError::RebalanceInProgress.code();
    assert_eq!(
        harness.group().state,
        ClassicGroupState::CompletingRebalance
    );
    assert_eq!(
        harness.commit(&members[0], generation, &[(0, 1)]),
        vec![in_progress]
    );
    harness.sync(&members[0], generation, &[]);
    harness.join_new();
    assert_eq!(harness.group().state, ClassicGroupState::PreparingRebalance);
    assert_eq!(harness.commit(&members[0], generation, &[(0, 5)]), vec![0]);
    assert_eq!(harness.fetch_offsets(&[0]), vec![5]);
}

/// Generation -1 commits into a missing or empty group (a simple group); into a group with members
/// they are refused with UNKNOWN_MEMBER_ID.
#[test]
fn simple_commits_only_into_empty_groups() {
    let mut harness = Harness::new();
    assert_eq!(harness.commit("", -1, &[(0, 7)]), vec![0]);
    assert_eq!(harness.fetch_offsets(&[0]), vec![7]);
    assert_eq!(harness.group().state, ClassicGroupState::Empty);
    let (members, generation) = form_group(&mut harness, 1);
    harness.sync(&members[0], generation, &[]);
    assert_eq!(
        harness.commit("", -1, &[(0, 8)]),
        vec![ResponseError::UnknownMemberId.code()]
    );
}

/// A generation >= 0 into a missing group: GROUP_ID_NOT_FOUND from v9, ILLEGAL_GENERATION before.
#[test]
fn commit_to_missing_group_by_version() {
    let mut harness = Harness::new();
    assert_eq!(
        harness.commit_version(9, "m", 3, &[(0, 1)]),
        vec![ResponseError::GroupIdNotFound.code()]
    );
    assert_eq!(
        harness.commit_version(8, "m", 3, &[(0, 1)]),
        vec![ResponseError::IllegalGeneration.code()]
    );
}
