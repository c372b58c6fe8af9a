// A minimal Kubernetes REST client for the fake kubelet: requests with the kubeconfig's client
// certificate, and list+watch with relist on errors. Self-contained (node:https + yaml) so the
// kubelet runs under Node's type stripping without a build step.
import { readFileSync } from 'node:fs';
import { Agent, request, type RequestOptions } from 'node:https';
import { parse as parseYaml } from 'yaml';
import { HarnessError, KubeRequestError } from './errors.ts';

export interface KubeMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generateName?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  ownerReferences?: Array<{ kind: string; name: string; uid: string }>;
  creationTimestamp?: string;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: KubeMeta;
  [key: string]: unknown;
}

interface KubeconfigFile {
  'current-context'?: string;
  contexts?: Array<{ name: string; context: { cluster: string; user: string } }>;
  clusters?: Array<{ name: string; cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string } }>;
  users?: Array<{ name: string; user: { 'client-certificate-data'?: string; 'client-key-data'?: string; 'client-certificate'?: string; 'client-key'?: string } }>;
}

function dataOrFile(data: string | undefined, file: string | undefined): Buffer | undefined {
  if (data) return Buffer.from(data, 'base64');
  if (file) return readFileSync(file);
  return undefined;
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface WatchHandlers<T extends KubeObject> {
  onEvent(type: WatchEventType, obj: T): void;
  /** Called after every (re)list with the complete current set. */
  onSync?(objects: T[]): void;
  onError?(err: unknown): void;
}

export interface WatchHandle {
  stop(): void;
}

export class KubeApi {
  readonly server: URL;
  readonly #agent: Agent;

  constructor(kubeconfigPath: string) {
    const kc = parseYaml(readFileSync(kubeconfigPath, 'utf8')) as KubeconfigFile;
    const ctxName = kc['current-context'];
    const ctx = kc.contexts?.find((c) => c.name === ctxName)?.context ?? kc.contexts?.[0]?.context;
    const cluster = kc.clusters?.find((c) => c.name === ctx?.cluster)?.cluster ?? kc.clusters?.[0]?.cluster;
    const user = kc.users?.find((u) => u.name === ctx?.user)?.user ?? kc.users?.[0]?.user;
    if (!cluster?.server || !user) throw new HarnessError('ERR_HARNESS_KUBECONFIG', `${kubeconfigPath}: no cluster server or user`);
    this.server = new URL(cluster.server);
    this.#agent = new Agent({
      keepAlive: true,
      maxSockets: 16,
      ca: dataOrFile(cluster['certificate-authority-data'], cluster['certificate-authority']),
      cert: dataOrFile(user['client-certificate-data'], user['client-certificate']),
      key: dataOrFile(user['client-key-data'], user['client-key']),
    });
  }

  close(): void {
    this.#agent.destroy();
  }

  #options(method: string, path: string, headers: Record<string, string>): RequestOptions {
    return {
      method,
      host: this.server.hostname,
      port: this.server.port,
      path,
      agent: this.#agent,
      headers: { Accept: 'application/json', 'User-Agent': 'sluice-fake-kubelet', ...headers },
    };
  }

  /** One request; resolves the body text, rejects with KubeRequestError on a non-2xx answer. */
  requestText(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<string> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string> = payload ? { 'Content-Type': contentType, 'Content-Length': String(payload.length) } : {};
    return new Promise<string>((resolve, reject) => {
      const req = request(this.#options(method, path, headers), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = res.statusCode ?? 0;
          if (status >= 200 && status <= 299) {
            resolve(text);
            return;
          }
          let reason = '';
          let message = text.slice(0, 500);
          try {
            const s = JSON.parse(text) as { reason?: string; message?: string };
            reason = s.reason ?? '';
            message = s.message ?? message;
          } catch {
            // not a Status object
          }
          reject(new KubeRequestError(method, path, status, reason, message));
        });
      });
      req.setTimeout(30_000, () => req.destroy(new HarnessError('ERR_HARNESS_TIMEOUT', `${method} ${path}: no answer in 30 s`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** One JSON request; rejects with KubeRequestError on a non-2xx answer. */
  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    const text = await this.requestText(method, path, body, contentType);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  /** GET that resolves undefined on 404. */
  async getOptional<T>(path: string): Promise<T | undefined> {
    try {
      return await this.get<T>(path);
    } catch (err) {
      if (err instanceof KubeRequestError && err.isNotFound) return undefined;
      throw err;
    }
  }

  mergePatch<T>(path: string, patch: unknown): Promise<T> {
    return this.request<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  /**
   * List then watch `collectionPath` (e.g. /api/v1/pods), relisting after any error or 410
   * Gone, until stop(). The handler sees synthetic DELETED events for objects that vanished
   * while the watch was down.
   */
  listWatch<T extends KubeObject>(collectionPath: string, handlers: WatchHandlers<T>, query = ''): WatchHandle {
    let stopped = false;
    let current: ReturnType<typeof request> | undefined;
    const known = new Map<string, T>();
    const key = (o: T): string => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
    const sep = query ? '&' : '';

    let rv = '';
    const watchOnce = (): Promise<void> =>
      new Promise<void>((resolve, reject) => {
        const path = `${collectionPath}?${query}${sep}watch=1&allowWatchBookmarks=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=300`;
        const req = request(this.#options('GET', path, {}), (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new KubeRequestError('GET', path, res.statusCode ?? 0, '', 'watch refused'));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, nl).trim();
              buf = buf.slice(nl + 1);
              if (!line) continue;
              const ev = JSON.parse(line) as { type: string; object: T & { code?: number } };
              if (ev.type === 'ERROR') {
                req.destroy();
                reject(new KubeRequestError('GET', path, ev.object.code ?? 500, 'WatchError', JSON.stringify(ev.object)));
                return;
              }
              if (ev.object.metadata?.resourceVersion) rv = ev.object.metadata.resourceVersion;
              if (ev.type === 'BOOKMARK') continue;
              const type = ev.type as WatchEventType;
              if (type === 'DELETED') known.delete(key(ev.object));
              else known.set(key(ev.object), ev.object);
              handlers.onEvent(type, ev.object);
            }
          });
          res.on('end', () => resolve());
          res.on('error', reject);
        });
        current = req;
        req.on('error', reject);
        req.end();
      });

    const loop = async (): Promise<void> => {
      let delay = 200;
      while (!stopped) {
        try {
          const list = await this.get<{ metadata: { resourceVersion: string }; items: T[] }>(`${collectionPath}${query ? `?${query}` : ''}`);
          const fresh = new Map(list.items.map((o) => [key(o), o] as const));
          for (const [k, old] of known) if (!fresh.has(k)) handlers.onEvent('DELETED', old);
          known.clear();
          for (const [k, o] of fresh) {
            known.set(k, o);
            handlers.onEvent('MODIFIED', o);
          }
          handlers.onSync?.(list.items);
          rv = list.metadata.resourceVersion;
          delay = 200;
          // Re-watch from the newest version seen until the server says the version is gone.
          while (!stopped) await watchOnce();
        } catch (err) {
          if (stopped) return;
          if (!(err instanceof KubeRequestError && err.isGone)) handlers.onError?.(err);
          await new Promise((r) => setTimeout(r, delay));
          delay = Math.min(delay * 2, 5_000);
        }
      }
    };
    void loop();
    return {
      stop: () => {
        stopped = true;
        current?.destroy();
      },
    };
  }
}
