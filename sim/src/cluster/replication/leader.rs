//! The leader's view of one partition's replicas (Kafka `Partition` on the leader): follower fetch
//! positions, ISR shrink and expand through AlterPartition, the high watermark, and produce completion.

use std::collections::{BTreeMap, VecDeque};

use crate::cluster::controller::{AlterPartitionRequest, PartitionImage};
use crate::cluster::replication::config::ReplicationConfig;
use crate::cluster::BrokerId;
use crate::ResponseError;

/// Kafka's `UnifiedLog.UnknownOffset` for a follower that has not fetched since this leadership began.
pub const UNKNOWN_OFFSET: i64 = -1;

/// A produce request's `acks`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Acks {
    /// `acks=0`: no response.
    None,
    /// `acks=1`: answered once the leader appended.
    Leader,
    /// `acks=all` (-1): answered once the high watermark passes the batch.
    All,
}

impl Acks {
    /// From the wire value; anything but 0, 1, -1 is INVALID_REQUIRED_ACKS.
    pub fn from_wire(acks: i16) -> Result<Acks, ResponseError> {
        match acks {
            0 => Ok(Acks::None),
            1 => Ok(Acks::Leader),
            -1 => Ok(Acks::All),
            _ => Err(ResponseError::InvalidRequiredAcks),
        }
    }
}

/// What the node must do for this partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReplicationEffect {
    /// Answer produce request `request_id` (Ok or Kafka's error).
    ProduceCompleted {
        request_id: u64,
        result: Result<(), ResponseError>,
    },
    /// Send this AlterPartition to the controller and feed the answer to
    /// [`LeaderReplicas::handle_alter_partition_response`].
    AlterPartition(AlterPartitionRequest),
    /// The high watermark moved: apply it to the leader's log (`PartitionLog::update_high_watermark`).
    HighWatermarkChanged { high_watermark: i64 },
}

/// Kafka's `ReplicaState` of one follower, as the leader sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FollowerState {
    /// The follower's log end offset (its last fetch offset), or [`UNKNOWN_OFFSET`].
    pub log_end_offset: i64,
    /// The last time the follower was caught up (`lastCaughtUpTimeMs`).
    pub last_caught_up_time_ms: u64,
    /// The leader's log end offset at the follower's previous fetch.
    pub last_fetch_leader_log_end_offset: i64,
    /// The time of the previous fetch.
    pub last_fetch_time_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PendingProduce {
    request_id: u64,
    required_offset: i64,
    deadline_ms: u64,
}

/// The leader's replica state of one partition, sans-IO. It does not own the log: the node appends to its
/// [`crate::log::PartitionLog`], reports the new log end offset here, and applies the high watermark this
/// engine decides (effect [`ReplicationEffect::HighWatermarkChanged`]).
///
/// Families: getters; inputs `check_produce`, `handle_leader_append`, `handle_produce_appended`,
/// `handle_follower_fetch`, `handle_alter_partition_response`, `handle_partition_update`,
/// `handle_timeout`; outputs `poll_effect`, `poll_timeout`. `now_ms` never goes backwards.
///
/// The ISR used for the high watermark is Kafka's *maximal ISR*: while an AlterPartition is in flight,
/// the union of the committed ISR and the proposal (a shrink does not take effect before the controller
/// commits it, an expansion counts at once). One AlterPartition is in flight at a time.
#[derive(Clone, Debug)]
pub struct LeaderReplicas {
    config: ReplicationConfig,
    local_broker_id: BrokerId,
    broker_epoch: i64,
    topic: String,
    partition: i32,
    leader_epoch: i32,
    partition_epoch: i32,
    replicas: Vec<BrokerId>,
    isr: Vec<BrokerId>,
    pending_isr: Option<Vec<BrokerId>>,
    leader_log_end_offset: i64,
    leader_epoch_start_offset: i64,
    high_watermark: i64,
    followers: BTreeMap<BrokerId, FollowerState>,
    pending_produces: VecDeque<PendingProduce>,
    effects: VecDeque<ReplicationEffect>,
    next_isr_check_ms: u64,
}

