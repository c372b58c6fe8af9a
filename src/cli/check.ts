import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { InputError } from '../errors.js';
import { DEFAULT_CONTROLLER_NAME, DEFAULT_GATEWAY_CLASS } from '../model/objects.js';
import { loadConfig, type LoadResult } from '../sources/file/index.js';
import type { Snapshot } from '../store/snapshot.js';
import type { Condition, Diagnostic, ObjectStatus, TranslateOptions, TranslateResult } from '../translate/status.js';

/** Where output goes: process.stdout/stderr, or anything with write() (tests). */
export interface CheckIO {
  readonly stdout: { write(chunk: string): unknown };
  readonly stderr: { write(chunk: string): unknown };
}

export type Translator = (snapshot: Snapshot, options: TranslateOptions) => TranslateResult;

export interface CheckDeps {
  /** The translator; defaults to src/translate. A seam for tests of the CLI itself. */
  readonly translate?: Translator;
}

const HELP = `Usage: sluice check --config PATH [-o table|yaml] [--controller-name NAME]

Load and translate the Gateway API objects in PATH (a multi-document YAML file
or a directory of them) without serving, and print the status of every
GatewayClass, Gateway, listener and route.

  -c, --config PATH        file or directory to check (required)
  -o, --output FORMAT      table (default): summary tables and every condition;
                           yaml: a List of the objects with their full status stanzas
      --controller-name N  the controllerName Sluice serves (default ${DEFAULT_CONTROLLER_NAME})

Validation errors, warnings and translator diagnostics go to stderr.

Exit status:
  0  every Gateway is Accepted and Programmed, each of its listeners is
     Accepted, Programmed, ResolvedRefs and not Conflicted, every route is
     Accepted with ResolvedRefs for all its parents, and no object was rejected
  1  anything else (a rejected object, a condition above not True, an
     error-level diagnostic, a Gateway whose GatewayClass does not exist, a
     route attached to no Gateway of this controller)
  2  PATH missing or unreadable, a YAML syntax error, or bad usage
Gateways of classes owned by other controllers, and routes attached only to
them, are listed as ignored and do not affect the exit status.
`;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const ROUTE_KINDS = ['HTTPRoute', 'GRPCRoute', 'TLSRoute', 'TCPRoute', 'UDPRoute'] as const;

function conditionsOf(v: unknown): Condition[] {
  return Array.isArray(v) ? (v.filter(isObj) as unknown as Condition[]) : [];
}

function find(conds: readonly Condition[], type: string): Condition | undefined {
  return conds.find((c) => c.type === type);
}

/** "True", "False", "Unknown", or "-" when the condition is absent. */
function statusOf(conds: readonly Condition[], type: string): string {
  return find(conds, type)?.status ?? '-';
}

function nsName(namespace: string, name: string): string {
  return namespace ? `${namespace}/${name}` : name;
}

/** Render rows as a kubectl-style table: columns padded to their widest cell, three spaces apart, last column unpadded. */
export function renderTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? '').length)));
  return all
    .map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ').trimEnd())
    .join('\n') + '\n';
}

interface Problem {
  /** A validation error that rejected an object, or a status/diagnostic finding. */
  readonly source: 'rejected' | 'status';
  readonly object: string;
  readonly message: string;
}

interface Evaluation {
  /** Reasons for exit status 1. */
  readonly problems: Problem[];
  /** Objects deliberately not judged (other controllers). */
  readonly ignored: string[];
}

interface Model {
  readonly snapshot: Snapshot;
  readonly result: TranslateResult;
  readonly controllerName: string;
  readonly statusByKey: ReadonlyMap<string, ObjectStatus>;
}

function keyOf(kind: string, namespace: string, name: string): string {
  return `${kind}/${namespace}/${name}`;
}

function ownedClasses(m: Model): Set<string> {
  return new Set(m.snapshot.gatewayClasses.filter((c) => c.spec.controllerName === m.controllerName).map((c) => c.metadata!.name!));
}

function requireTrue(problems: Problem[], object: string, conds: readonly Condition[], type: string, want: 'True' | 'False' = 'True'): void {
  const c = find(conds, type);
  if (c?.status === want) return;
  const detail = c ? `${type}=${c.status} (${c.reason})${c.message ? `: ${c.message}` : ''}` : `no ${type} condition`;
  problems.push({ source: 'status', object, message: detail });
}

