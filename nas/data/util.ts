// Shared helpers of the dataset loaders: directories, the cache, atomic writes, file reading with clear errors.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError } from './types.js';

/** The directory holding the harness's package.json (found upwards from this file, in src or dist). */
export function projectRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'entrannas-bench') return dir;
      } catch {
        // not ours; keep looking
      }
    }
    const up = dirname(dir);
    if (up === dir) return process.cwd();
    dir = up;
  }
}

/** ENTRANNAS_CACHE_DIR, else <project root>/.cache. */
export function cacheDir(): string {
  return process.env.ENTRANNAS_CACHE_DIR ? resolve(process.env.ENTRANNAS_CACHE_DIR) : join(projectRoot(), '.cache');
}

/** cfg.dataDir, else ENTRANNAS_DATA_DIR, else a DataError that says how to provide one. */
export function dataDirOf(dataDir: string | undefined, what: string, hint = ''): string {
  const d = dataDir ?? process.env.ENTRANNAS_DATA_DIR;
  if (!d) throw new DataError(`${what}: no data directory: set ENTRANNAS_DATA_DIR (any command, run included), pass --data-dir DIR (search, eval, data) or set data.dataDir in the suite${hint ? `. ${hint}` : ''}`);
  return resolve(d);
}

/** Write a file atomically: a temp file in the same directory, then rename over the target. */
export async function writeFileAtomic(path: string, parts: Uint8Array[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await writeFile(tmp, Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength))));
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Read a whole file; a missing or unreadable file becomes a DataError naming it. */
export async function readDataFile(path: string, what: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DataError(`${what}: missing file ${path}`);
    if (code === 'EISDIR') throw new DataError(`${what}: ${path} is a directory, expected a file`);
    throw new DataError(`${what}: cannot read ${path}: ${(err as Error).message}`);
  }
}

export async function isDir(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** Per-channel mean and std of uint8 HWC images scaled to [0,1] (for datasets without published statistics). */
export function channelStats(data: Uint8Array, C: number): { mean: number[]; std: number[] } {
  const sum = new Float64Array(C);
  const sq = new Float64Array(C);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    sum[i % C] += v;
    sq[i % C] += v * v;
  }
  const n = data.length / C;
  const mean: number[] = [];
  const std: number[] = [];
  for (let c = 0; c < C; c++) {
    const m = sum[c] / n;
    mean.push(m / 255);
    std.push(Math.max(Math.sqrt(Math.max(sq[c] / n - m * m, 0)), 1e-3 * 255) / 255);
  }
  return { mean, std };
}
