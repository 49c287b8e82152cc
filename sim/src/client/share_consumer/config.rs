//! Share consumer configuration with Kafka's names and defaults (spec 7, 9; `ShareConsumerConfig`), and a
//! parser from `(name, value)` strings that rejects what a share consumer rejects (ConfigException).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::semantics::Semantics;

/// `share.acknowledgement.mode` (4.1+; spec 7.1, 7.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcknowledgementMode {
    /// The default: `poll()` accepts the previous poll's records that have no acknowledgement.
    Implicit,
    /// The application acknowledges every record with `acknowledge`.
    Explicit,
}

/// `share.acquire.mode` (4.2+, KIP-1206; spec 2.6, 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AcquireMode {
    /// The default: whole log batches, `max.poll.records` is soft.
    BatchOptimized,
    /// At most `max.poll.records` records per poll.
    RecordLimit,
}

impl AcquireMode {
    /// The `ShareAcquireMode` wire value (v2).
    pub fn wire_id(self) -> i8 {
        match self {
            AcquireMode::BatchOptimized => 0,
            AcquireMode::RecordLimit => 1,
        }
    }
}

/// The share consumer's settings. `Default` gives Kafka's defaults with group id `"share-group"`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareConsumerConfig {
    /// `group.id` (required by Kafka; the default here is only a convenience for tests).
    pub group_id: String,
    /// `client.id`.
    pub client_id: String,
    /// `client.rack`: sent as the heartbeat's RackId when non-empty.
    pub client_rack: String,
    /// `share.acknowledgement.mode` (ignored by the 4.0 profile, which infers the mode).
    pub acknowledgement_mode: AcknowledgementMode,
    /// `share.acquire.mode`.
    pub acquire_mode: AcquireMode,
    /// `max.poll.records`: sent as MaxRecords and BatchSize.
    pub max_poll_records: u32,
    /// `fetch.max.wait.ms`: the ShareFetch MaxWaitMs.
    pub fetch_max_wait_ms: u32,
    /// `fetch.min.bytes`: the ShareFetch MinBytes.
    pub fetch_min_bytes: u32,
    /// `fetch.max.bytes`: the ShareFetch MaxBytes.
    pub fetch_max_bytes: u32,
    /// `check.crcs`: verify CRC-32C of fetched batches.
    pub check_crcs: bool,
    /// `default.api.timeout.ms`: the deadline of commitAsync / implicit acknowledgements and the default
    /// commitSync timeout.
    pub default_api_timeout_ms: u64,
    /// `request.timeout.ms`: a request without a response for this long fails.
    pub request_timeout_ms: u64,
    /// `max.poll.interval.ms`: without a poll for this long the member leaves the group.
    pub max_poll_interval_ms: u64,
    /// `retry.backoff.ms`: wait before retrying a failed heartbeat or acknowledgement.
    pub retry_backoff_ms: u64,
}

impl Default for ShareConsumerConfig {
    fn default() -> Self {
        ShareConsumerConfig {
            group_id: "share-group".to_owned(),
            client_id: String::new(),
            client_rack: String::new(),
            acknowledgement_mode: AcknowledgementMode::Implicit,
            acquire_mode: AcquireMode::BatchOptimized,
            max_poll_records: 500,
            fetch_max_wait_ms: 500,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            check_crcs: true,
            default_api_timeout_ms: 60_000,
            request_timeout_ms: 30_000,
            max_poll_interval_ms: 300_000,
            retry_backoff_ms: 100,
        }
    }
}

