//! The madsim cluster backend: a scenario on [`SimCluster`] with the share-group services (share fetch
//! with its persister, the share coordinator, the group coordinator), real share-consumer nodes over the
//! simulated network, producers writing batches with acks=all, and the run's fault plan pulled by the
//! simulator's [`FaultScheduler`] against the cluster. One madsim runtime per run, built from the seed.
//!
//! Time: the cluster first starts (brokers, internal topics, the scenario's topics) and the consumers
//! that start at 0 join their groups and initialize their share partitions; that instant is the
//! scenario's time 0 ([`RunFacts::workload_start_ms`]), from which producers, later consumers and
//! faults count. Without it the consumers, which need a heartbeat round to get an assignment, would
//! join seconds after the producers, and `share.auto.offset.reset=latest` (Kafka's default) would skip
//! every record (the zero-consumption bug of the first draft).
//!
//! Limits: a run is bounded by its `sharesim_sim::node::RunLimits` (node steps per window of virtual
//! time, trace records per run). A run over them stops its nodes and fails with the limit's text, the
//! virtual time reached and the spinning node, as any other run error (a sweep counts it as a failure).

mod admin;
mod classic;
mod committed;
mod fault_target;
mod setup;
mod workload;

use std::time::Duration;

use madsim::export::futures::future::select;
use madsim::runtime::Runtime;
use sharesim_sim::coordinator::placement::TRANSACTION_STATE_TOPIC_NAME;
use sharesim_sim::faults::{run_fault_plan, virtual_now_ms, FaultScheduler};
use sharesim_sim::harness::{
    classic_group_services, combine_services, share_group_services, transaction_services,
    RunLimits, SharedTrace, SimCluster, SimClusterConfig,
};
use sharesim_sim::trace::{RunMarker, Trace, TraceEvent, TraceRecord};

use self::classic::ClassicConsumers;
use self::committed::{produced_partitions, DrainWatch};
use self::fault_target::ClusterFaultTarget;
use self::setup::ClusterSetup;
use self::workload::{spawn_producers, Consumers, TransactionalProducersDone};
use super::backend::{Backend, BackendRun, FaultFact, RunError, RunFacts};
use crate::scenario::Scenario;

/// How long (virtual) the consumers starting at 0 may take to join and initialize their share
/// partitions before the workload starts anyway (a note says so).
const READY_BOUND_MS: u64 = 60_000;
/// How often the liveness phase checks whether every record reached a terminal state.
const DRAIN_CHECK_INTERVAL_MS: u64 = 200;

/// The madsim cluster backend (see the module docs).
#[derive(Clone, Copy, Debug, Default)]
pub struct ClusterBackend;

/// The cluster backend with run limits other than [`RunLimits::default`] (tests that provoke a limit;
/// a run over its limits fails with the limit's text, see [`sharesim_sim::harness::RunLimitExceeded`]).
#[derive(Clone, Debug, Default)]
pub struct ClusterBackendWithLimits(pub RunLimits);

/// What the simulation hands back out of the madsim runtime.
struct Simulated {
    records: Vec<TraceRecord>,
    workload_start_ms: u64,
    drained_at_ms: Option<u64>,
    notes: Vec<String>,
}

impl Backend for ClusterBackend {
    fn name(&self) -> &'static str {
        "cluster"
    }

    fn carries_mutation(&self, name: &str) -> bool {
        setup::CLUSTER_MUTATIONS.contains(&name)
    }

    fn run(&self, scenario: &Scenario, seed: u64) -> Result<BackendRun, RunError> {
        run_cluster(scenario, seed, RunLimits::default())
    }
}

impl Backend for ClusterBackendWithLimits {
    fn name(&self) -> &'static str {
        ClusterBackend.name()
    }

    fn carries_mutation(&self, name: &str) -> bool {
        ClusterBackend.carries_mutation(name)
    }

    fn run(&self, scenario: &Scenario, seed: u64) -> Result<BackendRun, RunError> {
        run_cluster(scenario, seed, self.0.clone())
    }
}

