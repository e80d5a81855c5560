// Issue 5, acceptance 2: chaos, bounded in count and time. Two librdkafka producers (idempotent,
// acks=all) write to 12 partitions and a group of 3 consumers reads and commits, while the test
// kill -9s a random broker every few seconds and restarts it (20 kills) and kills the active
// controller 5 times. Afterwards a checker compares every acked record with what was read:
// zero lost, zero duplicated (no record stored twice), per-partition send order kept; and the
// group resumed from its committed offsets after each kill (no committed offset went backwards,
// every assignment's first read was at the committed offset). The counts are printed.
import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { Cluster, FAST_CLUSTER_CONFIG, LoadProc, MINIO_START_TIMEOUT_MS, ackedValues, checkLoad, readValues, sample } from '../helpers/cluster.js';
import type { ClusterMember, LoadEvent } from '../helpers/cluster.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { seededRandom } from '../helpers/random.js';
import { delay, waitFor } from '../helpers/wait.js';

const PARTITIONS = 12;
const RANDOM_KILLS = 20;
const CONTROLLER_KILLS = 5;
/** Budget of the kill phase; the run fails if the cluster is too slow to take 25 kills in it. */
const CHAOS_BUDGET_MS = 6 * 60_000;
const SEED = Number(process.env.CHAOS_SEED ?? 5);
/** Broker log lines the test reads (broker/src/s3stream: stream-client.ts, metadata/replica.ts). */
const GAP_READ_LOG = 'stream has no stored data for offsets below its confirmed offset; reads skip them';
const ORDERED_RESEND_LOG = 'metadata owner is missing earlier WAL commits; sending them again in order';

/**
 * Where the acked-but-unread records are, per partition: their acked offsets, the highest offset
 * the group read, and the log end offset at the partition's leader now. Missing offsets below the
 * end offset are in the log (the group is stuck or skipped them); at or above it they were lost.
 * For the missing range it also says what the group read there: nothing (the group skipped the
 * offsets) or other values (the log holds other records at acked offsets: acked records lost).
 */
async function diagnoseMissingIn(c: Cluster, topic: string, producers: LoadEvent[][], consumerEvents: LoadEvent[]): Promise<string> {
  const read = new Set<string>();
  const readMax = new Map<number, number>();
  const readAt = new Map<string, { v: string; m: number; ts: number }[]>();
  for (const e of consumerEvents) {
    if (e.event !== 'record') continue;
    read.add(String(e['v']));
    const p = Number(e['p']);
    readMax.set(p, Math.max(readMax.get(p) ?? -1, Number(e['o'])));
    const k = `${p}/${Number(e['o'])}`;
    let at = readAt.get(k);
    if (at === undefined) readAt.set(k, (at = []));
    at.push({ v: String(e['v']), m: Number(e['m']), ts: Number(e['ts']) });
  }
  const byPartition = new Map<number, { o: number; v: string; ts: number }[]>();
  for (const evs of producers) {
    for (const e of evs) {
      if (e.event !== 'acked' || read.has(String(e['v']))) continue;
      const p = Number(e['p']);
      let missing = byPartition.get(p);
      if (missing === undefined) byPartition.set(p, (missing = []));
      missing.push({ o: Number(e['o']), v: String(e['v']), ts: Number(e['ts']) });
    }
  }
  const leaders = await c.leaders(topic).catch(() => []);
  const lines: string[] = [];
  const iso = (ts: number) => (Number.isFinite(ts) ? new Date(ts).toISOString() : '?');
  for (const [p, missing] of [...byPartition].sort((a, b) => a[0] - b[0])) {
    missing.sort((a, b) => a.o - b.o);
    const lo = missing[0]!;
    const hi = missing[missing.length - 1]!;
    const leader = leaders.find((x) => x.partition === p)?.leader;
    let end = 'unknown';
    if (leader !== undefined && leader >= 0) end = String(await c.endOffset(c.byNodeId(leader), topic, p).catch((e: unknown) => `error ${String(e)}`));
    let readInRange = 0;
    let otherValues = 0;
    for (const m of missing) {
      const at = readAt.get(`${p}/${m.o}`) ?? [];
      if (at.length > 0) readInRange++;
      if (at.some((r) => r.v !== m.v)) otherValues++;
    }
    const before = readAt.get(`${p}/${lo.o - 1}`)?.[0];
    const after = readAt.get(`${p}/${hi.o + 1}`)?.[0];
    lines.push(
      `  partition ${p}: ${missing.length} missing, acked offsets ${lo.o}..${hi.o} (acked ${iso(lo.ts)}..${iso(hi.ts)}); ` +
        `of these offsets the group read ${readInRange} (${otherValues} with another value); ` +
        `offset ${lo.o - 1} read ${before ? `by m${before.m} at ${iso(before.ts)}` : 'never'}, offset ${hi.o + 1} read ${after ? `by m${after.m} at ${iso(after.ts)}` : 'never'}; ` +
        `group read up to ${readMax.get(p) ?? 'nothing'}; log end offset at leader ${leader}: ${end}`,
    );
  }
  const groupEvents = consumerEvents
    .filter((e) => e.event !== 'record' && e.event !== 'committed')
    .slice(0, 200)
    .map((e) => `  ${iso(Number(e['ts']))} ${JSON.stringify(e)}`);
  return `unread acked records by partition:\n${lines.join('\n')}\ngroup events (first 200, without records and commits):\n${groupEvents.join('\n')}`;
}

