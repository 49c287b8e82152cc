//! Runs a live cluster until Ctrl-C, SIGTERM or the time limit, then has the oracle judge the trace.

use std::path::PathBuf;
use std::time::Duration;

use sharesim_sim::trace::{RunMarker, TraceEvent, TraceRecord};

use super::cluster::{LiveCluster, LiveClusterConfig};
use crate::oracle::{Oracle, OracleConfig, OracleReport};

/// The node name of the run's own markers in the trace (the simulation uses `sim`).
const TRACE_NODE: &str = "serve";
/// The liveness bound of a run served until Ctrl-C or SIGTERM: no deadline before the end (ten years).
const UNBOUNDED_LIVENESS_MS: u64 = 10 * 365 * 24 * 3_600_000;

/// What `sharesim serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// The cluster.
    pub cluster: LiveClusterConfig,
    /// Stop after this long (none: until Ctrl-C or SIGTERM).
    pub duration: Option<Duration>,
    /// The limits the oracle judges against.
    pub oracle: OracleConfig,
    /// Write the trace here (JSON lines) at shutdown.
    pub trace_out: Option<PathBuf>,
}

/// How a live run ended.
#[derive(Debug)]
pub struct ServeOutcome {
    /// The oracle's verdicts on the run's trace.
    pub report: OracleReport,
    /// The trace's records.
    pub records: Vec<TraceRecord>,
    /// How long the cluster served, in ms.
    pub served_ms: u64,
}

/// Starts the cluster, prints where it listens, serves until stopped, and judges the trace.
pub fn serve(options: ServeOptions) -> Result<ServeOutcome, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| format!("cannot start the runtime: {error}"))?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async move {
        let cluster = LiveCluster::start(options.cluster.clone()).await?;
        // A live run pulls no fault lever: it is in the liveness phase from the moment it serves
        // (design, "Check safety first, then liveness"), so at shutdown every record the brokers
        // handed out must be acknowledged or archived, and members must have converged.
        let bound_ms = options
            .duration
            .map_or(UNBOUNDED_LIVENESS_MS, |d| d.as_millis() as u64);
        cluster.trace.record(
            cluster.clock.now_ms(),
            TRACE_NODE,
            TraceEvent::Run {
                marker: RunMarker::LivenessPhaseStarted { bound_ms },
            },
        );
        let bootstrap: Vec<String> = cluster.broker_addrs.iter().map(|a| a.to_string()).collect();
        println!(
            "sharesim serve: listening; bootstrap.servers={}",
            bootstrap.join(",")
        );
        wait_for_stop(options.duration).await;
        let served_ms = cluster.clock.now_ms();
        cluster.trace.record(
            served_ms,
            TRACE_NODE,
            TraceEvent::Run {
                marker: RunMarker::RunFinished,
            },
        );
        let records: Vec<TraceRecord> = cluster
            .trace
            .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
            .unwrap_or_default();
        let oracle = widen_for_group_configs(&options.oracle, &options.cluster);
        let report = Oracle::check(&oracle, &records);
        Ok(ServeOutcome {
            report,
            records,
            served_ms,
        })
    })
}

/// The oracle's limits widened to the largest delivery-count limit and in-flight limit any group set
/// (from the scenario or over the wire during the run): the trace does not say which group's limit a
/// share partition obeyed, so each partition is judged against the loosest one in force.
fn widen_for_group_configs(oracle: &OracleConfig, cluster: &LiveClusterConfig) -> OracleConfig {
    let mut oracle = oracle.clone();
    for (_, group) in cluster.services.group_configs.all() {
        if let Some(limit) = group.delivery_count_limit {
            let limit = u16::try_from(limit).unwrap_or(u16::MAX);
            oracle.delivery_count_limit = oracle.delivery_count_limit.max(limit);
        }
        if let Some(locks) = group.partition_max_record_locks {
            oracle.max_record_locks = oracle.max_record_locks.max(locks);
        }
    }
    oracle
}

/// Waits for Ctrl-C, SIGTERM or the time limit.
async fn wait_for_stop(duration: Option<Duration>) {
    let limit = async {
        match duration {
            Some(duration) => tokio::time::sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = limit => {}
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
