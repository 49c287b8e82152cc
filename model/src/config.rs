//! The bounds and choices of the share-partition spec model: profile, acquire modes, fault budgets and
//! the deliberately wrong variants (mutations) used to show that every property can fail.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::share_partition::ShareModel;
use crate::state::{OffsetMask, MEMBERS_MAX, PENDING_WRITES_MAX, RECORDS_MAX};

/// The Kafka release whose share-partition rules the model follows. The model keeps its own small enum
/// (it must not depend on the simulator); the names match the simulator's `Release` profile names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Profile {
    /// Apache Kafka 4.0 (early access).
    #[serde(rename = "kafka-4.0")]
    Kafka4_0,
    /// Apache Kafka 4.1 (preview).
    #[serde(rename = "kafka-4.1")]
    Kafka4_1,
    /// Apache Kafka 4.2 (GA). The default.
    #[serde(rename = "kafka-4.2")]
    Kafka4_2,
}

/// What a share-session release (close, disconnect, member leave) does to the delivery count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionReleaseRule {
    /// Spec 1.2 transition 6, 4.0 and 4.2+: the count is kept and a record at the limit is archived.
    KeepAndArchiveAtLimit,
    /// Spec 1.2 transition 6, 4.1: the count is decremented and a session release never archives.
    DecrementNeverArchive,
}

impl Profile {
    /// Every profile, oldest first.
    pub const ALL: [Profile; 3] = [Profile::Kafka4_0, Profile::Kafka4_1, Profile::Kafka4_2];

    /// The name used on the command line and in counterexamples.
    pub fn name(self) -> &'static str {
        match self {
            Profile::Kafka4_0 => "kafka-4.0",
            Profile::Kafka4_1 => "kafka-4.1",
            Profile::Kafka4_2 => "kafka-4.2",
        }
    }

    /// Spec 1.2 transition 6. The spec (not the task brief) wins here: 4.0 also archives at the limit.
    pub fn session_release_rule(self) -> SessionReleaseRule {
        match self {
            Profile::Kafka4_1 => SessionReleaseRule::DecrementNeverArchive,
            Profile::Kafka4_0 | Profile::Kafka4_2 => SessionReleaseRule::KeepAndArchiveAtLimit,
        }
    }

    /// RENEW (ack type 4) exists from 4.2 (KIP-1222, spec 2.1).
    pub fn renew_supported(self) -> bool {
        self == Profile::Kafka4_2
    }

    /// `share.acquire.mode=record_limit` exists from 4.2 (KIP-1206, spec 2.6).
    pub fn record_limit_supported(self) -> bool {
        self == Profile::Kafka4_2
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Profile {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Profile::ALL
            .into_iter()
            .find(|profile| profile.name() == name)
            .ok_or_else(|| {
                format!("unknown profile `{name}`; valid: kafka-4.0, kafka-4.1, kafka-4.2")
            })
    }
}

/// `share.acquire.mode` (spec 2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireMode {
    /// Whole log batches: the last log batch is taken whole even past the record budget.
    BatchOptimized,
    /// At most `max_records_per_acquire` records, splitting log batches.
    RecordLimit,
}

/// Which acquire modes the consumers use in the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireModes {
    /// Only `batch_optimized` (the default, and the only mode before 4.2).
    BatchOptimized,
    /// Only `record_limit` (4.2+).
    RecordLimit,
    /// Both, chosen per fetch (4.2+).
    Both,
}

impl AcquireModes {
    /// Whether `mode` is used.
    pub fn includes(self, mode: AcquireMode) -> bool {
        matches!(
            (self, mode),
            (AcquireModes::Both, _)
                | (AcquireModes::BatchOptimized, AcquireMode::BatchOptimized)
                | (AcquireModes::RecordLimit, AcquireMode::RecordLimit)
        )
    }
}

