//! The cluster backend's configuration from a scenario: madsim's network, the brokers' share-group
//! services (share-partition configs through the group coordinator's own parser, as the engine backend
//! does), the oracle's limits, the fault plan, and notes on what the cluster does not carry out.

use std::time::Duration;

use sharesim_sim::coordinator::classic::ClassicGroupConfig;
use sharesim_sim::coordinator::group::{GroupCoordinatorConfig, ShareGroupConfig};
use sharesim_sim::coordinator::share::ShareCoordinatorConfig;
use sharesim_sim::faults::{FaultNode, FaultPlan, Lever, ScheduledFault};
use sharesim_sim::harness::{ShareGroupClusterConfig, SimClusterConfig};
use sharesim_sim::semantics::Semantics;

use crate::oracle::OracleConfig;
use crate::runner::backend::RunError;
use crate::runner::engine_backend::share_partition_config;
use crate::scenario::configs::broker_group_config;
use crate::scenario::fault_plan::{fault_plan, initial_clocks};
use crate::scenario::workload::{Distribution, PoisonKind};
use crate::scenario::{GroupType, Scenario};

/// Everything a cluster run is built from.
#[derive(Clone)]
pub(super) struct ClusterSetup {
    /// madsim's configuration (network latency and loss).
    pub madsim_config: madsim::Config,
    /// The brokers and their share-group services.
    pub cluster_config: ShareGroupClusterConfig,
    /// The release profile.
    pub semantics: Semantics,
    /// The oracle's limits.
    pub oracle_config: OracleConfig,
    /// The scenario's faults for this seed (times from the scenario's time 0).
    pub fault_plan: FaultPlan,
    /// `cluster.clocks`: (node, skew, drift) set at time 0.
    pub initial_clocks: Vec<(FaultNode, i64, i64)>,
    /// The brokers' classic group coordinator, when the scenario has classic groups.
    pub classic_groups: Option<ClassicGroupConfig>,
    /// Producer entries with `transactions`: the brokers run the transaction coordinator and the
    /// cluster gets `__transaction_state`.
    pub transactional_producers: usize,
    /// Whether a producer is idempotent (`enable.idempotence`, Kafka's default): the brokers run the
    /// transaction coordinator, which hands out producer ids (InitProducerId).
    pub idempotent_producers: bool,
    /// What this backend simplifies, for the report.
    pub notes: Vec<String>,
}

impl ClusterSetup {
    /// The setup of `scenario` for `seed`; an error names what the cluster cannot run.
    pub fn from_scenario(scenario: &Scenario, seed: u64) -> Result<ClusterSetup, RunError> {
        let mutations = ClusterMutations::parse(&scenario.mutations)?;
        if !scenario.script.is_empty() {
            return Err(RunError(
                "the cluster backend does not run scripts (`script`); use --backend engine".into(),
            ));
        }
        let mut notes = Vec::new();
        let mut fault_plan = fault_plan(scenario, seed).map_err(RunError)?;
        fault_plan.faults.extend(consumer_failures(scenario));
        let initial_clocks = initial_clocks(scenario).map_err(RunError)?;
        let semantics = Semantics::for_release(scenario.profile);
        let broker_entries = scenario
            .cluster
            .configs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        let broker: GroupCoordinatorConfig = broker_group_config(broker_entries, scenario.profile)
            .map_err(|(name, problem)| RunError(format!("cluster.configs.{name}: {problem:?}")))?;
        let mut share_groups = scenario
            .groups
            .iter()
            .filter(|group| group.group_type == GroupType::Share);
        let group = share_groups
            .next()
            .ok_or_else(|| RunError("the cluster backend needs a share group".to_string()))?;
        if share_groups.next().is_some() {
            notes.push(format!(
                "every share group runs with the group configs of `{}` (the brokers hold one \
                 share-partition config)",
                group.name
            ));
        }
        // Classic groups run on the brokers' classic group coordinator (`group.initial.rebalance.delay.ms`
        // 3 s by default: the workload waits for their first assignment).
        let classic_groups = super::classic::classic_group_config(scenario).map_err(RunError)?;
        let partition_config = share_partition_config(&group.configs, &broker, &semantics)?;
        let group_config = ShareGroupConfig::from_entries(
            group.configs.iter().map(|(n, v)| (n.as_str(), v.as_str())),
            &broker,
        )
        .map_err(|error| RunError(error.to_string()))?;
        let oracle_config = OracleConfig {
            delivery_count_limit: partition_config.delivery_count_limit,
            max_record_locks: partition_config.max_record_locks,
            session_timeout_ms: u64::from(group_config.session_timeout_ms(&broker)),
            heartbeat_interval_ms: u64::from(group_config.heartbeat_interval_ms(&broker)),
            ..OracleConfig::default()
        };
        let group_coordinator = group_coordinator_config(&broker, &group_config);
        let mut cluster_config = ShareGroupClusterConfig {
            cluster: SimClusterConfig {
                brokers: scenario.cluster.brokers.max(1) as i32,
                keep_trace_records: true,
                ..SimClusterConfig::default()
            },
            ..ShareGroupClusterConfig::default()
        };
        cluster_config.services.semantics = semantics.clone();
        cluster_config.services.share_coordinator = ShareCoordinatorConfig::new(&semantics);
        cluster_config
            .services
            .share_coordinator
            .skip_leader_epoch_fencing = mutations.skip_leader_epoch_fencing;
        cluster_config.services.group_coordinator = GroupCoordinatorConfig {
            assignor_skips_a_member: mutations.assignor_skips_a_member,
            ..group_coordinator
        };
        cluster_config.services.share_partition = partition_config;
        if scenario.cluster.controller != "dedicated" {
            // The harness always runs a dedicated controller node.
            notes.push("the controller always runs on its own node in the cluster".to_string());
        }
        let transactional_producers = scenario
            .producers
            .iter()
            .filter(|p| p.transactions.is_some())
            .count();
        let idempotent_producers = scenario.producers.iter().any(|p| {
            p.configs
                .get("enable.idempotence")
                .is_none_or(|value| value.as_str() != "false")
        });
        if scenario.producers.iter().any(|p| {
            p.poison
                .iter()
                .any(|poison| poison.kind == PoisonKind::CorruptBatch)
        }) {
            notes.push(
                "corrupt_batch poison records are written intact on the cluster backend".into(),
            );
        }
        let madsim_config = madsim_config(scenario, &mut notes);
        Ok(ClusterSetup {
            madsim_config,
            cluster_config,
            semantics,
            oracle_config,
            fault_plan,
            initial_clocks,
            classic_groups,
            transactional_producers,
            idempotent_producers,
            notes,
        })
    }
}

