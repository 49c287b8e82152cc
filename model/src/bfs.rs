//! A parallel breadth-first checker for any stateright [`Model`], level by level.
//!
//! stateright 0.31's BFS carries every state's whole action path (a fresh `Vec` per generated
//! successor, duplicates included), looks every property's name up in a SipHash-keyed map at every
//! state, and shares one `DashMap` of fingerprints; together about half of a check's time at the
//! bounds of issue 3. This checker keeps the same semantics (the same states, counts and verdicts:
//! `always` and `sometimes` at every state within the depth bound, `eventually` at states without
//! successors, with the same per-path bits, and the same stop when every property has a discovery)
//! and spends its time in the model instead:
//!
//! - the seen set is one table of fingerprints, open addressing over atomic slots, filled by the
//!   threads without locks; the successors of a few states are fingerprinted first and their
//!   slots loaded together, so that their cache misses overlap;
//! - a level's states are split into chunks that the threads take in turn; each thread keeps its own
//!   next level, action buffer, discoveries and parent links, merged when the level ends;
//! - a discovery is a fingerprint: its path is rebuilt at the end from the parent links, replaying
//!   the model from an initial state and matching each successor's fingerprint.
//!
//! Level by level, the first discovery of a property is at the shallowest depth: its path is a
//! shortest one. Of several at that depth the smallest fingerprint wins, so verdicts and paths do
//! not depend on the thread schedule (a parent link may: the first of several parents at one depth
//! that inserts the state wins; the path is still a shortest one).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use stateright::{Expectation, Model, Path, Property};

/// States a thread takes from a level at a time.
const CHUNK_STATES: usize = 512;
/// States whose successors are looked up in the seen set together.
const TOUCH_GROUP_STATES: usize = 4;
/// The most properties a model may have (one bit each).
const PROPERTIES_MAX: usize = 64;

/// A 64-bit fingerprint hasher: multiply-fold per 16 bytes (as wyhash and aHash do), with the
/// length of every write mixed in. Fixed keys: fingerprints are the same on every run.
pub struct FingerprintHasher {
    hash: u64,
}

const KEY_0: u64 = 0xa076_1d64_78bd_642f;
const KEY_1: u64 = 0xe703_7ed1_a0b4_28db;
const KEY_2: u64 = 0x8ebc_6af0_9c88_c6e3;

fn folded_multiply(a: u64, b: u64) -> u64 {
    let product = u128::from(a) * u128::from(b);
    (product as u64) ^ ((product >> 64) as u64)
}

impl Default for FingerprintHasher {
    fn default() -> Self {
        FingerprintHasher { hash: KEY_2 }
    }
}

impl Hasher for FingerprintHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut hash = self.hash ^ (bytes.len() as u64).wrapping_mul(KEY_2);
        let mut chunks = bytes.chunks_exact(16);
        for chunk in &mut chunks {
            let (low, high) = chunk.split_at(8);
            let low = u64::from_le_bytes(low.try_into().expect("8 bytes"));
            let high = u64::from_le_bytes(high.try_into().expect("8 bytes"));
            hash = folded_multiply(low ^ KEY_0 ^ hash, high ^ KEY_1);
        }
        let tail = chunks.remainder();
        if !tail.is_empty() {
            let mut padded = [0u8; 16];
            padded[..tail.len()].copy_from_slice(tail);
            let low = u64::from_le_bytes(padded[..8].try_into().expect("8 bytes"));
            let high = u64::from_le_bytes(padded[8..].try_into().expect("8 bytes"));
            hash = folded_multiply(low ^ KEY_0 ^ hash, high ^ KEY_1);
        }
        self.hash = hash;
    }

    fn write_u64(&mut self, value: u64) {
        self.hash = folded_multiply(value ^ KEY_0 ^ self.hash, KEY_1 ^ 8);
    }

    fn write_u8(&mut self, value: u8) {
        self.write_u64(u64::from(value));
    }

    fn write_u32(&mut self, value: u32) {
        self.write_u64(u64::from(value));
    }

    fn write_usize(&mut self, value: usize) {
        self.write_u64(value as u64);
    }

    fn finish(&self) -> u64 {
        folded_multiply(self.hash ^ KEY_0, KEY_2)
    }
}

