import type { KindSpec } from './kinds.js';
import { pointerToPath, type FieldPath } from './fieldpath.js';

/** One reason an object is invalid: where, and what the API server would say. */
export interface Issue {
  readonly path: FieldPath;
  readonly message: string;
}

/** The part of an ajv error we read (the runtime error carries ajv's ErrorObject[]). */
interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly params: Record<string, unknown>;
  readonly message?: string;
}

function show(value: unknown): string {
  const s = JSON.stringify(value);
  if (s === undefined) return String(value);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function valueAt(data: unknown, path: FieldPath): unknown {
  let node = data;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}

/** Phrase an ajv error like the API server's field errors ("Required value", "Unsupported value: ..."). */
function toIssue(err: AjvError, data: unknown): Issue {
  const path = pointerToPath(err.instancePath, data);
  const value = valueAt(data, path);
  const p = err.params;
  switch (err.keyword) {
    case 'required':
      return { path: [...path, String(p.missingProperty)], message: 'Required value' };
    case 'enum':
      return {
        path,
        message: `Unsupported value: ${show(value)}: supported values: ${(p.allowedValues as unknown[]).map(show).join(', ')}`,
      };
    case 'type':
      return { path, message: `Invalid value: ${show(value)}: must be of type ${String(p.type)}` };
    case 'pattern':
      return { path, message: `Invalid value: ${show(value)}: must match the regular expression ${show(p.pattern)}` };
    case 'format':
      return { path, message: `Invalid value: ${show(value)}: must be in ${String(p.format)} format${p.format === 'byte' ? ' (base64)' : ''}` };
    case 'maxLength':
      return { path, message: `Too long: may not be more than ${String(p.limit)} bytes` };
    case 'minLength':
      return { path, message: `Invalid value: ${show(value)}: must be at least ${String(p.limit)} characters long` };
    case 'maxItems':
      return { path, message: `Too many: ${Array.isArray(value) ? value.length : '?'}: must have at most ${String(p.limit)} items` };
    case 'minItems':
      return { path, message: `Required value: must have at least ${String(p.limit)} item${p.limit === 1 ? '' : 's'}` };
    case 'maximum':
      return { path, message: `Invalid value: ${show(value)}: must be less than or equal to ${String(p.limit)}` };
    case 'minimum':
      return { path, message: `Invalid value: ${show(value)}: must be greater than or equal to ${String(p.limit)}` };
    case 'maxProperties':
      return { path, message: `Too many: must have at most ${String(p.limit)} items` };
    default:
      return { path, message: `Invalid value: ${show(value)}: ${err.message ?? err.keyword}` };
  }
}

/**
 * Validate an object against its kind's JSON schema (generated from the CRD or
 * the core OpenAPI). Returns the issues, empty when valid. The object is
 * validated as the model's own apiVersion/kind: the versions we accept share a schema.
 */
export function schemaIssues(spec: KindSpec, obj: Record<string, unknown>): Issue[] {
  const data = { ...obj, apiVersion: spec.model.apiVersion, kind: spec.model.kind };
  try {
    new spec.model(data).validate();
    return [];
  } catch (err) {
    const errors = (err as { errors?: AjvError[] }).errors;
    if (!Array.isArray(errors)) return [{ path: [], message: `Invalid value: ${(err as Error).message}` }];
    const seen = new Set<string>();
    const issues: Issue[] = [];
    for (const e of errors) {
      const issue = toIssue(e, data);
      const key = `${issue.path.join('\u0000')}\u0001${issue.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      issues.push(issue);
    }
    return issues;
  }
}
