//! The scenario's classic consumer groups on the cluster: one classic consumer node per consumer
//! instance of a `"type": "classic"` group (JoinGroup/SyncGroup/Heartbeat, fetches from the partition
//! leaders, offset commits), the head-of-line baseline share groups are compared with. Their trace
//! events (`classic`) feed the `classic.*` metrics (latency, time to drain).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use sharesim_sim::client::application::ApplicationConfig;
use sharesim_sim::client::classic_consumer::{ClassicConsumerConfig, OffsetResetStrategy};
use sharesim_sim::faults::virtual_now_ms;
use sharesim_sim::harness::SimCluster;
use sharesim_sim::node::{run_classic_consumer, ClassicConsumerSetup, NodeClock};

use crate::runner::engine_backend::processing_time;
use crate::scenario::{GroupType, Scenario};

/// One classic consumer instance, not started yet.
struct ClassicSlot {
    start_ms: u64,
    setup: ClassicConsumerSetup,
}

/// Every classic consumer instance of the scenario.
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
                    start_ms: spec.start_ms,
                    setup,
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
    pub(super) fn spawn(&self, cluster: &SimCluster, origin_ms: u64, at_zero: bool) {
        for slot in self.slots.iter().filter(|s| (s.start_ms == 0) == at_zero) {
            let node = cluster.client_node(&slot.setup.node_name);
            let setup = slot.setup.clone();
            let start_ms = origin_ms + slot.start_ms;
            node.spawn(async move {
                let wait_ms = start_ms.saturating_sub(virtual_now_ms());
                madsim::time::sleep(Duration::from_millis(wait_ms)).await;
                run_classic_consumer(setup).await;
            });
        }
    }
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
