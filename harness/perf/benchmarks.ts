// Benchmark definitions: what the micro-benchmarks and `bench step` run, and the fixtures they share.
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
//                         method's super-net, for every method in the registry: 3 cells, C=8, batch 8,
//                         16×16×3 random tensors, 10 classes
// Names are the history keys: change a configuration and the name must change with it (the constants below).
// bench-runner.ts runs these; step.ts times createSearchIteration at other sizes.
import * as tf from '@tensorflow/tfjs-core';
import { DARTS_OPS, NO_NONE_OPS, STANDARD_OPS, merge, type OpName, type SearchConfig } from '../../nas/config.js';
import { defaultSearchConfig, type MethodName } from '../../methods/registry.js';
import { buildOp } from '../../nas/ops.js';
import { ParamStore } from '../../nas/params.js';
import { Rng } from '../../nas/rng.js';
import { SearchCell, edgeCount, type CellMode, type DerivedPair } from '../../nas/cell.js';
import type { ForwardCtx } from '../../nas/layers.js';
import type { SupernetSearch, TensorBatch } from '../../nas/search.js';
import { PUBLISHED } from '../../nas/genotypes-published.js';
import { EnTranNASDst } from '../../methods/entrannas/dst.js';
import { METHOD_NAMES, createSearch } from '../../methods/registry.js';


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
  for (const m of METHOD_NAMES) defs.push(searchBench(m));
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
