// Benchmarks: definitions, the tinybench driver, and the full super-net step measurement (`bench step`).
//
// Three groups of micro-benchmarks, each one forward + backward (gradients of a fixed random projection of the
// output w.r.t. the inputs and every weight, read back to force completion):
//   op/<name>/s<stride>   one candidate op, search form (BN without affine), C=16, 16×16, batch 8
//   cell/<kind>           one normal search cell, C=16, 16×16, batch 8, 4 nodes:
//                           darts-mixed    all 8 ops on all 14 edges, one op instance per edge, softmax(α)
//                           engine-shared  EnTranNAS Engine cell: 7 ops, feature sharing, softmax(α)
//                           transit-derived EnTranNAS Transit cell running DARTS_V2's normal cell (shared banks)
//                           dst-engine     EnTranNAS-DST Engine cell: q̂ weights (EnTranNASDst.qHatTensor) and
//                                          the active mask (pairs with q = 0 skipped), α spread so that some prune
//   search/<method>       one search iteration (α step when the method has one, then the weight step) of the
//                         method's super-net: 3 cells, C=8, batch 8, 16×16×3 random tensors, 10 classes
// Names are the history keys: change a configuration and the name must change with it (the constants below).
//
// Each benchmark is set up, warmed up (tinybench warm-up iterations, not timed into the samples), sampled, and
// disposed, one at a time. Live non-variable tensors are counted after the warm-up and after sampling: a
// difference is a per-iteration leak and is reported (the command exits 1). Variables that appear meanwhile are
// optimiser slots created lazily (a derived path reaching an op for the first time) and are only reported.
// Tensors left after dispose (setup's own leaks) are reported too. At most 100 samples are kept per benchmark.
import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { Bench } from 'tinybench';
import { mean, requireMedian, tMoe95 } from '../../nas/util/stats.js';
import { DARTS_OPS, NO_NONE_OPS, STANDARD_OPS, merge, type OpName, type SearchConfig } from '../../nas/config.js';
import { buildOp } from '../../nas/ops.js';
import { ParamStore } from '../../nas/params.js';
import { Rng } from '../../nas/rng.js';
import { SearchCell, edgeCount, type CellMode, type DerivedPair } from '../../nas/cell.js';
import type { ForwardCtx } from '../../nas/layers.js';
import type { SupernetSearch, TensorBatch } from '../../nas/search.js';
import { PUBLISHED } from '../../nas/genotypes-published.js';
import { EnTranNASDst } from '../../methods/entrannas/dst.js';
import { createSearch, defaultSearchConfig, type MethodName } from '../../methods/registry.js';
import { machineClass } from './history.js';
import { TensorPeak } from '../../nas/tensor-peak.js';
import type { EnvProvenance } from '../results/record.js';

export const BENCH_FORMAT = 'entrannas-bench/bench@1';
export const STEP_FORMAT = 'entrannas-bench/bench-step@1';

/** Op and cell micro-benchmark size. */
export const MICRO = { channels: 16, size: 16, batch: 8 } as const;
/** Search-iteration benchmark size. */
export const SEARCH_ITER = { layers: 3, channels: 8, batch: 8, size: 16, inputChannels: 3, numClasses: 10 } as const;

export type BenchGroup = 'op' | 'cell' | 'search';

/** A running benchmark: one iteration, and the teardown. */
export interface BenchInstance {
  iterate(): void;
  dispose(): void;
  /** Facts about this instance worth keeping with the result (active pairs, parameter counts, ...). */
  info?: Record<string, unknown>;
}

export interface BenchDefinition {
  name: string;
  group: BenchGroup;
  description: string;
  /** Configuration of the benchmark (kept with the result). */
  config: Record<string, unknown>;
  /** Default warm-up iterations and minimum samples for this kind (ops are cheap, search iterations are not). */
  warmup: number;
  minSamples: number;
  setup(): BenchInstance;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

function randn(rng: Rng, shape: number[], std = 1): tf.Tensor {
  return tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1), std), shape, 'float32');
}

/**
 * Gradients of Σ r ⊙ f() w.r.t. `vars`, inside a tidy, then one scalar read back so the work has finished
 * (GPU backends queue kernels). `f` returns the output to project; `r` is created lazily at the output's shape.
 */
function forwardBackward(f: () => tf.Tensor, vars: tf.Variable[], proj: { r?: tf.Tensor; rng: Rng }): void {
  tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const y = f();
      if (!proj.r) proj.r = tf.keep(randn(proj.rng, y.shape));
      return tf.sum(tf.mul(y, proj.r)) as tf.Scalar;
    }, vars);
    const gs = Object.values(grads);
    (gs.length ? tf.add(value, tf.addN(gs.map((g) => tf.sum(g)))) : value).dataSync();
  });
}

