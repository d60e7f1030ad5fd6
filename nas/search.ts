// The super-net search base: network, α per cell type, optimisers, and the steps every method shares.
// Methods (methods/) override how cells run (modesFor), how α is stepped and how a genotype is derived.
import * as tf from '@tensorflow/tfjs-core';
import type { SearchConfig } from './config.js';
import { SearchNetwork } from './network.js';
import { ParamStore } from './params.js';
import { Rng } from './rng.js';
import { edgeCount, type CellMode, type DerivedPair, type SearchCellOptions } from './cell.js';
import type { BnStats, ForwardCtx } from './layers.js';
import { Adam, Sgd, clipByGlobalNorm, type NamedGrads } from './optim.js';
import type { CellGenotype, Genotype } from './genotype.js';
import { deriveTop2, softmaxRows, toRows } from './derive.js';
import { variableGrads } from './grad.js';

export interface TensorBatch {
  x: tf.Tensor4D;
  y: tf.Tensor1D;
}

export interface DataShape {
  numClasses: number;
  imageShape: [number, number, number];
}

export type ModeFn = (index: number, reduction: boolean) => CellMode;

/** Cell modes that differ only by cell type, each computed once per forward (the first cell of its type asks). */
export function perCellType(make: (reduction: boolean) => CellMode): ModeFn {
  const cache = new Map<boolean, CellMode>();
  return (_i, r) => {
    let m = cache.get(r);
    if (!m) {
      m = make(r);
      cache.set(r, m);
    }
    return m;
  };
}

/** Mean cross-entropy, with optional label smoothing. */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D, smoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    const c = logits.shape[1];
    let target = tf.cast(tf.oneHot(tf.cast(labels, 'int32'), c), 'float32');
    if (smoothing > 0) target = tf.add(tf.mul(target, 1 - smoothing), smoothing / c);
    return tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))) as tf.Scalar;
  });
}

export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): number {
  return tf.tidy(() => tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), tf.cast(labels, 'int32')), 'int32')).dataSync()[0]);
}

/** Split a batch into chunks of at most `size` samples (micro-batches). */
function chunks(b: TensorBatch, size: number): TensorBatch[] {
  const n = b.x.shape[0];
  if (size <= 0 || size >= n) return [b];
  const out: TensorBatch[] = [];
  for (let s = 0; s < n; s += size) {
    const m = Math.min(size, n - s);
    out.push({ x: tf.slice(b.x, [s, 0, 0, 0], [m, -1, -1, -1]), y: tf.slice(b.y, [s], [m]) });
  }
  return out;
}

/** Accuracy (fraction) of a genotype with the shared weights on `batches` held-out batches (undefined: evalBatches). */
export type ArchScorer = (g: Genotype, batches?: number) => Promise<number>;

export abstract class SupernetSearch {
  readonly store: ParamStore;
  readonly net: SearchNetwork;
  readonly rng: Rng;
  readonly edges: number;
  protected readonly weightVars = new Map<string, tf.Variable>();
  protected readonly archVars = new Map<string, tf.Variable>();
  readonly sgd: Sgd;
  adam?: Adam;
  /** Current softmax temperature τ. */
  tau: number;

  constructor(readonly cfg: SearchConfig, readonly data: DataShape) {
    this.rng = new Rng(cfg.seed);
    this.store = new ParamStore(this.rng.child('init'));
    this.edges = edgeCount(cfg.space.nodes);
    this.tau = cfg.temperature.start;
    this.net = new SearchNetwork(this.store, {
      channels: cfg.channels, layers: cfg.layers, numClasses: data.numClasses, inputChannels: data.imageShape[2],
      stemMultiplier: cfg.stemMultiplier, nodes: cfg.space.nodes, ops: cfg.space.ops, stem: cfg.stem,
      cellOptions: (i, r) => this.cellOptions(i, r),
    });
    this.createArchParams();
    for (const e of this.store.list('weight')) this.weightVars.set(e.path, e.variable);
    for (const e of this.store.list('arch')) this.archVars.set(e.path, e.variable);
    this.sgd = new Sgd(this.weightVars, cfg.weights.momentum, cfg.weights.weightDecay);
    if (this.archVars.size) {
      this.adam = new Adam(this.archVars, cfg.arch.beta1, cfg.arch.beta2, (n) => this.archWeightDecay(n));
    }
  }

