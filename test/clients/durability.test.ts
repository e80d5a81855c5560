// Durability (issue 2, acceptance item 3): kill -9 the broker right after a batch of acks, start it
// again with an EMPTY data dir on the same object store (kept outside the data dir): every acked
// record and every committed offset must be there.
import { expect } from 'chai';
import { assertBrokerAlive, brokerImpl, removeDir, startBroker, tempDir } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { KafkajsDriver, kafkajsProduce } from '../helpers/clients/kafkajs.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { committedOffsets, createTopic, endOffsets, kafkaFor, withAdmin } from '../helpers/kafka-admin.js';
import { checkDelivery, mapToObject, nextOffsets } from '../helpers/verify.js';

describe('durability: kill -9 after acks, restart with an empty data dir on the same object store', function () {
  this.timeout(300_000);
  let store: string | undefined;
  let first: Broker | undefined;
  let second: Broker | undefined;

  after(async () => {
    await second?.stop();
    await first?.stop();
    if (store) await removeDir(store);
  });

  it('every record acked with acks=-1 and every committed offset survives', async function () {
    if (brokerImpl === 'apache-kafka') this.skip(); // Apache Kafka keeps its log in the data dir
    store = await tempDir('automq-durability-store-');
    first = await startBroker({ objectStoreDir: store });
    expect(first.dataDir.startsWith(store), 'object store is outside the data dir').to.equal(false);
    expect(store.startsWith(first.dataDir), 'object store is outside the data dir').to.equal(false);
    const topic = uniqueName('durability');
    const group = `${topic}-group`;
    const adminGroup = `${topic}-admin-group`;
    await createTopic(first.bootstrap, topic, 3);

    // Batch A, read and committed by a consumer group.
    const batchA = await kafkajsProduce(kafkaFor(first.bootstrap), topic, 3000, 'a', 'gzip');
    const reader = await new KafkajsDriver(first.bootstrap).consumeGroup(topic, group, 1, batchA.length);
    const readA = await reader.finished; // resolves once OffsetFetch shows the commits
    expect(checkDelivery({ produced: batchA, consumed: readA, partitions: 3 })).to.deep.equal([]);
    const committedA = await committedOffsets(first.bootstrap, group, topic);
    expect(mapToObject(committedA)).to.deep.equal(mapToObject(nextOffsets(readA)));

    // Batch B with acks=-1, then offsets committed through the admin API, then kill -9 at once.
    const batchB = await kafkajsProduce(kafkaFor(first.bootstrap), topic, 2000, 'b', 'none', { chunk: 200 });
    const adminOffsets = [
      { partition: 0, offset: '7' },
      { partition: 1, offset: '11' },
      { partition: 2, offset: '13' },
    ];
    await withAdmin(first.bootstrap, (a) => a.setOffsets({ groupId: adminGroup, topic, partitions: adminOffsets }));
    const killed = await first.kill9();
    expect(killed.signal, 'the first broker died of SIGKILL').to.equal('SIGKILL');
    // The data dir is only a cache: remove it so nothing can come from it.
    await removeDir(first.dataDir);

    second = await startBroker({ objectStoreDir: store });
    expect(second.dataDir).to.not.equal(first.dataDir);
    const acked = [...batchA, ...batchB];
    const expectedEnd = new Map<number, number>();
    for (const r of acked) expectedEnd.set(r.partition!, Math.max(expectedEnd.get(r.partition!) ?? 0, r.offset! + 1));
    expect(mapToObject(await endOffsets(second.bootstrap, topic)), 'log end offsets after restart').to.deep.equal(
      mapToObject(expectedEnd),
    );
    expect(mapToObject(await committedOffsets(second.bootstrap, group, topic)), 'group offsets after restart').to.deep.equal(
      mapToObject(committedA),
    );
    expect(mapToObject(await committedOffsets(second.bootstrap, adminGroup, topic)), 'admin-set offsets after restart').to.deep.equal(
      { '0': 7, '1': 11, '2': 13 },
    );

    const all = await new KafkajsDriver(second.bootstrap).consumeGroup(topic, `${topic}-after-restart`, 1, acked.length);
    const readAll = await all.finished;
    expect(
      checkDelivery({ produced: acked, consumed: readAll, partitions: 3, requireEveryPartition: true, startOffsets: new Map([[0, 0], [1, 0], [2, 0]]) }),
      'every acked record after kill -9 and restart on an empty data dir',
    ).to.deep.equal([]);
    assertBrokerAlive(second);
  });
});
