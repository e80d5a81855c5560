// Wires informers, the work queue, the controllers, leader election and the health endpoints
// into one process: `automq operator`.
import http from 'node:http';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { Counter, Gauge, Registry } from 'prom-client';
import winston from 'winston';
import { z } from 'zod';
import type { AutoMQCluster } from './api/automqcluster.js';
import { ClusterController, type BrokerEndpoints, type DeploymentObj, type ServiceObj } from './controllers/cluster.js';
import { KubeEventRecorder } from './controllers/events.js';
import { DEFAULT_TOPIC_DELETION_TIMEOUT_MS, TopicController } from './controllers/tabletopic.js';
import { kafkaJsAdminFactory, type TopicAdminFactory } from './kafka/admin.js';
import { AdminPool } from './kafka/pool.js';
import { HttpKubeClient, RESOURCES, type KubeClient, type ObjectLike } from './k8s/client.js';
import { Informer, objectKey, type Logger } from './k8s/informer.js';
import { LeaseElector } from '../../broker/src/k8s/lease-elector.js';
import { kubeClientLeaseApi } from './k8s/lease.js';
import { WorkQueue } from './k8s/workqueue.js';
import { BrokerLoadTracker } from './metrics/broker-load.js';
import { FIELD_MANAGER } from './model/names.js';

export const operatorOptionsSchema = z.object({
  /** Path to a kubeconfig; default: KUBECONFIG, ~/.kube/config, or the in-cluster service account. */
  kubeconfig: z.string().min(1).optional(),
  /** Watch only this namespace; default: all namespaces. */
  namespace: z.string().min(1).optional(),
  /** Port of /healthz, /readyz and /metrics; 0 picks a free port. */
  healthPort: z.number().int().min(0).max(65535).default(8081),
  healthHost: z.string().default('0.0.0.0'),
  leaderElection: z.boolean().default(true),
  leaseNamespace: z.string().min(1).optional(),
  leaseName: z.string().min(1).default('automq-operator'),
  identity: z.string().min(1).optional(),
  leaseDurationMs: z.number().int().min(1000).default(15_000),
  renewDeadlineMs: z.number().int().min(500).default(10_000),
  retryPeriodMs: z.number().int().min(100).default(2_000),
  workers: z.number().int().min(1).max(32).default(2),
  resyncIntervalMs: z.number().int().min(1000).default(120_000),
  /** How often a cluster whose brokers are still moving is looked at again. */
  progressPollMs: z.number().int().min(100).default(5_000),
  logLevel: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  /** "namespace/cluster" -> bootstrap servers; for running outside the cluster network and for tests. */
  kafkaBootstrapOverride: z.record(z.string(), z.array(z.string().min(1))).optional(),
  /** "namespace/cluster" -> broker metrics endpoints; for tests. */
  brokerMetricsOverride: z.record(z.string(), z.array(z.object({ id: z.string(), zone: z.string(), url: z.string(), kafka: z.string().optional() }))).optional(),
  /**
   * How long a TableTopic deletion retries a failing topic delete (cluster unreachable) before the
   * finalizer is removed anyway, with a Warning Event that the topic may remain in the cluster.
   */
  topicDeletionTimeoutMs: z.number().int().min(0).default(DEFAULT_TOPIC_DELETION_TIMEOUT_MS),
  /** Retry interval of a TableTopic that cannot be reconciled yet (cluster missing, topic delete failing). */
  topicRetryMs: z.number().int().min(100).default(30_000),
  /** Scrape broker metrics into status.brokers. */
  scrapeBrokerLoad: z.boolean().default(true),
  /** How often a settled cluster's status.brokers and status.activeController are refreshed. */
  brokerLoadIntervalMs: z.number().int().min(100).default(30_000),
});
export type OperatorOptions = z.input<typeof operatorOptionsSchema>;

export interface OperatorHandle {
  /** Stops controllers, releases the Lease, closes the health server. Safe to call twice. */
  stop(): Promise<void>;
  /** Resolves when the operator stopped (by stop() or because leadership was lost). */
  done: Promise<{ reason: 'stopped' | 'lostLeadership' }>;
  isLeader(): boolean;
  healthPort: number;
}

export interface OperatorTestHooks {
  client?: KubeClient;
  adminFactory?: TopicAdminFactory;
  logger?: Logger;
}

