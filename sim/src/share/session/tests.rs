//! Tests of the share-session cache: one rule per test, each naming its spec section, and proptests over
//! random request sequences.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::*;
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::semantics::{Release, Semantics};
use crate::ResponseError;

const GROUP: &str = "group-a";

fn tp(partition: i32) -> TopicIdPartition {
    TopicIdPartition {
        topic_id: TopicId(9),
        partition,
    }
}

fn cache(max_share_sessions: usize) -> ShareSessionCache {
    ShareSessionCache::new(ShareSessionCacheConfig {
        max_share_sessions,
        ..ShareSessionCacheConfig::default()
    })
}

fn cache_for(release: Release, max_share_sessions: usize) -> ShareSessionCache {
    ShareSessionCache::new(ShareSessionCacheConfig {
        max_share_sessions,
        ..ShareSessionCacheConfig::new(&Semantics::for_release(release))
    })
}

fn fetch<'a>(
    member_id: &'a str,
    session_epoch: i32,
    partitions: &'a [TopicIdPartition],
    connection: u64,
) -> ShareFetchSessionRequest<'a> {
    ShareFetchSessionRequest {
        group_id: GROUP,
        member_id,
        session_epoch,
        partitions,
        forgotten: &[],
        has_acknowledgements: false,
        connection_id: ConnectionId(connection),
    }
}

fn key(member_id: &str) -> ShareSessionKey {
    ShareSessionKey::new(GROUP, member_id).unwrap()
}

fn epoch_of(cache: &ShareSessionCache, member_id: &str) -> Option<i32> {
    cache.session(&key(member_id)).map(ShareSession::epoch)
}

/// Spec 2.4: the member id must be non-empty and at most 36 characters, else INVALID_REQUEST.
#[test]
fn member_id_must_be_1_to_36_characters() {
    let mut cache = cache(10);
    let long = "m".repeat(37);
    let max = "m".repeat(36);
    for member_id in ["", long.as_str()] {
        let invalid = ResponseError::InvalidRequest;
        let fetched = cache.handle_share_fetch(0, &fetch(member_id, 0, &[], 1));
        assert_eq!(fetched, Err(invalid));
        let acknowledged = cache.handle_share_acknowledge(0, GROUP, member_id, 1);
        assert_eq!(acknowledged, Err(invalid));
        let released = cache.release_session(GROUP, member_id);
        assert_eq!(released, Err(invalid));
    }
    assert!(cache.handle_share_fetch(0, &fetch(&max, 0, &[], 1)).is_ok());
    assert_eq!(cache.len(), 1);
}

/// Spec 2.4: epoch 0 opens a session at epoch 1; each matching request advances it; a stale epoch is
/// INVALID_SHARE_SESSION_EPOCH; a positive epoch without a session is SHARE_SESSION_NOT_FOUND.
#[test]
fn epochs_open_match_and_advance() {
    let mut cache = cache(10);
    assert_eq!(
        cache.handle_share_fetch(0, &fetch("m1", 3, &[tp(0)], 1)),
        Err(ResponseError::ShareSessionNotFound)
    );
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    assert_eq!(epoch_of(&cache, "m1"), Some(1));
    cache
        .handle_share_fetch(1, &fetch("m1", 1, &[], 1))
        .unwrap();
    assert_eq!(epoch_of(&cache, "m1"), Some(2));
    assert_eq!(
        cache.handle_share_fetch(2, &fetch("m1", 1, &[], 1)),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        cache.handle_share_fetch(2, &fetch("m1", -7, &[], 1)),
        Err(ResponseError::InvalidShareSessionEpoch),
        "epochs below -1 take the subsequent path and cannot match"
    );
    assert_eq!(
        cache.handle_share_acknowledge(3, GROUP, "m1", 2),
        Ok(ShareAcknowledgeContext::Subsequent)
    );
    assert_eq!(epoch_of(&cache, "m1"), Some(3));
}

/// Spec 2.4: the epoch after e is e+1, wrapping from i32::MAX to 1; FINAL stays FINAL.
#[test]
fn epoch_wraps_from_max_to_one() {
    assert_eq!(next_epoch(INITIAL_EPOCH), 1);
    assert_eq!(next_epoch(41), 42);
    assert_eq!(next_epoch(i32::MAX), 1);
    assert_eq!(next_epoch(FINAL_EPOCH), FINAL_EPOCH);
}

