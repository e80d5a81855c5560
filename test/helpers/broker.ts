// Starts the broker for client tests exactly as `npm start` does (node dist/broker/src/cli/main.js
// standalone ...), on free ports, with its own temp data dir and a file object store.
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Proc, runOk } from './proc.js';
import type { ExitInfo } from './proc.js';
import { waitFor } from './wait.js';

export { waitFor, waitForNoThrow, withTimeout } from './wait.js';
export { run, runOk, describeRun, Proc } from './proc.js';
export type { RunResult, ExitInfo } from './proc.js';

/** Repository root (this file runs from dist/test/helpers/). */
export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const brokerMain = path.join(repoRoot, 'dist/broker/src/cli/main.js');

export interface StartBrokerOptions {
  /** Reuse this object store directory (restart on the same store); by default a new temp dir
   *  outside the data dir, owned by this broker and deleted by stop(). */
  objectStoreDir?: string;
  /** Port to advertise instead of the listen port, e.g. a fault-injecting proxy in front. */
  advertisePort?: number;
  /** Listen port; a free one by default. */
  port?: number;
  readyTimeoutMs?: number;
  logLevel?: string;
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
}

export interface Broker {
  /** '127.0.0.1:<advertised port>': what clients bootstrap from. */
  bootstrap: string;
  port: number;
  advertisePort: number;
  metricsPort: number;
  dataDir: string;
  objectStoreDir: string;
  objectStoreUrl: string;
  pid: number;
  /** The broker's output so far: stdout lines (JSON logs), then stderr lines prefixed 'stderr: '. */
  logs(): string[];
  /** null while running; how it exited otherwise. */
  exitInfo(): ExitInfo | null;
  /** SIGTERM, then SIGKILL after graceMs; removes the data dir (and the object store if owned). */
  stop(graceMs?: number): Promise<ExitInfo>;
  /** SIGKILL right away; removes nothing (the object store is needed for a restart). */
  kill9(): Promise<ExitInfo>;
}

/** Which broker the client tests run against. `apache-kafka` runs Apache Kafka itself from the
 *  Maven jars: a developer's check that the tests expect what the reference does. */
export const brokerImpl: 'automq' | 'apache-kafka' =
  process.env.AUTOMQ_TEST_BROKER === 'apache-kafka' ? 'apache-kafka' : 'automq';

const keepDirs = process.env.KEEP_TEST_DIRS === '1';

/** Free TCP ports on 127.0.0.1, all held open until every one is picked so none repeats. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = net.createServer();
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve());
      });
      servers.push(s);
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function removeDir(dir: string): Promise<void> {
  if (!keepDirs) await rm(dir, { recursive: true, force: true });
}

export async function startBroker(opts: StartBrokerOptions = {}): Promise<Broker> {
  if (brokerImpl === 'apache-kafka') return startApacheKafka(opts);
  if (!existsSync(brokerMain)) {
    throw new Error(`${brokerMain} does not exist: build first with 'npx tsc -p .' (npm test builds it)`);
  }
  const [port, metricsPort] = opts.port !== undefined ? [opts.port, (await freePorts(1))[0]!] : await freePorts(2);
  const advertisePort = opts.advertisePort ?? port!;
  const dataDir = await tempDir('automq-test-data-');
  const ownsStore = opts.objectStoreDir === undefined;
  const objectStoreDir = opts.objectStoreDir ?? (await tempDir('automq-test-objects-'));
  const objectStoreUrl = pathToFileURL(objectStoreDir).href;
  const args = [
    brokerMain,
    'standalone',
    '--data-dir', dataDir,
    '--listen', `127.0.0.1:${port}`,
    '--advertise', `127.0.0.1:${advertisePort}`,
    '--metrics-port', String(metricsPort),
    '--object-store', objectStoreUrl,
    '--log-level', opts.logLevel ?? 'info',
    ...(opts.extraArgs ?? []),
  ];
  const proc = await Proc.start(process.execPath, args, { cwd: repoRoot, env: opts.env, maxLines: 20_000 });
  const broker = makeBroker(proc, {
    port: port!, advertisePort, metricsPort: metricsPort!, dataDir, objectStoreDir, objectStoreUrl,
    cleanup: async () => {
      await removeDir(dataDir);
      if (ownsStore) await removeDir(objectStoreDir);
    },
  });
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  try {
    await waitFor(
      () => {
        if (proc.stdoutLines.some(isReadyLine)) return true;
        if (!proc.running) {
          throw new Error(
            `broker exited before logging "broker ready" (${JSON.stringify(proc.exit)}); command: ${proc.command}\n` +
              proc.outputTail(40),
          );
        }
        return false;
      },
      readyTimeoutMs,
      () => `the broker to log "broker ready"; command: ${proc.command}\n${proc.outputTail(40)}`,
    );
  } catch (e) {
    await broker.stop(2000);
    throw e;
  }
  return broker;
}

function isReadyLine(line: string): boolean {
  if (!line.includes('broker ready')) return false;
  try {
    const j = JSON.parse(line) as { msg?: unknown; message?: unknown };
    return j.msg === 'broker ready' || j.message === 'broker ready';
  } catch {
    return false;
  }
}

function makeBroker(
  proc: Proc,
  p: {
    port: number;
    advertisePort: number;
    metricsPort: number;
    dataDir: string;
    objectStoreDir: string;
    objectStoreUrl: string;
    cleanup: () => Promise<void>;
  },
): Broker {
  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    await p.cleanup();
  };
  return {
    bootstrap: `127.0.0.1:${p.advertisePort}`,
    port: p.port,
    advertisePort: p.advertisePort,
    metricsPort: p.metricsPort,
    dataDir: p.dataDir,
    objectStoreDir: p.objectStoreDir,
    objectStoreUrl: p.objectStoreUrl,
    pid: proc.pid,
    logs: () => [...proc.stdoutLines, ...proc.stderrLines.map((l) => `stderr: ${l}`)],
    exitInfo: () => proc.exit,
    stop: async (graceMs = 15_000) => {
      const r = await proc.stop(graceMs, 'SIGTERM');
      await cleanup();
      return r;
    },
    kill9: () => proc.stop(0, 'SIGKILL'),
  };
}

/** Throws with the broker's last log lines if it is no longer running (a crash fails the test). */
export function assertBrokerAlive(broker: Broker): void {
  const exit = broker.exitInfo();
  if (exit !== null) {
    throw new Error(`the broker (pid ${broker.pid}) died: ${JSON.stringify(exit)}\n${broker.logs().slice(-40).join('\n')}`);
  }
}

