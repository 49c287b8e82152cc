//! The partition logs of one broker, kept where a madsim kill does not reach them.
//!
//! madsim drops a killed node's tasks (its memory) but not values shared from outside the node, and it
//! keeps every file. A broker node therefore keeps its logs in a [`LogStore`] created by the cluster
//! harness, and calls [`LogStore::recover_all`] first thing when it (re)starts: each log comes back from
//! its disk image, so whatever was appended but not flushed before the kill is gone.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use super::config::LogConfig;
use super::partition_log::PartitionLog;

/// A topic partition's name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// Topic name.
    pub topic: String,
    /// Partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<String>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// One broker's logs (its simulated disk plus page cache); cheap to clone, shared by reference.
#[derive(Clone, Debug, Default)]
pub struct LogStore {
    logs: Arc<Mutex<BTreeMap<TopicPartition, PartitionLog>>>,
}

impl LogStore {
    /// No logs.
    pub fn new() -> Self {
        Self::default()
    }

    /// Creates an empty log for a partition unless it exists; returns true if it was created.
    pub fn create(&self, partition: TopicPartition, config: LogConfig) -> bool {
        let mut logs = self.lock();
        if logs.contains_key(&partition) {
            return false;
        }
        logs.insert(partition, PartitionLog::new(config));
        true
    }

    /// Runs `f` on a partition's log; `None` if this broker has no log for it.
    pub fn with_log<R>(
        &self,
        partition: &TopicPartition,
        f: impl FnOnce(&mut PartitionLog) -> R,
    ) -> Option<R> {
        self.lock().get_mut(partition).map(f)
    }

    /// The partitions this broker has logs for, in order.
    pub fn partitions(&self) -> Vec<TopicPartition> {
        self.lock().keys().cloned().collect()
    }

    /// Flushes every log (a clean shutdown, or `flush.ms` firing).
    pub fn flush_all(&self) {
        for log in self.lock().values_mut() {
            log.flush();
        }
    }

    /// What a restart after a kill finds: every log recovered from its disk image.
    pub fn recover_all(&self) {
        for log in self.lock().values_mut() {
            log.crash();
        }
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<TopicPartition, PartitionLog>> {
        self.logs
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
