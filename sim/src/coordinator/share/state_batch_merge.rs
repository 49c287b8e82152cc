//! The merge rule of `PersisterStateBatchCombiner` (spec 3.3): how the share coordinator folds the state
//! batches of a write (or a replayed ShareUpdate) into the image it keeps for one share partition.
//!
//! The rule, for the union of the current and the new batches:
//! * everything below the new start offset is dropped (whole batches) or trimmed (straddling batches);
//! * where batches overlap, the covering batch with the highest delivery count wins, then the one with the
//!   highest `DeliveryState` id;
//! * adjacent ranges with equal (state, delivery count) are coalesced;
//! * the output is sorted and non-overlapping.
//!
//! It is computed over range boundaries, so its cost depends on the number of batches, never on the number
//! of offsets they cover (offsets can be far apart): a linear merge when both inputs are sorted and
//! disjoint, a sweep with the set of covering batches otherwise.

use std::borrow::Cow;
use std::collections::BTreeMap;

use crate::share::{RecordState, StateBatch};

/// Which of two overlapping batches wins an offset: the higher delivery count, then the higher state id.
type Precedence = (u16, i8);

/// Merges `new_batches` into `current_batches` and clips the result at `start_offset` (spec 3.3,
/// `PersisterStateBatchCombiner`).
///
/// Neither input has to be sorted, coalesced or non-overlapping. A malformed batch (`first_offset >
/// last_offset`) covers no offset and is ignored: it is peer input, so it must not panic. A start offset
/// of -1 ("not yet decided") clips nothing at or above -1.
///
/// The result is sorted, non-overlapping, coalesced, and starts at or after `start_offset`. The cost is
/// linear when both inputs are sorted and disjoint (a coordinator image always is), else O(n log n).
pub fn combine_state_batches(
    current_batches: &[StateBatch],
    new_batches: &[StateBatch],
    start_offset: i64,
) -> Vec<StateBatch> {
    // The winner of an offset is the maximum precedence over all batches covering it, and a maximum can
    // be taken side by side: first within each input, then between the two.
    let current_batches = normalized(current_batches, start_offset);
    let new_batches = normalized(new_batches, start_offset);
    let merged = merge_sorted_disjoint(&current_batches, &new_batches, start_offset);
    debug_assert!(is_well_formed(&merged, start_offset));
    merged
}

/// The batches as they are when already sorted and disjoint, else through the general sweep.
fn normalized(batches: &[StateBatch], start_offset: i64) -> Cow<'_, [StateBatch]> {
    let sorted_and_disjoint = batches.iter().all(|b| b.first_offset <= b.last_offset)
        && batches
            .windows(2)
            .all(|pair| pair[0].last_offset < pair[1].first_offset);
    if sorted_and_disjoint {
        Cow::Borrowed(batches)
    } else {
        Cow::Owned(sweep(batches, start_offset))
    }
}

/// The linear merge of two sorted, disjoint lists: at any offset at most one batch of each covers it.
fn merge_sorted_disjoint(
    left: &[StateBatch],
    right: &[StateBatch],
    start_offset: i64,
) -> Vec<StateBatch> {
    let mut merged = Vec::with_capacity(left.len() + right.len());
    let (mut left_index, mut right_index) = (0, 0);
    // Positions are i128 so that `last_offset + 1` cannot overflow at i64::MAX.
    let mut position = i128::from(start_offset);
    loop {
        while left
            .get(left_index)
            .is_some_and(|b| i128::from(b.last_offset) < position)
        {
            left_index += 1;
        }
        while right
            .get(right_index)
            .is_some_and(|b| i128::from(b.last_offset) < position)
        {
            right_index += 1;
        }
        let candidates = [left.get(left_index), right.get(right_index)];
        let starts = candidates.map(|b| b.map(|b| i128::from(b.first_offset).max(position)));
        let Some(segment_first) = starts.iter().flatten().min().copied() else {
            break;
        };
        // The segment ends where a covering batch ends or where the other batch starts.
        let mut segment_last = i128::MAX;
        let mut winner: Option<Precedence> = None;
        for (batch, start) in candidates.iter().zip(starts) {
            let (Some(batch), Some(start)) = (batch, start) else {
                continue;
            };
            if start == segment_first {
                segment_last = segment_last.min(i128::from(batch.last_offset));
                winner = winner.max(Some(precedence(batch)));
            } else {
                segment_last = segment_last.min(start - 1);
            }
        }
        let winner = winner.expect("the batch that starts the segment covers it");
        append_coalesced(&mut merged, segment_first, segment_last, winner);
        position = segment_last + 1;
    }
    merged
}

