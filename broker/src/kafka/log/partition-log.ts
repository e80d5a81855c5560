/**
 * A Kafka partition on an S3Stream stream: one record batch per stream append, offsets of the
 * stream = Kafka offsets. The high watermark is the stream's confirm offset (durable data only),
 * so a consumer can never read a record that a crash could take back.
 *
 * Appends validate every batch of the request before appending any (all or nothing per
 * partition), assign offsets synchronously in call order, and resolve once the batches are
 * durable in the object store.
 */
import type { KvStore, Stream } from '../../s3stream/api.js';
import { OffsetOutOfRangeError } from '../../s3stream/api.js';
import { ErrorCode } from '../../protocol/errors.js';
import {
  BATCH_HEADER_SIZE,
  computeCrc,
  compressionOf,
  isControl,
  isTransactional,
  iterateBatches,
  readBatchHeader,
  type BatchHeader,
  setBaseOffset,
  setLogAppendTime,
  setPartitionLeaderEpoch,
} from '../../protocol/record-batch.js';
import { ProducerStateTable, type SnapshotEntry } from '../producer/producer-state.js';

export interface AppendOptions {
  maxMessageBytes: number;
  logAppendTime: boolean;
  now: number;
}

export type AppendOutcome =
  | { errorCode: 0; baseOffset: number; logAppendTime: number; durable: Promise<void> }
  | { errorCode: number; errorMessage: string; recordErrors?: { batchIndex: number; message: string }[] };

export interface ReadResult {
  records: Buffer;
  highWatermark: number;
  logStartOffset: number;
}

/**
 * State rebuilt from batch headers, saved periodically so opening a partition replays only the
 * batches after `offset` instead of the whole retained log (which would make a broker's start
 * read every partition's data back from the object store).
 */
interface ProducerSnapshot {
  offset: number;
  producers: SnapshotEntry[];
  maxTimestamp?: number;
  maxTimestampOffset?: number;
}

const SCAN_CHUNK_BYTES = 4 * 1024 * 1024;

export class PartitionLog {
  private readonly producers = new ProducerStateTable();
  private maxTimestamp = -1;
  private maxTimestampOffset = -1;
  private appendsSinceSnapshot = 0;
  /** Durable promise of the latest append; durability is ordered, so it covers all earlier ones. */
  private lastDurable: Promise<void> = Promise.resolve();
  /** 'open' accepts appends; 'releasing' refuses them while accepted ones become durable; 'closed' is done. */
  private state: 'open' | 'releasing' | 'closed' = 'open';
  private releasing: Promise<void> | undefined;

  private constructor(
    readonly topic: string,
    readonly partition: number,
    readonly stream: Stream,
    readonly leaderEpoch: number,
    private readonly kv: KvStore,
    private readonly snapshotKey: string,
  ) {}

  /** Opens the partition and rebuilds producer state from the last snapshot plus the stream tail. */
  static async open(args: {
    topic: string;
    topicId: string;
    partition: number;
    stream: Stream;
    leaderEpoch: number;
    kv: KvStore;
  }): Promise<PartitionLog> {
    const key = `producers/${args.topicId}/${args.partition}`;
    const log = new PartitionLog(args.topic, args.partition, args.stream, args.leaderEpoch, args.kv, key);
    await log.recover();
    return log;
  }

  highWatermark(): number {
    return this.stream.confirmOffset();
  }

  /** Idempotent producers with state here. */
  get producerCount(): number {
    return this.producers.size;
  }

  /** False once a release started: this broker no longer serves the partition. */
  isOpen(): boolean {
    return this.state === 'open';
  }

  logStartOffset(): number {
    return this.stream.startOffset();
  }

