//! The scenario fields the engine backend does not carry out, by field path. A run lists them in its
//! notes (the terminal summary and the report show them), so a field is never ignored silently; the
//! madsim cluster backend carries them out.

use crate::scenario::{Cluster, Scenario};

/// Producer configs the engine backend's producers apply.
const PRODUCER_CONFIGS_APPLIED: &[&str] = &["batch.size", "linger.ms", "partitioner.ignore.keys"];
/// Consumer configs the engine backend's consumers apply.
const CONSUMER_CONFIGS_APPLIED: &[&str] = &["max.poll.records", "share.acquire.mode"];

/// The paths of every field `scenario` sets (to other than its default) that the engine backend does
/// not simulate, each with why, in file order.
pub(super) fn unsimulated_fields(scenario: &Scenario) -> Vec<String> {
    let defaults = Cluster::default();
    let cluster = &scenario.cluster;
    let mut fields = Vec::new();
    let mut note = |path: String, why: &str| fields.push(format!("{path} ({why})"));
    if cluster.controller != defaults.controller {
        note("cluster.controller".into(), "no controller node");
    }
    if cluster.network.latency != defaults.network.latency {
        note("cluster.network.latency".into(), "no network");
    }
    if cluster.network.packet_loss != defaults.network.packet_loss {
        note("cluster.network.packet_loss".into(), "no network");
    }
    for index in 0..cluster.clocks.len() {
        note(
            format!("cluster.clocks[{index}]"),
            "engines read one virtual clock",
        );
    }
    for name in cluster.configs.keys() {
        if !name.starts_with("group.share.") && !name.starts_with("group.coordinator.") {
            note(format!("cluster.configs.{name}"), "no broker process");
        }
    }
    for (index, topic) in scenario.topics.iter().enumerate() {
        if topic.replication_factor.is_some() {
            note(
                format!("topics[{index}].replication_factor"),
                "no replication",
            );
        }
        for name in topic.configs.keys() {
            note(format!("topics[{index}].configs.{name}"), "no log layer");
        }
    }
    for (index, producer) in scenario.producers.iter().enumerate() {
        if producer.transactions.is_some() {
            note(
                format!("producers[{index}].transactions"),
                "no transaction coordinator",
            );
        }
        for name in producer.configs.keys() {
            if !PRODUCER_CONFIGS_APPLIED.contains(&name.as_str()) {
                note(
                    format!("producers[{index}].configs.{name}"),
                    "no producer client",
                );
            }
        }
    }
    for (index, consumer) in scenario.consumers.iter().enumerate() {
        for (name, value) in &consumer.configs {
            // The applications acknowledge each record by their policy: explicit mode.
            let explicit_mode =
                name == "share.acknowledgement.mode" && value.as_str() == "explicit";
            if !CONSUMER_CONFIGS_APPLIED.contains(&name.as_str()) && !explicit_mode {
                note(
                    format!("consumers[{index}].configs.{name}"),
                    "no share-consumer client",
                );
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    /// Every field the engine does not simulate is named by its path; applied ones are not.
    #[test]
    fn unsimulated_fields_are_named_by_path() {
        let text = r#"{"duration_ms": 1000,
            "cluster": {"network": {"latency": {"kind": "fixed", "ms": 3}, "packet_loss": 0.01},
                        "configs": {"group.share.delivery.count.limit": 4}},
            "topics": [{"name": "t", "replication_factor": 2}],
            "groups": [{"name": "g"}],
            "producers": [{"topic": "t", "configs": {"acks": "all", "linger.ms": 5}}],
            "consumers": [{"group": "g", "configs": {"max.poll.records": 10}}]}"#;
        let scenario = parse_scenario("engine.json", text).unwrap();
        let paths: Vec<String> = unsimulated_fields(&scenario)
            .into_iter()
            .map(|field| field.split(' ').next().unwrap().to_string())
            .collect();
        assert_eq!(
            paths,
            [
                "cluster.network.latency",
                "cluster.network.packet_loss",
                "topics[0].replication_factor",
                "producers[0].configs.acks"
            ]
        );
    }
}
