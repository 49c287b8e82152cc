//! Identities of the share-session cache: the session key (group id, member id) and the client
//! connection a session is bound to (spec 2.4, 2.5).

use serde::{Deserialize, Serialize};

use crate::share::MemberId;
use crate::ResponseError;

/// A share session is keyed by (group id, member id) (`ShareSessionKey`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ShareSessionKey {
    /// The share group.
    pub group_id: String,
    /// The member, as the client generated it.
    pub member_id: MemberId,
}

impl ShareSessionKey {
    /// Spec 2.4: the member id must be non-empty and at most 36 characters, else INVALID_REQUEST.
    pub fn new(group_id: &str, member_id: &str) -> Result<ShareSessionKey, ResponseError> {
        if member_id.is_empty() || member_id.chars().count() > MemberId::LENGTH_MAX {
            return Err(ResponseError::InvalidRequest);
        }
        Ok(ShareSessionKey {
            group_id: group_id.to_owned(),
            member_id: MemberId::new(member_id),
        })
    }
}

/// The client connection a request arrived on (Kafka's connection id string, here a number the node
/// assigns). A disconnect releases the session created on it (4.1+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ConnectionId(pub u64);
