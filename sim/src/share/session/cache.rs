//! The broker's share-session cache (spec 2.4, 2.5; `ShareSessionCache`, `SPM.newContext`,
//! `SPM.acknowledgeSessionUpdate`, `SPM.releaseSession`).

use std::collections::{BTreeMap, BTreeSet};

use super::share_session::{rotate_round_robin, FINAL_EPOCH, INITIAL_EPOCH};
use super::{ConnectionId, ShareSession, ShareSessionKey};
use crate::coordinator::share::TopicIdPartition;
use crate::semantics::Semantics;
use crate::ResponseError;

/// Settings of the share-session cache.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ShareSessionCacheConfig {
    /// `group.share.max.share.sessions` (default 2000 per broker; in 4.0 `group.share.max.groups` ×
    /// `group.share.max.size` = 10 × 200, the same number).
    pub max_share_sessions: usize,
    /// From [`Semantics::release_on_disconnect`] (4.1+): a disconnect releases the connection's session.
    pub release_on_disconnect: bool,
    /// From [`Semantics::share_session_idle_eviction_ms`] (4.0): LRU eviction of idle sessions when full.
    pub idle_eviction_ms: Option<u64>,
}

impl ShareSessionCacheConfig {
    /// Kafka's defaults for the release `semantics` describes.
    pub fn new(semantics: &Semantics) -> ShareSessionCacheConfig {
        ShareSessionCacheConfig {
            max_share_sessions: 2_000,
            release_on_disconnect: semantics.release_on_disconnect,
            idle_eviction_ms: semantics.share_session_idle_eviction_ms,
        }
    }
}

impl Default for ShareSessionCacheConfig {
    /// Kafka 4.2.
    fn default() -> Self {
        ShareSessionCacheConfig::new(&Semantics::default())
    }
}

/// The session part of a ShareFetch request.
#[derive(Clone, Copy, Debug)]
pub struct ShareFetchSessionRequest<'a> {
    /// `GroupId`.
    pub group_id: &'a str,
    /// `MemberId`, unvalidated.
    pub member_id: &'a str,
    /// `ShareSessionEpoch`.
    pub session_epoch: i32,
    /// The request's topic-partitions (`Topics[].Partitions[]`).
    pub partitions: &'a [TopicIdPartition],
    /// `ForgottenTopicsData`.
    pub forgotten: &'a [TopicIdPartition],
    /// Whether any partition carries `AcknowledgementBatches`.
    pub has_acknowledgements: bool,
    /// The connection the request arrived on.
    pub connection_id: ConnectionId,
}

/// What the broker does with a ShareFetch once its session checks passed (`ShareFetchContext`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShareFetchContext {
    /// Epoch 0: a new session at epoch 1 holding the request's partitions. Fetch them in this order.
    Initial {
        /// The partitions to fetch, in order.
        fetch_order: Vec<TopicIdPartition>,
        /// A session for the key existed and was dropped *without* releasing its records.
        replaced: bool,
        /// 4.0 only: an idle session evicted to make room (its records are not released).
        evicted: Option<ShareSessionKey>,
    },
    /// Epoch n > 0 matched: the session's partitions were updated and its epoch advanced. Fetch the
    /// session's partitions in this order (rotated round-robin by the request's epoch).
    Subsequent {
        /// The partitions to fetch, in order.
        fetch_order: Vec<TopicIdPartition>,
    },
    /// Epoch -1 (FINAL) and the session exists: no fetching. Apply the request's acknowledgements, then
    /// call [`ShareSessionCache::release_session`].
    Final,
}

/// What the broker does with a ShareAcknowledge once its session checks passed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShareAcknowledgeContext {
    /// Epoch n > 0 matched and the epoch advanced: apply the acknowledgements.
    Subsequent,
    /// Epoch -1 and the session exists: apply the acknowledgements, then call
    /// [`ShareSessionCache::release_session`].
    Final,
}

/// A session that was removed and whose member's records must now be released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReleasedSession {
    /// Whose session it was: release `key.member_id`'s ACQUIRED records.
    pub key: ShareSessionKey,
    /// Every partition that was in the session (spec 2.4: the release runs on each).
    pub partitions: Vec<TopicIdPartition>,
}

