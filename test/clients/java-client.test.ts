// The Apache Kafka Java client (org.apache.kafka:kafka-clients 4.x, driven by test/java ClientCheck)
// against the broker started as `npm start` starts it (issue 2, acceptance items 1 and 4).
import { expect } from 'chai';
import { assertBrokerAlive, startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { ProgramDriver } from '../helpers/clients/program.js';
import { ALL_CODECS, groupScenario, uniqueName } from '../helpers/group-scenario.js';
import { endOffsets } from '../helpers/kafka-admin.js';
import { ProxiedBroker } from '../helpers/kafka-proxy.js';
import { requireClientCheck } from '../helpers/tools.js';
import { checkDelivery } from '../helpers/verify.js';

async function javaDriver(bootstrap: string): Promise<ProgramDriver> {
  const { classpath } = await requireClientCheck();
  return new ProgramDriver('java', bootstrap, 'java', [
    '-Xmx512m',
    '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
    '-cp', classpath,
    'automq.test.ClientCheck',
  ]);
}

describe('Apache Kafka Java client (kafka-clients 4.x)', function () {
  this.timeout(300_000);

  before(async function () {
    this.timeout(900_000); // first build of test/java may resolve from Maven
    await requireClientCheck();
  });

  describe('produce with each codec, group of 3 consumes, commits, restarts, resumes', () => {
    let broker: Broker | undefined;
    before(async () => {
      broker = await startBroker();
    });
    after(async () => {
      await broker?.stop();
    });

    for (const codec of ALL_CODECS) {
      it(`${codec}: 10,000 records over 3 partitions, then a restarted group reads exactly the next batch`, async () => {
        await groupScenario(broker!, await javaDriver(broker!.bootstrap), codec);
      });
    }
  });

  describe('enable.idempotence=true with injected retries', () => {
    let proxied: ProxiedBroker | undefined;
    before(async () => {
      proxied = await ProxiedBroker.start();
    });
    after(async () => {
      await proxied?.close();
    });

    it('appends every record exactly once although produce responses were lost', async () => {
      const java = await javaDriver(proxied!.broker.bootstrap);
      const topic = uniqueName('java-idem');
      await java.createTopic(topic, 3);
      const drops0 = proxied!.proxy.droppedResponses;
      const produced = await proxied!.withDrops(4, () => java.produce(topic, 20_000, 'i', 'zstd', { idempotent: true }));
      expect(proxied!.proxy.droppedResponses - drops0, 'produce responses the proxy dropped').to.be.greaterThan(0);
      expect(produced.length).to.equal(20_000);
      const end = await endOffsets(proxied!.broker.bootstrap, topic);
      expect([...end.values()].reduce((a, b) => a + b, 0), 'records in the log (duplicates would add more)').to.equal(20_000);
      const run = await java.consumeGroup(topic, `${topic}-reader`, 1, 20_000);
      const consumed = await run.finished;
      expect(checkDelivery({ produced, consumed, partitions: 3, requireEveryPartition: true })).to.deep.equal([]);
      assertBrokerAlive(proxied!.broker);
    });
  });
});
