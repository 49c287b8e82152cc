//! The share coordinator (spec 3): the state it keeps for one `__share_group_state` partition, the records
//! it appends, and the batch merge rule shared with everyone who keeps a persisted image.

mod state_batch_merge;

pub use state_batch_merge::combine_state_batches;
