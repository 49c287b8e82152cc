#!/usr/bin/env python3
"""The real-client check of `sharesim serve` (issue 9): librdkafka (confluent-kafka) against the live broker.

A producer writes RECORDS records to a 3-partition topic; four ShareConsumers in one share group, in explicit
acknowledgement mode, ACCEPT most records, RELEASE some once (redelivered with a higher delivery count),
REJECT a few (never redelivered); one consumer closes in the middle of a batch and its unacknowledged
records reach the others. Asserted from the client's side: every record is accepted or rejected exactly as
the policy says, nothing is lost, and delivery counts go 1, 2, ... (spec 1.4: a RELEASE, a session release
and a lock expiry leave the count unchanged; the next acquisition increments it). The broker's side (the
oracle on the live trace) is checked by the driver script when the server exits.

Usage: librdkafka_check.py --bootstrap 127.0.0.1:PORT [--records N] [--debug]
Prints one JSON line of figures at the end; exit 0 only when every assertion holds.
"""

import argparse
import json
import sys
import threading
import time

from confluent_kafka import AcknowledgeType, KafkaException, Producer, ShareConsumer
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

TOPIC = "live-orders"
GROUP = "live-share"
PARTITIONS = 3
CONSUMERS = 4
# The consumer that closes in the middle of its first sizeable batch.
CLOSER = 3
DEADLINE_S = 240


def policy(index):
    """What the application does with record `index` on its first delivery."""
    if index % 97 == 5:
        return "reject"
    if index % 13 == 7:
        return "release"
    return "accept"


class Ledger:
    """Every delivery and acknowledgement the consumers saw, shared by their threads."""

    def __init__(self, records):
        self.lock = threading.Lock()
        self.records = records
        self.deliveries = {}  # index -> [(consumer, delivery_count)]
        self.accepted = {}  # index -> count of committed ACCEPTs
        self.rejected = {}  # index -> count of committed REJECTs
        self.released = {}  # index -> count of committed RELEASEs
        self.after_final = []  # deliveries of records already accepted or rejected
        self.errors = []
        self.first_delivery_s = None
        self.last_final_s = None

    def finished(self):
        with self.lock:
            return len(self.accepted) + len(self.rejected) >= self.records

    def note_delivery(self, consumer, index, delivery_count):
        with self.lock:
            if self.first_delivery_s is None:
                self.first_delivery_s = time.monotonic()
            if index in self.accepted or index in self.rejected:
                self.after_final.append((consumer, index, delivery_count))
            self.deliveries.setdefault(index, []).append((consumer, delivery_count))

    def note_committed(self, acks):
        with self.lock:
            for index, kind in acks:
                table = {"accept": self.accepted, "reject": self.rejected, "release": self.released}[kind]
                table[index] = table.get(index, 0) + 1
            if len(self.accepted) + len(self.rejected) >= self.records and self.last_final_s is None:
                self.last_final_s = time.monotonic()

    def error(self, message):
        with self.lock:
            self.errors.append(message)


def consumer_config(bootstrap, name, debug):
    config = {
        "bootstrap.servers": bootstrap,
        "group.id": GROUP,
        "client.id": name,
        "share.acknowledgement.mode": "explicit",
    }
    if debug:
        config["debug"] = "protocol,broker,cgrp"
    return config


