//! One share session: its epoch, its partitions in insertion order, its connection (spec 2.4;
//! `ShareSession`, `ShareRequestMetadata`).

use std::collections::BTreeSet;

use super::{ConnectionId, ShareSessionKey};
use crate::coordinator::share::TopicIdPartition;

/// `ShareRequestMetadata.INITIAL_EPOCH`: opens a session.
pub const INITIAL_EPOCH: i32 = 0;
/// `ShareRequestMetadata.FINAL_EPOCH`: closes a session.
pub const FINAL_EPOCH: i32 = -1;

/// The epoch after `epoch`: e+1, wrapping from `i32::MAX` to 1; FINAL (and any negative) stays FINAL.
pub fn next_epoch(epoch: i32) -> i32 {
    if epoch < 0 {
        FINAL_EPOCH
    } else if epoch == i32::MAX {
        1
    } else {
        epoch + 1
    }
}

/// Kafka's round-robin `PartitionRotateStrategy`: the list rotated left by `session_epoch % len`, so that
/// successive fetches of one session start at successive partitions. Epochs below 1 do not rotate.
pub fn rotate_round_robin(
    partitions: &[TopicIdPartition],
    session_epoch: i32,
) -> Vec<TopicIdPartition> {
    let mut rotated = partitions.to_vec();
    if rotated.len() > 1 && session_epoch >= 1 {
        // len <= usize::MAX and the epoch is positive, so both conversions hold.
        let rotate_at = usize::try_from(session_epoch).expect("positive") % rotated.len();
        rotated.rotate_left(rotate_at);
    }
    rotated
}

/// A share session as the broker keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareSession {
    key: ShareSessionKey,
    epoch: i32,
    /// Insertion order (Kafka's `ImplicitLinkedHashCollection`), which the round-robin rotates.
    partitions: Vec<TopicIdPartition>,
    partition_set: BTreeSet<TopicIdPartition>,
    connection_id: ConnectionId,
    last_used_ms: u64,
}

impl ShareSession {
    /// A new session at epoch 1 (the epoch after INITIAL), holding `partitions` without duplicates.
    pub(super) fn new(
        key: ShareSessionKey,
        partitions: &[TopicIdPartition],
        connection_id: ConnectionId,
        now_ms: u64,
    ) -> ShareSession {
        let mut session = ShareSession {
            key,
            epoch: next_epoch(INITIAL_EPOCH),
            partitions: Vec::with_capacity(partitions.len()),
            partition_set: BTreeSet::new(),
            connection_id,
            last_used_ms: now_ms,
        };
        session.update(partitions, &[]);
        session
    }

    /// The session key.
    pub fn key(&self) -> &ShareSessionKey {
        &self.key
    }

    /// The epoch the next request must carry.
    pub fn epoch(&self) -> i32 {
        self.epoch
    }

    /// The partitions of the session, in the order they were added.
    pub fn partitions(&self) -> &[TopicIdPartition] {
        &self.partitions
    }

    /// The connection the session was created on.
    pub fn connection_id(&self) -> ConnectionId {
        self.connection_id
    }

    /// The last time a request used the session (for 4.0's idle eviction).
    pub fn last_used_ms(&self) -> u64 {
        self.last_used_ms
    }

    /// `ShareSession.update`: request partitions are added (new ones at the end), then the forgotten ones
    /// (`ForgottenTopicsData`) are removed. Forgetting releases nothing.
    pub(super) fn update(&mut self, added: &[TopicIdPartition], forgotten: &[TopicIdPartition]) {
        for partition in added {
            if self.partition_set.insert(*partition) {
                self.partitions.push(*partition);
            }
        }
        let mut removed_any = false;
        for partition in forgotten {
            removed_any |= self.partition_set.remove(partition);
        }
        if removed_any {
            let partition_set = &self.partition_set;
            self.partitions
                .retain(|partition| partition_set.contains(partition));
        }
        debug_assert_eq!(self.partitions.len(), self.partition_set.len());
    }

    /// A successful request at the current epoch: advance it and note the time.
    pub(super) fn advance(&mut self, now_ms: u64) {
        debug_assert!(self.epoch >= 1);
        self.epoch = next_epoch(self.epoch);
        self.last_used_ms = self.last_used_ms.max(now_ms);
        debug_assert!(self.epoch >= 1);
    }
}
