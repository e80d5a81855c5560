import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import * as path from 'node:path';
import type { ObjectStore } from '../../../broker/src/s3stream/object-store/object-store.js';
import { ConditionalConflictError, ObjectNotFoundError } from '../../../broker/src/s3stream/object-store/object-store.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { FileObjectStore, decodeSegment, encodeSegment } from '../../../broker/src/s3stream/object-store/file.js';
import { S3ObjectStore } from '../../../broker/src/s3stream/object-store/s3.js';
import { createObjectStore, ObjectStoreUrlError } from '../../../broker/src/s3stream/object-store/create.js';
import { InstrumentedObjectStore, TransientObjectStoreError, isTransient } from '../../../broker/src/s3stream/object-store/instrumented.js';
import { tempDir } from './helpers.js';

function conformance(name: string, make: () => Promise<{ store: ObjectStore; cleanup: () => Promise<void> }>): void {
  describe(`${name} object store`, () => {
    let store: ObjectStore;
    let cleanup: () => Promise<void>;
    beforeEach(async () => ({ store, cleanup } = await make()));
    afterEach(async () => {
      await store.close();
      await cleanup();
    });

    it('puts, overwrites, gets whole and ranged, heads', async () => {
      await store.put('a/b/c', Buffer.from('hello world'));
      expect((await store.get('a/b/c')).toString()).to.equal('hello world');
      expect((await store.get('a/b/c', { start: 6, end: 11 })).toString()).to.equal('world');
      expect((await store.get('a/b/c', { start: 6, end: 100 })).toString()).to.equal('world'); // S3 clamps the end
      expect((await store.get('a/b/c', { start: 3, end: 3 })).length).to.equal(0);
      await store.put('a/b/c', Buffer.from('bye'));
      expect((await store.get('a/b/c')).toString()).to.equal('bye');
      expect(await store.head('a/b/c')).to.deep.equal({ key: 'a/b/c', size: 3 });
      expect(await store.head('a/b/missing')).to.equal(undefined);
      expect(await store.head('a/b')).to.equal(undefined); // a "directory" is not an object
    });

    it('throws ObjectNotFoundError for missing objects, also for ranged reads', async () => {
      await store.put('x/y', Buffer.from('1'));
      for (const p of [store.get('nope'), store.get('nope', { start: 0, end: 1 }), store.get('x')]) {
        let err: unknown;
        await p.catch((e: unknown) => (err = e));
        expect(err).to.be.instanceOf(ObjectNotFoundError);
      }
    });

    it('putIfAbsent never overwrites', async () => {
      expect(await store.putIfAbsent('k', Buffer.from('first'))).to.equal(true);
      expect(await store.putIfAbsent('k', Buffer.from('second'))).to.equal(false);
      expect((await store.get('k')).toString()).to.equal('first');
    });

    it('lists by prefix in key order, with startAfter, and deletes (missing keys are fine)', async () => {
      const keys = ['wal/1/0003', 'wal/1/0001', 'wal/10/0001', 'wal/2/0001', 'meta/log/01', 'wal/1/0002'];
      for (const k of keys) await store.put(k, Buffer.from(k));
      expect((await store.list('wal/1/')).map((o) => o.key)).to.deep.equal(['wal/1/0001', 'wal/1/0002', 'wal/1/0003']);
      expect((await store.list('wal/1')).map((o) => o.key)).to.deep.equal(['wal/1/0001', 'wal/1/0002', 'wal/1/0003', 'wal/10/0001']);
      expect((await store.list('wal/1/', 'wal/1/0001')).map((o) => o.key)).to.deep.equal(['wal/1/0002', 'wal/1/0003']);
      expect((await store.list('')).length).to.equal(6);
      expect((await store.list('wal/1/000')).map((o) => o.size)).to.deep.equal([10, 10, 10]);
      expect(await store.list('nothing/here/')).to.deep.equal([]);
      await store.delete(['wal/1/0001', 'wal/1/0002', 'does/not/exist']);
      expect((await store.list('wal/')).map((o) => o.key)).to.deep.equal(['wal/1/0003', 'wal/10/0001', 'wal/2/0001']);
    });

    it('stores arbitrary key characters faithfully', async () => {
      const weird = ['sp ace/ü/%41', '.hidden/..', 'a/../../etc', 'q?x=1&y#z', '.tmp/x'];
      for (const k of weird) await store.put(k, Buffer.from(k));
      for (const k of weird) expect((await store.get(k)).toString()).to.equal(k);
      expect((await store.list('')).map((o) => o.key).sort()).to.deep.equal([...weird].sort());
    });
  });
}

