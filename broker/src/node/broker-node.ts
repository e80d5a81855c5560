/**
 * Assembles one broker process: object store -> S3Stream client -> topics, logs, groups ->
 * Kafka listener and metrics endpoint, plus background tasks (retention, producer-state
 * snapshots) and an orderly stop.
 *
 * Everything durable goes to the object store; the data dir holds nothing the broker needs to
 * recover (with the default file object store, the objects simply live under it).
 */
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'winston';
import { GroupCoordinator } from '../group/coordinator.js';
import { resolveGroupShardCount } from '../group/shards.js';
import { standaloneClusterView, type ClusterView } from '../kafka/cluster/cluster-view.js';
import type { ClusterController } from '../kafka/cluster/controller-api.js';
import { standaloneController } from '../kafka/cluster/standalone-controller.js';
import type { BrokerContext, NodeInfo } from '../kafka/context.js';
import { BrokerConfig } from '../kafka/config/broker-config.js';
import { HANDLERS } from '../kafka/handlers/index.js';
import { AppendGate } from '../kafka/log/append-gate.js';
import { LeadershipReconciler } from '../kafka/log/leadership-reconciler.js';
import { LogManager } from '../kafka/log/log-manager.js';
import { kvProducerIdBlocks, ProducerIdManager } from '../kafka/producer/producer-id-manager.js';
import { TopicRegistry } from '../kafka/topics/topic-registry.js';
import { TopicService } from '../kafka/topics/topic-service.js';
import { BrokerMetrics } from '../metrics/broker-metrics.js';
import type { KvStore, StreamClient } from '../s3stream/api.js';
import { createObjectStore, openStreamClient } from '../s3stream/index.js';
import { Dispatcher } from '../server/dispatcher.js';
import { KafkaServer } from '../server/server.js';
import type { InternalRequests } from '../server/dispatcher.js';
import type { BrokerOptions } from '../cli/broker-options.js';

export interface RunningBroker {
  readonly port: number;
  readonly metricsPort: number;
  readonly clusterId: string;
  /** Partition ownership: `release(topic, partition)` is the old leader's step of a move. */
  readonly ownership: LeadershipReconciler;
  /** Group coordination: `unloadShard(i)` is the old coordinator's step of a shard move. */
  readonly groups: GroupCoordinator;
  stop(): Promise<void>;
}

const CLUSTER_ID_KEY = 'cluster/id';
const PRODUCER_SNAPSHOT_INTERVAL_MS = 60_000;

/** What a ClusterView factory gets of the broker being assembled. */
export interface LocalBroker {
  /** This broker; read it on every call (the port is known only once the listener is bound). */
  node(): NodeInfo;
  /** The topic catalogue (names, partitions, their leader epochs), with a change signal. */
  topics: TopicRegistry;
}

/**
 * Seams: an injected storage client replaces the object store from the options; an injected
 * ClusterView (cluster mode, or tests) replaces the standalone one, where this broker is the
 * controller and leads every partition.
 */
export interface BrokerDeps {
  streams?: StreamClient;
  clusterView?: (local: LocalBroker) => ClusterView;
  /**
   * The controller behind partition moves and elections. Default: the standalone one without an
   * injected ClusterView, none with one (its admin requests answer NOT_CONTROLLER).
   */
  controller?: (local: LocalBroker) => ClusterController;
  /**
   * Cluster mode: the controller API changes hands at runtime (present while this broker is the
   * active controller); read on every admin request. Overrides `controller`.
   */
  activeController?: () => ClusterController | undefined;
  /**
   * Cluster mode: the listener is already bound (it served internal RPC while the broker started);
   * the broker's dispatcher replaces the starting one and routes internal keys to `router`.
   */
  listener?: { server: KafkaServer; port: number; router: InternalRequests; keepOpenOnStop?: boolean };
  /** Cluster mode: producer-id blocks come from the controller (no two brokers share an id). */
  producerIdBlocks?: () => Promise<{ start: number; count: number }>;
}

