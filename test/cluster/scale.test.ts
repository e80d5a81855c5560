// Issue 5, acceptance 5: scale out and in under load. A 4th broker joins a 3-broker cluster;
// Apache Kafka's kafka-reassign-partitions (Java tool, from the Maven jars) moves a third of the
// partitions onto it, and it serves them. Then a broker gets SIGTERM: its partitions move to the
// others before it exits (exit code 0). Meanwhile a librdkafka producer (idempotent, acks=all) and
// a consumer group run: no client error beyond retriable ones, nothing lost or duplicated.
import { expect } from 'chai';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Cluster, FAST_CLUSTER_CONFIG, LoadProc, MINIO_START_TIMEOUT_MS, ackedValues, checkLoad, readValues, sample } from '../helpers/cluster.js';
import type { ClusterMember, PartitionState } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { describeRun, run } from '../helpers/proc.js';
import type { RunResult } from '../helpers/proc.js';
import { KAFKA_CLI, requireKafkaCli } from '../helpers/tools.js';
import { removeDir, tempDir } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';

const PARTITIONS = 12;
/** Apache Kafka's kafka-reassign-partitions from the Maven jars (hack/kafka-cli.sh). */
async function reassignTool(args: string[]): Promise<RunResult> {
  await requireKafkaCli();
  return run(KAFKA_CLI, ['kafka-reassign-partitions', ...args], { timeoutMs: 120_000 });
}

