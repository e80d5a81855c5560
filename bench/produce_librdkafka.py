#!/usr/bin/python3
"""Produce load with librdkafka (confluent-kafka) for a fixed time; print one JSON line of results.
The loop and the latency sampling are bench/librdkafka_load.py's.
"""
import argparse
import json

from confluent_kafka import Producer

from librdkafka_load import pct, produce_load

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

r = produce_load(p, args.topic, args.size, seconds=args.seconds, rate=args.rate)
acked = r["sent"] - r["unflushed"] - r["errors"]
elapsed = r["seconds"]
print(json.dumps({
    "records": acked,
    "errors": r["errors"],
    "seconds": round(elapsed, 2),
    "records_per_s": round(acked / elapsed),
    "mb_per_s": round(acked * args.size / elapsed / 1e6, 2),
    "p50_ms": pct(r["latencies"], 0.50),
    "p99_ms": pct(r["latencies"], 0.99),
    "latency_samples": len(r["latencies"]),
}))
