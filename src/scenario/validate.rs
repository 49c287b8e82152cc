//! Checks a deserialized [`Scenario`] beyond its JSON shape: config names and values by scope, broker
//! bounds of group configs, references between sections (topics, groups, brokers, nodes), ranges, and
//! fault parameters. Every problem comes back as a [`FieldError`] at the offending value's path.

use std::collections::BTreeSet;

use sharesim_sim::semantics::{Release, Semantics};

use sharesim_sim::coordinator::group::GroupCoordinatorConfig;
use sharesim_sim::faults::FaultNode;

use super::configs::{
    broker_group_config, share_group_config, validate_config, validate_share_group_config,
    ConfigProblem, ConfigScope,
};
use super::error::{FieldError, ScenarioErrorKind as Kind};
use super::expectations::{InvariantSet, METRICS};
use super::faults::{Fault, NetworkPartition, PartitionMode, FAULT_KINDS};
use super::nearest::{did_you_mean, quoted_list};
use super::node::NodeRef;
use super::path::FieldPath;
use super::scenario::{Configs, GroupType, Scenario};
use super::sweep::KeyPath;
use super::workload::{Distribution, Policy};

/// Kafka API names an `rpc_*` fault may target (the RPCs sharesim's nodes exchange).
pub const API_NAMES: &[&str] = &[
    "AddOffsetsToTxn",
    "AddPartitionsToTxn",
    "AlterShareGroupOffsets",
    "ApiVersions",
    "DeleteRecords",
    "DeleteShareGroupOffsets",
    "DeleteShareGroupState",
    "DescribeShareGroupOffsets",
    "EndTxn",
    "Fetch",
    "FindCoordinator",
    "Heartbeat",
    "InitProducerId",
    "InitializeShareGroupState",
    "JoinGroup",
    "LeaveGroup",
    "ListOffsets",
    "Metadata",
    "OffsetCommit",
    "OffsetFetch",
    "Produce",
    "ReadShareGroupState",
    "ReadShareGroupStateSummary",
    "ShareAcknowledge",
    "ShareFetch",
    "ShareGroupDescribe",
    "ShareGroupHeartbeat",
    "SyncGroup",
    "TxnOffsetCommit",
    "WriteShareGroupState",
    "WriteTxnMarkers",
];

/// The persister RPCs (spec 3).
pub const PERSISTER_RPCS: &[&str] = &[
    "DeleteShareGroupState",
    "InitializeShareGroupState",
    "ReadShareGroupState",
    "ReadShareGroupStateSummary",
    "WriteShareGroupState",
];

/// Errors a `persister_fail` may inject (Kafka's names; the share coordinator's and persister's errors).
pub const PERSISTER_ERRORS: &[&str] = &[
    "COORDINATOR_LOAD_IN_PROGRESS",
    "COORDINATOR_NOT_AVAILABLE",
    "FENCED_LEADER_EPOCH",
    "FENCED_STATE_EPOCH",
    "INVALID_REQUEST",
    "NOT_COORDINATOR",
    "REQUEST_TIMED_OUT",
    "UNKNOWN_SERVER_ERROR",
];

/// Runs every check; the first problem wins (checks run in file order, section by section).
pub fn validate(scenario: &Scenario) -> Result<(), FieldError> {
    let root = FieldPath::root();
    let release = scenario.profile;
    if scenario.seeds.is_empty() {
        return Err(FieldError::new(
            root.key("seeds"),
            Kind::InvalidValue,
            "no seeds: give at least one",
        ));
    }
    positive(scenario.duration_ms, &root.key("duration_ms"))?;
    positive(scenario.liveness_bound_ms, &root.key("liveness_bound_ms"))?;
    let context = Context { scenario, release };
    let broker = context.cluster()?;
    context.topics()?;
    context.groups(&broker)?;
    context.producers()?;
    context.consumers()?;
    context.faults()?;
    context.swarm()?;
    context.sweep()?;
    context.expectations()?;
    context.mutations()?;
    super::script::validate_script(scenario)?;
    context.study()
}

