//! The pairing of the spec model with the real engine: an implementation model and a refinement check.
//!
//! [`ImplModel`] is a stateright [`Model`](stateright::Model) whose state holds the real share-partition
//! engine (`sharesim_sim::share::partition::SharePartition`), the real share-coordinator shard (its
//! `handle_write`/`handle_read` and the `PersisterStateBatchCombiner` merge rule keep the persisted
//! image), the persister writes in flight, a virtual clock and a few ghost (history) variables. Its
//! actions are the spec's [`ShareAction`](sharesim_model::ShareAction) vocabulary, so both models print
//! counterexamples in one JSON format (`sharesim_model::counterexample`).
//!
//! # The abstraction function α ([`abstraction`])
//!
//! α maps the engine (records, SPSO, SPEO), the shard's image, the writes in flight and the ghosts to
//! the spec's [`ShareState`](sharesim_model::ShareState), then applies the spec's own
//! `forget_irrelevant_history`, so that equal histories compare equal. The spec's properties are
//! evaluated on α of every implementation state, by the spec's own property functions.
//!
//! # Refinement ([`refinement`])
//!
//! Every implementation step s --a--> s' is checked inside `next_state`: the spec must allow
//! α(s) --a--> α(s') (compared without ghost variables), or a short sequence of spec steps (one time
//! advance fires several locks), or a stutter (the engine changed nothing the spec sees). The first
//! divergence is stored in s' with both abstract states and the action, and the `always` property
//! [`REFINEMENT`] fails there, so the counterexample explains itself.
//!
//! # Time
//!
//! The clock only matters through the order of lock deadlines. Every acquisition first advances the
//! clock by 1 ms, so each acquisition gets its own deadline (`now + lock duration`, the duration far
//! longer than any path). "The lock of offset o expires" (`LockExpiry { offset: o, persisted: true }`)
//! advances the clock to o's deadline and calls `handle_timeout`: every lock acquired no later than o's
//! fires in that one engine step, which corresponds to one spec `LockExpiry` per fired offset, oldest
//! deadline first. The lock-expiry writes the handler emits are delivered to the shard in the same step
//! (the spec models that one-phase write inside its expiry step).
//!
//! The engine keeps absolute deadlines, so a cycle of the spec's graph (4.1: acquire, then a session
//! release that decrements the count, again and again) is an infinite path of distinct engine
//! states. Where the spec's graph is cyclic the implementation model bounds the acquisitions per path
//! (`ImplModel::acquisitions_max`, default `CYCLIC_ACQUISITIONS_MAX`), which bounds the clock; the
//! check is exhaustive within that bound.
//!
//! # Faults and RENEW
//!
//! - Leader failover: a new engine at the next leader epoch initializes from the shard's image
//!   (the shard's Read raises its leader epoch); the old incarnation's writes stay in flight, reach the
//!   shard later and are fenced there, and never reach the new engine.
//! - Group offset reset: the shard's Initialize at the next state epoch; the live leader's next write
//!   is fenced (FENCED_STATE_EPOCH) and the leader re-reads the image at the same leader epoch.
//! - Log-start movement: `handle_log_start_offset` (the OFFSET_OUT_OF_RANGE path); a new leader moves
//!   its SPSO to the log start after initialization, as its first fetch would.
//! - Corrupt batch: one ShareAcknowledge REJECTing every offset of the log batch the member holds
//!   (spec 7.6); deserialization error: a RELEASE of the record (spec 7.5).
//! - RENEW (4.2): the engine moves the lock deadline; the spec sees a stutter (it abstracts time).
//! - Failed lock-expiry writes (`LockExpiry { persisted: false }`): the time advance fires the locks
//!   as above and every lock-expiry write the engine emits fails; each held record that expired is
//!   one spec expiry with a failed write (one write failure each), a record in transition writes
//!   nothing (its spec expiry is the `persisted: true` one).
//! - The dead-letter queue (KIP-1191, `ShareModelCfg::dead_letter_queue`): the engine runs with
//!   `dlq_enabled`; α maps its ARCHIVING (in memory and persisted as state 3) to the spec's. The
//!   engine's `EnqueueDeadLetters` ranges are kept as requests; `DeadLetterCompleted { offset }`
//!   reports the request holding `offset` whole (`handle_dead_letter_result`, as the broker does) and
//!   delivers the ARCHIVED write within the step (failed when not `persisted`): one spec phase-2 step
//!   per offset archived. `enqueued` is no engine input (Kafka archives either way). The DEAD-LETTER
//!   ghost marks offsets seen ARCHIVING with phase 1 done, until phase 2 or a new incarnation.
//!
//! Delivery throttling (KAFKA-17541) is off in the engine profile used here, as the spec does not
//! model it. The engine gets `BatchSize` 1, so its cached batches are the log batches the spec's
//! batch_optimized rule counts in.

pub mod abstraction;
pub mod counterexample;
pub mod emit_scenario;
pub mod model;
pub mod refinement;

#[cfg(test)]
mod dead_letter_tests;

pub use counterexample::impl_counterexample;
pub use model::{check_implementation, ImplModel, ImplState, CYCLIC_ACQUISITIONS_MAX, REFINEMENT};
pub use refinement::Divergence;
pub use sharesim_sim::share::partition::EngineMutation;
