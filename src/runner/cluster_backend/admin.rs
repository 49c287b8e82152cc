//! The `offset_reset` lever on the cluster backend: an admin client node sends AlterShareGroupOffsets
//! (API 91, spec 5.3) over the simulated network to the group's coordinator, found with FindCoordinator,
//! as Kafka's admin client does (retrying coordinator errors). The group coordinator decides: a group
//! with members answers NON_EMPTY_GROUP (68); an empty one bumps its epoch and initializes the
//! partition's state at the new state epoch, which fences the live share partition at its next write.
//! The answer goes to the trace as an `offset_reset` fault record, `answer: ... NONE` or the error's
//! Kafka name, so the report and the metrics (`offset_resets_done`, `offset_resets_rejected`) see it.

use std::net::SocketAddr;
use std::time::Duration;

use kafka_protocol::messages::alter_share_group_offsets_request::{
    AlterShareGroupOffsetsRequestPartition, AlterShareGroupOffsetsRequestTopic,
};
use kafka_protocol::messages::{
    AlterShareGroupOffsetsRequest, FindCoordinatorRequest, GroupId, RequestKind, ResponseKind,
    TopicName,
};
use kafka_protocol::protocol::StrBytes;
use sharesim_sim::faults::virtual_now_ms;
use sharesim_sim::harness::SimCluster;
use sharesim_sim::net::{Client, NetFaults};
use sharesim_sim::trace::TraceEvent;
use sharesim_sim::ResponseError;

/// How long one admin call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between two rounds over the brokers when no coordinator answered.
const RETRY_BACKOFF: Duration = Duration::from_millis(500);
/// Rounds over the brokers before the admin client gives up (about 10 s, like a short
/// `default.api.timeout.ms`).
const MAX_ROUNDS: u32 = 20;

/// The fault record's lever name (the scenario's kind).
pub(super) const LEVER: &str = "offset_reset";
/// Detail prefix of the answer's fault record.
pub(super) const ANSWER_PREFIX: &str = "answer: ";

/// One AlterShareGroupOffsets call.
#[derive(Clone, Debug)]
pub(super) struct AlterOffsets {
    pub(super) group: String,
    pub(super) topic: String,
    pub(super) partition: i32,
    pub(super) start_offset: i64,
}

/// Starts the call on a new admin client node; the answer is recorded in the trace when it arrives.
pub(super) fn spawn_alter_share_group_offsets(cluster: &SimCluster, call: AlterOffsets) {
    let bootstrap = cluster.bootstrap();
    let trace = cluster.trace().clone();
    let node = cluster.client_node(&format!("admin-{}", call.group));
    drop(node.spawn(async move {
        let outcome = alter(&bootstrap, &call).await;
        let answer = match outcome {
            Ok(code) => error_name(code),
            Err(why) => format!("no answer ({why})"),
        };
        let detail = format!(
            "{ANSWER_PREFIX}AlterShareGroupOffsets {} {}-{} to {}: {answer}",
            call.group, call.topic, call.partition, call.start_offset
        );
        trace.record(
            virtual_now_ms(),
            "admin",
            TraceEvent::Fault {
                lever: LEVER.to_string(),
                detail,
            },
        );
    }));
}

/// The group-level error code of the answer (the partition's when the group's is 0).
async fn alter(bootstrap: &[SocketAddr], call: &AlterOffsets) -> Result<i16, String> {
    let client = Client::new(format!("admin-{}", call.group), NetFaults::new());
    let request = RequestKind::AlterShareGroupOffsets(
        AlterShareGroupOffsetsRequest::default()
            .with_group_id(GroupId(StrBytes::from_string(call.group.clone())))
            .with_topics(vec![AlterShareGroupOffsetsRequestTopic::default()
                .with_topic_name(TopicName(StrBytes::from_string(call.topic.clone())))
                .with_partitions(vec![
                    AlterShareGroupOffsetsRequestPartition::default()
                        .with_partition_index(call.partition)
                        .with_start_offset(call.start_offset),
                ])]),
    );
    let retriable = [
        ResponseError::NotCoordinator.code(),
        ResponseError::CoordinatorNotAvailable.code(),
        ResponseError::CoordinatorLoadInProgress.code(),
    ];
    for _ in 0..MAX_ROUNDS {
        for addr in bootstrap {
            let Some(coordinator) = find_coordinator(&client, *addr, &call.group).await else {
                continue;
            };
            let Ok(ResponseKind::AlterShareGroupOffsets(response)) = client
                .call(coordinator, 0, request.clone(), CALL_TIMEOUT)
                .await
            else {
                continue;
            };
            if retriable.contains(&response.error_code) {
                continue;
            }
            let partition_error = response
                .responses
                .iter()
                .flat_map(|topic| topic.partitions.iter())
                .map(|partition| partition.error_code)
                .find(|code| *code != 0)
                .unwrap_or(0);
            return Ok(if response.error_code != 0 {
                response.error_code
            } else {
                partition_error
            });
        }
        madsim::time::sleep(RETRY_BACKOFF).await;
    }
    Err(format!(
        "no group coordinator answered in {MAX_ROUNDS} rounds"
    ))
}

/// The group coordinator's address for `group` as the broker at `addr` names it (FindCoordinator v6).
async fn find_coordinator(client: &Client, addr: SocketAddr, group: &str) -> Option<SocketAddr> {
    let find = RequestKind::FindCoordinator(
        FindCoordinatorRequest::default()
            .with_key_type(0)
            .with_coordinator_keys(vec![StrBytes::from_string(group.to_string())]),
    );
    let Ok(ResponseKind::FindCoordinator(found)) = client.call(addr, 6, find, CALL_TIMEOUT).await
    else {
        return None;
    };
    let found = found.coordinators.first()?;
    let host = found.host.as_str().parse().ok()?;
    (found.error_code == 0).then(|| SocketAddr::new(host, found.port as u16))
}

/// Kafka's name of an error code (`NONE`, `NON_EMPTY_GROUP`, ...), with the code.
fn error_name(code: i16) -> String {
    if code == 0 {
        return "NONE".to_string();
    }
    let Some(error) = ResponseError::try_from_code(code) else {
        return format!("error {code}");
    };
    let camel = format!("{error:?}");
    let mut name = String::new();
    for (index, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() && index > 0 {
            name.push('_');
        }
        name.push(c.to_ascii_uppercase());
    }
    format!("{name} ({code})")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 5.3: the answer names Kafka's error, NON_EMPTY_GROUP (68) for a live group.
    #[test]
    fn error_names_are_kafkas() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(
            error_name(ResponseError::NonEmptyGroup.code()),
            "NON_EMPTY_GROUP (68)"
        );
    }
}
