//! `sharesim check` and `sharesim explore`: model-check one share partition with stateright.
//!
//! The model is chosen with `--model`: `spec` (the `sharesim-model` spec, the default) or
//! `implementation` (the real engine and share-coordinator shard, see `crate::pairing`), which also
//! reports the refinement verdict. Both print the same figures and the same counterexample JSON.

use std::fmt::Debug;
use std::hash::Hash;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use sharesim_model::check::{check_spec, CheckOptions, CheckReport, Strategy, Verdict};
use sharesim_model::counterexample::{counterexample, Counterexample};
use sharesim_model::{AcquireModes, Profile, ShareModel, ShareModelCfg, SpecMutation};
use stateright::{Expectation, Model, Path};

use crate::pairing::emit_scenario::scenario_from_counterexample;
use crate::pairing::{
    check_implementation, impl_counterexample, EngineMutation, ImplModel, REFINEMENT,
};

/// Which model to check.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelKind {
    /// The spec model (`sharesim-model`).
    Spec,
    /// The engine-backed implementation model with the refinement check (`crate::pairing`).
    Implementation,
}

impl ModelKind {
    fn parse(name: &str) -> Result<ModelKind, String> {
        match name {
            "spec" => Ok(ModelKind::Spec),
            "implementation" => Ok(ModelKind::Implementation),
            other => Err(format!(
                "unknown model `{other}`; valid: spec, implementation"
            )),
        }
    }
}

/// The bounds of the share-partition model, shared by `check` and `explore`.
#[derive(Args, Debug, Clone)]
pub struct BoundsArgs {
    /// Which model: `spec` or `implementation` (the real engine, with the refinement check).
    #[arg(long, default_value = "spec")]
    pub model: String,
    /// Behaviour profile: kafka-4.0, kafka-4.1, kafka-4.2.
    #[arg(long, default_value = "kafka-4.2")]
    pub profile: String,
    /// Records produced in total (1..=8).
    #[arg(long, default_value_t = 2)]
    pub records: u8,
    /// Records per log batch (each produce appends one log batch).
    #[arg(long, default_value_t = 1)]
    pub log_batch_size: u8,
    /// Consumer members (1..=4).
    #[arg(long, default_value_t = 2)]
    pub members: u8,
    /// group.share.delivery.count.limit.
    #[arg(long, default_value_t = 2)]
    pub delivery_count_limit: u8,
    /// group.share.partition.max.record.locks.
    #[arg(long, default_value_t = 4)]
    pub max_in_flight: u8,
    /// max.poll.records (MaxRecords per acquire).
    #[arg(long, default_value_t = 2)]
    pub max_records: u8,
    /// share.acquire.mode: batch_optimized, record_limit or both.
    #[arg(long, default_value = "batch_optimized")]
    pub acquire_mode: String,
    /// Leader failovers allowed.
    #[arg(long, default_value_t = 0)]
    pub failovers: u8,
    /// Persister write failures allowed.
    #[arg(long, default_value_t = 0)]
    pub write_failures: u8,
    /// Lock expiries allowed (default: unbounded).
    #[arg(long)]
    pub lock_expiries: Option<u8>,
    /// Log-start-offset moves allowed.
    #[arg(long, default_value_t = 0)]
    pub log_start_moves: u8,
    /// Corrupt batches allowed.
    #[arg(long, default_value_t = 0)]
    pub corrupt_batches: u8,
    /// Deserialization errors allowed.
    #[arg(long, default_value_t = 0)]
    pub deserialization_errors: u8,
    /// Group offset resets allowed.
    #[arg(long, default_value_t = 0)]
    pub offset_resets: u8,
    /// Persister writes in flight at once (1..=4).
    #[arg(long, default_value_t = 2)]
    pub pending_writes: u8,
    /// A deliberately wrong variant of the spec (see `sharesim check --list-mutations`).
    #[arg(long)]
    pub mutation: Option<String>,
    /// Do not record reachability events: smaller state space, fewer `sometimes` properties.
    #[arg(long)]
    pub no_witnesses: bool,
    /// The group has a dead-letter queue (KIP-1191, Kafka 4.4): REJECT and the delivery-count limit
    /// go through ARCHIVING, and the DEAD-LETTER property is checked (with `--model implementation`
    /// the engine runs with `dlq_enabled`).
    #[arg(long)]
    pub dead_letter_queue: bool,
    /// A deliberately wrong engine variant for `--model implementation` (the names are listed by
    /// [`engine_mutation_names`]).
    #[arg(long, help = engine_mutation_help())]
    pub engine_mutation: Option<String>,
}

