#!/usr/bin/env node
/**
 * `automq` command line: `automq standalone` (one process, embedded file object store by
 * default), `automq broker` (a member of a cluster sharing one object store), `automq operator`.
 */
import type { Logger } from 'winston';
import { createLogger } from '../config/logger.js';
import { startBroker } from '../node/broker-node.js';
import { startClusterBroker } from '../cluster/cluster-node.js';
import { parseBrokerOptions } from './broker-options.js';
import { UsageError } from './flags.js';

const USAGE = `usage: automq <command> [flags]

commands:
  standalone   run a single broker with an embedded file-backed object store (default)
  broker       run a cluster member: brokers sharing one --object-store form a cluster
  operator     run the Kubernetes operator (automq operator --help)

flags of standalone and broker (each also as env AUTOMQ_<FLAG_IN_CAPS>):
  --data-dir DIR              local directory (default ./data; a cache only)
  --listen HOST:PORT          Kafka listener (default 127.0.0.1:9092)
  --advertise HOST:PORT       address given to clients (default: --listen)
  --metrics-port PORT         Prometheus /metrics port (default 9464)
  --node-id N                 standalone: broker id (default 0); broker: allocated by the controller
  --object-store URL          file:///abs/path or s3://bucket?endpoint=..&region=..&pathStyle=true
                              (standalone default file://<data-dir>/objects; broker: required,
                              the same for every member)
  --cluster-id ID             expected cluster id (default: from the object store, or new)
  --rack NAME                 rack / availability zone of this broker
  --config FILE               Kafka broker settings (YAML map or .properties)
  --log-level LEVEL           error | warn | info | debug (default info)
  --wal-flush-interval-ms N   WAL flush interval (default 250)
  --wal-flush-bytes N         WAL flush size (default 8388608)
  --log-cache-bytes N         LogCache size (default 268435456)
  --block-cache-bytes N       BlockCache size (default 134217728)
`;

/** Upper bound of an orderly stop after SIGTERM/SIGINT (Kubernetes' grace period should exceed it). */
const SHUTDOWN_TIMEOUT_MS = 60_000;

/** SIGTERM/SIGINT: an orderly stop within SHUTDOWN_TIMEOUT_MS; a second signal exits at once. */
function stopOnSignals(broker: { stop(): Promise<void> }, log: Logger): void {
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals > 1) {
      log.warn('second signal: exiting now', { signal: sig });
      process.exit(1);
    }
    log.info('signal received, shutting down', { signal: sig });
    // A stop that cannot finish (e.g. the object store never accepts the last WAL upload) must
    // not hang the process forever: data not yet acknowledged is the producers' to retry.
    const deadline = setTimeout(() => {
      log.error('shutdown did not finish in time: exiting without flushing; unacknowledged data may be lost', { timeoutMs: SHUTDOWN_TIMEOUT_MS });
      process.exit(1);
    }, SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    broker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error('shutdown failed', { error: (err as Error).stack ?? String(err) });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command === 'standalone' || command === 'broker') {
    const opts = parseBrokerOptions(rest, process.env);
    if (command === 'broker') {
      if (rest.some((f) => f === '--node-id' || f.startsWith('--node-id=')) || process.env['AUTOMQ_NODE_ID'] !== undefined) {
        throw new UsageError('--node-id is not used by "automq broker": the controller allocates node ids');
      }
      if (!rest.some((f) => f === '--object-store' || f.startsWith('--object-store=')) && process.env['AUTOMQ_OBJECT_STORE'] === undefined) {
        throw new UsageError('"automq broker" needs --object-store (the same URL for every member of the cluster)');
      }
    }
    const log = createLogger(opts.logLevel, command === 'standalone' ? { nodeId: opts.nodeId } : {});
    const broker =
      command === 'standalone'
        ? await startBroker(opts, log, 'standalone')
        : await startClusterBroker(opts, log, () => {
            // Fenced while alive: another process holds this broker's place; a restart rejoins cleanly.
            process.exit(3);
          });
    stopOnSignals(broker, log);
    return;
  }
  if (command === 'operator') {
    // Loaded lazily: the broker does not pay for the Kubernetes client, and vice versa.
    const { operatorMain } = await import('../../../operator/src/cli.js');
    process.exitCode = await operatorMain(rest, process.env);
    return;
  }
  throw new UsageError(`unknown command "${command}"; run "automq --help"`);
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    process.stderr.write(`automq: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`automq: ${(err as Error)?.message ?? String(err)}\n`);
  process.exit(1);
});