/// One run of `scenario` on the cluster under `limits`.
fn run_cluster(scenario: &Scenario, seed: u64, limits: RunLimits) -> Result<BackendRun, RunError> {
    let mut setup = ClusterSetup::from_scenario(scenario, seed)?;
    setup.cluster_config.cluster.limits = limits;
    let runtime = Runtime::with_seed_and_config(seed, setup.madsim_config.clone());
    let scenario = scenario.clone();
    let oracle_config = setup.oracle_config.clone();
    let mut notes = setup.notes.clone();
    let simulated = runtime
        .block_on(simulate(scenario.clone(), seed, setup))
        .map_err(RunError)?;
    notes.extend(simulated.notes);
    let mut trace = Trace::keeping_records_and_text();
    let mut facts = RunFacts::new("cluster", oracle_config);
    facts.produced = produced_partitions(&scenario, &simulated.records);
    facts.workload_start_ms = simulated.workload_start_ms;
    facts.drained_at_ms = simulated.drained_at_ms;
    facts.notes = notes;
    for record in simulated.records {
        match &record.event {
            TraceEvent::Fault { lever, detail } => {
                let fact = FaultFact {
                    at_ms: record.at_ms,
                    kind: lever.clone(),
                    detail: detail.clone(),
                };
                if detail.starts_with("skipped") {
                    facts.faults_skipped.push(fact);
                } else {
                    facts.faults_applied.push(fact);
                }
            }
            TraceEvent::Run {
                marker: RunMarker::LivenessPhaseStarted { .. },
            } => facts.liveness_started_ms = Some(record.at_ms),
            _ => {}
        }
        facts.end_ms = facts.end_ms.max(record.at_ms);
        trace.record(record.at_ms, &record.node, record.event);
    }
    Ok(BackendRun { trace, facts })
}

/// The cluster with the share-group services on every broker, plus the classic group coordinator
/// when the scenario has classic groups and the transaction coordinator (with `__transaction_state`)
/// when it has transactional producers, and the internal topics.
async fn start_cluster(setup: &ClusterSetup) -> Result<SimCluster, String> {
    let transactions = setup.transactional_producers > 0;
    let producer_ids = transactions || setup.idempotent_producers;
    if setup.classic_groups.is_none() && !producer_ids {
        return Ok(SimCluster::start_share_groups(setup.cluster_config.clone()).await);
    }
    let services = setup.cluster_config.services.clone();
    let internal_topics = services.internal_topics.clone();
    let mut factories = vec![share_group_services(services)];
    if let Some(classic) = setup.classic_groups.clone() {
        factories.push(classic_group_services(classic, internal_topics.clone()));
    }
    if producer_ids {
        factories.push(transaction_services(internal_topics.clone()));
    }
    let config = SimClusterConfig {
        services: combine_services(factories),
        ..setup.cluster_config.cluster.clone()
    };
    let brokers = config.brokers;
    let cluster = SimCluster::start(config).await;
    let trace = cluster.trace().clone();
    // A run over its limits has stopped brokers: that, not the topic, is the error.
    let failed = |what: String| check_limits(&trace).err().unwrap_or(what);
    cluster
        .create_internal_topics(&internal_topics, brokers)
        .await
        .map_err(|error| failed(format!("creating the internal topics: {error:?}")))?;
    if transactions {
        cluster
            .create_internal_topic(&internal_topics, TRANSACTION_STATE_TOPIC_NAME)
            .await
            .map_err(|error| {
                failed(format!(
                    "creating {TRANSACTION_STATE_TOPIC_NAME}: {error:?}"
                ))
            })?;
    }
    Ok(cluster)
}

