import { expect } from 'chai';
import { decodeMessage, encodeMessage } from '../../../broker/src/protocol/codec.js';
import { ApiVersions } from '../../../broker/src/protocol/messages/18_api_versions.js';
import { Reader, ProtocolDecodeError } from '../../../broker/src/protocol/primitives/reader.js';
import { Writer } from '../../../broker/src/protocol/primitives/writer.js';
import { f, message } from '../../../broker/src/protocol/schema.js';

describe('protocol codec', () => {
  it('encodes ApiVersions v0 response in the classic layout', () => {
    const w = new Writer();
    encodeMessage(ApiVersions.response, 0, { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }] }, w);
    expect(w.toBuffer().toString('hex')).to.equal('0000' + '00000001' + '0012' + '0000' + '0004');
  });

  it('encodes ApiVersions v3 response with compact arrays and tagged fields', () => {
    const w = new Writer();
    encodeMessage(
      ApiVersions.response,
      3,
      { errorCode: 0, apiKeys: [{ apiKey: 18, minVersion: 0, maxVersion: 4 }], throttleTimeMs: 0, finalizedFeaturesEpoch: 5n },
      w,
    );
    // errorCode, compact array len 2, entry + empty tags, throttle, 1 tagged field: tag 1 size 8 int64 5
    expect(w.toBuffer().toString('hex')).to.equal(
      '0000' + '02' + '0012000000040' + '0' + '00000000' + '01' + '01' + '08' + '0000000000000005',
    );
  });

  it('round-trips every version and fills defaults for absent fields', () => {
    for (let v = 0; v <= 4; v++) {
      const w = new Writer();
      encodeMessage(ApiVersions.response, v, { errorCode: 35, apiKeys: [{ apiKey: 0, minVersion: 3, maxVersion: 11 }], throttleTimeMs: 7 }, w);
      const out = decodeMessage(ApiVersions.response, v, new Reader(w.toBuffer()));
      expect(out.errorCode).to.equal(35);
      expect(out.apiKeys).to.deep.equal([{ apiKey: 0, minVersion: 3, maxVersion: 11 }]);
      expect(out.throttleTimeMs).to.equal(v >= 1 ? 7 : 0);
      expect(out.finalizedFeaturesEpoch).to.equal(-1n);
    }
  });

  it('rejects an array count larger than the bytes left, without allocating', () => {
    const buf = Buffer.from('0000' + '7fffffff', 'hex');
    expect(() => decodeMessage(ApiVersions.response, 0, new Reader(buf))).to.throw(ProtocolDecodeError, /exceeds/);
  });

  it('rejects truncated input', () => {
    // v3 request: compact string claiming 5 bytes with only 2 present
    const buf = Buffer.from('066162', 'hex');
    expect(() => decodeMessage(ApiVersions.request, 3, new Reader(buf))).to.throw(ProtocolDecodeError, /truncated/);
  });

  it('skips unknown tagged fields', () => {
    // v3 request: compact strings "a", "b", then 1 unknown tag 9 of 2 bytes
    const buf = Buffer.from('0261' + '0262' + '01' + '09' + '02' + 'abcd', 'hex');
    const out = decodeMessage(ApiVersions.request, 3, new Reader(buf));
    expect(out).to.deep.equal({ clientSoftwareName: 'a', clientSoftwareVersion: 'b' });
  });

  it('varints: zigzag and unsigned round-trip', () => {
    for (const n of [0, 1, -1, 63, -64, 64, 300, -300, 2147483647, -2147483648]) {
      const w = new Writer();
      w.varint(n);
      expect(new Reader(w.toBuffer()).varint()).to.equal(n);
    }
    for (const n of [0n, -1n, 1n, 9223372036854775807n, -9223372036854775808n]) {
      const w = new Writer();
      w.varlong(n);
      expect(new Reader(w.toBuffer()).varlong()).to.equal(n);
    }
  });
  it('omits a tagged struct equal to its default struct, as Kafka does, and writes it otherwise', () => {
    const schema = message({
      name: 'TestTaggedStruct',
      apiKey: 9999,
      type: 'response',
      valid: '0',
      flexible: '0+',
      fields: {
        a: f.int8(),
        leader: f.struct({ id: f.int32({ default: -1 }), epoch: f.int32({ default: -1 }) }, { tag: 0 }),
      },
    });
    for (const leader of [undefined, {}, { id: -1 }, { id: -1, epoch: -1 }]) {
      const w = new Writer();
      encodeMessage(schema, 0, { a: 1, leader }, w);
      expect(w.toBuffer().toString('hex'), JSON.stringify(leader)).to.equal('01' + '00');
    }
    const w = new Writer();
    encodeMessage(schema, 0, { a: 1, leader: { id: 3 } }, w);
    // one tagged field: tag 0, size 9: id 3, epoch -1 (member default), the struct's empty tag section
    expect(w.toBuffer().toString('hex')).to.equal('01' + '01' + '00' + '09' + '00000003' + 'ffffffff' + '00');
    const out = decodeMessage(schema, 0, new Reader(w.toBuffer()));
    expect(out.leader).to.deep.equal({ id: 3, epoch: -1 });
    expect(decodeMessage(schema, 0, new Reader(Buffer.from('0100', 'hex'))).leader).to.deep.equal({ id: -1, epoch: -1 });
  });

  it('hands out a fresh copy of an explicit array default on every decode', () => {
    const schema = message({
      name: 'TestArrayDefault',
      apiKey: 9999,
      type: 'request',
      valid: '0-1',
      flexible: 'none',
      fields: { ids: f.narrayOf(f.int32(), { v: '1+', nullable: '1+', default: [] }) },
    });
    const first = decodeMessage(schema, 0, new Reader(Buffer.alloc(0)));
    first.ids!.push(42);
    const second = decodeMessage(schema, 0, new Reader(Buffer.alloc(0)));
    expect(second.ids).to.deep.equal([]);
  });
});
