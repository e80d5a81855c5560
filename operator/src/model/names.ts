// Names and labels of everything the operator creates for a cluster. Children carry only the
// operator's own labels: copying the CR's labels would copy app.kubernetes.io/instance and
// argocd.argoproj.io/* and make Argo CD adopt or prune the children.
export const FIELD_MANAGER = 'automq-operator';
export const LABEL_CLUSTER = 'automq.io/cluster';
export const LABEL_ZONE = 'automq.io/zone';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const TEMPLATE_HASH_ANNOTATION = 'automq.io/template-hash';
export const CONFIG_HASH_ANNOTATION = 'automq.io/config-hash';

export const names = {
  deployment: (cluster: string, zone: string) => `${cluster}-broker-${zone}`,
  zoneService: (cluster: string, zone: string) => `${cluster}-${zone}`,
  externalService: (cluster: string, zone: string) => `${cluster}-${zone}-external`,
  bootstrapService: (cluster: string) => `${cluster}-bootstrap`,
  headlessService: (cluster: string) => `${cluster}-brokers`,
  configMap: (cluster: string) => `${cluster}-config`,
  serviceAccount: (cluster: string) => `${cluster}-broker`,
  role: (cluster: string) => `${cluster}-broker`,
  pdb: (cluster: string) => `${cluster}-broker`,
};

export function clusterLabels(cluster: string): Record<string, string> {
  return {
    'app.kubernetes.io/name': 'automq',
    'app.kubernetes.io/managed-by': FIELD_MANAGER,
    'app.kubernetes.io/part-of': 'automq',
    [LABEL_CLUSTER]: cluster,
  };
}

export function brokerSelector(cluster: string): Record<string, string> {
  return { [LABEL_CLUSTER]: cluster, [LABEL_COMPONENT]: 'broker' };
}

export function zoneSelector(cluster: string, zone: string): Record<string, string> {
  return { ...brokerSelector(cluster), [LABEL_ZONE]: zone };
}

export function selectorString(sel: Record<string, string>): string {
  return Object.entries(sel)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

/** Service names must be DNS-1035 labels of at most 63 characters. */
export function checkNameLengths(cluster: string, zones: readonly string[]): string | undefined {
  const longest = [names.bootstrapService(cluster), names.headlessService(cluster), ...zones.flatMap((z) => [names.deployment(cluster, z), names.externalService(cluster, z)])];
  const tooLong = longest.filter((n) => n.length > 63);
  if (tooLong.length === 0) return undefined;
  return `child names exceed 63 characters (${tooLong.join(', ')}): shorten the cluster name or the zone names`;
}