/** A trainable variable initialised from (and taking ownership of) `t`. */
function variableOf(t: tf.Tensor): tf.Variable {
  const v = tf.variable(t, true);
  t.dispose();
  return v;
}

/**
 * Live tensors, split into variables and the rest. Variables that appear during sampling are optimiser slots
 * created lazily the first time a parameter gets a gradient (momentum buffers of ops a derived path reaches for
 * the first time); they are reported, not counted as leaks. Reads the engine's variable registry (tfjs-core 4.x).
 */
export function liveTensors(): { tensors: number; variables: number } {
  const total = tf.memory().numTensors;
  const reg = (tf.engine() as unknown as { state?: { registeredVariables?: Record<string, unknown> } }).state?.registeredVariables;
  const variables = reg ? Object.keys(reg).length : 0;
  return { tensors: total - variables, variables };
}

function trainableWeights(store: ParamStore): tf.Variable[] {
  return store.variables('weight').filter((v) => v.trainable);
}

// ---------------------------------------------------------------------------------------------------------------
// Definitions

function opBench(name: OpName, stride: 1 | 2): BenchDefinition {
  const { channels, size, batch } = MICRO;
  return {
    name: `op/${name}/s${stride}`,
    group: 'op',
    description: `${name} stride ${stride}: forward + backward, C=${channels}, ${size}×${size}, batch ${batch}`,
    config: { op: name, stride, channels, size, batch, search: true },
    warmup: 5,
    minSamples: 10,
    setup() {
      const rng = new Rng(1);
      const store = new ParamStore(rng.child('init'));
      const op = buildOp(name, { store, path: 'op', channels, stride, search: true });
      const x = variableOf(randn(rng.child('x'), [batch, size, size, channels]));
      const vars = [x, ...trainableWeights(store)];
      const ctx: ForwardCtx = { training: true };
      const proj: { r?: tf.Tensor; rng: Rng } = { rng: rng.child('proj') };
      return {
        iterate: () => forwardBackward(() => op.apply(x as unknown as tf.Tensor4D, ctx)!, vars, proj),
        dispose: () => {
          store.dispose();
          x.dispose();
          proj.r?.dispose();
        },
        info: { weights: store.count('weight') },
      };
    },
  };
}

/** A normal search cell with cPrevPrev = cPrev = C, and its two inputs as trainable variables. */
function cellFixture(ops: OpName[], sharing: boolean, seed: number) {
  const { channels: c, size, batch } = MICRO;
  const rng = new Rng(seed);
  const store = new ParamStore(rng.child('init'));
  const cell = new SearchCell(store, 'cell', { nodes: 4, reduction: false, reductionPrev: false, cPrevPrev: c, cPrev: c, c }, ops, { sharing, partialChannels: 1 });
  const s0 = variableOf(randn(rng.child('s0'), [batch, size, size, c]));
  const s1 = variableOf(randn(rng.child('s1'), [batch, size, size, c]));
  const weights = trainableWeights(store);
  const proj: { r?: tf.Tensor; rng: Rng } = { rng: rng.child('proj') };
  const forward = (mode: CellMode) => cell.forward(s0 as unknown as tf.Tensor4D, s1 as unknown as tf.Tensor4D, mode, { training: true });
  const dispose = () => {
    store.dispose();
    s0.dispose();
    s1.dispose();
    proj.r?.dispose();
  };
  return { rng, store, cell, s0, s1, weights, proj, forward, dispose };
}

function mixedCellBench(kind: 'darts-mixed' | 'engine-shared'): BenchDefinition {
  const darts = kind === 'darts-mixed';
  const ops = darts ? [...STANDARD_OPS] : [...NO_NONE_OPS];
  return {
    name: `cell/${kind}`,
    group: 'cell',
    description: darts
      ? `DARTS mixed cell: ${ops.length} ops × 14 edges, one op per edge, softmax(α); α, weights and inputs get gradients`
      : `EnTranNAS Engine cell: ${ops.length} ops, feature sharing (one op per source node), softmax(α)`,
    config: { ...MICRO, nodes: 4, ops, sharing: !darts },
    warmup: 2,
    minSamples: 5,
    setup() {
      const f = cellFixture(ops, !darts, 2);
      const alpha = variableOf(randn(f.rng.child('alpha'), [edgeCount(4), ops.length], 1e-3));
      const vars = [f.s0, f.s1, alpha, ...f.weights];
      return {
        iterate: () => forwardBackward(() => f.forward({ kind: 'mixed', weights: tf.softmax(alpha) as tf.Tensor2D }), vars, f.proj),
        dispose: () => {
          f.dispose();
          alpha.dispose();
        },
        info: { weights: f.store.count('weight') },
      };
    },
  };
}