impl LeaderReplicas {
    /// Kafka `makeLeader`: this broker leads `state` from its log end offset and high watermark; ISR
    /// followers count as caught up now, the others never; follower offsets are unknown.
    #[allow(clippy::too_many_arguments)]
    pub fn become_leader(
        now_ms: u64,
        config: ReplicationConfig,
        local_broker_id: BrokerId,
        broker_epoch: i64,
        topic: &str,
        state: &PartitionImage,
        log_end_offset: i64,
        high_watermark: i64,
    ) -> Self {
        let followers = state
            .replicas
            .iter()
            .filter(|&&r| r != local_broker_id)
            .map(|&r| {
                let caught_up = if state.isr.contains(&r) { now_ms } else { 0 };
                (
                    r,
                    FollowerState {
                        log_end_offset: UNKNOWN_OFFSET,
                        last_caught_up_time_ms: caught_up,
                        last_fetch_leader_log_end_offset: UNKNOWN_OFFSET,
                        last_fetch_time_ms: 0,
                    },
                )
            })
            .collect();
        LeaderReplicas {
            config,
            local_broker_id,
            broker_epoch,
            topic: topic.to_string(),
            partition: state.partition,
            leader_epoch: state.leader_epoch,
            partition_epoch: state.partition_epoch,
            replicas: state.replicas.clone(),
            isr: state.isr.clone(),
            pending_isr: None,
            leader_log_end_offset: log_end_offset,
            leader_epoch_start_offset: log_end_offset,
            high_watermark: high_watermark.min(log_end_offset),
            followers,
            pending_produces: VecDeque::new(),
            effects: VecDeque::new(),
            next_isr_check_ms: now_ms + config.isr_check_interval_ms(),
        }
    }

    // (A) getters

    /// The high watermark: never decreases while this broker leads.
    pub fn high_watermark(&self) -> i64 {
        self.high_watermark
    }

    /// The committed ISR.
    pub fn isr(&self) -> &[BrokerId] {
        &self.isr
    }

    /// The ISR proposal in flight, if any.
    pub fn pending_isr(&self) -> Option<&[BrokerId]> {
        self.pending_isr.as_deref()
    }

    /// Committed ISR plus the in-flight proposal (Kafka's maximal ISR).
    pub fn maximal_isr(&self) -> Vec<BrokerId> {
        let mut all = self.isr.clone();
        for &r in self.pending_isr.iter().flatten() {
            if !all.contains(&r) {
                all.push(r);
            }
        }
        all
    }

    /// The leader epoch this state belongs to.
    pub fn leader_epoch(&self) -> i32 {
        self.leader_epoch
    }

    /// One follower's state.
    pub fn follower(&self, broker_id: BrokerId) -> Option<&FollowerState> {
        self.followers.get(&broker_id)
    }

    // (B) inputs

    /// Before appending a produce batch: acks=all with an ISR below `min.insync.replicas` is
    /// NOT_ENOUGH_REPLICAS and nothing is appended (Kafka `appendRecordsToLeader`).
    pub fn check_produce(&self, acks: Acks) -> Result<(), ResponseError> {
        if acks == Acks::All && self.isr.len() < self.config.min_insync_replicas {
            return Err(ResponseError::NotEnoughReplicas);
        }
        Ok(())
    }

    /// The leader's log grew to `log_end_offset` (a marker, or any append not waiting on acks).
    pub fn handle_leader_append(&mut self, now_ms: u64, log_end_offset: i64) {
        debug_assert!(
            log_end_offset >= self.leader_log_end_offset,
            "leader log shrank"
        );
        self.leader_log_end_offset = self.leader_log_end_offset.max(log_end_offset);
        self.maybe_increment_high_watermark(now_ms);
    }

    /// A produce batch was appended; the log now ends at `log_end_offset`. acks=1 completes now, acks=all
    /// when the high watermark reaches `log_end_offset` (or REQUEST_TIMED_OUT at `now_ms + timeout_ms`),
    /// acks=0 never answers.
    pub fn handle_produce_appended(
        &mut self,
        now_ms: u64,
        request_id: u64,
        acks: Acks,
        log_end_offset: i64,
        timeout_ms: u64,
    ) {
        match acks {
            Acks::None => {}
            Acks::Leader => self.effects.push_back(ReplicationEffect::ProduceCompleted {
                request_id,
                result: Ok(()),
            }),
            Acks::All => self.pending_produces.push_back(PendingProduce {
                request_id,
                required_offset: log_end_offset,
                deadline_ms: now_ms.saturating_add(timeout_ms),
            }),
        }
        self.handle_leader_append(now_ms, log_end_offset);
        self.complete_produces();
    }

