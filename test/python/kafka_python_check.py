#!/usr/bin/python3
"""Drives kafka-python for test/clients/kafka-python.test.ts.

Run with Debian's /usr/bin/python3 (python3-kafka, python3-snappy, python3-lz4 and
python3-zstandard are installed there, not in pyenv). Same command line and JSON-lines output as
test/java ClientCheck and confluent_check.py:

  create-topic --partitions N
  produce      --count N --partitions N --prefix P [--compression C] [--acks A]
               record i goes to partition i % partitions, key "k<i>", value "<prefix>-<i>"
               (kafka-python has no idempotent producer)
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

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.consumer.subscription_state import ConsumerRebalanceListener

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
    admin = KafkaAdminClient(bootstrap_servers=a.bootstrap, client_id="kafka-python-check-admin")
    try:
        res = admin.create_topics([NewTopic(name=a.topic, num_partitions=a.partitions, replication_factor=1)],
                                  timeout_ms=30000)
        for topic, code, message in getattr(res, "topic_errors", []):
            if code != 0:
                raise RuntimeError(f"CreateTopics {topic}: error {code} {message}")
    finally:
        admin.close()
    emit({"event": "topic-created", "topic": a.topic, "partitions": a.partitions})
    return 0


def produce(a):
    if a.idempotence == "true":
        print("kafka_python_check.py: kafka-python has no idempotent producer", file=sys.stderr)
        return 2
    producer = KafkaProducer(
        bootstrap_servers=a.bootstrap,
        client_id="kafka-python-check-producer",
        acks=-1 if a.acks == "all" else int(a.acks),
        compression_type=None if a.compression == "none" else a.compression,
        linger_ms=5,
        request_timeout_ms=30000,
    )
    counts = {"acked": 0, "errors": 0}

    def ok(key, value):
        def cb(md):
            counts["acked"] += 1
            emit({"event": "produced", "partition": md.partition, "offset": md.offset, "key": key, "value": value})
        return cb

    def failed(key, value):
        def cb(exc):
            counts["errors"] += 1
            emit({"event": "produce-error", "key": key, "value": value, "error": repr(exc)})
        return cb

    try:
        for i in range(a.count):
            key, value = f"k{i}", f"{a.prefix}-{i}"
            fut = producer.send(a.topic, key=key.encode(), value=value.encode(), partition=i % a.partitions)
            fut.add_callback(ok(key, value))
            fut.add_errback(failed(key, value))
        producer.flush(timeout=90)
    finally:
        producer.close(timeout=30)
    missing = a.count - counts["acked"] - counts["errors"]
    if missing > 0:
        emit({"event": "produce-error", "error": f"{missing} records neither acked nor failed after flush"})
        counts["errors"] += missing
    emit({"event": "produce-done", "acked": counts["acked"], "errors": counts["errors"]})
    return 0 if counts["errors"] == 0 else 1


def consume(a):
    distinct = set()
    state = {"records": 0, "failed": False}
    stop = threading.Event()
    if a.count == 0:
        stop.set()

    def member(m):
        c = None
        try:
            c = KafkaConsumer(
                bootstrap_servers=a.bootstrap,
                group_id=a.group,
                client_id=f"{a.group}-m{m}",
                auto_offset_reset="earliest",
                enable_auto_commit=False,
            )

            class Listener(ConsumerRebalanceListener):
                def on_partitions_revoked(self, revoked):
                    if revoked:
                        c.commit()
                    emit({"event": "revoked", "member": m, "partitions": sorted(tp.partition for tp in revoked)})

                def on_partitions_assigned(self, assigned):
                    emit({"event": "assigned", "member": m, "partitions": sorted(tp.partition for tp in assigned)})

            c.subscribe([a.topic], listener=Listener())
            while not stop.is_set():
                batches = c.poll(timeout_ms=100)
                for tp, records in batches.items():
                    for r in records:
                        with _lock:
                            state["records"] += 1
                            distinct.add((r.partition, r.offset))
                        emit({"event": "record", "member": m, "partition": r.partition, "offset": r.offset,
                              "key": r.key.decode() if r.key is not None else None, "value": r.value.decode()})
                with _lock:
                    n = len(distinct)
                if n >= a.count:
                    stop.set()
            assignment = c.assignment()
            if assignment:
                c.commit()
            emit({"event": "committed", "member": m,
                  "offsets": {str(tp.partition): c.committed(tp) for tp in assignment}})
        except Exception as e:  # noqa: BLE001 - reported to the test as JSON
            state["failed"] = True
            emit({"event": "consumer-error", "member": m, "error": repr(e)})
            stop.set()
        finally:
            if c is not None:
                c.close(autocommit=False)

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
    admin = KafkaAdminClient(bootstrap_servers=a.bootstrap, client_id="kafka-python-check-admin")
    try:
        res = admin.list_consumer_group_offsets(a.group)
        emit({"event": "committed-offsets", "group": a.group,
              "offsets": {str(tp.partition): om.offset for tp, om in sorted(res.items()) if tp.topic == a.topic}})
    finally:
        admin.close()
    return 0


def main():
    a = parse_args()
    if a.mode in ("consume", "committed") and not a.group:
        print("kafka_python_check.py: --group is required for " + a.mode, file=sys.stderr)
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
