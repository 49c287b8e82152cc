//! Building the engine backend's world from a scenario: configs through the engines' own parsers,
//! topics and logs, one share-partition engine per (share group, topic partition), producers,
//! consumer instances, and the schedule of faults and failures.

use std::collections::BTreeMap;

use sharesim_sim::coordinator::group::{
    AutoOffsetReset as GroupReset, GroupCoordinatorConfig, IsolationLevel as GroupIsolation,
    ShareGroupConfig,
};
use sharesim_sim::coordinator::share::{
    ShareCoordinatorConfig, ShareCoordinatorShard, SharePartitionKey, TopicId,
};
use sharesim_sim::faults::FaultPlan;
use sharesim_sim::semantics::Semantics;
use sharesim_sim::share::partition::{
    AutoOffsetReset, IsolationLevel, SharePartition, SharePartitionConfig,
};

use super::consumer::ConsumerState;
use super::faults::FaultState;
use super::log::{PartitionLog, ProducerState};
use super::mutations::Mutations;
use super::partitions::SharePartitionSlot;
use super::{run_rng, Action, TopicState, World};
use crate::oracle::OracleConfig;
use crate::runner::backend::{FaultFact, RunError, RunFacts};
use crate::scenario::configs::broker_group_config;
use crate::scenario::fault_plan::fault_plan;
use crate::scenario::{GroupType, Scenario};

/// The trace's topic id of the topic at `index` (deterministic, never zero).
pub(crate) fn topic_id_of(index: usize) -> TopicId {
    TopicId(0x5157_0000_0000_0000_0000_0000_0000_0001 + index as u128)
}

/// A share group's partition config from its configs, through the group coordinator's parser.
pub(crate) fn share_partition_config(
    configs: &crate::scenario::Configs,
    broker: &GroupCoordinatorConfig,
    semantics: &Semantics,
) -> Result<SharePartitionConfig, RunError> {
    let entries = configs
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()));
    let group = ShareGroupConfig::from_entries(entries, broker)
        .map_err(|error| RunError(error.to_string()))?;
    Ok(SharePartitionConfig {
        record_lock_duration_ms: u64::from(group.record_lock_duration_ms(broker)),
        delivery_count_limit: group.delivery_count_limit(broker).min(u32::from(u16::MAX)) as u16,
        max_record_locks: group.partition_max_record_locks(broker),
        renew_acknowledge_enable: group.renew_acknowledge_enable(),
        isolation_level: match group.isolation_level() {
            GroupIsolation::ReadUncommitted => IsolationLevel::ReadUncommitted,
            GroupIsolation::ReadCommitted => IsolationLevel::ReadCommitted,
        },
        auto_offset_reset: match group.auto_offset_reset() {
            GroupReset::Earliest => AutoOffsetReset::Earliest,
            GroupReset::Latest => AutoOffsetReset::Latest,
            GroupReset::ByDuration { duration_ms } => AutoOffsetReset::ByDuration { duration_ms },
        },
        ..SharePartitionConfig::for_semantics(semantics)
    })
}

