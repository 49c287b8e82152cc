//! The broker of the simulated Kafka cluster as a sans-IO engine, [`BrokerCore`] (quinn-proto style),
//! wiring the building blocks: `log` (partition logs in a [`crate::log::LogStore`] that outlives the
//! node), `cluster::replication` (leader replica state, HW, ISR, acks, follower truncation) and the
//! controller (reached with real messages, see [`controller_wire`]).
//!
//! # Driving it (what a node does)
//!
//! Inputs, each with the node's current virtual time `now_ms` (never backwards):
//! - [`BrokerCore::handle_request`]`(now_ms, connection, header, request)`: a decoded client request;
//! - [`BrokerCore::handle_call_result`]`(now_ms, token, Result<ResponseKind, TransportError>)`: the outcome
//!   of a [`BrokerOutput::Call`];
//! - [`BrokerCore::handle_connection_closed`]`(now_ms, connection)`;
//! - [`BrokerCore::handle_timeout`]`(now_ms)`: whenever [`BrokerCore::poll_timeout`] is reached (the
//!   first call, at start, registers the broker).
//!
//! Outputs: [`BrokerCore::poll_output`] until `None` —
//! [`BrokerOutput::Respond`] `{connection, correlation_id, api_version, response}`,
//! [`BrokerOutput::Call`] `{token, to: CallTarget::Broker(id) | CallTarget::Controller, address,
//! api_version, request, timeout_ms}`, [`BrokerOutput::Close`] `{connection}`,
//! [`BrokerOutput::Trace`]`(TraceEvent)` — and [`BrokerCore::poll_timeout`].
//!
//! # APIs served by the broker itself ([`dispatch`](self) has one arm per API key)
//!
//! ApiVersions; Metadata (live brokers, topic ids, leaders, leader epochs, replicas, ISR); CreateTopics
//! (forwarded to the controller); Produce (acks 0/1/all, purgatory completed when the HW passes,
//! `timeout_ms` → REQUEST_TIMED_OUT, NOT_LEADER_OR_FOLLOWER with the current leader, idempotent and
//! transactional producer state through the log); Fetch (consumers: read_uncommitted to the HW,
//! read_committed to the LSO with aborted transactions; followers by `replica_id`: to the log end, with
//! KIP-320 epoch fencing and KIP-595 diverging epochs; MinBytes/MaxWait parking); ListOffsets;
//! DeleteRecords. The follower role is `replica_fetcher`: one Fetch in flight per leader broker.
//!
//! # Plugging a service in
//!
//! A service (share-partition leaders, share coordinator, group coordinator, transaction coordinator)
//! is a sans-IO struct implementing [`BrokerService`]:
//!
//! 1. **Claim API keys**: `fn api_keys(&self) -> Vec<ApiKey>` (e.g. `[ShareFetch, ShareAcknowledge]`).
//!    The dispatch's fallback arm routes every request with a claimed key to
//!    `handle_request(now_ms, cx, connection, header, request)`; the key is also listed in ApiVersions.
//!    No edit of `dispatch.rs` is needed; an unclaimed API closes the connection, as Kafka does. Two
//!    services may claim one key (FindCoordinator): the first whose `accepts(&request)` (default
//!    true) says yes gets it, in plug-in order.
//! 2. **Be plugged in** where the broker is built: `core.add_service(Box::new(MyService::new(..)))`. The
//!    harness takes a factory `Fn(BrokerId) -> Vec<Box<dyn BrokerService>>` so each broker (and each
//!    restart, which loses memory) gets fresh instances.
//! 3. **Read** through `cx.view` ([`BrokerView`], read-only): `broker_id()`, `broker_epoch()`,
//!    `metadata()` (the [`crate::cluster::controller::MetadataImage`]: brokers, topics, partitions),
//!    `topic_name(topic_id)`, `topic_id(name)`, `partition_count(topic)`, `broker_address(id)`,
//!    `partition_state(tp)` (replicas, ISR, leader, epochs), `leader_of(tp)`, `is_leader(tp)`,
//!    `leader_epoch(tp)`, `led_partitions()`, `offsets(tp)` ([`PartitionOffsets`]: log start, HW, LSO,
//!    log end), `read(tp, fetch_offset, max_bytes, FetchIsolation)` (whole batches up to the HW or the
//!    LSO with aborted transactions, at least one batch), `aborted_transactions(tp, from, to)`. Reads and
//!    offsets need this broker to lead `tp` (else NOT_LEADER_OR_FOLLOWER).
//! 4. **Act** through the [`ServiceContext`] (applied after your method returns, in order):
//!    `cx.respond(connection, &header, response)` (now or later: keep connection and header);
//!    `cx.call(token, CallTarget::Broker(id) | CallTarget::Controller, api_version, request,
//!    timeout_ms)` → later `handle_call_result(now_ms, cx, token, Result<ResponseKind, TransportError>)`;
//!    `cx.append(token, tp, AppendRecords::Batch(bytes) | AppendRecords::Marker{producer, control,
//!    coordinator_epoch}, Acks::All | Acks::Leader, timeout_ms)` on a partition this broker leads (internal
//!    topics `__share_group_state`, `__consumer_offsets`, transaction markers) → later
//!    `handle_append_result(now_ms, cx, token, Result<AppendInfo, ResponseError>)` (acks=all: once the HW
//!    passes the records; NOT_LEADER_OR_FOLLOWER if leadership is lost first; REQUEST_TIMED_OUT);
//!    `cx.close(connection)`; `cx.trace(TraceEvent)`. Tokens are the service's own numbers.
//! 5. **Subscribe** to events (default no-ops): `handle_leadership_change(now_ms, cx, &LeadershipChange
//!    {partition, topic_id, kind: BecameLeader{leader_epoch} | LostLeadership{leader_epoch, new_leader,
//!    new_leader_epoch}})` for every partition of every topic, internal ones included;
//!    `handle_high_watermark(now_ms, cx, tp, hw)` when a led partition's HW advances (new records
//!    readable: complete a delayed ShareFetch); `handle_connection_closed(now_ms, cx, connection)`;
//!    `handle_timeout(now_ms, cx)` when `poll_timeout()` (yours) is reached.
//!
//! Internal topics are created like any topic (CreateTopics to the controller, or the harness at start).
//!
//! # Choices where Kafka does more
//! - Metadata reaches brokers by a pull of MetadataRequest v12 from the controller after a heartbeat
//!   says the broker is behind (see [`controller_wire`]); Kafka replicates the metadata log.
//! - Fetch sessions are not kept (session id 0); DeleteRecords answers at once with the leader's low
//!   watermark; topic configs in CreateTopics are ignored (the broker's `LogConfig` applies); acks=0
//!   errors do not close the connection; ListOffsets by timestamp answers the batch's base offset.

mod api_versions;
pub mod controller_wire;
mod core;
mod create_topics;
mod delete_records;
mod dispatch;
mod fetch;
mod lifecycle;
mod list_offsets;
mod metadata;
mod output;
mod produce;
mod replica_fetcher;
mod service;
mod state;
mod topics;
mod trace;
mod view;

mod config;

pub use self::core::BrokerCore;
pub use api_versions::{api_version_entry, BROKER_API_KEYS};
pub use config::BrokerConfig;
pub use output::{BrokerOutput, CallTarget};
pub use replica_fetcher::REPLICA_FETCH_VERSION;
pub use service::{
    AppendRecords, BrokerService, LeadershipChange, LeadershipChangeKind, ServiceContext,
    ServiceEffect,
};
pub use trace::ClusterEvent;
pub use view::{BrokerView, PartitionOffsets};

#[cfg(test)]
mod tests;
