//! The scenario's classic consumer groups on the cluster: one classic consumer node per consumer
//! instance of a `"type": "classic"` group (JoinGroup/SyncGroup/Heartbeat, fetches from the partition
//! leaders, offset commits), the head-of-line baseline share groups are compared with. Their trace
//! events (`classic`) feed the `classic.*` metrics (latency, time to drain).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use madsim::runtime::NodeHandle;
use madsim::task::NodeId;
use sharesim_sim::client::application::ApplicationConfig;
use sharesim_sim::client::classic_consumer::{ClassicConsumerConfig, OffsetResetStrategy};
use sharesim_sim::coordinator::classic::ClassicGroupConfig;
use sharesim_sim::faults::{virtual_now_ms, FaultError, FaultNode};
use sharesim_sim::harness::SimCluster;
use sharesim_sim::node::{run_classic_consumer, ClassicConsumerSetup, NodeClock};

use super::workload::{kill_running, pause_running};
use crate::runner::engine_backend::processing_time;
use crate::scenario::{GroupType, Scenario};

/// One classic consumer instance, started or not.
struct ClassicSlot {
    entry: usize,
    instance: u32,
    start_ms: u64,
    setup: ClassicConsumerSetup,
    node: Option<NodeHandle>,
    generation: u32,
}

/// Every classic consumer instance of the scenario; the fault target crashes, restarts and stalls
/// them as it does share consumers (`consumer_crash`, `consumer_stall` naming a classic group's entry).
#[derive(Default)]
pub(super) struct ClassicConsumers {
    slots: Vec<ClassicSlot>,
    /// Configs the classic consumer does not take (reported as notes).
    pub problems: Vec<String>,
}

impl ClassicConsumers {
    /// The setups of every instance of every classic group's consumer entry (nothing starts yet).
    pub(super) fn new(cluster: &SimCluster, scenario: &Scenario, seed: u64) -> ClassicConsumers {
        let mut slots = Vec::new();
        let mut problems = Vec::new();
        for (entry, spec) in scenario.consumers.iter().enumerate() {
            let Some(group) = scenario.groups.iter().find(|g| g.name == spec.group) else {
                continue;
            };
            if group.group_type != GroupType::Classic {
                continue;
            }
            let topics: Vec<String> = group
                .subscribed_topics(scenario)
                .into_iter()
                .map(str::to_string)
                .collect();
            for instance in 0..spec.count {
                let name = format!("classic-{entry}-{instance}");
                let mut consumer = ClassicConsumerConfig::new(&group.name, &name);
                // The group's configs apply to every member; the entry's override them.
                let configs = group.configs.iter().chain(spec.configs.iter());
                for (config, value) in configs {
                    if let Err(problem) = apply_config(&mut consumer, config, value.as_str()) {
                        problems.push(format!("consumers[{entry}].configs.{config}: {problem}"));
                    }
                }
                let application = ApplicationConfig {
                    processing_time: processing_time(&spec.processing),
                    failure_probability: spec.failure.processing_failure_ratio,
                    ..ApplicationConfig::default()
                };
                let setup = ClassicConsumerSetup {
                    node_name: name,
                    consumer,
                    topics: topics.clone(),
                    application,
                    seed: seed ^ ((entry as u64) << 32 | u64::from(instance)) ^ (1 << 62),
                    bootstrap: cluster.bootstrap(),
                    faults: cluster.faults().clone(),
                    trace: cluster.trace().clone(),
                    clock: NodeClock::new(),
                    close: Arc::new(AtomicBool::new(false)),
                };
                slots.push(ClassicSlot {
                    entry,
                    instance,
                    start_ms: spec.start_ms,
                    setup,
                    node: None,
                    generation: 0,
                });
            }
        }
        problems.sort();
        problems.dedup();
        ClassicConsumers { slots, problems }
    }

    /// Starts the instances whose entry starts at 0 now (before the workload's time 0, as the share
    /// consumers do: the workload waits for their first assignment) when `at_zero`; otherwise the
    /// others, each at `origin_ms` plus its entry's `start_ms`.
    pub(super) fn spawn(&mut self, cluster: &SimCluster, origin_ms: u64, at_zero: bool) {
        for slot in self
            .slots
            .iter_mut()
            .filter(|s| (s.start_ms == 0) == at_zero)
        {
            let node = cluster.client_node(&slot.setup.node_name);
            let setup = slot.setup.clone();
            let start_ms = origin_ms + slot.start_ms;
            node.spawn(async move {
                let wait_ms = start_ms.saturating_sub(virtual_now_ms());
                madsim::time::sleep(Duration::from_millis(wait_ms)).await;
                run_classic_consumer(setup).await;
            });
            slot.node = Some(node);
        }
    }

    /// Whether consumer entry `entry` belongs to a classic group.
    pub(super) fn has_entry(&self, entry: usize) -> bool {
        self.slots.iter().any(|s| s.entry == entry)
    }

    /// The slots `consumer` names (one instance, or every instance of an entry).
    fn matching(&mut self, consumer: FaultNode) -> Result<Vec<&mut ClassicSlot>, FaultError> {
        let FaultNode::Consumer { entry, instance } = consumer else {
            return Err(FaultError::UnknownTarget(consumer.to_string()));
        };
        let slots: Vec<&mut ClassicSlot> = self
            .slots
            .iter_mut()
            .filter(|s| s.entry == entry && instance.is_none_or(|i| i == s.instance))
            .collect();
        if slots.is_empty() {
            return Err(FaultError::UnknownTarget(consumer.to_string()));
        }
        Ok(slots)
    }

