//! One match per direction over every API key kafka-protocol knows: decoding bodies (the vendored crate
//! never reserves beyond the bytes left, see `sim/vendor/kafka-protocol/PATCHED.md`), and naming the API key of a message. Generated from kafka-protocol 0.18's `RequestKind` list.

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::protocol::Decodable;

use bytes::Bytes;

fn body<T: Decodable>(buf: &mut Bytes, version: i16) -> Option<T> {
    T::decode(buf, version).ok()
}

/// Decodes a request body of `api_key` at `version`; `None` when malformed.
pub fn decode_request_body(api_key: ApiKey, buf: &mut Bytes, version: i16) -> Option<RequestKind> {
    Some(match api_key {
        ApiKey::Produce => RequestKind::Produce(body(buf, version)?),
        ApiKey::Fetch => RequestKind::Fetch(body(buf, version)?),
        ApiKey::ListOffsets => RequestKind::ListOffsets(body(buf, version)?),
        ApiKey::Metadata => RequestKind::Metadata(body(buf, version)?),
        ApiKey::OffsetCommit => RequestKind::OffsetCommit(body(buf, version)?),
        ApiKey::OffsetFetch => RequestKind::OffsetFetch(body(buf, version)?),
        ApiKey::FindCoordinator => RequestKind::FindCoordinator(body(buf, version)?),
        ApiKey::JoinGroup => RequestKind::JoinGroup(body(buf, version)?),
        ApiKey::Heartbeat => RequestKind::Heartbeat(body(buf, version)?),
        ApiKey::LeaveGroup => RequestKind::LeaveGroup(body(buf, version)?),
        ApiKey::SyncGroup => RequestKind::SyncGroup(body(buf, version)?),
        ApiKey::DescribeGroups => RequestKind::DescribeGroups(body(buf, version)?),
        ApiKey::ListGroups => RequestKind::ListGroups(body(buf, version)?),
        ApiKey::SaslHandshake => RequestKind::SaslHandshake(body(buf, version)?),
        ApiKey::ApiVersions => RequestKind::ApiVersions(body(buf, version)?),
        ApiKey::CreateTopics => RequestKind::CreateTopics(body(buf, version)?),
        ApiKey::DeleteTopics => RequestKind::DeleteTopics(body(buf, version)?),
        ApiKey::DeleteRecords => RequestKind::DeleteRecords(body(buf, version)?),
        ApiKey::InitProducerId => RequestKind::InitProducerId(body(buf, version)?),
        ApiKey::OffsetForLeaderEpoch => RequestKind::OffsetForLeaderEpoch(body(buf, version)?),
        ApiKey::AddPartitionsToTxn => RequestKind::AddPartitionsToTxn(body(buf, version)?),
        ApiKey::AddOffsetsToTxn => RequestKind::AddOffsetsToTxn(body(buf, version)?),
        ApiKey::EndTxn => RequestKind::EndTxn(body(buf, version)?),
        ApiKey::WriteTxnMarkers => RequestKind::WriteTxnMarkers(body(buf, version)?),
        ApiKey::TxnOffsetCommit => RequestKind::TxnOffsetCommit(body(buf, version)?),
        ApiKey::DescribeAcls => RequestKind::DescribeAcls(body(buf, version)?),
        ApiKey::CreateAcls => RequestKind::CreateAcls(body(buf, version)?),
        ApiKey::DeleteAcls => RequestKind::DeleteAcls(body(buf, version)?),
        ApiKey::DescribeConfigs => RequestKind::DescribeConfigs(body(buf, version)?),
        ApiKey::AlterConfigs => RequestKind::AlterConfigs(body(buf, version)?),
        ApiKey::AlterReplicaLogDirs => RequestKind::AlterReplicaLogDirs(body(buf, version)?),
        ApiKey::DescribeLogDirs => RequestKind::DescribeLogDirs(body(buf, version)?),
        ApiKey::SaslAuthenticate => RequestKind::SaslAuthenticate(body(buf, version)?),
        ApiKey::CreatePartitions => RequestKind::CreatePartitions(body(buf, version)?),
        ApiKey::CreateDelegationToken => RequestKind::CreateDelegationToken(body(buf, version)?),
        ApiKey::RenewDelegationToken => RequestKind::RenewDelegationToken(body(buf, version)?),
        ApiKey::ExpireDelegationToken => RequestKind::ExpireDelegationToken(body(buf, version)?),
        ApiKey::DescribeDelegationToken => {
            RequestKind::DescribeDelegationToken(body(buf, version)?)
        }
        ApiKey::DeleteGroups => RequestKind::DeleteGroups(body(buf, version)?),
        ApiKey::ElectLeaders => RequestKind::ElectLeaders(body(buf, version)?),
        ApiKey::IncrementalAlterConfigs => {
            RequestKind::IncrementalAlterConfigs(body(buf, version)?)
        }
        ApiKey::AlterPartitionReassignments => {
            RequestKind::AlterPartitionReassignments(body(buf, version)?)
        }
        ApiKey::ListPartitionReassignments => {
            RequestKind::ListPartitionReassignments(body(buf, version)?)
        }
        ApiKey::OffsetDelete => RequestKind::OffsetDelete(body(buf, version)?),
        ApiKey::DescribeClientQuotas => RequestKind::DescribeClientQuotas(body(buf, version)?),
        ApiKey::AlterClientQuotas => RequestKind::AlterClientQuotas(body(buf, version)?),
        ApiKey::DescribeUserScramCredentials => {
            RequestKind::DescribeUserScramCredentials(body(buf, version)?)
        }
        ApiKey::AlterUserScramCredentials => {
            RequestKind::AlterUserScramCredentials(body(buf, version)?)
        }
        ApiKey::Vote => RequestKind::Vote(body(buf, version)?),
        ApiKey::BeginQuorumEpoch => RequestKind::BeginQuorumEpoch(body(buf, version)?),
        ApiKey::EndQuorumEpoch => RequestKind::EndQuorumEpoch(body(buf, version)?),
        ApiKey::DescribeQuorum => RequestKind::DescribeQuorum(body(buf, version)?),
        ApiKey::AlterPartition => RequestKind::AlterPartition(body(buf, version)?),
        ApiKey::UpdateFeatures => RequestKind::UpdateFeatures(body(buf, version)?),
        ApiKey::Envelope => RequestKind::Envelope(body(buf, version)?),
        ApiKey::FetchSnapshot => RequestKind::FetchSnapshot(body(buf, version)?),
        ApiKey::DescribeCluster => RequestKind::DescribeCluster(body(buf, version)?),
        ApiKey::DescribeProducers => RequestKind::DescribeProducers(body(buf, version)?),
        ApiKey::BrokerRegistration => RequestKind::BrokerRegistration(body(buf, version)?),
        ApiKey::BrokerHeartbeat => RequestKind::BrokerHeartbeat(body(buf, version)?),
        ApiKey::UnregisterBroker => RequestKind::UnregisterBroker(body(buf, version)?),
        ApiKey::DescribeTransactions => RequestKind::DescribeTransactions(body(buf, version)?),
        ApiKey::ListTransactions => RequestKind::ListTransactions(body(buf, version)?),
        ApiKey::AllocateProducerIds => RequestKind::AllocateProducerIds(body(buf, version)?),
        ApiKey::ConsumerGroupHeartbeat => RequestKind::ConsumerGroupHeartbeat(body(buf, version)?),
        ApiKey::ConsumerGroupDescribe => RequestKind::ConsumerGroupDescribe(body(buf, version)?),
        ApiKey::ControllerRegistration => RequestKind::ControllerRegistration(body(buf, version)?),
        ApiKey::GetTelemetrySubscriptions => {
            RequestKind::GetTelemetrySubscriptions(body(buf, version)?)
        }
        ApiKey::PushTelemetry => RequestKind::PushTelemetry(body(buf, version)?),
        ApiKey::AssignReplicasToDirs => RequestKind::AssignReplicasToDirs(body(buf, version)?),
        ApiKey::ListConfigResources => RequestKind::ListConfigResources(body(buf, version)?),
        ApiKey::DescribeTopicPartitions => {
            RequestKind::DescribeTopicPartitions(body(buf, version)?)
        }
        ApiKey::ShareGroupHeartbeat => RequestKind::ShareGroupHeartbeat(body(buf, version)?),
        ApiKey::ShareGroupDescribe => RequestKind::ShareGroupDescribe(body(buf, version)?),
        ApiKey::ShareFetch => RequestKind::ShareFetch(body(buf, version)?),
        ApiKey::ShareAcknowledge => RequestKind::ShareAcknowledge(body(buf, version)?),
        ApiKey::AddRaftVoter => RequestKind::AddRaftVoter(body(buf, version)?),
        ApiKey::RemoveRaftVoter => RequestKind::RemoveRaftVoter(body(buf, version)?),
        ApiKey::UpdateRaftVoter => RequestKind::UpdateRaftVoter(body(buf, version)?),
        ApiKey::InitializeShareGroupState => {
            RequestKind::InitializeShareGroupState(body(buf, version)?)
        }
        ApiKey::ReadShareGroupState => RequestKind::ReadShareGroupState(body(buf, version)?),
        ApiKey::WriteShareGroupState => RequestKind::WriteShareGroupState(body(buf, version)?),
        ApiKey::DeleteShareGroupState => RequestKind::DeleteShareGroupState(body(buf, version)?),
        ApiKey::ReadShareGroupStateSummary => {
            RequestKind::ReadShareGroupStateSummary(body(buf, version)?)
        }
        ApiKey::DescribeShareGroupOffsets => {
            RequestKind::DescribeShareGroupOffsets(body(buf, version)?)
        }
        ApiKey::AlterShareGroupOffsets => RequestKind::AlterShareGroupOffsets(body(buf, version)?),
        ApiKey::DeleteShareGroupOffsets => {
            RequestKind::DeleteShareGroupOffsets(body(buf, version)?)
        }
    })
}

