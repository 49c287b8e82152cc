#![cfg(madsim)]
//! The share consumer against the group and the brokers end to end: rejoining after being fenced, the
//! share-session limit, group config overrides reaching the share-partition leaders, and
//! `share.auto.offset.reset=by_duration` through the log's time index.

mod share_support;

use std::collections::BTreeSet;
use std::time::Duration;

use madsim::time::sleep;
use share_support::*;
use sharesim_sim::client::application::{AcknowledgePolicy, ProcessingTime};
use sharesim_sim::client::share_consumer::{AcknowledgementMode, AcquireMode};
use sharesim_sim::coordinator::group::{GroupCoordinatorConfig, ShareGroupConfig};
use sharesim_sim::harness::transitions_of;
use sharesim_sim::net::{ApiKeySelector, FaultDirection, FaultRule};
use sharesim_sim::share::broker::SharedGroupConfigs;
use sharesim_sim::share::partition::TransitionCause;
use sharesim_sim::share::RecordState;

/// ShareGroupHeartbeat's API key.
const SHARE_GROUP_HEARTBEAT_KEY: i16 = 76;
/// SHARE_SESSION_LIMIT_REACHED.
const SHARE_SESSION_LIMIT_REACHED: i16 = 133;

/// Spec 4.1, 4.3, 2.5: a member whose heartbeats are lost for longer than the 45 s session timeout is
/// fenced (removed by the coordinator); when they get through again it is told so (UNKNOWN_MEMBER_ID),
/// rejoins at epoch 0, gets a new member epoch and its assignment, and receives new work. The fencing does not touch the share-partition
/// leader: the acknowledgement of the record it still held under its (60 s) lock, sent while fenced,
/// succeeds (the leader checks only the acquiring member id), so fencing makes no old acknowledgement fail.
#[madsim::test]
async fn a_fenced_member_rejoins_with_a_new_epoch_and_gets_work_again() {
    let cluster = start_cluster(1, |config| config.record_lock_duration_ms = 60_000).await;
    let stats = spawn_consumer(&cluster, "member", 1, |setup| {
        setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
        setup.config.max_poll_records = 1;
        setup.config.acquire_mode = AcquireMode::RecordLimit;
        setup.application.processing_time = ProcessingTime::Fixed { ms: 55_000 };
    });
    produce(&cluster, 0, 1, 1, Duration::ZERO, plain_value).await;
    wait_until("the member holds a record", Duration::from_secs(60), || {
        !stats.deliveries().is_empty()
    })
    .await;
    let delivered_ms = stats.deliveries()[0].at_ms;
    let first_epoch = *stats.member_epochs().last().unwrap();
    assert!(first_epoch > 0);
    cluster.faults().set_rule(
        ApiKeySelector::Key(SHARE_GROUP_HEARTBEAT_KEY),
        FaultRule::drop_all(FaultDirection::Both),
    );
    wait_until(
        "the held record's ACCEPT has an outcome",
        Duration::from_secs(90),
        || {
            stats
                .commit_callbacks()
                .iter()
                .any(|c| c.offsets.contains(&0))
        },
    )
    .await;
    let held_ack = stats
        .commit_callbacks()
        .into_iter()
        .find(|c| c.offsets.contains(&0))
        .unwrap();
    // The last heartbeat that got through was before `delivered_ms` + 200 ms: the 45 s session timeout
    // fenced the member before the 55 s task ended.
    assert!(held_ack.at_ms >= delivered_ms + 55_000, "sent while fenced");
    assert_eq!(
        held_ack.error_code, 0,
        "the leader does not check membership"
    );
    assert!(
        !stats.member_epochs().contains(&0),
        "the member does not know yet"
    );
    cluster
        .faults()
        .clear_rule(ApiKeySelector::Key(SHARE_GROUP_HEARTBEAT_KEY));
    wait_until("the member rejoined", Duration::from_secs(120), || {
        let epochs = stats.member_epochs();
        let rejoined_at = epochs.iter().rposition(|e| *e == 0);
        rejoined_at.is_some_and(|at| epochs[at..].iter().any(|e| *e > first_epoch))
    })
    .await;
    let rejoined_ms = virtual_now_ms();
    produce(&cluster, 0, 2, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the new records are delivered",
        Duration::from_secs(200),
        || {
            let offsets: BTreeSet<i64> = stats
                .deliveries()
                .iter()
                .filter(|d| d.at_ms >= rejoined_ms)
                .map(|d| d.offset)
                .collect();
            offsets.contains(&1) && offsets.contains(&2)
        },
    )
    .await;
}

