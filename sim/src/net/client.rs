//! The client side: connections to brokers and `call` with a correlation id and a timeout.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use madsim::net::{Endpoint, Receiver, Sender};
use madsim::task::JoinHandle;

use super::event::{Direction, NetEvent};
use super::faults::{now_ms, NetFaults};
use super::frame::{
    api_key_of_request, decode_response, encode_request, peek_response_correlation_id,
};
use super::{ConnectionId, EncodeError, TransportError, Wire};

/// Where a sent request's reply arrives.
type ReplyReceiver = async_channel::Receiver<Result<ResponseKind, TransportError>>;

/// A request [`Client::send_request`] sent, its reply still to come.
pub struct PendingReply {
    server: SocketAddr,
    connection: Arc<Connection>,
    api_key: ApiKey,
    correlation_id: i32,
    reply: ReplyReceiver,
    timeout: Duration,
}

/// A client process's transport: names its connections, keeps one cached connection per broker for
/// [`Client::call`] (as Kafka's `NetworkClient` does), and shares the fault controller.
#[derive(Debug)]
pub struct Client {
    client_id: String,
    faults: NetFaults,
    next_serial: AtomicU64,
    cached: Mutex<BTreeMap<SocketAddr, Arc<Connection>>>,
}

impl Client {
    /// A client sending `client_id` in every request header.
    pub fn new(client_id: impl Into<String>, faults: NetFaults) -> Self {
        Client {
            client_id: client_id.into(),
            faults,
            next_serial: AtomicU64::new(1),
            cached: Mutex::new(BTreeMap::new()),
        }
    }

    /// Calls a broker on its cached connection, opening one (with `timeout` for the handshake) when there
    /// is none or the last one closed. A closed connection is forgotten so the next call reconnects.
    pub async fn call(
        &self,
        server: SocketAddr,
        api_version: i16,
        request: RequestKind,
        timeout: Duration,
    ) -> Result<ResponseKind, TransportError> {
        let cached = self.cached_connection(server);
        let connection = match cached {
            Some(connection) => connection,
            None => {
                let connection = Arc::new(self.connect(server, timeout).await?);
                lock_map(&self.cached).insert(server, connection.clone());
                connection
            }
        };
        let result = connection.call(api_version, request, timeout).await;
        if connection.is_closed() {
            self.forget(server, &connection);
        }
        result
    }

    /// Sends a request on the cached connection to `server` (opening one if needed) and returns its
    /// reply to wait for ([`Client::wait_reply`]). Requests one task sends one after another reach the
    /// broker in that order, as on Kafka's one connection per broker; concurrent [`Client::call`]s may
    /// race to connect and to send (a pipelining producer needs the order for its sequence numbers).
    pub async fn send_request(
        &self,
        server: SocketAddr,
        api_version: i16,
        request: RequestKind,
        timeout: Duration,
    ) -> Result<PendingReply, TransportError> {
        let connection = match self.cached_connection(server) {
            Some(connection) => connection,
            None => {
                let connection = Arc::new(self.connect(server, timeout).await?);
                lock_map(&self.cached).insert(server, connection.clone());
                connection
            }
        };
        let (api_key, correlation_id, reply) =
            connection.send_request(api_version, request).await?;
        Ok(PendingReply {
            server,
            connection,
            api_key,
            correlation_id,
            reply,
            timeout,
        })
    }

    /// Waits for the reply of a request [`Client::send_request`] sent (at most its timeout).
    pub async fn wait_reply(&self, pending: PendingReply) -> Result<ResponseKind, TransportError> {
        let PendingReply {
            server,
            connection,
            api_key,
            correlation_id,
            reply,
            timeout,
        } = pending;
        let result = connection
            .await_reply(reply, api_key, correlation_id, timeout)
            .await;
        if connection.is_closed() {
            self.forget(server, &connection);
        }
        result
    }

