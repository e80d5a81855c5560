// A real cluster for the cluster acceptance tests and bench/cluster.ts: N `automq broker`
// processes on loopback sharing one MinIO bucket prefix (unique per cluster), each with its own
// empty temp data dir, free ports and rack. Brokers are started, killed (-9), stopped (SIGTERM),
// paused (SIGSTOP/SIGCONT) and restarted on the same listen address by the test; every process is
// tracked by PID and killed in stop(). Waits are bounded and fail with the brokers' logs.
//
// Wire-level helpers (Metadata, DescribeCluster, Produce probes, AlterPartitionReassignments) go
// through the project's codec with a per-request timeout, so a dead or paused broker costs a
// bounded wait, never a hang. The chaos/scale load runs confluent-kafka (librdkafka) in a Python
// process (LOAD_SCRIPT below) and is checked by checkLoad().
import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, errorInfo } from '../../broker/src/protocol/errors.js';
import { AlterPartitionReassignments } from '../../broker/src/protocol/messages/45_alter_partition_reassignments.js';
import { ListPartitionReassignments } from '../../broker/src/protocol/messages/46_list_partition_reassignments.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { DescribeCluster } from '../../broker/src/protocol/messages/60_describe_cluster.js';
import { ListOffsets } from '../../broker/src/protocol/messages/02_list_offsets.js';
import { Metadata } from '../../broker/src/protocol/messages/03_metadata.js';
import { Produce } from '../../broker/src/protocol/messages/00_produce.js';
import type { Api, Fields, In, Out } from '../../broker/src/protocol/schema.js';
import { freePorts, removeDir, repoRoot, tempDir } from './broker.js';
import { Proc } from './proc.js';
import type { ExitInfo } from './proc.js';
import { buildBatch } from './record-batch-builder.js';
import { PYTHON, requirePython } from './tools.js';
import { delay, waitFor, waitForNoThrow } from './wait.js';
import { WireClient, decodeResponse } from './wire-client.js';
import { minio, MINIO_START_TIMEOUT_MS } from '../s3/minio.hooks.js';
import type { Minio } from '../s3/minio.hooks.js';
import { s3Url, uniquePrefix } from '../s3/helpers.js';

export { MINIO_START_TIMEOUT_MS };

const brokerMain = path.join(repoRoot, 'dist/broker/src/cli/main.js');
const keepDirs = process.env.KEEP_TEST_DIRS === '1';

/** Fast timeouts for tests that kill many brokers: a dead broker is fenced after 4 s, a dead
 *  controller replaced after 3 s (defaults: 6 s and 4 s). Heartbeats twice a second. */
export const FAST_CLUSTER_CONFIG: Readonly<Record<string, number>> = {
  'broker.heartbeat.interval.ms': 500,
  'broker.session.timeout.ms': 4000,
  'controller.session.timeout.ms': 3000,
  'controlled.shutdown.timeout.ms': 20000,
};

export interface ClusterOptions {
  /** Goes into the bucket prefix and temp dir names. */
  name: string;
  brokers: number;
  /** Broker settings written to a YAML file passed with --config (none: the defaults). */
  config?: Readonly<Record<string, string | number>>;
  logLevel?: 'error' | 'warn' | 'info' | 'debug';
  /** Per broker start, until "broker ready" (default 90 s: 2 shared cores, S3 round trips). */
  readyTimeoutMs?: number;
  /** Extra environment of every broker process (e.g. KUBECONFIG for a Lease election). */
  env?: Readonly<Record<string, string>>;
}

export interface BrokerEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

export interface PartitionState {
  partition: number;
  leader: number;
  epoch: number;
  errorCode: number;
}

export interface ClusterMetadata {
  /** Slot of the member that answered. */
  from: number;
  clusterId: string | null;
  controllerId: number;
  brokers: BrokerEndpoint[];
  topics: Map<string, PartitionState[]>;
}

/** A JSON log line of a broker (the logger writes {ts, level, msg, ...fields}). */
export interface LogLine {
  ts?: string;
  level?: string;
  msg?: string;
  [k: string]: unknown;
}

export function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const j = JSON.parse(line) as unknown;
    return typeof j === 'object' && j !== null ? (j as LogLine) : undefined;
  } catch {
    return undefined;
  }
}

/** One broker slot of the cluster: fixed listen/metrics ports, data dir and rack across restarts. */
export class ClusterMember {
  /** Every process this slot ran, oldest first (logs of killed generations stay readable). */
  readonly generations: Proc[] = [];
  /** Node id from the current generation's "broker ready" line. */
  nodeId: number | undefined;
  paused = false;
  /** Exits the test caused (kill -9, SIGTERM); anything else is an unexpected exit. */
  readonly expectedExits = new Set<Proc>();

  constructor(
    readonly slot: number,
    readonly port: number,
    readonly metricsPort: number,
    readonly dataDir: string,
    readonly rack: string,
  ) {}

  get bootstrap(): string {
    return `127.0.0.1:${this.port}`;
  }
  get proc(): Proc | undefined {
    return this.generations[this.generations.length - 1];
  }
  get running(): boolean {
    return this.proc?.running ?? false;
  }
  get pid(): number | undefined {
    return this.proc?.pid;
  }
  /** "b<slot> (node N, pid P)" for messages. */
  get label(): string {
    return `b${this.slot} (node ${this.nodeId ?? '?'}, pid ${this.pid ?? '-'}, ${this.bootstrap})`;
  }

  /** Parsed JSON log lines of the current generation (or of all with all=true). */
  lines(all = false): LogLine[] {
    const procs = all ? this.generations : this.proc ? [this.proc] : [];
    const out: LogLine[] = [];
    for (const p of procs) {
      for (const l of p.stdoutLines) {
        const j = parseLogLine(l);
        if (j) out.push(j);
      }
    }
    return out;
  }

  /** Log lines whose msg is `msg` (current generation unless all=true). */
  find(msg: string, all = false): LogLine[] {
    return this.lines(all).filter((l) => l.msg === msg);
  }

  /** The last n lines of every generation's stdout and stderr, for failure messages. */
  tail(n = 30): string {
    return this.generations
      .map((p, i) => {
        const exit = p.exit ? JSON.stringify(p.exit) : 'running';
        return `--- ${this.label}: generation ${i + 1} pid ${p.pid} (${exit}) ---\n${p.outputTail(n)}`;
      })
      .join('\n');
  }

