import { InputError, ValidationError } from '../../errors.js';
import { DEFAULT_CONTROLLER_NAME, DEFAULT_GATEWAY_CLASS, GATEWAY_GROUP } from '../../model/objects.js';
import { buildSnapshot, isNamespacedKind, type RawObject } from '../../store/build.js';
import type { Snapshot } from '../../store/snapshot.js';
import { applyDefaults } from './defaults.js';
import { formatPath, type FieldPath } from './fieldpath.js';
import { fileKind } from './kinds.js';
import { parseFile, type ParsedDocument } from './parse.js';
import { readInput, type InputFiles } from './read.js';
import { ruleIssues } from './rules.js';
import { schemaIssues, type Issue } from './schema.js';
import { unknownFieldIssues } from './unknown-fields.js';

export interface LoadResult {
  /** Every object that passed validation, plus implied ones (GatewayClass `sluice`, Namespaces). */
  readonly snapshot: Snapshot;
  /**
   * Objects rejected (one ValidationError per failing field) and files that
   * could not be read or parsed (InputError; YamlSyntaxError for syntax errors).
   */
  readonly errors: readonly (ValidationError | InputError)[];
  /** Things worth a look that do not reject anything: unknown kinds, duplicate objects. */
  readonly warnings: readonly string[];
  /** The files read, in load order. */
  readonly files: readonly string[];
  /**
   * False when some file could not be read or has a YAML syntax error, so its
   * objects are missing from `snapshot`. The watcher never applies such a load.
   */
  readonly complete: boolean;
  /** Content hash of the input; equal fingerprints mean identical input. */
  readonly fingerprint: string;
}

export interface LoadOptions {
  /**
   * The GatewayClass to imply when a Gateway references it and no document
   * declares it. Default: `sluice` with controllerName sluice.dev/gateway-controller.
   * `false` implies nothing.
   */
  readonly impliedGatewayClass?: { readonly name: string; readonly controllerName: string } | false;
}

/** At most this many field errors per object: past that they are rarely news. */
const MAX_ISSUES_PER_OBJECT = 20;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);

interface Candidate {
  readonly doc: ParsedDocument;
  /** Where the object sits inside the document: [] or ['items', i] for a List. */
  readonly at: FieldPath;
  readonly value: unknown;
}

/** Split a document into objects: a `kind: List` (or FooList) with `items` holds several. */
function candidates(doc: ParsedDocument): Candidate[] {
  const v = doc.value;
  if (isObj(v) && typeof v.kind === 'string' && v.kind.endsWith('List') && Array.isArray(v.items)) {
    return v.items.map((item: unknown, i: number) => ({ doc, at: ['items', i], value: item }));
  }
  return [{ doc, at: [], value: v }];
}

function where(c: Candidate, path: FieldPath = []): string {
  const pos = c.doc.positionOf([...c.at, ...path]);
  return `${c.doc.file}:${pos.line}:${pos.col}`;
}

function docLabel(c: Candidate): string {
  const item = c.at.length === 2 ? ` item ${String(c.at[1])}` : '';
  return `document ${c.doc.index}${item}`;
}

interface Accepted {
  readonly obj: RawObject;
  readonly origin: string;
}

/**
 * Validate one object the way the API server would on create: apiVersion
 * served for the kind, defaults applied, then the JSON schema and the CEL-style
 * rules (./rules.ts), and no fields the schema does not declare (strict field
 * validation, as kubectl apply asks for). Returns the stored form or the errors.
 */
