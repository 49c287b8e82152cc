//! The group coordinator's share-group engine (Kafka's `GroupMetadataManager` for share groups): membership
//! by ShareGroupHeartbeat, session timeouts, the simple assignor, share-partition initialization, and
//! (in `admin.rs`) the offset admin APIs. Sans-IO: time comes in as `now_ms`, work goes out as effects.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

use super::assignor::{assign, assign_skipping_last_member, AssignorMember};
use super::config::{GroupCoordinatorConfig, ShareGroupConfig};
use super::effects::{
    EpochBumpCause, GroupEffect, GroupTraceEvent, InitializePartition, MemberRemovalCause,
};
use super::heartbeat::{
    assignment_by_topic, validate_heartbeat, ShareGroupHeartbeatRequest,
    ShareGroupHeartbeatResponse, LEAVE_GROUP_MEMBER_EPOCH,
};
use super::records::{
    GroupCoordinatorRecord, InitializingTopicInfo, ShareGroupCurrentMemberAssignmentValue,
    ShareGroupMemberMetadataValue, ShareGroupMetadataValue, ShareGroupTargetAssignmentMemberValue,
    TopicPartitionsInfo,
};
use super::state::{replay_record, ShareGroup};
use crate::coordinator::share::{TopicId, TopicIdPartition};
use crate::share::MemberId;
use crate::ResponseError;

/// One topic of the cluster metadata the coordinator sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TopicMetadata {
    /// The topic id.
    pub topic_id: TopicId,
    /// How many partitions it has.
    pub partition_count: i32,
}

/// The share-group part of one group coordinator shard.
///
/// Methods come in the quinn families:
/// * getters: [`group`](Self::group), [`groups`](Self::groups), [`config`](Self::config),
///   [`session_deadline_ms`](Self::session_deadline_ms), ...;
/// * inputs: [`handle_heartbeat`](Self::handle_heartbeat),
///   [`handle_metadata_update`](Self::handle_metadata_update),
///   [`handle_initialize_result`](Self::handle_initialize_result),
///   [`handle_delete_state_result`](Self::handle_delete_state_result), the admin APIs
///   (`handle_alter_offsets`, `handle_delete_offsets`, `handle_delete_groups`, `describe_*`),
///   [`set_group_config`](Self::set_group_config), and [`handle_timeout`](Self::handle_timeout);
/// * outputs: [`poll_effect`](Self::poll_effect) (records to append, persister requests, trace events)
///   and [`poll_timeout`](Self::poll_timeout) (the next session deadline).
///
/// Every state change is made by emitting records and replaying them at once (Kafka's coordinator
/// runtime does the same before the append commits); [`load`](Self::load) rebuilds the state from the
/// log after a coordinator failover. Session deadlines are not records: on load every member's session
/// timer restarts at `now_ms`, as Kafka's `onLoaded` reschedules them. Drain effects after every input, in
/// order. `now_ms` never goes backwards.
#[derive(Clone, Debug)]
pub struct ShareGroupCoordinator {
    pub(super) config: GroupCoordinatorConfig,
    pub(super) groups: BTreeMap<String, ShareGroup>,
    pub(super) group_configs: BTreeMap<String, ShareGroupConfig>,
    /// Topic name → metadata: the latest metadata image.
    pub(super) topics: BTreeMap<String, TopicMetadata>,
    /// (group, member) → when its session expires.
    session_deadlines_ms: BTreeMap<(String, MemberId), u64>,
    /// (group, partition) → do not retry initialization before this time (after a failed attempt).
    pub(super) initialize_retry_not_before_ms: BTreeMap<(String, TopicIdPartition), u64>,
    effects: VecDeque<GroupEffect>,
    now_ms: u64,
}

impl ShareGroupCoordinator {
    /// An empty coordinator.
    pub fn new(config: GroupCoordinatorConfig) -> ShareGroupCoordinator {
        ShareGroupCoordinator {
            config,
            groups: BTreeMap::new(),
            group_configs: BTreeMap::new(),
            topics: BTreeMap::new(),
            session_deadlines_ms: BTreeMap::new(),
            initialize_retry_not_before_ms: BTreeMap::new(),
            effects: VecDeque::new(),
            now_ms: 0,
        }
    }

