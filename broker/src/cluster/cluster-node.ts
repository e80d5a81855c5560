/**
 * Assembles a cluster member (`automq broker`): the listener first (internal RPC only while
 * starting: the controller, possibly this broker, must be reachable before storage opens), then
 * membership (find or become the controller, register, get a node id), then the stream client over
 * the controller's metadata owner, then the same Kafka broker as standalone with a ClusterView fed
 * by the controller's decisions.
 *
 * Stop (SIGTERM): controlled shutdown first (the controller moves this broker's partitions away),
 * then the broker's orderly stop; a broker declared dead while alive stops at once ("restart me").
 */
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'winston';
import type { BrokerOptions } from '../cli/broker-options.js';
import { BrokerConfig } from '../kafka/config/broker-config.js';
import { GROUP_SHARDS_TOPIC } from '../kafka/cluster/cluster-view.js';
import { startBroker } from '../node/broker-node.js';
import type { RunningBroker } from '../node/broker-node.js';
import { createObjectStore } from '../s3stream/index.js';
import { InstrumentedObjectStore } from '../s3stream/object-store/instrumented.js';
import { metadataOwnerOptions, openStreamClientOn } from '../s3stream/stream-client.js';
import { KafkaServer } from '../server/server.js';
import { StartingDispatcher } from '../server/starting-dispatcher.js';
import { KvClusterView } from './kv-cluster-view.js';
import { ClusterMember } from './member.js';
import { RemoteMetadataChannel, serveMetadataChannel } from './metadata/index.js';
import { RpcRouter } from './rpc/index.js';
import type { LeaseApi } from '../k8s/lease-elector.js';

const ELECTIONS = ['store', 'kubernetes-lease'] as const;

/** The controller Lease when controller.election=kubernetes-lease, checked before anything starts. */
async function controllerLease(config: BrokerConfig, clusterId: string | undefined, log: Logger): Promise<LeaseApi | undefined> {
  const election = config.get('controller.election');
  if (!(ELECTIONS as readonly string[]).includes(election)) {
    throw new Error(`controller.election must be one of ${ELECTIONS.join(', ')}, got "${election}"`);
  }
  if (election === 'store') return undefined;
  let name = config.get('controller.lease.name');
  if (name === '') {
    if (clusterId === undefined) throw new Error('controller.election=kubernetes-lease needs controller.lease.name or --cluster-id (the default Lease name is automq-<cluster id>-controller)');
    name = `automq-${clusterId.toLowerCase().replace(/[^a-z0-9-]/g, '-')}-controller`;
  }
  const { kubeLeaseApi, leaseNamespace } = await import('../k8s/kube-lease-api.js');
  const namespace = await leaseNamespace(config.get('controller.lease.namespace') || undefined, process.env);
  const api = await kubeLeaseApi(namespace, name);
  // Fail at start, with the reason, rather than run a broker that can never become controller.
  await api.read().catch((err: unknown) => {
    throw new Error(`controller.election=kubernetes-lease: cannot read the controller Lease: ${err instanceof Error ? err.message : String(err)}`);
  });
  log.info('electing the controller through a Kubernetes Lease', { lease: `${namespace}/${name}` });
  return api;
}