/// The fingerprint of a state; never 0 (0 marks an empty slot and an initial state's parent).
pub fn fingerprint<T: Hash>(value: &T) -> u64 {
    let mut hasher = FingerprintHasher::default();
    value.hash(&mut hasher);
    hasher.finish().max(1)
}

/// The fingerprints seen so far: open addressing with linear probing over atomic slots (0 is
/// empty), filled by every thread at once without locks. It grows only between chunks of work, when
/// no thread is inserting ([`SeenSet::needs_growth`]); the headroom left at that point (30% of the
/// slots, at least 300,000) is far more than a chunk per thread can fill ([`CHUNK_STATES`] states'
/// successors each).
struct SeenSet {
    slots: Box<[AtomicU64]>,
    len: AtomicUsize,
}

/// Slots the seen set starts with (a power of two).
const SEEN_SLOTS_MIN: usize = 1 << 20;

impl SeenSet {
    fn new() -> SeenSet {
        SeenSet {
            slots: (0..SEEN_SLOTS_MIN).map(|_| AtomicU64::new(0)).collect(),
            len: AtomicUsize::new(0),
        }
    }

    fn mask(&self) -> usize {
        self.slots.len() - 1
    }

    /// Loads the first slot of each fingerprint, so that the cache misses of a batch overlap
    /// instead of following one another.
    fn touch(&self, fingerprints: impl Iterator<Item = u64>) {
        let mask = self.mask();
        let mut sum = 0u64;
        for fingerprint in fingerprints {
            sum ^= self.slots[fingerprint as usize & mask].load(Ordering::Relaxed);
        }
        std::hint::black_box(sum);
    }

    /// Inserts `fingerprint` unless present; true when it was new. Counted by the caller
    /// ([`SeenSet::add_len`]), once per chunk.
    fn insert(&self, fingerprint: u64) -> bool {
        let mask = self.mask();
        let mut index = fingerprint as usize & mask;
        for _ in 0..self.slots.len() {
            let slot = &self.slots[index];
            let current = slot.load(Ordering::Relaxed);
            if current == fingerprint {
                return false;
            }
            if current == 0 {
                match slot.compare_exchange(0, fingerprint, Ordering::Relaxed, Ordering::Relaxed) {
                    Ok(_) => return true,
                    Err(taken) if taken == fingerprint => return false,
                    Err(_) => {}
                }
            }
            index = (index + 1) & mask;
        }
        panic!("the seen set filled up between two checks for growth: too many threads for its headroom");
    }

    fn add_len(&self, inserted: usize) {
        self.len.fetch_add(inserted, Ordering::Relaxed);
    }

    /// Past 70% full: grow before the next chunk.
    fn needs_growth(&self) -> bool {
        self.len.load(Ordering::Relaxed) * 10 > self.slots.len() * 7
    }

    /// Doubles the slots, re-inserting with `threads` threads; no other thread may be inserting.
    fn grow(&mut self, threads: usize) {
        let doubled: Box<[AtomicU64]> = (0..self.slots.len() * 2)
            .map(|_| AtomicU64::new(0))
            .collect();
        let old = std::mem::replace(&mut self.slots, doubled);
        let part = old.len().div_ceil(threads.max(1));
        let this = &*self;
        std::thread::scope(|scope| {
            for slots in old.chunks(part) {
                scope.spawn(move || {
                    for slot in slots {
                        let fingerprint = slot.load(Ordering::Relaxed);
                        if fingerprint != 0 {
                            this.insert(fingerprint);
                        }
                    }
                });
            }
        });
    }
}

/// A state of the level being explored, with the `eventually` properties not yet satisfied on the
/// path that reached it (one bit per property index).
struct Node<S> {
    state: S,
    fingerprint: u64,
    eventually_bits: u64,
}

/// The best discovery per property: `(depth, fingerprint)`, smallest first.
type Discoveries = Vec<Option<(usize, u64)>>;

fn discover(discoveries: &mut Discoveries, property: usize, depth: usize, fingerprint: u64) {
    let found = (depth, fingerprint);
    let best = &mut discoveries[property];
    if best.is_none_or(|best| found < best) {
        *best = Some(found);
    }
}

