//! MEMBERSHIP: dead members are removed after the session timeout, removed members own nothing, member
//! epochs never go back, and assignments converge to the simple assignor's targets (spec 4.1, 4.2).
//! Decided from the group coordinator's trace events, per coordinator node (a failed-over coordinator
//! reloads its members from the log without tracing them again, and a zombie may still trace):
//!
//! 1. **Epochs** (spec 4.1): a member's epoch, as the coordinator reconciles it, never decreases.
//! 2. **Removed members own nothing** (spec 4.1): after a leave or a session-timeout fence, the member gets
//!    no assignment until it joins again.
//! 3. **Assignor bounds** (spec 4.2), whenever every live member has reconciled to the newest group epoch:
//!    within a topic every assigned partition is shared by the same number of members; with one topic,
//!    that number is `ceil(M / P)` and member loads differ by at most one. Judged while the group has had
//!    a single coordinator (after a failover the reloaded members are not in the trace), and only while
//!    the live members are exactly those the group epoch was bumped with: the coordinator computes the
//!    epoch's target over them, so once one of them is removed (a session timeout fences it, then bumps
//!    the epoch: two trace events for Kafka's one step) the rest hold only part of that target and are
//!    not a converged assignment. (Swarm seeds 19 and 149 on the cluster judged that part.)
//! 4. **Convergence** (design table), in the liveness phase: once the group epoch moved, each member the
//!    current coordinator knows reconciles (heartbeats) or is removed (session timeout) within
//!    `session_timeout_ms + 2 × heartbeat_interval_ms`.
//!
//! Not judged, because the spec says otherwise: "no acknowledgement accepted from a removed member". The
//! share-partition leader checks neither membership nor assignment (spec 2.5, 4.3): a removed member's
//! acquired records stay its own until acknowledged, released by its session or expired.

use std::collections::{BTreeMap, BTreeSet};

use sharesim_sim::coordinator::group::{GroupTraceEvent, MemberRemovalCause};
use sharesim_sim::coordinator::share::TopicIdPartition;
use sharesim_sim::share::MemberId;
use sharesim_sim::trace::{RunMarker, TraceEvent, TraceRecord};

use super::checker::{keep_first, violation_at, Checker, OracleConfig, Violation};
use super::metrics::Metrics;

/// A live member as one coordinator node traced it.
#[derive(Debug, Clone)]
struct LiveMember {
    epoch: i32,
    partitions: BTreeSet<TopicIdPartition>,
    seq: u64,
}

/// One group as one coordinator node traced it.
#[derive(Debug, Default)]
struct NodeGroup {
    members: BTreeMap<MemberId, LiveMember>,
    /// Removed and not rejoined: member → (seq of the removal, why).
    removed: BTreeMap<MemberId, (u64, MemberRemovalCause)>,
    /// Highest epoch ever traced per member: (epoch, seq).
    highest_epoch: BTreeMap<MemberId, (i32, u64)>,
    /// Newest group epoch: (epoch, at_ms, seq).
    group_epoch: Option<(i32, u64, u64)>,
    /// The members when the newest group epoch was bumped: those its target assignment is for.
    epoch_members: BTreeSet<MemberId>,
    /// The group epoch whose converged assignment was last judged.
    judged_epoch: Option<i32>,
    /// Whether this node traced anything for the group in the liveness phase.
    active_in_liveness: bool,
}

/// The MEMBERSHIP checker.
#[derive(Debug)]
pub struct Membership {
    convergence_ms: u64,
    /// (coordinator node, group) → what it traced.
    groups: BTreeMap<(String, String), NodeGroup>,
    /// Group → (first coordinator node, whether it is still the only one).
    coordinators: BTreeMap<String, (String, bool)>,
    /// Group → the node of its newest event.
    current_node: BTreeMap<String, String>,
    liveness_started_ms: Option<u64>,
    saw_group_events: bool,
    first: Option<Violation>,
}

impl Membership {
    /// A checker for a run configured as `config`.
    pub fn new(config: &OracleConfig) -> Membership {
        Membership {
            convergence_ms: config
                .session_timeout_ms
                .saturating_add(config.heartbeat_interval_ms.saturating_mul(2)),
            groups: BTreeMap::new(),
            coordinators: BTreeMap::new(),
            current_node: BTreeMap::new(),
            liveness_started_ms: None,
            saw_group_events: false,
            first: None,
        }
    }

