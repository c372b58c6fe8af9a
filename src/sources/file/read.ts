import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { InputError } from '../../errors.js';

export interface InputFile {
  readonly path: string;
  readonly text: string;
}

export interface InputFiles {
  /** PATH as given. */
  readonly root: string;
  readonly isDirectory: boolean;
  /** device:inode of PATH, to notice PATH itself being replaced. */
  readonly rootId: string;
  /** Files read, in load order. */
  readonly files: readonly InputFile[];
  /** Files listed but not readable (vanished, permissions): the input is incomplete. */
  readonly errors: readonly InputError[];
  /** sha256 over every file's path and content: equal fingerprints mean nothing changed. */
  readonly fingerprint: string;
}

const CONFIG_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/**
 * Which directory entries are config files: *.yaml, *.yml, *.json, not hidden
 * and not editor lock/backup files (`.#x.yaml`, `#x.yaml#`, `x.yaml~`).
 */
export function isConfigFileName(name: string): boolean {
  return !name.startsWith('.') && !name.startsWith('#') && CONFIG_EXTENSIONS.has(extname(name).toLowerCase());
}

function describe(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  switch (e.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'is a directory';
    default: return e.message ?? String(err);
  }
}

/**
 * Read PATH: one file (any extension), or the config files directly inside a
 * directory, sorted by name (code-point order). Not recursive, like
 * `kubectl apply -f DIR` without -R: subdirectories are ignored, so a
 * directory can hold backups or unrelated YAML in a subfolder.
 * Throws InputError only when PATH itself cannot be read.
 */
export async function readInput(root: string): Promise<InputFiles> {
  let isDirectory: boolean;
  let rootId: string;
  try {
    const st = await stat(root);
    isDirectory = st.isDirectory();
    rootId = `${st.dev}:${st.ino}`;
  } catch (err) {
    throw new InputError(`cannot read ${root}: ${describe(err)}`, root, { cause: err });
  }
  let paths: string[];
  if (isDirectory) {
    let names: string[];
    try {
      names = await readdir(root);
    } catch (err) {
      throw new InputError(`cannot read directory ${root}: ${describe(err)}`, root, { cause: err });
    }
    names = names.filter(isConfigFileName).sort();
    paths = [];
    for (const name of names) {
      const p = join(root, name);
      // Follow symlinks (ConfigMap volumes are symlinks); skip subdirectories named *.yaml.
      const st = await stat(p).catch(() => undefined);
      if (st === undefined || st.isFile()) paths.push(p);
    }
  } else {
    paths = [root];
  }

  const files: InputFile[] = [];
  const errors: InputError[] = [];
  const hash = createHash('sha256');
  for (const p of paths) {
    try {
      const text = await readFile(p, 'utf8');
      files.push({ path: p, text });
      hash.update(p).update('\u0000').update(text).update('\u0000');
    } catch (err) {
      if (!isDirectory) throw new InputError(`cannot read ${p}: ${describe(err)}`, p, { cause: err });
      errors.push(new InputError(`cannot read ${p}: ${describe(err)}`, p, { cause: err }));
      hash.update(p).update('\u0000!unreadable\u0000');
    }
  }
  return { root, isDirectory, rootId, files, errors, fingerprint: hash.digest('hex') };
}
