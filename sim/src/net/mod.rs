//! The transport: real Kafka messages (kafka-protocol, real API versions and request headers) framed as
//! bytes and carried between madsim nodes, with connections, timeouts, correlation ids and fault hooks.
//!
//! - [`frame`]: `encode_request` / `decode_request` / `encode_response` / `decode_response`, and what a
//!   Kafka broker answers to frames it cannot serve (never a panic).
//! - [`Client`] / [`Connection`]: a client's connections and `call` with a timeout on every call.
//! - [`Server`]: a broker's listener; it yields [`ServerEvent`]s (connection opened, request, connection
//!   closed) for the node to dispatch, and sends responses.
//! - [`NetFaults`]: per-API-key drop, duplicate, delay, reorder and late close, from madsim's seeded RNG,
//!   each recorded as a [`NetEvent`].
//!
//! Connections ride on madsim's reliable ordered channels (`Endpoint::connect1` / `accept1`, the same
//! machinery as madsim's simulated TCP): messages on one connection arrive in order, a clogged link holds
//! them until it heals (as TCP retransmits), and when either side drops its half (a close, or a killed
//! node) the other side sees the connection end. A connection carries the Kafka byte frames; the only
//! extra items are a hello naming the connection and a goodbye telling the client why the broker closed
//! it (simulation metadata for the trace, not Kafka bytes).

mod api_dispatch;
mod client;
mod event;
mod faults;
pub mod frame;

mod server;
pub mod share_state_v1;
pub mod share_v0;
pub mod share_v2;

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;

pub use client::{Client, Connection, PendingReply};
pub use event::{Closer, Direction, NetEvent};
pub use faults::{ApiKeySelector, FaultDirection, FaultRule, MessageFault, NetFaults};
pub use frame::{
    decode_request, decode_response, encode_request, encode_response, DecodedRequest, EncodeError,
    FrameRejection, RejectionAnswer,
};

pub use server::{IncomingRequest, Server, ServerEvent};

use crate::ResponseError;

/// One client connection as the broker knows it: client address, broker address, and the client's serial
/// number for it (ports can be reused; the serial cannot).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnectionId {
    /// The client's address (its node IP and ephemeral port).
    pub client: SocketAddr,
    /// The broker's listener address.
    pub server: SocketAddr,
    /// Serial number of the connection at its client.
    pub serial: u64,
}

impl fmt::Display for ConnectionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Kafka's connection ids read "local-remote-index".
        write!(f, "{}-{}-{}", self.server, self.client, self.serial)
    }
}

/// Why a call or a send failed.
#[derive(Clone, Debug, PartialEq)]
pub enum TransportError {
    /// The broker could not be reached (refused, or the link is down).
    Connect(String),
    /// No response within the call's timeout.
    Timeout,
    /// The connection is closed (by this side, or the peer went away).
    ConnectionClosed,
    /// The broker closed the connection after refusing a frame (Kafka sends nothing; the code and reason
    /// are what its log would say).
    ClosedByBroker {
        /// The error Kafka reports.
        error: ResponseError,
        /// Why.
        reason: &'static str,
    },
    /// The message could not be encoded.
    Encode(EncodeError),
    /// The response frame did not decode.
    MalformedResponse,
}

/// What travels on a connection.
#[derive(Clone, Debug)]
enum Wire {
    /// First item of every connection: the client's serial number for it.
    Hello { serial: u64 },
    /// The broker's answer to the hello: the client address it sees (the end of the handshake).
    Welcome { client: SocketAddr },
    /// One Kafka frame (size-prefixed request or response).
    Frame(Bytes),
    /// The broker is closing the connection after refusing a frame.
    Goodbye {
        error: ResponseError,
        reason: &'static str,
    },
}
