// Driver for client programs that share one command line and print JSON lines: the Java
// ClientCheck (test/java) and the Python scripts (test/python). See ClientCheck.java for the contract.
import { Proc, describeRun, run } from '../proc.js';
import type { Codec, ClientDriver, GroupRun, ProduceOptions } from '../group-scenario.js';
import type { ConsumedRecord, ProducedRecord } from '../verify.js';

type Event = { event: string; [k: string]: unknown };

export function parseEvents(lines: string | string[]): Event[] {
  const list = typeof lines === 'string' ? lines.split('\n') : lines;
  const out: Event[] = [];
  for (const l of list) {
    if (!l.startsWith('{')) continue;
    try {
      const e = JSON.parse(l) as Event;
      if (typeof e.event === 'string') out.push(e);
    } catch {
      // a partial line from a killed process: ignore
    }
  }
  return out;
}

function sendNumber(value: string): number {
  return Number(value.slice(value.lastIndexOf('-') + 1));
}

function brief(events: Event[], kinds: string[], n = 8): string {
  return events
    .filter((e) => kinds.includes(e.event))
    .slice(0, n)
    .map((e) => JSON.stringify(e))
    .join('\n');
}

export class ProgramDriver implements ClientDriver {
  constructor(
    readonly name: string,
    private readonly bootstrap: string,
    private readonly cmd: string,
    private readonly baseArgs: string[],
    private readonly env?: NodeJS.ProcessEnv,
  ) {}

  private args(mode: string, topic: string, rest: string[], bootstrap = this.bootstrap): string[] {
    return [...this.baseArgs, '--mode', mode, '--bootstrap', bootstrap, '--topic', topic, ...rest];
  }

  async createTopic(topic: string, partitions: number): Promise<void> {
    const r = await run(this.cmd, this.args('create-topic', topic, ['--partitions', String(partitions)]), {
      timeoutMs: 120_000,
      env: this.env,
    });
    if (r.code !== 0 || !parseEvents(r.stdout).some((e) => e.event === 'topic-created')) {
      throw new Error(`${this.name} could not create topic ${topic}:\n${describeRun(r)}`);
    }
  }

  async produce(topic: string, count: number, prefix: string, codec: Codec, opts: ProduceOptions = {}): Promise<ProducedRecord[]> {
    const rest = ['--count', String(count), '--prefix', prefix, '--compression', codec, '--acks', 'all'];
    if (opts.idempotent) rest.push('--idempotence', 'true');
    const r = await run(this.cmd, this.args('produce', topic, rest, opts.bootstrap), { timeoutMs: 240_000, env: this.env });
    const events = parseEvents(r.stdout);
    const errors = events.filter((e) => e.event === 'produce-error' || e.event === 'error');
    if (r.code !== 0 || errors.length > 0 || r.timedOut) {
      throw new Error(
        `${this.name} produce (${codec}) failed: ${errors.length} errors, first ones:\n${brief(events, ['produce-error', 'error'])}\n${describeRun(r, 20)}`,
      );
    }
    // Acks arrive per request; the value's number is the send order, which the checks need.
    return events
      .filter((e) => e.event === 'produced')
      .map((e) => ({ value: String(e.value), partition: Number(e.partition), offset: Number(e.offset) }))
      .sort((a, b) => sendNumber(a.value) - sendNumber(b.value));
  }

  async consumeGroup(topic: string, group: string, members: number, expected: number): Promise<GroupRun> {
    const timeoutMs = 150_000;
    const proc = await Proc.start(
      this.cmd,
      this.args('consume', topic, ['--group', group, '--members', String(members), '--count', String(expected), '--timeout-ms', String(timeoutMs)]),
      { env: this.env },
    );
    const consumed = (): ConsumedRecord[] =>
      parseEvents(proc.stdoutLines)
        .filter((e) => e.event === 'record')
        .map((e) => ({ partition: Number(e.partition), offset: Number(e.offset), value: String(e.value), member: Number(e.member) }));
    const finished = (async () => {
      const exit = await proc.waitExit(timeoutMs + 90_000);
      const events = parseEvents(proc.stdoutLines);
      if (exit.code !== 0) {
        const t = events.find((e) => e.event === 'timeout');
        const why = t
          ? `read only ${String(t.distinct)} of ${expected} distinct records within ${timeoutMs} ms`
          : `exited with ${JSON.stringify(exit)}`;
        throw new Error(
          `${this.name} consumer group ${group} ${why}\n` +
            `${brief(events, ['consumer-error', 'error', 'assigned', 'revoked', 'committed', 'timeout'], 20)}\n${proc.outputTail(20)}`,
        );
      }
      return consumed();
    })();
    finished.catch(() => undefined); // observed by the caller; avoid an unhandled rejection meanwhile
    return { finished, consumed, abort: async () => void (await proc.stop(5000)) };
  }

  async committed(group: string, topic: string): Promise<Map<number, number>> {
    const r = await run(this.cmd, this.args('committed', topic, ['--group', group]), { timeoutMs: 120_000, env: this.env });
    const e = parseEvents(r.stdout).find((x) => x.event === 'committed-offsets');
    if (r.code !== 0 || !e) throw new Error(`${this.name} could not read committed offsets of ${group}:\n${describeRun(r)}`);
    const offsets = e.offsets as Record<string, number | null>;
    return new Map(
      Object.entries(offsets)
        .filter((kv): kv is [string, number] => kv[1] !== null && kv[1] >= 0)
        .map(([p, o]) => [Number(p), o]),
    );
  }
}
