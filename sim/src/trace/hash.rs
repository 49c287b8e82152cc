//! The trace hash: a 64-bit FNV-1a digest of the canonical trace bytes. Not cryptographic: it only has to
//! tell two runs apart, be stable across platforms and releases, and cost nothing per event.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The digest of a whole canonical trace, printed as 16 hex digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct TraceHash(pub u64);

impl fmt::Display for TraceHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

impl From<TraceHash> for String {
    fn from(hash: TraceHash) -> String {
        hash.to_string()
    }
}

impl TryFrom<String> for TraceHash {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        if text.len() != 16 {
            return Err(format!("a trace hash has 16 hex digits, got `{text}`"));
        }
        u64::from_str_radix(&text, 16)
            .map(TraceHash)
            .map_err(|_| format!("a trace hash has 16 hex digits, got `{text}`"))
    }
}

/// Incremental FNV-1a over the bytes of the trace, in order.
#[derive(Clone, Debug)]
pub struct TraceHasher {
    state: u64,
}

impl TraceHasher {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    /// A hasher that has seen no bytes.
    pub fn new() -> TraceHasher {
        TraceHasher {
            state: Self::OFFSET_BASIS,
        }
    }

    /// Feeds bytes in trace order.
    pub fn update(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.state ^= u64::from(byte);
            self.state = self.state.wrapping_mul(Self::PRIME);
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(&self) -> TraceHash {
        TraceHash(self.state)
    }
}

impl Default for TraceHasher {
    fn default() -> Self {
        TraceHasher::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published FNV-1a 64 test vectors, so the hash never drifts between releases.
    #[test]
    fn matches_fnv1a_64_reference_vectors() {
        let hash = |bytes: &[u8]| {
            let mut hasher = TraceHasher::new();
            hasher.update(bytes);
            hasher.finish().0
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn hashing_in_pieces_equals_hashing_at_once() {
        let mut whole = TraceHasher::new();
        whole.update(b"{\"seq\":0}\n{\"seq\":1}\n");
        let mut pieces = TraceHasher::new();
        pieces.update(b"{\"seq\":0}\n");
        pieces.update(b"{\"seq\":1}\n");
        assert_eq!(whole.finish(), pieces.finish());
    }

    #[test]
    fn display_round_trips_and_bad_text_is_an_error() {
        let hash = TraceHash(0x0123_4567_89ab_cdef);
        assert_eq!(hash.to_string(), "0123456789abcdef");
        assert_eq!(TraceHash::try_from(hash.to_string()), Ok(hash));
        assert!(TraceHash::try_from("xyz".to_string()).is_err());
    }
}
