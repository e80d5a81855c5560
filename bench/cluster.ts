/**
 * bench/cluster: distributions for cluster mode (issue 5), on a real 3-broker cluster sharing one
 * MinIO bucket (hack/minio.sh, as the S3 tests start it):
 *
 *   failover  kill -9 a broker leading partitions (never the controller), time until every one of
 *             its partitions accepts produce at a new leader; restart it; N runs -> p50/p99/max.
 *             Default broker settings unless --fast.
 *   move      move a partition holding --move-mb MB back and forth between two brokers, time until
 *             the target accepts produce; N runs -> p50/p99/max.
 *   metadata  --moves partition moves (batched over --meta-partitions partitions per request),
 *             then the size of the metadata log in the bucket (meta/ objects) and the controller
 *             replay time: all brokers killed, one started alone, time until "controller active".
 *
 *   npx tsc -p . && node dist/bench/cluster.js [--runs 20] [--only failover,move,metadata]
 *       [--moves 100000] [--meta-partitions 1000] [--move-mb 10] [--fast]
 */
import { Cluster, FAST_CLUSTER_CONFIG, bulkProduce, percentile } from '../test/helpers/cluster.js';
import { s3Store } from '../test/s3/helpers.js';
import { stopMinio } from '../test/s3/minio.hooks.js';
import { waitFor } from '../test/helpers/wait.js';

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const runs = Number(arg('runs', '20'));
const only = new Set(arg('only', 'failover,move,metadata').split(','));
const totalMoves = Number(arg('moves', '100000'));
const metaPartitions = Number(arg('meta-partitions', '1000'));
const moveMb = Number(arg('move-mb', '10'));
const fast = process.argv.includes('--fast');

function summary(name: string, ms: number[]): string {
  return `${name}: n=${ms.length} p50=${percentile(ms, 50)} ms p99=${percentile(ms, 99)} ms max=${Math.max(...ms)} ms min=${Math.min(...ms)} ms`;
}

async function failoverBench(): Promise<string> {
  const c = await Cluster.start({ name: 'bench-failover', brokers: 3, config: fast ? FAST_CLUSTER_CONFIG : undefined });
  try {
    const topic = 'bench-failover';
    await c.createTopic(topic, 12);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const ctl = await c.controller();
      const leaders = await c.leaders(topic);
      const candidates = c.members.filter((b) => b !== ctl && leaders.some((p) => p.leader === b.nodeId));
      const victim = candidates[i % candidates.length]!;
      const moved = leaders.filter((p) => p.leader === victim.nodeId).map((p) => p.partition);
      await c.kill9(victim);
      const r = await Promise.all(moved.map((p) => c.waitProducible(topic, p, 120_000)));
      const ms = Math.max(...r.map((x) => x.ms));
      times.push(ms);
      console.log(`failover run ${i + 1}/${runs}: node ${victim.nodeId}, ${moved.length} partitions, ${ms} ms`);
      await c.restart(victim);
      await c.waitForBrokers(3);
      // Spread the partitions again so the next victim leads some.
      const now = await c.leaders(topic);
      const ids = c.members.map((b) => b.nodeId!);
      const moves = now.map((p, j) => ({ topic, partition: p.partition, target: ids[j % ids.length]! })).filter((m, j) => now[j]!.leader !== m.target);
      if (moves.length > 0) {
        await c.reassign(moves);
        // Wait for the moves themselves, not just for some leader: a kill while a move is in
        // flight is detected at once (the release RPC to the victim fails and the controller
        // fences it), which would measure that path instead of a plain failover.
        await waitFor(
          async () => (await c.leaders(topic)).every((p, j) => p.leader === ids[j % ids.length]),
          60_000,
          () => `the partitions of ${topic} to be spread over ${JSON.stringify(ids)}`,
          200,
        );
        await c.waitForLeaders(topic, 12);
      }
    }
    return summary(`failover (${fast ? 'fast' : 'default'} settings, 12 partitions over 3 brokers)`, times);
  } finally {
    await c.stop();
  }
}

async function moveBench(): Promise<string> {
  const c = await Cluster.start({ name: 'bench-move', brokers: 3, config: FAST_CLUSTER_CONFIG });
  try {
    const topic = 'bench-move';
    await c.createTopic(topic, 1);
    await bulkProduce(c.bootstrap(), topic, 0, moveMb * 1024 * 1024);
    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const from = (await c.leaders(topic))[0]!.leader;
      const to = c.members.find((b) => b.nodeId !== from)!;
      const r = await c.timeMove(topic, 0, to);
      times.push(r.ms);
      console.log(`move run ${i + 1}/${runs}: node ${from} -> ${to.nodeId}: ${r.ms} ms`);
    }
    return summary(`move (${moveMb} MB partition)`, times);
  } finally {
    await c.stop();
  }
}

async function metadataBench(): Promise<string> {
  const c = await Cluster.start({ name: 'bench-metadata', brokers: 3, config: FAST_CLUSTER_CONFIG });
  try {
    const topic = 'bench-metadata';
    const parts = Math.min(metaPartitions, totalMoves);
    await c.createTopic(topic, parts, {}, 300_000);
    const ids = c.members.map((b) => b.nodeId!);
    let done = 0;
    let round = 0;
    const t0 = Date.now();
    while (done < totalMoves) {
      const n = Math.min(parts, totalMoves - done);
      const leaders = await c.leaders(topic);
      const moves = leaders.slice(0, n).map((p) => ({ topic, partition: p.partition, target: ids[(ids.indexOf(p.leader) + 1) % ids.length]! }));
      await c.reassign(moves, 300_000);
      await c.waitForLeaders(topic, parts, 300_000);
      done += n;
      round++;
      if (round % 10 === 0) console.log(`metadata: ${done}/${totalMoves} moves in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    const objects = await s3Store(c.minio, c.prefix).list('meta/');
    const bytes = objects.reduce((s, o) => s + o.size, 0);
    // Replay: every broker down, one started alone on an empty disk must load the log to lead.
    await Promise.all(c.members.map((b) => c.kill9(b)));
    const first = c.member(0);
    const started = Date.now();
    await c.restart(first, { wipe: true });
    await waitActive(first, 600_000);
    const replayMs = Date.now() - started;
    const active = first.find('controller active').at(-1);
    return (
      `metadata after ${done} moves (${parts} partitions, ${((Date.now() - t0) / 1000).toFixed(0)} s): ${objects.length} objects under meta/, ` +
      `${(bytes / 2 ** 20).toFixed(2)} MiB; controller replay (start to "controller active" on an empty disk): ${replayMs} ms ${JSON.stringify(active)}`
    );
  } finally {
    await c.stop();
  }
}

async function waitActive(b: ReturnType<Cluster['member']>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (b.find('controller active').length === 0) {
    if (!b.running) throw new Error(`${b.label} exited before "controller active"\n${b.tail(30)}`);
    if (Date.now() > deadline) throw new Error(`${b.label} did not log "controller active" within ${timeoutMs} ms\n${b.tail(30)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const results: string[] = [];
try {
  if (only.has('failover')) results.push(await failoverBench());
  if (only.has('move')) results.push(await moveBench());
  if (only.has('metadata')) results.push(await metadataBench());
} finally {
  await stopMinio();
}
console.log(`\n${results.join('\n')}`);