  /** Error-level lines of all generations (capped), for failure messages. */
  errors(limit = 20): string[] {
    const out: string[] = [];
    this.generations.forEach((p, g) => {
      for (const l of p.stdoutLines) {
        if (l.includes('"level":"error"')) out.push(`b${this.slot} gen${g + 1}: ${l}`);
      }
      for (const l of p.stderrLines) out.push(`b${this.slot} gen${g + 1} stderr: ${l}`);
    });
    return out.slice(-limit);
  }
}

function isBrokerReady(line: string): LogLine | undefined {
  if (!line.includes('broker ready')) return undefined;
  const j = parseLogLine(line);
  return j?.msg === 'broker ready' ? j : undefined;
}

function brokerEnv(m: Minio): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ACCESS_KEY_ID: m.accessKeyId,
    AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
    AWS_REGION: m.region,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    AWS_CONFIG_FILE: '/nonexistent',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
    AWS_EC2_METADATA_DISABLED: 'true',
  };
}

const RACKS = ['zone-a', 'zone-b', 'zone-c'];

export class Cluster {
  readonly members: ClusterMember[] = [];
  private readonly wire = new WirePool();
  private stopped = false;

  private constructor(
    readonly opts: ClusterOptions,
    readonly minio: Minio,
    readonly prefix: string,
    readonly objectStoreUrl: string,
    readonly clusterId: string,
    private readonly workDir: string,
    private readonly configFile: string | undefined,
  ) {}

