//! The fault scheduler: turns a [`FaultPlan`] into steps at virtual times, carries them out against a
//! [`FaultTarget`], remembers what is pulled, and heals everything when the liveness phase begins.
//!
//! Every pull opens a *window* that remembers how to undo it: a crash is undone by a restart, a clog by an
//! unclog, a transport rule by clearing it. A window closes at its end time, at a `heal` (network,
//! RPC and persister windows only) or at the liveness phase (every window; clocks return to true time).
//! Steps of a window already closed are skipped, so a scheduled release after a heal is a no-op.
//! Overlapping transport windows on the same API keys are combined field by field (the strongest drop,
//! duplicate, delay and reorder of each; both directions if they differ), since the transport keeps one
//! rule per key. Sans-IO: the caller passes the time and sleeps until [`FaultScheduler::next_due_ms`].

use std::collections::BTreeMap;

use super::lever::{
    FaultNode, FaultPlan, Lever, NetworkFault, PartitionShape, PersisterFault, RpcFault,
    ScheduledFault,
};
use super::step::{FaultError, FaultRecord, FaultStep, FaultTarget, StepOutcome};
use crate::net::{ApiKeySelector, FaultDirection, FaultRule};

/// Lever name recorded for the final heal.
pub const LIVENESS_LEVER: &str = "liveness";

type WindowId = u64;

/// A clog the scheduler applied: a node, or one direction of a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Clog {
    Node(FaultNode),
    Link(FaultNode, FaultNode),
}

impl Clog {
    fn clog_step(self) -> FaultStep {
        match self {
            Clog::Node(node) => FaultStep::ClogNode { node },
            Clog::Link(from, to) => FaultStep::ClogLink { from, to },
        }
    }

    fn unclog_step(self) -> FaultStep {
        match self {
            Clog::Node(node) => FaultStep::UnclogNode { node },
            Clog::Link(from, to) => FaultStep::UnclogLink { from, to },
        }
    }
}

/// How to undo one part of a window.
#[derive(Clone, Debug, PartialEq)]
enum Undo {
    /// Run this step.
    Step(FaultStep),
    /// Release one hold on a clog (unclog when no window holds it any more).
    Clog(Clog),
    /// Remove this window's transport rule and re-merge the rest.
    NetRule(ApiKeySelector),
    /// Remove this window's persister failure and re-merge the rest.
    PersisterFailure(i16),
    /// Remove this window's lock-timer order.
    LockTimer,
    /// Move leadership back to `to`.
    LeaderBack {
        topic: String,
        partition: i32,
        to: u32,
    },
}

#[derive(Clone, Debug)]
struct Window {
    lever: &'static str,
    /// Closed by a `heal` lever (network-type windows), not only by its end or the liveness phase.
    healable: bool,
    /// Liveness-only windows (clock settings) are not undone at their "end"; they have none.
    undo: Vec<Undo>,
}

/// Something planned at a time.
#[derive(Clone, Debug)]
enum Planned {
    Pull(Lever),
    /// A later step of a window (swizzle-clog's clogs and unclogs).
    WindowClog {
        window: WindowId,
        clog: Clog,
        on: bool,
    },
    Close(WindowId),
}

/// Runs a fault plan.
#[derive(Debug)]
pub struct FaultScheduler {
    timeline: BTreeMap<(u64, u64), Planned>,
    next_order: u64,
    next_window: WindowId,
    liveness_at_ms: u64,
    liveness_done: bool,
    windows: BTreeMap<WindowId, Window>,
    clog_holds: BTreeMap<Clog, u32>,
    net_rules: BTreeMap<WindowId, (ApiKeySelector, FaultRule)>,
    persister_failures: BTreeMap<WindowId, (i16, f64, i16)>,
    lock_timer_orders: BTreeMap<WindowId, super::lever::LockTimerOrder>,
    errors: Vec<(u64, FaultError)>,
}

