//! Outgoing calls of a live node (broker to broker, broker to controller, and the server's own admin
//! steps): one TCP connection per address, requests pipelined on it and matched to their responses by
//! correlation id, a timeout on every call. A broken connection fails its pending calls with
//! `ConnectionClosed` and is reopened by the next call.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{RequestHeader, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;
use sharesim_sim::net::frame::{api_key_of_request, peek_response_correlation_id};
use sharesim_sim::net::{decode_response, encode_request, TransportError};
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;
use tokio::sync::oneshot;

use super::listener::read_frame;

type Pending = Arc<Mutex<BTreeMap<i32, oneshot::Sender<Bytes>>>>;

struct OutConnection {
    writer: tokio::sync::Mutex<OwnedWriteHalf>,
    pending: Pending,
    next_correlation_id: AtomicI32,
    broken: Arc<AtomicBool>,
}

/// A live node's outgoing connections.
pub struct LiveCaller {
    client_id: StrBytes,
    connections: Mutex<BTreeMap<SocketAddr, Arc<OutConnection>>>,
}

impl LiveCaller {
    /// A caller sending `client_id` in every request header.
    pub fn new(client_id: &str) -> LiveCaller {
        LiveCaller {
            client_id: StrBytes::from_string(client_id.to_string()),
            connections: Mutex::new(BTreeMap::new()),
        }
    }

    /// Sends `request` to `address` at `api_version` and waits for its response, at most `timeout`
    /// (the connection setup included).
    pub async fn call(
        &self,
        address: SocketAddr,
        api_version: i16,
        request: RequestKind,
        timeout: Duration,
    ) -> Result<ResponseKind, TransportError> {
        match tokio::time::timeout(timeout, self.call_inner(address, api_version, request)).await {
            Ok(result) => result,
            Err(_) => Err(TransportError::Timeout),
        }
    }

    async fn call_inner(
        &self,
        address: SocketAddr,
        api_version: i16,
        request: RequestKind,
    ) -> Result<ResponseKind, TransportError> {
        let api_key = api_key_of_request(&request).ok_or(TransportError::MalformedResponse)?;
        let connection = self.connection(address).await?;
        let correlation_id = connection
            .next_correlation_id
            .fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader::default()
            .with_request_api_key(api_key as i16)
            .with_request_api_version(api_version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        let frame = encode_request(&header, &request).map_err(TransportError::Encode)?;
        let (tx, rx) = oneshot::channel();
        lock(&connection.pending).insert(correlation_id, tx);
        let written = connection.writer.lock().await.write_all(&frame).await;
        if written.is_err() {
            self.forget(address, &connection);
            lock(&connection.pending).remove(&correlation_id);
            return Err(TransportError::ConnectionClosed);
        }
        let response = rx.await.map_err(|_| TransportError::ConnectionClosed)?;
        decode_response(&response, api_key, api_version)
            .map(|(_, body)| body)
            .map_err(|_| TransportError::MalformedResponse)
    }

    async fn connection(&self, address: SocketAddr) -> Result<Arc<OutConnection>, TransportError> {
        if let Some(existing) = lock(&self.connections).get(&address) {
            if !existing.broken.load(Ordering::Relaxed) {
                return Ok(existing.clone());
            }
        }
        let stream = TcpStream::connect(address)
            .await
            .map_err(|error| TransportError::Connect(error.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (mut read_half, write_half) = stream.into_split();
        let pending: Pending = Arc::default();
        let broken = Arc::new(AtomicBool::new(false));
        {
            let (pending, broken) = (pending.clone(), broken.clone());
            tokio::task::spawn_local(async move {
                while let Ok(Some(frame)) = read_frame(&mut read_half).await {
                    let Some(correlation_id) = peek_response_correlation_id(&frame) else {
                        break;
                    };
                    if let Some(tx) = lock(&pending).remove(&correlation_id) {
                        let _ = tx.send(frame);
                    }
                }
                broken.store(true, Ordering::Relaxed);
                // Dropping the senders fails every pending call with ConnectionClosed.
                lock(&pending).clear();
            });
        }
        let connection = Arc::new(OutConnection {
            writer: tokio::sync::Mutex::new(write_half),
            pending,
            next_correlation_id: AtomicI32::new(0),
            broken,
        });
        // Two calls may race to connect: the later one wins, the other connection serves its own call.
        lock(&self.connections).insert(address, connection.clone());
        Ok(connection)
    }

    fn forget(&self, address: SocketAddr, connection: &Arc<OutConnection>) {
        connection.broken.store(true, Ordering::Relaxed);
        let mut connections = lock(&self.connections);
        if connections
            .get(&address)
            .is_some_and(|current| Arc::ptr_eq(current, connection))
        {
            connections.remove(&address);
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
