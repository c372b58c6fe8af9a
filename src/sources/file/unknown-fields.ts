import type { FieldPath } from './fieldpath.js';
import { KNOWN_FIELDS, OBJECT_META, type FieldTree } from './known-fields.js';
import type { Issue } from './schema.js';

const TOP: Readonly<Record<string, true>> = { apiVersion: true, kind: true, metadata: true, status: true };

function walk(value: unknown, tree: FieldTree, path: (string | number)[], out: Issue[]): void {
  if (value === null || value === undefined || tree === 1 || tree === '*') return;
  if (Array.isArray(tree)) {
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, tree[0], [...path, i], out));
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value)) return; // wrong types are the schema check's business
  const fields = tree as { readonly [field: string]: FieldTree };
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = Object.hasOwn(fields, k) ? fields[k] : undefined;
    if (sub === undefined) out.push({ path: [...path, k], message: 'field not declared in schema (unknown field)' });
    else walk(v, sub, [...path, k], out);
  }
}

/**
 * Fields the kind's schema does not declare. The API server rejects them
 * under strict field validation (kubectl apply's default), and silently
 * dropping them would hide typos such as `matchs:` that change routing.
 */
export function unknownFieldIssues(kind: string, obj: Record<string, unknown>): Issue[] {
  const tree = KNOWN_FIELDS[kind === 'XListenerSet' ? 'ListenerSet' : kind];
  if (!tree || typeof tree !== 'object' || Array.isArray(tree)) return [];
  const out: Issue[] = [];
  const fields = tree as { readonly [field: string]: FieldTree };
  for (const [k, v] of Object.entries(obj)) {
    const path: FieldPath = [k];
    if (k === 'metadata') walk(v, OBJECT_META, [k], out);
    else if (Object.hasOwn(fields, k)) walk(v, fields[k]!, [k], out);
    else if (!TOP[k]) out.push({ path, message: 'field not declared in schema (unknown field)' });
  }
  return out;
}
