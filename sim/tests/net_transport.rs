#![cfg(madsim)]
//! The transport under madsim: real Kafka messages between nodes, timeouts, duplication, per-API-key drop,
//! malformed frames, connection closes (late ones too), and the same seed giving the same events.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::metadata_response::MetadataResponseBroker;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, BrokerId, HeartbeatRequest, MetadataRequest,
    MetadataResponse, RequestKind, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;
use madsim::net::NetSim;
use madsim::runtime::{Handle, NodeHandle, Runtime};
use madsim::time::sleep;
use sharesim_sim::net::frame::supported_api_versions;
use sharesim_sim::net::{
    ApiKeySelector, Client, Closer, Direction, FaultDirection, FaultRule, MessageFault, NetEvent,
    NetFaults, Server, ServerEvent, TransportError,
};
use sharesim_sim::ResponseError;

const BROKER_IP: [u8; 4] = [10, 0, 0, 1];
const CLIENT_IP: [u8; 4] = [10, 0, 1, 1];
const TIMEOUT: Duration = Duration::from_secs(1);

fn broker_addr() -> SocketAddr {
    SocketAddr::new(IpAddr::from(BROKER_IP), 9092)
}

type ServerLog = Arc<Mutex<Vec<ServerEvent>>>;

/// A broker node answering ApiVersions and Metadata, logging every server event.
fn spawn_broker(faults: &NetFaults, log: &ServerLog) -> NodeHandle {
    let node = Handle::current()
        .create_node()
        .name("broker-1")
        .ip(IpAddr::from(BROKER_IP))
        .build();
    let (faults, log) = (faults.clone(), log.clone());
    node.spawn(async move {
        let server = Server::bind(broker_addr(), faults).await.unwrap();
        while let Some(event) = server.next_event().await {
            log.lock().unwrap().push(event.clone());
            let ServerEvent::Request(incoming) = event else {
                continue;
            };
            let response = match incoming.request {
                RequestKind::ApiVersions(_) => ResponseKind::ApiVersions(
                    ApiVersionsResponse::default().with_api_keys(supported_api_versions()),
                ),
                RequestKind::Metadata(_) => {
                    ResponseKind::Metadata(MetadataResponse::default().with_brokers(vec![
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(StrBytes::from_static_str("10.0.0.1"))
                            .with_port(9092),
                    ]))
                }
                RequestKind::Heartbeat(_) => {
                    // The test broker hangs up on heartbeats.
                    server.close(incoming.connection);
                    continue;
                }
                _ => continue,
            };
            let _ = server
                .respond(incoming.connection, &incoming.header, response)
                .await;
        }
    });
    node
}

fn client_node() -> NodeHandle {
    client_node_at(CLIENT_IP)
}

fn client_node_at(ip: [u8; 4]) -> NodeHandle {
    Handle::current()
        .create_node()
        .name(format!("client-{}", ip[3]))
        .ip(IpAddr::from(ip))
        .build()
}

fn api_versions() -> RequestKind {
    RequestKind::ApiVersions(ApiVersionsRequest::default())
}

fn metadata() -> RequestKind {
    RequestKind::Metadata(MetadataRequest::default())
}

fn requests_seen(log: &ServerLog, api_key: ApiKey) -> usize {
    log.lock()
        .unwrap()
        .iter()
        .filter(
            |e| matches!(e, ServerEvent::Request(r) if r.header.request_api_key == api_key as i16),
        )
        .count()
}

fn message_faults(faults: &NetFaults) -> Vec<(i16, Direction, MessageFault)> {
    faults
        .events()
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::Message {
                api_key,
                direction,
                fault,
                ..
            } => Some((api_key, direction, fault)),
            _ => None,
        })
        .collect()
}

/// Transport: ApiVersions and Metadata go between two nodes as real Kafka frames and come back decoded.
#[madsim::test]
async fn request_response_round_trip() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    spawn_broker(&faults, &log);
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let client = Client::new("consumer-1", NetFaults::new());
        let connection = client.connect(broker_addr(), TIMEOUT).await.unwrap();
        let versions = connection.call(3, api_versions(), TIMEOUT).await.unwrap();
        let ResponseKind::ApiVersions(versions) = versions else {
            panic!("expected ApiVersions, got {versions:?}");
        };
        assert!(versions
            .api_keys
            .iter()
            .any(|k| k.api_key == ApiKey::ShareFetch as i16));
        let ResponseKind::Metadata(metadata) =
            connection.call(12, metadata(), TIMEOUT).await.unwrap()
        else {
            panic!("expected Metadata");
        };
        assert_eq!(metadata.brokers[0].port, 9092);
        connection.id()
    });
    let connection = done.await.unwrap();
    let log = log.lock().unwrap();
    assert_eq!(log[0], ServerEvent::Opened(connection));
    let ServerEvent::Request(first) = &log[1] else {
        panic!("expected a request");
    };
    assert_eq!(first.header.client_id.as_deref(), Some("consumer-1"));
    assert_eq!(
        (
            first.header.request_api_version,
            first.header.correlation_id
        ),
        (3, 0)
    );
}

