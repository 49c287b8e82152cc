//! The bound of issue 3's figure, checked with the spec model alone (no CLI build needed):
//! `cargo run --release -p sharesim-model --example check_figure -- RECORDS THREADS`.

use sharesim_model::check::{check_spec, CheckOptions, Strategy};
use sharesim_model::ShareModelCfg;

fn main() {
    let mut args = std::env::args().skip(1);
    let records: u8 = args.next().and_then(|a| a.parse().ok()).unwrap_or(3);
    let threads: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2);
    let cfg = ShareModelCfg {
        records,
        members: 3,
        delivery_count_limit: 3,
        failovers_max: 1,
        write_failures_max: 1,
        pending_writes_max: 1,
        witnesses: false,
        ..ShareModelCfg::default()
    };
    let options = CheckOptions {
        strategy: Strategy::Bfs,
        threads,
        symmetry: true,
        progress: true,
        ..CheckOptions::default()
    };
    let report = check_spec(cfg, &options).expect("valid bounds");
    let seconds = report.elapsed.as_secs_f64();
    println!(
        "records {records}: unique {} total {} depth {} complete {} {seconds:.2} s {:.0} unique/s",
        report.unique_states,
        report.total_states,
        report.max_depth,
        report.complete,
        report.states_per_second()
    );
    for result in &report.results {
        println!("  {:?} {}", result.verdict, result.name);
    }
}
