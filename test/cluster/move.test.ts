// Issue 5, acceptance 4 (light part): moving a partition holding 10 MB to another broker
// (AlterPartitionReassignments on the controller) completes, i.e. the new leader accepts produce,
// within 2 s; the data stays readable at the same offsets. The 1 GB comparison is in
// move-1gb.test.ts (it produces 1 GB first).
import { expect } from 'chai';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS, bulkProduce } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/group-scenario.js';

const MOVE_GOAL_MS = 2000;

describe('cluster: move time of a 10 MB partition', function () {
  this.timeout(300_000);
  let cluster: Cluster | undefined;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 180_000);
    cluster = await Cluster.start({ name: 'move', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await cluster?.stop();
  });

  it(`moves a 10 MB partition in at most ${MOVE_GOAL_MS} ms, there and back, keeping every record`, async () => {
    const c = cluster!;
    const topic = uniqueName('move-10mb');
    await c.createTopic(topic, 1);
    const from = c.byNodeId((await c.leaders(topic))[0]!.leader);
    const produced = await bulkProduce(c.bootstrap(), topic, 0, 10 * 1024 * 1024);
    const end0 = await c.endOffset(from, topic, 0);
    expect(end0, 'log end offset = records acked').to.equal(produced.records);

    const to = c.members.find((b) => b !== from)!;
    const there = await c.timeMove(topic, 0, to);
    const endThere = await c.endOffset(to, topic, 0);
    const back = await c.timeMove(topic, 0, from);
    const endBack = await c.endOffset(from, topic, 0);
    console.log(
      `      move of 10 MB (${produced.records} records): node ${from.nodeId} -> ${to.nodeId} ${there.ms} ms (accepted after ${there.acceptedMs} ms), ` +
        `back ${back.ms} ms (accepted after ${back.acceptedMs} ms); goal <= ${MOVE_GOAL_MS} ms`,
    );
    // +1: the probe record timeMove produced on the new leader.
    expect(endThere, 'log end offset after the first move').to.equal(end0 + 1);
    expect(endBack, 'log end offset after moving back').to.equal(end0 + 2);
    expect(there.ms, 'move time there').to.be.at.most(MOVE_GOAL_MS);
    expect(back.ms, 'move time back').to.be.at.most(MOVE_GOAL_MS);
    c.assertNoUnexpectedExit();
  });
});