function transitCellBench(): BenchDefinition {
  const ops = [...NO_NONE_OPS];
  const genotype = PUBLISHED.DARTS_V2.normal as Array<[OpName, number]>;
  return {
    name: 'cell/transit-derived',
    group: 'cell',
    description: 'EnTranNAS Transit cell running DARTS_V2 normal (8 pairs) on shared op banks; weights and inputs get gradients',
    config: { ...MICRO, nodes: 4, ops, sharing: true, genotype: 'DARTS_V2.normal' },
    warmup: 3,
    minSamples: 8,
    setup() {
      const f = cellFixture(ops, true, 3);
      const nodes: DerivedPair[][] = [];
      for (let j = 0; j < genotype.length / 2; j++) {
        nodes.push(genotype.slice(2 * j, 2 * j + 2).map(([op, input]) => [ops.indexOf(op), input] as DerivedPair));
      }
      const mode: CellMode = { kind: 'derived', nodes };
      const vars = [f.s0, f.s1, ...f.weights];
      return { iterate: () => forwardBackward(() => f.forward(mode), vars, f.proj), dispose: f.dispose, info: { pairs: genotype.length } };
    },
  };
}

function dstCellBench(): BenchDefinition {
  const ops = [...NO_NONE_OPS];
  return {
    name: 'cell/dst-engine',
    group: 'cell',
    description: 'EnTranNAS-DST Engine cell: q̂ weights (qHatTensor), active mask from q > 0 recomputed per forward; α, β, weights and inputs get gradients',
    config: { ...MICRO, nodes: 4, ops, sharing: true, alphaStd: 1 },
    warmup: 2,
    minSamples: 5,
    setup() {
      const f = cellFixture(ops, true, 4);
      // The method object only supplies α, β and q̂ (its own tiny network is never run).
      const cfg = merge(defaultSearchConfig('entrannas-dst', 0), { layers: 3, channels: 4, batchSize: 2 });
      const dst = new EnTranNASDst(cfg, { numClasses: 10, imageShape: [8, 8, 3] });
      // Spread α (N(0, 1) instead of the 1e-3 init) so that q = 0 for some pairs: the mask then prunes.
      const alpha = dst.alpha(false);
      tf.tidy(() => alpha.assign(randn(f.rng.child('alpha'), alpha.shape)));
      const beta = dst.beta(false);
      const vars = [f.s0, f.s1, alpha, beta, ...f.weights];
      const active = dst.state(false).q.map((row) => row.map((v) => v > 0));
      const activePairs = active.flat().filter(Boolean).length;
      return {
        iterate: () => {
          // As EnTranNASDst.engineModes does per forward: the mask from q (read back), q̂ differentiable.
          const mask = dst.state(false).q.map((row) => row.map((v) => v > 0));
          forwardBackward(() => f.forward({ kind: 'mixed', weights: dst.qHatTensor(false), active: mask }), vars, f.proj);
        },
        dispose: () => {
          f.dispose();
          dst.dispose();
        },
        info: { activePairs, pairs: active.flat().length },
      };
    },
  };
}

/** The config of the search-iteration benchmark (and of `bench step` with other sizes). */
export function searchBenchConfig(
  method: MethodName,
  size: { layers: number; channels: number; batch: number; microBatch?: number } = SEARCH_ITER,
): SearchConfig {
  return merge(defaultSearchConfig(method, 0), {
    layers: size.layers,
    channels: size.channels,
    batchSize: size.batch,
    microBatch: size.microBatch ?? 0,
    data: { dataset: 'synthetic' },
  });
}

/** A search method with fixed random train and val batches, and one iteration as the search loop runs it. */
export interface SearchIteration {
  search: SupernetSearch;
  /** beforeWeightStep, α step (when the method has one), weight step. */
  step(): void;
  dispose(): void;
}

