//! A producer client as a madsim task: the sans-IO [`Producer`] engine driven over [`net::Client`].
//! The node only moves bytes and timers: it sends every [`Transmit`] as a real Kafka request, hands
//! the response (or the transport failure) back, sleeps until [`Producer::poll_timeout`], and keeps
//! the engine's events for the application ([`ProducerHandle`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::messages::ResponseKind;

use crate::client::producer::{
    DeliveryReport, Destination, Producer, ProducerError, ProducerEvent, RecordId, RequestFailure,
    RequestId, SendRecord, Transmit,
};
use crate::clock::SharedNodeClock;
use crate::net::{Client, NetFaults, TransportError};

enum Input {
    /// Boxed: a response is large and wakes are frequent.
    Response(RequestId, Box<Result<ResponseKind, RequestFailure>>),
    Wake,
}

struct Shared {
    engine: Producer,
    events: Vec<ProducerEvent>,
}

/// The application's side of a running producer node: commands go into the engine at once; the
/// `*_and_wait` calls return when the engine reports the outcome.
#[derive(Clone)]
pub struct ProducerHandle {
    shared: Arc<Mutex<Shared>>,
    clock: SharedNodeClock,
    inputs: async_channel::Sender<Input>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // A panic while holding the lock is a bug in the engine; the state is still readable for tests.
    shared.lock().unwrap_or_else(|e| e.into_inner())
}

impl ProducerHandle {
    /// Sends a record; its delivery report comes later ([`ProducerHandle::delivery_reports`]).
    pub fn send(&self, record: SendRecord) -> Result<RecordId, ProducerError> {
        let now = self.clock.now_ms();
        let result = lock(&self.shared).engine.send(now, record);
        self.wake();
        result
    }

    /// Every event so far (delivery reports and transaction outcomes), in order.
    pub fn events(&self) -> Vec<ProducerEvent> {
        lock(&self.shared).events.clone()
    }

