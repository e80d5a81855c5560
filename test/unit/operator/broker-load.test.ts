// Per-broker load from a broker's Prometheus text, as the cluster controller reads it.
import { expect } from 'chai';
import { BrokerLoadTracker, loadBetween, MIN_RATE_WINDOW_MS, parseBrokerMetrics } from '../../../operator/src/metrics/broker-load.js';

const scrape = (bytesIn: number, led: string[], formerly: string[] = []) =>
  [
    '# TYPE kafka_partition_bytes_in_total counter',
    ...[...led, ...formerly].map((p, i) => `kafka_partition_bytes_in_total{topic="t",partition="${p}"} ${i === 0 ? bytesIn : 10}`),
    '# TYPE kafka_partition_high_watermark gauge',
    ...led.map((p) => `kafka_partition_high_watermark{topic="t",partition="${p}"} 5`),
  ].join('\n');

describe('operator broker load', () => {
  it('counts only the partitions the broker leads now, not those whose byte counters outlive a move', () => {
    // Partitions 2 and 3 moved away: their counters stay (counters are never removed), their
    // high-watermark gauge does not (rebuilt from the led partitions on every scrape).
    const s = parseBrokerMetrics(scrape(100, ['0', '1'], ['2', '3']), 0);
    expect(s.partitions).to.equal(2);
    expect(s.bytesIn).to.equal(100 + 10 + 10 + 10);
    expect(parseBrokerMetrics(scrape(0, [], ['2']), 0).partitions, 'a broker that leads nothing').to.equal(0);
  });

  it('turns two scrapes into per-second rates, and a counter reset into no rate', () => {
    const a = parseBrokerMetrics(scrape(1000, ['0']), 1000);
    const b = parseBrokerMetrics(scrape(3000, ['0']), 3000);
    expect(loadBetween(a, b)).to.deep.equal({ bytesInPerSec: 1000, bytesOutPerSec: 0, partitions: 1 });
    expect(loadBetween(b, a)).to.deep.equal({ partitions: 1 });
  });

  it(`a scrape less than ${MIN_RATE_WINDOW_MS} ms after the previous one keeps the last rate and the window`, async () => {
    let t = 0;
    let text = scrape(0, ['0']);
    const tracker = new BrokerLoadTracker(async () => text, () => t);
    t = 1000;
    expect(await tracker.scrape('b1', 'u')).to.deep.equal({ partitions: 1 });
    t = 3000;
    text = scrape(4000, ['0']);
    expect(await tracker.scrape('b1', 'u')).to.deep.equal({ bytesInPerSec: 2000, bytesOutPerSec: 0, partitions: 1 });
    // A reconcile right after the previous one: no rate over 10 ms (it would read 0), the last stays.
    t = 3010;
    expect(await tracker.scrape('b1', 'u')).to.deep.equal({ bytesInPerSec: 2000, bytesOutPerSec: 0, partitions: 1 });
    // The next rate is over the whole window since the 3000 ms sample.
    t = 4000;
    text = scrape(5000, ['0']);
    expect(await tracker.scrape('b1', 'u')).to.deep.equal({ bytesInPerSec: 1000, bytesOutPerSec: 0, partitions: 1 });
  });

  it('a broker that does not answer yields no load, and its previous sample is dropped when it leaves', async () => {
    let t = 0;
    const texts = new Map<string, string>([['u1', scrape(0, ['0'])]]);
    const tracker = new BrokerLoadTracker(async (url) => {
      const text = texts.get(url);
      if (text === undefined) throw new Error('connection refused');
      return text;
    }, () => (t += 1000));
    expect(await tracker.scrape('b1', 'u1')).to.deep.equal({ partitions: 1 });
    texts.set('u1', scrape(2000, ['0']));
    expect(await tracker.scrape('b1', 'u1')).to.deep.equal({ bytesInPerSec: 2000, bytesOutPerSec: 0, partitions: 1 });
    expect(await tracker.scrape('b2', 'gone')).to.equal(undefined);
    tracker.forgetExcept(new Set());
    expect(await tracker.scrape('b1', 'u1'), 'no rate from a forgotten sample').to.deep.equal({ partitions: 1 });
  });
});
