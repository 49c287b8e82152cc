//! The broker side: accepts connections, decodes request frames, refuses bad ones as Kafka does, and hands
//! the node a stream of [`ServerEvent`]s; the node answers with [`Server::respond`].

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::{Arc, Mutex, MutexGuard};

use kafka_protocol::messages::{RequestHeader, RequestKind, ResponseKind};
use madsim::export::futures::future::{select, Either};
use madsim::net::{Endpoint, Receiver, Sender};
use madsim::task::JoinHandle;

use super::client::send_planned;
use super::event::{Closer, Direction, NetEvent};
use super::faults::{now_ms, NetFaults};
use super::frame::{api_key_of_response, decode_request, encode_response, RejectionAnswer};
use super::{ConnectionId, TransportError, Wire};

/// A request received on a connection.
#[derive(Clone, Debug, PartialEq)]
pub struct IncomingRequest {
    /// The connection it came on (answer on the same one).
    pub connection: ConnectionId,
    /// Its header: API key, version, correlation id, client id.
    pub header: RequestHeader,
    /// Its body.
    pub request: RequestKind,
}

/// What the broker node is told, in arrival order.
#[derive(Clone, Debug, PartialEq)]
pub enum ServerEvent {
    /// A client connected.
    Opened(ConnectionId),
    /// A request to answer (boxed: requests are large, the other events small).
    Request(Box<IncomingRequest>),
    /// A connection ended (share sessions on it are released).
    Closed {
        /// The connection.
        connection: ConnectionId,
        /// Who ended it.
        by: Closer,
    },
}

/// An open connection's sending half and the signal that makes its reader hang up.
#[derive(Clone)]
struct OpenConnection {
    tx: Arc<Sender>,
    hang_up: async_channel::Sender<()>,
}

type Connections = Arc<Mutex<BTreeMap<ConnectionId, OpenConnection>>>;

/// A broker's listener.
pub struct Server {
    local_addr: SocketAddr,
    faults: NetFaults,
    connections: Connections,
    events: async_channel::Receiver<ServerEvent>,
    acceptor: JoinHandle<()>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("local_addr", &self.local_addr)
            .finish()
    }
}

impl Server {
    /// Listens on `addr` (on the current node).
    pub async fn bind(addr: SocketAddr, faults: NetFaults) -> Result<Server, TransportError> {
        let endpoint = Endpoint::bind(addr)
            .await
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        let local_addr = endpoint
            .local_addr()
            .map_err(|e| TransportError::Connect(e.to_string()))?;
        let connections: Connections = Arc::default();
        let (events_tx, events) = async_channel::unbounded();
        let acceptor = madsim::task::spawn(accept_loop(
            endpoint,
            local_addr,
            faults.clone(),
            connections.clone(),
            events_tx,
        ));
        Ok(Server {
            local_addr,
            faults,
            connections,
            events,
            acceptor,
        })
    }

    /// The listener's address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Open connections, in order.
    pub fn connections(&self) -> Vec<ConnectionId> {
        lock(&self.connections).keys().copied().collect()
    }

    /// The next event; `None` only if the listener stopped.
    pub async fn next_event(&self) -> Option<ServerEvent> {
        self.events.recv().await.ok()
    }

    /// Answers a request on its connection, encoded at the request's version.
    pub async fn respond(
        &self,
        connection: ConnectionId,
        header: &RequestHeader,
        response: ResponseKind,
    ) -> Result<(), TransportError> {
        let tx = lock(&self.connections)
            .get(&connection)
            .map(|open| open.tx.clone())
            .ok_or(TransportError::ConnectionClosed)?;
        let frame = encode_response(header.request_api_version, header.correlation_id, &response)
            .map_err(TransportError::Encode)?;
        let api_key = api_key_of_response(&response).map_or(-1, |key| key as i16);
        let plan = self.faults.plan_message(
            connection,
            Direction::Response,
            api_key,
            header.correlation_id,
        );
        send_planned(&tx, plan, frame).await;
        Ok(())
    }

