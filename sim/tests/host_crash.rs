#![cfg(madsim)]
//! A host crash (broker crash with unflushed-data loss) loses what the host's kernel had not delivered
//! yet. madsim's reliable channels retry a clogged link from the receiving side, so without
//! `NetFaults::host_crashed` a dead broker's BrokerHeartbeats, held by a clogged link, reached the
//! controller when the link healed and renewed the dead broker's session (cluster swarm seed 176: the
//! controller then fenced the live replicas first, kept the dead leader as the last ISR member and
//! elected it again with its log short of committed `__share_group_state` records).

use std::time::Duration;

use madsim::net::NetSim;
use madsim::time::sleep;
use sharesim_sim::broker::ClusterEvent;
use sharesim_sim::harness::{SimCluster, SimClusterConfig};
use sharesim_sim::trace::TraceEvent;

/// The controller's `broker.session.timeout.ms` (Kafka's default).
const SESSION_TIMEOUT_MS: u64 = 9_000;

fn now_ms() -> u64 {
    madsim::time::TimeHandle::current().elapsed().as_millis() as u64
}

/// When the controller fenced `broker_id`, if it did.
fn fenced_at_ms(cluster: &SimCluster, broker_id: i32) -> Option<u64> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .expect("kept")
            .iter()
            .find_map(|record| match &record.event {
                TraceEvent::Cluster {
                    event: ClusterEvent::BrokerFenced { broker_id: id, .. },
                } if *id == broker_id => Some(record.at_ms),
                _ => None,
            })
    })
}

/// Design "Fault levers" (broker crash with unflushed-data loss): heartbeats a crashed broker sent into
/// a clogged link die with it; the controller fences it one session timeout after the last heartbeat
/// that got through before the clog, not one session timeout after the link healed.
#[madsim::test]
async fn a_crashed_brokers_held_heartbeats_do_not_reach_the_controller() {
    let config = SimClusterConfig {
        keep_trace_records: true,
        ..SimClusterConfig::default()
    };
    let cluster = SimCluster::start(config).await;
    sleep(Duration::from_secs(5)).await;
    assert_eq!(
        fenced_at_ms(&cluster, 2),
        None,
        "registered and heartbeating"
    );
    let broker = cluster.broker_node_id(2).expect("broker 2");
    let controller = cluster.controller_node_id();
    let clogged_at_ms = now_ms();
    NetSim::current().clog_link(broker, controller);
    // More than a heartbeat interval (2 s): a heartbeat waits behind the clog. The link heals soon
    // after the crash, so madsim's retries would deliver it well before the session runs out.
    sleep(Duration::from_millis(2_500)).await;
    let crashed_at_ms = now_ms();
    cluster.kill_broker(2, true);
    sleep(Duration::from_millis(500)).await;
    let healed_at_ms = now_ms();
    NetSim::current().unclog_link(broker, controller);
    sleep(Duration::from_secs(30)).await;

    let fenced_at_ms = fenced_at_ms(&cluster, 2).expect("the dead broker is fenced");
    assert!(
        fenced_at_ms <= clogged_at_ms + SESSION_TIMEOUT_MS,
        "fenced at {fenced_at_ms} ms: a heartbeat sent before the crash renewed the session after \
         the link healed at {healed_at_ms} ms (clogged at {clogged_at_ms} ms)"
    );
    assert_eq!(
        unfenced_after_ms(&cluster, 2, crashed_at_ms),
        None,
        "a heartbeat of the dead broker unfenced it"
    );
}

/// When the controller unfenced `broker_id` after `after_ms`, if it did.
fn unfenced_after_ms(cluster: &SimCluster, broker_id: i32, after_ms: u64) -> Option<u64> {
    cluster.trace().with(|trace| {
        trace
            .records()
            .expect("kept")
            .iter()
            .find_map(|record| match &record.event {
                TraceEvent::Cluster {
                    event: ClusterEvent::BrokerUnfenced { broker_id: id, .. },
                } if *id == broker_id && record.at_ms > after_ms => Some(record.at_ms),
                _ => None,
            })
    })
}
