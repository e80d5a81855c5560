/**
 * The dispatcher of a cluster member's listener while the broker starts: internal RPC is served
 * (the controller, and a broker registering, need it before storage is open), Kafka requests are
 * refused by closing the connection, which every client treats as "retry, maybe elsewhere".
 */
import type { FrameDispatcher } from './server.js';
import type { InternalConnection, InternalRequests } from './dispatcher.js';
import { ProtocolViolation } from './dispatcher.js';

export class StartingDispatcher implements FrameDispatcher {
  constructor(private readonly internal: InternalRequests) {}

  unordered(frame: Buffer): boolean {
    return this.internal.isInternal(frame.readInt16BE(0));
  }

  dispatch(frame: Buffer, conn: InternalConnection): Promise<Buffer | null> {
    const apiKey = frame.readInt16BE(0);
    const apiVersion = frame.readInt16BE(2);
    if (this.internal.serves(apiKey, apiVersion)) return this.internal.dispatch(frame, conn);
    return Promise.reject(new ProtocolViolation(`the broker is starting: Kafka request (API key ${apiKey}) refused; retry shortly`));
  }
}
