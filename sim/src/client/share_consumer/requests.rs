//! The share consumer's requests and responses (spec 2.2-2.4, 4.1, 4.3, 7.7): which request goes to which
//! node, share-session epochs, piggybacked versus separate acknowledgements, the outcome of every
//! acknowledgement, leader changes, timeouts and the close sequence. Part of [`ShareConsumer`].

use std::collections::{BTreeMap, BTreeSet};

use super::ack_batches::acknowledgement_batches;
use super::completed_fetch::CompletedFetch;
use super::consumer::{InFlightRequest, NodeSession, PendingAcks, RequestKind, ShareConsumer};
use super::events::{error_code, ClientError, ClientTraceEvent, ConsumerEvent};
use super::membership::{HeartbeatOutcome, MemberState};
use super::wire::{
    NodeId, RequestId, ShareAcknowledgePartition, ShareAcknowledgeRequest,
    ShareAcknowledgeResponse, ShareFetchPartition, ShareFetchRequest, ShareFetchResponse,
    ShareGroupHeartbeatResponse, TopicMetadata, Transmit,
};
use crate::coordinator::share::TopicIdPartition;
use crate::share::session::{next_epoch, FINAL_EPOCH, INITIAL_EPOCH};
use crate::share::AcknowledgeType;
use crate::ResponseError;

/// Why a request got no response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestFailure {
    /// The connection closed (DisconnectException).
    Disconnected,
    /// No response within `request.timeout.ms`.
    TimedOut,
}

impl RequestFailure {
    fn error(self) -> ResponseError {
        match self {
            RequestFailure::Disconnected => ResponseError::NetworkException,
            RequestFailure::TimedOut => ResponseError::RequestTimedOut,
        }
    }
}

fn is_session_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::ShareSessionNotFound | ResponseError::InvalidShareSessionEpoch
    )
}

/// Partition errors that mean the leader moved: not retried, re-discovered (spec 2.2).
fn is_leader_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::NotLeaderOrFollower
            | ResponseError::FencedLeaderEpoch
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::UnknownTopicId
            | ResponseError::UnknownLeaderEpoch
    )
}

impl ShareConsumer {
    // ----- (B) inputs -----

    /// Leader discovery: a topic's name, id and partition leaders.
    pub fn handle_topic_metadata(&mut self, _now_ms: u64, topic: &TopicMetadata) {
        self.topic_names.insert(topic.topic_id, topic.name.clone());
        for &(partition, leader) in &topic.partition_leaders {
            let tip = TopicIdPartition {
                topic_id: topic.topic_id,
                partition,
            };
            match leader {
                Some(node) => self.leaders.insert(tip, node),
                None => self.leaders.remove(&tip),
            };
        }
        self.check_invariants();
    }

    /// The group coordinator, found by FindCoordinator (or lost: `None`).
    pub fn handle_group_coordinator(&mut self, _now_ms: u64, node: Option<NodeId>) {
        self.membership.set_coordinator(node);
    }

    /// A ShareGroupHeartbeat response.
    pub fn handle_heartbeat_response(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        response: &ShareGroupHeartbeatResponse,
    ) {
        if self
            .take_request(request_id, |k| matches!(k, RequestKind::Heartbeat))
            .is_none()
        {
            return;
        }
        let outcome =
            self.membership
                .handle_response(now_ms, response, self.config.retry_backoff_ms);
        self.on_heartbeat_outcome(now_ms, outcome);
        self.after_input(now_ms);
    }

