//! ApiVersions: the APIs this broker serves (its own and its services'), each with the version range
//! kafka-protocol carries.

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};

/// The APIs the broker itself serves (services add theirs).
pub const BROKER_API_KEYS: [ApiKey; 7] = [
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::Metadata,
    ApiKey::ApiVersions,
    ApiKey::CreateTopics,
    ApiKey::DeleteRecords,
];

/// One entry of an ApiVersionsResponse.
pub fn api_version_entry(key: ApiKey) -> ApiVersion {
    let range = key.valid_versions();
    ApiVersion::default()
        .with_api_key(key as i16)
        .with_min_version(range.min)
        .with_max_version(range.max)
}

/// The response listing `keys` (sorted by key, no duplicates).
pub fn api_versions_response(mut keys: Vec<ApiKey>) -> ApiVersionsResponse {
    keys.sort_by_key(|&k| k as i16);
    keys.dedup();
    ApiVersionsResponse::default().with_api_keys(keys.into_iter().map(api_version_entry).collect())
}
