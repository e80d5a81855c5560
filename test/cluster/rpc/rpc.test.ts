/**
 * Internal RPC over the real Kafka listener (KafkaServer + Dispatcher + RpcRouter on 127.0.0.1):
 * round trips, concurrency and out-of-order answers, failures the caller must be able to tell
 * apart, reconnects, bad bodies, large transfers, and that Kafka clients never see the keys.
 */
import { expect } from 'chai';
import { ApiVersions } from '../../../broker/src/protocol/messages/18_api_versions.js';
import { ErrorCode } from '../../../broker/src/protocol/errors.js';
import { RpcClient, type RpcClientOptions } from '../../../broker/src/cluster/rpc/client.js';
import {
  RpcAbortedError,
  RpcProtocolError,
  RpcRemoteError,
  RpcTimeoutError,
  RpcUnavailableError,
} from '../../../broker/src/cluster/rpc/errors.js';
import { INTERNAL_API_KEY_MIN, encodeRequestFrame } from '../../../broker/src/cluster/rpc/protocol.js';
import { waitFor, withTimeout } from '../../helpers/wait.js';
import { WireClient, decodeResponse } from '../../helpers/wire-client.js';
import {
  Barrier,
  Blob,
  Echo,
  EchoSkewed,
  Fail,
  Heartbeat,
  LongPoll,
  Unregistered,
  fixtureRouter,
  silentLog,
  startServer,
  type FixtureState,
  type RunningServer,
} from './fixtures.js';

/** Resolves to the error a promise rejects with; fails the test if it resolves. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    const v = await p;
    throw new Error(`expected a rejection, got ${JSON.stringify(v)}`);
  } catch (err) {
    return err as Error;
  }
}

/** A raw request frame with an arbitrary body, for what RpcClient would never send. */
function rawFrame(apiKey: number, correlationId: number, body: Buffer): Buffer {
  const head = encodeRequestFrame(apiKey, correlationId, 'raw-test', '');
  const frame = Buffer.concat([head, body]);
  frame.writeInt32BE(frame.length - 4, 0);
  return frame;
}

/** Decodes an internal response payload: error code and JSON body. */
function decodeInternal(payload: Buffer): { correlationId: number; code: number; body: unknown } {
  expect(payload[4], 'tagged fields of response header v1').to.equal(0);
  return { correlationId: payload.readInt32BE(0), code: payload.readInt16BE(5), body: JSON.parse(payload.subarray(7).toString('utf8')) };
}