    /// A follower fetched from `fetch_offset` (its log end offset). Updates its caught-up time as Kafka's
    /// `updateFetchStateOrThrow` does, may propose an ISR expansion, may advance the high watermark.
    /// Returns the high watermark to put in the fetch response. A fetch beyond the leader's log end is
    /// OFFSET_OUT_OF_RANGE; a broker that is not a replica is NOT_LEADER_OR_FOLLOWER.
    pub fn handle_follower_fetch(
        &mut self,
        now_ms: u64,
        follower_id: BrokerId,
        fetch_offset: i64,
    ) -> Result<i64, ResponseError> {
        let leader_log_end_offset = self.leader_log_end_offset;
        let Some(follower) = self.followers.get_mut(&follower_id) else {
            return Err(ResponseError::NotLeaderOrFollower);
        };
        if fetch_offset < 0 || fetch_offset > leader_log_end_offset {
            return Err(ResponseError::OffsetOutOfRange);
        }
        if fetch_offset >= leader_log_end_offset {
            follower.last_caught_up_time_ms = follower.last_caught_up_time_ms.max(now_ms);
        } else if fetch_offset >= follower.last_fetch_leader_log_end_offset
            && follower.last_fetch_leader_log_end_offset != UNKNOWN_OFFSET
        {
            follower.last_caught_up_time_ms = follower
                .last_caught_up_time_ms
                .max(follower.last_fetch_time_ms);
        }
        follower.log_end_offset = fetch_offset;
        follower.last_fetch_leader_log_end_offset = leader_log_end_offset;
        follower.last_fetch_time_ms = now_ms;
        self.maybe_expand_isr(follower_id);
        self.maybe_increment_high_watermark(now_ms);
        Ok(self.high_watermark)
    }

    /// The controller's answer to our AlterPartition. Success commits the ISR and partition epoch;
    /// INVALID_UPDATE_VERSION, FENCED_LEADER_EPOCH and other errors drop the proposal (the next metadata
    /// update or ISR check tries again).
    pub fn handle_alter_partition_response(
        &mut self,
        now_ms: u64,
        result: Result<PartitionImage, ResponseError>,
    ) {
        self.pending_isr = None;
        if let Ok(state) = result {
            if state.leader_epoch == self.leader_epoch
                && state.partition_epoch > self.partition_epoch
            {
                self.isr = state.isr;
                self.partition_epoch = state.partition_epoch;
            }
        }
        self.maybe_increment_high_watermark(now_ms);
        self.complete_produces();
    }

    /// New metadata for this partition. Returns false when this broker no longer leads it in this epoch:
    /// the node must drop this state after draining the effects (pending produces fail with
    /// NOT_LEADER_OR_FOLLOWER).
    pub fn handle_partition_update(&mut self, now_ms: u64, state: &PartitionImage) -> bool {
        if state.leader_epoch > self.leader_epoch || state.leader != self.local_broker_id {
            for produce in std::mem::take(&mut self.pending_produces) {
                self.effects.push_back(ReplicationEffect::ProduceCompleted {
                    request_id: produce.request_id,
                    result: Err(ResponseError::NotLeaderOrFollower),
                });
            }
            return false;
        }
        if state.leader_epoch == self.leader_epoch && state.partition_epoch > self.partition_epoch {
            self.isr = state.isr.clone();
            self.partition_epoch = state.partition_epoch;
            self.pending_isr = None;
            self.maybe_increment_high_watermark(now_ms);
            self.complete_produces();
        }
        true
    }

