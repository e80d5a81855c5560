// Checks what a consumer group read against what a producer had acknowledged: every record once,
// per-partition order, contiguous offsets, and resumption exactly where the group had committed.

export interface ProducedRecord {
  value: string;
  /** Known when the client reports where the record was appended. */
  partition?: number;
  offset?: number;
}

export interface ConsumedRecord {
  partition: number;
  offset: number;
  value: string;
  /** Which group member read it. */
  member?: string | number;
}

function examples<T>(items: T[], n = 5): string {
  const shown = items.slice(0, n).map((x) => JSON.stringify(x)).join(', ');
  return items.length > n ? `${shown}, ... (${items.length} in all)` : shown;
}

export interface DeliveryCheck {
  /** Acked records in send order. */
  produced: ProducedRecord[];
  consumed: ConsumedRecord[];
  partitions: number;
  /** Offset each partition must resume from (the group's committed offset before this read). */
  startOffsets?: ReadonlyMap<number, number>;
  /** Every partition must have delivered something (records were spread over all partitions). */
  requireEveryPartition?: boolean;
}

/** Returns a list of problems; an empty list means the delivery was exact. */
export function checkDelivery(c: DeliveryCheck): string[] {
  const problems: string[] = [];
  const producedByValue = new Map<string, ProducedRecord>();
  // Send order: a partition must hold its records in the order they were sent.
  const sendIndex = new Map<string, number>();
  c.produced.forEach((p, i) => sendIndex.set(p.value, i));
  const producedTwice: string[] = [];
  for (const p of c.produced) {
    if (producedByValue.has(p.value)) producedTwice.push(p.value);
    producedByValue.set(p.value, p);
  }
  if (producedTwice.length > 0) problems.push(`test bug: values produced twice: ${examples(producedTwice)}`);

  // Same (partition, offset) delivered more than once.
  const seenPos = new Map<string, ConsumedRecord>();
  const dupPositions: ConsumedRecord[] = [];
  for (const r of c.consumed) {
    const k = `${r.partition}:${r.offset}`;
    const prev = seenPos.get(k);
    if (prev) {
      dupPositions.push(r);
      if (prev.value !== r.value) {
        problems.push(`partition ${r.partition} offset ${r.offset} returned two different values: ${prev.value} and ${r.value}`);
      }
    } else {
      seenPos.set(k, r);
    }
  }
  if (dupPositions.length > 0) {
    problems.push(`${dupPositions.length} records delivered twice (same partition and offset): ${examples(dupPositions)}`);
  }

  // Same value stored at two offsets: the broker appended a record twice.
  const offsetsByValue = new Map<string, ConsumedRecord[]>();
  for (const r of seenPos.values()) {
    const list = offsetsByValue.get(r.value) ?? [];
    list.push(r);
    offsetsByValue.set(r.value, list);
  }
  const storedTwice = [...offsetsByValue.values()].filter((l) => l.length > 1).map((l) => l.map((r) => `${r.value}@${r.partition}:${r.offset}`).join(' & '));
  if (storedTwice.length > 0) problems.push(`${storedTwice.length} values stored at more than one offset: ${examples(storedTwice)}`);

  const missing = [...producedByValue.keys()].filter((v) => !offsetsByValue.has(v));
  if (missing.length > 0) problems.push(`${missing.length} of ${producedByValue.size} acknowledged records never read: ${examples(missing)}`);
  const unexpected = [...seenPos.values()].filter((r) => !producedByValue.has(r.value));
  if (unexpected.length > 0) {
    problems.push(`${unexpected.length} records read that were not produced in this batch: ${examples(unexpected)}`);
  }

  // Where the producer reported partition/offset, the consumer must see the record right there.
  const misplaced: string[] = [];
  for (const [value, list] of offsetsByValue) {
    const p = producedByValue.get(value);
    if (!p) continue;
    const r = list[0]!;
    if ((p.partition !== undefined && p.partition !== r.partition) || (p.offset !== undefined && p.offset !== r.offset)) {
      misplaced.push(`${value}: acked at ${p.partition}:${p.offset}, read at ${r.partition}:${r.offset}`);
    }
  }
  if (misplaced.length > 0) problems.push(`${misplaced.length} records not where the produce ack said: ${examples(misplaced)}`);

  // Per partition: offsets contiguous from the committed start, send order preserved.
  const byPartition = new Map<number, ConsumedRecord[]>();
  for (const r of seenPos.values()) {
    if (!Number.isInteger(r.partition) || r.partition < 0 || r.partition >= c.partitions) {
      problems.push(`record from partition ${r.partition}, outside 0..${c.partitions - 1}: ${JSON.stringify(r)}`);
      continue;
    }
    const list = byPartition.get(r.partition) ?? [];
    list.push(r);
    byPartition.set(r.partition, list);
  }
  for (let p = 0; p < c.partitions; p++) {
    const list = (byPartition.get(p) ?? []).sort((a, b) => a.offset - b.offset);
    if (list.length === 0) {
      if (c.requireEveryPartition) problems.push(`partition ${p} delivered no records`);
      continue;
    }
    const start = c.startOffsets?.get(p);
    if (start !== undefined && list[0]!.offset !== start) {
      problems.push(`partition ${p}: reading resumed at offset ${list[0]!.offset}, but the committed offset was ${start}`);
    }
    const gaps: string[] = [];
    const disorder: string[] = [];
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1]!;
      const b = list[i]!;
      if (b.offset !== a.offset + 1) gaps.push(`${a.offset}->${b.offset}`);
      const ia = sendIndex.get(a.value);
      const ib = sendIndex.get(b.value);
      if (ia !== undefined && ib !== undefined && !(ib > ia)) disorder.push(`${a.value}@${a.offset} then ${b.value}@${b.offset}`);
    }
    if (gaps.length > 0) problems.push(`partition ${p}: offsets not contiguous: ${examples(gaps)}`);
    if (disorder.length > 0) problems.push(`partition ${p}: records out of send order: ${examples(disorder)}`);
  }

  // Each member must see a partition's records in increasing offset order.
  const lastByMemberPartition = new Map<string, number>();
  const backwards: string[] = [];
  for (const r of c.consumed) {
    const k = `${String(r.member)}/${r.partition}`;
    const last = lastByMemberPartition.get(k);
    if (last !== undefined && r.offset <= last) backwards.push(`member ${String(r.member)} p${r.partition}: ${last} then ${r.offset}`);
    lastByMemberPartition.set(k, r.offset);
  }
  if (backwards.length > 0) problems.push(`${backwards.length} deliveries went backwards within a member: ${examples(backwards)}`);
  return problems;
}

/** Per partition: one past the highest offset read (what a commit after this read must say). */
export function nextOffsets(consumed: ConsumedRecord[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const r of consumed) m.set(r.partition, Math.max(m.get(r.partition) ?? 0, r.offset + 1));
  return m;
}

export function mapToObject(m: ReadonlyMap<number, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => [String(k), v]));
}