/// A fault field given to a kind that has no use for it.
fn not_for_kind(path: &FieldPath, field: &str, fault: &Fault, kinds: &str) -> FieldError {
    FieldError::new(
        path.key(field),
        Kind::InvalidValue,
        format!(
            "`{field}` does nothing for `{}`: it applies to {kinds} only",
            fault.kind()
        ),
    )
}

fn positive(value: u64, path: &FieldPath) -> Result<(), FieldError> {
    if value == 0 {
        return Err(FieldError::new(
            path.clone(),
            Kind::InvalidValue,
            "must be at least 1",
        ));
    }
    Ok(())
}

fn probability(value: f64, path: &FieldPath) -> Result<(), FieldError> {
    if !(0.0..=1.0).contains(&value) {
        return Err(FieldError::new(
            path.clone(),
            Kind::InvalidValue,
            format!("probability {value} is outside [0, 1]"),
        ));
    }
    Ok(())
}

struct Context<'a> {
    scenario: &'a Scenario,
    release: Release,
}

impl Context<'_> {
    fn configs(
        &self,
        scope: ConfigScope,
        configs: &Configs,
        path: &FieldPath,
    ) -> Result<(), FieldError> {
        for (name, value) in configs {
            validate_config(scope, name, value.as_str(), self.release)
                .map_err(|problem| config_error(problem, path.key(name)))?;
        }
        Ok(())
    }

    fn cluster(&self) -> Result<GroupCoordinatorConfig, FieldError> {
        let cluster = &self.scenario.cluster;
        let path = FieldPath::root().key("cluster");
        if cluster.brokers == 0 || cluster.brokers > 64 {
            return Err(FieldError::new(
                path.key("brokers"),
                Kind::InvalidValue,
                format!("{} brokers: expected 1 to 64", cluster.brokers),
            ));
        }
        if cluster.controller != "dedicated" {
            match cluster.controller.parse::<NodeRef>() {
                Ok(NodeRef(FaultNode::Broker(id))) => self.broker(id, &path.key("controller"))?,
                _ => {
                    return Err(FieldError::new(
                        path.key("controller"),
                        Kind::InvalidValue,
                        format!(
                            "invalid controller `{}`: expected `dedicated` or `broker:N`",
                            cluster.controller
                        ),
                    ))
                }
            }
        }
        self.distribution(
            &cluster.network.latency,
            &path.key("network").key("latency"),
        )?;
        probability(
            cluster.network.packet_loss,
            &path.key("network").key("packet_loss"),
        )?;
        for (index, clock) in cluster.clocks.iter().enumerate() {
            let at = path.key("clocks").index(index).key("node");
            let node = clock
                .node
                .parse::<NodeRef>()
                .map_err(|message| FieldError::new(at.clone(), Kind::InvalidValue, message))?;
            self.node(node, &at)?;
        }
        let configs = path.key("configs");
        self.configs(ConfigScope::Broker, &cluster.configs, &configs)?;
        // The group coordinator's parser applies Kafka's cross-field rules to the `group.share.*` set.
        let entries = cluster
            .configs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        broker_group_config(entries, self.release).map_err(|(name, problem)| {
            let at = if cluster.configs.contains_key(&name) {
                configs.key(&name)
            } else {
                configs.clone()
            };
            config_error(problem, at)
        })
    }

    fn broker(&self, id: u32, path: &FieldPath) -> Result<(), FieldError> {
        let brokers = self.scenario.cluster.brokers;
        if id == 0 || id > brokers {
            return Err(FieldError::new(
                path.clone(),
                Kind::UnknownReference,
                format!("no broker {id}: the cluster has brokers 1 to {brokers}"),
            ));
        }
        Ok(())
    }

    fn node(&self, node: NodeRef, path: &FieldPath) -> Result<(), FieldError> {
        match node.0 {
            FaultNode::Broker(id) => self.broker(id, path),
            FaultNode::Controller => Ok(()),
            FaultNode::Producer(index) => {
                let count = self.scenario.producers.len();
                if index >= count {
                    return Err(FieldError::new(
                        path.clone(),
                        Kind::UnknownReference,
                        format!("no producer {index}: `producers` has {count} entries (0-based)"),
                    ));
                }
                Ok(())
            }
            FaultNode::Consumer { entry, instance } => {
                let Some(consumer) = self.scenario.consumers.get(entry) else {
                    let count = self.scenario.consumers.len();
                    return Err(FieldError::new(
                        path.clone(),
                        Kind::UnknownReference,
                        format!(
                            "no consumer entry {entry}: `consumers` has {count} entries (0-based)"
                        ),
                    ));
                };
                if let Some(instance) = instance.filter(|i| *i >= consumer.count) {
                    return Err(FieldError::new(
                        path.clone(),
                        Kind::UnknownReference,
                        format!(
                            "no instance {instance} of consumer entry {entry}: it has {} (0-based)",
                            consumer.count
                        ),
                    ));
                }
                Ok(())
            }
        }
    }

    fn topic(
        &self,
        name: &str,
        partition: Option<u32>,
        path: &FieldPath,
    ) -> Result<(), FieldError> {
        let Some(topic) = self.scenario.topics.iter().find(|topic| topic.name == name) else {
            let names = self.scenario.topics.iter().map(|topic| topic.name.as_str());
            return Err(FieldError::new(
                path.clone(),
                Kind::UnknownReference,
                format!("no topic `{name}`"),
            )
            .with_optional_hint(did_you_mean(name, names)));
        };
        if let Some(partition) = partition.filter(|p| *p >= topic.partitions) {
            return Err(FieldError::new(
                path.parent().key("partition"),
                Kind::UnknownReference,
                format!(
                    "topic `{name}` has {} partitions; no partition {partition}",
                    topic.partitions
                ),
            ));
        }
        Ok(())
    }

    fn group_type(&self, name: &str, path: &FieldPath) -> Result<GroupType, FieldError> {
        match self.scenario.groups.iter().find(|group| group.name == name) {
            Some(group) => Ok(group.group_type),
            None => {
                let names = self.scenario.groups.iter().map(|group| group.name.as_str());
                Err(FieldError::new(
                    path.clone(),
                    Kind::UnknownReference,
                    format!("no group `{name}`"),
                )
                .with_optional_hint(did_you_mean(name, names)))
            }
        }
    }

    fn distribution(
        &self,
        distribution: &Distribution,
        path: &FieldPath,
    ) -> Result<(), FieldError> {
        let problem = match distribution {
            Distribution::Fixed { .. } => None,
            Distribution::Uniform { min_ms, max_ms } => (min_ms > max_ms).then(|| {
                (
                    path.key("min_ms"),
                    format!("min_ms {min_ms} is greater than max_ms {max_ms}"),
                )
            }),
            Distribution::Exponential { mean_ms, .. } => (!(mean_ms.is_finite() && *mean_ms > 0.0))
                .then(|| {
                    (
                        path.key("mean_ms"),
                        format!("mean_ms {mean_ms} must be a positive number"),
                    )
                }),
            Distribution::Lognormal {
                median_ms, sigma, ..
            } => {
                if !(median_ms.is_finite() && *median_ms > 0.0) {
                    Some((
                        path.key("median_ms"),
                        format!("median_ms {median_ms} must be a positive number"),
                    ))
                } else if !(sigma.is_finite() && *sigma >= 0.0 && *sigma <= 10.0) {
                    Some((
                        path.key("sigma"),
                        format!("sigma {sigma} must be in [0, 10]"),
                    ))
                } else {
                    None
                }
            }
        };
        match problem {
            Some((at, message)) => Err(FieldError::new(at, Kind::InvalidValue, message)),
            None => Ok(()),
        }
    }

    fn topics(&self) -> Result<(), FieldError> {
        let mut names = BTreeSet::new();
        for (index, topic) in self.scenario.topics.iter().enumerate() {
            let path = FieldPath::root().key("topics").index(index);
            let valid_name = !topic.name.is_empty()
                && topic.name.len() <= 249
                && topic.name != "."
                && topic.name != ".."
                && topic
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
            if !valid_name {
                return Err(FieldError::new(
                    path.key("name"),
                    Kind::InvalidValue,
                    format!(
                        "invalid topic name `{}`: 1 to 249 of [a-zA-Z0-9._-]",
                        topic.name
                    ),
                ));
            }
            if topic.name.starts_with("__") {
                return Err(FieldError::new(
                    path.key("name"),
                    Kind::InvalidValue,
                    format!(
                        "`{}`: names starting with `__` are Kafka's internal topics",
                        topic.name
                    ),
                ));
            }
            if !names.insert(topic.name.as_str()) {
                return Err(FieldError::new(
                    path.key("name"),
                    Kind::InvalidValue,
                    format!("topic `{}` is declared twice", topic.name),
                ));
            }
            positive(u64::from(topic.partitions), &path.key("partitions"))?;
            if let Some(factor) = topic.replication_factor {
                let brokers = self.scenario.cluster.brokers;
                if factor == 0 || factor > brokers {
                    return Err(FieldError::new(
                        path.key("replication_factor"),
                        Kind::InvalidValue,
                        format!("replication factor {factor}: expected 1 to the broker count ({brokers})"),
                    ));
                }
            }
            self.configs(ConfigScope::Topic, &topic.configs, &path.key("configs"))?;
        }
        Ok(())
    }

    fn groups(&self, broker: &GroupCoordinatorConfig) -> Result<(), FieldError> {
        let mut names = BTreeSet::new();
        for (index, group) in self.scenario.groups.iter().enumerate() {
            let path = FieldPath::root().key("groups").index(index);
            if group.name.is_empty() || !names.insert(group.name.as_str()) {
                return Err(FieldError::new(
                    path.key("name"),
                    Kind::InvalidValue,
                    format!("group name `{}` is empty or declared twice", group.name),
                ));
            }
            for (topic_index, topic) in group.topics.iter().enumerate() {
                self.topic(topic, None, &path.key("topics").index(topic_index))?;
            }
            let configs = path.key("configs");
            match group.group_type {
                GroupType::Share => {
                    for (name, value) in &group.configs {
                        validate_share_group_config(name, value.as_str(), broker)
                            .map_err(|problem| config_error(problem, configs.key(name)))?;
                    }
                    // Kafka's cross-field rule on the group's configs, with the group coordinator's.
                    let entries = group.configs.iter().map(|(n, v)| (n.as_str(), v.as_str()));
                    share_group_config(entries, broker).map_err(|(name, problem)| {
                        let at = if group.configs.contains_key(&name) {
                            configs.key(&name)
                        } else {
                            configs.clone()
                        };
                        config_error(problem, at)
                    })?;
                }
                GroupType::Classic => {
                    self.configs(ConfigScope::ClassicConsumer, &group.configs, &configs)?
                }
            }
        }
        Ok(())
    }

    fn producers(&self) -> Result<(), FieldError> {
        for (index, producer) in self.scenario.producers.iter().enumerate() {
            let path = FieldPath::root().key("producers").index(index);
            self.topic(&producer.topic, producer.partition, &path.key("topic"))?;
            if !(producer.rate_per_sec.is_finite() && producer.rate_per_sec >= 0.0) {
                return Err(FieldError::new(
                    path.key("rate_per_sec"),
                    Kind::InvalidValue,
                    format!(
                        "rate {} must be a non-negative number (0 = as fast as possible)",
                        producer.rate_per_sec
                    ),
                ));
            }
            self.configs(
                ConfigScope::Producer,
                &producer.configs,
                &path.key("configs"),
            )?;
            let keys = path.key("keys");
            match producer.keys {
                super::workload::Keys::Sequential { cardinality }
                | super::workload::Keys::Random { cardinality }
                    if cardinality == 0 =>
                {
                    return Err(FieldError::new(
                        keys.key("cardinality"),
                        Kind::InvalidValue,
                        "must be at least 1",
                    ))
                }
                _ => {}
            }
            if let Some(transactions) = &producer.transactions {
                let at = path.key("transactions");
                positive(
                    transactions.records_per_transaction,
                    &at.key("records_per_transaction"),
                )?;
                probability(transactions.abort_ratio, &at.key("abort_ratio"))?;
            }
            for (poison_index, poison) in producer.poison.iter().enumerate() {
                let at = path.key("poison").index(poison_index);
                probability(poison.ratio, &at.key("ratio"))?;
                if let Some((record_index, record)) = poison
                    .records
                    .iter()
                    .enumerate()
                    .find(|(_, record)| **record >= producer.count)
                {
                    return Err(FieldError::new(
                        at.key("records").index(record_index),
                        Kind::InvalidValue,
                        format!(
                            "record {record} is not produced: the producer writes records 0 to {}",
                            producer.count.saturating_sub(1)
                        ),
                    ));
                }
                if poison.records.is_empty() && poison.ratio == 0.0 {
                    return Err(FieldError::new(
                        at,
                        Kind::InvalidValue,
                        "poison selects no records: give `records` or a `ratio` above 0",
                    ));
                }
            }
        }
        Ok(())
    }

    fn consumers(&self) -> Result<(), FieldError> {
        let semantics = Semantics::for_release(self.release);
        for (index, consumer) in self.scenario.consumers.iter().enumerate() {
            let path = FieldPath::root().key("consumers").index(index);
            let group_type = self.group_type(&consumer.group, &path.key("group"))?;
            positive(u64::from(consumer.count), &path.key("count"))?;
            let scope = match group_type {
                GroupType::Share => ConfigScope::ShareConsumer,
                GroupType::Classic => ConfigScope::ClassicConsumer,
            };
            self.configs(scope, &consumer.configs, &path.key("configs"))?;
            self.distribution(&consumer.processing, &path.key("processing"))?;
            let failure = path.key("failure");
            probability(
                consumer.failure.processing_failure_ratio,
                &failure.key("processing_failure_ratio"),
            )?;
            if consumer.failure.stall_for_ms.is_some() != consumer.failure.stall_at_ms.is_some() {
                return Err(FieldError::new(
                    failure,
                    Kind::InvalidValue,
                    "`stall_at_ms` and `stall_for_ms` go together",
                ));
            }
            if consumer.failure.reconnect_after_ms.is_some()
                && consumer.failure.crash_at_ms.is_none()
            {
                return Err(FieldError::new(
                    failure.key("reconnect_after_ms"),
                    Kind::InvalidValue,
                    "`reconnect_after_ms` needs `crash_at_ms`",
                ));
            }
            let policy = path.key("policy");
            match &consumer.policy {
                Policy::RejectAfterNTries { tries: 0 } => {
                    return Err(FieldError::new(
                        policy.key("tries"),
                        Kind::InvalidValue,
                        "must be at least 1",
                    ))
                }
                Policy::RenewLongTasks { .. } => {
                    if group_type != GroupType::Share {
                        return Err(FieldError::new(
                            policy.key("kind"),
                            Kind::InvalidValue,
                            "`renew_long_tasks` needs a share group",
                        ));
                    }
                    if !semantics.renew_supported {
                        return Err(FieldError::new(
                            policy.key("kind"),
                            Kind::InvalidValue,
                            format!(
                                "RENEW does not exist in {}; it exists from kafka-4.2",
                                self.release
                            ),
                        ));
                    }
                    let mode = consumer
                        .configs
                        .get("share.acknowledgement.mode")
                        .map(|v| v.as_str());
                    if mode != Some("explicit") {
                        return Err(FieldError::new(
                            policy.key("kind"),
                            Kind::InvalidValue,
                            "`renew_long_tasks` needs explicit acknowledgement (spec 7.8)",
                        )
                        .with_hint(
                            "set `\"share.acknowledgement.mode\": \"explicit\"` in this consumer's configs",
                        ));
                    }
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn faults(&self) -> Result<(), FieldError> {
        for (index, event) in self.scenario.faults.iter().enumerate() {
            let path = FieldPath::root().key("faults").index(index);
            if event.at_ms > self.scenario.duration_ms {
                return Err(FieldError::new(
                    path.key("at_ms"),
                    Kind::InvalidValue,
                    format!(
                        "{} is after the end of the run (duration_ms {})",
                        event.at_ms, self.scenario.duration_ms
                    ),
                ));
            }
            self.fault(&event.fault, &path)?;
        }
        Ok(())
    }

    fn fault(&self, fault: &Fault, path: &FieldPath) -> Result<(), FieldError> {
        match fault {
            Fault::BrokerCrash(crash) => self.broker(crash.broker, &path.key("broker")),
            Fault::BrokerRestart(restart) => self.broker(restart.broker, &path.key("broker")),
            Fault::Partition(partition) => self.partition(partition, path),
            Fault::Heal(_) | Fault::LockTimerRace(_) => Ok(()),
            Fault::NetworkDelay(delay) => self.distribution(&delay.delay, &path.key("delay")),
            Fault::NetworkLoss(chance) | Fault::NetworkDuplicate(chance) => {
                probability(chance.probability, &path.key("probability"))
            }
            Fault::NetworkReorder(reorder) => {
                probability(reorder.probability, &path.key("probability"))
            }
            Fault::RpcDrop(rpc) | Fault::RpcHold(rpc) | Fault::RpcDelay(rpc) => {
                name_in(&rpc.api, API_NAMES, "Kafka API", &path.key("api"))?;
                probability(rpc.probability, &path.key("probability"))?;
                if matches!(fault, Fault::RpcDrop(_)) && rpc.delay_ms.is_some() {
                    return Err(not_for_kind(
                        path,
                        "delay_ms",
                        fault,
                        "`rpc_hold` and `rpc_delay`",
                    ));
                }
                if !matches!(fault, Fault::RpcDrop(_)) && rpc.delay_ms.is_none() {
                    return Err(FieldError::new(
                        path.clone(),
                        Kind::MissingField,
                        format!("`{}` needs `delay_ms`", fault.kind()),
                    ));
                }
                Ok(())
            }
            Fault::PersisterHold(persister)
            | Fault::PersisterFail(persister)
            | Fault::PersisterTimeout(persister)
            | Fault::PersisterReorder(persister)
            | Fault::PersisterDuplicate(persister) => {
                name_in(
                    &persister.rpc,
                    PERSISTER_RPCS,
                    "persister RPC",
                    &path.key("rpc"),
                )?;
                probability(persister.probability, &path.key("probability"))?;
                if persister.error.is_some() && !matches!(fault, Fault::PersisterFail(_)) {
                    return Err(not_for_kind(path, "error", fault, "`persister_fail`"));
                }
                let holds = matches!(fault, Fault::PersisterHold(_) | Fault::PersisterReorder(_));
                if persister.hold_ms.is_some() && !holds {
                    let kinds = "`persister_hold` and `persister_reorder` (its longest hold-back)";
                    return Err(not_for_kind(path, "hold_ms", fault, kinds));
                }
                if let Some(error) = &persister.error {
                    name_in(
                        error,
                        PERSISTER_ERRORS,
                        "persister error",
                        &path.key("error"),
                    )?;
                }
                if matches!(fault, Fault::PersisterHold(_)) && persister.hold_ms.is_none() {
                    return Err(FieldError::new(
                        path.clone(),
                        Kind::MissingField,
                        "`persister_hold` needs `hold_ms`",
                    ));
                }
                Ok(())
            }
            Fault::LeadershipBounce(bounce) => {
                self.topic(&bounce.topic, Some(bounce.partition), &path.key("topic"))?;
                match bounce.via_broker {
                    Some(id) => self.broker(id, &path.key("via_broker")),
                    None => Ok(()),
                }
            }
            Fault::ZombieLeader(zombie) => {
                self.topic(&zombie.topic, Some(zombie.partition), &path.key("topic"))
            }
            Fault::ShareCoordinatorFailover(failover)
            | Fault::GroupCoordinatorFailover(failover) => match &failover.group {
                Some(group) => self.group_type(group, &path.key("group")).map(|_| ()),
                None => Ok(()),
            },
            Fault::LogStartMove(moved) | Fault::DeleteRecords(moved) => {
                self.topic(&moved.topic, Some(moved.partition), &path.key("topic"))
            }
            Fault::Compaction(compaction) => {
                self.topic(&compaction.topic, compaction.partition, &path.key("topic"))?;
                let compacted = self
                    .scenario
                    .topics
                    .iter()
                    .find(|topic| topic.name == compaction.topic)
                    .and_then(|topic| topic.configs.get("cleanup.policy"))
                    .is_some_and(|policy| policy.as_str().contains("compact"));
                if !compacted {
                    return Err(FieldError::new(
                        path.key("topic"),
                        Kind::InvalidValue,
                        format!("topic `{}` is not compacted", compaction.topic),
                    )
                    .with_hint("set `\"cleanup.policy\": \"compact\"` in the topic's configs"));
                }
                Ok(())
            }
            Fault::CorruptBatchOnDisk(corrupt) => {
                self.topic(&corrupt.topic, Some(corrupt.partition), &path.key("topic"))?;
                match corrupt.broker {
                    Some(id) => self.broker(id, &path.key("broker")),
                    None => Ok(()),
                }
            }
            Fault::ConsumerCrash(crash) => {
                self.consumer_node(crash.consumer, &path.key("consumer"))
            }
            Fault::ConsumerStall(stall) => {
                self.consumer_node(stall.consumer, &path.key("consumer"))
            }
            Fault::ConsumerReconnectLateClose(late) => {
                self.consumer_node(late.consumer, &path.key("consumer"))
            }
            Fault::ClockSkew(skew) => self.node(skew.node, &path.key("node")),
            Fault::OffsetReset(reset) => {
                if self.group_type(&reset.group, &path.key("group"))? != GroupType::Share {
                    return Err(FieldError::new(
                        path.key("group"),
                        Kind::InvalidValue,
                        format!(
                            "group `{}` is not a share group: AlterShareGroupOffsets resets share groups",
                            reset.group
                        ),
                    ));
                }
                self.topic(&reset.topic, Some(reset.partition), &path.key("topic"))
            }
        }
    }

    fn nodes(&self, nodes: &[NodeRef], path: &FieldPath) -> Result<(), FieldError> {
        for (index, node) in nodes.iter().enumerate() {
            self.node(*node, &path.index(index))?;
        }
        Ok(())
    }

    fn consumer_node(&self, node: NodeRef, path: &FieldPath) -> Result<(), FieldError> {
        if !matches!(node.0, FaultNode::Consumer { .. }) {
            return Err(FieldError::new(
                path.clone(),
                Kind::InvalidValue,
                format!("`{node}` is not a consumer: expected `consumer:I` or `consumer:I/J`"),
            ));
        }
        self.node(node, path)
    }

    fn partition(&self, partition: &NetworkPartition, path: &FieldPath) -> Result<(), FieldError> {
        if partition.step_ms.is_some() && partition.mode != PartitionMode::SwizzleClog {
            return Err(FieldError::new(
                path.key("step_ms"),
                Kind::InvalidValue,
                "`step_ms` applies to `\"mode\": \"swizzle_clog\"` only",
            ));
        }
        let count = partition.nodes.len();
        let fits = match partition.mode {
            PartitionMode::Node | PartitionMode::SwizzleClog => count >= 1,
            PartitionMode::Link | PartitionMode::OneDirection => count == 2,
        };
        if !fits {
            let expected = match partition.mode {
                PartitionMode::Node | PartitionMode::SwizzleClog => "at least one node",
                PartitionMode::Link | PartitionMode::OneDirection => "exactly two nodes",
            };
            return Err(FieldError::new(
                path.key("nodes"),
                Kind::InvalidValue,
                format!("{count} nodes given; this mode takes {expected}"),
            ));
        }
        self.nodes(&partition.nodes, &path.key("nodes"))
    }

    fn swarm(&self) -> Result<(), FieldError> {
        let Some(swarm) = &self.scenario.swarm else {
            return Ok(());
        };
        let path = FieldPath::root().key("swarm");
        for (lever, chance) in &swarm.levers {
            let at = path.key("levers").key(lever);
            if !FAULT_KINDS.contains(&lever.as_str()) {
                return Err(FieldError::new(
                    at,
                    Kind::UnknownField,
                    format!("unknown fault lever `{lever}`"),
                )
                .at_key()
                .with_hint(
                    did_you_mean(lever, FAULT_KINDS.iter().copied()).unwrap_or_else(|| {
                        format!("levers: {}", quoted_list(FAULT_KINDS.iter().copied()))
                    }),
                ));
            }
            if sharesim_sim::faults::swarm::ADMIN_LEVER_KINDS.contains(&lever.as_str()) {
                return Err(FieldError::new(
                    at,
                    Kind::InvalidValue,
                    format!("`{lever}` is an admin action, never drawn at random"),
                )
                .at_key()
                .with_hint(format!(
                    "schedule it in `faults`: {{\"at_ms\": T, \"kind\": \"{lever}\", ...}}"
                )));
            }
            probability(*chance, &at)?;
        }
        positive(swarm.mean_interval_ms, &path.key("mean_interval_ms"))
    }

    fn sweep(&self) -> Result<(), FieldError> {
        for (key, values) in &self.scenario.sweep {
            let at = FieldPath::root().key("sweep").key(key);
            key.parse::<KeyPath>().map_err(|message| {
                FieldError::new(at.clone(), Kind::InvalidSweep, message).at_key()
            })?;
            if values.is_empty() {
                return Err(FieldError::new(
                    at,
                    Kind::InvalidSweep,
                    "no values to sweep",
                ));
            }
        }
        Ok(())
    }

    fn expectations(&self) -> Result<(), FieldError> {
        let expectations = &self.scenario.expectations;
        let path = FieldPath::root().key("expectations");
        if let InvariantSet::Only(list) = &expectations.hold {
            for (index, invariant) in expectations.violated.iter().enumerate() {
                if list.contains(invariant) {
                    return Err(FieldError::new(
                        path.key("violated").index(index),
                        Kind::InvalidValue,
                        format!("`{}` cannot both hold and be violated", invariant.code()),
                    ));
                }
            }
        }
        Ok(())
    }

    fn mutations(&self) -> Result<(), FieldError> {
        for (index, mutation) in self.scenario.mutations.iter().enumerate() {
            let valid = !mutation.is_empty()
                && mutation
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !valid {
                return Err(FieldError::new(
                    FieldPath::root().key("mutations").index(index),
                    Kind::InvalidValue,
                    format!("invalid mutation name `{mutation}`: expected snake_case"),
                ));
            }
        }
        Ok(())
    }
    /// A study's placeholders, claims and plots name metrics and the sweep's own points.
    fn study(&self) -> Result<(), FieldError> {
        let Some(study) = &self.scenario.study else {
            return Ok(());
        };
        let path = FieldPath::root().key("study");
        let axes: Vec<(String, Vec<serde_json::Value>)> = self
            .scenario
            .sweep
            .iter()
            .map(|(key, values)| (key.clone(), values.clone()))
            .collect();
        let points: Vec<String> = super::sweep::sweep_points(&axes)
            .iter()
            .map(|values| super::sweep::point_label(values))
            .collect();
        super::study::check_finding(&study.finding, &points)
            .map_err(|message| FieldError::new(path.key("finding"), Kind::InvalidValue, message))?;
        for (index, claim) in study.claims.iter().enumerate() {
            super::study::parse_claim(claim, &points).map_err(|message| {
                FieldError::new(path.key("claims").index(index), Kind::InvalidValue, message)
            })?;
        }
        for (index, metric) in study.plots.iter().enumerate() {
            name_in(metric, METRICS, "metric", &path.key("plots").index(index))?;
        }
        Ok(())
    }
}

/// `value` must be one of `names`.
fn name_in(value: &str, names: &[&str], what: &str, path: &FieldPath) -> Result<(), FieldError> {
    if names.contains(&value) {
        return Ok(());
    }
    let hint = did_you_mean(value, names.iter().copied())
        .unwrap_or_else(|| format!("expected one of {}", quoted_list(names.iter().copied())));
    Err(FieldError::new(
        path.clone(),
        Kind::InvalidValue,
        format!("unknown {what} `{value}`"),
    )
    .with_hint(hint))
}

/// A config problem as a field error at `path` (unknown and unsupported names point at the key).
fn config_error(problem: ConfigProblem, path: FieldPath) -> FieldError {
    match problem {
        ConfigProblem::UnknownName { message, hint }
        | ConfigProblem::Unsupported { message, hint } => {
            FieldError::new(path, Kind::UnknownConfig, message)
                .at_key()
                .with_optional_hint(hint)
        }
        ConfigProblem::InvalidValue { message, hint } => {
            FieldError::new(path, Kind::InvalidValue, message).with_optional_hint(hint)
        }
    }
}