    /// Closes every cached connection now on this side, each close reaching its broker `delay_ms` late
    /// (the `consumer_reconnect_late_close` lever): calls waiting on them fail with ConnectionClosed and
    /// the next call opens a new connection, while the broker sees the old one open until the close
    /// arrives.
    pub fn disconnect_all_late(&self, delay_ms: u64) {
        let connections = std::mem::take(&mut *lock_map(&self.cached));
        for connection in connections.into_values() {
            connection.close_late(delay_ms);
        }
    }

    /// Closes the cached connection to a broker, if any.
    pub fn disconnect(&self, server: SocketAddr) {
        lock_map(&self.cached).remove(&server);
    }

    fn cached_connection(&self, server: SocketAddr) -> Option<Arc<Connection>> {
        let mut cached = lock_map(&self.cached);
        match cached.get(&server) {
            Some(connection) if connection.is_closed() => {
                cached.remove(&server);
                None
            }
            other => other.cloned(),
        }
    }

    fn forget(&self, server: SocketAddr, connection: &Arc<Connection>) {
        let mut cached = lock_map(&self.cached);
        if cached
            .get(&server)
            .is_some_and(|c| Arc::ptr_eq(c, connection))
        {
            cached.remove(&server);
        }
    }

    /// Opens a new connection to a broker, waiting at most `setup_timeout` for the handshake (Kafka's
    /// `socket.connection.setup.timeout.ms`, 10 s by default).
    pub async fn connect(
        &self,
        server: SocketAddr,
        setup_timeout: Duration,
    ) -> Result<Connection, TransportError> {
        let connect_error = |e: std::io::Error| TransportError::Connect(e.to_string());
        let endpoint = Endpoint::bind("0.0.0.0:0").await.map_err(connect_error)?;
        let (tx, mut rx) = endpoint.connect1(server).await.map_err(connect_error)?;
        let serial = self.next_serial.fetch_add(1, Ordering::Relaxed);
        tx.send(Box::new(Wire::Hello { serial }))
            .await
            .map_err(connect_error)?;
        let welcome = madsim::time::timeout(setup_timeout, rx.recv())
            .await
            .map_err(|_| TransportError::Connect("connection setup timed out".to_string()))?
            .map_err(connect_error)?;
        let client = match welcome.downcast::<Wire>().map(|wire| *wire) {
            Ok(Wire::Welcome { client }) => client,
            _ => {
                return Err(TransportError::Connect(
                    "no handshake from the broker".to_string(),
                ))
            }
        };
        let id = ConnectionId {
            client,
            server,
            serial,
        };
        let shared = Arc::new(Mutex::new(Shared::default()));
        let reader =
            madsim::task::spawn(read_responses(id, rx, shared.clone(), self.faults.clone()));
        Ok(Connection {
            id,
            client_id: StrBytes::from_string(self.client_id.clone()),
            faults: self.faults.clone(),
            shared,
            tx: Some(Arc::new(tx)),
            reader,
            _endpoint: endpoint,
            late_close_ms: Mutex::new(None),
        })
    }
}

/// A call waiting for its response.
#[derive(Debug)]
struct Pending {
    api_key: ApiKey,
    api_version: i16,
    reply: async_channel::Sender<Result<ResponseKind, TransportError>>,
}

#[derive(Debug, Default)]
struct Shared {
    next_correlation_id: i32,
    pending: BTreeMap<i32, Pending>,
    closed: Option<TransportError>,
}

impl Shared {
    fn close(&mut self, error: TransportError) {
        if self.closed.is_none() {
            self.closed = Some(error.clone());
        }
        for (_, pending) in std::mem::take(&mut self.pending) {
            let _ = pending.reply.try_send(Err(error.clone()));
        }
    }
}

/// One connection to a broker. Calls may run concurrently; responses are matched by correlation id, and a
/// response nobody waits for (a duplicate, or one arriving after its call timed out) is ignored. Dropping
/// the connection closes it (possibly late, see `NetFaults::set_close_delay`).
pub struct Connection {
    id: ConnectionId,
    client_id: StrBytes,
    faults: NetFaults,
    shared: Arc<Mutex<Shared>>,
    tx: Option<Arc<Sender>>,
    reader: JoinHandle<()>,
    _endpoint: Endpoint,
    /// Set by [`Connection::close_late`]: how late the close reaches the broker.
    late_close_ms: Mutex<Option<u64>>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("id", &self.id).finish()
    }
}