/** Every listener in a Gateway or ListenerSet status must be Accepted, Programmed, ResolvedRefs and not Conflicted. */
function requireListeners(problems: Problem[], label: string, st: ObjectStatus | undefined): void {
  const listeners = Array.isArray(st?.status.listeners) ? st.status.listeners.filter(isObj) : [];
  for (const l of listeners) {
    const lLabel = `${label} listener ${String(l.name)}`;
    const lc = conditionsOf(l.conditions);
    requireTrue(problems, lLabel, lc, 'Accepted');
    requireTrue(problems, lLabel, lc, 'Programmed');
    requireTrue(problems, lLabel, lc, 'ResolvedRefs');
    if (find(lc, 'Conflicted')?.status === 'True') requireTrue(problems, lLabel, lc, 'Conflicted', 'False');
  }
}

/** Decide the exit status: which objects are not as the exit rule wants, and which are not ours. */
function evaluate(m: Model, load: LoadResult): Evaluation {
  const problems: Problem[] = [];
  const ignored: string[] = [];
  const owned = ownedClasses(m);
  const allClasses = new Set(m.snapshot.gatewayClasses.map((c) => c.metadata!.name!));

  for (const e of load.errors) {
    const o = (e as { object?: { kind: string; namespace: string; name: string } }).object;
    problems.push({ source: 'rejected', object: o && o.kind ? `${o.kind} ${nsName(o.namespace, o.name)}` : (e as InputError).file ?? 'input', message: e.message });
  }

  const ourGateways = new Set<string>();
  for (const gw of m.snapshot.gateways) {
    const ns = gw.metadata!.namespace!;
    const name = gw.metadata!.name!;
    const label = `Gateway ${nsName(ns, name)}`;
    const cls = gw.spec.gatewayClassName;
    if (!owned.has(cls)) {
      if (allClasses.has(cls)) ignored.push(`${label}: GatewayClass ${cls} belongs to another controller`);
      else problems.push({ source: 'status', object: label, message: `GatewayClass ${JSON.stringify(cls)} does not exist` });
      continue;
    }
    ourGateways.add(`${ns}/${name}`);
    const st = m.statusByKey.get(keyOf('Gateway', ns, name));
    const conds = conditionsOf(st?.status.conditions);
    requireTrue(problems, label, conds, 'Accepted');
    requireTrue(problems, label, conds, 'Programmed');
    requireListeners(problems, label, st);
  }

  // ListenerSets attached to our Gateways (those have a status); others belong to other controllers.
  for (const set of m.snapshot.listenerSets) {
    const ns = set.metadata?.namespace ?? 'default';
    const name = set.metadata?.name ?? '';
    const st = m.statusByKey.get(keyOf('ListenerSet', ns, name));
    if (st === undefined) continue;
    const label = `ListenerSet ${nsName(ns, name)}`;
    const conds = conditionsOf(st.status.conditions);
    requireTrue(problems, label, conds, 'Accepted');
    requireTrue(problems, label, conds, 'Programmed');
    requireListeners(problems, label, st);
  }

  for (const kind of ROUTE_KINDS) {
    for (const route of routesOf(m.snapshot, kind)) {
      const ns = route.metadata.namespace;
      const name = route.metadata.name;
      const label = `${kind} ${nsName(ns, name)}`;
      const parents = parentStatuses(m, kind, ns, name);
      if (parents.length === 0) {
        const refs = route.parentRefs;
        const allOthers = refs.length > 0 && refs.every((p) => {
          const gw = m.snapshot.gateways.find((g) => g.metadata!.name === p.name && g.metadata!.namespace === (p.namespace ?? ns));
          return gw !== undefined && !ourGateways.has(`${gw.metadata!.namespace}/${gw.metadata!.name}`) && allClasses.has(gw.spec.gatewayClassName);
        });
        if (allOthers) ignored.push(`${label}: attached only to Gateways of other controllers`);
        else problems.push({ source: 'status', object: label, message: `not attached to any Gateway of ${m.controllerName} (no parent status)` });
        continue;
      }
      for (const p of parents) {
        const pLabel = `${label} parent ${parentLabel(p.parentRef, ns)}`;
        requireTrue(problems, pLabel, p.conditions, 'Accepted');
        requireTrue(problems, pLabel, p.conditions, 'ResolvedRefs');
      }
    }
  }

  for (const d of m.result.diagnostics) {
    if (d.severity === 'error') problems.push({ source: 'status', object: `${d.object.kind} ${nsName(d.object.namespace, d.object.name)}`, message: d.message });
  }
  return { problems, ignored };
}

interface RouteView {
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly parentRefs: readonly { readonly name: string; readonly namespace?: string; readonly sectionName?: string; readonly port?: number }[];
}

