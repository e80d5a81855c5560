import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { expect } from 'chai';
import { parse } from 'yaml';
import { buildCrds, CRD_DIRS, lintStructural, zodToStructural, type JsonSchema } from '../../../operator/src/api/crd.js';
import { renderCrdYaml } from '../../../operator/src/tools/render.js';
import { DOC_FILE, renderOperatorDoc } from '../../../operator/src/tools/docs.js';
import { automqClusterSchema } from '../../../operator/src/api/automqcluster.js';
import { tableTopicSchema } from '../../../operator/src/api/tabletopic.js';
import { z } from 'zod';

const root = process.cwd();

function schemaOf(crd: JsonSchema): JsonSchema {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: JsonSchema } }[] };
  return spec.versions[0]!.schema.openAPIV3Schema;
}

function undescribed(node: JsonSchema, at: string, out: string[]): string[] {
  const props = node.properties as Record<string, JsonSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) {
    if (k !== 'metadata' && typeof v.description !== 'string') out.push(`${at}.${k}`);
    undescribed(v, `${at}.${k}`, out);
  }
  if (node.items) undescribed(node.items as JsonSchema, `${at}[]`, out);
  return out;
}

describe('operator CRDs', () => {
  const crds = buildCrds();

  for (const dir of CRD_DIRS) {
    for (const { file, crd } of crds) {
      it(`${dir}/${file} matches the zod schemas (run npm run gen:crds)`, async () => {
        const committed = await readFile(path.join(root, dir, file), 'utf8');
        expect(committed, `${dir}/${file} is stale: run npm run gen:crds and commit the result`).to.equal(renderCrdYaml(crd));
      });
    }
  }

  it(`${DOC_FILE} documents every field of the current schemas (run npm run gen:crds)`, async () => {
    const committed = await readFile(path.join(root, DOC_FILE), 'utf8');
    expect(committed, `${DOC_FILE} is stale: run npm run gen:crds`).to.equal(renderOperatorDoc());
    expect(committed).to.contain('`spec.objectStorage.credentials.secretRef.name`');
    expect(committed).to.contain('`spec.table.partitionBy`');
  });

  for (const { file, crd } of crds) {
    it(`${file} is structural and has nothing the API server would drop`, () => {
      expect(lintStructural(schemaOf(crd))).to.deep.equal([]);
      const text = renderCrdYaml(crd);
      expect(text).not.to.match(/deprecated: false|required: \[\]|properties: \{\}/);
    });

    it(`${file} describes every field for kubectl explain`, () => {
      expect(undescribed(schemaOf(crd), '', [])).to.deep.equal([]);
    });
  }

  it('lintStructural catches what the API server drops or rejects', () => {
    const bad = { type: 'object', required: [], properties: { a: { deprecated: false, type: 'string' }, b: { anyOf: [{ type: 'string' }] } } };
    const problems = lintStructural(bad);
    expect(problems.join('\n')).to.contain('empty list').and.to.contain('"deprecated"').and.to.contain('$.b: missing type');
  });

  it('toStructural drops zod artefacts (safe-integer bounds, anyOf of int-or-string, additionalProperties false)', () => {
    const s = zodToStructural(z.object({ n: z.number().int(), q: z.union([z.string(), z.number()]).meta({ 'x-kubernetes-int-or-string': true }) }).strict());
    expect(s).to.deep.equal({ type: 'object', properties: { n: { type: 'integer' }, q: { 'x-kubernetes-int-or-string': true } }, required: ['n', 'q'] });
  });

  it('AutoMQCluster has short name amq, category automq, /scale with labelSelectorPath and printer columns', () => {
    const c = parse(renderCrdYaml(crds[0]!.crd)) as {
      spec: { names: { shortNames: string[]; categories: string[] }; versions: { subresources: { scale: Record<string, string>; status: object }; additionalPrinterColumns: { name: string }[] }[] };
    };
    expect(c.spec.names.shortNames).to.deep.equal(['amq']);
    expect(c.spec.names.categories).to.deep.equal(['automq']);
    const v = c.spec.versions[0]!;
    expect(v.subresources.status).to.deep.equal({});
    expect(v.subresources.scale).to.deep.equal({ specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' });
    expect(v.additionalPrinterColumns.map((p) => p.name)).to.include.members(['Ready', 'Replicas', 'Zones', 'Age']);
  });

  it('TableTopic has short name tt and CEL rules for immutability and grow-only partitions', () => {
    const text = renderCrdYaml(crds[1]!.crd);
    expect(text).to.contain('- tt');
    expect(text).to.contain('rule: self >= oldSelf');
    expect(text).to.contain('spec.clusterRef is immutable');
    expect(text).to.contain('spec.topicName is immutable');
  });
});

describe('operator zod schemas', () => {
  const cluster = {
    apiVersion: 'automq.io/v1alpha1',
    kind: 'AutoMQCluster',
    metadata: { name: 'c1', namespace: 'ns' },
    spec: { image: 'automq:dev', zones: [{ name: 'a' }], objectStorage: { bucket: 'bkt', credentials: { secretRef: { name: 's3' } } } },
  };

  it('applies defaults like the API server would', () => {
    const c = automqClusterSchema.parse(cluster);
    expect(c.spec.replicas).to.equal(3);
    expect(c.spec.listeners.internal.port).to.equal(9092);
    expect(c.spec.metrics.port).to.equal(9464);
    expect(c.spec.zones[0]!.topologyKey).to.equal('topology.kubernetes.io/zone');
    expect(c.spec.objectStorage.credentials.secretRef!.accessKeyIdKey).to.equal('AWS_ACCESS_KEY_ID');
  });

  it('rejects a cluster without a bucket, with both credential kinds, or with a reserved zone name', () => {
    const noBucket = structuredClone(cluster) as { spec: { objectStorage: Record<string, unknown> } };
    delete noBucket.spec.objectStorage.bucket;
    expect(automqClusterSchema.safeParse(noBucket).success).to.equal(false);

    const both = structuredClone(cluster) as { spec: { objectStorage: { credentials: Record<string, unknown> } } };
    both.spec.objectStorage.credentials.podIdentity = {};
    const r = automqClusterSchema.safeParse(both);
    expect(r.success).to.equal(false);
    expect(JSON.stringify(r.error?.issues)).to.contain('exactly one of');

    const reserved = structuredClone(cluster);
    reserved.spec.zones = [{ name: 'bootstrap' }];
    expect(JSON.stringify(automqClusterSchema.safeParse(reserved).error?.issues)).to.contain('reserved');

    // Zone "a-external"'s Service would be zone "a"'s external Service.
    const suffix = structuredClone(cluster);
    suffix.spec.zones = [{ name: 'a' }, { name: 'a-external' }];
    expect(JSON.stringify(automqClusterSchema.safeParse(suffix).error?.issues)).to.contain('must not end in -external');
    suffix.spec.zones = [{ name: 'external' }, { name: 'a-externals' }];
    expect(automqClusterSchema.safeParse(suffix).success, 'only the -external suffix is reserved').to.equal(true);
  });

  it('validates TableTopic partition transforms and defaults', () => {
    const t = {
      apiVersion: 'automq.io/v1alpha1',
      kind: 'TableTopic',
      metadata: { name: 'orders' },
      spec: { clusterRef: { name: 'c1' }, table: { partitionBy: ['day(ts)', 'bucket[16](id)', 'region'] } },
    };
    const parsed = tableTopicSchema.parse(t);
    expect(parsed.spec.partitions).to.equal(1);
    expect(parsed.spec.deletionPolicy).to.equal('Delete');
    expect(parsed.spec.table!.schemaMode).to.equal('Schemaless');
    const bad = structuredClone(t);
    bad.spec.table.partitionBy = ['day(ts'];
    expect(tableTopicSchema.safeParse(bad).success).to.equal(false);
  });
});
