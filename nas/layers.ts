// Parametric building blocks on top of nas/kernels: conv, depthwise, pointwise, batch norm, linear.
// Each layer owns its variables in a ParamStore under a path, and counts multiply-accumulates when asked.
import * as tf from '@tensorflow/tfjs-core';
import * as K from './kernels/index.js';
import type { ParamStore } from './params.js';

/** Per-forward context: training flag, optional MAC and op-evaluation counters, deferred BN updates. */
export interface ForwardCtx {
  training: boolean;
  /** When set, layers add their multiply-accumulates per sample here. */
  macs?: { total: number };
  /** When set, cells add one per candidate-op evaluation (feature-sharing tests and op-count figures). */
  opEvals?: { total: number };
  /** Running-statistic updates to apply after the step (kept tensors; applyBnUpdates disposes them). */
  bnUpdates?: Array<[tf.Variable, tf.Tensor]>;
  /** Drop-path drop probability at this epoch (evaluation networks), with a seeded mask source. */
  dropPath?: { prob: number; mask: (n: number) => tf.Tensor };
  /** Re-estimated BN statistics: collected over batches, then used in inference mode (BnStats). */
  bnStats?: BnStats;
}

/**
 * BN statistics re-estimated outside training, for nets whose BN keeps none (search cells, spec A13): while
 * `collecting`, every BN normalises with its batch statistics and adds them to a cumulative average (mean and
 * unbiased variance, as PyTorch's momentum=None); afterwards every BN normalises with the averages. Keyed by
 * layer, so a super-net and a derived net sharing layers need one BnStats each.
 */
export class BnStats {
  collecting = true;
  private readonly acc = new Map<BatchNorm, { mean: tf.Tensor1D; variance: tf.Tensor1D; batches: number }>();

  add(layer: BatchNorm, mean: tf.Tensor, variance: tf.Tensor, n: number): void {
    const prev = this.acc.get(layer);
    const unbiased = tf.mul(variance, n / Math.max(1, n - 1));
    const m = tf.keep((prev ? tf.add(prev.mean, mean) : tf.clone(mean)) as tf.Tensor1D);
    const v = tf.keep((prev ? tf.add(prev.variance, unbiased) : tf.clone(unbiased)) as tf.Tensor1D);
    if (prev) tf.dispose([prev.mean, prev.variance]);
    this.acc.set(layer, { mean: m, variance: v, batches: (prev?.batches ?? 0) + 1 });
  }

  /** The averaged statistics of a layer; a layer never seen while collecting is an error (its figure would be wrong). */
  stats(layer: BatchNorm): { mean: tf.Tensor1D; variance: tf.Tensor1D } {
    const a = this.acc.get(layer);
    if (!a) throw new Error('BN re-estimation: a batch-norm layer ran in inference that no re-estimation batch reached');
    return { mean: tf.div(a.mean, a.batches) as tf.Tensor1D, variance: tf.div(a.variance, a.batches) as tf.Tensor1D };
  }

  dispose(): void {
    for (const a of this.acc.values()) tf.dispose([a.mean, a.variance]);
    this.acc.clear();
  }
}

export function applyBnUpdates(ctx: ForwardCtx): void {
  if (!ctx.bnUpdates) return;
  for (const [v, t] of ctx.bnUpdates) {
    v.assign(t);
    t.dispose();
  }
  ctx.bnUpdates.length = 0;
}

function outSize(n: number, k: number, stride: number, pad: number, dilation = 1): number {
  return Math.floor((n + 2 * pad - dilation * (k - 1) - 1) / stride) + 1;
}

export class Conv2d {
  readonly w: tf.Variable;
  constructor(store: ParamStore, path: string, readonly cin: number, readonly cout: number,
    readonly k: number, readonly stride: number, readonly pad: number) {
    this.w = store.create(`${path}.weight`, 'weight', [k, k, cin, cout], { kind: 'kaiming-uniform', fanIn: cin * k * k });
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const y = K.conv2d(x, this.w as tf.Tensor4D, this.stride, this.pad);
    if (ctx.macs) ctx.macs.total += y.shape[1] * y.shape[2] * this.cout * this.cin * this.k * this.k;
    return y;
  }
}

export class Pointwise {
  readonly w: tf.Variable;
  constructor(store: ParamStore, path: string, readonly cin: number, readonly cout: number, readonly stride = 1) {
    this.w = store.create(`${path}.weight`, 'weight', [cin, cout], { kind: 'kaiming-uniform', fanIn: cin });
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx, offset = 0): tf.Tensor4D {
    const xs = this.stride === 1 && offset === 0 ? x : K.subsample(x, this.stride, offset);
    const y = K.conv1x1(xs, this.w as tf.Tensor2D, 1);
    this.countMacs(y, ctx);
    return y;
  }
  /** Add the multiply-accumulates per sample of an output y of this layer (also for fused chains). */
  countMacs(y: tf.Tensor4D, ctx: ForwardCtx): void {
    if (ctx.macs) ctx.macs.total += y.shape[1] * y.shape[2] * this.cout * this.cin;
  }
}