impl FaultScheduler {
    /// A scheduler for `plan`; nothing happens until [`FaultScheduler::run_due`].
    pub fn new(plan: FaultPlan) -> FaultScheduler {
        let mut scheduler = FaultScheduler {
            timeline: BTreeMap::new(),
            next_order: 0,
            next_window: 0,
            liveness_at_ms: plan.liveness_at_ms,
            liveness_done: false,
            windows: BTreeMap::new(),
            clog_holds: BTreeMap::new(),
            net_rules: BTreeMap::new(),
            persister_failures: BTreeMap::new(),
            lock_timer_orders: BTreeMap::new(),
            errors: Vec::new(),
        };
        for ScheduledFault { at_ms, lever } in plan.faults {
            scheduler.plan(at_ms, Planned::Pull(lever));
        }
        scheduler
    }

    /// When the next step is due (the liveness heal included); `None` once everything ran.
    pub fn next_due_ms(&self) -> Option<u64> {
        if self.liveness_done {
            return None;
        }
        let next_step = self
            .timeline
            .keys()
            .next()
            .map(|&(at_ms, _)| at_ms)
            .filter(|&at_ms| at_ms < self.liveness_at_ms);
        Some(next_step.unwrap_or(self.liveness_at_ms))
    }

    /// Whether the liveness heal has run.
    pub fn liveness_started(&self) -> bool {
        self.liveness_done
    }

    /// Every step that failed, with its time (also recorded in the trace as `skipped`).
    pub fn errors(&self) -> &[(u64, FaultError)] {
        &self.errors
    }

    /// Carries out everything due at or before `now_ms`; at the liveness time, heals everything.
    pub fn run_due(&mut self, now_ms: u64, target: &mut dyn FaultTarget) {
        if self.liveness_done {
            return;
        }
        while let Some((&(at_ms, order), _)) = self.timeline.iter().next() {
            if at_ms > now_ms || at_ms >= self.liveness_at_ms {
                break;
            }
            let planned = self
                .timeline
                .remove(&(at_ms, order))
                .expect("the key was just read");
            self.run(now_ms, planned, target);
        }
        if now_ms >= self.liveness_at_ms {
            self.heal_all(now_ms, target);
        }
    }

    /// The liveness phase begins: nothing more is pulled, and every window closes (crashed brokers and
    /// consumers restart, clogs and transport rules go, zombies stop, leaders move back, clocks return
    /// to true time).
    pub fn heal_all(&mut self, now_ms: u64, target: &mut dyn FaultTarget) {
        if self.liveness_done {
            return;
        }
        self.liveness_done = true;
        self.timeline.clear();
        let open: Vec<WindowId> = self.windows.keys().copied().collect();
        for window in open {
            self.close(now_ms, window, Some(LIVENESS_LEVER), target);
        }
    }

    fn plan(&mut self, at_ms: u64, planned: Planned) {
        self.timeline.insert((at_ms, self.next_order), planned);
        self.next_order += 1;
    }

    fn open(&mut self, lever: &'static str, healable: bool) -> WindowId {
        let window = self.next_window;
        self.next_window += 1;
        self.windows.insert(
            window,
            Window {
                lever,
                healable,
                undo: Vec::new(),
            },
        );
        window
    }

    fn run(&mut self, now_ms: u64, planned: Planned, target: &mut dyn FaultTarget) {
        match planned {
            Planned::Pull(lever) => self.pull(now_ms, lever, target),
            Planned::WindowClog { window, clog, on } => {
                let Some(lever) = self.windows.get(&window).map(|w| w.lever) else {
                    return;
                };
                if on {
                    self.hold_clog(now_ms, lever, window, clog, target);
                } else {
                    self.release_one(now_ms, window, &Undo::Clog(clog), lever, target);
                }
            }
            Planned::Close(window) => self.close(now_ms, window, None, target),
        }
    }