    /// Closes a connection from the broker side: its reader hangs up, the client sees the connection end,
    /// and no Closed event follows for it (the broker chose this).
    pub fn close(&self, connection: ConnectionId) {
        if let Some(open) = lock(&self.connections).remove(&connection) {
            open.hang_up.close();
            self.faults.record(NetEvent::ConnectionClosed {
                at_ms: now_ms(),
                connection,
                by: Closer::Broker,
            });
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.acceptor.abort();
    }
}

async fn accept_loop(
    endpoint: Endpoint,
    local_addr: SocketAddr,
    faults: NetFaults,
    connections: Connections,
    events: async_channel::Sender<ServerEvent>,
) {
    while let Ok((tx, rx, client)) = endpoint.accept1().await {
        madsim::task::spawn(serve_connection(
            tx,
            rx,
            client,
            local_addr,
            faults.clone(),
            connections.clone(),
            events.clone(),
        ));
    }
}

async fn serve_connection(
    tx: Sender,
    mut rx: Receiver,
    client: SocketAddr,
    server: SocketAddr,
    faults: NetFaults,
    connections: Connections,
    events: async_channel::Sender<ServerEvent>,
) {
    let serial = match rx.recv().await.map(|p| p.downcast::<Wire>()) {
        Ok(Ok(wire)) => match *wire {
            Wire::Hello { serial } => serial,
            _ => 0,
        },
        _ => return,
    };
    let connection = ConnectionId {
        client,
        server,
        serial,
    };
    if tx.send(Box::new(Wire::Welcome { client })).await.is_err() {
        return;
    }
    let tx = Arc::new(tx);
    let (hang_up, hung_up) = async_channel::bounded::<()>(1);
    lock(&connections).insert(
        connection,
        OpenConnection {
            tx: tx.clone(),
            hang_up,
        },
    );
    faults.record(NetEvent::ConnectionOpened {
        at_ms: now_ms(),
        connection,
    });
    let _ = events.send(ServerEvent::Opened(connection)).await;
    let client_crashes = faults.host_crash_count(client.ip());
    loop {
        let payload = match select(pin!(rx.recv()), pin!(hung_up.recv())).await {
            Either::Left((Ok(payload), _)) => payload,
            // The client went away, or the broker closed the connection (`Server::close`).
            _ => break,
        };
        if faults.host_crash_count(client.ip()) != client_crashes {
            break; // The client's host crashed: what it sent before dies with it (`host_crashed`).
        }
        let Ok(wire) = payload.downcast::<Wire>() else {
            continue;
        };
        let Wire::Frame(frame) = *wire else {
            continue;
        };
        match decode_request(&frame) {
            Ok(decoded) => {
                let request = IncomingRequest {
                    connection,
                    header: decoded.header,
                    request: decoded.request,
                };
                let _ = events.send(ServerEvent::Request(Box::new(request))).await;
            }
            Err(rejection) => {
                let closed = rejection.answer == RejectionAnswer::CloseConnection;
                faults.record(NetEvent::FrameRejected {
                    at_ms: now_ms(),
                    connection,
                    error_code: rejection.error.code(),
                    reason: rejection.reason,
                    closed,
                });
                match rejection.answer {
                    RejectionAnswer::Respond(answer) => {
                        let _ = tx.send(Box::new(Wire::Frame(answer))).await;
                    }
                    RejectionAnswer::CloseConnection => {
                        let goodbye = Wire::Goodbye {
                            error: rejection.error,
                            reason: rejection.reason,
                        };
                        let _ = tx.send(Box::new(goodbye)).await;
                        lock(&connections).remove(&connection);
                        faults.record(NetEvent::ConnectionClosed {
                            at_ms: now_ms(),
                            connection,
                            by: Closer::Broker,
                        });
                        let _ = events
                            .send(ServerEvent::Closed {
                                connection,
                                by: Closer::Broker,
                            })
                            .await;
                        return;
                    }
                }
            }
        }
    }
    if lock(&connections).remove(&connection).is_some() {
        faults.record(NetEvent::ConnectionClosed {
            at_ms: now_ms(),
            connection,
            by: Closer::Client,
        });
        let _ = events
            .send(ServerEvent::Closed {
                connection,
                by: Closer::Client,
            })
            .await;
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
