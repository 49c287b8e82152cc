//! Routes the group coordinator's share-state calls (InitializeShareGroupState, DeleteShareGroupState,
//! ReadShareGroupStateSummary) to the share coordinators owning each key, the way the persister does
//! (spec 3.1): one RPC per share partition to the leader of its `__share_group_state` partition; the
//! retriable errors (COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,
//! UNKNOWN_TOPIC_OR_PARTITION, NETWORK_EXCEPTION, REQUEST_TIMED_OUT) retried with backoff from 1 s
//! doubling to 30 s, at most 5 attempts; the per-partition answers merged into one response.
//!
//! Sans-IO: [`submit`](StateCallRouter::submit) a call, send each [`poll_rpc`](StateCallRouter::poll_rpc)
//! to the leader of its state partition and give the outcome to
//! [`handle_rpc_result`](StateCallRouter::handle_rpc_result); merged answers come out of
//! [`poll_reply`](StateCallRouter::poll_reply).

use std::collections::{BTreeMap, VecDeque};

use super::group_service::{PersisterCallToken, PersisterReply};
use super::share_wire::{flatten, ShareStateRequest, ShareStateResponse};
use crate::ResponseError;

/// First retry backoff (`PersisterStateManager`).
pub const STATE_CALL_BACKOFF_INITIAL_MS: u64 = 1_000;
/// Largest retry backoff.
pub const STATE_CALL_BACKOFF_MAX_MS: u64 = 30_000;
/// Attempts per partition, the first included.
pub const STATE_CALL_ATTEMPTS_MAX: u32 = 5;

/// Whether the persister retries `error` (spec 3.1).
pub fn is_retriable_state_error(error: ResponseError) -> bool {
    matches!(
        error,
        ResponseError::CoordinatorNotAvailable
            | ResponseError::CoordinatorLoadInProgress
            | ResponseError::NotCoordinator
            | ResponseError::UnknownTopicOrPartition
            | ResponseError::NetworkException
            | ResponseError::RequestTimedOut
    )
}

/// One RPC to a share coordinator.
#[derive(Clone, Debug, PartialEq)]
pub struct StateRpc {
    /// The router's id for it.
    pub rpc_id: u64,
    /// The `__share_group_state` partition whose leader must get it.
    pub state_partition: i32,
    /// The single-partition request.
    pub request: ShareStateRequest,
}

#[derive(Clone, Debug)]
struct PartitionCall {
    request: ShareStateRequest,
    state_partition: i32,
    attempts: u32,
    done: bool,
}

#[derive(Clone, Debug)]
struct RoutedCall {
    response: ShareStateResponse,
    partitions: Vec<PartitionCall>,
}

/// The router.
#[derive(Clone, Debug, Default)]
pub struct StateCallRouter {
    state_topic_num_partitions: i32,
    calls: BTreeMap<PersisterCallToken, RoutedCall>,
    /// rpc id → (call, partition index).
    rpcs: BTreeMap<u64, (PersisterCallToken, usize)>,
    next_rpc_id: u64,
    outgoing: VecDeque<StateRpc>,
    /// (when, call, partition index) to send again.
    retries: Vec<(u64, PersisterCallToken, usize)>,
    replies: VecDeque<(PersisterCallToken, PersisterReply)>,
}

impl StateCallRouter {
    /// A router for a `__share_group_state` of `state_topic_num_partitions` partitions.
    pub fn new(state_topic_num_partitions: i32) -> StateCallRouter {
        StateCallRouter {
            state_topic_num_partitions,
            ..StateCallRouter::default()
        }
    }