conformance('memory', async () => ({ store: new MemoryObjectStore(), cleanup: async () => undefined }));
conformance('file', async () => {
  const t = await tempDir();
  return { store: new FileObjectStore(t.dir), cleanup: t.cleanup };
});

describe('file object store specifics', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempDir()));
  afterEach(() => cleanup());

  it('maps keys to paths inside the root only (no .. escapes) and leaves no temp files', async () => {
    const store = new FileObjectStore(path.join(dir, 'root'));
    await store.put('../../escape', Buffer.from('x'));
    await store.put('a/../b', Buffer.from('y'));
    expect(await readdir(dir)).to.deep.equal(['root']);
    const root = path.join(dir, 'root');
    expect((await readdir(root)).sort()).to.deep.equal(['%2E.', '.tmp', 'a']);
    expect(await readdir(path.join(root, '.tmp'))).to.deep.equal([]);
    expect((await readFile(path.join(root, 'a', '%2E.', 'b'))).toString()).to.equal('y');
    expect(encodeSegment('..')).to.equal('%2E.');
    expect(decodeSegment(encodeSegment('héllo wörld/'))).to.equal('héllo wörld/');
  });

  it('rejects keys it cannot map, with a clear message', async () => {
    const store = new FileObjectStore(dir);
    for (const bad of ['', '/abs', 'a//b', 'trailing/']) {
      let err: unknown;
      await store.put(bad, Buffer.from('x')).catch((e: unknown) => (err = e));
      expect(String(err), bad).to.match(/empty/);
    }
    await store.put('a', Buffer.from('x'));
    let err: unknown;
    await store.put('a/b', Buffer.from('x')).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/cannot hold both/);
    expect(() => new FileObjectStore('relative/dir')).to.throw(/absolute/);
  });

  it('putIfAbsent is atomic under concurrent attempts from several store instances', async () => {
    const stores = [new FileObjectStore(dir), new FileObjectStore(dir), new FileObjectStore(dir)];
    for (let round = 0; round < 5; round++) {
      const key = `meta/log/${round}`;
      const attempts = Array.from({ length: 30 }, (_, i) => ({ i, body: Buffer.alloc(64 * 1024, i) }));
      const results = await Promise.all(attempts.map((a) => stores[a.i % 3]!.putIfAbsent(key, a.body)));
      const winners = attempts.filter((_, n) => results[n]);
      expect(winners, `round ${round}`).to.have.length(1);
      expect((await stores[0]!.get(key)).equals(winners[0]!.body)).to.equal(true);
    }
    expect(await readdir(path.join(dir, '.tmp'))).to.deep.equal([]);
  });
});

