/**
 * Records of the offsets log (one S3Stream stream) and of its KV snapshots.
 *
 * Each log payload is one record spanning one offset. Layout: uint8 format version (1), uint8
 * record type, then the body. Strings are uvarint length + UTF-8; nullable strings use length+1
 * with 0 for null; integers are zigzag varints/varlongs, so small values stay small.
 *
 * Replay semantics: OffsetCommit upserts partitions of a group; GroupMetadata replaces the
 * group's persisted membership; OffsetDelete removes partitions; GroupTombstone removes the
 * group and all its offsets.
 */
import { ProtocolDecodeError, Reader } from '../protocol/primitives/reader.js';
import { Writer } from '../protocol/primitives/writer.js';

export const RECORD_FORMAT_VERSION = 1;

export interface OffsetEntry {
  readonly offset: bigint;
  readonly leaderEpoch: number;
  /** Never null: Kafka stores a null commit metadata as "". */
  readonly metadata: string;
  readonly commitTimestamp: number;
  /** Explicit expiry from OffsetCommit v2-4 retentionTimeMs, or -1 for the group-based rule. */
  readonly expireTimestamp: number;
}

export interface CommittedPartition extends OffsetEntry {
  readonly topic: string;
  readonly partition: number;
}

export interface PersistedMember {
  readonly memberId: string;
  readonly groupInstanceId: string | null;
  readonly clientId: string;
  readonly clientHost: string;
  readonly rebalanceTimeoutMs: number;
  readonly sessionTimeoutMs: number;
  /** The member's metadata for the group's selected protocol. */
  readonly subscription: Buffer;
  readonly assignment: Buffer;
}

export interface GroupMetadataRecord {
  readonly groupId: string;
  readonly protocolType: string | null;
  readonly generationId: number;
  readonly protocolName: string | null;
  readonly leaderId: string | null;
  /** When the group entered its current state (the empty-since time for offset expiry). */
  readonly stateTimestamp: number;
  readonly members: readonly PersistedMember[];
}

export type LogRecord =
  | { readonly type: 'offsetCommit'; readonly groupId: string; readonly partitions: readonly CommittedPartition[] }
  | { readonly type: 'groupMetadata'; readonly group: GroupMetadataRecord }
  | { readonly type: 'offsetDelete'; readonly groupId: string; readonly partitions: readonly { topic: string; partition: number }[] }
  | { readonly type: 'groupTombstone'; readonly groupId: string };

const TYPE_CODES = { offsetCommit: 1, groupMetadata: 2, offsetDelete: 3, groupTombstone: 4 } as const;

export class RecordFormatError extends Error {
  override readonly name = 'RecordFormatError';
}

function str(w: Writer, s: string): void {
  const b = Buffer.from(s, 'utf8');
  w.uvarint(b.length).raw(b);
}

function nstr(w: Writer, s: string | null): void {
  if (s === null) {
    w.uvarint(0);
    return;
  }
  const b = Buffer.from(s, 'utf8');
  w.uvarint(b.length + 1).raw(b);
}

function bytes(w: Writer, b: Buffer): void {
  w.uvarint(b.length).raw(b);
}

function readStr(r: Reader): string {
  return r.utf8(r.uvarint());
}

function readNstr(r: Reader): string | null {
  const n = r.uvarint();
  return n === 0 ? null : r.utf8(n - 1);
}

function readBytes(r: Reader): Buffer {
  // Copy: the source buffer may be a cache block that is reused.
  return Buffer.from(r.bytes(r.uvarint()));
}

export function encodeRecord(rec: LogRecord): Buffer {
  const w = new Writer(128);
  writeRecord(w, rec);
  return w.toBuffer();
}

function writeRecord(w: Writer, rec: LogRecord): void {
  w.int8(RECORD_FORMAT_VERSION).int8(TYPE_CODES[rec.type]);
  switch (rec.type) {
    case 'offsetCommit':
      str(w, rec.groupId);
      w.uvarint(rec.partitions.length);
      for (const p of rec.partitions) {
        str(w, p.topic);
        w.varint(p.partition);
        w.varlong(p.offset);
        w.varint(p.leaderEpoch);
        str(w, p.metadata);
        w.varlong(BigInt(p.commitTimestamp));
        w.varlong(BigInt(p.expireTimestamp));
      }
      return;
    case 'groupMetadata': {
      const g = rec.group;
      str(w, g.groupId);
      nstr(w, g.protocolType);
      w.varint(g.generationId);
      nstr(w, g.protocolName);
      nstr(w, g.leaderId);
      w.varlong(BigInt(g.stateTimestamp));
      w.uvarint(g.members.length);
      for (const m of g.members) {
        str(w, m.memberId);
        nstr(w, m.groupInstanceId);
        str(w, m.clientId);
        str(w, m.clientHost);
        w.varint(m.rebalanceTimeoutMs);
        w.varint(m.sessionTimeoutMs);
        bytes(w, m.subscription);
        bytes(w, m.assignment);
      }
      return;
    }
    case 'offsetDelete':
      str(w, rec.groupId);
      w.uvarint(rec.partitions.length);
      for (const p of rec.partitions) {
        str(w, p.topic);
        w.varint(p.partition);
      }
      return;
    case 'groupTombstone':
      str(w, rec.groupId);
      return;
  }
}

