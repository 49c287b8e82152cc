#![cfg(madsim)]
//! The share coordinator and the group coordinator's share groups in the simulated cluster, driven with
//! their real RPCs by a test client: a share-coordinator failover keeps every acknowledged state; a
//! group-coordinator failover keeps membership and epochs; a group offset reset
//! (AlterShareGroupOffsets) is refused on a live group and, on an empty one, bumps the state epoch and
//! fences old writes.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::messages::{
    alter_share_group_offsets_request, initialize_share_group_state_request,
    read_share_group_state_request, write_share_group_state_request, AlterShareGroupOffsetsRequest,
    FindCoordinatorRequest, GroupId, InitializeShareGroupStateRequest, ReadShareGroupStateRequest,
    ReadShareGroupStateResponse, RequestKind, ResponseKind, ShareGroupDescribeRequest,
    ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse, TopicName,
    WriteShareGroupStateRequest,
};
use kafka_protocol::protocol::StrBytes;
use madsim::time::sleep;
use sharesim_sim::coordinator::placement::{
    CoordinatorType, GROUP_METADATA_TOPIC_NAME, SHARE_GROUP_STATE_TOPIC_NAME,
};
use sharesim_sim::coordinator::share::{SharePartitionKey, TopicId, TopicIdPartition};
use sharesim_sim::harness::{ShareGroupClusterConfig, SimCluster};
use sharesim_sim::net::{Client, NetFaults};
use sharesim_sim::ResponseError;

const TOPIC: &str = "orders";
const GROUP: &str = "g";
const TIMEOUT: Duration = Duration::from_secs(5);

/// Three brokers with the share-group services (one partition per internal topic, created at start)
/// and a one-partition data topic.
async fn start() -> Arc<SimCluster> {
    let cluster =
        Arc::new(SimCluster::start_share_groups(ShareGroupClusterConfig::default()).await);
    cluster.create_topic(TOPIC, 1, 3).await.unwrap();
    cluster
}

/// A client on its own node that finds coordinators and retries what Kafka clients retry.
struct Rpc {
    client: Client,
    bootstrap: Vec<SocketAddr>,
}

impl Rpc {
    fn new(cluster: &SimCluster, name: &str) -> Rpc {
        Rpc {
            client: Client::new(name, NetFaults::new()),
            bootstrap: cluster.bootstrap(),
        }
    }

    /// The coordinator of `key`, asked of any broker that answers.
    async fn coordinator(&self, key_type: CoordinatorType, key: &str) -> Option<SocketAddr> {
        let request = FindCoordinatorRequest::default()
            .with_key_type(key_type.id())
            .with_coordinator_keys(vec![StrBytes::from_string(key.to_string())]);
        for addr in &self.bootstrap {
            let response = self
                .client
                .call(
                    *addr,
                    6,
                    RequestKind::FindCoordinator(request.clone()),
                    TIMEOUT,
                )
                .await;
            if let Ok(ResponseKind::FindCoordinator(response)) = response {
                let found = &response.coordinators[0];
                if found.error_code == 0 {
                    let host = found.host.as_str();
                    return Some(SocketAddr::new(host.parse().ok()?, found.port as u16));
                }
            }
        }
        None
    }

    /// Sends `request` to the coordinator of `key` until it is answered with something other than a
    /// coordinator error (`error_of` extracts the error to look at).
    async fn call(
        &self,
        key_type: CoordinatorType,
        key: &str,
        version: i16,
        request: RequestKind,
        error_of: impl Fn(&ResponseKind) -> i16,
    ) -> ResponseKind {
        let retriable = [
            ResponseError::NotCoordinator.code(),
            ResponseError::CoordinatorNotAvailable.code(),
            ResponseError::CoordinatorLoadInProgress.code(),
        ];
        for _ in 0..200 {
            if let Some(addr) = self.coordinator(key_type, key).await {
                if let Ok(response) = self
                    .client
                    .call(addr, version, request.clone(), TIMEOUT)
                    .await
                {
                    if !retriable.contains(&error_of(&response)) {
                        return response;
                    }
                }
            }
            sleep(Duration::from_millis(200)).await;
        }
        panic!("no coordinator answered for {key}");
    }
}

async fn topic_id(cluster: &SimCluster) -> TopicId {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[TOPIC])).await.unwrap();
            TopicId(metadata.topics[0].topic_id.as_u128())
        })
        .await
        .unwrap()
}