    /// Delivery reports so far.
    pub fn delivery_reports(&self) -> Vec<DeliveryReport> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                ProducerEvent::Delivery(d) => Some(d),
                _ => None,
            })
            .collect()
    }

    /// Flushes and waits until every sent record has its report (polling every 10 ms of virtual time).
    pub async fn flush(&self) {
        let now = self.clock.now_ms();
        lock(&self.shared).engine.flush(now);
        self.wake();
        while !lock(&self.shared).engine.is_idle() {
            madsim::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// `initTransactions`, waiting for the outcome.
    pub async fn init_transactions(&self) -> Result<(), ProducerError> {
        let now = self.clock.now_ms();
        lock(&self.shared).engine.init_transactions(now)?;
        self.wait_for(|e| matches!(e, ProducerEvent::TransactionsInitialized { .. }))
            .await
    }

    /// `beginTransaction`.
    pub fn begin_transaction(&self) -> Result<(), ProducerError> {
        let now = self.clock.now_ms();
        lock(&self.shared).engine.begin_transaction(now)
    }

    /// `commitTransaction`, waiting for the outcome.
    pub async fn commit_transaction(&self) -> Result<(), ProducerError> {
        let now = self.clock.now_ms();
        lock(&self.shared).engine.commit_transaction(now)?;
        self.wait_for(|e| *e == ProducerEvent::TransactionCommitted)
            .await
    }

    /// `abortTransaction`, waiting for the outcome.
    pub async fn abort_transaction(&self) -> Result<(), ProducerError> {
        let now = self.clock.now_ms();
        lock(&self.shared).engine.abort_transaction(now)?;
        self.wait_for(|e| *e == ProducerEvent::TransactionAborted)
            .await
    }

    /// The engine's fatal error, if any.
    pub fn fatal_error(&self) -> Option<crate::ResponseError> {
        lock(&self.shared).engine.fatal_error()
    }

    async fn wait_for(&self, done: impl Fn(&ProducerEvent) -> bool) -> Result<(), ProducerError> {
        let start = lock(&self.shared).events.len();
        self.wake();
        loop {
            {
                let shared = lock(&self.shared);
                for event in &shared.events[start..] {
                    if done(event) {
                        return Ok(());
                    }
                    if let ProducerEvent::TransactionFailed(e) = event {
                        return Err(e.clone());
                    }
                }
                if let Some(error) = shared.engine.fatal_error() {
                    return Err(ProducerError::Fatal(error));
                }
            }
            madsim::time::sleep(Duration::from_millis(10)).await;
        }
    }

    fn wake(&self) {
        let _ = self.inputs.try_send(Input::Wake);
    }
}

/// Starts a producer on the current madsim node: `bootstrap` are the brokers it first asks. Returns the
/// application's handle; the driver task runs until the node dies.
pub fn spawn_producer(
    engine: Producer,
    bootstrap: Vec<SocketAddr>,
    clock: SharedNodeClock,
    faults: NetFaults,
) -> ProducerHandle {
    let client = Arc::new(Client::new(engine.config().client_id.clone(), faults));
    let shared = Arc::new(Mutex::new(Shared {
        engine,
        events: Vec::new(),
    }));
    let (inputs, receiver) = async_channel::unbounded();
    let handle = ProducerHandle {
        shared: shared.clone(),
        clock: clock.clone(),
        inputs: inputs.clone(),
    };
    madsim::task::spawn(drive(shared, client, bootstrap, clock, inputs, receiver));
    handle
}

async fn drive(
    shared: Arc<Mutex<Shared>>,
    client: Arc<Client>,
    bootstrap: Vec<SocketAddr>,
    clock: SharedNodeClock,
    inputs: async_channel::Sender<Input>,
    receiver: async_channel::Receiver<Input>,
) {
    let mut bootstrap_next = 0usize;
    let mut senders: BTreeMap<SocketAddr, async_channel::Sender<Transmit>> = BTreeMap::new();
    loop {
        let now = clock.now_ms();
        let (transmits, deadline) = {
            let mut guard = lock(&shared);
            let Shared { engine, events } = &mut *guard;
            let mut transmits = Vec::new();
            while let Some(t) = engine.poll_transmit(now) {
                transmits.push(t);
            }
            while let Some(e) = engine.poll_event() {
                events.push(e);
            }
            (transmits, engine.poll_timeout())
        };
        for transmit in transmits {
            let address = match address_of(&transmit, &bootstrap, &mut bootstrap_next) {
                Some(address) => address,
                None => {
                    let _ = inputs.try_send(Input::Response(
                        transmit.request_id,
                        Box::new(Err(RequestFailure::Disconnected)),
                    ));
                    continue;
                }
            };
            // One sender task per broker sends in the engine's order, as Kafka's `NetworkClient` writes
            // on one connection: an idempotent producer's pipelined batches (up to five in flight)
            // must reach the leader in sequence order. A task per request raced to connect and to
            // send, so a later batch could land first and the earlier one fail with
            // OUT_OF_ORDER_SEQUENCE_NUMBER (ingress_spike.json lost 268 burst records that way).
            let sender = senders.entry(address).or_insert_with(|| {
                let (sender, queue) = async_channel::unbounded();
                madsim::task::spawn(send_in_order(
                    client.clone(),
                    address,
                    queue,
                    inputs.clone(),
                ));
                sender
            });
            let _ = sender.try_send(transmit);
        }
        let input = match deadline {
            Some(deadline) => {
                let wait = Duration::from_millis(clock.until_ms(deadline));
                match madsim::time::timeout(wait, receiver.recv()).await {
                    Ok(Ok(input)) => Some(input),
                    Ok(Err(_)) => return,
                    Err(_) => None,
                }
            }
            None => match receiver.recv().await {
                Ok(input) => Some(input),
                Err(_) => return,
            },
        };
        let now = clock.now_ms();
        let mut guard = lock(&shared);
        match input {
            Some(Input::Response(id, result)) => guard.engine.handle_response(now, id, *result),
            Some(Input::Wake) => {}
            None => guard.engine.handle_timeout(now),
        }
    }
}

/// Sends the transmits for one broker one after another (connecting first when needed), each reply
/// awaited on its own task. A failed connection fails the request and every one queued behind it, as
/// Kafka fails a node's requests when its connection fails.
async fn send_in_order(
    client: Arc<Client>,
    address: SocketAddr,
    queue: async_channel::Receiver<Transmit>,
    inputs: async_channel::Sender<Input>,
) {
    while let Ok(transmit) = queue.recv().await {
        let timeout = Duration::from_millis(transmit.timeout_ms);
        let sent = client
            .send_request(address, transmit.api_version, transmit.request, timeout)
            .await;
        let pending = match sent {
            Ok(pending) => pending,
            Err(error) => {
                let mut failed = vec![(transmit.request_id, transmit.expects_response)];
                while let Ok(queued) = queue.try_recv() {
                    failed.push((queued.request_id, queued.expects_response));
                }
                for (request_id, expects_response) in failed {
                    if expects_response {
                        let failure = request_failure(&client, address, error.clone());
                        let _ = inputs
                            .send(Input::Response(request_id, Box::new(Err(failure))))
                            .await;
                    }
                }
                continue;
            }
        };
        if !transmit.expects_response {
            continue;
        }
        let (client, inputs) = (client.clone(), inputs.clone());
        madsim::task::spawn(async move {
            let result = client
                .wait_reply(pending)
                .await
                .map_err(|e| request_failure(&client, address, e));
            let _ = inputs
                .send(Input::Response(transmit.request_id, Box::new(result)))
                .await;
        });
    }
}

/// What the engine is told of a transport error.
fn request_failure(client: &Client, address: SocketAddr, error: TransportError) -> RequestFailure {
    match error {
        TransportError::Timeout => {
            // Kafka closes a connection whose request timed out; the engine fails the other requests
            // on it, and the next call opens a new one.
            client.disconnect(address);
            RequestFailure::TimedOut
        }
        _ => RequestFailure::Disconnected,
    }
}

fn address_of(
    transmit: &Transmit,
    bootstrap: &[SocketAddr],
    bootstrap_next: &mut usize,
) -> Option<SocketAddr> {
    match &transmit.destination {
        Destination::Bootstrap => {
            if bootstrap.is_empty() {
                return None;
            }
            *bootstrap_next += 1;
            Some(bootstrap[*bootstrap_next % bootstrap.len()])
        }
        Destination::Broker(b) => format!("{}:{}", b.host, b.port).parse().ok(),
    }
}
