// The image definition, checked statically: there is no container engine (Docker daemon, buildah,
// kaniko) on the CI machines, so the Dockerfile is never built there. What a build would catch
// early is checked here instead: COPY sources exist and are not excluded by .dockerignore, the
// entrypoint is what `npm run build` emits, the runtime needs only production dependencies and
// the two copied dist folders, the user is numeric and non-root, the ports are the broker's
// defaults, and the documented tag is the one the chart and the examples use.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { parseBrokerOptions } from '../../../broker/src/cli/broker-options.js';
import { automqClusterSchema } from '../../../operator/src/api/automqcluster.js';

const root = process.cwd();
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');

interface Instruction {
  op: string;
  args: string;
  line: number;
}
interface Stage {
  from: string;
  name: string | undefined;
  instructions: Instruction[];
}

/** Dockerfile -> stages of instructions (line continuations joined, comments dropped). */
function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let l = lines[i]!.trim();
    if (l === '' || l.startsWith('#')) continue;
    while (l.endsWith('\\')) {
      l = l.slice(0, -1);
      i++;
      const next = (lines[i] ?? '').trim();
      if (!next.startsWith('#')) l += ' ' + next;
    }
    const m = /^(\S+)\s+(.*)$/.exec(l);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse "${l}"`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start };
    if (ins.op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!f) throw new Error(`Dockerfile line ${start}: cannot parse FROM "${ins.args}"`);
      stages.push({ from: f[1]!, name: f[2], instructions: [] });
    } else {
      if (stages.length === 0) throw new Error(`Dockerfile line ${start}: ${ins.op} before FROM`);
      stages[stages.length - 1]!.instructions.push(ins);
    }
  }
  return stages;
}

/** Minimal .dockerignore semantics for the patterns used here: names, dirs and `*` globs. */
function ignoredBy(patterns: string[], file: string): string | undefined {
  const parts = file.split('/');
  for (const p of patterns) {
    if (p.startsWith('!') || p.includes('**')) throw new Error(`.dockerignore pattern "${p}" is not understood by this test; extend ignoredBy()`);
    const re = new RegExp('^' + p.replace(/\/$/, '').split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*') + '$');
    for (let n = 1; n <= parts.length; n++) if (re.test(parts.slice(0, n).join('/'))) return p;
  }
  return undefined;
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(root, dir), { withFileTypes: true })) {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) out.push(...filesUnder(rel));
    else out.push(rel);
  }
  return out;
}

function copyArgs(ins: Instruction): { from: string | undefined; sources: string[]; dest: string } {
  const words = ins.args.split(/\s+/);
  let from: string | undefined;
  while (words[0]?.startsWith('--')) {
    const flag = words.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dest = words.pop()!;
  return { from, sources: words, dest };
}

function execForm(ins: Instruction | undefined): string[] {
  expect(ins, 'instruction present').not.to.equal(undefined);
  const v: unknown = JSON.parse(ins!.args);
  expect(v, `${ins!.op} must be in exec form (JSON array), so signals reach node`).to.be.an('array');
  return v as string[];
}

describe('container image (Dockerfile, checked statically)', () => {
  const stages = parseDockerfile(read('Dockerfile'));
  const build = stages[0]!;
  const runtime = stages[stages.length - 1]!;
  const dockerignore = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const pkg = JSON.parse(read('package.json')) as { version: string; bin: Record<string, string>; engines: { node: string }; dependencies: Record<string, string>; devDependencies: Record<string, string> };
  const last = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op).at(-1);
  const workdir = (s: Stage) => last(s, 'WORKDIR')?.args ?? '/';

  it('is multi-stage: a node builder and a slim node runtime of the engines major', () => {
    expect(stages.length).to.be.at.least(2);
    const major = /(\d+)/.exec(pkg.engines.node)![1];
    expect(build.from).to.match(new RegExp(`^node:${major}(\\D|$)`));
    expect(runtime.from).to.match(new RegExp(`^node:${major}[^ ]*-slim$`));
    expect(build.name, 'the builder stage is named so the runtime can copy from it').to.be.a('string');
  });

  it('copies only sources that exist in the repository and are not excluded by .dockerignore', () => {
    let checked = 0;
    for (const s of stages) {
      for (const ins of s.instructions.filter((i) => i.op === 'COPY' || i.op === 'ADD')) {
        expect(ins.op, `line ${ins.line}: use COPY, not ADD`).to.equal('COPY');
        const { from, sources } = copyArgs(ins);
        if (from) continue;
        for (const src of sources) {
          expect(existsSync(path.join(root, src)), `line ${ins.line}: ${src} does not exist`).to.equal(true);
          const files = statSync(path.join(root, src)).isDirectory() ? filesUnder(src) : [src];
          const ignored = files.filter((f) => ignoredBy(dockerignore, f) !== undefined && !f.includes('/node_modules/'));
          expect(ignored, `line ${ins.line}: .dockerignore drops files COPY needs`).to.deep.equal([]);
          checked++;
        }
      }
    }
    expect(checked).to.be.at.least(4);
    // and the context leaves out what must not be baked in or would bloat it
    for (const f of ['node_modules/x', 'dist/x', '.git/x', 'data/x', 'test/x']) expect(ignoredBy(dockerignore, f), f).to.be.a('string');
  });

  it('builds with npm ci + npm run build and ships only production dependencies', () => {
    const buildRuns = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(buildRuns.some((r) => /\bnpm ci\b/.test(r))).to.equal(true);
    expect(buildRuns.some((r) => /\bnpm run build\b/.test(r))).to.equal(true);
    expect(JSON.parse(read('package.json')).scripts.build).to.match(/^tsc -p tsconfig\.json$/);
    const runtimeRuns = runtime.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
    expect(runtimeRuns.some((r) => /\bnpm ci\b.*--omit=dev/.test(r)), 'runtime installs production dependencies only').to.equal(true);
    expect(runtime.instructions.filter((i) => i.op === 'ENV').map((i) => i.args).join(' ')).to.contain('NODE_ENV=production');
  });

  it('runs the entrypoint that npm run build emits, with only the dist folders it copies', () => {
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { outDir: string; rootDir: string } };
    expect(tsconfig.compilerOptions).to.deep.include({ outDir: 'dist', rootDir: '.' });
    const entry = execForm(last(runtime, 'ENTRYPOINT'));
    expect(entry).to.deep.equal(['node', 'dist/broker/src/cli/main.js']);
    expect(pkg.bin['automq']).to.equal(entry[1]);
    expect(execForm(last(runtime, 'CMD'))).to.deep.equal(['standalone']);
    expect(existsSync(path.join(root, 'broker/src/cli/main.ts'))).to.equal(true);
    expect(existsSync(path.join(root, entry[1]!)), `${entry[1]} is produced by npm run build`).to.equal(true);

    // What the runtime stage gets from the builder: dist/<dir> for each source dir the builder compiled.
    const copiedIntoBuild = new Set(build.instructions.filter((i) => i.op === 'COPY').flatMap((i) => copyArgs(i).sources));
    const shipped = runtime.instructions.filter((i) => i.op === 'COPY' && copyArgs(i).from !== undefined).map((i) => {
      const { from, sources, dest } = copyArgs(i);
      expect(from).to.equal(build.name);
      expect(sources).to.have.length(1);
      const src = path.posix.relative(workdir(build), sources[0]!);
      expect(path.posix.resolve(workdir(runtime), dest), `line ${i.line} keeps the dist layout`).to.equal(path.posix.resolve(workdir(runtime), src));
      const top = src.split('/')[1]!;
      expect(src).to.equal(`dist/${top}`);
      expect(copiedIntoBuild.has(top), `the builder compiles ${top}/`).to.equal(true);
      return top;
    });
    expect(shipped.sort()).to.deep.equal(['broker', 'operator']);
    expect(workdir(runtime)).to.equal(workdir(build));
  });

  it('the shipped code imports only the shipped folders and production dependencies', () => {
    const problems: string[] = [];
    const IMPORT = /(?:^|[\n;])\s*(?:import|export)\s+(type\s+)?(?:[^'";]*?\s+from\s+)?'([^']+)'|import\(\s*'([^']+)'\s*\)/g;
    for (const dir of ['broker/src', 'operator/src']) {
      for (const file of filesUnder(dir).filter((f) => f.endsWith('.ts'))) {
        for (const m of read(file).matchAll(IMPORT)) {
          if (m[1]) continue; // `import type` is erased
          const spec = (m[2] ?? m[3])!;
          if (spec.startsWith('node:')) continue;
          if (spec.startsWith('.')) {
            const target = path.posix.normalize(path.posix.join(path.posix.dirname(file), spec));
            if (!/^(broker|operator)\//.test(target)) problems.push(`${file}: imports ${spec}, which is not in the image`);
            continue;
          }
          const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
          if (!(name in pkg.dependencies)) problems.push(`${file}: imports ${name}, which is not a production dependency`);
        }
      }
    }
    expect(problems).to.deep.equal([]);
  });

  it('runs as a numeric non-root user (runAsNonRoot can only verify a numeric uid)', () => {
    const user = last(runtime, 'USER')?.args;
    expect(user, 'USER in the final stage').to.match(/^\d+(:\d+)?$/);
    expect(Number(user!.split(':')[0])).to.be.greaterThan(0);
  });

  it('exposes the broker\'s default Kafka and metrics ports, which are also the operator\'s defaults', () => {
    const exposed = runtime.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(/\s+/)).map((p) => Number(p.replace(/\/tcp$/, ''))).sort();
    const broker = parseBrokerOptions([], {});
    expect(exposed).to.deep.equal([broker.listen.port, broker.metricsPort].sort());
    const cluster = automqClusterSchema.parse({ apiVersion: 'automq.io/v1alpha1', kind: 'AutoMQCluster', metadata: { name: 'x' }, spec: { image: 'i', zones: [{ name: 'a' }], objectStorage: { bucket: 'bkt', credentials: { podIdentity: {} } } } });
    expect([cluster.spec.listeners.internal.port, cluster.spec.metrics.port].sort()).to.deep.equal(exposed);
  });

  it('its ENV defaults are valid broker flags that listen on all interfaces at the exposed port', () => {
    const env: Record<string, string> = {};
    for (const ins of runtime.instructions.filter((i) => i.op === 'ENV')) {
      for (const m of ins.args.matchAll(/(\w+)=(\S+)/g)) env[m[1]!] = m[2]!;
    }
    const o = parseBrokerOptions([], env);
    expect(o.listen).to.deep.equal({ host: '0.0.0.0', port: 9092 });
    expect(o.dataDir).to.equal('/data');
    expect(runtime.instructions.some((i) => i.op === 'RUN' && /chown 1000(:1000)? \/data/.test(i.args)), 'the data dir belongs to the image user').to.equal(true);
  });

  it('the documented `docker build -t` tag is the image the chart and the examples use', () => {
    const chart = parse(read('charts/automq-operator/Chart.yaml')) as { appVersion: string };
    const values = parse(read('charts/automq-operator/values.yaml')) as { image: { repository: string; tag: string } };
    const image = `${values.image.repository}:${values.image.tag || chart.appVersion}`;
    expect(chart.appVersion).to.equal(pkg.version);
    const docs = ['Dockerfile', 'README.md', 'charts/automq-operator/README.md', ...readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    const tags = docs.flatMap((f) => [...read(f).matchAll(/docker build -t (\S+) \./g)].map((m) => `${f}: ${m[1]}`));
    expect(tags.filter((t) => t.startsWith('charts/automq-operator/README.md:')), 'the chart README says how to build the image').not.to.deep.equal([]);
    expect(tags.filter((t) => t.startsWith('README.md:')), 'README says how to build the image').not.to.deep.equal([]);
    expect(tags.filter((t) => !t.endsWith(`: ${image}`)), `every documented build tag is ${image}`).to.deep.equal([]);
    for (const f of readdirSync(path.join(root, 'examples')).filter((x) => x.startsWith('cluster') && x.endsWith('.yaml'))) {
      expect((parse(read(`examples/${f}`)) as { spec: { image: string } }).spec.image, `examples/${f}`).to.equal(image);
    }
  });
});
