// The parts of a Pod a kubelet must interpret before it can start containers: volumes
// (Secret, ConfigMap, projected, downward API, emptyDir) materialised into a per-pod directory,
// environment variables (value, fieldRef, secretKeyRef, configMapKeyRef, envFrom, $(VAR)
// expansion), and container paths rewritten onto that directory (there is no mount namespace:
// two pods mounting different Secrets at /etc/secret-volume each get their own directory).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, posix } from 'node:path';
import type { KubeApi, KubeObject } from './kube-api.ts';
import { PodSpecError } from './errors.ts';

export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

export interface Volume {
  name: string;
  secret?: { secretName: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number };
  configMap?: { name: string; items?: KeyToPath[]; optional?: boolean; defaultMode?: number };
  emptyDir?: object;
  downwardAPI?: { items?: Array<{ path: string; fieldRef?: { fieldPath: string } }> };
  projected?: {
    sources?: Array<{
      secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
      configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
      downwardAPI?: { items?: Array<{ path: string; fieldRef?: { fieldPath: string } }> };
      serviceAccountToken?: { path: string };
    }>;
  };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    resourceFieldRef?: { resource: string };
  };
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  envFrom?: Array<{ prefix?: string; configMapRef?: { name: string; optional?: boolean }; secretRef?: { name: string; optional?: boolean } }>;
  volumeMounts?: Array<{ name: string; mountPath: string; subPath?: string }>;
  ports?: Array<{ containerPort: number; protocol?: string; name?: string }>;
}

export interface Pod extends KubeObject {
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    restartPolicy?: string;
    terminationGracePeriodSeconds?: number;
    containers: Container[];
    initContainers?: Container[];
    volumes?: Volume[];
  };
  status?: { phase?: string; podIP?: string; hostIP?: string; [key: string]: unknown };
}

/** Values the downward API can expose for this pod. */
export interface PodFacts {
  readonly podIP: string;
  readonly hostIP: string;
  readonly nodeName: string;
}

/** Something a pod needs does not exist yet; the kubelet retries (like ContainerCreating). */
export class NotYetAvailable extends PodSpecError {}