/// Spec 2.4: a ShareFetch at epoch 0 carrying acknowledgements is INVALID_REQUEST, and the existing
/// session is left alone.
#[test]
fn initial_fetch_with_acknowledgements_is_invalid_request() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    let partitions = [tp(1)];
    let request = ShareFetchSessionRequest {
        has_acknowledgements: true,
        ..fetch("m1", 0, &partitions, 1)
    };
    assert_eq!(
        cache.handle_share_fetch(0, &request),
        Err(ResponseError::InvalidRequest)
    );
    assert_eq!(cache.session(&key("m1")).unwrap().partitions(), &[tp(0)]);
}

/// Spec 2.4: epoch 0 for a key that has a session replaces it *without* releasing records: the new
/// session starts at epoch 1 with the new request's partitions.
#[test]
fn initial_fetch_replaces_without_release() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0), tp(1)], 1))
        .unwrap();
    cache
        .handle_share_fetch(0, &fetch("m1", 1, &[], 1))
        .unwrap();
    let context = cache
        .handle_share_fetch(5, &fetch("m1", 0, &[tp(2)], 2))
        .unwrap();
    assert_eq!(
        context,
        ShareFetchContext::Initial {
            fetch_order: vec![tp(2)],
            replaced: true,
            evicted: None
        }
    );
    let session = cache.session(&key("m1")).unwrap();
    assert_eq!((session.epoch(), session.partitions()), (1, &[tp(2)][..]));
    assert_eq!(session.connection_id(), ConnectionId(2));
    assert_eq!(cache.len(), 1);
}

/// Spec 2.4: when the cache holds `group.share.max.share.sessions` sessions, a new one is
/// SHARE_SESSION_LIMIT_REACHED; replacing an existing session still works at the limit.
#[test]
fn session_limit_reached() {
    let mut cache = cache(2);
    assert_eq!(cache.config().max_share_sessions, 2);
    assert_eq!(ShareSessionCacheConfig::default().max_share_sessions, 2_000);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[], 1))
        .unwrap();
    cache
        .handle_share_fetch(0, &fetch("m2", 0, &[], 2))
        .unwrap();
    assert_eq!(
        cache.handle_share_fetch(0, &fetch("m3", 0, &[], 3)),
        Err(ResponseError::ShareSessionLimitReached)
    );
    assert!(cache.handle_share_fetch(0, &fetch("m2", 0, &[], 2)).is_ok());
    assert_eq!(cache.len(), 2);
}

/// Spec 2.4: ShareAcknowledge at epoch 0 is INVALID_SHARE_SESSION_EPOCH; without a session (any other
/// epoch, FINAL included) SHARE_SESSION_NOT_FOUND; a mismatched epoch INVALID_SHARE_SESSION_EPOCH.
#[test]
fn acknowledge_epoch_rules() {
    let mut cache = cache(10);
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m1", 0),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m1", 1),
        Err(ResponseError::ShareSessionNotFound)
    );
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m1", -1),
        Err(ResponseError::ShareSessionNotFound)
    );
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[], 1))
        .unwrap();
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m1", 0),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m1", 2),
        Err(ResponseError::InvalidShareSessionEpoch)
    );
    assert_eq!(
        epoch_of(&cache, "m1"),
        Some(1),
        "failed requests do not advance the epoch"
    );
}

/// Spec 2.4: FINAL needs a session (else SHARE_SESSION_NOT_FOUND), changes nothing until the acks are
/// applied, then `release_session` removes it and names every partition of the session.
#[test]
fn final_epoch_closes_and_names_the_partitions() {
    let mut cache = cache(10);
    assert_eq!(
        cache.handle_share_fetch(0, &fetch("m1", -1, &[], 1)),
        Err(ResponseError::ShareSessionNotFound)
    );
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0), tp(1)], 1))
        .unwrap();
    cache
        .handle_share_fetch(0, &fetch("m1", 1, &[tp(2)], 1))
        .unwrap();
    assert_eq!(
        cache.handle_share_fetch(0, &fetch("m1", -1, &[tp(3)], 1)),
        Ok(ShareFetchContext::Final)
    );
    assert_eq!(
        epoch_of(&cache, "m1"),
        Some(2),
        "FINAL does not touch the session"
    );
    let released = cache.release_session(GROUP, "m1").unwrap();
    assert_eq!(released.key, key("m1"));
    assert_eq!(released.partitions, vec![tp(0), tp(1), tp(2)]);
    assert!(cache.is_empty());
    assert_eq!(
        cache.release_session(GROUP, "m1"),
        Err(ResponseError::ShareSessionNotFound)
    );
    cache
        .handle_share_fetch(0, &fetch("m2", 0, &[], 1))
        .unwrap();
    assert_eq!(
        cache.handle_share_acknowledge(0, GROUP, "m2", -1),
        Ok(ShareAcknowledgeContext::Final)
    );
    assert_eq!(epoch_of(&cache, "m2"), Some(1));
}