export function createSearchIteration(cfg: SearchConfig, imageSize: number, inputChannels = 3, numClasses = 10): SearchIteration {
  const search = createSearch(cfg, { numClasses, imageShape: [imageSize, imageSize, inputChannels] });
  const rng = new Rng(cfg.seed).child('bench-data');
  const b = cfg.batchSize;
  const batch = (name: string): TensorBatch => ({
    x: randn(rng.child(`${name}-x`), [b, imageSize, imageSize, inputChannels]) as tf.Tensor4D,
    y: tf.tensor1d(Array.from({ length: b }, (_, i) => i % numClasses), 'int32'),
  });
  const train = batch('train');
  const val = batch('val');
  const lr = cfg.weights.lr;
  let n = 0;
  return {
    search,
    step() {
      search.beforeWeightStep(search.rng.child(`bench-path-${n++}`));
      if (search.hasArchStep()) search.archStep(val, train, lr);
      search.weightStep(train, lr);
    },
    dispose() {
      tf.dispose([train.x, train.y, val.x, val.y]);
      search.dispose();
    },
  };
}

function searchBench(method: MethodName): BenchDefinition {
  const { layers, channels, batch, size, inputChannels, numClasses } = SEARCH_ITER;
  return {
    name: `search/${method}`,
    group: 'search',
    description: `${method}: one search iteration (α step if any + weight step), ${layers} cells, C=${channels}, batch ${batch}, ${size}×${size}×${inputChannels}`,
    config: { method, layers, channels, batch, size, inputChannels, numClasses },
    warmup: 2,
    minSamples: 5,
    setup() {
      const it = createSearchIteration(searchBenchConfig(method), size, inputChannels, numClasses);
      return { iterate: () => it.step(), dispose: () => it.dispose(), info: { weights: it.search.store.count('weight'), archStep: it.search.hasArchStep() } };
    },
  };
}

/** Every benchmark, in run order. */
export function benchDefinitions(): BenchDefinition[] {
  const defs: BenchDefinition[] = [];
  for (const op of DARTS_OPS) {
    if (op === 'none') continue; // the zero op computes nothing
    for (const stride of [1, 2] as const) defs.push(opBench(op, stride));
  }
  defs.push(mixedCellBench('darts-mixed'), mixedCellBench('engine-shared'), transitCellBench(), dstCellBench());
  for (const m of ['entrannas', 'entrannas-dst', 'darts-1st', 'darts-2nd', 'pc-darts', 'random-ws'] as const) defs.push(searchBench(m));
  return defs;
}

