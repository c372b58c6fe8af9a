import { existsSync } from 'node:fs';
import { KubeConfig, RequestContext, type HttpMethod } from '@kubernetes/client-node';
import { fetch, type Dispatcher } from 'undici';
import { KubeApiError } from './errors.js';

/** The minimal shape every Kubernetes object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: Array<{ apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }>;
    managedFields?: unknown[];
    creationTimestamp?: string;
    deletionTimestamp?: string;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

export interface KubeList<T> {
  apiVersion?: string;
  kind?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

export interface RequestOptions {
  readonly body?: unknown;
  /** Defaults to application/json when a body is given. */
  readonly contentType?: string;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  readonly timeoutMs?: number;
}

export const MERGE_PATCH = 'application/merge-patch+json';
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * A thin JSON client over the Kubernetes REST API, authenticated the way
 * client-node's KubeConfig says (client certs, tokens, exec plugins,
 * impersonation). Paths are absolute API paths ("/api/v1/namespaces/x/services").
 * We talk REST directly rather than through the generated API classes because
 * Gateway API kinds are custom resources and the status writer needs exact
 * control of subresources, content types and error codes.
 */
export class KubeClient {
  readonly kubeConfig: KubeConfig;
  readonly server: string;

  constructor(kubeConfig: KubeConfig) {
    const cluster = kubeConfig.getCurrentCluster();
    if (!cluster) throw new KubeApiError('GET', '/', 0, 'NoCluster', 'the kubeconfig has no current cluster');
    this.kubeConfig = kubeConfig;
    this.server = cluster.server.replace(/\/+$/, '');
  }

  /**
   * Load credentials: an explicit kubeconfig file, else the in-cluster service
   * account when running in a pod, else $KUBECONFIG / ~/.kube/config.
   */
  static load(kubeconfigPath?: string): KubeClient {
    const kc = new KubeConfig();
    if (kubeconfigPath) kc.loadFromFile(kubeconfigPath);
    else if (process.env.KUBERNETES_SERVICE_HOST && existsSync(SERVICE_ACCOUNT_TOKEN)) kc.loadFromCluster();
    else kc.loadFromDefault();
    return new KubeClient(kc);
  }

  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const ctx = new RequestContext(url.toString(), method);
    await this.kubeConfig.applySecurityAuthentication(ctx);
    const headers: Record<string, string> = { ...ctx.getHeaders(), accept: 'application/json' };
    let body: string | undefined;
    if (opts.body !== undefined) {
      body = JSON.stringify(opts.body);
      headers['content-type'] = opts.contentType ?? 'application/json';
    }
    let res: Awaited<ReturnType<typeof fetch>>;
    try {
      res = await fetch(url, {
        method,
        headers,
        body,
        dispatcher: ctx.getDispatcher() as Dispatcher | undefined,
        signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
      });
    } catch (err) {
      throw new KubeApiError(method, path, 0, 'Unreachable', errorMessage(err), { cause: err });
    }
    const text = await res.text();
    if (res.status >= 200 && res.status < 300) {
      return (text ? JSON.parse(text) : undefined) as T;
    }
    let reason = res.statusText || 'Error';
    let message = text.slice(0, 500);
    try {
      const status = JSON.parse(text) as { reason?: string; message?: string };
      if (status.reason) reason = status.reason;
      if (status.message) message = status.message;
    } catch {
      // not a Status object; keep the raw text
    }
    throw new KubeApiError(method, path, res.status, reason, message);
  }

  get<T extends KubeObject>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that maps 404 to undefined. */
  async getOptional<T extends KubeObject>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeApiError && err.isNotFound) return undefined;
      throw err;
    }
  }

  list<T extends KubeObject>(path: string, query?: RequestOptions['query']): Promise<KubeList<T>> {
    return this.request<KubeList<T>>('GET', path, { query });
  }

  create<T extends KubeObject>(path: string, body: T, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('POST', path, { body, query });
  }

  replace<T extends KubeObject>(path: string, body: T, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('PUT', path, { body, query });
  }

  mergePatch<T extends KubeObject>(path: string, patch: unknown, query?: RequestOptions['query']): Promise<T> {
    return this.request<T>('PATCH', path, { body: patch, contentType: MERGE_PATCH, query });
  }

  delete(path: string, query?: RequestOptions['query']): Promise<unknown> {
    return this.request('DELETE', path, { query });
  }
}

export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const cause = (err as { cause?: unknown }).cause;
    return cause instanceof Error && cause.message && cause.message !== err.message ? `${err.message}: ${cause.message}` : err.message;
  }
  return String(err);
}