describe('internal RPC over the Kafka listener', function () {
  this.timeout(30_000);
  let server: RunningServer | undefined;
  let state: FixtureState;
  const clients: RpcClient[] = [];
  const wires: WireClient[] = [];

  function client(overrides: Partial<RpcClientOptions> = {}): RpcClient {
    const c = new RpcClient({ host: '127.0.0.1', port: server!.port, clientId: 'broker-test', connectTimeoutMs: 2000, log: silentLog, ...overrides });
    clients.push(c);
    return c;
  }

  beforeEach(async () => {
    const f = fixtureRouter();
    state = f.state;
    server = await startServer(f.router);
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) await c.close();
    for (const w of wires.splice(0)) w.close();
    // Let held long polls end so the server stop does not depend on connection aborts alone.
    for (const release of [...state.held.values()]) release();
    await server?.stop();
    server = undefined;
  });

  it('round-trips a typed request and response, with the client id in the header', async () => {
    const c = client();
    const res = await c.call(Echo, { text: 'héllo ✓' }, { timeoutMs: 5000 });
    expect(res).to.deep.equal({ text: 'héllo ✓', clientId: 'broker-test' });
    const hb = await c.call(Heartbeat, { nodeId: 3 }, { timeoutMs: 5000 });
    expect(hb).to.deep.equal({ nodeId: 3, beats: 1 });
  });

  it('matches 50 concurrent calls answered in reverse order by correlation id', async () => {
    const c = client();
    const n = 50;
    const results = await withTimeout(
      Promise.all(Array.from({ length: n }, (_, i) => c.call(Barrier, { i, of: n }, { timeoutMs: 10_000 }))),
      10_000,
      '50 barrier calls (the server answers only once all of them run concurrently)',
    );
    expect(results.map((r) => r.i)).to.deep.equal(Array.from({ length: n }, (_, i) => i));
  });

  it('a held long poll does not block a heartbeat on the same client', async () => {
    const c = client();
    let pollSettled = false;
    const poll = c.call(LongPoll, { key: 'p1' }, { timeoutMs: 20_000 }).finally(() => {
      pollSettled = true;
    });
    await waitFor(() => state.held.has('p1'), 5000, 'the long poll to be held by the server');
    // If internal requests were serialized per connection, the heartbeat would wait for the poll,
    // which is released only after the heartbeat answered: the call would time out.
    const started = Date.now();
    const hb = await c.call(Heartbeat, { nodeId: 1 }, { timeoutMs: 3000 });
    expect(hb.beats).to.equal(1);
    expect(Date.now() - started, 'heartbeat latency while a poll is held (ms)').to.be.below(1000);
    expect(pollSettled, 'long poll still pending after the heartbeat').to.equal(false);
    state.held.get('p1')!();
    expect(await poll).to.deep.equal({ released: true });
  });

  it('times out a call the server does not answer, and the client still works afterwards', async () => {
    const c = client();
    const err = await rejection(c.call(LongPoll, { key: 'never' }, { timeoutMs: 200 }));
    expect(err).to.be.instanceOf(RpcTimeoutError).and.instanceOf(RpcUnavailableError);
    expect((err as RpcTimeoutError).sent).to.equal(true);
    expect(err.message).to.include('longPoll').and.include(`127.0.0.1:${server!.port}`).and.include('200 ms');
    // Nothing was received during the timeout: the connection was dropped and the held poll
    // learns it through its signal.
    await waitFor(() => state.abortedPolls.includes('never'), 5000, () => `the held poll to be aborted (aborted: ${state.abortedPolls.join(',')})`);
    expect(await c.call(Echo, { text: 'after' }, { timeoutMs: 5000 })).to.deep.equal({ text: 'after', clientId: 'broker-test' });
  });

  it('aborts a call through its AbortSignal', async () => {
    const c = client();
    const ac = new AbortController();
    const p = c.call(LongPoll, { key: 'abort-me' }, { timeoutMs: 20_000, signal: ac.signal });
    await waitFor(() => state.held.has('abort-me'), 5000, 'the long poll to be held by the server');
    ac.abort(new Error('shutting down'));
    const err = await rejection(p);
    expect(err).to.be.instanceOf(RpcAbortedError);
    expect(err.message).to.include('longPoll');
    const pre = await rejection(c.call(Echo, { text: 'x' }, { timeoutMs: 1000, signal: ac.signal }));
    expect(pre).to.be.instanceOf(RpcAbortedError);
  });

  it('fails pending calls when the server stops, and reconnects when it is back on the same port', async () => {
    const c = client();
    const port = server!.port;
    expect((await c.call(Heartbeat, { nodeId: 1 }, { timeoutMs: 5000 })).beats).to.equal(1);
    const poll = c.call(LongPoll, { key: 'during-stop' }, { timeoutMs: 20_000 });
    await waitFor(() => state.held.has('during-stop'), 5000, 'the long poll to be held by the server');
    await server!.stop();
    server = undefined;
    const lost = await rejection(poll);
    expect(lost).to.be.instanceOf(RpcUnavailableError);
    expect((lost as RpcUnavailableError).sent).to.equal(true);
    // Sockets emit 'close' after the listener's stop resolved: wait for the abort, bounded.
    await waitFor(() => state.abortedPolls.includes('during-stop'), 5000, 'the server-side poll to see its connection close');

    const refused = await rejection(c.call(Heartbeat, { nodeId: 1 }, { timeoutMs: 5000 }));
    expect(refused).to.be.instanceOf(RpcUnavailableError);
    expect((refused as RpcUnavailableError).sent).to.equal(false);
    expect(refused.message).to.include(`127.0.0.1:${port}`).and.include('ECONNREFUSED');

    const f = fixtureRouter();
    state = f.state;
    server = await startServer(f.router, port);
    expect(server.port).to.equal(port);
    expect(await c.call(Heartbeat, { nodeId: 1 }, { timeoutMs: 5000 })).to.deep.equal({ nodeId: 1, beats: 1 });
  });

  it('answers an internal key without a handler like any unknown key (UNSUPPORTED_VERSION)', async () => {
    const c = client();
    const err = await rejection(c.call(Unregistered, {}, { timeoutMs: 5000 }));
    expect(err).to.be.instanceOf(RpcRemoteError);
    expect((err as RpcRemoteError).code).to.equal(ErrorCode.UNSUPPORTED_VERSION);
    expect(err.message).to.include('unregistered').and.include('32099');
    // Same bytes a Kafka client gets for an unknown key: response header v0 + int16 error code.
    const w = await WireClient.connect(server!.port);
    wires.push(w);
    const next = w.nextFrame();
    w.writeRaw(rawFrame(32099, 77, Buffer.from('{}')));
    const frame = await next;
    expect(frame.length).to.equal(6);
    expect(frame.readInt32BE(0)).to.equal(77);
    expect(frame.readInt16BE(4)).to.equal(ErrorCode.UNSUPPORTED_VERSION);
  });

  it('answers a body that is not JSON with INVALID_REQUEST and keeps serving the connection', async () => {
    const w = await WireClient.connect(server!.port);
    wires.push(w);
    const bodies = [Buffer.from('{"text": "unterminated'), Buffer.alloc(0), Buffer.from([0xff, 0xfe, 0x7b, 0x7d])];
    for (const [i, body] of bodies.entries()) {
      const next = w.nextFrame();
      w.writeRaw(rawFrame(Echo.apiKey, 100 + i, body));
      const res = decodeInternal(await next);
      expect(res.correlationId).to.equal(100 + i);
      expect(res.code, `body ${i}`).to.equal(ErrorCode.INVALID_REQUEST);
      expect((res.body as { message: string }).message).to.include('echo').and.include('JSON');
    }
    const next = w.nextFrame();
    w.writeRaw(rawFrame(Echo.apiKey, 200, Buffer.from('{"text":"still here"}')));
    const ok = decodeInternal(await next);
    expect(ok).to.deep.equal({ correlationId: 200, code: 0, body: { text: 'still here', clientId: 'raw-test' } });
    expect(w.closed).to.equal(false);
  });

  it('answers a request that does not match the schema with INVALID_REQUEST naming the field', async () => {
    const c = client();
    const err = await rejection(c.call(EchoSkewed, { text: 42 }, { timeoutMs: 5000 }));
    expect(err).to.be.instanceOf(RpcRemoteError);
    expect((err as RpcRemoteError).code).to.equal(ErrorCode.INVALID_REQUEST);
    expect((err as RpcRemoteError).remoteMessage).to.include('text');
    // The client validates before sending too: nothing reaches the server.
    const local = await rejection(c.call(Heartbeat, { nodeId: 'one' as unknown as number }, { timeoutMs: 5000 }));
    expect(local).to.be.instanceOf(RpcProtocolError);
    expect(local.message).to.include('nodeId').and.include('not sent');
    expect(state.beats).to.equal(0);
  });

  it('carries handler errors: KafkaError codes, crashes, responses that break the schema', async () => {
    const c = client();
    const nc = await rejection(c.call(Fail, { mode: 'notController' }, { timeoutMs: 5000 }));
    expect(nc).to.be.instanceOf(RpcRemoteError);
    expect((nc as RpcRemoteError).code).to.equal(ErrorCode.NOT_CONTROLLER);
    expect((nc as RpcRemoteError).codeName).to.equal('NOT_CONTROLLER');
    expect(nc.message).to.include('node 7').and.include('fail');
    const crash = await rejection(c.call(Fail, { mode: 'crash' }, { timeoutMs: 5000 }));
    expect((crash as RpcRemoteError).code).to.equal(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(crash.message).to.include('cannot read properties');
    const bad = await rejection(c.call(Fail, { mode: 'badResponse' }, { timeoutMs: 5000 }));
    expect((bad as RpcRemoteError).code).to.equal(ErrorCode.UNKNOWN_SERVER_ERROR);
    expect(bad.message).to.include('invalid response').and.include('ok');
  });

  it('transfers a 20 MB response while other calls keep working', async () => {
    const c = client();
    const size = 20 * 1024 * 1024;
    const [blob, hb] = await Promise.all([
      c.call(Blob, { bytes: size }, { timeoutMs: 20_000 }),
      c.call(Heartbeat, { nodeId: 2 }, { timeoutMs: 20_000 }),
    ]);
    expect(blob.data.length).to.equal(size);
    expect(blob.data.startsWith('xxx') && blob.data.endsWith('xxx')).to.equal(true);
    expect(hb.beats).to.equal(1);
  });

  it('refuses a request larger than the peer accepts without sending it', async () => {
    const c = client({ maxRequestBytes: 1024 });
    const err = await rejection(c.call(Echo, { text: 'y'.repeat(2000) }, { timeoutMs: 5000 }));
    expect(err).to.be.instanceOf(RpcProtocolError);
    expect(err.message).to.include('1024').and.include('not sent');
    expect((await c.call(Echo, { text: 'small' }, { timeoutMs: 5000 })).text).to.equal('small');
  });

  it('fails calls after close() and while closing', async () => {
    const c = client();
    const poll = c.call(LongPoll, { key: 'closing' }, { timeoutMs: 20_000 });
    await waitFor(() => state.held.has('closing'), 5000, 'the long poll to be held by the server');
    await c.close();
    expect(await rejection(poll)).to.be.instanceOf(RpcUnavailableError);
    const after = await rejection(c.call(Echo, { text: 'x' }, { timeoutMs: 1000 }));
    expect(after).to.be.instanceOf(RpcUnavailableError);
    expect(after.message).to.include('closed');
  });

  it('never advertises internal keys in ApiVersions', async () => {
    const w = await WireClient.connect(server!.port);
    wires.push(w);
    for (const version of [0, 3, 4]) {
      const res = await w.request(ApiVersions, version, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      expect(res.errorCode).to.equal(0);
      const keys = res.apiKeys.map((k) => k.apiKey);
      expect(keys, `ApiVersions v${version}`).to.deep.equal([ApiVersions.key]);
      expect(keys.some((k) => k >= INTERNAL_API_KEY_MIN)).to.equal(false);
    }
    // An unknown ApiVersions version gets the v0 fallback with the full list: still no internal keys.
    const next = w.nextFrame();
    const unknownVersion = w.encodeRequest(ApiVersions, 0, {}, 9);
    unknownVersion.writeInt16BE(99, 6); // after size (4) and apiKey (2)
    w.writeRaw(unknownVersion);
    const fallback = decodeResponse(ApiVersions, 0, await next, 9);
    expect(fallback.errorCode).to.equal(ErrorCode.UNSUPPORTED_VERSION);
    expect(fallback.apiKeys.map((k) => k.apiKey)).to.deep.equal([ApiVersions.key]);
    expect(server!.dispatcher.supportedApis().map((a) => a.apiKey)).to.deep.equal([ApiVersions.key]);
  });
});
