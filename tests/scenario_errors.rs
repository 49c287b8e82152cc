//! One test per kind of scenario-file mistake, each pinning the exact message: file, line, column,
//! field path, what is wrong, what is allowed, and the nearest valid name (design principle 6).

use std::path::Path;

use serde_json::json;
use sharesim::scenario::{load_scenario, parse_vary_arg, ScenarioErrorKind, ScenarioFile};

/// The error for `text`, as the CLI would print it.
fn error_of(text: &str) -> (ScenarioErrorKind, String) {
    match ScenarioFile::parse("bad.json", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(error) => (error.kind, error.to_string()),
    }
}

const BASE_GROUPS: &str = r#"{
  "topics": [{"name": "orders", "partitions": 2}],
  "groups": [
    {"name": "audit"},
    {"name": "workers", "configs": {"share.record.lock.duraton.ms": 15000}}
  ]
}"#;

#[test]
fn unreadable_file() {
    let error = load_scenario(Path::new("/nonexistent/scenario.json")).unwrap_err();
    assert_eq!(error.kind, ScenarioErrorKind::Io);
    assert_eq!(
        error.to_string(),
        "/nonexistent/scenario.json:1:1: cannot read the file: No such file or directory (os error 2)"
    );
}

#[test]
fn not_utf8() {
    let error = ScenarioFile::parse_bytes("bad.json", b"{\n  \"name\": \"\xff\"}").unwrap_err();
    assert_eq!(error.kind, ScenarioErrorKind::Encoding);
    assert_eq!(
        error.to_string(),
        "bad.json:2:12: the file is not valid UTF-8"
    );
}

#[test]
fn json_syntax() {
    assert_eq!(
        error_of("{\n  \"topics\": [\n}"),
        (
            ScenarioErrorKind::Syntax,
            "bad.json:3:1: invalid JSON: expected value".to_string()
        )
    );
    assert_eq!(
        error_of(""),
        (
            ScenarioErrorKind::Syntax,
            "bad.json:1:1: invalid JSON: EOF while parsing a value".to_string()
        )
    );
}

#[test]
fn duplicate_key() {
    assert_eq!(
        error_of("{\"duration_ms\": 1,\n \"duration_ms\": 2}"),
        (
            ScenarioErrorKind::DuplicateKey,
            "bad.json:2:2: duration_ms: duplicate key: this key already appears in the same object\n  \
             hint: JSON keeps only the last one; remove one of them"
                .to_string()
        )
    );
}

#[test]
fn unknown_field_with_nearest_name() {
    assert_eq!(
        error_of("{\"topics\": [\n  {\"name\": \"t\", \"partitons\": 2}\n]}"),
        (
            ScenarioErrorKind::UnknownField,
            "bad.json:2:17: topics[0].partitons: unknown field `partitons`; expected one of `name`, \
             `partitions`, `replication_factor`, `configs`\n  hint: did you mean `partitions`?"
                .to_string()
        )
    );
}