  /** Feature sharing / partial channels per cell. */
  protected cellOptions(_index: number, _reduction: boolean): SearchCellOptions {
    return { sharing: false, partialChannels: 1 };
  }

  /** α_normal and α_reduce: [edges, ops], 1e-3·N(0,1) (DARTS). Methods add more (β). */
  protected createArchParams(): void {
    const shape = [this.edges, this.cfg.space.ops.length];
    this.store.create('alpha.normal', 'arch', shape, { kind: 'normal', std: 1e-3 });
    this.store.create('alpha.reduce', 'arch', shape, { kind: 'normal', std: 1e-3 });
  }

  protected archWeightDecay(_name: string): number {
    return this.cfg.arch.weightDecay;
  }

  alpha(reduction: boolean): tf.Variable {
    return this.store.get(reduction ? 'alpha.reduce' : 'alpha.normal');
  }

  /** softmax(α/τ) as a differentiable tensor [edges, ops]. */
  protected probsTensor(reduction: boolean): tf.Tensor2D {
    return tf.softmax(tf.div(this.alpha(reduction), this.tau)) as tf.Tensor2D;
  }

  /** softmax(α/τ) read back as plain numbers [edges][ops]. */
  probs(reduction: boolean): number[][] {
    return softmaxRows(toRows(this.alpha(reduction).dataSync(), this.cfg.space.ops.length), this.tau);
  }

  /** Cell modes for a step: purpose 'weights' (SGD step), 'arch' (α step) or 'eval' (scoring the super-net). */
  abstract modesFor(purpose: 'weights' | 'arch' | 'eval'): ModeFn;
  /** The genotype the current architecture parameters derive: the DARTS top-2 rule on softmax(α/τ) by default. */
  derive(): Genotype {
    const { ops, nodes } = this.cfg.space;
    return { format: 'darts', normal: deriveTop2(this.probs(false), ops, nodes), reduce: deriveTop2(this.probs(true), ops, nodes) };
  }
  /** Whether this method has an architecture step (random-ws has none). */
  hasArchStep(): boolean {
    return this.archVars.size > 0;
  }
  /** Called after each α update (EnTranNAS re-derives its Transit cells here). */
  onArchUpdated(): void {}
  /** Called before each weight step (random-ws samples a path here). */
  beforeWeightStep(_rng: Rng): void {}
  /**
   * After the last epoch: a method may choose its final architecture with a scorer (random-ws). The scorer gives a
   * genotype's accuracy with the shared weights on `batches` held-out batches (undefined: the search's evalBatches).
   */
  async finalize(_score: ArchScorer): Promise<void> {}
  /** Extra method outputs per epoch (DST sparsity trace). */
  epochTrace(): Record<string, unknown> {
    return {};
  }
  /** Extra regulariser on the architecture loss (DST sparsity penalty). */
  protected archRegulariser(): tf.Scalar | undefined {
    return undefined;
  }

  /** Derived-mode cells that run exactly a genotype (inherited weights). */
  derivedModes(g: Genotype): ModeFn {
    const toPairs = (c: CellGenotype): DerivedPair[][] =>
      c.nodes.map((pairs) => pairs.map(([op, input]) => {
        const k = this.cfg.space.ops.indexOf(op);
        if (k < 0) throw new Error(`genotype op "${op}" is not in this search space`);
        return [k, input] as DerivedPair;
      }));
    const normal: CellMode = { kind: 'derived', nodes: toPairs(g.normal) };
    const reduce: CellMode = { kind: 'derived', nodes: toPairs(g.reduce) };
    return (_i, r) => (r ? reduce : normal);
  }

  /** Mixed-mode cells weighted by softmax(α/τ), computed once per forward per cell type. */
  protected softmaxModes(): ModeFn {
    return perCellType((r) => ({ kind: 'mixed', weights: this.probsTensor(r) }));
  }

  forwardLoss(b: TensorBatch, modes: ModeFn, ctx: ForwardCtx = { training: true }): tf.Scalar {
    return crossEntropy(this.net.forward(b.x, modes, ctx), b.y);
  }

