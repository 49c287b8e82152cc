//! Share-group membership from the client side (spec 4.1; Kafka `ShareMembershipManager` and
//! `ShareHeartbeatRequestManager`): a client-generated member id, the ShareGroupHeartbeat loop with member
//! epochs and the interval the coordinator sends, the assignment, rejoin at epoch 0 after fencing, and
//! leaving with epoch -1.

use std::collections::BTreeSet;

use super::wire::{NodeId, ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};
use crate::coordinator::share::TopicIdPartition;
use crate::ResponseError;

/// Member epoch of a join or rejoin.
pub const JOIN_EPOCH: i32 = 0;
/// Member epoch of a leave.
pub const LEAVE_EPOCH: i32 = -1;
/// Heartbeat interval until the coordinator sends one (`group.share.heartbeat.interval.ms` default).
pub const DEFAULT_HEARTBEAT_INTERVAL_MS: u64 = 5_000;

/// Where the member is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberState {
    /// Not subscribed to anything: no heartbeats.
    Unsubscribed,
    /// Sending epoch-0 heartbeats until the coordinator answers with an epoch.
    Joining,
    /// Joined; heartbeats every interval.
    Stable,
    /// A leave heartbeat (epoch -1) is due or outstanding.
    Leaving,
    /// Left (closed, unsubscribed or `max.poll.interval.ms` exceeded); a poll may rejoin.
    Left,
    /// A fatal heartbeat error: no more heartbeats.
    Failed,
}

/// What a heartbeat response did to the membership.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeartbeatOutcome {
    /// Nothing the engine must react to.
    Unchanged,
    /// The epoch or the assignment changed.
    Changed,
    /// Fenced or unknown: the member rejoins at epoch 0 with an empty assignment.
    Rejoining,
    /// The coordinator moved or is loading: look it up again.
    CoordinatorLookupNeeded,
    /// A fatal error for the application.
    Fatal(ResponseError),
    /// The leave completed.
    LeftGroup,
}

/// The membership state machine.
#[derive(Clone, Debug)]
pub struct Membership {
    member_id: String,
    member_epoch: i32,
    state: MemberState,
    subscription: Vec<String>,
    send_full_request: bool,
    heartbeat_interval_ms: u64,
    next_heartbeat_ms: u64,
    outstanding_epoch: Option<i32>,
    assignment: BTreeSet<TopicIdPartition>,
    coordinator: Option<NodeId>,
}

impl Membership {
    /// A member with its client-generated id.
    pub fn new(member_id: String) -> Membership {
        Membership {
            member_id,
            member_epoch: JOIN_EPOCH,
            state: MemberState::Unsubscribed,
            subscription: Vec::new(),
            send_full_request: true,
            heartbeat_interval_ms: DEFAULT_HEARTBEAT_INTERVAL_MS,
            next_heartbeat_ms: 0,
            outstanding_epoch: None,
            assignment: BTreeSet::new(),
            coordinator: None,
        }
    }

    /// The member id.
    pub fn member_id(&self) -> &str {
        &self.member_id
    }

    /// The current member epoch.
    pub fn member_epoch(&self) -> i32 {
        self.member_epoch
    }

    /// The lifecycle state.
    pub fn state(&self) -> MemberState {
        self.state
    }

    /// The assigned partitions.
    pub fn assignment(&self) -> &BTreeSet<TopicIdPartition> {
        &self.assignment
    }

    /// The subscribed topic names.
    pub fn subscription(&self) -> &[String] {
        &self.subscription
    }

    /// Sets the group coordinator.
    pub fn set_coordinator(&mut self, node: Option<NodeId>) {
        self.coordinator = node;
    }

    /// Subscribes (replacing the subscription); an empty list unsubscribes (leaves).
    pub fn subscribe(&mut self, now_ms: u64, topics: Vec<String>) {
        if topics.is_empty() {
            self.leave(now_ms);
            return;
        }
        self.subscription = topics;
        self.send_full_request = true;
        self.next_heartbeat_ms = now_ms;
        if matches!(
            self.state,
            MemberState::Unsubscribed | MemberState::Left | MemberState::Leaving
        ) {
            self.rejoin(now_ms);
        }
    }

    /// Starts a leave: the next heartbeat carries epoch -1. A member that never joined just stops.
    pub fn leave(&mut self, now_ms: u64) {
        match self.state {
            MemberState::Stable | MemberState::Joining if self.member_epoch > 0 => {
                self.state = MemberState::Leaving;
                self.next_heartbeat_ms = now_ms;
                // A leave goes out at once; a late answer to an earlier heartbeat is ignored.
                self.outstanding_epoch = None;
            }
            MemberState::Failed => {}
            _ => {
                self.state = MemberState::Left;
                self.member_epoch = JOIN_EPOCH;
                self.outstanding_epoch = None;
            }
        }
        self.assignment.clear();
    }

    /// Rejoins at epoch 0 (after fencing, or a poll after leaving on `max.poll.interval.ms`).
    pub fn rejoin(&mut self, now_ms: u64) {
        if self.subscription.is_empty() || self.state == MemberState::Failed {
            return;
        }
        self.state = MemberState::Joining;
        self.member_epoch = JOIN_EPOCH;
        self.send_full_request = true;
        self.next_heartbeat_ms = now_ms;
        self.outstanding_epoch = None;
        self.assignment.clear();
    }