/// Spec 2.4: with `group.share.max.share.sessions` = 1, a second member's session on the same broker is
/// refused with SHARE_SESSION_LIMIT_REACHED; it keeps retrying at epoch 0 and gets records once the first
/// member closed its session.
#[madsim::test]
async fn a_session_beyond_the_limit_is_refused_until_one_closes() {
    let cluster = start_cluster_with(1, |config| config.services.max_share_sessions = 1).await;
    let first_close_ms = virtual_now_ms() + 30_000;
    let first = spawn_consumer(&cluster, "first", 1, |setup| {
        setup.close_at_ms = Some(first_close_ms);
    });
    produce(&cluster, 0, 5, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the first member got the records",
        Duration::from_secs(20),
        || first.deliveries().len() == 5,
    )
    .await;
    let second = spawn_consumer(&cluster, "second", 2, |_| {});
    wait_until(
        "the second member is refused",
        Duration::from_secs(20),
        || {
            second
                .session_resets()
                .iter()
                .any(|(_, code)| *code == SHARE_SESSION_LIMIT_REACHED)
        },
    )
    .await;
    wait_until("the first member closed", Duration::from_secs(60), || {
        first.is_closed()
    })
    .await;
    assert!(second.deliveries().is_empty(), "no session, no records");
    let closed_ms = virtual_now_ms();
    produce(&cluster, 0, 5, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the second member gets the new records",
        Duration::from_secs(60),
        || second.deliveries().len() == 5,
    )
    .await;
    assert!(second
        .deliveries()
        .iter()
        .all(|d| d.at_ms >= closed_ms && d.offset >= 5));
}

/// Spec 1.4: `share.record.lock.duration.ms` = 15000 set on the group (broker default 30000) is the lock
/// duration the share-partition leader uses: a record held too long expires 15 s after its acquisition.
#[madsim::test]
async fn a_group_lock_duration_override_reaches_the_share_partition_leader() {
    let group_configs = SharedGroupConfigs::new();
    let overrides = ShareGroupConfig::from_entries(
        [("share.record.lock.duration.ms", "15000")],
        &GroupCoordinatorConfig::default(),
    )
    .unwrap();
    group_configs.set(GROUP, overrides);
    let cluster = start_cluster_with(1, |config| {
        assert_eq!(
            config.services.share_partition.record_lock_duration_ms,
            30_000
        );
        config.services.group_configs = group_configs.clone();
    })
    .await;
    let stats = spawn_consumer(&cluster, "slow", 1, |setup| {
        setup.config.max_poll_records = 1;
        setup.config.acquire_mode = AcquireMode::RecordLimit;
        setup.application.processing_time = ProcessingTime::Fixed { ms: 60_000 };
    });
    produce(&cluster, 0, 1, 1, Duration::ZERO, plain_value).await;
    let expiry = || {
        transitions_of(&trace_records(&cluster), 0, 0)
            .into_iter()
            .find(|t| t.cause == TransitionCause::LockExpiry)
    };
    wait_until("the lock expired", Duration::from_secs(60), || {
        expiry().is_some()
    })
    .await;
    // The record was acquired just before the poll that delivered it.
    let delivered_ms = stats.deliveries()[0].at_ms;
    let expired = expiry().unwrap();
    let held_ms = expired.at_ms - delivered_ms;
    assert!(
        (14_000..=15_000).contains(&held_ms),
        "the group's 15 s lock, not the broker's 30 s: held {held_ms} ms"
    );
}

