// confluent-kafka (python, librdkafka) against the broker started as `npm start` starts it
// (issue 2, item 1). Driven by test/python/confluent_check.py under Debian's /usr/bin/python3.
import path from 'node:path';
import { startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { ProgramDriver } from '../helpers/clients/program.js';
import { ALL_CODECS, groupScenario } from '../helpers/group-scenario.js';
import { PYTHON, PYTHON_DIR, requirePython } from '../helpers/tools.js';

describe('confluent-kafka (python) client', function () {
  this.timeout(300_000);
  let broker: Broker | undefined;

  before(async () => {
    await requirePython(['confluent_kafka'], ['python3-confluent-kafka']);
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  for (const codec of ALL_CODECS) {
    it(`${codec}: 10,000 records over 3 partitions, then a restarted group reads exactly the next batch`, async () => {
      const driver = new ProgramDriver('confluent-kafka', broker!.bootstrap, PYTHON, [path.join(PYTHON_DIR, 'confluent_check.py')]);
      await groupScenario(broker!, driver, codec);
    });
  }
});
