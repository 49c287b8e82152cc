//! The plug-in contract for services that live inside a broker (share-partition leaders, coordinators):
//! the [`BrokerService`] trait the broker drives, and the [`ServiceContext`] a service acts through. See
//! the module doc of `broker` for the whole contract.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use super::output::CallTarget;
use super::view::BrokerView;
use crate::cluster::replication::Acks;
use crate::cluster::BrokerId;
use crate::log::{AppendInfo, ControlType, ProducerIdentity, TopicPartition};
use crate::net::{ConnectionId, TransportError};
use crate::trace::TraceEvent;
use crate::ResponseError;

/// A change of this broker's role for one partition, delivered to every service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeadershipChange {
    /// The partition.
    pub partition: TopicPartition,
    /// Its topic id.
    pub topic_id: u128,
    /// What changed.
    pub kind: LeadershipChangeKind,
}

/// Become leader, or stop leading.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeadershipChangeKind {
    /// This broker now leads the partition in `leader_epoch` (its log is ready: reads and appends work
    /// from now on).
    BecameLeader {
        /// The new leader epoch.
        leader_epoch: i32,
    },
    /// This broker no longer leads the partition (it led it in `leader_epoch`); pending appends of the
    /// old epoch fail with NOT_LEADER_OR_FOLLOWER.
    LostLeadership {
        /// The epoch it led in.
        leader_epoch: i32,
        /// The new leader, -1 when there is none yet.
        new_leader: BrokerId,
        /// The new leader epoch.
        new_leader_epoch: i32,
    },
}

/// What a service appends to a partition this broker leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AppendRecords {
    /// One v2 record batch (e.g. `log::encode_data_batch` with records for `__share_group_state` or
    /// `__consumer_offsets`); appended as a client batch (`append_as_leader`).
    Batch(Bytes),
    /// A transaction marker (WriteTxnMarkers): COMMIT or ABORT for `producer`.
    Marker {
        /// The producer whose transaction ends.
        producer: ProducerIdentity,
        /// COMMIT or ABORT.
        control: ControlType,
        /// The transaction coordinator's epoch.
        coordinator_epoch: i32,
    },
}

/// One thing a service asked for; the broker applies it after the service's method returns.
#[derive(Clone, Debug, PartialEq)]
pub enum ServiceEffect {
    /// Answer a request the service was given.
    Respond {
        /// The connection.
        connection: ConnectionId,
        /// Correlation id of the request.
        correlation_id: i32,
        /// API version of the request.
        api_version: i16,
        /// The response.
        response: ResponseKind,
    },
    /// Make a call; the outcome comes back through [`BrokerService::handle_call_result`] with `token`.
    Call {
        /// The service's own token.
        token: u64,
        /// Who is called.
        to: CallTarget,
        /// API version.
        api_version: i16,
        /// The request.
        request: RequestKind,
        /// Timeout.
        timeout_ms: u64,
    },
    /// Append to a partition this broker leads; the outcome comes back through
    /// [`BrokerService::handle_append_result`] with `token` (with acks=all once the high watermark
    /// passes the appended records).
    Append {
        /// The service's own token.
        token: u64,
        /// The partition.
        partition: TopicPartition,
        /// What to append.
        records: AppendRecords,
        /// When to report success: `Acks::Leader` at once, `Acks::All` when replicated to the ISR.
        acks: Acks,
        /// acks=all gives up with REQUEST_TIMED_OUT after this long.
        timeout_ms: u64,
    },
    /// Close a client connection.
    Close {
        /// The connection.
        connection: ConnectionId,
    },
    /// Record a trace event.
    Trace(TraceEvent),
}

/// What a service sees and does while the broker calls it.
pub struct ServiceContext<'a> {
    /// Read-only access to this broker's logs, leadership and metadata.
    pub view: BrokerView<'a>,
    effects: &'a mut Vec<ServiceEffect>,
}

impl<'a> ServiceContext<'a> {
    pub(super) fn new(view: BrokerView<'a>, effects: &'a mut Vec<ServiceEffect>) -> Self {
        ServiceContext { view, effects }
    }