/// Spec 2.4: a subsequent ShareFetch adds its partitions (new ones last) and removes ForgottenTopicsData.
#[test]
fn partition_set_adds_and_forgets() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(3), tp(1), tp(3)], 1))
        .unwrap();
    assert_eq!(
        cache.session(&key("m1")).unwrap().partitions(),
        &[tp(3), tp(1)]
    );
    let (partitions, forgotten) = ([tp(2), tp(1)], [tp(3), tp(8)]);
    let request = ShareFetchSessionRequest {
        forgotten: &forgotten,
        ..fetch("m1", 1, &partitions, 1)
    };
    cache.handle_share_fetch(0, &request).unwrap();
    assert_eq!(
        cache.session(&key("m1")).unwrap().partitions(),
        &[tp(1), tp(2)]
    );
}

/// Spec 2.6: the partitions of a request are rotated round-robin by session epoch.
#[test]
fn fetch_order_rotates_by_session_epoch() {
    let mut cache = cache(10);
    let all = [tp(0), tp(1), tp(2)];
    let context = cache
        .handle_share_fetch(0, &fetch("m1", 0, &all, 1))
        .unwrap();
    assert!(
        matches!(context, ShareFetchContext::Initial { fetch_order, .. } if fetch_order == all)
    );
    let orders: Vec<_> = (1..=4)
        .map(|epoch| {
            match cache
                .handle_share_fetch(0, &fetch("m1", epoch, &[], 1))
                .unwrap()
            {
                ShareFetchContext::Subsequent { fetch_order } => fetch_order,
                other => panic!("subsequent expected, got {other:?}"),
            }
        })
        .collect();
    assert_eq!(orders[0], vec![tp(1), tp(2), tp(0)]);
    assert_eq!(orders[1], vec![tp(2), tp(0), tp(1)]);
    assert_eq!(orders[2], all.to_vec());
    assert_eq!(orders[3], vec![tp(1), tp(2), tp(0)]);
}

/// Spec 2.5 (4.1+): a connection close releases the session created on it; the group's last session
/// going reports the group empty.
#[test]
fn disconnect_releases_the_session_and_reports_group_empty() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    cache
        .handle_share_fetch(0, &fetch("m2", 0, &[tp(1)], 2))
        .unwrap();
    let outcome = cache.handle_disconnect(ConnectionId(1));
    assert_eq!(
        outcome.released,
        Some(ReleasedSession {
            key: key("m1"),
            partitions: vec![tp(0)]
        })
    );
    assert_eq!(outcome.group_empty, None, "m2 still has a session");
    let outcome = cache.handle_disconnect(ConnectionId(2));
    assert_eq!(outcome.released.map(|r| r.key), Some(key("m2")));
    assert_eq!(outcome.group_empty, Some(GROUP.to_owned()));
    assert_eq!(
        cache.handle_disconnect(ConnectionId(2)),
        DisconnectOutcome::default()
    );
}

/// Spec 2.5: a session replaced at epoch 0 from a new connection marks the old binding stale, so the old
/// connection's late disconnect neither removes nor releases the new session.
#[test]
fn late_disconnect_of_a_replaced_session_is_ignored() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 2))
        .unwrap();
    assert_eq!(
        cache.handle_disconnect(ConnectionId(1)),
        DisconnectOutcome::default()
    );
    assert_eq!(epoch_of(&cache, "m1"), Some(1));
    assert_eq!(
        cache
            .handle_disconnect(ConnectionId(2))
            .released
            .map(|r| r.key),
        Some(key("m1"))
    );
}

/// Spec 2.5: after a FINAL close, the connection's disconnect releases nothing more but reports the
/// group empty.
#[test]
fn disconnect_after_final_close_reports_group_empty_only() {
    let mut cache = cache(10);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    cache.release_session(GROUP, "m1").unwrap();
    let outcome = cache.handle_disconnect(ConnectionId(1));
    assert_eq!(outcome.released, None);
    assert_eq!(outcome.group_empty, Some(GROUP.to_owned()));
}

