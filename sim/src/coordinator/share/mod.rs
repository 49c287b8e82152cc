//! The share coordinator (spec 3): the state it keeps for one `__share_group_state` partition, the records
//! it appends, and the batch merge rule shared with everyone who keeps a persisted image.
//!
//! * [`combine_state_batches`]: the `PersisterStateBatchCombiner` merge rule;
//! * [`ShareCoordinatorShard`]: the sans-IO shard (requests in, records and responses out, replay);
//! * [`ShareCoordinatorRecord`]: ShareSnapshot / ShareUpdate / tombstone records;
//! * [`SharePartitionKey`], [`TopicId`], [`TopicIdPartition`]: identities.

mod config;
mod image;
mod key;
mod records;
mod shard;
mod state_batch_merge;

pub use config::ShareCoordinatorConfig;
pub use image::ShareStateImage;
pub use key::{SharePartitionKey, TopicId, TopicIdPartition};
pub use records::{ShareCoordinatorRecord, ShareRecordValue, ShareSnapshotValue, ShareUpdateValue};
pub use shard::{CoordinatorResult, ShardJobs, ShareCoordinatorShard, ShareStateSummary};
pub use state_batch_merge::combine_state_batches;

#[cfg(test)]
mod tests;
