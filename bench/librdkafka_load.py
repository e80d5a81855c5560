"""Shared produce load for the benchmarks (bench/produce, bench/s3): one loop, one way to measure.

Latency is produce() -> delivery report, sampled on every 8th record (the callback costs Python
time, so sampling keeps the producer, not the probe, the bottleneck). The producer is warmed up
(connection, ApiVersions, Metadata, one acknowledged record) before the clock starts, so the
figures are the broker's, not the client's start-up.
"""
import time


def pct(xs, q):
    """q-quantile of seconds, in ms (one decimal), or None for no samples."""
    if not xs:
        return None
    xs = sorted(xs)
    return round(xs[min(len(xs) - 1, int(q * len(xs)))] * 1000, 1)


def warm_up(p, topic):
    p.list_topics(topic, timeout=10)
    p.produce(topic, b"warm-up")
    if p.flush(10) != 0:
        raise SystemExit("warm-up record was not acknowledged within 10 s")


def produce_load(p, topic, size, total=None, seconds=None, rate=0.0):
    """Sends `size`-byte records until `total` records or `seconds` have gone, at `rate` records/s
    (0 = as fast as the client accepts them). Returns sent, unflushed, errors, elapsed seconds,
    latency samples (s) and each sample's send time (s since start)."""
    payload = bytes(i % 251 for i in range(size))
    lat, sent_at, errors = [], [], [0]

    def on_sampled(err, _m, t0):
        if err is not None:
            errors[0] += 1
        else:
            lat.append(time.perf_counter() - t0)
            sent_at.append(t0 - start)

    def on_any(err, _m):
        if err is not None:
            errors[0] += 1

    warm_up(p, topic)
    sent = 0
    start = time.perf_counter()
    while total is None or sent < total:
        now = time.perf_counter()
        if seconds and now - start >= seconds:
            break
        left = 512 if total is None else total - sent
        if rate > 0:
            due = int((now - start) * rate)
            if sent >= due:
                p.poll(0.002)
                continue
            burst = min(512, due - sent, left)
        else:
            burst = min(512, left)
        for _ in range(burst):
            try:
                if sent % 8 == 0:
                    t0 = time.perf_counter()
                    p.produce(topic, payload, on_delivery=lambda e, m, t0=t0: on_sampled(e, m, t0))
                else:
                    p.produce(topic, payload, on_delivery=on_any)
                sent += 1
            except BufferError:
                p.poll(0.005)
                break
        p.poll(0)
    unflushed = p.flush(120)
    return {
        "sent": sent,
        "unflushed": unflushed,
        "errors": errors[0],
        "seconds": time.perf_counter() - start,
        "latencies": lat,
        "sent_at": sent_at,
    }
