//! The `sharesim` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sharesim::check_command::{run_check, run_explore, CheckArgs, ExploreArgs};
use sharesim::cli::bench_command::{run_bench, BenchArgs};
use sharesim::cli::conform_command::{run_conform, ConformArgs};
use sharesim::cli::library_command::{run_library, LibraryArgs};
use sharesim::cli::merge_command::{run_merge, MergeArgs};
use sharesim::cli::mutations_command::{run_mutations, MutationsArgs};
use sharesim::cli::replay_command::{run_replay, ReplayArgs};
use sharesim::cli::run_command::{run_run, RunArgs};
use sharesim::cli::serve_command::{run_serve, ServeArgs};
use sharesim::cli::sweep_command::{run_sweep, SweepArgs};
use sharesim::sim::semantics::{Release, Semantics};

/// Deterministic simulation and model checking of Kafka share groups (KIP-932).
#[derive(Parser)]
#[command(name = "sharesim", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the behaviour profiles sharesim reproduces.
    Profiles,
    /// Model-check one share partition exhaustively (stateright).
    Check(CheckArgs),
    /// Serve stateright's Explorer for the share-partition model on 127.0.0.1.
    Explore(ExploreArgs),
    /// Run a scenario for one seed: a terminal summary and a report directory.
    Run(RunArgs),
    /// Run a scenario over many seeds and parameter values (shardable across machines).
    Sweep(SweepArgs),
    /// Join the results of sweep shards into one report.
    Merge(MergeArgs),
    /// Re-run a seed, confirm its trace hash, print one record's timeline.
    Replay(ReplayArgs),
    /// Replay a trace through the spec's step relation; report the first step it does not allow.
    Conform(ConformArgs),
    /// Print the engine, simulator and model-checker performance figures.
    Bench(BenchArgs),
    /// Sweep each mutation switch over seeds until the oracle catches it; print the table.
    Mutations(MutationsArgs),
    /// Run the scenario library's studies; write their reports and the index.
    Library(LibraryArgs),
    /// Serve the cluster's engines to real Kafka clients on 127.0.0.1; the oracle judges the trace at exit.
    Serve(ServeArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) if error.use_stderr() => {
            // One clear line for a bad flag, not a usage dump.
            let message = error.to_string();
            let first = message.lines().next().unwrap_or("invalid arguments");
            eprintln!("sharesim: {}", first.trim_start_matches("error: "));
            return ExitCode::from(2);
        }
        Err(error) => {
            let _ = error.print();
            return ExitCode::SUCCESS;
        }
    };
    match cli.command {
        Command::Profiles => {
            for release in Release::ALL {
                let semantics = Semantics::for_release(release);
                println!("{release}: {semantics:?}");
            }
            ExitCode::SUCCESS
        }
        Command::Check(args) => run_check(&args),
        Command::Explore(args) => run_explore(&args),
        Command::Run(args) => run_run(&args),
        Command::Sweep(args) => run_sweep(&args),
        Command::Merge(args) => run_merge(&args),
        Command::Replay(args) => run_replay(&args),
        Command::Conform(args) => run_conform(&args),
        Command::Bench(args) => run_bench(&args),
        Command::Mutations(args) => run_mutations(&args),
        Command::Library(args) => run_library(&args),
        Command::Serve(args) => run_serve(&args),
    }
}
