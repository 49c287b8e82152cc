//! Deliberately wrong variants of the engine, off by default. They exist only so that the model checker
//! (the implementation model in the root package's `pairing`) can show that its properties and its
//! refinement check catch a broken engine. No real profile ever sets one.

use serde::{Deserialize, Serialize};

/// A deliberately wrong engine variant (see [`super::SharePartition::set_mutation`]).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineMutation {
    /// Lock expiry returns a record to AVAILABLE even at the delivery-count limit (breaks spec 1.3).
    ExpiryIgnoresDeliveryLimit,
    /// A RELEASE from a member that does not hold the record is accepted (breaks spec 2.2).
    ReleaseFromNonOwner,
}