function routesOf(s: Snapshot, kind: (typeof ROUTE_KINDS)[number]): RouteView[] {
  const list: readonly unknown[] = {
    HTTPRoute: s.httpRoutes, GRPCRoute: s.grpcRoutes, TLSRoute: s.tlsRoutes, TCPRoute: s.tcpRoutes, UDPRoute: s.udpRoutes,
  }[kind];
  return list.filter(isObj).map((r) => {
    const md = isObj(r.metadata) ? r.metadata : {};
    const spec = isObj(r.spec) ? r.spec : {};
    return {
      metadata: { namespace: String(md.namespace ?? 'default'), name: String(md.name ?? '') },
      parentRefs: (Array.isArray(spec.parentRefs) ? spec.parentRefs.filter(isObj) : []) as unknown as RouteView['parentRefs'],
    };
  });
}

interface ParentStatus {
  readonly parentRef: Obj;
  readonly controllerName: string;
  readonly conditions: Condition[];
}

function parentStatuses(m: Model, kind: string, ns: string, name: string): ParentStatus[] {
  const st = m.statusByKey.get(keyOf(kind, ns, name));
  const parents = Array.isArray(st?.status.parents) ? st.status.parents.filter(isObj) : [];
  return parents
    .map((p) => ({ parentRef: isObj(p.parentRef) ? p.parentRef : {}, controllerName: String(p.controllerName ?? ''), conditions: conditionsOf(p.conditions) }))
    .filter((p) => p.controllerName === '' || p.controllerName === m.controllerName);
}

function parentLabel(ref: Obj, routeNs: string): string {
  const ns = typeof ref.namespace === 'string' && ref.namespace !== '' ? ref.namespace : routeNs;
  const kind = typeof ref.kind === 'string' && ref.kind !== 'Gateway' ? `${ref.kind}/` : '';
  let s = `${kind}${ns}/${String(ref.name)}`;
  if (typeof ref.sectionName === 'string' && ref.sectionName !== '') s += `/${ref.sectionName}`;
  if (typeof ref.port === 'number') s += `:${ref.port}`;
  return s;
}

// ---- table output ---------------------------------------------------------------

/** One row of the LISTENER table, for a Gateway's or a ListenerSet's listener. */
function listenerRow(
  id: string,
  l: { readonly protocol: string; readonly port: number; readonly hostname?: string },
  ls: Record<string, unknown> | undefined,
): string[] {
  const lc = conditionsOf(ls?.conditions);
  return [
    id, l.protocol, String(l.port), l.hostname ?? '*',
    ls && typeof ls.attachedRoutes === 'number' ? String(ls.attachedRoutes) : '-',
    statusOf(lc, 'Accepted'), statusOf(lc, 'Programmed'), statusOf(lc, 'ResolvedRefs'), statusOf(lc, 'Conflicted'),
  ];
}

