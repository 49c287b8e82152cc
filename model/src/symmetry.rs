//! Symmetry reduction over members: members are interchangeable, so a state and any renaming of its
//! members behave alike. The canonical representative renames members in the order of a signature
//! that holds everything the state says about a member (status, the records it holds, the records it
//! would get back on rollback, its pending writes). Members with equal signatures play identical roles,
//! so the representative is unique per symmetry class (up to a collision of the 46-bit write digest);
//! it is always a renaming, so the reduction is sound even if it were not unique.

use stateright::Representative;

use crate::state::{Member, PendingWrite, ShareState, WriteKind, MEMBERS_MAX};

/// Everything the state says about one member, packed: status, the offsets it holds, the offsets it
/// would get back on rollback, and a digest of its pending writes with the member name erased. The
/// digest is a commutative sum of mixed words, so it ignores write order; a collision only makes the
/// representative less canonical (more states), never unsound, since the result is always a renaming.
type Signature = u64;

fn mix(mut word: u64) -> u64 {
    // splitmix64's finalizer: spreads every input bit over the word.
    word ^= word >> 30;
    word = word.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    word ^= word >> 27;
    word = word.wrapping_mul(0x94d0_49bb_1331_11eb);
    word ^ (word >> 31)
}

/// Every member's signature, in one pass over the records and one over the writes, and a mask of
/// the members the state says anything about besides their status (holding or owning the rollback
/// of a record, or with a write in flight).
fn signatures(state: &ShareState) -> ([Signature; MEMBERS_MAX], u8) {
    let mut held = [0u64; MEMBERS_MAX];
    let mut rollback = [0u64; MEMBERS_MAX];
    let mut involved = 0u8;
    for (offset, record) in state.records.iter().enumerate() {
        if let Some(owner) = record.owner {
            held[owner.0 as usize] |= 1 << offset;
            involved |= 1 << owner.0;
        }
        if let Some(pending) = record.pending {
            rollback[pending.owner.0 as usize] |= 1 << offset;
            involved |= 1 << pending.owner.0;
        }
    }
    let mut writes = [0u64; MEMBERS_MAX];
    for write in state.writes.iter().flatten() {
        if let Some(member) = write.kind.member() {
            let anonymous = PendingWrite {
                kind: rename_kind(write.kind, &[Member(0); MEMBERS_MAX]),
                ..*write
            };
            let [header, entries] = anonymous.packed();
            let digest = &mut writes[member.0 as usize];
            *digest = digest.wrapping_add(mix(header ^ mix(entries)));
            involved |= 1 << member.0;
        }
    }
    let signatures = std::array::from_fn(|m| {
        let status = state.members[m] as u64;
        status << 62 | held[m] << 54 | rollback[m] << 46 | writes[m] >> 18
    });
    (signatures, involved)
}

fn rename_kind(kind: WriteKind, new_name: &[Member; MEMBERS_MAX]) -> WriteKind {
    match kind {
        WriteKind::Acknowledge(m) => WriteKind::Acknowledge(new_name[m.0 as usize]),
        WriteKind::SessionRelease(m) => WriteKind::SessionRelease(new_name[m.0 as usize]),
        WriteKind::LockExpiry => WriteKind::LockExpiry,
        WriteKind::DeadLetter => WriteKind::DeadLetter,
    }
}

/// The renaming that makes `state` canonical: `new_name[old]`.
pub fn canonical_renaming(state: &ShareState) -> [Member; MEMBERS_MAX] {
    let (signatures, _) = signatures(state);
    let mut order: [usize; MEMBERS_MAX] = std::array::from_fn(|m| m);
    order.sort_unstable_by_key(|&m| (signatures[m], m));
    let mut new_name = [Member(0); MEMBERS_MAX];
    for (position, &old) in order.iter().enumerate() {
        new_name[old] = Member(position as u8);
    }
    new_name
}

/// Renames every member of `state` (`new_name[old]`) and re-sorts the writes.
pub fn rename_members(state: &mut ShareState, new_name: &[Member; MEMBERS_MAX]) {
    let statuses = state.members;
    for (old, status) in statuses.iter().enumerate() {
        state.members[new_name[old].0 as usize] = *status;
    }
    for record in state.records.iter_mut() {
        record.owner = record.owner.map(|m| new_name[m.0 as usize]);
        if let Some(rollback) = record.pending.as_mut() {
            rollback.owner = new_name[rollback.owner.0 as usize];
        }
    }
    for write in state.writes.iter_mut().flatten() {
        write.kind = rename_kind(write.kind, new_name);
    }
    state.normalize_writes();
}

/// Whether swapping members `a` and `b` leaves `state` unchanged, so that any action by one leads to a
/// state symmetric to the same action by the other (exact: no digest is trusted).
pub fn interchangeable(state: &ShareState, a: Member, b: Member) -> bool {
    let mut swap: [Member; MEMBERS_MAX] = std::array::from_fn(|m| Member(m as u8));
    swap.swap(a.0 as usize, b.0 as usize);
    let mut swapped = state.clone();
    rename_members(&mut swapped, &swap);
    swapped == *state
}

/// A few members, without allocating.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemberList {
    members: [Member; MEMBERS_MAX],
    len: usize,
}

impl MemberList {
    /// No members.
    pub const EMPTY: MemberList = MemberList {
        members: [Member(0); MEMBERS_MAX],
        len: 0,
    };

    /// Adds `member`; at most [`MEMBERS_MAX`].
    pub fn push(&mut self, member: Member) {
        self.members[self.len] = member;
        self.len += 1;
    }

    /// The members, in the order added.
    pub fn as_slice(&self) -> &[Member] {
        &self.members[..self.len]
    }
}

/// The members whose actions are worth exploring under symmetry reduction: of each group of
/// interchangeable members, the first. `members` are candidates (ascending). Cheap signatures rule
/// most pairs out; equal signatures of members the state says nothing else about (same status, no
/// records, no writes) are interchangeable outright, and the rest are confirmed by
/// [`interchangeable`].
pub fn distinct_roles(state: &ShareState, members: &[Member]) -> MemberList {
    let (signatures, involved) = signatures(state);
    let mut kept = MemberList::EMPTY;
    for &member in members {
        let duplicate = kept.as_slice().iter().any(|&earlier| {
            signatures[earlier.0 as usize] == signatures[member.0 as usize]
                && ((involved & (1 << earlier.0 | 1 << member.0)) == 0
                    || interchangeable(state, earlier, member))
        });
        if !duplicate {
            kept.push(member);
        }
    }
    kept
}

/// Replaces `state` by its canonical representative.
pub fn canonicalize(state: &mut ShareState) {
    let new_name = canonical_renaming(state);
    if new_name
        .iter()
        .enumerate()
        .any(|(old, new)| new.0 as usize != old)
    {
        rename_members(state, &new_name);
    }
}

impl Representative for ShareState {
    fn representative(&self) -> Self {
        let mut representative = self.clone();
        canonicalize(&mut representative);
        representative
    }
}
