//! The canonical trace record: one type for every event of a run (design, "the trace is the contract").
//! Each engine's own event enum is wrapped unchanged, beside the identity the engine does not know (which
//! share partition, which leader epoch, which member). Field order is declaration order and there are no
//! maps, so the JSON-lines encoding, and with it the trace hash, is stable.

use serde::{Deserialize, Serialize};

use crate::coordinator::group::GroupTraceEvent;
use crate::coordinator::share::TopicId;
use crate::share::partition::PartitionEvent;
use crate::share::{AcknowledgeType, MemberId};

/// One line of the trace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceRecord {
    /// Position in the trace, from 0, assigned by [`super::Trace`].
    pub seq: u64,
    /// Virtual time of the event.
    pub at_ms: u64,
    /// The node that emitted it (`broker-1`, `consumer-a`, `sim` for run markers).
    pub node: String,
    /// What happened.
    pub event: TraceEvent,
}

/// Every kind of event, each with the identity its engine leaves out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceEvent {
    /// An event of one share partition's leader (`share::partition`).
    SharePartition {
        /// The share group.
        group_id: String,
        /// The topic.
        topic_id: TopicId,
        /// The partition index.
        partition: i32,
        /// The leader epoch of the engine that emitted it (a failover starts a new one).
        leader_epoch: i32,
        /// The engine's event.
        event: PartitionEvent,
    },
    /// A membership event of the group coordinator (`coordinator::group`).
    GroupCoordinator {
        /// The coordinator's event.
        event: GroupTraceEvent,
    },
    /// A share consumer's event: what its application saw and what it acknowledged.
    ShareConsumer {
        /// The share group.
        group_id: String,
        /// The member.
        member: MemberId,
        /// The event.
        event: ShareConsumerEvent,
    },
    /// Something the transport did (a dropped, duplicated, delayed frame; a closed connection).
    Transport {
        /// The transport's own description of it.
        detail: String,
    },
    /// A fault lever was pulled or released.
    Fault {
        /// The lever's scenario name (`broker_crash`, `partition`, `persister_write_fail`, ...).
        lever: String,
        /// Its parameters, as text.
        detail: String,
    },
    /// A phase of the run began or ended.
    Run {
        /// Which.
        marker: RunMarker,
    },
    /// An event of the simulated cluster: produce and commit (high-watermark advance), leadership, ISR,
    /// broker fencing, truncation (`broker::ClusterEvent`).
    Cluster {
        /// The event.
        event: crate::broker::ClusterEvent,
    },
    /// An event of the classic consumer group baseline (coordinator or consumer).
    Classic {
        /// The event.
        event: super::ClassicTraceEvent,
    },
}

/// A share consumer's trace event, as the oracle needs it. The client engine maps its own events into
/// these (its enum is not deserializable, and the trace must read back). Externally tagged: serde reads
/// internally tagged enums through a buffer that cannot hold a 128-bit topic id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareConsumerEvent {
    /// `poll` handed a record to the application.
    RecordDelivered {
        /// The topic.
        topic_id: TopicId,
        /// The partition index.
        partition: i32,
        /// The offset.
        offset: i64,
        /// The broker's delivery count.
        delivery_count: u16,
    },
    /// Acknowledgements went on the wire (ShareFetch or ShareAcknowledge).
    AcknowledgementsSent {
        /// The topic.
        topic_id: TopicId,
        /// The partition index.
        partition: i32,
        /// Every (offset, type) in the request for this partition.
        acknowledgements: Vec<(i64, AcknowledgeType)>,
    },
    /// The one outcome of a set of acknowledgements, as reported to the application.
    AcknowledgementOutcome {
        /// The topic.
        topic_id: TopicId,
        /// The partition index.
        partition: i32,
        /// Every (offset, type) it covers.
        acknowledgements: Vec<(i64, AcknowledgeType)>,
        /// 0 on success, else Kafka's error code.
        error_code: i16,
    },
    /// The one outcome of acknowledgements that never went on the wire, as reported to the application:
    /// the client failed them itself (no share session with their node: NETWORK_EXCEPTION, spec 2.3;
    /// their deadline passed while queued: REQUEST_TIMED_OUT; a newer acquisition of the record
    /// superseded them: INVALID_RECORD_STATE).
    AcknowledgementsFailedUnsent {
        /// The topic.
        topic_id: TopicId,
        /// The partition index.
        partition: i32,
        /// Every (offset, type) it covers.
        acknowledgements: Vec<(i64, AcknowledgeType)>,
        /// Kafka's error code.
        error_code: i16,
    },
}

/// Phase markers of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunMarker {
    /// The run began with this seed.
    RunStarted {
        /// The seed.
        seed: u64,
    },
    /// Faults stop, every fault is healed, consumers keep polling: from here every record must reach a
    /// terminal state within the liveness bound (design, "Check safety first, then liveness").
    LivenessPhaseStarted {
        /// How long after this marker every record must be terminal.
        bound_ms: u64,
    },
    /// The run ended.
    RunFinished,
}
