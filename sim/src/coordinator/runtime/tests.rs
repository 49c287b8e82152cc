//! Unit tests of the coordinator services against a fake broker.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::messages::{
    alter_share_group_offsets_request, initialize_share_group_state_request,
    read_share_group_state_request, write_share_group_state_request, AlterShareGroupOffsetsRequest,
    GroupId, InitializeShareGroupStateRequest, ReadShareGroupStateRequest,
    ShareGroupHeartbeatRequest, TopicName, WriteShareGroupStateRequest,
};
use kafka_protocol::protocol::StrBytes;

use super::*;
use crate::coordinator::group::TopicMetadata;
use crate::coordinator::placement::{GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::ResponseError;

const TOPIC_ID: TopicId = TopicId(0xabc);

#[derive(Default)]
struct FakeLog {
    leader_epoch: i32,
    records: Vec<(i64, LogRecord)>,
    next_offset: i64,
    high_watermark: i64,
    start_offset: i64,
}

/// A broker with in-memory internal partitions. `auto_commit` moves the high watermark to the log end
/// on every append (a one-replica ISR).
#[derive(Default)]
struct FakeHost {
    logs: BTreeMap<(&'static str, i32), FakeLog>,
    unknown: BTreeSet<TopicIdPartition>,
    fail_appends: Option<ResponseError>,
    /// Data-partition end offsets (high watermarks) their leaders answer ListOffsets with.
    end_offsets: BTreeMap<TopicIdPartition, i64>,
}

impl FakeHost {
    fn lead(&mut self, topic: &'static str, partition: i32, leader_epoch: i32) {
        self.logs
            .entry((topic, partition))
            .or_default()
            .leader_epoch = leader_epoch;
    }

    fn log(&self, topic: &'static str, partition: i32) -> &FakeLog {
        &self.logs[&(topic, partition)]
    }

    /// Commits everything appended so far; returns the new high watermark.
    fn commit(&mut self, topic: &'static str, partition: i32) -> i64 {
        let log = self.logs.get_mut(&(topic, partition)).unwrap();
        log.high_watermark = log.next_offset;
        log.high_watermark
    }
}

impl CoordinatorHost for FakeHost {
    fn append(
        &mut self,
        topic: &'static str,
        partition: i32,
        leader_epoch: i32,
        records: Vec<LogRecord>,
    ) -> Result<i64, ResponseError> {
        if let Some(error) = self.fail_appends {
            return Err(error);
        }
        let log = self
            .logs
            .get_mut(&(topic, partition))
            .ok_or(ResponseError::NotLeaderOrFollower)?;
        if log.leader_epoch != leader_epoch {
            return Err(ResponseError::NotLeaderOrFollower);
        }
        let first = log.next_offset;
        for record in records {
            log.records.push((log.next_offset, record));
            log.next_offset += 1;
        }
        Ok(first)
    }

    fn read_records(
        &self,
        topic: &'static str,
        partition: i32,
    ) -> Result<Vec<(i64, LogRecord)>, ResponseError> {
        Ok(self
            .logs
            .get(&(topic, partition))
            .map(|log| log.records.clone())
            .unwrap_or_default())
    }

    fn high_watermark(&self, topic: &'static str, partition: i32) -> i64 {
        self.logs
            .get(&(topic, partition))
            .map_or(0, |log| log.high_watermark)
    }

    fn delete_records_before(&mut self, topic: &'static str, partition: i32, offset: i64) {
        if let Some(log) = self.logs.get_mut(&(topic, partition)) {
            log.records.retain(|(o, _)| *o >= offset);
            log.start_offset = log.start_offset.max(offset);
        }
    }

    fn partition_exists(&self, tp: TopicIdPartition) -> bool {
        !self.unknown.contains(&tp)
    }
}

fn share_config() -> ShareCoordinatorServiceConfig {
    ShareCoordinatorServiceConfig {
        state_topic_num_partitions: 1,
        ..ShareCoordinatorServiceConfig::default()
    }
}

fn uuid() -> uuid::Uuid {
    uuid::Uuid::from_u128(TOPIC_ID.0)
}

fn initialize(state_epoch: i32, start_offset: i64) -> ShareStateRequest {
    ShareStateRequest::Initialize(
        InitializeShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str("g"))
            .with_topics(vec![
                initialize_share_group_state_request::InitializeStateData::default()
                    .with_topic_id(uuid())
                    .with_partitions(vec![
                        initialize_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_state_epoch(state_epoch)
                            .with_start_offset(start_offset),
                    ]),
            ]),
    )
}

fn write(state_epoch: i32, leader_epoch: i32, first: i64, last: i64) -> ShareStateRequest {
    ShareStateRequest::Write(
        WriteShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str("g"))
            .with_topics(vec![
                write_share_group_state_request::WriteStateData::default()
                    .with_topic_id(uuid())
                    .with_partitions(vec![
                        write_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_state_epoch(state_epoch)
                            .with_leader_epoch(leader_epoch)
                            .with_start_offset(0)
                            .with_state_batches(vec![
                                write_share_group_state_request::StateBatch::default()
                                    .with_first_offset(first)
                                    .with_last_offset(last)
                                    .with_delivery_state(2)
                                    .with_delivery_count(1),
                            ]),
                    ]),
            ]),
    )
}

