//! `sharesim serve [--brokers N] [--port P] [--scenario FILE] [--duration-s S]`: the cluster's engines
//! behind real TCP listeners on 127.0.0.1 for real Kafka clients; at shutdown (Ctrl-C, SIGTERM or the
//! duration) the oracle's verdicts on the live trace.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::{fail, load};
use crate::live::{serve, LiveClusterConfig, ServeOptions, ServeOutcome};
use crate::oracle::{OracleConfig, Verdict};
use crate::scenario::configs::broker_group_config;
use crate::scenario::{GroupType, Scenario};
use crate::sim::coordinator::group::{GroupCoordinatorConfig, ShareGroupConfig};
use crate::sim::semantics::Semantics;
use crate::sim::share::partition::{AutoOffsetReset, SharePartitionConfig};

/// Arguments of `serve`.
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Number of brokers (default 1, or the scenario's `cluster.brokers`).
    #[arg(long)]
    pub brokers: Option<u32>,
    /// Broker 1's port (broker k gets P+k-1); 0 picks free ports.
    #[arg(long, default_value_t = 9092)]
    pub port: u16,
    /// A scenario file: its profile and broker count (and topics, created at start).
    #[arg(long)]
    pub scenario: Option<PathBuf>,
    /// Stop after this many seconds (default: until Ctrl-C or SIGTERM).
    #[arg(long)]
    pub duration_s: Option<u64>,
    /// Write the live trace here (JSON lines) at shutdown.
    #[arg(long)]
    pub trace_out: Option<PathBuf>,
    /// The broker's default `share.auto.offset.reset` for groups that set none (Kafka's is `latest`;
    /// a group sets its own with IncrementalAlterConfigs or in the scenario's `groups[].configs`).
    #[arg(long, value_enum, default_value_t = OffsetReset::Latest)]
    pub share_auto_offset_reset: OffsetReset,
}

/// `share.auto.offset.reset` values `serve` takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OffsetReset {
    /// Start at the log start offset.
    Earliest,
    /// Start at the log end offset (Kafka's default).
    Latest,
}

/// Runs `serve`: exit 0 when the oracle passes the trace, 1 when it finds a violation, 2 on bad input.
pub fn run_serve(args: &ServeArgs) -> ExitCode {
    let scenario = match &args.scenario {
        Some(path) => match load(path) {
            Ok(file) => Some(file.scenario),
            Err(error) => return fail(error),
        },
        None => None,
    };
    let (cluster, oracle) = match serve_config(args, scenario.as_ref()) {
        Ok(configs) => configs,
        Err(error) => return fail(error),
    };
    let options = ServeOptions {
        cluster,
        duration: args.duration_s.map(Duration::from_secs),
        oracle,
        trace_out: args.trace_out.clone(),
    };
    match serve(options) {
        Ok(outcome) => {
            if let Some(path) = &args.trace_out {
                if let Err(error) = write_trace(path, &outcome) {
                    eprintln!("sharesim serve: cannot write {}: {error}", path.display());
                }
            }
            print!("{}", summary(&outcome));
            if outcome.report.passed() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
        Err(error) => fail(error),
    }
}

/// The live cluster and the oracle's limits `args` (and the scenario, if any) ask for: the scenario's
/// profile, broker count and topics, its `cluster.configs` `group.share.*` defaults, and its share
/// groups' `configs` set as group configs from the start (as IncrementalAlterConfigs would set them).
pub fn serve_config(
    args: &ServeArgs,
    scenario: Option<&Scenario>,
) -> Result<(LiveClusterConfig, OracleConfig), String> {
    let mut cluster = LiveClusterConfig::default();
    let mut semantics = Semantics::default();
    let mut broker = GroupCoordinatorConfig::new(&semantics);
    if let Some(scenario) = scenario {
        semantics = Semantics::for_release(scenario.profile);
        cluster.brokers = i32::try_from(scenario.cluster.brokers).unwrap_or(i32::MAX);
        cluster.topics = scenario
            .topics
            .iter()
            .map(|t| (t.name.clone(), i32::try_from(t.partitions).unwrap_or(1)))
            .collect();
        let entries = scenario
            .cluster
            .configs
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()));
        broker = broker_group_config(entries, scenario.profile)
            .map_err(|(name, problem)| format!("cluster.configs.{name}: {problem:?}"))?;
        for group in &scenario.groups {
            if group.group_type != GroupType::Share {
                continue;
            }
            let entries = group
                .configs
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str()));
            let config = ShareGroupConfig::from_entries(entries, &broker)
                .map_err(|error| format!("groups.{}.configs: {error}", group.name))?;
            cluster.services.group_configs.set(&group.name, config);
        }
    }
    if let Some(brokers) = args.brokers {
        cluster.brokers = i32::try_from(brokers).unwrap_or(i32::MAX);
    }
    cluster.port = args.port;
    let share = &mut cluster.services.share_partition;
    *share = SharePartitionConfig::for_semantics(&semantics);
    share.record_lock_duration_ms = u64::from(broker.record_lock_duration_ms);
    share.delivery_count_limit = u16::try_from(broker.delivery_count_limit).unwrap_or(u16::MAX);
    share.max_record_locks = broker.partition_max_record_locks;
    share.auto_offset_reset = match args.share_auto_offset_reset {
        OffsetReset::Earliest => AutoOffsetReset::Earliest,
        OffsetReset::Latest => AutoOffsetReset::Latest,
    };
    cluster.services.semantics = semantics;
    let oracle = OracleConfig {
        delivery_count_limit: share.delivery_count_limit,
        max_record_locks: share.max_record_locks,
        ..OracleConfig::default()
    };
    Ok((cluster, oracle))
}

/// The oracle's verdicts, one line each, and the trace's size.
pub fn summary(outcome: &ServeOutcome) -> String {
    let mut text = format!(
        "sharesim serve: served {} ms, {} trace events; oracle: {}\n",
        outcome.served_ms,
        outcome.records.len(),
        if outcome.report.passed() {
            "PASSED"
        } else {
            "FAILED"
        }
    );
    for (code, verdict) in &outcome.report.verdicts {
        let line = match verdict {
            Verdict::Pass => "pass".to_string(),
            Verdict::Fail(violation) => format!("FAIL {violation}"),
            Verdict::Undecided(reason) => format!("undecided ({reason})"),
        };
        text.push_str(&format!("  {code}: {line}\n"));
    }
    for (name, value) in outcome.report.metrics.iter() {
        text.push_str(&format!("  metric {name}: {value}\n"));
    }
    text
}

fn write_trace(path: &PathBuf, outcome: &ServeOutcome) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    for record in &outcome.records {
        serde_json::to_writer(&mut out, record)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}
