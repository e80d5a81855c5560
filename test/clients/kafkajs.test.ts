// kafkajs against the broker started as `npm start` starts it (issue 2, acceptance items 1 and 4).
import { expect } from 'chai';
import { assertBrokerAlive, startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { KAFKAJS_CODECS, KafkajsDriver, kafkajsProduce } from '../helpers/clients/kafkajs.js';
import { groupScenario, uniqueName } from '../helpers/group-scenario.js';
import { createTopic, endOffsets, kafkaFor } from '../helpers/kafka-admin.js';
import { ProxiedBroker } from '../helpers/kafka-proxy.js';
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
    let proxied: ProxiedBroker | undefined;
    before(async () => {
      proxied = await ProxiedBroker.start();
    });
    after(async () => {
      await proxied?.close();
    });

    async function produceThroughFaults(idempotent: boolean): Promise<{ topic: string; produced: ProducedRecord[]; drops: number; requests: number }> {
      const topic = uniqueName('kafkajs-idem', idempotent ? 'on' : 'off');
      await createTopic(proxied!.broker.bootstrap, topic, 3);
      const drops0 = proxied!.proxy.droppedResponses;
      const req0 = proxied!.proxy.produceRequests;
      const produced = await proxied!.withDrops(3, () =>
        kafkajsProduce(kafkaFor(proxied!.broker.bootstrap, 'kafkajs-idempotent'), topic, 3000, 'i', 'gzip', { idempotent, chunk: 100 }),
      );
      return { topic, produced, drops: proxied!.proxy.droppedResponses - drops0, requests: proxied!.proxy.produceRequests - req0 };
    }

    async function readAll(topic: string, expected: number) {
      const run = await new KafkajsDriver(proxied!.broker.bootstrap).consumeGroup(topic, `${topic}-reader`, 1, expected);
      return run.finished;
    }

    it('idempotent: true appends every record exactly once although produce responses were lost', async () => {
      const { topic, produced, drops, requests } = await produceThroughFaults(true);
      expect(drops, 'produce responses the proxy dropped').to.be.greaterThan(0);
      expect(requests, 'Produce requests seen (30 sends + retries)').to.be.greaterThan(30);
      expect(produced.length).to.equal(3000);
      const end = await endOffsets(proxied!.broker.bootstrap, topic);
      expect([...end.values()].reduce((a, b) => a + b, 0), 'records in the log (duplicates would add more)').to.equal(3000);
      const consumed = await readAll(topic, 3000);
      expect(checkDelivery({ produced, consumed, partitions: 3, requireEveryPartition: true })).to.deep.equal([]);
      assertBrokerAlive(proxied!.broker);
    });

    it('control: the same faults without idempotence do duplicate records (the injection works)', async () => {
      const { topic, drops } = await produceThroughFaults(false);
      expect(drops).to.be.greaterThan(0);
      const end = await endOffsets(proxied!.broker.bootstrap, topic);
      const stored = [...end.values()].reduce((a, b) => a + b, 0);
      expect(stored, 'a non-idempotent retry of an appended batch appends it again').to.be.greaterThan(3000);
      assertBrokerAlive(proxied!.broker);
    });
  });
});