    /// A call from the group coordinator: split into one RPC per share partition.
    pub fn submit(&mut self, call: PersisterCallToken, request: &ShareStateRequest) {
        let (entries, response) = flatten(request);
        let mut partitions = Vec::with_capacity(entries.len());
        for entry in &entries {
            let single = single_partition(request, entry.topic_index, entry.partition_index);
            partitions.push(PartitionCall {
                request: single,
                state_partition: entry
                    .key
                    .state_partition(self.state_topic_num_partitions)
                    .unwrap_or(0),
                attempts: 0,
                done: false,
            });
        }
        self.calls.insert(
            call,
            RoutedCall {
                response,
                partitions,
            },
        );
        for index in 0..entries.len() {
            self.send(call, index);
        }
        self.finish_if_done(call);
    }

    /// The outcome of an RPC: the response, or why there is none (no coordinator known, transport
    /// failure as NETWORK_EXCEPTION, timeout as REQUEST_TIMED_OUT).
    pub fn handle_rpc_result(
        &mut self,
        now_ms: u64,
        rpc_id: u64,
        result: Result<ShareStateResponse, ResponseError>,
    ) {
        let Some((call, index)) = self.rpcs.remove(&rpc_id) else {
            return;
        };
        let Some(routed) = self.calls.get_mut(&call) else {
            return;
        };
        let error = match &result {
            Ok(response) => partition_error(response),
            Err(error) => Some(*error),
        };
        let partition = &mut routed.partitions[index];
        if let Some(error) = error {
            if is_retriable_state_error(error) && partition.attempts < STATE_CALL_ATTEMPTS_MAX {
                let backoff_ms = STATE_CALL_BACKOFF_INITIAL_MS
                    .saturating_mul(1 << (partition.attempts - 1).min(16))
                    .min(STATE_CALL_BACKOFF_MAX_MS);
                self.retries.push((now_ms + backoff_ms, call, index));
                return;
            }
        }
        partition.done = true;
        let (t, p) = position(&routed.response, index);
        match result {
            Ok(response) => copy_partition(&mut routed.response, t, p, &response),
            Err(error) => set_partition_error(&mut routed.response, t, p, error),
        }
        self.finish_if_done(call);
    }

    /// Sends the retries whose backoff ended.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        let (due, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.retries)
            .into_iter()
            .partition(|(at, _, _)| *at <= now_ms);
        self.retries = kept;
        for (_, call, index) in due {
            self.send(call, index);
        }
    }

    /// The next RPC to send.
    pub fn poll_rpc(&mut self) -> Option<StateRpc> {
        self.outgoing.pop_front()
    }

    /// The next merged answer.
    pub fn poll_reply(&mut self) -> Option<(PersisterCallToken, PersisterReply)> {
        self.replies.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.retries.iter().map(|(at, _, _)| *at).min()
    }

    fn send(&mut self, call: PersisterCallToken, index: usize) {
        let Some(routed) = self.calls.get_mut(&call) else {
            return;
        };
        let partition = &mut routed.partitions[index];
        partition.attempts += 1;
        let rpc_id = self.next_rpc_id;
        self.next_rpc_id += 1;
        self.rpcs.insert(rpc_id, (call, index));
        self.outgoing.push_back(StateRpc {
            rpc_id,
            state_partition: partition.state_partition,
            request: partition.request.clone(),
        });
    }

    fn finish_if_done(&mut self, call: PersisterCallToken) {
        if self
            .calls
            .get(&call)
            .is_some_and(|routed| routed.partitions.iter().all(|p| p.done))
        {
            let routed = self.calls.remove(&call).expect("checked above");
            self.replies.push_back((call, Ok(routed.response)));
        }
    }
}

