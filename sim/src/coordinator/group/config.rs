//! Share-group configs: the broker's `group.share.*` settings that bound them ([`GroupCoordinatorConfig`],
//! `GroupCoordinatorConfig`/`ShareGroupConfig` in Kafka) and the per-group overrides ([`ShareGroupConfig`],
//! Kafka's `GroupConfig`), with a parser from `(name, value)` strings for scenario files and
//! IncrementalAlterConfigs (spec 1.3, 1.4, 1.5, 4.1, 5.2, 6, 9).
//!
//! `share.delivery.count.limit`, `share.partition.max.record.locks` and `share.renew.acknowledge.enable`
//! are Kafka **4.3** group configs (KIP-1240). sharesim accepts them under every profile so that what-if
//! scenarios can use them; in 4.2 the broker-level `group.share.delivery.count.limit` and
//! `group.share.partition.max.record.locks` are the only way to set those limits.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::duration::parse_iso8601_duration_ms;
use crate::semantics::Semantics;

/// An inclusive range of allowed values for an integer config.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConfigRange {
    /// The smallest allowed value.
    pub min: i64,
    /// The largest allowed value.
    pub max: i64,
}

impl ConfigRange {
    /// Whether `value` lies inside the range.
    pub fn contains(self, value: i64) -> bool {
        self.min <= value && value <= self.max
    }
}

impl fmt::Display for ConfigRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}]", self.min, self.max)
    }
}

/// The broker's share-group settings the group coordinator consults (defaults of Kafka 4.2, spec 9).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupCoordinatorConfig {
    /// `group.share.max.size` (default 200): members per share group.
    pub max_size: u32,
    /// `group.share.session.timeout.ms` (default 45000).
    pub session_timeout_ms: u32,
    /// `group.share.min.session.timeout.ms` / `group.share.max.session.timeout.ms` (45000 / 60000).
    pub session_timeout_range_ms: ConfigRange,
    /// `group.share.heartbeat.interval.ms` (default 5000).
    pub heartbeat_interval_ms: u32,
    /// `group.share.min.heartbeat.interval.ms` / `group.share.max.heartbeat.interval.ms` (5000 / 15000).
    pub heartbeat_interval_range_ms: ConfigRange,
    /// `group.share.initialize.retry.interval.ms` (default 30000): when an initializing partition whose
    /// InitializeShareGroupState failed or went unanswered is tried again.
    pub initialize_retry_interval_ms: u32,
    /// `group.share.record.lock.duration.ms` (default 30000).
    pub record_lock_duration_ms: u32,
    /// `group.share.min.record.lock.duration.ms` / `group.share.max.record.lock.duration.ms`
    /// (15000 / 60000).
    pub record_lock_duration_range_ms: ConfigRange,
    /// `group.share.delivery.count.limit` (default 5).
    pub delivery_count_limit: u32,
    /// `group.share.min.delivery.count.limit` / `group.share.max.delivery.count.limit` (2 / 10), the
    /// bounds of the 4.3 group config.
    pub delivery_count_limit_range: ConfigRange,
    /// `group.share.partition.max.record.locks` (2000; 200 in 4.0).
    pub partition_max_record_locks: u32,
    /// `group.share.min.partition.max.record.locks` / `group.share.max.partition.max.record.locks`
    /// (100 / 4000), the bounds of the 4.3 group config.
    pub partition_max_record_locks_range: ConfigRange,
    /// From [`Semantics::group_isolation_level_supported`]: `share.isolation.level` exists (4.1+).
    pub group_isolation_level_supported: bool,
    /// Mutation switch `assignor_skips_a_member` (issue 6; never set by a scenario's configs, only by
    /// its `mutations` on the cluster backend): the simple assignor leaves the last member (by id) out.
    pub assignor_skips_a_member: bool,
}

impl GroupCoordinatorConfig {
    /// Kafka's defaults for the release `semantics` describes.
    pub fn new(semantics: &Semantics) -> GroupCoordinatorConfig {
        GroupCoordinatorConfig {
            max_size: 200,
            session_timeout_ms: 45_000,
            session_timeout_range_ms: ConfigRange {
                min: 45_000,
                max: 60_000,
            },
            heartbeat_interval_ms: 5_000,
            heartbeat_interval_range_ms: ConfigRange {
                min: 5_000,
                max: 15_000,
            },
            initialize_retry_interval_ms: 30_000,
            record_lock_duration_ms: 30_000,
            record_lock_duration_range_ms: ConfigRange {
                min: 15_000,
                max: 60_000,
            },
            delivery_count_limit: 5,
            delivery_count_limit_range: ConfigRange { min: 2, max: 10 },
            partition_max_record_locks: semantics.default_max_record_locks,
            partition_max_record_locks_range: ConfigRange {
                min: 100,
                max: 4_000,
            },
            group_isolation_level_supported: semantics.group_isolation_level_supported,
            assignor_skips_a_member: false,
        }
    }
}

