//! Kafka config names a scenario may set, by scope, with their types, allowed values and defaults
//! (spec 9 and Kafka's `ConfigDef`s), and the validator that checks a `(name, value)` pair.
//!
//! One source of truth: where an engine has its own config parser, this module delegates to it instead of
//! keeping a second table. Share-group configs and the broker's `group.share.*` configs are parsed by
//! `sharesim_sim::coordinator::group` ([`ShareGroupConfig::set`], [`GroupCoordinatorConfig::set`] and its
//! cross-field `validate`). The tables here cover the scopes no engine parses yet (topic, producer,
//! consumer clients, the other broker configs); when the client parsers land, delegate to them too.

use sharesim_sim::client::share_consumer::{
    ConfigError as ConsumerConfigError, ShareConsumerConfig, KNOWN_CONFIGS as SHARE_CONSUMER_NAMES,
};
use sharesim_sim::coordinator::group::{
    GroupConfigError, GroupCoordinatorConfig, ShareGroupConfig, GROUP_COORDINATOR_CONFIG_NAMES,
    SHARE_GROUP_CONFIG_NAMES,
};
use sharesim_sim::semantics::{Release, Semantics};

use super::nearest::{did_you_mean, quoted_list};

/// Where a config applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ConfigScope {
    /// Broker configs (`cluster.configs`).
    Broker,
    /// Share-group configs (`groups[i].configs` of a share group).
    ShareGroup,
    /// Share consumer client configs (`consumers[i].configs` of a share group's consumers).
    ShareConsumer,
    /// Classic consumer client configs (a classic group's `configs` and its consumers' `configs`).
    ClassicConsumer,
    /// Topic configs (`topics[i].configs`).
    Topic,
    /// Producer client configs (`producers[i].configs`).
    Producer,
}

impl ConfigScope {
    /// How error messages name the scope.
    pub fn label(self) -> &'static str {
        match self {
            ConfigScope::Broker => "broker",
            ConfigScope::ShareGroup => "share group",
            ConfigScope::ShareConsumer => "share consumer",
            ConfigScope::ClassicConsumer => "classic consumer",
            ConfigScope::Topic => "topic",
            ConfigScope::Producer => "producer",
        }
    }
}

/// The shape of a config's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ConfigType {
    /// Kafka `INT`/`LONG`, inclusive bounds.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
    /// Kafka `DOUBLE`, inclusive bounds.
    Double {
        /// Smallest allowed value.
        min: f64,
        /// Largest allowed value.
        max: f64,
    },
    /// Kafka `BOOLEAN`: `true` or `false` (any case).
    Boolean,
    /// One of the listed strings.
    Enum(&'static [&'static str]),
    /// A non-empty comma-separated list of the listed strings (e.g. `cleanup.policy`).
    List(&'static [&'static str]),
    /// `share.auto.offset.reset`: `earliest`, `latest` or `by_duration:<ISO-8601 duration>`.
    AutoOffsetReset,
    /// Any string.
    Text,
}

impl ConfigType {
    /// What the type allows, for error messages.
    pub fn describe(self) -> String {
        match self {
            ConfigType::Integer { min, max } => {
                format!("an integer in [{}, {}]", bound(min), bound(max))
            }
            ConfigType::Double { min, max } => format!("a number in [{min}, {max}]"),
            ConfigType::Boolean => "`true` or `false`".to_string(),
            ConfigType::Enum(values) => format!("one of {}", quoted_list(values.iter().copied())),
            ConfigType::List(values) => format!(
                "a comma-separated list of {}",
                quoted_list(values.iter().copied())
            ),
            ConfigType::AutoOffsetReset => {
                "`earliest`, `latest` or `by_duration:<ISO-8601 duration>` (e.g. `by_duration:PT1H`)"
                    .to_string()
            }
            ConfigType::Text => "a string".to_string(),
        }
    }
}

