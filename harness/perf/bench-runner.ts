// The micro-benchmark driver: tinybench runs each definition (benchmarks.ts), and the results become the bench
// JSON (`bench --json`, what `history record --bench` reads) and the human table.
//
// Each benchmark is set up, warmed up (tinybench warm-up iterations, not timed into the samples), sampled, and
// disposed, one at a time. Live non-variable tensors are counted after the warm-up and after sampling: a
// difference is a per-iteration leak and is reported (the command exits 1). Variables that appear meanwhile are
// optimiser slots created lazily (a derived path reaching an op for the first time) and are only reported.
// Tensors left after dispose (setup's own leaks) are reported too. At most 100 samples are kept per benchmark.
// Means, medians and the t-interval come from nas/util/stats.ts.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';
import { mean, requireMedian, tMoe95 } from '../../nas/util/stats.js';
import { machineClass } from '../measure/machine.js';
import type { EnvProvenance } from '../results/record.js';
import { benchDefinitions, liveTensors, selectBenchmarks, type BenchDefinition, type BenchGroup, type BenchInstance } from './benchmarks.js';

export const BENCH_FORMAT = 'entrannas-bench/bench@1';

export interface BenchResult {
  name: string;
  group: BenchGroup;
  unit: 'ms';
  better: 'lower';
  /**
   * Latency of sampled iterations (ms, to 0.1 µs), after warm-up, pooled over rounds; at most maxSamples of
   * them, evenly spaced in run order. median, moe, mean, min, max and n describe these samples.
   */
  samples: number[];
  median: number;
  /** tinybench's margin of error: half-width of the 95% interval of the mean, in ms (history's `moe`). */
  moe: number;
  /** tinybench's relative margin of error, in percent of the mean (100·moe/mean). */
  rme: number;
  mean: number;
  min: number;
  max: number;
  n: number;
  /** Iterations measured (before thinning to maxSamples). */
  measured: number;
  warmup: number;
  rounds: number;
  /**
   * Non-variable tensors left alive per iteration: (live after sampling − live after warm-up) / iterations.
   * 0 when the count is flat; anything else is a leak.
   */
  leakedTensorsPerIteration: number;
  /** Variables created during sampling (optimiser slots of parameters reached for the first time): not a leak. */
  newVariablesDuringSampling: number;
  /** Tensors left behind by setup + dispose. */
  leakedTensorsOnDispose: number;
  config: Record<string, unknown>;
  info?: Record<string, unknown>;
}

export interface BenchOptions {
  /** Minimum sampling time per benchmark and round, ms (tinybench `time`). Default 500. */
  timeMs?: number;
  /** Minimum samples per benchmark and round (tinybench `iterations`). Default: the benchmark's own. */
  iterations?: number;
  /** Warm-up iterations per benchmark and round. Default: the benchmark's own. */
  warmup?: number;
  /** Rounds: run every selected benchmark this many times (fresh setup each time) and pool the samples. */
  rounds?: number;
  /** Samples kept per benchmark (evenly spaced in run order), so history entries stay small. Default 100. */
  maxSamples?: number;
  /** Called when a benchmark starts and ends (progress on stderr). */
  onProgress?: (event: { phase: 'start' | 'done'; name: string; index: number; total: number; round: number; result?: BenchResult }) => void;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  totalMemoryBytes: number;
  hostname: string;
  /** os.loadavg() at start and at the end: the machine's background load while the benchmarks ran. */
  loadAverageStart: number[];
  loadAverageEnd: number[];
}

/** The bench JSON: accepted by history-entry.ts buildHistoryEntry (benchmarks[].name/samples/unit/moe, env). */
export interface BenchReport {
  format: typeof BENCH_FORMAT;
  machineClass: string;
  env: EnvProvenance;
  machine: MachineInfo;
  startedAt: string;
  finishedAt: string;
  wallSeconds: number;
  options: { timeMs: number; iterations?: number; warmup?: number; rounds: number; maxSamples: number; filter?: string };
  benchmarks: BenchResult[];
}

export const DEFAULT_MAX_SAMPLES = 100;

interface RoundOutcome {
  samples: number[];
  moe: number;
  leakedPerIteration: number;
  newVariables: number;
  leakedOnDispose: number;
  info?: Record<string, unknown>;
}

