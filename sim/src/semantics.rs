//! The behaviour profile: every difference between Kafka releases (and every research what-if) that an
//! engine must consult lives here, as a named field. Engines never compare release numbers themselves.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A Kafka release whose share-group behaviour sharesim reproduces.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Release {
    /// Apache Kafka 4.0: share groups in early access, RPC v0.
    #[serde(rename = "kafka-4.0")]
    Kafka4_0,
    /// Apache Kafka 4.1: preview, RPC v1.
    #[serde(rename = "kafka-4.1")]
    Kafka4_1,
    /// Apache Kafka 4.2: general availability, RPC v2. The default.
    #[serde(rename = "kafka-4.2")]
    Kafka4_2,
}

impl Release {
    /// Every release, oldest first.
    pub const ALL: [Release; 3] = [Release::Kafka4_0, Release::Kafka4_1, Release::Kafka4_2];

    /// The profile name used in scenario files and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Release::Kafka4_0 => "kafka-4.0",
            Release::Kafka4_1 => "kafka-4.1",
            Release::Kafka4_2 => "kafka-4.2",
        }
    }
}

impl fmt::Display for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Release {
    type Err = String;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        Release::ALL
            .into_iter()
            .find(|release| release.name() == name)
            .ok_or_else(|| {
                let valid: Vec<&str> = Release::ALL.iter().map(|r| r.name()).collect();
                format!(
                    "unknown profile `{name}`; valid profiles: {}",
                    valid.join(", ")
                )
            })
    }
}

/// What a share-session release (close, disconnect, member leave) does to the delivery count (spec 1.2,
/// transition 6).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionReleaseDeliveryCount {
    /// 4.0, and 4.2 onwards (KAFKA-19972): the count is kept, so the acquisition counts, and a record at the
    /// delivery-count limit is archived.
    Keep,
    /// 4.1: the count is decremented (the acquisition does not count) and a session release never archives.
    Decrement,
}

/// The behaviour profile the engines consult. Build it with [`Semantics::for_release`] and change single
/// fields for what-if experiments.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Semantics {
    /// The release this profile started from.
    pub release: Release,
    /// Spec 1.2 transition 6.
    pub session_release_delivery_count: SessionReleaseDeliveryCount,
    /// Delivery throttling of records with a high delivery count (KAFKA-17541, 4.2+; spec 1.3).
    pub delivery_throttling: bool,
    /// RENEW acknowledgements (KIP-1222, 4.2+, request v2; spec 1.2 transition 7).
    pub renew_supported: bool,
    /// `share.acquire.mode=record_limit` (KIP-1206, 4.2+).
    pub record_limit_acquire_mode_supported: bool,
    /// `DeliveryCompleteCount` sent with writes and kept by the coordinator (KIP-1226, 4.2+).
    pub delivery_complete_count: bool,
    /// A connection close releases the member's share sessions (4.1+); 4.0 evicted idle sessions by time.
    pub release_on_disconnect: bool,
    /// 4.0 only: when the share-session cache is full, a new session may evict the least recently used
    /// session idle for longer than this (`KafkaServer.MIN_INCREMENTAL_FETCH_SESSION_EVICTION_MS`, 120000;
    /// records are not released). `None` from 4.1, where disconnects release sessions instead.
    pub share_session_idle_eviction_ms: Option<u64>,
    /// The group config `share.isolation.level` exists (4.1+); before, the group reads uncommitted.
    pub group_isolation_level_supported: bool,
    /// Broker default of `group.share.partition.max.record.locks` (200 in 4.0, 2000 later; spec 1.5).
    pub default_max_record_locks: u32,
    /// ShareFetch / ShareAcknowledge request version the clients of this release speak.
    pub share_rpc_version: i16,
    /// The consumer config `share.acknowledgement.mode` exists (4.1+); 4.0 infers the mode from API usage
    /// (UNKNOWN → PENDING → IMPLICIT/EXPLICIT, spec 8).
    pub acknowledgement_mode_config_supported: bool,
    /// What-if, not a Kafka release: persist the delivery count when a record is acquired, so that a
    /// failover cannot lose an attempt (spec 3.5 says Kafka does not). Off in every real profile.
    pub what_if_persist_delivery_count_at_acquisition: bool,
}

impl Semantics {
    /// The profile of one Kafka release, with no what-ifs.
    pub fn for_release(release: Release) -> Semantics {
        let at_least_4_1 = release >= Release::Kafka4_1;
        let at_least_4_2 = release >= Release::Kafka4_2;
        Semantics {
            release,
            session_release_delivery_count: if release == Release::Kafka4_1 {
                SessionReleaseDeliveryCount::Decrement
            } else {
                SessionReleaseDeliveryCount::Keep
            },
            delivery_throttling: at_least_4_2,
            renew_supported: at_least_4_2,
            record_limit_acquire_mode_supported: at_least_4_2,
            delivery_complete_count: at_least_4_2,
            release_on_disconnect: at_least_4_1,
            share_session_idle_eviction_ms: if at_least_4_1 { None } else { Some(120_000) },
            group_isolation_level_supported: at_least_4_1,
            default_max_record_locks: if at_least_4_1 { 2_000 } else { 200 },
            share_rpc_version: match release {
                Release::Kafka4_0 => 0,
                Release::Kafka4_1 => 1,
                Release::Kafka4_2 => 2,
            },
            acknowledgement_mode_config_supported: at_least_4_1,
            what_if_persist_delivery_count_at_acquisition: false,
        }
    }
}

impl Default for Semantics {
    /// Kafka 4.2, the first GA release of share groups.
    fn default() -> Self {
        Semantics::for_release(Release::Kafka4_2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_profile_is_kafka_4_2() {
        assert_eq!(Semantics::default().release, Release::Kafka4_2);
    }

    /// Spec 1.2 transition 6: 4.0 keeps, 4.1 decrements, 4.2 keeps (KAFKA-19972).
    #[test]
    fn session_release_rule_differs_only_in_4_1() {
        let rule = |r| Semantics::for_release(r).session_release_delivery_count;
        assert_eq!(rule(Release::Kafka4_0), SessionReleaseDeliveryCount::Keep);
        assert_eq!(
            rule(Release::Kafka4_1),
            SessionReleaseDeliveryCount::Decrement
        );
        assert_eq!(rule(Release::Kafka4_2), SessionReleaseDeliveryCount::Keep);
    }

    /// Spec 1.5: the in-flight limit default was 200 in 4.0 and 2000 afterwards.
    #[test]
    fn max_record_locks_default_by_release() {
        assert_eq!(
            Semantics::for_release(Release::Kafka4_0).default_max_record_locks,
            200
        );
        assert_eq!(
            Semantics::for_release(Release::Kafka4_1).default_max_record_locks,
            2_000
        );
    }

    #[test]
    fn release_names_round_trip_and_unknown_names_list_the_valid_ones() {
        for release in Release::ALL {
            assert_eq!(release.name().parse::<Release>(), Ok(release));
        }
        let error = "kafka-3.9".parse::<Release>().unwrap_err();
        assert!(error.contains("kafka-4.2"), "{error}");
    }
}