/// Prints Java's MAX_VALUEs by name so ranges stay readable.
fn bound(value: i64) -> String {
    match value {
        INT_MAX => "2147483647".to_string(),
        LONG_MAX => "9223372036854775807".to_string(),
        _ => value.to_string(),
    }
}

const INT_MAX: i64 = i32::MAX as i64;
const LONG_MAX: i64 = i64::MAX;

/// One config a scenario may set.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ConfigSpec {
    /// Kafka's name, verbatim.
    pub name: &'static str,
    /// The value's shape.
    pub value_type: ConfigType,
    /// Kafka's default (4.2 unless `doc` says otherwise), as a scenario would write it.
    pub default: &'static str,
    /// The first release that has the config; older profiles reject it.
    pub since: Option<Release>,
    /// One line on what it does.
    pub doc: &'static str,
}

const fn int(
    name: &'static str,
    min: i64,
    max: i64,
    default: &'static str,
    doc: &'static str,
) -> ConfigSpec {
    ConfigSpec {
        name,
        value_type: ConfigType::Integer { min, max },
        default,
        since: None,
        doc,
    }
}

const fn boolean(name: &'static str, default: &'static str, doc: &'static str) -> ConfigSpec {
    ConfigSpec {
        name,
        value_type: ConfigType::Boolean,
        default,
        since: None,
        doc,
    }
}

const fn one_of(
    name: &'static str,
    values: &'static [&'static str],
    default: &'static str,
    doc: &'static str,
) -> ConfigSpec {
    ConfigSpec {
        name,
        value_type: ConfigType::Enum(values),
        default,
        since: None,
        doc,
    }
}

const fn text(name: &'static str, default: &'static str, doc: &'static str) -> ConfigSpec {
    ConfigSpec {
        name,
        value_type: ConfigType::Text,
        default,
        since: None,
        doc,
    }
}

const fn since(spec: ConfigSpec, release: Release) -> ConfigSpec {
    ConfigSpec {
        since: Some(release),
        ..spec
    }
}

/// Broker configs (spec 9) other than the `group.share.*` ones the group coordinator parses
/// ([`GROUP_COORDINATOR_CONFIG_NAMES`]).
pub const BROKER_CONFIGS: &[ConfigSpec] = &[
    int(
        "default.replication.factor",
        1,
        32767,
        "1",
        "replication factor of auto-created topics",
    ),
    int(
        "group.initial.rebalance.delay.ms",
        0,
        INT_MAX,
        "3000",
        "classic groups: delay of the first rebalance",
    ),
    int(
        "group.max.session.timeout.ms",
        1,
        INT_MAX,
        "1800000",
        "classic groups: largest session timeout",
    ),
    int(
        "group.max.size",
        1,
        INT_MAX,
        "2147483647",
        "classic groups: members a group may hold",
    ),
    int(
        "group.min.session.timeout.ms",
        1,
        INT_MAX,
        "6000",
        "classic groups: smallest session timeout",
    ),
    int(
        "group.share.assignment.interval.ms",
        0,
        INT_MAX,
        "1000",
        "share groups: assignment interval (4.3+)",
    ),
    int(
        "group.share.max.share.sessions",
        1,
        INT_MAX,
        "2000",
        "share sessions per broker",
    ),
    int(
        "log.flush.interval.messages",
        1,
        LONG_MAX,
        "9223372036854775807",
        "flush after this many messages",
    ),
    int(
        "log.flush.interval.ms",
        0,
        LONG_MAX,
        "9223372036854775807",
        "flush after this long (default: never)",
    ),
    int(
        "min.insync.replicas",
        1,
        INT_MAX,
        "1",
        "replicas that must acknowledge an acks=all write",
    ),
    int(
        "num.partitions",
        1,
        INT_MAX,
        "1",
        "partitions of auto-created topics",
    ),
    int(
        "offsets.topic.num.partitions",
        1,
        INT_MAX,
        "50",
        "partitions of __consumer_offsets",
    ),
    int(
        "offsets.topic.replication.factor",
        1,
        32767,
        "3",
        "replication factor of __consumer_offsets",
    ),
    int(
        "replica.lag.time.max.ms",
        1,
        LONG_MAX,
        "30000",
        "a follower this far behind leaves the ISR",
    ),
    int(
        "share.coordinator.cold.partition.snapshot.interval.ms",
        1,
        INT_MAX,
        "300000",
        "snapshot of idle state partitions",
    ),
    int(
        "share.coordinator.snapshot.update.records.per.snapshot",
        0,
        500,
        "500",
        "updates between snapshots",
    ),
    int(
        "share.coordinator.state.topic.min.isr",
        1,
        32767,
        "2",
        "min ISR of __share_group_state",
    ),
    int(
        "share.coordinator.state.topic.num.partitions",
        1,
        INT_MAX,
        "50",
        "partitions of __share_group_state",
    ),
    int(
        "share.coordinator.state.topic.prune.interval.ms",
        1,
        LONG_MAX,
        "300000",
        "pruning of __share_group_state",
    ),
    int(
        "share.coordinator.state.topic.replication.factor",
        1,
        32767,
        "3",
        "replication factor of __share_group_state",
    ),
    int(
        "share.coordinator.write.timeout.ms",
        1,
        INT_MAX,
        "5000",
        "share coordinator write timeout",
    ),
    int(
        "transaction.state.log.min.isr",
        1,
        INT_MAX,
        "2",
        "min ISR of __transaction_state",
    ),
    int(
        "transaction.state.log.replication.factor",
        1,
        32767,
        "3",
        "replication factor of __transaction_state",
    ),
    boolean(
        "unclean.leader.election.enable",
        "false",
        "elect an out-of-sync replica as a last resort",
    ),
];