impl BoundsArgs {
    /// The model configuration, or one line saying which flag is wrong.
    pub fn to_cfg(&self) -> Result<ShareModelCfg, String> {
        let profile: Profile = self.profile.parse()?;
        let acquire_modes: AcquireModes = self.acquire_mode.parse()?;
        let mutation = self
            .mutation
            .as_deref()
            .map(str::parse::<SpecMutation>)
            .transpose()?;
        let cfg = ShareModelCfg {
            profile,
            records: self.records,
            log_batch_size: self.log_batch_size,
            members: self.members,
            delivery_count_limit: self.delivery_count_limit,
            max_in_flight_records: self.max_in_flight,
            max_records_per_acquire: self.max_records,
            acquire_modes,
            failovers_max: self.failovers,
            write_failures_max: self.write_failures,
            lock_expiries_max: self.lock_expiries,
            log_start_moves_max: self.log_start_moves,
            corrupt_batches_max: self.corrupt_batches,
            deserialization_errors_max: self.deserialization_errors,
            offset_resets_max: self.offset_resets,
            pending_writes_max: self.pending_writes,
            mutation,
            witnesses: !self.no_witnesses,
            symmetry: false,
            // The checks read uncommitted data; a trace replay sets aborted offsets.
            aborted_offsets: 0,
            dead_letter_queue: self.dead_letter_queue,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// The engine mutation named by `--engine-mutation`.
    pub fn to_engine_mutation(&self) -> Result<Option<EngineMutation>, String> {
        self.engine_mutation
            .as_deref()
            .map(|name| {
                serde_json::from_value(serde_json::Value::String(name.to_string())).map_err(|_| {
                    format!(
                        "unknown engine mutation `{name}`; valid: {}",
                        engine_mutation_names().join(", ")
                    )
                })
            })
            .transpose()
    }
}

/// The engine mutations `--engine-mutation` accepts: the mutation switches that live in the
/// share-partition engine, in kebab case (derived from the switch list, so the help cannot go stale).
pub fn engine_mutation_names() -> Vec<String> {
    crate::runner::MUTATION_SWITCHES
        .iter()
        .map(|switch| switch.name.replace('_', "-"))
        .filter(|name| parse_engine_mutation(name).is_some())
        .collect()
}

fn parse_engine_mutation(name: &str) -> Option<EngineMutation> {
    serde_json::from_value(serde_json::Value::String(name.to_string())).ok()
}

fn engine_mutation_help() -> String {
    format!(
        "A deliberately wrong engine variant for `--model implementation`: {}",
        engine_mutation_names().join(", ")
    )
}

/// `sharesim check`.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    #[command(flatten)]
    pub bounds: BoundsArgs,
    /// Breadth-first search (the default; shortest counterexamples with one thread).
    #[arg(long, conflicts_with = "dfs")]
    pub bfs: bool,
    /// Depth-first search.
    #[arg(long)]
    pub dfs: bool,
    /// Checker threads.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Symmetry reduction over members.
    #[arg(long)]
    pub symmetry: bool,
    /// Explore only this deep (the check is then incomplete).
    #[arg(long)]
    pub target_max_depth: Option<usize>,
    /// Stop after this many seconds (the check is then incomplete).
    #[arg(long)]
    pub timeout_secs: Option<u64>,
    /// Write the first counterexample (or, with none, nothing) as JSON to this file.
    #[arg(long)]
    pub counterexample_json: Option<PathBuf>,
    /// Write the first counterexample as a scripted scenario to this file: its steps drive the engine
    /// backend (`sharesim run FILE`) through the same path, expecting the same invariant violated.
    #[arg(long)]
    pub emit_scenario: Option<PathBuf>,
    /// Also print the example path of every reached `sometimes` property.
    #[arg(long)]
    pub examples: bool,
    /// No progress lines on stderr.
    #[arg(long)]
    pub quiet: bool,
    /// List the mutations and exit.
    #[arg(long)]
    pub list_mutations: bool,
}

/// `sharesim explore`.
#[derive(Args, Debug, Clone)]
pub struct ExploreArgs {
    #[command(flatten)]
    pub bounds: BoundsArgs,
    /// Port on 127.0.0.1 for stateright's Explorer.
    #[arg(long, default_value_t = 3000)]
    pub port: u16,
}

fn fail(message: impl AsRef<str>) -> ExitCode {
    eprintln!("sharesim: {}", message.as_ref());
    ExitCode::from(2)
}

/// Runs `sharesim check`: exit 0 when every property holds and every `sometimes` is reached, 1 on a
/// violation or an unreached `sometimes`, 2 on bad flags.
pub fn run_check(args: &CheckArgs) -> ExitCode {
    if args.list_mutations {
        for mutation in SpecMutation::ALL {
            println!("{mutation}");
        }
        return ExitCode::SUCCESS;
    }
    let kind = match ModelKind::parse(&args.bounds.model) {
        Ok(kind) => kind,
        Err(message) => return fail(message),
    };
    let cfg = match args.bounds.to_cfg() {
        Ok(cfg) => cfg,
        Err(message) => return fail(message),
    };
    if args.threads == 0 || args.threads > 256 {
        return fail(format!("--threads must be 1..=256, got {}", args.threads));
    }
    let options = CheckOptions {
        strategy: if args.dfs {
            Strategy::Dfs
        } else {
            Strategy::Bfs
        },
        threads: args.threads,
        symmetry: args.symmetry,
        target_max_depth: args.target_max_depth,
        timeout: args.timeout_secs.map(Duration::from_secs),
        progress: !args.quiet,
    };
    match kind {
        ModelKind::Spec => {
            println!("model: spec, {}", describe_cfg(&cfg));
            println!(
                "search: {}, threads {}, symmetry {}",
                if args.dfs { "dfs" } else { "bfs" },
                options.threads,
                if options.symmetry { "on" } else { "off" }
            );
            // The model as `check_spec` builds it: BFS symmetry canonicalizes inside the model.
            let model_symmetry = options.symmetry && options.strategy == Strategy::Bfs;
            let model = ShareModel::new(ShareModelCfg {
                symmetry: model_symmetry,
                ..cfg.clone()
            });
            let report = match check_spec(cfg, &options) {
                Ok(report) => report,
                Err(message) => return fail(message),
            };
            print_report(&report, args, |name, path| {
                counterexample(&model, name, path)
            })
        }
        ModelKind::Implementation => run_check_implementation(args, cfg, &options),
    }
}

fn run_check_implementation(
    args: &CheckArgs,
    cfg: ShareModelCfg,
    options: &CheckOptions,
) -> ExitCode {
    let mutation = match args.bounds.to_engine_mutation() {
        Ok(mutation) => mutation,
        Err(message) => return fail(message),
    };
    let model = match ImplModel::new(cfg, mutation) {
        Ok(model) => model,
        Err(message) => return fail(message),
    };
    println!(
        "model: implementation, {}, engine mutation {}",
        describe_cfg(&model.cfg),
        mutation.map_or("none".to_string(), |m| format!("{m:?}"))
    );
    println!(
        "search: {}, threads {}, symmetry off (member ids live in the engine)",
        if args.dfs { "dfs" } else { "bfs" },
        options.threads,
    );
    let report = match check_implementation(model.cfg.clone(), mutation, options) {
        Ok(report) => report,
        Err(message) => return fail(message),
    };
    let refinement = report.result(REFINEMENT).map(|result| result.verdict);
    println!(
        "refinement: {}",
        match refinement {
            Some(Verdict::Holds) => "holds (every engine step is a legal spec step)",
            _ => "VIOLATED",
        }
    );
    if let Some(path) = report
        .result(REFINEMENT)
        .and_then(|result| result.path.clone())
    {
        if let Some(divergence) = path.last_state().divergence.as_ref() {
            println!("{divergence}");
        }
    }
    print_report(&report, args, |name, path| {
        impl_counterexample(&model, name, path)
    })
}

fn describe_cfg(cfg: &ShareModelCfg) -> String {
    // Named only when on, so the line without the DLQ stays as it was.
    let dead_letter_queue = if cfg.dead_letter_queue {
        ", dead-letter queue on"
    } else {
        ""
    };
    format!(
        "profile {}, records {}, log batch {}, members {}, delivery limit {}, max in-flight {}, \
         max records {}, acquire {:?}, failovers {}, write failures {}, lock expiries {}, \
         log-start moves {}, corrupt batches {}, deserialization errors {}, offset resets {}, \
         pending writes {}, witnesses {}, mutation {}{dead_letter_queue}",
        cfg.profile,
        cfg.records,
        cfg.log_batch_size,
        cfg.members,
        cfg.delivery_count_limit,
        cfg.max_in_flight_records,
        cfg.max_records_per_acquire,
        cfg.acquire_modes,
        cfg.failovers_max,
        cfg.write_failures_max,
        cfg.lock_expiries_max
            .map_or("unbounded".to_string(), |n| n.to_string()),
        cfg.log_start_moves_max,
        cfg.corrupt_batches_max,
        cfg.deserialization_errors_max,
        cfg.offset_resets_max,
        cfg.pending_writes_max,
        cfg.witnesses,
        cfg.mutation.map_or("none".to_string(), |m| m.to_string()),
    )
}

/// Prints the figures and verdicts, the failing paths as numbered steps and JSON, and returns the
/// exit code. `to_counterexample` names a path's steps.
pub fn print_report<M>(
    report: &CheckReport<M>,
    args: &CheckArgs,
    to_counterexample: impl Fn(&str, Path<M::State, M::Action>) -> Counterexample,
) -> ExitCode
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
{
    println!("unique states: {}", report.unique_states);
    println!("total states: {}", report.total_states);
    println!("max depth: {}", report.max_depth);
    println!("seconds: {:.2}", report.elapsed.as_secs_f64());
    println!(
        "unique states per second: {:.0}",
        report.states_per_second()
    );
    if let Some(cpu_seconds) = process_cpu_seconds().filter(|&seconds| seconds >= 0.1) {
        // On a shared machine wall-clock rates say little; CPU time shows the checker's own cost.
        let per_cpu_second = report.unique_states as f64 / cpu_seconds.max(1e-9);
        println!("cpu seconds: {cpu_seconds:.2}");
        println!("unique states per cpu second: {per_cpu_second:.0}");
    }
    println!(
        "complete: {}",
        if report.complete {
            "yes"
        } else {
            "no (depth bound or timeout)"
        }
    );
    println!("properties:");
    for result in &report.results {
        let verdict = match result.verdict {
            Verdict::Holds => "holds",
            Verdict::Violated => "VIOLATED",
            Verdict::Reached => "reached",
            Verdict::Unreached if !report.complete => "UNREACHED (search incomplete)",
            Verdict::Unreached => "UNREACHED",
        };
        let expectation = match result.expectation {
            Expectation::Always => "always",
            Expectation::Sometimes => "sometimes",
            Expectation::Eventually => "eventually",
        };
        println!("  {verdict:<9} {expectation:<10} {}", result.name);
    }
    let mut json_written = false;
    for result in &report.results {
        let show = result.verdict == Verdict::Violated
            || (args.examples && result.verdict == Verdict::Reached);
        let Some(path) = result.path.clone().filter(|_| show) else {
            continue;
        };
        let example = to_counterexample(result.name, path);
        let heading = if result.verdict == Verdict::Violated {
            "counterexample"
        } else {
            "example"
        };
        println!(
            "\n{heading} for \"{}\" ({} steps):",
            result.name,
            example.steps.len()
        );
        print!("{}", example.numbered_steps());
        let json = serde_json::to_string_pretty(&example).expect("counterexamples serialize");
        println!("json:\n{json}");
        if result.verdict == Verdict::Violated && !json_written {
            if let Some(file) = &args.counterexample_json {
                if let Err(error) = std::fs::write(file, format!("{json}\n")) {
                    eprintln!("sharesim: cannot write {}: {error}", file.display());
                    return ExitCode::from(2);
                }
            }
            if let Some(file) = &args.emit_scenario {
                if let Err(message) = emit_scenario(&example, file) {
                    eprintln!("sharesim: --emit-scenario: {message}");
                    return ExitCode::from(2);
                }
            }
            json_written = true;
        }
    }
    if let (Some(file), false) = (&args.emit_scenario, json_written) {
        println!("no counterexample: {} not written", file.display());
    }
    let violated: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Violated)
        .map(|r| r.name)
        .collect();
    let unreached: Vec<&str> = report
        .results
        .iter()
        .filter(|r| r.verdict == Verdict::Unreached)
        .map(|r| r.name)
        .collect();
    if violated.is_empty() && unreached.is_empty() {
        println!("\nresult: ok");
        return ExitCode::SUCCESS;
    }
    let mut reasons = Vec::new();
    if !violated.is_empty() {
        reasons.push(format!("violated: {}", violated.join("; ")));
    }
    if !unreached.is_empty() {
        reasons.push(format!("unreached: {}", unreached.join("; ")));
    }
    println!("\nresult: FAILED ({})", reasons.join(" | "));
    ExitCode::from(1)
}

