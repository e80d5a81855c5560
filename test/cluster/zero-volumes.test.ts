// Issue 5, acceptance 7: zero persistent volumes. Every broker starts on an empty local dir; then
// all brokers are killed at once, ALL their local dirs deleted, and the restarted cluster recovers
// everything from the bucket: same cluster id and node ids, the topic with its 12 partitions and
// every acked record, the group's committed offsets; and it takes new writes.
import { expect } from 'chai';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS } from '../helpers/cluster.js';
import { KafkajsDriver, kafkajsProduce } from '../helpers/clients/kafkajs.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { committedOffsets, endOffsets, kafkaFor } from '../helpers/kafka-admin.js';
import { checkDelivery, mapToObject } from '../helpers/verify.js';

const PARTITIONS = 12;

describe('cluster: zero persistent volumes (wipe every local dir, recover from the bucket)', function () {
  this.timeout(420_000);
  let cluster: Cluster | undefined;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 180_000);
    cluster = await Cluster.start({ name: 'zero-volumes', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await cluster?.stop();
  });

  it('kill all brokers, delete all local dirs, restart: the whole cluster comes back from the bucket', async () => {
    const c = cluster!;
    const topic = uniqueName('zero-vol');
    const group = `${topic}-group`;
    await c.createTopic(topic, PARTITIONS);
    const produced = await kafkajsProduce(kafkaFor(c.member(0).bootstrap, 'zero-vol-producer'), topic, 6000, 'a', 'gzip', { idempotent: true, partitions: PARTITIONS });
    const read1 = await new KafkajsDriver(c.member(0).bootstrap).consumeGroup(topic, group, 2, 6000);
    const consumed1 = await read1.finished;
    expect(checkDelivery({ produced, consumed: consumed1, partitions: PARTITIONS, requireEveryPartition: true })).to.deep.equal([]);
    const committedBefore = mapToObject(await committedOffsets(c.member(0).bootstrap, group, topic));
    const endBefore = mapToObject(await endOffsets(c.member(0).bootstrap, topic));
    const idsBefore = c.members.map((b) => b.nodeId);

    // All at once, then every local dir gone.
    await Promise.all(c.members.map((b) => c.kill9(b)));
    for (const b of c.members) {
      await c.restart(b, { wipe: true }).catch((e: unknown) => {
        throw new Error(`restart of ${b.label} on an empty data dir failed: ${(e as Error).message}`);
      });
    }
    await c.waitForBrokers(3, 90_000);
    expect(c.members.map((b) => b.nodeId), 'node ids after the wipe (same addresses)').to.deep.equal(idsBefore);
    const ctl = await c.controller();
    expect((await c.describeCluster(ctl)).clusterId, 'cluster id').to.equal(c.clusterId);
    await c.waitForLeaders(topic, PARTITIONS, 90_000);

    expect(mapToObject(await endOffsets(c.member(0).bootstrap, topic)), 'log end offsets after the wipe').to.deep.equal(endBefore);
    expect(mapToObject(await committedOffsets(c.member(0).bootstrap, group, topic)), 'committed offsets after the wipe').to.deep.equal(committedBefore);

    // Everything acked is readable again (a new group from the start), and new writes work.
    const reread = await new KafkajsDriver(c.member(0).bootstrap).consumeGroup(topic, `${group}-again`, 1, 6000);
    expect(checkDelivery({ produced, consumed: await reread.finished, partitions: PARTITIONS, requireEveryPartition: true }), 're-read after the wipe').to.deep.equal([]);
    const more = await kafkajsProduce(kafkaFor(c.member(0).bootstrap, 'zero-vol-producer-2'), topic, 1200, 'b', 'none', { idempotent: true, partitions: PARTITIONS });
    const resumed = await new KafkajsDriver(c.member(0).bootstrap).consumeGroup(topic, group, 2, 1200);
    expect(
      checkDelivery({ produced: more, consumed: await resumed.finished, partitions: PARTITIONS, startOffsets: new Map(Object.entries(endBefore).map(([p, o]) => [Number(p), o])) }),
      'the original group resumes at its committed offsets and reads exactly the new records',
    ).to.deep.equal([]);
    c.assertNoUnexpectedExit();
  });

  it('a broker added with an empty data dir joins and serves', async () => {
    const c = cluster!;
    const b = await c.addMember();
    const topic = uniqueName('zero-vol-new');
    await c.createTopic(topic, PARTITIONS);
    const leaders = await c.leaders(topic);
    const mine = leaders.filter((p) => p.leader === b.nodeId);
    expect(mine.length, `partitions the new broker ${b.label} leads: ${JSON.stringify(leaders)}`).to.be.at.least(1);
    for (const p of mine) expect((await c.produceProbe(b, topic, p.partition)).errorCode, `produce to ${topic}-${p.partition} on the new broker`).to.equal(0);
    c.assertNoUnexpectedExit();
  });
});