/// Consumer configs a share consumer rejects with a ConfigException (spec 7), and where to go instead.
pub const SHARE_CONSUMER_UNSUPPORTED: &[(&str, &str)] = &[
    (
        "auto.offset.reset",
        "set the group config `share.auto.offset.reset`",
    ),
    (
        "enable.auto.commit",
        "share consumers acknowledge records instead of committing offsets",
    ),
    (
        "group.instance.id",
        "share groups have no static membership",
    ),
    (
        "group.protocol",
        "share consumers always use the share protocol",
    ),
    (
        "group.remote.assignor",
        "share groups use the broker's simple assignor",
    ),
    (
        "heartbeat.interval.ms",
        "set the group config `share.heartbeat.interval.ms`",
    ),
    (
        "interceptor.classes",
        "share consumers have no interceptors",
    ),
    (
        "isolation.level",
        "set the group config `share.isolation.level`",
    ),
    (
        "partition.assignment.strategy",
        "share groups use the broker's simple assignor",
    ),
    (
        "session.timeout.ms",
        "set the group config `share.session.timeout.ms`",
    ),
];

/// Classic consumer client configs (the baseline group of head-of-line comparisons).
pub const CLASSIC_CONSUMER_CONFIGS: &[ConfigSpec] = &[
    int(
        "auto.commit.interval.ms",
        0,
        INT_MAX,
        "5000",
        "auto-commit period",
    ),
    one_of(
        "auto.offset.reset",
        &["latest", "earliest", "none"],
        "latest",
        "start without a committed offset",
    ),
    boolean("check.crcs", "true", "verify record batch CRCs"),
    text("client.id", "", "client id in requests"),
    int(
        "default.api.timeout.ms",
        0,
        INT_MAX,
        "60000",
        "blocking call timeout",
    ),
    boolean("enable.auto.commit", "true", "commit offsets periodically"),
    int(
        "fetch.max.bytes",
        0,
        INT_MAX,
        "52428800",
        "bytes per Fetch response",
    ),
    int("fetch.max.wait.ms", 0, INT_MAX, "500", "Fetch MaxWaitMs"),
    int("fetch.min.bytes", 0, INT_MAX, "1", "Fetch MinBytes"),
    text("group.instance.id", "", "static membership id"),
    one_of(
        "group.protocol",
        &["classic"],
        "classic",
        "only the classic protocol is simulated for the baseline",
    ),
    int(
        "heartbeat.interval.ms",
        1,
        INT_MAX,
        "3000",
        "classic heartbeat interval",
    ),
    one_of(
        "isolation.level",
        &["read_uncommitted", "read_committed"],
        "read_uncommitted",
        "fetch isolation",
    ),
    int(
        "max.partition.fetch.bytes",
        0,
        INT_MAX,
        "1048576",
        "bytes per partition in a response",
    ),
    int(
        "max.poll.interval.ms",
        1,
        INT_MAX,
        "300000",
        "a slower poll loop leaves the group",
    ),
    int("max.poll.records", 1, INT_MAX, "500", "records per poll"),
    one_of(
        "partition.assignment.strategy",
        &["range", "roundrobin", "sticky", "cooperative-sticky"],
        "range",
        "client-side assignor (short names)",
    ),
    int("request.timeout.ms", 0, INT_MAX, "30000", "request timeout"),
    int(
        "retry.backoff.ms",
        0,
        LONG_MAX,
        "100",
        "wait before retrying",
    ),
    int(
        "session.timeout.ms",
        1,
        INT_MAX,
        "45000",
        "classic session timeout",
    ),
];

