/**
 * RpcRouter and the protocol helpers without a network: every bad request gets an answer with
 * the right code, and the declarations refuse what would collide with Kafka or each other.
 */
import { expect } from 'chai';
import winston from 'winston';
import { z } from 'zod';
import { RpcRouter } from '../../../../broker/src/cluster/rpc/router.js';
import {
  INTERNAL_API_KEY_MAX,
  INTERNAL_API_KEY_MIN,
  defineRpc,
  encodeRequestFrame,
} from '../../../../broker/src/cluster/rpc/protocol.js';
import { ErrorCode } from '../../../../broker/src/protocol/errors.js';
import type { BrokerContext } from '../../../../broker/src/kafka/context.js';
import type { Handler } from '../../../../broker/src/kafka/handler.js';
import { Dispatcher } from '../../../../broker/src/server/dispatcher.js';

const log = winston.createLogger({ silent: true });

const Add = defineRpc({
  apiKey: 32010,
  name: 'add',
  request: z.object({ a: z.number(), b: z.number().default(1) }),
  response: z.object({ sum: z.number() }),
});
const Big = defineRpc({
  apiKey: 32011,
  name: 'big',
  request: z.object({}),
  response: z.any(),
});

/** The request frame without its size prefix, as the dispatcher receives it. */
function frame(apiKey: number, correlationId: number, body: string | Buffer): Buffer {
  const head = encodeRequestFrame(apiKey, correlationId, 'unit', '');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body) : body]).subarray(4);
}

function decode(response: Buffer): { size: number; correlationId: number; code: number; body: unknown } {
  return {
    size: response.readInt32BE(0),
    correlationId: response.readInt32BE(4),
    code: response.readInt16BE(9),
    body: JSON.parse(response.subarray(11).toString('utf8')),
  };
}

const conn = { id: 1, clientHost: '127.0.0.1' };

describe('internal RPC router', () => {
  it('defineRpc accepts only keys of the reserved range', () => {
    expect(() => defineRpc({ apiKey: 18, name: 'x', request: z.object({}), response: z.object({}) })).to.throw(/outside the reserved range 32000\.\.32099/);
    expect(() => defineRpc({ apiKey: INTERNAL_API_KEY_MAX + 1, name: 'x', request: z.object({}), response: z.object({}) })).to.throw(RangeError);
    expect(defineRpc({ apiKey: INTERNAL_API_KEY_MIN, name: 'x', request: z.object({}), response: z.object({}) }).apiKey).to.equal(32000);
  });

  it('refuses two handlers for one key', () => {
    const router = new RpcRouter(log).handle(Add, (req) => ({ sum: req.a + req.b }));
    expect(() => router.handle(Add, () => ({ sum: 0 }))).to.throw(/already has a handler \(add\)/);
  });

  it('serves only registered keys at version 0', () => {
    const router = new RpcRouter(log).handle(Add, (req) => ({ sum: req.a + req.b }));
    expect(router.serves(Add.apiKey, 0)).to.equal(true);
    expect(router.serves(Add.apiKey, 1)).to.equal(false);
    expect(router.serves(32012, 0)).to.equal(false);
    expect(router.isInternal(32012)).to.equal(true);
    expect(router.isInternal(75)).to.equal(false);
  });

  it('answers a valid request with the handler result; schema defaults apply on the server', async () => {
    const router = new RpcRouter(log).handle(Add, (req) => ({ sum: req.a + req.b }));
    const res = decode(await router.dispatch(frame(Add.apiKey, 5, '{"a":2}'), conn));
    expect(res).to.deep.equal({ size: res.size, correlationId: 5, code: 0, body: { sum: 3 } });
  });

  it('answers bad bodies, bad headers and bad handlers with an error code and a message', async () => {
    const router = new RpcRouter(log)
      .handle(Add, (req) => {
        if (req.a < 0) throw new Error('negative');
        return { sum: req.a + req.b };
      })
      .handle(Big, () => ({ n: 1n }));
    const cases: [string, Buffer, number, RegExp][] = [
      ['not JSON', frame(Add.apiKey, 1, '{a:'), ErrorCode.INVALID_REQUEST, /not one JSON document/],
      ['two documents', frame(Add.apiKey, 2, '{"a":1}{"a":2}'), ErrorCode.INVALID_REQUEST, /JSON/],
      ['invalid UTF-8', frame(Add.apiKey, 3, Buffer.from([0x7b, 0xc3, 0x28, 0x7d])), ErrorCode.INVALID_REQUEST, /UTF-8/],
      ['schema', frame(Add.apiKey, 4, '{"a":"2"}'), ErrorCode.INVALID_REQUEST, /a: /],
      ['handler throws', frame(Add.apiKey, 5, '{"a":-1}'), ErrorCode.UNKNOWN_SERVER_ERROR, /add failed on the server: negative/],
      ['not serializable', frame(Big.apiKey, 6, '{}'), ErrorCode.UNKNOWN_SERVER_ERROR, /cannot be sent as JSON/],
    ];
    for (const [what, f, code, message] of cases) {
      const res = decode(await router.dispatch(f, conn));
      expect(res.code, what).to.equal(code);
      expect(res.correlationId, what).to.equal(f.readInt32BE(4));
      expect((res.body as { message: string }).message, what).to.match(message);
    }
    // A client id length running past the frame: the header itself is malformed.
    const broken = Buffer.alloc(10);
    broken.writeInt16BE(Add.apiKey, 0);
    broken.writeInt32BE(9, 4);
    broken.writeInt16BE(500, 8);
    const res = decode(await router.dispatch(broken, conn));
    expect([res.correlationId, res.code]).to.deep.equal([9, ErrorCode.INVALID_REQUEST]);
    expect((res.body as { message: string }).message).to.match(/malformed add request header/);
  });

  it('gives a handler an already aborted signal when its connection is already closed', async () => {
    let aborted: boolean | undefined;
    const router = new RpcRouter(log).handle(Add, (req, meta) => {
      aborted = meta.signal.aborted;
      return { sum: req.a };
    });
    const closed = new AbortController();
    closed.abort();
    await router.dispatch(frame(Add.apiKey, 1, '{"a":1}'), { ...conn, closed: closed.signal });
    expect(aborted).to.equal(true);
  });

  it('the dispatcher refuses a router whose range holds a Kafka handler key, and orders only internal keys out', () => {
    const fake = { api: { key: 32050, name: 'Fake' }, minVersion: 0, maxVersion: 0, handle: () => ({}) } as unknown as Handler;
    const d1 = new Dispatcher([fake], {} as BrokerContext, log);
    expect(() => d1.serveInternal(new RpcRouter(log))).to.throw(/API key 32050 is inside the internal RPC range/);
    const d2 = new Dispatcher([], {} as BrokerContext, log);
    const header = (key: number): Buffer => Buffer.from([key >> 8, key & 0xff, 0, 0, 0, 0, 0, 1]);
    expect(d2.unordered(header(32000)), 'no router yet').to.equal(false);
    d2.serveInternal(new RpcRouter(log));
    expect(d2.unordered(header(32000))).to.equal(true);
    expect(d2.unordered(header(1))).to.equal(false);
    expect(() => d2.serveInternal(new RpcRouter(log))).to.throw(/already has an internal RPC router/);
  });
});