    /// True while a leave is due or outstanding.
    pub fn is_leaving(&self) -> bool {
        self.state == MemberState::Leaving
    }

    /// When the next heartbeat is due, if one is.
    pub fn next_heartbeat_ms(&self) -> Option<u64> {
        let sends = matches!(
            self.state,
            MemberState::Joining | MemberState::Stable | MemberState::Leaving
        );
        (sends && self.outstanding_epoch.is_none() && self.coordinator.is_some())
            .then_some(self.next_heartbeat_ms)
    }

    /// The heartbeat to send now, with its destination, if one is due.
    pub fn poll_heartbeat(
        &mut self,
        now_ms: u64,
        client_rack: &str,
        group_id: &str,
    ) -> Option<(NodeId, ShareGroupHeartbeatRequest)> {
        let due_ms = self.next_heartbeat_ms()?;
        if now_ms < due_ms {
            return None;
        }
        let node = self.coordinator?;
        let member_epoch = if self.state == MemberState::Leaving {
            LEAVE_EPOCH
        } else {
            self.member_epoch
        };
        let full = self.send_full_request || member_epoch == JOIN_EPOCH;
        let request = ShareGroupHeartbeatRequest {
            group_id: group_id.to_owned(),
            member_id: self.member_id.clone(),
            member_epoch,
            rack_id: (full && !client_rack.is_empty()).then(|| client_rack.to_owned()),
            subscribed_topic_names: (full && member_epoch != LEAVE_EPOCH)
                .then(|| self.subscription.clone()),
        };
        self.outstanding_epoch = Some(member_epoch);
        Some((node, request))
    }

    /// Handles a heartbeat response. `resolve` maps the assignment's topic ids to partitions.
    pub fn handle_response(
        &mut self,
        now_ms: u64,
        response: &ShareGroupHeartbeatResponse,
        retry_backoff_ms: u64,
    ) -> HeartbeatOutcome {
        let Some(sent_epoch) = self.outstanding_epoch.take() else {
            return HeartbeatOutcome::Unchanged; // A stale answer (superseded by a leave or rejoin).
        };
        if sent_epoch == LEAVE_EPOCH {
            self.state = MemberState::Left;
            self.member_epoch = JOIN_EPOCH;
            self.assignment.clear();
            return HeartbeatOutcome::LeftGroup;
        }
        match response.error {
            None => {}
            Some(ResponseError::FencedMemberEpoch | ResponseError::UnknownMemberId) => {
                self.rejoin(now_ms);
                return HeartbeatOutcome::Rejoining;
            }
            Some(
                ResponseError::NotCoordinator
                | ResponseError::CoordinatorNotAvailable
                | ResponseError::CoordinatorLoadInProgress,
            ) => {
                self.next_heartbeat_ms = now_ms + retry_backoff_ms;
                return HeartbeatOutcome::CoordinatorLookupNeeded;
            }
            Some(error) if error.is_retriable() => {
                self.next_heartbeat_ms = now_ms + retry_backoff_ms;
                return HeartbeatOutcome::Unchanged;
            }
            Some(error) => {
                self.state = MemberState::Failed;
                self.assignment.clear();
                return HeartbeatOutcome::Fatal(error);
            }
        }
        if response.member_epoch <= 0 {
            // A coordinator never answers a successful join with a non-positive epoch: bad input.
            self.next_heartbeat_ms = now_ms + retry_backoff_ms;
            return HeartbeatOutcome::Unchanged;
        }
        let mut changed = response.member_epoch != self.member_epoch;
        self.member_epoch = response.member_epoch;
        self.state = MemberState::Stable;
        self.send_full_request = false;
        if response.heartbeat_interval_ms > 0 {
            self.heartbeat_interval_ms = response.heartbeat_interval_ms as u64;
        }
        self.next_heartbeat_ms = now_ms + self.heartbeat_interval_ms;
        if let Some(topics) = &response.assignment {
            let assignment: BTreeSet<TopicIdPartition> = topics
                .iter()
                .flat_map(|topic| {
                    topic
                        .partitions
                        .iter()
                        .filter(|p| **p >= 0)
                        .map(move |&partition| TopicIdPartition {
                            topic_id: topic.topic_id,
                            partition,
                        })
                })
                .collect();
            changed |= assignment != self.assignment;
            self.assignment = assignment;
        }
        if changed {
            HeartbeatOutcome::Changed
        } else {
            HeartbeatOutcome::Unchanged
        }
    }

    /// A heartbeat got no response: retry after the backoff (a leave just completes).
    pub fn handle_failure(&mut self, now_ms: u64, retry_backoff_ms: u64) -> HeartbeatOutcome {
        let Some(sent_epoch) = self.outstanding_epoch.take() else {
            return HeartbeatOutcome::Unchanged;
        };
        if sent_epoch == LEAVE_EPOCH {
            self.state = MemberState::Left;
            self.member_epoch = JOIN_EPOCH;
            return HeartbeatOutcome::LeftGroup;
        }
        self.next_heartbeat_ms = now_ms + retry_backoff_ms;
        HeartbeatOutcome::CoordinatorLookupNeeded
    }
}