  private async recover(): Promise<void> {
    const raw = this.kv.get(this.snapshotKey);
    let from = this.stream.startOffset();
    if (raw) {
      const snap = JSON.parse(raw.toString('utf8')) as ProducerSnapshot;
      this.producers.restore(snap.producers);
      from = Math.max(from, snap.offset);
      if (snap.maxTimestamp !== undefined && snap.maxTimestampOffset !== undefined && snap.maxTimestampOffset >= this.stream.startOffset()) {
        this.maxTimestamp = snap.maxTimestamp;
        this.maxTimestampOffset = snap.maxTimestampOffset;
      } else if (snap.maxTimestamp !== undefined) {
        // The batch holding the saved maximum was trimmed away: rebuild it from the whole log.
        from = this.stream.startOffset();
        this.producers.restore([]);
      }
    }
    // Replay batch headers written after the snapshot.
    await this.scan(from, (h, base) => {
      this.track(h, base, Number(h.maxTimestamp), Number(h.maxTimestamp), true);
    });
  }

  /**
   * Updates the max-timestamp index and, for idempotent batches, the producer state with a batch
   * stored at `baseOffset` (on append, and when replaying the stream at open).
   */
  private track(h: BatchHeader, baseOffset: number, timestamp: number, producerTime: number, recordProducer: boolean, durable?: Promise<void>): void {
    if (timestamp > this.maxTimestamp) {
      this.maxTimestamp = timestamp;
      this.maxTimestampOffset = baseOffset + h.lastOffsetDelta;
    }
    if (!recordProducer || h.producerId < 0n || h.baseSequence < 0) return;
    this.producers.record(
      h.producerId,
      h.producerEpoch,
      {
        firstSeq: h.baseSequence,
        lastSeq: (h.baseSequence + h.lastOffsetDelta) | 0,
        firstOffset: baseOffset,
        lastOffset: baseOffset + h.lastOffsetDelta,
        ...(durable ? { durable } : {}),
      },
      producerTime,
    );
  }

  /** Visits every batch header in [from, confirmOffset). */
  private async scan(from: number, visit: (h: BatchHeader, baseOffset: number) => void): Promise<void> {
    let offset = from;
    const end = this.stream.confirmOffset();
    while (offset < end) {
      const batches = await this.stream.fetch(offset, end, SCAN_CHUNK_BYTES);
      if (batches.length === 0) break;
      for (const b of batches) {
        if (b.payload.length >= BATCH_HEADER_SIZE) visit(readBatchHeader(b.payload), b.baseOffset);
        offset = b.baseOffset + b.count;
      }
    }
  }

