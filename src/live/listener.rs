//! A node's TCP listener on 127.0.0.1: accepts connections, reads size-prefixed Kafka frames, decodes
//! them with the simulation's own `net::frame::decode_request` (which also says how Kafka refuses a frame
//! it cannot serve), and hands the node a stream of [`LiveEvent`]s. Each connection has a writer task
//! that sends the node's response frames in the order the node produced them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use sharesim_sim::net::frame::SOCKET_REQUEST_MAX_BYTES;
use sharesim_sim::net::{decode_request, ConnectionId, IncomingRequest, RejectionAnswer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpListener;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::task::AbortHandle;

/// An open client connection as its node holds it: where its response frames go, and how to hang up.
#[derive(Debug)]
pub struct LiveConnection {
    /// Response frames, written in order by the connection's writer task.
    pub frames: UnboundedSender<Bytes>,
    /// Stops the connection's reader (the writer ends when `frames` is dropped).
    pub reader: AbortHandle,
}

impl LiveConnection {
    /// Closes the connection: queued frames are still written, then the socket is shut down.
    pub fn close(self) {
        self.reader.abort();
    }
}

/// What a node's listener tells it, in arrival order.
#[derive(Debug)]
pub enum LiveEvent {
    /// A client connected.
    Opened(ConnectionId, LiveConnection),
    /// A decoded request.
    Request(Box<IncomingRequest>),
    /// The client closed the connection, or it broke, or the node closed it.
    Closed(ConnectionId),
}

/// Numbers connections (ports can be reused; the serial cannot).
static CONNECTION_SERIAL: AtomicU64 = AtomicU64::new(1);

/// Accepts connections on `listener` until the process ends, sending every event to `events`.
/// `node` names the node in log lines.
pub async fn accept_loop(listener: TcpListener, node: String, events: UnboundedSender<LiveEvent>) {
    let Ok(server) = listener.local_addr() else {
        return;
    };
    let node: Arc<str> = node.into();
    loop {
        let (stream, client) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("sharesim serve: {node}: accept failed: {error}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let connection = ConnectionId {
            client,
            server,
            serial: CONNECTION_SERIAL.fetch_add(1, Ordering::Relaxed),
        };
        let (read_half, write_half) = stream.into_split();
        let (frames, frames_rx) = unbounded_channel();
        tokio::task::spawn_local(write_loop(write_half, frames_rx));
        let reader = tokio::task::spawn_local(read_loop(
            read_half,
            connection,
            frames.clone(),
            events.clone(),
            node.clone(),
        ))
        .abort_handle();
        let opened = LiveEvent::Opened(connection, LiveConnection { frames, reader });
        if events.send(opened).is_err() {
            return;
        }
    }
}

/// Reads frames until the client hangs up or sends a frame Kafka would close the connection for.
async fn read_loop(
    mut read_half: OwnedReadHalf,
    connection: ConnectionId,
    frames: UnboundedSender<Bytes>,
    events: UnboundedSender<LiveEvent>,
    node: Arc<str>,
) {
    loop {
        match read_frame(&mut read_half).await {
            Ok(Some(frame)) => match decode_request(&frame) {
                Ok(decoded) => {
                    let request = IncomingRequest {
                        connection,
                        header: decoded.header,
                        request: decoded.request,
                    };
                    if events.send(LiveEvent::Request(Box::new(request))).is_err() {
                        return;
                    }
                }
                Err(rejection) => {
                    // What Kafka logs before answering or closing; a live user wants to see it.
                    eprintln!(
                        "sharesim serve: {node}: refused a request from {} (api key {:?} v{:?}): {} ({:?})",
                        connection.client,
                        rejection.api_key,
                        rejection.api_version,
                        rejection.reason,
                        rejection.error
                    );
                    match rejection.answer {
                        RejectionAnswer::Respond(answer) => {
                            let _ = frames.send(answer);
                        }
                        RejectionAnswer::CloseConnection => break,
                    }
                }
            },
            Ok(None) => break,
            Err(reason) => {
                eprintln!(
                    "sharesim serve: {node}: closing connection from {}: {reason}",
                    connection.client
                );
                break;
            }
        }
    }
    let _ = events.send(LiveEvent::Closed(connection));
}

/// One size-prefixed frame (size field included, as `decode_request` takes it); `None` at a clean end
/// of stream.
pub async fn read_frame(read_half: &mut OwnedReadHalf) -> Result<Option<Bytes>, String> {
    let mut size_field = [0u8; 4];
    match read_half.read_exact(&mut size_field).await {
        Ok(_) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error.to_string()),
    }
    let size = i32::from_be_bytes(size_field);
    // Kafka's `socket.request.max.bytes`: a larger (or negative) size closes the connection.
    let Ok(size) = usize::try_from(size) else {
        return Err(format!("negative frame size {size}"));
    };
    if size > SOCKET_REQUEST_MAX_BYTES {
        return Err(format!("frame size {size} above socket.request.max.bytes"));
    }
    let mut frame = BytesMut::zeroed(4 + size);
    frame[..4].copy_from_slice(&size_field);
    read_half
        .read_exact(&mut frame[4..])
        .await
        .map_err(|error| error.to_string())?;
    Ok(Some(frame.freeze()))
}

/// Writes response frames in order; when the node drops the sender, shuts the socket down.
async fn write_loop(mut write_half: OwnedWriteHalf, mut frames: UnboundedReceiver<Bytes>) {
    while let Some(frame) = frames.recv().await {
        if write_half.write_all(&frame).await.is_err() {
            return;
        }
    }
    let _ = write_half.shutdown().await;
}

/// Binds a listener on 127.0.0.1:`port` (0: any free port).
pub async fn bind_loopback(port: u16) -> std::io::Result<TcpListener> {
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await
}