    fn pull(&mut self, now_ms: u64, lever: Lever, target: &mut dyn FaultTarget) {
        let kind = lever.kind();
        match lever {
            Lever::BrokerCrash {
                broker,
                lose_unflushed,
                restart_after_ms,
            } => {
                let crashed = self.windows.values().any(|window| {
                    window
                        .undo
                        .contains(&Undo::Step(FaultStep::RestartBroker { broker }))
                });
                let step = FaultStep::CrashBroker {
                    broker,
                    lose_unflushed,
                };
                if crashed {
                    self.skip(now_ms, kind, &step, "already crashed", target);
                    return;
                }
                if self.apply(now_ms, kind, "pull", &step, target).is_some() {
                    let window = self.open(kind, false);
                    self.add_undo(window, Undo::Step(FaultStep::RestartBroker { broker }));
                    self.close_after(now_ms, window, restart_after_ms);
                }
            }
            Lever::BrokerRestart { broker } => {
                let restart = Undo::Step(FaultStep::RestartBroker { broker });
                let crash_windows: Vec<WindowId> = self
                    .windows
                    .iter()
                    .filter(|(_, window)| window.undo.contains(&restart))
                    .map(|(&id, _)| id)
                    .collect();
                if crash_windows.is_empty() {
                    let step = FaultStep::RestartBroker { broker };
                    self.skip(now_ms, kind, &step, "not crashed", target);
                }
                for window in crash_windows {
                    self.close(now_ms, window, Some(kind), target);
                }
            }
            Lever::Partition {
                shape,
                nodes,
                duration_ms,
            } => self.pull_partition(now_ms, kind, shape, &nodes, duration_ms, target),
            Lever::Heal => {
                let healable: Vec<WindowId> = self
                    .windows
                    .iter()
                    .filter(|(_, window)| window.healable)
                    .map(|(&id, _)| id)
                    .collect();
                if healable.is_empty() {
                    target.record(FaultRecord {
                        at_ms: now_ms,
                        lever: kind,
                        detail: "pull: nothing to heal".to_string(),
                    });
                }
                for window in healable {
                    self.close(now_ms, window, Some(kind), target);
                }
            }
            Lever::Network { fault, duration_ms } => {
                let rule = network_rule(fault);
                self.open_net_window(now_ms, kind, ApiKeySelector::All, rule, duration_ms, target);
            }
            Lever::Rpc {
                fault,
                api_key,
                direction,
                probability,
                duration_ms,
            } => {
                let rule = rpc_rule(fault, direction, probability);
                let selector = ApiKeySelector::Key(api_key);
                self.open_net_window(now_ms, kind, selector, rule, duration_ms, target);
            }
            Lever::Persister {
                fault,
                api_key,
                probability,
                duration_ms,
            } => match persister_rule(fault, probability) {
                Some(rule) => {
                    let selector = ApiKeySelector::Key(api_key);
                    self.open_net_window(now_ms, kind, selector, rule, duration_ms, target);
                }
                None => {
                    let PersisterFault::Fail { error_code } = fault else {
                        unreachable!("only Fail has no transport rule");
                    };
                    let window = self.open(kind, true);
                    self.persister_failures
                        .insert(window, (api_key, probability, error_code));
                    self.apply_persister_failure(now_ms, kind, "pull", api_key, target);
                    self.add_undo(window, Undo::PersisterFailure(api_key));
                    self.close_after(now_ms, window, duration_ms);
                }
            },
            Lever::LockTimerRace { order, duration_ms } => {
                let window = self.open(kind, false);
                self.lock_timer_orders.insert(window, order);
                let step = FaultStep::SetLockTimerOrder { order: Some(order) };
                self.apply(now_ms, kind, "pull", &step, target);
                self.add_undo(window, Undo::LockTimer);
                self.close_after(now_ms, window, duration_ms);
            }
            Lever::LeadershipBounce {
                topic,
                partition,
                via_broker,
                back_after_ms,
            } => {
                let step = FaultStep::MoveLeader {
                    topic: topic.clone(),
                    partition,
                    to: via_broker,
                };
                if let Some(StepOutcome::LeaderMoved { from }) =
                    self.apply(now_ms, kind, "pull", &step, target)
                {
                    let window = self.open(kind, false);
                    self.add_undo(
                        window,
                        Undo::LeaderBack {
                            topic,
                            partition,
                            to: from,
                        },
                    );
                    self.close_after(now_ms, window, Some(back_after_ms));
                }
            }
            Lever::ZombieLeader {
                topic,
                partition,
                duration_ms,
            } => {
                let step = FaultStep::StartZombie {
                    topic: topic.clone(),
                    partition,
                };
                if self.apply(now_ms, kind, "pull", &step, target).is_some() {
                    let window = self.open(kind, false);
                    let stop = FaultStep::StopZombie { topic, partition };
                    self.add_undo(window, Undo::Step(stop));
                    self.close_after(now_ms, window, Some(duration_ms));
                }
            }
            Lever::CoordinatorFailover { kind: which, group } => {
                let step = FaultStep::FailOverCoordinator { kind: which, group };
                self.apply(now_ms, kind, "pull", &step, target);
            }
            Lever::LogStartMove {
                topic,
                partition,
                offset,
                cause,
            } => {
                let step = FaultStep::MoveLogStart {
                    topic,
                    partition,
                    offset,
                    cause,
                };
                self.apply(now_ms, kind, "pull", &step, target);
            }
            Lever::Compaction { topic, partition } => {
                let step = FaultStep::Compact { topic, partition };
                self.apply(now_ms, kind, "pull", &step, target);
            }
            Lever::CorruptBatch {
                topic,
                partition,
                offset,
                broker,
            } => {
                let step = FaultStep::CorruptBatch {
                    topic,
                    partition,
                    offset,
                    broker,
                };
                self.apply(now_ms, kind, "pull", &step, target);
            }
            Lever::ConsumerCrash {
                consumer,
                restart_after_ms,
            } => {
                let step = FaultStep::CrashConsumer { consumer };
                if self.apply(now_ms, kind, "pull", &step, target).is_some() {
                    let window = self.open(kind, false);
                    let restart = FaultStep::RestartConsumer { consumer };
                    self.add_undo(window, Undo::Step(restart));
                    self.close_after(now_ms, window, restart_after_ms);
                }
            }
            Lever::ConsumerStall { consumer, stall_ms } => {
                let step = FaultStep::StallConsumer { consumer };
                if self.apply(now_ms, kind, "pull", &step, target).is_some() {
                    let window = self.open(kind, false);
                    let resume = FaultStep::ResumeConsumer { consumer };
                    self.add_undo(window, Undo::Step(resume));
                    self.close_after(now_ms, window, Some(stall_ms));
                }
            }
            Lever::ConsumerReconnectLateClose {
                consumer,
                close_delay_ms,
            } => {
                let step = FaultStep::ReconnectWithLateClose {
                    consumer,
                    close_delay_ms,
                };
                self.apply(now_ms, kind, "pull", &step, target);
            }
            Lever::ClockSkew {
                node,
                skew_ms,
                drift_ppm,
            } => {
                let step = FaultStep::SetClock {
                    node,
                    skew_ms,
                    drift_ppm,
                };
                if self.apply(now_ms, kind, "pull", &step, target).is_some() {
                    // No end of its own: the liveness phase returns the clock to true time.
                    let window = self.open(kind, false);
                    let reset = FaultStep::SetClock {
                        node,
                        skew_ms: 0,
                        drift_ppm: 0,
                    };
                    self.add_undo(window, Undo::Step(reset));
                }
            }
            Lever::OffsetReset {
                group,
                topic,
                partition,
                start_offset,
            } => {
                let step = FaultStep::AlterShareGroupOffsets {
                    group,
                    topic,
                    partition,
                    start_offset,
                };
                self.apply(now_ms, kind, "pull", &step, target);
            }
        }
    }

