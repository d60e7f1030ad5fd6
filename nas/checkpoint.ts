// Checkpoints: parameters and optimiser slots as one binary file plus a JSON index, written atomically
// (nas/util/fs.ts: temp file, fsync, rename), so a killed run resumes from its last complete epoch.
import fs from 'node:fs';
import path from 'node:path';
import type { ParamSnapshot } from './params.js';
import { writeFileAtomicSync } from './util/fs.js';

/** The checkpoint's JSON index; it names the binary file that holds the arrays. */
export function checkpointMetaFile(dir: string): string {
  return path.join(dir, 'checkpoint.json');
}

/** Save named float arrays and a JSON-serialisable meta object. The bin is written first, the meta last. */
export function saveCheckpoint(dir: string, meta: Record<string, unknown>, arrays: Record<string, { shape: number[]; data: Float32Array }>): void {
  fs.mkdirSync(dir, { recursive: true });
  const metaFile = checkpointMetaFile(dir);
  const index: Record<string, { shape: number[]; offset: number; length: number }> = {};
  let total = 0;
  for (const [name, a] of Object.entries(arrays)) {
    index[name] = { shape: a.shape, offset: total, length: a.data.length };
    total += a.data.length;
  }
  const buf = new Float32Array(total);
  for (const [name, a] of Object.entries(arrays)) buf.set(a.data, index[name].offset);
  const binName = `checkpoint-${Date.now()}-${process.pid}.bin`;
  writeFileAtomicSync(path.join(dir, binName), new Uint8Array(buf.buffer));
  writeFileAtomicSync(metaFile, JSON.stringify({ ...meta, bin: binName, index }));
  // Remove older bins only after the new meta points at the new one.
  for (const f of fs.readdirSync(dir)) if (f.startsWith('checkpoint-') && f.endsWith('.bin') && f !== binName) fs.rmSync(path.join(dir, f), { force: true });
}

export interface LoadedCheckpoint {
  meta: Record<string, unknown>;
  arrays: Record<string, { shape: number[]; data: Float32Array }>;
}

export function loadCheckpoint(dir: string): LoadedCheckpoint | undefined {
  const metaFile = checkpointMetaFile(dir);
  if (!fs.existsSync(metaFile)) return undefined;
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as Record<string, unknown> & {
    bin: string; index: Record<string, { shape: number[]; offset: number; length: number }>;
  };
  const raw = fs.readFileSync(path.join(dir, meta.bin));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const arrays: LoadedCheckpoint['arrays'] = {};
  for (const [name, e] of Object.entries(meta.index)) arrays[name] = { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) };
  return { meta, arrays };
}

/** Parameter snapshot ↔ checkpoint arrays (prefix "p:"). */
export function snapshotArrays(snap: ParamSnapshot): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [k, v] of Object.entries(snap)) out[`p:${k}`] = { shape: v.shape, data: v.data };
  return out;
}

export function arraysSnapshot(arrays: LoadedCheckpoint['arrays'], kinds: Record<string, ParamSnapshot[string]['kind']>): ParamSnapshot {
  const out: ParamSnapshot = {};
  for (const [k, v] of Object.entries(arrays)) if (k.startsWith('p:')) out[k.slice(2)] = { kind: kinds[k.slice(2)] ?? 'weight', shape: v.shape, data: v.data };
  return out;
}
