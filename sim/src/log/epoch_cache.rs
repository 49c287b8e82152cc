//! The leader-epoch cache (`LeaderEpochFileCache`): for each leader epoch, the first offset written in it.
//! A follower that learns of a new leader asks `end_offset_for_epoch` (OffsetsForLeaderEpoch) and truncates
//! to the answer, which is how Kafka avoids the high-watermark truncation bugs of KIP-101.

use std::collections::BTreeMap;

/// Kafka's `UNDEFINED_EPOCH`.
pub const UNDEFINED_EPOCH: i32 = -1;
/// Kafka's `UNDEFINED_EPOCH_OFFSET`.
pub const UNDEFINED_EPOCH_OFFSET: i64 = -1;

/// Epoch -> start offset, strictly increasing in both.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct EpochCache {
    start_offset_by_epoch: BTreeMap<i32, i64>,
}

impl EpochCache {
    /// An empty cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every entry, oldest epoch first.
    pub fn entries(&self) -> Vec<(i32, i64)> {
        self.start_offset_by_epoch
            .iter()
            .map(|(&epoch, &offset)| (epoch, offset))
            .collect()
    }

    /// The newest epoch, if any.
    pub fn latest_epoch(&self) -> Option<i32> {
        self.start_offset_by_epoch.keys().next_back().copied()
    }

    /// Records that `epoch` starts at `start_offset` (Kafka `assign`). Ignored unless the epoch is newer
    /// than the latest; entries that would break monotonicity (start offset at or after the new one) are
    /// removed, as Kafka's `truncateConflicting` does.
    pub fn assign(&mut self, epoch: i32, start_offset: i64) {
        if epoch < 0 || self.latest_epoch().is_some_and(|latest| epoch <= latest) {
            return;
        }
        self.start_offset_by_epoch
            .retain(|_, &mut offset| offset < start_offset);
        self.start_offset_by_epoch.insert(epoch, start_offset);
        self.check_invariants();
    }

    /// Kafka OffsetsForLeaderEpoch: `(epoch, end offset)` for `requested_epoch`. The end offset is the start
    /// of the next higher epoch (or the log end for the latest epoch); the epoch answered is the largest
    /// known epoch not above the request. Unknown future epochs answer `(-1, -1)`.
    pub fn end_offset_for_epoch(&self, requested_epoch: i32, log_end_offset: i64) -> (i32, i64) {
        if requested_epoch == UNDEFINED_EPOCH {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        }
        if self.latest_epoch() == Some(requested_epoch) {
            return (requested_epoch, log_end_offset);
        }
        let higher = self
            .start_offset_by_epoch
            .range(requested_epoch.saturating_add(1)..)
            .next();
        let Some((_, &higher_start)) = higher else {
            return (UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET);
        };
        match self
            .start_offset_by_epoch
            .range(..=requested_epoch)
            .next_back()
        {
            Some((&floor_epoch, _)) => (floor_epoch, higher_start),
            // Older than anything we know: Kafka answers the requested epoch with the first known start.
            None => (requested_epoch, higher_start),
        }
    }

    /// Removes entries starting at or after `end_offset` (Kafka `truncateFromEnd`, after a log truncation).
    pub fn truncate_from_end(&mut self, end_offset: i64) {
        self.start_offset_by_epoch
            .retain(|_, &mut offset| offset < end_offset);
    }

    /// Moves the oldest entries up to the new log start offset (Kafka `truncateFromStart`): entries wholly
    /// below are dropped, the one spanning it starts at it.
    pub fn truncate_from_start(&mut self, log_start_offset: i64) {
        let below: Vec<i32> = self
            .start_offset_by_epoch
            .iter()
            .filter(|(_, &offset)| offset <= log_start_offset)
            .map(|(&epoch, _)| epoch)
            .collect();
        if let Some((&keep, rest)) = below.split_last() {
            for epoch in rest {
                self.start_offset_by_epoch.remove(epoch);
            }
            self.start_offset_by_epoch.insert(keep, log_start_offset);
        }
        self.check_invariants();
    }

    fn check_invariants(&self) {
        let offsets: Vec<i64> = self.start_offset_by_epoch.values().copied().collect();
        debug_assert!(
            offsets.windows(2).all(|w| w[0] < w[1]),
            "epoch start offsets increase"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(entries: &[(i32, i64)]) -> EpochCache {
        let mut cache = EpochCache::new();
        for &(epoch, offset) in entries {
            cache.assign(epoch, offset);
        }
        cache
    }

    /// Kafka OffsetsForLeaderEpoch: the latest epoch ends at the log end offset.
    #[test]
    fn latest_epoch_ends_at_log_end() {
        assert_eq!(
            cache(&[(1, 0), (3, 10)]).end_offset_for_epoch(3, 42),
            (3, 42)
        );
    }

    /// Kafka OffsetsForLeaderEpoch: an older epoch ends where the next known epoch starts, answered with
    /// the largest known epoch not above the request.
    #[test]
    fn older_epoch_ends_at_next_start() {
        let c = cache(&[(1, 0), (3, 10), (5, 20)]);
        assert_eq!(c.end_offset_for_epoch(1, 42), (1, 10));
        assert_eq!(c.end_offset_for_epoch(2, 42), (1, 10));
        assert_eq!(c.end_offset_for_epoch(4, 42), (3, 20));
    }

    /// Kafka OffsetsForLeaderEpoch: unknown future epochs are undefined; epochs before the first answer
    /// the first start offset.
    #[test]
    fn unknown_epochs() {
        let c = cache(&[(2, 5), (3, 10)]);
        assert_eq!(c.end_offset_for_epoch(9, 42), (-1, -1));
        assert_eq!(c.end_offset_for_epoch(1, 42), (1, 5));
        assert_eq!(c.end_offset_for_epoch(-1, 42), (-1, -1));
    }

    /// Kafka `assign`: stale epochs are ignored; a new epoch removes entries at or after its start.
    #[test]
    fn assign_keeps_monotonic() {
        let mut c = cache(&[(1, 0), (2, 10)]);
        c.assign(2, 20);
        c.assign(1, 30);
        assert_eq!(c.entries(), vec![(1, 0), (2, 10)]);
        c.assign(4, 10);
        assert_eq!(c.entries(), vec![(1, 0), (4, 10)]);
    }

    /// Kafka `truncateFromEnd` / `truncateFromStart`.
    #[test]
    fn truncation_both_ends() {
        let mut c = cache(&[(1, 0), (2, 10), (3, 20)]);
        c.truncate_from_end(20);
        assert_eq!(c.entries(), vec![(1, 0), (2, 10)]);
        c.truncate_from_start(12);
        assert_eq!(c.entries(), vec![(2, 12)]);
    }
}
