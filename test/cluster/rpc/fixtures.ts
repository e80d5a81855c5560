/**
 * Test fixtures for internal RPC: a handful of methods (not the cluster's real ones) and the
 * smallest real server: KafkaServer + Dispatcher (ApiVersions only) + RpcRouter on 127.0.0.1.
 */
import winston from 'winston';
import { z } from 'zod';
import { defineRpc } from '../../../broker/src/cluster/rpc/protocol.js';
import { RpcRouter } from '../../../broker/src/cluster/rpc/router.js';
import type { BrokerContext } from '../../../broker/src/kafka/context.js';
import type { Handler } from '../../../broker/src/kafka/handler.js';
import apiVersions from '../../../broker/src/kafka/handlers/18_api_versions.js';
import { ErrorCode, KafkaError } from '../../../broker/src/protocol/errors.js';
import { Dispatcher } from '../../../broker/src/server/dispatcher.js';
import { KafkaServer } from '../../../broker/src/server/server.js';

export const silentLog = winston.createLogger({ silent: true });

export const Echo = defineRpc({
  apiKey: 32000,
  name: 'echo',
  request: z.object({ text: z.string() }),
  response: z.object({ text: z.string(), clientId: z.string().nullable() }),
});
export const Heartbeat = defineRpc({
  apiKey: 32001,
  name: 'heartbeat',
  request: z.object({ nodeId: z.number().int() }),
  response: z.object({ nodeId: z.number().int(), beats: z.number().int() }),
});
export const LongPoll = defineRpc({
  apiKey: 32002,
  name: 'longPoll',
  request: z.object({ key: z.string() }),
  response: z.object({ released: z.boolean() }),
});
export const Blob = defineRpc({
  apiKey: 32003,
  name: 'blob',
  request: z.object({ bytes: z.number().int().nonnegative() }),
  response: z.object({ data: z.string() }),
});
export const Fail = defineRpc({
  apiKey: 32004,
  name: 'fail',
  request: z.object({ mode: z.enum(['notController', 'crash', 'badResponse']) }),
  response: z.object({ ok: z.literal(true) }),
});
/** Answers only when `of` calls have arrived, in reverse arrival order. */
export const Barrier = defineRpc({
  apiKey: 32005,
  name: 'barrier',
  request: z.object({ i: z.number().int(), of: z.number().int().positive() }),
  response: z.object({ i: z.number().int() }),
});
/** Same key as Echo, looser request: what a peer with an older/newer schema would send. */
export const EchoSkewed = defineRpc({
  apiKey: 32000,
  name: 'echo',
  request: z.object({ text: z.unknown() }),
  response: z.object({ text: z.string(), clientId: z.string().nullable() }),
});
/** Never registered on the server. */
export const Unregistered = defineRpc({
  apiKey: 32099,
  name: 'unregistered',
  request: z.object({}),
  response: z.object({}),
});

export interface FixtureState {
  beats: number;
  /** Long polls being held, by key: call to answer {released: true}. */
  held: Map<string, () => void>;
  /** Keys of long polls that ended because their connection closed. */
  abortedPolls: string[];
}

export function fixtureRouter(): { router: RpcRouter; state: FixtureState } {
  const state: FixtureState = { beats: 0, held: new Map(), abortedPolls: [] };
  const router = new RpcRouter(silentLog);
  let barrier: { i: number; resolve: (v: { i: number }) => void }[] = [];
  router
    .handle(Echo, (req, meta) => ({ text: req.text, clientId: meta.clientId }))
    .handle(Heartbeat, (req) => ({ nodeId: req.nodeId, beats: ++state.beats }))
    .handle(
      LongPoll,
      (req, meta) =>
        new Promise((resolve) => {
          const done = (released: boolean): void => {
            meta.signal.removeEventListener('abort', onAbort);
            state.held.delete(req.key);
            resolve({ released });
          };
          const onAbort = (): void => {
            state.abortedPolls.push(req.key);
            done(false);
          };
          meta.signal.addEventListener('abort', onAbort, { once: true });
          state.held.set(req.key, () => done(true));
        }),
    )
    .handle(Blob, (req) => ({ data: 'x'.repeat(req.bytes) }))
    .handle(Fail, (req) => {
      if (req.mode === 'notController') throw new KafkaError(ErrorCode.NOT_CONTROLLER, 'the controller is node 7 at 10.0.0.7:9092');
      if (req.mode === 'crash') throw new TypeError('cannot read properties of undefined');
      return { ok: false } as unknown as { ok: true };
    })
    .handle(
      Barrier,
      (req) =>
        new Promise((resolve) => {
          barrier.push({ i: req.i, resolve });
          if (barrier.length === req.of) {
            const all = barrier;
            barrier = [];
            for (const b of all.reverse()) b.resolve({ i: b.i });
          }
        }),
    );
  return { router, state };
}

export interface RunningServer {
  port: number;
  dispatcher: Dispatcher;
  stop(): Promise<void>;
}

/** Starts the real listener and dispatcher with `router` on 127.0.0.1 (port 0: a free one). */
export async function startServer(router: RpcRouter, port = 0, maxRequestBytes = 100 * 1024 * 1024): Promise<RunningServer> {
  let dispatcher: Dispatcher | undefined;
  // ApiVersions is the only Kafka handler here and it reads nothing but supportedApis().
  const broker = { supportedApis: () => dispatcher!.supportedApis() } as unknown as BrokerContext;
  dispatcher = new Dispatcher([apiVersions as unknown as Handler], broker, silentLog);
  dispatcher.serveInternal(router);
  const server = new KafkaServer({ host: '127.0.0.1', port, maxRequestBytes, maxInFlightPerConnection: 100 }, dispatcher, silentLog);
  const bound = await server.start();
  return { port: bound, dispatcher, stop: () => server.stop() };
}
