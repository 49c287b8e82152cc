//! The member id of a share-group member, as the client generated it (a UUID string in Kafka).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// A share-group member id. Cheap to clone: engines keep one per cached batch.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct MemberId(Arc<str>);

impl MemberId {
    /// Kafka rejects member ids longer than this in share sessions (spec 2.4).
    pub const LENGTH_MAX: usize = 36;

    /// Wraps a client-chosen id. Validation (non-empty, at most 36 characters) belongs to the session layer.
    pub fn new(id: impl AsRef<str>) -> MemberId {
        MemberId(Arc::from(id.as_ref()))
    }

    /// The id as sent on the wire.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for MemberId {
    fn from(id: &str) -> Self {
        MemberId::new(id)
    }
}
