//! Share groups on the broker side: the vocabulary every share engine uses (record states, acknowledge
//! types, member ids, persisted state shapes) and the engines themselves.

mod acknowledge_type;
pub mod broker;
mod member_id;
pub mod partition;
mod persisted_state;
mod record_state;
pub mod session;

pub use acknowledge_type::AcknowledgeType;
pub use member_id::MemberId;
pub use persisted_state::{PersistedShareState, StateBatch, WriteShareGroupState};
pub use record_state::RecordState;