fn precedence(batch: &StateBatch) -> Precedence {
    (batch.delivery_count, batch.delivery_state.id())
}

/// The general rule for any list of batches: a sweep over their boundaries with the set of covering
/// precedences, clipped at `start_offset`. O(n log n).
fn sweep(batches: &[StateBatch], start_offset: i64) -> Vec<StateBatch> {
    // Boundaries are kept as i128 so that `last_offset + 1` cannot overflow at i64::MAX.
    let mut boundaries: Vec<(i128, Boundary)> = Vec::with_capacity(2 * batches.len());
    for batch in batches {
        if batch.first_offset > batch.last_offset || batch.last_offset < start_offset {
            continue;
        }
        let first_offset = batch.first_offset.max(start_offset);
        boundaries.push((i128::from(first_offset), Boundary::Enter(precedence(batch))));
        boundaries.push((
            i128::from(batch.last_offset) + 1,
            Boundary::Leave(precedence(batch)),
        ));
    }
    boundaries.sort_unstable();

    let mut covering: BTreeMap<Precedence, usize> = BTreeMap::new();
    let mut merged: Vec<StateBatch> = Vec::new();
    let mut index = 0;
    while index < boundaries.len() {
        let position = boundaries[index].0;
        while index < boundaries.len() && boundaries[index].0 == position {
            match boundaries[index].1 {
                Boundary::Enter(precedence) => *covering.entry(precedence).or_insert(0) += 1,
                Boundary::Leave(precedence) => leave(&mut covering, precedence),
            }
            index += 1;
        }
        let Some((&winner, _)) = covering.last_key_value() else {
            continue;
        };
        // Something still covers `position`, so a later boundary (its Leave) exists.
        let next_position = boundaries[index].0;
        append_coalesced(&mut merged, position, next_position - 1, winner);
    }
    debug_assert!(covering.is_empty(), "every Enter has its Leave");
    debug_assert!(is_well_formed(&merged, start_offset));
    merged
}

/// An event of the sweep. `Leave` sorts before `Enter` at the same position, which does not matter for
/// the result: all events at one position are applied before the next range is emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Boundary {
    /// A batch starts covering offsets here.
    Enter(Precedence),
    /// A batch stopped covering offsets just before here.
    Leave(Precedence),
}

fn leave(covering: &mut BTreeMap<Precedence, usize>, precedence: Precedence) {
    let count = covering
        .get_mut(&precedence)
        .expect("a batch leaves only after it entered: its Enter sorts at a lower position");
    *count -= 1;
    if *count == 0 {
        covering.remove(&precedence);
    }
}

fn append_coalesced(merged: &mut Vec<StateBatch>, first: i128, last: i128, winner: Precedence) {
    debug_assert!(first <= last);
    let (delivery_count, state_id) = winner;
    let delivery_state =
        RecordState::from_id(state_id).expect("the id came from a RecordState of an input batch");
    // Both ends lie within the offsets of an input batch, so they fit in i64.
    let first_offset = i64::try_from(first).expect("within an input batch");
    let last_offset = i64::try_from(last).expect("within an input batch");
    if let Some(previous) = merged.last_mut() {
        if previous.last_offset + 1 == first_offset
            && previous.delivery_state == delivery_state
            && previous.delivery_count == delivery_count
        {
            previous.last_offset = last_offset;
            return;
        }
    }
    merged.push(StateBatch {
        first_offset,
        last_offset,
        delivery_state,
        delivery_count,
    });
}