    /// A coordinator rebuilt from its log after a failover: replays `records` in order and starts every
    /// member's session timer at `now_ms`.
    pub fn load<'a>(
        now_ms: u64,
        config: GroupCoordinatorConfig,
        records: impl IntoIterator<Item = &'a GroupCoordinatorRecord>,
    ) -> ShareGroupCoordinator {
        let mut coordinator = ShareGroupCoordinator::new(config);
        coordinator.now_ms = now_ms;
        for record in records {
            replay_record(&mut coordinator.groups, record);
        }
        let members: Vec<(String, MemberId)> = coordinator
            .groups
            .values()
            .flat_map(|group| {
                group
                    .members
                    .keys()
                    .map(|m| (group.group_id.clone(), m.clone()))
            })
            .collect();
        for (group_id, member_id) in members {
            coordinator.arm_session(&group_id, member_id);
        }
        coordinator
    }

    // ---- getters -------------------------------------------------------------------------------------

    /// The broker config.
    pub fn config(&self) -> &GroupCoordinatorConfig {
        &self.config
    }

    /// One group.
    pub fn group(&self, group_id: &str) -> Option<&ShareGroup> {
        self.groups.get(group_id)
    }

    /// Every group, by id.
    pub fn groups(&self) -> &BTreeMap<String, ShareGroup> {
        &self.groups
    }

    /// The overrides of one group (empty when none were set).
    pub fn group_config(&self, group_id: &str) -> ShareGroupConfig {
        self.group_configs
            .get(group_id)
            .cloned()
            .unwrap_or_default()
    }

    /// When a member's session expires, if it is a member.
    pub fn session_deadline_ms(&self, group_id: &str, member_id: &MemberId) -> Option<u64> {
        self.session_deadlines_ms
            .get(&(group_id.to_string(), member_id.clone()))
            .copied()
    }

    // ---- inputs --------------------------------------------------------------------------------------

    /// Sets a group's config overrides (IncrementalAlterConfigs or a scenario file, after
    /// [`ShareGroupConfig::set`] checked them). They apply from the next heartbeat on.
    pub fn set_group_config(&mut self, group_id: &str, config: ShareGroupConfig) {
        self.group_configs.insert(group_id.to_string(), config);
    }

    /// The latest topic metadata (a full image: topic name → id and partition count). Changes reach the
    /// groups at their next heartbeat, through the metadata hash (spec 4.1).
    pub fn handle_metadata_update(&mut self, now_ms: u64, topics: BTreeMap<String, TopicMetadata>) {
        self.advance(now_ms);
        self.topics = topics;
    }

    /// ShareGroupHeartbeat (spec 4.1). The response goes out once the appended records commit.
    pub fn handle_heartbeat(
        &mut self,
        now_ms: u64,
        request: &ShareGroupHeartbeatRequest,
    ) -> ShareGroupHeartbeatResponse {
        self.advance(now_ms);
        if let Err((error, message)) = validate_heartbeat(request) {
            return ShareGroupHeartbeatResponse::error(error, message);
        }
        let response = if request.member_epoch == LEAVE_GROUP_MEMBER_EPOCH {
            self.leave(request)
        } else {
            self.join_or_heartbeat(request)
        };
        self.check_invariants();
        response
    }

    /// The answer to an `InitializeShareGroupState` this engine asked for: per partition, `None` on
    /// success. Successes become initialized (and bump the group epoch so the next heartbeat assigns
    /// them); failures stop initializing and are retried after `group.share.initialize.retry.interval.ms`
    /// (spec 5.1). Answers for partitions no longer initializing are ignored.
    pub fn handle_initialize_result(
        &mut self,
        now_ms: u64,
        group_id: &str,
        results: &[(TopicIdPartition, Option<ResponseError>)],
    ) {
        self.advance(now_ms);
        let Some(group) = self.groups.get(group_id) else {
            return;
        };
        let mut metadata = group.partition_metadata.clone();
        let mut initialized_any = false;
        let mut changed = false;
        for (tp, error) in results {
            let Some(info) = metadata.initializing_topics.get_mut(&tp.topic_id) else {
                continue;
            };
            if info.partitions.remove(&tp.partition).is_none() {
                continue;
            }
            changed = true;
            let topic_name = info.topic_name.clone();
            if info.partitions.is_empty() {
                metadata.initializing_topics.remove(&tp.topic_id);
            }
            match error {
                None => {
                    metadata
                        .initialized_topics
                        .entry(tp.topic_id)
                        .or_insert_with(|| TopicPartitionsInfo {
                            topic_name,
                            partitions: BTreeSet::new(),
                        })
                        .partitions
                        .insert(tp.partition);
                    initialized_any = true;
                }
                Some(_) => {
                    let retry_at_ms =
                        now_ms.saturating_add(u64::from(self.config.initialize_retry_interval_ms));
                    self.initialize_retry_not_before_ms
                        .insert((group_id.to_string(), *tp), retry_at_ms);
                }
            }
        }
        if !changed {
            return;
        }
        let mut records = Vec::new();
        self.append(
            &mut records,
            GroupCoordinatorRecord::StatePartitionMetadata {
                group_id: group_id.to_string(),
                value: Some(metadata),
            },
        );
        if initialized_any {
            self.bump_group_epoch(
                &mut records,
                group_id,
                EpochBumpCause::PartitionsInitialized,
            );
        }
        self.flush_records(records);
        self.check_invariants();
    }

    /// When the next session expires, if any member is alive.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.session_deadlines_ms.values().min().copied()
    }

    /// Fences every member whose session expired by `now_ms`: its records are tombstoned and the group
    /// epoch is bumped (spec 4.1).
    pub fn handle_timeout(&mut self, now_ms: u64) {
        self.advance(now_ms);
        let expired: Vec<(String, MemberId)> = self
            .session_deadlines_ms
            .iter()
            .filter(|(_, deadline_ms)| **deadline_ms <= now_ms)
            .map(|(key, _)| key.clone())
            .collect();
        for (group_id, member_id) in expired {
            let mut records = Vec::new();
            self.remove_member(
                &mut records,
                &group_id,
                &member_id,
                MemberRemovalCause::SessionTimeout,
            );
            self.flush_records(records);
        }
        debug_assert!(self
            .poll_timeout()
            .is_none_or(|deadline_ms| deadline_ms > now_ms));
        self.check_invariants();
    }

    // ---- outputs -------------------------------------------------------------------------------------

    /// The next effect, in the order they were made.
    pub fn poll_effect(&mut self) -> Option<GroupEffect> {
        self.effects.pop_front()
    }

    // ---- heartbeat -----------------------------------------------------------------------------------

    fn leave(&mut self, request: &ShareGroupHeartbeatRequest) -> ShareGroupHeartbeatResponse {
        let member_id = MemberId::new(&request.member_id);
        let Some(group) = self.groups.get(&request.group_id) else {
            return ShareGroupHeartbeatResponse::error(
                ResponseError::GroupIdNotFound,
                format!("Group {} not found.", request.group_id),
            );
        };
        if !group.members.contains_key(&member_id) {
            return ShareGroupHeartbeatResponse::error(
                ResponseError::UnknownMemberId,
                format!(
                    "Member {member_id} is not a member of group {}.",
                    request.group_id
                ),
            );
        }
        let mut records = Vec::new();
        self.remove_member(
            &mut records,
            &request.group_id,
            &member_id,
            MemberRemovalCause::Leave,
        );
        self.flush_records(records);
        ShareGroupHeartbeatResponse {
            error: None,
            error_message: None,
            member_id: Some(member_id),
            member_epoch: LEAVE_GROUP_MEMBER_EPOCH,
            heartbeat_interval_ms: self.heartbeat_interval_ms(&request.group_id),
            assignment: None,
        }
    }

    fn join_or_heartbeat(
        &mut self,
        request: &ShareGroupHeartbeatRequest,
    ) -> ShareGroupHeartbeatResponse {
        let group_id = request.group_id.as_str();
        let member_id = MemberId::new(&request.member_id);
        let joining = request.member_epoch == 0;
        let group = match self.groups.get(group_id) {
            Some(group) => group.clone(),
            None if joining => ShareGroup::new(group_id),
            None => {
                return ShareGroupHeartbeatResponse::error(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} not found."),
                )
            }
        };
        let existing = group.members.get(&member_id).cloned();
        if existing.is_none() && group.members.len() >= self.config.max_size as usize {
            return ShareGroupHeartbeatResponse::error(
                ResponseError::GroupMaxSizeReached,
                format!(
                    "The share group has reached its maximum capacity of {} members.",
                    self.config.max_size
                ),
            );
        }
        if let Some(member) = &existing {
            // Kafka's throwIfShareGroupMemberEpochIsInvalid, applied to epoch 0 as well.
            if request.member_epoch > member.member_epoch
                || (request.member_epoch < member.member_epoch
                    && request.member_epoch != member.previous_member_epoch)
            {
                return ShareGroupHeartbeatResponse::error(
                    ResponseError::FencedMemberEpoch,
                    format!(
                        "The share group member has epoch {} but the coordinator knows {}.",
                        request.member_epoch, member.member_epoch
                    ),
                );
            }
        } else if !joining {
            return ShareGroupHeartbeatResponse::error(
                ResponseError::UnknownMemberId,
                format!("Member {member_id} is not a member of group {group_id}."),
            );
        }

        let mut records = Vec::new();
        // 1. The member's metadata, and a group epoch bump if its subscription or the metadata changed.
        let old_rack = existing.as_ref().and_then(|m| m.rack_id.clone());
        let old_topics = existing
            .as_ref()
            .map(|m| m.subscribed_topic_names.clone())
            .unwrap_or_default();
        let new_rack = request.rack_id.clone().or(old_rack.clone());
        let new_topics: BTreeSet<String> = match &request.subscribed_topic_names {
            Some(names) => names.iter().cloned().collect(),
            None => old_topics.clone(),
        };
        if existing.is_none() || new_rack != old_rack || new_topics != old_topics {
            self.append(
                &mut records,
                GroupCoordinatorRecord::MemberMetadata {
                    group_id: group_id.to_string(),
                    member_id: member_id.clone(),
                    value: Some(ShareGroupMemberMetadataValue {
                        rack_id: new_rack,
                        subscribed_topic_names: new_topics.clone(),
                    }),
                },
            );
        }
        if existing.is_none() {
            self.trace(GroupTraceEvent::MemberJoined {
                at_ms: self.now_ms,
                group_id: group_id.to_string(),
                member_id: member_id.clone(),
            });
        }
        let metadata_hash = self.metadata_hash(group_id);
        if new_topics != old_topics {
            self.bump_group_epoch(&mut records, group_id, EpochBumpCause::SubscriptionChanged);
        } else if metadata_hash != self.groups[group_id].metadata_hash {
            self.bump_group_epoch(&mut records, group_id, EpochBumpCause::MetadataChanged);
        }

        // 2. Ask for the initialization of subscribed partitions not initialized yet (spec 5.1).
        self.maybe_initialize_partitions(&mut records, group_id);

        // 3. A new target assignment if the group epoch moved past it.
        let group = &self.groups[group_id];
        if group.group_epoch > group.assignment_epoch {
            self.update_target_assignment(&mut records, group_id);
        }

        // 4. Immediate reconciliation: jump to the target epoch and partitions (no revocation phase).
        let assignment_changed = self.reconcile(&mut records, group_id, &member_id);
        self.flush_records(records);
        self.arm_session(group_id, member_id.clone());

        let member = &self.groups[group_id].members[&member_id];
        let send_assignment =
            joining || request.subscribed_topic_names.is_some() || assignment_changed;
        ShareGroupHeartbeatResponse {
            error: None,
            error_message: None,
            member_id: Some(member_id.clone()),
            member_epoch: member.member_epoch,
            heartbeat_interval_ms: self.heartbeat_interval_ms(group_id),
            assignment: send_assignment.then(|| assignment_by_topic(&member.assigned_partitions)),
        }
    }

    /// Recomputes every member's target with the simple assignor (spec 4.2).
    fn update_target_assignment(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        group_id: &str,
    ) {
        let group = &self.groups[group_id];
        let group_epoch = group.group_epoch;
        let mut assignor_members = BTreeMap::new();
        for (member_id, member) in &group.members {
            assignor_members.insert(
                member_id.clone(),
                AssignorMember {
                    subscribed_topic_ids: self.topic_ids(&member.subscribed_topic_names),
                    current: group
                        .target_assignment
                        .get(member_id)
                        .cloned()
                        .unwrap_or_default(),
                },
            );
        }
        let assignable = self.assignable_partitions(group);
        let target = if self.config.assignor_skips_a_member {
            assign_skipping_last_member(&assignor_members, &assignable)
        } else {
            assign(&assignor_members, &assignable)
        };
        let changed: Vec<(MemberId, BTreeSet<TopicIdPartition>)> = target
            .into_iter()
            .filter(|(member_id, partitions)| {
                group.target_assignment.get(member_id) != Some(partitions)
            })
            .collect();
        for (member_id, partitions) in changed {
            self.append(
                records,
                GroupCoordinatorRecord::TargetAssignmentMember {
                    group_id: group_id.to_string(),
                    member_id,
                    value: Some(ShareGroupTargetAssignmentMemberValue { partitions }),
                },
            );
        }
        self.append(
            records,
            GroupCoordinatorRecord::TargetAssignmentMetadata {
                group_id: group_id.to_string(),
                assignment_epoch: Some(group_epoch),
            },
        );
    }

    /// Initialized partitions of topics that exist now and that some member subscribes to.
    fn assignable_partitions(&self, group: &ShareGroup) -> BTreeSet<TopicIdPartition> {
        let subscribed = self.topic_ids(&group.subscribed_topic_names());
        group
            .initialized_partitions()
            .into_iter()
            .filter(|tp| subscribed.contains(&tp.topic_id))
            .filter(|tp| {
                self.topics.values().any(|topic| {
                    topic.topic_id == tp.topic_id && tp.partition < topic.partition_count
                })
            })
            .collect()
    }

    /// Moves the member to the target epoch and partitions; returns whether its partitions changed.
    fn reconcile(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        group_id: &str,
        member_id: &MemberId,
    ) -> bool {
        let group = &self.groups[group_id];
        let member = &group.members[member_id];
        if member.member_epoch == group.assignment_epoch {
            return false;
        }
        let subscribed = self.topic_ids(&member.subscribed_topic_names);
        let target: BTreeSet<TopicIdPartition> = group
            .target_assignment
            .get(member_id)
            .map(|partitions| {
                partitions
                    .iter()
                    .filter(|tp| subscribed.contains(&tp.topic_id))
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        let changed = target != member.assigned_partitions;
        let value = ShareGroupCurrentMemberAssignmentValue {
            member_epoch: group.assignment_epoch,
            previous_member_epoch: member.member_epoch,
            assigned_partitions: target.clone(),
        };
        let member_epoch = value.member_epoch;
        self.append(
            records,
            GroupCoordinatorRecord::CurrentMemberAssignment {
                group_id: group_id.to_string(),
                member_id: member_id.clone(),
                value: Some(value),
            },
        );
        // Traced on every reconciliation, as `AssignmentChanged` documents ("assignment (or member
        // epoch)"): the MEMBERSHIP oracle follows member epochs through it.
        self.trace(GroupTraceEvent::AssignmentChanged {
            at_ms: self.now_ms,
            group_id: group_id.to_string(),
            member_id: member_id.clone(),
            member_epoch,
            partitions: target,
        });
        changed
    }

    /// Spec 5.1: subscribed partitions neither initialized, nor initializing (recently), nor deleting, nor
    /// waiting out a failed attempt are marked initializing, and InitializeShareGroupState is asked for
    /// with the group epoch as state epoch and start offset -1.
    fn maybe_initialize_partitions(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        group_id: &str,
    ) {
        let group = &self.groups[group_id];
        let retry_interval_ms = u64::from(self.config.initialize_retry_interval_ms);
        let mut metadata = group.partition_metadata.clone();
        let mut wanted = Vec::new();
        for topic_name in group.subscribed_topic_names() {
            let Some(topic) = self.topics.get(&topic_name) else {
                continue;
            };
            if metadata.deleting_topics.contains_key(&topic.topic_id) {
                continue;
            }
            for partition in 0..topic.partition_count.max(0) {
                let tp = TopicIdPartition {
                    topic_id: topic.topic_id,
                    partition,
                };
                if group.is_initialized(tp) {
                    continue;
                }
                let asked_at_ms = metadata
                    .initializing_topics
                    .get(&tp.topic_id)
                    .and_then(|info| info.partitions.get(&partition));
                if asked_at_ms
                    .is_some_and(|at_ms| at_ms.saturating_add(retry_interval_ms) > self.now_ms)
                {
                    continue;
                }
                let retry_key = (group_id.to_string(), tp);
                if self
                    .initialize_retry_not_before_ms
                    .get(&retry_key)
                    .is_some_and(|not_before_ms| *not_before_ms > self.now_ms)
                {
                    continue;
                }
                metadata
                    .initializing_topics
                    .entry(tp.topic_id)
                    .or_insert_with(|| InitializingTopicInfo {
                        topic_name: topic_name.clone(),
                        partitions: BTreeMap::new(),
                    })
                    .partitions
                    .insert(partition, self.now_ms);
                // Kafka 4.1-4.3 always start at -1 (auto offset reset); KAFKA-20742 (4.4) starts new
                // partitions of known topics at 0.
                wanted.push(InitializePartition {
                    topic_id_partition: tp,
                    start_offset: -1,
                });
            }
        }
        if wanted.is_empty() {
            return;
        }
        let state_epoch = group.group_epoch;
        for partition in &wanted {
            self.initialize_retry_not_before_ms
                .remove(&(group_id.to_string(), partition.topic_id_partition));
        }
        self.append(
            records,
            GroupCoordinatorRecord::StatePartitionMetadata {
                group_id: group_id.to_string(),
                value: Some(metadata),
            },
        );
        self.effects
            .push_back(GroupEffect::InitializeShareGroupState {
                group_id: group_id.to_string(),
                state_epoch,
                partitions: wanted,
            });
    }

    // ---- shared helpers ------------------------------------------------------------------------------

    /// Removes a member (leave or fence): tombstones, then a group epoch bump.
    fn remove_member(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        group_id: &str,
        member_id: &MemberId,
        cause: MemberRemovalCause,
    ) {
        self.session_deadlines_ms
            .remove(&(group_id.to_string(), member_id.clone()));
        let is_member = self
            .groups
            .get(group_id)
            .is_some_and(|group| group.members.contains_key(member_id));
        if !is_member {
            return;
        }
        for record in [
            GroupCoordinatorRecord::CurrentMemberAssignment {
                group_id: group_id.to_string(),
                member_id: member_id.clone(),
                value: None,
            },
            GroupCoordinatorRecord::TargetAssignmentMember {
                group_id: group_id.to_string(),
                member_id: member_id.clone(),
                value: None,
            },
            GroupCoordinatorRecord::MemberMetadata {
                group_id: group_id.to_string(),
                member_id: member_id.clone(),
                value: None,
            },
        ] {
            self.append(records, record);
        }
        self.trace(GroupTraceEvent::MemberRemoved {
            at_ms: self.now_ms,
            group_id: group_id.to_string(),
            member_id: member_id.clone(),
            cause,
        });
        self.bump_group_epoch(records, group_id, EpochBumpCause::MemberRemoved);
    }

    /// Appends a group-metadata record with the next epoch and the current metadata hash.
    pub(super) fn bump_group_epoch(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        group_id: &str,
        cause: EpochBumpCause,
    ) {
        let epoch = self
            .groups
            .get(group_id)
            .map_or(0, |group| group.group_epoch)
            + 1;
        let metadata_hash = self.metadata_hash(group_id);
        self.append(
            records,
            GroupCoordinatorRecord::GroupMetadata {
                group_id: group_id.to_string(),
                value: Some(ShareGroupMetadataValue {
                    epoch,
                    metadata_hash,
                }),
            },
        );
        self.trace(GroupTraceEvent::GroupEpochBumped {
            at_ms: self.now_ms,
            group_id: group_id.to_string(),
            group_epoch: epoch,
            cause,
        });
    }

    /// Replays `record` and adds it to the batch to append.
    pub(super) fn append(
        &mut self,
        records: &mut Vec<GroupCoordinatorRecord>,
        record: GroupCoordinatorRecord,
    ) {
        replay_record(&mut self.groups, &record);
        records.push(record);
    }

    /// Emits one append effect for the batch, if any.
    pub(super) fn flush_records(&mut self, records: Vec<GroupCoordinatorRecord>) {
        if !records.is_empty() {
            self.effects
                .push_back(GroupEffect::AppendRecords { records });
        }
    }

    pub(super) fn trace(&mut self, event: GroupTraceEvent) {
        self.effects.push_back(GroupEffect::Trace(event));
    }

    pub(super) fn push_effect(&mut self, effect: GroupEffect) {
        self.effects.push_back(effect);
    }

    pub(super) fn advance(&mut self, now_ms: u64) {
        debug_assert!(
            now_ms >= self.now_ms,
            "time went backwards: {now_ms} < {}",
            self.now_ms
        );
        self.now_ms = self.now_ms.max(now_ms);
    }

    pub(super) fn now_ms(&self) -> u64 {
        self.now_ms
    }

    fn arm_session(&mut self, group_id: &str, member_id: MemberId) {
        let timeout_ms = self.group_config(group_id).session_timeout_ms(&self.config);
        self.session_deadlines_ms.insert(
            (group_id.to_string(), member_id),
            self.now_ms.saturating_add(u64::from(timeout_ms)),
        );
    }

    fn heartbeat_interval_ms(&self, group_id: &str) -> i32 {
        let interval_ms = self
            .group_config(group_id)
            .heartbeat_interval_ms(&self.config);
        i32::try_from(interval_ms).unwrap_or(i32::MAX)
    }

    /// Resolves topic names to ids through the current metadata; unknown names are skipped.
    pub(super) fn topic_ids(&self, names: &BTreeSet<String>) -> BTreeSet<TopicId> {
        names
            .iter()
            .filter_map(|name| self.topics.get(name).map(|topic| topic.topic_id))
            .collect()
    }

    /// A stable hash (FNV-1a) of (name, id, partition count) of every topic the group subscribes to.
    pub(super) fn metadata_hash(&self, group_id: &str) -> u64 {
        let Some(group) = self.groups.get(group_id) else {
            return 0;
        };
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        let mut feed = |bytes: &[u8]| {
            for byte in bytes {
                hash ^= u64::from(*byte);
                hash = hash.wrapping_mul(0x0100_0000_01b3);
            }
        };
        for name in group.subscribed_topic_names() {
            feed(name.as_bytes());
            feed(&[0]);
            if let Some(topic) = self.topics.get(&name) {
                feed(&topic.topic_id.0.to_be_bytes());
                feed(&topic.partition_count.to_be_bytes());
            }
        }
        hash
    }

    /// Our own invariants (TigerStyle): cheap enough to run after every input in tests.
    fn check_invariants(&self) {
        if !cfg!(debug_assertions) {
            return;
        }
        for group in self.groups.values() {
            assert!(
                group.assignment_epoch <= group.group_epoch,
                "assignment epoch ahead of group epoch"
            );
            assert!(
                group.members.len() <= self.config.max_size as usize,
                "group larger than its max size"
            );
            for (member_id, member) in &group.members {
                assert!(
                    member.member_epoch <= group.assignment_epoch,
                    "member epoch ahead of the target"
                );
                assert!(
                    self.session_deadlines_ms
                        .contains_key(&(group.group_id.clone(), member_id.clone())),
                    "a member without a session timer"
                );
            }
            for member_id in group.target_assignment.keys() {
                assert!(
                    group.members.contains_key(member_id),
                    "a target for a non-member"
                );
            }
        }
        for (group_id, member_id) in self.session_deadlines_ms.keys() {
            assert!(
                self.groups
                    .get(group_id)
                    .is_some_and(|group| group.members.contains_key(member_id)),
                "a session timer for a non-member"
            );
        }
    }
}
