//! Swarm mode: each seed switches on its own subset of fault levers (each with the scenario's
//! probability) and draws fault times and parameters from a seeded RNG. The same seed always draws the
//! same faults, whatever the backend; a backend reports the kinds it cannot simulate as skipped.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::scenario::{Fault, FaultEvent, Scenario, Swarm, FAULT_KINDS};

/// Mixed into the seed so the swarm's draws do not repeat the workload's.
const SWARM_STREAM: u64 = 0x5357_4152_4d5f_4641;

/// The faults seed `seed` draws for `scenario`'s swarm, in time order.
pub fn swarm_faults(scenario: &Scenario, swarm: &Swarm, seed: u64) -> Vec<FaultEvent> {
    let mut rng = StdRng::seed_from_u64(seed ^ SWARM_STREAM);
    let enabled: Vec<&str> = if swarm.levers.is_empty() {
        FAULT_KINDS
            .iter()
            .copied()
            .filter(|_| rng.gen_bool(0.5))
            .collect()
    } else {
        swarm
            .levers
            .iter()
            .filter(|(_, probability)| rng.gen_bool(probability.clamp(0.0, 1.0)))
            .map(|(kind, _)| kind.as_str())
            .collect()
    };
    let mut events = Vec::new();
    if enabled.is_empty() {
        return events;
    }
    let mean_ms = swarm.mean_interval_ms.max(1) as f64;
    let mut at_ms = 0u64;
    while events.len() < swarm.max_faults as usize {
        let u: f64 = rng.gen_range(f64::EPSILON..1.0);
        at_ms += (-u.ln() * mean_ms).ceil() as u64;
        if at_ms >= scenario.duration_ms {
            break;
        }
        let kind = enabled[rng.gen_range(0..enabled.len())];
        let body = fault_body(kind, scenario, swarm, &mut rng);
        if let Ok(fault) = serde_json::from_value::<Fault>(body) {
            events.push(FaultEvent { at_ms, fault });
        }
    }
    events
}

/// The JSON of one fault of `kind` with drawn parameters (as a scenario file would write it).
fn fault_body(kind: &str, scenario: &Scenario, swarm: &Swarm, rng: &mut StdRng) -> Value {
    let window_ms = rng.gen_range(1..=swarm.max_fault_duration_ms.max(1));
    let brokers = scenario.cluster.brokers.max(1);
    let broker = rng.gen_range(1..=brokers);
    let consumer = if scenario.consumers.is_empty() {
        "consumer:0".to_string()
    } else {
        let entry = rng.gen_range(0..scenario.consumers.len());
        let instance = rng.gen_range(0..scenario.consumers[entry].count.max(1));
        format!("consumer:{entry}/{instance}")
    };
    let (topic, partitions) = scenario
        .topics
        .get(rng.gen_range(0..scenario.topics.len().max(1)))
        .map_or(("t".to_string(), 1), |t| {
            (t.name.clone(), t.partitions.max(1))
        });
    let partition = rng.gen_range(0..partitions);
    let mut body = match kind {
        "broker_crash" => json!({"broker": broker, "restart_after_ms": window_ms}),
        "broker_restart" => json!({"broker": broker}),
        "partition" => json!({"mode": "node", "nodes": [format!("broker:{broker}")],
                               "duration_ms": window_ms}),
        "network_delay" => json!({"delay": {"kind": "uniform", "min_ms": 1, "max_ms": 200},
                                   "duration_ms": window_ms}),
        "network_loss" | "network_duplicate" => {
            json!({"probability": rng.gen_range(0.01..0.2), "duration_ms": window_ms})
        }
        "network_reorder" => {
            json!({"probability": 0.1, "max_delay_ms": 50, "duration_ms": window_ms})
        }
        "rpc_drop" | "rpc_hold" | "rpc_delay" => {
            let apis = ["ShareFetch", "ShareAcknowledge", "ShareGroupHeartbeat"];
            json!({"api": apis[rng.gen_range(0..apis.len())], "probability": 0.5,
                   "duration_ms": window_ms, "delay_ms": 500})
        }
        "persister_hold"
        | "persister_fail"
        | "persister_timeout"
        | "persister_reorder"
        | "persister_duplicate" => {
            json!({"probability": rng.gen_range(0.1..1.0), "duration_ms": window_ms, "hold_ms": 500})
        }
        "lock_timer_race" => json!({"order": "random", "duration_ms": window_ms}),
        "leadership_bounce" => json!({"topic": topic, "partition": partition,
                                       "back_after_ms": window_ms}),
        "zombie_leader" => {
            json!({"topic": topic, "partition": partition, "duration_ms": window_ms})
        }
        "share_coordinator_failover" | "group_coordinator_failover" | "heal" => json!({}),
        "consumer_crash" => json!({"consumer": consumer, "restart_after_ms": window_ms}),
        "consumer_stall" => json!({"consumer": consumer, "stall_ms": window_ms}),
        "consumer_reconnect_late_close" => {
            json!({"consumer": consumer, "close_delay_ms": rng.gen_range(1..=1000)})
        }
        "clock_skew" => {
            json!({"node": format!("broker:{broker}"), "skew_ms": rng.gen_range(-500..=500)})
        }
        // Levers that remove data (log-start moves, compaction, corrupt batches) are opt-in only.
        _ => return Value::Null,
    };
    body["kind"] = Value::String(kind.to_string());
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::parse_scenario;

    /// The same seed draws the same faults, another seed others, all within the duration.
    #[test]
    fn swarm_draws_are_seeded() {
        let text = r#"{"duration_ms": 30000, "topics": [{"name": "t"}], "groups": [{"name": "g"}],
            "consumers": [{"group": "g", "count": 2}],
            "swarm": {"levers": {"broker_crash": 1.0, "consumer_crash": 1.0}, "mean_interval_ms": 2000}}"#;
        let scenario = parse_scenario("swarm.json", text).unwrap();
        let swarm = scenario.swarm.clone().unwrap();
        let first = swarm_faults(&scenario, &swarm, 7);
        assert_eq!(first, swarm_faults(&scenario, &swarm, 7));
        assert_ne!(first, swarm_faults(&scenario, &swarm, 8));
        assert!(!first.is_empty());
        assert!(first.iter().all(|event| event.at_ms < 30_000));
        assert!(first
            .iter()
            .all(|event| matches!(event.fault.kind(), "broker_crash" | "consumer_crash")));
    }
}