  /**
   * Starts `opts.brokers` brokers at once and waits until each logged "broker ready", every one
   * answers Metadata listing all of them, and they agree on a live controller. On failure every
   * process is stopped and the error carries their logs.
   */
  static async start(opts: ClusterOptions): Promise<Cluster> {
    if (!existsSync(brokerMain)) {
      throw new Error(`${brokerMain} does not exist: build first with 'npx tsc -p .' (npm test builds it)`);
    }
    const m = await minio();
    const prefix = uniquePrefix(`cluster-${opts.name}`);
    const workDir = await tempDir(`automq-cluster-${opts.name}-`);
    let configFile: string | undefined;
    if (opts.config && Object.keys(opts.config).length > 0) {
      configFile = path.join(workDir, 'broker-config.yaml');
      await writeFile(configFile, Object.entries(opts.config).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join('\n') + '\n');
    }
    const clusterId = `c${randomBytes(8).toString('hex')}`;
    const c = new Cluster(opts, m, prefix, s3Url(m, prefix), clusterId, workDir, configFile);
    try {
      await Promise.all(Array.from({ length: opts.brokers }, () => c.addMember({ waitForCluster: false })));
      await c.waitForBrokers(opts.brokers);
      await c.controller();
    } catch (e) {
      const logs = c.report();
      await c.stop();
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
    return c;
  }

  /** Bootstrap list of the members that are running. */
  bootstrap(): string {
    return this.live().map((b) => b.bootstrap).join(',');
  }

  live(): ClusterMember[] {
    return this.members.filter((b) => b.running && !b.paused);
  }

  member(slot: number): ClusterMember {
    const b = this.members[slot];
    if (!b) throw new Error(`no broker slot ${slot} (cluster has ${this.members.length})`);
    return b;
  }

  byNodeId(nodeId: number): ClusterMember {
    const b = this.members.find((x) => x.nodeId === nodeId);
    if (!b) throw new Error(`no member has node id ${nodeId}; members: ${this.members.map((x) => x.label).join(', ')}`);
    return b;
  }

  /** A new broker slot (fresh ports, empty data dir, next rack), started and ready. */
  async addMember(o: { waitForCluster?: boolean } = {}): Promise<ClusterMember> {
    const [port, metricsPort] = await freePorts(2);
    // Slot taken and member pushed with no await in between: parallel starts get distinct slots.
    const slot = this.members.length;
    const dataDir = path.join(this.workDir, `broker-${slot}`);
    const b = new ClusterMember(slot, port!, metricsPort!, dataDir, RACKS[slot % RACKS.length]!);
    this.members.push(b);
    await mkdir(dataDir, { recursive: true });
    await this.launch(b);
    if (o.waitForCluster ?? true) await this.waitForBrokers(this.live().length);
    return b;
  }

  private brokerArgs(b: ClusterMember): string[] {
    return [
      brokerMain,
      'broker',
      '--object-store', this.objectStoreUrl,
      '--listen', b.bootstrap,
      '--metrics-port', String(b.metricsPort),
      '--data-dir', b.dataDir,
      '--rack', b.rack,
      '--cluster-id', this.clusterId,
      '--log-level', this.opts.logLevel ?? 'info',
      ...(this.configFile ? ['--config', this.configFile] : []),
    ];
  }

  private async launch(b: ClusterMember): Promise<void> {
    if (this.stopped) throw new Error('the cluster was stopped');
    b.nodeId = undefined;
    b.paused = false;
    const proc = await Proc.start(process.execPath, this.brokerArgs(b), { cwd: repoRoot, env: { ...brokerEnv(this.minio), ...this.opts.env }, maxLines: 200_000 });
    b.generations.push(proc);
    await this.waitReady(b);
  }

  /** Waits for the current generation's "broker ready" line (mode "broker", a node id). */
  async waitReady(b: ClusterMember, timeoutMs = this.opts.readyTimeoutMs ?? 90_000): Promise<void> {
    const proc = b.proc!;
    let ready: LogLine | undefined;
    await waitFor(
      () => {
        for (const l of proc.stdoutLines) {
          ready = isBrokerReady(l);
          if (ready) return true;
        }
        if (!proc.running) {
          throw new Error(`broker ${b.label} exited (${JSON.stringify(proc.exit)}) before logging "broker ready"; command: ${proc.command}\n${proc.outputTail(40)}`);
        }
        return false;
      },
      timeoutMs,
      () => `broker ${b.label} to log "broker ready"; command: ${proc.command}\n${proc.outputTail(40)}`,
      50,
    );
    if (ready!.mode !== 'broker') throw new Error(`"broker ready" of ${b.label} says mode ${JSON.stringify(ready!.mode)}, expected "broker": ${JSON.stringify(ready)}`);
    if (typeof ready!.nodeId !== 'number' || !Number.isInteger(ready!.nodeId) || ready!.nodeId < 0) {
      throw new Error(`"broker ready" of ${b.label} carries no node id: ${JSON.stringify(ready)}`);
    }
    b.nodeId = ready!.nodeId;
  }

  // --- process control ---------------------------------------------------------------------

  /** kill -9 (SIGCONT is not needed: SIGKILL ends a stopped process too). */
  async kill9(b: ClusterMember): Promise<ExitInfo> {
    const proc = this.requireProc(b);
    b.expectedExits.add(proc);
    const r = await proc.stop(0, 'SIGKILL');
    b.paused = false;
    return r;
  }

  /** SIGTERM (controlled shutdown) and wait for the exit; SIGKILL and throw after timeoutMs. */
  async terminate(b: ClusterMember, timeoutMs: number): Promise<ExitInfo> {
    const proc = this.requireProc(b);
    b.expectedExits.add(proc);
    proc.signal('SIGTERM');
    return proc.waitExit(timeoutMs);
  }

  pause(b: ClusterMember): void {
    const proc = this.requireProc(b);
    proc.signal('SIGSTOP');
    b.paused = true;
  }

  resume(b: ClusterMember): void {
    const proc = this.requireProc(b);
    proc.signal('SIGCONT');
    b.paused = false;
  }

  /** Starts the slot again on the same listen address; wipe=true empties its data dir first. */
  async restart(b: ClusterMember, o: { wipe?: boolean } = {}): Promise<void> {
    if (b.running) throw new Error(`restart: ${b.label} is still running; kill or stop it first`);
    if (o.wipe) {
      await rm(b.dataDir, { recursive: true, force: true });
      await mkdir(b.dataDir, { recursive: true });
    }
    await this.launch(b);
  }

  private requireProc(b: ClusterMember): Proc {
    const p = b.proc;
    if (!p || !p.running) throw new Error(`${b.label} is not running`);
    return p;
  }

  /** Exits of any generation the test did not cause: [{member, proc}] (crashes, code 3 fences). */
  unexpectedExits(): { member: ClusterMember; proc: Proc; exit: ExitInfo }[] {
    const out: { member: ClusterMember; proc: Proc; exit: ExitInfo }[] = [];
    for (const b of this.members) {
      for (const p of b.generations) {
        if (p.exit && !b.expectedExits.has(p)) out.push({ member: b, proc: p, exit: p.exit });
      }
    }
    return out;
  }

  /** Throws with logs if a broker exited without the test asking it to. */
  assertNoUnexpectedExit(): void {
    const u = this.unexpectedExits();
    if (u.length > 0) {
      throw new Error(
        `${u.length} broker process(es) exited on their own: ${u.map((x) => `${x.member.label} pid ${x.proc.pid} ${JSON.stringify(x.exit)}`).join('; ')}\n` +
          u.map((x) => `--- pid ${x.proc.pid} ---\n${x.proc.outputTail(30)}`).join('\n'),
      );
    }
  }

  /** Stops every process by PID (SIGKILL: the bucket prefix is thrown away) and removes the dirs. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wire.closeAll();
    await Promise.all(
      this.members.flatMap((b) =>
        b.generations.filter((p) => p.running).map((p) => {
          b.expectedExits.add(p);
          return p.stop(0, 'SIGKILL');
        }),
      ),
    );
    if (!keepDirs) await removeDir(this.workDir);
    else console.log(`KEEP_TEST_DIRS=1: cluster dirs kept in ${this.workDir}, objects under ${this.minio.bucket}/${this.prefix}`);
  }

  /**
   * Writes every generation's whole stdout and stderr to `dir` (one file per process, named by
   * slot and generation), for failures that the tail of a report cannot explain.
   */
  async dumpLogs(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    for (const b of this.members) {
      for (const [g, p] of b.generations.entries()) await writeFile(path.join(dir, `b${b.slot}-gen${g + 1}-pid${p.pid}.log`), p.fullOutput());
    }
  }

  /** Every member's state, the last log lines of each generation and all error lines. */
  report(tailLines = 25): string {
    const parts = [`cluster ${this.opts.name}: bucket ${this.minio.bucket} prefix ${this.prefix}, cluster id ${this.clusterId}`];
    for (const b of this.members) {
      parts.push(b.tail(tailLines));
      const errs = b.errors(15);
      if (errs.length > 0) parts.push(`--- ${b.label}: error lines ---\n${errs.join('\n')}`);
    }
    return parts.join('\n');
  }

  // --- wire requests -----------------------------------------------------------------------

  request<Q extends Fields, R extends Fields>(b: ClusterMember, api: Api<Q, R>, version: number, body: In<Q>, timeoutMs = 5000): Promise<Out<R>> {
    return this.wire.request(b.port, api, version, body, timeoutMs);
  }

  /** Metadata (v12, all topics) as `b` (default: the first live member that answers) sees it. */
  async metadata(b?: ClusterMember, timeoutMs = 5000): Promise<ClusterMetadata> {
    const candidates = b ? [b] : this.live();
    if (candidates.length === 0) throw new Error('no live broker to ask for Metadata');
    let lastErr: unknown;
    for (const m of candidates) {
      try {
        const r = await this.request(m, Metadata, 12, { topics: null, allowAutoTopicCreation: false, includeTopicAuthorizedOperations: false }, timeoutMs);
        const topics = new Map<string, PartitionState[]>();
        for (const t of r.topics) {
          topics.set(
            t.name ?? '',
            t.partitions
              .map((p) => ({ partition: p.partitionIndex, leader: p.leaderId, epoch: p.leaderEpoch, errorCode: p.errorCode }))
              .sort((x, y) => x.partition - y.partition),
          );
        }
        return {
          from: m.slot,
          clusterId: r.clusterId,
          controllerId: r.controllerId,
          brokers: r.brokers.map((x) => ({ nodeId: x.nodeId, host: x.host, port: x.port, rack: x.rack })).sort((x, y) => x.nodeId - y.nodeId),
          topics,
        };
      } catch (e) {
        lastErr = e;
      }
    }
    throw new Error(`Metadata failed on ${candidates.map((x) => x.label).join(', ')}: ${(lastErr as Error).message}`);
  }

  async describeCluster(b: ClusterMember, timeoutMs = 5000): Promise<{ clusterId: string; controllerId: number; brokers: BrokerEndpoint[] }> {
    const r = await this.request(b, DescribeCluster, 1, { includeClusterAuthorizedOperations: false, endpointType: 1 }, timeoutMs);
    if (r.errorCode !== 0) throw new Error(`DescribeCluster on ${b.label}: ${errorInfo(r.errorCode).name} ${r.errorMessage ?? ''}`);
    return {
      clusterId: r.clusterId,
      controllerId: r.controllerId,
      brokers: r.brokers.map((x) => ({ nodeId: x.brokerId, host: x.host, port: x.port, rack: x.rack })).sort((x, y) => x.nodeId - y.nodeId),
    };
  }

  /** Waits until every live member answers Metadata listing exactly the live members' node ids. */
  async waitForBrokers(count: number, timeoutMs = 60_000): Promise<void> {
    let last = '';
    await waitForNoThrow(
      async () => {
        const live = this.live();
        const want = live.map((b) => b.nodeId).sort((x, y) => (x ?? -1) - (y ?? -1));
        const views = await Promise.all(live.map(async (b) => ({ b, md: await this.metadata(b) })));
        last = views.map((v) => `${v.b.label}: brokers ${JSON.stringify(v.md.brokers.map((x) => x.nodeId))} controller ${v.md.controllerId}`).join('; ');
        return live.length === count && views.every((v) => JSON.stringify(v.md.brokers.map((x) => x.nodeId)) === JSON.stringify(want));
      },
      (ok) => ok,
      timeoutMs,
      () => `${count} live brokers, each listing all of them in Metadata; last views: ${last}\n${this.report(15)}`,
      200,
    );
  }

  /**
   * The active controller: waits until every live member's Metadata names the same controller
   * and that controller is a live member. `not` excludes a node id (e.g. a deposed controller).
   */
  async controller(o: { timeoutMs?: number; not?: number } = {}): Promise<ClusterMember> {
    let last = '';
    const id = await waitForNoThrow(
      async () => {
        const live = this.live();
        const ids = await Promise.all(live.map(async (b) => (await this.metadata(b)).controllerId));
        last = live.map((b, i) => `${b.label} says ${ids[i]}`).join('; ');
        const first = ids[0];
        if (first === undefined || first < 0 || !ids.every((x) => x === first) || first === o.not) return -1;
        return live.some((b) => b.nodeId === first) ? first : -1;
      },
      (x) => x >= 0,
      o.timeoutMs ?? 60_000,
      () => `the live brokers to agree on a live controller${o.not !== undefined ? ` other than node ${o.not}` : ''}; last: ${last}\n${this.report(15)}`,
      200,
    );
    return this.byNodeId(id);
  }

  /** Creates a topic on the controller (CreateTopics v5) and waits until every partition has a
   *  live leader in every live member's Metadata. */
  async createTopic(topic: string, partitions: number, configs: Record<string, string> = {}, timeoutMs = 60_000): Promise<void> {
    await waitForNoThrow(
      async () => {
        const ctl = await this.controller();
        const r = await this.request(ctl, CreateTopics, 5, {
          topics: [{ name: topic, numPartitions: partitions, replicationFactor: 1, configs: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
          timeoutMs: 30_000,
        }, 35_000);
        const t = r.topics[0]!;
        if (t.errorCode === ErrorCode.TOPIC_ALREADY_EXISTS || t.errorCode === 0) return true;
        if (errorInfo(t.errorCode).retriable) return false;
        throw new Error(`CreateTopics ${topic} on ${ctl.label}: ${errorInfo(t.errorCode).name} ${t.errorMessage ?? ''}`);
      },
      (ok) => ok,
      timeoutMs,
      (_, err) => `CreateTopics ${topic} (${partitions} partitions) to succeed on the controller${err ? `: ${(err as Error).message}` : ''}`,
    );
    await this.waitForLeaders(topic, partitions, timeoutMs);
  }

  /** Waits until every live member reports `partitions` partitions, each led by a live member. */
  async waitForLeaders(topic: string, partitions: number, timeoutMs = 60_000): Promise<PartitionState[]> {
    let last = '';
    let result: PartitionState[] = [];
    await waitForNoThrow(
      async () => {
        const liveIds = new Set(this.live().map((b) => b.nodeId));
        last = `live node ids ${JSON.stringify([...liveIds])}; `;
        const views = await Promise.all(this.live().map((b) => this.metadata(b)));
        last += views.map((v) => `b${v.from}: ${JSON.stringify(v.topics.get(topic)?.map((p) => `${p.partition}@${p.leader}e${p.epoch}${p.errorCode !== 0 ? `:${errorInfo(p.errorCode).name}` : ''}`))}`).join('; ');
        const ok = views.every((v) => {
          const ps = v.topics.get(topic);
          return ps !== undefined && ps.length === partitions && ps.every((p) => p.errorCode === 0 && liveIds.has(p.leader));
        });
        if (ok) result = views[0]!.topics.get(topic)!;
        return ok;
      },
      (ok) => ok,
      timeoutMs,
      () => `every partition of ${topic} (${partitions}) to have a live leader on every live broker; last: ${last}\n${this.report(15)}`,
      200,
    );
    return result;
  }

  /** Leaders of a topic as the controller sees them. */
  async leaders(topic: string): Promise<PartitionState[]> {
    const ctl = await this.controller();
    const ps = (await this.metadata(ctl)).topics.get(topic);
    if (!ps) throw new Error(`topic ${topic} unknown to the controller ${ctl.label}`);
    return ps;
  }

  /**
   * Produces one small record with acks=all to the partition's leader at `b` (Produce v9).
   * Returns the partition error code, or throws when `b` does not answer in time.
   */
  async produceProbe(b: ClusterMember, topic: string, partition: number, timeoutMs = 3000): Promise<{ errorCode: number; baseOffset: bigint }> {
    const r = await this.request(b, Produce, 9, {
      acks: -1,
      timeoutMs: Math.max(1, timeoutMs - 500),
      topicData: [{ name: topic, partitionData: [{ index: partition, records: buildBatch([{ key: Buffer.from('probe'), value: Buffer.from(`probe-${Date.now()}`) }]) }] }],
    }, timeoutMs);
    const p = r.responses[0]!.partitionResponses[0]!;
    return { errorCode: p.errorCode, baseOffset: p.baseOffset };
  }

  /** Log end offset of a partition from its leader (ListOffsets v7, latest). */
  async endOffset(b: ClusterMember, topic: string, partition: number, timeoutMs = 5000): Promise<number> {
    const r = await this.request(b, ListOffsets, 7, {
      replicaId: -1,
      isolationLevel: 0,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, currentLeaderEpoch: -1, timestamp: -1n }] }],
    }, timeoutMs);
    const p = r.topics[0]!.partitions[0]!;
    if (p.errorCode !== 0) throw new Error(`ListOffsets ${topic}-${partition} on ${b.label}: ${errorInfo(p.errorCode).name}`);
    return Number(p.offset);
  }

  /**
   * Asks the controller to move partitions (AlterPartitionReassignments: replicas [target]);
   * retries NOT_CONTROLLER after looking the controller up again. Throws on any other error.
   */
  async reassign(moves: { topic: string; partition: number; target: number }[], timeoutMs = 30_000): Promise<void> {
    const byTopic = new Map<string, { partitionIndex: number; replicas: number[] }[]>();
    for (const m of moves) {
      const l = byTopic.get(m.topic) ?? [];
      l.push({ partitionIndex: m.partition, replicas: [m.target] });
      byTopic.set(m.topic, l);
    }
    const body = { timeoutMs: 30_000, topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })) };
    await waitForNoThrow(
      async () => {
        const ctl = await this.controller();
        const r = await this.request(ctl, AlterPartitionReassignments, 0, body, 35_000);
        if (r.errorCode === ErrorCode.NOT_CONTROLLER) return false;
        if (r.errorCode !== 0) throw new Error(`AlterPartitionReassignments on ${ctl.label}: ${errorInfo(r.errorCode).name} ${r.errorMessage ?? ''}`);
        const bad = r.responses.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) => `${t.name}-${p.partitionIndex}: ${errorInfo(p.errorCode).name} ${p.errorMessage ?? ''}`));
        if (bad.length > 0) throw new Error(`AlterPartitionReassignments on ${ctl.label} refused: ${bad.join('; ')}`);
        return true;
      },
      (ok) => ok,
      timeoutMs,
      (_, err) => `AlterPartitionReassignments ${JSON.stringify(moves)} to be accepted${err ? `: ${(err as Error).message}` : ''}`,
      100,
    );
  }

  /**
   * Moves one partition to `target` and times it from sending AlterPartitionReassignments until
   * the target accepts a produce for it (polling every 10 ms), then checks that the controller's
   * Metadata names the target and no reassignment is listed any more.
   */
  async timeMove(topic: string, partition: number, target: ClusterMember, timeoutMs = 30_000): Promise<{ ms: number; acceptedMs: number }> {
    const t0 = Date.now();
    await this.reassign([{ topic, partition, target: target.nodeId! }], timeoutMs);
    const acceptedMs = Date.now() - t0;
    let last = '';
    for (;;) {
      try {
        const r = await this.produceProbe(target, topic, partition, 2000);
        if (r.errorCode === 0) break;
        last = errorInfo(r.errorCode).name;
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() - t0 > timeoutMs) {
        throw new Error(`move of ${topic}-${partition} to ${target.label}: no produce accepted there within ${timeoutMs} ms; last: ${last}\n${this.report(15)}`);
      }
      await delay(10);
    }
    const ms = Date.now() - t0;
    const p = (await this.leaders(topic)).find((x) => x.partition === partition);
    if (p?.leader !== target.nodeId) throw new Error(`after the move the controller names leader ${p?.leader} for ${topic}-${partition}, expected ${target.nodeId}`);
    await waitForNoThrow(
      () => this.listReassignments(),
      (l) => !l.includes(`${topic}-${partition}`),
      10_000,
      (l) => `ListPartitionReassignments to stop listing ${topic}-${partition}: ${JSON.stringify(l)}`,
      100,
    );
    return { ms, acceptedMs };
  }

  /** Ongoing reassignments as the controller lists them ("topic-partition" strings). */
  async listReassignments(): Promise<string[]> {
    const ctl = await this.controller();
    const r = await this.request(ctl, ListPartitionReassignments, 0, { timeoutMs: 10_000, topics: null }, 15_000);
    if (r.errorCode !== 0) throw new Error(`ListPartitionReassignments on ${ctl.label}: ${errorInfo(r.errorCode).name} ${r.errorMessage ?? ''}`);
    return r.topics.flatMap((t) => t.partitions.map((p) => `${t.name}-${p.partitionIndex}`));
  }

  /**
   * Waits until `partition` accepts a produce at its leader: asks any live member for Metadata,
   * then produces one probe record to the leader it names. Returns the leader and the time taken.
   */
  async waitProducible(topic: string, partition: number, timeoutMs: number, o: { leader?: number; intervalMs?: number } = {}): Promise<{ leader: number; ms: number }> {
    const started = Date.now();
    let last = 'no attempt yet';
    for (;;) {
      try {
        const md = await this.metadata(undefined, 2000);
        const p = md.topics.get(topic)?.find((x) => x.partition === partition);
        if (!p) last = `b${md.from} does not know ${topic}-${partition}`;
        else if (p.leader < 0) last = `b${md.from}: ${topic}-${partition} has no leader (${errorInfo(p.errorCode).name})`;
        else if (o.leader !== undefined && p.leader !== o.leader) last = `b${md.from}: leader ${p.leader}, waiting for ${o.leader}`;
        else {
          const leader = this.members.find((b) => b.nodeId === p.leader && b.running && !b.paused);
          if (!leader) last = `b${md.from} names leader ${p.leader}, which is not a live member`;
          else {
            const r = await this.produceProbe(leader, topic, partition, 2000);
            if (r.errorCode === 0) return { leader: p.leader, ms: Date.now() - started };
            last = `produce to ${leader.label}: ${errorInfo(r.errorCode).name}`;
          }
        }
      } catch (e) {
        last = (e as Error).message;
      }
      if (Date.now() - started > timeoutMs) {
        throw new Error(`${topic}-${partition} did not accept a produce within ${timeoutMs} ms; last: ${last}\n${this.report(15)}`);
      }
      await delay(o.intervalMs ?? 50);
    }
  }
}

