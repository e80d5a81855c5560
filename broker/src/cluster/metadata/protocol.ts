/**
 * The S3Stream MetadataChannel as internal RPC methods (keys 32030..32039): each node's stream
 * client talks to the metadata owner the active controller runs. Records and snapshots travel in
 * the metadata log's own shape, checked by its zod schemas (records.ts) on both sides.
 *
 * Every answer carries `ownerEpoch` (the seq of the serving owner's `open` record, null when the
 * served channel has none): a node seeing a higher one knows the owner changed and re-sends the
 * lazily sent WAL commits the previous owner may have lost.
 *
 * Error codes (Kafka's), chosen so each keeps its meaning across the wire:
 *   NOT_CONTROLLER       the node asked runs no metadata owner (not the controller, stepped down, or
 *                        its owner was fenced by a newer one). The request was NOT executed: retry
 *                        at the current controller.
 *   STALE_BROKER_EPOCH   MetadataFencedError: the caller's WAL writer (node + writer epoch) is no
 *                        longer the registered one. Re-thrown as MetadataFencedError.
 *   FENCED_LEADER_EPOCH  StreamFencedError: a stream was opened with a higher epoch. Re-thrown as
 *                        StreamFencedError.
 *   UNKNOWN_SERVER_ERROR the owner refused or failed the request (message says why).
 */
import { z } from 'zod';
import { recordSchema, snapshotStateSchema } from '../../s3stream/metadata/records.js';
import { ErrorCode } from '../../protocol/errors.js';
import { defineRpc } from '../rpc/protocol.js';

/** First and last internal API key reserved for the metadata channel. */
export const METADATA_RPC_KEY_MIN = 32030;
export const METADATA_RPC_KEY_MAX = 32039;

export const METADATA_ERROR = {
  notController: ErrorCode.NOT_CONTROLLER,
  writerFenced: ErrorCode.STALE_BROKER_EPOCH,
  streamFenced: ErrorCode.FENCED_LEADER_EPOCH,
  /** A node's WAL commit arrived before an earlier one (WalCommitGapError): re-send in order. */
  walCommitGap: ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER,
} as const;

const id = z.number().int().nonnegative();
/** The serving owner's epoch (seq of its `open` record); null when the owner does not say. */
const ownerEpoch = id.nullable();

/** Longest long poll a fetch may ask for; the server may cap it lower. */
export const MAX_FETCH_WAIT_MS = 300_000;

export const RegisterNodeRpc = defineRpc({
  apiKey: 32030,
  name: 'metadata.registerNode',
  request: z.object({ node: id }),
  response: z.object({ node: id, writerEpoch: id, walStartSeq: id, ownerEpoch }),
});

export const AppendRpc = defineRpc({
  apiKey: 32031,
  name: 'metadata.append',
  request: z.object({ node: id, writerEpoch: id, records: z.array(recordSchema), lazy: z.boolean() }),
  // -1 for lazy appends: durable with the owner's next write.
  response: z.object({ seq: z.number().int().min(-1), ownerEpoch }),
});

export const AllocateIdsRpc = defineRpc({
  apiKey: 32032,
  name: 'metadata.allocateIds',
  request: z.object({ node: id, writerEpoch: id, kind: z.enum(['stream', 'object']), count: z.number().int().positive() }),
  response: z.object({ start: id, count: id, ownerEpoch }),
});

const batchSchema = z.object({ seq: id, ts: z.number().int().nonnegative(), records: z.array(recordSchema) });

export const FetchRpc = defineRpc({
  apiKey: 32033,
  name: 'metadata.fetch',
  request: z.object({ afterSeq: id, maxWaitMs: z.number().int().nonnegative().max(MAX_FETCH_WAIT_MS) }),
  // `reload`: the owner no longer has the batches after afterSeq (or is behind it): take a snapshot.
  response: z.object({ reload: z.boolean(), batches: z.array(batchSchema), ownerEpoch }),
});

export const SnapshotRpc = defineRpc({
  apiKey: 32034,
  name: 'metadata.snapshot',
  request: z.object({}),
  response: z.object({ seq: id, state: snapshotStateSchema, ownerEpoch }),
});

export const RetireNodeRpc = defineRpc({
  apiKey: 32035,
  name: 'metadata.retireNode',
  request: z.object({ node: id, writerEpoch: id, lastSeq: id }),
  response: z.object({ ownerEpoch }),
});

export const FlushRpc = defineRpc({
  apiKey: 32036,
  name: 'metadata.flush',
  request: z.object({}),
  response: z.object({ ownerEpoch }),
});

export const CompactNowRpc = defineRpc({
  apiKey: 32037,
  name: 'metadata.compactNow',
  request: z.object({}),
  response: z.object({ seq: id, ownerEpoch }),
});
