import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildSnapshot, type RawObject } from '../../src/store/build.js';
import type { Snapshot } from '../../src/store/snapshot.js';
import { translate } from '../../src/translate/index.js';
import type { RouteTable } from '../../src/translate/ir.js';
import type { TranslateOptions, TranslateResult } from '../../src/translate/status.js';

export const CONTROLLER = 'sluice.dev/gateway-controller';

/** Per-case options (options.yaml next to in.yaml): fixed environment answers keyed by "namespace/name". */
interface CaseOptions {
  gatewayAddress?: Record<string, string>;
  defaultAddresses?: Record<string, { type: string; value: string }[]>;
  grpcRoutes?: boolean;
}

/** Objects of a multi-document YAML file; a GatewayClass `sluice` is implied when none is declared (as the file loader does). */
export function readObjects(text: string): RawObject[] {
  const objects: RawObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors[0].message}`);
    const obj = doc.toJS() as RawObject | null;
    if (obj) objects.push(obj);
  }
  if (!objects.some((o) => o.kind === 'GatewayClass')) {
    objects.unshift({ apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'sluice' }, spec: { controllerName: CONTROLLER } });
  }
  return objects;
}

export function caseOptions(dir: string): TranslateOptions {
  const file = join(dir, 'options.yaml');
  const o: CaseOptions = existsSync(file) ? (parse(readFileSync(file, 'utf8')) as CaseOptions) : {};
  return {
    controllerName: CONTROLLER,
    ...(o.gatewayAddress ? { gatewayAddress: (g) => o.gatewayAddress?.[`${g.namespace}/${g.name}`] } : {}),
    ...(o.defaultAddresses ? { defaultAddresses: (g) => o.defaultAddresses?.[`${g.namespace}/${g.name}`] ?? [] } : {}),
    ...(o.grpcRoutes !== undefined ? { grpcRoutes: o.grpcRoutes } : {}),
  };
}

export function runCase(dir: string): { snapshot: Snapshot; options: TranslateOptions; result: TranslateResult } {
  const snapshot = buildSnapshot(readObjects(readFileSync(join(dir, 'in.yaml'), 'utf8')));
  const options = caseOptions(dir);
  return { snapshot, options, result: translate(snapshot, options) };
}

/** The table with private keys replaced, so golden files never hold key material. */
export function redactTable(table: RouteTable): unknown {
  return {
    ...table,
    ports: table.ports.map((p) => ({
      ...p,
      listeners: p.listeners.map((l) => (l.tls ? { ...l, tls: { ...l.tls, certificates: l.tls.certificates.map((c) => ({ ...c, keyPem: '<redacted>' })) } } : l)),
    })),
    clusters: Object.fromEntries(Object.entries(table.clusters).map(([id, c]) => [
      id,
      c.tls?.clientCertificate ? { ...c, tls: { ...c.tls, clientCertificate: { ...c.tls.clientCertificate, keyPem: '<redacted>' } } } : c,
    ])),
  };
}

export function renderGolden(result: TranslateResult): string {
  return stringify(
    { table: redactTable(result.table), statuses: result.statuses, diagnostics: result.diagnostics },
    { aliasDuplicateObjects: false, lineWidth: 0 },
  );
}

/** The same snapshot with every list reversed: translate() must not depend on input order. */
export function reversedSnapshot(s: Snapshot): Snapshot {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s)) out[k] = [...(v as unknown[])].reverse();
  return out as unknown as Snapshot;
}