    fn group_event(&mut self, record: &TraceRecord, event: &GroupTraceEvent) {
        self.saw_group_events = true;
        let group_id = match event {
            GroupTraceEvent::MemberJoined { group_id, .. }
            | GroupTraceEvent::MemberRemoved { group_id, .. }
            | GroupTraceEvent::GroupEpochBumped { group_id, .. }
            | GroupTraceEvent::AssignmentChanged { group_id, .. } => group_id.clone(),
        };
        let scope = self
            .coordinators
            .entry(group_id.clone())
            .or_insert_with(|| (record.node.clone(), true));
        if scope.0 != record.node {
            scope.1 = false;
        }
        let single_coordinator = scope.1;
        self.current_node
            .insert(group_id.clone(), record.node.clone());
        let in_liveness = self.liveness_started_ms.is_some();
        let group = self
            .groups
            .entry((record.node.clone(), group_id.clone()))
            .or_default();
        group.active_in_liveness |= in_liveness;
        let mut found = None;
        match event {
            GroupTraceEvent::MemberJoined { member_id, .. } => {
                group.removed.remove(member_id);
                group.members.insert(
                    member_id.clone(),
                    LiveMember {
                        epoch: 0,
                        partitions: BTreeSet::new(),
                        seq: record.seq,
                    },
                );
            }
            GroupTraceEvent::MemberRemoved {
                member_id, cause, ..
            } => {
                group.members.remove(member_id);
                group
                    .removed
                    .insert(member_id.clone(), (record.seq, *cause));
            }
            GroupTraceEvent::GroupEpochBumped { group_epoch, .. } => {
                group.group_epoch = Some((*group_epoch, record.at_ms, record.seq));
                group.epoch_members = group.members.keys().cloned().collect();
            }
            GroupTraceEvent::AssignmentChanged {
                member_id,
                member_epoch,
                partitions,
                ..
            } => {
                if let Some(&(removal_seq, cause)) = group.removed.get(member_id) {
                    let message = format!(
                        "{member_id} was given {} partitions at epoch {member_epoch} after it was \
                         removed ({cause:?}) without joining again",
                        partitions.len()
                    );
                    found = Some(violation_at(
                        "MEMBERSHIP",
                        record,
                        None,
                        Some(member_id),
                        &[removal_seq],
                        message,
                    ));
                } else if let Some(&(highest, seq)) = group.highest_epoch.get(member_id) {
                    if *member_epoch < highest {
                        let message = format!(
                            "{member_id}'s member epoch went back from {highest} to {member_epoch}"
                        );
                        found = Some(violation_at(
                            "MEMBERSHIP",
                            record,
                            None,
                            Some(member_id),
                            &[seq],
                            message,
                        ));
                    }
                }
                let highest = group
                    .highest_epoch
                    .entry(member_id.clone())
                    .or_insert((*member_epoch, record.seq));
                if *member_epoch >= highest.0 {
                    *highest = (*member_epoch, record.seq);
                }
                if !group.removed.contains_key(member_id) {
                    group.members.insert(
                        member_id.clone(),
                        LiveMember {
                            epoch: *member_epoch,
                            partitions: partitions.clone(),
                            seq: record.seq,
                        },
                    );
                }
            }
        }
        if found.is_none() && single_coordinator {
            found = judge_converged_assignment(group, record);
        }
        if let Some(violation) = found {
            keep_first(&mut self.first, violation);
        }
    }

    /// Rule 4 at `record`'s time: a member of a group's current coordinator that has lagged behind the
    /// group epoch for longer than the bound in the liveness phase.
    fn judge_convergence(&mut self, record: &TraceRecord) {
        let Some(liveness_ms) = self.liveness_started_ms else {
            return;
        };
        for (group_id, node) in &self.current_node {
            let Some(group) = self.groups.get(&(node.clone(), group_id.clone())) else {
                continue;
            };
            let Some((group_epoch, bumped_ms, bump_seq)) = group.group_epoch else {
                continue;
            };
            if !group.active_in_liveness {
                continue;
            }
            let lag_from_ms = bumped_ms.max(liveness_ms);
            if record.at_ms.saturating_sub(lag_from_ms) <= self.convergence_ms {
                continue;
            }
            if let Some((member_id, member)) = group
                .members
                .iter()
                .find(|(_, member)| member.epoch < group_epoch)
            {
                let message = format!(
                    "{member_id} is still at epoch {} {} ms after group {group_id} moved to epoch \
                     {group_epoch}: neither reconciled nor removed after the session timeout",
                    member.epoch,
                    record.at_ms - lag_from_ms
                );
                let violation = violation_at(
                    "MEMBERSHIP",
                    record,
                    None,
                    Some(member_id),
                    &[member.seq, bump_seq],
                    message,
                );
                keep_first(&mut self.first, violation);
                return;
            }
        }
    }
}