impl World {
    pub(super) fn new(scenario: &Scenario, seed: u64) -> Result<World, RunError> {
        let semantics = Semantics::for_release(scenario.profile);
        let mutations = Mutations::parse(&scenario.mutations)?;
        let mutation = mutations.engine;
        let broker_entries = scenario
            .cluster
            .configs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        let broker = broker_group_config(broker_entries, scenario.profile)
            .map_err(|(name, problem)| RunError(format!("cluster.configs.{name}: {problem:?}")))?;
        let topics: Vec<TopicState> = scenario
            .topics
            .iter()
            .enumerate()
            .map(|(index, topic)| TopicState {
                name: topic.name.clone(),
                topic_id: topic_id_of(index),
                logs: (0..topic.partitions)
                    .map(|_| PartitionLog::default())
                    .collect(),
            })
            .collect();
        let brokers = scenario.cluster.brokers.max(1);
        let mut slots = Vec::new();
        let mut notes = Vec::new();
        let mut oracle_config = None;
        for (group_index, group) in scenario.groups.iter().enumerate() {
            if group.group_type == GroupType::Classic {
                notes.push(format!(
                    "classic group `{}` is not simulated by the engine backend (no classic \
                     consumer engine here); its consumers are skipped (`\"backend\": \"cluster\"` or \
                     `--backend cluster` runs them)",
                    group.name
                ));
                continue;
            }
            let config = share_partition_config(&group.configs, &broker, &semantics)?;
            let group_config = ShareGroupConfig::from_entries(
                group.configs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                &broker,
            )
            .map_err(|error| RunError(error.to_string()))?;
            oracle_config.get_or_insert(OracleConfig {
                delivery_count_limit: config.delivery_count_limit,
                max_record_locks: config.max_record_locks,
                in_flight_overshoot_max: 0,
                session_timeout_ms: u64::from(group_config.session_timeout_ms(&broker)),
                heartbeat_interval_ms: u64::from(group_config.heartbeat_interval_ms(&broker)),
            });
            let consumed = scenario.consumers.iter().any(|c| c.group == group.name);
            for (topic_index, topic) in scenario.topics.iter().enumerate() {
                if !group.subscribes_to(&topic.name) {
                    continue;
                }
                for partition in 0..topic.partitions {
                    let leader_epoch = 1;
                    let mut engine =
                        SharePartition::new(config.clone(), semantics.clone(), leader_epoch);
                    engine.set_mutation(mutation);
                    slots.push(SharePartitionSlot {
                        key: SharePartitionKey {
                            group_id: group.name.clone(),
                            topic_id: topic_id_of(topic_index),
                            partition: partition as i32,
                        },
                        group_index,
                        topic_index,
                        partition,
                        config: config.clone(),
                        engine,
                        leader_epoch,
                        leader_broker: (topic_index as u32 + partition) % brokers + 1,
                        initialized: false,
                        consumed,
                        zombie: None,
                    });
                }
            }
        }
        let mut producers = Vec::new();
        for (index, spec) in scenario.producers.iter().enumerate() {
            let topic_index = scenario
                .topics
                .iter()
                .position(|topic| topic.name == spec.topic)
                .unwrap_or(0);
            // Each producer's sticky-partition choices get their own seeded stream.
            let partitioner_seed = seed ^ (index as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let producer = ProducerState::new(spec.clone(), topic_index, partitioner_seed)
                .map_err(|problem| RunError(format!("producers[{index}].configs.{problem}")))?;
            producers.push(producer);
        }
        let mut consumers = Vec::new();
        for (entry, spec) in scenario.consumers.iter().enumerate() {
            let Some(group_index) = scenario.groups.iter().position(|g| g.name == spec.group)
            else {
                continue;
            };
            if scenario.groups[group_index].group_type == GroupType::Classic {
                continue;
            }
            let assigned: Vec<usize> = slots
                .iter()
                .enumerate()
                .filter(|(_, slot)| slot.group_index == group_index)
                .map(|(index, _)| index)
                .collect();
            for instance in 0..spec.count {
                consumers.push(ConsumerState::new(
                    entry,
                    instance,
                    spec,
                    assigned.clone(),
                    &semantics,
                )?);
            }
        }
        let unsimulated = super::unsimulated::unsimulated_fields(scenario);
        if !unsimulated.is_empty() {
            notes.push(format!(
                "scenario fields not simulated by the engine backend (the cluster backend does): {}",
                unsimulated.join(", ")
            ));
        }
        let mut facts = RunFacts::new("engine", oracle_config.unwrap_or_default());
        facts.notes = notes;
        let mut world = World {
            scenario: scenario.clone(),
            rng: run_rng(seed),
            trace: sharesim_sim::trace::Trace::keeping_records_and_text(),
            now_ms: 0,
            semantics,
            mutation,
            mutations,
            topics,
            slots,
            shard: ShareCoordinatorShard::new(0, ShareCoordinatorConfig::default()),
            shard_log: Vec::new(),
            tickets: BTreeMap::new(),
            producers,
            consumers,
            queue: BTreeMap::new(),
            next_action_seq: 0,
            faults: FaultState::new(seed),
            facts,
            in_liveness_phase: false,
            script: (!scenario.script.is_empty())
                .then(|| super::script::ScriptRun::new(scenario.script.clone())),
        };
        let plan = fault_plan(scenario, seed).map_err(RunError)?;
        world.schedule_start(plan);
        Ok(world)
    }

    /// Producers, consumers, their scheduled failures, faults (scheduled and swarm), the liveness phase.
    fn schedule_start(&mut self, plan: FaultPlan) {
        for (index, producer) in self.scenario.producers.clone().iter().enumerate() {
            self.schedule(producer.start_ms, Action::Produce(index));
        }
        let scripted = self.script.is_some();
        if scripted {
            // The script's members fetch only in its steps; they poll after the last one.
            self.schedule(0, Action::ScriptStep);
        }
        for index in 0..self.consumers.len() {
            let start_ms = self.consumers[index].start_ms;
            if !scripted {
                self.schedule(
                    start_ms,
                    Action::Poll {
                        consumer: index,
                        generation: 0,
                    },
                );
            }
            for deferred in self.consumers[index].scheduled_failures(index) {
                self.schedule(deferred.0, Action::Deferred(deferred.1));
            }
        }
        for fault in plan.faults {
            if fault.at_ms < plan.liveness_at_ms {
                self.schedule(fault.at_ms, Action::Fault(fault.lever));
            } else {
                self.facts.faults_skipped.push(FaultFact {
                    at_ms: fault.at_ms,
                    kind: fault.lever.kind().to_string(),
                    detail: "scheduled after duration_ms, when faults are healed".to_string(),
                });
            }
        }
        // A script schedules the liveness phase when it ends.
        if !scripted {
            let duration_ms = self.scenario.duration_ms;
            self.schedule(duration_ms, Action::LivenessStart);
        }
    }
}