/** Connections to brokers by port, one request at a time per connection; a timeout or a broken
 *  connection drops the connection (late answers would otherwise be matched to later requests). */
class WirePool {
  private readonly conns = new Map<number, { client: WireClient; busy: Promise<unknown> }>();

  async request<Q extends Fields, R extends Fields>(port: number, api: Api<Q, R>, version: number, body: In<Q>, timeoutMs: number): Promise<Out<R>> {
    let entry = this.conns.get(port);
    if (!entry || entry.client.closed) {
      const client = await withDeadline(WireClient.connect(port), Math.min(timeoutMs, 3000), `connect to 127.0.0.1:${port}`);
      entry = { client, busy: Promise.resolve() };
      this.conns.set(port, entry);
    }
    const e = entry;
    const run = e.busy.then(async () => {
      if (e.client.closed) throw new Error(`connection to 127.0.0.1:${port} closed`);
      const frame = e.client.nextFrame(timeoutMs);
      const bytes = e.client.encodeRequest(api, version, body, 1);
      e.client.writeRaw(bytes);
      try {
        return decodeResponse(api, version, await frame, 1);
      } catch (err) {
        e.client.close();
        if (this.conns.get(port) === e) this.conns.delete(port);
        throw new Error(`${api.name} v${version} to 127.0.0.1:${port}: ${(err as Error).message}`);
      }
    });
    e.busy = run.catch(() => undefined);
    return run;
  }

