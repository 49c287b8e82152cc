//! `sharesim conform TRACE`: replays a trace's share-partition events through the spec model's step
//! relation (`crate::conform`) and reports the first step the spec does not allow.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use sharesim_sim::trace::read_json_lines;

use super::fail;
use crate::conform::conform_dead_letter_queue;

/// Arguments of `conform`.
#[derive(Args, Debug, Clone)]
pub struct ConformArgs {
    /// A JSON-lines trace (`trace.jsonl` of a run's report directory).
    pub trace: PathBuf,
    /// `group.share.delivery.count.limit` of the run (default 5, Kafka's).
    #[arg(long, default_value_t = 5)]
    pub delivery_count_limit: u16,
    /// The run's release (kafka-4.0, kafka-4.1, kafka-4.2); default: a step conforms when any
    /// release's rules allow it.
    #[arg(long)]
    pub profile: Option<String>,
    /// Whether the run's share groups have a dead-letter queue (KIP-1191): `true` or `false`;
    /// default: a group has one when its trace shows an ARCHIVING record.
    #[arg(long)]
    pub dead_letter_queue: Option<bool>,
}

/// Runs `sharesim conform`: exit 0 when every step is allowed, 1 at the first step that is not, 2 on bad
/// input.
pub fn run_conform(args: &ConformArgs) -> ExitCode {
    if args.delivery_count_limit == 0 {
        return fail("--delivery-count-limit must be at least 1");
    }
    let profile = match args
        .profile
        .as_deref()
        .map(str::parse::<sharesim_model::Profile>)
        .transpose()
    {
        Ok(profile) => profile,
        Err(message) => return fail(message),
    };
    let text = match std::fs::read_to_string(&args.trace) {
        Ok(text) => text,
        Err(error) => return fail(format!("{}: cannot read: {error}", args.trace.display())),
    };
    let records = match read_json_lines(&text) {
        Ok(records) => records,
        Err(error) => return fail(format!("{}: {error}", args.trace.display())),
    };
    let report = conform_dead_letter_queue(
        &records,
        args.delivery_count_limit,
        profile,
        args.dead_letter_queue,
    );
    match &report.first_divergence {
        None => {
            println!(
                "{}: {} share-partition steps, every step allowed by the spec ({} stale-epoch events skipped)",
                args.trace.display(),
                report.steps,
                report.stale_steps
            );
            ExitCode::SUCCESS
        }
        Some(divergence) => {
            println!(
                "{}: first step the spec does not allow: {divergence}",
                args.trace.display()
            );
            ExitCode::from(1)
        }
    }
}
