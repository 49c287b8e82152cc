//! Simulated application behaviour on a share consumer: how long each record takes, when the application
//! stalls or crashes, which records are poison, and how it acknowledges (accept, release on failure,
//! reject after N deliveries, renew long tasks, reject deserialization errors). Deterministic: every random
//! draw comes from the caller's seeded RNG, in a fixed order.

mod processing_time;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::client::share_consumer::ConsumerRecord;
use crate::share::AcknowledgeType;

pub use processing_time::ProcessingTime;

/// The value prefix that makes processing fail (distinct from the deserialization poison marker, which
/// the consumer's deserializer rejects before the application sees the record).
pub const DEFAULT_FAILURE_MARKER: &[u8] = b"FAIL";

/// The value prefix of a slow record: `SLOW-MS=5000:...` takes the application 5,000 ms to process,
/// whatever its processing-time distribution says (head-of-line scenarios). The record carries its own
/// time, so share and classic consumers of the same records agree on it.
pub const SLOW_RECORD_MARKER: &[u8] = b"SLOW-MS=";

/// A slow record's value prefix for `processing_ms` (see [`SLOW_RECORD_MARKER`]).
pub fn slow_record_prefix(processing_ms: u64) -> String {
    format!(
        "{}{processing_ms}:",
        String::from_utf8_lossy(SLOW_RECORD_MARKER)
    )
}

/// The processing time a slow record's value names, if it is one.
pub fn slow_record_ms(value: Option<&Bytes>) -> Option<u64> {
    let rest = value?.strip_prefix(SLOW_RECORD_MARKER)?;
    let end = rest.iter().position(|byte| *byte == b':')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// What the application does with a record it cannot process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "policy", rename_all = "snake_case")]
pub enum AcknowledgePolicy {
    /// Accept everything, failed or not (an application that logs and moves on).
    Accept,
    /// RELEASE a failed record so it is redelivered (until the delivery-count limit archives it).
    ReleaseOnFailure,
    /// RELEASE a failed record until its delivery count reaches `tries`, then REJECT it.
    RejectAfterTries {
        /// Deliveries after which a failing record is rejected.
        tries: i16,
    },
    /// REJECT a failed record at once.
    RejectOnFailure,
}

/// The application's configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ApplicationConfig {
    /// Time to process one record.
    pub processing_time: ProcessingTime,
    /// What to do with failed records.
    pub policy: AcknowledgePolicy,
    /// Probability that processing a healthy record fails anyway (a flaky dependency).
    pub failure_probability: f64,
    /// A value starting with this fails processing every time (poison for the application).
    pub failure_marker: Option<Vec<u8>>,
    /// Renew the acquisition lock of a record whose processing takes longer than this (explicit mode,
    /// 4.2+); `None` never renews.
    pub renew_after_ms: Option<u64>,
    /// REJECT records that fail to deserialize instead of leaving the automatic RELEASE (explicit mode).
    pub reject_deserialization_errors: bool,
    /// Probability, per poll, that the application stalls (stops polling).
    pub stall_probability: f64,
    /// How long a stall lasts.
    pub stall_duration_ms: u64,
    /// Probability, per poll, that the application crashes (vanishes without `close`).
    pub crash_probability: f64,
}

impl Default for ApplicationConfig {
    fn default() -> Self {
        ApplicationConfig {
            processing_time: ProcessingTime::Fixed { ms: 1 },
            policy: AcknowledgePolicy::Accept,
            failure_probability: 0.0,
            failure_marker: Some(DEFAULT_FAILURE_MARKER.to_vec()),
            renew_after_ms: None,
            reject_deserialization_errors: false,
            stall_probability: 0.0,
            stall_duration_ms: 0,
            crash_probability: 0.0,
        }
    }
}

/// What the application does before its next poll.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PollDecision {
    /// Crash now: the consumer vanishes without closing.
    Crash,
    /// Poll now.
    Poll,
    /// Stop polling until this time.
    Stall {
        /// When polling resumes.
        until_ms: u64,
    },
}

