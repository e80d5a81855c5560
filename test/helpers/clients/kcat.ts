// Driver for kcat (librdkafka 2.0.2 on Debian bookworm). kcat cannot create topics, so topics are
// created with the kafkajs admin client; everything else goes through kcat itself.
import { Proc, describeRun, run } from '../proc.js';
import { createTopic } from '../kafka-admin.js';
import { waitFor } from '../wait.js';
import type { Codec, ClientDriver, GroupRun } from '../group-scenario.js';
import type { ConsumedRecord, ProducedRecord } from '../verify.js';

interface KcatJson {
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  payload: string | null;
}

export class KcatDriver implements ClientDriver {
  readonly name = 'kcat';
  constructor(private readonly bootstrap: string) {}

  createTopic(topic: string, partitions: number): Promise<void> {
    return createTopic(this.bootstrap, topic, partitions);
  }

  /** Keyed records: librdkafka's default partitioner spreads them over the partitions. */
  async produce(topic: string, count: number, prefix: string, codec: Codec): Promise<ProducedRecord[]> {
    const values: string[] = [];
    let input = '';
    for (let i = 0; i < count; i++) {
      const v = `${prefix}-${i}`;
      values.push(v);
      input += `k${i}\t${v}\n`;
    }
    const r = await run(
      'kcat',
      ['-b', this.bootstrap, '-P', '-t', topic, '-K', '\t', '-z', codec,
        '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'message.timeout.ms=60000'],
      { timeoutMs: 180_000, input },
    );
    // kcat exits 1 when a delivery failed, and says "Delivery failed" on stderr.
    if (r.code !== 0 || r.timedOut || /Delivery failed/i.test(r.stderr)) {
      throw new Error(`kcat produce (${codec}) failed:\n${describeRun(r)}`);
    }
    return values.map((value) => ({ value }));
  }

  async consumeGroup(topic: string, group: string, members: number, expected: number): Promise<GroupRun> {
    // -u: unbuffered output, or the last records sit in kcat's stdio buffer until it exits.
    const procs: Proc[] = [];
    for (let m = 0; m < members; m++) {
      procs.push(
        await Proc.start('kcat', [
          '-b', this.bootstrap, '-G', group,
          '-X', 'auto.offset.reset=earliest',
          '-X', 'auto.commit.interval.ms=200',
          '-X', `client.id=${group}-m${m}`,
          '-u', '-J', topic,
        ]),
      );
    }
    const consumed = (): ConsumedRecord[] => {
      const out: ConsumedRecord[] = [];
      procs.forEach((p, m) => {
        for (const l of p.stdoutLines) {
          if (!l.startsWith('{')) continue;
          try {
            const j = JSON.parse(l) as KcatJson;
            out.push({ partition: j.partition, offset: j.offset, value: String(j.payload), member: m });
          } catch {
            // partial line
          }
        }
      });
      return out;
    };
    const distinct = () => new Set(consumed().map((r) => `${r.partition}:${r.offset}`)).size;
    const stopAll = () => Promise.all(procs.map((p) => p.stop(20_000)));
    const finished = (async () => {
      await waitFor(
        () => {
          const dead = procs.findIndex((p) => !p.running);
          if (dead >= 0) {
            throw new Error(`kcat group member ${dead} exited early (${JSON.stringify(procs[dead]!.exit)})\n${procs[dead]!.outputTail()}`);
          }
          return distinct() >= expected;
        },
        150_000,
        () => `kcat group ${group} to read ${expected} distinct records (has ${distinct()})\n${procs.map((p) => p.outputTail(10)).join('\n')}`,
        100,
      );
      // SIGTERM makes kcat close its consumer, which commits the offsets it stored.
      const exits = await stopAll();
      exits.forEach((e, m) => {
        if (e.code !== 0) throw new Error(`kcat group member ${m} did not exit cleanly on SIGTERM: ${JSON.stringify(e)}\n${procs[m]!.outputTail()}`);
      });
      return consumed();
    })();
    finished.catch(() => undefined);
    return { finished, consumed, abort: async () => void (await Promise.all(procs.map((p) => p.stop(2000)))) };
  }
}
