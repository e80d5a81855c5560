/**
 * What the handlers of the partition-moving admin APIs (AlterPartitionReassignments,
 * ListPartitionReassignments, ElectLeaders) share: finding the active controller's
 * ClusterController (or the NOT_CONTROLLER answer), bounding a controller call by the request's
 * TimeoutMs, and turning a failed call into an error code and message for the client.
 */
import { ErrorCode, KafkaError } from '../../protocol/errors.js';
import type { BrokerContext } from '../context.js';
import type { ClusterController } from './controller-api.js';
import { notControllerError } from './leadership.js';

export interface ErrorAnswer {
  readonly errorCode: number;
  readonly errorMessage: string;
}

/**
 * The controller to send the request to, or NOT_CONTROLLER. Both must hold: the view names this
 * broker the active controller (a deposed controller that still holds its object must not accept
 * moves), and this broker has a ClusterController (it may be elected but not ready yet).
 */
export function activeController(broker: BrokerContext): { ok: true; controller: ClusterController } | ({ ok: false } & ErrorAnswer) {
  const notController = notControllerError(broker.cluster);
  if (notController) return { ok: false, ...notController };
  if (!broker.controller) {
    return {
      ok: false,
      errorCode: ErrorCode.NOT_CONTROLLER,
      errorMessage: 'this broker was elected controller but its controller is not running yet: retry shortly',
    };
  }
  return { ok: true, controller: broker.controller };
}

/**
 * The result of `work`, or `{ done: false }` once timeoutMs (the request's TimeoutMs; <= 0 means
 * only what is ready at once) has passed. The work itself is not cancelled: a controller that
 * accepts a move after the deadline still makes it, which is why timeout answers say so.
 */
export async function withinTimeout<T>(work: Promise<T>, timeoutMs: number): Promise<{ done: true; value: T } | { done: false }> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<{ done: false }>((resolve) => {
    timer = setTimeout(() => resolve({ done: false }), Math.max(0, timeoutMs));
  });
  try {
    return await Promise.race([work.then((value) => ({ done: true as const, value })), expired]);
  } finally {
    clearTimeout(timer);
  }
}

/** A controller call that threw: its Kafka error code when it carries one, UNKNOWN_SERVER_ERROR otherwise. */
export function controllerFailure(err: unknown, what: string): ErrorAnswer {
  if (err instanceof KafkaError) return { errorCode: err.code, errorMessage: `${what} failed: ${err.message}` };
  const message = err instanceof Error ? err.message : String(err);
  return { errorCode: ErrorCode.UNKNOWN_SERVER_ERROR, errorMessage: `${what} failed on the controller: ${message}; see the controller's log` };
}

/** Map key of a topic-partition (topic names may contain any character, so no separator join). */
export function partitionKey(topic: string, partition: number): string {
  return JSON.stringify([topic, partition]);
}