  closeAll(): void {
    for (const e of this.conns.values()) e.client.close();
    this.conns.clear();
  }
}

async function withDeadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

// --- statistics ----------------------------------------------------------------------------

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i]!;
}

// --- load: confluent-kafka producers and consumer groups in a Python process ----------------

/**
 * confluent-kafka (librdkafka) load for chaos/scale tests. One JSON object per line on stdout.
 *   produce: --topic --partitions --name --rate R/s [--size B]; record i: partition i % partitions,
 *            key/value "<name>-<i>" (+ padding); enable.idempotence, acks=all, never times out a
 *            record (message.timeout.ms 10 min). Events: acked {p,o,v}, produce-error, client-error.
 *   consume: --topic --group --members M; M threads; commits what each read, synchronously, every
 *            second and on revocation. Events: assigned {m, offsets: committed at assignment},
 *            record {m,p,o,v}, committed {m,offsets}, commit-failed, revoked, consumer-error.
 *   bulk:    --topic --partition --bytes N [--size B]: produce N bytes fast (acks=all), then exit.
 * SIGTERM ends produce/consume cleanly (flush / final commit), then "done".
 */
export const LOAD_SCRIPT = String.raw`
import json, os, signal, sys, threading, time
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

lock = threading.Lock()
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())

def emit(o):
    o["ts"] = int(time.time() * 1000)
    with lock:
        sys.stdout.write(json.dumps(o, separators=(",", ":")) + "\n")
        sys.stdout.flush()

def arg(name, default=None):
    if "--" + name in sys.argv:
        return sys.argv[sys.argv.index("--" + name) + 1]
    if default is None:
        raise SystemExit("missing --" + name)
    return default

def err_event(kind, err, **kw):
    d = {"event": kind, "code": err.name() if hasattr(err, "name") else str(err), "error": str(err), **kw}
    if hasattr(err, "retriable"):
        d["retriable"] = bool(err.retriable())
        d["fatal"] = bool(err.fatal())
    emit(d)

def on_client_error(err):
    err_event("client-error", err)

def produce():
    topic, parts, name = arg("topic"), int(arg("partitions")), arg("name")
    rate, size = float(arg("rate")), int(arg("size", "100"))
    pad = "x" * max(0, size - len(name) - 12)
    p = Producer({"bootstrap.servers": arg("bootstrap"), "client.id": name, "enable.idempotence": True,
                  "acks": "all", "linger.ms": 5, "message.timeout.ms": 600000, "retry.backoff.ms": 100,
                  "topic.metadata.refresh.interval.ms": 2000, "error_cb": on_client_error})
    counts = {"acked": 0, "errors": 0}
    def on_delivery(err, msg):
        v = msg.key().decode()
        if err is not None:
            counts["errors"] += 1
            err_event("produce-error", err, v=v)
        else:
            counts["acked"] += 1
            emit({"event": "acked", "p": msg.partition(), "o": msg.offset(), "v": v})
    i, start = 0, time.time()
    while not stop.is_set():
        due = start + i / rate
        now = time.time()
        if now < due:
            p.poll(min(0.05, due - now))
            continue
        key = "%s-%d" % (name, i)
        try:
            p.produce(topic, key=key, value=key + pad, partition=i % parts, on_delivery=on_delivery)
            i += 1
        except BufferError:
            p.poll(0.1)
        p.poll(0)
    left = p.flush(180)
    emit({"event": "done", "sent": i, "acked": counts["acked"], "errors": counts["errors"], "unflushed": left})
    return 0 if left == 0 and counts["errors"] == 0 else 1

def bulk():
    topic, part, total, size = arg("topic"), int(arg("partition")), int(arg("bytes")), int(arg("size", "65536"))
    bufs = [os.urandom(size) for _ in range(16)]
    p = Producer({"bootstrap.servers": arg("bootstrap"), "acks": "all", "linger.ms": 20, "batch.size": 1000000,
                  "queue.buffering.max.kbytes": 262144, "message.timeout.ms": 600000, "compression.type": "none",
                  "error_cb": on_client_error})
    st = {"acked": 0, "bytes": 0, "errors": 0, "last": -1}
    def on_delivery(err, msg):
        if err is not None:
            st["errors"] += 1
            err_event("produce-error", err)
        else:
            st["acked"] += 1
            st["bytes"] += len(msg.value())
            st["last"] = max(st["last"], msg.offset())
    sent, i, t0 = 0, 0, time.time()
    while sent < total:
        try:
            p.produce(topic, value=bufs[i % 16], partition=part, on_delivery=on_delivery)
            sent += size
            i += 1
        except BufferError:
            p.poll(0.05)
        p.poll(0)
    left = p.flush(600)
    emit({"event": "done", "records": i, "acked": st["acked"], "bytes": st["bytes"], "errors": st["errors"],
          "unflushed": left, "lastOffset": st["last"], "seconds": round(time.time() - t0, 2)})
    return 0 if left == 0 and st["errors"] == 0 else 1

def consume():
    topic, group, members = arg("topic"), arg("group"), int(arg("members"))
    failed = []
    def member(m):
        c = Consumer({"bootstrap.servers": arg("bootstrap"), "group.id": group, "client.id": "%s-m%d" % (group, m),
                      "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 10000,
                      "heartbeat.interval.ms": 1000, "topic.metadata.refresh.interval.ms": 2000,
                      "error_cb": on_client_error})
        pos = {}
        def commit(parts):
            offs = [TopicPartition(topic, q, pos[q]) for q in parts if q in pos]
            if not offs:
                return
            try:
                res = c.commit(offsets=offs, asynchronous=False)
                bad = [tp for tp in res if tp.error is not None]
                if bad:
                    emit({"event": "commit-failed", "m": m, "error": str(bad[0].error)})
                else:
                    emit({"event": "committed", "m": m, "offsets": {str(tp.partition): tp.offset for tp in res}})
            except KafkaException as e:
                err_event("commit-failed", e.args[0], m=m)
        def on_assign(consumer, parts):
            offsets = {}
            try:
                for tp in consumer.committed(parts, timeout=30):
                    offsets[str(tp.partition)] = tp.offset
            except KafkaException as e:
                offsets = None
                err_event("committed-fetch-failed", e.args[0], m=m)
            emit({"event": "assigned", "m": m, "partitions": sorted(tp.partition for tp in parts), "offsets": offsets})
        def on_revoke(consumer, parts):
            mine = [tp.partition for tp in parts]
            commit(mine)
            for q in mine:
                pos.pop(q, None)
            emit({"event": "revoked", "m": m, "partitions": sorted(mine)})
        def on_lost(consumer, parts):
            for tp in parts:
                pos.pop(tp.partition, None)
            emit({"event": "lost", "m": m, "partitions": sorted(tp.partition for tp in parts)})
        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        last = time.time()
        try:
            while not stop.is_set():
                msg = c.poll(0.2)
                if msg is not None:
                    if msg.error():
                        if msg.error().code() != KafkaError._PARTITION_EOF:
                            err_event("consumer-error", msg.error(), m=m)
                    else:
                        emit({"event": "record", "m": m, "p": msg.partition(), "o": msg.offset(), "v": msg.key().decode()})
                        pos[msg.partition()] = msg.offset() + 1
                if time.time() - last >= 1.0:
                    commit(list(pos.keys()))
                    last = time.time()
            commit(list(pos.keys()))
        except Exception as e:
            failed.append(m)
            emit({"event": "member-crashed", "m": m, "error": repr(e)})
        finally:
            c.close()
    ts = [threading.Thread(target=member, args=(m,), daemon=True) for m in range(members)]
    for t in ts:
        t.start()
    while not stop.is_set() and not failed:
        stop.wait(0.5)
    stop.set()
    for t in ts:
        t.join(60)
    emit({"event": "done", "failed": failed})
    return 1 if failed else 0

sys.exit({"produce": produce, "consume": consume, "bulk": bulk}[arg("mode")]())
`;

