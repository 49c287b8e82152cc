//! The state of the share-partition spec model: a bounded log, the share-partition leader's in-memory
//! records, the share coordinator's persisted image, the persister writes in flight, and ghost
//! (history) variables that only the properties read.
//!
//! Everything is a fixed-size array of small `Copy` values: no heap, cheap to clone and hash. Offsets
//! are `u8` (at most [`RECORDS_MAX`]); sets of offsets are `u8` bit masks.

use serde::{Deserialize, Serialize};

/// The largest number of records a model can produce.
pub const RECORDS_MAX: usize = 8;
/// The largest number of members.
pub const MEMBERS_MAX: usize = 4;
/// The largest number of persister writes in flight.
pub const PENDING_WRITES_MAX: usize = 4;

/// A consumer member, by index. Members are symmetric: the model renames them (see `symmetry.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Member(pub u8);

/// An offset set as a bit mask (bit `o` is offset `o`).
pub type OffsetMask = u8;

/// Offsets of a mask, ascending.
pub fn mask_offsets(mask: OffsetMask) -> Vec<u8> {
    (0..RECORDS_MAX as u8)
        .filter(|o| mask & (1 << o) != 0)
        .collect()
}

/// The in-memory delivery state of one offset (spec 1.1; ARCHIVING only with
/// [`crate::ShareModelCfg::dead_letter_queue`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    /// Can be acquired.
    Available,
    /// Held by one member under an acquisition lock. Never persisted.
    Acquired,
    /// Accepted. Terminal.
    Acknowledged,
    /// Rejected, gap, delivery limit reached, or below the log start offset. Terminal.
    Archived,
    /// On its way to the dead-letter queue (KIP-1191, phase 1 of dead-lettering): not terminal, so
    /// SPSO stops at it; the DLQ's phase 2 makes it ARCHIVED (spec 1.1, 1.2 #10). Last, so the
    /// variants above keep their order.
    Archiving,
}

impl RecordState {
    /// ACKNOWLEDGED and ARCHIVED never change again (spec 1.1 `validateTransition`).
    pub fn is_terminal(self) -> bool {
        matches!(self, RecordState::Acknowledged | RecordState::Archived)
    }

    /// Kafka's state id, used by the coordinator's merge tie-break (spec 3.3).
    pub fn id(self) -> u8 {
        match self {
            RecordState::Available => 0,
            RecordState::Acquired => 1,
            RecordState::Acknowledged => 2,
            RecordState::Archiving => 3,
            RecordState::Archived => 4,
        }
    }
}

/// The acquisition lock of one offset. Time is abstracted: any held lock may expire at any moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Lock {
    /// No timer.
    None,
    /// A live timer on the current leader.
    Held,
    /// The timer fired while an ack write was pending: the handler skipped the record, and a failed
    /// write will roll it back to AVAILABLE, not ACQUIRED (spec 1.4, last bullet).
    ExpiredDuringWrite,
    /// The last acquisition ended by lock expiry (kept only to observe "redelivered after expiry").
    ExpiredLast,
}

/// The in-flight two-phase transition of an offset (`InFlightState.rollbackState`, spec 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Rollback {
    /// The member that held the record before the transition started.
    pub owner: Member,
    /// The delivery count before the transition (4.1's session release decrements it).
    pub delivery_count: u8,
    /// The target AVAILABLE record was archived by a log-start move while the write was pending
    /// (Kafka's `isTerminalState`): a rollback then keeps it ARCHIVED.
    pub archived_meanwhile: bool,
}

/// The coordinator's persisted state of one offset (a `StateBatch` entry).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PersistedRecord {
    /// `None`: no batch covers the offset (never written, or pruned below the start offset).
    pub state: Option<PersistedState>,
    /// The persisted delivery count.
    pub delivery_count: u8,
}

/// A persisted delivery state (`DeliveryState`: 0 available, 2 acknowledged, 3 archiving (with the
/// DLQ, spec 1.1), 4 archived).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PersistedState {
    /// 0.
    Available,
    /// 2.
    Acknowledged,
    /// 4.
    Archived,
    /// 3: written by the DLQ's phase 1 (spec 3.2); a new leader resumes phase 2 (spec 1.2 #10).
    Archiving,
}

