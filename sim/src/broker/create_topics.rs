//! CreateTopics: forwarded to the controller as is (Kafka 4 brokers forward it), its answer relayed to
//! the client; the broker then pulls the new metadata.

use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::{
    CreateTopicsRequest, CreateTopicsResponse, RequestKind, ResponseKind,
};

use super::output::CallTarget;
use super::state::{BrokerState, CallPurpose};
use crate::net::{ConnectionId, TransportError};
use crate::ResponseError;

impl BrokerState {
    pub(super) fn handle_create_topics(
        &mut self,
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        request: CreateTopicsRequest,
    ) {
        let fallback = timed_out(&request);
        let timeout_ms = self.config.request_timeout_ms;
        let sent = self.call(
            CallPurpose::ForwardCreateTopics {
                connection,
                correlation_id,
                api_version,
                fallback: fallback.clone(),
            },
            CallTarget::Controller,
            api_version,
            RequestKind::CreateTopics(request),
            timeout_ms,
        );
        if sent.is_err() {
            self.respond(
                connection,
                correlation_id,
                api_version,
                ResponseKind::CreateTopics(fallback),
            );
        }
    }

    pub(super) fn handle_create_topics_result(
        &mut self,
        connection: ConnectionId,
        correlation_id: i32,
        api_version: i16,
        fallback: CreateTopicsResponse,
        result: Result<ResponseKind, TransportError>,
    ) {
        let response = match result {
            Ok(ResponseKind::CreateTopics(response)) => response,
            _ => fallback,
        };
        self.lifecycle.metadata_wanted = true;
        self.respond(
            connection,
            correlation_id,
            api_version,
            ResponseKind::CreateTopics(response),
        );
    }
}

/// REQUEST_TIMED_OUT for every topic (the controller could not be reached).
fn timed_out(request: &CreateTopicsRequest) -> CreateTopicsResponse {
    CreateTopicsResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| {
                CreatableTopicResult::default()
                    .with_name(t.name.clone())
                    .with_error_code(ResponseError::RequestTimedOut.code())
            })
            .collect(),
    )
}