    /// A ShareFetch response.
    pub fn handle_share_fetch_response(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        response: &ShareFetchResponse,
    ) {
        let Some(request) =
            self.take_request(request_id, |k| matches!(k, RequestKind::ShareFetch { .. }))
        else {
            return;
        };
        let RequestKind::ShareFetch {
            epoch,
            partitions,
            forgotten,
        } = request.kind
        else {
            return;
        };
        let node = request.node;
        let mut acks = request.acks;
        if let Some(error) = response.error {
            self.reset_session(now_ms, node, error.code());
            if error == ResponseError::ShareSessionLimitReached {
                self.session(node).retry_at_ms = Some(now_ms + self.config.retry_backoff_ms);
            }
            for (tip, pending) in acks {
                self.report_outcome(now_ms, tip, pending, Some(error));
            }
            self.after_input(now_ms);
            return;
        }
        let session = self.session(node);
        if epoch == INITIAL_EPOCH {
            session.partitions.clear();
        }
        session.partitions.retain(|tip| !forgotten.contains(tip));
        session.partitions.extend(partitions.iter().copied());
        session.partitions.extend(acks.keys().copied());
        session.epoch = next_epoch(epoch);
        if response.acquisition_lock_timeout_ms >= 0 {
            self.acquisition_lock_timeout_ms = Some(response.acquisition_lock_timeout_ms);
        }
        for partition in &response.partitions {
            let tip = partition.topic_id_partition;
            if let Some(pending) = acks.remove(&tip) {
                self.report_outcome(now_ms, tip, pending, partition.acknowledge_error);
            }
            match partition.error {
                None => {
                    if !partition.acquired_records.is_empty() {
                        // Kafka `ShareConsumeRequestManager.handleShareFetchSuccess`: acquired records
                        // stop fetching until a poll finds nothing buffered.
                        self.fetch_wanted = false;
                    }
                    if self.close.is_none() && !partition.acquired_records.is_empty() {
                        let topic = self
                            .topic_names
                            .get(&tip.topic_id)
                            .cloned()
                            .unwrap_or_default();
                        let fetch = CompletedFetch::new(
                            &topic,
                            tip,
                            node,
                            &partition.records,
                            &partition.acquired_records,
                        );
                        if !fetch.is_empty() {
                            self.buffer.push_back(fetch);
                        }
                    }
                }
                Some(error) if is_leader_error(error) => {
                    self.update_leader(tip, partition.current_leader)
                }
                Some(ResponseError::CorruptMessage) => {
                    // Spec 7.6: a partition-level CORRUPT_MESSAGE is a KafkaException from poll.
                    if self.deferred_error.is_none() {
                        self.deferred_error =
                            Some(ClientError::Kafka(ResponseError::CorruptMessage));
                    }
                }
                // Other partition errors are logged by Kafka and the partition is fetched again.
                Some(_) => {}
            }
        }
        // A response that omits a partition whose acknowledgements it carried is bad input.
        for (tip, pending) in acks {
            self.report_outcome(
                now_ms,
                tip,
                pending,
                Some(ResponseError::UnknownServerError),
            );
        }
        self.after_input(now_ms);
    }

    /// A ShareAcknowledge response.
    pub fn handle_share_acknowledge_response(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        response: &ShareAcknowledgeResponse,
    ) {
        let Some(request) = self.take_request(request_id, |k| {
            matches!(k, RequestKind::ShareAcknowledge { .. })
        }) else {
            return;
        };
        let RequestKind::ShareAcknowledge { epoch } = request.kind else {
            return;
        };
        let node = request.node;
        let mut acks = request.acks;
        if let Some(error) = response.error {
            if is_session_error(error) || epoch == FINAL_EPOCH {
                self.reset_session(now_ms, node, error.code());
            }
            for (tip, pending) in acks {
                self.report_outcome(now_ms, tip, pending, Some(error));
            }
            self.after_input(now_ms);
            return;
        }
        let session = self.session(node);
        if epoch == FINAL_EPOCH {
            session.epoch = INITIAL_EPOCH;
            session.partitions.clear();
        } else {
            session.epoch = next_epoch(epoch);
        }
        if let Some(timeout_ms) = response.acquisition_lock_timeout_ms.filter(|t| *t >= 0) {
            self.acquisition_lock_timeout_ms = Some(timeout_ms);
        }
        for partition in &response.partitions {
            let tip = partition.topic_id_partition;
            let Some(pending) = acks.remove(&tip) else {
                continue;
            };
            match partition.error {
                Some(error) if is_leader_error(error) => {
                    self.update_leader(tip, partition.current_leader);
                    self.report_outcome(now_ms, tip, pending, Some(error));
                }
                // Spec 2.2: other retriable errors are retried until the deadline.
                Some(error)
                    if error.is_retriable()
                        && epoch != FINAL_EPOCH
                        && now_ms < pending.deadline_ms =>
                {
                    self.queue_pending(now_ms, node, tip, pending, false);
                }
                error => self.report_outcome(now_ms, tip, pending, error),
            }
        }
        for (tip, pending) in acks {
            self.report_outcome(
                now_ms,
                tip,
                pending,
                Some(ResponseError::UnknownServerError),
            );
        }
        self.after_input(now_ms);
    }

