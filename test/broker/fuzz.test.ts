/**
 * Schema-driven request fuzzing against a real broker process: for every served API and
 * version, requests with random but well-formed field values (edge numbers, unknown and real
 * topic names, odd arrays, random record bytes) are sent over the wire. The broker must answer
 * with Kafka errors, never crash, and never hit an unexpected handler failure (it logs those as
 * "handler failed"). Requests that legitimately wait (a JoinGroup waiting for its rebalance) are
 * abandoned after a bound and the connection is replaced. Seeded, so failures reproduce.
 */
import { expect } from 'chai';
import { encodeMessage, isFlexible } from '../../broker/src/protocol/codec.js';
import { requestHeaderVersion, writeRequestHeader } from '../../broker/src/protocol/header.js';
import { Writer } from '../../broker/src/protocol/primitives/writer.js';
import { inRange, type Field, type Fields } from '../../broker/src/protocol/schema.js';
import { CreateTopics } from '../../broker/src/protocol/messages/19_create_topics.js';
import { HANDLERS } from '../../broker/src/kafka/handlers/index.js';
import { startBroker, type Broker } from '../helpers/broker.js';
import { buildBatch } from '../helpers/record-batch-builder.js';
import { ConnectionClosedError, WireClient } from '../helpers/wire-client.js';
import { seededRandom } from '../helpers/random.js';

const TOPICS = ['fuzz-a', 'fuzz-b', 'no-such-topic', '', 'bad name!', 'x'.repeat(300)];
const GROUPS = ['fuzz-group', '', 'other-group'];

function generator(random: () => number) {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  const int = (bits: 8 | 16 | 32) => {
    const edges = [0, 1, -1, 2, 3, 100, -(2 ** (bits - 1)), 2 ** (bits - 1) - 1];
    return random() < 0.7 ? pick(edges) : Math.floor(random() * 2 ** bits) - 2 ** (bits - 1);
  };
  function value(name: string, field: Field<unknown>, version: number): unknown {
    if (inRange(field.nullableVersions, version) && random() < 0.1) return null;
    switch (field.kind) {
      case 'int8':
        return int(8);
      case 'int16':
        return int(16);
      case 'int32':
        // Timeouts stay short so waiting requests do not stall the run.
        return /timeout|wait/i.test(name) ? Math.floor(random() * 200) : int(32);
      case 'int64':
        return pick([0n, -1n, -2n, -3n, 1n, 5n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)]);
      case 'uint16':
        return Math.floor(random() * 65536);
      case 'float64':
        return random() * 1e6;
      case 'bool':
        return random() < 0.5;
      case 'uuid':
        return random() < 0.5 ? '0'.repeat(32) : Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(random() * 16)]).join('');
      case 'string':
        return /group/i.test(name) ? pick(GROUPS) : /topic|name/i.test(name) ? pick(TOPICS) : pick(['', 'a', 'member-1', 'consumer', 'range']);
      case 'bytes':
        return Buffer.from(Array.from({ length: Math.floor(random() * 16) }, () => Math.floor(random() * 256)));
      case 'records':
        return random() < 0.6
          ? buildBatch([{ value: Buffer.from('fuzz') }], { producerId: pick([-1n, 0n, 7n]), producerEpoch: pick([-1, 0, 3]), baseSequence: pick([-1, 0, 5]) })
          : Buffer.from(Array.from({ length: Math.floor(random() * 80) }, () => Math.floor(random() * 256)));
      case 'array': {
        const n = Math.floor(random() * 3);
        const el = field.element!;
        return Array.from({ length: n }, () => (el.kind === 'struct' ? struct(el.fields!, version) : value(name, el, version)));
      }
      case 'struct':
        return struct(field.fields!, version);
    }
  }
  function struct(fields: Fields, version: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, f] of Object.entries(fields)) out[name] = value(name, f, version);
    return out;
  }
  return struct;
}

describe('request fuzzing (real broker process)', function () {
  this.timeout(300_000);
  let broker: Broker;

  before(async () => {
    broker = await startBroker();
    const c = await WireClient.connect(broker.port);
    await c.request(CreateTopics, 7, { topics: [{ name: 'fuzz-a', numPartitions: 2, replicationFactor: 1 }, { name: 'fuzz-b', numPartitions: 1, replicationFactor: 1 }], timeoutMs: 10_000 });
    c.close();
  });
  after(async () => {
    await broker?.stop();
  });

  it('answers thousands of random well-formed requests without a crash or an unexpected handler failure', async () => {
    const random = seededRandom(Number(process.env.FUZZ_SEED ?? 424242)); // FUZZ_SEED=n explores other inputs
    const struct = generator(random);
    let client = await WireClient.connect(broker.port);
    let sent = 0;
    let answered = 0;
    let abandoned = 0;
    const abandonedApis = new Set<string>();
    let correlationId = 1;
    for (let round = 0; round < 25; round++) {
      for (const h of HANDLERS) {
        for (let v = h.minVersion; v <= h.maxVersion; v++) {
          const body = struct(h.api.request.fields, v);
          const w = new Writer();
          const at = w.reserveInt32();
          writeRequestHeader(w, { apiKey: h.api.key, apiVersion: v, correlationId: correlationId++, clientId: 'fuzz' }, requestHeaderVersion(isFlexible(h.api.request, v)));
          try {
            encodeMessage(h.api.request, v, body as never, w);
          } catch {
            continue; // e.g. a value the wire format cannot carry in this version
          }
          w.patchInt32(at, w.length - 4);
          const expectsAnswer = !(h.api.key === 0 && body['acks'] === 0);
          const pending = expectsAnswer ? client.nextFrame(1500) : undefined;
          client.writeRaw(Buffer.from(w.toBuffer()));
          sent++;
          if (!pending) continue;
          try {
            await pending;
            answered++;
          } catch (err) {
            // A well-formed request must never cost the connection.
            if (err instanceof ConnectionClosedError) throw new Error(`the broker closed the connection on ${h.api.name} v${v}: ${JSON.stringify(body, (_k, x: unknown) => (typeof x === 'bigint' ? x.toString() : x))}`);
            // No answer in time (a request that legitimately waits): start over on a fresh
            // connection so later requests are not queued behind it.
            abandoned++;
            abandonedApis.add(h.api.name);
            client.close();
            client = await WireClient.connect(broker.port);
          }
          expect(broker.exitInfo(), `broker exited after ${h.api.name} v${v}`).to.equal(null);
        }
      }
    }
    client.close();
    console.log(`      fuzz: ${sent} requests, ${answered} answered, ${abandoned} abandoned after 1.5 s (${[...abandonedApis].join(', ')})`);
    const failures = broker.logs().filter((l) => l.includes('"handler failed"') || l.includes('"response encode failed"'));
    expect(failures, failures.slice(0, 5).join('\n')).to.deep.equal([]);
    expect(sent).to.be.greaterThan(3000);
    expect(answered).to.be.greaterThan(sent * 0.8);
    expect(abandoned).to.be.lessThan(sent * 0.1);
  });
});
