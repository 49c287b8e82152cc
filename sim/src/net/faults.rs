//! Fault hooks madsim lacks, applied per message by the transport: drop, duplicate, delay and reorder,
//! chosen per API key (or for every key) and per direction, plus late delivery of connection closes. All
//! randomness comes from madsim's seeded RNG; every fault applied is recorded as a [`NetEvent`].
//!
//! Node and link clogging, partitions and kills stay madsim's own (`NetSim::clog_*`, `Handle::kill`).

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use madsim::rand::Rng;

use super::event::{Direction, NetEvent};
use super::ConnectionId;

/// Which API keys a rule covers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiKeySelector {
    /// Every API key without a rule of its own.
    All,
    /// One API key (Kafka's numeric id).
    Key(i16),
}

/// Which way a rule applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum FaultDirection {
    /// Requests and responses.
    #[default]
    Both,
    /// Client-to-broker requests only.
    Requests,
    /// Broker-to-client responses only.
    Responses,
}

impl FaultDirection {
    fn covers(self, direction: Direction) -> bool {
        matches!(
            (self, direction),
            (FaultDirection::Both, _)
                | (FaultDirection::Requests, Direction::Request)
                | (FaultDirection::Responses, Direction::Response)
        )
    }
}

/// What may happen to a message of the selected API keys. Probabilities are in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct FaultRule {
    /// Requests, responses or both.
    pub direction: FaultDirection,
    /// Chance the message is lost.
    pub drop_probability: f64,
    /// Chance the message is delivered twice.
    pub duplicate_probability: f64,
    /// Chance the message is held for a delay drawn from `delay_min_ms..=delay_max_ms`.
    pub delay_probability: f64,
    /// Shortest added delay.
    pub delay_min_ms: u64,
    /// Longest added delay.
    pub delay_max_ms: u64,
    /// Chance the message is held up to `reorder_window_ms`, so that later messages overtake it.
    pub reorder_probability: f64,
    /// Longest hold for reordering.
    pub reorder_window_ms: u64,
}

impl FaultRule {
    /// A rule that drops every message it covers.
    pub fn drop_all(direction: FaultDirection) -> Self {
        FaultRule {
            direction,
            drop_probability: 1.0,
            ..FaultRule::default()
        }
    }

    /// A rule that duplicates every message it covers.
    pub fn duplicate_all(direction: FaultDirection) -> Self {
        FaultRule {
            direction,
            duplicate_probability: 1.0,
            ..FaultRule::default()
        }
    }
}

/// Each copy of a message to send, with the hold before sending it. Empty: the message is dropped.
pub type DeliveryPlan = Vec<u64>;

#[derive(Debug, Default)]
struct FaultState {
    rules: BTreeMap<ApiKeySelector, FaultRule>,
    close_delay_probability: f64,
    close_delay_ms: u64,
    events: Vec<NetEvent>,
    /// How many times each host crashed (its page cache and socket buffers lost with it).
    host_crashes: BTreeMap<IpAddr, u64>,
}

/// The shared fault controller and event log of one simulation: cloned into every node's transport,
/// configured at run time by the test or scenario.
#[derive(Clone, Debug, Default)]
pub struct NetFaults {
    state: Arc<Mutex<FaultState>>,
}

impl NetFaults {
    /// No faults, empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets (or replaces) the rule for some API keys.
    pub fn set_rule(&self, selector: ApiKeySelector, rule: FaultRule) {
        self.lock().rules.insert(selector, rule);
    }

    /// The host at `ip` crashed (a power loss, not a process exit): the frames it sent that have not
    /// been delivered yet die with its kernel. madsim's reliable channels retry a clogged link from the
    /// receiver's side, so without this a dead host's frames arrive when the link heals, like a
    /// BrokerHeartbeat that renews the session of a broker that died seconds earlier (cluster swarm
    /// seed 176: the controller then kept the dead leader in the ISR and elected it, with its log
    /// short of committed records, over the replicas that held them).
    pub fn host_crashed(&self, ip: IpAddr) {
        *self.lock().host_crashes.entry(ip).or_insert(0) += 1;
    }