def run_consumer(number, bootstrap, ledger, stop, debug):
    name = f"share-consumer-{number}"
    consumer = ShareConsumer(consumer_config(bootstrap, name, debug))
    consumer.subscribe([TOPIC])
    closed = False
    try:
        while not stop.is_set() and not ledger.finished():
            try:
                messages = consumer.poll(0.5)
            except KafkaException as error:
                ledger.error(f"{name}: poll failed: {error}")
                continue
            if not messages:
                continue
            acks = []
            batch = list(messages)
            # The closer acknowledges half of its first batch of 4 or more, then closes (mid-batch).
            closing = number == CLOSER and len(batch) >= 4
            if closing:
                batch_to_ack = batch[: len(batch) // 2]
            else:
                batch_to_ack = batch
            for message in batch:
                if message.error():
                    ledger.error(f"{name}: message error {message.error()}")
                    continue
                index = int(message.value().decode())
                ledger.note_delivery(name, index, message.delivery_count())
            for message in batch_to_ack:
                if message.error():
                    continue
                index = int(message.value().decode())
                kind = policy(index)
                # A record to release is released on its first delivery only.
                if kind == "release" and (message.delivery_count() or 1) > 1:
                    kind = "accept"
                ack_type = {
                    "accept": AcknowledgeType.ACCEPT,
                    "release": AcknowledgeType.RELEASE,
                    "reject": AcknowledgeType.REJECT,
                }[kind]
                consumer.acknowledge(message, ack_type)
                acks.append((index, kind))
            if closing:
                consumer.close()
                closed = True
                ledger.note_committed(acks)
                return
            results = consumer.commit_sync(30)
            failed = {tp: e for tp, e in (results or {}).items() if e is not None}
            if failed:
                ledger.error(f"{name}: commit failed: {failed}")
            else:
                ledger.note_committed(acks)
    finally:
        if not closed:
            consumer.close()


def produce(bootstrap, records):
    # Idempotent (InitProducerId, then sequence numbers per partition), as the Java client's default is.
    # Batches as librdkafka makes them: the oracle allows an acquisition to overshoot the in-flight cap
    # (group.share.partition.max.record.locks) by the largest log batch acquired (spec 1.5).
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": "all", "enable.idempotence": True})
    failures = []

    def on_delivery(error, _message):
        if error is not None:
            failures.append(str(error))

    started = time.monotonic()
    for index in range(records):
        producer.produce(TOPIC, value=str(index).encode(), partition=index % PARTITIONS, on_delivery=on_delivery)
        producer.poll(0)
    remaining = producer.flush(60)
    elapsed = time.monotonic() - started
    if remaining or failures:
        raise SystemExit(f"produce failed: {remaining} undelivered, errors {failures[:5]}")
    return elapsed


def setup(bootstrap, replication):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(TOPIC, num_partitions=PARTITIONS, replication_factor=replication)])
    for future in futures.values():
        future.result(30)
    # Share groups start at the latest offset (share.auto.offset.reset=latest); this group must see the
    # records produced before it joins: set its group config over the wire (IncrementalAlterConfigs on a
    # GROUP resource), then read it back (DescribeConfigs).
    resource = ConfigResource(
        ResourceType.GROUP,
        GROUP,
        incremental_configs=[ConfigEntry("share.auto.offset.reset", "earliest", incremental_operation=AlterConfigOpType.SET)],
    )
    for future in admin.incremental_alter_configs([resource]).values():
        future.result(30)
    described = admin.describe_configs([ConfigResource(ResourceType.GROUP, GROUP)])
    for future in described.values():
        configs = future.result(30)
        entry = configs.get("share.auto.offset.reset")
        if entry is None or entry.value != "earliest":
            raise SystemExit(f"share.auto.offset.reset reads back as {entry!r}, expected earliest")
    # A value outside the broker's bounds is refused with INVALID_CONFIG and changes nothing.
    bad = ConfigResource(
        ResourceType.GROUP,
        GROUP,
        incremental_configs=[ConfigEntry("share.record.lock.duration.ms", "1000", incremental_operation=AlterConfigOpType.SET)],
    )
    try:
        for future in admin.incremental_alter_configs([bad]).values():
            future.result(30)
        raise SystemExit("share.record.lock.duration.ms=1000 was accepted; the minimum is 15000")
    except KafkaException as error:
        if error.args[0].name() != "INVALID_CONFIG":
            raise SystemExit(f"share.record.lock.duration.ms=1000 refused with {error.args[0].name()}, expected INVALID_CONFIG")


def check(ledger, records):
    problems = list(ledger.errors)
    for index in range(records):
        deliveries = ledger.deliveries.get(index, [])
        kind = policy(index)
        if not deliveries:
            problems.append(f"record {index} never delivered")
            continue
        counts = [dc for _, dc in deliveries]
        if counts != list(range(1, len(counts) + 1)):
            problems.append(f"record {index}: delivery counts {counts}, expected 1, 2, ...")
        if kind == "reject":
            if ledger.rejected.get(index, 0) != 1 or index in ledger.accepted:
                problems.append(f"record {index}: rejected {ledger.rejected.get(index, 0)} times, accepted {ledger.accepted.get(index, 0)}")
        else:
            if ledger.accepted.get(index, 0) != 1 or index in ledger.rejected:
                problems.append(f"record {index}: accepted {ledger.accepted.get(index, 0)} times, rejected {ledger.rejected.get(index, 0)}")
        if kind == "release" and len(counts) < 2:
            problems.append(f"record {index}: released but delivered only once")
    if ledger.after_final:
        problems.append(f"{len(ledger.after_final)} deliveries after a final acknowledgement, e.g. {ledger.after_final[:3]}")
    closer = f"share-consumer-{CLOSER}"
    closer_records = [i for i, ds in ledger.deliveries.items() if any(c == closer for c, _ in ds)]
    orphaned = [i for i in closer_records if ledger.deliveries[i][-1][0] == closer and policy(i) != "reject"
                and ledger.accepted.get(i, 0) == 0]
    if orphaned:
        problems.append(f"records delivered to the closed consumer never reached another: {orphaned[:10]}")
    return problems


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--replication", type=int, default=1)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args()

    setup(args.bootstrap, args.replication)
    produce_s = produce(args.bootstrap, args.records)
    ledger = Ledger(args.records)
    stop = threading.Event()
    threads = [
        threading.Thread(target=run_consumer, args=(n, args.bootstrap, ledger, stop, args.debug), daemon=True)
        for n in range(CONSUMERS)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    while not ledger.finished() and time.monotonic() - started < DEADLINE_S:
        time.sleep(0.2)
    # A little longer: nothing accepted or rejected may come back.
    time.sleep(2.0)
    stop.set()
    for thread in threads:
        thread.join(60)
    problems = check(ledger, args.records)
    consume_s = (ledger.last_final_s or time.monotonic()) - (ledger.first_delivery_s or started)
    deliveries = sum(len(d) for d in ledger.deliveries.values())
    figures = {
        "records": args.records,
        "produce_records_per_s": round(args.records / produce_s),
        "consume_records_per_s": round(args.records / consume_s) if consume_s > 0 else None,
        "deliveries": deliveries,
        "redeliveries": deliveries - len(ledger.deliveries),
        "accepted": len(ledger.accepted),
        "rejected": len(ledger.rejected),
        "released": sum(ledger.released.values()),
        "problems": len(problems),
    }
    print(json.dumps(figures))
    for problem in problems[:30]:
        print("PROBLEM:", problem, file=sys.stderr)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
