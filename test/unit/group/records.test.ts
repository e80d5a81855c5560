import { expect } from 'chai';
import { decodeRecord, decodeSnapshotBody, encodeRecord, encodeSnapshotBody, RecordFormatError, type LogRecord } from '../../../broker/src/group/records.js';

const records: LogRecord[] = [
  {
    type: 'offsetCommit',
    groupId: 'g',
    partitions: [
      { topic: 'orders', partition: 3, offset: 9_007_199_254_740_993n, leaderEpoch: -1, metadata: 'é', commitTimestamp: 1_700_000_000_000, expireTimestamp: -1 },
      { topic: '', partition: 0, offset: -1n, leaderEpoch: 2_147_483_647, metadata: '', commitTimestamp: 0, expireTimestamp: 5 },
    ],
  },
  {
    type: 'groupMetadata',
    group: {
      groupId: 'g',
      protocolType: 'consumer',
      generationId: 12,
      protocolName: 'range',
      leaderId: 'm1',
      stateTimestamp: 1_700_000_000_123,
      members: [
        { memberId: 'm1', groupInstanceId: null, clientId: 'c', clientHost: '/1.2.3.4', rebalanceTimeoutMs: 300_000, sessionTimeoutMs: 45_000, subscription: Buffer.from([0, 1, 2]), assignment: Buffer.alloc(0) },
        { memberId: 'm2', groupInstanceId: 'i2', clientId: '', clientHost: '', rebalanceTimeoutMs: 1, sessionTimeoutMs: 2, subscription: Buffer.alloc(0), assignment: Buffer.from('a') },
      ],
    },
  },
  { type: 'groupMetadata', group: { groupId: 'e', protocolType: null, generationId: 0, protocolName: null, leaderId: null, stateTimestamp: 0, members: [] } },
  { type: 'offsetDelete', groupId: 'g', partitions: [{ topic: 'orders', partition: 3 }] },
  { type: 'groupTombstone', groupId: 'g' },
];

describe('group coordinator log records', () => {
  it('round-trip every record type, alone and in a snapshot body', () => {
    for (const r of records) expect(decodeRecord(encodeRecord(r))).to.deep.equal(r);
    expect(decodeSnapshotBody(encodeSnapshotBody(records))).to.deep.equal(records);
  });

  it('reject truncated, trailing, unknown and future-format records with a clear error', () => {
    const b = encodeRecord(records[0]!);
    expect(() => decodeRecord(b.subarray(0, b.length - 1))).to.throw(RecordFormatError, /corrupt/);
    expect(() => decodeRecord(Buffer.concat([b, Buffer.from([0])]))).to.throw(RecordFormatError, /trailing/);
    expect(() => decodeRecord(Buffer.from([1, 99]))).to.throw(RecordFormatError, /unknown offsets log record type 99/);
    expect(() => decodeRecord(Buffer.from([2, 1]))).to.throw(RecordFormatError, /newer broker/);
  });
});
