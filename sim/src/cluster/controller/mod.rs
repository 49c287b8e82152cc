//! The controller role (KRaft's quorum controller) as a sans-IO engine, single node: broker registration,
//! heartbeats and fencing, topics and replica placement, leader election from the ISR (unclean election
//! off), AlterPartition, and the versioned metadata image brokers fetch. The controller is not itself
//! replicated in this version.

mod config;
mod engine;
mod image;
mod trace;

pub use config::ControllerConfig;
pub use engine::{
    AlterPartitionRequest, BrokerHeartbeat, BrokerRegistration, Controller, HeartbeatReply,
    LeaderMove,
};
pub use image::{
    BrokerImage, MetadataImage, PartitionImage, PartitionMetadata, TopicImage, TopicMetadata,
};
pub use trace::ControllerEvent;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