impl Default for GroupCoordinatorConfig {
    /// Kafka 4.2's defaults.
    fn default() -> Self {
        GroupCoordinatorConfig::new(&Semantics::default())
    }
}

/// `share.auto.offset.reset` (spec 5.2): where a share partition starts when no start offset is stored.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AutoOffsetReset {
    /// The log start offset.
    Earliest,
    /// The high watermark (the default).
    #[default]
    Latest,
    /// `by_duration:<ISO-8601>`: the first offset whose timestamp is at least `now - duration_ms`.
    ByDuration {
        /// The parsed, non-negative duration.
        duration_ms: u64,
    },
}

/// `share.isolation.level` (spec 6, 4.1+).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IsolationLevel {
    /// Fetch up to the high watermark; aborted records are delivered (the default).
    #[default]
    ReadUncommitted,
    /// Fetch up to the last stable offset; aborted records are archived.
    ReadCommitted,
}

/// The overrides one share group has set (Kafka's dynamic `GroupConfig`). `None` means "use the broker
/// default"; the effective value comes from the `*_ms`/`*_limit` resolvers, which take the broker config.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ShareGroupConfig {
    /// `share.session.timeout.ms`.
    pub session_timeout_ms: Option<u32>,
    /// `share.heartbeat.interval.ms`.
    pub heartbeat_interval_ms: Option<u32>,
    /// `share.record.lock.duration.ms`.
    pub record_lock_duration_ms: Option<u32>,
    /// `share.auto.offset.reset`.
    pub auto_offset_reset: Option<AutoOffsetReset>,
    /// `share.isolation.level` (4.1+).
    pub isolation_level: Option<IsolationLevel>,
    /// `share.delivery.count.limit` (a 4.3 name, KIP-1240).
    pub delivery_count_limit: Option<u32>,
    /// `share.partition.max.record.locks` (a 4.3 name, KIP-1240).
    pub partition_max_record_locks: Option<u32>,
    /// `share.renew.acknowledge.enable` (a 4.3 name, default true).
    pub renew_acknowledge_enable: Option<bool>,
}

/// Every group config name the parser accepts, in alphabetical order.
pub const SHARE_GROUP_CONFIG_NAMES: [&str; 8] = [
    "share.auto.offset.reset",
    "share.delivery.count.limit",
    "share.heartbeat.interval.ms",
    "share.isolation.level",
    "share.partition.max.record.locks",
    "share.record.lock.duration.ms",
    "share.renew.acknowledge.enable",
    "share.session.timeout.ms",
];

/// Why a `(name, value)` pair was refused. The message names the config and what it accepts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum GroupConfigError {
    /// The name is not a share-group config; `nearest` is the closest valid name by edit distance.
    UnknownName {
        /// The name given.
        name: String,
        /// The closest valid name.
        nearest: String,
    },
    /// The value does not parse as the config's type.
    InvalidValue {
        /// The config.
        name: String,
        /// The value given.
        value: String,
        /// What the config accepts.
        expected: String,
    },
    /// The value parses but lies outside the broker's bounds.
    OutOfRange {
        /// The config.
        name: String,
        /// The value given.
        value: i64,
        /// The allowed range, from the broker's `group.share.min.*`/`group.share.max.*` configs.
        range: ConfigRange,
    },
    /// Two configs contradict each other (checked by [`GroupCoordinatorConfig::validate`] and
    /// [`ShareGroupConfig::validate`]).
    Conflict {
        /// The config that must change.
        name: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// The config does not exist in the profile's release.
    Unsupported {
        /// The config.
        name: String,
        /// Why.
        reason: String,
    },
}

