//! The `sharesim` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use sharesim::check_command::{run_check, run_explore, CheckArgs, ExploreArgs};
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
    }
}
