/**
 * Server side of the metadata channel: every node registers these handlers; they forward to the
 * local metadata owner while this node is the controller and answer NOT_CONTROLLER otherwise.
 *
 * "Not the controller" also covers an owner that was fenced by a newer one or replaced while a
 * request ran: its failures then mean "not executed here" (a fenced owner's log write lost the
 * put-if-absent, so nothing of the request became durable), and the caller retries at the current
 * controller.
 */
import type { Logger } from 'winston';
import { MetadataFencedError, StreamFencedError, WalCommitGapError } from '../../s3stream/api.js';
import type { MetadataChannel } from '../../s3stream/metadata/channel.js';
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { RpcRouter } from '../rpc/router.js';
import {
  AllocateIdsRpc,
  AppendRpc,
  CompactNowRpc,
  FetchRpc,
  FlushRpc,
  METADATA_ERROR,
  RegisterNodeRpc,
  RetireNodeRpc,
  SnapshotRpc,
} from './protocol.js';

/** What the server needs from the local owner: MetadataOwner fits. */
export type ServedMetadataOwner = MetadataChannel & {
  /** Seq of the owner's `open` record (sent back so nodes notice owner changes). */
  readonly epoch?: number;
  /** True once another owner took the log over. */
  isFenced?(): boolean;
};

export interface ServeMetadataOptions {
  log?: Logger;
  /** Long polls are held at most this long, whatever the caller asks (default 30 s). */
  maxFetchWaitMs?: number;
}

const DEFAULT_MAX_FETCH_WAIT_MS = 30_000;
/** An empty long-poll answer this much before its wait ended means the owner no longer waits. */
const EARLY_MARGIN_MS = 50;

function notController(why: string): KafkaError {
  return new KafkaError(METADATA_ERROR.notController, `${why}; ask the active controller`);
}

/**
 * Registers the metadata channel's handlers on `router`. `ownerProvider` returns the owner this
 * node runs while it is the active controller, undefined otherwise; it is asked on every request.
 */
export function serveMetadataChannel(
  router: RpcRouter,
  ownerProvider: () => ServedMetadataOwner | undefined,
  options: ServeMetadataOptions = {},
): void {
  const maxWait = options.maxFetchWaitMs ?? DEFAULT_MAX_FETCH_WAIT_MS;

  const current = (): ServedMetadataOwner => {
    const owner = ownerProvider();
    if (owner === undefined) throw notController('this node runs no metadata owner (it is not the controller)');
    if (owner.isFenced?.() === true) throw notController('this node\'s metadata owner was fenced by a newer controller');
    return owner;
  };
  const stillCurrent = (owner: ServedMetadataOwner): boolean => ownerProvider() === owner && owner.isFenced?.() !== true;
  const epochOf = (owner: ServedMetadataOwner): number | null => owner.epoch ?? null;

  /** Runs `task` on the current owner and turns its failures into codes that keep their meaning. */
  const run = async <T>(method: string, task: (owner: ServedMetadataOwner) => Promise<T>): Promise<{ owner: ServedMetadataOwner; value: T }> => {
    const owner = current();
    try {
      return { owner, value: await task(owner) };
    } catch (err) {
      if (err instanceof KafkaError) throw err;
      if (!stillCurrent(owner)) {
        throw notController(`this node's metadata owner stopped or was fenced while running ${method} (${String((err as Error)?.message ?? err)}); nothing was written`);
      }
      if (err instanceof MetadataFencedError) throw new KafkaError(METADATA_ERROR.writerFenced, err.message);
      if (err instanceof StreamFencedError) throw new KafkaError(METADATA_ERROR.streamFenced, err.message);
      if (err instanceof WalCommitGapError) throw new KafkaError(METADATA_ERROR.walCommitGap, err.message);
      // A refusal (unknown stream, a record type nodes may not write, retire too early, ...):
      // the owner's message says why; not a server bug, so no stack in the logs.
      const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      options.log?.warn('metadata request refused by the owner', { method, error: message });
      throw new KafkaError(ErrorCode.UNKNOWN_SERVER_ERROR, message);
    }
  };

  router
    .handle(RegisterNodeRpc, async (req) => {
      const { owner, value } = await run(RegisterNodeRpc.name, (o) => o.registerNode(req.node));
      return { ...value, ownerEpoch: epochOf(owner) };
    })
    .handle(AppendRpc, async (req) => {
      const { owner, value } = await run(AppendRpc.name, (o) => o.append(req.node, req.writerEpoch, req.records, req.lazy));
      return { seq: value, ownerEpoch: epochOf(owner) };
    })
    .handle(AllocateIdsRpc, async (req) => {
      const { owner, value } = await run(AllocateIdsRpc.name, (o) => o.allocateIds(req.node, req.writerEpoch, req.kind, req.count));
      return { start: value.start, count: value.count, ownerEpoch: epochOf(owner) };
    })
    .handle(FetchRpc, async (req, meta) => {
      const wait = Math.min(req.maxWaitMs, maxWait);
      const started = performance.now();
      const { owner, value } = await run(FetchRpc.name, (o) => o.fetch(req.afterSeq, wait, meta.signal));
      if ('reload' in value) return { reload: true, batches: [], ownerEpoch: epochOf(owner) };
      // A closed owner (stepped down, maybe still handed out for a moment) answers empty at once:
      // without this the node would poll it in a tight loop instead of moving to the new controller.
      const early = performance.now() - started + EARLY_MARGIN_MS < wait;
      if (value.batches.length === 0 && !meta.signal.aborted && (early || !stillCurrent(owner))) {
        throw notController('this node\'s metadata owner stopped (it answered a long poll without waiting)');
      }
      return {
        reload: false,
        batches: value.batches.map((b) => ({ seq: b.seq, ts: b.ts, records: [...b.records] })),
        ownerEpoch: epochOf(owner),
      };
    })
    .handle(SnapshotRpc, async () => {
      const { owner, value } = await run(SnapshotRpc.name, (o) => o.snapshot());
      return { seq: value.seq, state: value.state, ownerEpoch: epochOf(owner) };
    })
    .handle(RetireNodeRpc, async (req) => {
      const { owner } = await run(RetireNodeRpc.name, (o) => o.retireNode(req.node, req.writerEpoch, req.lastSeq));
      return { ownerEpoch: epochOf(owner) };
    })
    .handle(FlushRpc, async () => {
      const { owner } = await run(FlushRpc.name, (o) => o.flush());
      return { ownerEpoch: epochOf(owner) };
    })
    .handle(CompactNowRpc, async () => {
      const { owner, value } = await run(CompactNowRpc.name, (o) => o.compactNow());
      return { seq: value, ownerEpoch: epochOf(owner) };
    });
}
