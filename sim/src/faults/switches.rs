//! Switches a broker node consults for the levers that act inside a node rather than on the network: the
//! ordering of a lock timer against a same-instant request handler, and persister calls that fail with an
//! error. The harness holds one [`BrokerFaultSwitches`] per cluster, cloned into every broker node; the
//! fault scheduler flips them through the harness's [`super::FaultTarget`].

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use kafka_protocol::messages::{
    read_share_group_state_response, write_share_group_state_response, ApiKey,
    ReadShareGroupStateResponse, RequestKind, ResponseKind, WriteShareGroupStateResponse,
};
use madsim::rand::Rng;

use super::lever::LockTimerOrder;

/// The lock-timer-versus-handler ordering switch (the `lock_timer_race` lever).
#[derive(Clone, Debug, Default)]
pub struct LockTimerSwitch {
    order: Arc<Mutex<Option<LockTimerOrder>>>,
}

impl LockTimerSwitch {
    /// Sets the ordering; `None` restores the node's natural order.
    pub fn set(&self, order: Option<LockTimerOrder>) {
        *lock(&self.order) = order;
    }

    /// The ordering set, if any.
    pub fn order(&self) -> Option<LockTimerOrder> {
        *lock(&self.order)
    }

    /// Asked by the broker node when a lock timer and a request are due at the same virtual instant:
    /// `Some(true)` fire the timer first, `Some(false)` run the handler first, `None` keep the natural
    /// order. `Random` draws from madsim's seeded RNG (only while the lever is pulled, so runs without
    /// it keep their random streams).
    pub fn timer_first(&self) -> Option<bool> {
        match self.order()? {
            LockTimerOrder::TimerFirst => Some(true),
            LockTimerOrder::HandlerFirst => Some(false),
            LockTimerOrder::Random => Some(madsim::rand::thread_rng().gen_bool(0.5)),
        }
    }
}

/// Persister calls that fail with an error (the `persister_fail` lever), per persister RPC.
#[derive(Clone, Debug, Default)]
pub struct PersisterFailSwitch {
    /// API key → (probability, error code).
    failures: Arc<Mutex<BTreeMap<i16, (f64, i16)>>>,
}

impl PersisterFailSwitch {
    /// Fails calls of `api_key` with `error_code` with probability `probability`.
    pub fn set(&self, api_key: i16, probability: f64, error_code: i16) {
        lock(&self.failures).insert(api_key, (probability, error_code));
    }

    /// Stops failing calls of `api_key`.
    pub fn clear(&self, api_key: i16) {
        lock(&self.failures).remove(&api_key);
    }

    /// Asked by the broker's persister before it sends a call of `api_key`: the error code to fail it
    /// with, or `None` to send it. Draws from madsim's RNG only when a failure is set for the key.
    pub fn failure_for(&self, api_key: i16) -> Option<i16> {
        let (probability, error_code) = *lock(&self.failures).get(&api_key)?;
        let fails =
            probability > 0.0 && madsim::rand::thread_rng().gen_bool(probability.clamp(0.0, 1.0));
        fails.then_some(error_code)
    }

    /// Asked by a broker node before it sends an inter-broker call: when `request` is a persister call
    /// (ReadShareGroupState, WriteShareGroupState) that a failure is set for and the draw fails it, the
    /// answer the share coordinator would have sent with that error code on every partition, so the
    /// persister's own retry and error mapping (spec 3.1) handle it. `None`: send the call.
    pub fn fail_call(&self, request: &RequestKind) -> Option<ResponseKind> {
        match request {
            RequestKind::WriteShareGroupState(request) => {
                let error_code = self.failure_for(ApiKey::WriteShareGroupState as i16)?;
                let results = request
                    .topics
                    .iter()
                    .map(|topic| {
                        write_share_group_state_response::WriteStateResult::default()
                            .with_topic_id(topic.topic_id)
                            .with_partitions(
                                topic
                                    .partitions
                                    .iter()
                                    .map(|p| {
                                        write_share_group_state_response::PartitionResult::default()
                                            .with_partition(p.partition)
                                            .with_error_code(error_code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                Some(ResponseKind::WriteShareGroupState(
                    WriteShareGroupStateResponse::default().with_results(results),
                ))
            }
            RequestKind::ReadShareGroupState(request) => {
                let error_code = self.failure_for(ApiKey::ReadShareGroupState as i16)?;
                let results = request
                    .topics
                    .iter()
                    .map(|topic| {
                        read_share_group_state_response::ReadStateResult::default()
                            .with_topic_id(topic.topic_id)
                            .with_partitions(
                                topic
                                    .partitions
                                    .iter()
                                    .map(|p| {
                                        read_share_group_state_response::PartitionResult::default()
                                            .with_partition(p.partition)
                                            .with_error_code(error_code)
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                Some(ResponseKind::ReadShareGroupState(
                    ReadShareGroupStateResponse::default().with_results(results),
                ))
            }
            _ => None,
        }
    }
}

/// Every in-node switch of a cluster, cloned into each broker node.
#[derive(Clone, Debug, Default)]
pub struct BrokerFaultSwitches {
    /// Lock timers against handlers.
    pub lock_timer: LockTimerSwitch,
    /// Failing persister calls.
    pub persister: PersisterFailSwitch,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A poisoned lock means a test already panicked; the switch value itself is always consistent.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