function renderSummary(m: Model): string {
  const out: string[] = [];
  const owned = ownedClasses(m);

  const classRows = m.snapshot.gatewayClasses.map((c) => {
    const name = c.metadata!.name!;
    const conds = conditionsOf(m.statusByKey.get(keyOf('GatewayClass', '', name))?.status.conditions);
    return [name, c.spec.controllerName, owned.has(name) ? statusOf(conds, 'Accepted') : '(other controller)'];
  });
  if (classRows.length > 0) out.push(renderTable(['GATEWAYCLASS', 'CONTROLLER', 'ACCEPTED'], classRows));

  const gatewayRows: string[][] = [];
  const listenerRows: string[][] = [];
  for (const gw of m.snapshot.gateways) {
    const ns = gw.metadata!.namespace!;
    const name = gw.metadata!.name!;
    const st = m.statusByKey.get(keyOf('Gateway', ns, name));
    const conds = conditionsOf(st?.status.conditions);
    const ours = owned.has(gw.spec.gatewayClassName);
    const addresses = Array.isArray(st?.status.addresses)
      ? st.status.addresses.filter(isObj).map((a) => String(a.value)).join(',')
      : (gw.spec.addresses ?? []).map((a) => a.value).join(',');
    gatewayRows.push([
      nsName(ns, name), gw.spec.gatewayClassName, addresses || '-',
      ours ? statusOf(conds, 'Accepted') : '(ignored)', ours ? statusOf(conds, 'Programmed') : '',
    ]);
    if (!ours) continue;
    const lstatus = Array.isArray(st?.status.listeners) ? st.status.listeners.filter(isObj) : [];
    for (const l of gw.spec.listeners) {
      listenerRows.push(listenerRow(`${nsName(ns, name)}/${l.name}`, l, lstatus.find((x) => x.name === l.name)));
    }
  }
  const setRows: string[][] = [];
  for (const set of m.snapshot.listenerSets) {
    const ns = set.metadata?.namespace ?? 'default';
    const name = set.metadata?.name ?? '';
    const st = m.statusByKey.get(keyOf('ListenerSet', ns, name));
    if (st === undefined) continue;
    const conds = conditionsOf(st.status.conditions);
    const parent = set.spec?.parentRef;
    setRows.push([nsName(ns, name), parent ? nsName(parent.namespace ?? ns, parent.name) : '-', statusOf(conds, 'Accepted'), statusOf(conds, 'Programmed')]);
    const lstatus = Array.isArray(st.status.listeners) ? st.status.listeners.filter(isObj) : [];
    for (const l of set.spec?.listeners ?? []) {
      const ls = lstatus.find((x) => x.name === l.name);
      if (ls !== undefined) listenerRows.push(listenerRow(`ListenerSet/${nsName(ns, name)}/${l.name}`, l, ls));
    }
  }
  if (gatewayRows.length > 0) out.push(renderTable(['GATEWAY', 'CLASS', 'ADDRESSES', 'ACCEPTED', 'PROGRAMMED'], gatewayRows));
  if (setRows.length > 0) out.push(renderTable(['LISTENERSET', 'GATEWAY', 'ACCEPTED', 'PROGRAMMED'], setRows));
  if (listenerRows.length > 0) {
    out.push(renderTable(['LISTENER', 'PROTOCOL', 'PORT', 'HOSTNAME', 'ROUTES', 'ACCEPTED', 'PROGRAMMED', 'RESOLVEDREFS', 'CONFLICTED'], listenerRows));
  }

  const routeRows: string[][] = [];
  for (const kind of ROUTE_KINDS) {
    for (const r of routesOf(m.snapshot, kind)) {
      const ns = r.metadata.namespace;
      const name = `${kind}/${nsName(ns, r.metadata.name)}`;
      const parents = parentStatuses(m, kind, ns, r.metadata.name);
      if (parents.length === 0) routeRows.push([name, '(none)', '-', '-']);
      for (const p of parents) {
        routeRows.push([name, parentLabel(p.parentRef, ns), statusOf(p.conditions, 'Accepted'), statusOf(p.conditions, 'ResolvedRefs')]);
      }
    }
  }
  if (routeRows.length > 0) out.push(renderTable(['ROUTE', 'PARENT', 'ACCEPTED', 'RESOLVEDREFS'], routeRows));
  return out.join('\n');
}

/** Every condition of every object the translator gave a status, one row each. */
function renderConditions(m: Model): string {
  const rows: string[][] = [];
  const push = (object: string, where: string, conds: readonly Condition[]): void => {
    conds.forEach((c, i) => rows.push([i === 0 ? object : '', i === 0 ? where : '', c.type, c.status, c.reason, c.message]));
  };
  const order = ['GatewayClass', 'Gateway', 'ListenerSet', ...ROUTE_KINDS];
  const statuses = [...m.result.statuses].sort((a, b) => {
    const ka = order.indexOf(a.kind) === -1 ? order.length : order.indexOf(a.kind);
    const kb = order.indexOf(b.kind) === -1 ? order.length : order.indexOf(b.kind);
    return ka - kb || a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name);
  });
  for (const st of statuses) {
    const object = `${st.kind}/${nsName(st.namespace, st.name)}`;
    push(object, '', conditionsOf(st.status.conditions));
    if (Array.isArray(st.status.listeners)) {
      for (const l of st.status.listeners.filter(isObj)) push(object, `listener ${String(l.name)}`, conditionsOf(l.conditions));
    }
    if (Array.isArray(st.status.parents)) {
      for (const p of st.status.parents.filter(isObj)) {
        push(object, `parent ${parentLabel(isObj(p.parentRef) ? p.parentRef : {}, st.namespace)}`, conditionsOf(p.conditions));
      }
    }
    if (Array.isArray(st.status.ancestors)) {
      for (const p of st.status.ancestors.filter(isObj)) {
        push(object, `ancestor ${parentLabel(isObj(p.ancestorRef) ? p.ancestorRef : {}, st.namespace)}`, conditionsOf(p.conditions));
      }
    }
  }
  return rows.length > 0 ? renderTable(['OBJECT', 'FOR', 'TYPE', 'STATUS', 'REASON', 'MESSAGE'], rows) : '';
}