impl FromStr for AcquireModes {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "batch_optimized" | "batch-optimized" => Ok(AcquireModes::BatchOptimized),
            "record_limit" | "record-limit" => Ok(AcquireModes::RecordLimit),
            "both" => Ok(AcquireModes::Both),
            _ => Err(format!(
                "unknown acquire mode `{name}`; valid: batch_optimized, record_limit, both"
            )),
        }
    }
}

/// A deliberately wrong variant of the spec. Each must be caught by at least one `always` property;
/// tests check that, and that every `always` property catches at least one mutation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SpecMutation {
    /// Lock expiry makes a record AVAILABLE even at the delivery-count limit (breaks spec 1.3).
    ExpiryIgnoresDeliveryLimit,
    /// RELEASE from a member that does not own the record is accepted (breaks spec 2.2).
    ReleaseFromNonOwner,
    /// Failover keeps ACQUIRED records (with their owner) although their locks died (breaks spec 3.5).
    FailoverKeepsAcquired,
    /// SPSO advancement passes records whose write is still pending (breaks spec 1.6).
    SpsoPassesPendingWrite,
    /// The coordinator applies writes with a stale leader or state epoch (breaks spec 3.4).
    FencingSkipped,
    /// A session release releases every ACQUIRED record, not only the member's own (breaks spec 1.2.6).
    SessionReleasesOthers,
    /// The coordinator takes the request's start offset even when it is lower (breaks spec 3.3).
    PersistedStartRegresses,
    /// Initialization turns persisted ACKNOWLEDGED/ARCHIVED records into AVAILABLE (breaks spec 3.5).
    TerminalMadeAvailable,
    /// Acquisition ignores `group.share.partition.max.record.locks` (breaks spec 1.5).
    InFlightLimitIgnored,
    /// The ack response is sent before the persister write completes (breaks spec 3.2).
    EarlyAckResponse,
    /// With the DLQ, a failed dead-letter enqueue makes the ARCHIVING record AVAILABLE again instead
    /// of ARCHIVED (breaks spec 1.2 #10: phase 2 archives whether the enqueue succeeded or failed).
    DeadLetterFailureRedelivers,
    /// With the DLQ, SPSO advancement takes ARCHIVING for terminal (breaks spec 1.1, 1.6).
    SpsoPassesArchiving,
}

impl SpecMutation {
    /// Every mutation.
    pub const ALL: [SpecMutation; 12] = [
        SpecMutation::ExpiryIgnoresDeliveryLimit,
        SpecMutation::ReleaseFromNonOwner,
        SpecMutation::FailoverKeepsAcquired,
        SpecMutation::SpsoPassesPendingWrite,
        SpecMutation::FencingSkipped,
        SpecMutation::SessionReleasesOthers,
        SpecMutation::PersistedStartRegresses,
        SpecMutation::TerminalMadeAvailable,
        SpecMutation::InFlightLimitIgnored,
        SpecMutation::EarlyAckResponse,
        SpecMutation::DeadLetterFailureRedelivers,
        SpecMutation::SpsoPassesArchiving,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            SpecMutation::ExpiryIgnoresDeliveryLimit => "expiry-ignores-delivery-limit",
            SpecMutation::ReleaseFromNonOwner => "release-from-non-owner",
            SpecMutation::FailoverKeepsAcquired => "failover-keeps-acquired",
            SpecMutation::SpsoPassesPendingWrite => "spso-passes-pending-write",
            SpecMutation::FencingSkipped => "fencing-skipped",
            SpecMutation::SessionReleasesOthers => "session-releases-others",
            SpecMutation::PersistedStartRegresses => "persisted-start-regresses",
            SpecMutation::TerminalMadeAvailable => "terminal-made-available",
            SpecMutation::InFlightLimitIgnored => "in-flight-limit-ignored",
            SpecMutation::EarlyAckResponse => "early-ack-response",
            SpecMutation::DeadLetterFailureRedelivers => "dead-letter-failure-redelivers",
            SpecMutation::SpsoPassesArchiving => "spso-passes-archiving",
        }
    }
}