fn read(leader_epoch: i32) -> ShareStateRequest {
    ShareStateRequest::Read(
        ReadShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str("g"))
            .with_topics(vec![
                read_share_group_state_request::ReadStateData::default()
                    .with_topic_id(uuid())
                    .with_partitions(vec![
                        read_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_leader_epoch(leader_epoch),
                    ]),
            ]),
    )
}

/// The single partition's error code of a share-state response.
fn error_code(response: &ShareStateResponse) -> i16 {
    match response {
        ShareStateResponse::Read(r) => r.results[0].partitions[0].error_code,
        ShareStateResponse::Write(r) => r.results[0].partitions[0].error_code,
        ShareStateResponse::Initialize(r) => r.results[0].partitions[0].error_code,
        ShareStateResponse::Delete(r) => r.results[0].partitions[0].error_code,
        ShareStateResponse::ReadSummary(r) => r.results[0].partitions[0].error_code,
    }
}

/// Sends one request, commits the partition, and returns the answer.
fn call(
    service: &mut ShareCoordinatorService,
    host: &mut FakeHost,
    now_ms: u64,
    token: u64,
    request: ShareStateRequest,
) -> ShareStateResponse {
    service.handle_request(now_ms, host, token, &request);
    if let Some((t, response)) = service.poll_response() {
        assert_eq!(t, token);
        return response;
    }
    let hw = host.commit(SHARE_GROUP_STATE_TOPIC_NAME, 0);
    service.handle_high_watermark(now_ms, 0, hw);
    let (t, response) = service.poll_response().expect("answered once committed");
    assert_eq!(t, token);
    response
}

/// Spec 3.1: answers wait for the commit of their records; a broker that does not lead the partition
/// answers NOT_COORDINATOR.
#[test]
fn share_answers_wait_for_commit() {
    let mut host = FakeHost::default();
    let mut service = ShareCoordinatorService::new(share_config());
    service.handle_request(0, &mut host, 1, &initialize(0, 5));
    let (_, response) = service.poll_response().unwrap();
    assert_eq!(error_code(&response), ResponseError::NotCoordinator.code());

    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 3);
    service.handle_become_leader(0, &mut host, 0, 3);
    service.handle_request(1, &mut host, 2, &initialize(0, 5));
    assert!(service.poll_response().is_none(), "not committed yet");
    assert_eq!(service.open_requests(), 1);
    service.handle_high_watermark(2, 0, 1);
    let (token, response) = service.poll_response().unwrap();
    assert_eq!((token, error_code(&response)), (2, 0));
}

