/**
 * A node's MetadataChannel to the metadata owner run by the active controller, over internal RPC.
 *
 * Every call goes to the controller the locator currently names. When it does not answer
 * (RpcUnavailableError) or answers NOT_CONTROLLER, the failure is reported to the locator, the call
 * waits (bounded) for the locator to change and tries again, until failoverTimeoutMs has passed.
 * A call that changes state and cannot be repeated safely (registerNode, allocateIds, retireNode,
 * non-lazy append) is repeated only when it certainly was not executed (not sent, or
 * NOT_CONTROLLER); otherwise the caller gets MetadataUnavailableError with outcomeUnknown set.
 * Reads, flush, compactNow and lazy appends (WAL commits: applying one twice is a no-op) are
 * always repeated.
 *
 * Errors keep their meaning: a fenced WAL writer gets MetadataFencedError, a fenced stream open
 * StreamFencedError, a WAL commit ahead of a missing one WalCommitGapError (the same classes the
 * in-process owner throws), other refusals
 * MetadataRemoteError with the owner's reason.
 *
 * Owner changes: every answer carries the serving owner's epoch. When a higher epoch answers, the
 * owner-change listeners run (the replica re-sends the WAL commits it sent lazily: the previous
 * owner may have died before writing them). An answer from an owner older than one already seen
 * comes from a deposed owner; idempotent calls then go to the controller again.
 */
import type { Logger } from 'winston';
import type { z } from 'zod';
import { MetadataFencedError, StreamFencedError, WalCommitGapError } from '../../s3stream/api.js';
import type { FetchResult, MetadataChannel, NodeRegistration, StateSnapshot } from '../../s3stream/metadata/channel.js';
import type { MetaRecord } from '../../s3stream/metadata/records.js';
import { ErrorCode } from '../../protocol/errors.js';
import { RpcClient } from '../rpc/client.js';
import { RpcAbortedError, RpcRemoteError, RpcUnavailableError } from '../rpc/errors.js';
import type { RpcMethod } from '../rpc/protocol.js';
import { describeController, type ControllerAddress, type ControllerLocator } from './locator.js';
import {
  AllocateIdsRpc,
  AppendRpc,
  CompactNowRpc,
  FetchRpc,
  FlushRpc,
  MAX_FETCH_WAIT_MS,
  METADATA_ERROR,
  RegisterNodeRpc,
  RetireNodeRpc,
  SnapshotRpc,
} from './protocol.js';

export interface RemoteMetadataChannelOptions {
  locator: ControllerLocator;
  /** Sent in every request header (shows in the controller's logs), e.g. 'broker-3'. */
  clientId: string;
  log: Logger;
  /** TCP connect timeout to the controller (default 3 s). */
  connectTimeoutMs?: number;
  /** One attempt of a call waits this long for its answer (default 30 s; fetch: its maxWaitMs + this). */
  callTimeoutMs?: number;
  /** A call looks for a controller that answers for this long before failing (default 30 s). */
  failoverTimeoutMs?: number;
  /** compactNow waits this long for its answer (default 10 min). */
  compactTimeoutMs?: number;
}

