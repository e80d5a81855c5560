// librdkafka through kcat against the broker started as `npm start` starts it (issue 2, item 1).
import { expect } from 'chai';
import { startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { KcatDriver } from '../helpers/clients/kcat.js';
import { ALL_CODECS, groupScenario } from '../helpers/group-scenario.js';
import { requireKcat } from '../helpers/tools.js';

describe('kcat (librdkafka) client', function () {
  this.timeout(300_000);
  let broker: Broker | undefined;

  before(async () => {
    const version = await requireKcat();
    // Debian's kcat is built with every codec; the test relies on that.
    for (const codec of ['gzip', 'snappy', 'lz4', 'zstd']) {
      expect(version, `kcat -V built-in features include ${codec}`).to.include(codec);
    }
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  for (const codec of ALL_CODECS) {
    it(`${codec}: 10,000 records over 3 partitions, then a restarted group reads exactly the next batch`, async () => {
      await groupScenario(broker!, new KcatDriver(broker!.bootstrap), codec);
    });
  }
});
