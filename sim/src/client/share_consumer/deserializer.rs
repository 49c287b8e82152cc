//! The pluggable deserialization check (spec 7.5): scenarios make poison records by putting a marker at the
//! start of the value, and the consumer's "deserializer" fails on them as a real one would throw
//! `SerializationException`.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// The value prefix that [`RecordDeserializer::PoisonMarker`] uses by default.
pub const DEFAULT_POISON_MARKER: &[u8] = b"POISON";

/// How the consumer "deserializes" record bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordDeserializer {
    /// Every record deserializes (a byte-array deserializer).
    #[default]
    AcceptAll,
    /// A value starting with these bytes fails to deserialize.
    PoisonMarker(Vec<u8>),
}

impl RecordDeserializer {
    /// The default poison rule: values starting with `POISON` fail.
    pub fn poison_marker() -> RecordDeserializer {
        RecordDeserializer::PoisonMarker(DEFAULT_POISON_MARKER.to_vec())
    }

    /// `Ok` when the record deserializes, else the exception message.
    pub fn deserialize(&self, _key: Option<&Bytes>, value: Option<&Bytes>) -> Result<(), String> {
        match self {
            RecordDeserializer::AcceptAll => Ok(()),
            RecordDeserializer::PoisonMarker(marker) => match value {
                Some(value) if !marker.is_empty() && value.starts_with(marker) => {
                    Err("value carries the poison marker".to_owned())
                }
                _ => Ok(()),
            },
        }
    }
}