    fn pull_partition(
        &mut self,
        now_ms: u64,
        kind: &'static str,
        shape: PartitionShape,
        nodes: &[FaultNode],
        duration_ms: Option<u64>,
        target: &mut dyn FaultTarget,
    ) {
        let window = self.open(kind, true);
        match (shape, nodes) {
            (PartitionShape::Node, _) => {
                for &node in nodes {
                    self.hold_clog(now_ms, kind, window, Clog::Node(node), target);
                }
                self.close_after(now_ms, window, duration_ms);
            }
            (PartitionShape::Link, &[a, b]) => {
                self.hold_clog(now_ms, kind, window, Clog::Link(a, b), target);
                self.hold_clog(now_ms, kind, window, Clog::Link(b, a), target);
                self.close_after(now_ms, window, duration_ms);
            }
            (PartitionShape::OneDirection, &[from, to]) => {
                self.hold_clog(now_ms, kind, window, Clog::Link(from, to), target);
                self.close_after(now_ms, window, duration_ms);
            }
            (PartitionShape::SwizzleClog { step_ms }, _) if !nodes.is_empty() => {
                let step_ms = step_ms.max(1);
                let count = nodes.len() as u64;
                // Clog one node per step, the first now.
                self.hold_clog(now_ms, kind, window, Clog::Node(nodes[0]), target);
                for (index, &node) in nodes.iter().enumerate().skip(1) {
                    let at_ms = now_ms + index as u64 * step_ms;
                    let clog = Clog::Node(node);
                    self.plan(
                        at_ms,
                        Planned::WindowClog {
                            window,
                            clog,
                            on: true,
                        },
                    );
                }
                // Unclog in reverse order, one per step, from the end of the window.
                let unclog_from_ms = now_ms + duration_ms.unwrap_or(0).max(count * step_ms);
                for (index, &node) in nodes.iter().rev().enumerate() {
                    let at_ms = unclog_from_ms + index as u64 * step_ms;
                    let clog = Clog::Node(node);
                    self.plan(
                        at_ms,
                        Planned::WindowClog {
                            window,
                            clog,
                            on: false,
                        },
                    );
                }
                self.plan(unclog_from_ms + count * step_ms, Planned::Close(window));
            }
            _ => {
                let detail = format!(
                    "skipped: partition {shape:?} of {} nodes (link and one_direction need two)",
                    nodes.len()
                );
                self.windows.remove(&window);
                target.record(FaultRecord {
                    at_ms: now_ms,
                    lever: kind,
                    detail: detail.clone(),
                });
                self.errors
                    .push((now_ms, FaultError::Refused(detail.replace("skipped: ", ""))));
            }
        }
    }

