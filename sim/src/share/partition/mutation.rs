//! Deliberately wrong variants of the engine, off by default. They exist only so that the model checker
//! (the implementation model in the root package's `pairing`) and the oracle (the runner's mutation
//! sweep, issue 6) can show that their properties and invariants catch a broken engine. No real profile
//! ever sets one; a scenario reaches them only through its `mutations` list.

use serde::{Deserialize, Serialize};

/// A deliberately wrong engine variant (see [`super::SharePartition::set_mutation`]). Each one changes
/// the single place where the rule it breaks lives.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineMutation {
    /// Lock expiry returns a record to AVAILABLE even at the delivery-count limit (breaks spec 1.3).
    ExpiryIgnoresDeliveryLimit,
    /// A RELEASE from a member that does not hold the record is accepted (breaks spec 2.2).
    ReleaseFromNonOwner,
    /// Acquisition takes cached ACQUIRED records too, whoever holds them (breaks spec 1.2 #1).
    AcquireIgnoresLock,
    /// Acquisition takes cached ACKNOWLEDGED and ARCHIVED records too (breaks spec 1.2: terminal).
    AcquireTerminalRecords,
    /// SPSO advances over records whose write is still in flight (breaks spec 1.6).
    SpsoPassesPendingWrite,
    /// Acquisition ignores `group.share.partition.max.record.locks` (breaks spec 1.5).
    IgnoreMaxRecordLocks,
    /// A fetch response lists its last acquired range twice (breaks "one response never hands out an
    /// offset twice").
    DuplicateAcquiredRange,
}