function admit(c: Candidate, errors: (ValidationError | InputError)[], warnings: string[]): Accepted | undefined {
  const v = c.value;
  const fail = (field: FieldPath, what: string, object = { kind: '', namespace: '', name: '' }): undefined => {
    errors.push(new ValidationError(`${where(c, field)}: ${what}`, object, formatPath(field), c.doc.file));
    return undefined;
  };
  if (!isObj(v)) return fail([], `${docLabel(c)}: not a Kubernetes object (expected a mapping with apiVersion, kind and metadata)`);
  const md = isObj(v.metadata) ? v.metadata : undefined;
  const kind = typeof v.kind === 'string' ? v.kind : '';
  const name = typeof md?.name === 'string' ? md.name : '';
  if (kind !== '' && !fileKind(kind)) {
    const version = typeof v.apiVersion === 'string' ? ` (${v.apiVersion})` : '';
    warnings.push(`${where(c)}: ${docLabel(c)}: kind ${kind}${version} is not used by Sluice; ignored`);
    return undefined;
  }
  const missing = [
    typeof v.apiVersion === 'string' && v.apiVersion !== '' ? undefined : 'apiVersion',
    kind !== '' ? undefined : 'kind',
    name !== '' ? undefined : 'metadata.name',
  ].filter((m): m is string => m !== undefined);
  if (missing.length > 0) {
    const field = missing[0] === 'metadata.name' ? ['metadata', 'name'] : [missing[0]!];
    const what = kind ? `${kind}${name ? ` ${name}` : ''}` : 'object';
    return fail(field, `${docLabel(c)}: ${what} is missing ${missing.join(', ')}`, { kind, namespace: '', name });
  }
  const apiVersion = v.apiVersion as string;
  const spec = fileKind(kind)!;
  const namespace = isNamespacedKind(kind) ? (typeof md?.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default') : '';
  const object = { kind, namespace, name };
  const label = `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
  if (!spec.apiVersions.includes(apiVersion)) {
    return fail(['apiVersion'], `${label}: apiVersion ${JSON.stringify(apiVersion)} is not served for kind ${kind}; use ${spec.apiVersions.join(' or ')}`, object);
  }

  // The stored form: a private copy, converted to the preferred version (the
  // served versions share one schema), status dropped as the API server drops
  // it on create, defaults filled in.
  const unknown = unknownFieldIssues(kind, v);
  const stored: Obj = structuredClone(v);
  stored.apiVersion = spec.apiVersions[0];
  delete stored.status;
  applyDefaults(kind, stored);

  const issues: Issue[] = [...unknown, ...schemaIssues(spec, stored), ...ruleIssues(kind, stored)];
  if (issues.length > 0) {
    for (const issue of issues.slice(0, MAX_ISSUES_PER_OBJECT)) {
      const field = formatPath(issue.path);
      errors.push(new ValidationError(`${where(c, issue.path)}: ${label}: ${field}: ${issue.message}`, object, field, c.doc.file));
    }
    if (issues.length > MAX_ISSUES_PER_OBJECT) {
      errors.push(new ValidationError(`${where(c)}: ${label}: ${issues.length - MAX_ISSUES_PER_OBJECT} more errors not shown`, object, '', c.doc.file));
    }
    return undefined;
  }
  return { obj: stored as RawObject, origin: where(c) };
}

function impliedObjects(accepted: readonly Accepted[], declared: { classes: Set<string> }, opts: LoadOptions): RawObject[] {
  const out: RawObject[] = [];
  const implied = opts.impliedGatewayClass ?? { name: DEFAULT_GATEWAY_CLASS, controllerName: DEFAULT_CONTROLLER_NAME };
  if (implied && !declared.classes.has(implied.name)) {
    const used = accepted.some(({ obj }) => obj.kind === 'Gateway' && isObj(obj.spec) && obj.spec.gatewayClassName === implied.name);
    if (used) {
      out.push({
        apiVersion: `${GATEWAY_GROUP}/v1`,
        kind: 'GatewayClass',
        metadata: { name: implied.name },
        spec: { controllerName: implied.controllerName },
      });
    }
  }
  // An object can only exist in a namespace that exists: imply the Namespaces
  // that objects use but no document declares (labels: only the automatic one).
  const namespaces = new Set<string>();
  const declaredNs = new Set<string>();
  for (const { obj } of accepted) {
    const md = obj.metadata ?? {};
    if (obj.kind === 'Namespace') declaredNs.add(String(md.name));
    else if (isNamespacedKind(String(obj.kind))) namespaces.add(typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default');
  }
  for (const ns of [...namespaces].sort()) {
    if (!declaredNs.has(ns)) out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  }
  return out;
}

/** Parse, validate and snapshot input that has already been read (no I/O). */
export function loadFromInput(input: InputFiles, opts: LoadOptions = {}): LoadResult {
  const errors: (ValidationError | InputError)[] = [...input.errors];
  const warnings: string[] = [];
  const accepted: Accepted[] = [];
  const declaredClasses = new Set<string>();
  let complete = input.errors.length === 0;

  for (const file of input.files) {
    const parsed = parseFile(file.path, file.text);
    if (parsed.errors.length > 0) {
      errors.push(...parsed.errors);
      complete = false;
      continue;
    }
    for (const doc of parsed.documents) {
      for (const c of candidates(doc)) {
        if (isObj(c.value) && c.value.kind === 'GatewayClass' && isObj(c.value.metadata) && typeof c.value.metadata.name === 'string') {
          declaredClasses.add(c.value.metadata.name);
        }
        const a = admit(c, errors, warnings);
        if (a) accepted.push(a);
      }
    }
  }

  // Same kind/namespace/name twice: the later one wins (as a second `kubectl apply` would).
  const seen = new Map<string, string>();
  for (const { obj, origin } of accepted) {
    const md = obj.metadata ?? {};
    const ns = isNamespacedKind(String(obj.kind)) ? (typeof md.namespace === 'string' && md.namespace !== '' ? md.namespace : 'default') : '';
    const key = `${String(obj.kind)} ${ns ? `${ns}/` : ''}${String(md.name)}`;
    const prev = seen.get(key);
    if (prev !== undefined) warnings.push(`${origin}: ${key} is also defined at ${prev}; the later definition wins`);
    seen.set(key, origin);
  }

  const objects = [...accepted.map((a) => a.obj), ...impliedObjects(accepted, { classes: declaredClasses }, opts)];
  return {
    snapshot: buildSnapshot(objects),
    errors,
    warnings,
    files: input.files.map((f) => f.path),
    complete,
    fingerprint: input.fingerprint,
  };
}

/**
 * Load the Kubernetes objects in PATH (a multi-document YAML/JSON file, or a
 * directory of *.yaml, *.yml, *.json files, non-recursive, in name order).
 * Invalid objects are rejected and listed in `errors`; the rest load.
 * Throws InputError only when PATH itself is missing or unreadable.
 */
export async function loadConfig(path: string, opts: LoadOptions = {}): Promise<LoadResult> {
  return loadFromInput(await readInput(path), opts);
}
