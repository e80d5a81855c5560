// kafkajs against the broker started as `npm start` starts it (issue 2, acceptance items 1 and 4).
import { expect } from 'chai';
import { assertBrokerAlive, freePorts, startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { KAFKAJS_CODECS, KafkajsDriver, kafkajsProduce } from '../helpers/clients/kafkajs.js';
import { groupScenario, uniqueName } from '../helpers/group-scenario.js';
import { createTopic, endOffsets, kafkaFor } from '../helpers/kafka-admin.js';
import { FaultyProxy } from '../helpers/kafka-proxy.js';
import { checkDelivery } from '../helpers/verify.js';
import type { ProducedRecord } from '../helpers/verify.js';

describe('kafkajs client', function () {
  this.timeout(300_000);

  describe('produce with each codec, group of 3 consumes, commits, restarts, resumes', () => {
    let broker: Broker | undefined;
    before(async () => {
      broker = await startBroker();
    });
    after(async () => {
      await broker?.stop();
    });

    for (const codec of KAFKAJS_CODECS) {
      it(`${codec}: 10,000 records over 3 partitions, then a restarted group reads exactly the next batch`, async () => {
        await groupScenario(broker!, new KafkajsDriver(broker!.bootstrap), codec);
      });
    }
  });

  describe('idempotent producer with injected retries', () => {
    let broker: Broker | undefined;
    let proxy: FaultyProxy | undefined;
    let dropEvery = 0;
    before(async () => {
      const [proxyPort] = await freePorts(1);
      // Clients learn the proxy's address from Metadata, so every connection goes through it.
      broker = await startBroker({ advertisePort: proxyPort });
      proxy = await FaultyProxy.start({
        targetPort: broker.port,
        listenPort: proxyPort!,
        dropProduceResponse: (n) => dropEvery > 0 && n % dropEvery === 0,
      });
    });
    after(async () => {
      await proxy?.close();
      await broker?.stop();
    });

    async function produceThroughFaults(idempotent: boolean): Promise<{ topic: string; produced: ProducedRecord[]; drops: number; requests: number }> {
      const topic = uniqueName('kafkajs-idem', idempotent ? 'on' : 'off');
      await createTopic(broker!.bootstrap, topic, 3);
      const drops0 = proxy!.droppedResponses;
      const req0 = proxy!.produceRequests;
      dropEvery = 3;
      let produced: ProducedRecord[];
      try {
        produced = await kafkajsProduce(kafkaFor(broker!.bootstrap, 'kafkajs-idempotent'), topic, 3000, 'i', 'gzip', {
          idempotent,
          chunk: 100,
        });
      } finally {
        dropEvery = 0;
      }
      return { topic, produced, drops: proxy!.droppedResponses - drops0, requests: proxy!.produceRequests - req0 };
    }

    async function readAll(topic: string, expected: number) {
      const run = await new KafkajsDriver(broker!.bootstrap).consumeGroup(topic, `${topic}-reader`, 1, expected);
      return run.finished;
    }

    it('idempotent: true appends every record exactly once although produce responses were lost', async () => {
      const { topic, produced, drops, requests } = await produceThroughFaults(true);
      expect(drops, 'produce responses the proxy dropped').to.be.greaterThan(0);
      expect(requests, 'Produce requests seen (30 sends + retries)').to.be.greaterThan(30);
      expect(produced.length).to.equal(3000);
      const end = await endOffsets(broker!.bootstrap, topic);
      expect([...end.values()].reduce((a, b) => a + b, 0), 'records in the log (duplicates would add more)').to.equal(3000);
      const consumed = await readAll(topic, 3000);
      expect(checkDelivery({ produced, consumed, partitions: 3, requireEveryPartition: true })).to.deep.equal([]);
      assertBrokerAlive(broker!);
    });

    it('control: the same faults without idempotence do duplicate records (the injection works)', async () => {
      const { topic, drops } = await produceThroughFaults(false);
      expect(drops).to.be.greaterThan(0);
      const end = await endOffsets(broker!.bootstrap, topic);
      const stored = [...end.values()].reduce((a, b) => a + b, 0);
      expect(stored, 'a non-idempotent retry of an appended batch appends it again').to.be.greaterThan(3000);
      assertBrokerAlive(broker!);
    });
  });
});