/// Spec 3.3 and 3.4: a new coordinator replays the partition and serves the same state; the old
/// share-partition leader's writes are fenced once the new leader read with its epoch.
#[test]
fn share_failover_replays_every_acknowledged_state() {
    let mut host = FakeHost::default();
    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 1);
    let mut old = ShareCoordinatorService::new(share_config());
    old.handle_become_leader(0, &mut host, 0, 1);
    assert_eq!(
        error_code(&call(&mut old, &mut host, 0, 1, initialize(0, 0))),
        0
    );
    assert_eq!(error_code(&call(&mut old, &mut host, 1, 2, read(1))), 0);
    assert_eq!(
        error_code(&call(&mut old, &mut host, 2, 3, write(0, 1, 0, 4))),
        0
    );
    assert_eq!(
        error_code(&call(&mut old, &mut host, 3, 4, write(0, 1, 5, 9))),
        0
    );
    let before = old
        .shard(0)
        .unwrap()
        .images()
        .map(|(_, image)| image.to_persisted())
        .next()
        .unwrap();

    // The partition moves: the old coordinator resigns, the new one replays the same log.
    old.handle_resign(4, 0);
    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 2);
    let mut new = ShareCoordinatorService::new(share_config());
    new.handle_become_leader(5, &mut host, 0, 2);
    assert_eq!(new.stats().loads, 1);
    let response = call(&mut new, &mut host, 6, 5, read(2));
    let ShareStateResponse::Read(read_response) = &response else {
        panic!("a read answer");
    };
    let partition = &read_response.results[0].partitions[0];
    assert_eq!(partition.error_code, 0);
    assert_eq!(partition.start_offset, before.start_offset);
    assert_eq!(
        partition
            .state_batches
            .iter()
            .map(|b| (b.first_offset, b.last_offset, b.delivery_state))
            .collect::<Vec<_>>(),
        vec![(0, 9, 2)]
    );
    // The zombie leader (epoch 1) is fenced by the read at epoch 2.
    let zombie = call(&mut new, &mut host, 7, 6, write(0, 1, 10, 10));
    assert_eq!(error_code(&zombie), ResponseError::FencedLeaderEpoch.code());
    // The old coordinator no longer serves.
    let stale = call(&mut old, &mut host, 7, 7, read(1));
    assert_eq!(error_code(&stale), ResponseError::NotCoordinator.code());
}

/// Spec 3.4 and 5.3: an Initialize with a higher state epoch (alter offsets) fences writes of the old
/// state epoch.
#[test]
fn share_state_epoch_bump_fences_old_writes() {
    let mut host = FakeHost::default();
    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 0);
    let mut service = ShareCoordinatorService::new(share_config());
    service.handle_become_leader(0, &mut host, 0, 0);
    assert_eq!(
        error_code(&call(&mut service, &mut host, 0, 1, initialize(1, 0))),
        0
    );
    assert_eq!(
        error_code(&call(&mut service, &mut host, 0, 2, write(1, 0, 0, 0))),
        0
    );
    assert_eq!(
        error_code(&call(&mut service, &mut host, 0, 3, initialize(2, 7))),
        0
    );
    let fenced = call(&mut service, &mut host, 0, 4, write(1, 0, 1, 1));
    assert_eq!(error_code(&fenced), ResponseError::FencedStateEpoch.code());
    assert_eq!(
        error_code(&call(&mut service, &mut host, 0, 5, write(2, 0, 7, 7))),
        0
    );
}

/// Spec 3.1 and 3.4: uncommitted answers fail after the write timeout, appends that fail are
/// normalized, leadership loss fails pending answers, and unknown partitions are
/// UNKNOWN_TOPIC_OR_PARTITION.
#[test]
fn share_errors_are_kafkas() {
    let mut host = FakeHost::default();
    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 0);
    let mut service = ShareCoordinatorService::new(share_config());
    service.handle_become_leader(0, &mut host, 0, 0);
    service.handle_request(0, &mut host, 1, &initialize(0, 0));
    assert_eq!(service.poll_timeout(), Some(5000));
    service.handle_timeout(5000, &mut host);
    let (_, response) = service.poll_response().unwrap();
    assert_eq!(
        error_code(&response),
        ResponseError::CoordinatorNotAvailable.code()
    );
    assert_eq!(service.stats().write_timeouts, 1);

    host.fail_appends = Some(ResponseError::NotLeaderOrFollower);
    service.handle_request(5001, &mut host, 2, &initialize(1, 0));
    let (_, response) = service.poll_response().unwrap();
    assert_eq!(error_code(&response), ResponseError::NotCoordinator.code());
    host.fail_appends = None;

    service.handle_request(5002, &mut host, 3, &initialize(1, 0));
    assert!(service.poll_response().is_none());
    service.handle_resign(5003, 0);
    let (_, response) = service.poll_response().unwrap();
    assert_eq!(error_code(&response), ResponseError::NotCoordinator.code());

    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 1);
    service.handle_become_leader(5004, &mut host, 0, 1);
    host.unknown.insert(TopicIdPartition {
        topic_id: TOPIC_ID,
        partition: 0,
    });
    let response = call(&mut service, &mut host, 5005, 4, initialize(2, 0));
    assert_eq!(
        error_code(&response),
        ResponseError::UnknownTopicOrPartition.code()
    );
}