/// Topic configs.
pub const TOPIC_CONFIGS: &[ConfigSpec] = &[
    ConfigSpec {
        name: "cleanup.policy",
        value_type: ConfigType::List(&["delete", "compact"]),
        default: "delete",
        since: None,
        doc: "retention, compaction or both (spec 6)",
    },
    int(
        "delete.retention.ms",
        0,
        LONG_MAX,
        "86400000",
        "how long tombstones are kept",
    ),
    since(
        boolean(
            "errors.deadletterqueue.group.enable",
            "false",
            "topic may serve as a share-group DLQ (4.4)",
        ),
        Release::Kafka4_2,
    ),
    int(
        "flush.messages",
        1,
        LONG_MAX,
        "9223372036854775807",
        "flush after this many messages",
    ),
    int(
        "flush.ms",
        0,
        LONG_MAX,
        "9223372036854775807",
        "flush after this long",
    ),
    int(
        "max.compaction.lag.ms",
        1,
        LONG_MAX,
        "9223372036854775807",
        "longest a record stays uncompacted",
    ),
    int(
        "max.message.bytes",
        0,
        INT_MAX,
        "1048588",
        "largest record batch",
    ),
    one_of(
        "message.timestamp.type",
        &["CreateTime", "LogAppendTime"],
        "CreateTime",
        "record timestamps",
    ),
    ConfigSpec {
        name: "min.cleanable.dirty.ratio",
        value_type: ConfigType::Double { min: 0.0, max: 1.0 },
        default: "0.5",
        since: None,
        doc: "dirty ratio that triggers compaction",
    },
    int(
        "min.compaction.lag.ms",
        0,
        LONG_MAX,
        "0",
        "shortest a record stays uncompacted",
    ),
    int(
        "min.insync.replicas",
        1,
        INT_MAX,
        "1",
        "replicas that must acknowledge an acks=all write",
    ),
    int(
        "retention.bytes",
        -1,
        LONG_MAX,
        "-1",
        "size-based retention, -1 for none",
    ),
    int(
        "retention.ms",
        -1,
        LONG_MAX,
        "604800000",
        "time-based retention, -1 for none",
    ),
    int(
        "segment.bytes",
        14,
        INT_MAX,
        "1073741824",
        "log segment size",
    ),
    int(
        "segment.ms",
        1,
        LONG_MAX,
        "604800000",
        "log segment roll time",
    ),
    boolean(
        "unclean.leader.election.enable",
        "false",
        "elect an out-of-sync replica as a last resort",
    ),
];