async function measureOne(def: BenchDefinition, inst: BenchInstance, o: Required<Pick<BenchOptions, 'timeMs'>> & BenchOptions): Promise<Omit<RoundOutcome, 'leakedOnDispose'>> {
  let afterWarmup = liveTensors();
  let afterRun = afterWarmup;
  const warmup = o.warmup ?? def.warmup;
  const bench = new Bench({
    time: o.timeMs,
    iterations: o.iterations ?? def.minSamples,
    warmup: warmup > 0,
    warmupIterations: warmup,
    warmupTime: 0,
    retainSamples: true,
    throws: true,
  });
  bench.add(def.name, () => inst.iterate(), {
    async: false, // tinybench otherwise calls the function once at add() time to find out
    beforeAll(mode) {
      if (mode === 'run') afterWarmup = liveTensors();
    },
    afterAll(mode) {
      if (mode === 'run') afterRun = liveTensors();
    },
  });
  const [task] = await bench.run();
  const r = task.result;
  if (r.state === 'errored') throw r.error;
  if (r.state !== 'completed') throw new Error(`${def.name}: benchmark ended in state ${r.state}`);
  const samples = Array.from(r.latency.samples ?? []);
  if (samples.length === 0) throw new Error(`${def.name}: no samples were retained`);
  const runs = Math.max(1, task.runs);
  return {
    samples,
    moe: r.latency.moe,
    leakedPerIteration: (afterRun.tensors - afterWarmup.tensors) / runs,
    newVariables: afterRun.variables - afterWarmup.variables,
    info: inst.info,
  };
}

/** Set up, warm up, sample and dispose one benchmark; tensors are counted around each phase. */
async function runOne(def: BenchDefinition, o: Required<Pick<BenchOptions, 'timeMs'>> & BenchOptions): Promise<RoundOutcome> {
  const before = tf.memory().numTensors; // variables included: setup's must all be disposed
  const inst = def.setup();
  let out: Omit<RoundOutcome, 'leakedOnDispose'>;
  try {
    out = await measureOne(def, inst, o);
  } finally {
    inst.dispose();
  }
  return { ...out, leakedOnDispose: tf.memory().numTensors - before };
}

/** Run the given benchmarks one by one (all of round 1, then round 2, ...) and pool each one's samples. */
export async function runBenchmarks(defs: readonly BenchDefinition[], options: BenchOptions = {}): Promise<BenchResult[]> {
  const timeMs = options.timeMs ?? 500;
  const rounds = options.rounds ?? 1;
  if (!(Number.isFinite(timeMs) && timeMs >= 0)) throw new Error(`time must be a non-negative number of ms (got ${timeMs})`);
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`rounds must be a positive integer (got ${rounds})`);
  if (options.iterations !== undefined && !(Number.isInteger(options.iterations) && options.iterations >= 1)) {
    throw new Error(`iterations must be a positive integer (got ${options.iterations})`);
  }
  if (options.maxSamples !== undefined && !(Number.isInteger(options.maxSamples) && options.maxSamples >= 2)) {
    throw new Error(`maxSamples must be an integer ≥ 2 (got ${options.maxSamples})`);
  }
  if (options.warmup !== undefined && !(Number.isInteger(options.warmup) && options.warmup >= 0)) {
    throw new Error(`warmup must be a non-negative integer (got ${options.warmup})`);
  }
  const pooled = defs.map(() => ({ samples: [] as number[], moes: [] as number[], leak: 0, newVars: 0, disposeLeak: 0, info: undefined as Record<string, unknown> | undefined }));
  for (let round = 1; round <= rounds; round++) {
    for (let i = 0; i < defs.length; i++) {
      const def = defs[i];
      options.onProgress?.({ phase: 'start', name: def.name, index: i, total: defs.length, round });
      const out = await runOne(def, { ...options, timeMs });
      const p = pooled[i];
      p.samples.push(...out.samples);
      p.moes.push(out.moe);
      p.leak = Math.max(p.leak, out.leakedPerIteration);
      p.newVars = Math.max(p.newVars, out.newVariables);
      p.disposeLeak = Math.max(p.disposeLeak, out.leakedOnDispose);
      p.info ??= out.info;
      options.onProgress?.({ phase: 'done', name: def.name, index: i, total: defs.length, round, result: toResult(def, p, rounds, options) });
    }
  }
  return defs.map((def, i) => toResult(def, pooled[i], rounds, options));
}

