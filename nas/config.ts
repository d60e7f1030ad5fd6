// Every setting of a search or an evaluation, as plain data that suites fill. Defaults follow the spec
// (../shared/spec/entrannas-paper.md §4, §7); choices where the paper is silent are named and settable.

// The engine knows no method by name: methods/registry.ts owns the names, each method's defaults over the
// method-neutral ones below, its validation and its traits.

export const DARTS_OPS = [
  'none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect',
  'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5',
] as const;
export type OpName = (typeof DARTS_OPS)[number];

export function isOpName(s: string): s is OpName {
  return (DARTS_OPS as readonly string[]).includes(s);
}

export interface SpaceConfig {
  /** Candidate ops (spec A3: EnTranNAS/DST drop `none`, DARTS keeps all 8). */
  ops: OpName[];
  /** Intermediate nodes per cell (4 in the standard space; spec A11 allows more). */
  nodes: number;
}

export interface DataConfig {
  /** Dataset name as registered in nas/data (cifar10, imagenet, fashion-mnist, mnist, idx, synthetic). */
  dataset: string;
  dataDir?: string;
  /** Resize images to this side (proxy runs); undefined keeps the native size. */
  imageSize?: number;
  /** Use at most this many training images (proxy runs). */
  trainLimit?: number;
  /** Use at most this many test images (proxy runs). */
  testLimit?: number;
  /** Fraction of the training set that trains weights in search; the rest trains α (0.5 in DARTS). */
  trainPortion: number;
  /** ImageNet search subsets (PC-DARTS): fraction of train per class for weights and for α. */
  subsetWeights?: number;
  subsetArch?: number;
  /** Seed of the class-balanced trainLimit/testLimit subsets (default 0: the same subset for every run seed). */
  subsetSeed?: number;
  /** Resampling used by imageSize on in-memory datasets: 'area' (default) or 'bilinear' (nas/data/augment.ts). */
  resize?: 'area' | 'bilinear';
  /** Number of classes of an 'idx' dataset (default: largest training label + 1). */
  numClasses?: number;
  /** ImageNet: an undecodable image stops the run ('error', the default) or is skipped and counted ('skip'). */
  badImages?: 'error' | 'skip';
  /** Shape and sizes of the 'synthetic' dataset (nas/data/synthetic.ts documents the defaults). */
  synthetic?: {
    trainSize?: number;
    testSize?: number;
    numClasses?: number;
    /** [H, W, C] */
    shape?: [number, number, number];
    /** Pixel noise std relative to the class pattern amplitude (default 0.5). */
    noise?: number;
    /** Seed of the class patterns and of the images (default 0). */
    seed?: number;
  };
}

export interface SgdConfig {
  lr: number;
  lrMin: number;
  momentum: number;
  weightDecay: number;
  gradClip: number;
  /** Linear lr warm-up epochs (ImageNet protocols). */
  warmupEpochs?: number;
}

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  weightDecay: number;
  /** Clip ‖grad α‖; 0 disables. Each method follows its reference code, named in gradClipBasis. */
  gradClip: number;
  /** Where the α clip value comes from (a reference implementation, or the spec). */
  gradClipBasis?: string;
}

export interface SearchConfig {
  /** A name in methods/registry.ts (which validates it). */
  method: string;
  seed: number;
  space: SpaceConfig;
  data: DataConfig;
  /** Search network: cells, initial channels, stem multiplier, stem kind. */
  layers: number;
  channels: number;
  stemMultiplier: number;
  stem: 'cifar' | 'imagenet';
  batchSize: number;
  /** Split each batch into micro-batches with gradient accumulation (0 or batchSize: off). */
  microBatch: number;
  epochs: number;
  /** Cap on optimisation steps per epoch (proxy runs); 0 = a full pass over the data. */
  stepsPerEpoch: number;
  /** Batches of held-out data used to score the super-net and the derived net at the end (0 = all). */
  evalBatches: number;
  weights: SgdConfig;
  arch: AdamConfig;
  /** Epochs with α (and β) frozen (spec A2: 15 for EnTranNAS, 0 for DARTS). */
  archWarmupEpochs: number;
  /** Softmax temperature τ, annealed linearly from start to end over the search (spec A4: 1 → 1). */
  temperature: { start: number; end: number };
  entrannas: {
    /** Cell indices that are Engine-cells; 'first-of-type' = first normal and first reduction cell (spec A1). */
    engineCells: number[] | 'first-of-type';
    /** One op instance per (source node, op), reused by every later node (spec §2.4). */
    featureSharing: boolean;
  };
  dst: {
    /** β init: t = sigmoid(β) (spec A6: 0). */
    betaInit: number;
    /** Optional λ·Σ(1−t_j) sparsity penalty (spec A7: 0). */
    sparsityPenalty: number;
  };
  pcdarts: {
    /** Partial-channel factor K: 1/K of the channels go through the mixed op. */
    k: number;
    edgeNormalization: boolean;
  };
  darts: {
    /** ε scale of the finite-difference Hessian-vector product (DARTS: 0.01 / ‖∇w'‖). */
    hessianEpsilon: number;
  };
  randomWs: {
    /** Architectures sampled and scored with the shared weights at the end. */
    candidates: number;
    /** Held-out batches each candidate is screened on (0: as many as the finalists get). */
    candidateBatches: number;
    /** The best this many of the screen are scored again on the held-out split (evalBatches; 0 = all of it); 0: no second stage. */
    finalists: number;
  };
  /**
   * The consistency gap (super-net vs derived net, inherited weights), one definition for every method: both
   * scored in inference mode on a class-balanced held-out fraction of the training set that neither weights nor α
   * see, after BN statistics are re-estimated for each over `bnBatches` shuffled batches of the weight half.
   */
  consistency: {
    /** Fraction of the training set held out (0: score on the α half with re-estimated BN, the old protocol's data). */
    heldOut: number;
    bnBatches: number;
    /** Random-WS has no super-net of its own: its super-net figure is the mean over this many sampled paths. */
    supernetPaths: number;
  };
}

