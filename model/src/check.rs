//! Running a model check and collecting one verdict per property. Generic over the model, so the
//! engine-backed model can use the same runner and report.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::hash::Hash;
use std::io::Write;
use std::time::{Duration, Instant};

use stateright::report::{ReportData, ReportDiscovery, Reporter};
use stateright::{Checker, Expectation, Model, Path, Property};

use crate::bfs::{check_bfs, BfsOptions};
use crate::config::ShareModelCfg;
use crate::share_partition::ShareModel;
use crate::state::ShareState;

/// How the state space is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// Breadth first: shortest counterexamples (with one thread).
    Bfs,
    /// Depth first: less memory.
    Dfs,
}

/// Options of one check.
#[derive(Clone, Debug)]
pub struct CheckOptions {
    /// BFS or DFS.
    pub strategy: Strategy,
    /// Checker threads.
    pub threads: usize,
    /// Symmetry reduction over members.
    pub symmetry: bool,
    /// Stop exploring below this depth (the check is then incomplete).
    pub target_max_depth: Option<usize>,
    /// Stop after this long (the check is then incomplete).
    pub timeout: Option<Duration>,
    /// Print a progress line to stderr every second.
    pub progress: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            strategy: Strategy::Bfs,
            threads: 1,
            symmetry: false,
            target_max_depth: None,
            timeout: None,
            progress: false,
        }
    }
}

/// What the check found for one property.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// `always`/`eventually`: no counterexample in the explored space.
    Holds,
    /// `always`/`eventually`: a counterexample was found.
    Violated,
    /// `sometimes`: an example was found.
    Reached,
    /// `sometimes`: no example in the explored space.
    Unreached,
}

impl Verdict {
    /// Whether the verdict fails the check.
    pub fn is_failure(self) -> bool {
        matches!(self, Verdict::Violated | Verdict::Unreached)
    }
}

/// One property's result.
pub struct PropertyResult<M: Model> {
    /// The property name.
    pub name: &'static str,
    /// always / sometimes / eventually.
    pub expectation: Expectation,
    /// The verdict.
    pub verdict: Verdict,
    /// The counterexample (violation) or example (sometimes).
    pub path: Option<Path<M::State, M::Action>>,
}

/// The result of a check.
pub struct CheckReport<M: Model> {
    /// Unique states (symmetry classes when reduced).
    pub unique_states: usize,
    /// States generated including repeats.
    pub total_states: usize,
    /// Deepest level reached.
    pub max_depth: usize,
    /// Wall-clock time of the search.
    pub elapsed: Duration,
    /// Whether the whole space was explored (no depth bound or timeout cut it).
    pub complete: bool,
    /// Per property, in the model's order.
    pub results: Vec<PropertyResult<M>>,
}

impl<M: Model> CheckReport<M> {
    /// Unique states per second.
    pub fn states_per_second(&self) -> f64 {
        self.unique_states as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// The failing results (violations, unreached `sometimes`).
    pub fn failures(&self) -> impl Iterator<Item = &PropertyResult<M>> {
        self.results.iter().filter(|r| r.verdict.is_failure())
    }

    /// The result of the named property.
    pub fn result(&self, name: &str) -> Option<&PropertyResult<M>> {
        self.results.iter().find(|r| r.name == name)
    }
}

struct StderrProgress;

impl<M: Model> Reporter<M> for StderrProgress {
    fn report_checking(&mut self, data: ReportData) {
        let seconds = data.duration.as_secs_f64().max(1e-9);
        let _ = writeln!(
            std::io::stderr(),
            "{} unique={} total={} depth={} {:.1}s {:.0} unique/s",
            if data.done { "done" } else { "checking" },
            data.unique_states,
            data.total_states,
            data.max_depth,
            seconds,
            data.unique_states as f64 / seconds,
        );
    }

