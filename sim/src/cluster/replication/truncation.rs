//! The follower's truncation rule on a leader change (KIP-101/KIP-279, `AbstractFetcherThread
//! .getOffsetTruncationState`): ask the leader for the end offset of the follower's latest epoch
//! (OffsetsForLeaderEpoch) and truncate to the divergence point.

use crate::log::{PartitionLog, UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET};

/// Where to truncate, and whether the follower must ask again with an older epoch.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TruncationState {
    /// Truncate the local log to this offset.
    pub offset: i64,
    /// False when the follower's epoch for the leader's answer is older: ask again with the new latest
    /// epoch after truncating.
    pub completed: bool,
}

/// Kafka's `getOffsetTruncationState`: from the leader's answer `(epoch, end offset)` for the follower's
/// latest epoch, the follower's own `end_offset_for_epoch`, its log end offset and its high watermark.
pub fn offset_truncation_state(
    leader_answer: (i32, i64),
    local_end_offset_for_epoch: impl Fn(i32) -> (i32, i64),
    local_log_end_offset: i64,
    local_high_watermark: i64,
) -> TruncationState {
    let (leader_epoch, leader_end_offset) = leader_answer;
    if leader_end_offset == UNDEFINED_EPOCH_OFFSET {
        // The leader knows no epoch at or below ours: fall back to the high watermark.
        return TruncationState {
            offset: local_high_watermark.min(local_log_end_offset),
            completed: true,
        };
    }
    if leader_epoch == UNDEFINED_EPOCH {
        return TruncationState {
            offset: leader_end_offset.min(local_log_end_offset),
            completed: true,
        };
    }
    let (local_epoch, local_end_offset) = local_end_offset_for_epoch(leader_epoch);
    if local_epoch == UNDEFINED_EPOCH || local_end_offset == UNDEFINED_EPOCH_OFFSET {
        // We have no epoch at or below the leader's: truncate to the leader's end offset, then ask again.
        return TruncationState {
            offset: leader_end_offset.min(local_log_end_offset),
            completed: false,
        };
    }
    if local_epoch == leader_epoch {
        TruncationState {
            offset: leader_end_offset
                .min(local_end_offset)
                .min(local_log_end_offset),
            completed: true,
        }
    } else {
        // Our epoch below the leader's answer is older: truncate to its end and ask again with it.
        TruncationState {
            offset: local_end_offset.min(local_log_end_offset),
            completed: false,
        }
    }
}

/// Runs the whole exchange between a follower log and its new leader's log, as the fetcher does it
/// (OffsetsForLeaderEpoch rounds until complete, at most `rounds_max`), and truncates the follower.
/// A follower without any epoch truncates to its high watermark, as Kafka does. Returns the offset the
/// follower truncated to.
pub fn truncate_follower(
    follower: &mut PartitionLog,
    leader: &PartitionLog,
    rounds_max: usize,
) -> i64 {
    for _ in 0..rounds_max {
        let Some(latest_epoch) = follower.epoch_cache().latest_epoch() else {
            let offset = follower.high_watermark();
            follower.truncate_to(offset);
            return follower.log_end_offset();
        };
        let answer = leader.end_offset_for_epoch(latest_epoch);
        let state = offset_truncation_state(
            answer,
            |epoch| follower.end_offset_for_epoch(epoch),
            follower.log_end_offset(),
            follower.high_watermark(),
        );
        follower.truncate_to(state.offset);
        if state.completed {
            break;
        }
    }
    follower.log_end_offset()
}
