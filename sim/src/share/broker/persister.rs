//! The broker side of share-state persistence (`DefaultStatePersister` / `PersisterStateManager`; spec
//! 3.1): each ReadShareGroupState / WriteShareGroupState of a share-partition leader goes to the share
//! coordinator that owns the key `group:topicId:partition`, found with FindCoordinator (key type SHARE).
//!
//! Retries: COORDINATOR_NOT_AVAILABLE, COORDINATOR_LOAD_IN_PROGRESS, NOT_COORDINATOR,
//! UNKNOWN_TOPIC_OR_PARTITION, NETWORK_EXCEPTION and REQUEST_TIMED_OUT (a call that failed without a
//! response counts as NETWORK_EXCEPTION) are retried with exponential backoff from 1 s, doubling up to
//! 30 s, for at most 5 attempts; coordinator errors also forget the cached coordinator. Anything else, or
//! the last attempt's error, is returned to the share partition, which maps it (`map_persister_error`).
//!
//! Choices where Kafka differs in shape only: one RPC per read or write (Kafka batches the requests of
//! one coordinator node into one RPC); WriteShareGroupState is sent at v1 with `DeliveryCompleteCount`
//! (KIP-1226) when the entry carries one (the 4.2 profile; `net::share_state_v1`), else at v0; and
//! ReadShareGroupState v0 returns no leader epoch (the reader's own epoch is used).

use std::collections::{BTreeMap, VecDeque};

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::read_share_group_state_request::{
    PartitionData as ReadPartition, ReadShareGroupStateRequest, ReadStateData,
};
use kafka_protocol::messages::write_share_group_state_request::{
    PartitionData as WritePartition, StateBatch as WireStateBatch, WriteShareGroupStateRequest,
    WriteStateData,
};
use kafka_protocol::messages::{RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use uuid::Uuid;

use super::host::{CallFailure, CallId, CallTarget};
use crate::coordinator::share::SharePartitionKey;
use crate::net::share_state_v1;
use crate::share::partition::WriteId;
use crate::share::{PersistedShareState, RecordState, StateBatch, WriteShareGroupState};
use crate::ResponseError;

/// FindCoordinator `KeyType` of share coordinators (`CoordinatorType.SHARE`).
pub const COORDINATOR_KEY_TYPE_SHARE: i8 = 2;
/// The FindCoordinator version sent (v4+ carries `CoordinatorKeys`).
pub const FIND_COORDINATOR_VERSION: i16 = 6;
/// First retry backoff (`PersisterStateManager`'s 1 s).
pub const RETRY_BACKOFF_INITIAL_MS: u64 = 1_000;
/// Largest retry backoff (30 s).
pub const RETRY_BACKOFF_MAX_MS: u64 = 30_000;
/// Attempts per operation, the first included.
pub const ATTEMPTS_MAX: u32 = 5;

/// What a share partition asked to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum PersisterOp {
    /// ReadShareGroupState at `leader_epoch` (initialization).
    Read {
        /// The reader's leader epoch.
        leader_epoch: i32,
    },
    /// WriteShareGroupState `request`, named `write_id` by the partition.
    Write {
        /// The partition's name for the write.
        write_id: WriteId,
        /// The entry.
        request: WriteShareGroupState,
    },
}

/// A finished persister operation, for the share partition of `key` at `leader_epoch`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PersisterOutcome {
    /// Whose.
    pub key: SharePartitionKey,
    /// The leader epoch of the share partition that asked (a replaced partition ignores it).
    pub leader_epoch: i32,
    /// What finished.
    pub result: OpResult,
}

/// The result of one operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum OpResult {
    /// A read.
    Read(Result<PersistedShareState, ResponseError>),
    /// A write.
    Write(WriteId, Result<(), ResponseError>),
}

#[derive(Clone, Debug)]
enum Stage {
    /// FindCoordinator in flight.
    FindingCoordinator,
    /// The state RPC in flight to the coordinator.
    Sending,
    /// Waiting to retry.
    Backoff { until_ms: u64 },
}