/// Rule 3: when every live member reconciled to the newest group epoch, and the live members are
/// the ones the epoch's target was computed for, the assignment is the assignor's target and must meet
/// its bounds. Judged once per group epoch.
fn judge_converged_assignment(group: &mut NodeGroup, record: &TraceRecord) -> Option<Violation> {
    let (group_epoch, _, _) = group.group_epoch?;
    if group.judged_epoch == Some(group_epoch)
        || group.members.is_empty()
        || group.members.values().any(|m| m.epoch != group_epoch)
        || !group.members.keys().eq(group.epoch_members.iter())
    {
        return None;
    }
    group.judged_epoch = Some(group_epoch);
    let mut holders: BTreeMap<TopicIdPartition, usize> = BTreeMap::new();
    for member in group.members.values() {
        for partition in &member.partitions {
            *holders.entry(*partition).or_insert(0) += 1;
        }
    }
    if holders.is_empty() {
        return None;
    }
    let seqs: Vec<u64> = {
        let mut seqs: Vec<u64> = group.members.values().map(|m| m.seq).collect();
        seqs.sort_unstable();
        seqs.into_iter().filter(|&seq| seq != record.seq).collect()
    };
    let fail = |message: String| {
        Some(violation_at(
            "MEMBERSHIP",
            record,
            None,
            None,
            &seqs,
            message,
        ))
    };
    let mut sharing_by_topic: BTreeMap<_, BTreeSet<usize>> = BTreeMap::new();
    for (partition, count) in &holders {
        sharing_by_topic
            .entry(partition.topic_id)
            .or_default()
            .insert(*count);
    }
    for (topic_id, counts) in &sharing_by_topic {
        if counts.len() > 1 {
            return fail(format!(
                "at group epoch {group_epoch} the partitions of topic {topic_id:?} are shared unevenly \
                 (by {counts:?} members); the simple assignor shares each by the same number"
            ));
        }
    }
    if sharing_by_topic.len() == 1 {
        let members = group.members.len();
        let partitions = holders.len();
        let desired = members.div_ceil(partitions);
        let sharing = *holders.values().next().expect("not empty");
        if sharing != desired {
            return fail(format!(
                "at group epoch {group_epoch} each of {partitions} partitions is shared by {sharing} \
                 of {members} members; the simple assignor shares each by ceil(M/P) = {desired}"
            ));
        }
        let loads: Vec<usize> = group.members.values().map(|m| m.partitions.len()).collect();
        let (least, most) = (
            *loads.iter().min().expect("members"),
            *loads.iter().max().expect("members"),
        );
        if most > least + 1 {
            return fail(format!(
                "at group epoch {group_epoch} member loads range from {least} to {most} partitions; \
                 the simple assignor keeps them within one"
            ));
        }
    }
    None
}

impl Checker for Membership {
    fn code(&self) -> &'static str {
        "MEMBERSHIP"
    }

    fn observe(&mut self, record: &TraceRecord) {
        match &record.event {
            TraceEvent::GroupCoordinator { event } => self.group_event(record, event),
            TraceEvent::Run {
                marker: RunMarker::LivenessPhaseStarted { .. },
            } => self.liveness_started_ms = Some(record.at_ms),
            _ => {}
        }
        self.judge_convergence(record);
    }

    fn undecided_reason(&self) -> Option<String> {
        (!self.saw_group_events).then(|| "the trace has no group coordinator events".to_string())
    }

    fn finish(&mut self, _metrics: &mut Metrics) -> Vec<Violation> {
        self.first.take().into_iter().collect()
    }
}
