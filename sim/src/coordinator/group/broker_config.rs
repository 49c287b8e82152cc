//! The broker's `group.share.*` configs by name (Kafka's `GroupCoordinatorConfig` and `ShareGroupConfig`
//! definitions), for scenario files: each value is checked against Kafka's own range, and
//! [`GroupCoordinatorConfig::validate`] applies Kafka's cross-field rules (a default inside its min/max,
//! the heartbeat interval below the session timeout).
//!
//! `group.share.{min,max}.delivery.count.limit` and `group.share.{min,max}.partition.max.record.locks`
//! are Kafka 4.3 names (KIP-1240): they bound the 4.3 group configs and are accepted under every profile.

use super::config::{
    nearest_name, parse_bounded, ConfigRange, GroupConfigError, GroupCoordinatorConfig,
};

const AT_LEAST_ONE: ConfigRange = ConfigRange {
    min: 1,
    max: i32::MAX as i64,
};

/// Every broker config name [`GroupCoordinatorConfig::set`] accepts, in alphabetical order.
pub const GROUP_COORDINATOR_CONFIG_NAMES: [&str; 17] = [
    "group.share.delivery.count.limit",
    "group.share.heartbeat.interval.ms",
    "group.share.initialize.retry.interval.ms",
    "group.share.max.delivery.count.limit",
    "group.share.max.heartbeat.interval.ms",
    "group.share.max.partition.max.record.locks",
    "group.share.max.record.lock.duration.ms",
    "group.share.max.session.timeout.ms",
    "group.share.max.size",
    "group.share.min.delivery.count.limit",
    "group.share.min.heartbeat.interval.ms",
    "group.share.min.partition.max.record.locks",
    "group.share.min.record.lock.duration.ms",
    "group.share.min.session.timeout.ms",
    "group.share.partition.max.record.locks",
    "group.share.record.lock.duration.ms",
    "group.share.session.timeout.ms",
];

/// Kafka's range for each broker config name.
fn range_of(name: &str) -> Option<ConfigRange> {
    let between = |min: i64, max: i64| Some(ConfigRange { min, max });
    match name {
        "group.share.max.size" => between(1, 1_000),
        "group.share.session.timeout.ms"
        | "group.share.min.session.timeout.ms"
        | "group.share.max.session.timeout.ms"
        | "group.share.heartbeat.interval.ms"
        | "group.share.min.heartbeat.interval.ms"
        | "group.share.max.heartbeat.interval.ms"
        | "group.share.initialize.retry.interval.ms" => Some(AT_LEAST_ONE),
        "group.share.record.lock.duration.ms" => between(1_000, 3_600_000),
        "group.share.min.record.lock.duration.ms" => between(1_000, 30_000),
        "group.share.max.record.lock.duration.ms" => between(30_000, 3_600_000),
        "group.share.delivery.count.limit" => between(2, 10),
        "group.share.min.delivery.count.limit" => between(2, 5),
        "group.share.max.delivery.count.limit" => between(5, 25),
        "group.share.partition.max.record.locks"
        | "group.share.min.partition.max.record.locks"
        | "group.share.max.partition.max.record.locks" => between(100, 10_000),
        _ => None,
    }
}

impl GroupCoordinatorConfig {
    /// Parses `(name, value)` pairs over this release's defaults, then checks the cross-field rules.
    pub fn with_entries<'a>(
        mut self,
        entries: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<GroupCoordinatorConfig, GroupConfigError> {
        for (name, value) in entries {
            self.set(name, value)?;
        }
        self.validate()?;
        Ok(self)
    }

