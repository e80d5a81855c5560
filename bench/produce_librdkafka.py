#!/usr/bin/python3
"""Produce load with librdkafka (confluent-kafka) for a fixed time; print one JSON line of results.

Latency is measured from produce() to the delivery report for every 8th record (the callback
costs Python time, so sampling keeps the producer itself the bottleneck rather than the probe).
"""
import argparse
import json
import time

from confluent_kafka import Producer

ap = argparse.ArgumentParser()
ap.add_argument("--bootstrap", required=True)
ap.add_argument("--topic", default="bench-produce")
ap.add_argument("--seconds", type=float, default=30)
ap.add_argument("--size", type=int, default=1024)
ap.add_argument("--linger-ms", type=int, default=5)
ap.add_argument("--batch-bytes", type=int, default=1048576)
ap.add_argument("--acks", default="all")
ap.add_argument("--rate", type=float, default=0, help="records/s; 0 = as fast as possible")
args = ap.parse_args()

p = Producer({
    "bootstrap.servers": args.bootstrap,
    "linger.ms": args.linger_ms,
    "batch.size": args.batch_bytes,
    "acks": args.acks,
    "queue.buffering.max.kbytes": 262144,
    "queue.buffering.max.messages": 1000000,
    "message.max.bytes": 2000000,
})

payload = bytes(i % 251 for i in range(args.size))
latencies = []
errors = [0]
delivered = [0]


def report(err, _msg, t0=None):
    if err is not None:
        errors[0] += 1
        return
    if t0 is not None:
        latencies.append(time.perf_counter() - t0)


def on_any(err, _msg):
    if err is not None:
        errors[0] += 1


# Warm-up: connect, learn the topic's leaders and complete one produce before the clock starts,
# so latency figures are the broker's, not the client's start-up (connection, ApiVersions, Metadata).
p.list_topics(args.topic, timeout=10)
p.produce(args.topic, b"warm-up")
if p.flush(10) != 0:
    raise SystemExit("warm-up record was not acknowledged within 10 s")

sent = 0
start = time.perf_counter()
deadline = start + args.seconds
while True:
    now = time.perf_counter()
    if now >= deadline:
        break
    if args.rate > 0:
        due = int((now - start) * args.rate)
        if sent >= due:
            p.poll(0.001)
            continue
        burst = min(512, due - sent)
    else:
        burst = 512
    for _ in range(burst):
        try:
            if sent % 8 == 0:
                t0 = time.perf_counter()
                p.produce(args.topic, payload, on_delivery=lambda e, m, t0=t0: report(e, m, t0))
            else:
                p.produce(args.topic, payload, on_delivery=on_any)
            sent += 1
        except BufferError:
            p.poll(0.005)
            break
    p.poll(0)
remaining = p.flush(60)
elapsed = time.perf_counter() - start
acked = sent - remaining - errors[0]
latencies.sort()


def pct(q):
    if not latencies:
        return None
    return round(latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000, 1)


print(json.dumps({
    "records": acked,
    "errors": errors[0],
    "seconds": round(elapsed, 2),
    "records_per_s": round(acked / elapsed),
    "mb_per_s": round(acked * args.size / elapsed / 1e6, 2),
    "p50_ms": pct(0.50),
    "p99_ms": pct(0.99),
    "latency_samples": len(latencies),
}))