/// Spec 3.3: the prune job deletes the records below the oldest live snapshot.
#[test]
fn share_prune_job_deletes_redundant_records() {
    let mut config = share_config();
    config.shard.snapshot_update_records_per_snapshot = 1;
    config.shard.state_topic_prune_interval_ms = 1000;
    let mut host = FakeHost::default();
    host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 0);
    let mut service = ShareCoordinatorService::new(config);
    service.handle_become_leader(0, &mut host, 0, 0);
    assert_eq!(
        error_code(&call(&mut service, &mut host, 0, 1, initialize(0, 0))),
        0
    );
    for (token, offset) in (2..6).zip(0..) {
        let response = call(
            &mut service,
            &mut host,
            10,
            token,
            write(0, 0, offset, offset),
        );
        assert_eq!(error_code(&response), 0);
    }
    service.handle_timeout(1000, &mut host);
    let log = host.log(SHARE_GROUP_STATE_TOPIC_NAME, 0);
    assert!(log.start_offset > 0, "pruned below the last snapshot");
    assert!(log.records.iter().all(|(o, _)| *o >= log.start_offset));
}

// ---- group coordinator service -------------------------------------------------------------------

fn group_config() -> GroupCoordinatorServiceConfig {
    GroupCoordinatorServiceConfig {
        offsets_topic_num_partitions: 1,
        ..GroupCoordinatorServiceConfig::default()
    }
}

fn topics() -> BTreeMap<String, TopicMetadata> {
    BTreeMap::from([(
        "t".to_string(),
        TopicMetadata {
            topic_id: TOPIC_ID,
            partition_count: 1,
        },
    )])
}

fn heartbeat(member: &str, epoch: i32, subscribe: bool) -> GroupRequest {
    GroupRequest::Heartbeat(
        ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_member_id(StrBytes::from_string(member.to_string()))
            .with_member_epoch(epoch)
            .with_subscribed_topic_names(
                subscribe.then(|| vec![TopicName(StrBytes::from_static_str("t"))]),
            ),
    )
}

fn group_call(
    service: &mut GroupCoordinatorService,
    host: &mut FakeHost,
    now_ms: u64,
    token: u64,
    request: GroupRequest,
) -> GroupResponse {
    service.handle_request(now_ms, host, token, &request);
    if service.hosted_partitions().contains_key(&0) {
        let hw = host.commit(GROUP_METADATA_TOPIC_NAME, 0);
        service.handle_high_watermark(now_ms, 0, hw);
    }
    let (t, response) = service.poll_response().expect("answered");
    assert_eq!(t, token);
    response
}

/// Answers every persister call as a share coordinator would: every partition succeeds.
fn answer_persister(
    service: &mut GroupCoordinatorService,
    host: &mut FakeHost,
    now_ms: u64,
) -> usize {
    let mut answered = 0;
    while let Some((call, request)) = service.poll_persister_call() {
        let mut share = ShareCoordinatorService::new(share_config());
        let mut share_host = FakeHost::default();
        share_host.lead(SHARE_GROUP_STATE_TOPIC_NAME, 0, 0);
        share.handle_become_leader(now_ms, &mut share_host, 0, 0);
        share.handle_request(now_ms, &mut share_host, 0, &request);
        let hw = share_host.commit(SHARE_GROUP_STATE_TOPIC_NAME, 0);
        share.handle_high_watermark(now_ms, 0, hw);
        let (_, response) = share.poll_response().unwrap();
        service.handle_persister_reply(now_ms, host, call, Ok(response));
        answered += 1;
    }
    answered
}

fn heartbeat_response(
    response: GroupResponse,
) -> kafka_protocol::messages::ShareGroupHeartbeatResponse {
    match response {
        GroupResponse::Heartbeat(response) => response,
        other => panic!("not a heartbeat answer: {other:?}"),
    }
}