    fn hold_clog(
        &mut self,
        now_ms: u64,
        kind: &'static str,
        window: WindowId,
        clog: Clog,
        target: &mut dyn FaultTarget,
    ) {
        let holds = self.clog_holds.get(&clog).copied().unwrap_or(0);
        if holds == 0
            && self
                .apply(now_ms, kind, "pull", &clog.clog_step(), target)
                .is_none()
        {
            return;
        }
        *self.clog_holds.entry(clog).or_insert(0) += 1;
        self.add_undo(window, Undo::Clog(clog));
    }

    fn open_net_window(
        &mut self,
        now_ms: u64,
        kind: &'static str,
        selector: ApiKeySelector,
        rule: FaultRule,
        duration_ms: Option<u64>,
        target: &mut dyn FaultTarget,
    ) {
        let window = self.open(kind, true);
        self.net_rules.insert(window, (selector, rule));
        self.apply_net_rule(now_ms, kind, "pull", selector, target);
        self.add_undo(window, Undo::NetRule(selector));
        self.close_after(now_ms, window, duration_ms);
    }

    /// Sets the merged rule of every open window on `selector` (or clears it when none is left).
    fn apply_net_rule(
        &mut self,
        now_ms: u64,
        kind: &'static str,
        phase: &str,
        selector: ApiKeySelector,
        target: &mut dyn FaultTarget,
    ) {
        let merged = self
            .net_rules
            .values()
            .filter(|(s, _)| *s == selector)
            .map(|(_, rule)| *rule)
            .reduce(merge_rules);
        let step = match merged {
            Some(rule) => FaultStep::SetNetRule { selector, rule },
            None => FaultStep::ClearNetRule { selector },
        };
        self.apply(now_ms, kind, phase, &step, target);
    }