export interface EvalConfig {
  seed: number;
  data: DataConfig;
  /** Network family: cifar (stem conv3x3) or imagenet (two stride-2 stems, mobile setting). */
  net: 'cifar' | 'imagenet';
  layers: number;
  channels: number;
  auxiliary: boolean;
  auxiliaryWeight: number;
  dropPath: number;
  batchSize: number;
  epochs: number;
  stepsPerEpoch: number;
  weights: SgdConfig;
  /** lr schedule: cosine (CIFAR) or linear decay to 0 (ImageNet code default). */
  lrSchedule: 'cosine' | 'linear';
  labelSmoothing: number;
  augment: { crop: boolean; flip: boolean; cutout: number; colorJitter: boolean };
}

export const STANDARD_OPS: OpName[] = [...DARTS_OPS];
export const NO_NONE_OPS: OpName[] = DARTS_OPS.filter((o) => o !== 'none');

/**
 * The method-neutral search defaults: the DARTS protocol on CIFAR-10 at paper scale (spec §4), all 8 ops.
 * A method's registry entry overrides what it changes (methods/registry.ts defaultSearchConfig); suites
 * override what they change on top.
 */
export function baseSearchConfig(method: string, seed = 0): SearchConfig {
  return {
    method,
    seed,
    space: { ops: [...STANDARD_OPS], nodes: 4 },
    data: { dataset: 'cifar10', trainPortion: 0.5 },
    layers: 8,
    channels: 16,
    stemMultiplier: 3,
    stem: 'cifar',
    batchSize: 64,
    microBatch: 0,
    epochs: 50,
    stepsPerEpoch: 0,
    evalBatches: 0,
    weights: { lr: 0.025, lrMin: 0.001, momentum: 0.9, weightDecay: 3e-4, gradClip: 5 },
    // No α clip: DARTS master architect.py (after a00cad0) has none; only the first release 8876e79 clipped at 10.
    arch: { lr: 3e-4, beta1: 0.5, beta2: 0.999, weightDecay: 1e-3, gradClip: 0, gradClipBasis: 'DARTS master architect.py: no α clip' },
    archWarmupEpochs: 0,
    temperature: { start: 1, end: 1 },
    entrannas: { engineCells: 'first-of-type', featureSharing: true },
    dst: { betaInit: 0, sparsityPenalty: 0 },
    pcdarts: { k: 4, edgeNormalization: true },
    darts: { hessianEpsilon: 0.01 },
    randomWs: { candidates: 100, candidateBatches: 0, finalists: 0 },
    consistency: { heldOut: 0.1, bnBatches: 10, supernetPaths: 5 },
  };
}

/** DARTS CIFAR-10 evaluation protocol (spec §4). */
export function defaultEvalConfig(seed = 0): EvalConfig {
  return {
    seed,
    data: { dataset: 'cifar10', trainPortion: 1 },
    net: 'cifar',
    layers: 20,
    channels: 36,
    auxiliary: true,
    auxiliaryWeight: 0.4,
    dropPath: 0.2,
    batchSize: 96,
    epochs: 600,
    stepsPerEpoch: 0,
    weights: { lr: 0.025, lrMin: 0, momentum: 0.9, weightDecay: 3e-4, gradClip: 5 },
    lrSchedule: 'cosine',
    labelSmoothing: 0,
    augment: { crop: true, flip: true, cutout: 16, colorJitter: false },
  };
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };
export type SearchOverrides = DeepPartial<SearchConfig>;
export type EvalOverrides = DeepPartial<EvalConfig>;

/** Deep-merge plain objects; arrays and scalars from `over` replace those of `base`. */
export function merge<T>(base: T, over: DeepPartial<T> | undefined): T {
  if (over === undefined) return base;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over as Record<string, unknown>)) {
    if (v === undefined) continue;
    const b = out[k];
    out[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && b !== null && typeof b === 'object' && !Array.isArray(b)
      ? merge(b, v as never)
      : v;
  }
  return out as T;
}
