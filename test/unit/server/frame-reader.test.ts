import { expect } from 'chai';
import { FrameError, FrameReader } from '../../../broker/src/server/frame-reader.js';

function frame(payload: Buffer): Buffer {
  const b = Buffer.alloc(4 + payload.length);
  b.writeInt32BE(payload.length, 0);
  payload.copy(b, 4);
  return b;
}

describe('FrameReader', () => {
  it('reassembles frames split at every byte boundary', () => {
    const a = Buffer.from('0001000200000003ffff', 'hex');
    const b = Buffer.from('00120003000000040000aa', 'hex');
    const stream = Buffer.concat([frame(a), frame(b)]);
    for (let cut = 1; cut < stream.length; cut++) {
      const r = new FrameReader(1024);
      const got = [...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))];
      expect(got.map((f) => f.toString('hex'))).to.deep.equal([a.toString('hex'), b.toString('hex')]);
    }
  });

  it('returns several frames from one chunk', () => {
    const r = new FrameReader(1024);
    const p = Buffer.alloc(8, 1);
    expect(r.push(Buffer.concat([frame(p), frame(p), frame(p)]))).to.have.length(3);
  });

  it('rejects sizes over the limit as soon as the size is known', () => {
    const r = new FrameReader(100);
    const b = Buffer.alloc(4);
    b.writeInt32BE(101);
    expect(() => r.push(b)).to.throw(FrameError, /exceeds socket.request.max.bytes/);
  });

  it('rejects negative and too small sizes', () => {
    expect(() => new FrameReader(100).push(Buffer.from('ffffffff', 'hex'))).to.throw(FrameError);
    expect(() => new FrameReader(100).push(Buffer.from('00000003', 'hex'))).to.throw(FrameError);
  });

  it('holds a partial frame without allocating its announced size', () => {
    const r = new FrameReader(1 << 30);
    const b = Buffer.alloc(10);
    b.writeInt32BE(1 << 29);
    expect(r.push(b)).to.deep.equal([]);
  });
});