/// Decodes a response body of `api_key` at `version`; `None` when malformed.
pub fn decode_response_body(
    api_key: ApiKey,
    buf: &mut Bytes,
    version: i16,
) -> Option<ResponseKind> {
    Some(match api_key {
        ApiKey::Produce => ResponseKind::Produce(body(buf, version)?),
        ApiKey::Fetch => ResponseKind::Fetch(body(buf, version)?),
        ApiKey::ListOffsets => ResponseKind::ListOffsets(body(buf, version)?),
        ApiKey::Metadata => ResponseKind::Metadata(body(buf, version)?),
        ApiKey::OffsetCommit => ResponseKind::OffsetCommit(body(buf, version)?),
        ApiKey::OffsetFetch => ResponseKind::OffsetFetch(body(buf, version)?),
        ApiKey::FindCoordinator => ResponseKind::FindCoordinator(body(buf, version)?),
        ApiKey::JoinGroup => ResponseKind::JoinGroup(body(buf, version)?),
        ApiKey::Heartbeat => ResponseKind::Heartbeat(body(buf, version)?),
        ApiKey::LeaveGroup => ResponseKind::LeaveGroup(body(buf, version)?),
        ApiKey::SyncGroup => ResponseKind::SyncGroup(body(buf, version)?),
        ApiKey::DescribeGroups => ResponseKind::DescribeGroups(body(buf, version)?),
        ApiKey::ListGroups => ResponseKind::ListGroups(body(buf, version)?),
        ApiKey::SaslHandshake => ResponseKind::SaslHandshake(body(buf, version)?),
        ApiKey::ApiVersions => ResponseKind::ApiVersions(body(buf, version)?),
        ApiKey::CreateTopics => ResponseKind::CreateTopics(body(buf, version)?),
        ApiKey::DeleteTopics => ResponseKind::DeleteTopics(body(buf, version)?),
        ApiKey::DeleteRecords => ResponseKind::DeleteRecords(body(buf, version)?),
        ApiKey::InitProducerId => ResponseKind::InitProducerId(body(buf, version)?),
        ApiKey::OffsetForLeaderEpoch => ResponseKind::OffsetForLeaderEpoch(body(buf, version)?),
        ApiKey::AddPartitionsToTxn => ResponseKind::AddPartitionsToTxn(body(buf, version)?),
        ApiKey::AddOffsetsToTxn => ResponseKind::AddOffsetsToTxn(body(buf, version)?),
        ApiKey::EndTxn => ResponseKind::EndTxn(body(buf, version)?),
        ApiKey::WriteTxnMarkers => ResponseKind::WriteTxnMarkers(body(buf, version)?),
        ApiKey::TxnOffsetCommit => ResponseKind::TxnOffsetCommit(body(buf, version)?),
        ApiKey::DescribeAcls => ResponseKind::DescribeAcls(body(buf, version)?),
        ApiKey::CreateAcls => ResponseKind::CreateAcls(body(buf, version)?),
        ApiKey::DeleteAcls => ResponseKind::DeleteAcls(body(buf, version)?),
        ApiKey::DescribeConfigs => ResponseKind::DescribeConfigs(body(buf, version)?),
        ApiKey::AlterConfigs => ResponseKind::AlterConfigs(body(buf, version)?),
        ApiKey::AlterReplicaLogDirs => ResponseKind::AlterReplicaLogDirs(body(buf, version)?),
        ApiKey::DescribeLogDirs => ResponseKind::DescribeLogDirs(body(buf, version)?),
        ApiKey::SaslAuthenticate => ResponseKind::SaslAuthenticate(body(buf, version)?),
        ApiKey::CreatePartitions => ResponseKind::CreatePartitions(body(buf, version)?),
        ApiKey::CreateDelegationToken => ResponseKind::CreateDelegationToken(body(buf, version)?),
        ApiKey::RenewDelegationToken => ResponseKind::RenewDelegationToken(body(buf, version)?),
        ApiKey::ExpireDelegationToken => ResponseKind::ExpireDelegationToken(body(buf, version)?),
        ApiKey::DescribeDelegationToken => {
            ResponseKind::DescribeDelegationToken(body(buf, version)?)
        }
        ApiKey::DeleteGroups => ResponseKind::DeleteGroups(body(buf, version)?),
        ApiKey::ElectLeaders => ResponseKind::ElectLeaders(body(buf, version)?),
        ApiKey::IncrementalAlterConfigs => {
            ResponseKind::IncrementalAlterConfigs(body(buf, version)?)
        }
        ApiKey::AlterPartitionReassignments => {
            ResponseKind::AlterPartitionReassignments(body(buf, version)?)
        }
        ApiKey::ListPartitionReassignments => {
            ResponseKind::ListPartitionReassignments(body(buf, version)?)
        }
        ApiKey::OffsetDelete => ResponseKind::OffsetDelete(body(buf, version)?),
        ApiKey::DescribeClientQuotas => ResponseKind::DescribeClientQuotas(body(buf, version)?),
        ApiKey::AlterClientQuotas => ResponseKind::AlterClientQuotas(body(buf, version)?),
        ApiKey::DescribeUserScramCredentials => {
            ResponseKind::DescribeUserScramCredentials(body(buf, version)?)
        }
        ApiKey::AlterUserScramCredentials => {
            ResponseKind::AlterUserScramCredentials(body(buf, version)?)
        }
        ApiKey::Vote => ResponseKind::Vote(body(buf, version)?),
        ApiKey::BeginQuorumEpoch => ResponseKind::BeginQuorumEpoch(body(buf, version)?),
        ApiKey::EndQuorumEpoch => ResponseKind::EndQuorumEpoch(body(buf, version)?),
        ApiKey::DescribeQuorum => ResponseKind::DescribeQuorum(body(buf, version)?),
        ApiKey::AlterPartition => ResponseKind::AlterPartition(body(buf, version)?),
        ApiKey::UpdateFeatures => ResponseKind::UpdateFeatures(body(buf, version)?),
        ApiKey::Envelope => ResponseKind::Envelope(body(buf, version)?),
        ApiKey::FetchSnapshot => ResponseKind::FetchSnapshot(body(buf, version)?),
        ApiKey::DescribeCluster => ResponseKind::DescribeCluster(body(buf, version)?),
        ApiKey::DescribeProducers => ResponseKind::DescribeProducers(body(buf, version)?),
        ApiKey::BrokerRegistration => ResponseKind::BrokerRegistration(body(buf, version)?),
        ApiKey::BrokerHeartbeat => ResponseKind::BrokerHeartbeat(body(buf, version)?),
        ApiKey::UnregisterBroker => ResponseKind::UnregisterBroker(body(buf, version)?),
        ApiKey::DescribeTransactions => ResponseKind::DescribeTransactions(body(buf, version)?),
        ApiKey::ListTransactions => ResponseKind::ListTransactions(body(buf, version)?),
        ApiKey::AllocateProducerIds => ResponseKind::AllocateProducerIds(body(buf, version)?),
        ApiKey::ConsumerGroupHeartbeat => ResponseKind::ConsumerGroupHeartbeat(body(buf, version)?),
        ApiKey::ConsumerGroupDescribe => ResponseKind::ConsumerGroupDescribe(body(buf, version)?),
        ApiKey::ControllerRegistration => ResponseKind::ControllerRegistration(body(buf, version)?),
        ApiKey::GetTelemetrySubscriptions => {
            ResponseKind::GetTelemetrySubscriptions(body(buf, version)?)
        }
        ApiKey::PushTelemetry => ResponseKind::PushTelemetry(body(buf, version)?),
        ApiKey::AssignReplicasToDirs => ResponseKind::AssignReplicasToDirs(body(buf, version)?),
        ApiKey::ListConfigResources => ResponseKind::ListConfigResources(body(buf, version)?),
        ApiKey::DescribeTopicPartitions => {
            ResponseKind::DescribeTopicPartitions(body(buf, version)?)
        }
        ApiKey::ShareGroupHeartbeat => ResponseKind::ShareGroupHeartbeat(body(buf, version)?),
        ApiKey::ShareGroupDescribe => ResponseKind::ShareGroupDescribe(body(buf, version)?),
        ApiKey::ShareFetch => ResponseKind::ShareFetch(body(buf, version)?),
        ApiKey::ShareAcknowledge => ResponseKind::ShareAcknowledge(body(buf, version)?),
        ApiKey::AddRaftVoter => ResponseKind::AddRaftVoter(body(buf, version)?),
        ApiKey::RemoveRaftVoter => ResponseKind::RemoveRaftVoter(body(buf, version)?),
        ApiKey::UpdateRaftVoter => ResponseKind::UpdateRaftVoter(body(buf, version)?),
        ApiKey::InitializeShareGroupState => {
            ResponseKind::InitializeShareGroupState(body(buf, version)?)
        }
        ApiKey::ReadShareGroupState => ResponseKind::ReadShareGroupState(body(buf, version)?),
        ApiKey::WriteShareGroupState => ResponseKind::WriteShareGroupState(body(buf, version)?),
        ApiKey::DeleteShareGroupState => ResponseKind::DeleteShareGroupState(body(buf, version)?),
        ApiKey::ReadShareGroupStateSummary => {
            ResponseKind::ReadShareGroupStateSummary(body(buf, version)?)
        }
        ApiKey::DescribeShareGroupOffsets => {
            ResponseKind::DescribeShareGroupOffsets(body(buf, version)?)
        }
        ApiKey::AlterShareGroupOffsets => ResponseKind::AlterShareGroupOffsets(body(buf, version)?),
        ApiKey::DeleteShareGroupOffsets => {
            ResponseKind::DeleteShareGroupOffsets(body(buf, version)?)
        }
    })
}

