import { expect } from 'chai';
import type { CompletedPart, MultipartUploads } from '../../../broker/src/s3stream/object-store/object-store.js';
import { ConditionalConflictError, NoSuchUploadError } from '../../../broker/src/s3stream/object-store/object-store.js';
import { MemoryObjectStore } from '../../../broker/src/s3stream/object-store/memory.js';
import { InstrumentedObjectStore, TransientObjectStoreError } from '../../../broker/src/s3stream/object-store/instrumented.js';

/** In-memory multipart with S3's semantics and scripted faults per request. */
class MultipartMemory extends MemoryObjectStore {
  readonly uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  readonly partCalls: number[] = [];
  /** Return an error to fail the call (before or after applying, see applyThenFail). */
  fault: ((op: 'create' | 'part' | 'complete' | 'abort', n: number) => Error | undefined) | undefined;
  applyThenFail = false;
  private nextId = 1;
  readonly multipart: MultipartUploads;

  constructor(partBytes: number, thresholdBytes: number) {
    super();
    this.multipart = {
      partBytes,
      thresholdBytes,
      create: async (key) => {
        this.check('create', 0);
        const id = `u${this.nextId++}`;
        this.uploads.set(id, { key, parts: new Map() });
        return id;
      },
      uploadPart: async (key, id, n, body) => {
        this.partCalls.push(n);
        this.check('part', n);
        const u = this.uploads.get(id);
        if (u === undefined || u.key !== key) throw new NoSuchUploadError(id);
        u.parts.set(n, Buffer.from(body));
        return `"etag-${n}-${body.length}"`;
      },
      complete: async (key, id, parts, ifAbsent) => {
        const apply = async (): Promise<boolean> => {
          const u = this.uploads.get(id);
          if (u === undefined) throw new NoSuchUploadError(id);
          if (ifAbsent && (await this.head(key)) !== undefined) return false;
          const body = Buffer.concat(parts.map((p: CompletedPart) => u.parts.get(p.partNumber)!));
          this.uploads.delete(id);
          await this.put(key, body);
          return true;
        };
        const err = this.fault?.('complete', 0);
        if (err !== undefined) {
          if (this.applyThenFail) await apply();
          throw err;
        }
        return apply();
      },
      abort: async (_key, id) => {
        this.check('abort', 0);
        this.uploads.delete(id);
      },
    };
  }

  private check(op: 'create' | 'part' | 'complete' | 'abort', n: number): void {
    const err = this.fault?.(op, n);
    if (err !== undefined) throw err;
  }
}

const noSleep = { sleep: async () => undefined };
const body = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + 3) % 256));

