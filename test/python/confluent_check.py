#!/usr/bin/python3
"""Drives confluent-kafka (librdkafka) for test/clients/confluent-kafka.test.ts.

Run with Debian's /usr/bin/python3 (python3-confluent-kafka is installed there, not in pyenv).
Same command line and JSON-lines output as test/java ClientCheck, so one test driver serves all:

  create-topic --partitions N
  produce      --count N --partitions N --prefix P [--compression C] [--idempotence B] [--acks A]
               record i goes to partition i % partitions, key "k<i>", value "<prefix>-<i>"
  consume      --group G --members M --count N [--timeout-ms T]
               M consumers (one thread each) read until N distinct records arrived, then commit
               synchronously and close; offsets are also committed when partitions are revoked.
  committed    --group G --topic T

Exit codes: 0 ok, 1 client error, 2 bad arguments, 3 timeout.
"""
import argparse
import json
import sys
import threading
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

_lock = threading.Lock()


def emit(obj):
    with _lock:
        sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--mode", required=True, choices=["create-topic", "produce", "consume", "committed"])
    p.add_argument("--bootstrap", required=True)
    p.add_argument("--topic", required=True)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--count", type=int, default=0)
    p.add_argument("--prefix", default="r")
    p.add_argument("--compression", default="none")
    p.add_argument("--idempotence", default="false")
    p.add_argument("--acks", default="all")
    p.add_argument("--group")
    p.add_argument("--members", type=int, default=3)
    p.add_argument("--timeout-ms", type=int, default=120000)
    return p.parse_args()


def create_topic(a):
    admin = AdminClient({"bootstrap.servers": a.bootstrap})
    futures = admin.create_topics([NewTopic(a.topic, num_partitions=a.partitions, replication_factor=1)],
                                  request_timeout=30)
    for f in futures.values():
        f.result(timeout=60)
    emit({"event": "topic-created", "topic": a.topic, "partitions": a.partitions})
    return 0


def produce(a):
    producer = Producer({
        "bootstrap.servers": a.bootstrap,
        "client.id": "confluent-check-producer",
        "acks": a.acks,
        "compression.type": a.compression,
        "enable.idempotence": a.idempotence == "true",
        "linger.ms": 5,
        "message.timeout.ms": 60000,
    })
    counts = {"acked": 0, "errors": 0}

    def on_delivery(err, msg):
        key = msg.key().decode()
        value = msg.value().decode()
        if err is not None:
            counts["errors"] += 1
            emit({"event": "produce-error", "key": key, "value": value, "error": str(err)})
        else:
            counts["acked"] += 1
            emit({"event": "produced", "partition": msg.partition(), "offset": msg.offset(),
                  "key": key, "value": value})

    for i in range(a.count):
        while True:
            try:
                producer.produce(a.topic, key=f"k{i}", value=f"{a.prefix}-{i}",
                                 partition=i % a.partitions, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.1)  # local queue full: serve delivery reports, then retry
        producer.poll(0)
    left = producer.flush(90)
    if left > 0:
        emit({"event": "produce-error", "error": f"{left} records still unacknowledged after flush(90)"})
        counts["errors"] += left
    emit({"event": "produce-done", "acked": counts["acked"], "errors": counts["errors"]})
    return 0 if counts["errors"] == 0 else 1


def consume(a):
    distinct = set()
    state = {"records": 0, "failed": False}
    stop = threading.Event()
    if a.count == 0:
        stop.set()

    def member(m):
        c = Consumer({
            "bootstrap.servers": a.bootstrap,
            "group.id": a.group,
            "client.id": f"{a.group}-m{m}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        })

        def commit_now():
            try:
                c.commit(asynchronous=False)
            except KafkaException as e:
                if e.args[0].code() != KafkaError._NO_OFFSET:  # nothing consumed: nothing to commit
                    raise

        def on_assign(consumer, partitions):
            emit({"event": "assigned", "member": m, "partitions": sorted(p.partition for p in partitions)})

        def on_revoke(consumer, partitions):
            commit_now()
            emit({"event": "revoked", "member": m, "partitions": sorted(p.partition for p in partitions)})

        try:
            c.subscribe([a.topic], on_assign=on_assign, on_revoke=on_revoke)
            while not stop.is_set():
                msg = c.poll(0.1)
                if msg is None:
                    continue
                if msg.error():
                    if msg.error().code() == KafkaError._PARTITION_EOF:
                        continue
                    raise KafkaException(msg.error())
                with _lock:
                    state["records"] += 1
                    distinct.add((msg.partition(), msg.offset()))
                    n = len(distinct)
                emit({"event": "record", "member": m, "partition": msg.partition(), "offset": msg.offset(),
                      "key": msg.key().decode() if msg.key() is not None else None,
                      "value": msg.value().decode()})
                if n >= a.count:
                    stop.set()
            assignment = c.assignment()
            commit_now()
            committed = c.committed(assignment, timeout=30) if assignment else []
            emit({"event": "committed", "member": m,
                  "offsets": {str(tp.partition): tp.offset for tp in committed}})
        except Exception as e:  # noqa: BLE001 - reported to the test as JSON
            state["failed"] = True
            emit({"event": "consumer-error", "member": m, "error": repr(e)})
            stop.set()
        finally:
            c.close()

    threads = [threading.Thread(target=member, args=(m,), daemon=True) for m in range(a.members)]
    for t in threads:
        t.start()
    deadline = time.time() + a.timeout_ms / 1000
    timed_out = not stop.wait(max(0, deadline - time.time()))
    stop.set()
    for t in threads:
        t.join(60)
    if timed_out:
        emit({"event": "timeout", "distinct": len(distinct), "records": state["records"], "expected": a.count})
        return 3
    emit({"event": "consume-done", "distinct": len(distinct), "records": state["records"]})
    return 1 if state["failed"] else 0


def committed(a):
    c = Consumer({"bootstrap.servers": a.bootstrap, "group.id": a.group, "enable.auto.commit": False})
    try:
        md = c.list_topics(a.topic, timeout=30)
        parts = sorted(md.topics[a.topic].partitions.keys())
        res = c.committed([TopicPartition(a.topic, p) for p in parts], timeout=30)
        emit({"event": "committed-offsets", "group": a.group,
              "offsets": {str(tp.partition): (tp.offset if tp.offset >= 0 else None) for tp in res}})
    finally:
        c.close()
    return 0


def main():
    a = parse_args()
    if a.mode in ("consume", "committed") and not a.group:
        print("confluent_check.py: --group is required for " + a.mode, file=sys.stderr)
        return 2
    try:
        return {"create-topic": create_topic, "produce": produce, "consume": consume, "committed": committed}[a.mode](a)
    except Exception as e:  # noqa: BLE001 - reported to the test as JSON
        emit({"event": "error", "error": repr(e)})
        return 1
    finally:
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
