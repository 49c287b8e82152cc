//! Transport events for the trace (a local enum until the global trace type exists).

use super::faults::MessageFault;
use super::ConnectionId;

/// Which way a message travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Client to broker.
    Request,
    /// Broker to client.
    Response,
}

/// Who ended a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Closer {
    /// The client closed it (or its node died).
    Client,
    /// The broker closed it (a refused frame, or on purpose).
    Broker,
}

/// One thing the transport did, at a virtual time.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum NetEvent {
    /// The broker accepted a connection.
    ConnectionOpened {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
    },
    /// The broker saw a connection end (share sessions are released on this event).
    ConnectionClosed {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// Who closed it.
        by: Closer,
    },
    /// A client's close will reach the broker late.
    CloseDelayed {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// How late.
        delay_ms: u64,
    },
    /// A fault applied to one message.
    Message {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// Request or response.
        direction: Direction,
        /// Kafka API key.
        api_key: i16,
        /// Correlation id of the exchange.
        correlation_id: i32,
        /// The fault.
        fault: MessageFault,
    },
    /// A response with no waiting call (a duplicate, or late after a timeout) was ignored.
    ResponseIgnored {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// Its correlation id.
        correlation_id: i32,
    },
    /// A call gave up after its timeout.
    CallTimedOut {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// Kafka API key.
        api_key: i16,
        /// Correlation id.
        correlation_id: i32,
    },
    /// The broker refused a frame (see `frame` for Kafka's answers).
    FrameRejected {
        /// Virtual ms.
        at_ms: u64,
        /// The connection.
        connection: ConnectionId,
        /// The error code Kafka reports.
        error_code: i16,
        /// Why.
        reason: &'static str,
        /// True when the connection was closed (otherwise an error response was sent).
        closed: bool,
    },
}
