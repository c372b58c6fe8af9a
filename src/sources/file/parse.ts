import { isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { InputError } from '../../errors.js';

/** A YAML (or JSON) syntax error, with the position of the first offending character. */
export class YamlSyntaxError extends InputError {
  constructor(
    readonly detail: string,
    file: string,
    readonly line: number,
    readonly col: number,
  ) {
    super(`${file}:${line}:${col}: YAML syntax error: ${detail}`, file);
  }
}

/** One parsed YAML document: its plain value plus what is needed to point at its fields. */
export interface ParsedDocument {
  readonly file: string;
  /** 1-based index of the document in its file. */
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  readonly value: unknown;
  /** Line/column (1-based) of the node at a path inside this document, or of its nearest existing ancestor. */
  positionOf(path: readonly (string | number)[]): { line: number; col: number };
}

export interface ParsedFile {
  readonly documents: readonly ParsedDocument[];
  /** Syntax errors; when there is any, the file is not usable and `documents` is empty. */
  readonly errors: readonly YamlSyntaxError[];
}

/**
 * Parse a multi-document YAML (or JSON, a YAML subset) file. YAML 1.2 core
 * schema, `<<` merge keys allowed, duplicate keys are errors (as kubectl's
 * strict decoding makes them). Empty documents (a stray `---`) are skipped.
 */
export function parseFile(file: string, text: string): ParsedFile {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: true });
  const list: readonly Document.Parsed[] = Array.isArray(docs) ? docs : [];
  const errors: YamlSyntaxError[] = [];
  for (const doc of list) {
    // Only the first error of a document: the rest are usually consequences of it.
    for (const err of doc.errors.slice(0, 1)) {
      const pos = err.linePos?.[0] ?? lineCounter.linePos(err.pos[0]);
      // The yaml package appends " at line N, column M:" and a source excerpt; we print our own position.
      const detail = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      errors.push(new YamlSyntaxError(detail, file, pos.line, pos.col));
    }
  }
  if (errors.length > 0) return { documents: [], errors };

  const documents: ParsedDocument[] = [];
  list.forEach((doc, i) => {
    const value: unknown = doc.toJS({ maxAliasCount: 1000 });
    if (value === null || value === undefined) return;
    const startOffset = doc.contents?.range[0] ?? doc.range[0];
    documents.push({
      file,
      index: i + 1,
      line: lineCounter.linePos(startOffset).line,
      value,
      positionOf(path) {
        for (let n = path.length; n > 0; n--) {
          const pos = keyOrItemOffset(doc, path.slice(0, n));
          if (pos !== undefined) return lineCounter.linePos(pos);
        }
        return lineCounter.linePos(startOffset);
      },
    });
  });
  return { documents, errors: [] };
}

/**
 * Offset of the thing a path names: the key of a mapping entry (so errors
 * point at `type: Prefix`, not at the value), or the start of a sequence item.
 */
function keyOrItemOffset(doc: Document.Parsed, path: readonly (string | number)[]): number | undefined {
  const parent: unknown = path.length === 1 ? doc.contents : doc.getIn(path.slice(0, -1), true);
  const last = path[path.length - 1];
  if (isMap(parent)) {
    for (const pair of parent.items) {
      const key = pair.key;
      if (isScalar(key) && String(key.value) === String(last)) return key.range?.[0];
    }
    return undefined;
  }
  if (isSeq(parent) && typeof last === 'number') {
    const item: unknown = parent.items[last];
    return (item as { range?: [number, number, number] } | undefined)?.range?.[0];
  }
  return undefined;
}