  /** Gradients of the mean loss over micro-batches for the given variables. Returns loss and grads (caller disposes). */
  protected gradients(b: TensorBatch, modes: () => ModeFn, vars: Map<string, tf.Variable>, extraLoss?: () => tf.Scalar | undefined):
    { loss: number; grads: NamedGrads } {
    const parts = chunks(b, this.cfg.microBatch);
    const n = b.x.shape[0];
    let total = 0;
    const grads: NamedGrads = {};
    const varList = [...vars.values()];
    const nameOf = new Map([...vars].map(([path, v]) => [v.name, path]));
    // Without α (β) among the variables, mixed cells read their weights as constants (nothing kept for their gradient).
    const archValues = new Set(this.archVars.values());
    const constWeights = !varList.some((v) => archValues.has(v));
    const cellModes = (): ModeFn => {
      const m = modes();
      if (!constWeights) return m;
      return (i, r) => {
        const md = m(i, r);
        return md.kind === 'mixed' ? { ...md, constWeights: true } : md;
      };
    };
    parts.forEach((p, idx) => {
      const scale = p.x.shape[0] / n;
      const { value, grads: g } = variableGrads(() => {
        let l = tf.mul(this.forwardLoss(p, cellModes()), scale) as tf.Scalar;
        const extra = idx === 0 && extraLoss ? extraLoss() : undefined;
        if (extra) l = tf.add(l, extra) as tf.Scalar;
        return l;
      }, varList);
      total += value.dataSync()[0];
      value.dispose();
      for (const [vn, t] of Object.entries(g)) {
        const name = nameOf.get(vn)!;
        if (grads[name]) {
          const s = tf.add(grads[name], t);
          grads[name].dispose();
          t.dispose();
          grads[name] = s;
        } else grads[name] = t;
      }
      if (p !== b) {
        p.x.dispose();
        p.y.dispose();
      }
    });
    return { loss: total, grads };
  }

  /** One SGD step on a training batch. Returns the loss. */
  weightStep(b: TensorBatch, lr: number): number {
    const { loss, grads } = this.gradients(b, () => this.modesFor('weights'), this.weightVars);
    clipByGlobalNorm(grads, this.cfg.weights.gradClip);
    this.sgd.apply(grads, lr);
    tf.dispose(Object.values(grads));
    return loss;
  }

  /** First-order α (and β) step on a validation batch. `train` and `lr` serve the second-order override. */
  archStep(val: TensorBatch, _train: TensorBatch, _lr: number): number {
    const { loss, grads } = this.gradients(val, () => this.modesFor('arch'), this.archVars, () => this.archRegulariser());
    this.applyArchGrads(grads);
    return loss;
  }

  protected applyArchGrads(grads: NamedGrads): void {
    clipByGlobalNorm(grads, this.cfg.arch.gradClip);
    this.adam!.apply(grads, this.cfg.arch.lr);
    tf.dispose(Object.values(grads));
    this.onArchUpdated();
  }

  /** Correct predictions of a forward in the given modes (no gradients); with `bnStats`, BN uses those statistics. */
  correct(b: TensorBatch, modes: () => ModeFn, bnStats?: BnStats): number {
    return tf.tidy(() => countCorrect(this.net.forward(b.x, modes(), { training: false, bnStats }), b.y));
  }

  /** Add one batch's BN statistics in the given modes to `bnStats` (collecting), for BN re-estimation. */
  collectBn(b: TensorBatch, modes: () => ModeFn, bnStats: BnStats): void {
    tf.tidy(() => {
      this.net.forward(b.x, modes(), { training: false, bnStats });
    });
  }

  /**
   * The networks whose mean accuracy is the super-net's figure in the consistency gap: the super-net itself,
   * one entry (a factory: mixed modes hold tensors of one forward). A method without a super-net of its own (random-ws) gives sampled paths.
   */
  supernetScoringModes(_paths: number): Array<() => ModeFn> {
    return [() => this.modesFor('eval')];
  }

  dispose(): void {
    this.sgd.dispose();
    this.adam?.dispose();
    this.store.dispose();
  }
}
