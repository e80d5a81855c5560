// Issue 5, acceptance 6: controller fencing by the store. The active controller is paused with
// SIGSTOP until another broker takes over (a higher controller epoch); a CreateTopics request is
// queued on the paused controller's socket so that, on SIGCONT, it tries to append to the metadata
// log as the controller it still believes it is. The append must fail with 412 (put-if-absent on a
// seq the new controller already wrote): it logs "metadata log fenced" at error level, does not
// answer the request as a success unless the new controller has the topic, and the log the new
// controller writes stays the only history (the topic set every broker sees agrees).
import { expect } from 'chai';
import { errorInfo } from '../../broker/src/protocol/errors.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS } from '../helpers/cluster.js';
import type { ClusterMember } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { waitFor } from '../helpers/wait.js';
import { WireClient, decodeResponse } from '../helpers/wire-client.js';

describe('cluster: a paused controller is fenced by the store (412 on its metadata append)', function () {
  this.timeout(300_000);
  let cluster: Cluster | undefined;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 180_000);
    cluster = await Cluster.start({ name: 'fencing', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await cluster?.stop();
  });

  it('SIGSTOP the controller, another takes over, SIGCONT: its append fails with 412 ("metadata log fenced")', async () => {
    const c = cluster!;
    const old = await c.controller();
    const oldActive = old.find('controller active');
    expect(oldActive.length, `"controller active" lines of ${old.label}`).to.be.at.least(1);
    const oldEpoch = Number(oldActive[oldActive.length - 1]!.epoch);
    const others = c.members.filter((b) => b !== old);
    const activeBefore = new Map(others.map((b) => [b, b.find('controller active').length]));

    // Connected before the pause: the request written while it is stopped waits in its socket.
    const conn = await WireClient.connect(old.port);
    const fencedTopic = uniqueName('from-deposed');
    try {
      c.pause(old);
      const t0 = Date.now();
      let successor: ClusterMember | undefined;
      await waitFor(
        () => {
          successor = others.find((b) => b.find('controller active').length > activeBefore.get(b)!);
          return successor !== undefined;
        },
        60_000,
        () => `another broker to log "controller active" while ${old.label} is paused\n${c.report(15)}`,
        100,
      );
      const newActive = successor!.find('controller active');
      const newEpoch = Number(newActive[newActive.length - 1]!.epoch);
      console.log(`      ${successor!.label} became controller (epoch ${newEpoch}, was ${oldEpoch} on node ${old.nodeId}) ${Date.now() - t0} ms after SIGSTOP`);
      expect(newEpoch, 'the new controller epoch').to.be.greaterThan(oldEpoch);
      const ctl = await c.controller({ not: old.nodeId });
      expect(ctl, 'the controller the live brokers name').to.equal(successor);

      // The new controller writes to the log while the old one sleeps.
      const liveTopic = uniqueName('from-new-controller');
      await c.createTopic(liveTopic, 2);
      // Its broker has been silent longer than a session: the new controller fences it (counted
      // from its last contact). Waiting for that here makes the rest deterministic: woken before,
      // the old broker could step down, be listed again, and still be fenced a moment later.
      await waitFor(
        () => successor!.find('broker fenced').some((l) => l['nodeId'] === old.nodeId),
        60_000,
        () => `${successor!.label} to fence the paused ${old.label} as a broker\n${successor!.tail(20)}`,
        100,
      );

      // Queue a metadata change at the deposed controller, then wake it.
      const reply = conn.nextFrame(60_000);
      // Awaited below; until then a rejection (the connection closed) must not count as unhandled.
      reply.catch(() => undefined);
      conn.writeRaw(conn.encodeRequest(CreateTopics, 5, { topics: [{ name: fencedTopic, numPartitions: 1, replicationFactor: 1 }], timeoutMs: 20_000 }, 77));
      c.resume(old);

      await waitFor(
        () => old.find('metadata log fenced', true).length > 0,
        60_000,
        () => `${old.label} to log "metadata log fenced" after SIGCONT\n${old.tail(40)}`,
        100,
      );
      const fenced = old.find('metadata log fenced', true)[0]!;
      expect(fenced.level, `"metadata log fenced" line: ${JSON.stringify(fenced)}`).to.equal('error');
      for (const b of others) expect(b.find('metadata log fenced', true), `"metadata log fenced" from ${b.label}`).to.deep.equal([]);

      // What the deposed controller answered, if anything: never a success the cluster does not know.
      let answer: string;
      try {
        const r = decodeResponse(CreateTopics, 5, await reply, 77);
        answer = errorInfo(r.topics[0]!.errorCode).name;
      } catch (e) {
        answer = `no answer (${(e as Error).message})`;
      }
      const md = await c.metadata(successor);
      const known = md.topics.has(fencedTopic);
      console.log(`      deposed controller answered CreateTopics with ${answer}; the new controller ${known ? 'has' : 'does not have'} the topic`);
      if (answer === 'NONE') expect(known, 'a CreateTopics the deposed controller acknowledged must exist in the cluster').to.equal(true);
      expect(md.topics.has(liveTopic), 'the topic the new controller created').to.equal(true);
    } finally {
      if (old.paused) c.resume(old);
      conn.close();
    }

    // Fenced as a broker while paused, the deposed controller exits with 3 ("restart me") once it
    // hears so (its heartbeat, or its WAL); a restart rejoins with the same node id.
    await waitFor(() => !old.running, 60_000, () => `${old.label} to exit after it was fenced\n${old.tail(20)}`, 100);
    expect(old.proc!.exit, `exit of the deposed controller ${old.label}`).to.deep.equal({ code: 3, signal: null });
    old.expectedExits.add(old.proc!);
    const id = old.nodeId;
    await c.restart(old);
    expect(old.nodeId, 'node id after restart').to.equal(id);
    await c.waitForBrokers(3);
    const views = await Promise.all(c.members.map((b) => c.metadata(b)));
    const topicSets = views.map((v) => [...v.topics.keys()].sort());
    for (let i = 1; i < views.length; i++) expect(topicSets[i], `topics seen by ${c.member(i).label}`).to.deep.equal(topicSets[0]);
    c.assertNoUnexpectedExit();
  });
});