export function decodeRecord(buf: Buffer): LogRecord {
  const r = new Reader(buf);
  const rec = readRecord(r);
  if (r.remaining !== 0) throw new RecordFormatError(`offsets log record has ${r.remaining} trailing bytes`);
  return rec;
}

function readRecord(r: Reader): LogRecord {
  try {
    const version = r.int8();
    if (version !== RECORD_FORMAT_VERSION) {
      throw new RecordFormatError(
        `offsets log record format ${version} is not supported (this broker reads ${RECORD_FORMAT_VERSION}); ` +
          'it was probably written by a newer broker version: upgrade this broker',
      );
    }
    const type = r.int8();
    switch (type) {
      case TYPE_CODES.offsetCommit: {
        const groupId = readStr(r);
        const n = r.uvarint();
        r.checkCount(n, 7, 'committed partitions');
        const partitions: CommittedPartition[] = [];
        for (let i = 0; i < n; i++) {
          partitions.push({
            topic: readStr(r),
            partition: r.varint(),
            offset: r.varlong(),
            leaderEpoch: r.varint(),
            metadata: readStr(r),
            commitTimestamp: Number(r.varlong()),
            expireTimestamp: Number(r.varlong()),
          });
        }
        return { type: 'offsetCommit', groupId, partitions };
      }
      case TYPE_CODES.groupMetadata: {
        const groupId = readStr(r);
        const protocolType = readNstr(r);
        const generationId = r.varint();
        const protocolName = readNstr(r);
        const leaderId = readNstr(r);
        const stateTimestamp = Number(r.varlong());
        const n = r.uvarint();
        r.checkCount(n, 8, 'group members');
        const members: PersistedMember[] = [];
        for (let i = 0; i < n; i++) {
          members.push({
            memberId: readStr(r),
            groupInstanceId: readNstr(r),
            clientId: readStr(r),
            clientHost: readStr(r),
            rebalanceTimeoutMs: r.varint(),
            sessionTimeoutMs: r.varint(),
            subscription: readBytes(r),
            assignment: readBytes(r),
          });
        }
        return { type: 'groupMetadata', group: { groupId, protocolType, generationId, protocolName, leaderId, stateTimestamp, members } };
      }
      case TYPE_CODES.offsetDelete: {
        const groupId = readStr(r);
        const n = r.uvarint();
        r.checkCount(n, 2, 'deleted partitions');
        const partitions: { topic: string; partition: number }[] = [];
        for (let i = 0; i < n; i++) partitions.push({ topic: readStr(r), partition: r.varint() });
        return { type: 'offsetDelete', groupId, partitions };
      }
      case TYPE_CODES.groupTombstone:
        return { type: 'groupTombstone', groupId: readStr(r) };
      default:
        throw new RecordFormatError(`unknown offsets log record type ${type}`);
    }
  } catch (e) {
    if (e instanceof ProtocolDecodeError) throw new RecordFormatError(`corrupt offsets log record: ${e.message}`);
    throw e;
  }
}

/** A snapshot body: a sequence of length-prefixed records that rebuild the whole state. */
export function encodeSnapshotBody(records: Iterable<LogRecord>): Buffer {
  const w = new Writer(4096);
  for (const rec of records) {
    const b = encodeRecord(rec);
    w.uvarint(b.length).raw(b);
  }
  return w.toBuffer();
}

export function decodeSnapshotBody(buf: Buffer): LogRecord[] {
  const r = new Reader(buf);
  const out: LogRecord[] = [];
  try {
    while (r.remaining > 0) out.push(decodeRecord(r.bytes(r.uvarint())));
  } catch (e) {
    if (e instanceof ProtocolDecodeError) throw new RecordFormatError(`corrupt group coordinator snapshot: ${e.message}`);
    throw e;
  }
  return out;
}