/// How the application handles one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecordDecision {
    /// Processing time.
    pub processing_ms: u64,
    /// Renew the lock every this many milliseconds while processing (`None`: no renewals).
    pub renew_every_ms: Option<u64>,
    /// The acknowledgement once processing ends.
    pub acknowledge_type: AcknowledgeType,
    /// True when processing failed.
    pub failed: bool,
}

/// A simulated application: a plain struct the consumer node asks what to do.
#[derive(Clone, Debug)]
pub struct SimulatedApplication {
    config: ApplicationConfig,
    crashed: bool,
}

impl SimulatedApplication {
    /// An application with `config`.
    pub fn new(config: ApplicationConfig) -> SimulatedApplication {
        SimulatedApplication {
            config,
            crashed: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &ApplicationConfig {
        &self.config
    }

    /// True once the application crashed.
    pub fn has_crashed(&self) -> bool {
        self.crashed
    }

    /// Decides, before a poll, whether to crash, stall or poll. Draws two numbers from `rng` every time,
    /// so the random stream does not depend on the outcome.
    pub fn before_poll(&mut self, rng: &mut impl rand::Rng, now_ms: u64) -> PollDecision {
        let crash_draw: f64 = rng.gen();
        let stall_draw: f64 = rng.gen();
        if self.crashed || crash_draw < self.config.crash_probability {
            self.crashed = true;
            return PollDecision::Crash;
        }
        if stall_draw < self.config.stall_probability && self.config.stall_duration_ms > 0 {
            return PollDecision::Stall {
                until_ms: now_ms + self.config.stall_duration_ms,
            };
        }
        PollDecision::Poll
    }

    /// Decides the processing time and the acknowledgement of a delivered record.
    pub fn on_record(
        &mut self,
        rng: &mut impl rand::Rng,
        _now_ms: u64,
        record: &ConsumerRecord,
    ) -> RecordDecision {
        // Drawn for slow records too, so the random stream does not depend on the values.
        let sampled_ms = self.config.processing_time.sample_ms(rng);
        let processing_ms = slow_record_ms(record.value.as_ref()).unwrap_or(sampled_ms);
        let flaky_draw: f64 = rng.gen();
        let poisoned = is_marked(record.value.as_ref(), self.config.failure_marker.as_deref());
        let failed = poisoned || flaky_draw < self.config.failure_probability;
        let acknowledge_type = if !failed {
            AcknowledgeType::Accept
        } else {
            match self.config.policy {
                AcknowledgePolicy::Accept => AcknowledgeType::Accept,
                AcknowledgePolicy::ReleaseOnFailure => AcknowledgeType::Release,
                AcknowledgePolicy::RejectOnFailure => AcknowledgeType::Reject,
                AcknowledgePolicy::RejectAfterTries { tries } => {
                    if record.delivery_count >= tries {
                        AcknowledgeType::Reject
                    } else {
                        AcknowledgeType::Release
                    }
                }
            }
        };
        let renew_every_ms = self
            .config
            .renew_after_ms
            .filter(|after_ms| *after_ms > 0 && processing_ms > *after_ms);
        RecordDecision {
            processing_ms,
            renew_every_ms,
            acknowledge_type,
            failed,
        }
    }

    /// The override for a record that failed to deserialize: REJECT when configured, else keep the
    /// automatic RELEASE (`None`).
    pub fn on_deserialization_error(&self) -> Option<AcknowledgeType> {
        self.config
            .reject_deserialization_errors
            .then_some(AcknowledgeType::Reject)
    }
}

fn is_marked(value: Option<&Bytes>, marker: Option<&[u8]>) -> bool {
    match (value, marker) {
        (Some(value), Some(marker)) => !marker.is_empty() && value.starts_with(marker),
        _ => false,
    }
}

#[cfg(test)]
mod tests;