describe('createObjectStore', () => {
  it('parses file, s3 and memory URLs', () => {
    const f = createObjectStore('file:///var/lib/automq/objects');
    expect(f).to.be.instanceOf(FileObjectStore);
    expect(f.description).to.equal('file:///var/lib/automq/objects');
    const s = createObjectStore('s3://my-bucket/cluster-a?endpoint=http://127.0.0.1:9000&region=eu-west-1&pathStyle=true');
    expect(s).to.be.instanceOf(S3ObjectStore);
    expect(s.description).to.equal('s3://my-bucket/cluster-a/ (endpoint http://127.0.0.1:9000)');
    expect(createObjectStore('s3://bucket.with.dots')).to.be.instanceOf(S3ObjectStore);
    expect(createObjectStore('memory://')).to.be.instanceOf(MemoryObjectStore);
  });

  it('explains what is wrong with bad URLs', () => {
    const cases: [string, RegExp][] = [
      ['not a url', /invalid object store URL.*expected file:\/\/\//],
      ['/data/objects', /invalid object store URL/],
      ['file://data/objects', /names host 'data'.*three slashes/],
      ['file:///', /absolute directory other than/],
      ['file:///data?x=1', /takes no query/],
      ['s3://', /no bucket|invalid object store URL/],
      ['s3://UPPER', /not a valid bucket name/],
      ['s3://bucket:9000', /must not carry a port/],
      ['s3://key:secret@bucket', /must not carry a port or credentials/],
      ['s3://bucket?endpoint=localhost:9000', /endpoint must be an http/],
      ['s3://bucket?pathStyle=yes', /pathStyle must be 'true' or 'false'/],
      ['s3://bucket?bogus=1', /unknown parameter\(s\) bogus/],
      ['s3://bucket?region=a&region=b', /repeats query parameter 'region'/],
      ['gs://bucket', /unsupported object store URL scheme 'gs:'/],
    ];
    for (const [url, re] of cases) {
      expect(() => createObjectStore(url), url).to.throw(ObjectStoreUrlError, re);
    }
  });
});

describe('instrumented object store', () => {
  class Flaky extends MemoryObjectStore {
    failures = 0;
    failWith: () => Error = () => new TransientObjectStoreError('503');
    /** When set, the failing putIfAbsent still stores the object (a lost response). */
    applyBeforeFailing = false;
    override async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
      if (this.failures > 0) {
        this.failures--;
        if (this.applyBeforeFailing) await super.putIfAbsent(key, body);
        throw this.failWith();
      }
      return super.putIfAbsent(key, body);
    }
    override async get(key: string, range?: { start: number; end: number }): Promise<Buffer> {
      if (this.failures > 0) {
        this.failures--;
        throw this.failWith();
      }
      return super.get(key, range);
    }
  }
  const noSleep = { sleep: async () => undefined };

  it('retries transient failures and counts requests, errors and bytes', async () => {
    const inner = new Flaky();
    const store = new InstrumentedObjectStore(inner, { ...noSleep, retry: { maxAttempts: 4 } });
    await inner.put('k', Buffer.from('abc'));
    inner.failures = 2;
    expect((await store.get('k')).toString()).to.equal('abc');
    const c = store.counters();
    expect(c.requests.get).to.equal(3);
    expect(c.errors.get).to.equal(2);
    expect(c.retries).to.equal(2);
    expect(c.bytesDownloaded).to.equal(3);
    inner.failures = 10;
    let err: unknown;
    await store.get('k').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TransientObjectStoreError);
    expect(store.counters().requests.get).to.equal(7);
  });

  it('does not retry permanent errors or missing objects', async () => {
    const inner = new Flaky();
    const store = new InstrumentedObjectStore(inner, noSleep);
    inner.failures = 1;
    inner.failWith = () => Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    await inner.put('k', Buffer.from('x'));
    let err: unknown;
    await store.get('k').catch((e: unknown) => (err = e));
    expect((err as Error).name).to.equal('AccessDenied');
    await store.get('missing').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ObjectNotFoundError);
    expect(store.counters().requests.get).to.equal(2);
    expect(isTransient(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).to.equal(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).to.equal(true);
    expect(isTransient(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 412 } }))).to.equal(false);
  });

  it('putIfAbsent: a retry that finds its own lost write reports success, a foreign object reports false', async () => {
    const inner = new Flaky();
    const store = new InstrumentedObjectStore(inner, noSleep);
    inner.failures = 1;
    inner.applyBeforeFailing = true;
    expect(await store.putIfAbsent('mine', Buffer.from('body-1'))).to.equal(true);
    await inner.put('theirs', Buffer.from('other'));
    inner.failures = 1;
    inner.applyBeforeFailing = false;
    expect(await store.putIfAbsent('theirs', Buffer.from('body-2'))).to.equal(false);
    expect(await store.putIfAbsent('theirs', Buffer.from('body-3'))).to.equal(false);
  });
});