#[test]
fn unknown_field_inside_a_fault() {
    assert_eq!(
        error_of(r#"{"faults": [{"at_ms": 1, "kind": "broker_crash", "brokr": 1}]}"#),
        (
            ScenarioErrorKind::UnknownField,
            "bad.json:1:50: faults[0].brokr: unknown field `brokr`; expected one of `broker`, \
             `lose_unflushed`, `restart_after_ms`\n  hint: did you mean `broker`?"
                .to_string()
        )
    );
}

#[test]
fn missing_field() {
    assert_eq!(
        error_of("{\"topics\": [{\"partitions\": 2}]}"),
        (
            ScenarioErrorKind::MissingField,
            "bad.json:1:13: topics[0]: missing field `name`".to_string()
        )
    );
}

#[test]
fn wrong_type() {
    assert_eq!(
        error_of("{\"topics\": [{\"name\": \"t\", \"partitions\": \"two\"}]}"),
        (
            ScenarioErrorKind::InvalidType,
            "bad.json:1:41: topics[0].partitions: invalid type: string \"two\", expected a non-negative \
             integer below 2^32"
                .to_string()
        )
    );
    // Inside a tagged object the member holding the bad value is found.
    assert_eq!(
        error_of(r#"{"cluster": {"network": {"latency": {"kind": "fixed", "ms": "x"}}}}"#).1,
        "bad.json:1:61: cluster.network.latency.ms: invalid type: string \"x\", expected a non-negative \
         integer"
    );
    assert_eq!(
        error_of("[1, 2]").1,
        "bad.json:1:1: a scenario is a JSON object; found a list"
    );
}

#[test]
fn unknown_enum_value_with_nearest_name() {
    assert_eq!(
        error_of(r#"{"cluster": {"network": {"latency": {"kind": "lognormel", "median_ms": 1}}}}"#),
        (
            ScenarioErrorKind::InvalidType,
            "bad.json:1:46: cluster.network.latency.kind: unknown value `lognormel`; expected one of \
             `fixed`, `uniform`, `exponential`, `lognormal`\n  hint: did you mean `lognormal`?"
                .to_string()
        )
    );
}

#[test]
fn unknown_profile() {
    assert_eq!(
        error_of("{\"profile\": \"kafka-4.3\"}"),
        (
            ScenarioErrorKind::InvalidValue,
            "bad.json:1:13: profile: unknown profile `kafka-4.3`; valid profiles: kafka-4.0, kafka-4.1, \
             kafka-4.2"
                .to_string()
        )
    );
}

#[test]
fn unknown_config_name_with_nearest_name() {
    assert_eq!(
        error_of(BASE_GROUPS),
        (
            ScenarioErrorKind::UnknownConfig,
            "bad.json:5:37: groups[1].configs.\"share.record.lock.duraton.ms\": unknown share group config \
             `share.record.lock.duraton.ms`\n  hint: did you mean `share.record.lock.duration.ms`?"
                .to_string()
        )
    );
}

#[test]
fn config_in_the_wrong_scope() {
    let text = r#"{"groups": [{"name": "w"}],
 "consumers": [{"group": "w", "configs": {"isolation.level": "read_committed"}}]}"#;
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::UnknownConfig,
            "bad.json:2:43: consumers[0].configs.\"isolation.level\": `isolation.level` is not supported by \
             share consumers (Kafka throws a ConfigException)\n  hint: set the group config \
             `share.isolation.level`"
                .to_string()
        )
    );
}

#[test]
fn config_from_a_newer_release() {
    // Spec 6: share.isolation.level exists from 4.1 (the group coordinator's parser says so).
    let text = r#"{"profile": "kafka-4.0",
 "groups": [{"name": "w", "configs": {"share.isolation.level": "read_committed"}}]}"#;
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::UnknownConfig,
            "bad.json:2:39: groups[0].configs.\"share.isolation.level\": config `share.isolation.level` is \
             not supported: share.isolation.level exists from Kafka 4.1; this profile's groups read \
             uncommitted"
                .to_string()
        )
    );
}

#[test]
fn config_value_of_the_wrong_kind() {
    let text = r#"{"groups": [{"name": "w", "configs": {"share.isolation.level": "committed"}}]}"#;
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::InvalidValue,
            "bad.json:1:64: groups[0].configs.\"share.isolation.level\": invalid value `committed` for \
             config \
             `share.isolation.level`: expected read_committed or read_uncommitted"
                .to_string()
        )
    );
    // A table-checked scope (topic) names the allowed values and the default.
    let text = r#"{"topics": [{"name": "t", "configs": {"cleanup.policy": "compacted"}}]}"#;
    assert_eq!(
        error_of(text).1,
        "bad.json:1:57: topics[0].configs.\"cleanup.policy\": invalid value `compacted` for \
         `cleanup.policy`: \
         expected a comma-separated list of `delete`, `compact`\n  hint: the default is `delete`"
    );
}

