//! The broker's life with the controller: registration, heartbeats, the metadata pull, and applying a
//! new metadata image (becoming leader or follower of each partition, as Kafka's `ReplicaManager.
//! applyDelta` does).

use kafka_protocol::messages::{RequestKind, ResponseKind};

use super::controller_wire::{self, check};
use super::output::CallTarget;
use super::service::{LeadershipChange, LeadershipChangeKind};
use super::state::{BrokerState, CallPurpose};
use super::trace::ClusterEvent;
use crate::cluster::controller::MetadataImage;
use crate::cluster::replication::LeaderReplicas;
use crate::cluster::NO_LEADER;
use crate::coordinator::share::TopicId;
use crate::log::TopicPartition;
use crate::net::TransportError;
use crate::ResponseError;

impl BrokerState {
    /// Sends what is due: the registration, a heartbeat, a metadata pull.
    pub(super) fn lifecycle_tick(&mut self) {
        let now_ms = self.now_ms;
        let timeout_ms = self.config.request_timeout_ms;
        let Some(broker_epoch) = self.lifecycle.broker_epoch else {
            if !self.lifecycle.registration_in_flight
                && now_ms >= self.lifecycle.next_registration_ms
            {
                let request = controller_wire::registration_request(&self.config);
                if self
                    .call(
                        CallPurpose::Registration,
                        CallTarget::Controller,
                        controller_wire::REGISTRATION_VERSION,
                        RequestKind::BrokerRegistration(request),
                        timeout_ms,
                    )
                    .is_ok()
                {
                    self.lifecycle.registration_in_flight = true;
                }
            }
            return;
        };
        if !self.lifecycle.heartbeat_in_flight && now_ms >= self.lifecycle.next_heartbeat_ms {
            let request = controller_wire::heartbeat_request(
                self.config.broker_id,
                broker_epoch,
                self.image.version,
            );
            // A heartbeat answered later than the session timeout is useless: give up at the interval.
            let heartbeat_timeout_ms = self.config.heartbeat_interval_ms.max(1);
            if self
                .call(
                    CallPurpose::Heartbeat,
                    CallTarget::Controller,
                    controller_wire::HEARTBEAT_VERSION,
                    RequestKind::BrokerHeartbeat(request),
                    heartbeat_timeout_ms,
                )
                .is_ok()
            {
                self.lifecycle.heartbeat_in_flight = true;
                self.lifecycle.next_heartbeat_ms = now_ms + self.config.heartbeat_interval_ms;
            }
        }
        if self.lifecycle.metadata_wanted && !self.lifecycle.metadata_in_flight {
            let sent = self.call(
                CallPurpose::MetadataPull,
                CallTarget::Controller,
                controller_wire::METADATA_PULL_VERSION,
                RequestKind::Metadata(controller_wire::metadata_pull_request()),
                timeout_ms,
            );
            if sent.is_ok() {
                self.lifecycle.metadata_in_flight = true;
                self.lifecycle.metadata_wanted = false;
            }
        }
    }

    /// When [`BrokerState::lifecycle_tick`] must run next.
    pub(super) fn lifecycle_timeout(&self) -> Option<u64> {
        if self.lifecycle.broker_epoch.is_none() {
            return (!self.lifecycle.registration_in_flight)
                .then_some(self.lifecycle.next_registration_ms);
        }
        let heartbeat =
            (!self.lifecycle.heartbeat_in_flight).then_some(self.lifecycle.next_heartbeat_ms);
        let metadata = (self.lifecycle.metadata_wanted && !self.lifecycle.metadata_in_flight)
            .then_some(self.now_ms);
        heartbeat.into_iter().chain(metadata).min()
    }

    pub(super) fn handle_registration_result(
        &mut self,
        result: Result<ResponseKind, TransportError>,
    ) {
        self.lifecycle.registration_in_flight = false;
        let epoch = match result {
            Ok(ResponseKind::BrokerRegistration(r)) => check(r.error_code).map(|()| r.broker_epoch),
            _ => Err(ResponseError::RequestTimedOut),
        };
        match epoch {
            Ok(broker_epoch) => {
                self.lifecycle.broker_epoch = Some(broker_epoch);
                self.lifecycle.next_heartbeat_ms = self.now_ms;
                self.lifecycle.metadata_wanted = true;
            }
            Err(_) => {
                // DUPLICATE_BROKER_REGISTRATION: our previous incarnation's session is still live; retry
                // until it expires, as Kafka's BrokerLifecycleManager does.
                self.lifecycle.next_registration_ms =
                    self.now_ms + self.config.retry_backoff_ms.max(1);
            }
        }
    }

    pub(super) fn handle_heartbeat_result(&mut self, result: Result<ResponseKind, TransportError>) {
        self.lifecycle.heartbeat_in_flight = false;
        let Ok(ResponseKind::BrokerHeartbeat(response)) = result else {
            return;
        };
        match check(response.error_code) {
            Ok(()) => {
                if !response.is_caught_up {
                    self.lifecycle.metadata_wanted = true;
                }
            }
            Err(ResponseError::StaleBrokerEpoch | ResponseError::BrokerIdNotRegistered) => {
                // Fenced for good (our session expired and we re-registered elsewhere): register again.
                self.lifecycle.broker_epoch = None;
                self.lifecycle.next_registration_ms = self.now_ms;
            }
            Err(_) => {}
        }
    }

