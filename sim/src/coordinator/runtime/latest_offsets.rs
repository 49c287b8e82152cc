//! The group coordinator's partition end-offset lookups for DescribeShareGroupOffsets lag (KIP-1226), as
//! a sans-IO client: Kafka's `NetworkPartitionMetadataClient.listLatestOffsets`.
//!
//! The group coordinator service asks for the end offsets of a set of data partitions
//! ([`super::GroupCoordinatorService::poll_end_offsets_call`]); this client finds each partition's leader
//! in the broker's metadata (the caller's `locate`), sends one ListOffsets per leader (timestamp -1,
//! latest), merges the per-partition answers and hands them back as one reply per call. The plugin moves
//! its RPCs over the broker's inter-broker calls.
//!
//! Kafka's choices, kept here:
//! * isolation READ_UNCOMMITTED always ("Isolation level will always be READ_UNCOMMITTED when finding
//!   the partition end offset"): the end offset is the high watermark, whatever the group's
//!   `share.isolation.level`;
//! * a partition without a leader in the metadata answers LEADER_NOT_AVAILABLE without a request, one
//!   missing from the leader's answer UNKNOWN_TOPIC_OR_PARTITION, a failed or timed-out request its
//!   transport error (NETWORK_EXCEPTION / REQUEST_TIMED_OUT);
//! * no retry: a failed lookup is final for that DescribeShareGroupOffsets, whose lag is then -1 (the
//!   admin client asks again).

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{BrokerId, ListOffsetsRequest, ListOffsetsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::coordinator::share::TopicIdPartition;
use crate::ResponseError;

/// Identifies one end-offsets request of the group coordinator service.
pub type EndOffsetsCallToken = u64;

/// One partition's end offset (high watermark), or why it is unknown.
pub type EndOffsetReply = Result<i64, ResponseError>;

/// ListOffsets' "latest" timestamp (`ListOffsetsRequest.LATEST_TIMESTAMP`).
const LATEST_TIMESTAMP: i64 = -1;
/// `IsolationLevel.READ_UNCOMMITTED`.
const READ_UNCOMMITTED: i8 = 0;
/// A consumer's replica id: the leader answers at the high watermark.
const CONSUMER_REPLICA_ID: i32 = -1;

/// One ListOffsets request for one leader.
#[derive(Clone, Debug, PartialEq)]
pub struct LatestOffsetsRpc {
    /// Identifies the request in [`LatestOffsetsClient::handle_rpc_result`].
    pub rpc_id: u64,
    /// The broker that leads every partition asked.
    pub leader: i32,
    /// The request.
    pub request: ListOffsetsRequest,
}

/// One call's progress: requests outstanding and answers so far.
#[derive(Clone, Debug, Default)]
struct OpenCall {
    rpcs_outstanding: usize,
    answers: BTreeMap<TopicIdPartition, EndOffsetReply>,
}

/// The end-offset lookups of one group coordinator.
#[derive(Clone, Debug, Default)]
pub struct LatestOffsetsClient {
    next_rpc_id: u64,
    /// RPC id → (its call, the partitions it asks, with topic names).
    rpcs: BTreeMap<u64, (EndOffsetsCallToken, Vec<(TopicIdPartition, String)>)>,
    calls: BTreeMap<EndOffsetsCallToken, OpenCall>,
    outgoing: VecDeque<LatestOffsetsRpc>,
    replies: VecDeque<(
        EndOffsetsCallToken,
        BTreeMap<TopicIdPartition, EndOffsetReply>,
    )>,
}

impl LatestOffsetsClient {
    /// Asks for the end offsets of `partitions`. `locate` gives a partition's topic name and its leader
    /// per the metadata (`None` name: the topic is unknown; `None` leader: no leader now).
    pub fn submit(
        &mut self,
        call: EndOffsetsCallToken,
        partitions: &[TopicIdPartition],
        mut locate: impl FnMut(TopicIdPartition) -> Option<(String, Option<i32>)>,
    ) {
        let mut open = OpenCall::default();
        let mut by_leader: BTreeMap<i32, Vec<(TopicIdPartition, String)>> = BTreeMap::new();
        for tp in partitions {
            match locate(*tp) {
                None => {
                    open.answers
                        .insert(*tp, Err(ResponseError::UnknownTopicOrPartition));
                }
                Some((_, None)) => {
                    open.answers
                        .insert(*tp, Err(ResponseError::LeaderNotAvailable));
                }
                Some((name, Some(leader))) => {
                    by_leader.entry(leader).or_default().push((*tp, name));
                }
            }
        }
        open.rpcs_outstanding = by_leader.len();
        for (leader, asked) in by_leader {
            let rpc_id = self.next_rpc_id;
            self.next_rpc_id += 1;
            let request = list_offsets_request(&asked);
            self.rpcs.insert(rpc_id, (call, asked));
            self.outgoing.push_back(LatestOffsetsRpc {
                rpc_id,
                leader,
                request,
            });
        }
        self.calls.insert(call, open);
        self.maybe_finish(call);
    }

    /// The answer to an RPC: the leader's response, or the transport's error for every partition asked.
    pub fn handle_rpc_result(
        &mut self,
        rpc_id: u64,
        result: Result<ListOffsetsResponse, ResponseError>,
    ) {
        let Some((call, asked)) = self.rpcs.remove(&rpc_id) else {
            return;
        };
        let Some(open) = self.calls.get_mut(&call) else {
            return;
        };
        for (tp, name) in asked {
            let answer = match &result {
                Err(error) => Err(*error),
                Ok(response) => partition_answer(response, &name, tp.partition),
            };
            open.answers.insert(tp, answer);
        }
        open.rpcs_outstanding -= 1;
        self.maybe_finish(call);
    }

    /// The next ListOffsets to send.
    pub fn poll_rpc(&mut self) -> Option<LatestOffsetsRpc> {
        self.outgoing.pop_front()
    }

    /// The next finished call: every partition asked, with its end offset or error.
    pub fn poll_reply(
        &mut self,
    ) -> Option<(
        EndOffsetsCallToken,
        BTreeMap<TopicIdPartition, EndOffsetReply>,
    )> {
        self.replies.pop_front()
    }

    fn maybe_finish(&mut self, call: EndOffsetsCallToken) {
        if self
            .calls
            .get(&call)
            .is_some_and(|open| open.rpcs_outstanding == 0)
        {
            let open = self.calls.remove(&call).expect("checked above");
            self.replies.push_back((call, open.answers));
        }
    }
}

/// ListOffsets (latest, READ_UNCOMMITTED) for `asked`, topics in name order.
fn list_offsets_request(asked: &[(TopicIdPartition, String)]) -> ListOffsetsRequest {
    let mut by_topic: BTreeMap<&str, Vec<ListOffsetsPartition>> = BTreeMap::new();
    for (tp, name) in asked {
        by_topic.entry(name).or_default().push(
            ListOffsetsPartition::default()
                .with_partition_index(tp.partition)
                .with_current_leader_epoch(-1)
                .with_timestamp(LATEST_TIMESTAMP),
        );
    }
    let topics = by_topic
        .into_iter()
        .map(|(name, partitions)| {
            ListOffsetsTopic::default()
                .with_name(TopicName(StrBytes::from_string(name.to_string())))
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsRequest::default()
        .with_replica_id(BrokerId(CONSUMER_REPLICA_ID))
        .with_isolation_level(READ_UNCOMMITTED)
        .with_topics(topics)
}

/// One partition's answer in a ListOffsets response (UNKNOWN_TOPIC_OR_PARTITION when absent).
fn partition_answer(response: &ListOffsetsResponse, topic: &str, partition: i32) -> EndOffsetReply {
    let found = response
        .topics
        .iter()
        .filter(|t| t.name.0.as_str() == topic)
        .flat_map(|t| t.partitions.iter())
        .find(|p| p.partition_index == partition);
    match found {
        None => Err(ResponseError::UnknownTopicOrPartition),
        Some(p) if p.error_code != 0 => {
            Err(ResponseError::try_from_code(p.error_code)
                .unwrap_or(ResponseError::UnknownServerError))
        }
        Some(p) => Ok(p.offset),
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::list_offsets_response::{
        ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
    };

    use super::*;
    use crate::coordinator::share::TopicId;

    fn tp(topic: u128, partition: i32) -> TopicIdPartition {
        TopicIdPartition {
            topic_id: TopicId(topic),
            partition,
        }
    }

    fn response(partitions: &[(i32, i16, i64)]) -> ListOffsetsResponse {
        ListOffsetsResponse::default().with_topics(vec![ListOffsetsTopicResponse::default()
            .with_name(TopicName(StrBytes::from_static_str("a")))
            .with_partitions(
                partitions
                    .iter()
                    .map(|&(index, error_code, offset)| {
                        ListOffsetsPartitionResponse::default()
                            .with_partition_index(index)
                            .with_error_code(error_code)
                            .with_offset(offset)
                    })
                    .collect(),
            )])
    }

    /// Spec 5.3 (KIP-1226 lag): one ListOffsets (latest, read_uncommitted) per leader; the answers,
    /// errors and partitions without a leader or topic are merged into one reply per call.
    #[test]
    fn asks_each_leader_once_and_merges_the_answers() {
        let mut client = LatestOffsetsClient::default();
        let asked = [tp(1, 0), tp(1, 1), tp(1, 2), tp(1, 3), tp(2, 0)];
        client.submit(7, &asked, |tp| match (tp.topic_id.0, tp.partition) {
            (1, 0) | (1, 2) => Some(("a".to_string(), Some(1))),
            (1, 1) => Some(("a".to_string(), Some(2))),
            (1, _) => Some(("a".to_string(), None)),
            _ => None,
        });
        let first = client.poll_rpc().expect("a request for broker 1");
        let second = client.poll_rpc().expect("a request for broker 2");
        assert!(client.poll_rpc().is_none());
        assert_eq!((first.leader, second.leader), (1, 2));
        assert_eq!(first.request.isolation_level, READ_UNCOMMITTED);
        let partitions = &first.request.topics[0].partitions;
        assert_eq!(partitions.len(), 2);
        assert!(partitions.iter().all(|p| p.timestamp == LATEST_TIMESTAMP));

        // Partition 2 is missing from broker 1's answer.
        client.handle_rpc_result(first.rpc_id, Ok(response(&[(0, 0, 42)])));
        assert!(client.poll_reply().is_none(), "broker 2 has not answered");
        client.handle_rpc_result(second.rpc_id, Err(ResponseError::RequestTimedOut));
        let (call, answers) = client.poll_reply().expect("every leader answered");
        assert_eq!(call, 7);
        assert_eq!(answers[&tp(1, 0)], Ok(42));
        assert_eq!(answers[&tp(1, 1)], Err(ResponseError::RequestTimedOut));
        assert_eq!(
            answers[&tp(1, 2)],
            Err(ResponseError::UnknownTopicOrPartition)
        );
        assert_eq!(answers[&tp(1, 3)], Err(ResponseError::LeaderNotAvailable));
        assert_eq!(
            answers[&tp(2, 0)],
            Err(ResponseError::UnknownTopicOrPartition)
        );
    }

    /// Spec 5.3: a leader's per-partition error (a stale leader: NOT_LEADER_OR_FOLLOWER) is that
    /// partition's answer; a call with no leader to ask is answered at once.
    #[test]
    fn partition_errors_and_leaderless_calls() {
        let mut client = LatestOffsetsClient::default();
        client.submit(1, &[tp(1, 0)], |_| Some(("a".to_string(), Some(3))));
        let rpc = client.poll_rpc().unwrap();
        let code = ResponseError::NotLeaderOrFollower.code();
        client.handle_rpc_result(rpc.rpc_id, Ok(response(&[(0, code, -1)])));
        let (_, answers) = client.poll_reply().unwrap();
        assert_eq!(answers[&tp(1, 0)], Err(ResponseError::NotLeaderOrFollower));

        client.submit(2, &[tp(1, 0)], |_| Some(("a".to_string(), None)));
        assert!(client.poll_rpc().is_none());
        let (call, answers) = client.poll_reply().unwrap();
        assert_eq!(call, 2);
        assert_eq!(answers[&tp(1, 0)], Err(ResponseError::LeaderNotAvailable));
        client.handle_rpc_result(99, Err(ResponseError::NetworkException));
        assert!(client.poll_reply().is_none(), "unknown RPC ids are ignored");
    }
}