/// Why a configuration is refused (Kafka's `ConfigException`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// A consumer config that share consumers do not support (spec 7).
    Unsupported {
        /// The config name.
        name: String,
    },
    /// A name no share consumer knows.
    Unknown {
        /// The config name.
        name: String,
        /// The closest valid name.
        nearest: &'static str,
    },
    /// A value that does not parse or is out of range.
    InvalidValue {
        /// The config name.
        name: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
    /// A valid setting the chosen release does not have.
    NotInRelease {
        /// The config name and value.
        setting: String,
        /// The release profile.
        release: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Unsupported { name } => {
                write!(f, "{name} is not supported for share consumers")
            }
            ConfigError::Unknown { name, nearest } => {
                write!(
                    f,
                    "unknown share consumer config `{name}`; did you mean `{nearest}`?"
                )
            }
            ConfigError::InvalidValue {
                name,
                value,
                allowed,
            } => write!(f, "invalid value `{value}` for {name}; allowed: {allowed}"),
            ConfigError::NotInRelease { setting, release } => {
                write!(f, "{setting} does not exist in {release}")
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Consumer configs that a share consumer rejects (spec 7, `ShareConsumerConfig`).
pub const UNSUPPORTED_CONFIGS: [&str; 10] = [
    "auto.offset.reset",
    "enable.auto.commit",
    "group.instance.id",
    "isolation.level",
    "partition.assignment.strategy",
    "interceptor.classes",
    "session.timeout.ms",
    "heartbeat.interval.ms",
    "group.protocol",
    "group.remote.assignor",
];

/// Every name [`ShareConsumerConfig::set`] accepts.
pub const KNOWN_CONFIGS: [&str; 14] = [
    "group.id",
    "client.id",
    "client.rack",
    "share.acknowledgement.mode",
    "share.acquire.mode",
    "max.poll.records",
    "fetch.max.wait.ms",
    "fetch.min.bytes",
    "fetch.max.bytes",
    "check.crcs",
    "default.api.timeout.ms",
    "request.timeout.ms",
    "max.poll.interval.ms",
    "retry.backoff.ms",
];

impl ShareConsumerConfig {
    /// Builds a config from Kafka defaults and `(name, value)` pairs, in order.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<ShareConsumerConfig, ConfigError> {
        let mut config = ShareConsumerConfig::default();
        for (name, value) in pairs {
            config.set(name, value)?;
        }
        Ok(config)
    }

    /// Sets one config by its Kafka name.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        if UNSUPPORTED_CONFIGS.contains(&name) {
            return Err(ConfigError::Unsupported {
                name: name.to_owned(),
            });
        }
        let value = value.trim();
        match name {
            "group.id" => {
                if value.is_empty() {
                    return Err(invalid(name, value, "a non-empty group id"));
                }
                self.group_id = value.to_owned();
            }
            "client.id" => self.client_id = value.to_owned(),
            "client.rack" => self.client_rack = value.to_owned(),
            "share.acknowledgement.mode" => {
                self.acknowledgement_mode = match value.to_ascii_lowercase().as_str() {
                    "implicit" => AcknowledgementMode::Implicit,
                    "explicit" => AcknowledgementMode::Explicit,
                    _ => return Err(invalid(name, value, "implicit, explicit")),
                }
            }
            "share.acquire.mode" => {
                self.acquire_mode = match value.to_ascii_lowercase().as_str() {
                    "batch_optimized" => AcquireMode::BatchOptimized,
                    "record_limit" => AcquireMode::RecordLimit,
                    _ => return Err(invalid(name, value, "batch_optimized, record_limit")),
                }
            }
            "max.poll.records" => self.max_poll_records = parse_u32(name, value, 1)?,
            "fetch.max.wait.ms" => self.fetch_max_wait_ms = parse_u32(name, value, 0)?,
            "fetch.min.bytes" => self.fetch_min_bytes = parse_u32(name, value, 0)?,
            "fetch.max.bytes" => self.fetch_max_bytes = parse_u32(name, value, 0)?,
            "check.crcs" => {
                self.check_crcs = match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(name, value, "true, false")),
                }
            }
            "default.api.timeout.ms" => self.default_api_timeout_ms = parse_ms(name, value)?,
            "request.timeout.ms" => self.request_timeout_ms = parse_ms(name, value)?,
            "max.poll.interval.ms" => {
                self.max_poll_interval_ms = parse_ms(name, value)?.max(1);
            }
            "retry.backoff.ms" => self.retry_backoff_ms = parse_ms(name, value)?,
            _ => {
                return Err(ConfigError::Unknown {
                    name: name.to_owned(),
                    nearest: nearest_name(name),
                })
            }
        }
        Ok(())
    }

    /// Checks the settings against a release profile: `share.acquire.mode=record_limit` needs 4.2.
    pub fn validate(&self, semantics: &Semantics) -> Result<(), ConfigError> {
        if self.acquire_mode == AcquireMode::RecordLimit
            && !semantics.record_limit_acquire_mode_supported
        {
            return Err(ConfigError::NotInRelease {
                setting: "share.acquire.mode=record_limit".to_owned(),
                release: semantics.release.name().to_owned(),
            });
        }
        Ok(())
    }
}