export async function startBroker(
  opts: BrokerOptions,
  log: Logger,
  mode: 'standalone' | 'broker',
  deps: BrokerDeps = {},
): Promise<RunningBroker> {
  await mkdir(opts.dataDir, { recursive: true });
  const config = new BrokerConfig(
    mode === 'standalone' ? { 'group.initial.rebalance.delay.ms': '0', ...opts.brokerConfig } : opts.brokerConfig,
  );
  const unused = config.notYetUsed();
  if (unused.length > 0) log.warn('broker configs accepted but not used by this release (their features come later)', { keys: unused });
  const store = deps.streams ? undefined : await createObjectStore(opts.objectStoreUrl);
  const storeDescription = store?.description ?? 'injected';
  const streams = deps.streams ?? await openStreamClient({
    store: store!,
    nodeId: opts.nodeId,
    walFlushIntervalMs: opts.walFlushIntervalMs,
    walFlushBytes: opts.walFlushBytes,
    logCacheBytes: opts.logCacheBytes,
    blockCacheBytes: opts.blockCacheBytes,
    log: (level: string, msg: string, fields?: Record<string, unknown>) => log.log(level, msg, { component: 's3stream', ...fields }),
  });
  const kv = streams.kv;
  const clusterId = await ensureClusterId(kv, opts.clusterId);

  const registry = new TopicRegistry(kv);
  // Topics written elsewhere (in a cluster, by the controller) reach this broker through its replica.
  const stopTopicFollow = kv.onChange((keys) => registry.refresh(keys));
  const advertised = opts.advertise ?? opts.listen;
  let node: NodeInfo = { nodeId: opts.nodeId, host: advertised.host, port: advertised.port, rack: opts.rack };
  const local: LocalBroker = { node: () => node, topics: registry };
  const groupShards = await resolveGroupShardCount(kv, config.int('offsets.topic.num.partitions'));
  if (groupShards.ignoredConfigured) log.warn(groupShards.ignoredConfigured);
  const cluster = deps.clusterView ? deps.clusterView(local) : standaloneClusterView({ ...local, groupShards: groupShards.shards });
  const logs = new LogManager(streams, kv, LeadershipReconciler.events(log));
  const ownership = new LeadershipReconciler(cluster, registry, logs);
  const topicAdmin = new TopicService(registry, logs, ownership, streams, kv, config, log, Date.now);
  await ownership.start();

  // Group shards load while this broker leads them (all of them in standalone); a group whose
  // shard is not loaded here gets NOT_COORDINATOR. The first loads are awaited so a standalone
  // broker serves its groups from the start.
  const groups = GroupCoordinator.create({
    streams,
    shards: groupShards.shards,
    now: Date.now,
    log,
    config: {
      initialRebalanceDelayMs: config.int('group.initial.rebalance.delay.ms'),
      minSessionTimeoutMs: config.int('group.min.session.timeout.ms'),
      maxSessionTimeoutMs: config.int('group.max.session.timeout.ms'),
      offsetsRetentionMs: config.int('offsets.retention.minutes') * 60_000,
    },
  });
  groups.followLeadership(cluster);
  await groups.settled();

  const metrics = new BrokerMetrics(
    () => streams.stats(),
    () =>
      logs.all().map((l) => ({
        topic: l.topic,
        partition: l.partition,
        highWatermark: l.highWatermark(),
        logStartOffset: l.logStartOffset(),
        sizeBytes: l.stream.sizeBytes(),
      })),
  );
  let dispatcher: Dispatcher | undefined;
  const fixedController = deps.controller ? deps.controller(local) : deps.clusterView ? undefined : standaloneController(local);
  const context: BrokerContext = {
    clusterId,
    get node() {
      return node;
    },
    cluster,
    get controller() {
      return deps.activeController ? deps.activeController() : fixedController;
    },
    groups,
    topics: registry,
    log,
    now: Date.now,
    topicAdmin,
    logs,
    // Every stream of the client shares one WAL, so any open stream's ready() is the WAL's room.
    appendGate: new AppendGate(() => groups.storageReady() ?? logs.all()[0]?.stream.ready() ?? Promise.resolve()),
    config,
    producerIds: new ProducerIdManager(deps.producerIdBlocks ?? kvProducerIdBlocks(kv)),
    metrics,
    supportedApis: () => dispatcher?.supportedApis() ?? [],
  };
  dispatcher = new Dispatcher(HANDLERS, context, log, metrics);
  let server: KafkaServer;
  let port: number;
  if (deps.listener !== undefined) {
    dispatcher.serveInternal(deps.listener.router);
    server = deps.listener.server;
    server.setDispatcher(dispatcher);
    port = deps.listener.port;
  } else {
    server = new KafkaServer(
      { host: opts.listen.host, port: opts.listen.port, maxRequestBytes: config.int('socket.request.max.bytes'), maxInFlightPerConnection: 100 },
      dispatcher,
      log,
    );
    port = await server.start();
  }
  if (!opts.advertise && opts.listen.port === 0) node = { ...node, port };
  const metricsPort = await metrics.listen(opts.listen.host === '0.0.0.0' ? '0.0.0.0' : opts.listen.host, opts.metricsPort);

  const timers = [
    setInterval(() => void topicAdmin.enforceRetention(), config.int('log.retention.check.interval.ms')),
    setInterval(() => {
      const idleSince = Date.now() - config.int('producer.id.expiration.ms');
      for (const l of logs.all()) l.expireProducers(idleSince);
      void snapshotProducers(logs.all(), log);
    }, PRODUCER_SNAPSHOT_INTERVAL_MS),
  ];
  for (const t of timers) t.unref();

  log.info('broker ready', {
    mode,
    listen: `${opts.listen.host}:${port}`,
    advertise: `${node.host}:${node.port}`,
    metrics: `http://${opts.listen.host}:${metricsPort}/metrics`,
    nodeId: node.nodeId,
    clusterId,
    objectStore: storeDescription,
  });

  let stopping: Promise<void> | undefined;
  return {
    port,
    metricsPort,
    clusterId,
    ownership,
    groups,
    stop() {
      stopping ??= (async () => {
        log.info('broker stopping');
        for (const t of timers) clearInterval(t);
        stopTopicFollow();
        // A cluster member keeps its listener for internal RPC until it left the cluster.
        if (deps.listener?.keepOpenOnStop !== true) await server.stop();
        await groups.close();
        // Releasing saves each partition's producer state once its accepted appends are durable.
        await ownership.stop();
        await streams.close();
        await store?.close();
        await metrics.close();
        log.info('broker stopped');
      })();
      return stopping;
    },
  };
}

async function ensureClusterId(kv: KvStore, wanted: string | undefined): Promise<string> {
  const existing = kv.get(CLUSTER_ID_KEY)?.toString('utf8');
  if (existing) {
    if (wanted && wanted !== existing) {
      throw new Error(`the object store belongs to cluster "${existing}", not "${wanted}": use the right --object-store or --cluster-id`);
    }
    return existing;
  }
  const id = wanted ?? randomBytes(16).toString('base64url');
  await kv.put(CLUSTER_ID_KEY, Buffer.from(id));
  return id;
}

async function snapshotProducers(logs: readonly { snapshotProducers(): Promise<void>; topic: string; partition: number }[], log: Logger): Promise<void> {
  for (const l of logs) {
    try {
      await l.snapshotProducers();
    } catch (err) {
      log.warn('producer snapshot failed', { topic: l.topic, partition: l.partition, error: (err as Error).message });
    }
  }
}