/// Producer client configs.
pub const PRODUCER_CONFIGS: &[ConfigSpec] = &[
    one_of(
        "acks",
        &["all", "-1", "0", "1"],
        "all",
        "replicas that must have a write",
    ),
    int("batch.size", 0, INT_MAX, "16384", "bytes per record batch"),
    int(
        "buffer.memory",
        0,
        LONG_MAX,
        "33554432",
        "bytes buffered before send blocks",
    ),
    text("client.id", "", "client id in requests"),
    one_of(
        "compression.type",
        &["none"],
        "none",
        "only uncompressed batches are simulated",
    ),
    int(
        "delivery.timeout.ms",
        0,
        INT_MAX,
        "120000",
        "upper bound on a send",
    ),
    boolean(
        "enable.idempotence",
        "true",
        "producer ids and sequence numbers",
    ),
    int("linger.ms", 0, INT_MAX, "5", "wait to fill a batch"),
    int(
        "max.in.flight.requests.per.connection",
        1,
        INT_MAX,
        "5",
        "unacknowledged requests per connection",
    ),
    int(
        "max.request.size",
        0,
        INT_MAX,
        "1048576",
        "largest produce request",
    ),
    boolean(
        "partitioner.ignore.keys",
        "false",
        "partition keyed records as if unkeyed",
    ),
    int("request.timeout.ms", 0, INT_MAX, "30000", "request timeout"),
    int("retries", 0, INT_MAX, "2147483647", "send retries"),
    int(
        "retry.backoff.ms",
        0,
        LONG_MAX,
        "100",
        "wait before retrying",
    ),
    int(
        "transaction.timeout.ms",
        1,
        INT_MAX,
        "60000",
        "transaction timeout",
    ),
    text(
        "transactional.id",
        "",
        "enables transactions (set automatically when `transactions` is given)",
    ),
];

/// The table for one scope.
pub fn configs_of(scope: ConfigScope) -> &'static [ConfigSpec] {
    match scope {
        ConfigScope::Broker => BROKER_CONFIGS,
        // Parsed by `ShareGroupConfig::set`; no table here.
        ConfigScope::ShareGroup => &[],
        // Parsed by `ShareConsumerConfig::set`; no table here.
        ConfigScope::ShareConsumer => &[],
        ConfigScope::ClassicConsumer => CLASSIC_CONSUMER_CONFIGS,
        ConfigScope::Topic => TOPIC_CONFIGS,
        ConfigScope::Producer => PRODUCER_CONFIGS,
    }
}

/// The spec of `name` in `scope`, if it has one.
pub fn config_spec(scope: ConfigScope, name: &str) -> Option<&'static ConfigSpec> {
    configs_of(scope).iter().find(|spec| spec.name == name)
}

/// Why a `(name, value)` pair was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum ConfigProblem {
    /// Not a config of this scope. `hint` names the nearest valid name, or where the name belongs.
    UnknownName {
        /// The message.
        message: String,
        /// The suggestion.
        hint: Option<String>,
    },
    /// The config exists but not here (share-consumer ConfigException, or a newer release).
    Unsupported {
        /// The message.
        message: String,
        /// Where to set it instead.
        hint: Option<String>,
    },
    /// The value does not fit the config's type or range.
    InvalidValue {
        /// The message.
        message: String,
        /// Where the allowed range comes from, if not from the config itself.
        hint: Option<String>,
    },
}

/// Config names parsed by an engine's own parser rather than a table here.
pub fn delegated_names(scope: ConfigScope) -> &'static [&'static str] {
    match scope {
        ConfigScope::Broker => &GROUP_COORDINATOR_CONFIG_NAMES,
        ConfigScope::ShareGroup => &SHARE_GROUP_CONFIG_NAMES,
        ConfigScope::ShareConsumer => &SHARE_CONSUMER_NAMES,
        _ => &[],
    }
}

/// Every name valid in `scope`.
pub fn known_names(scope: ConfigScope) -> impl Iterator<Item = &'static str> {
    configs_of(scope)
        .iter()
        .map(|spec| spec.name)
        .chain(delegated_names(scope).iter().copied())
}

