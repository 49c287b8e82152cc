//! Fault levers (design, "Fault levers"): a typed [`FaultPlan`] of every lever, a [`FaultScheduler`]
//! that carries it out at virtual times against a [`FaultTarget`] (the harness), the in-node switches the
//! broker consults ([`BrokerFaultSwitches`]), and swarm mode ([`swarm`]), which draws a plan per seed.
//!
//! Every pull and release is recorded as one `TraceEvent::Fault` (lever = the scenario's kind name,
//! detail = `pull: ...`, `release: ...` or `skipped: ... (why)`). Every plan ends with the liveness
//! phase: at [`FaultPlan::liveness_at_ms`] every fault is healed and nothing more is pulled.

mod cluster_log_levers;
mod cluster_target;
mod lever;
mod scheduler;
mod step;
pub mod swarm;
mod switches;
#[cfg(test)]
mod tests;

pub use lever::{
    api_key_by_name, api_name, CoordinatorKind, FaultNode, FaultPlan, Lever, LockTimerOrder,
    LogStartCause, NetworkFault, PartitionShape, PersisterFault, RpcFault, ScheduledFault,
    FAULT_NODE_FORMS,
};
pub use scheduler::{FaultScheduler, LIVENESS_LEVER};
pub use step::{FaultError, FaultRecord, FaultStep, FaultTarget, StepOutcome};
pub use switches::{BrokerFaultSwitches, LockTimerSwitch, PersisterFailSwitch};

/// Runs `scheduler` to its end under madsim: sleeps until each due time and carries out what is due,
/// the liveness heal last. Returns the scheduler (for its errors).
pub async fn run_fault_plan(
    mut scheduler: FaultScheduler,
    target: &mut dyn FaultTarget,
) -> FaultScheduler {
    while let Some(due_ms) = scheduler.next_due_ms() {
        let now_ms = virtual_now_ms();
        if due_ms > now_ms {
            madsim::time::sleep(std::time::Duration::from_millis(due_ms - now_ms)).await;
        }
        scheduler.run_due(virtual_now_ms(), target);
    }
    scheduler
}

/// madsim's virtual time in ms since the start.
pub fn virtual_now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}