/// Spec 2.5 and 8 (4.0): a disconnect releases nothing; when the cache is full a new session evicts the
/// least recently used session idle for more than 120000 ms, without releasing its records.
#[test]
fn kafka_4_0_evicts_idle_sessions_instead() {
    let mut cache = cache_for(Release::Kafka4_0, 2);
    assert_eq!(cache.config().idle_eviction_ms, Some(120_000));
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[tp(0)], 1))
        .unwrap();
    cache
        .handle_share_fetch(10, &fetch("m2", 0, &[tp(0)], 2))
        .unwrap();
    assert_eq!(
        cache.handle_disconnect(ConnectionId(1)),
        DisconnectOutcome::default()
    );
    assert_eq!(cache.len(), 2);
    cache
        .handle_share_acknowledge(100_000, GROUP, "m1", 1)
        .unwrap(); // m1 used at 100000
    assert_eq!(
        cache.handle_share_fetch(120_010, &fetch("m3", 0, &[], 3)),
        Err(ResponseError::ShareSessionLimitReached),
        "m2 idle for exactly 120000 ms: not yet evictable"
    );
    let context = cache
        .handle_share_fetch(120_011, &fetch("m3", 0, &[], 3))
        .unwrap();
    assert!(
        matches!(context, ShareFetchContext::Initial { evicted: Some(k), .. } if k == key("m2"))
    );
    assert_eq!(
        cache.handle_share_fetch(120_012, &fetch("m2", 1, &[], 2)),
        Err(ResponseError::ShareSessionNotFound)
    );
}

/// Spec 2.5 (4.1+): no idle eviction; a full cache stays full until sessions close.
#[test]
fn kafka_4_2_never_evicts_by_time() {
    let mut cache = cache_for(Release::Kafka4_2, 1);
    cache
        .handle_share_fetch(0, &fetch("m1", 0, &[], 1))
        .unwrap();
    assert_eq!(
        cache.handle_share_fetch(10_000_000, &fetch("m2", 0, &[], 2)),
        Err(ResponseError::ShareSessionLimitReached)
    );
}

#[derive(Clone, Debug)]
enum Op {
    Fetch {
        member: usize,
        epoch: i32,
        partitions: Vec<i32>,
        forgotten: Vec<i32>,
        acks: bool,
        connection: u64,
    },
    Acknowledge {
        member: usize,
        epoch: i32,
    },
    Release {
        member: usize,
    },
    Disconnect {
        connection: u64,
    },
}

const MEMBERS: [&str; 4] = ["m0", "m1", "", "0123456789-0123456789-0123456789-012"];

fn arbitrary_epoch() -> impl Strategy<Value = i32> {
    prop_oneof![4 => -2i32..5, 1 => Just(i32::MAX), 1 => Just(i32::MIN)]
}

fn arbitrary_op() -> impl Strategy<Value = Op> {
    let member = 0..MEMBERS.len();
    let partitions = prop::collection::vec(0i32..4, 0..3);
    prop_oneof![
        4 => (member.clone(), arbitrary_epoch(), partitions.clone(), partitions, any::<bool>(), 0u64..3)
            .prop_map(|(member, epoch, partitions, forgotten, acks, connection)| Op::Fetch {
                member, epoch, partitions, forgotten, acks, connection
            }),
        2 => (member.clone(), arbitrary_epoch())
            .prop_map(|(member, epoch)| Op::Acknowledge { member, epoch }),
        1 => member.prop_map(|member| Op::Release { member }),
        1 => (0u64..3).prop_map(|connection| Op::Disconnect { connection }),
    ]
}

fn tps(partitions: &[i32]) -> Vec<TopicIdPartition> {
    partitions.iter().map(|&p| tp(p)).collect()
}