function makeLogger(level: string): Logger {
  const w = winston.createLogger({
    level,
    format: winston.format.combine(winston.format.timestamp(), winston.format.json()),
    defaultMeta: { component: 'operator' },
    transports: [new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] })],
  });
  return { info: (m, meta) => w.info(m, meta), warn: (m, meta) => w.warn(m, meta), error: (m, meta) => w.error(m, meta), debug: (m, meta) => w.debug(m, meta) };
}

function ownerClusterKey(o: ObjectLike): string | undefined {
  const refs = (o.metadata?.['ownerReferences'] as { kind: string; name: string; controller?: boolean }[] | undefined) ?? [];
  const ref = refs.find((r) => r.kind === 'AutoMQCluster' && r.controller);
  return ref ? `${o.metadata?.namespace}/${ref.name}` : undefined;
}

export async function runOperator(input: OperatorOptions = {}, hooks: OperatorTestHooks = {}): Promise<OperatorHandle> {
  const opts = operatorOptionsSchema.parse(input);
  const logger = hooks.logger ?? makeLogger(opts.logLevel);
  let client = hooks.client;
  if (!client) {
    const kc = new KubeConfig();
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    client = new HttpKubeClient(kc);
  }
  const kube = client;
  const now = () => new Date();
  const registry = new Registry();
  const reconciles = new Counter({ name: 'automq_operator_reconcile_total', help: 'Reconciles by kind and result.', labelNames: ['kind', 'result'], registers: [registry] });
  const leaderGauge = new Gauge({ name: 'automq_operator_leader', help: '1 while this replica leads.', registers: [registry] });

  let queue: WorkQueue | undefined;
  let informers: Informer<ObjectLike>[] = [];
  let admins: AdminPool | undefined;
  let resyncTimer: NodeJS.Timeout | undefined;
  let leading = false;
  let controllersReady = false;
  let stopping = false;

  const enqueue = (kind: 'cluster' | 'topic', key: string) => queue?.add(`${kind}:${key}`);

  async function startControllers(): Promise<void> {
    const events = new KubeEventRecorder(kube, FIELD_MANAGER, logger);
    const common = { namespace: opts.namespace, logger } as const;
    const clusters = new Informer<ObjectLike>(kube, RESOURCES.AutoMQCluster, {
      ...common,
      onChange: (o) => {
        enqueue('cluster', objectKey(o));
        for (const t of topics.list()) {
          if (t.metadata?.namespace === o.metadata?.namespace && (t['spec'] as { clusterRef?: { name?: string } } | undefined)?.clusterRef?.name === o.metadata?.name) enqueue('topic', objectKey(t));
        }
      },
    });
    const topics: Informer<ObjectLike> = new Informer<ObjectLike>(kube, RESOURCES.TableTopic, { ...common, onChange: (o) => enqueue('topic', objectKey(o)) });
    const childChanged = (o: ObjectLike) => {
      const k = ownerClusterKey(o);
      if (k) enqueue('cluster', k);
    };
    const selector = `app.kubernetes.io/managed-by=${FIELD_MANAGER}`;
    const deployments = new Informer<DeploymentObj>(kube, RESOURCES.Deployment, { ...common, labelSelector: selector, onChange: childChanged });
    const services = new Informer<ServiceObj>(kube, RESOURCES.Service, { ...common, labelSelector: selector, onChange: childChanged });

    const endpoints = async (c: AutoMQCluster): Promise<BrokerEndpoints | undefined> => {
      const key = `${c.metadata.namespace}/${c.metadata.name}`;
      const metrics = opts.brokerMetricsOverride?.[key];
      if (!metrics) return undefined;
      return { bootstrapServers: opts.kafkaBootstrapOverride?.[key] ?? [], metrics };
    };
    const pool = new AdminPool(hooks.adminFactory ?? kafkaJsAdminFactory);
    admins = pool;
    const bootstrapFor = (c: AutoMQCluster) => opts.kafkaBootstrapOverride?.[`${c.metadata.namespace}/${c.metadata.name}`];
    const clusterController = new ClusterController({
      client: kube,
      clusters,
      deployments: deployments as Informer<DeploymentObj>,
      services: services as Informer<ServiceObj>,
      events,
      logger,
      now,
      progressPollMs: opts.progressPollMs,
      admins: pool,
      bootstrapFor,
      ...(opts.scrapeBrokerLoad ? { loadTracker: new BrokerLoadTracker(), loadIntervalMs: opts.brokerLoadIntervalMs } : {}),
      ...(opts.brokerMetricsOverride ? { endpoints } : {}),
    });
    const tc = new TopicController({ client: kube, topics, clusters, admins: pool, events, logger, now, bootstrapFor, deletionTimeoutMs: opts.topicDeletionTimeoutMs, retryMs: opts.topicRetryMs });
    queue = new WorkQueue(
      async (item) => {
        const [kind, key] = [item.slice(0, item.indexOf(':')), item.slice(item.indexOf(':') + 1)];
        const r = kind === 'cluster' ? await clusterController.reconcile(key) : await tc.reconcile(key);
        reconciles.inc({ kind, result: 'success' });
        return r;
      },
      {
        workers: opts.workers,
        onError: (item, err, attempt) => {
          reconciles.inc({ kind: item.slice(0, item.indexOf(':')), result: 'error' });
          logger.warn(`reconcile ${item} failed (attempt ${attempt}): ${err instanceof Error ? err.message : String(err)}`);
        },
      },
    );
    informers = [clusters, topics, deployments as Informer<ObjectLike>, services as Informer<ObjectLike>];
    // Children first, so the first cluster reconcile sees the live Deployments.
    await Promise.all(informers.map((i) => i.start()));
    queue.start();
    resyncTimer = setInterval(() => {
      for (const c of clusters.list()) enqueue('cluster', objectKey(c));
      for (const t of topics.list()) enqueue('topic', objectKey(t));
    }, opts.resyncIntervalMs);
    resyncTimer.unref();
    controllersReady = true;
    logger.info('controllers started');
  }

  async function stopControllers(): Promise<void> {
    controllersReady = false;
    if (resyncTimer) clearInterval(resyncTimer);
    resyncTimer = undefined;
    await queue?.stop();
    queue = undefined;
    await Promise.all(informers.map((i) => i.stop()));
    informers = [];
    await admins?.close();
    admins = undefined;
  }

  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(stopping ? 503 : 200).end(stopping ? 'stopping\n' : 'ok\n');
    } else if (path === '/readyz') {
      // A standby replica is ready too: it is healthy and waiting for the Lease.
      const ready = !stopping && (!leading || controllersReady);
      res.writeHead(ready ? 200 : 503).end(ready ? 'ok\n' : 'not ready\n');
    } else if (path === '/metrics') {
      registry
        .metrics()
        .then((m) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(m))
        .catch((e: unknown) => res.writeHead(500).end(String(e)));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.healthPort, opts.healthHost, () => resolve());
  });
  const healthPort = (server.address() as AddressInfo).port;

  let resolveDone!: (v: { reason: 'stopped' | 'lostLeadership' }) => void;
  const done = new Promise<{ reason: 'stopped' | 'lostLeadership' }>((r) => (resolveDone = r));
  let elector: LeaseElector | undefined;
  let electorLoop: Promise<void> | undefined;
  let stopPromise: Promise<void> | undefined;

  const stop = (reason: 'stopped' | 'lostLeadership' = 'stopped'): Promise<void> => {
    stopPromise ??= (async () => {
      stopping = true;
      await stopControllers();
      await elector?.stop();
      await electorLoop;
      leading = false;
      leaderGauge.set(0);
      await new Promise<void>((r) => server.close(() => r()));
      server.closeAllConnections?.();
      logger.info(`operator stopped (${reason})`);
      resolveDone({ reason });
    })();
    return stopPromise;
  };

  if (opts.leaderElection) {
    const leaseNs = opts.leaseNamespace ?? process.env['POD_NAMESPACE'] ?? opts.namespace ?? 'default';
    elector = new LeaseElector(kubeClientLeaseApi(kube, leaseNs, opts.leaseName), {
      identity: opts.identity ?? `${os.hostname()}-${process.pid}`,
      leaseDurationMs: opts.leaseDurationMs,
      renewDeadlineMs: opts.renewDeadlineMs,
      retryPeriodMs: opts.retryPeriodMs,
      log: logger,
    });
    const el = elector;
    electorLoop = el.run({
      onStarted: async () => {
        leading = true;
        leaderGauge.set(1);
        try {
          await startControllers();
        } catch (err) {
          logger.error(`starting controllers failed: ${err instanceof Error ? err.message : String(err)}`);
          void stop('lostLeadership');
        }
      },
      onStopped: async () => {
        if (!stopping) {
          // Another replica may already be acting: stop at once rather than race it.
          leading = false;
          leaderGauge.set(0);
          void stop('lostLeadership');
        }
      },
    });
  } else {
    leading = true;
    leaderGauge.set(1);
    await startControllers();
  }

  return { stop: () => stop('stopped'), done, isLeader: () => leading && !stopping, healthPort };
}