#[derive(Clone, Debug)]
struct Job {
    key: SharePartitionKey,
    leader_epoch: i32,
    op: PersisterOp,
    /// Attempts started so far.
    attempts: u32,
    stage: Stage,
}

/// An outgoing call the persister wants sent.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PersisterCall {
    pub call_id: CallId,
    pub target: CallTarget,
    pub api_version: i16,
    pub request: RequestKind,
}

/// The persister of one broker.
#[derive(Debug, Default)]
pub(crate) struct Persister {
    /// Known share coordinators by coordinator key.
    coordinators: BTreeMap<String, i32>,
    jobs: BTreeMap<u64, Job>,
    /// Calls in flight → job.
    calls: BTreeMap<CallId, u64>,
    next_job: u64,
    calls_out: VecDeque<PersisterCall>,
    outcomes: VecDeque<PersisterOutcome>,
}

impl Persister {
    /// Starts an operation; `call_ids` allocates the service-wide call ids.
    pub fn submit(
        &mut self,
        key: SharePartitionKey,
        leader_epoch: i32,
        op: PersisterOp,
        call_ids: &mut u64,
    ) {
        let job_id = self.next_job;
        self.next_job += 1;
        let job = Job {
            key,
            leader_epoch,
            op,
            attempts: 0,
            stage: Stage::Backoff { until_ms: 0 },
        };
        self.jobs.insert(job_id, job);
        self.start_attempt(job_id, call_ids);
    }

    /// The next call to send.
    pub fn poll_call(&mut self) -> Option<PersisterCall> {
        self.calls_out.pop_front()
    }

    /// The next finished operation.
    pub fn poll_outcome(&mut self) -> Option<PersisterOutcome> {
        self.outcomes.pop_front()
    }

