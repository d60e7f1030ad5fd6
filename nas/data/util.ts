// Shared helpers of the dataset loaders: the data directory, file reading with clear errors, channel statistics.
// (The cache directory and atomic writes live in nas/util/fs.ts.)

import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { DataError } from './types.js';

/** cfg.dataDir, else ENTRANNAS_DATA_DIR, else a DataError that says how to provide one. */
export function dataDirOf(dataDir: string | undefined, what: string, hint = ''): string {
  const d = dataDir ?? process.env.ENTRANNAS_DATA_DIR;
  if (!d) throw new DataError(`${what}: no data directory: set ENTRANNAS_DATA_DIR (any command, run included), pass --data-dir DIR (search, eval, data) or set data.dataDir in the suite${hint ? `. ${hint}` : ''}`);
  return resolve(d);
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