/// What a client disconnect did (4.1+; nothing in 4.0).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DisconnectOutcome {
    /// The connection's session, removed: release its member's records on its partitions. `None` when the
    /// session was already closed (FINAL) or replaced by a newer one (the mapping was stale).
    pub released: Option<ReleasedSession>,
    /// The group of the connection's session has no session left on this broker (`onGroupEmpty`): the
    /// broker drops that group's share partitions from its cache.
    pub group_empty: Option<String>,
}

/// Which session a connection created, and whether that session has since been removed (`stale`), so
/// that the connection's late disconnect must not touch a newer session of the same key.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ConnectionBinding {
    key: ShareSessionKey,
    stale: bool,
}

/// The share sessions of one broker.
///
/// Requests: [`handle_share_fetch`](Self::handle_share_fetch) and
/// [`handle_share_acknowledge`](Self::handle_share_acknowledge) check the session epoch and return what to
/// do; [`release_session`](Self::release_session) closes a session after a FINAL request's acks;
/// [`handle_disconnect`](Self::handle_disconnect) is the connection-close listener. Errors are Kafka's
/// codes (INVALID_REQUEST, SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH,
/// SHARE_SESSION_LIMIT_REACHED). `now_ms` never goes backwards.
#[derive(Clone, Debug)]
pub struct ShareSessionCache {
    config: ShareSessionCacheConfig,
    sessions: BTreeMap<ShareSessionKey, ShareSession>,
    /// (last used, key) of every session: least recently used first (4.0 eviction).
    last_used: BTreeSet<(u64, ShareSessionKey)>,
    /// Sessions per group (`numMembersPerGroup`); a count of 0 may linger until a disconnect reports it.
    sessions_per_group: BTreeMap<String, usize>,
    /// The session each connection last created (`connectionIdToSessionMap`), 4.1+.
    connections: BTreeMap<ConnectionId, ConnectionBinding>,
}

impl ShareSessionCache {
    /// An empty cache.
    pub fn new(config: ShareSessionCacheConfig) -> ShareSessionCache {
        ShareSessionCache {
            config,
            sessions: BTreeMap::new(),
            last_used: BTreeSet::new(),
            sessions_per_group: BTreeMap::new(),
            connections: BTreeMap::new(),
        }
    }

    // ---- getters -------------------------------------------------------------------------------------

    /// The configuration.
    pub fn config(&self) -> &ShareSessionCacheConfig {
        &self.config
    }

    /// The session of `key`, if any.
    pub fn session(&self, key: &ShareSessionKey) -> Option<&ShareSession> {
        self.sessions.get(key)
    }

    /// Every session, in key order.
    pub fn sessions(&self) -> impl Iterator<Item = &ShareSession> {
        self.sessions.values()
    }

    /// The number of sessions on this broker.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether the cache holds no session.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The number of sessions of `group_id` on this broker.
    pub fn group_session_count(&self, group_id: &str) -> usize {
        self.sessions_per_group.get(group_id).copied().unwrap_or(0)
    }

    // ---- requests ------------------------------------------------------------------------------------

