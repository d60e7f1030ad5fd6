// Checkpoints: parameters and optimiser slots as one binary file plus a JSON index, written atomically
// (nas/util/fs.ts: temp file, fsync, rename), so a killed run resumes from its last complete epoch. The index holds
// the sha256 of the binary file: a damaged checkpoint (a flipped or zeroed block, a truncated or missing file) is
// detected before resume (verifyCheckpoint) instead of silently training on from wrong weights.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { ParamSnapshot } from './params.js';
import type { SearchOutcome } from './train.js';
import { writeFileAtomicSync } from './util/fs.js';

/** Named float arrays: parameters ("p:" prefix) and optimiser slots. */
export type CheckpointArrays = Record<string, { shape: number[]; data: Float32Array }>;

/** What every loop's checkpoint records: the last finished epoch and the SGD step count. */
export interface EpochCheckpointMeta {
  epoch: number;
  sgdStep: number;
}

/** The search loop's checkpoint (nas/train.ts runSearch): the outcome so far, Adam's step and τ. */
export interface SearchCheckpointMeta extends EpochCheckpointMeta {
  adamStep: number;
  tau: number;
  out: SearchOutcome;
}

/** The evaluation loop's checkpoint (nas/train.ts runEvaluation). */
export interface EvalCheckpointMeta extends EpochCheckpointMeta {
  lossTrace: number[];
  stepsRun: number;
}

/** The checkpoint's JSON index; it names the binary file that holds the arrays. */
export function checkpointMetaFile(dir: string): string {
  return path.join(dir, 'checkpoint.json');
}

/** Save named float arrays and a JSON-serialisable meta object. The bin is written first, the meta last. */
export function saveCheckpoint<M extends EpochCheckpointMeta>(dir: string, meta: M, arrays: CheckpointArrays): void {
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
  const bytes = new Uint8Array(buf.buffer);
  writeFileAtomicSync(path.join(dir, binName), bytes);
  writeFileAtomicSync(metaFile, JSON.stringify({ ...meta, bin: binName, index, sha256: sha256(bytes) }));
  // Remove older bins only after the new meta points at the new one.
  for (const f of fs.readdirSync(dir)) if (f.startsWith('checkpoint-') && f.endsWith('.bin') && f !== binName) fs.rmSync(path.join(dir, f), { force: true });
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** A checkpoint that cannot be trusted; the message names the file and what is wrong with it. */
export class CheckpointDamagedError extends Error {
  override name = 'CheckpointDamagedError';
  constructor(readonly file: string, why: string) {
    super(`checkpoint ${file} is damaged: ${why}`);
  }
}

/**
 * Check the checkpoint in `dir` without loading it into a model: 'none' when there is none, 'ok' when its index
 * parses, its binary file exists with the recorded sha256 and the index fits inside it. Throws
 * CheckpointDamagedError otherwise. Checkpoints written before the sha256 was recorded are checked for shape only.
 */
export function verifyCheckpoint(dir: string): 'none' | 'ok' {
  const metaFile = checkpointMetaFile(dir);
  if (!fs.existsSync(metaFile)) return 'none';
  let meta: { bin?: unknown; index?: unknown; sha256?: unknown; epoch?: unknown };
  try {
    meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as typeof meta;
  } catch (err) {
    throw new CheckpointDamagedError(metaFile, `its index is not JSON (${(err as Error).message})`);
  }
  if (typeof meta !== 'object' || meta === null || typeof meta.bin !== 'string' || !/^checkpoint-[\w.-]+\.bin$/.test(meta.bin) ||
      typeof meta.index !== 'object' || meta.index === null || typeof meta.epoch !== 'number') {
    throw new CheckpointDamagedError(metaFile, 'its index lacks bin, index or epoch');
  }
  const binFile = path.join(dir, meta.bin);
  let raw: Buffer;
  try {
    raw = fs.readFileSync(binFile);
  } catch (err) {
    throw new CheckpointDamagedError(binFile, `cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (typeof meta.sha256 === 'string' && sha256(raw) !== meta.sha256) {
    throw new CheckpointDamagedError(binFile, `its sha256 is not the one ${metaFile} recorded`);
  }
  const floats = raw.byteLength / 4;
  for (const [name, e] of Object.entries(meta.index as Record<string, { offset?: unknown; length?: unknown }>)) {
    if (typeof e?.offset !== 'number' || typeof e.length !== 'number' || e.offset + e.length > floats) {
      throw new CheckpointDamagedError(binFile, `array ${name} does not fit in its ${raw.byteLength} bytes`);
    }
  }
  return 'ok';
}

export interface LoadedCheckpoint<M extends EpochCheckpointMeta> {
  meta: M;
  arrays: CheckpointArrays;
}

/** The checkpoint in `dir`, read as the meta type its loop wrote (each loop reads only its own directory). */
export function loadCheckpoint<M extends EpochCheckpointMeta>(dir: string): LoadedCheckpoint<M> | undefined {
  const metaFile = checkpointMetaFile(dir);
  if (!fs.existsSync(metaFile)) return undefined;
  const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as M & {
    bin: string; index: Record<string, { shape: number[]; offset: number; length: number }>;
  };
  const raw = fs.readFileSync(path.join(dir, meta.bin));
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const arrays: CheckpointArrays = {};
  for (const [name, e] of Object.entries(meta.index)) arrays[name] = { shape: e.shape, data: all.slice(e.offset, e.offset + e.length) };
  return { meta, arrays };
}

/** Parameter snapshot ↔ checkpoint arrays (prefix "p:"). */
export function snapshotArrays(snap: ParamSnapshot): CheckpointArrays {
  const out: CheckpointArrays = {};
  for (const [k, v] of Object.entries(snap)) out[`p:${k}`] = { shape: v.shape, data: v.data };
  return out;
}

export function arraysSnapshot(arrays: CheckpointArrays, kinds: Record<string, ParamSnapshot[string]['kind']>): ParamSnapshot {
  const out: ParamSnapshot = {};
  for (const [k, v] of Object.entries(arrays)) if (k.startsWith('p:')) out[k.slice(2)] = { kind: kinds[k.slice(2)] ?? 'weight', shape: v.shape, data: v.data };
  return out;
}
