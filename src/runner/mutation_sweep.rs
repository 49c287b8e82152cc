//! The mutation-switch sweep (issue 6): for each switch, run a scenario with the switch on, seed after
//! seed, until the invariant the switch breaks is reported violated; report after how many seeds, and
//! what else noticed it (other invariants, the conformance replay). A switch the sweep never catches is
//! a hole in the oracle or in the scenario's faults.

use serde::Serialize;

use super::backend::{Backend, RunError};
use super::engine_backend::MutationSwitch;
use super::run::{run_scenario, RunOptions};
use crate::oracle::Verdict;
use crate::scenario::Scenario;

/// How one switch fared.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MutationCatch {
    /// The switch's name.
    pub mutation: String,
    /// The invariant it must break.
    pub breaks: String,
    /// The first seed whose run reported that invariant violated.
    pub caught_at_seed: Option<u64>,
    /// Seeds run (up to and including the catching one).
    pub seeds_run: u64,
    /// On the catching seed: every invariant reported violated, plus `conformance` if the replay
    /// through the spec's step relation diverged.
    pub noticed_by: Vec<String>,
    /// The catching violation, in one line.
    pub violation: Option<String>,
}

/// Runs `scenario` with `switch` on over `seeds` (in order) until the switch is caught.
pub fn sweep_mutation(
    backend: &dyn Backend,
    scenario: &Scenario,
    switch: &MutationSwitch,
    seeds: &[u64],
) -> Result<MutationCatch, RunError> {
    let mut mutated = scenario.clone();
    mutated.mutations = vec![switch.name.to_string()];
    let mut caught = MutationCatch {
        mutation: switch.name.to_string(),
        breaks: switch.breaks.to_string(),
        caught_at_seed: None,
        seeds_run: 0,
        noticed_by: Vec::new(),
        violation: None,
    };
    for &seed in seeds {
        let outcome = run_scenario(backend, &mutated, seed, RunOptions::default())?;
        caught.seeds_run += 1;
        let Some(Verdict::Fail(violation)) = outcome.oracle.verdict(switch.breaks) else {
            continue;
        };
        caught.caught_at_seed = Some(seed);
        caught.violation = Some(violation.to_string());
        caught.noticed_by = outcome
            .oracle
            .violations()
            .iter()
            .map(|violation| violation.code.to_string())
            .collect();
        if outcome
            .conformance
            .as_ref()
            .is_some_and(|report| !report.conforms())
        {
            caught.noticed_by.push("conformance".to_string());
        }
        break;
    }
    Ok(caught)
}

/// The sweep as a Markdown table.
pub fn mutation_table(scenario_name: &str, catches: &[MutationCatch]) -> String {
    let mut text = format!(
        "# Mutation switches on `{scenario_name}`\n\n\
         Each switch is a deliberate protocol mistake; the sweep runs the scenario with it on, seed \
         after seed, until the invariant it breaks is reported violated.\n\n\
         | switch | breaks | caught at seed | seeds run | noticed by | first violation |\n\
         |---|---|---|---|---|---|\n"
    );
    for catch in catches {
        text += &format!(
            "| `{}` | {} | {} | {} | {} | {} |\n",
            catch.mutation,
            catch.breaks,
            catch
                .caught_at_seed
                .map_or("not caught".to_string(), |seed| seed.to_string()),
            catch.seeds_run,
            catch.noticed_by.join(", "),
            catch
                .violation
                .as_deref()
                .unwrap_or("-")
                .replace('|', "\\|"),
        );
    }
    text
}