/// Transport: a clogged broker makes the call time out; after healing, the late response is ignored by
/// correlation id and new calls succeed.
#[madsim::test]
async fn clogged_server_times_out() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    let broker = spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let connection = Client::new("c", client_faults)
            .connect(broker_addr(), TIMEOUT)
            .await
            .unwrap();
        NetSim::current().clog_node(broker.id());
        let result = connection.call(3, api_versions(), TIMEOUT).await;
        assert_eq!(result, Err(TransportError::Timeout));
        NetSim::current().unclog_node(broker.id());
        let result = connection
            .call(3, api_versions(), Duration::from_secs(30))
            .await;
        assert!(result.is_ok(), "{result:?}");
    });
    done.await.unwrap();
    let events = faults.events();
    assert!(events.iter().any(|e| matches!(
        e,
        NetEvent::CallTimedOut {
            correlation_id: 0,
            ..
        }
    )));
    assert!(events.iter().any(|e| matches!(
        e,
        NetEvent::ResponseIgnored {
            correlation_id: 0,
            ..
        }
    )));
}

/// Fault hook: a duplicated request reaches the broker twice; the client takes one response and ignores the
/// duplicate by correlation id.
#[madsim::test]
async fn duplicated_request_is_answered_once() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    faults.set_rule(
        ApiKeySelector::Key(ApiKey::ApiVersions as i16),
        FaultRule::duplicate_all(FaultDirection::Requests),
    );
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let connection = Client::new("c", client_faults)
            .connect(broker_addr(), TIMEOUT)
            .await
            .unwrap();
        assert!(connection.call(3, api_versions(), TIMEOUT).await.is_ok());
        sleep(Duration::from_millis(500)).await;
        assert!(connection.call(12, metadata(), TIMEOUT).await.is_ok());
    });
    done.await.unwrap();
    assert_eq!(requests_seen(&log, ApiKey::ApiVersions), 2);
    assert_eq!(requests_seen(&log, ApiKey::Metadata), 1);
    let ignored: Vec<NetEvent> = faults
        .events()
        .into_iter()
        .filter(|e| matches!(e, NetEvent::ResponseIgnored { .. }))
        .collect();
    assert_eq!(ignored.len(), 1);
    assert!(matches!(
        ignored[0],
        NetEvent::ResponseIgnored {
            correlation_id: 0,
            ..
        }
    ));
    assert_eq!(
        message_faults(&faults),
        vec![(
            ApiKey::ApiVersions as i16,
            Direction::Request,
            MessageFault::Duplicated
        )]
    );
}

/// Fault hook: dropping one API key drops only that key.
#[madsim::test]
async fn per_api_key_drop_drops_only_that_key() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    faults.set_rule(
        ApiKeySelector::Key(ApiKey::Metadata as i16),
        FaultRule::drop_all(FaultDirection::Requests),
    );
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let connection = Client::new("c", client_faults)
            .connect(broker_addr(), TIMEOUT)
            .await
            .unwrap();
        assert_eq!(
            connection.call(12, metadata(), TIMEOUT).await,
            Err(TransportError::Timeout)
        );
        assert!(connection.call(3, api_versions(), TIMEOUT).await.is_ok());
        assert_eq!(
            connection.call(4, metadata(), TIMEOUT).await,
            Err(TransportError::Timeout)
        );
    });
    done.await.unwrap();
    assert_eq!(requests_seen(&log, ApiKey::Metadata), 0);
    assert_eq!(requests_seen(&log, ApiKey::ApiVersions), 1);
    let metadata_key = ApiKey::Metadata as i16;
    assert_eq!(
        message_faults(&faults),
        vec![
            (metadata_key, Direction::Request, MessageFault::Dropped),
            (metadata_key, Direction::Request, MessageFault::Dropped)
        ]
    );
}