    /// The earliest retry deadline.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.jobs
            .values()
            .filter_map(|job| match job.stage {
                Stage::Backoff { until_ms } => Some(until_ms),
                _ => None,
            })
            .min()
    }

    /// Operations not yet finished.
    pub fn in_flight(&self) -> usize {
        self.jobs.len()
    }

    /// Retries whose backoff passed.
    pub fn handle_timeout(&mut self, now_ms: u64, call_ids: &mut u64) {
        let due: Vec<u64> = self
            .jobs
            .iter()
            .filter(
                |(_, job)| matches!(job.stage, Stage::Backoff { until_ms } if until_ms <= now_ms),
            )
            .map(|(id, _)| *id)
            .collect();
        for job_id in due {
            self.start_attempt(job_id, call_ids);
        }
    }

    /// The outcome of call `call_id`; false when the call is not the persister's.
    pub fn handle_call_result(
        &mut self,
        now_ms: u64,
        call_id: CallId,
        result: Result<ResponseKind, CallFailure>,
        call_ids: &mut u64,
    ) -> bool {
        let Some(job_id) = self.calls.remove(&call_id) else {
            return false;
        };
        let Some(job) = self.jobs.get(&job_id) else {
            return true;
        };
        let stage = job.stage.clone();
        let coordinator_key = coordinator_key(&job.key);
        let error = match (stage, result) {
            (_, Err(_)) => ResponseError::NetworkException,
            (Stage::FindingCoordinator, Ok(ResponseKind::FindCoordinator(response))) => {
                match find_coordinator_answer(&response, &coordinator_key) {
                    Ok(node) => {
                        self.coordinators.insert(coordinator_key, node);
                        self.send_state_rpc(job_id, node, call_ids);
                        return true;
                    }
                    Err(error) => error,
                }
            }
            (Stage::Sending, Ok(response)) => {
                let job = &self.jobs[&job_id];
                match state_answer(job, response) {
                    Ok(result) => {
                        self.finish(job_id, result);
                        return true;
                    }
                    Err(error) => error,
                }
            }
            (_, Ok(_)) => ResponseError::UnknownServerError,
        };
        self.fail_attempt(now_ms, job_id, error);
        true
    }

    fn start_attempt(&mut self, job_id: u64, call_ids: &mut u64) {
        let Some(job) = self.jobs.get_mut(&job_id) else {
            return;
        };
        job.attempts += 1;
        let coordinator_key = coordinator_key(&job.key);
        match self.coordinators.get(&coordinator_key).copied() {
            Some(node) => self.send_state_rpc(job_id, node, call_ids),
            None => {
                let request = FindCoordinatorRequest::default()
                    .with_key_type(COORDINATOR_KEY_TYPE_SHARE)
                    .with_coordinator_keys(vec![StrBytes::from_string(coordinator_key)]);
                job.stage = Stage::FindingCoordinator;
                self.push_call(
                    job_id,
                    CallTarget::AnyBroker,
                    FIND_COORDINATOR_VERSION,
                    RequestKind::FindCoordinator(request),
                    call_ids,
                );
            }
        }
    }

    fn send_state_rpc(&mut self, job_id: u64, node: i32, call_ids: &mut u64) {
        let job = self.jobs.get_mut(&job_id).expect("job exists");
        job.stage = Stage::Sending;
        let topic_id = Uuid::from_u128(job.key.topic_id.0);
        let group_id = StrBytes::from_string(job.key.group_id.clone());
        let mut version = 0;
        let request = match &job.op {
            PersisterOp::Read { leader_epoch } => RequestKind::ReadShareGroupState(
                ReadShareGroupStateRequest::default()
                    .with_group_id(group_id)
                    .with_topics(vec![ReadStateData::default()
                        .with_topic_id(topic_id)
                        .with_partitions(vec![ReadPartition::default()
                            .with_partition(job.key.partition)
                            .with_leader_epoch(*leader_epoch)])]),
            ),
            PersisterOp::Write { request, .. } => {
                version = share_state_v1::write_version_for(request.delivery_complete_count);
                let mut partition = WritePartition::default()
                    .with_partition(job.key.partition)
                    .with_state_epoch(request.state_epoch)
                    .with_leader_epoch(request.leader_epoch)
                    .with_start_offset(request.start_offset);
                share_state_v1::set_write_delivery_complete_count(
                    &mut partition,
                    request.delivery_complete_count,
                );
                let batches = request
                    .state_batches
                    .iter()
                    .map(|batch| {
                        WireStateBatch::default()
                            .with_first_offset(batch.first_offset)
                            .with_last_offset(batch.last_offset)
                            .with_delivery_state(batch.delivery_state.id())
                            .with_delivery_count(batch.delivery_count as i16)
                    })
                    .collect();
                RequestKind::WriteShareGroupState(
                    WriteShareGroupStateRequest::default()
                        .with_group_id(group_id)
                        .with_topics(vec![WriteStateData::default()
                            .with_topic_id(topic_id)
                            .with_partitions(vec![partition.with_state_batches(batches)])]),
                )
            }
        };
        self.push_call(job_id, CallTarget::Node(node), version, request, call_ids);
    }

    fn push_call(
        &mut self,
        job_id: u64,
        target: CallTarget,
        api_version: i16,
        request: RequestKind,
        call_ids: &mut u64,
    ) {
        let call_id = CallId(*call_ids);
        *call_ids += 1;
        self.calls.insert(call_id, job_id);
        self.calls_out.push_back(PersisterCall {
            call_id,
            target,
            api_version,
            request,
        });
    }

    fn fail_attempt(&mut self, now_ms: u64, job_id: u64, error: ResponseError) {
        let job = self.jobs.get_mut(&job_id).expect("job exists");
        let coordinator_error = matches!(
            error,
            ResponseError::NotCoordinator
                | ResponseError::CoordinatorNotAvailable
                | ResponseError::CoordinatorLoadInProgress
                | ResponseError::NetworkException
                | ResponseError::RequestTimedOut
        );
        if coordinator_error {
            self.coordinators.remove(&coordinator_key(&job.key));
        }
        if is_retriable(error) && job.attempts < ATTEMPTS_MAX {
            let backoff_ms =
                (RETRY_BACKOFF_INITIAL_MS << (job.attempts - 1).min(5)).min(RETRY_BACKOFF_MAX_MS);
            job.stage = Stage::Backoff {
                until_ms: now_ms + backoff_ms,
            };
            return;
        }
        let result = match &job.op {
            PersisterOp::Read { .. } => OpResult::Read(Err(error)),
            PersisterOp::Write { write_id, .. } => OpResult::Write(*write_id, Err(error)),
        };
        self.finish(job_id, result);
    }

    fn finish(&mut self, job_id: u64, result: OpResult) {
        let job = self.jobs.remove(&job_id).expect("job exists");
        self.outcomes.push_back(PersisterOutcome {
            key: job.key,
            leader_epoch: job.leader_epoch,
            result,
        });
    }
}