/// The run inside madsim: the cluster, its topics, the consumers, time 0, the producers, the fault plan
/// (shifted to time 0) and the liveness phase until every record is terminal or the bound passes.
async fn simulate(scenario: Scenario, seed: u64, setup: ClusterSetup) -> Result<Simulated, String> {
    let mut cluster = start_cluster(&setup).await?;
    let trace = cluster.trace().clone();
    check_limits(&trace)?;
    trace.record(
        virtual_now_ms(),
        "sim",
        TraceEvent::Run {
            marker: RunMarker::RunStarted { seed },
        },
    );
    let mut notes = Vec::new();
    for topic in &scenario.topics {
        let replication = topic
            .replication_factor
            .unwrap_or(scenario.cluster.brokers.min(3))
            .min(scenario.cluster.brokers.max(1));
        cluster
            .create_topic(&topic.name, topic.partitions as i32, replication as i16)
            .await
            .map_err(|error| {
                // A run over its limits has stopped brokers: that, not the topic, is the error.
                check_limits(&trace)
                    .err()
                    .unwrap_or(format!("creating topic {}: {error:?}", topic.name))
            })?;
    }
    let mut consumers = Consumers::new(&cluster, &scenario, seed, &setup);
    consumers.spawn_starting_at(&cluster, 0);
    consumers.classic = ClassicConsumers::new(&cluster, &scenario, seed);
    notes.extend(consumers.classic.problems.iter().cloned());
    consumers.classic.spawn(&cluster, virtual_now_ms(), true);
    let mut watch = DrainWatch::new(&scenario);
    let ready_deadline_ms = virtual_now_ms() + READY_BOUND_MS;
    loop {
        check_limits(&trace)?;
        watch.catch_up(&trace);
        if watch.ready() {
            break;
        }
        if virtual_now_ms() >= ready_deadline_ms {
            notes.push(format!(
                "the consumers starting at 0 had not initialized every share partition within \
                 {READY_BOUND_MS} ms; the workload started anyway"
            ));
            break;
        }
        madsim::time::sleep(Duration::from_millis(DRAIN_CHECK_INTERVAL_MS)).await;
    }
    let workload_start_ms = virtual_now_ms();
    let transactional_done = TransactionalProducersDone::default();
    (consumers.producers, consumers.producer_clocks) =
        spawn_producers(&cluster, &scenario, workload_start_ms, &transactional_done)?;
    consumers.spawn_later(&cluster, workload_start_ms);
    consumers.classic.spawn(&cluster, workload_start_ms, false);
    notes.extend(consumers.problems.iter().cloned());
    let mut plan = setup.fault_plan.clone();
    for fault in &mut plan.faults {
        fault.at_ms += workload_start_ms;
    }
    plan.liveness_at_ms += workload_start_ms;
    let mut target = ClusterFaultTarget::new(&mut cluster, &mut consumers, &setup);
    target.set_initial_clocks(workload_start_ms);
    {
        // The plan runs to the liveness phase unless the run exceeds its limits first.
        let plan = std::pin::pin!(run_fault_plan(FaultScheduler::new(plan), &mut target));
        let limits = std::pin::pin!(limit_exceeded(&trace));
        drop(select(plan, limits).await);
    }
    check_limits(&trace)?;
    let liveness_started_ms = virtual_now_ms();
    let bound_ms = scenario.liveness_bound_ms;
    trace.record(
        liveness_started_ms,
        "sim",
        TraceEvent::Run {
            marker: RunMarker::LivenessPhaseStarted { bound_ms },
        },
    );
    let deadline_ms = liveness_started_ms + bound_ms;
    let mut drained_at_ms = None;
    loop {
        check_limits(&trace)?;
        watch.catch_up(&trace);
        let producers_done =
            watch.producers_done() && transactional_done.at_least(setup.transactional_producers);
        if producers_done && watch.drained() {
            drained_at_ms = Some(virtual_now_ms());
            break;
        }
        if virtual_now_ms() >= deadline_ms {
            break;
        }
        madsim::time::sleep(Duration::from_millis(DRAIN_CHECK_INTERVAL_MS)).await;
    }
    trace.record(
        virtual_now_ms(),
        "sim",
        TraceEvent::Run {
            marker: RunMarker::RunFinished,
        },
    );
    let records = trace
        .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
        .unwrap_or_default();
    Ok(Simulated {
        records,
        workload_start_ms,
        drained_at_ms,
        notes,
    })
}

/// The run's error once it exceeded one of its [`RunLimits`] (the nodes stopped; see
/// `sharesim_sim::node::run_limits`).
fn check_limits(trace: &SharedTrace) -> Result<(), String> {
    match trace.limit_exceeded() {
        Some(exceeded) => Err(format!(
            "the cluster run stopped at virtual time {} ms: {exceeded}",
            virtual_now_ms()
        )),
        None => Ok(()),
    }
}

/// Completes once the run exceeded one of its limits (polled every [`DRAIN_CHECK_INTERVAL_MS`]).
async fn limit_exceeded(trace: &SharedTrace) {
    while trace.limit_exceeded().is_none() {
        madsim::time::sleep(Duration::from_millis(DRAIN_CHECK_INTERVAL_MS)).await;
    }
}
