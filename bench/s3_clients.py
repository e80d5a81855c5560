#!/usr/bin/python3
"""Load for bench/s3: produce a fixed volume (or a fixed rate for a time), or consume a topic from
the beginning with a fresh group. Prints one JSON line of results.

  s3_clients.py produce --bootstrap H:P --topic T --bytes N [--size 1024] [--rate R --seconds S]
  s3_clients.py consume --bootstrap H:P --topic T --bytes N

Produce latency is produce() -> delivery report, sampled on every 8th record.
"""
import argparse
import json
import time
import uuid

from confluent_kafka import Consumer, Producer, TopicPartition

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


def pct(xs, q):
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1)


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


def warm_up(p):
    """Connect, learn the topic's leaders and complete one produce before the clock starts, so
    latency figures are the broker's, not the client's start-up (connection, ApiVersions, Metadata)."""
    p.list_topics(args.topic, timeout=10)
    p.produce(args.topic, b"warm-up")
    if p.flush(10) != 0:
        raise SystemExit("warm-up record was not acknowledged within 10 s")


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
    payload = bytes(i % 251 for i in range(args.size))
    total = args.bytes // args.size
    lat, errors = [], [0]

    sent_at = []  # send time (s since start) of each latency sample, for the per-second view

    def on_sampled(err, _m, t0):
        if err is not None:
            errors[0] += 1
        else:
            lat.append(time.perf_counter() - t0)
            sent_at.append(t0 - start)

    def on_any(err, _m):
        if err is not None:
            errors[0] += 1

    warm_up(p)
    sent = 0
    start = time.perf_counter()
    while sent < total:
        now = time.perf_counter()
        if args.rate > 0:
            if args.seconds and now - start >= args.seconds:
                break
            due = int((now - start) * args.rate)
            if sent >= due:
                p.poll(0.002)
                continue
            burst = min(512, due - sent, total - sent)
        else:
            burst = min(512, total - sent)
        for _ in range(burst):
            try:
                if sent % 8 == 0:
                    t0 = time.perf_counter()
                    p.produce(args.topic, payload, on_delivery=lambda e, m, t0=t0: on_sampled(e, m, t0))
                else:
                    p.produce(args.topic, payload, on_delivery=on_any)
                sent += 1
            except BufferError:
                p.poll(0.005)
                break
        p.poll(0)
    left = p.flush(120)
    secs = time.perf_counter() - start
    out = {
        "records": sent - left - errors[0], "errors": errors[0] + left, "seconds": round(secs, 2),
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
