// Driver for kafkajs 2.2.4 (in-process). gzip is built in; snappy and lz4 come from the
// kafkajs-snappy and kafkajs-lz4 codec packages. No zstd codec for kafkajs installs on Node 20
// (@kafkajs/zstd needs cppzst, whose native build fails), so kafkajs runs without zstd.
import kafkajs from 'kafkajs';
import type { Consumer, Kafka as KafkaType } from 'kafkajs';
import { createRequire } from 'node:module';
import { createTopic, committedOffsets, kafkaFor } from '../kafka-admin.js';
import { waitFor, waitForNoThrow } from '../wait.js';
import type { Codec, ClientDriver, GroupRun, ProduceOptions } from '../group-scenario.js';
import { nextOffsets, mapToObject } from '../verify.js';
import type { ConsumedRecord, ProducedRecord } from '../verify.js';

const { CompressionTypes, CompressionCodecs } = kafkajs;

type CodecFactory = () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
const require = createRequire(import.meta.url);
const SnappyCodec = require('kafkajs-snappy') as CodecFactory;
const LZ4Codec = require('kafkajs-lz4') as new () => { codec: CodecFactory };

// kafkajs' codec table is global: register the plugin codecs once.
(CompressionCodecs as Record<number, CodecFactory>)[CompressionTypes.Snappy] = SnappyCodec;
(CompressionCodecs as Record<number, CodecFactory>)[CompressionTypes.LZ4] = new LZ4Codec().codec;

export const KAFKAJS_CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4'];

export function kafkajsCompression(codec: Codec): number {
  switch (codec) {
    case 'none':
      return CompressionTypes.None;
    case 'gzip':
      return CompressionTypes.GZIP;
    case 'snappy':
      return CompressionTypes.Snappy;
    case 'lz4':
      return CompressionTypes.LZ4;
    case 'zstd':
      throw new Error('kafkajs has no zstd codec on Node 20 (see test/helpers/clients/kafkajs.ts)');
  }
}

/** Produces in sends of `chunk` records; offsets come from each partition's baseOffset. */
export async function kafkajsProduce(
  kafka: KafkaType,
  topic: string,
  count: number,
  prefix: string,
  codec: Codec,
  opts: { idempotent?: boolean; partitions?: number; chunk?: number } = {},
): Promise<ProducedRecord[]> {
  const partitions = opts.partitions ?? 3;
  const chunk = opts.chunk ?? 500;
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    idempotent: opts.idempotent ?? false,
    ...(opts.idempotent ? { maxInFlightRequests: 1 } : {}),
    retry: { retries: 10, initialRetryTime: 100 },
  });
  await producer.connect();
  const produced: ProducedRecord[] = [];
  try {
    for (let start = 0; start < count; start += chunk) {
      const batch: ProducedRecord[] = [];
      for (let i = start; i < Math.min(count, start + chunk); i++) {
        batch.push({ value: `${prefix}-${i}`, partition: i % partitions });
      }
      const meta = await producer.send({
        topic,
        acks: -1,
        compression: kafkajsCompression(codec),
        messages: batch.map((r) => ({ key: `k${seq(r.value)}`, value: r.value, partition: r.partition })),
      });
      for (const m of meta) {
        if (m.errorCode !== 0) throw new Error(`produce to ${topic}/${m.partition} answered error code ${m.errorCode}`);
        let next = Number(m.baseOffset);
        for (const r of batch) if (r.partition === m.partition) r.offset = next++;
      }
      const unacked = batch.filter((r) => r.offset === undefined);
      if (unacked.length > 0) throw new Error(`no produce result for ${unacked.length} records, e.g. ${JSON.stringify(unacked[0])}`);
      produced.push(...batch);
    }
  } finally {
    await producer.disconnect();
  }
  return produced;
}

function seq(value: string): string {
  return value.slice(value.lastIndexOf('-') + 1);
}

export class KafkajsDriver implements ClientDriver {
  readonly name = 'kafkajs';
  constructor(private readonly bootstrap: string) {}

  createTopic(topic: string, partitions: number): Promise<void> {
    return createTopic(this.bootstrap, topic, partitions);
  }

  produce(topic: string, count: number, prefix: string, codec: Codec, opts: ProduceOptions = {}): Promise<ProducedRecord[]> {
    return kafkajsProduce(kafkaFor(opts.bootstrap ?? this.bootstrap, 'kafkajs-producer'), topic, count, prefix, codec, {
      idempotent: opts.idempotent ?? false,
    });
  }

  async consumeGroup(topic: string, group: string, members: number, expected: number): Promise<GroupRun> {
    const records: ConsumedRecord[] = [];
    const consumers: Consumer[] = [];
    const crashes: string[] = [];
    for (let m = 0; m < members; m++) {
      const c = kafkaFor(this.bootstrap, `${group}-m${m}`).consumer({ groupId: group, maxWaitTimeInMs: 250 });
      c.on(c.events.CRASH, (e) => crashes.push(`member ${m}: ${String((e.payload as { error?: Error }).error?.message)}`));
      consumers.push(c);
      await c.connect();
      await c.subscribe({ topic, fromBeginning: true });
      await c.run({
        eachMessage: async ({ partition, message }) => {
          records.push({ partition, offset: Number(message.offset), value: String(message.value), member: m });
        },
      });
    }
    const distinct = () => new Set(records.map((r) => `${r.partition}:${r.offset}`)).size;
    const stopAll = () => Promise.all(consumers.map((c) => c.disconnect()));
    const finished = (async () => {
      try {
        await waitFor(
          () => {
            if (crashes.length > 0) throw new Error(`kafkajs consumer crashed: ${crashes.join('; ')}`);
            return distinct() >= expected;
          },
          150_000,
          () => `kafkajs group ${group} to read ${expected} distinct records (has ${distinct()})`,
        );
        // kafkajs commits after each batch it processed; wait until the broker has all of them.
        const want = mapToObject(nextOffsets(records));
        await waitForNoThrow(
          () => committedOffsets(this.bootstrap, group, topic),
          (got) => Object.entries(want).every(([p, o]) => got.get(Number(p)) === o),
          30_000,
          (got) => `kafkajs group ${group} to commit ${JSON.stringify(want)} (OffsetFetch says ${JSON.stringify(got && mapToObject(got))})`,
        );
      } finally {
        await stopAll();
      }
      return [...records];
    })();
    finished.catch(() => undefined);
    return { finished, consumed: () => [...records], abort: async () => void (await stopAll()) };
  }
}