    fn apply_persister_failure(
        &mut self,
        now_ms: u64,
        kind: &'static str,
        phase: &str,
        api_key: i16,
        target: &mut dyn FaultTarget,
    ) {
        // The most recent open failure on the key wins.
        let newest = self
            .persister_failures
            .values()
            .rev()
            .find(|(key, _, _)| *key == api_key)
            .copied();
        let step = match newest {
            Some((api_key, probability, error_code)) => FaultStep::SetPersisterFailure {
                api_key,
                probability,
                error_code,
            },
            None => FaultStep::ClearPersisterFailure { api_key },
        };
        self.apply(now_ms, kind, phase, &step, target);
    }

    fn add_undo(&mut self, window: WindowId, undo: Undo) {
        if let Some(window) = self.windows.get_mut(&window) {
            window.undo.push(undo);
        }
    }

    fn close_after(&mut self, now_ms: u64, window: WindowId, duration_ms: Option<u64>) {
        if let Some(duration_ms) = duration_ms {
            self.plan(now_ms.saturating_add(duration_ms), Planned::Close(window));
        }
    }

    /// Closes a window, undoing its parts in reverse order. `by` names the lever that closed it early.
    fn close(
        &mut self,
        now_ms: u64,
        window: WindowId,
        by: Option<&'static str>,
        target: &mut dyn FaultTarget,
    ) {
        let Some(closing) = self.windows.get(&window) else {
            return;
        };
        let lever = by.unwrap_or(closing.lever);
        let undo: Vec<Undo> = closing.undo.iter().rev().cloned().collect();
        for part in &undo {
            self.release_one(now_ms, window, part, lever, target);
        }
        self.windows.remove(&window);
    }

    /// Undoes one part of a window and forgets it.
    fn release_one(
        &mut self,
        now_ms: u64,
        window: WindowId,
        part: &Undo,
        lever: &'static str,
        target: &mut dyn FaultTarget,
    ) {
        let Some(open) = self.windows.get_mut(&window) else {
            return;
        };
        let Some(position) = open.undo.iter().position(|u| u == part) else {
            return;
        };
        open.undo.remove(position);
        match part {
            Undo::Step(step) => {
                self.apply(now_ms, lever, "release", step, target);
            }
            Undo::Clog(clog) => {
                let holds = self.clog_holds.entry(*clog).or_insert(1);
                *holds -= 1;
                if *holds == 0 {
                    self.clog_holds.remove(clog);
                    self.apply(now_ms, lever, "release", &clog.unclog_step(), target);
                }
            }
            Undo::NetRule(selector) => {
                self.net_rules.remove(&window);
                self.apply_net_rule(now_ms, lever, "release", *selector, target);
            }
            Undo::PersisterFailure(api_key) => {
                self.persister_failures.remove(&window);
                self.apply_persister_failure(now_ms, lever, "release", *api_key, target);
            }
            Undo::LockTimer => {
                self.lock_timer_orders.remove(&window);
                let order = self.lock_timer_orders.values().next_back().copied();
                let step = FaultStep::SetLockTimerOrder { order };
                self.apply(now_ms, lever, "release", &step, target);
            }
            Undo::LeaderBack {
                topic,
                partition,
                to,
            } => {
                let step = FaultStep::MoveLeader {
                    topic: topic.clone(),
                    partition: *partition,
                    to: Some(*to),
                };
                self.apply(now_ms, lever, "release", &step, target);
            }
        }
    }

    /// Applies a step and records it; on failure records it as skipped. `None` when it failed.
    fn apply(
        &mut self,
        now_ms: u64,
        lever: &'static str,
        phase: &str,
        step: &FaultStep,
        target: &mut dyn FaultTarget,
    ) -> Option<StepOutcome> {
        match target.apply(step) {
            Ok(outcome) => {
                target.record(FaultRecord {
                    at_ms: now_ms,
                    lever,
                    detail: format!("{phase}: {step}"),
                });
                Some(outcome)
            }
            Err(error) => {
                target.record(FaultRecord {
                    at_ms: now_ms,
                    lever,
                    detail: format!("skipped: {step} ({error})"),
                });
                self.errors.push((now_ms, error));
                None
            }
        }
    }