impl Connection {
    /// This connection's identity (as the broker sees it).
    pub fn id(&self) -> ConnectionId {
        self.id
    }

    /// Closes the connection on this side now (calls waiting on it fail with ConnectionClosed); the
    /// close reaches the broker `delay_ms` after the last holder drops it.
    pub fn close_late(&self, delay_ms: u64) {
        *self
            .late_close_ms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(delay_ms);
        lock(&self.shared).close(TransportError::ConnectionClosed);
    }

    /// True once closed by either side.
    pub fn is_closed(&self) -> bool {
        lock(&self.shared).closed.is_some()
    }

    /// Sends `request` at `api_version` and waits at most `timeout` for its response.
    pub async fn call(
        &self,
        api_version: i16,
        request: RequestKind,
        timeout: Duration,
    ) -> Result<ResponseKind, TransportError> {
        let (api_key, correlation_id, reply) = self.send_request(api_version, request).await?;
        self.await_reply(reply, api_key, correlation_id, timeout)
            .await
    }

    /// Registers and sends a request; returns its API key, correlation id and reply channel.
    async fn send_request(
        &self,
        api_version: i16,
        request: RequestKind,
    ) -> Result<(ApiKey, i32, ReplyReceiver), TransportError> {
        let api_key = api_key_of_request(&request)
            .ok_or(TransportError::Encode(EncodeError::ApiKeyMismatch))?;
        let (correlation_id, reply) = self.register(api_key, api_version)?;
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(api_version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let frame = match encode_request(&header, &request) {
            Ok(frame) => frame,
            Err(error) => {
                lock(&self.shared).pending.remove(&correlation_id);
                return Err(TransportError::Encode(error));
            }
        };
        self.send(api_key as i16, correlation_id, frame).await;
        Ok((api_key, correlation_id, reply))
    }

    /// Sends raw bytes as a request frame (fault injection: malformed frames) and waits for a response
    /// carrying `correlation_id`, decoded as `api_key` v`api_version`.
    pub async fn call_raw(
        &self,
        frame: Bytes,
        api_key: ApiKey,
        api_version: i16,
        correlation_id: i32,
        timeout: Duration,
    ) -> Result<ResponseKind, TransportError> {
        let reply = {
            let mut shared = lock(&self.shared);
            if let Some(error) = &shared.closed {
                return Err(error.clone());
            }
            let (reply, receiver) = async_channel::bounded(1);
            shared.pending.insert(
                correlation_id,
                Pending {
                    api_key,
                    api_version,
                    reply,
                },
            );
            receiver
        };
        self.send(api_key as i16, correlation_id, frame).await;
        self.await_reply(reply, api_key, correlation_id, timeout)
            .await
    }

    fn register(
        &self,
        api_key: ApiKey,
        api_version: i16,
    ) -> Result<
        (
            i32,
            async_channel::Receiver<Result<ResponseKind, TransportError>>,
        ),
        TransportError,
    > {
        let mut shared = lock(&self.shared);
        if let Some(error) = &shared.closed {
            return Err(error.clone());
        }
        let correlation_id = shared.next_correlation_id;
        shared.next_correlation_id = correlation_id.wrapping_add(1);
        let (reply, receiver) = async_channel::bounded(1);
        shared.pending.insert(
            correlation_id,
            Pending {
                api_key,
                api_version,
                reply,
            },
        );
        Ok((correlation_id, receiver))
    }

    async fn send(&self, api_key: i16, correlation_id: i32, frame: Bytes) {
        let Some(tx) = &self.tx else {
            return;
        };
        let plan = self
            .faults
            .plan_message(self.id, Direction::Request, api_key, correlation_id);
        send_planned(tx, plan, frame).await;
    }

    async fn await_reply(
        &self,
        reply: async_channel::Receiver<Result<ResponseKind, TransportError>>,
        api_key: ApiKey,
        correlation_id: i32,
        timeout: Duration,
    ) -> Result<ResponseKind, TransportError> {
        match madsim::time::timeout(timeout, reply.recv()).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(lock(&self.shared)
                .closed
                .clone()
                .unwrap_or(TransportError::ConnectionClosed)),
            Err(_) => {
                lock(&self.shared).pending.remove(&correlation_id);
                self.faults.record(NetEvent::CallTimedOut {
                    at_ms: now_ms(),
                    connection: self.id,
                    api_key: api_key as i16,
                    correlation_id,
                });
                Err(TransportError::Timeout)
            }
        }
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        lock(&self.shared).close(TransportError::ConnectionClosed);
        self.reader.abort();
        let Some(tx) = self.tx.take() else {
            return;
        };
        let late_close_ms = self
            .late_close_ms
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        let delay_ms = match late_close_ms {
            Some(delay_ms) => {
                self.faults.record(NetEvent::CloseDelayed {
                    at_ms: now_ms(),
                    connection: self.id,
                    delay_ms,
                });
                delay_ms
            }
            None => self.faults.plan_close(self.id),
        };
        if delay_ms > 0 {
            // The broker keeps seeing the connection open until the close arrives.
            madsim::task::spawn(async move {
                madsim::time::sleep(Duration::from_millis(delay_ms)).await;
                drop(tx);
            });
        }
    }
}

