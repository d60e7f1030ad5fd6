// Benchmark history, asv style: one JSON file per machine class and commit,
//   <historyDir>/<machine-class>/<commit>.json
// holding the bench command's samples and the nightly suite's efficiency figures, with timestamps and the env
// provenance of the run. This module owns the entry's type, its validation, and the files: writing, reading one
// class's series in order, and finding a commit in it. Figures are only ever compared within one machine class
// (measure/machine.ts machineClass): readHistory reads one class directory and skips (and reports) any file whose
// entry names another class. Building an entry from bench JSON and run records is history-entry.ts.
// Loads no tfjs (ci/last-good.mjs imports it); this machine's class is only probed when a command needs it.
import fs from 'node:fs/promises';
import path from 'node:path';
import type { BackendChoice } from '../../nas/backend.js';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import { machineClass, probeLocalMachine, type MachineProbe } from '../measure/machine.js';
import type { EnvProvenance } from '../results/record.js';

/** Where the history lives unless --history says otherwise. */
export const DEFAULT_HISTORY_DIR = path.join('results', 'history');

export const HISTORY_SCHEMA_VERSION = 1;

/** Which way is better. Time, memory, GPU-days and error are all 'lower'. */
export type Better = 'lower' | 'higher';

/** One measure's samples on one commit. */
export interface SampleSet {
  /** 'ms', 's', 'bytes', 'gpu-days', '%', 'ops/s', ... */
  unit: string;
  better: Better;
  samples: number[];
  median: number;
  /** Half-width of the 95% interval of the mean, when known (the bench tool's, or 1.96·sd/√n). */
  moe?: number;
}

/** The efficiency figures of one method in the nightly suite (one sample per successful seed). */
export interface EfficiencyFigures {
  suite: string;
  method: string;
  /** Seeds whose records contributed figures. */
  seeds: number[];
  /** Records per status, so a method that stopped working shows up even without figures. */
  runs: Record<string, number>;
  /** secondsPerIteration, peakRssBytes, peakTensorBytes, gpuMemoryBytes, gpuDays, testErrorPercent, ... */
  figures: Record<string, SampleSet>;
}

export interface HistoryEntry {
  schema: typeof HISTORY_SCHEMA_VERSION;
  commit: string;
  machineClass: string;
  /** Orders the series: the commit's committer date when known, otherwise when the entry was recorded (ISO 8601). */
  timestamp: string;
  /** When the entry was written (ISO 8601). */
  recordedAt: string;
  env: EnvProvenance;
  /** Bench command results: benchmark name → samples (ms unless the unit says otherwise). */
  benchmarks: Record<string, SampleSet>;
  /** Nightly suite figures keyed `<suite>/<method>`. */
  efficiency: Record<string, EfficiencyFigures>;
}

/** A flattened measure: `bench/<name>` or `<suite>/<method>/<figure>`. */
export interface Measure extends SampleSet {
  name: string;
}


// ---------------------------------------------------------------------------------------------------------------
// Reading and writing

const COMMIT_RE = /^[0-9A-Za-z][0-9A-Za-z._-]*$/;

export function historyEntryPath(dir: string, entry: Pick<HistoryEntry, 'machineClass' | 'commit'>): string {
  if (!COMMIT_RE.test(entry.commit)) throw new Error(`invalid commit "${entry.commit}" for a history file name`);
  if (!COMMIT_RE.test(entry.machineClass)) throw new Error(`invalid machine class "${entry.machineClass}"`);
  return path.join(dir, entry.machineClass, `${entry.commit}.json`);
}

/** Write (or replace) the entry for its machine class and commit, atomically. Returns the file path. */
export async function writeHistoryEntry(dir: string, entry: HistoryEntry): Promise<string> {
  validateEntry(entry, 'entry');
  const file = historyEntryPath(dir, entry);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await writeJsonAtomic(file, entry);
  return file;
}

function isSampleSet(v: unknown): v is SampleSet {
  const s = v as SampleSet;
  return (
    typeof s === 'object' && s !== null && typeof s.unit === 'string' && (s.better === 'lower' || s.better === 'higher') &&
    Array.isArray(s.samples) && s.samples.every((x) => typeof x === 'number' && Number.isFinite(x)) &&
    typeof s.median === 'number'
  );
}

/** Throws with the file name and the first problem when the value is not a history entry. */
export function validateEntry(v: unknown, where: string): asserts v is HistoryEntry {
  const e = v as HistoryEntry;
  const fail = (why: string): never => {
    throw new Error(`${where}: not a history entry (${why})`);
  };
  if (typeof e !== 'object' || e === null) fail('not an object');
  if (e.schema !== HISTORY_SCHEMA_VERSION) fail(`schema ${String(e.schema)}, expected ${HISTORY_SCHEMA_VERSION}`);
  for (const k of ['commit', 'machineClass', 'timestamp', 'recordedAt'] as const) {
    if (typeof e[k] !== 'string' || !e[k]) fail(`missing ${k}`);
  }
  if (Number.isNaN(Date.parse(e.timestamp))) fail(`timestamp "${e.timestamp}" is not a date`);
  if (typeof e.env !== 'object' || e.env === null) fail('missing env');
  if (typeof e.benchmarks !== 'object' || e.benchmarks === null) fail('missing benchmarks');
  if (typeof e.efficiency !== 'object' || e.efficiency === null) fail('missing efficiency');
  for (const [name, s] of Object.entries(e.benchmarks)) if (!isSampleSet(s)) fail(`benchmark ${name} is malformed`);
  for (const [key, f] of Object.entries(e.efficiency)) {
    for (const [name, s] of Object.entries(f.figures ?? {})) if (!isSampleSet(s)) fail(`${key}/${name} is malformed`);
  }
}