async fn leader_of(cluster: &SimCluster, topic: &'static str) -> i32 {
    let client = Arc::new(cluster.test_client("probe"));
    cluster
        .client_node("probe")
        .spawn(async move {
            let metadata = client.metadata(Some(&[topic])).await.unwrap();
            metadata.topics[0].partitions[0].leader_id.0
        })
        .await
        .unwrap()
}

/// Waits until `topic`'s partition 0 is led by a broker other than `old` (the controller fences a
/// dead broker after its session timeout).
async fn wait_for_new_leader(cluster: &SimCluster, topic: &'static str, old: i32) {
    for _ in 0..60 {
        let leader = leader_of(cluster, topic).await;
        if leader >= 0 && leader != old {
            return;
        }
        sleep(Duration::from_millis(500)).await;
    }
    panic!("leadership of {topic} never moved from broker {old}");
}

fn share_key(topic_id: TopicId) -> String {
    let key = SharePartitionKey::new(
        GROUP,
        TopicIdPartition {
            topic_id,
            partition: 0,
        },
    );
    format!(
        "{}:{}:{}",
        key.group_id,
        key.topic_id.to_kafka_string(),
        key.partition
    )
}

fn state_error(response: &ResponseKind) -> i16 {
    match response {
        ResponseKind::InitializeShareGroupState(r) => r.results[0].partitions[0].error_code,
        ResponseKind::ReadShareGroupState(r) => r.results[0].partitions[0].error_code,
        ResponseKind::WriteShareGroupState(r) => r.results[0].partitions[0].error_code,
        _ => ResponseError::UnknownServerError.code(),
    }
}

fn initialize(topic_id: TopicId, state_epoch: i32, start_offset: i64) -> RequestKind {
    RequestKind::InitializeShareGroupState(
        InitializeShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str(GROUP))
            .with_topics(vec![
                initialize_share_group_state_request::InitializeStateData::default()
                    .with_topic_id(uuid::Uuid::from_u128(topic_id.0))
                    .with_partitions(vec![
                        initialize_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_state_epoch(state_epoch)
                            .with_start_offset(start_offset),
                    ]),
            ]),
    )
}

fn read(topic_id: TopicId, leader_epoch: i32) -> RequestKind {
    RequestKind::ReadShareGroupState(
        ReadShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str(GROUP))
            .with_topics(vec![
                read_share_group_state_request::ReadStateData::default()
                    .with_topic_id(uuid::Uuid::from_u128(topic_id.0))
                    .with_partitions(vec![
                        read_share_group_state_request::PartitionData::default()
                            .with_partition(0)
                            .with_leader_epoch(leader_epoch),
                    ]),
            ]),
    )
}

/// A write of `[first, last]` in `state` (2 = ACKNOWLEDGED, 4 = ARCHIVED) with `count` deliveries.
fn write(
    topic_id: TopicId,
    state_epoch: i32,
    leader_epoch: i32,
    (first, last, state, count): (i64, i64, i8, i16),
) -> RequestKind {
    RequestKind::WriteShareGroupState(
        WriteShareGroupStateRequest::default()
            .with_group_id(StrBytes::from_static_str(GROUP))
            .with_topics(vec![
                write_share_group_state_request::WriteStateData::default()
                    .with_topic_id(uuid::Uuid::from_u128(topic_id.0))
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
                                    .with_delivery_state(state)
                                    .with_delivery_count(count),
                            ]),
                    ]),
            ]),
    )
}

fn batches(response: &ReadShareGroupStateResponse) -> Vec<(i64, i64, i8, i16)> {
    response.results[0].partitions[0]
        .state_batches
        .iter()
        .map(|b| {
            (
                b.first_offset,
                b.last_offset,
                b.delivery_state,
                b.delivery_count,
            )
        })
        .collect()
}