/// Spec 3.1: what the persister retries.
pub fn is_retriable(error: ResponseError) -> bool {
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

/// `SharePartitionKey.asCoordinatorKey()`: `groupId:topicId:partition`.
pub fn coordinator_key(key: &SharePartitionKey) -> String {
    format!(
        "{}:{}:{}",
        key.group_id,
        key.topic_id.to_kafka_string(),
        key.partition
    )
}

fn error_of(code: i16) -> Option<ResponseError> {
    (code != 0)
        .then(|| ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError))
}

fn find_coordinator_answer(
    response: &kafka_protocol::messages::FindCoordinatorResponse,
    coordinator_key: &str,
) -> Result<i32, ResponseError> {
    let Some(entry) = response
        .coordinators
        .iter()
        .find(|entry| entry.key.as_str() == coordinator_key)
    else {
        // A v0-3 style answer (single coordinator).
        if let Some(error) = error_of(response.error_code) {
            return Err(error);
        }
        return if response.node_id.0 >= 0 {
            Ok(response.node_id.0)
        } else {
            Err(ResponseError::CoordinatorNotAvailable)
        };
    };
    if let Some(error) = error_of(entry.error_code) {
        return Err(error);
    }
    if entry.node_id.0 < 0 {
        return Err(ResponseError::CoordinatorNotAvailable);
    }
    Ok(entry.node_id.0)
}

fn state_answer(job: &Job, response: ResponseKind) -> Result<OpResult, ResponseError> {
    let topic_id = Uuid::from_u128(job.key.topic_id.0);
    match (&job.op, response) {
        (PersisterOp::Read { leader_epoch }, ResponseKind::ReadShareGroupState(response)) => {
            let partition = response
                .results
                .iter()
                .filter(|result| result.topic_id == topic_id)
                .flat_map(|result| result.partitions.iter())
                .find(|partition| partition.partition == job.key.partition)
                .ok_or(ResponseError::UnknownServerError)?;
            if let Some(error) = error_of(partition.error_code) {
                return Err(error);
            }
            let mut batches = Vec::with_capacity(partition.state_batches.len());
            for batch in &partition.state_batches {
                let Some(delivery_state) = RecordState::from_id(batch.delivery_state) else {
                    // An inconsistent answer makes initialization fail (spec 3.5).
                    return Ok(OpResult::Read(Err(ResponseError::UnknownServerError)));
                };
                batches.push(StateBatch {
                    first_offset: batch.first_offset,
                    last_offset: batch.last_offset,
                    delivery_state,
                    delivery_count: batch.delivery_count.max(0) as u16,
                });
            }
            Ok(OpResult::Read(Ok(PersistedShareState {
                state_epoch: partition.state_epoch,
                leader_epoch: *leader_epoch,
                start_offset: partition.start_offset,
                delivery_complete_count: -1,
                state_batches: batches,
            })))
        }
        (PersisterOp::Write { write_id, .. }, ResponseKind::WriteShareGroupState(response)) => {
            let partition = response
                .results
                .iter()
                .filter(|result| result.topic_id == topic_id)
                .flat_map(|result| result.partitions.iter())
                .find(|partition| partition.partition == job.key.partition)
                .ok_or(ResponseError::UnknownServerError)?;
            match error_of(partition.error_code) {
                Some(error) => Err(error),
                None => Ok(OpResult::Write(*write_id, Ok(()))),
            }
        }
        _ => Err(ResponseError::UnknownServerError),
    }
}