/// Kafka: a malformed request closes the connection (no response); a too-new ApiVersions gets the v0
/// UNSUPPORTED_VERSION response and the connection stays open.
#[madsim::test]
async fn malformed_frames_get_kafkas_answer() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let client = Client::new("c", client_faults);
        let connection = client.connect(broker_addr(), TIMEOUT).await.unwrap();
        let too_new = raw_frame(ApiKey::ApiVersions as i16, 99, 42, &[]);
        let answer = connection
            .call_raw(too_new, ApiKey::ApiVersions, 99, 42, TIMEOUT)
            .await
            .unwrap();
        let ResponseKind::ApiVersions(answer) = answer else {
            panic!("expected ApiVersions");
        };
        assert_eq!(answer.error_code, ResponseError::UnsupportedVersion.code());
        assert!(
            connection.call(3, api_versions(), TIMEOUT).await.is_ok(),
            "still open"
        );

        let garbage = raw_frame(ApiKey::Metadata as i16, 12, 43, &[0xFF, 0x7F]);
        let result = connection
            .call_raw(garbage, ApiKey::Metadata, 12, 43, TIMEOUT)
            .await;
        assert_eq!(
            result,
            Err(TransportError::ClosedByBroker {
                error: ResponseError::InvalidRequest,
                reason: "malformed request header",
            })
        );
        assert!(connection.is_closed());
        assert!(connection.call(3, api_versions(), TIMEOUT).await.is_err());
        connection.id()
    });
    let connection = done.await.unwrap();
    assert!(log.lock().unwrap().contains(&ServerEvent::Closed {
        connection,
        by: Closer::Broker
    }));
    let rejected: Vec<(i16, bool)> = faults
        .events()
        .into_iter()
        .filter_map(|e| match e {
            NetEvent::FrameRejected {
                error_code, closed, ..
            } => Some((error_code, closed)),
            _ => None,
        })
        .collect();
    assert_eq!(
        rejected,
        vec![
            (ResponseError::UnsupportedVersion.code(), false),
            (ResponseError::InvalidRequest.code(), true)
        ]
    );
}

/// Connections: closing a connection reaches the broker as a Closed event; a late close arrives after the
/// client's new connection opened; a killed client node closes its connections too.
#[madsim::test]
async fn closes_on_time_late_and_on_kill() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let client = Client::new("c", client_faults.clone());
        let first = client.connect(broker_addr(), TIMEOUT).await.unwrap();
        let first_id = first.id();
        drop(first);
        sleep(Duration::from_millis(100)).await;
        client_faults.set_close_delay(1.0, 5_000);
        let second = client.connect(broker_addr(), TIMEOUT).await.unwrap();
        let second_id = second.id();
        drop(second);
        let third = client.connect(broker_addr(), TIMEOUT).await.unwrap();
        assert!(third.call(3, api_versions(), TIMEOUT).await.is_ok());
        sleep(Duration::from_secs(6)).await;
        (first_id, second_id, third.id(), third)
    });
    let (first, second, third, third_connection) = done.await.unwrap();
    let position = |wanted: &ServerEvent| {
        log.lock()
            .unwrap()
            .iter()
            .position(|e| e == wanted)
            .unwrap()
    };
    let closed = |connection| ServerEvent::Closed {
        connection,
        by: Closer::Client,
    };
    assert!(position(&closed(first)) < position(&ServerEvent::Opened(second)));
    assert!(
        position(&ServerEvent::Opened(third)) < position(&closed(second)),
        "late close"
    );
    assert_ne!(second, third);

    // The client node dies: its connection closes at the broker.
    let client = client_node_at([10, 0, 1, 2]);
    let client_faults = faults.clone();
    let doomed_slot = Arc::new(Mutex::new(None));
    let slot = doomed_slot.clone();
    client.spawn(async move {
        let connection = Client::new("d", client_faults)
            .connect(broker_addr(), TIMEOUT)
            .await
            .unwrap();
        *slot.lock().unwrap() = Some(connection.id());
        // Hold the connection until the node dies.
        sleep(Duration::from_secs(3_600)).await;
        drop(connection);
    });
    sleep(Duration::from_millis(100)).await;
    let doomed_id = doomed_slot
        .lock()
        .unwrap()
        .expect("connected before the kill");
    assert!(
        !log.lock().unwrap().contains(&closed(doomed_id)),
        "open while the node lives"
    );
    Handle::current().kill(client.id());
    sleep(Duration::from_millis(100)).await;
    assert!(
        log.lock().unwrap().contains(&closed(doomed_id)),
        "closed when the node dies"
    );
    drop(third_connection);
}