    /// The session checks of a ShareFetch (spec 2.4, `SPM.newContext`).
    ///
    /// * Epoch 0: acknowledgements → INVALID_REQUEST. Otherwise any session of the key is dropped without
    ///   releasing records, and a new one is created on this connection; when the cache is full →
    ///   SHARE_SESSION_LIMIT_REACHED. (Kafka answers that only after waiting `MaxWaitMs`: the node delays
    ///   the response, the cache only decides.)
    /// * Epoch -1: the session must exist (else SHARE_SESSION_NOT_FOUND); nothing changes yet.
    /// * Any other epoch: no session → SHARE_SESSION_NOT_FOUND; another epoch → INVALID_SHARE_SESSION_EPOCH;
    ///   else the request's partitions are added, the forgotten ones removed, and the epoch advances.
    pub fn handle_share_fetch(
        &mut self,
        now_ms: u64,
        request: &ShareFetchSessionRequest<'_>,
    ) -> Result<ShareFetchContext, ResponseError> {
        let key = ShareSessionKey::new(request.group_id, request.member_id)?;
        let context = match request.session_epoch {
            INITIAL_EPOCH => {
                if request.has_acknowledgements {
                    return Err(ResponseError::InvalidRequest);
                }
                let replaced = self.remove(&key).is_some();
                let evicted = self.make_room(now_ms)?;
                let session =
                    ShareSession::new(key, request.partitions, request.connection_id, now_ms);
                let fetch_order = rotate_round_robin(session.partitions(), INITIAL_EPOCH);
                self.insert(session);
                ShareFetchContext::Initial {
                    fetch_order,
                    replaced,
                    evicted,
                }
            }
            FINAL_EPOCH => {
                if !self.sessions.contains_key(&key) {
                    return Err(ResponseError::ShareSessionNotFound);
                }
                ShareFetchContext::Final
            }
            epoch => {
                self.check_epoch(&key, epoch)?;
                let session = self.touch(now_ms, &key);
                session.update(request.partitions, request.forgotten);
                ShareFetchContext::Subsequent {
                    fetch_order: rotate_round_robin(session.partitions(), epoch),
                }
            }
        };
        self.check_invariants();
        Ok(context)
    }

    /// The session checks of a ShareAcknowledge (spec 2.4, `SPM.acknowledgeSessionUpdate`): epoch 0 →
    /// INVALID_SHARE_SESSION_EPOCH; no session → SHARE_SESSION_NOT_FOUND; epoch -1 → FINAL (nothing
    /// changes yet); another epoch than the session's → INVALID_SHARE_SESSION_EPOCH; else it advances.
    pub fn handle_share_acknowledge(
        &mut self,
        now_ms: u64,
        group_id: &str,
        member_id: &str,
        session_epoch: i32,
    ) -> Result<ShareAcknowledgeContext, ResponseError> {
        let key = ShareSessionKey::new(group_id, member_id)?;
        if session_epoch == INITIAL_EPOCH {
            return Err(ResponseError::InvalidShareSessionEpoch);
        }
        if !self.sessions.contains_key(&key) {
            return Err(ResponseError::ShareSessionNotFound);
        }
        if session_epoch == FINAL_EPOCH {
            return Ok(ShareAcknowledgeContext::Final);
        }
        self.check_epoch(&key, session_epoch)?;
        self.touch(now_ms, &key);
        self.check_invariants();
        Ok(ShareAcknowledgeContext::Subsequent)
    }

    /// `SPM.releaseSession`, after a FINAL request's acknowledgements completed: removes the key's session
    /// and returns its partitions, on each of which the member's ACQUIRED records are to be released. No
    /// session (it was closed or replaced meanwhile) → SHARE_SESSION_NOT_FOUND.
    ///
    /// As in Kafka, this acts on whatever session the key has *now*: a new epoch-0 session created between
    /// the FINAL request and this call is the one removed.
    pub fn release_session(
        &mut self,
        group_id: &str,
        member_id: &str,
    ) -> Result<ReleasedSession, ResponseError> {
        let key = ShareSessionKey::new(group_id, member_id)?;
        let session = self
            .remove(&key)
            .ok_or(ResponseError::ShareSessionNotFound)?;
        self.check_invariants();
        Ok(ReleasedSession {
            key,
            partitions: session.partitions().to_vec(),
        })
    }

    /// A client connection closed (spec 2.5; `ClientConnectionDisconnectListener`, 4.1+). The session the
    /// connection created is removed and released, unless it was already removed or replaced (the
    /// binding is stale). Then, if the group has no session left on this broker, the group is reported
    /// empty. In 4.0 (no `release_on_disconnect`) a disconnect does nothing.
    pub fn handle_disconnect(&mut self, connection_id: ConnectionId) -> DisconnectOutcome {
        let mut outcome = DisconnectOutcome::default();
        if !self.config.release_on_disconnect {
            return outcome;
        }
        let Some(binding) = self.connections.remove(&connection_id) else {
            return outcome;
        };
        if !binding.stale {
            if let Some(session) = self.remove(&binding.key) {
                outcome.released = Some(ReleasedSession {
                    key: binding.key.clone(),
                    partitions: session.partitions().to_vec(),
                });
            }
        }
        // Checked whether or not this disconnect removed the session: a FINAL close may have removed it.
        let group_id = &binding.key.group_id;
        if self.group_session_count(group_id) == 0 {
            self.sessions_per_group.remove(group_id);
            outcome.group_empty = Some(group_id.clone());
        }
        self.check_invariants();
        outcome
    }