/** No controller answered in time, or a call that must not be repeated may or may not have run. */
export class MetadataUnavailableError extends Error {
  override readonly name = 'MetadataUnavailableError';
  constructor(
    message: string,
    /** True when the request may have been executed by the controller (it was sent, no answer came). */
    readonly outcomeUnknown: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The metadata owner refused the request (or failed running it); the message says why. */
export class MetadataRemoteError extends Error {
  override readonly name = 'MetadataRemoteError';
  constructor(
    message: string,
    /** Kafka error code of the answer. */
    readonly code: number,
  ) {
    super(message);
  }
}

/** The locator moved while a long poll was held at the previous controller. */
class ControllerMovedError extends Error {
  override readonly name = 'ControllerMovedError';
}

interface CallOptions {
  /** Safe to run twice. */
  idempotent: boolean;
  timeoutMs?: number;
  signal?: AbortSignal | undefined;
  /** Abandon the attempt when the locator names another controller (long polls). */
  followLocator?: boolean;
}

interface ClientEntry {
  readonly client: RpcClient;
  inflight: number;
}

const keyOf = (c: ControllerAddress): string => `${c.host}:${c.port}`;
const sameController = (a: ControllerAddress | undefined, b: ControllerAddress): boolean =>
  a !== undefined && a.nodeId === b.nodeId && a.host === b.host && a.port === b.port && a.epoch === b.epoch;

export class RemoteMetadataChannel implements MetadataChannel {
  private readonly clients = new Map<string, ClientEntry>();
  private readonly listeners = new Set<() => void>();
  /** Highest owner epoch any answer carried (-1: none yet). */
  private ownerEpoch = -1;
  /** Owners that do not send their epoch: owner changes are the locator's changes. */
  private lastLocated: ControllerAddress | undefined;
  private closed = false;
  private readonly closing = new AbortController();
  private readonly callTimeoutMs: number;
  private readonly failoverTimeoutMs: number;
  private readonly compactTimeoutMs: number;

  constructor(private readonly opts: RemoteMetadataChannelOptions) {
    this.callTimeoutMs = opts.callTimeoutMs ?? 30_000;
    this.failoverTimeoutMs = opts.failoverTimeoutMs ?? 30_000;
    this.compactTimeoutMs = opts.compactTimeoutMs ?? 600_000;
  }

  async registerNode(node: number): Promise<NodeRegistration> {
    const r = await this.call(RegisterNodeRpc, { node }, { idempotent: false });
    return { node: r.node, writerEpoch: r.writerEpoch, walStartSeq: r.walStartSeq };
  }

  async append(node: number, writerEpoch: number, records: readonly MetaRecord[], lazy: boolean): Promise<number> {
    const r = await this.call(AppendRpc, { node, writerEpoch, records: [...records], lazy }, { idempotent: lazy });
    return r.seq;
  }

  async allocateIds(node: number, writerEpoch: number, kind: 'stream' | 'object', count: number): Promise<{ start: number; count: number }> {
    const r = await this.call(AllocateIdsRpc, { node, writerEpoch, kind, count }, { idempotent: false });
    return { start: r.start, count: r.count };
  }

  async fetch(afterSeq: number, maxWaitMs: number, signal?: AbortSignal): Promise<FetchResult> {
    const wait = Math.max(0, Math.min(MAX_FETCH_WAIT_MS, Math.floor(maxWaitMs)));
    const r = await this.call(
      FetchRpc,
      { afterSeq, maxWaitMs: wait },
      { idempotent: true, timeoutMs: wait + this.callTimeoutMs, signal, followLocator: true },
    );
    return r.reload ? { reload: true } : { batches: r.batches };
  }

  async snapshot(): Promise<StateSnapshot> {
    const r = await this.call(SnapshotRpc, {}, { idempotent: true });
    return { seq: r.seq, state: r.state };
  }

  async retireNode(node: number, writerEpoch: number, lastSeq: number): Promise<void> {
    await this.call(RetireNodeRpc, { node, writerEpoch, lastSeq }, { idempotent: false });
  }

  async flush(): Promise<void> {
    await this.call(FlushRpc, {}, { idempotent: true });
  }

  async compactNow(): Promise<number> {
    const r = await this.call(CompactNowRpc, {}, { idempotent: true, timeoutMs: this.compactTimeoutMs });
    return r.seq;
  }

  onOwnerChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Fails calls in flight and closes the connections. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort(new Error('the metadata channel was closed'));
    this.listeners.clear();
    const entries = [...this.clients.values()];
    this.clients.clear();
    await Promise.all(entries.map((e) => e.client.close().catch(() => undefined)));
  }

  private async call<Q extends z.ZodType, R extends z.ZodType<{ ownerEpoch: number | null }>>(
    method: RpcMethod<Q, R>,
    request: z.input<Q>,
    opts: CallOptions,
  ): Promise<z.output<R>> {
    const deadline = Date.now() + this.failoverTimeoutMs;
    let last: { addr: ControllerAddress; err: Error } | undefined;
    for (let attempt = 0; ; attempt++) {
      this.checkUsable(method, opts.signal);
      const c = this.opts.locator.current();
      if (c !== undefined) {
        this.noteLocated(c);
        let err: Error;
        try {
          const res = await this.attempt(c, method, request, opts);
          const stale = res.ownerEpoch !== null && res.ownerEpoch < this.ownerEpoch;
          if (!stale || !opts.idempotent) {
            this.noteOwnerEpoch(res.ownerEpoch);
            return res;
          }
          err = new ControllerMovedError(
            `${describeController(c)} answered ${method.name} with owner epoch ${res.ownerEpoch}, but owner epoch ${this.ownerEpoch} exists: it was deposed`,
          );
        } catch (e) {
          err = this.retriable(e, c, method, opts);
        }
        last = { addr: c, err };
        this.opts.locator.reportUnreachable(c, err);
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        const tried = last === undefined ? 'no controller was known' : `last tried ${describeController(last.addr)}: ${last.err.message}`;
        throw new MetadataUnavailableError(
          `metadata ${method.name} failed: no controller answered within ${this.failoverTimeoutMs} ms (${tried}); check that a controller is running and reachable`,
          false,
          last !== undefined ? { cause: last.err } : undefined,
        );
      }
      // Retry at once if the locator moves; otherwise after a growing pause (a restarting or
      // briefly unreachable controller), or, with no controller known, when one is.
      const pause = c === undefined ? remaining : Math.min(remaining, Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
      await this.opts.locator.changed(pause, this.signalOf(opts.signal));
    }
  }

  /** Returns the error when the call may be tried again; throws what the caller must see. */
  private retriable(err: unknown, c: ControllerAddress, method: RpcMethod, opts: CallOptions): Error {
    if (err instanceof ControllerMovedError) return err;
    if (err instanceof RpcRemoteError) {
      // Not executed: no owner there, or no handler at all (a node without the metadata service).
      if (err.code === METADATA_ERROR.notController || err.code === ErrorCode.UNSUPPORTED_VERSION) return err;
      if (err.code === METADATA_ERROR.writerFenced) throw new MetadataFencedError(err.remoteMessage);
      if (err.code === METADATA_ERROR.streamFenced) throw new StreamFencedError(err.remoteMessage);
      if (err.code === METADATA_ERROR.walCommitGap) throw new WalCommitGapError(err.remoteMessage);
      throw new MetadataRemoteError(`metadata ${method.name} refused by ${describeController(c)}: ${err.remoteMessage}`, err.code);
    }
    if (err instanceof RpcAbortedError) {
      this.checkUsable(method, opts.signal);
      throw err;
    }
    if (err instanceof RpcUnavailableError) {
      if (opts.idempotent || !err.sent) return err;
      throw new MetadataUnavailableError(
        `metadata ${method.name} to ${describeController(c)} got no answer and may have been executed, so it is not repeated: ${err.message}`,
        true,
        { cause: err },
      );
    }
    throw err;
  }

  private checkUsable(method: RpcMethod, signal: AbortSignal | undefined): void {
    if (this.closed) throw new MetadataUnavailableError(`metadata ${method.name}: the channel is closed`, false);
    if (signal?.aborted === true) throw new RpcAbortedError(method.name, 'metadata controller', 'aborted by the caller', { cause: signal.reason });
  }

  private signalOf(callerSignal: AbortSignal | undefined): AbortSignal {
    return callerSignal === undefined ? this.closing.signal : AbortSignal.any([callerSignal, this.closing.signal]);
  }

  private async attempt<Q extends z.ZodType, R extends z.ZodType>(
    c: ControllerAddress,
    method: RpcMethod<Q, R>,
    request: z.input<Q>,
    opts: CallOptions,
  ): Promise<z.output<R>> {
    const entry = this.clientFor(c);
    entry.inflight++;
    const moved = new AbortController();
    const signal = AbortSignal.any([this.signalOf(opts.signal), moved.signal]);
    let watching = opts.followLocator === true;
    const timeoutMs = opts.timeoutMs ?? this.callTimeoutMs;
    if (watching) {
      void (async () => {
        while (watching) {
          await this.opts.locator.changed(timeoutMs, moved.signal);
          if (watching && !sameController(this.opts.locator.current(), c)) {
            moved.abort();
            return;
          }
        }
      })();
    }
    try {
      return await entry.client.call(method, request, { timeoutMs, signal });
    } catch (err) {
      if (err instanceof RpcAbortedError && moved.signal.aborted && opts.signal?.aborted !== true && !this.closed) {
        throw new ControllerMovedError(`the controller moved away from ${describeController(c)} while ${method.name} waited`);
      }
      throw err;
    } finally {
      watching = false;
      moved.abort();
      entry.inflight--;
      this.prune();
    }
  }

  private clientFor(c: ControllerAddress): ClientEntry {
    const key = keyOf(c);
    let entry = this.clients.get(key);
    if (entry === undefined) {
      entry = {
        client: new RpcClient({
          host: c.host,
          port: c.port,
          clientId: this.opts.clientId,
          connectTimeoutMs: this.opts.connectTimeoutMs ?? 3000,
          log: this.opts.log,
        }),
        inflight: 0,
      };
      this.prune(key);
      this.clients.set(key, entry);
    }
    return entry;
  }

  /** Closes idle connections to nodes that are no longer the controller (except `also`). */
  private prune(also?: string): void {
    const current = this.opts.locator.current();
    const keep = current === undefined ? undefined : keyOf(current);
    for (const [key, e] of this.clients) {
      if (key !== keep && key !== also && e.inflight === 0) {
        this.clients.delete(key);
        void e.client.close().catch(() => undefined);
      }
    }
  }

  private noteOwnerEpoch(epoch: number | null): void {
    if (epoch === null || epoch <= this.ownerEpoch) return;
    const changed = this.ownerEpoch >= 0;
    this.ownerEpoch = epoch;
    if (changed) this.ownerChanged(`owner epoch ${epoch}`);
  }

  /** Owners that send no epoch: the locator's changes are the owner changes. */
  private noteLocated(c: ControllerAddress): void {
    const prev = this.lastLocated;
    this.lastLocated = c;
    if (prev !== undefined && this.ownerEpoch < 0 && !sameController(prev, c)) this.ownerChanged(describeController(c));
  }

  private ownerChanged(what: string): void {
    this.opts.log.info('metadata owner changed; re-sending lazily sent WAL commits', { owner: what });
    for (const l of [...this.listeners]) {
      // After the answer is handed back: listeners call the channel again.
      queueMicrotask(() => {
        try {
          l();
        } catch (err) {
          this.opts.log.error('metadata owner-change listener failed', { error: String(err) });
        }
      });
    }
  }
}
