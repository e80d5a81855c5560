/**
 * Orders produce appends and applies storage back-pressure without reordering them.
 *
 * Every produce request passes through one FIFO: it waits for the previous request's append to
 * be done and for the WAL to have room (`ready()`), then appends synchronously. Appends are
 * cheap (offset assignment and a buffer hand-off), so one queue for the broker costs nothing,
 * while a full WAL holds every producer back in arrival order, which bounds memory: waiting
 * requests stay unread in the sockets once a connection has its in-flight maximum.
 */
export class AppendGate {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly storageReady: () => Promise<void>) {}

  /** Runs `append` after every earlier request's append, once storage has room. */
  run<T>(append: () => T): Promise<T> {
    const result = this.tail.then(() => this.storageReady()).then(append);
    this.tail = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  }
}
