// Cluster membership (issue 5): three `automq broker` processes on one MinIO prefix register,
// get distinct controller-allocated node ids, agree on one active controller in Metadata and
// DescribeCluster, and a broker restarted on the same address gets its node id back.
import { expect } from 'chai';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS } from '../helpers/cluster.js';

describe('cluster: membership and controller (3 brokers on one bucket)', function () {
  this.timeout(180_000);
  let cluster: Cluster | undefined;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 180_000);
    cluster = await Cluster.start({ name: 'membership', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await cluster?.stop();
  });

  it('each broker logs "broker ready" in broker mode with a distinct controller-allocated node id', () => {
    const ids = cluster!.members.map((b) => b.nodeId);
    expect(new Set(ids).size, `node ids ${JSON.stringify(ids)}`).to.equal(3);
  });

  it('every broker lists all three (address and rack) and names the same live controller in Metadata and DescribeCluster', async () => {
    const c = cluster!;
    const want = c.members
      .map((b) => ({ nodeId: b.nodeId!, host: '127.0.0.1', port: b.port, rack: b.rack }))
      .sort((x, y) => x.nodeId - y.nodeId);
    const ctl = await c.controller();
    for (const b of c.members) {
      const md = await c.metadata(b);
      expect(md.brokers, `Metadata brokers from ${b.label}`).to.deep.equal(want);
      expect(md.controllerId, `Metadata controllerId from ${b.label}`).to.equal(ctl.nodeId);
      const dc = await c.describeCluster(b);
      expect(dc.brokers, `DescribeCluster brokers from ${b.label}`).to.deep.equal(want);
      expect(dc.controllerId, `DescribeCluster controllerId from ${b.label}`).to.equal(ctl.nodeId);
      expect(dc.clusterId, `cluster id from ${b.label}`).to.equal(c.clusterId);
    }
  });

  it('exactly one broker logged "controller active", and it is the controller Metadata names', async () => {
    const c = cluster!;
    const ctl = await c.controller();
    const active = c.members.filter((b) => b.find('controller active').length > 0);
    expect(active.map((b) => b.nodeId), '"controller active" logged by').to.deep.equal([ctl.nodeId]);
    const line = ctl.find('controller active')[0]!;
    expect(line.nodeId, `"controller active" line: ${JSON.stringify(line)}`).to.equal(ctl.nodeId);
    expect(line.epoch, `"controller active" carries an epoch: ${JSON.stringify(line)}`).to.be.a('number');
  });

  it('a broker killed with -9 and restarted on the same address gets its node id back', async () => {
    const c = cluster!;
    const ctl = await c.controller();
    const victim = c.members.find((b) => b !== ctl)!;
    const id = victim.nodeId;
    await c.kill9(victim);
    await c.restart(victim);
    expect(victim.nodeId, `${victim.label} after restart`).to.equal(id);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });

  it('SIGTERM ends a broker with exit code 0 (controlled shutdown), and it rejoins with its id', async () => {
    const c = cluster!;
    const ctl = await c.controller();
    const victim = c.members.find((b) => b !== ctl)!;
    const id = victim.nodeId;
    const exit = await c.terminate(victim, 60_000);
    expect(exit, `exit of ${victim.label} after SIGTERM\n${victim.tail(20)}`).to.deep.equal({ code: 0, signal: null });
    await c.restart(victim);
    expect(victim.nodeId).to.equal(id);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });
});
