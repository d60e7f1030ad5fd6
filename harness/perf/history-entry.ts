// Building a history entry: the bench command's JSON and `bench step`'s JSON become sample sets, the nightly
// suite's run records become efficiency figures per <suite>/<method>, and together they make the entry of one
// machine class and one commit (history.ts writes it).
import { requireMedian, sampleSd } from '../../nas/util/stats.js';
import { MachineClassMismatchError, machineClass } from '../measure/machine.js';
import type { EnvProvenance, RunRecord } from '../results/record.js';
import type { BenchReport } from './bench-runner.js';
import type { StepReport } from './step.js';
import { HISTORY_SCHEMA_VERSION, historyEntryPath, type Better, type EfficiencyFigures, type HistoryEntry, type SampleSet } from './history.js';

/** Build a sample set; the median comes from the samples. */
export function sampleSet(samples: number[], unit: string, better: Better = 'lower', moe?: number): SampleSet {
  if (samples.length === 0) throw new Error('a sample set needs at least one sample');
  const m = requireMedian(samples, 'sample set');
  const s: SampleSet = { unit, better, samples: [...samples], median: m };
  const sd = sampleSd(samples);
  if (moe !== undefined && Number.isFinite(moe)) s.moe = moe;
  else if (sd !== undefined) s.moe = (1.96 * sd) / Math.sqrt(samples.length);
  return s;
}

// ---------------------------------------------------------------------------------------------------------------
// Building an entry from the bench command's JSON and the nightly suite's run records

/**
 * One benchmark of a bench JSON that another tool wrote: our field names ({ name, samples, unit?, moe? }),
 * tinybench's task result ({ name, latency: { samples, p50, moe } }), or a median alone (kept as a single
 * sample: it then cannot be tested, only reported). Latency samples are milliseconds.
 */
export interface ForeignBenchResult {
  name: string;
  samples?: number[];
  median?: number;
  moe?: number;
  unit?: string;
  better?: Better;
  latency?: { samples?: number[]; p50?: number; moe?: number };
}

/** A foreign bench JSON: `{ benchmarks: [...] }`, `{ benchmarks: { name: {...} } }` or a bare array. */
export type ForeignBenchJson =
  | ForeignBenchResult[]
  | { benchmarks: ForeignBenchResult[] | Record<string, Omit<ForeignBenchResult, 'name'>>; env?: EnvProvenance };

/** What `history record --bench` reads: the bench command's report (bench-runner.ts), or a foreign bench JSON. */
export type BenchJson = BenchReport | ForeignBenchJson;

export function benchmarksFromReport(json: BenchJson): Record<string, SampleSet> {
  const report: ForeignBenchJson = json; // our report is one of the shapes
  const list: ForeignBenchResult[] = Array.isArray(report)
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

/** The parts of a `bench step --json` report (step.ts StepReport) that history keeps. */
export type StepJson = Pick<StepReport, 'method' | 'samples' | 'peakRssBytes' | 'microBatch' | 'config' | 'machineClass' | 'env'>;

/** Name of a `bench step` measure: step/<method>/<layers>c<channels>b<batch>i<image>[m<micro-batch>]. */
export function stepBenchmarkName(r: Pick<StepReport, 'method' | 'microBatch' | 'config'>): string {
  const c = r.config;
  return `step/${r.method}/${c.layers}c${c.channels}b${c.batch}i${c.imageSize}${r.microBatch ? `m${r.microBatch}` : ''}`;
}

/**
 * A `bench step` JSON as benchmarks: `<name>` the step times (ms, one sample per measured step) and
 * `<name>/peak-rss` the process's peak RSS (bytes, one sample: reported, too few to test).
 */
export function benchmarksFromStep(r: StepJson): Record<string, SampleSet> {
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
  bench: BenchJson | undefined,
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
