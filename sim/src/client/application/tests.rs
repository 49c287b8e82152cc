//! Simulated application tests: determinism, distributions within their caps, and the policies.

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::client::share_consumer::NodeId;
use crate::coordinator::share::{TopicId, TopicIdPartition};

fn record(value: &[u8], delivery_count: i16) -> ConsumerRecord {
    ConsumerRecord {
        topic: "orders".to_owned(),
        topic_id_partition: TopicIdPartition {
            topic_id: TopicId(1),
            partition: 0,
        },
        offset: 0,
        delivery_count,
        key: None,
        value: Some(Bytes::copy_from_slice(value)),
        timestamp_ms: 0,
        node: NodeId(1),
        log_batch_base_offset: 0,
    }
}

/// The same seed gives the same decisions; every distribution stays within its cap.
#[test]
fn decisions_are_deterministic_and_capped() {
    let distributions = [
        ProcessingTime::Fixed { ms: 7 },
        ProcessingTime::Uniform {
            min_ms: 5,
            max_ms: 10,
        },
        ProcessingTime::Exponential {
            mean_ms: 100.0,
            max_ms: 300,
        },
        ProcessingTime::LogNormal {
            median_ms: 50.0,
            sigma: 1.5,
            max_ms: 2_000,
        },
    ];
    for distribution in distributions {
        let sample = |seed| {
            let mut rng = StdRng::seed_from_u64(seed);
            (0..200)
                .map(|_| distribution.sample_ms(&mut rng))
                .collect::<Vec<u64>>()
        };
        let first = sample(3);
        assert_eq!(first, sample(3));
        let cap = match distribution {
            ProcessingTime::Fixed { ms } => ms,
            ProcessingTime::Uniform { max_ms, .. }
            | ProcessingTime::Exponential { max_ms, .. }
            | ProcessingTime::LogNormal { max_ms, .. } => max_ms,
        };
        assert!(first.iter().all(|ms| *ms <= cap), "{distribution:?}");
        if let ProcessingTime::Uniform { min_ms, .. } = distribution {
            assert!(first.iter().all(|ms| *ms >= min_ms));
        }
    }
}

/// Reject after N tries: failed records are RELEASEd below N deliveries and REJECTed from N on.
#[test]
fn reject_after_tries_uses_the_delivery_count() {
    let mut app = SimulatedApplication::new(ApplicationConfig {
        policy: AcknowledgePolicy::RejectAfterTries { tries: 3 },
        ..ApplicationConfig::default()
    });
    let mut rng = StdRng::seed_from_u64(1);
    let poison = |dc| record(b"FAIL-me", dc);
    assert_eq!(
        app.on_record(&mut rng, 0, &poison(1)).acknowledge_type,
        AcknowledgeType::Release
    );
    assert_eq!(
        app.on_record(&mut rng, 0, &poison(3)).acknowledge_type,
        AcknowledgeType::Reject
    );
    let healthy = app.on_record(&mut rng, 0, &record(b"fine", 1));
    assert_eq!(healthy.acknowledge_type, AcknowledgeType::Accept);
    assert!(!healthy.failed);
}

/// Release on failure, reject on failure, accept regardless; renew for tasks longer than the threshold.
#[test]
fn policies_and_renewal() {
    let mut rng = StdRng::seed_from_u64(2);
    let cases = [
        (
            AcknowledgePolicy::ReleaseOnFailure,
            AcknowledgeType::Release,
        ),
        (AcknowledgePolicy::RejectOnFailure, AcknowledgeType::Reject),
        (AcknowledgePolicy::Accept, AcknowledgeType::Accept),
    ];
    for (policy, expected) in cases {
        let mut app = SimulatedApplication::new(ApplicationConfig {
            policy,
            ..ApplicationConfig::default()
        });
        let decision = app.on_record(&mut rng, 0, &record(b"FAIL", 1));
        assert!(decision.failed);
        assert_eq!(decision.acknowledge_type, expected);
    }
    let mut slow = SimulatedApplication::new(ApplicationConfig {
        processing_time: ProcessingTime::Fixed { ms: 40_000 },
        renew_after_ms: Some(10_000),
        reject_deserialization_errors: true,
        ..ApplicationConfig::default()
    });
    let decision = slow.on_record(&mut rng, 0, &record(b"ok", 1));
    assert_eq!(decision.renew_every_ms, Some(10_000));
    assert_eq!(
        slow.on_deserialization_error(),
        Some(AcknowledgeType::Reject)
    );
}

/// Crashes are sticky; stalls last their duration.
#[test]
fn crash_and_stall_decisions() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut staller = SimulatedApplication::new(ApplicationConfig {
        stall_probability: 1.0,
        stall_duration_ms: 500,
        ..ApplicationConfig::default()
    });
    assert_eq!(
        staller.before_poll(&mut rng, 100),
        PollDecision::Stall { until_ms: 600 }
    );
    let mut crasher = SimulatedApplication::new(ApplicationConfig {
        crash_probability: 1.0,
        ..ApplicationConfig::default()
    });
    assert_eq!(crasher.before_poll(&mut rng, 0), PollDecision::Crash);
    assert!(crasher.has_crashed());
    let mut steady = SimulatedApplication::new(ApplicationConfig::default());
    assert_eq!(steady.before_poll(&mut rng, 0), PollDecision::Poll);
}

/// A slow record's value names its own processing time; other values are sampled. The draw happens
/// either way, so the random stream does not depend on which records are slow.
#[test]
fn a_slow_record_takes_the_time_its_value_names() {
    assert_eq!(slow_record_prefix(5_000), "SLOW-MS=5000:");
    let value = |text: &str| Some(Bytes::from(text.to_owned()));
    assert_eq!(
        slow_record_ms(value("SLOW-MS=5000:v7").as_ref()),
        Some(5_000)
    );
    assert_eq!(slow_record_ms(value("SLOW-MS=abc:v7").as_ref()), None);
    assert_eq!(slow_record_ms(value("SLOW-MS=5000").as_ref()), None);
    assert_eq!(slow_record_ms(value("v7").as_ref()), None);
    assert_eq!(slow_record_ms(None), None);
    let config = ApplicationConfig {
        processing_time: ProcessingTime::Uniform {
            min_ms: 1,
            max_ms: 100,
        },
        ..ApplicationConfig::default()
    };
    let mut plain = SimulatedApplication::new(config.clone());
    let mut with_slow = SimulatedApplication::new(config);
    let (mut rng_a, mut rng_b) = (StdRng::seed_from_u64(9), StdRng::seed_from_u64(9));
    let slow = with_slow.on_record(&mut rng_b, 0, &record(b"SLOW-MS=5000:v0", 1));
    assert_eq!(slow.processing_ms, 5_000);
    assert_eq!(slow.acknowledge_type, AcknowledgeType::Accept);
    plain.on_record(&mut rng_a, 0, &record(b"v0", 1));
    let next_plain = plain.on_record(&mut rng_a, 0, &record(b"v1", 1));
    let next_after_slow = with_slow.on_record(&mut rng_b, 0, &record(b"v1", 1));
    assert_eq!(next_plain.processing_ms, next_after_slow.processing_ms);
}
