// Partition reassignment and leader election with real clients against the broker started as
// `npm start` starts it: Apache Kafka 4.4's kafka-reassign-partitions / kafka-leader-election (run by
// hack/kafka-cli.sh; a missing Java or Maven fails the suite with how to install them) and kafkajs'
// admin client. Standalone: the one broker leads everything, so a move to it completes at once and
// no election is ever needed; the tools must print what they print against a one-broker Kafka.
import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { assertBrokerAlive, brokerImpl, startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { createTopic, withAdmin } from '../helpers/kafka-admin.js';
import { describeRun, run } from '../helpers/proc.js';
import type { RunResult } from '../helpers/proc.js';
import { KAFKA_CLI, requireKafkaCli } from '../helpers/tools.js';

// Not the default 0, so ids the tools print come from the broker. AUTOMQ_TEST_BROKER=apache-kafka
// (a developer's check of these expectations against Kafka itself) runs node 1.
const NODE_ID = brokerImpl === 'apache-kafka' ? 1 : 3;

async function cli(tool: string, args: string[]): Promise<RunResult> {
  const r = await run(KAFKA_CLI, [tool, ...args], { timeoutMs: 120_000 });
  if (r.timedOut || r.code !== 0) throw new Error(`${tool} failed:\n${describeRun(r)}`);
  return r;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim().length > 0);
}

interface ReassignmentJson {
  version: number;
  partitions: { topic: string; partition: number; replicas: number[]; log_dirs?: string[] }[];
}

