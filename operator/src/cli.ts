// `automq operator [flags]`: every flag also reads AUTOMQ_<FLAG_IN_CAPS> (e.g. AUTOMQ_NAMESPACE).
import { runOperator, type OperatorOptions } from './operator.js';

export const OPERATOR_USAGE = `automq operator [flags]

Runs the Kubernetes operator for AutoMQCluster and TableTopic resources.

  --kubeconfig PATH        kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NS           watch one namespace (default: all)
  --health-port N          /healthz, /readyz and /metrics port (default 8081)
  --leader-elect BOOL      elect a leader through a Lease (default true)
  --lease-namespace NS     namespace of the Lease (default: POD_NAMESPACE)
  --lease-name NAME        Lease name (default automq-operator)
  --workers N              concurrent reconciles (default 2)
  --resync-seconds N       full resync period (default 120)
  --topic-deletion-timeout-seconds N
                           how long a TableTopic deletion retries a failing topic delete
                           before it lets the resource go, the topic possibly left in the
                           cluster (default 300)
  --log-level LEVEL        debug|info|warn|error (default info)
`;

const FLAGS = ['kubeconfig', 'namespace', 'health-port', 'leader-elect', 'lease-namespace', 'lease-name', 'workers', 'resync-seconds', 'topic-deletion-timeout-seconds', 'log-level'] as const;
type Flag = (typeof FLAGS)[number];

export class OperatorUsageError extends Error {}

export function parseOperatorArgs(argv: readonly string[], env: NodeJS.ProcessEnv): OperatorOptions {
  const raw = new Map<Flag, string>();
  for (const f of FLAGS) {
    const v = env[`AUTOMQ_${f.replace(/-/g, '_').toUpperCase()}`];
    if (v !== undefined && v !== '') raw.set(f, v);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new OperatorUsageError(`unexpected argument "${arg}"\n\n${OPERATOR_USAGE}`);
    const eq = arg.indexOf('=');
    const name = (eq >= 0 ? arg.slice(2, eq) : arg.slice(2)) as Flag;
    if (!FLAGS.includes(name)) throw new OperatorUsageError(`unknown flag --${name}\n\n${OPERATOR_USAGE}`);
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new OperatorUsageError(`flag --${name} needs a value`);
    raw.set(name, value);
  }
  const int = (f: Flag): number | undefined => {
    const v = raw.get(f);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new OperatorUsageError(`--${f} must be a non-negative integer, got "${v}"`);
    return Number(v);
  };
  const leaderElect = raw.get('leader-elect');
  if (leaderElect !== undefined && !['true', 'false'].includes(leaderElect)) throw new OperatorUsageError(`--leader-elect must be true or false, got "${leaderElect}"`);
  const logLevel = raw.get('log-level');
  if (logLevel !== undefined && !['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new OperatorUsageError(`--log-level must be debug, info, warn or error`);
  const o: OperatorOptions = {};
  const set = <K extends keyof OperatorOptions>(k: K, v: OperatorOptions[K] | undefined) => {
    if (v !== undefined) o[k] = v;
  };
  set('kubeconfig', raw.get('kubeconfig'));
  set('namespace', raw.get('namespace'));
  set('healthPort', int('health-port'));
  set('leaderElection', leaderElect === undefined ? undefined : leaderElect === 'true');
  set('leaseNamespace', raw.get('lease-namespace'));
  set('leaseName', raw.get('lease-name'));
  set('workers', int('workers'));
  const resync = int('resync-seconds');
  set('resyncIntervalMs', resync === undefined ? undefined : resync * 1000);
  const deletionTimeout = int('topic-deletion-timeout-seconds');
  set('topicDeletionTimeoutMs', deletionTimeout === undefined ? undefined : deletionTimeout * 1000);
  set('logLevel', logLevel as OperatorOptions['logLevel']);
  return o;
}

/** Entry point for the top-level CLI: resolves with the process exit code. */
export async function operatorMain(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(OPERATOR_USAGE);
    return 0;
  }
  let opts: OperatorOptions;
  try {
    opts = parseOperatorArgs(argv, env);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const handle = await runOperator(opts);
  const onSignal = () => void handle.stop();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const { reason } = await handle.done;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  // Losing the Lease means another replica may be acting: exit non-zero so the pod restarts clean.
  return reason === 'lostLeadership' ? 1 : 0;
}