    /// How many times the host at `ip` crashed so far ([`NetFaults::host_crashed`]); a connection
    /// remembers it when it opens and ends when it changes, delivering nothing more from that host.
    pub fn host_crash_count(&self, ip: IpAddr) -> u64 {
        self.lock().host_crashes.get(&ip).copied().unwrap_or(0)
    }

    /// Removes the rule for some API keys.
    pub fn clear_rule(&self, selector: ApiKeySelector) {
        self.lock().rules.remove(&selector);
    }

    /// Removes every rule and the close delay (the "heal" step before a liveness phase).
    pub fn heal(&self) {
        let mut state = self.lock();
        state.rules.clear();
        state.close_delay_probability = 0.0;
    }

    /// Makes connection closes reach the broker `delay_ms` late with the given chance.
    pub fn set_close_delay(&self, probability: f64, delay_ms: u64) {
        let mut state = self.lock();
        state.close_delay_probability = probability;
        state.close_delay_ms = delay_ms;
    }

    /// Every event recorded so far, in order.
    pub fn events(&self) -> Vec<NetEvent> {
        self.lock().events.clone()
    }

    /// Appends an event to the log.
    pub fn record(&self, event: NetEvent) {
        self.lock().events.push(event);
    }

    /// Decides what happens to one message and records the faults applied.
    pub fn plan_message(
        &self,
        connection: ConnectionId,
        direction: Direction,
        api_key: i16,
        correlation_id: i32,
    ) -> DeliveryPlan {
        let mut state = self.lock();
        let rule = state
            .rules
            .get(&ApiKeySelector::Key(api_key))
            .or_else(|| state.rules.get(&ApiKeySelector::All))
            .copied()
            .filter(|rule| rule.direction.covers(direction));
        let Some(rule) = rule else {
            return vec![0];
        };
        let at_ms = now_ms();
        let mut rng = madsim::rand::thread_rng();
        let event = |kind| NetEvent::Message {
            at_ms,
            connection,
            direction,
            api_key,
            correlation_id,
            fault: kind,
        };
        if chance(&mut rng, rule.drop_probability) {
            state.events.push(event(MessageFault::Dropped));
            return Vec::new();
        }
        let mut hold_ms = 0;
        if chance(&mut rng, rule.delay_probability) {
            let delay_ms =
                rng.gen_range(rule.delay_min_ms..=rule.delay_max_ms.max(rule.delay_min_ms));
            state.events.push(event(MessageFault::Delayed { delay_ms }));
            hold_ms += delay_ms;
        }
        if chance(&mut rng, rule.reorder_probability) {
            let held_ms = rng.gen_range(0..=rule.reorder_window_ms);
            state
                .events
                .push(event(MessageFault::Reordered { hold_ms: held_ms }));
            hold_ms += held_ms;
        }
        let mut plan = vec![hold_ms];
        if chance(&mut rng, rule.duplicate_probability) {
            state.events.push(event(MessageFault::Duplicated));
            plan.push(hold_ms);
        }
        plan
    }

    /// How late a connection close reaches the broker (0: on time); records the delay.
    pub fn plan_close(&self, connection: ConnectionId) -> u64 {
        let mut state = self.lock();
        let mut rng = madsim::rand::thread_rng();
        if !chance(&mut rng, state.close_delay_probability) {
            return 0;
        }
        let delay_ms = state.close_delay_ms;
        state.events.push(NetEvent::CloseDelayed {
            at_ms: now_ms(),
            connection,
            delay_ms,
        });
        delay_ms
    }

    fn lock(&self) -> MutexGuard<'_, FaultState> {
        // A poisoned lock means a test already panicked; keep the log readable for its report.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A fault applied to one message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageFault {
    /// Held before sending.
    Delayed {
        /// Added delay.
        delay_ms: u64,
    },
    /// Delivered twice.
    Duplicated,
    /// Lost.
    Dropped,
    /// Held so later messages overtake it.
    Reordered {
        /// Hold applied.
        hold_ms: u64,
    },
}

/// Virtual milliseconds since the simulation started.
pub fn now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

fn chance(rng: &mut impl Rng, probability: f64) -> bool {
    // No draw at all for disabled faults keeps unrelated runs' random streams unchanged.
    probability > 0.0 && rng.gen_bool(probability.min(1.0))
}