impl fmt::Display for GroupConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupConfigError::UnknownName { name, nearest } => {
                write!(
                    f,
                    "unknown share group config `{name}`; did you mean `{nearest}`?"
                )
            }
            GroupConfigError::InvalidValue {
                name,
                value,
                expected,
            } => {
                write!(
                    f,
                    "invalid value `{value}` for config `{name}`: expected {expected}"
                )
            }
            GroupConfigError::OutOfRange { name, value, range } => {
                write!(
                    f,
                    "invalid value {value} for config `{name}`: must be in the range {range}"
                )
            }
            GroupConfigError::Conflict { name, reason } => {
                write!(f, "invalid config `{name}`: {reason}")
            }
            GroupConfigError::Unsupported { name, reason } => {
                write!(f, "config `{name}` is not supported: {reason}")
            }
        }
    }
}

impl std::error::Error for GroupConfigError {}

impl ShareGroupConfig {
    /// Parses `(name, value)` pairs into a config, stopping at the first bad one.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
        broker: &GroupCoordinatorConfig,
    ) -> Result<ShareGroupConfig, GroupConfigError> {
        let mut config = ShareGroupConfig::default();
        for (name, value) in entries {
            config.set(name, value, broker)?;
        }
        Ok(config)
    }

    /// Sets one config from its Kafka name and string value, checked against the broker's bounds.
    pub fn set(
        &mut self,
        name: &str,
        value: &str,
        broker: &GroupCoordinatorConfig,
    ) -> Result<(), GroupConfigError> {
        let value = value.trim();
        match name {
            "share.session.timeout.ms" => {
                self.session_timeout_ms =
                    Some(parse_bounded(name, value, broker.session_timeout_range_ms)?);
            }
            "share.heartbeat.interval.ms" => {
                self.heartbeat_interval_ms = Some(parse_bounded(
                    name,
                    value,
                    broker.heartbeat_interval_range_ms,
                )?);
            }
            "share.record.lock.duration.ms" => {
                self.record_lock_duration_ms = Some(parse_bounded(
                    name,
                    value,
                    broker.record_lock_duration_range_ms,
                )?);
            }
            "share.delivery.count.limit" => {
                self.delivery_count_limit = Some(parse_bounded(
                    name,
                    value,
                    broker.delivery_count_limit_range,
                )?);
            }
            "share.partition.max.record.locks" => {
                self.partition_max_record_locks = Some(parse_bounded(
                    name,
                    value,
                    broker.partition_max_record_locks_range,
                )?);
            }
            "share.auto.offset.reset" => {
                self.auto_offset_reset = Some(parse_auto_offset_reset(name, value)?);
            }
            "share.isolation.level" => {
                if !broker.group_isolation_level_supported {
                    return Err(GroupConfigError::Unsupported {
                        name: name.to_string(),
                        reason:
                            "share.isolation.level exists from Kafka 4.1; this profile's groups \
                                 read uncommitted"
                                .to_string(),
                    });
                }
                self.isolation_level = Some(match value.to_ascii_lowercase().as_str() {
                    "read_uncommitted" => IsolationLevel::ReadUncommitted,
                    "read_committed" => IsolationLevel::ReadCommitted,
                    _ => return Err(invalid(name, value, "read_committed or read_uncommitted")),
                });
            }
            "share.renew.acknowledge.enable" => {
                // Kafka's boolean configs accept "true"/"false" in any case.
                self.renew_acknowledge_enable = Some(match value.to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(name, value, "true or false")),
                });
            }
            _ => {
                return Err(GroupConfigError::UnknownName {
                    name: name.to_string(),
                    nearest: nearest_config_name(name).to_string(),
                })
            }
        }
        Ok(())
    }

    /// The effective session timeout: the override, else `group.share.session.timeout.ms`.
    pub fn session_timeout_ms(&self, broker: &GroupCoordinatorConfig) -> u32 {
        self.session_timeout_ms.unwrap_or(broker.session_timeout_ms)
    }

    /// The effective heartbeat interval: the override, else `group.share.heartbeat.interval.ms`.
    pub fn heartbeat_interval_ms(&self, broker: &GroupCoordinatorConfig) -> u32 {
        self.heartbeat_interval_ms
            .unwrap_or(broker.heartbeat_interval_ms)
    }

    /// Kafka's cross-field rule on a group's configs (`GroupConfig.validateValues`): the share session
    /// timeout must be greater than the share heartbeat interval. Kafka fills the unset one with the
    /// static default; here it is the broker's value (the same unless `cluster.configs` changes it).
    pub fn validate(&self, broker: &GroupCoordinatorConfig) -> Result<(), GroupConfigError> {
        let session_timeout_ms = self.session_timeout_ms(broker);
        let heartbeat_interval_ms = self.heartbeat_interval_ms(broker);
        if session_timeout_ms <= heartbeat_interval_ms {
            let name = if self.session_timeout_ms.is_some() {
                "share.session.timeout.ms"
            } else {
                "share.heartbeat.interval.ms"
            };
            return Err(GroupConfigError::Conflict {
                name: name.to_string(),
                reason: format!(
                    "share.session.timeout.ms ({session_timeout_ms}) must be greater than \
                     share.heartbeat.interval.ms ({heartbeat_interval_ms})"
                ),
            });
        }
        Ok(())
    }

    /// The effective acquisition lock duration: the override, else `group.share.record.lock.duration.ms`.
    pub fn record_lock_duration_ms(&self, broker: &GroupCoordinatorConfig) -> u32 {
        self.record_lock_duration_ms
            .unwrap_or(broker.record_lock_duration_ms)
    }

    /// The effective delivery-count limit: the (4.3) override, else `group.share.delivery.count.limit`.
    pub fn delivery_count_limit(&self, broker: &GroupCoordinatorConfig) -> u32 {
        self.delivery_count_limit
            .unwrap_or(broker.delivery_count_limit)
    }

    /// The effective in-flight limit: the (4.3) override, else `group.share.partition.max.record.locks`.
    pub fn partition_max_record_locks(&self, broker: &GroupCoordinatorConfig) -> u32 {
        self.partition_max_record_locks
            .unwrap_or(broker.partition_max_record_locks)
    }

    /// The effective `share.auto.offset.reset` (default latest).
    pub fn auto_offset_reset(&self) -> AutoOffsetReset {
        self.auto_offset_reset.unwrap_or_default()
    }

    /// The effective `share.isolation.level` (default read_uncommitted).
    pub fn isolation_level(&self) -> IsolationLevel {
        self.isolation_level.unwrap_or_default()
    }

    /// The effective `share.renew.acknowledge.enable` (default true).
    pub fn renew_acknowledge_enable(&self) -> bool {
        self.renew_acknowledge_enable.unwrap_or(true)
    }
}