impl PersistedState {
    /// The persisted form of an in-memory state; ACQUIRED is never persisted.
    pub fn of(state: RecordState) -> Option<PersistedState> {
        match state {
            RecordState::Available => Some(PersistedState::Available),
            RecordState::Acquired => None,
            RecordState::Acknowledged => Some(PersistedState::Acknowledged),
            RecordState::Archived => Some(PersistedState::Archived),
            RecordState::Archiving => Some(PersistedState::Archiving),
        }
    }

    /// The in-memory state a new leader restores.
    pub fn restored(self) -> RecordState {
        match self {
            PersistedState::Available => RecordState::Available,
            PersistedState::Acknowledged => RecordState::Acknowledged,
            PersistedState::Archived => RecordState::Archived,
            PersistedState::Archiving => RecordState::Archiving,
        }
    }
}

/// One offset: the leader's in-memory state, the coordinator's persisted state, and ghosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// In-memory state; while a write is pending, the target state of the transition.
    pub state: RecordState,
    /// In-memory delivery count.
    pub delivery_count: u8,
    /// The member holding it (`memberId`); `None` unless ACQUIRED.
    pub owner: Option<Member>,
    /// The acquisition lock.
    pub lock: Lock,
    /// Rollback information while a two-phase write is pending.
    pub pending: Option<Rollback>,
    /// The share coordinator's persisted image of this offset.
    pub persisted: PersistedRecord,
    /// Ghost: acquisitions in this state epoch, saturating at `delivery_count_limit + 1`.
    pub deliveries: u8,
    /// Ghost: some delivery attempt was lost at a failover (spec 3.5: not counted).
    pub attempt_lost: bool,
}

impl Record {
    /// A record nobody has fetched yet.
    pub const FRESH: Record = Record {
        state: RecordState::Available,
        delivery_count: 0,
        owner: None,
        lock: Lock::None,
        pending: None,
        persisted: PersistedRecord {
            state: None,
            delivery_count: 0,
        },
        deliveries: 0,
        attempt_lost: false,
    };

    /// Terminal with no write pending: SPSO may pass it (spec 1.6).
    pub fn is_terminal_committed(&self) -> bool {
        self.state.is_terminal() && self.pending.is_none()
    }

    /// ACQUIRED with no transition in progress: acks and releases apply (spec 2.2).
    pub fn is_held(&self) -> bool {
        self.state == RecordState::Acquired && self.pending.is_none()
    }
}

/// Whether a member is in the group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MemberStatus {
    /// Fetching and acknowledging.
    Active,
    /// Left the group (its records were released); takes no more actions.
    Left,
    /// Not configured (index at or past `members`).
    Absent,
}

/// What a persister write carries (spec 3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WriteKind {
    /// ACCEPT/RELEASE/REJECT/GAP from a member: two-phase, the ack response waits for it.
    Acknowledge(Member),
    /// A share-session release (close, leave): two-phase, nobody waits for it.
    SessionRelease(Member),
    /// Lock expiry: one-phase, the in-memory transition stands even if the write fails.
    LockExpiry,
    /// The DLQ's phase 2 (ARCHIVED): one-phase, a failure leaves ARCHIVED in memory (spec 3.2).
    DeadLetter,
}

impl WriteKind {
    /// The member whose request caused the write.
    pub fn member(self) -> Option<Member> {
        match self {
            WriteKind::Acknowledge(member) | WriteKind::SessionRelease(member) => Some(member),
            WriteKind::LockExpiry | WriteKind::DeadLetter => None,
        }
    }

    /// Whether the write is part of a two-phase transition (rolled back on failure).
    pub fn is_two_phase(self) -> bool {
        !matches!(self, WriteKind::LockExpiry | WriteKind::DeadLetter)
    }
}