    /// Runs the ISR expiration check when due (every `replica.lag.time.max.ms / 2`) and times out
    /// acks=all produce requests (REQUEST_TIMED_OUT).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if now_ms >= self.next_isr_check_ms {
            self.next_isr_check_ms = now_ms + self.config.isr_check_interval_ms();
            self.maybe_shrink_isr(now_ms);
        }
        while self
            .pending_produces
            .front()
            .is_some_and(|p| p.deadline_ms <= now_ms)
        {
            let Some(produce) = self.pending_produces.pop_front() else {
                break;
            };
            self.effects.push_back(ReplicationEffect::ProduceCompleted {
                request_id: produce.request_id,
                result: Err(ResponseError::RequestTimedOut),
            });
        }
    }

    // (C) outputs

    /// The next effect, oldest first.
    pub fn poll_effect(&mut self) -> Option<ReplicationEffect> {
        self.effects.pop_front()
    }

    /// When [`LeaderReplicas::handle_timeout`] must next run.
    pub fn poll_timeout(&self) -> u64 {
        let produce = self.pending_produces.iter().map(|p| p.deadline_ms).min();
        produce.map_or(self.next_isr_check_ms, |d| d.min(self.next_isr_check_ms))
    }

    // internals

    /// Kafka `isCaughtUp`: at the leader's log end, or caught up within `replica.lag.time.max.ms`.
    fn is_caught_up(&self, follower: &FollowerState, now_ms: u64) -> bool {
        follower.log_end_offset == self.leader_log_end_offset
            || now_ms.saturating_sub(follower.last_caught_up_time_ms)
                <= self.config.replica_lag_time_max_ms
    }

    fn maybe_shrink_isr(&mut self, now_ms: u64) {
        if self.pending_isr.is_some() {
            return;
        }
        let out_of_sync: Vec<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|&r| r != self.local_broker_id)
            .filter(|r| {
                self.followers
                    .get(r)
                    .is_some_and(|f| !self.is_caught_up(f, now_ms))
            })
            .collect();
        if out_of_sync.is_empty() {
            return;
        }
        let new_isr: Vec<BrokerId> = self
            .isr
            .iter()
            .copied()
            .filter(|r| !out_of_sync.contains(r))
            .collect();
        self.propose_isr(new_isr);
    }

    /// Kafka `maybeExpandIsr`: a follower outside the ISR joins once its log end offset reaches the high
    /// watermark and the start of this leader epoch.
    fn maybe_expand_isr(&mut self, follower_id: BrokerId) {
        if self.pending_isr.is_some() || self.isr.contains(&follower_id) {
            return;
        }
        let Some(follower) = self.followers.get(&follower_id) else {
            return;
        };
        if follower.log_end_offset >= self.high_watermark
            && follower.log_end_offset >= self.leader_epoch_start_offset
        {
            let new_isr: Vec<BrokerId> = self
                .replicas
                .iter()
                .copied()
                .filter(|r| self.isr.contains(r) || *r == follower_id)
                .collect();
            self.propose_isr(new_isr);
        }
    }

    fn propose_isr(&mut self, new_isr: Vec<BrokerId>) {
        self.effects
            .push_back(ReplicationEffect::AlterPartition(AlterPartitionRequest {
                broker_id: self.local_broker_id,
                broker_epoch: self.broker_epoch,
                topic: self.topic.clone(),
                partition: self.partition,
                leader_epoch: self.leader_epoch,
                partition_epoch: self.partition_epoch,
                new_isr: new_isr.clone(),
            }));
        self.pending_isr = Some(new_isr);
    }

    /// HW = min log end offset over the maximal ISR, never backwards (Kafka `maybeIncrementLeaderHW`).
    fn maybe_increment_high_watermark(&mut self, _now_ms: u64) {
        let candidate = self
            .maximal_isr()
            .iter()
            .map(|&r| {
                if r == self.local_broker_id {
                    self.leader_log_end_offset
                } else {
                    self.followers
                        .get(&r)
                        .map_or(UNKNOWN_OFFSET, |f| f.log_end_offset)
                }
            })
            .min()
            .unwrap_or(self.leader_log_end_offset);
        if candidate > self.high_watermark {
            self.high_watermark = candidate;
            self.effects
                .push_back(ReplicationEffect::HighWatermarkChanged {
                    high_watermark: candidate,
                });
            self.complete_produces();
        }
    }

    /// Kafka `checkEnoughReplicasReachOffset`: once the HW passes a batch, answer it, with
    /// NOT_ENOUGH_REPLICAS_AFTER_APPEND if the committed ISR is now below `min.insync.replicas`.
    fn complete_produces(&mut self) {
        while self
            .pending_produces
            .front()
            .is_some_and(|p| p.required_offset <= self.high_watermark)
        {
            let Some(produce) = self.pending_produces.pop_front() else {
                break;
            };
            let result = if self.isr.len() < self.config.min_insync_replicas {
                Err(ResponseError::NotEnoughReplicasAfterAppend)
            } else {
                Ok(())
            };
            self.effects.push_back(ReplicationEffect::ProduceCompleted {
                request_id: produce.request_id,
                result,
            });
        }
    }
}