pub(super) fn invalid(name: &str, value: &str, expected: &str) -> GroupConfigError {
    GroupConfigError::InvalidValue {
        name: name.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
    }
}

/// An int config (Kafka's `ConfigDef.Type.INT`) inside `range`.
pub(super) fn parse_bounded(
    name: &str,
    value: &str,
    range: ConfigRange,
) -> Result<u32, GroupConfigError> {
    let parsed: i32 = value
        .parse()
        .map_err(|_| invalid(name, value, &format!("an integer in the range {range}")))?;
    let parsed = i64::from(parsed);
    if !range.contains(parsed) {
        return Err(GroupConfigError::OutOfRange {
            name: name.to_string(),
            value: parsed,
            range,
        });
    }
    // In range and the range starts above zero for every share config, so this never fails.
    u32::try_from(parsed).map_err(|_| GroupConfigError::OutOfRange {
        name: name.to_string(),
        value: parsed,
        range,
    })
}

/// `ShareGroupAutoOffsetResetStrategy.fromString`: case-insensitive, `by_duration:` needs a non-negative
/// ISO-8601 duration.
fn parse_auto_offset_reset(name: &str, value: &str) -> Result<AutoOffsetReset, GroupConfigError> {
    const EXPECTED: &str = "latest, earliest or by_duration:<ISO-8601 duration such as PT1H>";
    let lower = value.to_ascii_lowercase();
    match lower.as_str() {
        "latest" => return Ok(AutoOffsetReset::Latest),
        "earliest" => return Ok(AutoOffsetReset::Earliest),
        _ => {}
    }
    let Some(duration) = lower.strip_prefix("by_duration:") else {
        return Err(invalid(name, value, EXPECTED));
    };
    match parse_iso8601_duration_ms(duration.trim()) {
        Ok(duration_ms) if duration_ms >= 0 => Ok(AutoOffsetReset::ByDuration {
            duration_ms: duration_ms.unsigned_abs(),
        }),
        Ok(_) => Err(invalid(name, value, "a non-negative by_duration duration")),
        Err(why) => Err(invalid(name, value, &format!("{EXPECTED} ({why})"))),
    }
}

/// The valid group config name closest to `name` by Levenshtein distance (ties: alphabetical order).
pub fn nearest_config_name(name: &str) -> &'static str {
    nearest_name(name, &SHARE_GROUP_CONFIG_NAMES)
}