/// The limits and reporting of one search.
pub struct BfsOptions {
    /// Checker threads (at least 1).
    pub threads: usize,
    /// States at this depth or deeper are not expanded (initial states are at depth 1).
    pub target_max_depth: Option<usize>,
    /// Stop after this long.
    pub timeout: Option<Duration>,
    /// Print a progress line to stderr about every second.
    pub progress: bool,
}

/// What a search found.
pub struct BfsOutcome<M: Model> {
    /// Distinct fingerprints seen.
    pub unique_states: usize,
    /// Successors generated within the boundary, repeats included, plus the initial states.
    pub total_states: usize,
    /// The deepest level expanded or cut off (initial states are at depth 1).
    pub max_depth: usize,
    /// Whether the timeout stopped the search.
    pub timed_out: bool,
    /// Per property name with a discovery: a shortest path to it.
    pub discoveries: HashMap<&'static str, Path<M::State, M::Action>>,
}

/// What one thread found in (part of) one level.
struct ThreadLevel<S> {
    next: Vec<Node<S>>,
    /// `(fingerprint, parent fingerprint)` of every state in `next`.
    links: Vec<(u64, u64)>,
    generated: usize,
    discoveries: Discoveries,
}

/// Searches `model` breadth first with `options.threads` threads.
pub fn check_bfs<M>(model: &M, options: &BfsOptions) -> BfsOutcome<M>
where
    M: Model + Sync,
    M::State: Clone + Hash + PartialEq + Send + Sync,
    M::Action: Clone + PartialEq,
{
    let started = Instant::now();
    let deadline = options.timeout.map(|timeout| started + timeout);
    let properties = model.properties();
    assert!(
        properties.len() <= PROPERTIES_MAX,
        "at most {PROPERTIES_MAX} properties"
    );
    let eventually_all: u64 = properties
        .iter()
        .enumerate()
        .filter(|(_, p)| p.expectation == Expectation::Eventually)
        .fold(0, |bits, (index, _)| bits | 1 << index);
    let mut seen = SeenSet::new();
    let mut level = Vec::new();
    for state in model.init_states() {
        if !model.within_boundary(&state) {
            continue;
        }
        let fingerprint = fingerprint(&state);
        if seen.insert(fingerprint) {
            seen.add_len(1);
            level.push(Node {
                state,
                fingerprint,
                eventually_bits: eventually_all,
            });
        }
    }
    let mut unique_states = level.len();
    let mut total_states = level.len();
    let mut max_depth = 0;
    let mut discoveries: Discoveries = vec![None; properties.len()];
    // `links[depth]`: the parent links of the states first seen at `depth` (initial states: 1).
    let mut links: Vec<Vec<Vec<(u64, u64)>>> = vec![Vec::new(), Vec::new()];
    let timed_out = AtomicBool::new(false);
    let threads = options.threads.max(1);
    let mut last_progress = Instant::now();
    let mut depth = 1;
    let mut levels = vec![level];
    while levels.iter().any(|level| !level.is_empty()) {
        max_depth = depth;
        if options
            .target_max_depth
            .is_some_and(|target| depth >= target)
        {
            break;
        }
        // Properties discovered at a shallower depth are settled; the rest are checked here.
        let settled: u64 = discoveries
            .iter()
            .enumerate()
            .filter(|(_, found)| found.is_some_and(|(at, _)| at < depth))
            .fold(0, |bits, (index, _)| bits | 1 << index);
        let chunks: Vec<(usize, usize, usize)> = levels
            .iter()
            .enumerate()
            .flat_map(|(which, level)| {
                (0..level.len())
                    .step_by(CHUNK_STATES)
                    .map(move |start| (which, start, (start + CHUNK_STATES).min(level.len())))
            })
            .collect();
        let next_chunk = AtomicUsize::new(0);
        let mut results: Vec<ThreadLevel<M::State>> = Vec::new();
        loop {
            let work = LevelWork {
                model,
                properties: &properties,
                seen: &seen,
                levels: &levels,
                chunks: &chunks,
                next_chunk: &next_chunk,
                depth,
                settled,
                deadline,
                timed_out: &timed_out,
            };
            if threads == 1 {
                results.push(work.run());
            } else {
                std::thread::scope(|scope| {
                    let handles: Vec<_> =
                        (0..threads).map(|_| scope.spawn(|| work.run())).collect();
                    for handle in handles {
                        let result = handle
                            .join()
                            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
                        results.push(result);
                    }
                });
            }
            let unfinished = next_chunk.load(Ordering::Relaxed) < chunks.len();
            if timed_out.load(Ordering::Relaxed) || !unfinished {
                break;
            }
            // The threads stopped for the seen set to grow.
            seen.grow(threads);
        }
        drop(levels);
        levels = Vec::with_capacity(results.len());
        let mut level_links = Vec::with_capacity(results.len());
        for result in results {
            unique_states += result.next.len();
            total_states += result.generated;
            for (property, found) in result.discoveries.into_iter().enumerate() {
                if let Some((at, fingerprint)) = found {
                    discover(&mut discoveries, property, at, fingerprint);
                }
            }
            levels.push(result.next);
            level_links.push(result.links);
        }
        links.push(level_links);
        if options.progress && last_progress.elapsed() >= Duration::from_secs(1) {
            last_progress = Instant::now();
            progress_line(false, unique_states, total_states, depth, started);
        }
        if timed_out.load(Ordering::Relaxed) || discoveries.iter().all(Option::is_some) {
            break;
        }
        depth += 1;
    }
    if options.progress {
        progress_line(true, unique_states, total_states, max_depth, started);
    }
    drop(levels);
    drop(seen);
    let discoveries = properties
        .iter()
        .zip(&discoveries)
        .filter_map(|(property, found)| {
            let (at, fingerprint) = (*found)?;
            Some((property.name, rebuild_path(model, &links, at, fingerprint)?))
        })
        .collect();
    BfsOutcome {
        unique_states,
        total_states,
        max_depth,
        timed_out: timed_out.load(Ordering::Relaxed),
        discoveries,
    }
}