describe('s3stream multipart uploads (instrumented wrapper)', () => {
  it('uploads bodies at the threshold in parts and counts create, parts and complete', async () => {
    const inner = new MultipartMemory(10, 25);
    const store = new InstrumentedObjectStore(inner, noSleep);
    await store.put('small', body(24));
    expect(inner.partCalls).to.deep.equal([]);
    const big = body(45);
    await store.put('big', big);
    expect((await inner.get('big')).equals(big)).to.equal(true);
    expect([...inner.partCalls].sort()).to.deep.equal([1, 2, 3, 4, 5]);
    const c = store.counters();
    expect(c.requests).to.include({ put: 1, multipartCreate: 1, multipartPart: 5, multipartComplete: 1, multipartAbort: 0 });
    expect(c.bytesUploaded).to.equal(24 + 45);
    expect(inner.uploads.size).to.equal(0);
  });

  it('retries a failed part on its own, not the whole object', async () => {
    const inner = new MultipartMemory(10, 20);
    const store = new InstrumentedObjectStore(inner, noSleep);
    let failures = 2;
    inner.fault = (op, n) => (op === 'part' && n === 3 && failures-- > 0 ? new TransientObjectStoreError('503 on part 3') : undefined);
    const big = body(40);
    expect(await store.putIfAbsent('k', big)).to.equal(true);
    expect((await inner.get('k')).equals(big)).to.equal(true);
    expect(inner.partCalls.filter((n) => n === 3)).to.have.length(3);
    expect(inner.partCalls.filter((n) => n !== 3)).to.have.length(3);
    expect(store.counters().requests.multipartCreate).to.equal(1);
    expect(store.counters().retries).to.equal(2);
  });

  it('putIfAbsent on an existing key returns false and aborts the upload (no parts left behind)', async () => {
    const inner = new MultipartMemory(10, 20);
    const store = new InstrumentedObjectStore(inner, noSleep);
    await inner.put('k', Buffer.from('theirs'));
    expect(await store.putIfAbsent('k', body(30))).to.equal(false);
    expect((await inner.get('k')).toString()).to.equal('theirs');
    expect(inner.uploads.size).to.equal(0);
    expect(store.counters().requests.multipartAbort).to.equal(1);
  });

  it('a completion whose answer was lost is recognized as ours on retry (NoSuchUpload + same content)', async () => {
    const inner = new MultipartMemory(10, 20);
    const store = new InstrumentedObjectStore(inner, noSleep);
    let failures = 1;
    inner.applyThenFail = true;
    inner.fault = (op) => (op === 'complete' && failures-- > 0 ? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }) : undefined);
    const big = body(30);
    expect(await store.putIfAbsent('k', big)).to.equal(true);
    expect((await inner.get('k')).equals(big)).to.equal(true);
    expect(store.counters().requests.multipartComplete).to.equal(2);
  });

  it('a permanent part failure aborts the upload and surfaces the error', async () => {
    const inner = new MultipartMemory(10, 20);
    const store = new InstrumentedObjectStore(inner, noSleep);
    inner.fault = (op, n) => (op === 'part' && n === 2 ? Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }) : undefined);
    let err: unknown;
    await store.put('k', body(30)).catch((e: unknown) => (err = e));
    expect((err as Error).name).to.equal('AccessDenied');
    expect(inner.uploads.size).to.equal(0);
    expect(await inner.head('k')).to.equal(undefined);
  });

  it('409 on a first conditional attempt means not ours; 409 on a retry is retried until it settles', async () => {
    class Conflicting extends MemoryObjectStore {
      script: ('409' | '503' | 'apply-then-503' | 'ok')[] = [];
      override async putIfAbsent(key: string, b: Buffer): Promise<boolean> {
        const step = this.script.shift() ?? 'ok';
        if (step === '409') throw new ConditionalConflictError('409');
        if (step === '503') throw new TransientObjectStoreError('503');
        if (step === 'apply-then-503') {
          await super.putIfAbsent(key, b);
          throw new TransientObjectStoreError('503 after apply');
        }
        return super.putIfAbsent(key, b);
      }
    }
    const inner = new Conflicting();
    const store = new InstrumentedObjectStore(inner, noSleep);
    inner.script = ['409'];
    expect(await store.putIfAbsent('a', Buffer.from('x'))).to.equal(false);
    // Our first attempt times out but lands later; the retry sees 409 while it is in flight, then 412.
    inner.script = ['apply-then-503', '409', '409', 'ok'];
    expect(await store.putIfAbsent('b', Buffer.from('mine'))).to.equal(true);
    expect((await inner.get('b')).toString()).to.equal('mine');
  });

  it("a caller's own retry after the wrapper gave up still recognizes its lost write (WAL/metadata retry loops)", async () => {
    class ApplyThenFail extends MemoryObjectStore {
      failures = 0;
      override async putIfAbsent(key: string, b: Buffer): Promise<boolean> {
        const created = await super.putIfAbsent(key, b);
        if (this.failures-- > 0) throw new TransientObjectStoreError('500 after apply');
        return created;
      }
    }
    const inner = new ApplyThenFail();
    const store = new InstrumentedObjectStore(inner, { ...noSleep, retry: { maxAttempts: 2 } });
    inner.failures = 2;
    let err: unknown;
    await store.putIfAbsent('wal/1/7', Buffer.from('ours')).catch((e: unknown) => (err = e));
    expect(err).to.be.instanceOf(TransientObjectStoreError);
    // The caller retries with a fresh call: the key exists, and it is ours.
    expect(await store.putIfAbsent('wal/1/7', Buffer.from('ours'))).to.equal(true);
    expect(await store.putIfAbsent('wal/1/7', Buffer.from('someone else'))).to.equal(false);
  });
});