describe('S3 object store request mapping (fake client)', () => {
  type Sent = { name: string; input: Record<string, unknown> };
  function fakeClient(handler: (name: string, input: Record<string, unknown>) => unknown): { client: never; sent: Sent[] } {
    const sent: Sent[] = [];
    const client = {
      send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
        sent.push({ name: cmd.constructor.name, input: cmd.input });
        return handler(cmd.constructor.name, cmd.input);
      },
      destroy: () => undefined,
    };
    return { client: client as never, sent };
  }
  const httpError = (status: number, name: string): Error => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

  it('putIfAbsent sends If-None-Match: * and maps 412 to false, 409 to ConditionalConflictError', async () => {
    let status = 0;
    const { client, sent } = fakeClient((name) => {
      // The wrapper reads a refused key back to see whether it is its own lost write.
      if (name === 'GetObjectCommand') throw httpError(404, 'NoSuchKey');
      if (status !== 0) throw httpError(status, status === 412 ? 'PreconditionFailed' : 'ConditionalRequestConflict');
      return {};
    });
    const s = new S3ObjectStore({ bucket: 'b', keyPrefix: 'p/', client });
    expect(await s.putIfAbsent('k', Buffer.from('x'))).to.equal(true);
    expect(sent[0]).to.deep.include({ name: 'PutObjectCommand' });
    expect(sent[0]!.input).to.include({ Bucket: 'b', Key: 'p/k', IfNoneMatch: '*' });
    status = 412;
    expect(await s.putIfAbsent('k', Buffer.from('x'))).to.equal(false);
    status = 409;
    let conflict: unknown;
    await s.putIfAbsent('k', Buffer.from('x')).catch((e: unknown) => (conflict = e));
    expect(conflict).to.be.instanceOf(ConditionalConflictError);
    // Through the wrapper: a first-attempt 409 means someone else is creating the key.
    expect(await new InstrumentedObjectStore(s).putIfAbsent('k', Buffer.from('x'))).to.equal(false);
    status = 500;
    let err: unknown;
    await s.putIfAbsent('k', Buffer.from('x')).catch((e: unknown) => (err = e));
    expect(isTransient(err)).to.equal(true);
  });

  it('gets with an HTTP range and maps 404 to ObjectNotFoundError; head maps 404 to undefined', async () => {
    const { client, sent } = fakeClient((name, input) => {
      if (input['Key'] === 'p/missing') throw httpError(404, name === 'GetObjectCommand' ? 'NoSuchKey' : 'NotFound');
      if (name === 'HeadObjectCommand') return { ContentLength: 42 };
      return { Body: { transformToByteArray: async () => new Uint8Array([1, 2, 3]) } };
    });
    const s = new S3ObjectStore({ bucket: 'b', keyPrefix: 'p/', client });
    expect([...(await s.get('k', { start: 10, end: 13 }))]).to.deep.equal([1, 2, 3]);
    expect(sent[0]!.input).to.include({ Range: 'bytes=10-12' });
    let err: unknown;
    await s.get('missing').catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(ObjectNotFoundError);
    expect(await s.head('k')).to.deep.equal({ key: 'k', size: 42 });
    expect(await s.head('missing')).to.equal(undefined);
  });

  it('lists all pages and strips the key prefix; deletes in chunks of 1000 and reports per-key errors', async () => {
    const { client, sent } = fakeClient((name, input) => {
      if (name === 'ListObjectsV2Command') {
        const page = input['ContinuationToken'] === undefined ? 0 : Number(input['ContinuationToken']);
        return {
          Contents: [{ Key: `p/wal/${page}`, Size: page }],
          IsTruncated: page < 2,
          NextContinuationToken: String(page + 1),
        };
      }
      const objects = (input['Delete'] as { Objects: { Key: string }[] }).Objects;
      return objects.some((o) => o.Key === 'p/bad') ? { Errors: [{ Key: 'p/bad', Code: 'AccessDenied', Message: 'no' }] } : {};
    });
    const s = new S3ObjectStore({ bucket: 'b', keyPrefix: 'p/', client });
    expect(await s.list('wal/', 'wal/0')).to.deep.equal([
      { key: 'wal/0', size: 0 },
      { key: 'wal/1', size: 1 },
      { key: 'wal/2', size: 2 },
    ]);
    expect(sent[0]!.input).to.include({ Prefix: 'p/wal/', StartAfter: 'p/wal/0' });
    expect(sent[1]!.input).to.include({ ContinuationToken: '1' });
    sent.length = 0;
    await s.delete(Array.from({ length: 2500 }, (_, i) => `k${i}`));
    expect(sent.map((x) => (x.input['Delete'] as { Objects: unknown[] }).Objects.length)).to.deep.equal([1000, 1000, 500]);
    let err: unknown;
    await s.delete(['ok', 'bad']).catch((e: unknown) => (err = e));
    expect(String(err)).to.match(/DeleteObjects failed for 1 of 2 keys.*p\/bad: AccessDenied/);
  });
});