fn progress_line(done: bool, unique: usize, total: usize, depth: usize, started: Instant) {
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    let _ = writeln!(
        std::io::stderr(),
        "{} unique={unique} total={total} depth={depth} {seconds:.1}s {:.0} unique/s",
        if done { "done" } else { "checking" },
        unique as f64 / seconds,
    );
}

/// The shared inputs of one level's threads.
struct LevelWork<'a, M: Model> {
    model: &'a M,
    properties: &'a [Property<M>],
    seen: &'a SeenSet,
    levels: &'a [Vec<Node<M::State>>],
    chunks: &'a [(usize, usize, usize)],
    next_chunk: &'a AtomicUsize,
    depth: usize,
    settled: u64,
    deadline: Option<Instant>,
    timed_out: &'a AtomicBool,
}

impl<M> LevelWork<'_, M>
where
    M: Model,
    M::State: Hash,
{
    /// Takes chunks until none is left, the deadline passes or the seen set must grow.
    fn run(&self) -> ThreadLevel<M::State> {
        let mut out = ThreadLevel {
            next: Vec::new(),
            links: Vec::new(),
            generated: 0,
            discoveries: vec![None; self.properties.len()],
        };
        let mut actions = Vec::new();
        let mut successors = Vec::new();
        loop {
            if self.timed_out.load(Ordering::Relaxed) {
                break;
            }
            if self
                .deadline
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                self.timed_out.store(true, Ordering::Relaxed);
                break;
            }
            if self.seen.needs_growth() {
                break;
            }
            let Some(&(which, start, end)) = self
                .chunks
                .get(self.next_chunk.fetch_add(1, Ordering::Relaxed))
            else {
                break;
            };
            let before = out.next.len();
            for group in self.levels[which][start..end].chunks(TOUCH_GROUP_STATES) {
                for node in group {
                    self.expand(node, &mut actions, &mut successors, &mut out);
                }
                self.insert_successors(&mut successors, &mut out);
            }
            self.seen.add_len(out.next.len() - before);
        }
        out
    }

    /// Checks the properties at `node` and fingerprints its successors into `successors`, with
    /// the parent's fingerprint and the path's `eventually` bits.
    fn expand(
        &self,
        node: &Node<M::State>,
        actions: &mut Vec<M::Action>,
        successors: &mut Vec<Successor<M::State>>,
        out: &mut ThreadLevel<M::State>,
    ) {
        let mut eventually_bits = node.eventually_bits;
        for (index, property) in self.properties.iter().enumerate() {
            if self.settled & (1 << index) != 0 && eventually_bits & (1 << index) == 0 {
                continue;
            }
            let holds = (property.condition)(self.model, &node.state);
            match property.expectation {
                Expectation::Always if !holds => {
                    discover(&mut out.discoveries, index, self.depth, node.fingerprint)
                }
                Expectation::Sometimes if holds => {
                    discover(&mut out.discoveries, index, self.depth, node.fingerprint)
                }
                Expectation::Eventually if holds => eventually_bits &= !(1 << index),
                _ => {}
            }
        }
        actions.clear();
        self.model.actions(&node.state, actions);
        let before = successors.len();
        for action in actions.drain(..) {
            let Some(next) = self.model.next_state(&node.state, action) else {
                continue;
            };
            if self.model.within_boundary(&next) {
                successors.push(Successor {
                    fingerprint: fingerprint(&next),
                    parent: node.fingerprint,
                    eventually_bits,
                    state: next,
                });
            }
        }
        if successors.len() == before {
            // stateright reports an `eventually` property at a state without successors whose path
            // never satisfied it.
            for index in 0..self.properties.len() {
                if eventually_bits & (1 << index) != 0 {
                    discover(&mut out.discoveries, index, self.depth, node.fingerprint);
                }
            }
        }
        out.generated += successors.len() - before;
    }

    /// Inserts the successors of a few states into the seen set, keeping the new ones. Their
    /// slots are loaded first, all together, so that the cache misses overlap.
    fn insert_successors(
        &self,
        successors: &mut Vec<Successor<M::State>>,
        out: &mut ThreadLevel<M::State>,
    ) {
        self.seen
            .touch(successors.iter().map(|successor| successor.fingerprint));
        for successor in successors.drain(..) {
            if self.seen.insert(successor.fingerprint) {
                out.links.push((successor.fingerprint, successor.parent));
                out.next.push(Node {
                    state: successor.state,
                    fingerprint: successor.fingerprint,
                    eventually_bits: successor.eventually_bits,
                });
            }
        }
    }
}

