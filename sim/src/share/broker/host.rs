//! What the share-fetch service needs from the broker it runs in, and what it asks the broker to do.
//!
//! The service is sans-IO: the broker passes `&impl ShareFetchHost` into every input, so log reads and
//! leadership answers are taken at that instant, and it drains [`ServiceOutput`]s (responses to client
//! requests, outgoing inter-broker calls, trace events) with `poll_output()`.

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::coordinator::share::TopicIdPartition;
use crate::log::{FetchIsolation, ReadResult};
use crate::share::partition::{AutoOffsetReset, ResetOffsets, SharePartitionConfig};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// Who leads a topic-partition, as the broker's metadata says now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leadership {
    /// This broker leads it at `leader_epoch`.
    Local {
        /// The partition leader epoch.
        leader_epoch: i32,
    },
    /// Another broker leads it (or nobody: `leader_id` = -1).
    Remote {
        /// The leader's node id, -1 when unknown.
        leader_id: i32,
        /// The latest known leader epoch.
        leader_epoch: i32,
    },
}

/// A broker endpoint for a response's `NodeEndpoints`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEndpoint {
    /// Node id.
    pub node_id: i32,
    /// Host name.
    pub host: String,
    /// Port.
    pub port: i32,
}

/// The broker, as the share-fetch service sees it.
pub trait ShareFetchHost {
    /// This broker's node id.
    fn node_id(&self) -> i32;

    /// Who leads `tp`; `None` when the topic or partition does not exist.
    fn leadership(&self, tp: TopicIdPartition) -> Option<Leadership>;

    /// Reads whole batches of the local replica of `tp` from `fetch_offset`, bounded by the high
    /// watermark (read_uncommitted) or the last stable offset with the aborted transactions
    /// (read_committed), at most `max_bytes` but at least one batch.
    fn read_log(
        &self,
        tp: TopicIdPartition,
        fetch_offset: i64,
        max_bytes: usize,
        isolation: FetchIsolation,
    ) -> Result<ReadResult, ResponseError>;

    /// The offsets `share.auto.offset.reset` needs for `tp` (spec 5.2).
    fn reset_offsets(
        &self,
        tp: TopicIdPartition,
        now_ms: u64,
        reset: AutoOffsetReset,
    ) -> ResetOffsets;

    /// The share-partition configs of `group_id` (broker defaults overridden by group configs).
    fn share_partition_config(&self, group_id: &str) -> SharePartitionConfig;

    /// The endpoint of `node_id`, for `NodeEndpoints` (None when unknown).
    fn endpoint(&self, node_id: i32) -> Option<NodeEndpoint>;
}

/// Names a client request the broker handed in; its response comes back as [`ServiceOutput::Respond`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestToken(pub u64);

/// Names an outgoing call; report its outcome with `handle_call_result`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CallId(pub u64);

/// Where an outgoing call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallTarget {
    /// Any live broker (FindCoordinator: Kafka sends it to the least loaded node; this broker will do).
    AnyBroker,
    /// This node.
    Node(i32),
}

/// Why an outgoing call failed before any response (the persister retries these as NETWORK_EXCEPTION).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CallFailure {
    /// Connection refused or closed, or the node is unknown.
    Disconnected,
    /// No response within the request timeout.
    TimedOut,
}

/// What the service asks of the broker.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceOutput {
    /// Answer the client request `token` (at the version it was received).
    Respond {
        /// The request.
        token: RequestToken,
        /// The response body.
        response: ResponseKind,
    },
    /// Send an inter-broker request and report the outcome with `handle_call_result(call_id, ...)`.
    Call {
        /// Names the call.
        call_id: CallId,
        /// Where to.
        target: CallTarget,
        /// The API version to send.
        api_version: i16,
        /// The request.
        request: RequestKind,
    },
    /// A trace event.
    Event(TraceEvent),
}