/// The API key of a request (`None` only for a variant newer than this list).
pub fn request_api_key(request: &RequestKind) -> Option<ApiKey> {
    Some(match request {
        RequestKind::Produce(_) => ApiKey::Produce,
        RequestKind::Fetch(_) => ApiKey::Fetch,
        RequestKind::ListOffsets(_) => ApiKey::ListOffsets,
        RequestKind::Metadata(_) => ApiKey::Metadata,
        RequestKind::OffsetCommit(_) => ApiKey::OffsetCommit,
        RequestKind::OffsetFetch(_) => ApiKey::OffsetFetch,
        RequestKind::FindCoordinator(_) => ApiKey::FindCoordinator,
        RequestKind::JoinGroup(_) => ApiKey::JoinGroup,
        RequestKind::Heartbeat(_) => ApiKey::Heartbeat,
        RequestKind::LeaveGroup(_) => ApiKey::LeaveGroup,
        RequestKind::SyncGroup(_) => ApiKey::SyncGroup,
        RequestKind::DescribeGroups(_) => ApiKey::DescribeGroups,
        RequestKind::ListGroups(_) => ApiKey::ListGroups,
        RequestKind::SaslHandshake(_) => ApiKey::SaslHandshake,
        RequestKind::ApiVersions(_) => ApiKey::ApiVersions,
        RequestKind::CreateTopics(_) => ApiKey::CreateTopics,
        RequestKind::DeleteTopics(_) => ApiKey::DeleteTopics,
        RequestKind::DeleteRecords(_) => ApiKey::DeleteRecords,
        RequestKind::InitProducerId(_) => ApiKey::InitProducerId,
        RequestKind::OffsetForLeaderEpoch(_) => ApiKey::OffsetForLeaderEpoch,
        RequestKind::AddPartitionsToTxn(_) => ApiKey::AddPartitionsToTxn,
        RequestKind::AddOffsetsToTxn(_) => ApiKey::AddOffsetsToTxn,
        RequestKind::EndTxn(_) => ApiKey::EndTxn,
        RequestKind::WriteTxnMarkers(_) => ApiKey::WriteTxnMarkers,
        RequestKind::TxnOffsetCommit(_) => ApiKey::TxnOffsetCommit,
        RequestKind::DescribeAcls(_) => ApiKey::DescribeAcls,
        RequestKind::CreateAcls(_) => ApiKey::CreateAcls,
        RequestKind::DeleteAcls(_) => ApiKey::DeleteAcls,
        RequestKind::DescribeConfigs(_) => ApiKey::DescribeConfigs,
        RequestKind::AlterConfigs(_) => ApiKey::AlterConfigs,
        RequestKind::AlterReplicaLogDirs(_) => ApiKey::AlterReplicaLogDirs,
        RequestKind::DescribeLogDirs(_) => ApiKey::DescribeLogDirs,
        RequestKind::SaslAuthenticate(_) => ApiKey::SaslAuthenticate,
        RequestKind::CreatePartitions(_) => ApiKey::CreatePartitions,
        RequestKind::CreateDelegationToken(_) => ApiKey::CreateDelegationToken,
        RequestKind::RenewDelegationToken(_) => ApiKey::RenewDelegationToken,
        RequestKind::ExpireDelegationToken(_) => ApiKey::ExpireDelegationToken,
        RequestKind::DescribeDelegationToken(_) => ApiKey::DescribeDelegationToken,
        RequestKind::DeleteGroups(_) => ApiKey::DeleteGroups,
        RequestKind::ElectLeaders(_) => ApiKey::ElectLeaders,
        RequestKind::IncrementalAlterConfigs(_) => ApiKey::IncrementalAlterConfigs,
        RequestKind::AlterPartitionReassignments(_) => ApiKey::AlterPartitionReassignments,
        RequestKind::ListPartitionReassignments(_) => ApiKey::ListPartitionReassignments,
        RequestKind::OffsetDelete(_) => ApiKey::OffsetDelete,
        RequestKind::DescribeClientQuotas(_) => ApiKey::DescribeClientQuotas,
        RequestKind::AlterClientQuotas(_) => ApiKey::AlterClientQuotas,
        RequestKind::DescribeUserScramCredentials(_) => ApiKey::DescribeUserScramCredentials,
        RequestKind::AlterUserScramCredentials(_) => ApiKey::AlterUserScramCredentials,
        RequestKind::Vote(_) => ApiKey::Vote,
        RequestKind::BeginQuorumEpoch(_) => ApiKey::BeginQuorumEpoch,
        RequestKind::EndQuorumEpoch(_) => ApiKey::EndQuorumEpoch,
        RequestKind::DescribeQuorum(_) => ApiKey::DescribeQuorum,
        RequestKind::AlterPartition(_) => ApiKey::AlterPartition,
        RequestKind::UpdateFeatures(_) => ApiKey::UpdateFeatures,
        RequestKind::Envelope(_) => ApiKey::Envelope,
        RequestKind::FetchSnapshot(_) => ApiKey::FetchSnapshot,
        RequestKind::DescribeCluster(_) => ApiKey::DescribeCluster,
        RequestKind::DescribeProducers(_) => ApiKey::DescribeProducers,
        RequestKind::BrokerRegistration(_) => ApiKey::BrokerRegistration,
        RequestKind::BrokerHeartbeat(_) => ApiKey::BrokerHeartbeat,
        RequestKind::UnregisterBroker(_) => ApiKey::UnregisterBroker,
        RequestKind::DescribeTransactions(_) => ApiKey::DescribeTransactions,
        RequestKind::ListTransactions(_) => ApiKey::ListTransactions,
        RequestKind::AllocateProducerIds(_) => ApiKey::AllocateProducerIds,
        RequestKind::ConsumerGroupHeartbeat(_) => ApiKey::ConsumerGroupHeartbeat,
        RequestKind::ConsumerGroupDescribe(_) => ApiKey::ConsumerGroupDescribe,
        RequestKind::ControllerRegistration(_) => ApiKey::ControllerRegistration,
        RequestKind::GetTelemetrySubscriptions(_) => ApiKey::GetTelemetrySubscriptions,
        RequestKind::PushTelemetry(_) => ApiKey::PushTelemetry,
        RequestKind::AssignReplicasToDirs(_) => ApiKey::AssignReplicasToDirs,
        RequestKind::ListConfigResources(_) => ApiKey::ListConfigResources,
        RequestKind::DescribeTopicPartitions(_) => ApiKey::DescribeTopicPartitions,
        RequestKind::ShareGroupHeartbeat(_) => ApiKey::ShareGroupHeartbeat,
        RequestKind::ShareGroupDescribe(_) => ApiKey::ShareGroupDescribe,
        RequestKind::ShareFetch(_) => ApiKey::ShareFetch,
        RequestKind::ShareAcknowledge(_) => ApiKey::ShareAcknowledge,
        RequestKind::AddRaftVoter(_) => ApiKey::AddRaftVoter,
        RequestKind::RemoveRaftVoter(_) => ApiKey::RemoveRaftVoter,
        RequestKind::UpdateRaftVoter(_) => ApiKey::UpdateRaftVoter,
        RequestKind::InitializeShareGroupState(_) => ApiKey::InitializeShareGroupState,
        RequestKind::ReadShareGroupState(_) => ApiKey::ReadShareGroupState,
        RequestKind::WriteShareGroupState(_) => ApiKey::WriteShareGroupState,
        RequestKind::DeleteShareGroupState(_) => ApiKey::DeleteShareGroupState,
        RequestKind::ReadShareGroupStateSummary(_) => ApiKey::ReadShareGroupStateSummary,
        RequestKind::DescribeShareGroupOffsets(_) => ApiKey::DescribeShareGroupOffsets,
        RequestKind::AlterShareGroupOffsets(_) => ApiKey::AlterShareGroupOffsets,
        RequestKind::DeleteShareGroupOffsets(_) => ApiKey::DeleteShareGroupOffsets,
        // kafka-protocol marks the enum non-exhaustive; a newer variant has no key here yet.
        _ => return None,
    })
}

