//! The consumer embedded protocol (Kafka's `ConsumerProtocol`): JoinGroup metadata is a versioned
//! `ConsumerProtocolSubscription`, SyncGroup assignments a versioned `ConsumerProtocolAssignment`, each
//! prefixed by its INT16 version, as the Java client writes them.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition as AssignedTopic;
use kafka_protocol::messages::{
    ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::trace::TopicPartitionName;

/// The version written (Kafka 3.x/4.x clients write 3).
pub const CONSUMER_PROTOCOL_VERSION: i16 = 3;

/// Encodes a subscription to `topics` (sorted), with no owned partitions (eager protocol).
pub fn encode_subscription(topics: &[String], generation_id: i32) -> Bytes {
    let subscription = ConsumerProtocolSubscription::default()
        .with_topics(
            topics
                .iter()
                .map(|t| StrBytes::from_string(t.clone()))
                .collect(),
        )
        .with_generation_id(generation_id);
    versioned(&subscription)
}

/// The topics of a subscription, or `None` when the bytes do not decode.
pub fn decode_subscription(bytes: &[u8]) -> Option<Vec<String>> {
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16().clamp(0, CONSUMER_PROTOCOL_VERSION);
    let subscription = ConsumerProtocolSubscription::decode(&mut buf, version).ok()?;
    Some(subscription.topics.iter().map(|t| t.to_string()).collect())
}

/// Encodes an assignment, grouping partitions by topic in the order given.
pub fn encode_assignment(partitions: &[TopicPartitionName]) -> Bytes {
    let mut topics: Vec<AssignedTopic> = Vec::new();
    for p in partitions {
        match topics.iter_mut().find(|t| t.topic.0.as_str() == p.topic) {
            Some(topic) => topic.partitions.push(p.partition),
            None => topics.push(
                AssignedTopic::default()
                    .with_topic(TopicName(StrBytes::from_string(p.topic.clone())))
                    .with_partitions(vec![p.partition]),
            ),
        }
    }
    versioned(&ConsumerProtocolAssignment::default().with_assigned_partitions(topics))
}

/// The partitions of an assignment (empty bytes: nothing), or `None` when the bytes do not decode.
pub fn decode_assignment(bytes: &[u8]) -> Option<Vec<TopicPartitionName>> {
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    let mut buf = Bytes::copy_from_slice(bytes);
    if buf.remaining() < 2 {
        return None;
    }
    let version = buf.get_i16().clamp(0, CONSUMER_PROTOCOL_VERSION);
    let assignment = ConsumerProtocolAssignment::decode(&mut buf, version).ok()?;
    let mut partitions: Vec<TopicPartitionName> = assignment
        .assigned_partitions
        .iter()
        .flat_map(|t| {
            t.partitions.iter().map(|p| TopicPartitionName {
                topic: t.topic.0.to_string(),
                partition: *p,
            })
        })
        .collect();
    partitions.sort();
    partitions.dedup();
    Some(partitions)
}

fn versioned(message: &impl Encodable) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(CONSUMER_PROTOCOL_VERSION);
    // In-memory messages with valid fields always encode at a supported version.
    message
        .encode(&mut buf, CONSUMER_PROTOCOL_VERSION)
        .expect("consumer protocol message encodes");
    buf.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ConsumerProtocol: subscription and assignment bytes round-trip.
    #[test]
    fn round_trips() {
        let topics = vec!["orders".to_string(), "audit".to_string()];
        assert_eq!(
            decode_subscription(&encode_subscription(&topics, 4)),
            Some(topics)
        );
        let partitions = vec![
            TopicPartitionName {
                topic: "audit".into(),
                partition: 1,
            },
            TopicPartitionName {
                topic: "orders".into(),
                partition: 0,
            },
        ];
        assert_eq!(
            decode_assignment(&encode_assignment(&partitions)),
            Some(partitions)
        );
        assert_eq!(decode_assignment(&[]), Some(Vec::new()));
        assert_eq!(decode_assignment(&[0, 3, 0xff]), None);
    }
}