/// Spec 4.1 and 5.1: a join initializes the subscribed partitions through the persister, then the next
/// heartbeat assigns them; a failover replays members and epochs, and the member carries on.
#[test]
fn group_join_initialize_assign_and_failover() {
    let mut host = FakeHost::default();
    let mut service = GroupCoordinatorService::new(group_config());
    service.handle_metadata_update(0, topics());
    let response = heartbeat_response(group_call(
        &mut service,
        &mut host,
        0,
        1,
        heartbeat("m1", 0, true),
    ));
    assert_eq!(response.error_code, ResponseError::NotCoordinator.code());

    host.lead(GROUP_METADATA_TOPIC_NAME, 0, 1);
    service.handle_become_leader(0, &mut host, 0, 1);
    let response = heartbeat_response(group_call(
        &mut service,
        &mut host,
        1,
        2,
        heartbeat("m1", 0, true),
    ));
    assert_eq!(response.error_code, 0);
    assert_eq!(
        answer_persister(&mut service, &mut host, 2),
        1,
        "one InitializeShareGroupState"
    );
    let hw = host.commit(GROUP_METADATA_TOPIC_NAME, 0);
    service.handle_high_watermark(2, 0, hw);
    let response = heartbeat_response(group_call(
        &mut service,
        &mut host,
        3,
        3,
        heartbeat("m1", response.member_epoch, false),
    ));
    assert_eq!(response.error_code, 0);
    let assignment = response
        .assignment
        .expect("the initialized partition is assigned");
    assert_eq!(assignment.topic_partitions[0].partitions, vec![0]);
    let epoch = response.member_epoch;
    assert!(epoch > 1);

    // Failover: the partition's new leader replays the members and their epochs.
    service.handle_resign(4, 0);
    host.lead(GROUP_METADATA_TOPIC_NAME, 0, 2);
    let mut new = GroupCoordinatorService::new(group_config());
    new.handle_metadata_update(5, topics());
    new.handle_become_leader(5, &mut host, 0, 2);
    let group = new.coordinator_for_group("g").unwrap().group("g").unwrap();
    assert_eq!(group.members.len(), 1);
    assert_eq!(group.members.values().next().unwrap().member_epoch, epoch);
    let response = heartbeat_response(group_call(
        &mut new,
        &mut host,
        6,
        4,
        heartbeat("m1", epoch, false),
    ));
    assert_eq!((response.error_code, response.member_epoch), (0, epoch));
    // The old coordinator answers NOT_COORDINATOR.
    let stale = heartbeat_response(group_call(
        &mut service,
        &mut host,
        6,
        5,
        heartbeat("m1", epoch, false),
    ));
    assert_eq!(stale.error_code, ResponseError::NotCoordinator.code());
}

fn alter(offset: i64) -> GroupRequest {
    GroupRequest::AlterOffsets(
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_topics(vec![
                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![
                        alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(0)
                            .with_start_offset(offset),
                    ]),
            ]),
    )
}

/// Spec 5.3: AlterShareGroupOffsets on a live group is NON_EMPTY_GROUP; on an empty group it bumps the
/// group epoch and answers after the persister's InitializeShareGroupState, with its errors.
#[test]
fn group_alter_offsets_waits_for_initialize() {
    let mut host = FakeHost::default();
    host.lead(GROUP_METADATA_TOPIC_NAME, 0, 0);
    let mut service = GroupCoordinatorService::new(group_config());
    service.handle_metadata_update(0, topics());
    service.handle_become_leader(0, &mut host, 0, 0);
    let joined = heartbeat_response(group_call(
        &mut service,
        &mut host,
        0,
        1,
        heartbeat("m1", 0, true),
    ));
    answer_persister(&mut service, &mut host, 0);
    let GroupResponse::AlterOffsets(live) = group_call(&mut service, &mut host, 1, 2, alter(3))
    else {
        panic!("an alter answer");
    };
    assert_eq!(live.error_code, ResponseError::NonEmptyGroup.code());

    let left = heartbeat_response(group_call(
        &mut service,
        &mut host,
        2,
        3,
        heartbeat("m1", -1, false),
    ));
    assert_eq!((left.error_code, left.member_epoch), (0, -1));
    let epoch_before = service
        .coordinator(0)
        .unwrap()
        .group("g")
        .unwrap()
        .group_epoch;
    assert!(joined.member_epoch <= epoch_before);

    service.handle_request(3, &mut host, 4, &alter(3));
    let hw = host.commit(GROUP_METADATA_TOPIC_NAME, 0);
    service.handle_high_watermark(3, 0, hw);
    assert!(service.poll_response().is_none(), "waits for the persister");
    let (call, request) = service
        .poll_persister_call()
        .expect("InitializeShareGroupState");
    let ShareStateRequest::Initialize(initialize) = &request else {
        panic!("an initialize call");
    };
    let partition = &initialize.topics[0].partitions[0];
    assert_eq!(partition.start_offset, 3);
    assert!(
        partition.state_epoch > epoch_before,
        "the state epoch is the bumped group epoch"
    );
    service.handle_persister_reply(
        4,
        &mut host,
        call,
        Err(ResponseError::CoordinatorNotAvailable),
    );
    let (token, response) = service.poll_response().unwrap();
    let GroupResponse::AlterOffsets(response) = response else {
        panic!("an alter answer");
    };
    assert_eq!(token, 4);
    assert_eq!(response.error_code, 0);
    assert_eq!(
        response.responses[0].partitions[0].error_code,
        ResponseError::CoordinatorNotAvailable.code()
    );
}