/// The mutation switches the cluster carries (issue 6), each in the engine that makes the mistake. The
/// others live in the engine backend's glue (`--backend engine`).
pub(super) const CLUSTER_MUTATIONS: &[&str] =
    &["skip_leader_epoch_fencing", "assignor_skips_a_member"];

/// The mutation switches a cluster run has on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct ClusterMutations {
    /// The share coordinator takes writes of an older leader epoch
    /// (`ShareCoordinatorConfig::skip_leader_epoch_fencing`).
    skip_leader_epoch_fencing: bool,
    /// The group coordinator's simple assignor leaves a member out
    /// (`GroupCoordinatorConfig::assignor_skips_a_member`; cluster only).
    assignor_skips_a_member: bool,
}

impl ClusterMutations {
    /// The switches `names` turn on; a name the cluster does not carry is an error naming those it does.
    fn parse(names: &[String]) -> Result<ClusterMutations, RunError> {
        let mut mutations = ClusterMutations::default();
        for name in names {
            match name.as_str() {
                "skip_leader_epoch_fencing" => mutations.skip_leader_epoch_fencing = true,
                "assignor_skips_a_member" => mutations.assignor_skips_a_member = true,
                other => {
                    return Err(RunError(format!(
                        "the cluster backend does not carry the mutation switch `{other}` (it \
                         carries {}); use --backend engine",
                        CLUSTER_MUTATIONS.join(", ")
                    )))
                }
            }
        }
        Ok(mutations)
    }
}

/// madsim's network from `cluster.network`: a latency range and a packet loss rate.
fn madsim_config(scenario: &Scenario, notes: &mut Vec<String>) -> madsim::Config {
    let network = &scenario.cluster.network;
    let (min_ms, max_ms) = match &network.latency {
        Distribution::Fixed { ms } => (*ms, *ms),
        Distribution::Uniform { min_ms, max_ms } => (*min_ms, *max_ms),
        Distribution::Exponential { mean_ms, max_ms } => {
            notes.push("network latency: madsim draws uniformly; mean-centred range used".into());
            let mean = mean_ms.max(0.0) as u64;
            (0, max_ms.unwrap_or(mean * 2).min(mean * 2))
        }
        Distribution::Lognormal {
            median_ms, max_ms, ..
        } => {
            notes.push("network latency: madsim draws uniformly; median-centred range used".into());
            let median = median_ms.max(0.0) as u64;
            (0, max_ms.unwrap_or(median * 2).min(median * 2))
        }
    };
    let mut config = madsim::Config::default();
    config.net.send_latency =
        Duration::from_millis(min_ms)..Duration::from_millis(max_ms.max(min_ms) + 1);
    config.net.packet_loss_rate = network.packet_loss.clamp(0.0, 1.0);
    config
}

/// Each consumer instance's scheduled `failure` (crash, with a reconnect as a new member; stall) as the
/// consumer levers, so the fault scheduler carries them out and the trace records them.
fn consumer_failures(scenario: &Scenario) -> Vec<ScheduledFault> {
    let mut faults = Vec::new();
    for (entry, spec) in scenario.consumers.iter().enumerate() {
        for instance in 0..spec.count {
            let consumer = FaultNode::Consumer {
                entry,
                instance: Some(instance),
            };
            let failure = &spec.failure;
            if let Some(at_ms) = failure.crash_at_ms {
                faults.push(ScheduledFault {
                    at_ms,
                    lever: Lever::ConsumerCrash {
                        consumer,
                        restart_after_ms: failure.reconnect_after_ms,
                    },
                });
            }
            if let (Some(at_ms), Some(stall_ms)) = (failure.stall_at_ms, failure.stall_for_ms) {
                faults.push(ScheduledFault {
                    at_ms,
                    lever: Lever::ConsumerStall { consumer, stall_ms },
                });
            }
        }
    }
    faults
}

/// The brokers' group coordinator config: the scenario's broker `group.share.*` configs
/// (`cluster.configs`, bounded and cross-checked by Kafka's rules when parsed), with the share group's
/// `share.session.timeout.ms` and `share.heartbeat.interval.ms` (bounded by the broker's min/max when
/// parsed) as its session timeout and heartbeat interval. Kafka's coordinator reads a group's override
/// at each use and falls back to the broker default; the cluster's brokers hold one set of group
/// configs (as for the share partitions), so the first share group's values stand for every group.
fn group_coordinator_config(
    broker: &GroupCoordinatorConfig,
    group: &ShareGroupConfig,
) -> GroupCoordinatorConfig {
    GroupCoordinatorConfig {
        session_timeout_ms: group.session_timeout_ms(broker),
        heartbeat_interval_ms: group.heartbeat_interval_ms(broker),
        ..broker.clone()
    }
}
