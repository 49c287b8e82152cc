//! The classic group consumer (Kafka's `ClassicKafkaConsumer`, eager rebalance protocol) as a sans-IO
//! engine: the baseline share consumers are compared with (issue 4). It finds the group coordinator,
//! joins with the `consumer` protocol (range or round-robin, run by the leader), fetches from partition
//! leaders, returns up to `max.poll.records` per `poll`, commits automatically or on `commit_sync`, and
//! stops consuming during rebalances.
//!
//! Choices where sharesim is simpler than the Java client (each also noted where made):
//! * No fetch sessions (every Fetch is a sessionless full fetch) and no prefetch beyond one buffered
//!   response per partition.
//! * Auto-commit sends only when some position moved since the last successful commit.
//! * A commit before an eager rejoin is tried once (Java retries it until the rebalance timeout); a
//!   failed one is traced and the consumer rejoins anyway, so its uncommitted work is redelivered.
//! * Static membership, cooperative rebalancing, the sticky assignors and rack awareness are not
//!   modelled.

mod assignor;
mod config;
mod consumer;
mod events;
mod protocol;
mod requests;
mod responses;

#[cfg(test)]
mod tests;

pub use assignor::Assignor;
pub use config::{ClassicConsumerConfig, OffsetResetStrategy};
pub use consumer::{ClassicConsumer, MemberState};
pub use events::{ClassicConsumerEvent, ClassicRecord, CommitSyncId, Destination, Transmit};
pub use protocol::{
    decode_assignment, decode_subscription, encode_assignment, encode_subscription,
    CONSUMER_PROTOCOL_VERSION,
};
pub use requests::{
    FETCH_VERSION, FIND_COORDINATOR_VERSION, HEARTBEAT_VERSION, JOIN_GROUP_VERSION,
    LEAVE_GROUP_VERSION, LIST_OFFSETS_VERSION, METADATA_VERSION, OFFSET_COMMIT_VERSION,
    OFFSET_FETCH_VERSION, SYNC_GROUP_VERSION,
};
