//! Zombie leaders in the engine backend (design "Fault levers": zombie leaders writing with an old epoch).
//! Leadership of a share partition moves to the next broker (a new engine at the next leader epoch reads
//! the persisted state), but the old leader has not learned it yet: for the lever's duration its engine
//! keeps acting with the old epoch. Its lock timers still fire, and consumers whose metadata is stale
//! send the acknowledgements of the records they fetched from it back to it. Its writes reach the share
//! coordinator with the old leader epoch, which fences them (spec 2.2, 3.4); the mutation switch
//! `skip_leader_epoch_fencing` lets them through.

use sharesim_sim::share::partition::{PartitionState, SharePartition};
use sharesim_sim::ResponseError;

use super::{Action, World};

/// An old leader still acting with its old leader epoch.
#[derive(Debug)]
pub(super) struct ZombieLeader {
    pub engine: SharePartition,
    pub leader_epoch: i32,
    pub broker: u32,
}

/// Which engine of a slot an input goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Role {
    /// The current leader.
    Leader,
    /// The zombie (the old leader), while it lives.
    Zombie,
}

impl World {
    /// The engine of slot `index` in `role` (the zombie's only while it lives).
    pub(super) fn engine_mut(&mut self, index: usize, role: Role) -> Option<&mut SharePartition> {
        let slot = &mut self.slots[index];
        match role {
            Role::Leader => Some(&mut slot.engine),
            Role::Zombie => slot.zombie.as_mut().map(|zombie| &mut zombie.engine),
        }
    }

    /// The leader epoch and broker of slot `index`'s engine in `role`.
    pub(super) fn epoch_and_broker(&self, index: usize, role: Role) -> (i32, u32) {
        let slot = &self.slots[index];
        match (role, &slot.zombie) {
            (Role::Zombie, Some(zombie)) => (zombie.leader_epoch, zombie.broker),
            _ => (slot.leader_epoch, slot.leader_broker),
        }
    }

    /// Which engine serves a request about records fetched at `leader_epoch`: the zombie if those records
    /// came from it (the client's metadata still names the old leader), else the leader.
    pub(super) fn role_for(&self, index: usize, leader_epoch: i32) -> Role {
        match &self.slots[index].zombie {
            Some(zombie) if zombie.leader_epoch == leader_epoch => Role::Zombie,
            _ => Role::Leader,
        }
    }

    /// The `zombie_leader` lever on the share partitions of `topic`-`partition`: leadership moves on and
    /// the old, active leader lives on as a zombie for `duration_ms`.
    pub(super) fn raise_zombies(
        &mut self,
        kind: &str,
        slots: Vec<usize>,
        duration_ms: u64,
    ) -> Result<(), &'static str> {
        let active: Vec<usize> = slots
            .into_iter()
            .filter(|&index| self.slots[index].engine.partition_state() == PartitionState::Active)
            .collect();
        if active.is_empty() {
            return Err("no active share partition on that topic partition yet");
        }
        for index in active {
            let old_broker = self.slots[index].leader_broker;
            let new_broker = self.next_live_broker(old_broker);
            let name = self.slot_name(index);
            let epoch = self.slots[index].leader_epoch;
            self.note_fault(
                kind,
                format!(
                    "{name}: leadership moves from broker {old_broker} to {new_broker}; the old \
                     leader acts on with leader epoch {epoch} for {duration_ms} ms"
                ),
            );
            self.bury_zombie(index);
            let old = self.replace_leader(index, new_broker);
            self.slots[index].zombie = Some(ZombieLeader {
                engine: old,
                leader_epoch: epoch,
                broker: old_broker,
            });
            let stop = super::faults::DeferredFault::ZombieStops {
                slot: index,
                leader_epoch: epoch,
            };
            self.schedule(self.now_ms + duration_ms, Action::Deferred(stop));
            self.pump(index);
        }
        Ok(())
    }

    /// The zombie of slot `index` (if any) learns it lost leadership and stops: acknowledgements it
    /// still owes an answer fail with NOT_LEADER_OR_FOLLOWER.
    pub(super) fn bury_zombie(&mut self, index: usize) {
        let Some(zombie) = self.slots[index].zombie.take() else {
            return;
        };
        let pending: Vec<_> = self
            .tickets
            .keys()
            .filter(|(slot, epoch, _)| *slot == index && *epoch == zombie.leader_epoch)
            .copied()
            .collect();
        for key in pending {
            if let Some((consumer, acknowledgements)) = self.tickets.remove(&key) {
                let code = ResponseError::NotLeaderOrFollower.code();
                self.ack_outcome(consumer, index, acknowledgements, code);
            }
        }
    }

    /// Every zombie stops (the liveness phase heals every fault).
    pub(super) fn bury_all_zombies(&mut self) {
        for index in 0..self.slots.len() {
            self.bury_zombie(index);
        }
    }

    /// `group/topic-partition` of slot `index`, for fault notes.
    fn slot_name(&self, index: usize) -> String {
        let slot = &self.slots[index];
        format!(
            "{}/{}-{}",
            slot.key.group_id, self.topics[slot.topic_index].name, slot.partition
        )
    }
}