/// Writes `example` as a scripted scenario to `file` (see `crate::pairing::emit_scenario`).
fn emit_scenario(example: &Counterexample, file: &std::path::Path) -> Result<(), String> {
    let (text, _, warnings) = scenario_from_counterexample(example)?;
    for warning in warnings {
        eprintln!("sharesim: warning: {warning}");
    }
    std::fs::write(file, text)
        .map_err(|error| format!("cannot write {}: {error}", file.display()))?;
    println!(
        "scenario: {} (replay it with `sharesim run {}`)",
        file.display(),
        file.display()
    );
    Ok(())
}

/// User plus system CPU time of this process so far, from `/proc/self/stat` (Linux; `None` elsewhere).
/// Assumes the usual 100 clock ticks per second.
fn process_cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// Runs `sharesim explore`: serves stateright's Explorer on 127.0.0.1 until interrupted.
pub fn run_explore(args: &ExploreArgs) -> ExitCode {
    let kind = match ModelKind::parse(&args.bounds.model) {
        Ok(kind) => kind,
        Err(message) => return fail(message),
    };
    let cfg = match args.bounds.to_cfg() {
        Ok(cfg) => cfg,
        Err(message) => return fail(message),
    };
    let address = ("127.0.0.1", args.port);
    // stateright's server panics on a bind error; check the port first to fail with one line.
    if let Err(error) = TcpListener::bind(address) {
        return fail(format!("cannot listen on 127.0.0.1:{}: {error}", args.port));
    }
    match kind {
        ModelKind::Spec => {
            let model = match cfg.into_model() {
                Ok(model) => model,
                Err(message) => return fail(message),
            };
            eprintln!("serving the Explorer on http://127.0.0.1:{}/", args.port);
            let _ = model.checker().serve(address);
        }
        ModelKind::Implementation => {
            let mutation = match args.bounds.to_engine_mutation() {
                Ok(mutation) => mutation,
                Err(message) => return fail(message),
            };
            let model = match ImplModel::new(cfg, mutation) {
                Ok(model) => model,
                Err(message) => return fail(message),
            };
            eprintln!("serving the Explorer on http://127.0.0.1:{}/", args.port);
            let _ = model.checker().serve(address);
        }
    }
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct TestCli {
        #[command(flatten)]
        check: CheckArgs,
    }

    fn args(flags: &[&str]) -> CheckArgs {
        let mut argv = vec!["sharesim"];
        argv.extend_from_slice(flags);
        TestCli::try_parse_from(argv).expect("flags parse").check
    }

    fn code(exit: ExitCode) -> String {
        format!("{exit:?}")
    }

    #[test]
    fn bad_bounds_are_one_line_errors() {
        for (flags, needle) in [
            (&["--profile", "kafka-3.9"][..], "unknown profile"),
            (&["--records", "0"][..], "--records"),
            (&["--records", "9"][..], "--records"),
            (&["--mutation", "nope"][..], "unknown mutation"),
            (
                &["--profile", "kafka-4.1", "--acquire-mode", "record_limit"][..],
                "record_limit",
            ),
            (&["--acquire-mode", "fast"][..], "unknown acquire mode"),
            (&["--pending-writes", "0"][..], "--pending-writes"),
        ] {
            let message = args(flags).bounds.to_cfg().expect_err("invalid bounds");
            assert!(message.contains(needle), "{flags:?}: {message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
        assert!(matches!(
            ModelKind::parse("implementation"),
            Ok(ModelKind::Implementation)
        ));
        let unknown = ModelKind::parse("engine").expect_err("unknown model");
        assert!(unknown.contains("valid: spec, implementation"), "{unknown}");
    }

    /// Every engine mutation is named by `--engine-mutation`'s help and its error, and each name parses.
    #[test]
    fn engine_mutation_help_lists_every_engine_switch() {
        let names = engine_mutation_names();
        assert_eq!(names.len(), 7, "{names:?}");
        assert!(names.contains(&"duplicate-acquired-range".to_string()));
        for name in &names {
            let parsed = args(&["--engine-mutation", name])
                .bounds
                .to_engine_mutation();
            assert!(matches!(parsed, Ok(Some(_))), "{name}: {parsed:?}");
        }
        let error = args(&["--engine-mutation", "nope"])
            .bounds
            .to_engine_mutation()
            .expect_err("unknown");
        assert!(error.contains(&names.join(", ")), "{error}");
        assert!(engine_mutation_help().contains(&names.join(", ")));
    }

    #[test]
    fn a_passing_check_exits_zero_and_a_mutation_exits_one() {
        let small = [
            "--records",
            "1",
            "--members",
            "1",
            "--delivery-count-limit",
            "1",
            "--quiet",
        ];
        assert_eq!(code(run_check(&args(&small))), code(ExitCode::SUCCESS));
        let mut mutated = small.to_vec();
        mutated.extend_from_slice(&["--mutation", "expiry-ignores-delivery-limit"]);
        assert_eq!(code(run_check(&args(&mutated))), code(ExitCode::from(1)));
        let mut bad = small.to_vec();
        bad.extend_from_slice(&["--threads", "0"]);
        assert_eq!(code(run_check(&args(&bad))), code(ExitCode::from(2)));
    }

    /// Spec 1.2 #10: `--dead-letter-queue` turns the model's DLQ on; its check passes, its mutation
    /// is caught (exit 1), and the implementation model (the engine with its DLQ) passes it.
    #[test]
    fn the_dead_letter_queue_flag_checks_archiving() {
        let small = [
            "--records",
            "1",
            "--members",
            "1",
            "--delivery-count-limit",
            "1",
            "--quiet",
            "--dead-letter-queue",
        ];
        let cfg = args(&small).bounds.to_cfg().expect("valid");
        assert!(cfg.dead_letter_queue);
        assert!(
            !args(&small[..7])
                .bounds
                .to_cfg()
                .expect("valid")
                .dead_letter_queue
        );
        assert!(describe_cfg(&cfg).ends_with("dead-letter queue on"));
        assert_eq!(code(run_check(&args(&small))), code(ExitCode::SUCCESS));
        let mut mutated = small.to_vec();
        mutated.extend_from_slice(&["--mutation", "dead-letter-failure-redelivers"]);
        assert_eq!(code(run_check(&args(&mutated))), code(ExitCode::from(1)));
        // The implementation model pairs the engine's DLQ (`dlq_enabled`): refinement holds.
        let mut implementation = small.to_vec();
        implementation.extend_from_slice(&["--model", "implementation"]);
        assert!(
            args(&implementation)
                .bounds
                .to_cfg()
                .expect("valid")
                .dead_letter_queue
        );
        assert_eq!(
            code(run_check(&args(&implementation))),
            code(ExitCode::SUCCESS)
        );
        // Scripted scenarios have no DLQ step: emitting one is refused (exit 2), nothing written.
        let file = std::env::temp_dir().join(format!("sharesim-dlq-{}.json", std::process::id()));
        let mut emit = small.to_vec();
        emit[5] = "2";
        emit.extend_from_slice(&["--mutation", "dead-letter-failure-redelivers"]);
        emit.extend_from_slice(&["--emit-scenario", file.to_str().expect("utf-8 temp path")]);
        assert_eq!(code(run_check(&args(&emit))), code(ExitCode::from(2)));
        assert!(!file.exists());
    }

    #[test]
    fn the_counterexample_file_holds_the_json() {
        let file = std::env::temp_dir().join(format!("sharesim-cx-{}.json", std::process::id()));
        let path = file.to_str().expect("utf-8 temp path");
        let flags = [
            "--records",
            "1",
            "--members",
            "1",
            "--delivery-count-limit",
            "1",
            "--quiet",
            "--dfs",
            "--mutation",
            "early-ack-response",
            "--counterexample-json",
            path,
        ];
        assert_eq!(code(run_check(&args(&flags))), code(ExitCode::from(1)));
        let json = std::fs::read_to_string(&file).expect("written");
        let example: Counterexample = serde_json::from_str(&json).expect("a counterexample");
        assert_eq!(
            example.property,
            sharesim_model::share_partition::names::ACK_OUTCOME
        );
        let _ = std::fs::remove_file(&file);
    }

    /// Issue 7: `--emit-scenario` writes the first counterexample as a scripted scenario that the
    /// scenario parser accepts, with the engine's matching mutation switch and the violated invariant.
    #[test]
    fn emit_scenario_writes_a_scripted_scenario() {
        let file = std::env::temp_dir().join(format!("sharesim-emit-{}.json", std::process::id()));
        let path = file.to_str().expect("utf-8 temp path");
        let flags = [
            "--records",
            "1",
            "--members",
            "1",
            "--quiet",
            "--mutation",
            "expiry-ignores-delivery-limit",
            "--emit-scenario",
            path,
        ];
        assert_eq!(code(run_check(&args(&flags))), code(ExitCode::from(1)));
        let text = std::fs::read_to_string(&file).expect("written");
        let scenario = crate::scenario::parse_scenario("emitted.json", &text).expect("valid");
        assert_eq!(scenario.mutations, ["expiry_ignores_delivery_limit"]);
        assert!(!scenario.script.is_empty());
        assert!(text.contains("\"DC-LIMIT\""), "{text}");
        let _ = std::fs::remove_file(&file);
        let low = [
            "--records",
            "1",
            "--members",
            "1",
            "--delivery-count-limit",
            "1",
            "--quiet",
            "--mutation",
            "expiry-ignores-delivery-limit",
            "--emit-scenario",
            path,
        ];
        assert_eq!(code(run_check(&args(&low))), code(ExitCode::from(2)));
    }
}