    /// Answers `header`'s request on `connection`.
    pub fn respond(
        &mut self,
        connection: ConnectionId,
        header: &RequestHeader,
        response: ResponseKind,
    ) {
        self.effects.push(ServiceEffect::Respond {
            connection,
            correlation_id: header.correlation_id,
            api_version: header.request_api_version,
            response,
        });
    }

    /// Calls a broker or the controller; the result arrives at `handle_call_result(token, ..)`.
    pub fn call(
        &mut self,
        token: u64,
        to: CallTarget,
        api_version: i16,
        request: RequestKind,
        timeout_ms: u64,
    ) {
        self.effects.push(ServiceEffect::Call {
            token,
            to,
            api_version,
            request,
            timeout_ms,
        });
    }

    /// Appends to a partition this broker leads; the result arrives at `handle_append_result(token, ..)`
    /// (NOT_LEADER_OR_FOLLOWER at once if this broker does not lead it).
    pub fn append(
        &mut self,
        token: u64,
        partition: TopicPartition,
        records: AppendRecords,
        acks: Acks,
        timeout_ms: u64,
    ) {
        self.effects.push(ServiceEffect::Append {
            token,
            partition,
            records,
            acks,
            timeout_ms,
        });
    }

    /// Closes a client connection.
    pub fn close(&mut self, connection: ConnectionId) {
        self.effects.push(ServiceEffect::Close { connection });
    }

    /// Records a trace event (the node stamps time and node name).
    pub fn trace(&mut self, event: TraceEvent) {
        self.effects.push(ServiceEffect::Trace(event));
    }
}

/// A sans-IO service inside a broker. Every method gets the current time and a [`ServiceContext`]; all
/// default to doing nothing except `handle_request`.
pub trait BrokerService {
    /// A short name for traces and debugging (`share-fetch`, `share-coordinator`, ...).
    fn name(&self) -> &'static str;

    /// The API keys this service answers; the broker routes those requests here and lists them in
    /// ApiVersions (with the version range kafka-protocol supports).
    fn api_keys(&self) -> Vec<ApiKey>;

    /// Whether this service takes this request of one of its API keys (default: every one). A service
    /// that answers only part of an API shared with another service (FindCoordinator for one key type)
    /// declines the rest; the broker offers the request to the next service claiming the key.
    fn accepts(&self, _request: &RequestKind) -> bool {
        true
    }

    /// A request for one of [`BrokerService::api_keys`]. Answer it now or later with
    /// [`ServiceContext::respond`] (keep `connection` and `header`).
    fn handle_request(
        &mut self,
        now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    );

    /// The outcome of a [`ServiceContext::call`].
    fn handle_call_result(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        _token: u64,
        _result: Result<ResponseKind, TransportError>,
    ) {
    }

    /// The outcome of a [`ServiceContext::append`]: the offsets on success.
    fn handle_append_result(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        _token: u64,
        _result: Result<AppendInfo, ResponseError>,
    ) {
    }

    /// This broker's role changed for a partition (all partitions, internal topics included).
    fn handle_leadership_change(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        _change: &LeadershipChange,
    ) {
    }

    /// The high watermark of a partition this broker leads advanced (new records became readable;
    /// a delayed ShareFetch may now complete).
    fn handle_high_watermark(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        _partition: &TopicPartition,
        _high_watermark: i64,
    ) {
    }

    /// A client connection closed (share sessions on it are released).
    fn handle_connection_closed(
        &mut self,
        _now_ms: u64,
        _cx: &mut ServiceContext<'_>,
        _connection: ConnectionId,
    ) {
    }

    /// Time passed; called whenever the broker's timer fires (check your own deadlines).
    fn handle_timeout(&mut self, _now_ms: u64, _cx: &mut ServiceContext<'_>) {}

    /// The service's next deadline, if any.
    fn poll_timeout(&self) -> Option<u64> {
        None
    }
}
