// Cluster membership (issue 5): three `automq broker` processes on one MinIO prefix register,
// get distinct controller-allocated node ids, agree on one active controller in Metadata and
// DescribeCluster, and a broker restarted on the same address gets its node id back.
import { expect } from 'chai';
import { groupShardOf } from '../../broker/src/group/shards.js';
import { FindCoordinator } from '../../broker/src/protocol/messages/10_find_coordinator.js';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS } from '../helpers/cluster.js';
import { waitFor } from '../helpers/wait.js';

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

  it('group coordination is spread: the 16 group shards end up 6/5/5 over the three brokers', async () => {
    const c = cluster!;
    // One group id per shard (the shard is Kafka's hash of the group id, mod 16).
    const perShard = new Map<number, string>();
    for (let i = 0; perShard.size < 16; i++) {
      const g = `spread-${i}`;
      if (!perShard.has(groupShardOf(g, 16))) perShard.set(groupShardOf(g, 16), g);
    }
    let counts: number[] = [];
    await waitFor(
      async () => {
        const r = await c.request(c.members[0]!, FindCoordinator, 4, { keyType: 0, coordinatorKeys: [...perShard.values()] });
        const bad = r.coordinators.filter((x) => x.errorCode !== 0);
        if (bad.length > 0) return false; // a shard is moving: NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE for a moment
        const byNode = new Map<number, number>(c.members.map((b) => [b.nodeId!, 0]));
        for (const x of r.coordinators) byNode.set(x.nodeId, (byNode.get(x.nodeId) ?? 0) + 1);
        counts = [...byNode.values()].sort((a, b) => b - a);
        return counts.length === 3 && counts[0]! - counts[2]! <= 1;
      },
      60_000,
      () => `group shards spread over the three brokers (coordinators per broker now: ${JSON.stringify(counts)})`,
      250,
    );
    expect(counts).to.deep.equal([6, 5, 5]);
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
    const fencedBefore = ctl.find('broker fenced').length;
    const exit = await c.terminate(victim, 60_000);
    expect(exit, `exit of ${victim.label} after SIGTERM\n${victim.tail(20)}`).to.deep.equal({ code: 0, signal: null });
    // Its last heartbeat said it left: the controller drops it at once (clients stop being sent
    // to it) instead of a session timeout later.
    expect(victim.find('left the cluster').length, `${victim.label} logged "left the cluster"\n${victim.tail(20)}`).to.equal(1);
    await waitFor(() => ctl.find('broker fenced').length > fencedBefore, 10_000, () => `the controller ${ctl.label} to log "broker fenced"\n${ctl.tail(20)}`, 50);
    const dropped = ctl.find('broker fenced').slice(fencedBefore);
    expect(dropped.map((l) => [l['nodeId'], l['reason']]), 'what the controller fenced').to.deep.equal([[id, 'it left the cluster (orderly stop)']]);
    expect((await c.metadata(ctl)).brokers.map((b) => b.nodeId), 'brokers the controller lists').to.not.include(id);
    await c.restart(victim);
    expect(victim.nodeId).to.equal(id);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });

  it('SIGTERM of the controller: it resigns and drops itself, and the brokers elect a successor without waiting for its silence', async () => {
    const c = cluster!;
    const old = await c.controller();
    const id = old.nodeId;
    const counts = new Map(c.members.map((b) => [b, b.find('controller active').length]));
    const resignHeard = new Map(c.members.map((b) => [b, b.find('the controller resigned; electing a successor now').length]));
    const exit = await c.terminate(old, 60_000);
    const exitedAt = Date.now();
    expect(exit, `exit of ${old.label} after SIGTERM\n${old.tail(20)}`).to.deep.equal({ code: 0, signal: null });
    expect(old.find('controller resigned').length, `${old.label} logged "controller resigned"\n${old.tail(20)}`).to.equal(1);
    expect(old.find('broker fenced').filter((l) => l['nodeId'] === id).map((l) => l['reason']), 'the old controller dropped its own broker').to.deep.equal(['it left the cluster (orderly stop)']);
    let successor: (typeof c.members)[number] | undefined;
    await waitFor(
      () => {
        successor = c.members.find((b) => b !== old && b.find('controller active').length > counts.get(b)!);
        return successor !== undefined;
      },
      30_000,
      () => `a successor to log "controller active"\n${c.report(15)}`,
      50,
    );
    const heard = c.members.filter((b) => b !== old && b.find('the controller resigned; electing a successor now').length > resignHeard.get(b)!);
    expect(heard.length, 'brokers that heard of the resignation (rather than waiting for silence)').to.be.at.least(1);
    console.log(`      ${successor!.label} controller ${Date.now() - exitedAt} ms after ${old.label} exited (controller.session.timeout.ms is 3000)`);
    const md = await c.metadata(successor);
    expect(md.brokers.map((b) => b.nodeId), 'brokers the new controller lists').to.not.include(id);
    await c.restart(old);
    expect(old.nodeId).to.equal(id);
    await c.waitForBrokers(3);
    c.assertNoUnexpectedExit();
  });
});
