#![cfg(madsim)]
//! The simulated cluster's edges: one seed gives one trace hash; a broker answers frames it cannot
//! serve as Kafka does (the transport-level cases are in `net_frame.rs` and `net_transport.rs`; here the
//! broker-level ones: an API no broker service serves, an unknown API key, and served APIs still
//! answering on fresh connections).

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, RequestKind, ResponseKind, ShareFetchRequest,
};
use madsim::runtime::Runtime;
use madsim::time::sleep;
use madsim::Config;
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::log::{encode_data_batch, ProducerIdentity, ProducerRecord};
use sharesim_sim::net::{Client, NetFaults, TransportError};
use sharesim_sim::trace::TraceHash;

const TIMEOUT: Duration = Duration::from_secs(5);

/// A small run: 3 brokers, a topic, produce, a broker crash and restart, more produce.
async fn small_run() -> TraceHash {
    let cluster = Arc::new(SimCluster::start(SimClusterConfig::default()).await);
    cluster.create_topic("orders", 3, 3).await.unwrap();
    let client = Arc::new(cluster.test_client("producer"));
    let produce = |client: Arc<sharesim_sim::harness::TestClient>, from: i32| async move {
        for i in from..from + 10 {
            let value = format!("v{i}");
            let records = [ProducerRecord::new(None, Some(value.as_bytes()), 0)];
            let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
            client.produce("orders", i % 3, batch, -1).await.unwrap();
        }
    };
    let node = cluster.client_node("producer");
    node.spawn(produce(client.clone(), 0)).await.unwrap();
    cluster.kill_broker(2, true);
    node.spawn(produce(client.clone(), 10)).await.unwrap();
    cluster.restart_broker(2);
    sleep(Duration::from_secs(10)).await;
    cluster.trace_hash()
}

/// Determinism: the same seed gives the same trace hash twice.
#[test]
fn same_seed_same_trace_hash() {
    let run = |seed| Runtime::with_seed_and_config(seed, Config::default()).block_on(small_run());
    let first = run(7);
    let second = run(7);
    assert_eq!(first, second);
}

fn raw_frame(api_key: i16, version: i16, correlation_id: i32) -> Bytes {
    let mut body = BytesMut::new();
    body.put_i16(api_key);
    body.put_i16(version);
    body.put_i32(correlation_id);
    body.put_i16(-1); // null client id
    let mut frame = BytesMut::new();
    frame.put_i32(body.len() as i32);
    frame.put(body);
    frame.freeze()
}

/// A broker closes the connection on an API nobody serves and on an unknown API key, and keeps
/// answering ApiVersions on a new connection.
#[madsim::test]
async fn broker_closes_connections_for_unserved_and_unknown_apis() {
    let cluster = SimCluster::start(SimClusterConfig {
        brokers: 1,
        ..SimClusterConfig::default()
    })
    .await;
    let broker = cluster.broker_addr(1).unwrap();
    let outcome = cluster
        .client_node("raw")
        .spawn(async move {
            let client = Client::new("raw", NetFaults::new());
            let connection = client.connect(broker, TIMEOUT).await.unwrap();
            let unserved = connection
                .call(
                    1,
                    RequestKind::ShareFetch(ShareFetchRequest::default()),
                    TIMEOUT,
                )
                .await;
            let closed_after_unserved = connection.is_closed();
            let connection = client.connect(broker, TIMEOUT).await.unwrap();
            let unknown = connection
                .call_raw(raw_frame(9_999, 0, 5), ApiKey::ApiVersions, 0, 5, TIMEOUT)
                .await;
            let connection = client.connect(broker, TIMEOUT).await.unwrap();
            let versions = connection
                .call(
                    3,
                    RequestKind::ApiVersions(ApiVersionsRequest::default()),
                    TIMEOUT,
                )
                .await;
            (unserved, closed_after_unserved, unknown, versions)
        })
        .await
        .unwrap();
    let (unserved, closed_after_unserved, unknown, versions) = outcome;
    assert_eq!(unserved, Err(TransportError::ConnectionClosed));
    assert!(closed_after_unserved);
    assert!(
        matches!(unknown, Err(TransportError::ClosedByBroker { .. })),
        "{unknown:?}"
    );
    let Ok(ResponseKind::ApiVersions(versions)) = versions else {
        panic!("ApiVersions answered: {versions:?}");
    };
    assert_eq!(versions.error_code, 0);
    assert!(versions
        .api_keys
        .iter()
        .any(|k| k.api_key == ApiKey::Produce as i16));
}