/// Spec 3.3 and 3.4: every state the share coordinator acknowledged survives the crash of the broker
/// leading `__share_group_state`; the new leader replays the partition, serves the same state, and a
/// zombie share-partition leader's write is fenced by leader epoch.
#[madsim::test]
async fn share_coordinator_failover_keeps_acknowledged_state() {
    let cluster = start().await;
    let topic_id = topic_id(&cluster).await;
    let key = share_key(topic_id);
    let rpc = Arc::new(Rpc::new(&cluster, "persister"));
    let share = CoordinatorType::Share;
    {
        let (rpc, key) = (rpc.clone(), key.clone());
        cluster
            .client_node("persister")
            .spawn(async move {
                let r = rpc
                    .call(share, &key, 0, initialize(topic_id, 0, 0), state_error)
                    .await;
                assert_eq!(state_error(&r), 0);
                let r = rpc
                    .call(share, &key, 0, read(topic_id, 1), state_error)
                    .await;
                assert_eq!(state_error(&r), 0);
                for batch in [(0, 4, 2, 1), (5, 9, 4, 5)] {
                    let r = rpc
                        .call(share, &key, 0, write(topic_id, 0, 1, batch), state_error)
                        .await;
                    assert_eq!(state_error(&r), 0, "acknowledged write");
                }
            })
            .await
            .unwrap();
    }
    let coordinator = leader_of(&cluster, SHARE_GROUP_STATE_TOPIC_NAME).await;
    cluster.kill_broker(coordinator, true);
    wait_for_new_leader(&cluster, SHARE_GROUP_STATE_TOPIC_NAME, coordinator).await;
    cluster
        .client_node("persister")
        .spawn(async move {
            let response = rpc
                .call(share, &key, 0, read(topic_id, 2), state_error)
                .await;
            let ResponseKind::ReadShareGroupState(response) = response else {
                panic!("a read answer");
            };
            assert_eq!(response.results[0].partitions[0].error_code, 0);
            assert_eq!(response.results[0].partitions[0].start_offset, 0);
            assert_eq!(batches(&response), vec![(0, 4, 2, 1), (5, 9, 4, 5)]);
            let zombie = rpc
                .call(
                    share,
                    &key,
                    0,
                    write(topic_id, 0, 1, (10, 10, 2, 1)),
                    state_error,
                )
                .await;
            assert_eq!(
                state_error(&zombie),
                ResponseError::FencedLeaderEpoch.code()
            );
        })
        .await
        .unwrap();
}

fn heartbeat(member_epoch: i32, subscribe: bool) -> RequestKind {
    RequestKind::ShareGroupHeartbeat(
        ShareGroupHeartbeatRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_member_id(StrBytes::from_static_str("member-1"))
            .with_member_epoch(member_epoch)
            .with_subscribed_topic_names(
                subscribe.then(|| vec![TopicName(StrBytes::from_static_str(TOPIC))]),
            ),
    )
}

fn heartbeat_error(response: &ResponseKind) -> i16 {
    match response {
        ResponseKind::ShareGroupHeartbeat(r) => r.error_code,
        ResponseKind::AlterShareGroupOffsets(r) => r.error_code,
        ResponseKind::ShareGroupDescribe(r) => r.groups[0].error_code,
        _ => ResponseError::UnknownServerError.code(),
    }
}

fn as_heartbeat(response: ResponseKind) -> ShareGroupHeartbeatResponse {
    match response {
        ResponseKind::ShareGroupHeartbeat(r) => r,
        other => panic!("not a heartbeat answer: {other:?}"),
    }
}

/// Joins and heartbeats until the member is assigned the data partition (its share partition was
/// initialized through the share coordinator); returns the member epoch.
async fn join_until_assigned(rpc: &Rpc) -> i32 {
    let group = CoordinatorType::Group;
    let joined = as_heartbeat(
        rpc.call(group, GROUP, 1, heartbeat(0, true), heartbeat_error)
            .await,
    );
    assert_eq!(joined.error_code, 0);
    let mut epoch = joined.member_epoch;
    for _ in 0..50 {
        sleep(Duration::from_millis(500)).await;
        let response = as_heartbeat(
            rpc.call(group, GROUP, 1, heartbeat(epoch, false), heartbeat_error)
                .await,
        );
        assert_eq!(response.error_code, 0);
        epoch = response.member_epoch;
        if response
            .assignment
            .is_some_and(|a| a.topic_partitions.iter().any(|t| t.partitions == vec![0]))
        {
            return epoch;
        }
    }
    panic!("never assigned");
}