export function lastLogs(broker: Broker, n = 40): string {
  return broker.logs().slice(-n).join('\n');
}

// --- Apache Kafka as reference (developer check only, AUTOMQ_TEST_BROKER=apache-kafka) ---

async function startApacheKafka(opts: StartBrokerOptions): Promise<Broker> {
  const [port, controllerPort, metricsPort] = await freePorts(3);
  const listenPort = opts.port ?? port!;
  const advertisePort = opts.advertisePort ?? listenPort;
  const dataDir = await tempDir('apache-kafka-test-');
  const props = path.join(dataDir, 'server.properties');
  await writeFile(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.bootstrap.servers=127.0.0.1:${controllerPort}`,
      `listeners=PLAINTEXT://127.0.0.1:${listenPort},CONTROLLER://127.0.0.1:${controllerPort}`,
      `advertised.listeners=PLAINTEXT://127.0.0.1:${advertisePort}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
      'inter.broker.listener.name=PLAINTEXT',
      `log.dirs=${path.join(dataDir, 'logs')}`,
      'offsets.topic.replication.factor=1',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      '',
    ].join('\n'),
  );
  const cli = path.join(repoRoot, 'hack/kafka-cli.sh');
  const clusterId = randomBytes(16).toString('base64url');
  await runOk(cli, ['kafka-storage', 'format', '-t', clusterId, '-c', props, '--standalone'], { timeoutMs: 120_000 });
  const proc = await Proc.start(cli, ['kafka-server-start', props], {
    env: { ...process.env, KAFKA_HEAP_OPTS: '-Xmx1g', KAFKA_CLI_LOG_LEVEL: 'warn' },
    maxLines: 20_000,
  });
  const broker = makeBroker(proc, {
    port: listenPort, advertisePort, metricsPort: metricsPort!, dataDir, objectStoreDir: dataDir,
    objectStoreUrl: pathToFileURL(dataDir).href, cleanup: () => removeDir(dataDir),
  });
  try {
    await waitFor(
      async () => {
        if (!proc.running) throw new Error(`Apache Kafka exited: ${JSON.stringify(proc.exit)}\n${proc.outputTail()}`);
        return canConnect(listenPort);
      },
      opts.readyTimeoutMs ?? 90_000,
      () => `Apache Kafka to listen on ${listenPort}\n${proc.outputTail()}`,
      250,
    );
  } catch (e) {
    await broker.stop(2000);
    throw e;
  }
  return broker;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