export type LoadEvent = { event: string; [k: string]: unknown };

function loadEvents(p: Proc): LoadEvent[] {
  const out: LoadEvent[] = [];
  for (const l of p.stdoutLines) {
    if (!l.startsWith('{')) continue;
    try {
      const e = JSON.parse(l) as LoadEvent;
      if (typeof e.event === 'string') out.push(e);
    } catch {
      // a partial last line of a killed process
    }
  }
  return out;
}

let scriptPath: Promise<string> | undefined;

/** LOAD_SCRIPT written once per test process into a temp dir (removed at exit of the run). */
async function loadScript(): Promise<string> {
  scriptPath ??= (async () => {
    await requirePython(['confluent_kafka'], ['python3-confluent-kafka']);
    const dir = await tempDir('automq-cluster-load-');
    const f = path.join(dir, 'load.py');
    await writeFile(f, LOAD_SCRIPT);
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return f;
  })();
  return scriptPath;
}

/** A running load process (producer or consumer group). */
export class LoadProc {
  private constructor(
    readonly kind: 'produce' | 'consume',
    readonly proc: Proc,
  ) {}

  static async start(kind: 'produce' | 'consume', bootstrap: string, args: Record<string, string | number>): Promise<LoadProc> {
    const script = await loadScript();
    const argv = [script, '--mode', kind, '--bootstrap', bootstrap, ...Object.entries(args).flatMap(([k, v]) => [`--${k}`, String(v)])];
    return new LoadProc(kind, await Proc.start(PYTHON, argv, { maxLines: 5_000_000 }));
  }