/// A `WriteShareGroupState` in flight from the leader to the share coordinator.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PendingWrite {
    /// Why it was written.
    pub kind: WriteKind,
    /// The offsets it carries.
    pub offsets: OffsetMask,
    /// The new (state, delivery count) per offset; default outside `offsets`.
    pub entries: [PersistedRecord; RECORDS_MAX],
    /// `StartOffset`: the SPSO when the write was issued.
    pub start_offset: u8,
    /// The writer's leader epoch.
    pub leader_epoch: u8,
    /// The writer's state epoch.
    pub state_epoch: u8,
    /// Ghost: the client already got an answer for this ack.
    pub answered: bool,
}

/// The share coordinator's persisted image header (`ShareSnapshot`/`ShareUpdate`, spec 3.3-3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Coordinator {
    /// Persisted `StartOffset`.
    pub start_offset: u8,
    /// Highest state epoch (set by Initialize, i.e. by a group offset reset).
    pub state_epoch: u8,
    /// Highest leader epoch seen (a Read by a new leader raises it).
    pub leader_epoch: u8,
}

/// Faults used so far, against the configured budgets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Budgets {
    /// Leader failovers.
    pub failovers: u8,
    /// Failed persister writes.
    pub write_failures: u8,
    /// Lock expiries (counted only when bounded).
    pub lock_expiries: u8,
    /// Log-start-offset moves.
    pub log_start_moves: u8,
    /// Corrupt batches.
    pub corrupt_batches: u8,
    /// Deserialization errors.
    pub deserialization_errors: u8,
    /// Group offset resets.
    pub offset_resets: u8,
}

/// Ghost flags: a safety violation observed during a step (history variables for properties).
pub mod violation {
    /// A member's request changed a record another member held (OWNER).
    pub const FOREIGN_RECORD_TOUCHED: u8 = 1 << 0;
    /// The coordinator applied a write with a stale epoch (FENCING).
    pub const STALE_WRITE_APPLIED: u8 = 1 << 1;
    /// The persisted start offset or a persisted record went backwards (DURABLE).
    pub const PERSISTED_REGRESSED: u8 = 1 << 2;
    /// SPSO moved backwards within one leader incarnation (SPSO-SAFE).
    pub const SPSO_REGRESSED: u8 = 1 << 3;
    /// An ack got a second answer (ACK-OUTCOME).
    pub const ACK_ANSWERED_TWICE: u8 = 1 << 4;
}

/// Ghost flags: interesting events caused by the step into this state (for `sometimes` properties);
/// cleared at the next step.
pub mod event {
    /// Release, expiry or session release archived a record at the delivery-count limit.
    pub const ARCHIVED_AT_LIMIT: u8 = 1 << 0;
    /// A record whose last lock expired was acquired again.
    pub const REDELIVERED_AFTER_EXPIRY: u8 = 1 << 1;
    /// A failed write rolled a transition back.
    pub const ROLLED_BACK: u8 = 1 << 2;
    /// A failed write found the lock expired and rolled back to AVAILABLE/ARCHIVED.
    pub const ROLLED_BACK_AFTER_EXPIRY: u8 = 1 << 3;
    /// The coordinator fenced a write.
    pub const WRITE_FENCED: u8 = 1 << 4;
    /// The DLQ's phase 2 moved a record ARCHIVING -> ARCHIVED.
    pub const DEAD_LETTERED: u8 = 1 << 5;
}

/// History variables read only by properties.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Ghost {
    /// Offsets that became terminal within this state epoch and must never be deliverable again.
    pub terminal: OffsetMask,
    /// Offsets whose terminal ack (ACCEPT/REJECT/GAP) the client got `NONE` for in this state epoch.
    pub confirmed_terminal: OffsetMask,
    /// [`violation`] flags.
    pub violations: u8,
    /// [`event`] flags of the last step.
    pub events: u8,
    /// Offsets whose move to ARCHIVING committed in this leader incarnation (the DLQ's phase 1 is
    /// done): until phase 2 archives them they must stay ARCHIVING (DEAD-LETTER). Always 0 without
    /// the DLQ; with it, a function of the records in the unmutated model (cleared at ARCHIVED), so
    /// it splits no states there.
    pub dead_lettered: OffsetMask,
}