/// The problem for a name `scope` does not know: the nearest valid name, or the scope it belongs to.
fn unknown_name(scope: ConfigScope, name: &str) -> ConfigProblem {
    let mut hint = did_you_mean(name, known_names(scope));
    if hint.is_none() {
        hint = ALL_SCOPES
            .iter()
            .find(|other| known_names(**other).any(|known| known == name))
            .map(|other| format!("`{name}` is a {} config", other.label()));
    }
    ConfigProblem::UnknownName {
        message: format!("unknown {} config `{name}`", scope.label()),
        hint,
    }
}

/// Maps the group coordinator parser's error.
fn from_group_error(scope: ConfigScope, name: &str, error: GroupConfigError) -> ConfigProblem {
    match error {
        GroupConfigError::UnknownName { .. } => unknown_name(scope, name),
        GroupConfigError::Unsupported { .. } => ConfigProblem::Unsupported {
            message: error.to_string(),
            hint: None,
        },
        GroupConfigError::OutOfRange { .. } if scope == ConfigScope::ShareGroup => {
            ConfigProblem::InvalidValue {
                message: error.to_string(),
                hint: Some(
                    "the range is the broker's `group.share.min.*` / `group.share.max.*` configs in \
                     `cluster.configs`"
                        .to_string(),
                ),
            }
        }
        other => ConfigProblem::InvalidValue {
            message: other.to_string(),
            hint: None,
        },
    }
}

/// Maps the share consumer parser's error.
fn from_consumer_error(name: &str, error: ConsumerConfigError) -> ConfigProblem {
    match error {
        ConsumerConfigError::Unknown { .. } => unknown_name(ConfigScope::ShareConsumer, name),
        ConsumerConfigError::Unsupported { .. } | ConsumerConfigError::NotInRelease { .. } => {
            ConfigProblem::Unsupported {
                message: error.to_string(),
                hint: None,
            }
        }
        ConsumerConfigError::InvalidValue { .. } => ConfigProblem::InvalidValue {
            message: error.to_string(),
            hint: None,
        },
    }
}

/// Checks a share-group config against the broker settings `broker` (its bounds and release), with
/// the group coordinator's own parser.
pub fn validate_share_group_config(
    name: &str,
    value: &str,
    broker: &GroupCoordinatorConfig,
) -> Result<(), ConfigProblem> {
    ShareGroupConfig::default()
        .set(name, value, broker)
        .map_err(|error| from_group_error(ConfigScope::ShareGroup, name, error))
}

/// Parses a share group's configs against the broker settings `broker`, then applies Kafka's
/// cross-field rule (the session timeout above the heartbeat interval). The error names the config.
pub fn share_group_config<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    broker: &GroupCoordinatorConfig,
) -> Result<ShareGroupConfig, (String, ConfigProblem)> {
    let mut config = ShareGroupConfig::default();
    for (name, value) in entries {
        config.set(name, value, broker).map_err(|error| {
            (
                name.to_string(),
                from_group_error(ConfigScope::ShareGroup, name, error),
            )
        })?;
    }
    config
        .validate(broker)
        .map_err(|error| cross_field_error(ConfigScope::ShareGroup, error))?;
    Ok(config)
}

/// A cross-field rule's error (`validate`) with the config it names (empty when it names none).
fn cross_field_error(scope: ConfigScope, error: GroupConfigError) -> (String, ConfigProblem) {
    let name = match &error {
        GroupConfigError::Conflict { name, .. } => name.clone(),
        _ => String::new(),
    };
    let problem = from_group_error(scope, &name, error);
    (name, problem)
}

