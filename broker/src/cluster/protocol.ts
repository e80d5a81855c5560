/**
 * Internal RPCs of cluster membership (keys 32040..32049; the metadata channel has its own block):
 * brokers register and heartbeat with the active controller, the controller asks a broker to
 * release partitions before it moves them, and producer-id blocks come from the controller so no
 * two brokers hand out the same id.
 */
import { z } from 'zod';
import { defineRpc } from './rpc/index.js';

const nodeId = z.number().int().nonnegative();

export const BrokerRegister = defineRpc({
  apiKey: 32040,
  name: 'BrokerRegister',
  request: z.object({
    /** The cluster the broker was told to join (--cluster-id), or null to join whatever the store holds. */
    clusterId: z.string().min(1).nullable(),
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535),
    rack: z.string().min(1).nullable(),
    /** Random per process start: tells a restarted broker from the old process at the same address. */
    incarnation: z.string().min(1),
  }),
  response: z.object({ nodeId }),
});

export const BrokerHeartbeat = defineRpc({
  apiKey: 32041,
  name: 'BrokerHeartbeat',
  request: z.object({
    nodeId,
    incarnation: z.string().min(1),
    /** The broker has opened its storage and serves Kafka requests: it may lead partitions. */
    ready: z.boolean(),
    /** SIGTERM: move my partitions away (controlled shutdown). */
    shuttingDown: z.boolean(),
    /**
     * The last heartbeat of an orderly stop: the broker no longer serves and its storage is closed
     * (every ack durable and committed), so the controller can drop it now, not a session later.
     */
    leaving: z.boolean().optional(),
  }),
  response: z.object({
    /** fenced: this process must stop (another incarnation took its place or it was declared dead). */
    state: z.enum(['alive', 'fenced']),
    /** Controlled shutdown: true once the broker leads nothing any more. */
    drained: z.boolean(),
  }),
});

export const partitionRef = z.object({ topic: z.string().min(1), partition: z.number().int().nonnegative(), leaderEpoch: z.number().int().nonnegative() });

export const ReleasePartitions = defineRpc({
  apiKey: 32042,
  name: 'ReleasePartitions',
  request: z.object({ partitions: z.array(partitionRef) }),
  /** Released and their data committed to the metadata: the next leader sees everything. */
  response: z.object({ released: z.array(partitionRef) }),
});

export const AllocateProducerIds = defineRpc({
  apiKey: 32043,
  name: 'AllocateProducerIds',
  request: z.object({ nodeId }),
  response: z.object({ start: z.number().int().nonnegative(), count: z.number().int().positive() }),
});

/** The `info` of the controller's `open` record and the KV `cluster/controller` value. */
export const controllerInfoSchema = z.object({
  nodeId,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  /** Seq of the controller's `open` record in the metadata log. */
  epoch: z.number().int().nonnegative(),
  /** Written by a controller stopping in order: elect a successor now, not after its silence. */
  resigned: z.boolean().optional(),
});
export type ControllerInfo = z.infer<typeof controllerInfoSchema>;

/** KV `brokers/<nodeId>`: a registered broker as the controller last decided. */
export const brokerRecordSchema = z.object({
  nodeId,
  host: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  rack: z.string().min(1).nullable(),
  incarnation: z.string().min(1),
  /** registered: storage opening; alive: may lead; draining: shutting down; fenced: declared dead. */
  state: z.enum(['registered', 'alive', 'draining', 'fenced']),
});
export type BrokerRecord = z.infer<typeof brokerRecordSchema>;

/** KV `leaders/<topic>`: leader and leader epoch of every partition (index = partition). */
export const leadersSchema = z.array(z.object({ leader: z.number().int().min(-1), epoch: z.number().int().nonnegative() }));
export type Leaders = z.infer<typeof leadersSchema>;

export const KV = {
  controller: 'cluster/controller',
  brokerPrefix: 'brokers/',
  leadersPrefix: 'leaders/',
  broker: (id: number) => `brokers/${id}`,
  leaders: (topic: string) => `leaders/${topic}`,
} as const;