  events(): LoadEvent[] {
    return loadEvents(this.proc);
  }

  /** SIGTERM: producers flush, consumers commit; throws unless it exits 0 within timeoutMs. */
  async finish(timeoutMs = 240_000): Promise<LoadEvent[]> {
    this.proc.signal('SIGTERM');
    const exit = await this.proc.waitExit(timeoutMs);
    const ev = this.events();
    if (exit.code !== 0) {
      throw new Error(`load ${this.kind} exited ${JSON.stringify(exit)}; done: ${JSON.stringify(ev.find((e) => e.event === 'done'))}\n${this.proc.outputTail(20)}`);
    }
    return ev;
  }

  async kill(): Promise<void> {
    await this.proc.stop(2000, 'SIGKILL');
  }
}

/** Produces `bytes` into one partition with librdkafka (64 KiB records, acks=all). */
export async function bulkProduce(bootstrap: string, topic: string, partition: number, bytes: number, timeoutMs = 900_000): Promise<{ records: number; bytes: number; lastOffset: number; seconds: number }> {
  const script = await loadScript();
  const proc = await Proc.start(PYTHON, [script, '--mode', 'bulk', '--bootstrap', bootstrap, '--topic', topic, '--partition', String(partition), '--bytes', String(bytes)], {});
  const exit = await proc.waitExit(timeoutMs);
  const done = loadEvents(proc).find((e) => e.event === 'done');
  if (exit.code !== 0 || !done) throw new Error(`bulk produce of ${bytes} bytes to ${topic}-${partition} failed (${JSON.stringify(exit)})\n${proc.outputTail(20)}`);
  return { records: Number(done.acked), bytes: Number(done.bytes), lastOffset: Number(done.lastOffset), seconds: Number(done.seconds) };
}

export interface LoadCheck {
  acked: number;
  producedErrors: number;
  fatalClientErrors: string[];
  retriableClientErrors: number;
  consumedRecords: number;
  consumedDistinct: number;
  /** The same (partition, offset) read more than once (re-delivery after a rebalance). */
  redelivered: number;
  /** Acked records no consumer read. */
  lost: string[];
  /** Values stored at more than one offset (the broker appended a record twice). */
  duplicated: string[];
  /** Per-partition: acked records whose offsets are not in send order; reads that disagree with the ack. */
  orderViolations: string[];
  /** Successful commits that were followed by an assignment seeing a smaller committed offset. */
  committedBackwards: string[];
  /** Assignments after which the member's first read was not at the committed offset. */
  resumeMismatches: string[];
  commits: number;
  assignments: number;
  consumerErrors: string[];
}

/**
 * Compares every acked record with what the consumers read: none lost, none stored twice,
 * per-partition send order, reads at the acked offsets; and the group's commits never go
 * backwards: each assignment's committed offset >= every commit acknowledged before it, and the
 * member's first read after an assignment is at that committed offset.
 */