impl fmt::Display for SpecMutation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for SpecMutation {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        SpecMutation::ALL
            .into_iter()
            .find(|mutation| mutation.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = SpecMutation::ALL.iter().map(|m| m.name()).collect();
                format!("unknown mutation `{name}`; valid: {}", valid.join(", "))
            })
    }
}

/// The bounds of one model check. Build it, adjust fields, then call [`ShareModelCfg::into_model`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareModelCfg {
    /// The release whose rules apply.
    pub profile: Profile,
    /// Records produced in total (offsets `0..records`), at most [`RECORDS_MAX`].
    pub records: u8,
    /// Records per log batch: each produce appends one log batch.
    pub log_batch_size: u8,
    /// Consumer members, at most [`MEMBERS_MAX`].
    pub members: u8,
    /// `group.share.delivery.count.limit` (spec 1.3).
    pub delivery_count_limit: u8,
    /// `group.share.partition.max.record.locks` (spec 1.5).
    pub max_in_flight_records: u8,
    /// `max.poll.records`, sent as `MaxRecords` (spec 2.6).
    pub max_records_per_acquire: u8,
    /// The acquire modes consumers use.
    pub acquire_modes: AcquireModes,
    /// Leader failovers allowed.
    pub failovers_max: u8,
    /// Persister write failures allowed.
    pub write_failures_max: u8,
    /// Lock expiries allowed; `None` for no bound.
    pub lock_expiries_max: Option<u8>,
    /// Log-start-offset moves (retention, DeleteRecords) allowed.
    pub log_start_moves_max: u8,
    /// Corrupt log batches (client REJECTs every acquired offset of the batch) allowed.
    pub corrupt_batches_max: u8,
    /// Deserialization errors (client RELEASEs the record) allowed.
    pub deserialization_errors_max: u8,
    /// Group offset resets (AlterShareGroupOffsets: state epoch bump) allowed.
    pub offset_resets_max: u8,
    /// Persister writes in flight at once, at most [`PENDING_WRITES_MAX`]. Requests that would need
    /// one more wait (a model bound, not a Kafka rule).
    pub pending_writes_max: u8,
    /// A deliberately wrong variant, off by default.
    pub mutation: Option<SpecMutation>,
    /// Record reachability events (ghost flags for the `sometimes` properties that are not state
    /// predicates). Each flag splits states, so large checks may turn them off.
    pub witnesses: bool,
    /// Canonicalize every successor state by member renaming (symmetry reduction inside the model,
    /// which works with BFS; stateright 0.31 applies `CheckerBuilder::symmetry` only in DFS).
    pub symmetry: bool,
    /// The offsets (a bit mask) of data records in aborted transactions, read with
    /// `share.isolation.level=read_committed`: an acquisition archives them at once (spec 1.2 #9, 6).
    /// 0 (the default) is read_uncommitted, or no aborted transaction; the checks use 0, so their
    /// state counts do not depend on it. A trace replay (`sharesim conform`) sets it.
    #[serde(default, skip_serializing_if = "no_offsets")]
    pub aborted_offsets: OffsetMask,
    /// The group has a dead-letter queue (KIP-1191: `errors.deadletterqueue.topic.name` set, with
    /// `share.version=2`, Kafka 4.4): a REJECT, or the delivery-count limit, moves a record to
    /// ARCHIVING instead of ARCHIVED, and the DLQ's phase 2 (`ShareAction::DeadLetterCompleted`)
    /// archives it (spec 1.1, 1.2 #3-#6, #10, 1.3). Off by default, which keeps every state count.
    /// Kafka has the DLQ only from 4.4, which keeps 4.2's rules otherwise; with an older profile the
    /// switch is a what-if (the simulator's `dlq_enabled` is independent of the release too).
    #[serde(default, skip_serializing_if = "is_false")]
    pub dead_letter_queue: bool,
}

fn no_offsets(mask: &OffsetMask) -> bool {
    *mask == 0
}

fn is_false(value: &bool) -> bool {
    !*value
}

