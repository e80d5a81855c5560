/**
 * What an internal RPC call can fail with. Every error names the method and the address, so a
 * log line says which peer failed at what.
 *
 *   RpcUnavailableError  no answer: connect refused/reset/timed out, connection lost, or the call
 *                        timed out (RpcTimeoutError). The caller may retry, here or elsewhere.
 *                        `sent` tells whether the request may have reached the peer (and been
 *                        executed): false means it certainly was not.
 *   RpcRemoteError       the peer answered with an error code (Kafka's codes) and a message.
 *   RpcProtocolError     a body that does not match the method's schema (a bug or a version skew
 *                        between brokers), or a request larger than the peer accepts.
 *   RpcAbortedError      the caller's AbortSignal fired.
 */
import { errorInfo } from '../../protocol/errors.js';

export abstract class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly address: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`internal RPC ${method} to ${address}: ${message}`, options);
  }
}

export class RpcUnavailableError extends RpcError {
  override readonly name: string = 'RpcUnavailableError';
  constructor(
    method: string,
    address: string,
    message: string,
    /** Whether the request may have reached the peer. */
    readonly sent: boolean,
    options?: { cause?: unknown },
  ) {
    super(method, address, message, options);
  }
}

export class RpcTimeoutError extends RpcUnavailableError {
  override readonly name = 'RpcTimeoutError';
  constructor(
    method: string,
    address: string,
    readonly timeoutMs: number,
    sent: boolean,
  ) {
    super(
      method,
      address,
      `no answer within ${timeoutMs} ms${sent ? '' : ' (still connecting)'}; the peer is slow, paused or unreachable`,
      sent,
    );
  }
}

export class RpcRemoteError extends RpcError {
  override readonly name = 'RpcRemoteError';
  /** The Kafka error name of `code`, e.g. NOT_CONTROLLER. */
  readonly codeName: string;
  constructor(
    method: string,
    address: string,
    readonly code: number,
    readonly remoteMessage: string,
  ) {
    const name = errorInfo(code).name;
    super(method, address, `${name} (${code}): ${remoteMessage}`);
    this.codeName = name;
  }
}

export class RpcProtocolError extends RpcError {
  override readonly name = 'RpcProtocolError';
}

export class RpcAbortedError extends RpcError {
  override readonly name = 'RpcAbortedError';
}