/// Spec 4.1 and 5.1: a member's membership and epoch survive the crash of the broker leading
/// `__consumer_offsets`: the new coordinator replays the group and accepts the member's epoch.
#[madsim::test]
async fn group_coordinator_failover_keeps_membership_and_epochs() {
    let cluster = start().await;
    let rpc = Arc::new(Rpc::new(&cluster, "member"));
    let epoch = {
        let rpc = rpc.clone();
        cluster
            .client_node("member")
            .spawn(async move { join_until_assigned(&rpc).await })
            .await
            .unwrap()
    };
    let coordinator = leader_of(&cluster, GROUP_METADATA_TOPIC_NAME).await;
    cluster.kill_broker(coordinator, true);
    wait_for_new_leader(&cluster, GROUP_METADATA_TOPIC_NAME, coordinator).await;
    cluster
        .client_node("member")
        .spawn(async move {
            let group = CoordinatorType::Group;
            let response = as_heartbeat(
                rpc.call(group, GROUP, 1, heartbeat(epoch, false), heartbeat_error)
                    .await,
            );
            assert_eq!((response.error_code, response.member_epoch), (0, epoch));
            let describe = RequestKind::ShareGroupDescribe(
                ShareGroupDescribeRequest::default()
                    .with_group_ids(vec![GroupId(StrBytes::from_static_str(GROUP))]),
            );
            let ResponseKind::ShareGroupDescribe(described) =
                rpc.call(group, GROUP, 1, describe, heartbeat_error).await
            else {
                panic!("a describe answer");
            };
            let group = &described.groups[0];
            assert_eq!(group.error_code, 0);
            assert_eq!(group.members.len(), 1);
            assert_eq!(group.members[0].member_epoch, epoch);
            assert_eq!(
                group.members[0].assignment.topic_partitions[0].partitions,
                vec![0]
            );
        })
        .await
        .unwrap();
}

fn alter(start_offset: i64) -> RequestKind {
    RequestKind::AlterShareGroupOffsets(
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str(GROUP)))
            .with_topics(vec![
                alter_share_group_offsets_request::AlterShareGroupOffsetsRequestTopic::default()
                    .with_topic_name(TopicName(StrBytes::from_static_str(TOPIC)))
                    .with_partitions(vec![
                        alter_share_group_offsets_request::AlterShareGroupOffsetsRequestPartition::default()
                            .with_partition_index(0)
                            .with_start_offset(start_offset),
                    ]),
            ]),
    )
}

/// Spec 5.3 and 3.4: AlterShareGroupOffsets on a live group is NON_EMPTY_GROUP; once the group is empty
/// it re-initializes the share partition with the bumped group epoch as state epoch and the new start
/// offset, and a write under the old state epoch is fenced with FENCED_STATE_EPOCH.
#[madsim::test]
async fn group_offset_reset_bumps_state_epoch_and_fences_old_writes() {
    let cluster = start().await;
    let topic_id = topic_id(&cluster).await;
    let key = share_key(topic_id);
    let rpc = Arc::new(Rpc::new(&cluster, "admin"));
    cluster
        .client_node("admin")
        .spawn(async move {
            let (group, share) = (CoordinatorType::Group, CoordinatorType::Share);
            let _epoch = join_until_assigned(&rpc).await;
            // The share-partition leader's view before the reset: state epoch and a write under it.
            let ResponseKind::ReadShareGroupState(before) = rpc
                .call(share, &key, 0, read(topic_id, 1), state_error)
                .await
            else {
                panic!("a read answer");
            };
            let old_state_epoch = before.results[0].partitions[0].state_epoch;
            let r = rpc
                .call(
                    share,
                    &key,
                    0,
                    write(topic_id, old_state_epoch, 1, (0, 2, 2, 1)),
                    state_error,
                )
                .await;
            assert_eq!(state_error(&r), 0);

            let live = rpc.call(group, GROUP, 0, alter(7), heartbeat_error).await;
            assert_eq!(heartbeat_error(&live), ResponseError::NonEmptyGroup.code());

            let left = as_heartbeat(
                rpc.call(group, GROUP, 1, heartbeat(-1, false), heartbeat_error)
                    .await,
            );
            assert_eq!((left.error_code, left.member_epoch), (0, -1));
            let ResponseKind::AlterShareGroupOffsets(altered) =
                rpc.call(group, GROUP, 0, alter(7), heartbeat_error).await
            else {
                panic!("an alter answer");
            };
            assert_eq!(altered.error_code, 0);
            assert_eq!(altered.responses[0].partitions[0].error_code, 0);

            let ResponseKind::ReadShareGroupState(after) = rpc
                .call(share, &key, 0, read(topic_id, 1), state_error)
                .await
            else {
                panic!("a read answer");
            };
            let partition = &after.results[0].partitions[0];
            assert_eq!(partition.error_code, 0);
            assert!(
                partition.state_epoch > old_state_epoch,
                "state epoch bumped"
            );
            assert_eq!(partition.start_offset, 7);
            assert!(partition.state_batches.is_empty(), "a fresh snapshot");
            let stale = rpc
                .call(
                    share,
                    &key,
                    0,
                    write(topic_id, old_state_epoch, 1, (7, 7, 2, 1)),
                    state_error,
                )
                .await;
            assert_eq!(state_error(&stale), ResponseError::FencedStateEpoch.code());
        })
        .await
        .unwrap();
}