/// The whole model state. `Hash` packs the fields into at most 20 words first (injectively: the
/// checkers keep only fingerprints, so a collision would lose states), which is much cheaper than
/// hashing field by field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareState {
    /// Per offset; entries at or past the configured record count stay [`Record::FRESH`].
    pub records: [Record; RECORDS_MAX],
    /// Per member.
    pub members: [MemberStatus; MEMBERS_MAX],
    /// Persister writes in flight, sorted, `None` last (completion order is free, so order is noise).
    pub writes: [Option<PendingWrite>; PENDING_WRITES_MAX],
    /// The log end offset: records produced so far.
    pub produced: u8,
    /// The log start offset (retention, DeleteRecords).
    pub log_start: u8,
    /// SPSO.
    pub spso: u8,
    /// SPEO + 1: one past the last offset ever acquired or restored (the in-flight window end).
    pub window_end: u8,
    /// The offsets in `[spso, window_end)` that begin one of the leader's cached batches (or a hole
    /// of the restored window, acquired like new records). A batch_optimized fetch checks its record
    /// budget only there (spec 2.6). Acquisition caches log batches; a new leader caches the persisted
    /// state batches, which the coordinator coalesces across log batches (spec 1.7, 3.3). Past
    /// `window_end` the log batches count.
    pub cached_batch_starts: OffsetMask,
    /// The current leader's epoch.
    pub leader_epoch: u8,
    /// The state epoch the leader read at initialization.
    pub state_epoch: u8,
    /// The share coordinator's image header.
    pub coordinator: Coordinator,
    /// Faults used.
    pub budgets: Budgets,
    /// History variables.
    pub ghost: Ghost,
}

impl ShareState {
    /// The record at `offset`.
    pub fn record(&self, offset: u8) -> &Record {
        &self.records[offset as usize]
    }

    /// The record at `offset`, mutably.
    pub fn record_mut(&mut self, offset: u8) -> &mut Record {
        &mut self.records[offset as usize]
    }

    /// Records between SPSO and SPEO inclusive (spec 1.5 `numInFlightRecords`).
    pub fn in_flight(&self) -> u8 {
        self.window_end.saturating_sub(self.spso)
    }

    /// Writes in flight.
    pub fn write_count(&self) -> usize {
        self.writes.iter().filter(|w| w.is_some()).count()
    }

