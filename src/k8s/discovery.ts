import type { KubeClient } from './client.js';
import { KubeApiError, KubeSetupError } from './errors.js';
import { GATEWAY_KINDS, type ResourceSpec } from './resources.js';

/** What /apis/<group>/<version> says about one resource. */
export interface DiscoveredResource {
  readonly name: string;
  readonly kind: string;
  readonly namespaced: boolean;
  readonly verbs?: readonly string[];
}

/** group -> version -> resources served at that version. */
export type DiscoveryDoc = ReadonlyMap<string, ReadonlyMap<string, readonly DiscoveredResource[]>>;

/** GA first, then betas, then alphas (newest first within a level). */
const VERSION_ORDER = ['v1', 'v1beta2', 'v1beta1', 'v1alpha3', 'v1alpha2', 'v1alpha1'];

function versionRank(v: string): number {
  const i = VERSION_ORDER.indexOf(v);
  return i < 0 ? VERSION_ORDER.length : i;
}

/**
 * Pick, for every Gateway API kind we know, the most stable version the API
 * server serves (v1 before v1beta1 before alphas). Kinds that are not served
 * are absent from the result; a fallback kind (XListenerSet) is only used when
 * the kind it stands in for is not served. Pure, for tests.
 */
export function chooseGatewayResources(doc: DiscoveryDoc): Map<string, ResourceSpec> {
  const out = new Map<string, ResourceSpec>();
  for (const spec of GATEWAY_KINDS) {
    if (spec.fallbackFor && out.has(spec.fallbackFor)) continue;
    const versions = doc.get(spec.group);
    if (!versions) continue;
    const candidates = [...versions.entries()]
      .filter(([, resources]) => resources.some((r) => r.name === spec.plural && r.kind === spec.kind && servesListWatch(r)))
      .map(([version]) => version)
      .sort((a, b) => versionRank(a) - versionRank(b) || (a < b ? -1 : 1));
    const version = candidates[0];
    if (version) out.set(spec.kind, { kind: spec.kind, group: spec.group, version, plural: spec.plural, namespaced: spec.namespaced });
  }
  return out;
}

function servesListWatch(r: DiscoveredResource): boolean {
  return !r.verbs || (r.verbs.includes('list') && r.verbs.includes('watch'));
}

/** Missing required kinds, as a readable sentence, or undefined when all are served. */
export function missingRequiredKinds(chosen: ReadonlyMap<string, ResourceSpec>): string[] {
  return GATEWAY_KINDS.filter((k) => k.required && !chosen.has(k.kind)).map((k) => k.kind);
}

interface ApiGroupDoc {
  versions?: Array<{ groupVersion: string; version: string }>;
}

interface ApiResourceListDoc {
  resources?: Array<{ name: string; kind: string; namespaced: boolean; verbs?: string[] }>;
}

/** Read the discovery documents of the Gateway API groups. */
export async function readGatewayDiscovery(client: KubeClient): Promise<DiscoveryDoc> {
  const groups = [...new Set(GATEWAY_KINDS.map((k) => k.group))];
  const doc = new Map<string, Map<string, DiscoveredResource[]>>();
  for (const group of groups) {
    let groupDoc: ApiGroupDoc;
    try {
      groupDoc = await client.request<ApiGroupDoc>('GET', `/apis/${group}`);
    } catch (err) {
      if (err instanceof KubeApiError && err.isNotFound) continue;
      throw err;
    }
    const versions = new Map<string, DiscoveredResource[]>();
    for (const v of groupDoc.versions ?? []) {
      try {
        const list = await client.request<ApiResourceListDoc>('GET', `/apis/${group}/${v.version}`);
        versions.set(
          v.version,
          (list.resources ?? []).filter((r) => !r.name.includes('/')).map((r) => ({ name: r.name, kind: r.kind, namespaced: r.namespaced, verbs: r.verbs })),
        );
      } catch (err) {
        // A version being removed can 404 between the two requests; skip it.
        if (!(err instanceof KubeApiError && err.isNotFound)) throw err;
      }
    }
    doc.set(group, versions);
  }
  return doc;
}

/** Discover served Gateway API kinds; throws KubeSetupError when the required CRDs are missing. */
export async function discoverGatewayResources(client: KubeClient): Promise<Map<string, ResourceSpec>> {
  const chosen = chooseGatewayResources(await readGatewayDiscovery(client));
  const missing = missingRequiredKinds(chosen);
  if (missing.length > 0) {
    throw new KubeSetupError(
      `the API server does not serve ${missing.join(', ')} (gateway.networking.k8s.io): install the Gateway API CRDs first`,
    );
  }
  return chosen;
}
