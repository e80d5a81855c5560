// Issue 5, acceptance 1: a 3-broker cluster (real processes, one MinIO bucket); topics of 12
// partitions are spread over all brokers, and kafkajs, librdkafka (kcat and confluent-kafka) and
// the Java client produce and consume through whichever broker they bootstrap from: the group
// scenario of the client suites (produce, a group of 3 reads all in order and commits, stops;
// more records; the restarted group reads exactly those) on 12 partitions led by 3 brokers.
import { expect } from 'chai';
import path from 'node:path';
import type { Broker } from '../helpers/broker.js';
import { Cluster, FAST_CLUSTER_CONFIG, MINIO_START_TIMEOUT_MS } from '../helpers/cluster.js';
import type { ClusterMember } from '../helpers/cluster.js';
import { KafkajsDriver, kafkajsProduce } from '../helpers/clients/kafkajs.js';
import { KcatDriver } from '../helpers/clients/kcat.js';
import { ProgramDriver } from '../helpers/clients/program.js';
import { groupScenario, uniqueName } from '../helpers/group-scenario.js';
import type { ClientDriver, Codec, ProduceOptions } from '../helpers/group-scenario.js';
import { kafkaFor } from '../helpers/kafka-admin.js';
import { PYTHON, PYTHON_DIR, requireClientCheck, requireKcat, requirePython } from '../helpers/tools.js';
import type { ProducedRecord } from '../helpers/verify.js';

const PARTITIONS = 12;

/** kafkajs spreading records over all 12 partitions (the suite's driver writes to 3). */
class Kafkajs12 extends KafkajsDriver {
  constructor(private readonly boot: string) {
    super(boot);
  }
  override produce(topic: string, count: number, prefix: string, codec: Codec, opts: ProduceOptions = {}): Promise<ProducedRecord[]> {
    return kafkajsProduce(kafkaFor(opts.bootstrap ?? this.boot, 'kafkajs-producer'), topic, count, prefix, codec, {
      idempotent: opts.idempotent ?? false,
      partitions: PARTITIONS,
    });
  }
}

/** The member as the group scenario's Broker: its address for the admin checks; alive = running. */
function asBroker(c: Cluster, b: ClusterMember): Broker {
  return {
    bootstrap: b.bootstrap,
    port: b.port,
    advertisePort: b.port,
    metricsPort: b.metricsPort,
    dataDir: b.dataDir,
    objectStoreDir: '',
    objectStoreUrl: c.objectStoreUrl,
    pid: b.pid!,
    logs: () => [...(b.proc?.stdoutLines ?? []), ...(b.proc?.stderrLines ?? []).map((l) => `stderr: ${l}`)],
    exitInfo: () => b.proc?.exit ?? null,
    stop: () => c.terminate(b, 60_000),
    kill9: () => c.kill9(b),
  };
}

describe('cluster: clients through any broker (3 brokers, 12 partitions)', function () {
  this.timeout(420_000);
  let cluster: Cluster | undefined;

  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS + 900_000);
    await requireKcat();
    await requirePython(['confluent_kafka'], ['python3-confluent-kafka']);
    await requireClientCheck();
    cluster = await Cluster.start({ name: 'clients', brokers: 3, config: FAST_CLUSTER_CONFIG });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed' && cluster) console.log(cluster.report());
  });
  after(async () => {
    await cluster?.stop();
  });

  it('a topic of 12 partitions has leaders on all three brokers, every broker reporting the same leaders', async () => {
    const c = cluster!;
    const topic = uniqueName('spread');
    await c.createTopic(topic, PARTITIONS);
    const views = await Promise.all(c.members.map((b) => c.metadata(b)));
    const leaders = views.map((v) => v.topics.get(topic)!.map((p) => p.leader));
    for (let i = 1; i < views.length; i++) {
      expect(leaders[i], `leaders as ${c.member(i).label} reports them vs ${c.member(0).label}`).to.deep.equal(leaders[0]);
    }
    const count = new Map<number, number>();
    for (const l of leaders[0]!) count.set(l, (count.get(l) ?? 0) + 1);
    console.log(`      leaders per node: ${JSON.stringify(Object.fromEntries(count))}`);
    for (const b of c.members) {
      expect(count.get(b.nodeId!) ?? 0, `partitions led by ${b.label} (leaders ${JSON.stringify(leaders[0])})`).to.be.at.least(1);
      expect(count.get(b.nodeId!) ?? 0, `partitions led by ${b.label}: not more than half`).to.be.at.most(PARTITIONS / 2);
    }
    for (const p of views[0]!.topics.get(topic)!) expect(p.epoch, `leader epoch of partition ${p.partition}`).to.be.at.least(0);
  });

  // Each client bootstraps from a different broker; the group coordinator and the partition
  // leaders are spread over all three, so every client has to follow redirects.
  const clients: { name: string; slot: number; make: (bootstrap: string) => Promise<ClientDriver>; codec: Codec }[] = [
    { name: 'kafkajs', slot: 0, codec: 'lz4', make: async (b) => new Kafkajs12(b) },
    { name: 'kcat (librdkafka)', slot: 1, codec: 'zstd', make: async (b) => new KcatDriver(b) },
    {
      name: 'confluent-kafka (librdkafka)',
      slot: 2,
      codec: 'snappy',
      make: async (b) => new ProgramDriver('confluent-kafka', b, PYTHON, [path.join(PYTHON_DIR, 'confluent_check.py'), '--partitions', String(PARTITIONS)]),
    },
    {
      name: 'Java (kafka-clients)',
      slot: 0,
      codec: 'gzip',
      make: async (b) => {
        const { classpath } = await requireClientCheck();
        return new ProgramDriver('java', b, 'java', ['-Xmx512m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn', '-cp', classpath, 'automq.test.ClientCheck', '--partitions', String(PARTITIONS)]);
      },
    },
  ];
  for (const cl of clients) {
    it(`${cl.name} bootstrapping from broker ${cl.slot}: 10,000 records over 12 partitions, a group of 3 reads them, restarts and resumes`, async () => {
      const c = cluster!;
      const b = c.member(cl.slot);
      await groupScenario(asBroker(c, b), await cl.make(b.bootstrap), cl.codec, { partitions: PARTITIONS, members: 3 });
      c.assertNoUnexpectedExit();
      expect(c.live().length, 'brokers still running').to.equal(3);
    });
  }
});