describe('cluster: scale out with kafka-reassign-partitions, scale in with SIGTERM, under load', function () {
  this.timeout(600_000);
  let cluster: Cluster | undefined;
  let producer: LoadProc | undefined;
  let consumer: LoadProc | undefined;
  let dir: string | undefined;
  const topic = uniqueName('scale');

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 900_000);
    await requireKafkaCli();
    dir = await tempDir('automq-cluster-scale-');
    cluster = await Cluster.start({ name: 'scale', brokers: 3, config: FAST_CLUSTER_CONFIG });
    await cluster.createTopic(topic, PARTITIONS);
    producer = await LoadProc.start('produce', cluster.bootstrap(), { topic, partitions: PARTITIONS, name: 'p1', rate: 200 });
    consumer = await LoadProc.start('consume', cluster.bootstrap(), { topic, group: `${topic}-group`, members: 2 });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await producer?.kill();
    await consumer?.kill();
    await cluster?.stop();
    if (dir) await removeDir(dir);
  });

  let added: ClusterMember | undefined;
  let movedOnto: number[] = [];

  it('a 4th broker joins; kafka-reassign-partitions moves a third of the partitions onto it and it serves them', async () => {
    const c = cluster!;
    added = await c.addMember();
    await c.waitForBrokers(4);
    const before = await c.leaders(topic);
    movedOnto = before.filter((_, i) => i % 3 === 0).map((p) => p.partition); // 4 of 12
    const plan = { version: 1, partitions: movedOnto.map((p) => ({ topic, partition: p, replicas: [added!.nodeId!] })) };
    const file = path.join(dir!, 'reassign.json');
    await writeFile(file, JSON.stringify(plan));
    const boot = c.bootstrap();

    const exec = await reassignTool(['--bootstrap-server', boot, '--reassignment-json-file', file, '--execute']);
    expect(exec.code, `kafka-reassign-partitions --execute\n${describeRun(exec)}`).to.equal(0);
    expect(exec.stdout, describeRun(exec)).to.include('Successfully started partition reassignment');

    // --verify prints each partition's state, then clears replication throttles on every broker
    // (IncrementalAlterConfigs); its exit code is checked at the end of this test, so that a
    // failing throttle cleanup does not hide whether the new broker serves the partitions.
    let verify: RunResult | undefined;
    await waitFor(
      async () => {
        verify = await reassignTool(['--bootstrap-server', boot, '--reassignment-json-file', file, '--verify']);
        return movedOnto.every((p) => verify!.stdout.includes(`Reassignment of partition ${topic}-${p} is completed`));
      },
      90_000,
      () => `kafka-reassign-partitions --verify to report all ${movedOnto.length} moves completed; last:\n${verify ? describeRun(verify) : 'none'}`,
      1000,
    );
    const after = await c.leaders(topic);
    const probeAt = new Map<number, number>();
    for (const p of movedOnto) {
      expect(after.find((x) => x.partition === p)!.leader, `leader of ${topic}-${p} after the reassignment`).to.equal(added!.nodeId);
      const r = await c.produceProbe(added!, topic, p);
      expect(r.errorCode, `produce to ${topic}-${p} on the new broker ${added!.label}`).to.equal(0);
      probeAt.set(p, Number(r.baseOffset));
    }
    console.log(`      moved partitions ${movedOnto.join(', ')} onto node ${added!.nodeId}; leaders now ${after.map((p) => `${p.partition}@${p.leader}`).join(' ')}`);
    // The load keeps flowing through the new broker: the group reads records of every moved
    // partition written after the move (past the probe record).
    const pending = () => {
      const read = consumer!.events().filter((e) => e.event === 'record');
      return movedOnto.filter((p) => !read.some((e) => Number(e.p) === p && Number(e.o) > probeAt.get(p)!));
    };
    await waitFor(() => pending().length === 0, 60_000, () => `the group to read records written after the move in partitions ${pending().join(', ')}`, 250);
    c.assertNoUnexpectedExit();
    expect(verify!.code, `kafka-reassign-partitions --verify exit code\n${describeRun(verify!)}`).to.equal(0);
  });

  it('SIGTERM: the stopping broker hands its partitions to the others before it exits with 0', async () => {
    const c = cluster!;
    const ctl = await c.controller();
    const leaders = await c.leaders(topic);
    const victim = c.members.find((b) => b.running && b !== ctl && b !== added && leaders.some((p) => p.leader === b.nodeId));
    expect(victim, `a running non-controller broker leading partitions: ${JSON.stringify(leaders)}`).to.not.equal(undefined);
    const its = leaders.filter((p) => p.leader === victim!.nodeId).map((p) => p.partition);
    const t0 = Date.now();
    const exit = await c.terminate(victim!, 60_000);
    const stopMs = Date.now() - t0;
    // Right after the exit the controller already names live leaders for all of them.
    const now: PartitionState[] = (await c.metadata(ctl)).topics.get(topic)!;
    const orphaned = now.filter((p) => p.leader === victim!.nodeId || p.leader < 0);
    console.log(`      controlled shutdown of ${victim!.label} took ${stopMs} ms; its partitions ${its.join(', ')} now led by ${its.map((p) => now.find((x) => x.partition === p)!.leader).join(', ')}`);
    expect(exit, `exit of ${victim!.label} after SIGTERM\n${victim!.tail(20)}`).to.deep.equal({ code: 0, signal: null });
    expect(orphaned, 'partitions still led by the stopped broker (or by nobody) when it had exited').to.deep.equal([]);
    for (const p of its) {
      const leader = c.byNodeId(now.find((x) => x.partition === p)!.leader);
      expect((await c.produceProbe(leader, topic, p)).errorCode, `produce to ${topic}-${p} at its new leader ${leader.label}`).to.equal(0);
    }
    c.assertNoUnexpectedExit();
  });

  it('the producer and the group saw no error beyond retriable ones; nothing lost, nothing duplicated', async () => {
    const pEvents = await producer!.finish();
    const want = ackedValues([pEvents]);
    await waitFor(
      () => {
        const got = readValues(consumer!.events());
        for (const v of want) if (!got.has(v)) return false;
        return true;
      },
      120_000,
      () => `the group to read all ${want.size} acked records (has ${readValues(consumer!.events()).size})`,
      500,
    );
    const cEvents = await consumer!.finish();
    const r = checkLoad([pEvents], cEvents);
    console.log(
      `      acked ${r.acked}, read ${r.consumedDistinct} distinct (${r.redelivered} re-deliveries), lost ${r.lost.length}, duplicated ${r.duplicated.length}, ` +
        `order violations ${r.orderViolations.length}, commits ${r.commits}, assignments ${r.assignments}, retriable client errors ${r.retriableClientErrors}`,
    );
    expect(r.acked, 'records acked').to.be.greaterThan(0);
    expect(r.producedErrors, 'records the producer failed to deliver').to.equal(0);
    expect(r.fatalClientErrors, 'fatal client errors').to.deep.equal([]);
    expect(r.consumerErrors, `non-retriable consumer errors: ${sample(r.consumerErrors)}`).to.deep.equal([]);
    expect(r.lost, `lost: ${sample(r.lost)}`).to.deep.equal([]);
    expect(r.duplicated, `duplicated: ${sample(r.duplicated)}`).to.deep.equal([]);
    expect(r.orderViolations, `order: ${sample(r.orderViolations)}`).to.deep.equal([]);
    expect(r.committedBackwards, `commits going backwards: ${sample(r.committedBackwards)}`).to.deep.equal([]);
    expect(r.resumeMismatches, `resume not at the committed offset: ${sample(r.resumeMismatches)}`).to.deep.equal([]);
  });
});