    fn report_discoveries(&mut self, _: &M, _: BTreeMap<&'static str, ReportDiscovery<M>>)
    where
        M::Action: Debug + PartialEq,
        M::State: Debug + Hash + PartialEq,
    {
    }
}

/// A function from a state to its symmetry-class representative.
pub type RepresentativeFn<M> = fn(&<M as Model>::State) -> <M as Model>::State;

/// A visited state with its parent index and the action from the parent.
type Visited<M> = (<M as Model>::State, Option<(usize, <M as Model>::Action)>);

/// Checks `model`: BFS with [`check_bfs`], DFS with stateright's checker. `symmetry` is a
/// representative function applied by stateright's DFS; BFS ignores it (as stateright 0.31's does),
/// so a model reduces itself there.
pub fn run_check<M>(
    model: M,
    options: &CheckOptions,
    symmetry: Option<RepresentativeFn<M>>,
) -> CheckReport<M>
where
    M: Model + Clone + Send + Sync + 'static,
    M::State: Clone + Debug + Hash + Eq + Send + Sync + 'static,
    M::Action: Clone + Debug + PartialEq + Send + Sync + 'static,
{
    let properties = model.properties();
    let mut builder = model.clone().checker().threads(options.threads.max(1));
    if let Some(depth) = options.target_max_depth {
        builder = builder.target_max_depth(depth);
    }
    if let Some(timeout) = options.timeout {
        builder = builder.timeout(timeout);
    }
    if let Some(representative) = symmetry {
        builder = builder.symmetry_fn(representative);
    }
    let started = Instant::now();
    let (unique_states, total_states, max_depth, mut discoveries, timed_out) = match options
        .strategy
    {
        Strategy::Bfs => {
            let outcome = check_bfs(
                &model,
                &BfsOptions {
                    threads: options.threads.max(1),
                    target_max_depth: options.target_max_depth,
                    timeout: options.timeout,
                    progress: options.progress,
                },
            );
            (
                outcome.unique_states,
                outcome.total_states,
                outcome.max_depth,
                outcome.discoveries,
                outcome.timed_out,
            )
        }
        Strategy::Dfs => {
            let (unique, total, depth, discoveries) = finish(builder.spawn_dfs(), options.progress);
            let timed_out = options
                .timeout
                .is_some_and(|timeout| started.elapsed() >= timeout);
            (unique, total, depth, discoveries, timed_out)
        }
    };
    let elapsed = started.elapsed();
    let complete = options.target_max_depth.is_none() && !timed_out;
    // The parallel BFS finds shortest paths, but which of several depends on the thread schedule,
    // and stateright's DFS paths are not shortest: a counterexample is then searched again, so that
    // it is one shortest path, the same on every run.
    let research = options.strategy == Strategy::Dfs || options.threads > 1;
    let results = properties
        .iter()
        .map(|property| {
            let path = discoveries.remove(property.name).map(|found| {
                if research && property.expectation == Expectation::Always {
                    shortest(&model, property, found)
                } else {
                    found
                }
            });
            let verdict = match (&property.expectation, path.is_some()) {
                (Expectation::Sometimes, true) => Verdict::Reached,
                (Expectation::Sometimes, false) => Verdict::Unreached,
                (_, true) => Verdict::Violated,
                (_, false) => Verdict::Holds,
            };
            PropertyResult {
                name: property.name,
                expectation: property.expectation.clone(),
                verdict,
                path,
            }
        })
        .collect();
    CheckReport {
        unique_states,
        total_states,
        max_depth,
        elapsed,
        complete,
        results,
    }
}

/// States the shortest-path search may visit before it keeps the checker's path.
const SHORTEST_PATH_STATES_MAX: usize = 1_000_000;

/// stateright's BFS keeps the *last* violating path it meets for a property, not the first, so the
/// reported path can be long. A single-threaded BFS from the initial states, no deeper than the found
/// path, finds a shortest one; past [`SHORTEST_PATH_STATES_MAX`] states the found path is kept.
/// `eventually` paths end in a terminal state and are kept as found.
fn shortest<M>(
    model: &M,
    property: &Property<M>,
    found: Path<M::State, M::Action>,
) -> Path<M::State, M::Action>
where
    M: Model,
    M::State: Clone + Hash + Eq,
    M::Action: Clone + PartialEq,
{
    let wanted = |state: &M::State| match property.expectation {
        Expectation::Always => !(property.condition)(model, state),
        Expectation::Sometimes => (property.condition)(model, state),
        Expectation::Eventually => false,
    };
    if property.expectation == Expectation::Eventually {
        return found;
    }
    let depth_max = found.clone().into_actions().len();
    // Every visited state with its parent index and the action from it.
    let mut visited: Vec<Visited<M>> = Vec::new();
    let mut index: HashMap<M::State, usize> = HashMap::new();
    let mut frontier = Vec::new();
    for state in model.init_states() {
        if index.insert(state.clone(), visited.len()).is_none() {
            frontier.push(visited.len());
            visited.push((state, None));
        }
    }
    let mut actions = Vec::new();
    for _ in 0..=depth_max {
        if let Some(&hit) = frontier.iter().find(|&&i| wanted(&visited[i].0)) {
            let mut steps = Vec::new();
            let mut at = hit;
            while let Some((parent, action)) = visited[at].1.clone() {
                steps.push(action);
                at = parent;
            }
            steps.reverse();
            let init = visited[at].0.clone();
            return Path::from_actions(model, init, steps.iter()).unwrap_or(found);
        }
        let mut next_frontier = Vec::new();
        for &i in &frontier {
            actions.clear();
            model.actions(&visited[i].0, &mut actions);
            for action in actions.drain(..) {
                let Some(next) = model.next_state(&visited[i].0, action.clone()) else {
                    continue;
                };
                if !model.within_boundary(&next) || index.contains_key(&next) {
                    continue;
                }
                index.insert(next.clone(), visited.len());
                next_frontier.push(visited.len());
                visited.push((next, Some((i, action))));
            }
        }
        if visited.len() > SHORTEST_PATH_STATES_MAX || next_frontier.is_empty() {
            return found;
        }
        frontier = next_frontier;
    }
    found
}

type Finished<M> = (
    usize,
    usize,
    usize,
    std::collections::HashMap<&'static str, Path<<M as Model>::State, <M as Model>::Action>>,
);

fn finish<M, C>(checker: C, progress: bool) -> Finished<M>
where
    M: Model,
    M::State: Clone + Debug + Hash + PartialEq,
    M::Action: Clone + Debug + PartialEq,
    C: Checker<M> + Send + Sync,
{
    let checker = if progress {
        checker.join_and_report(&mut StderrProgress)
    } else {
        checker.join()
    };
    (
        checker.unique_state_count(),
        checker.state_count(),
        checker.max_depth(),
        checker.discoveries(),
    )
}

/// Checks the spec model. With `symmetry`, BFS canonicalizes inside the model and DFS uses
/// stateright's reduction with the same representative.
pub fn check_spec(
    cfg: ShareModelCfg,
    options: &CheckOptions,
) -> Result<CheckReport<ShareModel>, String> {
    let model_symmetry = options.symmetry && options.strategy == Strategy::Bfs;
    let model = ShareModelCfg {
        symmetry: model_symmetry,
        ..cfg
    }
    .into_model()?;
    let checker_symmetry: Option<fn(&ShareState) -> ShareState> =
        if options.symmetry && options.strategy == Strategy::Dfs {
            Some(<ShareState as stateright::Representative>::representative)
        } else {
            None
        };
    Ok(run_check(model, options, checker_symmetry))
}