#[test]
fn config_value_outside_the_broker_bounds() {
    // Spec 9: the group lock duration must lie within group.share.{min,max}.record.lock.duration.ms.
    let text = "{\"groups\": [{\"name\": \"w\",\n  \"configs\": {\"share.record.lock.duration.ms\": 5000}}]}";
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::InvalidValue,
            "bad.json:2:48: groups[0].configs.\"share.record.lock.duration.ms\": invalid value 5000 for \
             config \
             `share.record.lock.duration.ms`: must be in the range [15000, 60000]\n  hint: the range is the \
             broker's `group.share.min.*` / `group.share.max.*` configs in `cluster.configs`"
                .to_string()
        )
    );
    // Lowering the broker minimum admits it.
    let lowered = "{\"cluster\": {\"configs\": {\"group.share.min.record.lock.duration.ms\": 1000}},\n \
                   \"groups\": [{\"name\": \"w\", \"configs\": {\"share.record.lock.duration.ms\": 5000}}]}";
    assert!(ScenarioFile::parse("ok.json", lowered).is_ok());
}

/// Spec 4.1: a share group's session timeout lies within the broker's
/// `group.share.{min,max}.session.timeout.ms` (45 s to 60 s by default), and, as Kafka's
/// `GroupConfig.validateValues` requires, above the group's heartbeat interval.
#[test]
fn share_session_timeout_out_of_the_broker_bounds_or_not_above_the_heartbeat() {
    let text = r#"{"groups": [{"name": "w", "configs": {"share.session.timeout.ms": 10000}}]}"#;
    let (kind, message) = error_of(text);
    assert_eq!(kind, ScenarioErrorKind::InvalidValue);
    assert!(
        message.contains("groups[0].configs.\"share.session.timeout.ms\"")
            && message.contains("must be in the range [45000, 60000]"),
        "{message}"
    );
    // Lowered bounds admit it, but not at or below the heartbeat interval (5 s by default).
    let text = r#"{"cluster": {"configs": {"group.share.min.session.timeout.ms": 1000}},
                   "groups": [{"name": "w", "configs": {"share.session.timeout.ms": 5000}}]}"#;
    let (kind, message) = error_of(text);
    assert_eq!(kind, ScenarioErrorKind::InvalidValue);
    assert!(
        message.contains("groups[0].configs.\"share.session.timeout.ms\"")
            && message.contains(
                "share.session.timeout.ms (5000) must be greater than share.heartbeat.interval.ms (5000)"
            ),
        "{message}"
    );
    let ok = r#"{"cluster": {"configs": {"group.share.min.session.timeout.ms": 1000}},
                 "groups": [{"name": "w", "configs": {"share.session.timeout.ms": 10000}}]}"#;
    assert!(ScenarioFile::parse("ok.json", ok).is_ok());
}

#[test]
fn integer_config_out_of_range() {
    let text = r#"{"cluster": {"configs": {"group.share.delivery.count.limit": 11}}}"#;
    assert_eq!(
        error_of(text).1,
        "bad.json:1:62: cluster.configs.\"group.share.delivery.count.limit\": invalid value 11 for config \
         `group.share.delivery.count.limit`: must be in the range [2, 10]"
    );
    // Kafka's cross-field rule: a broker value lies inside its own min/max pair.
    let text = r#"{"cluster": {"configs": {"group.share.heartbeat.interval.ms": 45000}}}"#;
    assert_eq!(
        error_of(text).1,
        "bad.json:1:63: cluster.configs.\"group.share.heartbeat.interval.ms\": invalid config \
         `group.share.heartbeat.interval.ms`: 45000 must be in the range [5000, 15000] set by \
         group.share.min.heartbeat.interval.ms and group.share.max.heartbeat.interval.ms"
    );
}

#[test]
fn unknown_reference_with_nearest_name() {
    let text = r#"{"groups": [{"name": "workers"}], "consumers": [{"group": "worker"}]}"#;
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::UnknownReference,
            "bad.json:1:59: consumers[0].group: no group `worker`\n  hint: did you mean `workers`?"
                .to_string()
        )
    );
    assert_eq!(
        error_of(r#"{"faults": [{"at_ms": 1, "kind": "broker_crash", "broker": 4}]}"#).1,
        "bad.json:1:60: faults[0].broker: no broker 4: the cluster has brokers 1 to 3"
    );
}