impl Default for ShareModelCfg {
    fn default() -> Self {
        ShareModelCfg {
            profile: Profile::Kafka4_2,
            records: 2,
            log_batch_size: 1,
            members: 2,
            delivery_count_limit: 2,
            max_in_flight_records: 4,
            max_records_per_acquire: 2,
            acquire_modes: AcquireModes::BatchOptimized,
            failovers_max: 0,
            write_failures_max: 0,
            lock_expiries_max: None,
            log_start_moves_max: 0,
            corrupt_batches_max: 0,
            deserialization_errors_max: 0,
            offset_resets_max: 0,
            pending_writes_max: 2,
            mutation: None,
            witnesses: true,
            symmetry: false,
            aborted_offsets: 0,
            dead_letter_queue: false,
        }
    }
}

impl ShareModelCfg {
    /// Checks the bounds; the message names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        let check = |ok: bool, message: String| if ok { Ok(()) } else { Err(message) };
        check(
            (1..=RECORDS_MAX as u8).contains(&self.records),
            format!("--records must be 1..={RECORDS_MAX}, got {}", self.records),
        )?;
        check(
            self.log_batch_size >= 1 && self.log_batch_size <= self.records,
            format!(
                "--log-batch-size must be 1..=records, got {}",
                self.log_batch_size
            ),
        )?;
        check(
            (1..=MEMBERS_MAX as u8).contains(&self.members),
            format!("--members must be 1..={MEMBERS_MAX}, got {}", self.members),
        )?;
        check(
            (1..=10).contains(&self.delivery_count_limit),
            format!(
                "--delivery-count-limit must be 1..=10, got {}",
                self.delivery_count_limit
            ),
        )?;
        check(
            self.max_in_flight_records >= 1,
            "--max-in-flight must be at least 1".to_string(),
        )?;
        check(
            self.max_records_per_acquire >= 1,
            "--max-records must be at least 1".to_string(),
        )?;
        check(
            (1..=PENDING_WRITES_MAX as u8).contains(&self.pending_writes_max),
            format!(
                "--pending-writes must be 1..={PENDING_WRITES_MAX}, got {}",
                self.pending_writes_max
            ),
        )?;
        check(
            self.acquire_modes == AcquireModes::BatchOptimized
                || self.profile.record_limit_supported(),
            format!(
                "acquire mode record_limit needs kafka-4.2, profile is {}",
                self.profile
            ),
        )?;
        check(
            u16::from(self.aborted_offsets) >> self.records == 0,
            format!(
                "aborted offsets {:#b} lie past the {} records",
                self.aborted_offsets, self.records
            ),
        )?;
        let small = [
            ("--failovers", self.failovers_max),
            ("--write-failures", self.write_failures_max),
            ("--lock-expiries", self.lock_expiries_max.unwrap_or(0)),
            ("--log-start-moves", self.log_start_moves_max),
            ("--corrupt-batches", self.corrupt_batches_max),
            ("--deserialization-errors", self.deserialization_errors_max),
            ("--offset-resets", self.offset_resets_max),
        ];
        for (flag, value) in small {
            check(value <= 8, format!("{flag} must be at most 8, got {value}"))?;
        }
        Ok(())
    }

    /// Whether every path of the state graph is acyclic, which stateright's `eventually` needs (it
    /// reports a liveness violation only at a state without successors, so a cycle hides one). 4.1's
    /// session release decrements the delivery count, so acquire/close can repeat forever.
    pub fn is_acyclic(&self) -> bool {
        self.profile.session_release_rule() == SessionReleaseRule::KeepAndArchiveAtLimit
    }

    /// Whether the `eventually` property is checked: the graph must be acyclic, and lock expiry
    /// unbounded (a record held by a member that left is freed only by its lock expiring).
    pub fn liveness_checkable(&self) -> bool {
        self.is_acyclic() && self.lock_expiries_max.is_none()
    }

    /// Builds the model, or says which bound is wrong.
    pub fn into_model(self) -> Result<ShareModel, String> {
        self.validate()?;
        Ok(ShareModel::new(self))
    }
}
