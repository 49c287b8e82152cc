//! DescribeConfigs and IncrementalAlterConfigs for GROUP config resources (resource type 32, KIP-848 /
//! KIP-932): the share-group configs (`share.record.lock.duration.ms`, `share.auto.offset.reset`, ...)
//! read and set over the wire, checked by [`ShareGroupConfig::set`] against the broker bounds and applied
//! to the run's [`SharedGroupConfigs`], the same overrides the share-partition leaders of every broker
//! obey (spec 1.3-1.5, 5.2, 6). One rule for simulated and live brokers: both plug in
//! [`GroupConfigBrokerService`].
//!
//! Kafka serves the alter on the controller and the describe on any broker; sharesim answers both on the
//! broker that receives them, which is where a client sends them (any broker forwards alters to the
//! controller in Kafka). Other resource types (topics, brokers) are answered with INVALID_REQUEST per
//! resource: this model keeps no dynamic topic or broker configs.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, IncrementalAlterConfigsRequest,
    IncrementalAlterConfigsResponse, RequestHeader, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::group_configs::SharedGroupConfigs;
use crate::broker::{BrokerService, ServiceContext};
use crate::coordinator::group::{
    AutoOffsetReset, GroupConfigError, GroupCoordinatorConfig, IsolationLevel, ShareGroupConfig,
    SHARE_GROUP_CONFIG_NAMES,
};
use crate::net::ConnectionId;
use crate::semantics::Semantics;
use crate::share::partition::{self, SharePartitionConfig};
use crate::ResponseError;

/// `ConfigResource.Type.GROUP`.
pub const RESOURCE_TYPE_GROUP: i8 = 32;
/// `ConfigEntry.ConfigSource.DEFAULT_CONFIG`: the broker's default.
const CONFIG_SOURCE_DEFAULT: i8 = 5;
/// `ConfigEntry.ConfigSource.GROUP_CONFIG`: set on the group.
const CONFIG_SOURCE_GROUP: i8 = 8;
/// `ConfigEntry.ConfigType` codes (DescribeConfigs v3+).
const CONFIG_TYPE_BOOLEAN: i8 = 1;
const CONFIG_TYPE_STRING: i8 = 2;
const CONFIG_TYPE_INT: i8 = 3;
/// IncrementalAlterConfigs operations (`AlterConfigOp.OpType`).
const OP_SET: i8 = 0;
const OP_DELETE: i8 = 1;
const OP_APPEND: i8 = 2;
const OP_SUBTRACT: i8 = 3;

/// The broker's share-group defaults and bounds a group config is described against and checked by.
#[derive(Clone, Debug)]
pub struct GroupConfigRules {
    /// Bounds (`group.share.min.*`/`group.share.max.*`) and the membership defaults
    /// (`group.share.session.timeout.ms`, `group.share.heartbeat.interval.ms`).
    pub broker: GroupCoordinatorConfig,
    /// The broker defaults a share partition obeys where the group sets nothing (lock duration,
    /// delivery-count limit, in-flight limit, isolation level, offset reset).
    pub share_partition: SharePartitionConfig,
}

impl GroupConfigRules {
    /// Kafka's bounds under `semantics`, with the broker defaults of `share_partition`.
    pub fn new(semantics: &Semantics, share_partition: SharePartitionConfig) -> GroupConfigRules {
        GroupConfigRules {
            broker: GroupCoordinatorConfig::new(semantics),
            share_partition,
        }
    }
}

/// Answers DescribeConfigs for GROUP resources: every share-group config (or those asked for), the
/// group's override with source GROUP_CONFIG, else the broker default with source DEFAULT_CONFIG.
pub fn describe_group_configs(
    request: &DescribeConfigsRequest,
    rules: &GroupConfigRules,
    groups: &SharedGroupConfigs,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            if let Err((error, message)) =
                check_resource(resource.resource_type, &resource.resource_name)
            {
                return result
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message)));
            }
            let overrides = groups.get(resource.resource_name.as_str());
            // Kafka lists the asked-for names it knows and skips the others.
            let configs = SHARE_GROUP_CONFIG_NAMES
                .iter()
                .filter(|name| {
                    resource
                        .configuration_keys
                        .as_ref()
                        .is_none_or(|keys| keys.iter().any(|k| k.as_str() == **name))
                })
                .map(|name| {
                    let (value, set, config_type) = config_value(name, &overrides, rules);
                    DescribeConfigsResourceResult::default()
                        .with_name(StrBytes::from_static_str(name))
                        .with_value(Some(StrBytes::from_string(value)))
                        .with_read_only(false)
                        .with_config_source(if set {
                            CONFIG_SOURCE_GROUP
                        } else {
                            CONFIG_SOURCE_DEFAULT
                        })
                        .with_is_sensitive(false)
                        .with_config_type(config_type)
                })
                .collect();
            result.with_configs(configs)
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