/// The (topic index, partition index) of the `index`-th partition of a response skeleton.
fn position(response: &ShareStateResponse, index: usize) -> (usize, usize) {
    let counts: Vec<usize> = match response {
        ShareStateResponse::Read(r) => r.results.iter().map(|t| t.partitions.len()).collect(),
        ShareStateResponse::Write(r) => r.results.iter().map(|t| t.partitions.len()).collect(),
        ShareStateResponse::Initialize(r) => r.results.iter().map(|t| t.partitions.len()).collect(),
        ShareStateResponse::Delete(r) => r.results.iter().map(|t| t.partitions.len()).collect(),
        ShareStateResponse::ReadSummary(r) => {
            r.results.iter().map(|t| t.partitions.len()).collect()
        }
    };
    let mut left = index;
    for (t, count) in counts.into_iter().enumerate() {
        if left < count {
            return (t, left);
        }
        left -= count;
    }
    unreachable!("partition index within the response")
}

/// The request cut down to one partition.
fn single_partition(request: &ShareStateRequest, t: usize, p: usize) -> ShareStateRequest {
    macro_rules! cut {
        ($variant:ident, $request:expr) => {{
            let mut single = $request.clone();
            let mut topic = single.topics[t].clone();
            topic.partitions = vec![topic.partitions[p].clone()];
            single.topics = vec![topic];
            ShareStateRequest::$variant(single)
        }};
    }
    match request {
        ShareStateRequest::Read(r) => cut!(Read, r),
        ShareStateRequest::Write(r) => cut!(Write, r),
        ShareStateRequest::Initialize(r) => cut!(Initialize, r),
        ShareStateRequest::Delete(r) => cut!(Delete, r),
        ShareStateRequest::ReadSummary(r) => cut!(ReadSummary, r),
    }
}

/// The error of a single-partition response (`None` on success; a response of the wrong shape is
/// UNKNOWN_SERVER_ERROR).
fn partition_error(response: &ShareStateResponse) -> Option<ResponseError> {
    macro_rules! code {
        ($r:expr) => {
            $r.results
                .first()
                .and_then(|t| t.partitions.first())
                .map_or(ResponseError::UnknownServerError.code(), |p| p.error_code)
        };
    }
    let code = match response {
        ShareStateResponse::Read(r) => code!(r),
        ShareStateResponse::Write(r) => code!(r),
        ShareStateResponse::Initialize(r) => code!(r),
        ShareStateResponse::Delete(r) => code!(r),
        ShareStateResponse::ReadSummary(r) => code!(r),
    };
    ResponseError::try_from_code(code)
}

fn copy_partition(into: &mut ShareStateResponse, t: usize, p: usize, from: &ShareStateResponse) {
    macro_rules! copy {
        ($into:expr, $from:expr) => {
            if let Some(result) = $from
                .results
                .first()
                .and_then(|topic| topic.partitions.first())
            {
                $into.results[t].partitions[p] = result.clone();
            }
        };
    }
    match (into, from) {
        (ShareStateResponse::Read(i), ShareStateResponse::Read(f)) => copy!(i, f),
        (ShareStateResponse::Write(i), ShareStateResponse::Write(f)) => copy!(i, f),
        (ShareStateResponse::Initialize(i), ShareStateResponse::Initialize(f)) => copy!(i, f),
        (ShareStateResponse::Delete(i), ShareStateResponse::Delete(f)) => copy!(i, f),
        (ShareStateResponse::ReadSummary(i), ShareStateResponse::ReadSummary(f)) => copy!(i, f),
        (into, _) => set_partition_error(into, t, p, ResponseError::UnknownServerError),
    }
}

fn set_partition_error(into: &mut ShareStateResponse, t: usize, p: usize, error: ResponseError) {
    macro_rules! set {
        ($into:expr) => {{
            let slot = &mut $into.results[t].partitions[p];
            slot.error_code = error.code();
            slot.error_message = Some(kafka_protocol::protocol::StrBytes::from_string(
                error.to_string(),
            ));
        }};
    }
    match into {
        ShareStateResponse::Read(i) => set!(i),
        ShareStateResponse::Write(i) => set!(i),
        ShareStateResponse::Initialize(i) => set!(i),
        ShareStateResponse::Delete(i) => set!(i),
        ShareStateResponse::ReadSummary(i) => set!(i),
    }
}
