//! What the broker engine asks its node to do.

use std::net::SocketAddr;

use kafka_protocol::messages::{RequestKind, ResponseKind};

use crate::cluster::BrokerId;
use crate::net::ConnectionId;
use crate::trace::TraceEvent;

/// Where an outgoing call goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CallTarget {
    /// A broker, by `node.id` (this broker included: Kafka calls itself over the network too).
    Broker(BrokerId),
    /// The controller.
    Controller,
}

/// One thing for the node to do, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum BrokerOutput {
    /// Send `response` on `connection`, encoded at `api_version` with `correlation_id`.
    Respond {
        /// The connection the request came on.
        connection: ConnectionId,
        /// The request's correlation id.
        correlation_id: i32,
        /// The request's API version.
        api_version: i16,
        /// The response body.
        response: ResponseKind,
    },
    /// Call `address` and feed the outcome to `BrokerCore::handle_call_result(token, ..)`, failing with
    /// `TransportError::Timeout` after `timeout_ms`.
    Call {
        /// The engine's name for this call.
        token: u64,
        /// Who is called.
        to: CallTarget,
        /// Its address, resolved from the metadata the engine has.
        address: SocketAddr,
        /// API version to encode at.
        api_version: i16,
        /// The request body.
        request: RequestKind,
        /// Give up after this long.
        timeout_ms: u64,
    },
    /// Close a client connection without answering (Kafka does this for requests it cannot serve).
    Close {
        /// The connection.
        connection: ConnectionId,
    },
    /// Record a trace event at the current time.
    Trace(TraceEvent),
}
