/**
 * The embedded default backend: objects are files under a root directory.
 *
 * Durability: a write goes to a temp file under `<root>/.tmp`, is fsynced, then moved into place
 * (rename for put, hard link for putIfAbsent so that "create only if absent" is a single atomic
 * syscall that fails with EEXIST), and the parent directory is fsynced so the new name survives a
 * power loss. Readers therefore see either nothing or a whole object.
 *
 * Keys map to paths segment by segment: '/' separates directories; bytes outside [A-Za-z0-9._-],
 * and a leading '.', are percent-encoded, so no key can escape the root ('..' becomes '%2E.') or
 * collide with the temp directory. Limitation: a key cannot be both an object and a "directory"
 * ('a' and 'a/b'), which S3 would allow; the library never does that and the store says so clearly.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { ByteRange, ObjectInfo, ObjectStore } from './object-store.js';
import { ObjectNotFoundError } from './object-store.js';
import { clampRange } from './range.js';

const TMP_DIR = '.tmp';
const STALE_TMP_MS = 60 * 60 * 1000;

function isPlain(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f // _
  );
}

export function encodeSegment(segment: string): string {
  let out = '';
  const bytes = Buffer.from(segment, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (isPlain(b) && !(i === 0 && b === 0x2e)) out += String.fromCharCode(b);
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

export function decodeSegment(name: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === 0x25) {
      const hex = name.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (isPlain(c)) {
      bytes.push(c);
    } else {
      return undefined; // not a name this store wrote
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

function errCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

export class FileObjectStore implements ObjectStore {
  readonly description: string;
  private readonly root: string;
  private tmpSwept = false;

  constructor(root: string) {
    if (!path.isAbsolute(root)) throw new Error(`file object store root must be an absolute path, got '${root}'`);
    this.root = path.resolve(root);
    this.description = `file://${this.root}`;
  }

  private segments(key: string): string[] {
    if (key.length === 0) throw new Error('object key must not be empty');
    const parts = key.split('/');
    if (parts.some((p) => p.length === 0)) {
      throw new Error(`object key '${key}' has an empty path segment (leading, trailing or double '/'); the file store cannot map it`);
    }
    return parts.map(encodeSegment);
  }

  private pathOf(key: string): string {
    const p = path.join(this.root, ...this.segments(key));
    // Defence in depth: encoding already makes escapes impossible.
    if (!p.startsWith(this.root + path.sep)) throw new Error(`object key '${key}' maps outside the store root`);
    return p;
  }

  private async tempFile(body: Buffer): Promise<string> {
    const dir = path.join(this.root, TMP_DIR);
    await fs.mkdir(dir, { recursive: true });
    if (!this.tmpSwept) {
      this.tmpSwept = true;
      void this.sweepTemp(dir);
    }
    const tmp = path.join(dir, `${process.pid}-${randomBytes(8).toString('hex')}`);
    const fh = await fs.open(tmp, 'wx');
    try {
      await fh.writeFile(body);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  }

  /** Temp files left by a crashed writer are useless; only old ones are removed (others may be in use). */
  private async sweepTemp(dir: string): Promise<void> {
    try {
      const now = Date.now();
      for (const name of await fs.readdir(dir)) {
        const p = path.join(dir, name);
        const st = await fs.stat(p).catch(() => undefined);
        if (st !== undefined && now - st.mtimeMs > STALE_TMP_MS) await fs.unlink(p).catch(() => undefined);
      }
    } catch {
      // best effort
    }
  }

  private async fsyncDir(dir: string): Promise<void> {
    const fh = await fs.open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }

  /** Creates the parent directories and fsyncs every directory whose entry list changed. */
  private async ensureParent(file: string, key: string): Promise<void> {
    const dir = path.dirname(file);
    let first: string | undefined;
    try {
      first = await fs.mkdir(dir, { recursive: true });
    } catch (err) {
      if (errCode(err) === 'ENOTDIR' || errCode(err) === 'EEXIST') {
        throw new Error(`cannot store '${key}': a prefix of it is already an object (the file store cannot hold both 'a' and 'a/b')`);
      }
      throw err;
    }
    if (first !== undefined) {
      // Every directory from the parent of the first created one down to `dir` gained an entry.
      let d = dir;
      const chain: string[] = [];
      while (d.length >= first.length) {
        chain.push(d);
        d = path.dirname(d);
      }
      chain.push(d);
      for (const c of chain.reverse()) await this.fsyncDir(c);
    }
  }

  async put(key: string, body: Buffer): Promise<void> {
    const target = this.pathOf(key);
    const tmp = await this.tempFile(body);
    try {
      await this.ensureParent(target, key);
      await fs.rename(tmp, target);
    } catch (err) {
      await fs.unlink(tmp).catch(() => undefined);
      if (errCode(err) === 'EISDIR' || errCode(err) === 'ENOTEMPTY') {
        throw new Error(`cannot store '${key}': other objects exist under '${key}/' (the file store cannot hold both 'a' and 'a/b')`);
      }
      throw err;
    }
    await this.fsyncDir(path.dirname(target));
  }

  async putIfAbsent(key: string, body: Buffer): Promise<boolean> {
    const target = this.pathOf(key);
    const tmp = await this.tempFile(body);
    try {
      await this.ensureParent(target, key);
      // link(2) fails with EEXIST if the name exists: atomic create-if-absent, even across processes.
      await fs.link(tmp, target);
    } catch (err) {
      if (errCode(err) === 'EEXIST') {
        const st = await fs.lstat(target).catch(() => undefined);
        if (st?.isDirectory()) {
          throw new Error(`cannot store '${key}': other objects exist under '${key}/' (the file store cannot hold both 'a' and 'a/b')`);
        }
        return false;
      }
      throw err;
    } finally {
      await fs.unlink(tmp).catch(() => undefined);
    }
    await this.fsyncDir(path.dirname(target));
    return true;
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const file = this.pathOf(key);
    let fh: fs.FileHandle;
    try {
      fh = await fs.open(file, 'r');
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR') throw new ObjectNotFoundError(key);
      throw err;
    }
    try {
      const st = await fh.stat();
      if (st.isDirectory()) throw new ObjectNotFoundError(key);
      const { start, end } = clampRange(st.size, range, key);
      const out = Buffer.allocUnsafe(end - start);
      let done = 0;
      while (done < out.length) {
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new Error(`short read of ${key}: file shrank while reading`);
        done += bytesRead;
      }
      return out;
    } catch (err) {
      if (errCode(err) === 'EISDIR') throw new ObjectNotFoundError(key);
      throw err;
    } finally {
      await fh.close();
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const st = await fs.stat(this.pathOf(key));
      return st.isFile() ? { key, size: st.size } : undefined;
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw err;
    }
  }

  async list(prefix: string, startAfter?: string): Promise<ObjectInfo[]> {
    // Start the walk at the deepest directory that the prefix fully names.
    const cut = prefix.lastIndexOf('/');
    const dirKey = cut < 0 ? '' : prefix.slice(0, cut);
    let startDir = this.root;
    if (dirKey.length > 0) {
      const segs = dirKey.split('/');
      if (segs.some((s) => s.length === 0)) return [];
      startDir = path.join(this.root, ...segs.map(encodeSegment));
    }
    const out: ObjectInfo[] = [];
    await this.walk(startDir, dirKey.length > 0 ? dirKey + '/' : '', prefix, startAfter, out);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  private async walk(dir: string, keyPrefix: string, prefix: string, startAfter: string | undefined, out: ObjectInfo[]): Promise<void> {
    let entries;
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw err;
    }
    for (const e of entries) {
      if (keyPrefix === '' && e.name === TMP_DIR) continue;
      const name = decodeSegment(e.name);
      if (name === undefined) continue;
      const key = keyPrefix + name;
      if (e.isDirectory()) {
        const sub = key + '/';
        if (sub.startsWith(prefix) || prefix.startsWith(sub)) await this.walk(path.join(dir, e.name), sub, prefix, startAfter, out);
      } else if (e.isFile() && key.startsWith(prefix) && (startAfter === undefined || key > startAfter)) {
        const st = await fs.stat(path.join(dir, e.name)).catch(() => undefined);
        if (st !== undefined) out.push({ key, size: st.size });
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      try {
        await fs.unlink(this.pathOf(key));
      } catch (err) {
        const code = errCode(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'EISDIR' && code !== 'EPERM') throw err;
      }
    }
  }

  async close(): Promise<void> {}
}