#[test]
fn invalid_metric_bound() {
    assert_eq!(
        error_of(r#"{"expectations": {"metrics": ["duplicate <= 3"]}}"#),
        (
            ScenarioErrorKind::InvalidValue,
            "bad.json:1:31: expectations.metrics[0]: unknown metric `duplicate` in `duplicate <= 3`; did you \
             mean `duplicates`?"
                .to_string()
        )
    );
}

#[test]
fn unknown_swarm_lever() {
    assert_eq!(
        error_of(r#"{"swarm": {"levers": {"broker_crsh": 0.5}}}"#),
        (
            ScenarioErrorKind::UnknownField,
            "bad.json:1:23: swarm.levers.broker_crsh: unknown fault lever `broker_crsh`\n  hint: did you \
             mean \
             `broker_crash`?"
                .to_string()
        )
    );
}

#[test]
fn invalid_sweep_value() {
    let text = r#"{"groups": [{"name": "w"}],
 "sweep": {"groups.w.configs.\"share.record.lock.duration.ms\"": [15000, 1]}}"#;
    assert_eq!(
        error_of(text),
        (
            ScenarioErrorKind::InvalidSweep,
            "bad.json:2:74: sweep.\"groups.w.configs.\\\"share.record.lock.duration.ms\\\"\"[1]: sweeping \
             `groups.w.configs.\"share.record.lock.duration.ms\"` to 1: \
             groups[0].configs.\"share.record.lock.duration.ms\": invalid value 1 for config \
             `share.record.lock.duration.ms`: must be in the range [15000, 60000]\n  hint: the range is the \
             broker's `group.share.min.*` / `group.share.max.*` configs in `cluster.configs` (with \
             groups.w.configs.\"share.record.lock.duration.ms\"=1)"
                .to_string()
        )
    );
}

#[test]
fn invalid_node_reference() {
    assert_eq!(
        error_of(r#"{"cluster": {"clocks": [{"node": "brokr:1"}]}}"#).1,
        "bad.json:1:34: cluster.clocks[0].node: invalid node `brokr:1`: expected `broker:N`, `controller`, \
         `producer:I`, `consumer:I` or `consumer:I/J`"
    );
}

/// `--vary` applies a value at a key path and re-validates.
#[test]
fn vary_applies_and_validates() {
    let text = r#"{"topics": [{"name": "t"}], "groups": [{"name": "workers"}]}"#;
    let file = ScenarioFile::parse("ok.json", text).unwrap();
    let (key, values) =
        parse_vary_arg(r#"groups.workers.configs."share.record.lock.duration.ms"=15000,99"#)
            .unwrap();
    let varied = file
        .with_values(&[(key.clone(), values[0].clone())])
        .unwrap();
    assert_eq!(
        varied.groups[0].configs["share.record.lock.duration.ms"].as_str(),
        "15000"
    );
    let error = file.with_values(&[(key, values[1].clone())]).unwrap_err();
    assert_eq!(error.kind, ScenarioErrorKind::InvalidValue);
    assert_eq!(
        error.to_string(),
        "ok.json:1:40: groups[0].configs.\"share.record.lock.duration.ms\": invalid value 99 for config \
         `share.record.lock.duration.ms`: must be in the range [15000, 60000]\n  hint: the range is the \
         broker's `group.share.min.*` / `group.share.max.*` configs in `cluster.configs` (with \
         groups.workers.configs.\"share.record.lock.duration.ms\"=99)"
    );
    let duration = file
        .with_values(&[("duration_ms".parse().unwrap(), json!(5000))])
        .unwrap();
    assert_eq!(duration.duration_ms, 5000);
}

/// A fault key the levers cannot carry out (a message budget, a per-node filter on a network-wide
/// fault) is refused as unknown, with the valid keys listed; never parsed and ignored.
#[test]
fn fault_keys_no_lever_carries_are_refused() {
    let (kind, message) = error_of(
        r#"{"faults": [{"at_ms": 1, "kind": "rpc_drop", "api": "ShareFetch", "count": 3}]}"#,
    );
    assert_eq!(kind, ScenarioErrorKind::UnknownField);
    assert!(
        message.starts_with("bad.json:1:")
            && message.contains(
                "faults[0].count: unknown field `count`; expected one of `api`, `direction`, \
                 `probability`, `duration_ms`, `delay_ms`"
            ),
        "{message}"
    );
    let (kind, message) = error_of(
        r#"{"faults": [{"at_ms": 1, "kind": "network_loss", "probability": 0.1, "nodes": ["broker:1"]}]}"#,
    );
    assert_eq!(kind, ScenarioErrorKind::UnknownField);
    assert!(
        message.contains(
            "faults[0].nodes: unknown field `nodes`; expected `probability` or `duration_ms`"
        ),
        "{message}"
    );
}

/// A fault field that only another kind uses is refused, naming the kinds it applies to.
#[test]
fn fault_field_of_another_kind_is_refused() {
    let (kind, message) = error_of(
        r#"{"faults": [{"at_ms": 1, "kind": "persister_hold", "hold_ms": 5, "error": "NOT_COORDINATOR"}]}"#,
    );
    assert_eq!(kind, ScenarioErrorKind::InvalidValue);
    assert!(
        message.contains(
            "faults[0].error: `error` does nothing for `persister_hold`: it applies to \
             `persister_fail` only"
        ),
        "{message}"
    );
    let (_, message) = error_of(
        r#"{"faults": [{"at_ms": 1, "kind": "rpc_drop", "api": "ShareFetch", "delay_ms": 5}]}"#,
    );
    assert!(
        message.contains("faults[0].delay_ms: `delay_ms` does nothing for `rpc_drop`"),
        "{message}"
    );
    let (_, message) = error_of(
        r#"{"faults": [{"at_ms": 1, "kind": "partition", "mode": "node", "nodes": ["broker:1"], "step_ms": 5}]}"#,
    );
    assert!(
        message.contains("faults[0].step_ms: `step_ms` applies to"),
        "{message}"
    );
}

/// Spec 5.3: `offset_reset` names a share group and one of its topic's partitions; it is an admin action,
/// never a swarm lever.
#[test]
fn offset_reset_bad_input() {
    let reset = |group: &str, topic: &str, partition: u32| {
        format!(
            r#"{{"topics": [{{"name": "t"}}], "groups": [{{"name": "s"}}, {{"name": "c", "type": "classic"}}],
 "faults": [{{"at_ms": 1, "kind": "offset_reset", "group": "{group}", "topic": "{topic}",
 "partition": {partition}, "start_offset": 0}}]}}"#
        )
    };
    let (_, unknown_group) = error_of(&reset("x", "t", 0));
    assert!(
        unknown_group.contains("faults[0].group: no group `x`"),
        "{unknown_group}"
    );
    let (_, classic) = error_of(&reset("c", "t", 0));
    assert!(
        classic.contains("group `c` is not a share group"),
        "{classic}"
    );
    let (_, topic) = error_of(&reset("s", "u", 0));
    assert!(topic.contains("faults[0].topic"), "{topic}");
    let (_, partition) = error_of(&reset("s", "t", 3));
    assert!(
        partition.contains("faults[0].partition: topic `t` has 1 partitions; no partition 3"),
        "{partition}"
    );
    let (_, negative) = error_of(
        r#"{"topics": [{"name": "t"}], "groups": [{"name": "s"}],
 "faults": [{"at_ms": 1, "kind": "offset_reset", "group": "s", "topic": "t", "start_offset": -1}]}"#,
    );
    assert!(negative.contains("faults[0].start_offset"), "{negative}");
    let (kind, swarm) = error_of(r#"{"swarm": {"levers": {"offset_reset": 0.5}}}"#);
    assert_eq!(kind, ScenarioErrorKind::InvalidValue);
    assert!(swarm.contains("is an admin action"), "{swarm}");
}
