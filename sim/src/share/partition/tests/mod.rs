//! Engine tests, one file per area. Each test names the spec section it checks.

// Tests tweak one config field at a time.
#![allow(clippy::field_reassign_with_default)]

mod ack_tests;
mod acquire_tests;
mod checker_tests;
mod harness;
mod lifecycle_tests;
mod property_tests;
mod two_phase_tests;