// ---- yaml output ------------------------------------------------------------------

function renderYaml(m: Model): string {
  const items = m.result.statuses.map((st) => ({
    apiVersion: st.apiVersion,
    kind: st.kind,
    metadata: {
      name: st.name,
      ...(st.namespace ? { namespace: st.namespace } : {}),
      ...(st.generation !== undefined ? { generation: st.generation } : {}),
    },
    status: st.status,
  }));
  return stringify({ apiVersion: 'v1', kind: 'List', items }, { aliasDuplicateObjects: false, lineWidth: 0 });
}

function renderDiagnostic(d: Diagnostic): string {
  const where = d.field ? ` ${d.field}` : '';
  return `${d.severity}: ${d.object.kind} ${nsName(d.object.namespace, d.object.name)}${where}: ${d.message} [${d.code}]\n`;
}

async function defaultTranslate(): Promise<Translator> {
  const mod = await import('../translate/index.js');
  return mod.translate;
}

/** `sluice check`: returns the exit status (0 all good, 1 problems, 2 unreadable input or bad usage). */
export async function runCheck(argv: readonly string[], io: CheckIO, deps: CheckDeps = {}): Promise<number> {
  let values: { config?: string; output?: string; 'controller-name'?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        config: { type: 'string', short: 'c' },
        output: { type: 'string', short: 'o', default: 'table' },
        'controller-name': { type: 'string', default: DEFAULT_CONTROLLER_NAME },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    io.stderr.write(`sluice check: ${(err as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (values.help) {
    io.stdout.write(HELP);
    return 0;
  }
  if (!values.config) {
    io.stderr.write(`sluice check: --config PATH is required\n\n${HELP}`);
    return 2;
  }
  if (values.output !== 'table' && values.output !== 'yaml') {
    io.stderr.write(`sluice check: -o must be table or yaml, not ${JSON.stringify(values.output)}\n`);
    return 2;
  }
  const controllerName = values['controller-name'] ?? DEFAULT_CONTROLLER_NAME;

  let load: LoadResult;
  try {
    load = await loadConfig(values.config, { impliedGatewayClass: { name: DEFAULT_GATEWAY_CLASS, controllerName } });
  } catch (err) {
    if (err instanceof InputError) {
      io.stderr.write(`sluice check: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  const unreadable = load.errors.filter((e) => e instanceof InputError);
  const rejected = load.errors.filter((e) => !(e instanceof InputError));
  for (const e of unreadable) io.stderr.write(`error: ${e.message}\n`);
  for (const e of rejected) io.stderr.write(`error: ${e.message}\n`);
  for (const w of load.warnings) io.stderr.write(`warning: ${w}\n`);

  const translate = deps.translate ?? (await defaultTranslate());
  const result = translate(load.snapshot, { controllerName, grpcRoutes: true });
  for (const d of result.diagnostics) io.stderr.write(renderDiagnostic(d));

  const statusByKey = new Map(result.statuses.map((s) => [keyOf(s.kind, s.namespace, s.name), s]));
  const model: Model = { snapshot: load.snapshot, result, controllerName, statusByKey };
  const { problems, ignored } = evaluate(model, load);

  if (values.output === 'yaml') {
    io.stdout.write(renderYaml(model));
  } else {
    const summary = renderSummary(model);
    const conditions = renderConditions(model);
    io.stdout.write([summary, conditions].filter((s) => s !== '').join('\n') || 'No Gateway API objects found.\n');
  }

  for (const i of ignored) io.stderr.write(`ignored: ${i}\n`);
  if (unreadable.length > 0) {
    io.stderr.write(`\ncheck: input unreadable (${unreadable.length} file${unreadable.length === 1 ? '' : 's'}); the objects of ${unreadable.length === 1 ? 'that file were' : 'those files were'} not checked\n`);
    return 2;
  }
  const inputProblems = problems.filter((p) => p.source === 'rejected');
  const statusProblems = problems.filter((p) => p.source === 'status');
  if (problems.length === 0) {
    io.stderr.write('\ncheck: OK\n');
    return 0;
  }
  io.stderr.write(`\ncheck: FAILED (${problems.length} problem${problems.length === 1 ? '' : 's'})\n`);
  if (inputProblems.length > 0) io.stderr.write(`  ${inputProblems.length} field error${inputProblems.length === 1 ? '' : 's'} rejected objects (listed above)\n`);
  for (const p of statusProblems) io.stderr.write(`  ${p.object}: ${p.message}\n`);
  return 1;
}