/** Round a latency to 0.1 µs (timers resolve about 1 µs): keeps the JSON small without losing anything real. */
function roundMs(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

/** At most `max` samples, evenly spaced in run order (every k-th): a fair subsample of a long run. */
export function thinSamples(xs: readonly number[], max: number): number[] {
  if (xs.length <= max) return [...xs];
  return Array.from({ length: max }, (_, i) => xs[Math.floor((i * xs.length) / max)]);
}

function toResult(
  def: BenchDefinition,
  p: { samples: number[]; moes: number[]; leak: number; newVars: number; disposeLeak: number; info?: Record<string, unknown> },
  rounds: number,
  options: BenchOptions,
): BenchResult {
  const max = options.maxSamples ?? DEFAULT_MAX_SAMPLES;
  const kept = thinSamples(p.samples, max).map(roundMs);
  const m = mean(kept);
  // One round, nothing thinned: tinybench's own moe. Otherwise the same t-interval over the kept samples.
  const moe = p.moes.length === 1 && kept.length === p.samples.length ? p.moes[0] : tMoe95(kept);
  return {
    name: def.name,
    group: def.group,
    unit: 'ms',
    better: 'lower',
    samples: kept,
    median: requireMedian(kept, def.name),
    moe,
    rme: m > 0 ? (100 * moe) / m : 0,
    mean: m,
    min: Math.min(...kept),
    max: Math.max(...kept),
    n: kept.length,
    measured: p.samples.length,
    warmup: options.warmup ?? def.warmup,
    rounds,
    leakedTensorsPerIteration: p.leak,
    newVariablesDuringSampling: p.newVars,
    leakedTensorsOnDispose: p.disposeLeak,
    config: def.config,
    ...(p.info ? { info: p.info } : {}),
  };
}

export function machineInfo(loadStart: number[]): MachineInfo {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model?.trim() ?? 'unknown',
    totalMemoryBytes: os.totalmem(),
    hostname: os.hostname(),
    loadAverageStart: loadStart,
    loadAverageEnd: os.loadavg(),
  };
}

export interface RunBenchOptions extends BenchOptions {
  filter?: string;
  env: EnvProvenance;
  /** Definitions to choose from (default benchDefinitions()); tests pass their own. */
  definitions?: readonly BenchDefinition[];
}

/** Select, run, and wrap the results in the bench JSON. */
export async function runBench(o: RunBenchOptions): Promise<BenchReport> {
  const defs = selectBenchmarks(o.definitions ?? benchDefinitions(), o.filter);
  const loadStart = os.loadavg();
  const startedAt = new Date();
  const t0 = performance.now();
  const benchmarks = await runBenchmarks(defs, o);
  return {
    format: BENCH_FORMAT,
    machineClass: machineClass(o.env),
    env: o.env,
    machine: machineInfo(loadStart),
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallSeconds: (performance.now() - t0) / 1000,
    options: {
      timeMs: o.timeMs ?? 500,
      ...(o.iterations !== undefined ? { iterations: o.iterations } : {}),
      ...(o.warmup !== undefined ? { warmup: o.warmup } : {}),
      rounds: o.rounds ?? 1,
      maxSamples: o.maxSamples ?? DEFAULT_MAX_SAMPLES,
      ...(o.filter ? { filter: o.filter } : {}),
    },
    benchmarks,
  };
}

/** Benchmarks that leak tensors (per iteration or on dispose), as messages. */
export function leakProblems(results: readonly BenchResult[]): string[] {
  const out: string[] = [];
  for (const r of results) {
    if (r.leakedTensorsPerIteration !== 0) out.push(`${r.name}: ${r.leakedTensorsPerIteration} tensor(s) leaked per iteration`);
    if (r.leakedTensorsOnDispose !== 0) out.push(`${r.name}: ${r.leakedTensorsOnDispose} tensor(s) left after dispose`);
  }
  return out;
}

function fmtMs(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** The human table: name, median, ± rme, n, min, max, leaks. */
export function formatBenchTable(report: Pick<BenchReport, 'benchmarks' | 'machineClass' | 'wallSeconds'>): string {
  const header = ['benchmark', 'median ms', '± rme', 'n', 'min ms', 'max ms', 'leak'];
  const rows = report.benchmarks.map((r) => [
    r.name,
    fmtMs(r.median),
    `${r.rme.toFixed(1)}%`,
    r.measured > r.n ? `${r.n} of ${r.measured}` : String(r.n),
    fmtMs(r.min),
    fmtMs(r.max),
    r.leakedTensorsPerIteration || r.leakedTensorsOnDispose ? `${r.leakedTensorsPerIteration}/it, ${r.leakedTensorsOnDispose} kept` : '-',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [
    `${report.machineClass}: ${report.benchmarks.length} benchmark(s) in ${report.wallSeconds.toFixed(1)} s`,
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
  ].join('\n') + '\n';
}
