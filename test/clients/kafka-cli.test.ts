// Apache Kafka's own command-line tools (kafka_2.13 + kafka-tools 4.x from Maven, run by
// hack/kafka-cli.sh) against the broker started as `npm start` starts it (issue 2, item 2). Each
// command must succeed and print what it prints against Apache Kafka.
import { expect } from 'chai';
import { assertBrokerAlive, startBroker } from '../helpers/broker.js';
import type { Broker } from '../helpers/broker.js';
import { describeRun, run } from '../helpers/proc.js';
import type { RunResult } from '../helpers/proc.js';
import { uniqueName } from '../helpers/group-scenario.js';
import { KAFKA_CLI, requireKafkaCli } from '../helpers/tools.js';

async function cli(tool: string, args: string[], input?: string): Promise<RunResult> {
  const r = await run(KAFKA_CLI, [tool, ...args], { timeoutMs: 120_000, input });
  if (r.timedOut || r.code !== 0) throw new Error(`${tool} failed:\n${describeRun(r)}`);
  return r;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim().length > 0);
}

/** Rows of a table printed by kafka-consumer-groups: the header line starts with GROUP. */
function table(text: string): { header: string[]; rows: Record<string, string>[] } {
  const ls = lines(text);
  const h = ls.findIndex((l) => /^GROUP\s/.test(l));
  if (h < 0) throw new Error(`no table header (GROUP ...) in:\n${text}`);
  const header = ls[h]!.trim().split(/\s+/);
  const rows = ls.slice(h + 1).map((l) => {
    const cells = l.trim().split(/\s+/);
    return Object.fromEntries(header.map((k, i) => [k, cells[i] ?? '']));
  });
  return { header, rows };
}