function fieldValue(pod: Pod, facts: PodFacts, fieldPath: string): string {
  const md = pod.metadata;
  const m = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (m) return (m[1] === 'labels' ? md.labels : md.annotations)?.[m[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return md.name;
    case 'metadata.namespace':
      return md.namespace ?? 'default';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'spec.nodeName':
      return facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec.serviceAccountName ?? 'default';
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'metadata.labels':
      return Object.entries(md.labels ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    case 'metadata.annotations':
      return Object.entries(md.annotations ?? {}).map(([k, v]) => `${k}="${v}"`).join('\n');
    default:
      throw new PodSpecError(`fieldRef ${fieldPath} is not supported`);
  }
}

type DataSource = { data: Record<string, Buffer> } | undefined;

/** Secret / ConfigMap contents, fetched once per pod start. */
class ObjectFetcher {
  readonly #api: KubeApi;
  readonly #namespace: string;
  readonly #cache = new Map<string, DataSource>();

  constructor(api: KubeApi, namespace: string) {
    this.#api = api;
    this.#namespace = namespace;
  }

  async get(kind: 'Secret' | 'ConfigMap', name: string): Promise<DataSource> {
    const key = `${kind}/${name}`;
    if (this.#cache.has(key)) return this.#cache.get(key);
    const plural = kind === 'Secret' ? 'secrets' : 'configmaps';
    const obj = await this.#api.getOptional<{ data?: Record<string, string>; binaryData?: Record<string, string> }>(
      `/api/v1/namespaces/${encodeURIComponent(this.#namespace)}/${plural}/${encodeURIComponent(name)}`,
    );
    let out: DataSource;
    if (obj) {
      const data: Record<string, Buffer> = {};
      for (const [k, v] of Object.entries(obj.data ?? {})) data[k] = kind === 'Secret' ? Buffer.from(v, 'base64') : Buffer.from(v, 'utf8');
      for (const [k, v] of Object.entries(obj.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
      out = { data };
    }
    this.#cache.set(key, out);
    return out;
  }

  /** Contents or a NotYetAvailable error (undefined when optional and missing). */
  async require(kind: 'Secret' | 'ConfigMap', name: string, optional: boolean | undefined): Promise<Record<string, Buffer> | undefined> {
    const src = await this.get(kind, name);
    if (src) return src.data;
    if (optional) return undefined;
    throw new NotYetAvailable(`${kind} ${this.#namespace}/${name} not found`);
  }
}

function writeKeys(dir: string, data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number | undefined, what: string): void {
  const entries = items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
  for (const item of entries) {
    const value = data[item.key];
    if (value === undefined) throw new NotYetAvailable(`${what} has no key ${item.key}`);
    const file = join(dir, posix.normalize(item.path).replace(/^(\.\.\/)+/, ''));
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, value, { mode: item.mode ?? mode ?? 0o644 });
  }
}

/**
 * Write every volume of the pod under `podDir/volumes/<name>`; returns volume name -> dir.
 * Throws NotYetAvailable while a referenced (non-optional) Secret or ConfigMap is missing.
 */
export async function materializeVolumes(api: KubeApi, pod: Pod, facts: PodFacts, podDir: string): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const fetcher = new ObjectFetcher(api, ns);
  const dirs = new Map<string, string>();
  for (const vol of pod.spec.volumes ?? []) {
    const dir = join(podDir, 'volumes', vol.name);
    mkdirSync(dir, { recursive: true });
    dirs.set(vol.name, dir);
    if (vol.secret) {
      const data = await fetcher.require('Secret', vol.secret.secretName, vol.secret.optional);
      if (data) writeKeys(dir, data, vol.secret.items, vol.secret.defaultMode, `Secret ${ns}/${vol.secret.secretName}`);
    } else if (vol.configMap) {
      const data = await fetcher.require('ConfigMap', vol.configMap.name, vol.configMap.optional);
      if (data) writeKeys(dir, data, vol.configMap.items, vol.configMap.defaultMode, `ConfigMap ${ns}/${vol.configMap.name}`);
    } else if (vol.downwardAPI) {
      for (const item of vol.downwardAPI.items ?? []) {
        if (item.fieldRef) writeKeys(dir, { v: Buffer.from(fieldValue(pod, facts, item.fieldRef.fieldPath)) }, [{ key: 'v', path: item.path }], undefined, 'downwardAPI');
      }
    } else if (vol.projected) {
      for (const src of vol.projected.sources ?? []) {
        if (src.secret) {
          const data = await fetcher.require('Secret', src.secret.name, src.secret.optional);
          if (data) writeKeys(dir, data, src.secret.items, undefined, `Secret ${ns}/${src.secret.name}`);
        } else if (src.configMap) {
          const data = await fetcher.require('ConfigMap', src.configMap.name, src.configMap.optional);
          if (data) writeKeys(dir, data, src.configMap.items, undefined, `ConfigMap ${ns}/${src.configMap.name}`);
        } else if (src.downwardAPI) {
          for (const item of src.downwardAPI.items ?? []) {
            if (item.fieldRef) writeKeys(dir, { v: Buffer.from(fieldValue(pod, facts, item.fieldRef.fieldPath)) }, [{ key: 'v', path: item.path }], undefined, 'downwardAPI');
          }
        }
        // serviceAccountToken: no process here talks to the API server; nothing is written.
      }
    }
    // emptyDir, and any other type: an empty directory.
  }
  return dirs;
}

/** Expand $(VAR) references like the kubelet does; $$ escapes, unknown names stay as written. */
export function expandVars(value: string, vars: Readonly<Record<string, string>>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (whole, name: string | undefined) => {
    if (whole === '$$') return '$';
    return name !== undefined && vars[name] !== undefined ? vars[name] : whole;
  });
}

/** The container's environment as the process should see it (before path rewriting). */
export async function resolveEnv(api: KubeApi, pod: Pod, container: Container, facts: PodFacts): Promise<Record<string, string>> {
  const ns = pod.metadata.namespace ?? 'default';
  const fetcher = new ObjectFetcher(api, ns);
  const env: Record<string, string> = {};
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    const data = from.configMapRef
      ? await fetcher.require('ConfigMap', from.configMapRef.name, from.configMapRef.optional)
      : from.secretRef
        ? await fetcher.require('Secret', from.secretRef.name, from.secretRef.optional)
        : undefined;
    for (const [k, v] of Object.entries(data ?? {})) env[prefix + k] = v.toString('utf8');
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = expandVars(e.value ?? '', env);
    } else if (vf.fieldRef) {
      env[e.name] = fieldValue(pod, facts, vf.fieldRef.fieldPath);
    } else if (vf.secretKeyRef || vf.configMapKeyRef) {
      const ref = (vf.secretKeyRef ?? vf.configMapKeyRef)!;
      const data = await fetcher.require(vf.secretKeyRef ? 'Secret' : 'ConfigMap', ref.name, ref.optional);
      const v = data?.[ref.key];
      if (v === undefined && !ref.optional && data) throw new NotYetAvailable(`${ns}/${ref.name} has no key ${ref.key}`);
      if (v !== undefined) env[e.name] = v.toString('utf8');
    } else if (vf.resourceFieldRef) {
      env[e.name] = '0';
    }
  }
  return env;
}

/** Maps container paths onto the pod's volume directories (longest mount path first). */
export function pathRewriter(container: Container, volumeDirs: ReadonlyMap<string, string>): (value: string) => string {
  const mounts = (container.volumeMounts ?? [])
    .map((m) => {
      const dir = volumeDirs.get(m.name);
      if (!dir) throw new PodSpecError(`volumeMount ${m.name}: no such volume`);
      return { from: m.mountPath.replace(/\/+$/, ''), to: m.subPath ? join(dir, m.subPath) : dir };
    })
    .sort((a, b) => b.from.length - a.from.length);
  return (value) => {
    for (const m of mounts) {
      if (value === m.from) return m.to;
      if (value.startsWith(`${m.from}/`)) return m.to + value.slice(m.from.length);
    }
    return value;
  };
}