export class Depthwise {
  readonly w: tf.Variable;
  constructor(store: ParamStore, path: string, readonly c: number, readonly k: number, readonly stride: number,
    readonly pad: number, readonly dilation: number) {
    this.w = store.create(`${path}.weight`, 'weight', [k, k, c, 1], { kind: 'kaiming-uniform', fanIn: k * k });
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const y = K.depthwiseConv2d(x, this.w as tf.Tensor4D, this.stride, this.pad, this.dilation);
    this.countMacs(y, ctx);
    return y;
  }
  /** Add the multiply-accumulates per sample of an output y of this layer (also for fused chains). */
  countMacs(y: tf.Tensor4D, ctx: ForwardCtx): void {
    if (ctx.macs) ctx.macs.total += y.shape[1] * y.shape[2] * this.c * this.k * this.k;
  }
  /** This layer as the depthwise stage of a fused chain (kernels/chain.ts). */
  stage(): K.DwStage {
    return { filter: this.w as tf.Tensor4D, stride: this.stride, dilation: this.dilation, pad: this.pad };
  }
}

/**
 * Batch norm. Search cells use affine=false with batch statistics always (spec A13).
 * Evaluation networks use affine=true with running statistics (momentum 0.1, unbiased variance, as PyTorch).
 */
export class BatchNorm {
  readonly gamma?: tf.Variable;
  readonly beta?: tf.Variable;
  readonly runMean?: tf.Variable;
  readonly runVar?: tf.Variable;
  constructor(store: ParamStore, path: string, readonly c: number, readonly affine: boolean, readonly track: boolean) {
    if (affine) {
      this.gamma = store.create(`${path}.gamma`, 'weight', [c], { kind: 'constant', value: 1 });
      this.beta = store.create(`${path}.beta`, 'weight', [c], { kind: 'constant', value: 0 });
    }
    if (track) {
      this.runMean = store.create(`${path}.running_mean`, 'state', [c], { kind: 'constant', value: 0 });
      this.runVar = store.create(`${path}.running_var`, 'state', [c], { kind: 'constant', value: 1 });
    }
  }
  /** True when apply(x, ctx) is batchNormTrain(x).y: batch statistics, no affine, no running statistics. */
  batchStatsOnly(ctx: ForwardCtx): boolean {
    return !this.affine && !this.track && !(ctx.bnStats && !ctx.training);
  }
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const g = this.gamma as tf.Tensor1D | undefined;
    const b = this.beta as tf.Tensor1D | undefined;
    if (ctx.bnStats && !ctx.training) {
      if (!ctx.bnStats.collecting) {
        const st = ctx.bnStats.stats(this);
        return K.batchNormInfer(x, st.mean, st.variance, g, b);
      }
      const { y, mean, variance } = K.batchNormTrain(x, g, b);
      ctx.bnStats.add(this, mean, variance, x.shape[0] * x.shape[1] * x.shape[2]);
      return y;
    }
    if (!ctx.training && this.runMean && this.runVar) {
      return K.batchNormInfer(x, this.runMean as tf.Tensor1D, this.runVar as tf.Tensor1D, g, b);
    }
    const { y, mean, variance } = K.batchNormTrain(x, g, b);
    if (ctx.training && this.runMean && this.runVar && ctx.bnUpdates) {
      const n = x.shape[0] * x.shape[1] * x.shape[2];
      const m = 0.1;
      ctx.bnUpdates.push([this.runMean, tf.keep(tf.tidy(() => tf.add(tf.mul(this.runMean!, 1 - m), tf.mul(mean, m))))]);
      ctx.bnUpdates.push([this.runVar, tf.keep(tf.tidy(() =>
        tf.add(tf.mul(this.runVar!, 1 - m), tf.mul(variance, (m * n) / Math.max(1, n - 1)))))]);
    }
    return y;
  }
}

export class Linear {
  readonly w: tf.Variable;
  readonly b: tf.Variable;
  constructor(store: ParamStore, path: string, readonly cin: number, readonly cout: number) {
    this.w = store.create(`${path}.weight`, 'weight', [cin, cout], { kind: 'kaiming-uniform', fanIn: cin });
    this.b = store.create(`${path}.bias`, 'weight', [cout], { kind: 'kaiming-uniform', fanIn: cin });
  }
  apply(x: tf.Tensor2D, ctx: ForwardCtx): tf.Tensor2D {
    if (ctx.macs) ctx.macs.total += this.cin * this.cout;
    return tf.add(tf.matMul(x, this.w as tf.Tensor2D), this.b) as tf.Tensor2D;
  }
}

export { outSize };