describe('Apache Kafka CLI tools', function () {
  this.timeout(180_000);
  let broker: Broker | undefined;
  let b: string;
  const topic = uniqueName('cli-topic');
  const group = `${topic}-group`;
  const records = Array.from({ length: 30 }, (_, i) => `key${i}:value-${i}`);

  before(async function () {
    this.timeout(900_000); // first use resolves the tools from Maven
    await requireKafkaCli();
    broker = await startBroker();
    b = broker.bootstrap;
  });
  after(async () => {
    await broker?.stop();
  });
  afterEach(() => {
    if (broker) assertBrokerAlive(broker);
  });

  it('kafka-topics --create prints "Created topic <name>."', async () => {
    const r = await cli('kafka-topics', [
      '--bootstrap-server', b, '--create', '--topic', topic,
      '--partitions', '3', '--replication-factor', '1', '--config', 'retention.ms=3600000',
    ]);
    expect(lines(r.stdout)).to.deep.equal([`Created topic ${topic}.`]);
  });

  it('kafka-topics --list shows the topic', async () => {
    const r = await cli('kafka-topics', ['--bootstrap-server', b, '--list']);
    expect(lines(r.stdout)).to.include(topic);
  });

  function checkDescribe(stdout: string, partitions: number): void {
    const ls = lines(stdout);
    expect(ls.length, `describe output:\n${stdout}`).to.equal(1 + partitions);
    const head = new RegExp(
      `^Topic: ${topic}\\tTopicId: [A-Za-z0-9_-]{22}\\tPartitionCount: ${partitions}\\tReplicationFactor: 1\\tConfigs: (.*)$`,
    ).exec(ls[0]!);
    expect(head, `topic line: ${JSON.stringify(ls[0])}`).to.not.equal(null);
    expect(head![1]!.split(','), 'Configs: lists the topic override').to.include('retention.ms=3600000');
    ls.slice(1).forEach((l, i) => {
      // Elr/LastKnownElr are (empty) lists because the broker answers DescribeTopicPartitions
      // (KIP-966) as Apache Kafka 4.x does; without that API the tool would fall back to Metadata
      // and print "N/A" (kafka-tools 4.4 TopicCommand$PartitionDescription).
      const m = new RegExp(
        `^\\tTopic: ${topic}\\tPartition: ${i}\\tLeader: (\\d+)\\tReplicas: (\\d+)\\tIsr: (\\d+)\\tElr: ([\\d,]*)\\tLastKnownElr: ([\\d,]*)$`,
      ).exec(l);
      expect(m, `partition line ${i}: ${JSON.stringify(l)}`).to.not.equal(null);
      expect(m![2], 'Replicas is the leader').to.equal(m![1]);
      expect(m![3], 'Isr is the leader').to.equal(m![1]);
    });
  }

  it('kafka-topics --describe prints the topic line and one line per partition', async () => {
    const r = await cli('kafka-topics', ['--bootstrap-server', b, '--describe', '--topic', topic]);
    checkDescribe(r.stdout, 3);
  });

  it('kafka-topics --alter --partitions 5 adds partitions', async () => {
    const r = await cli('kafka-topics', ['--bootstrap-server', b, '--alter', '--topic', topic, '--partitions', '5']);
    expect(lines(r.stdout), 'Apache Kafka prints nothing on a successful --alter').to.deep.equal([]);
    const d = await cli('kafka-topics', ['--bootstrap-server', b, '--describe', '--topic', topic]);
    checkDescribe(d.stdout, 5);
  });

  it('kafka-console-producer sends keyed lines from stdin', async () => {
    const r = await cli(
      'kafka-console-producer',
      ['--bootstrap-server', b, '--topic', topic, '--reader-property', 'parse.key=true', '--reader-property', 'key.separator=:'],
      records.join('\n') + '\n',
    );
    expect(r.stdout.trim(), 'kafka-console-producer prints nothing when all went well').to.equal('');
    const offsets = await cli('kafka-get-offsets', ['--bootstrap-server', b, '--topic', topic]);
    const total = lines(offsets.stdout).reduce((s, l) => s + Number(l.split(':')[2]), 0);
    expect(total, `kafka-get-offsets:\n${offsets.stdout}`).to.equal(records.length);
  });

  async function consumeAll(): Promise<RunResult> {
    return cli('kafka-console-consumer', [
      '--bootstrap-server', b, '--topic', topic, '--group', group, '--from-beginning',
      '--max-messages', String(records.length), '--timeout-ms', '60000',
      '--formatter-property', 'print.key=true', '--formatter-property', 'key.separator=:',
    ]);
  }

  it('kafka-console-consumer --group reads every record and reports the count', async () => {
    const r = await consumeAll();
    expect(lines(r.stdout).sort()).to.deep.equal([...records].sort());
    expect(r.stderr).to.match(new RegExp(`Processed a total of ${records.length} messages`));
  });

  it('kafka-consumer-groups --describe shows the committed offsets, no lag, no active members', async () => {
    const r = await cli('kafka-consumer-groups', ['--bootstrap-server', b, '--describe', '--group', group]);
    // Kafka 4.x prints this notice on stderr, the table on stdout.
    expect(r.stderr).to.include(`Consumer group '${group}' has no active members.`);
    const t = table(r.stdout);
    expect(t.header).to.deep.equal(['GROUP', 'TOPIC', 'PARTITION', 'CURRENT-OFFSET', 'LOG-END-OFFSET', 'LAG', 'CONSUMER-ID', 'HOST', 'CLIENT-ID']);
    expect(t.rows.map((x) => x.PARTITION).sort()).to.deep.equal(['0', '1', '2', '3', '4']);
    for (const row of t.rows) {
      expect(row.GROUP).to.equal(group);
      expect(row.TOPIC).to.equal(topic);
      expect(row['CURRENT-OFFSET'], JSON.stringify(row)).to.equal(row['LOG-END-OFFSET']);
      expect(row.LAG, JSON.stringify(row)).to.equal('0');
      expect([row['CONSUMER-ID'], row.HOST, row['CLIENT-ID']]).to.deep.equal(['-', '-', '-']);
    }
    expect(t.rows.reduce((s, x) => s + Number(x['CURRENT-OFFSET']), 0)).to.equal(records.length);
  });

  it('kafka-consumer-groups --reset-offsets --to-earliest --execute rewinds the group', async () => {
    const r = await cli('kafka-consumer-groups', [
      '--bootstrap-server', b, '--reset-offsets', '--group', group, '--topic', topic, '--to-earliest', '--execute',
    ]);
    const t = table(r.stdout);
    expect(t.header).to.deep.equal(['GROUP', 'TOPIC', 'PARTITION', 'NEW-OFFSET']);
    expect(t.rows.map((x) => [x.GROUP, x.TOPIC, x['NEW-OFFSET']])).to.deep.equal(
      Array.from({ length: 5 }, () => [group, topic, '0']),
    );
    const d = table((await cli('kafka-consumer-groups', ['--bootstrap-server', b, '--describe', '--group', group])).stdout);
    for (const row of d.rows) {
      expect(row['CURRENT-OFFSET'], JSON.stringify(row)).to.equal('0');
      expect(row.LAG, JSON.stringify(row)).to.equal(row['LOG-END-OFFSET']);
    }
    // The group reads everything again from the reset offsets.
    const again = await consumeAll();
    expect(lines(again.stdout).sort()).to.deep.equal([...records].sort());
  });

  it('kafka-configs --describe lists the topic override with its source', async () => {
    const r = await cli('kafka-configs', ['--bootstrap-server', b, '--entity-type', 'topics', '--entity-name', topic, '--describe']);
    const ls = lines(r.stdout);
    expect(ls[0]).to.equal(`Dynamic configs for topic ${topic} are:`);
    expect(ls.slice(1), r.stdout).to.have.lengthOf(1);
    expect(ls[1]).to.match(/^ {2}retention\.ms=3600000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=3600000(, [A-Z_]+:[\w.]+=[^,}]*)*\}$/);
  });

  it('kafka-configs --alter --add-config changes it, --describe shows the new value', async () => {
    const r = await cli('kafka-configs', [
      '--bootstrap-server', b, '--entity-type', 'topics', '--entity-name', topic, '--alter', '--add-config', 'retention.ms=7200000',
    ]);
    expect(lines(r.stdout)).to.deep.equal([`Completed updating config for topic ${topic}.`]);
    const d = await cli('kafka-configs', ['--bootstrap-server', b, '--entity-type', 'topics', '--entity-name', topic, '--describe']);
    expect(lines(d.stdout)[1]).to.match(/^ {2}retention\.ms=7200000 sensitive=false synonyms=\{DYNAMIC_TOPIC_CONFIG:retention\.ms=7200000/);
  });
});