proptest! {
    /// Spec 2.4 against a reference model of the epoch rules (no disconnects): every outcome and every
    /// session epoch agree with the model, and every error is one of Kafka's session codes.
    #[test]
    fn epochs_match_the_reference_model(ops in prop::collection::vec(arbitrary_op(), 1..60)) {
        let limit = 2;
        let mut cache = cache(limit);
        let mut model: BTreeMap<usize, i32> = BTreeMap::new();
        for op in ops {
            match op {
                Op::Fetch { member, epoch, partitions, forgotten, acks, connection } => {
                    let (partitions, forgotten) = (tps(&partitions), tps(&forgotten));
                    let request = ShareFetchSessionRequest {
                        forgotten: &forgotten,
                        has_acknowledgements: acks,
                        ..fetch(MEMBERS[member], epoch, &partitions, connection)
                    };
                    let outcome = cache.handle_share_fetch(0, &request).map(|_| ());
                    let expected = if MEMBERS[member].is_empty() || (epoch == 0 && acks) {
                        Err(ResponseError::InvalidRequest)
                    } else if epoch == 0 {
                        let replacing = model.remove(&member).is_some();
                        if !replacing && model.len() >= limit {
                            Err(ResponseError::ShareSessionLimitReached)
                        } else {
                            model.insert(member, 1);
                            Ok(())
                        }
                    } else {
                        match model.get_mut(&member) {
                            None => Err(ResponseError::ShareSessionNotFound),
                            Some(_) if epoch == -1 => Ok(()),
                            Some(current) if *current != epoch => {
                                Err(ResponseError::InvalidShareSessionEpoch)
                            }
                            Some(current) => {
                                *current = next_epoch(*current);
                                Ok(())
                            }
                        }
                    };
                    prop_assert_eq!(outcome, expected);
                }
                Op::Acknowledge { member, epoch } => {
                    let outcome = cache
                        .handle_share_acknowledge(0, GROUP, MEMBERS[member], epoch)
                        .map(|_| ());
                    let expected = if MEMBERS[member].is_empty() {
                        Err(ResponseError::InvalidRequest)
                    } else if epoch == 0 {
                        Err(ResponseError::InvalidShareSessionEpoch)
                    } else {
                        match model.get_mut(&member) {
                            None => Err(ResponseError::ShareSessionNotFound),
                            Some(_) if epoch == -1 => Ok(()),
                            Some(current) if *current != epoch => {
                                Err(ResponseError::InvalidShareSessionEpoch)
                            }
                            Some(current) => {
                                *current = next_epoch(*current);
                                Ok(())
                            }
                        }
                    };
                    prop_assert_eq!(outcome, expected);
                }
                Op::Release { member } => {
                    let outcome = cache.release_session(GROUP, MEMBERS[member]).map(|_| ());
                    let expected = if MEMBERS[member].is_empty() {
                        Err(ResponseError::InvalidRequest)
                    } else if model.remove(&member).is_some() {
                        Ok(())
                    } else {
                        Err(ResponseError::ShareSessionNotFound)
                    };
                    prop_assert_eq!(outcome, expected);
                }
                Op::Disconnect { .. } => {}
            }
            for (member, epoch) in &model {
                prop_assert_eq!(epoch_of(&cache, MEMBERS[*member]), Some(*epoch));
            }
            prop_assert_eq!(cache.len(), model.len());
        }
    }

    /// Spec 2.4 and 2.5 with disconnects, for every release: nothing panics, errors are Kafka's codes,
    /// the limit holds, every epoch is positive, a released session is gone, and group-empty is only
    /// reported for a group with no session left.
    #[test]
    fn random_sequences_never_panic(
        ops in prop::collection::vec(arbitrary_op(), 1..60),
        release in prop::sample::select(Release::ALL.to_vec()),
    ) {
        let mut cache = cache_for(release, 2);
        let mut now_ms = 0;
        for op in ops {
            now_ms += 50_000;
            let error = match op {
                Op::Fetch { member, epoch, partitions, forgotten, acks, connection } => {
                    let (partitions, forgotten) = (tps(&partitions), tps(&forgotten));
                    let request = ShareFetchSessionRequest {
                        forgotten: &forgotten,
                        has_acknowledgements: acks,
                        ..fetch(MEMBERS[member], epoch, &partitions, connection)
                    };
                    cache.handle_share_fetch(now_ms, &request).err()
                }
                Op::Acknowledge { member, epoch } => {
                    cache.handle_share_acknowledge(now_ms, GROUP, MEMBERS[member], epoch).err()
                }
                Op::Release { member } => match cache.release_session(GROUP, MEMBERS[member]) {
                    Ok(released) => {
                        prop_assert!(cache.session(&released.key).is_none());
                        None
                    }
                    Err(error) => Some(error),
                },
                Op::Disconnect { connection } => {
                    let outcome = cache.handle_disconnect(ConnectionId(connection));
                    if let Some(released) = &outcome.released {
                        prop_assert!(cache.session(&released.key).is_none());
                    }
                    if let Some(group) = &outcome.group_empty {
                        prop_assert_eq!(cache.group_session_count(group), 0);
                    }
                    None
                }
            };
            if let Some(error) = error {
                prop_assert!(matches!(error, ResponseError::InvalidRequest
                    | ResponseError::ShareSessionNotFound
                    | ResponseError::InvalidShareSessionEpoch
                    | ResponseError::ShareSessionLimitReached));
            }
            prop_assert!(cache.len() <= 2);
            prop_assert!(cache.sessions().all(|session| session.epoch() >= 1));
        }
    }
}