  /**
   * Validates and appends the batches of one produce request for this partition. Offset
   * assignment happens before this returns; the durable promise resolves when acked data is
   * in the object store.
   */
  append(batches: readonly Buffer[], opts: AppendOptions): AppendOutcome {
    if (this.state !== 'open') {
      return { errorCode: ErrorCode.NOT_LEADER_OR_FOLLOWER, errorMessage: `this broker no longer leads ${this.topic}-${this.partition}: refresh metadata` };
    }
    // Validate everything first: a partition's record set is appended whole or not at all.
    const headers = [];
    for (let i = 0; i < batches.length; i++) {
      const batch = batches[i]!;
      const h = readBatchHeader(batch);
      if (batch.length > opts.maxMessageBytes) {
        return {
          errorCode: ErrorCode.MESSAGE_TOO_LARGE,
          errorMessage: `record batch of ${batch.length} bytes exceeds max.message.bytes ${opts.maxMessageBytes}`,
        };
      }
      if (computeCrc(batch) !== h.crc) {
        return { errorCode: ErrorCode.CORRUPT_MESSAGE, errorMessage: `record batch ${i} fails its CRC32C check` };
      }
      if (h.recordCount <= 0 || h.lastOffsetDelta !== h.recordCount - 1) {
        return {
          errorCode: ErrorCode.INVALID_RECORD,
          errorMessage: `record batch ${i}: record count ${h.recordCount} does not match last offset delta ${h.lastOffsetDelta}`,
          recordErrors: [{ batchIndex: i, message: 'inconsistent record count' }],
        };
      }
      if (compressionOf(h.attributes) > 4) {
        return { errorCode: ErrorCode.UNSUPPORTED_COMPRESSION_TYPE, errorMessage: `unknown compression codec ${compressionOf(h.attributes)}` };
      }
      if (isControl(h.attributes)) {
        return { errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'clients may not produce control batches' };
      }
      if (isTransactional(h.attributes)) {
        return { errorCode: ErrorCode.INVALID_TXN_STATE, errorMessage: 'transactions are not supported by this broker yet' };
      }
      if (h.producerId >= 0n && h.baseSequence >= 0 && batches.length > 1) {
        return { errorCode: ErrorCode.INVALID_RECORD, errorMessage: 'an idempotent producer may send only one batch per partition per request' };
      }
      headers.push(h);
    }

    // Idempotence: a retried batch gets its original offset; a gap is refused.
    const first = headers[0];
    if (first && first.producerId >= 0n && first.baseSequence >= 0) {
      const lastSeq = (first.baseSequence + first.lastOffsetDelta) | 0;
      const check = this.producers.check(first.producerId, first.producerEpoch, first.baseSequence, lastSeq);
      if (check.kind === 'error') return { errorCode: check.code, errorMessage: check.message };
      if (check.kind === 'duplicate') {
        return {
          errorCode: 0,
          baseOffset: check.batch.firstOffset,
          logAppendTime: -1,
          durable: check.batch.durable ?? Promise.resolve(),
        };
      }
    }

    let baseOffset = -1;
    let lastDurable: Promise<void> = Promise.resolve();
    for (let i = 0; i < batches.length; i++) {
      // Rewritten in place: the request frame belongs to this request alone, and the stream
      // copies the payload on append.
      const batch = batches[i]!;
      const h = headers[i]!;
      const offset = this.stream.nextOffset();
      setBaseOffset(batch, offset);
      setPartitionLeaderEpoch(batch, this.leaderEpoch);
      let ts = Number(h.maxTimestamp);
      if (opts.logAppendTime) {
        setLogAppendTime(batch, opts.now);
        ts = opts.now;
      }
      const result = this.stream.append(batch, h.recordCount);
      if (result.baseOffset !== offset) throw new Error(`stream assigned ${result.baseOffset}, expected ${offset}`);
      if (baseOffset < 0) baseOffset = offset;
      lastDurable = result.durable;
      this.track(h, offset, ts, opts.now, true, result.durable);
    }
    this.appendsSinceSnapshot++;
    this.lastDurable = lastDurable;
    return { errorCode: 0, baseOffset, logAppendTime: opts.logAppendTime ? opts.now : -1, durable: lastDurable };
  }

  /** Reads whole batches from fetchOffset up to the high watermark, about maxBytes (at least one batch). */
  async read(fetchOffset: number, maxBytes: number): Promise<ReadResult> {
    const hwm = this.highWatermark();
    const logStartOffset = this.logStartOffset();
    if (fetchOffset < logStartOffset || fetchOffset > hwm) {
      throw new OffsetOutOfRangeError(`offset ${fetchOffset} is outside [${logStartOffset}, ${hwm}]`, logStartOffset, hwm);
    }
    if (fetchOffset === hwm || maxBytes <= 0) return { records: Buffer.alloc(0), highWatermark: hwm, logStartOffset };
    const batches = await this.stream.fetch(fetchOffset, hwm, maxBytes);
    const records = batches.length === 1 ? batches[0]!.payload : Buffer.concat(batches.map((b) => b.payload));
    return { records, highWatermark: hwm, logStartOffset };
  }

  /** Largest timestamp in the log and the offset of its record (ListOffsets -3). */
  maxTimestampInfo(): { timestamp: number; offset: number } {
    return { timestamp: this.maxTimestamp, offset: this.maxTimestampOffset };
  }

  /**
   * First offset whose batch has a timestamp >= target (ListOffsets by time). Batch granularity:
   * the offset is the first record of the first batch whose max timestamp reaches the target,
   * refined to the record for uncompressed batches.
   */
  async offsetForTimestamp(target: number): Promise<{ offset: number; timestamp: number } | undefined> {
    let found: { offset: number; timestamp: number } | undefined;
    let offset = this.stream.startOffset();
    const end = this.stream.confirmOffset();
    while (offset < end && !found) {
      const batches = await this.stream.fetch(offset, end, SCAN_CHUNK_BYTES);
      if (batches.length === 0) break;
      for (const b of batches) {
        for (const { header, bytes } of iterateBatches(b.payload)) {
          if (Number(header.maxTimestamp) >= target) {
            found = refineInBatch(bytes, header, target) ?? { offset: b.baseOffset, timestamp: Number(header.maxTimestamp) };
            break;
          }
        }
        if (found) break;
        offset = b.baseOffset + b.count;
      }
    }
    return found;
  }

