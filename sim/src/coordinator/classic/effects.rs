//! What the classic coordinator asks its node to do, drained with `poll_effect`: responses (some wait for
//! the join barrier or the leader's SyncGroup, so every response is an effect), records to append, and
//! trace events.

use kafka_protocol::messages::{
    HeartbeatResponse, JoinGroupResponse, LeaveGroupResponse, OffsetCommitResponse,
    OffsetFetchResponse, SyncGroupResponse,
};

use super::records::ClassicGroupRecord;
use crate::trace::ClassicTraceEvent;

/// Names one request the node handed in, so that its response (possibly much later) finds its way back.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestToken(pub u64);

/// A request's identity as the coordinator needs it: its token, API version and header client id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestContext {
    /// Matches the response effect.
    pub token: RequestToken,
    /// The request's API version (JoinGroup v4+ requires a known member id).
    pub api_version: i16,
    /// The header's client id (member ids start with it).
    pub client_id: String,
}

/// A response of the classic coordinator, as the real Kafka message.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassicResponse {
    /// JoinGroup (11).
    JoinGroup(JoinGroupResponse),
    /// SyncGroup (14).
    SyncGroup(SyncGroupResponse),
    /// Heartbeat (12).
    Heartbeat(HeartbeatResponse),
    /// LeaveGroup (13).
    LeaveGroup(LeaveGroupResponse),
    /// OffsetCommit (8).
    OffsetCommit(OffsetCommitResponse),
    /// OffsetFetch (9).
    OffsetFetch(OffsetFetchResponse),
}

/// An effect for the node.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassicEffect {
    /// Append these records, in order, to the coordinator's log. They are already applied in memory;
    /// responses that follow in the queue may be sent once the append commits.
    AppendRecords {
        /// The records.
        records: Vec<ClassicGroupRecord>,
    },
    /// Send this response to the request named by `token`.
    Respond {
        /// The request.
        token: RequestToken,
        /// The response.
        response: ClassicResponse,
    },
    /// Something for the trace.
    Trace(ClassicTraceEvent),
}