export async function startClusterBroker(opts: BrokerOptions, log: Logger, onFenced: (why: string) => void): Promise<RunningBroker> {
  await mkdir(opts.dataDir, { recursive: true });
  const config = new BrokerConfig(opts.brokerConfig);
  const advertised = opts.advertise ?? opts.listen;
  if (advertised.port === 0) throw new Error('cluster mode needs a known address: set --listen with a port (or --advertise)');
  const lease = await controllerLease(config, opts.clusterId, log);
  const raw = await createObjectStore(opts.objectStoreUrl);
  const s3log = (level: 'debug' | 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void => {
    log.log(level, msg, { component: 's3stream', ...fields });
  };
  const store = new InstrumentedObjectStore(raw, { log: s3log });
  const router = new RpcRouter(log);
  const server = new KafkaServer(
    { host: opts.listen.host, port: opts.listen.port, maxRequestBytes: config.int('socket.request.max.bytes'), maxInFlightPerConnection: 100 },
    new StartingDispatcher(router),
    log,
  );
  const port = await server.start();
  let fenced = false;
  const member = new ClusterMember(
    store,
    router,
    {
      clusterId: opts.clusterId,
      host: advertised.host,
      port: advertised.port,
      rack: opts.rack,
      heartbeatIntervalMs: config.int('broker.heartbeat.interval.ms'),
      sessionTimeoutMs: config.int('broker.session.timeout.ms'),
      controllerSessionTimeoutMs: config.int('controller.session.timeout.ms'),
      releaseTimeoutMs: config.int('partition.release.timeout.ms'),
      groupShards: config.int('offsets.topic.num.partitions'),
      ...(lease === undefined ? {} : { lease }),
    },
    // The controller's metadata owner: openStreamClient's settings (compaction and GC run there).
    metadataOwnerOptions({ nodeId: 0, blockCacheBytes: opts.blockCacheBytes }),
    log,
    (why) => {
      if (fenced) return;
      fenced = true;
      log.error('this broker was fenced while alive; stopping (restart it)', { reason: why });
      onFenced(why);
    },
  );
  serveMetadataChannel(router, () => member.activeOwner(), { log });
  try {
    const nodeId = await member.start();
    const channel = new RemoteMetadataChannel({ locator: member, clientId: `broker-${nodeId}`, log });
    const streams = await openStreamClientOn(channel, {
      store,
      nodeId,
      walFlushIntervalMs: opts.walFlushIntervalMs,
      walFlushBytes: opts.walFlushBytes,
      logCacheBytes: opts.logCacheBytes,
      blockCacheBytes: opts.blockCacheBytes,
      compactionIntervalMs: 0,
      log: s3log,
      // The controller fenced this broker's WAL (it was declared dead): nothing more can be acked.
      onFenced: (err) => member.fencedWhileAlive(`its WAL writer was fenced: ${err.message}`),
    }, {}, { afterClose: () => channel.close() });
    const clusterId = streams.kv.get('cluster/id')?.toString('utf8');
    if (clusterId !== undefined) member.setClusterId(clusterId);
    let view: KvClusterView | undefined;
    const broker = await startBroker({ ...opts, nodeId }, log, 'broker', {
      streams,
      clusterView: () => {
        view = new KvClusterView(streams.kv, nodeId, log);
        view.onChange(() => member.learn(view?.controllerInfo()));
        member.learn(view.controllerInfo());
        return view;
      },
      listener: { server, port, router, keepOpenOnStop: true },
      producerIdBlocks: () => member.allocateProducerIds(),
      activeController: () => member.activeController(),
    });
    member.setReady(async (partitions) => {
      await Promise.all(
        partitions.map((p) => (p.topic === GROUP_SHARDS_TOPIC ? broker.groups.unloadShard(p.partition) : broker.ownership.release(p.topic, p.partition))),
      );
      // The next leader must see every record this broker acked: commit its WAL objects now.
      await streams.commit();
    });
    let stopping: Promise<void> | undefined;
    return {
      ...broker,
      stop() {
        stopping ??= (async () => {
          if (!fenced) {
            const drained = await member.drain(config.int('controlled.shutdown.timeout.ms'));
            log.info(drained ? 'controlled shutdown: partitions moved away' : 'controlled shutdown: deadline passed, stopping anyway', { nodeId });
          }
          // Kafka clients go elsewhere from now on; internal RPC stays up: if this broker is the
          // controller, its own storage still commits through it while closing.
          server.setDispatcher(new StartingDispatcher(router));
          await broker.stop();
          // Storage closed cleanly: the controller may drop this broker now.
          await member.stop({ leaving: !fenced });
          await server.stop();
          view?.close();
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await member.stop().catch(() => undefined);
    await server.stop().catch(() => undefined);
    await store.close().catch(() => undefined);
    throw err;
  }
}