/// A successor waiting for its seen-set lookup.
struct Successor<S> {
    fingerprint: u64,
    parent: u64,
    eventually_bits: u64,
    state: S,
}

/// The path to the state with fingerprint `target`, first seen at `depth`: the parent links back
/// to an initial state, then a replay that picks at each step the successor with the next
/// fingerprint.
fn rebuild_path<M>(
    model: &M,
    links: &[Vec<Vec<(u64, u64)>>],
    depth: usize,
    target: u64,
) -> Option<Path<M::State, M::Action>>
where
    M: Model,
    M::State: Clone + Hash + PartialEq,
    M::Action: Clone + PartialEq,
{
    let mut chain = vec![target];
    for at in (2..=depth).rev() {
        let child = *chain.last().expect("non-empty");
        let parent = links[at]
            .iter()
            .flatten()
            .find(|(fingerprint, _)| *fingerprint == child)?
            .1;
        chain.push(parent);
    }
    chain.reverse();
    let init = model
        .init_states()
        .into_iter()
        .find(|state| fingerprint(state) == chain[0])?;
    let mut state = init.clone();
    let mut steps = Vec::with_capacity(chain.len() - 1);
    let mut actions = Vec::new();
    for &wanted in &chain[1..] {
        actions.clear();
        model.actions(&state, &mut actions);
        let (action, next) = actions.drain(..).find_map(|action| {
            let next = model.next_state(&state, action.clone())?;
            (model.within_boundary(&next) && fingerprint(&next) == wanted).then_some((action, next))
        })?;
        steps.push(action);
        state = next;
    }
    Path::from_actions(model, init, steps.iter())
}

#[cfg(test)]
mod tests {
    use super::*;
    use stateright::Checker;

    /// Steps right or up on a `size` × `size` grid.
    #[derive(Clone)]
    struct Grid {
        size: u16,
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Step {
        Right,
        Up,
    }

    impl Model for Grid {
        type State = (u16, u16);
        type Action = Step;