export async function readHistoryEntry(file: string): Promise<HistoryEntry> {
  const text = await fs.readFile(file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: invalid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  validateEntry(parsed, file);
  return parsed;
}

/** Series order: timestamp, then recording time, then commit (so the order is total and stable). */
export function compareEntries(a: HistoryEntry, b: HistoryEntry): number {
  return (
    Date.parse(a.timestamp) - Date.parse(b.timestamp) ||
    Date.parse(a.recordedAt) - Date.parse(b.recordedAt) ||
    (a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : 0)
  );
}

export interface ReadHistoryOptions {
  /** Called for each file that was skipped (unreadable, or an entry of another machine class). */
  onSkip?: (file: string, reason: string) => void;
}

/** Entries of one machine class, oldest first. A missing class directory gives an empty list. */
export async function readHistory(
  dir: string,
  cls: string,
  options: ReadHistoryOptions = {},
): Promise<HistoryEntry[]> {
  const classDir = path.join(dir, cls);
  let names: string[];
  try {
    names = (await fs.readdir(classDir)).filter((n) => n.endsWith('.json')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: HistoryEntry[] = [];
  for (const name of names) {
    const file = path.join(classDir, name);
    let entry: HistoryEntry;
    try {
      entry = await readHistoryEntry(file);
    } catch (err) {
      options.onSkip?.(file, err instanceof Error ? err.message : String(err));
      continue;
    }
    if (entry.machineClass !== cls) {
      options.onSkip?.(file, `entry is for machine class ${entry.machineClass}, not ${cls}`);
      continue;
    }
    entries.push(entry);
  }
  return entries.sort(compareEntries);
}

/** Machine classes that have a history directory. */
export async function listMachineClasses(dir: string): Promise<string[]> {
  try {
    const items = await fs.readdir(dir, { withFileTypes: true });
    return items.filter((d) => d.isDirectory()).map((d) => d.name).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * Find an entry by commit: an exact match, else a unique prefix of at least 4 characters (short SHAs).
 * Throws when nothing or more than one entry matches.
 */
export function findEntry(entries: readonly HistoryEntry[], commit: string): HistoryEntry {
  const exact = entries.find((e) => e.commit === commit);
  if (exact) return exact;
  const matches = commit.length >= 4 ? entries.filter((e) => e.commit.startsWith(commit)) : [];
  if (matches.length === 1) return matches[0];
  if (matches.length > 1) {
    throw new HistoryLookupError(`commit "${commit}" is ambiguous: ${matches.map((e) => e.commit).join(', ')}`);
  }
  throw new HistoryLookupError(`no history entry for commit "${commit}"`);
}

// ---------------------------------------------------------------------------------------------------------------
// Measures

/** Every measure in an entry, flattened: `bench/<name>` and `<suite>/<method>/<figure>`. */
export function entryMeasures(entry: HistoryEntry): Map<string, Measure> {
  const out = new Map<string, Measure>();
  for (const [name, s] of Object.entries(entry.benchmarks)) out.set(`bench/${name}`, { name: `bench/${name}`, ...s });
  for (const [key, f] of Object.entries(entry.efficiency)) {
    for (const [fig, s] of Object.entries(f.figures)) out.set(`${key}/${fig}`, { name: `${key}/${fig}`, ...s });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// The series a command means

/** The history cannot answer: no entries for the machine class, or a commit it does not hold (or holds twice). */
export class HistoryLookupError extends Error {
  override name = 'HistoryLookupError';
}

/**
 * The machine class a command means: `explicit` (--machine-class), else the class of an entry given as a file,
 * else this machine's with `backend` (probed: this initialises the backend).
 */
export async function resolveMachineClass(
  explicit: string | undefined,
  files: readonly HistoryEntry[],
  backend: BackendChoice,
  probe: MachineProbe = probeLocalMachine,
): Promise<string> {
  if (explicit) return explicit;
  if (files.length > 0) return files[0].machineClass;
  return machineClass(await probe(backend));
}

/** readHistory, but no entries is an error naming the classes that have some. */
export async function readClassHistory(dir: string, cls: string, options: ReadHistoryOptions = {}): Promise<HistoryEntry[]> {
  const entries = await readHistory(dir, cls, options);
  if (entries.length === 0) {
    const classes = await listMachineClasses(dir);
    throw new HistoryLookupError(
      `no history for machine class ${cls} in ${dir}` +
        (classes.length ? ` (classes with history: ${classes.join(', ')}); pass --machine-class` : ''),
    );
  }
  return entries;
}
