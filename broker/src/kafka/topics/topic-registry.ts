/**
 * The topic catalogue: names, ids, partitions (each backed by one stream) and config overrides.
 * Persisted in the storage library's metadata KV under `topics/<name>`; this in-memory view is
 * rebuilt from it at start. Mutations are serialized so two admin requests never interleave.
 */
import { randomBytes } from 'node:crypto';
import type { KvStore } from '../../s3stream/api.js';
import type { TopicView } from '../context.js';

export interface PartitionRecord {
  readonly streamId: number;
  readonly leaderEpoch: number;
}

export interface TopicRecord {
  readonly name: string;
  /** 32 hex digits. */
  readonly id: string;
  readonly partitions: readonly PartitionRecord[];
  readonly configs: Readonly<Record<string, string>>;
  readonly createdAtMs: number;
}

const PREFIX = 'topics/';

export class TopicRegistry implements TopicView {
  private readonly byName = new Map<string, TopicRecord>();
  private readonly byId = new Map<string, TopicRecord>();
  private chain: Promise<unknown> = Promise.resolve();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly kv: KvStore) {
    for (const key of kv.list(PREFIX)) {
      const raw = kv.get(key);
      if (!raw) continue;
      const t = JSON.parse(raw.toString('utf8')) as TopicRecord;
      this.index(t);
    }
  }

  private index(t: TopicRecord): void {
    this.byName.set(t.name, t);
    this.byId.set(t.id, t);
  }

  get(name: string): TopicRecord | undefined {
    return this.byName.get(name);
  }

  getById(id: string): TopicRecord | undefined {
    return this.byId.get(id);
  }

  list(): TopicRecord[] {
    return [...this.byName.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  partitionCount(topic: string): number | undefined {
    return this.byName.get(topic)?.partitions.length;
  }

  topicId(topic: string): string | undefined {
    return this.byName.get(topic)?.id;
  }

  topicName(topicId: string): string | undefined {
    return this.byId.get(topicId)?.name;
  }

  /** Called after every put or remove, once the view shows it (the standalone ClusterView derives leadership from topics). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(): void {
    for (const l of [...this.listeners]) l();
  }

  /** Runs mutations one at a time, in call order. */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.chain.then(fn, fn);
    this.chain = next.catch(() => undefined);
    return next;
  }

  static newTopicId(): string {
    let id: string;
    do id = randomBytes(16).toString('hex');
    while (id === '00000000000000000000000000000000');
    return id;
  }

  /** Writes a topic record (create or update) durably, then updates the view. */
  async put(t: TopicRecord): Promise<void> {
    await this.kv.put(PREFIX + t.name, Buffer.from(JSON.stringify(t)));
    const old = this.byName.get(t.name);
    if (old && old.id !== t.id) this.byId.delete(old.id);
    this.index(t);
    this.changed();
  }

  /**
   * Re-reads topic records that changed in the KV (written by another broker: in a cluster only the
   * controller writes topics), or all of them when `keys` is undefined. Fires onChange if anything changed.
   */
  refresh(keys: readonly string[] | undefined): void {
    const names = keys === undefined
      ? new Set([...this.byName.keys(), ...this.kv.list(PREFIX).map((k) => k.slice(PREFIX.length))])
      : new Set(keys.filter((k) => k.startsWith(PREFIX)).map((k) => k.slice(PREFIX.length)));
    let changed = false;
    for (const name of names) {
      const raw = this.kv.get(PREFIX + name);
      const old = this.byName.get(name);
      if (raw === undefined) {
        if (old === undefined) continue;
        this.byName.delete(name);
        this.byId.delete(old.id);
        changed = true;
        continue;
      }
      const t = JSON.parse(raw.toString('utf8')) as TopicRecord;
      if (old !== undefined && JSON.stringify(old) === JSON.stringify(t)) continue;
      if (old && old.id !== t.id) this.byId.delete(old.id);
      this.index(t);
      changed = true;
    }
    if (changed) this.changed();
  }

  async remove(name: string): Promise<void> {
    const t = this.byName.get(name);
    if (!t) return;
    await this.kv.delete(PREFIX + name);
    this.byName.delete(name);
    this.byId.delete(t.id);
    this.changed();
  }
}
