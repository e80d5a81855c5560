/**
 * Where the active controller (and so the metadata owner) is. The cluster's election code
 * implements ControllerLocator; RemoteMetadataChannel only reads it and reports failures.
 */

export interface ControllerAddress {
  readonly nodeId: number;
  readonly host: string;
  readonly port: number;
  /** The controller's epoch: the seq of its owner's `open` record (grows with every takeover). */
  readonly epoch: number;
}

export interface ControllerLocator {
  /** The controller as currently known, or undefined while none is (an election is running). */
  current(): ControllerAddress | undefined;
  /**
   * Resolves when current() may have changed, after timeoutMs, or when the signal aborts, whichever
   * comes first. Never rejects.
   */
  changed(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /**
   * The controller at `addr` did not answer (err: RpcUnavailableError) or answered that it is not the
   * controller (err: RpcRemoteError NOT_CONTROLLER): a hint to look for the controller again.
   */
  reportUnreachable(addr: ControllerAddress, err: Error): void;
}

/**
 * A locator whose controller is set by hand: tests, and a process that learns the controller by
 * other means. set() wakes every changed() waiter.
 */
export class SettableControllerLocator implements ControllerLocator {
  private controller: ControllerAddress | undefined;
  private waiters = new Set<() => void>();
  /** Every report received, oldest first (for tests and diagnostics; bounded to the last 100). */
  readonly reports: { addr: ControllerAddress; error: Error }[] = [];

  constructor(initial?: ControllerAddress) {
    this.controller = initial;
  }

  current(): ControllerAddress | undefined {
    return this.controller;
  }

  set(controller: ControllerAddress | undefined): void {
    this.controller = controller;
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const w of waiters) w();
  }

  changed(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted === true) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  reportUnreachable(addr: ControllerAddress, error: Error): void {
    this.reports.push({ addr, error });
    if (this.reports.length > 100) this.reports.splice(0, this.reports.length - 100);
  }
}

export function describeController(c: ControllerAddress): string {
  return `controller node ${c.nodeId} at ${c.host}:${c.port} (epoch ${c.epoch})`;
}
