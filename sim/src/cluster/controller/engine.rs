//! The controller engine: registrations, heartbeats and fencing, topic creation, leader election from the
//! ISR, AlterPartition, and the versioned metadata image.

use std::collections::{BTreeMap, VecDeque};

use crate::cluster::controller::config::ControllerConfig;
use crate::cluster::controller::image::{BrokerImage, MetadataImage, PartitionImage, TopicImage};
use crate::cluster::controller::trace::ControllerEvent;
use crate::cluster::{BrokerId, NO_LEADER};
use crate::ResponseError;

/// Topic ids are `TOPIC_ID_PREFIX << 64 | creation counter`: deterministic, never zero.
const TOPIC_ID_PREFIX: u128 = 0x5348_4152_4553_494d; // "SHARESIM"
/// Kafka's `Topic.MAX_NAME_LENGTH`.
const TOPIC_NAME_LENGTH_MAX: usize = 249;

/// A broker's registration request (BrokerRegistration).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BrokerRegistration {
    /// `node.id`.
    pub broker_id: BrokerId,
    /// A value that changes on every broker process start (Kafka's incarnation id).
    pub incarnation_id: u64,
    /// Advertised host.
    pub host: String,
    /// Advertised port.
    pub port: i32,
    /// `broker.rack`.
    pub rack: Option<String>,
}

/// A broker heartbeat (BrokerHeartbeat).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BrokerHeartbeat {
    /// `node.id`.
    pub broker_id: BrokerId,
    /// The epoch from registration.
    pub broker_epoch: i64,
    /// True while the broker is not ready to lead (it stays or becomes fenced).
    pub want_fence: bool,
}

/// The heartbeat answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeartbeatReply {
    /// Whether the broker is fenced after this heartbeat.
    pub is_fenced: bool,
    /// The metadata version the broker should catch up to.
    pub metadata_version: u64,
}

/// An AlterPartition request for one partition, sent by its leader.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AlterPartitionRequest {
    /// The requesting broker (must be the leader).
    pub broker_id: BrokerId,
    /// The requester's broker epoch.
    pub broker_epoch: i64,
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
    /// The leader epoch the leader believes current.
    pub leader_epoch: i32,
    /// The partition epoch the leader believes current (the update version).
    pub partition_epoch: i32,
    /// The proposed ISR.
    pub new_isr: Vec<BrokerId>,
}

/// A leadership move's result ([`Controller::handle_move_leader`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeaderMove {
    /// The leader before the move ([`NO_LEADER`] if there was none).
    pub old_leader: BrokerId,
    /// The partition after the move.
    pub partition: PartitionImage,
}

/// The KRaft quorum controller's decisions as a sans-IO engine, single node.
///
/// The controller itself is **not replicated** in this version: there is one controller and it does not
/// fail (no Raft log, no controller failover). Its state is the [`MetadataImage`], whose `version` plays
/// the role of the metadata log offset.
///
/// Method families (quinn style):
/// - getters: [`Controller::image`], [`Controller::metadata_since`], [`Controller::config`];
/// - inputs: `handle_register_broker`, `handle_heartbeat`, `handle_create_topic`,
///   `handle_alter_partition`, `handle_timeout`, each with `now_ms`;
/// - outputs: [`Controller::poll_event`] (trace events, in decision order) and
///   [`Controller::poll_timeout`] (the next session expiry).
///
/// `now_ms` must never go backwards.
#[derive(Clone, Debug)]
pub struct Controller {
    config: ControllerConfig,
    image: MetadataImage,
    /// Per broker: (incarnation id, session deadline). Fenced brokers have no deadline.
    sessions: BTreeMap<BrokerId, (u64, Option<u64>)>,
    next_broker_epoch: i64,
    topics_created: u64,
    events: VecDeque<ControllerEvent>,
    last_now_ms: u64,
}

impl Controller {
    /// A controller with no brokers and no topics, at metadata version 0.
    pub fn new(config: ControllerConfig) -> Self {
        Controller {
            config,
            image: MetadataImage::default(),
            sessions: BTreeMap::new(),
            next_broker_epoch: 1,
            topics_created: 0,
            events: VecDeque::new(),
            last_now_ms: 0,
        }
    }

    // (A) getters

    /// The configuration.
    pub fn config(&self) -> &ControllerConfig {
        &self.config
    }

