// The S3 backend against a real S3 server (MinIO): conditional writes, ranged GETs, listing with
// pagination, deletes, multipart uploads, SDK checksums.
import { expect } from 'chai';
import { InstrumentedObjectStore } from '../../broker/src/s3stream/object-store/instrumented.js';
import { ObjectNotFoundError } from '../../broker/src/s3stream/object-store/object-store.js';
import type { S3ObjectStore } from '../../broker/src/s3stream/object-store/s3.js';
import { MINIO_START_TIMEOUT_MS, minio } from './minio.hooks.js';
import type { Minio } from './minio.hooks.js';
import { randomBody, s3Store, uniquePrefix } from './helpers.js';

const MiB = 1024 * 1024;

describe('S3 object store on MinIO', function () {
  let m: Minio;
  let store: S3ObjectStore;
  before(async function () {
    this.timeout(MINIO_START_TIMEOUT_MS);
    m = await minio();
  });
  beforeEach(function () {
    store = s3Store(m, uniquePrefix(this.currentTest?.title.slice(0, 20).replace(/\W+/g, '-') ?? 'x'));
  });
  afterEach(() => store.close());

  it('put, get whole and ranged (clamped end), head, missing keys', async () => {
    await store.put('a/b', Buffer.from('hello world'));
    expect((await store.get('a/b')).toString()).to.equal('hello world');
    expect((await store.get('a/b', { start: 6, end: 11 })).toString()).to.equal('world');
    expect((await store.get('a/b', { start: 6, end: 100 })).toString()).to.equal('world');
    expect((await store.get('a/b', { start: 3, end: 3 })).length).to.equal(0);
    expect(await store.head('a/b')).to.deep.equal({ key: 'a/b', size: 11 });
    expect(await store.head('a/missing')).to.equal(undefined);
    for (const p of [store.get('nope'), store.get('nope', { start: 0, end: 1 })]) {
      let err: unknown;
      await p.catch((e: unknown) => (err = e));
      expect(err).to.be.instanceOf(ObjectNotFoundError);
    }
    let err: unknown;
    await store.get('a/b', { start: 20, end: 30 }).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(RangeError);
  });

  it('putIfAbsent: the server refuses the second create (412), and exactly one of 8 concurrent creates wins', async () => {
    expect(await store.putIfAbsent('k', Buffer.from('first'))).to.equal(true);
    expect(await store.putIfAbsent('k', Buffer.from('second'))).to.equal(false);
    expect((await store.get('k')).toString()).to.equal('first');
    for (let round = 0; round < 3; round++) {
      const bodies = Array.from({ length: 8 }, (_, i) => Buffer.from(`writer-${i}-${'x'.repeat(64 * 1024)}`));
      const results = await Promise.all(
        bodies.map((b) => new InstrumentedObjectStore(store).putIfAbsent(`race/${round}`, b)),
      );
      const winners = bodies.filter((_, i) => results[i]);
      expect(winners, `round ${round}: ${results.join(',')}`).to.have.length(1);
      expect((await store.get(`race/${round}`)).equals(winners[0]!)).to.equal(true);
    }
  });

  it('lists past one page (1000 keys) in key order, with startAfter, and deletes in batches', async function () {
    this.timeout(120_000);
    const keys = Array.from({ length: 1105 }, (_, i) => `wal/1/${String(i).padStart(6, '0')}`);
    const wrapped = new InstrumentedObjectStore(store);
    for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.put(k, Buffer.from(k))));
    await store.put('wal/10/000000', Buffer.from('x'));
    const listed = await wrapped.list('wal/1/');
    expect(listed.map((o) => o.key)).to.deep.equal(keys);
    expect(listed[0]!.size).to.equal(keys[0]!.length);
    expect(wrapped.counters().requests.list).to.equal(2);
    expect((await store.list('wal/1/', keys[1099])).map((o) => o.key)).to.deep.equal(keys.slice(1100));
    await wrapped.delete([...keys, 'does/not/exist']);
    expect(wrapped.counters().requests.delete).to.equal(2);
    expect((await store.list('wal/')).map((o) => o.key)).to.deep.equal(['wal/10/000000']);
  });

  it('uploads big objects in parts (multipart) and reads them back by ranges; a conditional completion refuses an existing key', async function () {
    this.timeout(120_000);
    const mp = s3Store(m, uniquePrefix('multipart'), { partBytes: 5 * MiB, multipartThresholdBytes: 10 * MiB });
    const wrapped = new InstrumentedObjectStore(mp);
    try {
      const body = randomBody(12 * MiB + 12345);
      expect(await wrapped.putIfAbsent('big', body)).to.equal(true);
      const c = wrapped.counters().requests;
      expect(c).to.include({ put: 0, multipartCreate: 1, multipartPart: 3, multipartComplete: 1 });
      expect((await mp.head('big'))?.size).to.equal(body.length);
      expect((await mp.get('big', { start: 5 * MiB - 10, end: 5 * MiB + 10 })).equals(body.subarray(5 * MiB - 10, 5 * MiB + 10))).to.equal(true);
      expect((await mp.get('big')).equals(body)).to.equal(true);
      // A second create of the same key completes nothing and leaves no upload behind.
      expect(await wrapped.putIfAbsent('big', randomBody(11 * MiB))).to.equal(false);
      expect((await mp.get('big', { start: 0, end: 1000 })).equals(body.subarray(0, 1000))).to.equal(true);
      expect(wrapped.counters().requests.multipartAbort).to.equal(1);
      // Unconditional multipart overwrite.
      const body2 = randomBody(10 * MiB);
      await wrapped.put('big', body2);
      expect((await mp.get('big')).equals(body2)).to.equal(true);
    } finally {
      await mp.close();
    }
  });

  it('counts bytes up and down as the store moved them', async () => {
    const wrapped = new InstrumentedObjectStore(store);
    await wrapped.put('x', randomBody(1000));
    await wrapped.get('x', { start: 100, end: 300 });
    const c = wrapped.counters();
    expect(c.bytesUploaded).to.equal(1000);
    expect(c.bytesDownloaded).to.equal(200);
    expect(c.requests).to.include({ put: 1, get: 1 });
  });
});