/// Answers IncrementalAlterConfigs for GROUP resources. Each resource is all or nothing: its operations
/// apply to a copy of the group's overrides, every value checked against the broker bounds (Kafka's
/// INVALID_CONFIG for an unknown name, a bad value or one out of range); the copy replaces the overrides
/// only when every operation passed and `validate_only` is false.
pub fn alter_group_configs(
    request: &IncrementalAlterConfigsRequest,
    rules: &GroupConfigRules,
    groups: &SharedGroupConfigs,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .iter()
        .map(|resource| {
            let answer = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            let group_id = resource.resource_name.as_str();
            let outcome =
                check_resource(resource.resource_type, &resource.resource_name).and_then(|()| {
                    let mut config = groups.get(group_id);
                    for (index, entry) in resource.configs.iter().enumerate() {
                        let name = entry.name.as_str();
                        // Kafka refuses a resource naming a config twice.
                        if resource.configs[..index]
                            .iter()
                            .any(|e| e.name == entry.name)
                        {
                            return Err((
                                ResponseError::InvalidRequest,
                                format!("duplicate config key {name}"),
                            ));
                        }
                        apply_operation(&mut config, name, entry, rules)?;
                    }
                    Ok(config)
                });
            match outcome {
                Ok(config) => {
                    if !request.validate_only {
                        groups.set(group_id, config);
                    }
                    answer.with_error_code(0)
                }
                Err((error, message)) => answer
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

type RefusalWithReason = (ResponseError, String);

fn check_resource(resource_type: i8, name: &StrBytes) -> Result<(), RefusalWithReason> {
    if resource_type != RESOURCE_TYPE_GROUP {
        return Err((
            ResponseError::InvalidRequest,
            format!(
                "resource type {resource_type} is not served: sharesim keeps GROUP configs only"
            ),
        ));
    }
    if name.is_empty() {
        // Kafka refuses the default (empty-named) group resource.
        return Err((
            ResponseError::InvalidRequest,
            "the group name must not be empty".to_string(),
        ));
    }
    Ok(())
}

fn apply_operation(
    config: &mut ShareGroupConfig,
    name: &str,
    entry: &kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig,
    rules: &GroupConfigRules,
) -> Result<(), RefusalWithReason> {
    if !SHARE_GROUP_CONFIG_NAMES.contains(&name) {
        // GroupConfig.validate: "Unknown group config name".
        return Err((
            ResponseError::InvalidConfig,
            format!("unknown group config name: {name}"),
        ));
    }
    match entry.config_operation {
        OP_SET => {
            let value = entry.value.as_ref().map_or("", |v| v.as_str());
            config
                .set(name, value, &rules.broker)
                .map_err(|error| (invalid_config_code(&error), error.to_string()))
        }
        OP_DELETE => {
            clear(config, name);
            Ok(())
        }
        // No share-group config is a LIST, as Kafka says when asked to append or subtract.
        OP_APPEND | OP_SUBTRACT => Err((
            ResponseError::InvalidConfig,
            format!(
                "cannot {} {name}: its type is not LIST",
                if entry.config_operation == OP_APPEND {
                    "APPEND to"
                } else {
                    "SUBTRACT from"
                }
            ),
        )),
        other => Err((
            ResponseError::InvalidRequest,
            format!("unknown config operation {other}"),
        )),
    }
}

/// Every refusal of a group config value is Kafka's INVALID_CONFIG (a `ConfigException` on the
/// controller), an unsupported one included.
fn invalid_config_code(_error: &GroupConfigError) -> ResponseError {
    ResponseError::InvalidConfig
}

/// DELETE: back to the broker default.
fn clear(config: &mut ShareGroupConfig, name: &str) {
    match name {
        "share.session.timeout.ms" => config.session_timeout_ms = None,
        "share.heartbeat.interval.ms" => config.heartbeat_interval_ms = None,
        "share.record.lock.duration.ms" => config.record_lock_duration_ms = None,
        "share.delivery.count.limit" => config.delivery_count_limit = None,
        "share.partition.max.record.locks" => config.partition_max_record_locks = None,
        "share.auto.offset.reset" => config.auto_offset_reset = None,
        "share.isolation.level" => config.isolation_level = None,
        "share.renew.acknowledge.enable" => config.renew_acknowledge_enable = None,
        _ => {}
    }
}

/// A config's value as Kafka prints it, whether the group set it, and its type.
fn config_value(
    name: &str,
    group: &ShareGroupConfig,
    rules: &GroupConfigRules,
) -> (String, bool, i8) {
    let (broker, defaults) = (&rules.broker, &rules.share_partition);
    let int = |set: Option<u32>, default: u64| {
        (
            set.map_or(default, u64::from).to_string(),
            set.is_some(),
            CONFIG_TYPE_INT,
        )
    };
    match name {
        "share.session.timeout.ms" => int(
            group.session_timeout_ms,
            u64::from(broker.session_timeout_ms),
        ),
        "share.heartbeat.interval.ms" => int(
            group.heartbeat_interval_ms,
            u64::from(broker.heartbeat_interval_ms),
        ),
        "share.record.lock.duration.ms" => int(
            group.record_lock_duration_ms,
            defaults.record_lock_duration_ms,
        ),
        "share.delivery.count.limit" => int(
            group.delivery_count_limit,
            u64::from(defaults.delivery_count_limit),
        ),
        "share.partition.max.record.locks" => int(
            group.partition_max_record_locks,
            u64::from(defaults.max_record_locks),
        ),
        "share.auto.offset.reset" => {
            let value = match group.auto_offset_reset {
                Some(AutoOffsetReset::Earliest) => "earliest".to_string(),
                Some(AutoOffsetReset::Latest) => "latest".to_string(),
                Some(AutoOffsetReset::ByDuration { duration_ms }) => by_duration_text(duration_ms),
                None => match defaults.auto_offset_reset {
                    partition::AutoOffsetReset::Earliest => "earliest".to_string(),
                    partition::AutoOffsetReset::Latest => "latest".to_string(),
                    partition::AutoOffsetReset::ByDuration { duration_ms } => {
                        by_duration_text(duration_ms)
                    }
                },
            };
            (value, group.auto_offset_reset.is_some(), CONFIG_TYPE_STRING)
        }
        "share.isolation.level" => {
            let committed = match group.isolation_level {
                Some(level) => level == IsolationLevel::ReadCommitted,
                None => defaults.isolation_level == partition::IsolationLevel::ReadCommitted,
            };
            let value = if committed {
                "read_committed"
            } else {
                "read_uncommitted"
            };
            (
                value.to_string(),
                group.isolation_level.is_some(),
                CONFIG_TYPE_STRING,
            )
        }
        _ => (
            group
                .renew_acknowledge_enable
                .unwrap_or(defaults.renew_acknowledge_enable)
                .to_string(),
            group.renew_acknowledge_enable.is_some(),
            CONFIG_TYPE_BOOLEAN,
        ),
    }
}

/// `by_duration:PT<seconds>S` (the parser takes it back).
fn by_duration_text(duration_ms: u64) -> String {
    if duration_ms % 1_000 == 0 {
        format!("by_duration:PT{}S", duration_ms / 1_000)
    } else {
        format!(
            "by_duration:PT{}.{:03}S",
            duration_ms / 1_000,
            duration_ms % 1_000
        )
    }
}

/// The GROUP config APIs as a broker service (every broker of a share-group cluster runs one).
pub struct GroupConfigBrokerService {
    rules: GroupConfigRules,
    groups: SharedGroupConfigs,
}

impl GroupConfigBrokerService {
    /// A service describing and altering `groups` under `rules`.
    pub fn new(rules: GroupConfigRules, groups: SharedGroupConfigs) -> GroupConfigBrokerService {
        GroupConfigBrokerService { rules, groups }
    }
}

impl BrokerService for GroupConfigBrokerService {
    fn name(&self) -> &'static str {
        "group-configs"
    }

    fn api_keys(&self) -> Vec<ApiKey> {
        vec![ApiKey::DescribeConfigs, ApiKey::IncrementalAlterConfigs]
    }

    fn handle_request(
        &mut self,
        _now_ms: u64,
        cx: &mut ServiceContext<'_>,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let response = match &request {
            RequestKind::DescribeConfigs(request) => ResponseKind::DescribeConfigs(
                describe_group_configs(request, &self.rules, &self.groups),
            ),
            RequestKind::IncrementalAlterConfigs(request) => ResponseKind::IncrementalAlterConfigs(
                alter_group_configs(request, &self.rules, &self.groups),
            ),
            _ => return,
        };
        cx.respond(connection, &header, response);
    }
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
    use kafka_protocol::messages::incremental_alter_configs_request::{
        AlterConfigsResource, AlterableConfig,
    };

    use super::*;

    fn rules() -> GroupConfigRules {
        GroupConfigRules::new(&Semantics::default(), SharePartitionConfig::default())
    }

    fn alter(group: &str, ops: &[(&str, i8, Option<&str>)]) -> IncrementalAlterConfigsRequest {
        let configs = ops
            .iter()
            .map(|(name, op, value)| {
                AlterableConfig::default()
                    .with_name(StrBytes::from_string(name.to_string()))
                    .with_config_operation(*op)
                    .with_value(value.map(|v| StrBytes::from_string(v.to_string())))
            })
            .collect();
        IncrementalAlterConfigsRequest::default().with_resources(vec![
            AlterConfigsResource::default()
                .with_resource_type(RESOURCE_TYPE_GROUP)
                .with_resource_name(StrBytes::from_string(group.to_string()))
                .with_configs(configs),
        ])
    }

    fn describe(group: &str, keys: Option<&[&str]>) -> DescribeConfigsRequest {
        DescribeConfigsRequest::default().with_resources(vec![DescribeConfigsResource::default()
            .with_resource_type(RESOURCE_TYPE_GROUP)
            .with_resource_name(StrBytes::from_string(group.to_string()))
            .with_configuration_keys(keys.map(|keys| {
                keys.iter()
                    .map(|k| StrBytes::from_string(k.to_string()))
                    .collect()
            }))])
    }

    fn described(response: &DescribeConfigsResponse, name: &str) -> (String, i8) {
        let entry = response.results[0]
            .configs
            .iter()
            .find(|c| c.name.as_str() == name)
            .expect("the config is described");
        (
            entry.value.as_ref().unwrap().to_string(),
            entry.config_source,
        )
    }

    /// Spec 5.2, 1.4: a SET reaches the shared overrides the share partitions read, and DescribeConfigs
    /// shows it as a group config while the rest stay broker defaults.
    #[test]
    fn set_then_describe_shows_the_group_override() {
        let groups = SharedGroupConfigs::new();
        let response = alter_group_configs(
            &alter(
                "g",
                &[
                    ("share.auto.offset.reset", OP_SET, Some("earliest")),
                    ("share.record.lock.duration.ms", OP_SET, Some("20000")),
                ],
            ),
            &rules(),
            &groups,
        );
        assert_eq!(response.responses[0].error_code, 0);
        assert_eq!(
            groups.get("g").auto_offset_reset,
            Some(AutoOffsetReset::Earliest)
        );
        assert_eq!(groups.get("g").record_lock_duration_ms, Some(20_000));
        let response = describe_group_configs(&describe("g", None), &rules(), &groups);
        assert_eq!(response.results[0].error_code, 0);
        assert_eq!(
            response.results[0].configs.len(),
            SHARE_GROUP_CONFIG_NAMES.len()
        );
        assert_eq!(
            described(&response, "share.auto.offset.reset"),
            ("earliest".to_string(), CONFIG_SOURCE_GROUP)
        );
        assert_eq!(
            described(&response, "share.record.lock.duration.ms"),
            ("20000".to_string(), CONFIG_SOURCE_GROUP)
        );
        assert_eq!(
            described(&response, "share.isolation.level"),
            ("read_uncommitted".to_string(), CONFIG_SOURCE_DEFAULT)
        );
        let only = describe_group_configs(
            &describe("g", Some(&["share.delivery.count.limit", "no.such"])),
            &rules(),
            &groups,
        );
        assert_eq!(only.results[0].configs.len(), 1);
        assert_eq!(
            described(&only, "share.delivery.count.limit"),
            ("5".to_string(), CONFIG_SOURCE_DEFAULT)
        );
    }

    /// Spec 1.4: a lock duration outside [group.share.min/max.record.lock.duration.ms] is INVALID_CONFIG,
    /// and the whole resource is refused (the valid SET beside it does not apply either).
    #[test]
    fn out_of_range_values_are_invalid_config_and_nothing_applies() {
        let groups = SharedGroupConfigs::new();
        let response = alter_group_configs(
            &alter(
                "g",
                &[
                    ("share.auto.offset.reset", OP_SET, Some("earliest")),
                    ("share.record.lock.duration.ms", OP_SET, Some("5000")),
                ],
            ),
            &rules(),
            &groups,
        );
        assert_eq!(
            response.responses[0].error_code,
            ResponseError::InvalidConfig.code()
        );
        assert_eq!(groups.get("g"), ShareGroupConfig::default());
        assert_eq!(groups.version(), 0);
        for (name, value) in [
            ("share.delivery.count.limit", "11"),
            ("share.auto.offset.reset", "sometimes"),
            ("share.isolation.level", "serializable"),
            ("share.heartbeat.interval.ms", "ten"),
            ("share.no.such.config", "1"),
        ] {
            let response = alter_group_configs(
                &alter("g", &[(name, OP_SET, Some(value))]),
                &rules(),
                &groups,
            );
            assert_eq!(
                response.responses[0].error_code,
                ResponseError::InvalidConfig.code(),
                "{name}={value}"
            );
        }
        let append = alter_group_configs(
            &alter("g", &[("share.auto.offset.reset", OP_APPEND, Some("x"))]),
            &rules(),
            &groups,
        );
        assert_eq!(
            append.responses[0].error_code,
            ResponseError::InvalidConfig.code()
        );
        assert_eq!(groups.get("g"), ShareGroupConfig::default());
    }

    /// Spec 6: `share.isolation.level` does not exist in 4.0: INVALID_CONFIG under that profile.
    #[test]
    fn isolation_level_is_refused_before_4_1() {
        let semantics = Semantics::for_release(crate::semantics::Release::Kafka4_0);
        let rules =
            GroupConfigRules::new(&semantics, SharePartitionConfig::for_semantics(&semantics));
        let groups = SharedGroupConfigs::new();
        let response = alter_group_configs(
            &alter(
                "g",
                &[("share.isolation.level", OP_SET, Some("read_committed"))],
            ),
            &rules,
            &groups,
        );
        assert_eq!(
            response.responses[0].error_code,
            ResponseError::InvalidConfig.code()
        );
    }

    /// DELETE returns a config to the broker default; validate_only checks without applying.
    #[test]
    fn delete_restores_the_default_and_validate_only_changes_nothing() {
        let groups = SharedGroupConfigs::new();
        let mut request = alter("g", &[("share.delivery.count.limit", OP_SET, Some("3"))]);
        request.validate_only = true;
        let response = alter_group_configs(&request, &rules(), &groups);
        assert_eq!(response.responses[0].error_code, 0);
        assert_eq!(groups.get("g").delivery_count_limit, None);
        alter_group_configs(
            &alter("g", &[("share.delivery.count.limit", OP_SET, Some("3"))]),
            &rules(),
            &groups,
        );
        assert_eq!(groups.get("g").delivery_count_limit, Some(3));
        alter_group_configs(
            &alter("g", &[("share.delivery.count.limit", OP_DELETE, None)]),
            &rules(),
            &groups,
        );
        assert_eq!(groups.get("g").delivery_count_limit, None);
    }

    /// Non-GROUP resources, empty group names and duplicate keys are INVALID_REQUEST, per resource.
    #[test]
    fn other_resources_and_duplicates_are_invalid_requests() {
        let groups = SharedGroupConfigs::new();
        let mut topic = describe("orders", None);
        topic.resources[0].resource_type = 2;
        let response = describe_group_configs(&topic, &rules(), &groups);
        assert_eq!(
            response.results[0].error_code,
            ResponseError::InvalidRequest.code()
        );
        let empty = alter_group_configs(
            &alter("", &[("share.delivery.count.limit", OP_SET, Some("3"))]),
            &rules(),
            &groups,
        );
        assert_eq!(
            empty.responses[0].error_code,
            ResponseError::InvalidRequest.code()
        );
        let duplicate = alter_group_configs(
            &alter(
                "g",
                &[
                    ("share.delivery.count.limit", OP_SET, Some("3")),
                    ("share.delivery.count.limit", OP_SET, Some("4")),
                ],
            ),
            &rules(),
            &groups,
        );
        assert_eq!(
            duplicate.responses[0].error_code,
            ResponseError::InvalidRequest.code()
        );
        assert_eq!(groups.version(), 0);
    }

    /// Spec 5.2: a by_duration reset is described in a form the parser takes back.
    #[test]
    fn by_duration_round_trips() {
        let groups = SharedGroupConfigs::new();
        // Whole seconds print as such, fractions with three digits (PT1.5S reads back as PT1.500S).
        for text in ["by_duration:PT60S", "by_duration:PT1.500S"] {
            alter_group_configs(
                &alter("g", &[("share.auto.offset.reset", OP_SET, Some(text))]),
                &rules(),
                &groups,
            );
            let response = describe_group_configs(&describe("g", None), &rules(), &groups);
            assert_eq!(described(&response, "share.auto.offset.reset").0, text);
        }
    }
}