/// Sends each planned copy of a frame: at once, or after its hold (later frames may overtake it).
pub(super) async fn send_planned(tx: &Arc<Sender>, plan: Vec<u64>, frame: Bytes) {
    for hold_ms in plan {
        if hold_ms == 0 {
            // A send only fails when the peer is gone; the reader reports that.
            let _ = tx.send(Box::new(Wire::Frame(frame.clone()))).await;
        } else {
            let tx = tx.clone();
            let frame = frame.clone();
            madsim::task::spawn(async move {
                madsim::time::sleep(Duration::from_millis(hold_ms)).await;
                let _ = tx.send(Box::new(Wire::Frame(frame))).await;
            });
        }
    }
}

async fn read_responses(
    id: ConnectionId,
    mut rx: Receiver,
    shared: Arc<Mutex<Shared>>,
    faults: NetFaults,
) {
    let server_crashes = faults.host_crash_count(id.server.ip());
    loop {
        let Ok(payload) = rx.recv().await else {
            lock(&shared).close(TransportError::ConnectionClosed);
            return;
        };
        if faults.host_crash_count(id.server.ip()) != server_crashes {
            // The broker's host crashed: what it sent before dies with it (`NetFaults::host_crashed`).
            lock(&shared).close(TransportError::ConnectionClosed);
            return;
        }
        let Ok(wire) = payload.downcast::<Wire>() else {
            continue;
        };
        match *wire {
            Wire::Frame(frame) => {
                let correlation_id = peek_response_correlation_id(&frame);
                let pending = correlation_id.and_then(|c| lock(&shared).pending.remove(&c));
                match pending {
                    Some(pending) => {
                        let result = decode_response(&frame, pending.api_key, pending.api_version)
                            .map(|(_, response)| response)
                            .map_err(|_| TransportError::MalformedResponse);
                        let _ = pending.reply.try_send(result);
                    }
                    None => faults.record(NetEvent::ResponseIgnored {
                        at_ms: now_ms(),
                        connection: id,
                        correlation_id: correlation_id.unwrap_or(-1),
                    }),
                }
            }
            Wire::Goodbye { error, reason } => {
                lock(&shared).close(TransportError::ClosedByBroker { error, reason });
            }
            Wire::Hello { .. } | Wire::Welcome { .. } => {}
        }
    }
}

fn lock_map<K, V>(map: &Mutex<BTreeMap<K, V>>) -> MutexGuard<'_, BTreeMap<K, V>> {
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
