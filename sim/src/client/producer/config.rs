//! Producer configuration with Kafka's names and defaults (`ProducerConfig`, Kafka 4.x).

use std::collections::BTreeMap;

/// `acks`: how many replicas must have the batch before the leader answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Acks {
    /// `acks=all` (-1, the default with idempotence): the whole ISR.
    All,
    /// `acks=1`: the leader alone.
    Leader,
    /// `acks=0`: no response at all; the producer never learns offsets.
    None,
}

impl Acks {
    /// The value a ProduceRequest carries.
    pub fn wire_value(self) -> i16 {
        match self {
            Acks::All => -1,
            Acks::Leader => 1,
            Acks::None => 0,
        }
    }
}

/// A bad configuration value, named as Kafka names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The config name.
    pub name: String,
    /// Why the value is refused.
    pub reason: String,
}

/// The producer's configuration. Field names are Kafka's config names with `_` for `.`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProducerConfig {
    /// `client.id`.
    pub client_id: String,
    /// `acks` (default `all`).
    pub acks: Acks,
    /// `linger.ms` (default 5 since Kafka 4.0, KIP-1030).
    pub linger_ms: u64,
    /// `batch.size` in bytes (default 16384).
    pub batch_size: usize,
    /// `max.request.size` in bytes (default 1048576): a larger record is refused at `send`.
    pub max_request_size: usize,
    /// `max.in.flight.requests.per.connection` (default 5; at most 5 with idempotence).
    pub max_in_flight_requests_per_connection: usize,
    /// `retries` (default `i32::MAX`).
    pub retries: u32,
    /// `retry.backoff.ms` (default 100).
    pub retry_backoff_ms: u64,
    /// `retry.backoff.max.ms` (default 1000).
    pub retry_backoff_max_ms: u64,
    /// `delivery.timeout.ms` (default 120000).
    pub delivery_timeout_ms: u64,
    /// `request.timeout.ms` (default 30000).
    pub request_timeout_ms: u64,
    /// `max.block.ms` (default 60000): how long a record waits for its topic's metadata.
    pub max_block_ms: u64,
    /// `metadata.max.age.ms` (default 300000).
    pub metadata_max_age_ms: u64,
    /// `enable.idempotence` (default true).
    pub enable_idempotence: bool,
    /// `transactional.id` (default none).
    pub transactional_id: Option<String>,
    /// `transaction.timeout.ms` (default 60000).
    pub transaction_timeout_ms: u64,
    /// `partitioner.ignore.keys` (default false).
    pub partitioner_ignore_keys: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            client_id: "producer-1".to_string(),
            acks: Acks::All,
            linger_ms: 5,
            batch_size: 16_384,
            max_request_size: 1_048_576,
            max_in_flight_requests_per_connection: 5,
            retries: i32::MAX as u32,
            retry_backoff_ms: 100,
            retry_backoff_max_ms: 1_000,
            delivery_timeout_ms: 120_000,
            request_timeout_ms: 30_000,
            max_block_ms: 60_000,
            metadata_max_age_ms: 300_000,
            enable_idempotence: true,
            transactional_id: None,
            transaction_timeout_ms: 60_000,
            partitioner_ignore_keys: false,
        }
    }
}

/// Every config name [`ProducerConfig::from_properties`] accepts.
pub const KNOWN_CONFIGS: &[&str] = &[
    "acks",
    "batch.size",
    "client.id",
    "delivery.timeout.ms",
    "enable.idempotence",
    "linger.ms",
    "max.block.ms",
    "max.in.flight.requests.per.connection",
    "max.request.size",
    "metadata.max.age.ms",
    "partitioner.ignore.keys",
    "request.timeout.ms",
    "retries",
    "retry.backoff.max.ms",
    "retry.backoff.ms",
    "transaction.timeout.ms",
    "transactional.id",
];

impl ProducerConfig {
    /// Whether batches carry a producer id and sequence numbers.
    pub fn idempotent(&self) -> bool {
        self.enable_idempotence || self.transactional_id.is_some()
    }

    /// Parses Kafka-style properties over the defaults, then validates them as `KafkaProducer` does.
    pub fn from_properties(properties: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = ProducerConfig::default();
        let mut idempotence_set = false;
        for (name, value) in properties {
            let bad = |reason: &str| ConfigError {
                name: name.clone(),
                reason: format!("{reason}: {value:?}"),
            };
            let number = || value.trim().parse::<u64>().map_err(|_| bad("not a number"));
            let boolean = || match value.trim() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(bad("not a boolean")),
            };
            match name.as_str() {
                "acks" => {
                    config.acks = match value.trim() {
                        "all" | "-1" => Acks::All,
                        "1" => Acks::Leader,
                        "0" => Acks::None,
                        _ => return Err(bad("expected all, -1, 0 or 1")),
                    }
                }
                "batch.size" => config.batch_size = number()? as usize,
                "client.id" => config.client_id = value.clone(),
                "delivery.timeout.ms" => config.delivery_timeout_ms = number()?,
                "enable.idempotence" => {
                    config.enable_idempotence = boolean()?;
                    idempotence_set = true;
                }
                "linger.ms" => config.linger_ms = number()?,
                "max.block.ms" => config.max_block_ms = number()?,
                "max.in.flight.requests.per.connection" => {
                    config.max_in_flight_requests_per_connection = number()?.max(1) as usize
                }
                "max.request.size" => config.max_request_size = number()? as usize,
                "metadata.max.age.ms" => config.metadata_max_age_ms = number()?,
                "partitioner.ignore.keys" => config.partitioner_ignore_keys = boolean()?,
                "request.timeout.ms" => config.request_timeout_ms = number()?,
                "retries" => config.retries = number()?.min(i32::MAX as u64) as u32,
                "retry.backoff.max.ms" => config.retry_backoff_max_ms = number()?,
                "retry.backoff.ms" => config.retry_backoff_ms = number()?,
                "transaction.timeout.ms" => config.transaction_timeout_ms = number()?,
                "transactional.id" => config.transactional_id = Some(value.clone()),
                _ => {
                    return Err(ConfigError {
                        name: name.clone(),
                        reason: "unknown producer config".to_string(),
                    })
                }
            }
        }
        // Kafka: idempotence is on by default but silently off when the user's other configs
        // conflict and they did not ask for it; asked for explicitly, a conflict is an error.
        let conflicts = config.acks != Acks::All
            || config.max_in_flight_requests_per_connection > 5
            || config.retries == 0;
        if conflicts && config.enable_idempotence {
            if idempotence_set || config.transactional_id.is_some() {
                return Err(ConfigError {
                    name: "enable.idempotence".to_string(),
                    reason: "needs acks=all, retries > 0 and max.in.flight <= 5".to_string(),
                });
            }
            config.enable_idempotence = false;
        }
        if config.transactional_id.is_some() && !config.enable_idempotence {
            return Err(ConfigError {
                name: "transactional.id".to_string(),
                reason: "transactions need enable.idempotence=true".to_string(),
            });
        }
        if config.delivery_timeout_ms < config.linger_ms + config.request_timeout_ms {
            return Err(ConfigError {
                name: "delivery.timeout.ms".to_string(),
                reason: "must be at least linger.ms + request.timeout.ms".to_string(),
            });
        }
        Ok(config)
    }
}
