// MinIO for the S3 suites (test/s3/*). Importing this module registers a root-level after-all hook
// that stops the MinIO it started; MinIO itself starts lazily, on the first `minio()` call, so a
// run that loads no S3 suite never pays for it, and a run that loads several starts it once.
// Also usable as a mocha root hook plugin (`--require dist/test/s3/minio.hooks.js`).
//
// MinIO is started and stopped by hack/minio.sh (which builds it through the Go module proxy when
// missing; that first build takes minutes, so the start hook allows up to 30 minutes). Set
// AUTOMQ_TEST_MINIO_KEEP=1 to leave it running for inspection (its state dir is printed).
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Minio {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  pid: number;
  stateDir: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const script = path.join(repoRoot, 'hack/minio.sh');
/** Long enough for a first-time `go install` of MinIO on a busy 2-core machine. */
export const MINIO_START_TIMEOUT_MS = 30 * 60_000;

let starting: Promise<Minio> | undefined;
let running: Minio | undefined;

function sh(args: string[], timeoutMs: number): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(script, args, { cwd: repoRoot, timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`hack/minio.sh ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve({ stdout, stderr });
    });
  });
}

async function start(): Promise<Minio> {
  const stateDir = await mkdtemp(path.join(os.tmpdir(), 'automq-minio-'));
  let out: string;
  try {
    out = (await sh(['start', stateDir], MINIO_START_TIMEOUT_MS)).stdout;
  } catch (err) {
    await rm(stateDir, { recursive: true, force: true });
    throw err;
  }
  const env = new Map<string, string>();
  for (const line of out.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (m) env.set(m[1]!, m[2]!);
  }
  const need = (k: string): string => {
    const v = env.get(k);
    if (v === undefined) throw new Error(`hack/minio.sh start printed no ${k}; output:\n${out}`);
    return v;
  };
  const m: Minio = {
    endpoint: need('MINIO_ENDPOINT'),
    bucket: need('MINIO_BUCKET'),
    accessKeyId: need('AWS_ACCESS_KEY_ID'),
    secretAccessKey: need('AWS_SECRET_ACCESS_KEY'),
    region: need('AWS_REGION'),
    pid: Number(need('MINIO_PID')),
    stateDir,
  };
  running = m;
  // Safety net if mocha ends without running the after-all hook (crash, --bail, interrupt).
  process.once('exit', killNow);
  return m;
}

function killNow(): void {
  if (running === undefined || process.env['AUTOMQ_TEST_MINIO_KEEP'] === '1') return;
  try {
    process.kill(running.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/**
 * The shared MinIO, started on first use. Call it from a `before` hook with
 * `this.timeout(MINIO_START_TIMEOUT_MS)`. The SDK reads credentials from the environment (as the
 * broker does), so they are exported into process.env for in-process clients.
 */
export function minio(): Promise<Minio> {
  starting ??= start().then((m) => {
    process.env['AWS_ACCESS_KEY_ID'] = m.accessKeyId;
    process.env['AWS_SECRET_ACCESS_KEY'] = m.secretAccessKey;
    process.env['AWS_REGION'] ??= m.region;
    process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] = 'true';
    return m;
  });
  return starting;
}

export async function stopMinio(): Promise<void> {
  const m = running;
  if (m === undefined) return;
  running = undefined;
  starting = undefined;
  process.removeListener('exit', killNow);
  if (process.env['AUTOMQ_TEST_MINIO_KEEP'] === '1') {
    console.log(`MinIO left running (AUTOMQ_TEST_MINIO_KEEP=1): ${m.endpoint}, stop with: hack/minio.sh stop ${m.stateDir}`);
    return;
  }
  await sh(['stop', m.stateDir], 30_000);
  await rm(m.stateDir, { recursive: true, force: true });
}

/** Root hook plugin form (mocha --require). */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await stopMinio();
  },
};

// Imported by a test file: register the same hook on the root suite directly.
if (typeof after === 'function') {
  after('stop MinIO', async function () {
    this.timeout(60_000);
    await stopMinio();
  });
}