  /** DeleteRecords / retention: moves the log start offset. */
  async deleteRecordsBefore(offset: number): Promise<number> {
    const hwm = this.highWatermark();
    if (offset > hwm) throw new OffsetOutOfRangeError(`offset ${offset} is beyond the high watermark ${hwm}`, this.logStartOffset(), hwm);
    if (offset > this.logStartOffset()) await this.stream.trim(offset);
    return this.logStartOffset();
  }

  /** Forgets idempotent producers idle since before `olderThanMs` (producer.id.expiration.ms). */
  expireProducers(olderThanMs: number): void {
    const before = this.producers.size;
    this.producers.expire(olderThanMs);
    if (this.producers.size !== before) this.appendsSinceSnapshot++;
  }

  /** Persists the producer state so a restart replays only the tail. */
  async snapshotProducers(force = false): Promise<void> {
    if (!force && this.appendsSinceSnapshot === 0) return;
    this.appendsSinceSnapshot = 0;
    // Capture state and its offset together, then wait until everything it covers is durable:
    // a snapshot must never claim a batch that a crash could still lose.
    const snap: ProducerSnapshot = {
      offset: this.stream.nextOffset(),
      producers: this.producers.snapshot(),
      maxTimestamp: this.maxTimestamp,
      maxTimestampOffset: this.maxTimestampOffset,
    };
    await this.lastDurable;
    await this.kv.put(this.snapshotKey, Buffer.from(JSON.stringify(snap)));
  }

  /**
   * Gives the partition up (move, topic deletion, stop): refuses new appends from now on, waits
   * until every accepted append is durable or failed, saves the producer state so the next leader
   * replays only the tail, and closes the stream. Idempotent; `onSnapshotError` hears a snapshot
   * that could not be written (the next leader then replays more of the log, nothing is lost).
   */
  release(onSnapshotError?: (err: Error) => void): Promise<void> {
    this.releasing ??= (async () => {
      this.state = 'releasing';
      await this.lastDurable.catch(() => undefined);
      try {
        await this.snapshotProducers(true);
      } catch (err) {
        onSnapshotError?.(err as Error);
      }
      try {
        await this.stream.close();
      } finally {
        this.state = 'closed';
      }
    })();
    return this.releasing;
  }

  /** Same as release(). */
  close(): Promise<void> {
    return this.release();
  }
}

/** For an uncompressed batch, the offset and timestamp of the first record at or after target. */
function refineInBatch(
  bytes: Buffer,
  header: BatchHeader,
  target: number,
): { offset: number; timestamp: number } | undefined {
  if (compressionOf(header.attributes) !== 0) return undefined;
  try {
    let pos = BATCH_HEADER_SIZE;
    const base = Number(header.baseOffset);
    const baseTs = Number(header.baseTimestamp);
    for (let i = 0; i < header.recordCount && pos < bytes.length; i++) {
      const [len, p1] = readVarint(bytes, pos);
      const recordEnd = p1 + len;
      let p = p1 + 1; // attributes
      const [tsDelta, p2] = readVarlongAsNumber(bytes, p);
      p = p2;
      const [offDelta] = readVarint(bytes, p);
      const ts = baseTs + tsDelta;
      if (ts >= target) return { offset: base + offDelta, timestamp: ts };
      pos = recordEnd;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function readVarint(buf: Buffer, pos: number): [number, number] {
  let u = 0;
  let shift = 0;
  for (;;) {
    if (pos >= buf.length) throw new RangeError('varint past end');
    const b = buf[pos++]!;
    u += (b & 0x7f) * 2 ** shift;
    if ((b & 0x80) === 0) break;
    shift += 7;
    if (shift > 63) throw new RangeError('varint too long');
  }
  return [u % 2 === 0 ? u / 2 : -(u + 1) / 2, pos];
}

const readVarlongAsNumber = readVarint;