/// The name in `candidates` closest to `name` by Levenshtein distance (ties: the earlier candidate).
pub(super) fn nearest_name(name: &str, candidates: &[&'static str]) -> &'static str {
    let mut best = candidates.first().copied().unwrap_or("");
    let mut best_distance = usize::MAX;
    for &candidate in candidates {
        let distance = edit_distance(name, candidate);
        if distance < best_distance {
            best = candidate;
            best_distance = distance;
        }
    }
    best
}

/// Levenshtein distance over chars, with one rolling row.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != *cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::semantics::Release;

    fn broker() -> GroupCoordinatorConfig {
        GroupCoordinatorConfig::default()
    }

    /// Spec 9: Kafka 4.2's broker defaults.
    #[test]
    fn broker_defaults_match_kafka() {
        let broker = broker();
        assert_eq!(broker.max_size, 200);
        assert_eq!(broker.session_timeout_ms, 45_000);
        assert_eq!(broker.heartbeat_interval_ms, 5_000);
        assert_eq!(broker.record_lock_duration_ms, 30_000);
        assert_eq!(broker.delivery_count_limit, 5);
        assert_eq!(broker.partition_max_record_locks, 2_000);
        assert_eq!(broker.initialize_retry_interval_ms, 30_000);
        let old = GroupCoordinatorConfig::new(&Semantics::for_release(Release::Kafka4_0));
        assert_eq!(old.partition_max_record_locks, 200);
    }

    /// Spec 4.1 (Kafka's `GroupConfig.validateValues`): a group's share session timeout must be greater
    /// than its heartbeat interval, each the override or else the broker's value.
    #[test]
    fn session_timeout_must_exceed_heartbeat_interval() {
        let broker = GroupCoordinatorConfig {
            session_timeout_range_ms: ConfigRange {
                min: 1_000,
                max: 60_000,
            },
            heartbeat_interval_range_ms: ConfigRange {
                min: 1_000,
                max: 15_000,
            },
            ..broker()
        };
        let group = |entries: &[(&str, &str)]| {
            ShareGroupConfig::from_entries(entries.iter().copied(), &broker)
                .unwrap()
                .validate(&broker)
        };
        assert_eq!(group(&[("share.session.timeout.ms", "10000")]), Ok(()));
        assert!(matches!(
            group(&[("share.session.timeout.ms", "5000")]),
            Err(GroupConfigError::Conflict { name, .. }) if name == "share.session.timeout.ms"
        ));
        assert!(matches!(
            group(&[
                ("share.heartbeat.interval.ms", "15000"),
                ("share.session.timeout.ms", "15000")
            ]),
            Err(GroupConfigError::Conflict { .. })
        ));
        let quick = [
            ("share.session.timeout.ms", "6000"),
            ("share.heartbeat.interval.ms", "2000"),
        ];
        assert_eq!(group(&quick), Ok(()));
    }

    /// Spec 4.1, 1.4: group overrides inside the broker bounds are taken; the defaults apply otherwise.
    #[test]
    fn overrides_in_range_are_effective() {
        let broker = broker();
        let config = ShareGroupConfig::from_entries(
            [
                ("share.session.timeout.ms", "50000"),
                ("share.heartbeat.interval.ms", "15000"),
                ("share.record.lock.duration.ms", "15000"),
                ("share.delivery.count.limit", "3"),
                ("share.partition.max.record.locks", "100"),
                ("share.renew.acknowledge.enable", "FALSE"),
                ("share.isolation.level", "read_committed"),
            ],
            &broker,
        )
        .unwrap();
        assert_eq!(config.session_timeout_ms(&broker), 50_000);
        assert_eq!(config.heartbeat_interval_ms(&broker), 15_000);
        assert_eq!(config.record_lock_duration_ms(&broker), 15_000);
        assert_eq!(config.delivery_count_limit(&broker), 3);
        assert_eq!(config.partition_max_record_locks(&broker), 100);
        assert!(!config.renew_acknowledge_enable());
        assert_eq!(config.isolation_level(), IsolationLevel::ReadCommitted);
        let default = ShareGroupConfig::default();
        assert_eq!(default.session_timeout_ms(&broker), 45_000);
        assert_eq!(default.auto_offset_reset(), AutoOffsetReset::Latest);
        assert!(default.renew_acknowledge_enable());
    }

    /// Spec 1.4: the lock duration override is bounded by group.share.min/max.record.lock.duration.ms, and
    /// the error names the config and the range.
    #[test]
    fn out_of_range_names_config_and_range() {
        let mut config = ShareGroupConfig::default();
        let error = config
            .set("share.record.lock.duration.ms", "1000", &broker())
            .unwrap_err();
        assert_eq!(
            error,
            GroupConfigError::OutOfRange {
                name: "share.record.lock.duration.ms".into(),
                value: 1_000,
                range: ConfigRange {
                    min: 15_000,
                    max: 60_000
                },
            }
        );
        let message = error.to_string();
        assert!(
            message.contains("share.record.lock.duration.ms"),
            "{message}"
        );
        assert!(message.contains("[15000, 60000]"), "{message}");
        let error = config
            .set("share.session.timeout.ms", "60001", &broker())
            .unwrap_err();
        assert!(error.to_string().contains("[45000, 60000]"));
        let error = config
            .set("share.heartbeat.interval.ms", "4999", &broker())
            .unwrap_err();
        assert!(error.to_string().contains("[5000, 15000]"));
        assert_eq!(
            config,
            ShareGroupConfig::default(),
            "a refused value changes nothing"
        );
    }

    /// Spec 4.1: a value that is not a number is refused with what was expected.
    #[test]
    fn bad_values_are_refused() {
        let mut config = ShareGroupConfig::default();
        let error = config
            .set("share.session.timeout.ms", "soon", &broker())
            .unwrap_err();
        assert!(matches!(error, GroupConfigError::InvalidValue { .. }));
        assert!(error.to_string().contains("share.session.timeout.ms"));
        assert!(config
            .set("share.isolation.level", "serializable", &broker())
            .is_err());
        assert!(config
            .set("share.renew.acknowledge.enable", "yes", &broker())
            .is_err());
        assert!(config
            .set("share.delivery.count.limit", "99999999999", &broker())
            .is_err());
    }

    /// Spec 5.2: latest, earliest and by_duration with a non-negative ISO-8601 duration.
    #[test]
    fn auto_offset_reset_values() {
        let broker = broker();
        let parse = |value: &str| {
            let mut config = ShareGroupConfig::default();
            config
                .set("share.auto.offset.reset", value, &broker)
                .map(|()| config.auto_offset_reset())
        };
        assert_eq!(parse("EARLIEST"), Ok(AutoOffsetReset::Earliest));
        assert_eq!(parse("latest"), Ok(AutoOffsetReset::Latest));
        assert_eq!(
            parse("by_duration:PT1H30M"),
            Ok(AutoOffsetReset::ByDuration {
                duration_ms: 5_400_000
            })
        );
        assert_eq!(
            parse("by_duration:P1DT0.5S"),
            Ok(AutoOffsetReset::ByDuration {
                duration_ms: 86_400_500
            })
        );
        assert!(
            parse("by_duration:-PT1H").is_err(),
            "negative durations are rejected"
        );
        assert!(parse("by_duration:1H").is_err());
        assert!(parse("by_duration:PT").is_err());
        assert!(parse("by_duration:").is_err());
        assert!(parse("none").is_err());
    }

    /// Spec 6: share.isolation.level exists from 4.1; the 4.0 profile refuses it.
    #[test]
    fn isolation_level_needs_4_1() {
        let broker = GroupCoordinatorConfig::new(&Semantics::for_release(Release::Kafka4_0));
        let mut config = ShareGroupConfig::default();
        let error = config
            .set("share.isolation.level", "read_committed", &broker)
            .unwrap_err();
        assert!(
            matches!(error, GroupConfigError::Unsupported { .. }),
            "{error}"
        );
    }

    /// Design principle 6: an unknown name is an error with the nearest valid name.
    #[test]
    fn unknown_name_suggests_nearest() {
        let mut config = ShareGroupConfig::default();
        let error = config
            .set("share.record.lock.duration", "30000", &broker())
            .unwrap_err();
        assert_eq!(
            error,
            GroupConfigError::UnknownName {
                name: "share.record.lock.duration".into(),
                nearest: "share.record.lock.duration.ms".into(),
            }
        );
        assert!(error
            .to_string()
            .contains("did you mean `share.record.lock.duration.ms`"));
        assert_eq!(
            nearest_config_name("share.auto.ofset.reset"),
            "share.auto.offset.reset"
        );
        assert_eq!(
            nearest_config_name("share.isolation"),
            "share.isolation.level"
        );
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
