//! Share groups on the broker side: the vocabulary every share engine uses (record states, acknowledge
//! types, member ids) and the engines themselves.

mod acknowledge_type;
mod member_id;
mod record_state;

pub use acknowledge_type::AcknowledgeType;
pub use member_id::MemberId;
pub use record_state::RecordState;