fn describe_offsets() -> GroupRequest {
    GroupRequest::DescribeOffsets(
        kafka_protocol::messages::DescribeShareGroupOffsetsRequest::default().with_groups(vec![
            kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_topics(None),
        ]),
    )
}

/// Answers the pending ReadShareGroupStateSummary call with start offset 10 and `count` as the
/// delivery-complete count (`None`: a v0 answer without one), and returns the DescribeShareGroupOffsets
/// answer's (start offset, lag).
fn describe_with_summary(
    service: &mut GroupCoordinatorService,
    host: &mut FakeHost,
    token: u64,
    count: Option<i32>,
) -> (i64, i64) {
    service.handle_request(5, host, token, &describe_offsets());
    let (call, request) = service.poll_persister_call().expect("a summary call");
    let ShareStateRequest::ReadSummary(summary) = &request else {
        panic!("a ReadShareGroupStateSummary call");
    };
    let asked = &summary.topics[0];
    let mut partition =
        kafka_protocol::messages::read_share_group_state_summary_response::PartitionResult::default()
            .with_partition(asked.partitions[0].partition)
            .with_state_epoch(1)
            .with_start_offset(10);
    if let Some(count) = count {
        crate::net::share_state_v1::set_summary_delivery_complete_count(&mut partition, count);
    }
    let response = kafka_protocol::messages::ReadShareGroupStateSummaryResponse::default()
        .with_results(vec![
            kafka_protocol::messages::read_share_group_state_summary_response::ReadStateSummaryResult::default()
                .with_topic_id(asked.topic_id)
                .with_partitions(vec![partition]),
        ]);
    service.handle_persister_reply(5, host, call, Ok(ShareStateResponse::ReadSummary(response)));
    // The end offsets come from the partition leaders (ListOffsets); the fake host's map stands for
    // their answers, a missing entry for a stale leader.
    if let Some((call, partitions)) = service.poll_end_offsets_call() {
        assert!(
            count.is_some(),
            "no lookup without a delivery-complete count"
        );
        let replies = partitions
            .iter()
            .map(|tp| {
                let reply = host.end_offsets.get(tp).copied();
                (*tp, reply.ok_or(ResponseError::NotLeaderOrFollower))
            })
            .collect();
        service.handle_end_offsets_reply(5, call, &replies);
    }
    let (answered, response) = service.poll_response().expect("answered");
    assert_eq!(answered, token);
    let GroupResponse::DescribeOffsets(response) = response else {
        panic!("a DescribeShareGroupOffsets answer");
    };
    let described = &response.groups[0].topics[0].partitions[0];
    (
        described.start_offset,
        crate::net::share_state_v1::describe_lag(described),
    )
}

/// Spec 5.3 (KIP-1226): DescribeShareGroupOffsets answers lag = end offset - start offset -
/// delivery-complete count from the summary's count and the partition's high watermark; -1 when the
/// count (a v0 summary) or the end offset is unknown.
#[test]
fn group_describe_offsets_reports_lag_from_the_summary() {
    let mut host = FakeHost::default();
    host.lead(GROUP_METADATA_TOPIC_NAME, 0, 0);
    let mut service = GroupCoordinatorService::new(group_config());
    service.handle_metadata_update(0, topics());
    service.handle_become_leader(0, &mut host, 0, 0);
    heartbeat_response(group_call(
        &mut service,
        &mut host,
        0,
        1,
        heartbeat("m1", 0, true),
    ));
    answer_persister(&mut service, &mut host, 1);
    let hw = host.commit(GROUP_METADATA_TOPIC_NAME, 0);
    service.handle_high_watermark(1, 0, hw);

    assert_eq!(
        describe_with_summary(&mut service, &mut host, 2, Some(3)),
        (10, -1),
        "the leader could not say the end offset"
    );
    let tp = TopicIdPartition {
        topic_id: TOPIC_ID,
        partition: 0,
    };
    host.end_offsets.insert(tp, 20);
    assert_eq!(
        describe_with_summary(&mut service, &mut host, 3, Some(3)),
        (10, 7)
    );
    assert_eq!(
        describe_with_summary(&mut service, &mut host, 4, Some(0)),
        (10, 10)
    );
    assert_eq!(
        describe_with_summary(&mut service, &mut host, 5, None),
        (10, -1),
        "a summary without a count"
    );
}