/// Parses the broker's `group.share.*` configs among `entries` over the release's defaults, with the
/// group coordinator's parser, then applies Kafka's cross-field rules. The error names the config.
pub fn broker_group_config<'a>(
    entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    release: Release,
) -> Result<GroupCoordinatorConfig, (String, ConfigProblem)> {
    let mut config = GroupCoordinatorConfig::new(&Semantics::for_release(release));
    for (name, value) in entries {
        if GROUP_COORDINATOR_CONFIG_NAMES.contains(&name) {
            config.set(name, value).map_err(|error| {
                (
                    name.to_string(),
                    from_group_error(ConfigScope::Broker, name, error),
                )
            })?;
        }
    }
    config
        .validate()
        .map_err(|error| cross_field_error(ConfigScope::Broker, error))?;
    Ok(config)
}

/// Checks one config of `scope` under the profile `release`.
pub fn validate_config(
    scope: ConfigScope,
    name: &str,
    value: &str,
    release: Release,
) -> Result<(), ConfigProblem> {
    if scope == ConfigScope::ShareConsumer {
        if let Some((_, instead)) = SHARE_CONSUMER_UNSUPPORTED.iter().find(|(n, _)| *n == name) {
            return Err(ConfigProblem::Unsupported {
                message: format!(
                    "`{name}` is not supported by share consumers (Kafka throws a ConfigException)"
                ),
                hint: Some((*instead).to_string()),
            });
        }
    }
    if scope == ConfigScope::ShareConsumer {
        // The share consumer's own parser, then its release rules (`share.acquire.mode` is 4.2+).
        let mut config = ShareConsumerConfig::default();
        config
            .set(name, value)
            .and_then(|()| config.validate(&Semantics::for_release(release)))
            .map_err(|error| from_consumer_error(name, error))?;
        return Ok(());
    }
    if scope == ConfigScope::ShareGroup {
        return validate_share_group_config(
            name,
            value,
            &GroupCoordinatorConfig::new(&Semantics::for_release(release)),
        );
    }
    if delegated_names(scope).contains(&name) {
        // One value's own range; the cross-field rules need every broker config (`broker_group_config`).
        return GroupCoordinatorConfig::new(&Semantics::for_release(release))
            .set(name, value)
            .map_err(|error| from_group_error(scope, name, error));
    }
    let Some(spec) = config_spec(scope, name) else {
        return Err(unknown_name(scope, name));
    };
    if let Some(first) = spec.since {
        if release < first {
            return Err(ConfigProblem::Unsupported {
                message: format!("`{name}` does not exist in {release}; it exists from {first}"),
                hint: Some(format!("use `\"profile\": \"{first}\"` or later")),
            });
        }
    }
    check_value(spec, value, release)
}

const ALL_SCOPES: [ConfigScope; 6] = [
    ConfigScope::Broker,
    ConfigScope::ShareGroup,
    ConfigScope::ShareConsumer,
    ConfigScope::ClassicConsumer,
    ConfigScope::Topic,
    ConfigScope::Producer,
];

fn check_value(spec: &ConfigSpec, value: &str, release: Release) -> Result<(), ConfigProblem> {
    let invalid = || ConfigProblem::InvalidValue {
        message: format!(
            "invalid value `{value}` for `{}`: expected {}",
            spec.name,
            spec.value_type.describe()
        ),
        hint: Some(format!("the default is `{}`", spec.default)),
    };
    let trimmed = value.trim();
    match spec.value_type {
        ConfigType::Integer { min, max } => {
            let parsed: i64 = trimmed.parse().map_err(|_| invalid())?;
            if parsed < min || parsed > max {
                return Err(invalid());
            }
        }
        ConfigType::Double { min, max } => {
            let parsed: f64 = trimmed.parse().map_err(|_| invalid())?;
            if !(min..=max).contains(&parsed) {
                return Err(invalid());
            }
        }
        ConfigType::Boolean => {
            if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                return Err(invalid());
            }
        }
        ConfigType::Enum(values) => {
            if !values.contains(&trimmed) {
                return Err(invalid());
            }
            if spec.name == "share.acquire.mode"
                && trimmed == "record_limit"
                && release < Release::Kafka4_2
            {
                return Err(invalid());
            }
        }
        ConfigType::List(values) => {
            let items: Vec<&str> = trimmed.split(',').map(str::trim).collect();
            if items.iter().any(|item| !values.contains(item)) {
                return Err(invalid());
            }
        }
        ConfigType::AutoOffsetReset => {
            let ok = match trimmed {
                "earliest" | "latest" => true,
                other => other
                    .strip_prefix("by_duration:")
                    .is_some_and(is_iso8601_duration),
            };
            if !ok {
                return Err(invalid());
            }
        }
        ConfigType::Text => {}
    }
    Ok(())
}

