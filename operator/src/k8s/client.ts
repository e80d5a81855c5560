// A thin REST client for the few resources the operator touches. It uses @kubernetes/client-node
// only for kubeconfig loading and authentication, and talks HTTP itself so that server-side
// apply, the status subresource and streaming watches all go through one small, testable path.
import http from 'node:http';
import https from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/common.js';
import { CLUSTER_PLURAL } from '../api/automqcluster.js';
import { TOPIC_PLURAL } from '../api/tabletopic.js';

export interface Resource {
  apiVersion: string;
  kind: string;
  plural: string;
  namespaced: boolean;
}

export const RESOURCES = {
  ConfigMap: { apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps', namespaced: true },
  Service: { apiVersion: 'v1', kind: 'Service', plural: 'services', namespaced: true },
  ServiceAccount: { apiVersion: 'v1', kind: 'ServiceAccount', plural: 'serviceaccounts', namespaced: true },
  Secret: { apiVersion: 'v1', kind: 'Secret', plural: 'secrets', namespaced: true },
  Pod: { apiVersion: 'v1', kind: 'Pod', plural: 'pods', namespaced: true },
  Event: { apiVersion: 'v1', kind: 'Event', plural: 'events', namespaced: true },
  Namespace: { apiVersion: 'v1', kind: 'Namespace', plural: 'namespaces', namespaced: false },
  Deployment: { apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments', namespaced: true },
  Role: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', plural: 'roles', namespaced: true },
  RoleBinding: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', plural: 'rolebindings', namespaced: true },
  PodDisruptionBudget: { apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', namespaced: true },
  Lease: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', plural: 'leases', namespaced: true },
  CustomResourceDefinition: { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', plural: 'customresourcedefinitions', namespaced: false },
  AutoMQCluster: { apiVersion: API_VERSION, kind: 'AutoMQCluster', plural: CLUSTER_PLURAL, namespaced: true },
  TableTopic: { apiVersion: API_VERSION, kind: 'TableTopic', plural: TOPIC_PLURAL, namespaced: true },
} as const satisfies Record<string, Resource>;

export function resourceFor(apiVersion: string, kind: string): Resource {
  const r = Object.values(RESOURCES).find((x) => x.apiVersion === apiVersion && x.kind === kind);
  if (!r) throw new Error(`no REST mapping for ${apiVersion} ${kind}: add it to RESOURCES in operator/src/k8s/client.ts`);
  return r;
}

export interface ObjectLike {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

export class KubeApiError extends Error {
  constructor(
    readonly statusCode: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = 'KubeApiError';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 409;
}
export function isGone(err: unknown): boolean {
  return err instanceof KubeApiError && err.statusCode === 410;
}

export interface WatchEvent<T> {
  type: 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';
  object: T;
}

export interface ListResult<T> {
  items: T[];
  resourceVersion: string;
}

/** What the controllers need from the API server; tests can substitute it. */
export interface KubeClient {
  get<T extends ObjectLike>(res: Resource, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<T | undefined>;
  list<T extends ObjectLike>(res: Resource, namespace?: string, labelSelector?: string): Promise<ListResult<T>>;
  /** Streams events until the server ends the watch (resolves) or it fails (rejects; 410 as KubeApiError). */
  watch<T extends ObjectLike>(res: Resource, namespace: string | undefined, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal, labelSelector?: string): Promise<void>;
  apply<T extends ObjectLike>(obj: ObjectLike, opts: { fieldManager: string; force?: boolean; subresource?: 'status' }): Promise<T>;
  create<T extends ObjectLike>(obj: ObjectLike): Promise<T>;
  replace<T extends ObjectLike>(obj: ObjectLike): Promise<T>;
  mergePatch<T extends ObjectLike>(res: Resource, namespace: string | undefined, name: string, patch: unknown, subresource?: 'status'): Promise<T>;
  delete(res: Resource, namespace: string | undefined, name: string, opts?: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' }): Promise<boolean>;
}

export function resourcePath(res: Resource, namespace: string | undefined, name?: string, subresource?: string): string {
  const base = res.apiVersion.includes('/') ? `/apis/${res.apiVersion}` : `/api/${res.apiVersion}`;
  const ns = res.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  const n = name ? `/${encodeURIComponent(name)}` : '';
  const sub = subresource ? `/${subresource}` : '';
  return `${base}${ns}/${res.plural}${n}${sub}`;
}

interface RawResponse {
  status: number;
  body: string;
}

export class HttpKubeClient implements KubeClient {
  private readonly server: URL;

  constructor(
    private readonly kc: KubeConfig,
    private readonly requestTimeoutMs = 30_000,
  ) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster: set KUBECONFIG or run in a pod with a service account');
    this.server = new URL(cluster.server);
  }

  private async options(method: string, path: string, headers: Record<string, string>): Promise<https.RequestOptions> {
    const opts: https.RequestOptions = {
      method,
      protocol: this.server.protocol,
      hostname: this.server.hostname.replace(/^\[|\]$/g, ''),
      port: this.server.port || (this.server.protocol === 'https:' ? 443 : 80),
      path: `${this.server.pathname.replace(/\/$/, '')}${path}`,
      headers: { Accept: 'application/json', ...headers },
    };
    await this.kc.applyToHTTPSOptions(opts);
    return opts;
  }

  private async open(method: string, path: string, body: string | undefined, contentType: string | undefined, signal?: AbortSignal, timeoutMs?: number): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = {};
    if (body !== undefined) {
      headers['Content-Type'] = contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(body));
    }
    const opts = await this.options(method, path, headers);
    const mod = this.server.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = mod.request({ ...opts, ...(signal ? { signal } : {}) }, resolve);
      req.on('error', reject);
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () => req.destroy(new Error(`${method} ${path}: no response within ${timeoutMs} ms`)));
      }
      if (body !== undefined) req.write(body);
      req.end();
    });
  }

  private async request(method: string, path: string, body?: unknown, contentType?: string): Promise<RawResponse> {
    const res = await this.open(method, path, body === undefined ? undefined : JSON.stringify(body), contentType, undefined, this.requestTimeoutMs);
    const chunks: Buffer[] = [];
    for await (const c of res) chunks.push(c as Buffer);
    return { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') };
  }

  private async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request(method, path, body, contentType);
    if (r.status >= 200 && r.status < 300) return JSON.parse(r.body) as T;
    throw toApiError(method, path, r.status, r.body);
  }

  async get<T extends ObjectLike>(res: Resource, namespace: string | undefined, name: string, subresource?: 'status' | 'scale'): Promise<T | undefined> {
    try {
      return await this.json<T>('GET', resourcePath(res, namespace, name, subresource));
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  async list<T extends ObjectLike>(res: Resource, namespace?: string, labelSelector?: string): Promise<ListResult<T>> {
    const q = labelSelector ? `?labelSelector=${encodeURIComponent(labelSelector)}` : '';
    const l = await this.json<{ items: T[]; metadata: { resourceVersion: string } }>('GET', resourcePath(res, namespace) + q);
    // List items carry no apiVersion/kind; restore them so callers can treat them like gets.
    return { items: l.items.map((i) => ({ ...i, apiVersion: res.apiVersion, kind: res.kind })), resourceVersion: l.metadata.resourceVersion };
  }

  async watch<T extends ObjectLike>(res: Resource, namespace: string | undefined, resourceVersion: string, onEvent: (e: WatchEvent<T>) => void, signal: AbortSignal, labelSelector?: string): Promise<void> {
    const q = new URLSearchParams({ watch: 'true', resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: String(240 + Math.floor(Math.random() * 60)) });
    if (labelSelector) q.set('labelSelector', labelSelector);
    const path = `${resourcePath(res, namespace)}?${q.toString()}`;
    const resp = await this.open('GET', path, undefined, undefined, signal);
    if ((resp.statusCode ?? 0) !== 200) {
      const chunks: Buffer[] = [];
      for await (const c of resp) chunks.push(c as Buffer);
      throw toApiError('WATCH', path, resp.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'));
    }
    const lines = createInterface({ input: resp, crlfDelay: Infinity });
    try {
      for await (const line of lines) {
        if (!line.trim()) continue;
        const ev = JSON.parse(line) as WatchEvent<T>;
        if (ev.type === 'ERROR') {
          const st = ev.object as unknown as { code?: number; reason?: string; message?: string };
          throw new KubeApiError(st.code ?? 500, st.reason ?? 'WatchError', `watch ${res.plural}: ${st.message ?? 'error event'}`);
        }
        onEvent(ev);
      }
    } finally {
      lines.close();
      resp.destroy();
    }
    if (signal.aborted) return;
    if (!resp.complete) throw new Error(`watch ${res.plural}: connection closed before the server ended the stream`);
  }

  apply<T extends ObjectLike>(obj: ObjectLike, opts: { fieldManager: string; force?: boolean; subresource?: 'status' }): Promise<T> {
    const res = resourceFor(obj.apiVersion ?? '', obj.kind ?? '');
    const q = new URLSearchParams({ fieldManager: opts.fieldManager });
    if (opts.force) q.set('force', 'true');
    return this.json<T>('PATCH', `${resourcePath(res, obj.metadata?.namespace, obj.metadata?.name, opts.subresource)}?${q.toString()}`, obj, 'application/apply-patch+yaml');
  }

  create<T extends ObjectLike>(obj: ObjectLike): Promise<T> {
    const res = resourceFor(obj.apiVersion ?? '', obj.kind ?? '');
    return this.json<T>('POST', resourcePath(res, obj.metadata?.namespace), obj);
  }

  replace<T extends ObjectLike>(obj: ObjectLike): Promise<T> {
    const res = resourceFor(obj.apiVersion ?? '', obj.kind ?? '');
    return this.json<T>('PUT', resourcePath(res, obj.metadata?.namespace, obj.metadata?.name), obj);
  }

  mergePatch<T extends ObjectLike>(res: Resource, namespace: string | undefined, name: string, patch: unknown, subresource?: 'status'): Promise<T> {
    return this.json<T>('PATCH', resourcePath(res, namespace, name, subresource), patch, 'application/merge-patch+json');
  }

  async delete(res: Resource, namespace: string | undefined, name: string, opts: { propagationPolicy?: 'Foreground' | 'Background' | 'Orphan' } = {}): Promise<boolean> {
    try {
      await this.json('DELETE', resourcePath(res, namespace, name), { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: opts.propagationPolicy ?? 'Background' });
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}

function toApiError(method: string, path: string, status: number, body: string): KubeApiError {
  let reason = 'Unknown';
  let message = body.slice(0, 2000);
  try {
    const st = JSON.parse(body) as { reason?: string; message?: string };
    reason = st.reason ?? reason;
    message = st.message ?? message;
  } catch {
    // not a Status object: keep the raw body
  }
  return new KubeApiError(status, reason, `${method} ${path.split('?')[0]} failed with HTTP ${status} (${reason}): ${message}`);
}