/// Sorted, non-overlapping, coalesced, at or above the start offset.
fn is_well_formed(batches: &[StateBatch], start_offset: i64) -> bool {
    let ordered = batches.windows(2).all(|pair| {
        let (left, right) = (pair[0], pair[1]);
        let adjacent_equal = left.last_offset + 1 == right.first_offset
            && left.delivery_state == right.delivery_state
            && left.delivery_count == right.delivery_count;
        left.last_offset < right.first_offset && !adjacent_equal
    });
    let clipped = batches
        .first()
        .is_none_or(|b| b.first_offset >= start_offset);
    let valid = batches.iter().all(|b| b.first_offset <= b.last_offset);
    ordered && clipped && valid
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn batch(first_offset: i64, last_offset: i64, state: RecordState, count: u16) -> StateBatch {
        StateBatch {
            first_offset,
            last_offset,
            delivery_state: state,
            delivery_count: count,
        }
    }

    use RecordState::{Acknowledged, Archived, Archiving, Available};

    /// Spec 3.3: disjoint batches are kept, sorted.
    #[test]
    fn disjoint_batches_are_kept_sorted() {
        let current = [batch(20, 29, Available, 1)];
        let new = [batch(0, 9, Acknowledged, 1)];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![batch(0, 9, Acknowledged, 1), batch(20, 29, Available, 1)]
        );
    }

    /// Spec 3.3: batches entirely below the start offset are dropped, straddling ones trimmed.
    #[test]
    fn start_offset_drops_and_trims() {
        let current = [batch(0, 9, Available, 1), batch(10, 19, Available, 2)];
        let new = [batch(20, 24, Acknowledged, 1)];
        assert_eq!(
            combine_state_batches(&current, &new, 15),
            vec![batch(15, 19, Available, 2), batch(20, 24, Acknowledged, 1)]
        );
        assert_eq!(combine_state_batches(&current, &new, 25), vec![]);
    }

    /// Spec 3.3: on overlap, the higher delivery count wins, whichever side it came from.
    #[test]
    fn higher_delivery_count_wins_an_overlap() {
        let current = [batch(0, 9, Available, 3)];
        let new = [batch(5, 14, Acknowledged, 2)];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![batch(0, 9, Available, 3), batch(10, 14, Acknowledged, 2)]
        );
    }

    /// Spec 3.3: with equal delivery counts, the higher DeliveryState id wins (4 ARCHIVED > 2 ACKED > 0).
    #[test]
    fn equal_counts_prefer_the_higher_state_id() {
        let current = [batch(0, 9, Acknowledged, 1)];
        let new = [batch(0, 4, Available, 1), batch(5, 9, Archived, 1)];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![batch(0, 4, Acknowledged, 1), batch(5, 9, Archived, 1)]
        );
        let archiving_vs_archived = [batch(0, 3, Archiving, 2)];
        assert_eq!(
            combine_state_batches(&archiving_vs_archived, &[batch(2, 5, Archived, 2)], 0),
            vec![batch(0, 1, Archiving, 2), batch(2, 5, Archived, 2)]
        );
    }

    /// Spec 3.3: a new batch inside an old one splits it into three.
    #[test]
    fn inner_overlap_splits_the_outer_batch() {
        let current = [batch(0, 99, Available, 1)];
        let new = [batch(40, 59, Acknowledged, 2)];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![
                batch(0, 39, Available, 1),
                batch(40, 59, Acknowledged, 2),
                batch(60, 99, Available, 1),
            ]
        );
    }

    /// Spec 3.3: adjacent ranges with equal (state, count) are coalesced, also within one input.
    #[test]
    fn adjacent_equal_ranges_coalesce() {
        let current = [batch(0, 4, Acknowledged, 1), batch(5, 9, Acknowledged, 1)];
        let new = [
            batch(10, 14, Acknowledged, 1),
            batch(15, 19, Acknowledged, 2),
        ];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![
                batch(0, 14, Acknowledged, 1),
                batch(15, 19, Acknowledged, 2)
            ]
        );
    }

    /// Spec 3.3: offsets far apart cost nothing extra (no per-offset expansion), and i64::MAX is safe.
    #[test]
    fn far_apart_offsets_and_extreme_values() {
        let current = [
            batch(0, 0, Available, 1),
            batch(i64::MAX - 10, i64::MAX, Archived, 1),
        ];
        let new = [batch(1 << 40, (1 << 50) - 1, Acknowledged, 1)];
        assert_eq!(
            combine_state_batches(&current, &new, 0),
            vec![
                batch(0, 0, Available, 1),
                batch(1 << 40, (1 << 50) - 1, Acknowledged, 1),
                batch(i64::MAX - 10, i64::MAX, Archived, 1),
            ]
        );
    }

    /// Bad input: a batch with first > last covers nothing and does not panic.
    #[test]
    fn malformed_batches_are_ignored() {
        let new = [batch(9, 0, Archived, 1), batch(0, 1, Available, 1)];
        assert_eq!(
            combine_state_batches(&[], &new, -1),
            vec![batch(0, 1, Available, 1)]
        );
    }

    /// The per-offset reference: clip, pick the max (count, state id) per offset, then coalesce.
    fn reference(current: &[StateBatch], new: &[StateBatch], start_offset: i64) -> Vec<StateBatch> {
        let mut winners: BTreeMap<i64, Precedence> = BTreeMap::new();
        for b in current.iter().chain(new) {
            for offset in b.first_offset.max(start_offset)..=b.last_offset {
                let precedence = (b.delivery_count, b.delivery_state.id());
                let slot = winners.entry(offset).or_insert(precedence);
                *slot = (*slot).max(precedence);
            }
        }
        let mut out: Vec<StateBatch> = Vec::new();
        for (offset, (count, id)) in winners {
            let state = RecordState::from_id(id).unwrap();
            match out.last_mut() {
                Some(last)
                    if last.last_offset + 1 == offset
                        && last.delivery_state == state
                        && last.delivery_count == count =>
                {
                    last.last_offset = offset
                }
                _ => out.push(batch(offset, offset, state, count)),
            }
        }
        out
    }

    fn arbitrary_batch() -> impl Strategy<Value = StateBatch> {
        let state = prop::sample::select(vec![Available, Acknowledged, Archiving, Archived]);
        (0i64..60, 0i64..12, state, 0u16..4)
            .prop_map(|(first, len, state, count)| batch(first, first + len, state, count))
    }

    proptest! {
        /// Spec 3.3: the sweep equals the per-offset reference on random overlapping inputs.
        #[test]
        fn sweep_matches_per_offset_reference(
            current in prop::collection::vec(arbitrary_batch(), 0..8),
            new in prop::collection::vec(arbitrary_batch(), 0..8),
            start_offset in -1i64..70,
        ) {
            let merged = combine_state_batches(&current, &new, start_offset);
            prop_assert_eq!(&merged, &reference(&current, &new, start_offset));
            prop_assert!(is_well_formed(&merged, start_offset));
        }

        /// Spec 3.3 on inputs that are already sorted and disjoint (the linear path, as for an image).
        #[test]
        fn linear_merge_matches_per_offset_reference(
            current in prop::collection::vec(arbitrary_batch(), 0..8),
            new in prop::collection::vec(arbitrary_batch(), 0..8),
            start_offset in -1i64..70,
        ) {
            let (current, new) = (sweep(&current, i64::MIN), sweep(&new, i64::MIN));
            let merged = combine_state_batches(&current, &new, start_offset);
            prop_assert_eq!(&merged, &reference(&current, &new, start_offset));
        }

        /// Merging is idempotent: merging the result with nothing changes nothing.
        #[test]
        fn merge_is_idempotent(
            current in prop::collection::vec(arbitrary_batch(), 0..8),
            start_offset in -1i64..70,
        ) {
            let merged = combine_state_batches(&current, &[], start_offset);
            prop_assert_eq!(combine_state_batches(&merged, &[], start_offset), merged.clone());
            prop_assert_eq!(combine_state_batches(&[], &merged, start_offset), merged);
        }
    }
}