/** Compile a --filter regex, with a clear error. */
export function compileFilter(filter: string | undefined): RegExp | undefined {
  if (filter === undefined || filter === '') return undefined;
  try {
    return new RegExp(filter);
  } catch (err) {
    throw new Error(`--filter "${filter}" is not a valid regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** The definitions whose name matches the regex (unanchored, like grep). Throws when none does. */
export function selectBenchmarks(defs: readonly BenchDefinition[], filter: string | undefined): BenchDefinition[] {
  const re = compileFilter(filter);
  const out = re ? defs.filter((d) => re.test(d.name)) : [...defs];
  if (out.length === 0) throw new Error(`--filter "${filter}" matches no benchmark (names look like ${defs.slice(0, 3).map((d) => d.name).join(', ')}, …)`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Running

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

/** The bench JSON: accepted by harness/history.ts buildHistoryEntry (benchmarks[].name/samples/unit/moe, env). */
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

// ---------------------------------------------------------------------------------------------------------------
// bench step: a full super-net step at a given size (issue 7's speed target)

export interface StepOptions {
  method: MethodName;
  layers: number;
  channels: number;
  batch: number;
  imageSize: number;
  steps: number;
  warmup: number;
  /** SearchConfig.microBatch (0 = off). */
  microBatch?: number;
  seed?: number;
}

export interface StepDeps {
  /** Clock in ms (default performance.now); called right before and right after each step, warm-up included. */
  now?: () => number;
  /** Called after each step with its index (warm-up steps count from 0) and duration. */
  onStep?: (index: number, ms: number, warmup: boolean) => void;
}

export interface StepReport {
  format: typeof STEP_FORMAT;
  /** Median of `samples` (the measured steps, after warm-up). */
  msPerStep: number;
  /** Lifetime peak resident set size of this process, MiB (2^20 bytes). */
  peakRssMB: number;
  /** Peak bytes held by tfjs tensors during the steps (every tensor allocation is seen), MiB. */
  peakTensorMB: number;
  peakRssBytes: number;
  peakTensorBytes: number;
  /** How the tensor peak was measured: 'every-allocation' (engine hook) or 'between-steps' (fallback). */
  peakTensorSource: 'every-allocation' | 'between-steps';
  steps: number;
  warmup: number;
  method: MethodName;
  /** Whether the step included an α step (random-ws has none). */
  archStep: boolean;
  microBatch?: number;
  config: { layers: number; channels: number; batch: number; imageSize: number; inputChannels: number; numClasses: number; seed: number };
  /** Duration of each measured step, ms. */
  samples: number[];
  /** Duration of each warm-up step, ms (the first step costs several steady ones). */
  warmupSamples: number[];
  /** Non-variable tensors alive after the last step minus after the warm-up (0 when nothing leaks). */
  leakedTensors: number;
  /** Variables created during the measured steps (lazily created optimiser slots; not a leak). */
  newVariables: number;
  machineClass?: string;
  env?: EnvProvenance;
}

const MiB = 1024 * 1024;


export function validateStepOptions(o: StepOptions): void {
  const int = (name: string, v: number, min: number) => {
    if (!(Number.isInteger(v) && v >= min)) throw new Error(`--${name} must be an integer ≥ ${min} (got ${v})`);
  };
  int('layers', o.layers, 1);
  int('channels', o.channels, 1);
  int('batch', o.batch, 1);
  int('image-size', o.imageSize, 1);
  int('steps', o.steps, 1);
  int('warmup', o.warmup, 0);
  if (o.microBatch !== undefined) {
    int('micro-batch', o.microBatch, 0);
    if (o.microBatch > o.batch) throw new Error(`--micro-batch ${o.microBatch} is larger than --batch ${o.batch}`);
  }
}

/** A step configuration that cannot be built (bad sizes, or sizes the method refuses). */
export class StepConfigError extends Error {
  override name = 'StepConfigError';
}

/** Build the method at the given size and time `warmup + steps` full steps on fixed random batches. */
export function runStep(o: StepOptions, deps: StepDeps = {}): StepReport {
  const now = deps.now ?? (() => performance.now());
  const seed = o.seed ?? 0;
  let it: SearchIteration;
  try {
    validateStepOptions(o);
    const cfg = { ...searchBenchConfig(o.method, { layers: o.layers, channels: o.channels, batch: o.batch, microBatch: o.microBatch }), seed };
    it = createSearchIteration(cfg, o.imageSize, 3, 10);
  } catch (err) {
    throw new StepConfigError(err instanceof Error ? err.message : String(err));
  }
  const peak = new TensorPeak();
  const warmupSamples: number[] = [];
  const samples: number[] = [];
  let afterWarmup = liveTensors();
  try {
    for (let i = 0; i < o.warmup + o.steps; i++) {
      if (i === o.warmup) afterWarmup = liveTensors();
      const t0 = now();
      it.step();
      const ms = now() - t0;
      peak.sample();
      (i < o.warmup ? warmupSamples : samples).push(ms);
      deps.onStep?.(i, ms, i < o.warmup);
    }
    const live = liveTensors();
    const leakedTensors = live.tensors - afterWarmup.tensors;
    const peakTensorBytes = peak.peak();
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    return {
      format: STEP_FORMAT,
      msPerStep: requireMedian(samples, 'bench step'),
      peakRssMB: peakRssBytes / MiB,
      peakTensorMB: peakTensorBytes / MiB,
      peakRssBytes,
      peakTensorBytes,
      peakTensorSource: peak.source,
      steps: o.steps,
      warmup: o.warmup,
      method: o.method,
      archStep: it.search.hasArchStep(),
      ...(o.microBatch ? { microBatch: o.microBatch } : {}),
      config: { layers: o.layers, channels: o.channels, batch: o.batch, imageSize: o.imageSize, inputChannels: 3, numClasses: 10, seed },
      samples,
      warmupSamples,
      leakedTensors,
      newVariables: live.variables - afterWarmup.variables,
    };
  } finally {
    peak.stop();
    it.dispose();
  }
}

export function formatStep(r: StepReport): string {
  const cfg = r.config;
  return [
    `${r.method}: ${r.msPerStep.toFixed(0)} ms/step (median of ${r.steps} after ${r.warmup} warm-up; ` +
      `${r.archStep ? 'α step + weight step' : 'weight step only'})`,
    `  config: ${cfg.layers} cells, C=${cfg.channels}, batch ${cfg.batch}${r.microBatch ? ` (micro-batch ${r.microBatch})` : ''}, ${cfg.imageSize}×${cfg.imageSize}×${cfg.inputChannels}`,
    `  steps ms: ${r.samples.map((s) => s.toFixed(0)).join(', ')}  (warm-up: ${r.warmupSamples.map((s) => s.toFixed(0)).join(', ') || '-'})`,
    `  peak RSS ${r.peakRssMB.toFixed(0)} MiB, peak tensors ${r.peakTensorMB.toFixed(0)} MiB (${r.peakTensorSource})` +
      (r.leakedTensors ? `, LEAK: ${r.leakedTensors} tensors` : ''),
  ].join('\n') + '\n';
}
