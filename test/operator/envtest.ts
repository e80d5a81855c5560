// Starts a real etcd + kube-apiserver (+ optionally kube-controller-manager for garbage
// collection) on loopback, for the operator's integration tests. Binaries come from
// hack/envtest-build.sh (cached outside the repo); ENVTEST_BIN overrides the directory.
import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { buildCrds } from '../../operator/src/api/crd.js';
import { HttpKubeClient, RESOURCES, type ObjectLike } from '../../operator/src/k8s/client.js';

export const K8S_VERSION = process.env['K8S_VERSION'] ?? 'v1.35.4';

export function envtestBinDir(): string {
  return process.env['ENVTEST_BIN'] ?? path.join(process.env['AUTOMQ_CACHE'] ?? path.join(os.homedir(), '.cache', 'automq-ts'), 'k8s', K8S_VERSION, 'bin');
}

export function envtestAvailable(): boolean {
  const dir = envtestBinDir();
  return existsSync(path.join(dir, 'etcd')) && existsSync(path.join(dir, 'kube-apiserver'));
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** Polls `check` until it returns true, failing with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastErr = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? ` (last error: ${lastErr instanceof Error ? lastErr.message : String(lastErr)})` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

class Proc {
  private child: ChildProcess | undefined;
  private readonly logTail: string[] = [];
  exited: Promise<number | null> = Promise.resolve(null);

  constructor(
    readonly name: string,
    private readonly bin: string,
    private readonly args: string[],
  ) {}

  start(): void {
    const child = spawn(this.bin, this.args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const keep = (b: Buffer) => {
      this.logTail.push(b.toString('utf8'));
      if (this.logTail.length > 60) this.logTail.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(): string {
    return this.logTail.join('').split('\n').slice(-30).join('\n');
  }

  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface EnvTest {
  kubeconfigPath: string;
  server: string;
  token: string;
  dir: string;
  /** Stops and starts kube-apiserver on the same port (for watch-survival tests). */
  restartApiServer(): Promise<void>;
  stopApiServer(): Promise<void>;
  startApiServer(): Promise<void>;
  hasGarbageCollector: boolean;
  stop(): Promise<void>;
}

function httpsGet(url: string, token: string, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { headers: { Authorization: `Bearer ${token}` }, ca, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

export async function startEnvTest(opts: { controllerManager?: boolean } = {}): Promise<EnvTest> {
  const bin = envtestBinDir();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'automq-envtest-'));
  const [etcdClient, etcdPeer, apiPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('hex');
  const certDir = path.join(dir, 'certs');
  await mkdir(certDir);
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  await writeFile(path.join(dir, 'sa.pub'), publicKey.export({ type: 'spki', format: 'pem' }));
  await writeFile(path.join(dir, 'sa.key'), privateKey.export({ type: 'pkcs8', format: 'pem' }));
  await writeFile(path.join(dir, 'tokens.csv'), `${token},admin,admin-uid,"system:masters"\n`);

  const etcd = new Proc('etcd', path.join(bin, 'etcd'), [
    '--name', 'envtest',
    '--data-dir', path.join(dir, 'etcd'),
    '--listen-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--advertise-client-urls', `http://127.0.0.1:${etcdClient}`,
    '--listen-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-advertise-peer-urls', `http://127.0.0.1:${etcdPeer}`,
    '--initial-cluster', `envtest=http://127.0.0.1:${etcdPeer}`,
    '--unsafe-no-fsync',
    '--log-level', 'error',
  ]);
  const api = new Proc('kube-apiserver', path.join(bin, 'kube-apiserver'), [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiPort}`,
    `--cert-dir=${certDir}`,
    `--token-auth-file=${path.join(dir, 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc',
    `--service-account-key-file=${path.join(dir, 'sa.pub')}`,
    `--service-account-signing-key-file=${path.join(dir, 'sa.key')}`,
    '--service-cluster-ip-range=10.96.0.0/16',
    '--allow-privileged=true',
    '--disable-admission-plugins=ServiceAccount',
    '--endpoint-reconciler-type=none',
    '--v=0',
  ]);
  let cm: Proc | undefined;
  const server = `https://127.0.0.1:${apiPort}`;
  const kubeconfigPath = path.join(dir, 'kubeconfig');

  const stopAll = async () => {
    await cm?.stop();
    await api.stop();
    await etcd.stop();
    await rm(dir, { recursive: true, force: true });
  };

  const startApi = async () => {
    api.start();
    let ca: Buffer | undefined;
    await waitFor(`kube-apiserver /readyz on ${server}`, async () => {
      if (!api.running) throw new Error(`kube-apiserver exited:\n${api.tail()}`);
      ca ??= existsSync(path.join(certDir, 'apiserver.crt')) ? await readFile(path.join(certDir, 'apiserver.crt')) : undefined;
      if (!ca) return false;
      const r = await httpsGet(`${server}/readyz`, token, ca);
      return r.status === 200;
    }, 90_000, 200);
    // The namespace controller inside the API server creates "default" shortly after it is ready.
    await waitFor('namespace default', async () => (await httpsGet(`${server}/api/v1/namespaces/default`, token, ca!)).status === 200, 30_000, 200);
  };

  try {
    etcd.start();
    await waitFor('etcd to accept connections', async () => {
      if (!etcd.running) throw new Error(`etcd exited:\n${etcd.tail()}`);
      return new Promise<boolean>((resolve) => {
        const s = net.connect(etcdClient, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
    }, 30_000);
    await startApi();
    await writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'envtest', cluster: { server, 'certificate-authority': path.join(certDir, 'apiserver.crt') } }],
        users: [{ name: 'admin', user: { token } }],
        contexts: [{ name: 'envtest', context: { cluster: 'envtest', user: 'admin', namespace: 'default' } }],
        'current-context': 'envtest',
      }),
    );
    const cmBin = path.join(bin, 'kube-controller-manager');
    if (opts.controllerManager && existsSync(cmBin)) {
      cm = new Proc('kube-controller-manager', cmBin, [
        `--kubeconfig=${kubeconfigPath}`,
        `--authentication-kubeconfig=${kubeconfigPath}`,
        `--authorization-kubeconfig=${kubeconfigPath}`,
        '--controllers=garbagecollector,namespace',
        '--leader-elect=false',
        '--secure-port=0',
        '--concurrent-gc-syncs=5',
        '--v=0',
      ]);
      cm.start();
    }
  } catch (err) {
    const tails = [etcd, api].map((p) => `--- ${p.name}\n${p.tail()}`).join('\n');
    await stopAll();
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${tails}`);
  }

  return {
    kubeconfigPath,
    server,
    token,
    dir,
    hasGarbageCollector: cm !== undefined,
    stopApiServer: () => api.stop(),
    startApiServer: startApi,
    async restartApiServer() {
      await api.stop();
      await startApi();
    },
    stop: stopAll,
  };
}

/**
 * A client of the API server as its admin, with namespace `ns` created; with `crds`, the project's
 * CRDs installed and served (list works) before it returns.
 */
export async function adminClient(env: EnvTest, ns: string, o: { crds?: boolean } = {}): Promise<HttpKubeClient> {
  const kc = new KubeConfig();
  kc.loadFromFile(env.kubeconfigPath);
  const client = new HttpKubeClient(kc);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  if (o.crds === true) {
    for (const { crd } of buildCrds()) await client.create(crd as ObjectLike);
    await waitFor('CRDs served', async () => {
      try {
        await client.list(RESOURCES.TableTopic, ns);
        await client.list(RESOURCES.AutoMQCluster, ns);
        return true;
      } catch {
        return false;
      }
    });
  }
  return client;
}