    /// A request got no response: the connection closed or the node gave up waiting.
    pub fn handle_request_failed(
        &mut self,
        now_ms: u64,
        request_id: RequestId,
        failure: RequestFailure,
    ) {
        let Some(request) = self.take_request(request_id, |_| true) else {
            return;
        };
        self.fail_request(now_ms, request, failure);
        self.after_input(now_ms);
    }

    /// Every connection of the client closed at once (the `consumer_reconnect_late_close` lever: the
    /// client reconnects): as Kafka's ShareSessionHandler does after a disconnect, every share session
    /// starts over at epoch 0 on the new connection, so the broker binds the new session to it and the
    /// old connection's close, however late, cannot release what the new session acquires (spec 2.5).
    /// The requests in flight on the old connections fail on their own ([`Self::handle_request_failed`]).
    pub fn handle_connections_lost(&mut self, now_ms: u64) {
        let nodes: Vec<NodeId> = self.sessions.keys().copied().collect();
        for node in nodes {
            self.reset_session(now_ms, node, ResponseError::NetworkException.code());
        }
        self.after_input(now_ms);
    }

    /// Time passed: request timeouts, acknowledgement and commit deadlines, `max.poll.interval.ms`, the
    /// close deadline.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        if self.closed {
            return;
        }
        let expired: Vec<RequestId> = self
            .requests
            .iter()
            .filter(|(_, r)| r.deadline_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for request_id in expired {
            if let Some(request) = self.take_request(request_id, |_| true) {
                self.fail_request(now_ms, request, RequestFailure::TimedOut);
            }
        }
        let mut overdue = Vec::new();
        for (node, partitions) in &self.pending {
            for (tip, pending) in partitions {
                if pending.deadline_ms <= now_ms {
                    overdue.push((*node, *tip));
                }
            }
        }
        for (node, tip) in overdue {
            if let Some(pending) = self.remove_pending(node, tip) {
                self.report_outcome(now_ms, tip, pending, Some(ResponseError::RequestTimedOut));
            }
        }
        let late: Vec<_> = self
            .sync_commits
            .iter()
            .filter(|(_, c)| c.deadline_ms <= now_ms)
            .map(|(id, _)| *id)
            .collect();
        for commit_id in late {
            if let Some(commit) = self.sync_commits.remove(&commit_id) {
                let results = commit
                    .results
                    .into_iter()
                    .map(|(tip, r)| (tip, r.unwrap_or(Some(ResponseError::RequestTimedOut))))
                    .collect();
                self.events
                    .push_back(ConsumerEvent::CommitSyncCompleted { commit_id, results });
            }
        }
        for session in self.sessions.values_mut() {
            if session.retry_at_ms.is_some_and(|at| at <= now_ms) {
                session.retry_at_ms = None;
            }
        }
        if self.close.is_none()
            && self.membership.state() == MemberState::Stable
            && now_ms >= self.last_poll_ms + self.config.max_poll_interval_ms
        {
            // max.poll.interval.ms: the member leaves the group; the next poll rejoins.
            self.membership.leave(now_ms);
        }
        if let Some(close) = self.close {
            if now_ms >= close.deadline_ms {
                self.finish_close(now_ms);
            }
        }
        self.after_input(now_ms);
    }

    /// The next time `handle_timeout` has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        let mut deadlines: Vec<u64> = Vec::new();
        if self.closed {
            return None;
        }
        deadlines.extend(self.membership.next_heartbeat_ms());
        deadlines.extend(self.requests.values().map(|r| r.deadline_ms));
        deadlines.extend(
            self.pending
                .values()
                .flat_map(|p| p.values())
                .map(|p| p.deadline_ms),
        );
        deadlines.extend(self.sync_commits.values().map(|c| c.deadline_ms));
        deadlines.extend(self.sessions.values().filter_map(|s| s.retry_at_ms));
        if let Some(close) = self.close {
            deadlines.push(close.deadline_ms);
        } else if self.membership.state() == MemberState::Stable {
            deadlines.push(self.last_poll_ms + self.config.max_poll_interval_ms);
        }
        deadlines.into_iter().min()
    }

    // ----- request building -----

    pub(super) fn prepare_transmits(&mut self, now_ms: u64) {
        if self.closed {
            return;
        }
        if let Some((node, request)) =
            self.membership
                .poll_heartbeat(now_ms, &self.config.client_rack, &self.config.group_id)
        {
            let request_id =
                self.register_request(now_ms, node, RequestKind::Heartbeat, BTreeMap::new());
            self.transmits.push_back(Transmit::ShareGroupHeartbeat {
                request_id,
                node,
                request,
            });
        }
        let mut nodes: BTreeSet<NodeId> = self.sessions.keys().copied().collect();
        nodes.extend(self.pending.keys().copied());
        if self.close.is_none() {
            nodes.extend(
                self.membership
                    .assignment()
                    .iter()
                    .filter_map(|tip| self.leaders.get(tip).copied()),
            );
        }
        for node in nodes {
            let session = self.session(node);
            if session.in_flight.is_some() || session.retry_at_ms.is_some() {
                continue;
            }
            let epoch = session.epoch;
            if epoch == INITIAL_EPOCH {
                // Spec 2.3/2.4: no acknowledgements without a session; Kafka fails them locally, with
                // NETWORK_EXCEPTION as Kafka 4.2's client does (`ShareConsumeRequestManager
                // .maybeAddAcknowledgements`, KAFKA-19485, apache/kafka#20135, cherry-picked to 4.1 as
                // #20670): a new session means the connection to the leader was lost and re-established.
                // Earlier clients used INVALID_SHARE_SESSION_EPOCH here (KAFKA-18198, #18944); not modelled.
                if let Some(partitions) = self.pending.remove(&node) {
                    for (tip, pending) in partitions {
                        self.report_outcome(
                            now_ms,
                            tip,
                            pending,
                            Some(ResponseError::NetworkException),
                        );
                    }
                }
            }
            if self.close.is_some() {
                if epoch != INITIAL_EPOCH {
                    let acks = self.pending.remove(&node).unwrap_or_default();
                    self.send_acknowledge(now_ms, node, FINAL_EPOCH, acks);
                }
                continue;
            }
            let acks = self.pending.get(&node);
            let has_renew = acks.is_some_and(|a| a.values().any(PendingAcks::has_renew));
            let send_alone = acks.is_some_and(|a| a.values().any(|p| p.send_alone));
            let fetchable = if self.fetch_wanted {
                self.fetchable_partitions(node)
            } else {
                BTreeSet::new()
            };
            if has_renew || send_alone {
                let acks = self.pending.remove(&node).unwrap_or_default();
                self.send_acknowledge(now_ms, node, epoch, acks);
            } else if !fetchable.is_empty() {
                let acks = self.pending.remove(&node).unwrap_or_default();
                self.send_fetch(now_ms, node, epoch, fetchable, acks);
            } else if let Some(acks) = self.pending.remove(&node) {
                self.send_acknowledge(now_ms, node, epoch, acks);
            } else if epoch != INITIAL_EPOCH && self.is_session_close_candidate(node) {
                // Spec 4.3: nothing assigned, buffered or pending here: close the session.
                self.send_acknowledge(now_ms, node, FINAL_EPOCH, BTreeMap::new());
            }
        }
        self.advance_close(now_ms);
        self.check_invariants();
    }

    /// Assigned partitions led by `node` with nothing buffered.
    fn fetchable_partitions(&self, node: NodeId) -> BTreeSet<TopicIdPartition> {
        self.membership
            .assignment()
            .iter()
            .filter(|tip| self.leaders.get(tip) == Some(&node))
            .filter(|tip| !self.buffer.iter().any(|f| f.topic_id_partition == **tip))
            .copied()
            .collect()
    }

    /// `SCRM.isSessionCloseCandidate`: no assigned partition led by the node, no buffered records and no
    /// pending or undecided acknowledgements from it.
    fn is_session_close_candidate(&self, node: NodeId) -> bool {
        let assigned_here = self
            .membership
            .assignment()
            .iter()
            .any(|tip| self.leaders.get(tip) == Some(&node));
        let buffered_here = self.buffer.iter().any(|f| f.node == node)
            || self.renewed.iter().any(|r| r.node == node);
        let delivered_here = self
            .delivered
            .values()
            .flat_map(|e| e.values())
            .any(|e| e.node == node);
        !assigned_here && !buffered_here && !delivered_here && !self.pending.contains_key(&node)
    }

    fn send_fetch(
        &mut self,
        now_ms: u64,
        node: NodeId,
        epoch: i32,
        fetch_partitions: BTreeSet<TopicIdPartition>,
        acks: BTreeMap<TopicIdPartition, PendingAcks>,
    ) {
        debug_assert!(epoch != INITIAL_EPOCH || acks.is_empty());
        let session_partitions = self.session(node).partitions.clone();
        let forgotten: BTreeSet<TopicIdPartition> = if epoch == INITIAL_EPOCH {
            BTreeSet::new()
        } else {
            session_partitions
                .into_iter()
                .filter(|tip| !fetch_partitions.contains(tip) && !acks.contains_key(tip))
                .collect()
        };
        let mut partitions: BTreeSet<TopicIdPartition> = fetch_partitions.clone();
        partitions.extend(acks.keys().copied());
        let request = ShareFetchRequest {
            version: self.semantics.share_rpc_version,
            group_id: self.config.group_id.clone(),
            member_id: self.member_id().to_owned(),
            share_session_epoch: epoch,
            max_wait_ms: self.config.fetch_max_wait_ms as i32,
            min_bytes: self.config.fetch_min_bytes as i32,
            max_bytes: self.config.fetch_max_bytes as i32,
            max_records: self.config.max_poll_records as i32,
            batch_size: self.config.max_poll_records as i32,
            share_acquire_mode: self.config.acquire_mode.wire_id(),
            is_renew_ack: false,
            partitions: partitions
                .iter()
                .map(|tip| ShareFetchPartition {
                    topic_id_partition: *tip,
                    acknowledgement_batches: acks
                        .get(tip)
                        .map(|p| acknowledgement_batches(&p.acks))
                        .unwrap_or_default(),
                })
                .collect(),
            forgotten_partitions: forgotten.iter().copied().collect(),
        };
        let acks = self.trace_sent(now_ms, node, "share_fetch", epoch, acks);
        let kind = RequestKind::ShareFetch {
            epoch,
            partitions: fetch_partitions,
            forgotten,
        };
        let request_id = self.register_request(now_ms, node, kind, acks);
        self.transmits.push_back(Transmit::ShareFetch {
            request_id,
            node,
            request,
        });
    }

    fn send_acknowledge(
        &mut self,
        now_ms: u64,
        node: NodeId,
        epoch: i32,
        acks: BTreeMap<TopicIdPartition, PendingAcks>,
    ) {
        debug_assert!(epoch != INITIAL_EPOCH);
        let is_renew_ack = acks.values().any(PendingAcks::has_renew);
        let request = ShareAcknowledgeRequest {
            version: self.semantics.share_rpc_version,
            group_id: self.config.group_id.clone(),
            member_id: self.member_id().to_owned(),
            share_session_epoch: epoch,
            is_renew_ack,
            partitions: acks
                .iter()
                .map(|(tip, p)| ShareAcknowledgePartition {
                    topic_id_partition: *tip,
                    acknowledgement_batches: acknowledgement_batches(&p.acks),
                })
                .collect(),
        };
        let acks = self.trace_sent(now_ms, node, "share_acknowledge", epoch, acks);
        let kind = RequestKind::ShareAcknowledge { epoch };
        let request_id = self.register_request(now_ms, node, kind, acks);
        self.transmits.push_back(Transmit::ShareAcknowledge {
            request_id,
            node,
            request,
        });
    }

    /// Traces the acknowledgements going on the wire for the first time (a retried unit's offsets were
    /// traced when first sent) and marks them sent.
    fn trace_sent(
        &mut self,
        now_ms: u64,
        node: NodeId,
        request: &'static str,
        epoch: i32,
        mut acks: BTreeMap<TopicIdPartition, PendingAcks>,
    ) -> BTreeMap<TopicIdPartition, PendingAcks> {
        for (tip, pending) in &mut acks {
            let fresh: Vec<(i64, AcknowledgeType)> = pending
                .acks
                .iter()
                .filter(|(offset, _)| !pending.sent.contains(offset))
                .map(|(o, t)| (*o, *t))
                .collect();
            if fresh.is_empty() {
                continue;
            }
            pending.sent.extend(fresh.iter().map(|(offset, _)| *offset));
            self.trace
                .push_back(ClientTraceEvent::AcknowledgementsSent {
                    at_ms: now_ms,
                    member_id: self.member_id().to_owned(),
                    node,
                    topic_id_partition: *tip,
                    request,
                    share_session_epoch: epoch,
                    acknowledgements: fresh,
                });
        }
        acks
    }

    fn register_request(
        &mut self,
        now_ms: u64,
        node: NodeId,
        kind: RequestKind,
        acks: BTreeMap<TopicIdPartition, PendingAcks>,
    ) -> RequestId {
        let request_id = RequestId(self.next_request_id);
        self.next_request_id += 1;
        if !matches!(kind, RequestKind::Heartbeat) {
            let session = self.session(node);
            debug_assert!(session.in_flight.is_none());
            session.in_flight = Some(request_id);
        }
        let deadline_ms = now_ms + self.config.request_timeout_ms;
        self.requests.insert(
            request_id,
            InFlightRequest {
                node,
                kind,
                acks,
                deadline_ms,
            },
        );
        request_id
    }

    // ----- response helpers -----

    pub(super) fn session(&mut self, node: NodeId) -> &mut NodeSession {
        self.sessions.entry(node).or_default()
    }

    /// Removes an outstanding request whose kind matches; a response of the wrong kind is ignored (bad
    /// input), a late one (after a timeout) too.
    fn take_request(
        &mut self,
        request_id: RequestId,
        expected: impl Fn(&RequestKind) -> bool,
    ) -> Option<InFlightRequest> {
        if !self
            .requests
            .get(&request_id)
            .is_some_and(|r| expected(&r.kind))
        {
            return None;
        }
        let request = self.requests.remove(&request_id)?;
        if let Some(session) = self.sessions.get_mut(&request.node) {
            if session.in_flight == Some(request_id) {
                session.in_flight = None;
            }
        }
        Some(request)
    }

    fn fail_request(&mut self, now_ms: u64, request: InFlightRequest, failure: RequestFailure) {
        if matches!(request.kind, RequestKind::Heartbeat) {
            let outcome = self
                .membership
                .handle_failure(now_ms, self.config.retry_backoff_ms);
            self.on_heartbeat_outcome(now_ms, outcome);
            return;
        }
        // Kafka's ShareSessionHandler starts a new session after any failed request, and the
        // NetworkClient asks for a metadata update on a disconnect (the leader may have died).
        self.reset_session(now_ms, request.node, 0);
        if !self.events.contains(&ConsumerEvent::MetadataUpdateNeeded) {
            self.events.push_back(ConsumerEvent::MetadataUpdateNeeded);
        }
        for (tip, pending) in request.acks {
            self.report_outcome(now_ms, tip, pending, Some(failure.error()));
        }
    }

    fn reset_session(&mut self, now_ms: u64, node: NodeId, error_code: i16) {
        let member_id = self.member_id().to_owned();
        let session = self.session(node);
        let had_session = session.epoch != INITIAL_EPOCH;
        session.epoch = INITIAL_EPOCH;
        session.partitions.clear();
        // A refused opening (SHARE_SESSION_LIMIT_REACHED at epoch 0) is traced too: the client starts
        // over at epoch 0 all the same.
        if had_session || error_code != 0 {
            self.trace.push_back(ClientTraceEvent::ShareSessionReset {
                at_ms: now_ms,
                member_id,
                node,
                error_code,
            });
        }
    }

    fn update_leader(&mut self, tip: TopicIdPartition, current_leader: Option<NodeId>) {
        match current_leader {
            Some(node) => {
                self.leaders.insert(tip, node);
            }
            None => {
                self.leaders.remove(&tip);
            }
        }
        if !self.events.contains(&ConsumerEvent::MetadataUpdateNeeded) {
            self.events.push_back(ConsumerEvent::MetadataUpdateNeeded);
        }
    }

    fn remove_pending(&mut self, node: NodeId, tip: TopicIdPartition) -> Option<PendingAcks> {
        let partitions = self.pending.get_mut(&node)?;
        let pending = partitions.remove(&tip);
        if partitions.is_empty() {
            self.pending.remove(&node);
        }
        pending
    }

    /// The one outcome of a unit of acknowledgements (ACK-OUTCOME): trace, commit callback, commitSync
    /// result, and for a confirmed RENEW the records' return to the next poll.
    pub(super) fn report_outcome(
        &mut self,
        now_ms: u64,
        tip: TopicIdPartition,
        pending: PendingAcks,
        error: Option<ResponseError>,
    ) {
        self.acks_reported += pending.acks.len() as u64;
        self.trace
            .push_back(ClientTraceEvent::AcknowledgementOutcome {
                at_ms: now_ms,
                member_id: self.member_id().to_owned(),
                topic_id_partition: tip,
                acknowledgements: pending.acks.iter().map(|(o, t)| (*o, *t)).collect(),
                error_code: error_code(error),
                unsent_offsets: pending
                    .acks
                    .keys()
                    .filter(|offset| !pending.sent.contains(offset))
                    .copied()
                    .collect(),
            });
        self.events
            .push_back(ConsumerEvent::AcknowledgementCommitCallback {
                topic_id_partition: tip,
                offsets: pending.acks.keys().copied().collect(),
                error,
            });
        for commit_id in &pending.waiters {
            let Some(commit) = self.sync_commits.get_mut(commit_id) else {
                continue;
            };
            if let Some(slot) = commit.results.get_mut(&tip) {
                // The first error of a partition wins over a later success.
                if !matches!(slot, Some(Some(_))) {
                    *slot = Some(error);
                }
            }
            if commit.results.values().all(Option::is_some) {
                let commit = self.sync_commits.remove(commit_id).expect("present above");
                let results = commit
                    .results
                    .into_iter()
                    .map(|(tip, r)| (tip, r.flatten()))
                    .collect();
                self.events.push_back(ConsumerEvent::CommitSyncCompleted {
                    commit_id: *commit_id,
                    results,
                });
            }
        }
        if error.is_none() && self.close.is_none() {
            // Spec 7.8: a confirmed RENEW brings the record back in the next poll.
            for (offset, record) in pending.renew_records {
                debug_assert_eq!(pending.acks.get(&offset), Some(&AcknowledgeType::Renew));
                self.renewed.push_back(record);
            }
        }
    }

    fn on_heartbeat_outcome(&mut self, now_ms: u64, outcome: HeartbeatOutcome) {
        match outcome {
            HeartbeatOutcome::Unchanged => {}
            HeartbeatOutcome::Changed
            | HeartbeatOutcome::Rejoining
            | HeartbeatOutcome::LeftGroup => {
                self.trace.push_back(ClientTraceEvent::Membership {
                    at_ms: now_ms,
                    member_id: self.member_id().to_owned(),
                    member_epoch: self.membership.member_epoch(),
                    assignment: self.membership.assignment().iter().copied().collect(),
                });
                // A new assignment naming partitions the metadata has no leader for (Kafka's
                // membership manager asks `metadata.requestUpdate` for topic ids it cannot resolve):
                // without it, a consumer whose first metadata answer lacked the topic never fetches.
                if self.has_leaderless_assignment()
                    && !self.events.contains(&ConsumerEvent::MetadataUpdateNeeded)
                {
                    self.events.push_back(ConsumerEvent::MetadataUpdateNeeded);
                }
            }
            HeartbeatOutcome::CoordinatorLookupNeeded => {
                if !self
                    .events
                    .contains(&ConsumerEvent::CoordinatorLookupNeeded)
                {
                    self.events
                        .push_back(ConsumerEvent::CoordinatorLookupNeeded);
                }
            }
            HeartbeatOutcome::Fatal(error) => self.fatal_error = Some(ClientError::Kafka(error)),
        }
    }

    fn after_input(&mut self, now_ms: u64) {
        self.advance_close(now_ms);
        self.check_invariants();
    }

    // ----- close -----

    /// Moves `close()` along: FINAL acknowledgements first, then the leave heartbeat, then done.
    pub(super) fn advance_close(&mut self, now_ms: u64) {
        let Some(mut close) = self.close else {
            return;
        };
        if self.closed {
            return;
        }
        let share_requests_done = self
            .requests
            .values()
            .all(|r| matches!(r.kind, RequestKind::Heartbeat));
        let sessions_closed = self.sessions.values().all(|s| s.epoch == INITIAL_EPOCH);
        if !(share_requests_done && sessions_closed && self.pending.is_empty()) {
            return;
        }
        if !close.leave_started {
            close.leave_started = true;
            self.close = Some(close);
            self.membership.leave(now_ms);
        }
        if !self.membership.is_leaving() {
            self.finish_close(now_ms);
        }
    }

    /// Ends `close()`: whatever is still outstanding fails with a timeout, then Closed.
    fn finish_close(&mut self, now_ms: u64) {
        if self.closed {
            return;
        }
        let requests = std::mem::take(&mut self.requests);
        for request in requests.into_values() {
            for (tip, pending) in request.acks {
                self.report_outcome(now_ms, tip, pending, Some(ResponseError::RequestTimedOut));
            }
        }
        for session in self.sessions.values_mut() {
            session.in_flight = None;
        }
        let pending = std::mem::take(&mut self.pending);
        for (tip, acks) in pending.into_values().flatten() {
            self.report_outcome(now_ms, tip, acks, Some(ResponseError::RequestTimedOut));
        }
        let commits = std::mem::take(&mut self.sync_commits);
        for (commit_id, commit) in commits {
            let results = commit
                .results
                .into_iter()
                .map(|(tip, r)| (tip, r.unwrap_or(Some(ResponseError::RequestTimedOut))))
                .collect();
            self.events
                .push_back(ConsumerEvent::CommitSyncCompleted { commit_id, results });
        }
        self.closed = true;
        self.events.push_back(ConsumerEvent::Closed);
    }
}
