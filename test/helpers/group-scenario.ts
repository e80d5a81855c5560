// The acceptance scenario every client runs (issue 2, item 1): produce 10,000 records over 3
// partitions with one compression codec, a group of 3 members reads them all in per-partition order
// and commits, stops; another batch is produced while the group is down; the group restarts and
// must read exactly that batch, resuming at the committed offsets.
import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { assertBrokerAlive } from './broker.js';
import type { Broker } from './broker.js';
import { committedOffsets, endOffsets, waitForStableGroup } from './kafka-admin.js';
import { checkDelivery, mapToObject } from './verify.js';
import type { ConsumedRecord, ProducedRecord } from './verify.js';

export type Codec = 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd';
export const ALL_CODECS: readonly Codec[] = ['none', 'gzip', 'snappy', 'lz4', 'zstd'];

export interface ProduceOptions {
  /** Bootstrap to use instead of the broker's (e.g. a proxy). */
  bootstrap?: string;
  idempotent?: boolean;
}

export interface GroupRun {
  /** Resolves once the members read `expected` distinct records, committed and stopped. */
  finished: Promise<ConsumedRecord[]>;
  /** What was read so far. */
  consumed(): ConsumedRecord[];
  /** Stops every member now (cleanup after a failure). */
  abort(): Promise<void>;
}

export interface ClientDriver {
  readonly name: string;
  createTopic(topic: string, partitions: number): Promise<void>;
  /** Produces record i as key "k<i>", value "<prefix>-<i>"; throws unless every record was acked.
   *  Returns the acked records in send order, with partition/offset where the client reports them. */
  produce(topic: string, count: number, prefix: string, codec: Codec, opts?: ProduceOptions): Promise<ProducedRecord[]>;
  consumeGroup(topic: string, group: string, members: number, expected: number): Promise<GroupRun>;
  /** The group's committed offsets as this client itself reads them, if it can. */
  committed?(group: string, topic: string): Promise<Map<number, number>>;
}

export function uniqueName(...parts: string[]): string {
  return [...parts, randomBytes(3).toString('hex')].join('-');
}

export interface ScenarioOptions {
  count?: number;
  secondCount?: number;
  partitions?: number;
  members?: number;
}

export async function groupScenario(broker: Broker, driver: ClientDriver, codec: Codec, o: ScenarioOptions = {}): Promise<void> {
  const count = o.count ?? 10_000;
  const secondCount = o.secondCount ?? 999;
  const partitions = o.partitions ?? 3;
  const members = o.members ?? 3;
  const topic = uniqueName(driver.name, codec);
  const group = `${topic}-group`;
  const b = broker.bootstrap;

  await driver.createTopic(topic, partitions);

  // Phase 1: the group forms first, so all 3 members take part, then the records arrive.
  const run1 = await driver.consumeGroup(topic, group, members, count);
  let consumed1: ConsumedRecord[];
  let produced1: ProducedRecord[];
  try {
    await waitForStableGroup(b, group, topic, members, partitions, 90_000);
    produced1 = await driver.produce(topic, count, 'a', codec);
    consumed1 = await run1.finished;
  } catch (e) {
    await run1.abort();
    throw e;
  }
  expect(produced1.length, 'records acked in batch 1').to.equal(count);
  expect(
    checkDelivery({ produced: produced1, consumed: consumed1, partitions, requireEveryPartition: true, startOffsets: zeros(partitions) }),
    `${driver.name} ${codec}: batch 1 as read by the group`,
  ).to.deep.equal([]);
  const readers = new Set(consumed1.map((r) => String(r.member)));
  expect(readers.size, `members that read records in batch 1 (${[...readers].join(', ')})`).to.equal(members);

  const end1 = await endOffsets(b, topic);
  expect(sum(end1), `log end offsets after batch 1 ${JSON.stringify(mapToObject(end1))}`).to.equal(count);
  const committed1 = await committedOffsets(b, group, topic);
  expect(mapToObject(committed1), 'committed offsets after batch 1 (OffsetFetch) = log end offsets').to.deep.equal(mapToObject(end1));
  if (driver.committed) {
    expect(mapToObject(await driver.committed(group, topic)), `committed offsets as ${driver.name} reads them`).to.deep.equal(
      mapToObject(end1),
    );
  }

  // Phase 2: produced while the group is down; a restarted group reads exactly these.
  const produced2 = await driver.produce(topic, secondCount, 'b', codec);
  expect(produced2.length, 'records acked in batch 2').to.equal(secondCount);
  const run2 = await driver.consumeGroup(topic, group, members, secondCount);
  let consumed2: ConsumedRecord[];
  try {
    consumed2 = await run2.finished;
  } catch (e) {
    await run2.abort();
    throw e;
  }
  expect(
    checkDelivery({ produced: produced2, consumed: consumed2, partitions, startOffsets: end1 }),
    `${driver.name} ${codec}: after restart the group reads exactly batch 2 from the committed offsets`,
  ).to.deep.equal([]);
  const end2 = await endOffsets(b, topic);
  expect(sum(end2), 'log end offsets after batch 2').to.equal(count + secondCount);
  const committed2 = await committedOffsets(b, group, topic);
  expect(mapToObject(committed2), 'committed offsets after batch 2 = log end offsets').to.deep.equal(mapToObject(end2));
  assertBrokerAlive(broker);
}

function zeros(n: number): Map<number, number> {
  return new Map(Array.from({ length: n }, (_, i) => [i, 0]));
}

function sum(m: ReadonlyMap<number, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}