/// Applies one random op and names what happened, for the reachability test below.
fn drive(cache: &mut ShareSessionCache, now_ms: u64, op: Op) -> &'static str {
    fn error_label(error: ResponseError) -> &'static str {
        match error {
            ResponseError::InvalidRequest => "invalid request",
            ResponseError::ShareSessionNotFound => "session not found",
            ResponseError::InvalidShareSessionEpoch => "invalid session epoch",
            ResponseError::ShareSessionLimitReached => "session limit reached",
            _ => "other error",
        }
    }
    match op {
        Op::Fetch {
            member,
            epoch,
            partitions,
            forgotten,
            acks,
            connection,
        } => {
            let (partitions, forgotten) = (tps(&partitions), tps(&forgotten));
            let request = ShareFetchSessionRequest {
                forgotten: &forgotten,
                has_acknowledgements: acks,
                ..fetch(MEMBERS[member], epoch, &partitions, connection)
            };
            match cache.handle_share_fetch(now_ms, &request) {
                Ok(ShareFetchContext::Initial {
                    evicted: Some(_), ..
                }) => "fetch opens, evicting",
                Ok(ShareFetchContext::Initial { replaced: true, .. }) => "fetch replaces",
                Ok(ShareFetchContext::Initial { .. }) => "fetch opens",
                Ok(ShareFetchContext::Subsequent { .. }) => "fetch subsequent",
                Ok(ShareFetchContext::Final) => "fetch final",
                Err(error) => error_label(error),
            }
        }
        Op::Acknowledge { member, epoch } => {
            match cache.handle_share_acknowledge(now_ms, GROUP, MEMBERS[member], epoch) {
                Ok(ShareAcknowledgeContext::Subsequent) => "acknowledge subsequent",
                Ok(ShareAcknowledgeContext::Final) => "acknowledge final",
                Err(error) => error_label(error),
            }
        }
        Op::Release { member } => match cache.release_session(GROUP, MEMBERS[member]) {
            Ok(_) => "release",
            Err(error) => error_label(error),
        },
        Op::Disconnect { connection } => {
            let outcome = cache.handle_disconnect(ConnectionId(connection));
            match (outcome.released.is_some(), outcome.group_empty.is_some()) {
                (true, true) => "disconnect releases, group empty",
                (true, false) => "disconnect releases",
                (false, true) => "disconnect reports group empty",
                (false, false) => "disconnect does nothing",
            }
        }
    }
}

/// Reachability: the random sequences of the proptests above reach every outcome, on 4.2 and on 4.0.
#[test]
fn random_sequences_reach_every_outcome() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let ops = prop::collection::vec(arbitrary_op(), 1..60);
    for (release, expected) in [
        (
            Release::Kafka4_2,
            &[
                "fetch opens",
                "fetch replaces",
                "fetch subsequent",
                "fetch final",
                "acknowledge subsequent",
                "acknowledge final",
                "release",
                "invalid request",
                "session not found",
                "invalid session epoch",
                "session limit reached",
                "disconnect releases",
                "disconnect releases, group empty",
                "disconnect reports group empty",
                "disconnect does nothing",
            ][..],
        ),
        (
            Release::Kafka4_0,
            &["fetch opens, evicting", "session limit reached"][..],
        ),
    ] {
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..300 {
            // One session on 4.0, so that full caches (and evictions) are frequent.
            let mut cache = cache_for(release, if release == Release::Kafka4_0 { 1 } else { 2 });
            let mut now_ms = 0;
            for op in ops.new_tree(&mut runner).unwrap().current() {
                now_ms += 40_000;
                seen.insert(drive(&mut cache, now_ms, op));
            }
        }
        let missing: Vec<_> = expected
            .iter()
            .filter(|label| !seen.contains(*label))
            .collect();
        assert!(
            missing.is_empty(),
            "{release}: never reached {missing:?}, saw {seen:?}"
        );
        assert!(!seen.contains("other error"));
    }
}