    fn skip(
        &mut self,
        now_ms: u64,
        lever: &'static str,
        step: &FaultStep,
        why: &str,
        target: &mut dyn FaultTarget,
    ) {
        target.record(FaultRecord {
            at_ms: now_ms,
            lever,
            detail: format!("skipped: {step} ({why})"),
        });
    }
}

/// The transport rule of a network-wide fault.
fn network_rule(fault: NetworkFault) -> FaultRule {
    let base = FaultRule::default();
    match fault {
        NetworkFault::Delay { min_ms, max_ms } => FaultRule {
            delay_probability: 1.0,
            delay_min_ms: min_ms,
            delay_max_ms: max_ms.max(min_ms),
            ..base
        },
        NetworkFault::Loss { probability } => FaultRule {
            drop_probability: probability,
            ..base
        },
        NetworkFault::Duplicate { probability } => FaultRule {
            duplicate_probability: probability,
            ..base
        },
        NetworkFault::Reorder {
            probability,
            max_delay_ms,
        } => FaultRule {
            reorder_probability: probability,
            reorder_window_ms: max_delay_ms,
            ..base
        },
    }
}

/// The transport rule of a per-API fault.
fn rpc_rule(fault: RpcFault, direction: FaultDirection, probability: f64) -> FaultRule {
    let base = FaultRule {
        direction,
        ..FaultRule::default()
    };
    match fault {
        RpcFault::Drop => FaultRule {
            drop_probability: probability,
            ..base
        },
        RpcFault::Hold { hold_ms } => FaultRule {
            delay_probability: probability,
            delay_min_ms: hold_ms,
            delay_max_ms: hold_ms,
            ..base
        },
        RpcFault::Delay { delay_ms } => FaultRule {
            delay_probability: probability,
            delay_min_ms: 0,
            delay_max_ms: delay_ms,
            ..base
        },
    }
}

/// The transport rule of a persister fault on its RPC's messages; `None` for `Fail`, which the broker's
/// persister injects itself (the transport cannot forge an error response).
fn persister_rule(fault: PersisterFault, probability: f64) -> Option<FaultRule> {
    let requests = FaultRule {
        direction: FaultDirection::Requests,
        ..FaultRule::default()
    };
    match fault {
        PersisterFault::Hold { hold_ms } => Some(FaultRule {
            delay_probability: probability,
            delay_min_ms: hold_ms,
            delay_max_ms: hold_ms,
            ..requests
        }),
        PersisterFault::Fail { .. } => None,
        // The write reaches the share coordinator and commits; its answer is lost, so the leader's call
        // times out with the state already persisted (the interesting case for DURABLE).
        PersisterFault::Timeout => Some(FaultRule {
            direction: FaultDirection::Responses,
            drop_probability: probability,
            ..FaultRule::default()
        }),
        PersisterFault::Reorder { window_ms } => Some(FaultRule {
            reorder_probability: probability,
            reorder_window_ms: window_ms,
            ..requests
        }),
        PersisterFault::Duplicate => Some(FaultRule {
            duplicate_probability: probability,
            ..requests
        }),
    }
}

/// Two windows' rules on the same API keys as one: the strongest of each field.
fn merge_rules(a: FaultRule, b: FaultRule) -> FaultRule {
    FaultRule {
        direction: if a.direction == b.direction {
            a.direction
        } else {
            FaultDirection::Both
        },
        drop_probability: a.drop_probability.max(b.drop_probability),
        duplicate_probability: a.duplicate_probability.max(b.duplicate_probability),
        delay_probability: a.delay_probability.max(b.delay_probability),
        delay_min_ms: a.delay_min_ms.max(b.delay_min_ms),
        delay_max_ms: a.delay_max_ms.max(b.delay_max_ms),
        reorder_probability: a.reorder_probability.max(b.reorder_probability),
        reorder_window_ms: a.reorder_window_ms.max(b.reorder_window_ms),
    }
}
