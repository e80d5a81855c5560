/**
 * One client connection: frames in, responses out, in request order.
 *
 * Requests are dispatched as soon as they arrive, in arrival order (handlers do their
 * ordering-sensitive work, such as offset assignment, synchronously), and may complete out of
 * order; responses are written strictly in request order. A request answered with NO_RESPONSE
 * (produce with acks=0) takes its place in the order but writes nothing. Reading pauses while too
 * many requests are in flight, which bounds memory per connection.
 */
import type { Socket } from 'node:net';
import { FrameError, FrameReader } from './frame-reader.js';

export type DispatchResult = Buffer | null;

export interface ConnectionOptions {
  id: number;
  maxFrameBytes: number;
  maxInFlight: number;
  /** Handles one frame; resolves to the whole response frame (with size prefix) or null for no response. */
  dispatch: (frame: Buffer, connectionId: number) => Promise<DispatchResult>;
  onError: (connectionId: number, err: Error) => void;
  onClose: (connectionId: number) => void;
}

interface Slot {
  done: boolean;
  response: DispatchResult;
}

export class Connection {
  private readonly frames: FrameReader;
  private readonly queue: Slot[] = [];
  private closed = false;
  private paused = false;

  constructor(
    readonly socket: Socket,
    private readonly opts: ConnectionOptions,
  ) {
    this.frames = new FrameReader(opts.maxFrameBytes);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (err) => opts.onError(opts.id, err));
    socket.on('close', () => {
      this.closed = true;
      opts.onClose(opts.id);
    });
  }

  get id(): number {
    return this.opts.id;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    let frames: Buffer[];
    try {
      frames = this.frames.push(chunk);
    } catch (err) {
      this.opts.onError(this.opts.id, err instanceof FrameError ? err : new Error(String(err)));
      this.close();
      return;
    }
    for (const frame of frames) this.start(frame);
    if (!this.paused && this.queue.length >= this.opts.maxInFlight) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private start(frame: Buffer): void {
    const slot: Slot = { done: false, response: null };
    this.queue.push(slot);
    this.opts.dispatch(frame, this.opts.id).then(
      (response) => {
        slot.done = true;
        slot.response = response;
        this.drain();
      },
      (err: unknown) => {
        // A dispatch failure the dispatcher could not turn into a Kafka error: the stream of
        // responses can no longer be trusted, so the connection goes.
        this.opts.onError(this.opts.id, err instanceof Error ? err : new Error(String(err)));
        this.close();
      },
    );
  }

  private drain(): void {
    while (this.queue.length > 0 && this.queue[0]!.done) {
      const slot = this.queue.shift()!;
      if (slot.response && !this.closed) this.socket.write(slot.response);
    }
    if (this.paused && this.queue.length < this.opts.maxInFlight && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }
}
