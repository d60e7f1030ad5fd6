// Benchmark history, asv style: one JSON file per machine class and commit,
//   <historyDir>/<machine-class>/<commit>.json
// holding the bench command's samples and the nightly suite's efficiency figures, with timestamps and the env
// provenance of the run. Figures are only ever compared within one machine class: readHistory reads one class
// directory and skips (and reports) any file whose entry names another class.
import fs from 'node:fs/promises';
import path from 'node:path';
import { writeJsonAtomic } from '../../nas/util/fs.js';
import { median, sampleStandardDeviation } from 'simple-statistics';
import type { EnvProvenance, RunRecord } from '../results/record.js';

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
// Machine class

/** The env fields that decide the machine class. */
export type MachineFields = Pick<EnvProvenance, 'cpuModel' | 'backend' | 'threads' | 'simd'> & { gpuModel?: string };

export function slugify(s: string): string {
  return s
    .toLowerCase()
    .replace(/\((r|tm|c)\)/g, ' ')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/** Drop the words that vary between tools but not between chips ("(R)", "CPU", "64-Core Processor"). */
function cpuSlug(model: string): string {
  const cleaned = model
    .replace(/\((r|tm|c)\)/gi, ' ')
    .replace(/\b\d+-core\b/gi, ' ')
    .replace(/\b(cpu|processor)\b/gi, ' ')
    .replace(/@/g, ' ');
  return slugify(cleaned) || 'unknown-cpu';
}

/**
 * The machine class of a run: hardware plus backend, slugified, e.g.
 *   cpu-amd-epyc-7b13-x2-wasm-simd        (CPU model, threads the backend used, backend, SIMD)
 *   gpu-nvidia-a100-sxm4-40gb-tensorflow-gpu   (GPU backends name the GPU: the CPU barely matters there)
 * Figures from different machine classes are never compared.
 */
export function machineClass(env: MachineFields): string {
  const backend = slugify(env.backend) || 'unknown-backend';
  if (env.gpuModel && /gpu/i.test(env.backend)) return `gpu-${slugify(env.gpuModel)}-${backend}`;
  const parts = ['cpu', cpuSlug(env.cpuModel), `x${env.threads}`, backend];
  if (env.simd) parts.push('simd');
  return parts.join('-');
}

/** What the backend reports (nas/backend.ts BackendInfo has these fields). */
export interface BackendFields {
  name: string;
  threads: number;
  simd: boolean;
}

/**
 * The machine-class fields of this machine: CPU model from `cpus[0].model` (pass os.cpus()), plus the backend
 * that would be used and, on GPU backends, the GPU model. Tests pass their own values.
 */
export function localMachineFields(backend: BackendFields, cpus: ReadonlyArray<{ model: string }>, gpuModel?: string): MachineFields {
  return {
    cpuModel: cpus[0]?.model?.trim() || 'unknown',
    backend: backend.name,
    threads: backend.threads,
    simd: backend.simd,
    ...(gpuModel ? { gpuModel } : {}),
  };
}

export class MachineClassMismatchError extends Error {
  constructor(
    readonly base: string,
    readonly head: string,
  ) {
    super(`machine classes differ (base ${base}, head ${head}): figures from different hardware are never compared`);
    this.name = 'MachineClassMismatchError';
  }
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
    throw new Error(`commit "${commit}" is ambiguous: ${matches.map((e) => e.commit).join(', ')}`);
  }
  throw new Error(`no history entry for commit "${commit}"`);
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

/** Build a sample set; the median comes from the samples. */
export function sampleSet(samples: number[], unit: string, better: Better = 'lower', moe?: number): SampleSet {
  if (samples.length === 0) throw new Error('a sample set needs at least one sample');
  const m = median(samples);
  const s: SampleSet = { unit, better, samples: [...samples], median: m };
  if (moe !== undefined && Number.isFinite(moe)) s.moe = moe;
  else if (samples.length >= 2) s.moe = (1.96 * sampleStandardDeviation(samples)) / Math.sqrt(samples.length);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Building an entry from the bench command's JSON and the nightly suite's run records

/**
 * One benchmark in the bench JSON. Either our shape ({ name, samples, unit?, moe? }) or tinybench's task result
 * ({ name, latency: { samples, p50, moe } }). Latency samples are milliseconds. A benchmark without samples
 * but with a median is kept as a single sample (it then cannot be tested, only reported).
 */
export interface BenchResultInput {
  name: string;
  samples?: number[];
  median?: number;
  moe?: number;
  unit?: string;
  better?: Better;
  latency?: { samples?: number[]; p50?: number; moe?: number };
}

/** The bench JSON: `{ benchmarks: [...] }`, `{ benchmarks: { name: {...} } }` or a bare array. */
export type BenchReportInput =
  | BenchResultInput[]
  | { benchmarks: BenchResultInput[] | Record<string, Omit<BenchResultInput, 'name'>>; env?: EnvProvenance };

export function benchmarksFromReport(report: BenchReportInput): Record<string, SampleSet> {
  const list: BenchResultInput[] = Array.isArray(report)
    ? report
    : Array.isArray(report.benchmarks)
      ? report.benchmarks
      : Object.entries(report.benchmarks ?? {}).map(([name, b]) => ({ ...b, name }));
  const out: Record<string, SampleSet> = {};
  for (const b of list) {
    if (typeof b.name !== 'string' || !b.name) throw new Error('bench JSON: a benchmark has no name');
    const samples = b.samples ?? b.latency?.samples;
    const med = b.median ?? b.latency?.p50;
    const moe = b.moe ?? b.latency?.moe;
    const unit = b.unit ?? 'ms';
    const better: Better = b.better ?? (/\/s$|^hz$|ops/i.test(unit) ? 'higher' : 'lower');
    if (samples && samples.length > 0) out[b.name] = sampleSet(samples, unit, better, moe);
    else if (typeof med === 'number' && Number.isFinite(med)) out[b.name] = sampleSet([med], unit, better, moe);
    else throw new Error(`bench JSON: benchmark "${b.name}" has neither samples nor a median`);
    if (out[b.name].samples.some((v) => !Number.isFinite(v))) {
      throw new Error(`bench JSON: benchmark "${b.name}" has a non-finite sample`);
    }
  }
  return out;
}

/** The parts of a `bench step` JSON (harness/bench.ts StepReport) that history keeps. */
export interface StepReportInput {
  format?: string;
  method: string;
  samples: number[];
  peakRssBytes: number;
  microBatch?: number;
  config: { layers: number; channels: number; batch: number; imageSize: number };
  machineClass?: string;
}

/** Name of a `bench step` measure: step/<method>/<layers>c<channels>b<batch>i<image>[m<micro-batch>]. */
export function stepBenchmarkName(r: StepReportInput): string {
  const c = r.config;
  return `step/${r.method}/${c.layers}c${c.channels}b${c.batch}i${c.imageSize}${r.microBatch ? `m${r.microBatch}` : ''}`;
}

/**
 * A `bench step` JSON as benchmarks: `<name>` the step times (ms, one sample per measured step) and
 * `<name>/peak-rss` the process's peak RSS (bytes, one sample: reported, too few to test).
 */
export function benchmarksFromStep(r: StepReportInput): Record<string, SampleSet> {
  if (typeof r !== 'object' || r === null || typeof r.method !== 'string' || !r.config || !Array.isArray(r.samples)) {
    throw new Error('bench step JSON: expected {method, config, samples, peakRssBytes} (the output of `bench step --json`)');
  }
  if (r.samples.length === 0 || r.samples.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
    throw new Error(`bench step JSON (${r.method}): samples must be finite numbers, at least one`);
  }
  if (typeof r.peakRssBytes !== 'number' || !(r.peakRssBytes > 0)) throw new Error(`bench step JSON (${r.method}): no peakRssBytes`);
  const name = stepBenchmarkName(r);
  return { [name]: sampleSet(r.samples, 'ms', 'lower'), [`${name}/peak-rss`]: sampleSet([r.peakRssBytes], 'bytes', 'lower') };
}

/**
 * Efficiency figures per `<suite>/<method>`, one sample per successful run (seed):
 *   search phase: secondsPerIteration (msPerStep / 1000, or wallSeconds / steps), peakRssBytes, peakTensorBytes,
 *                 gpuMemoryBytes (GPU backends), gpuDays, derivedValErrorPercent (100 · (1 − derivedValAcc))
 *   eval phase:   testErrorPercent, evalGpuDays
 * Records whose status is not 'ok' give no figures but are counted in `runs`.
 */
export function efficiencyFromRecords(records: readonly RunRecord[]): Record<string, EfficiencyFigures> {
  const groups = new Map<string, { suite: string; method: string; seeds: Set<number>; runs: Record<string, number>; v: Map<string, { unit: string; xs: number[] }> }>();
  for (const r of records) {
    const key = `${r.suite}/${r.method}`;
    let g = groups.get(key);
    if (!g) {
      g = { suite: r.suite, method: r.method, seeds: new Set(), runs: {}, v: new Map() };
      groups.set(key, g);
    }
    g.runs[`${r.phase}:${r.status}`] = (g.runs[`${r.phase}:${r.status}`] ?? 0) + 1;
    if (r.status !== 'ok') continue;
    const add = (fig: string, unit: string, x: number | undefined): void => {
      if (x === undefined || !Number.isFinite(x)) return;
      const slot = g!.v.get(fig) ?? { unit, xs: [] };
      slot.xs.push(x);
      g!.v.set(fig, slot);
      g!.seeds.add(r.seed);
    };
    const m = r.measures;
    if (r.phase === 'search') {
      if (m) {
        const perStep =
          m.msPerStep !== undefined ? m.msPerStep / 1000 : m.steps ? m.wallSeconds / m.steps : undefined;
        add('secondsPerIteration', 's', perStep);
        add('peakRssBytes', 'bytes', m.peakRssBytes);
        add('peakTensorBytes', 'bytes', m.peakTensorBytes);
        add('gpuMemoryBytes', 'bytes', m.gpuMemoryBytes);
        add('gpuDays', 'gpu-days', m.gpuDays);
      }
      if (r.search) add('derivedValErrorPercent', '%', 100 * (1 - r.search.derivedValAcc));
    } else {
      if (r.eval) add('testErrorPercent', '%', r.eval.testError);
      if (m) add('evalGpuDays', 'gpu-days', m.gpuDays);
    }
  }
  const out: Record<string, EfficiencyFigures> = {};
  for (const [key, g] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const figures: Record<string, SampleSet> = {};
    for (const [fig, { unit, xs }] of g.v) figures[fig] = sampleSet(xs, unit, 'lower');
    out[key] = { suite: g.suite, method: g.method, seeds: [...g.seeds].sort((a, b) => a - b), runs: g.runs, figures };
  }
  return out;
}

export interface BuildEntryOptions {
  /** Defaults to the records' (or the bench JSON's) env.gitCommit, which must agree. */
  commit?: string;
  /** The commit's committer date (orders the series); defaults to recordedAt. */
  commitTime?: string | Date;
  recordedAt?: string | Date;
  /** Env provenance; defaults to the first record's env, else the bench JSON's env. */
  env?: EnvProvenance;
  /** Override the computed machine class (e.g. a named CI runner pool). */
  machineClass?: string;
}

/**
 * Build a history entry from the bench JSON and the nightly suite's run records. Throws when the records come
 * from more than one machine class or commit: an entry describes one machine and one commit.
 */
export function buildHistoryEntry(
  bench: BenchReportInput | undefined,
  records: readonly RunRecord[],
  options: BuildEntryOptions = {},
): HistoryEntry {
  const benchEnv = bench && !Array.isArray(bench) ? bench.env : undefined;
  // Only successful runs describe the machine: a record the runner wrote for a child that never started says
  // "<backend> (not initialised)" with 0 threads. Those still count in `runs`.
  const okEnvs = records.filter((r) => r.status === 'ok').map((r) => r.env);
  const env = options.env ?? okEnvs[0] ?? benchEnv ?? records[0]?.env;
  if (!env) throw new Error('cannot build a history entry without env provenance (no records, no env given)');
  const cls = options.machineClass ?? machineClass(env);
  const envs = [...okEnvs, ...(benchEnv ? [benchEnv] : [])];
  if (!options.machineClass) {
    for (const e of envs) {
      const c = machineClass(e);
      if (c !== cls) throw new MachineClassMismatchError(cls, c);
    }
  }
  let commit = options.commit;
  if (!commit) {
    const commits = new Set(envs.map((e) => e.gitCommit));
    if (commits.size === 0) commits.add(env.gitCommit);
    if (commits.size > 1) throw new Error(`records come from several commits (${[...commits].join(', ')}); pass the commit`);
    commit = [...commits][0];
  }
  const iso = (d: string | Date | undefined): string | undefined =>
    d === undefined ? undefined : new Date(d).toISOString();
  const recordedAt = iso(options.recordedAt) ?? new Date().toISOString();
  const entry: HistoryEntry = {
    schema: HISTORY_SCHEMA_VERSION,
    commit,
    machineClass: cls,
    timestamp: iso(options.commitTime) ?? recordedAt,
    recordedAt,
    env,
    benchmarks: bench ? benchmarksFromReport(bench) : {},
    efficiency: efficiencyFromRecords(records),
  };
  historyEntryPath('.', entry); // validates commit and class as file names
  return entry;
}
