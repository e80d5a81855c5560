#!/usr/bin/python3
"""Load for bench/s3: produce a fixed volume (or a fixed rate for a time), or consume a topic from
the beginning with a fresh group. Prints one JSON line of results.

  s3_clients.py produce --bootstrap H:P --topic T --bytes N [--size 1024] [--rate R --seconds S]
  s3_clients.py consume --bootstrap H:P --topic T --bytes N

Produce load and latency sampling are bench/librdkafka_load.py's.
"""
import argparse
import json
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

from librdkafka_load import pct, produce_load

ap = argparse.ArgumentParser()
ap.add_argument("mode", choices=["produce", "consume"])
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--topic", default="bench-s3")
ap.add_argument("--bytes", type=int, default=1 << 30)
ap.add_argument("--size", type=int, default=1024)
ap.add_argument("--rate", type=float, default=0, help="records/s; 0 = as fast as possible")
ap.add_argument("--seconds", type=float, default=0, help="with --rate: stop after this long")
ap.add_argument("--create-topic", action="store_true",
                help="create the topic (1 partition) before sending, so the timed run measures produce, not topic auto-creation")
args = ap.parse_args()


def create_topic():
    from confluent_kafka.admin import AdminClient, NewTopic
    a = AdminClient({"bootstrap.servers": args.bootstrap})
    for f in a.create_topics([NewTopic(args.topic, 1, 1)]).values():
        f.result()
    # Wait until the producer side sees a leader for it.
    deadline = time.perf_counter() + 30
    while time.perf_counter() < deadline:
        md = a.list_topics(args.topic, timeout=5)
        t = md.topics.get(args.topic)
        if t is not None and t.error is None and all(p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.05)
    raise SystemExit(f"topic {args.topic} has no leader after 30 s")


def produce():
    if args.create_topic:
        create_topic()
    p = Producer({
        "bootstrap.servers": args.bootstrap,
        "linger.ms": 5,
        "batch.size": 1048576,
        "acks": "all",
        "queue.buffering.max.kbytes": 262144,
        "queue.buffering.max.messages": 1000000,
    })
    r = produce_load(p, args.topic, args.size, total=args.bytes // args.size,
                     seconds=args.seconds if args.rate > 0 else None, rate=args.rate)
    sent, lat, sent_at, secs = r["sent"], r["latencies"], r["sent_at"], r["seconds"]
    out = {
        "records": sent - r["unflushed"] - r["errors"], "errors": r["errors"] + r["unflushed"], "seconds": round(secs, 2),
        "mb_per_s": round(sent * args.size / secs / 1e6, 1), "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
    }
    if args.rate > 0:
        # Where in the run the tail is (startup, a stall, steady state): p99 by second of sending.
        by_sec = {}
        for t, l in zip(sent_at, lat):
            by_sec.setdefault(int(t), []).append(l)
        out["p99_ms_by_second"] = [pct(by_sec[k], 0.99) for k in sorted(by_sec)]
    print(json.dumps(out))


def consume():
    c = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": "bench-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "fetch.max.bytes": 52428800,
        "max.partition.fetch.bytes": 10485760,
        "queued.max.messages.kbytes": 262144,
    })
    c.subscribe([args.topic])
    got = 0
    records = 0
    start = None
    deadline = time.perf_counter() + 600
    while got < args.bytes and time.perf_counter() < deadline:
        msgs = c.consume(num_messages=10000, timeout=1.0)
        for m in msgs:
            if m.error():
                continue
            if start is None:
                start = time.perf_counter()
            got += len(m.value())
            records += 1
    secs = time.perf_counter() - (start or time.perf_counter())
    c.close()
    print(json.dumps({"records": records, "bytes": got, "seconds": round(secs, 2), "mb_per_s": round(got / max(secs, 1e-9) / 1e6, 1)}))


produce() if args.mode == "produce" else consume()