/// The API key of a response (`None` only for a variant newer than this list).
pub fn response_api_key(response: &ResponseKind) -> Option<ApiKey> {
    Some(match response {
        ResponseKind::Produce(_) => ApiKey::Produce,
        ResponseKind::Fetch(_) => ApiKey::Fetch,
        ResponseKind::ListOffsets(_) => ApiKey::ListOffsets,
        ResponseKind::Metadata(_) => ApiKey::Metadata,
        ResponseKind::OffsetCommit(_) => ApiKey::OffsetCommit,
        ResponseKind::OffsetFetch(_) => ApiKey::OffsetFetch,
        ResponseKind::FindCoordinator(_) => ApiKey::FindCoordinator,
        ResponseKind::JoinGroup(_) => ApiKey::JoinGroup,
        ResponseKind::Heartbeat(_) => ApiKey::Heartbeat,
        ResponseKind::LeaveGroup(_) => ApiKey::LeaveGroup,
        ResponseKind::SyncGroup(_) => ApiKey::SyncGroup,
        ResponseKind::DescribeGroups(_) => ApiKey::DescribeGroups,
        ResponseKind::ListGroups(_) => ApiKey::ListGroups,
        ResponseKind::SaslHandshake(_) => ApiKey::SaslHandshake,
        ResponseKind::ApiVersions(_) => ApiKey::ApiVersions,
        ResponseKind::CreateTopics(_) => ApiKey::CreateTopics,
        ResponseKind::DeleteTopics(_) => ApiKey::DeleteTopics,
        ResponseKind::DeleteRecords(_) => ApiKey::DeleteRecords,
        ResponseKind::InitProducerId(_) => ApiKey::InitProducerId,
        ResponseKind::OffsetForLeaderEpoch(_) => ApiKey::OffsetForLeaderEpoch,
        ResponseKind::AddPartitionsToTxn(_) => ApiKey::AddPartitionsToTxn,
        ResponseKind::AddOffsetsToTxn(_) => ApiKey::AddOffsetsToTxn,
        ResponseKind::EndTxn(_) => ApiKey::EndTxn,
        ResponseKind::WriteTxnMarkers(_) => ApiKey::WriteTxnMarkers,
        ResponseKind::TxnOffsetCommit(_) => ApiKey::TxnOffsetCommit,
        ResponseKind::DescribeAcls(_) => ApiKey::DescribeAcls,
        ResponseKind::CreateAcls(_) => ApiKey::CreateAcls,
        ResponseKind::DeleteAcls(_) => ApiKey::DeleteAcls,
        ResponseKind::DescribeConfigs(_) => ApiKey::DescribeConfigs,
        ResponseKind::AlterConfigs(_) => ApiKey::AlterConfigs,
        ResponseKind::AlterReplicaLogDirs(_) => ApiKey::AlterReplicaLogDirs,
        ResponseKind::DescribeLogDirs(_) => ApiKey::DescribeLogDirs,
        ResponseKind::SaslAuthenticate(_) => ApiKey::SaslAuthenticate,
        ResponseKind::CreatePartitions(_) => ApiKey::CreatePartitions,
        ResponseKind::CreateDelegationToken(_) => ApiKey::CreateDelegationToken,
        ResponseKind::RenewDelegationToken(_) => ApiKey::RenewDelegationToken,
        ResponseKind::ExpireDelegationToken(_) => ApiKey::ExpireDelegationToken,
        ResponseKind::DescribeDelegationToken(_) => ApiKey::DescribeDelegationToken,
        ResponseKind::DeleteGroups(_) => ApiKey::DeleteGroups,
        ResponseKind::ElectLeaders(_) => ApiKey::ElectLeaders,
        ResponseKind::IncrementalAlterConfigs(_) => ApiKey::IncrementalAlterConfigs,
        ResponseKind::AlterPartitionReassignments(_) => ApiKey::AlterPartitionReassignments,
        ResponseKind::ListPartitionReassignments(_) => ApiKey::ListPartitionReassignments,
        ResponseKind::OffsetDelete(_) => ApiKey::OffsetDelete,
        ResponseKind::DescribeClientQuotas(_) => ApiKey::DescribeClientQuotas,
        ResponseKind::AlterClientQuotas(_) => ApiKey::AlterClientQuotas,
        ResponseKind::DescribeUserScramCredentials(_) => ApiKey::DescribeUserScramCredentials,
        ResponseKind::AlterUserScramCredentials(_) => ApiKey::AlterUserScramCredentials,
        ResponseKind::Vote(_) => ApiKey::Vote,
        ResponseKind::BeginQuorumEpoch(_) => ApiKey::BeginQuorumEpoch,
        ResponseKind::EndQuorumEpoch(_) => ApiKey::EndQuorumEpoch,
        ResponseKind::DescribeQuorum(_) => ApiKey::DescribeQuorum,
        ResponseKind::AlterPartition(_) => ApiKey::AlterPartition,
        ResponseKind::UpdateFeatures(_) => ApiKey::UpdateFeatures,
        ResponseKind::Envelope(_) => ApiKey::Envelope,
        ResponseKind::FetchSnapshot(_) => ApiKey::FetchSnapshot,
        ResponseKind::DescribeCluster(_) => ApiKey::DescribeCluster,
        ResponseKind::DescribeProducers(_) => ApiKey::DescribeProducers,
        ResponseKind::BrokerRegistration(_) => ApiKey::BrokerRegistration,
        ResponseKind::BrokerHeartbeat(_) => ApiKey::BrokerHeartbeat,
        ResponseKind::UnregisterBroker(_) => ApiKey::UnregisterBroker,
        ResponseKind::DescribeTransactions(_) => ApiKey::DescribeTransactions,
        ResponseKind::ListTransactions(_) => ApiKey::ListTransactions,
        ResponseKind::AllocateProducerIds(_) => ApiKey::AllocateProducerIds,
        ResponseKind::ConsumerGroupHeartbeat(_) => ApiKey::ConsumerGroupHeartbeat,
        ResponseKind::ConsumerGroupDescribe(_) => ApiKey::ConsumerGroupDescribe,
        ResponseKind::ControllerRegistration(_) => ApiKey::ControllerRegistration,
        ResponseKind::GetTelemetrySubscriptions(_) => ApiKey::GetTelemetrySubscriptions,
        ResponseKind::PushTelemetry(_) => ApiKey::PushTelemetry,
        ResponseKind::AssignReplicasToDirs(_) => ApiKey::AssignReplicasToDirs,
        ResponseKind::ListConfigResources(_) => ApiKey::ListConfigResources,
        ResponseKind::DescribeTopicPartitions(_) => ApiKey::DescribeTopicPartitions,
        ResponseKind::ShareGroupHeartbeat(_) => ApiKey::ShareGroupHeartbeat,
        ResponseKind::ShareGroupDescribe(_) => ApiKey::ShareGroupDescribe,
        ResponseKind::ShareFetch(_) => ApiKey::ShareFetch,
        ResponseKind::ShareAcknowledge(_) => ApiKey::ShareAcknowledge,
        ResponseKind::AddRaftVoter(_) => ApiKey::AddRaftVoter,
        ResponseKind::RemoveRaftVoter(_) => ApiKey::RemoveRaftVoter,
        ResponseKind::UpdateRaftVoter(_) => ApiKey::UpdateRaftVoter,
        ResponseKind::InitializeShareGroupState(_) => ApiKey::InitializeShareGroupState,
        ResponseKind::ReadShareGroupState(_) => ApiKey::ReadShareGroupState,
        ResponseKind::WriteShareGroupState(_) => ApiKey::WriteShareGroupState,
        ResponseKind::DeleteShareGroupState(_) => ApiKey::DeleteShareGroupState,
        ResponseKind::ReadShareGroupStateSummary(_) => ApiKey::ReadShareGroupStateSummary,
        ResponseKind::DescribeShareGroupOffsets(_) => ApiKey::DescribeShareGroupOffsets,
        ResponseKind::AlterShareGroupOffsets(_) => ApiKey::AlterShareGroupOffsets,
        ResponseKind::DeleteShareGroupOffsets(_) => ApiKey::DeleteShareGroupOffsets,
        _ => return None,
    })
}