/// A non-negative ISO-8601 duration as `java.time.Duration.parse` reads it: `PnDTnHnMn.nS`.
fn is_iso8601_duration(text: &str) -> bool {
    let Some(rest) = text.strip_prefix('P').or_else(|| text.strip_prefix('p')) else {
        return false;
    };
    let (days, time) = match rest.split_once(['T', 't']) {
        Some((days, time)) => (days, Some(time)),
        None => (rest, None),
    };
    let days_ok = days.is_empty()
        || (days.len() > 1
            && days.ends_with(['D', 'd'])
            && days[..days.len() - 1].bytes().all(|b| b.is_ascii_digit()));
    let time_ok = match time {
        None => !days.is_empty(),
        Some(time) => {
            let mut rest = time;
            let mut parts = 0;
            for unit in ['H', 'M', 'S'] {
                if let Some(end) = rest.find([unit, unit.to_ascii_lowercase()]) {
                    let number = &rest[..end];
                    let numeric = !number.is_empty()
                        && number
                            .bytes()
                            .all(|b| b.is_ascii_digit() || (unit == 'S' && b == b'.'));
                    if !numeric {
                        return false;
                    }
                    rest = &rest[end + 1..];
                    parts += 1;
                }
            }
            parts > 0 && rest.is_empty()
        }
    };
    days_ok && time_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table is sorted by name and has no duplicates, so lookups and docs stay predictable.
    #[test]
    fn tables_are_sorted_and_unique() {
        for scope in ALL_SCOPES {
            let names: Vec<&str> = configs_of(scope).iter().map(|spec| spec.name).collect();
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(names, sorted, "{scope:?}");
            assert_eq!(names.len(), sorted.len(), "{scope:?}");
        }
    }

    /// Every default is itself valid (spec 9 defaults).
    #[test]
    fn defaults_validate() {
        for scope in ALL_SCOPES {
            for spec in configs_of(scope) {
                assert_eq!(
                    check_value(spec, spec.default, Release::Kafka4_2),
                    Ok(()),
                    "{}",
                    spec.name
                );
            }
        }
    }

    /// Spec 5.2: by_duration takes an ISO-8601 duration; a negative one is refused.
    #[test]
    fn auto_offset_reset_by_duration() {
        let check = |value| {
            validate_config(
                ConfigScope::ShareGroup,
                "share.auto.offset.reset",
                value,
                Release::Kafka4_2,
            )
        };
        assert!(check("by_duration:PT1H").is_ok());
        assert!(check("by_duration:P1DT2H30M1.5S").is_ok());
        assert!(check("by_duration:-PT1H").is_err());
        assert!(check("by_duration:P").is_err());
        assert!(check("sometimes").is_err());
    }

    /// Spec 7: share consumers reject classic-only configs; spec 6: isolation is 4.1+.
    #[test]
    fn scope_and_release_rules() {
        assert!(matches!(
            validate_config(
                ConfigScope::ShareConsumer,
                "isolation.level",
                "read_committed",
                Release::Kafka4_2
            ),
            Err(ConfigProblem::Unsupported { .. })
        ));
        assert!(matches!(
            validate_config(
                ConfigScope::ShareGroup,
                "share.isolation.level",
                "read_committed",
                Release::Kafka4_0
            ),
            Err(ConfigProblem::Unsupported { .. })
        ));
        assert!(validate_config(
            ConfigScope::ShareGroup,
            "share.isolation.level",
            "read_committed",
            Release::Kafka4_1
        )
        .is_ok());
    }
}