export function checkLoad(producers: LoadEvent[][], consumer: LoadEvent[]): LoadCheck {
  const ackedAt = new Map<string, { p: number; o: number }>();
  const byPos = new Map<string, string>();
  const duplicated: string[] = [];
  const orderViolations: string[] = [];
  let producedErrors = 0;
  const fatal: string[] = [];
  let retriable = 0;
  const seqOf = (v: string) => Number(v.slice(v.lastIndexOf('-') + 1));
  for (const evs of producers) {
    for (const e of evs) {
      if (e.event === 'acked') {
        const v = String(e.v);
        const at = { p: Number(e.p), o: Number(e.o) };
        if (ackedAt.has(v)) duplicated.push(`${v} acked twice`);
        ackedAt.set(v, at);
        const k = `${at.p}:${at.o}`;
        const other = byPos.get(k);
        if (other !== undefined) orderViolations.push(`${other} and ${v} both acked at ${k}`);
        byPos.set(k, v);
      } else if (e.event === 'produce-error') producedErrors++;
      else if (e.event === 'client-error') {
        if (e.fatal === true) fatal.push(JSON.stringify(e));
        else retriable++;
      }
    }
  }
  // Send order within a partition, per producer: offsets must increase with the sequence number.
  const perProducerPartition = new Map<string, { seq: number; o: number; v: string }[]>();
  for (const [v, at] of ackedAt) {
    const k = `${v.slice(0, v.lastIndexOf('-'))}/${at.p}`;
    const l = perProducerPartition.get(k) ?? [];
    l.push({ seq: seqOf(v), o: at.o, v });
    perProducerPartition.set(k, l);
  }
  for (const [k, l] of perProducerPartition) {
    l.sort((a, b) => a.o - b.o);
    for (let i = 1; i < l.length; i++) {
      if (l[i]!.seq <= l[i - 1]!.seq) orderViolations.push(`${k}: ${l[i - 1]!.v}@${l[i - 1]!.o} before ${l[i]!.v}@${l[i]!.o}`);
    }
  }

  const readAt = new Map<string, string>();
  const offsetsOfValue = new Map<string, Set<string>>();
  let consumedRecords = 0;
  let redelivered = 0;
  const consumerErrors: string[] = [];
  const committedBackwards: string[] = [];
  const resumeMismatches: string[] = [];
  const maxCommitted = new Map<number, number>();
  const expectFirst = new Map<string, number>(); // "m/p" -> offset the next read must be at
  let commits = 0;
  let assignments = 0;
  for (const e of consumer) {
    const m = String(e.m);
    if (e.event === 'record') {
      consumedRecords++;
      const p = Number(e.p);
      const o = Number(e.o);
      // Probe records the test itself produced (key "probe") are not load records.
      const v = /-\d+$/.test(String(e.v)) ? String(e.v) : `${String(e.v)}@${p}:${o}`;
      const k = `${p}:${o}`;
      const prev = readAt.get(k);
      if (prev !== undefined) {
        redelivered++;
        if (prev !== v) orderViolations.push(`${k} read as ${prev} and as ${v}`);
      } else readAt.set(k, v);
      const s = offsetsOfValue.get(v) ?? new Set<string>();
      s.add(k);
      offsetsOfValue.set(v, s);
      const acked = byPos.get(k);
      if (acked !== undefined && acked !== v) orderViolations.push(`${k}: acked ${acked} but read ${v}`);
      const want = expectFirst.get(`${m}/${p}`);
      if (want !== undefined) {
        if (o !== want) resumeMismatches.push(`member ${m} partition ${p}: committed ${want} at assignment, first read ${o}`);
        expectFirst.delete(`${m}/${p}`);
      }
    } else if (e.event === 'committed') {
      commits++;
      for (const [p, o] of Object.entries(e.offsets as Record<string, number>)) {
        const pn = Number(p);
        maxCommitted.set(pn, Math.max(maxCommitted.get(pn) ?? -1, o));
      }
    } else if (e.event === 'assigned') {
      assignments++;
      const offs = e.offsets as Record<string, number> | null;
      for (const p of e.partitions as number[]) {
        const c = offs?.[String(p)];
        const max = maxCommitted.get(p);
        if (offs === null || c === undefined) continue;
        if (max !== undefined && c < max) committedBackwards.push(`partition ${p}: commit of ${max} was acknowledged, member ${m} was assigned it at committed ${c}`);
        // A negative committed offset (none yet) starts at the log start: offset 0 here.
        expectFirst.set(`${m}/${p}`, c >= 0 ? c : 0);
      }
    } else if (e.event === 'revoked' || e.event === 'lost') {
      for (const p of e.partitions as number[]) expectFirst.delete(`${m}/${p}`);
    } else if (e.event === 'member-crashed' || (e.event === 'consumer-error' && (e.retriable !== true || e.fatal === true))) {
      // librdkafka marks transport and leadership errors retriable; anything else is a failure.
      consumerErrors.push(JSON.stringify(e));
    } else if (e.event === 'consumer-error' || e.event === 'commit-failed' || e.event === 'committed-fetch-failed') {
      retriable++;
    } else if (e.event === 'client-error') {
      if (e.fatal === true) fatal.push(JSON.stringify(e));
      else retriable++;
    }
  }
  for (const [v, s] of offsetsOfValue) if (s.size > 1) duplicated.push(`${v} stored at ${[...s].join(' and ')}`);
  const lost = [...ackedAt.keys()].filter((v) => !offsetsOfValue.has(v));
  return {
    acked: ackedAt.size,
    producedErrors,
    fatalClientErrors: fatal,
    retriableClientErrors: retriable,
    consumedRecords,
    consumedDistinct: readAt.size,
    redelivered,
    lost,
    duplicated,
    orderViolations,
    committedBackwards,
    resumeMismatches,
    commits,
    assignments,
    consumerErrors,
  };
}

/** The acked values of producer events (for waiting until consumers have read them all). */
export function ackedValues(producers: LoadEvent[][]): Set<string> {
  const s = new Set<string>();
  for (const evs of producers) for (const e of evs) if (e.event === 'acked') s.add(String(e.v));
  return s;
}

export function readValues(consumer: LoadEvent[]): Set<string> {
  const s = new Set<string>();
  for (const e of consumer) if (e.event === 'record') s.add(String(e.v));
  return s;
}

/** First few items and the count, for assertion messages. */
export function sample(items: readonly string[], n = 5): string {
  return items.length === 0 ? 'none' : `${items.slice(0, n).join('; ')}${items.length > n ? ` ... (${items.length} in all)` : ''}`;
}