/** Writes the brokers' and load processes' whole output to a kept temp dir; returns its path. */
async function dumpRun(c: Cluster, loads: LoadProc[]): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'automq-chaos-failure-'));
  await c.dumpLogs(dir);
  for (const [i, l] of loads.entries()) {
    await writeFile(path.join(dir, `load-${i}-${l.kind}.log`), l.proc.fullOutput());
  }
  return dir;
}

describe('cluster: chaos (20 random kill -9 + 5 controller kills under idempotent load)', function () {
  this.timeout(CHAOS_BUDGET_MS + 8 * 60_000);
  let cluster: Cluster | undefined;
  const loads: LoadProc[] = [];

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 180_000);
    cluster = await Cluster.start({ name: 'chaos', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(async function () {
    if (this.currentTest?.state !== 'failed' || !cluster) return;
    console.log(cluster.report(40));
    console.log(`whole logs of the brokers and the load kept in ${await dumpRun(cluster, loads)}`);
  });
  after(async () => {
    for (const l of loads) await l.kill();
    await cluster?.stop();
  });

  it('loses, duplicates and reorders nothing; commits never go backwards', async () => {
    const c = cluster!;
    const rnd = seededRandom(SEED);
    const topic = uniqueName('chaos');
    const group = `${topic}-group`;
    await c.createTopic(topic, PARTITIONS);
    const producers = [
      await LoadProc.start('produce', c.bootstrap(), { topic, partitions: PARTITIONS, name: 'p1', rate: 150 }),
      await LoadProc.start('produce', c.bootstrap(), { topic, partitions: PARTITIONS, name: 'p2', rate: 150 }),
    ];
    const consumer = await LoadProc.start('consume', c.bootstrap(), { topic, group, members: 3 });
    loads.push(...producers, consumer);
    await waitFor(() => consumer.events().some((e) => e.event === 'record'), 60_000, () => `the group to read a first record\n${consumer.proc.outputTail(20)}`, 250);

    // 25 kills; every 5th is the controller. Between kills: restart, wait until the cluster is
    // whole again (3 brokers, a controller), then a random pause of 1-3 s of normal operation.
    const plan = Array.from({ length: RANDOM_KILLS + CONTROLLER_KILLS }, (_, i) => (i % 5 === 4 ? 'controller' : 'random'));
    const log: string[] = [];
    const started = Date.now();
    const selfExits: string[] = [];
    // Like a supervisor: a broker that exits on its own (exit 3 "fenced, restart me", or a crash,
    // which fails the test at the end) is restarted; then the cluster must be whole again.
    const restartSelfExited = async (): Promise<void> => {
      for (const u of c.unexpectedExits()) {
        if (u.member.proc === u.proc && !u.member.running) {
          selfExits.push(`${u.member.label} pid ${u.proc.pid} ${JSON.stringify(u.exit)}`);
          console.log(`      unexpected exit of ${u.member.label}: ${JSON.stringify(u.exit)}; restarting it`);
          u.member.expectedExits.add(u.proc);
          await c.restart(u.member);
        }
      }
    };
    const settle = async (): Promise<void> => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        await restartSelfExited();
        try {
          await c.waitForBrokers(3, 15_000);
          return;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
      }
    };
    for (const [i, kind] of plan.entries()) {
      if (Date.now() - started > CHAOS_BUDGET_MS) {
        throw new Error(`chaos budget of ${CHAOS_BUDGET_MS} ms used up after ${i} of ${plan.length} kills:\n${log.join('\n')}`);
      }
      await settle();
      let victim: ClusterMember;
      if (kind === 'controller') victim = await c.controller();
      else {
        const live = c.live();
        victim = live[Math.floor(rnd() * live.length)]!;
      }
      const t0 = Date.now();
      await c.kill9(victim);
      const down = 500 + Math.floor(rnd() * 2000);
      await delay(down); // chaos schedule, not synchronization: the broker stays dead this long
      await c.restart(victim);
      await settle();
      const ctl = await c.controller({ timeoutMs: 60_000 });
      log.push(`  kill ${i + 1}/${plan.length} (${kind}): ${victim.label} down ${down} ms, whole again after ${Date.now() - t0} ms, controller node ${ctl.nodeId}`);
      console.log(`      ${log[log.length - 1]!.trim()}`);
      await delay(1000 + Math.floor(rnd() * 2000));
    }
    const chaosMs = Date.now() - started;
    console.log(`      ${plan.length} kills in ${(chaosMs / 1000).toFixed(0)} s`);

    // Let the load drain: producers flush everything, consumers read everything acked.
    await c.waitForLeaders(topic, PARTITIONS, 60_000);
    const pEvents = [];
    for (const p of producers) pEvents.push(await p.finish(240_000));
    const want = ackedValues(pEvents);
    const missing = () => {
      const got = readValues(consumer.events());
      let n = 0;
      for (const v of want) if (!got.has(v)) n++;
      return n;
    };
    try {
      await waitFor(() => missing() === 0, 180_000, () => `the group to read all ${want.size} acked records (${missing()} missing)`, 1000);
    } catch (err) {
      const diagnosis = await diagnoseMissingIn(c, topic, pEvents, consumer.events());
      const gaps = c.members.flatMap((m) => m.find(GAP_READ_LOG, true).map((l) => `  b${m.slot}: ${JSON.stringify(l)}`));
      throw new Error(`${(err as Error).message}\n${diagnosis}\nreads that met offsets with no stored data:\n${gaps.join('\n') || '  none'}`);
    }
    const cEvents = await consumer.finish(120_000);
    const r = checkLoad(pEvents, cEvents);
    // How often a new controller refused a WAL commit that overtook ones its predecessor died with
    // (each time, without that refusal, acked records would have become unreadable elsewhere).
    const gapResends = c.members.reduce((n, m) => n + m.find(ORDERED_RESEND_LOG, true).length, 0);
    const unreadable = c.members.flatMap((m) => m.find(GAP_READ_LOG, true));
    console.log(
      `      acked ${r.acked}; read ${r.consumedRecords} (${r.consumedDistinct} distinct, ${r.redelivered} re-deliveries); ` +
        `lost ${r.lost.length}; duplicated ${r.duplicated.length}; order violations ${r.orderViolations.length}; ` +
        `commits ${r.commits}, assignments ${r.assignments}, committed going backwards ${r.committedBackwards.length}, ` +
        `resume mismatches ${r.resumeMismatches.length}; produce errors ${r.producedErrors}; retriable client errors ${r.retriableClientErrors}; ` +
        `fatal client errors ${r.fatalClientErrors.length}; non-retriable consumer errors ${r.consumerErrors.length}; brokers that exited on their own ${selfExits.length}; ` +
        `WAL commits re-sent in order after a controller change ${gapResends}`,
    );
    expect(r.acked, 'records acked during the chaos').to.be.greaterThan(10_000);
    expect(r.lost, `acked records never read: ${sample(r.lost)}`).to.deep.equal([]);
    expect(unreadable.map((l) => JSON.stringify(l)), 'reads that met offsets with no stored data').to.deep.equal([]);
    expect(r.duplicated, `records stored twice: ${sample(r.duplicated)}`).to.deep.equal([]);
    expect(r.orderViolations, `order violations: ${sample(r.orderViolations)}`).to.deep.equal([]);
    expect(r.committedBackwards, `committed offsets going backwards: ${sample(r.committedBackwards)}`).to.deep.equal([]);
    expect(r.resumeMismatches, `members not resuming at the committed offset: ${sample(r.resumeMismatches)}`).to.deep.equal([]);
    expect(r.producedErrors, 'records the producers gave up on').to.equal(0);
    expect(r.fatalClientErrors, `fatal client errors: ${sample(r.fatalClientErrors)}`).to.deep.equal([]);
    expect(r.consumerErrors, `non-retriable consumer errors: ${sample(r.consumerErrors)}`).to.deep.equal([]);
    expect(r.assignments, 'group assignments (the group rebalanced as coordinators moved)').to.be.at.least(3);
    // A broker that crashed on its own (anything but exit 3, "fenced: restart me") is a bug.
    const all = [...selfExits, ...c.unexpectedExits().map((u) => `${u.member.label} pid ${u.proc.pid} ${JSON.stringify(u.exit)}`)];
    expect(all.filter((x) => !x.endsWith('{"code":3,"signal":null}')), 'brokers that crashed').to.deep.equal([]);
  });
});