fn invalid(name: &str, value: &str, allowed: &str) -> ConfigError {
    ConfigError::InvalidValue {
        name: name.to_owned(),
        value: value.to_owned(),
        allowed: allowed.to_owned(),
    }
}

fn parse_u32(name: &str, value: &str, min: u32) -> Result<u32, ConfigError> {
    match value.parse::<u32>() {
        Ok(parsed) if parsed >= min && parsed <= i32::MAX as u32 => Ok(parsed),
        _ => Err(invalid(
            name,
            value,
            &format!("an integer in [{min}, {}]", i32::MAX),
        )),
    }
}

fn parse_ms(name: &str, value: &str) -> Result<u64, ConfigError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|ms| *ms <= i64::MAX as u64)
        .ok_or_else(|| invalid(name, value, "a non-negative number of milliseconds"))
}

/// The known config name with the smallest edit distance to `name`.
fn nearest_name(name: &str) -> &'static str {
    KNOWN_CONFIGS
        .iter()
        .copied()
        .min_by_key(|known| edit_distance(name, known))
        .unwrap_or(KNOWN_CONFIGS[0])
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::Release;

    /// Spec 9: consumer defaults.
    #[test]
    fn defaults_are_kafkas() {
        let config = ShareConsumerConfig::default();
        assert_eq!(config.acknowledgement_mode, AcknowledgementMode::Implicit);
        assert_eq!(config.acquire_mode, AcquireMode::BatchOptimized);
        assert_eq!(config.max_poll_records, 500);
        assert!(config.check_crcs);
        assert_eq!(config.default_api_timeout_ms, 60_000);
        assert_eq!(config.max_poll_interval_ms, 300_000);
    }

    /// Spec 7: configs a share consumer rejects are a ConfigException.
    #[test]
    fn unsupported_configs_are_rejected() {
        for name in UNSUPPORTED_CONFIGS {
            let error = ShareConsumerConfig::from_pairs([(name, "x")]).unwrap_err();
            assert_eq!(
                error,
                ConfigError::Unsupported {
                    name: name.to_owned()
                }
            );
            assert!(error
                .to_string()
                .contains("not supported for share consumers"));
        }
    }

    /// Spec 7: values parse with their allowed sets; unknown names suggest the nearest one.
    #[test]
    fn values_parse_and_errors_are_clear() {
        let config = ShareConsumerConfig::from_pairs([
            ("share.acknowledgement.mode", "explicit"),
            ("share.acquire.mode", "record_limit"),
            ("max.poll.records", "5"),
        ])
        .unwrap();
        assert_eq!(config.acknowledgement_mode, AcknowledgementMode::Explicit);
        assert_eq!(config.acquire_mode, AcquireMode::RecordLimit);
        assert_eq!(config.max_poll_records, 5);
        let error =
            ShareConsumerConfig::from_pairs([("share.acknowledgement.mode", "auto")]).unwrap_err();
        assert!(error.to_string().contains("implicit, explicit"), "{error}");
        let error = ShareConsumerConfig::from_pairs([("max.pol.records", "5")]).unwrap_err();
        assert!(error.to_string().contains("max.poll.records"), "{error}");
        assert!(ShareConsumerConfig::from_pairs([("max.poll.records", "0")]).is_err());
    }

    /// Spec 7: record_limit exists from 4.2 (KIP-1206).
    #[test]
    fn record_limit_needs_4_2() {
        let config =
            ShareConsumerConfig::from_pairs([("share.acquire.mode", "record_limit")]).unwrap();
        assert!(config.validate(&Semantics::default()).is_ok());
        let old = Semantics::for_release(Release::Kafka4_1);
        assert!(matches!(
            config.validate(&old),
            Err(ConfigError::NotInRelease { .. })
        ));
    }
}
