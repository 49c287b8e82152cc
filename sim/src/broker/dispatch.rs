//! One match arm per API key: the broker's own APIs go to their handler files; every other API goes to
//! the first service that claims it (`BrokerService::api_keys`) and accepts the request
//! (`BrokerService::accepts`), or, when none does, the connection is closed (Kafka closes connections
//! that send an API not enabled on the listener).

use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};

use super::api_versions::{api_versions_response, BROKER_API_KEYS};
use super::core::BrokerCore;
use super::output::BrokerOutput;
use crate::net::ConnectionId;

impl BrokerCore {
    pub(super) fn dispatch(
        &mut self,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let correlation_id = header.correlation_id;
        let api_version = header.request_api_version;
        match request {
            RequestKind::ApiVersions(_) => {
                let mut keys = BROKER_API_KEYS.to_vec();
                for service in &self.services {
                    keys.extend(service.api_keys());
                }
                let response = ResponseKind::ApiVersions(api_versions_response(keys));
                self.state
                    .respond(connection, correlation_id, api_version, response);
            }
            RequestKind::Metadata(request) => {
                let response =
                    ResponseKind::Metadata(self.state.handle_metadata(api_version, &request));
                self.state
                    .respond(connection, correlation_id, api_version, response);
            }
            RequestKind::CreateTopics(request) => {
                self.state
                    .handle_create_topics(connection, correlation_id, api_version, request);
            }
            RequestKind::Produce(request) => {
                self.state
                    .handle_produce(connection, correlation_id, api_version, request);
            }
            RequestKind::Fetch(request) => {
                self.state
                    .handle_fetch(connection, correlation_id, api_version, request);
            }
            RequestKind::ListOffsets(request) => {
                let response = ResponseKind::ListOffsets(self.state.handle_list_offsets(&request));
                self.state
                    .respond(connection, correlation_id, api_version, response);
            }
            RequestKind::DeleteRecords(request) => {
                let response =
                    ResponseKind::DeleteRecords(self.state.handle_delete_records(&request));
                self.state
                    .respond(connection, correlation_id, api_version, response);
            }
            // ShareFetch, ShareAcknowledge, ShareGroupHeartbeat, FindCoordinator, Read/Write/Initialize
            // ShareGroupState, InitProducerId, AddPartitionsToTxn, EndTxn, WriteTxnMarkers, JoinGroup,
            // SyncGroup, Heartbeat, LeaveGroup, OffsetCommit, OffsetFetch, ...: the services' APIs.
            other => self.route_to_service(connection, header, other),
        }
    }

    fn route_to_service(
        &mut self,
        connection: ConnectionId,
        header: RequestHeader,
        request: RequestKind,
    ) {
        let key = ApiKey::try_from(header.request_api_key).ok();
        let index = key.and_then(|key| {
            self.services
                .iter()
                .position(|s| s.api_keys().contains(&key) && s.accepts(&request))
        });
        match index {
            Some(index) => {
                let now_ms = self.state.now_ms;
                self.with_service(index, |service, cx| {
                    service.handle_request(now_ms, cx, connection, header, request)
                });
            }
            None => self
                .state
                .outputs
                .push_back(BrokerOutput::Close { connection }),
        }
    }
}
