//! sharesim: the command-line tool's library. It ties the spec models (`sharesim-model`) to the system
//! under test (`sharesim-sim`): scenario runner, oracle, conformance and reports live here.

pub mod check_command;
pub mod oracle;
pub mod pairing;

pub use sharesim_model as model;
pub use sharesim_sim as sim;

pub mod cli;
pub mod conform;
pub mod live;
pub mod report;
pub mod runner;
pub mod scenario;
