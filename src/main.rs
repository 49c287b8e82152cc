//! The `sharesim` command line.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Profiles => {
            for release in Release::ALL {
                let semantics = Semantics::for_release(release);
                println!("{release}: {semantics:?}");
            }
            ExitCode::SUCCESS
        }
    }
}