/// Spec 5.2: `share.auto.offset.reset=by_duration:PT60S` starts a new share partition at the first record
/// no older than 60 s, found through the log's time index: records produced earlier are never delivered.
#[madsim::test]
async fn by_duration_offset_reset_starts_at_the_first_recent_record() {
    let group_configs = SharedGroupConfigs::new();
    let overrides = ShareGroupConfig::from_entries(
        [("share.auto.offset.reset", "by_duration:PT60S")],
        &GroupCoordinatorConfig::default(),
    )
    .unwrap();
    group_configs.set(GROUP, overrides);
    let cluster = start_cluster_with(1, |config| {
        config.services.group_configs = group_configs.clone();
    })
    .await;
    let old = produce_timestamped(&cluster, 0, 5, Duration::from_secs(10)).await;
    sleep(Duration::from_secs(100)).await;
    let recent = produce_timestamped(&cluster, 0, 5, Duration::from_secs(1)).await;
    assert!(
        recent[0] - old[4] > 60_000,
        "the old records are over a minute old"
    );
    let stats = spawn_consumer(&cluster, "consumer", 1, |_| {});
    wait_until(
        "the recent records are delivered",
        Duration::from_secs(30),
        || stats.deliveries().len() >= 5,
    )
    .await;
    sleep(Duration::from_secs(5)).await;
    let offsets: Vec<i64> = stats.deliveries().iter().map(|d| d.offset).collect();
    assert_eq!(
        offsets,
        vec![5, 6, 7, 8, 9],
        "only records of the last minute"
    );
}

/// A poison record's delivery counts as the consumer saw them.
fn poison_delivery_counts(stats: &sharesim_sim::node::ConsumerStats, offset: i64) -> Vec<i16> {
    stats
        .deliveries()
        .iter()
        .filter(|d| d.offset == offset)
        .map(|d| d.delivery_count)
        .collect()
}

/// An explicit-mode consumer that RELEASEs every record it fails on (values starting with `FAIL`).
fn releasing_consumer(setup: &mut sharesim_sim::node::ShareConsumerSetup) {
    setup.config.acknowledgement_mode = AcknowledgementMode::Explicit;
    setup.application.policy = AcknowledgePolicy::ReleaseOnFailure;
}

/// Spec 1.3: `share.delivery.count.limit` = 3 set on the group (broker default 5) archives a record the
/// application keeps releasing after its third delivery.
#[madsim::test]
async fn a_group_delivery_count_limit_override_archives_at_its_limit() {
    let group_configs = SharedGroupConfigs::new();
    let overrides = ShareGroupConfig::from_entries(
        [("share.delivery.count.limit", "3")],
        &GroupCoordinatorConfig::default(),
    )
    .unwrap();
    group_configs.set(GROUP, overrides);
    let cluster = start_cluster_with(1, |config| {
        config.services.group_configs = group_configs.clone();
    })
    .await;
    let stats = spawn_consumer(&cluster, "consumer", 1, releasing_consumer);
    produce(&cluster, 0, 1, 1, Duration::ZERO, |_| {
        "FAIL-poison".to_string()
    })
    .await;
    wait_until(
        "the poison record is archived",
        Duration::from_secs(60),
        || {
            transitions_of(&trace_records(&cluster), 0, 0)
                .iter()
                .any(|t| t.to == RecordState::Archived)
        },
    )
    .await;
    assert_eq!(poison_delivery_counts(&stats, 0), vec![1, 2, 3]);
    let last = transitions_of(&trace_records(&cluster), 0, 0)
        .pop()
        .unwrap();
    assert!(last.limit_reached && last.delivery_count == 3, "{last:?}");
}

/// Spec 1.3, 1.4 (Kafka reads group configs at each use): a group config set while the group's share
/// partition is already live on its leader applies to it from then on.
#[madsim::test]
async fn a_group_config_change_reaches_a_live_share_partition() {
    let group_configs = SharedGroupConfigs::new();
    let cluster = start_cluster_with(1, |config| {
        config.services.group_configs = group_configs.clone();
    })
    .await;
    let stats = spawn_consumer(&cluster, "consumer", 1, releasing_consumer);
    produce(&cluster, 0, 1, 1, Duration::ZERO, plain_value).await;
    wait_until(
        "the share partition is live",
        Duration::from_secs(60),
        || accepted_count(&cluster, 0) == 1,
    )
    .await;
    let overrides = ShareGroupConfig::from_entries(
        [("share.delivery.count.limit", "2")],
        &GroupCoordinatorConfig::default(),
    )
    .unwrap();
    group_configs.set(GROUP, overrides);
    produce(&cluster, 0, 1, 1, Duration::ZERO, |_| {
        "FAIL-poison".to_string()
    })
    .await;
    wait_until(
        "the poison record is archived",
        Duration::from_secs(60),
        || {
            transitions_of(&trace_records(&cluster), 0, 1)
                .iter()
                .any(|t| t.to == RecordState::Archived)
        },
    )
    .await;
    assert_eq!(
        poison_delivery_counts(&stats, 1),
        vec![1, 2],
        "the new limit, not the broker's 5"
    );
}
