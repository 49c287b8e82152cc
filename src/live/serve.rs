//! Runs a live cluster until Ctrl-C, SIGTERM or the time limit, then has the oracle judge the trace.

use std::path::PathBuf;
use std::time::Duration;

use sharesim_sim::trace::TraceRecord;

use super::cluster::{LiveCluster, LiveClusterConfig};
use crate::oracle::{Oracle, OracleConfig, OracleReport};

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
        let bootstrap: Vec<String> = cluster.broker_addrs.iter().map(|a| a.to_string()).collect();
        println!(
            "sharesim serve: listening; bootstrap.servers={}",
            bootstrap.join(",")
        );
        wait_for_stop(options.duration).await;
        let served_ms = cluster.clock.now_ms();
        let records: Vec<TraceRecord> = cluster
            .trace
            .with(|trace| trace.records().map(<[TraceRecord]>::to_vec))
            .unwrap_or_default();
        let report = Oracle::check(&options.oracle, &records);
        Ok(ServeOutcome {
            report,
            records,
            served_ms,
        })
    })
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