describe('partition moves with Apache Kafka CLI tools and kafkajs (standalone broker)', function () {
  this.timeout(180_000);
  let broker: Broker | undefined;
  let b: string;
  let dir: string;
  const topic = uniqueName('moves');
  // This broker reports no log dirs (DescribeLogDirs answers none), so every replica is in "any"
  // dir; Apache Kafka names its real ones.
  const dirOf = (d: string | undefined) => (brokerImpl === 'apache-kafka' && d !== 'any' ? '<log dir>' : d);
  const everyPartition = (replicas: number[], logDir = brokerImpl === 'apache-kafka' ? '<log dir>' : 'any') =>
    [0, 1, 2].map((partition) => ({ topic, partition, replicas, log_dirs: replicas.map(() => logDir) }));
  const sorted = (j: ReassignmentJson) =>
    [...j.partitions].sort((x, y) => x.partition - y.partition).map((p) => ({ ...p, log_dirs: p.log_dirs?.map(dirOf) }));

  before(async function () {
    this.timeout(900_000); // first use resolves the tools from Maven
    await requireKafkaCli();
    dir = await mkdtemp(path.join(os.tmpdir(), 'automq-moves-'));
    broker = await startBroker(brokerImpl === 'apache-kafka' ? {} : { extraArgs: ['--node-id', String(NODE_ID)] });
    b = broker.bootstrap;
    await createTopic(b, topic, 3);
  });
  after(async () => {
    await broker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  afterEach(() => {
    if (broker) assertBrokerAlive(broker);
  });

  let proposed: ReassignmentJson;

  it('kafka-reassign-partitions --generate proposes the only broker for every partition', async () => {
    const topicsFile = path.join(dir, 'topics.json');
    await writeFile(topicsFile, JSON.stringify({ version: 1, topics: [{ topic }] }));
    const r = await cli('kafka-reassign-partitions', [
      '--bootstrap-server', b, '--topics-to-move-json-file', topicsFile, '--broker-list', String(NODE_ID), '--generate',
    ]);
    const ls = lines(r.stdout);
    expect(ls, r.stdout).to.have.lengthOf(4);
    expect(ls[0]).to.equal('Current partition replica assignment');
    expect(ls[2]).to.equal('Proposed partition reassignment configuration');
    const current = JSON.parse(ls[1]!) as ReassignmentJson;
    proposed = JSON.parse(ls[3]!) as ReassignmentJson;
    expect(sorted(current)).to.deep.equal(everyPartition([NODE_ID]));
    expect(sorted(proposed), 'a proposal never names log dirs').to.deep.equal(everyPartition([NODE_ID], 'any'));
  });

  it('kafka-reassign-partitions --execute starts the proposed moves and prints the rollback plan', async () => {
    const plan = path.join(dir, 'plan.json');
    await writeFile(plan, JSON.stringify(proposed));
    const r = await cli('kafka-reassign-partitions', ['--bootstrap-server', b, '--reassignment-json-file', plan, '--execute']);
    const ls = lines(r.stdout);
    expect(ls[0]).to.equal('Current partition replica assignment');
    const rollback = JSON.parse(ls[1]!) as ReassignmentJson;
    expect(sorted(rollback)).to.deep.equal(everyPartition([NODE_ID]));
    expect(ls[2]).to.equal('Save this to use as the --reassignment-json-file option during rollback');
    expect(ls[3]).to.equal(`Successfully started partition reassignments for ${topic}-0,${topic}-1,${topic}-2`);
    expect(ls, r.stdout).to.have.lengthOf(4);
  });

  it('kafka-reassign-partitions --verify finds every move completed and clears the throttles', async () => {
    const plan = path.join(dir, 'plan.json');
    const r = await cli('kafka-reassign-partitions', ['--bootstrap-server', b, '--reassignment-json-file', plan, '--verify']);
    expect(lines(r.stdout)).to.deep.equal([
      'Status of partition reassignment:',
      `Reassignment of partition ${topic}-0 is completed.`,
      `Reassignment of partition ${topic}-1 is completed.`,
      `Reassignment of partition ${topic}-2 is completed.`,
      `Clearing broker-level throttles on broker ${NODE_ID}`,
      `Clearing topic-level throttles on topic ${topic}`,
    ]);
  });

  it('kafka-reassign-partitions --list finds nothing in progress', async () => {
    const r = await cli('kafka-reassign-partitions', ['--bootstrap-server', b, '--list']);
    expect(lines(r.stdout)).to.deep.equal(['No partition reassignments found.']);
  });

  it('kafka-leader-election --election-type preferred --all-topic-partitions succeeds with nothing to elect', async () => {
    // Kafka leaves partitions that need no election out of an all-partitions answer, so the tool
    // has nothing to report (it fails, exit 1, on any partition error).
    const r = await cli('kafka-leader-election', ['--bootstrap-server', b, '--election-type', 'preferred', '--all-topic-partitions']);
    expect(lines(r.stdout), describeRun(r)).to.deep.equal([]);
  });

  it('kafka-leader-election for one partition reports its preferred replica already leads', async () => {
    const r = await cli('kafka-leader-election', ['--bootstrap-server', b, '--election-type', 'preferred', '--topic', topic, '--partition', '1']);
    expect(lines(r.stdout)).to.deep.equal([`Valid replica already elected for partitions ${topic}-1`]);
  });

  it('kafkajs admin: alterPartitionReassignments to the broker resolves, to an unknown broker fails per partition; listPartitionReassignments is empty', async () => {
    await withAdmin(b, async (admin) => {
      await admin.alterPartitionReassignments({ topics: [{ topic, partitionAssignment: [{ partition: 0, replicas: [NODE_ID] }] }], timeout: 10_000 });
      let failure: unknown;
      try {
        await admin.alterPartitionReassignments({
          topics: [{ topic, partitionAssignment: [{ partition: 1, replicas: [NODE_ID + 40] }, { partition: 2, replicas: [NODE_ID] }] }],
          timeout: 10_000,
        });
      } catch (e) {
        failure = e;
      }
      expect(failure, 'a move to an unknown broker must fail').to.be.instanceOf(Error);
      const errors = (failure as { errors?: { type?: string; topic?: string; partition?: number }[] }).errors;
      expect(errors?.map((e) => [e.type, e.topic, e.partition]), String(failure)).to.deep.equal([['INVALID_REPLICA_ASSIGNMENT', topic, 1]]);
      const listed = await admin.listPartitionReassignments({ topics: [{ topic, partitions: [0, 1, 2] }], timeout: 10_000 });
      expect(listed.topics).to.deep.equal([]);
      const all = await admin.listPartitionReassignments({ timeout: 10_000 });
      expect(all.topics).to.deep.equal([]);
    });
  });
});