    /// The current metadata image.
    pub fn image(&self) -> &MetadataImage {
        &self.image
    }

    /// The image if it is newer than `known_version` (a broker's metadata fetch), else `None`.
    pub fn metadata_since(&self, known_version: u64) -> Option<&MetadataImage> {
        (self.image.version > known_version).then_some(&self.image)
    }

    // (B) inputs

    /// BrokerRegistration. A new registration (or a new incarnation whose old session has expired)
    /// gets a fresh broker epoch and starts fenced, as in KRaft; a retry by the same incarnation gets
    /// its epoch back. A new incarnation while the old session is live is DUPLICATE_BROKER_REGISTRATION.
    pub fn handle_register_broker(
        &mut self,
        now_ms: u64,
        request: BrokerRegistration,
    ) -> Result<i64, ResponseError> {
        self.advance(now_ms);
        if request.broker_id < 0 {
            return Err(ResponseError::InvalidRequest);
        }
        if let (Some(&(incarnation, deadline)), Some(existing)) = (
            self.sessions.get(&request.broker_id),
            self.image.brokers.get(&request.broker_id),
        ) {
            if incarnation == request.incarnation_id {
                return Ok(existing.broker_epoch);
            }
            if deadline.is_some() {
                return Err(ResponseError::DuplicateBrokerRegistration);
            }
        }
        let broker_epoch = self.next_broker_epoch;
        self.next_broker_epoch += 1;
        self.image.brokers.insert(
            request.broker_id,
            BrokerImage {
                broker_id: request.broker_id,
                host: request.host,
                port: request.port,
                rack: request.rack,
                broker_epoch,
                fenced: true,
            },
        );
        self.sessions
            .insert(request.broker_id, (request.incarnation_id, None));
        self.events.push_back(ControllerEvent::BrokerRegistered {
            now_ms,
            broker_id: request.broker_id,
            broker_epoch,
        });
        self.bump_version();
        Ok(broker_epoch)
    }

