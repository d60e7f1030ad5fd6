// Files, the one owner of: the package root, the cache directory, atomic writes (write-file-atomic with fsync:
// a temp file in the same directory, fsync, rename over the target, so a kill or power loss leaves the old file or
// the new one, never a partial one) and small existence checks. Records, checkpoints, tables, history and the
// dataset cache all write through here.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import writeFileAtomic from 'write-file-atomic';

let rootCache: string | undefined;

/** The package root: the nearest directory above this module whose package.json names entrannas-bench. */
export function packageRoot(): string {
  if (rootCache !== undefined) return rootCache;
  const here = fileURLToPath(import.meta.url);
  let dir = path.dirname(here);
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'entrannas-bench') return (rootCache = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the entrannas-bench package root above ${here}`);
    dir = up;
  }
}

/**
 * The dataset cache: ENTRANNAS_CACHE_DIR, else $XDG_CACHE_HOME/entrannas-bench, else ~/.cache/entrannas-bench (the XDG
 * base-directory default). Never inside the installed package, which may be read-only or shared.
 */
export function cacheDir(): string {
  if (process.env.ENTRANNAS_CACHE_DIR) return path.resolve(process.env.ENTRANNAS_CACHE_DIR);
  const xdg = process.env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache');
  return path.join(base, 'entrannas-bench');
}

/** The version in the package's package.json (read without loading anything else). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}

function serialiseJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

type Content = string | Uint8Array | readonly Uint8Array[];

function toData(content: Content): string | Buffer {
  if (typeof content === 'string') return content;
  if (content instanceof Uint8Array) return Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  return Buffer.concat(content.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** Write `content` (text, bytes, or byte parts concatenated) to `file` atomically, creating the directory. */
export async function writeFileAtomicAsync(file: string, content: Content): Promise<void> {
  await fs.promises.mkdir(path.dirname(file), { recursive: true });
  await writeFileAtomic(file, toData(content), { fsync: true });
}

/** Synchronous variant (checkpoints and progress snapshots inside a running phase). */
export function writeFileAtomicSync(file: string, content: Content): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic.sync(file, toData(content), { fsync: true });
}

/** Write `value` as pretty JSON to `file` atomically. */
export function writeJsonAtomic(file: string, value: unknown): Promise<void> {
  return writeFileAtomicAsync(file, serialiseJson(value));
}

/** Synchronous variant of writeJsonAtomic. */
export function writeJsonAtomicSync(file: string, value: unknown): void {
  writeFileAtomicSync(file, serialiseJson(value));
}

/** Parse a JSON file; undefined when it does not exist. Throws on malformed JSON (which atomic writes rule out). */
export function readJsonIfExists<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}

export async function isFile(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isFile();
  } catch {
    return false;
  }
}

export async function isDir(p: string): Promise<boolean> {
  try {
    return (await fs.promises.stat(p)).isDirectory();
  } catch {
    return false;
  }
}
