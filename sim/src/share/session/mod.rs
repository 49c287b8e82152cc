//! Share sessions (spec 2.4, 2.5): the broker-side cache that checks ShareFetch / ShareAcknowledge
//! session epochs, keeps each session's partitions and their round-robin fetch order, and tells the
//! broker when a member's acquired records must be released (FINAL epoch, or the connection closed).
//!
//! Epochs: 0 opens a session (replacing any session of the key *without* releasing records), the
//! session's epoch is then 1, each matching request advances it (wrapping from `i32::MAX` to 1), and -1
//! closes it. Releasing records is the share-partition engine's job; this cache only names the member
//! and the partitions.

mod cache;
mod key;
mod share_session;

pub use cache::{
    DisconnectOutcome, ReleasedSession, ShareAcknowledgeContext, ShareFetchContext,
    ShareFetchSessionRequest, ShareSessionCache, ShareSessionCacheConfig,
};
pub use key::{ConnectionId, ShareSessionKey};
pub use share_session::{next_epoch, rotate_round_robin, ShareSession, FINAL_EPOCH, INITIAL_EPOCH};

#[cfg(test)]
mod tests;