    /// BrokerHeartbeat: renews the session; unfences the broker unless it wants to stay fenced (Kafka also
    /// waits until the broker has caught up with the metadata log; brokers here read the image directly,
    /// so that condition is always met); fences it if it asks to be.
    pub fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        heartbeat: BrokerHeartbeat,
    ) -> Result<HeartbeatReply, ResponseError> {
        self.advance(now_ms);
        let Some(broker) = self.image.brokers.get(&heartbeat.broker_id) else {
            return Err(ResponseError::BrokerIdNotRegistered);
        };
        if broker.broker_epoch != heartbeat.broker_epoch {
            return Err(ResponseError::StaleBrokerEpoch);
        }
        let fenced = broker.fenced;
        if heartbeat.want_fence {
            if !fenced {
                self.fence(now_ms, heartbeat.broker_id);
                self.bump_version();
            }
        } else {
            if let Some(session) = self.sessions.get_mut(&heartbeat.broker_id) {
                session.1 = Some(now_ms.saturating_add(self.config.broker_session_timeout_ms));
            }
            if fenced {
                self.unfence(now_ms, heartbeat.broker_id);
                self.bump_version();
            }
        }
        Ok(HeartbeatReply {
            is_fenced: self.image.brokers[&heartbeat.broker_id].fenced,
            metadata_version: self.image.version,
        })
    }

    /// CreateTopics for one topic: validates the name, partition count and replication factor, assigns
    /// replicas round-robin over the live brokers and makes the first replica leader with the full ISR.
    ///
    /// Placement: replica `j` of partition `p` is `live[(start + p + j) % live.len()]` with `start` the
    /// topic creation counter. Kafka's `StripedReplicaPlacer` starts at a random broker and is rack-aware;
    /// this keeps its round-robin spread, deterministically.
    pub fn handle_create_topic(
        &mut self,
        now_ms: u64,
        name: &str,
        partitions: i32,
        replication_factor: i16,
    ) -> Result<u128, ResponseError> {
        self.advance(now_ms);
        if !topic_name_is_valid(name) {
            return Err(ResponseError::InvalidTopicException);
        }
        if self.image.topics.contains_key(name) {
            return Err(ResponseError::TopicAlreadyExists);
        }
        if partitions < 1 {
            return Err(ResponseError::InvalidPartitions);
        }
        let live: Vec<BrokerId> = self
            .image
            .live_brokers()
            .iter()
            .map(|b| b.broker_id)
            .collect();
        if replication_factor < 1 || replication_factor as usize > live.len() {
            return Err(ResponseError::InvalidReplicationFactor);
        }
        let start = usize::try_from(self.topics_created % live.len() as u64).unwrap_or(0);
        self.topics_created += 1;
        let topic_id = (TOPIC_ID_PREFIX << 64) | u128::from(self.topics_created);
        let partition_images = (0..partitions)
            .map(|p| {
                let replicas: Vec<BrokerId> = (0..replication_factor as usize)
                    .map(|j| live[(start + p as usize + j) % live.len()])
                    .collect();
                PartitionImage {
                    partition: p,
                    leader: replicas[0],
                    isr: replicas.clone(),
                    replicas,
                    leader_epoch: 0,
                    partition_epoch: 0,
                }
            })
            .collect();
        self.image.topics.insert(
            name.to_string(),
            TopicImage {
                name: name.to_string(),
                topic_id,
                partitions: partition_images,
            },
        );
        self.events.push_back(ControllerEvent::TopicCreated {
            now_ms,
            topic: name.to_string(),
            topic_id,
            partitions,
            replication_factor,
        });
        self.bump_version();
        Ok(topic_id)
    }

    /// AlterPartition for one partition, checked in Kafka's order (`ReplicationControlManager`):
    /// STALE_BROKER_EPOCH, UNKNOWN_TOPIC_OR_PARTITION, FENCED_LEADER_EPOCH (leader epoch differs),
    /// INVALID_REQUEST (requester not the leader; ISR with duplicates, outside the replicas or without the
    /// leader), INVALID_UPDATE_VERSION (partition epoch differs), INELIGIBLE_REPLICA (a fenced broker in
    /// the new ISR). On success the partition epoch grows by one and the new state is returned.
    pub fn handle_alter_partition(
        &mut self,
        now_ms: u64,
        request: &AlterPartitionRequest,
    ) -> Result<PartitionImage, ResponseError> {
        self.advance(now_ms);
        match self.image.brokers.get(&request.broker_id) {
            Some(b) if b.broker_epoch == request.broker_epoch => {}
            _ => return Err(ResponseError::StaleBrokerEpoch),
        }
        let Some(current) = self
            .image
            .partition(&request.topic, request.partition)
            .cloned()
        else {
            return Err(ResponseError::UnknownTopicOrPartition);
        };
        if request.leader_epoch != current.leader_epoch {
            return Err(ResponseError::FencedLeaderEpoch);
        }
        if request.broker_id != current.leader {
            return Err(ResponseError::InvalidRequest);
        }
        if request.partition_epoch != current.partition_epoch {
            return Err(ResponseError::InvalidUpdateVersion);
        }
        let mut seen = Vec::with_capacity(request.new_isr.len());
        for &replica in &request.new_isr {
            if seen.contains(&replica) || !current.replicas.contains(&replica) {
                return Err(ResponseError::InvalidRequest);
            }
            seen.push(replica);
        }
        if !request.new_isr.contains(&current.leader) {
            return Err(ResponseError::InvalidRequest);
        }
        if request.new_isr.iter().any(|&r| !self.image.is_live(r)) {
            return Err(ResponseError::IneligibleReplica);
        }
        // Keep the ISR in replica order so equal sets compare equal.
        let new_isr: Vec<BrokerId> = current
            .replicas
            .iter()
            .copied()
            .filter(|r| request.new_isr.contains(r))
            .collect();
        if new_isr == current.isr {
            return Ok(current);
        }
        let updated = self.set_isr(now_ms, &request.topic, request.partition, new_isr);
        self.bump_version();
        Ok(updated)
    }

    /// Moves a partition's leadership on request (the `leadership_bounce` and `zombie_leader` levers):
    /// `target`, or when `None` the next live ISR replica after the current leader in replica order.
    /// Kafka moves a leader with a reassignment that puts the target first and then
    /// ElectLeaders(PREFERRED); the simulation names the target directly and keeps the replica order.
    /// Errors, as Kafka's election answers them: UNKNOWN_TOPIC_OR_PARTITION, ELECTION_NOT_NEEDED (the
    /// target already leads), PREFERRED_LEADER_NOT_AVAILABLE (the target is not a live ISR replica),
    /// ELIGIBLE_LEADERS_NOT_AVAILABLE (no other live ISR replica). On success the leader epoch and the
    /// partition epoch grow by one, as for any election; the ISR is unchanged (the old leader follows).
    pub fn handle_move_leader(
        &mut self,
        now_ms: u64,
        topic: &str,
        partition: i32,
        target: Option<BrokerId>,
    ) -> Result<LeaderMove, ResponseError> {
        self.advance(now_ms);
        let Some(current) = self.image.partition(topic, partition).cloned() else {
            return Err(ResponseError::UnknownTopicOrPartition);
        };
        let eligible = |r: BrokerId| current.isr.contains(&r) && self.image.is_live(r);
        let new_leader = match target {
            Some(target) if target == current.leader => {
                return Err(ResponseError::ElectionNotNeeded)
            }
            Some(target) if !current.replicas.contains(&target) || !eligible(target) => {
                return Err(ResponseError::PreferredLeaderNotAvailable)
            }
            Some(target) => target,
            None => {
                // The replicas after the current leader first, wrapping around.
                let at = current
                    .replicas
                    .iter()
                    .position(|&r| r == current.leader)
                    .map_or(0, |i| i + 1);
                let len = current.replicas.len();
                (0..len)
                    .map(|i| current.replicas[(at + i) % len])
                    .find(|&r| r != current.leader && eligible(r))
                    .ok_or(ResponseError::EligibleLeadersNotAvailable)?
            }
        };
        let p = self.partition_mut(topic, partition);
        p.leader = new_leader;
        p.leader_epoch += 1;
        p.partition_epoch += 1;
        let moved = p.clone();
        self.events.push_back(ControllerEvent::LeaderElected {
            now_ms,
            topic: topic.to_string(),
            partition,
            old_leader: current.leader,
            new_leader,
            leader_epoch: moved.leader_epoch,
            partition_epoch: moved.partition_epoch,
        });
        self.bump_version();
        Ok(LeaderMove {
            old_leader: current.leader,
            partition: moved,
        })
    }

    /// Fences every broker whose session expired at `now_ms`, in broker id order.
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        let expired: Vec<BrokerId> = self
            .sessions
            .iter()
            .filter(|(_, &(_, deadline))| deadline.is_some_and(|d| d <= now_ms))
            .map(|(&id, _)| id)
            .collect();
        for broker_id in expired {
            self.fence(now_ms, broker_id);
            self.bump_version();
        }
    }

    // (C) outputs

    /// The next trace event, oldest first.
    pub fn poll_event(&mut self) -> Option<ControllerEvent> {
        self.events.pop_front()
    }

    /// When [`Controller::handle_timeout`] must next run: the earliest live session's expiry.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.sessions
            .values()
            .filter_map(|&(_, deadline)| deadline)
            .min()
    }

    // internals

    fn advance(&mut self, now_ms: u64) {
        debug_assert!(now_ms >= self.last_now_ms, "time went backwards");
        self.last_now_ms = self.last_now_ms.max(now_ms);
    }

    fn bump_version(&mut self) {
        self.image.version += 1;
        self.check_invariants();
    }

    /// Fences a broker: it leaves every ISR (unless it is the last member, which KRaft keeps so that the
    /// partition can come back with it) and loses every leadership; a new leader is elected from the ISR.
    fn fence(&mut self, now_ms: u64, broker_id: BrokerId) {
        let Some(broker) = self.image.brokers.get_mut(&broker_id) else {
            return;
        };
        broker.fenced = true;
        let broker_epoch = broker.broker_epoch;
        if let Some(session) = self.sessions.get_mut(&broker_id) {
            session.1 = None;
        }
        self.events.push_back(ControllerEvent::BrokerFenced {
            now_ms,
            broker_id,
            broker_epoch,
        });
        for (topic, partition) in
            self.partitions_where(|p| p.isr.contains(&broker_id) || p.leader == broker_id)
        {
            let current = self
                .image
                .partition(&topic, partition)
                .cloned()
                .unwrap_or_else(|| unreachable!());
            let shrunk: Vec<BrokerId> = current
                .isr
                .iter()
                .copied()
                .filter(|&r| r != broker_id)
                .collect();
            if !shrunk.is_empty() {
                self.set_isr(now_ms, &topic, partition, shrunk);
            }
            self.maybe_elect(now_ms, &topic, partition);
        }
    }

    /// Unfences a broker and gives it the leadership of leaderless partitions whose ISR holds it.
    fn unfence(&mut self, now_ms: u64, broker_id: BrokerId) {
        let Some(broker) = self.image.brokers.get_mut(&broker_id) else {
            return;
        };
        broker.fenced = false;
        let broker_epoch = broker.broker_epoch;
        self.events.push_back(ControllerEvent::BrokerUnfenced {
            now_ms,
            broker_id,
            broker_epoch,
        });
        for (topic, partition) in
            self.partitions_where(|p| p.leader == NO_LEADER && p.isr.contains(&broker_id))
        {
            self.maybe_elect(now_ms, &topic, partition);
        }
    }

    fn partitions_where(&self, filter: impl Fn(&PartitionImage) -> bool) -> Vec<(String, i32)> {
        self.image
            .topics
            .values()
            .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
            .filter(|(_, p)| filter(p))
            .map(|(t, p)| (t.name.clone(), p.partition))
            .collect()
    }

    fn partition_mut(&mut self, topic: &str, partition: i32) -> &mut PartitionImage {
        let topic = self
            .image
            .topics
            .get_mut(topic)
            .unwrap_or_else(|| unreachable!());
        &mut topic.partitions[partition as usize]
    }

    fn set_isr(
        &mut self,
        now_ms: u64,
        topic: &str,
        partition: i32,
        new_isr: Vec<BrokerId>,
    ) -> PartitionImage {
        let p = self.partition_mut(topic, partition);
        let old_isr = std::mem::replace(&mut p.isr, new_isr);
        p.partition_epoch += 1;
        let updated = p.clone();
        self.events.push_back(ControllerEvent::IsrChanged {
            now_ms,
            topic: topic.to_string(),
            partition,
            old_isr,
            new_isr: updated.isr.clone(),
            leader_epoch: updated.leader_epoch,
            partition_epoch: updated.partition_epoch,
        });
        updated
    }

    /// Kafka's `PartitionChangeBuilder.electLeader` with unclean election off: keep the leader while it is
    /// live and in the ISR, else the first replica (in assignment order) that is in the ISR and live, else
    /// no leader. A change bumps the leader epoch and the partition epoch.
    fn maybe_elect(&mut self, now_ms: u64, topic: &str, partition: i32) {
        let current = self
            .image
            .partition(topic, partition)
            .cloned()
            .unwrap_or_else(|| unreachable!());
        let acceptable = |r: BrokerId| current.isr.contains(&r) && self.image.is_live(r);
        if current.leader != NO_LEADER && acceptable(current.leader) {
            return;
        }
        let new_leader = current
            .replicas
            .iter()
            .copied()
            .find(|&r| acceptable(r))
            .unwrap_or(NO_LEADER);
        if new_leader == current.leader {
            return;
        }
        let p = self.partition_mut(topic, partition);
        p.leader = new_leader;
        p.leader_epoch += 1;
        p.partition_epoch += 1;
        let (leader_epoch, partition_epoch) = (p.leader_epoch, p.partition_epoch);
        self.events.push_back(ControllerEvent::LeaderElected {
            now_ms,
            topic: topic.to_string(),
            partition,
            old_leader: current.leader,
            new_leader,
            leader_epoch,
            partition_epoch,
        });
    }

    /// Our invariants: every leader is live and in its ISR; every ISR is a non-empty subset of its replicas.
    fn check_invariants(&self) {
        if cfg!(debug_assertions) {
            for topic in self.image.topics.values() {
                for p in &topic.partitions {
                    assert!(
                        !p.isr.is_empty(),
                        "empty ISR in {}-{}",
                        topic.name,
                        p.partition
                    );
                    assert!(p.isr.iter().all(|r| p.replicas.contains(r)));
                    if p.leader != NO_LEADER {
                        assert!(p.isr.contains(&p.leader), "leader outside ISR");
                        assert!(self.image.is_live(p.leader), "fenced leader");
                    }
                }
            }
        }
    }
}

/// Kafka's `Topic.validate`: 1..=249 characters of `[a-zA-Z0-9._-]`, not `.` or `..`.
fn topic_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= TOPIC_NAME_LENGTH_MAX
        && name != "."
        && name != ".."
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-')
}