        fn init_states(&self) -> Vec<(u16, u16)> {
            vec![(0, 0)]
        }

        fn actions(&self, state: &(u16, u16), actions: &mut Vec<Step>) {
            if state.0 < self.size {
                actions.push(Step::Right);
            }
            if state.1 < self.size {
                actions.push(Step::Up);
            }
        }

        fn next_state(&self, state: &(u16, u16), step: Step) -> Option<(u16, u16)> {
            Some(match step {
                Step::Right => (state.0 + 1, state.1),
                Step::Up => (state.0, state.1 + 1),
            })
        }

        fn properties(&self) -> Vec<Property<Self>> {
            vec![
                Property::always("inside", |grid: &Grid, s: &(u16, u16)| {
                    s.0 <= grid.size && s.1 <= grid.size
                }),
                Property::sometimes("at (5, 3)", |_: &Grid, s: &(u16, u16)| *s == (5, 3)),
                Property::eventually("never", |_: &Grid, _: &(u16, u16)| false),
                Property::eventually("passes the diagonal", |_: &Grid, s: &(u16, u16)| {
                    s.0 + s.1 == 1
                }),
            ]
        }
    }

    fn options(threads: usize) -> BfsOptions {
        BfsOptions {
            threads,
            target_max_depth: None,
            timeout: None,
            progress: false,
        }
    }

    #[test]
    fn counts_and_verdicts_match_stateright() {
        let grid = Grid { size: 300 };
        let reference = grid.clone().checker().spawn_bfs().join();
        for threads in [1, 2] {
            let outcome = check_bfs(&grid, &options(threads));
            assert_eq!(outcome.unique_states, reference.unique_state_count());
            assert_eq!(outcome.total_states, reference.state_count());
            assert_eq!(outcome.max_depth, 601);
            assert!(!outcome.timed_out);
            let mut found: Vec<_> = outcome.discoveries.keys().copied().collect();
            found.sort_unstable();
            let mut expected: Vec<_> = reference.discoveries().keys().copied().collect();
            expected.sort_unstable();
            assert_eq!(found, expected);
            assert_eq!(found, ["at (5, 3)", "never"]);
        }
    }

    /// 1,002,001 states: more than 70% of the first table, so the seen set grows mid-level.
    #[test]
    fn the_seen_set_grows_without_losing_states() {
        let grid = Grid { size: 1000 };
        let outcome = check_bfs(&grid, &options(2));
        assert_eq!(outcome.unique_states, 1001 * 1001);
        assert_eq!(outcome.total_states, 2 * 1000 * 1001 + 1);
    }

    #[test]
    fn discoveries_are_shortest_paths() {
        let grid = Grid { size: 20 };
        for threads in [1, 2] {
            let mut outcome = check_bfs(&grid, &options(threads));
            let example = outcome.discoveries.remove("at (5, 3)").expect("reached");
            assert_eq!(example.last_state(), &(5, 3));
            assert_eq!(example.into_actions().len(), 8);
            // `eventually` fails at the state without successors, at the far corner.
            let never = outcome.discoveries.remove("never").expect("violated");
            assert_eq!(never.last_state(), &(20, 20));
            assert_eq!(never.into_actions().len(), 40);
        }
    }

    #[test]
    fn a_depth_bound_stops_like_staterights() {
        let grid = Grid { size: 50 };
        let reference = grid
            .clone()
            .checker()
            .target_max_depth(10)
            .spawn_bfs()
            .join();
        let outcome = check_bfs(
            &grid,
            &BfsOptions {
                target_max_depth: Some(10),
                ..options(2)
            },
        );
        assert_eq!(outcome.unique_states, reference.unique_state_count());
        assert_eq!(outcome.max_depth, 10);
    }

    #[test]
    fn fingerprints_are_stable_and_spread() {
        assert_eq!(fingerprint(&(1u16, 2u16)), fingerprint(&(1u16, 2u16)));
        assert_ne!(fingerprint(&(1u16, 2u16)), fingerprint(&(2u16, 1u16)));
        let mut seen: Vec<u64> = (0..10_000u32).map(|n| fingerprint(&n)).collect();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen.len(), 10_000);
    }
}
