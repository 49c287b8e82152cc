//! The controller's settings, with Kafka's names and defaults.

/// Controller configuration (KRaft `QuorumController` settings that this engine consults).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ControllerConfig {
    /// `broker.session.timeout.ms` (default 9000): a broker that has not heartbeated for this long is
    /// fenced.
    pub broker_session_timeout_ms: u64,
    /// `broker.heartbeat.interval.ms` (default 2000): how often brokers are told to heartbeat. The
    /// controller does not enforce it; brokers read it to schedule their heartbeats.
    pub broker_heartbeat_interval_ms: u64,
}

impl Default for ControllerConfig {
    fn default() -> Self {
        ControllerConfig {
            broker_session_timeout_ms: 9000,
            broker_heartbeat_interval_ms: 2000,
        }
    }
}
