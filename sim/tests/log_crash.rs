#![cfg(madsim)]
//! The durability model under madsim: a broker node killed mid-stream restarts with exactly its flushed
//! batches, and appends continue contiguously from there.

use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use madsim::runtime::Handle;
use madsim::time::sleep;
use sharesim_sim::log::{
    encode_data_batch, LogConfig, LogStore, ProducerIdentity, ProducerRecord, TopicPartition,
};

const APPEND_EVERY: Duration = Duration::from_millis(10);

/// Durability: a kill loses exactly the unflushed suffix; the log restarts from its disk image.
#[madsim::test]
async fn kill_loses_exactly_the_unflushed_suffix() {
    let store = LogStore::new();
    let orders = TopicPartition::new("orders", 0);
    store.create(orders.clone(), LogConfig::default());
    let starts: Arc<Mutex<Vec<i64>>> = Arc::default();
    let (node_store, node_starts, node_partition) = (store.clone(), starts.clone(), orders.clone());
    let broker = Handle::current()
        .create_node()
        .name("broker-1")
        .ip(IpAddr::from([10, 0, 0, 1]))
        .init(move || {
            let (store, starts, partition) = (
                node_store.clone(),
                node_starts.clone(),
                node_partition.clone(),
            );
            async move {
                // Restart after a kill: the page cache is gone.
                store.recover_all();
                let start = store
                    .with_log(&partition, |log| log.log_end_offset())
                    .unwrap();
                starts.lock().unwrap().push(start);
                let records = [ProducerRecord::new(Some(b"k"), Some(b"v"), 0)];
                let batch = encode_data_batch(ProducerIdentity::NONE, 0, false, &records).unwrap();
                for appended in 1u64.. {
                    sleep(APPEND_EVERY).await;
                    store.with_log(&partition, |log| {
                        log.append_as_leader(&batch, 0, 0).unwrap();
                        log.update_high_watermark(log.log_end_offset());
                        if appended % 4 == 0 {
                            log.flush();
                        }
                    });
                }
            }
        })
        .build();

    sleep(Duration::from_millis(1_025)).await;
    let (image, live_end) = store
        .with_log(&orders, |log| (log.disk_image(), log.log_end_offset()))
        .unwrap();
    let flushed_end = image.batches.last().map_or(0, |b| b.last_offset() + 1);
    assert!(
        live_end > flushed_end,
        "some data is unflushed: {live_end} > {flushed_end}"
    );
    Handle::current().kill(broker.id());
    sleep(Duration::from_millis(100)).await;
    assert_eq!(
        store.with_log(&orders, |log| log.log_end_offset()),
        Some(live_end),
        "memory kept while down"
    );

    Handle::current().restart(broker.id());
    sleep(Duration::from_millis(5)).await;
    assert_eq!(*starts.lock().unwrap(), vec![0, flushed_end]);
    store.with_log(&orders, |log| {
        assert_eq!(log.batches(), &image.batches[..]);
        assert!(log.high_watermark() <= log.log_end_offset());
        assert_eq!(log.flushed_offset(), flushed_end);
    });

    sleep(Duration::from_millis(50)).await;
    store.with_log(&orders, |log| {
        let next = &log.batches()[image.batches.len()];
        assert_eq!(
            next.base_offset(),
            flushed_end,
            "appends continue from the recovered end"
        );
    });
}