    // ---- internals -----------------------------------------------------------------------------------

    fn check_epoch(&self, key: &ShareSessionKey, epoch: i32) -> Result<(), ResponseError> {
        let session = self
            .sessions
            .get(key)
            .ok_or(ResponseError::ShareSessionNotFound)?;
        if session.epoch() != epoch {
            return Err(ResponseError::InvalidShareSessionEpoch);
        }
        Ok(())
    }

    /// Advances the epoch of an existing session and moves it to the back of the LRU order.
    fn touch(&mut self, now_ms: u64, key: &ShareSessionKey) -> &mut ShareSession {
        let session = self
            .sessions
            .get_mut(key)
            .expect("check_epoch found the session just before");
        let removed = self
            .last_used
            .remove(&(session.last_used_ms(), key.clone()));
        debug_assert!(removed);
        session.advance(now_ms);
        self.last_used.insert((session.last_used_ms(), key.clone()));
        session
    }

    /// Room for one more session: nothing to do below the limit; in 4.0, evict the least recently used
    /// session if it has been idle long enough; otherwise SHARE_SESSION_LIMIT_REACHED.
    fn make_room(&mut self, now_ms: u64) -> Result<Option<ShareSessionKey>, ResponseError> {
        if self.sessions.len() < self.config.max_share_sessions {
            return Ok(None);
        }
        let Some(idle_eviction_ms) = self.config.idle_eviction_ms else {
            return Err(ResponseError::ShareSessionLimitReached);
        };
        let Some((last_used_ms, key)) = self.last_used.first().cloned() else {
            return Err(ResponseError::ShareSessionLimitReached);
        };
        if now_ms.saturating_sub(last_used_ms) <= idle_eviction_ms {
            return Err(ResponseError::ShareSessionLimitReached);
        }
        self.remove(&key);
        // The limit may be 0: then there is never room.
        if self.sessions.len() >= self.config.max_share_sessions {
            return Err(ResponseError::ShareSessionLimitReached);
        }
        Ok(Some(key))
    }

    fn insert(&mut self, session: ShareSession) {
        let key = session.key().clone();
        debug_assert!(!self.sessions.contains_key(&key));
        *self
            .sessions_per_group
            .entry(key.group_id.clone())
            .or_insert(0) += 1;
        self.last_used.insert((session.last_used_ms(), key.clone()));
        if self.config.release_on_disconnect {
            // A later session on the same connection overwrites the binding, as in Kafka.
            let binding = ConnectionBinding {
                key: key.clone(),
                stale: false,
            };
            self.connections.insert(session.connection_id(), binding);
        }
        self.sessions.insert(key, session);
    }

    /// `ShareSessionCache.remove`: also marks the binding of the session's connection stale, so that the
    /// connection's disconnect cannot remove a newer session of the same key.
    fn remove(&mut self, key: &ShareSessionKey) -> Option<ShareSession> {
        let session = self.sessions.remove(key)?;
        let removed = self
            .last_used
            .remove(&(session.last_used_ms(), key.clone()));
        debug_assert!(removed);
        if let Some(count) = self.sessions_per_group.get_mut(&key.group_id) {
            debug_assert!(*count > 0);
            *count = count.saturating_sub(1);
        }
        if let Some(binding) = self.connections.get_mut(&session.connection_id()) {
            binding.stale = true;
        }
        Some(session)
    }

    fn check_invariants(&self) {
        debug_assert_eq!(self.sessions.len(), self.last_used.len());
        debug_assert_eq!(
            self.sessions_per_group.values().sum::<usize>(),
            self.sessions.len()
        );
        debug_assert!(
            self.sessions.len() <= self.config.max_share_sessions,
            "the limit is checked before every insert"
        );
    }
}