    pub(super) fn handle_metadata_result(&mut self, result: Result<ResponseKind, TransportError>) {
        self.lifecycle.metadata_in_flight = false;
        let image = match result {
            Ok(ResponseKind::Metadata(response)) => controller_wire::image_from_metadata(&response),
            _ => None,
        };
        match image {
            Some(image) => self.apply_image(image),
            None => self.lifecycle.metadata_wanted = true,
        }
    }

    /// A newer metadata image: become leader or follower of every partition this broker hosts.
    pub(super) fn apply_image(&mut self, image: MetadataImage) {
        if image.version <= self.image.version {
            return;
        }
        let now_ms = self.now_ms;
        let me = self.config.broker_id;
        self.image = image;
        self.topic_names = self
            .image
            .topics
            .values()
            .map(|t| (t.topic_id, t.name.clone()))
            .collect();
        self.broker_addrs = self
            .image
            .brokers
            .values()
            .filter_map(|b| {
                format!("{}:{}", b.host, b.port)
                    .parse()
                    .ok()
                    .map(|addr| (b.broker_id, addr))
            })
            .collect();
        let hosted: Vec<(
            TopicPartition,
            u128,
            crate::cluster::controller::PartitionImage,
        )> = self
            .image
            .topics
            .values()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .filter(|p| p.replicas.contains(&me))
                    .map(move |p| {
                        (
                            TopicPartition::new(t.name.clone(), p.partition),
                            t.topic_id,
                            p.clone(),
                        )
                    })
            })
            .collect();
        for (tp, topic_id, state) in hosted {
            self.store.create(tp.clone(), self.config.log);
            let led_epoch = self.leaders.get(&tp).map(|l| l.leader_epoch());
            if let Some(epoch) = led_epoch {
                let still_leading = self
                    .leaders
                    .get_mut(&tp)
                    .is_some_and(|l| l.handle_partition_update(now_ms, &state));
                self.drain_leader(&tp);
                if still_leading {
                    continue;
                }
                self.leaders.remove(&tp);
                self.trace(ClusterEvent::LostLeadership {
                    topic: tp.topic.clone(),
                    topic_id: TopicId(topic_id),
                    partition: tp.partition,
                    leader_epoch: epoch,
                    new_leader: state.leader,
                });
                self.leadership_changes.push(LeadershipChange {
                    partition: tp.clone(),
                    topic_id,
                    kind: LeadershipChangeKind::LostLeadership {
                        leader_epoch: epoch,
                        new_leader: state.leader,
                        new_leader_epoch: state.leader_epoch,
                    },
                });
                self.fetch_recheck = true;
            }
            if state.leader == me {
                self.become_leader(&tp, topic_id, &state);
            }
        }
        self.partition_backoff.clear();
    }

    fn become_leader(
        &mut self,
        tp: &TopicPartition,
        topic_id: u128,
        state: &crate::cluster::controller::PartitionImage,
    ) {
        let Some(broker_epoch) = self.lifecycle.broker_epoch else {
            return;
        };
        let Some((log_end_offset, high_watermark)) = self.store.with_log(tp, |log| {
            if log
                .epoch_cache()
                .latest_epoch()
                .is_none_or(|e| e < state.leader_epoch)
            {
                log.assign_leader_epoch(state.leader_epoch);
            }
            (log.log_end_offset(), log.high_watermark())
        }) else {
            return;
        };
        let leader = LeaderReplicas::become_leader(
            self.now_ms,
            self.config.replication,
            self.config.broker_id,
            broker_epoch,
            &tp.topic,
            state,
            log_end_offset,
            high_watermark,
        );
        self.leaders.insert(tp.clone(), leader);
        self.trace(ClusterEvent::BecameLeader {
            topic: tp.topic.clone(),
            topic_id: TopicId(topic_id),
            partition: tp.partition,
            leader_epoch: state.leader_epoch,
            log_end_offset,
        });
        self.leadership_changes.push(LeadershipChange {
            partition: tp.clone(),
            topic_id,
            kind: LeadershipChangeKind::BecameLeader {
                leader_epoch: state.leader_epoch,
            },
        });
        self.drain_leader(tp);
    }

    pub(super) fn handle_alter_partition_result(
        &mut self,
        partition: &TopicPartition,
        leader_epoch: i32,
        result: Result<ResponseKind, TransportError>,
    ) {
        let replicas = self
            .image
            .partition(&partition.topic, partition.partition)
            .map(|p| p.replicas.clone())
            .unwrap_or_default();
        let outcome = match result {
            Ok(ResponseKind::AlterPartition(r)) => {
                controller_wire::alter_partition_result(&r, partition.partition, &replicas)
            }
            _ => Err(ResponseError::RequestTimedOut),
        };
        if matches!(
            outcome,
            Err(ResponseError::InvalidUpdateVersion | ResponseError::FencedLeaderEpoch)
        ) {
            // Our partition state is stale: catch up with the controller.
            self.lifecycle.metadata_wanted = true;
        }
        let now_ms = self.now_ms;
        let Some(leader) = self.leaders.get_mut(partition) else {
            return;
        };
        if leader.leader_epoch() != leader_epoch {
            return;
        }
        leader.handle_alter_partition_response(now_ms, outcome);
        self.drain_leader(partition);
    }

    /// Whether `leader` is a real broker to fetch from.
    pub(super) fn has_leader(leader: i32) -> bool {
        leader != NO_LEADER
    }
}