    /// Kills the consumer's node: no commit, no LeaveGroup; the coordinator removes the member when its
    /// `session.timeout.ms` passes and rebalances, and the partitions resume from the last commit.
    pub(super) fn crash(&mut self, consumer: FaultNode) -> Result<(), FaultError> {
        let nodes = self
            .matching(consumer)?
            .into_iter()
            .map(|slot| &mut slot.node);
        kill_running(nodes, consumer)
    }

    /// Starts a crashed consumer again on a new node: a new member (JoinGroup without a member id).
    pub(super) fn restart(
        &mut self,
        cluster: &SimCluster,
        consumer: FaultNode,
    ) -> Result<(), FaultError> {
        let mut restarted = 0;
        for slot in self.matching(consumer)? {
            if slot.node.is_some() {
                continue;
            }
            slot.generation += 1;
            let mut setup = slot.setup.clone();
            setup.node_name = format!("{}-r{}", slot.setup.node_name, slot.generation);
            setup.seed ^= u64::from(slot.generation) << 48;
            // The restarted client runs on the same machine: it keeps its clock (and any skew).
            let node = cluster.client_node(&setup.node_name);
            node.spawn(run_classic_consumer(setup));
            slot.node = Some(node);
            restarted += 1;
        }
        if restarted == 0 {
            return Err(FaultError::Refused(format!("{consumer} is running")));
        }
        Ok(())
    }

    /// Pauses (`pause`) or resumes the consumer's node: neither its poll loop nor its heartbeats run
    /// meanwhile, so a stall past `session.timeout.ms` costs the membership.
    pub(super) fn pause(&mut self, consumer: FaultNode, pause: bool) -> Result<(), FaultError> {
        let nodes = self.matching(consumer)?.into_iter().map(|slot| &slot.node);
        pause_running(nodes, pause);
        Ok(())
    }

    /// The clocks of a classic consumer reference (the `clock_skew` lever sets them, as it sets a share
    /// consumer's: `Consumers::set_clock`). A clock belongs to the instance's machine, so a crashed
    /// instance's clock is still returned and a restart keeps it.
    pub(super) fn clocks(&mut self, consumer: FaultNode) -> Result<Vec<NodeClock>, FaultError> {
        Ok(self
            .matching(consumer)?
            .into_iter()
            .map(|slot| slot.setup.clock.clone())
            .collect())
    }

    /// The madsim nodes of a classic consumer reference (for network partitions).
    pub(super) fn node_ids(&mut self, consumer: FaultNode) -> Result<Vec<NodeId>, FaultError> {
        Ok(self
            .matching(consumer)?
            .into_iter()
            .filter_map(|slot| slot.node.as_ref().map(NodeHandle::id))
            .collect())
    }
}

/// The brokers' classic group coordinator when the scenario has classic groups: Kafka's defaults, with
/// `group.min.session.timeout.ms`, `group.max.session.timeout.ms`, `group.initial.rebalance.delay.ms`
/// and `group.max.size` taken from `cluster.configs` (Kafka's broker names; the scenario validator
/// checks each value's range). A minimum above the maximum is refused, as Kafka's broker refuses it.
pub(super) fn classic_group_config(
    scenario: &Scenario,
) -> Result<Option<ClassicGroupConfig>, String> {
    if !scenario
        .groups
        .iter()
        .any(|group| group.group_type == GroupType::Classic)
    {
        return Ok(None);
    }
    let mut config = ClassicGroupConfig::default();
    for (name, value) in &scenario.cluster.configs {
        let value = value.as_str();
        let number = || {
            value
                .parse::<u64>()
                .map_err(|_| format!("cluster.configs.{name}: `{value}` is not a whole number"))
        };
        match name.as_str() {
            "group.min.session.timeout.ms" => config.min_session_timeout_ms = number()?,
            "group.max.session.timeout.ms" => config.max_session_timeout_ms = number()?,
            "group.initial.rebalance.delay.ms" => config.initial_rebalance_delay_ms = number()?,
            "group.max.size" => config.max_size = number()? as usize,
            _ => {}
        }
    }
    if config.min_session_timeout_ms > config.max_session_timeout_ms {
        return Err(format!(
            "cluster.configs.group.min.session.timeout.ms ({}) is above \
             group.max.session.timeout.ms ({})",
            config.min_session_timeout_ms, config.max_session_timeout_ms
        ));
    }
    Ok(Some(config))
}

/// Sets one classic consumer config by its Kafka name.
fn apply_config(
    consumer: &mut ClassicConsumerConfig,
    name: &str,
    value: &str,
) -> Result<(), String> {
    let number = || {
        value
            .parse::<u64>()
            .map_err(|_| format!("`{value}` is not a whole number"))
    };
    match name {
        "session.timeout.ms" => consumer.session_timeout_ms = number()?,
        "heartbeat.interval.ms" => consumer.heartbeat_interval_ms = number()?,
        "max.poll.interval.ms" => consumer.max_poll_interval_ms = number()?,
        "max.poll.records" => consumer.max_poll_records = number()?.max(1) as usize,
        "auto.commit.interval.ms" => consumer.auto_commit_interval_ms = number()?,
        "fetch.max.wait.ms" => consumer.fetch_max_wait_ms = number()?,
        "retry.backoff.ms" => consumer.retry_backoff_ms = number()?,
        "enable.auto.commit" => {
            consumer.enable_auto_commit = value
                .parse()
                .map_err(|_| format!("`{value}` is not true or false"))?;
        }
        "auto.offset.reset" => {
            consumer.auto_offset_reset = match value {
                "earliest" => OffsetResetStrategy::Earliest,
                "latest" => OffsetResetStrategy::Latest,
                _ => return Err(format!("`{value}` is not earliest or latest")),
            };
        }
        _ => return Err("not carried out by the cluster's classic consumer".to_string()),
    }
    Ok(())
}