    /// Keeps `writes` sorted with `None` last, so equal sets of writes hash equally.
    pub fn normalize_writes(&mut self) {
        self.writes.sort_unstable_by(|a, b| match (a, b) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
    }

    /// Adds a write; the caller checked there is room.
    pub fn push_write(&mut self, write: PendingWrite) {
        let slot = self.writes.iter_mut().find(|w| w.is_none());
        *slot.expect("caller checks pending_writes_max <= PENDING_WRITES_MAX") = Some(write);
        self.normalize_writes();
    }
}

fn record_state_code(state: RecordState) -> u64 {
    match state {
        RecordState::Available => 0,
        RecordState::Acquired => 1,
        RecordState::Acknowledged => 2,
        RecordState::Archived => 3,
        RecordState::Archiving => 4,
    }
}

fn persisted_code(persisted: PersistedRecord) -> u64 {
    let state = match persisted.state {
        None => 0,
        Some(PersistedState::Available) => 1,
        Some(PersistedState::Acknowledged) => 2,
        Some(PersistedState::Archived) => 3,
        Some(PersistedState::Archiving) => 4,
    };
    state << 4 | u64::from(persisted.delivery_count & 0xF)
}

fn member_code(member: Option<Member>) -> u64 {
    member.map_or(0, |m| u64::from(m.0) + 1)
}

impl Record {
    fn packed(&self) -> u64 {
        let lock = match self.lock {
            Lock::None => 0,
            Lock::Held => 1,
            Lock::ExpiredDuringWrite => 2,
            Lock::ExpiredLast => 3,
        };
        let (rollback_owner, rollback_count) = self.pending.map_or((0, 0), |r| {
            (
                (u64::from(r.owner.0) + 1) | (u64::from(r.archived_meanwhile) << 4),
                u64::from(r.delivery_count),
            )
        });
        record_state_code(self.state)
            | u64::from(self.delivery_count) << 8
            | member_code(self.owner) << 16
            | lock << 24
            | rollback_owner << 32
            | rollback_count << 40
            | persisted_code(self.persisted) << 48
            | u64::from(self.deliveries) << 56
            | u64::from(self.attempt_lost) << 63
    }
}

impl PendingWrite {
    pub(crate) fn packed(&self) -> [u64; 2] {
        let (tag, member) = match self.kind {
            WriteKind::Acknowledge(m) => (1, u64::from(m.0)),
            WriteKind::SessionRelease(m) => (2, u64::from(m.0)),
            WriteKind::LockExpiry => (3, 0),
            WriteKind::DeadLetter => (4, 0),
        };
        let header = tag
            | member << 8
            | u64::from(self.offsets) << 16
            | u64::from(self.start_offset) << 24
            | u64::from(self.leader_epoch) << 32
            | u64::from(self.state_epoch) << 40
            | u64::from(self.answered) << 48;
        // Entries outside `offsets` are always the default, whose code is 0.
        debug_assert!(self
            .entries
            .iter()
            .enumerate()
            .all(|(o, e)| self.offsets & (1 << o) != 0 || *e == PersistedRecord::default()));
        let mut entries = 0;
        let mut offsets = self.offsets;
        while offsets != 0 {
            let offset = offsets.trailing_zeros() as usize;
            offsets &= offsets - 1;
            entries |= persisted_code(self.entries[offset]) << (8 * offset);
        }
        [header, entries]
    }
}

impl std::hash::Hash for ShareState {
    /// Packs the state into words and hashes them in one write: four header words, then the
    /// records below `produced` (those past it are always [`Record::FRESH`]), then the writes in
    /// flight (sorted, `None` last, their number in the header). The encoding is injective.
    fn hash<H: std::hash::Hasher>(&self, hasher: &mut H) {
        debug_assert!(self
            .records
            .iter()
            .all(|r| r.delivery_count < 16 && r.deliveries < 16));
        debug_assert!(
            self.records[self.produced as usize..]
                .iter()
                .all(|r| *r == Record::FRESH),
            "records past the log end are never touched"
        );
        const WORDS_MAX: usize = 4 + RECORDS_MAX + 2 * PENDING_WRITES_MAX;
        let mut words = [0u64; WORDS_MAX];
        let mut members = 0;
        for (index, status) in self.members.iter().enumerate() {
            members |= (*status as u64) << (8 * index);
        }
        words[0] = members
            | u64::from(self.produced) << 32
            | u64::from(self.log_start) << 40
            | u64::from(self.spso) << 48
            | u64::from(self.window_end) << 56;
        words[1] = u64::from(self.leader_epoch)
            | u64::from(self.state_epoch) << 8
            | u64::from(self.coordinator.start_offset) << 16
            | u64::from(self.coordinator.state_epoch) << 24
            | u64::from(self.coordinator.leader_epoch) << 32
            | u64::from(self.ghost.terminal) << 40
            | u64::from(self.ghost.confirmed_terminal) << 48
            | u64::from(self.ghost.violations) << 56;
        let budgets = &self.budgets;
        words[2] = u64::from(self.ghost.events)
            | u64::from(budgets.failovers) << 8
            | u64::from(budgets.write_failures) << 16
            | u64::from(budgets.lock_expiries) << 24
            | u64::from(budgets.log_start_moves) << 32
            | u64::from(budgets.corrupt_batches) << 40
            | u64::from(budgets.deserialization_errors) << 48
            | u64::from(budgets.offset_resets) << 56;
        words[3] = u64::from(self.cached_batch_starts)
            | (self.write_count() as u64) << 8
            | u64::from(self.ghost.dead_lettered) << 16;
        let mut len = 4;
        for record in &self.records[..self.produced as usize] {
            words[len] = record.packed();
            len += 1;
        }
        for write in self.writes.iter().map_while(Option::as_ref) {
            let [header, entries] = write.packed();
            words[len] = header;
            words[len + 1] = entries;
            len += 2;
        }
        let mut bytes = [0u8; WORDS_MAX * 8];
        for (chunk, word) in bytes.chunks_exact_mut(8).zip(&words[..len]) {
            chunk.copy_from_slice(&word.to_le_bytes());
        }
        hasher.write(&bytes[..len * 8]);
    }
}