/// Client::call keeps one connection per broker and reconnects after the broker closed it.
#[madsim::test]
async fn cached_connection_reconnects_after_close() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let client = Client::new("c", client_faults);
        for _ in 0..3 {
            assert!(client
                .call(broker_addr(), 3, api_versions(), TIMEOUT)
                .await
                .is_ok());
        }
        // An unsupported Metadata version is encoded locally and refused before sending.
        let refused = client.call(broker_addr(), 99, metadata(), TIMEOUT).await;
        assert!(matches!(refused, Err(TransportError::Encode(_))));
        client.disconnect(broker_addr());
        assert!(client
            .call(broker_addr(), 12, metadata(), TIMEOUT)
            .await
            .is_ok());
    });
    done.await.unwrap();
    let opened = log
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, ServerEvent::Opened(_)))
        .count();
    assert_eq!(opened, 2);
}

/// Server::close hangs up: the client's in-flight call fails with a closed connection.
#[madsim::test]
async fn broker_close_ends_the_connection() {
    let (faults, log) = (NetFaults::new(), ServerLog::default());
    spawn_broker(&faults, &log);
    let client_faults = faults.clone();
    let done = client_node().spawn(async move {
        sleep(Duration::from_millis(100)).await;
        let connection = Client::new("c", client_faults)
            .connect(broker_addr(), TIMEOUT)
            .await
            .unwrap();
        let heartbeat = RequestKind::Heartbeat(HeartbeatRequest::default());
        assert_eq!(
            connection.call(4, heartbeat, TIMEOUT).await,
            Err(TransportError::ConnectionClosed)
        );
        assert!(connection.is_closed());
        connection.id()
    });
    let connection = done.await.unwrap();
    let closes: Vec<NetEvent> = faults
        .events()
        .into_iter()
        .filter(|e| matches!(e, NetEvent::ConnectionClosed { .. }))
        .collect();
    assert_eq!(closes.len(), 1);
    assert!(
        matches!(closes[0], NetEvent::ConnectionClosed { by: Closer::Broker, connection: c, .. } if c == connection)
    );
}

/// Determinism: the same seed gives the same transport events twice (random drop, duplicate, delay and
/// reorder on every API key, plus a reconnect); another seed gives other events.
#[test]
fn same_seed_same_events() {
    let first = run_chaos(7);
    let second = run_chaos(7);
    assert!(
        first.len() > 10,
        "the run exercised faults: {}",
        first.len()
    );
    assert_eq!(first, second);
    assert_ne!(first, run_chaos(8));
}

fn run_chaos(seed: u64) -> Vec<NetEvent> {
    let runtime = Runtime::with_seed_and_config(seed, madsim::Config::default());
    runtime.block_on(async {
        let (faults, log) = (NetFaults::new(), ServerLog::default());
        faults.set_rule(
            ApiKeySelector::All,
            FaultRule {
                direction: FaultDirection::Both,
                drop_probability: 0.1,
                duplicate_probability: 0.2,
                delay_probability: 0.3,
                delay_min_ms: 10,
                delay_max_ms: 300,
                reorder_probability: 0.2,
                reorder_window_ms: 100,
            },
        );
        spawn_broker(&faults, &log);
        let client_faults = faults.clone();
        let done = client_node().spawn(async move {
            sleep(Duration::from_millis(100)).await;
            let client = Client::new("chaos", client_faults);
            let mut connection = client.connect(broker_addr(), TIMEOUT).await.unwrap();
            for i in 0..40 {
                let request = if i % 2 == 0 {
                    api_versions()
                } else {
                    metadata()
                };
                let version = if i % 2 == 0 { 3 } else { 12 };
                let _ = connection
                    .call(version, request, Duration::from_millis(250))
                    .await;
                if i == 20 {
                    connection = client.connect(broker_addr(), TIMEOUT).await.unwrap();
                }
            }
        });
        done.await.unwrap();
        faults.events()
    })
}

fn raw_frame(api_key: i16, version: i16, correlation_id: i32, rest: &[u8]) -> Bytes {
    let mut body = Vec::new();
    body.extend_from_slice(&api_key.to_be_bytes());
    body.extend_from_slice(&version.to_be_bytes());
    body.extend_from_slice(&correlation_id.to_be_bytes());
    body.extend_from_slice(rest);
    let mut frame = (body.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&body);
    Bytes::from(frame)
}
