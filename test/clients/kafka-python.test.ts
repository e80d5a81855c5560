// kafka-python against the broker started as `npm start` starts it (issue 2, item 1).
// Driven by test/python/kafka_python_check.py under Debian's /usr/bin/python3.
import path from 'node:path';
import { startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { ProgramDriver } from '../helpers/clients/program.js';
import { ALL_CODECS, groupScenario } from '../helpers/group-scenario.js';
import { PYTHON, PYTHON_DIR, requirePython } from '../helpers/tools.js';

describe('kafka-python client', function () {
  this.timeout(300_000);
  let broker: Broker | undefined;

  before(async () => {
    // kafka-python compresses with these modules; without them it refuses the codec.
    await requirePython(['kafka', 'snappy', 'lz4.frame', 'zstandard'], ['python3-kafka', 'python3-snappy', 'python3-lz4', 'python3-zstandard']);
    broker = await startBroker();
  });
  after(async () => {
    await broker?.stop();
  });

  for (const codec of ALL_CODECS) {
    it(`${codec}: 10,000 records over 3 partitions, then a restarted group reads exactly the next batch`, async () => {
      const driver = new ProgramDriver('kafka-python', broker!.bootstrap, PYTHON, [path.join(PYTHON_DIR, 'kafka_python_check.py')]);
      await groupScenario(broker!, driver, codec);
    });
  }
});
