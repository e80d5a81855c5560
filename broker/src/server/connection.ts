/**
 * One client connection: frames in, responses out, in request order.
 *
 * Kafka processes one request per connection at a time, so a client sees the effects of every
 * earlier request (read-your-writes on one connection). That is kept here, with one exception:
 * consecutive pipelineable requests (produce) run concurrently, because waiting for each
 * produce's WAL flush before starting the next would cap a connection at one request per flush
 * interval; their order is kept by the handler (offsets are assigned in arrival order). Any
 * other request starts only after everything before it has completed, and nothing after it
 * starts before it completes.
 *
 * Responses are written strictly in request order. A request answered with NO_RESPONSE (produce
 * with acks=0) takes its place in the order but writes nothing. Reading pauses while too many
 * requests are queued, which bounds memory per connection.
 *
 * Unordered requests (internal RPC between brokers, see cluster/rpc/) are the other exception:
 * they start at once, run concurrently with everything, and are answered as soon as they
 * complete, because their client matches answers by correlation id and a held long poll must not
 * delay a heartbeat. They take no place in the ordered response stream but count towards the
 * in-flight limit.
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
  /** Whether a request may run concurrently with the pipelineable requests right before it. */
  pipelineable: (frame: Buffer) => boolean;
  /** Whether a request runs outside the order altogether and is answered whenever it completes. */
  unordered?: (frame: Buffer) => boolean;
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
  /** Frames received but not started yet, with their response slots. */
  private readonly waiting: { frame: Buffer; slot: Slot; pipelineable: boolean }[] = [];
  private running = 0;
  private runningUnordered = 0;
  private runningExclusive = false;
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
    if (!this.paused && this.queue.length + this.runningUnordered >= this.opts.maxInFlight) {
      this.paused = true;
      this.socket.pause();
    }
  }

  private start(frame: Buffer): void {
    if (this.opts.unordered?.(frame)) {
      this.runUnordered(frame);
      return;
    }
    const slot: Slot = { done: false, response: null };
    this.queue.push(slot);
    this.waiting.push({ frame, slot, pipelineable: this.opts.pipelineable(frame) });
    this.startWaiting();
  }

  /** Starts queued requests as far as the one-at-a-time rule (with produce pipelining) allows. */
  private startWaiting(): void {
    while (this.waiting.length > 0 && !this.closed) {
      const next = this.waiting[0]!;
      const canStart = next.pipelineable ? !this.runningExclusive : this.running === 0;
      if (!canStart) return;
      this.waiting.shift();
      this.running++;
      if (!next.pipelineable) this.runningExclusive = true;
      this.run(next.frame, next.slot, !next.pipelineable);
    }
  }

  private run(frame: Buffer, slot: Slot, exclusive: boolean): void {
    this.opts.dispatch(frame, this.opts.id).then(
      (response) => {
        slot.done = true;
        slot.response = response;
        this.running--;
        if (exclusive) this.runningExclusive = false;
        this.drain();
        this.startWaiting();
      },
      (err: unknown) => {
        // A dispatch failure the dispatcher could not turn into a Kafka error: the stream of
        // responses can no longer be trusted, so the connection goes.
        this.opts.onError(this.opts.id, err instanceof Error ? err : new Error(String(err)));
        this.close();
      },
    );
  }

  private runUnordered(frame: Buffer): void {
    this.runningUnordered++;
    this.opts.dispatch(frame, this.opts.id).then(
      (response) => {
        this.runningUnordered--;
        if (response && !this.closed) this.socket.write(response);
        this.maybeResume();
      },
      (err: unknown) => {
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
    this.maybeResume();
  }

  private maybeResume(): void {
    if (this.paused && this.queue.length + this.runningUnordered < this.opts.maxInFlight && !this.closed) {
      this.paused = false;
      this.socket.resume();
    }
  }
}