    /// Sets one broker config by its Kafka name, checked against Kafka's range for it. Cross-field
    /// rules are checked by [`validate`](Self::validate) once every value is set.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), GroupConfigError> {
        let Some(range) = range_of(name) else {
            return Err(GroupConfigError::UnknownName {
                name: name.to_string(),
                nearest: nearest_name(name, &GROUP_COORDINATOR_CONFIG_NAMES).to_string(),
            });
        };
        let parsed = parse_bounded(name, value.trim(), range)?;
        let to_i64 = i64::from;
        match name {
            "group.share.max.size" => self.max_size = parsed,
            "group.share.session.timeout.ms" => self.session_timeout_ms = parsed,
            "group.share.min.session.timeout.ms" => {
                self.session_timeout_range_ms.min = to_i64(parsed)
            }
            "group.share.max.session.timeout.ms" => {
                self.session_timeout_range_ms.max = to_i64(parsed)
            }
            "group.share.heartbeat.interval.ms" => self.heartbeat_interval_ms = parsed,
            "group.share.min.heartbeat.interval.ms" => {
                self.heartbeat_interval_range_ms.min = to_i64(parsed)
            }
            "group.share.max.heartbeat.interval.ms" => {
                self.heartbeat_interval_range_ms.max = to_i64(parsed)
            }
            "group.share.initialize.retry.interval.ms" => {
                self.initialize_retry_interval_ms = parsed
            }
            "group.share.record.lock.duration.ms" => self.record_lock_duration_ms = parsed,
            "group.share.min.record.lock.duration.ms" => {
                self.record_lock_duration_range_ms.min = to_i64(parsed)
            }
            "group.share.max.record.lock.duration.ms" => {
                self.record_lock_duration_range_ms.max = to_i64(parsed)
            }
            "group.share.delivery.count.limit" => self.delivery_count_limit = parsed,
            "group.share.min.delivery.count.limit" => {
                self.delivery_count_limit_range.min = to_i64(parsed)
            }
            "group.share.max.delivery.count.limit" => {
                self.delivery_count_limit_range.max = to_i64(parsed)
            }
            "group.share.partition.max.record.locks" => self.partition_max_record_locks = parsed,
            "group.share.min.partition.max.record.locks" => {
                self.partition_max_record_locks_range.min = to_i64(parsed)
            }
            "group.share.max.partition.max.record.locks" => {
                self.partition_max_record_locks_range.max = to_i64(parsed)
            }
            _ => unreachable!("range_of knows exactly the names matched here"),
        }
        Ok(())
    }

    /// Kafka's cross-field rules: every default lies inside its min/max, and the heartbeat interval is
    /// below the session timeout.
    pub fn validate(&self) -> Result<(), GroupConfigError> {
        let checks: [(&str, u32, ConfigRange, &str); 5] = [
            (
                "group.share.session.timeout.ms",
                self.session_timeout_ms,
                self.session_timeout_range_ms,
                "session.timeout.ms",
            ),
            (
                "group.share.heartbeat.interval.ms",
                self.heartbeat_interval_ms,
                self.heartbeat_interval_range_ms,
                "heartbeat.interval.ms",
            ),
            (
                "group.share.record.lock.duration.ms",
                self.record_lock_duration_ms,
                self.record_lock_duration_range_ms,
                "record.lock.duration.ms",
            ),
            (
                "group.share.delivery.count.limit",
                self.delivery_count_limit,
                self.delivery_count_limit_range,
                "delivery.count.limit",
            ),
            (
                "group.share.partition.max.record.locks",
                self.partition_max_record_locks,
                self.partition_max_record_locks_range,
                "partition.max.record.locks",
            ),
        ];
        for (name, value, range, suffix) in checks {
            if range.min > range.max {
                return Err(GroupConfigError::Conflict {
                    name: format!("group.share.max.{suffix}"),
                    reason: format!(
                        "must be greater than or equal to group.share.min.{suffix} ({})",
                        range.min
                    ),
                });
            }
            if !range.contains(i64::from(value)) {
                return Err(GroupConfigError::Conflict {
                    name: name.to_string(),
                    reason: format!(
                        "{value} must be in the range {range} set by group.share.min.{suffix} and \
                         group.share.max.{suffix}"
                    ),
                });
            }
        }
        if self.heartbeat_interval_ms >= self.session_timeout_ms {
            return Err(GroupConfigError::Conflict {
                name: "group.share.heartbeat.interval.ms".to_string(),
                reason: "must be less than group.share.session.timeout.ms".to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec 9: the defaults pass Kafka's cross-field rules.
    #[test]
    fn defaults_are_valid() {
        assert_eq!(GroupCoordinatorConfig::default().validate(), Ok(()));
    }

    /// Spec 1.4, 4.1: broker configs by name, inside Kafka's ranges.
    #[test]
    fn broker_configs_by_name() {
        let config = GroupCoordinatorConfig::default()
            .with_entries([
                ("group.share.max.size", "10"),
                ("group.share.record.lock.duration.ms", "5000"),
                ("group.share.min.record.lock.duration.ms", "1000"),
                ("group.share.delivery.count.limit", "3"),
                ("group.share.initialize.retry.interval.ms", "100"),
            ])
            .unwrap();
        assert_eq!(config.max_size, 10);
        assert_eq!(config.record_lock_duration_ms, 5_000);
        assert_eq!(
            config.record_lock_duration_range_ms,
            ConfigRange {
                min: 1_000,
                max: 60_000
            }
        );
        assert_eq!(config.delivery_count_limit, 3);
        assert_eq!(config.initialize_retry_interval_ms, 100);
    }

    /// Spec 1.3, 1.4: values outside Kafka's range are refused with the range named.
    #[test]
    fn out_of_range_broker_values() {
        let mut config = GroupCoordinatorConfig::default();
        let error = config
            .set("group.share.delivery.count.limit", "11")
            .unwrap_err();
        assert!(error.to_string().contains("[2, 10]"), "{error}");
        let error = config
            .set("group.share.record.lock.duration.ms", "999")
            .unwrap_err();
        assert!(error.to_string().contains("[1000, 3600000]"), "{error}");
        assert!(config.set("group.share.max.size", "0").is_err());
        assert!(config.set("group.share.max.size", "many").is_err());
    }

    /// Spec 1.4, 4.1: a default outside its min/max, or a heartbeat interval not below the session
    /// timeout, is a conflict naming the config.
    #[test]
    fn cross_field_rules() {
        let error = GroupCoordinatorConfig::default()
            .with_entries([("group.share.record.lock.duration.ms", "10000")])
            .unwrap_err();
        assert!(matches!(&error, GroupConfigError::Conflict { name, .. }
            if name == "group.share.record.lock.duration.ms"));
        assert!(error.to_string().contains("[15000, 60000]"), "{error}");
        let error = GroupCoordinatorConfig::default()
            .with_entries([
                ("group.share.min.heartbeat.interval.ms", "1000"),
                ("group.share.max.heartbeat.interval.ms", "60000"),
                ("group.share.heartbeat.interval.ms", "50000"),
            ])
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid config `group.share.heartbeat.interval.ms`: must be less than \
             group.share.session.timeout.ms"
        );
        let error = GroupCoordinatorConfig::default()
            .with_entries([("group.share.max.session.timeout.ms", "40000")])
            .unwrap_err();
        assert!(matches!(error, GroupConfigError::Conflict { .. }));
    }

    /// Design principle 6: an unknown broker config name gets the nearest valid one.
    #[test]
    fn unknown_broker_name_suggests_nearest() {
        let error = GroupCoordinatorConfig::default()
            .set("group.share.session.timeout", "45000")
            .unwrap_err();
        assert_eq!(
            error,
            GroupConfigError::UnknownName {
                name: "group.share.session.timeout".into(),
                nearest: "group.share.session.timeout.ms".into(),
            }
        );
    }
}
