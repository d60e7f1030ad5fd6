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
    if (ctx.macs) ctx.macs.total += y.shape[1] * y.shape[2] * this.cout * this.cin;
    return y;
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
    if (ctx.macs) ctx.macs.total += y.shape[1] * y.shape[2] * this.c * this.k * this.k;
    return y;
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
  apply(x: tf.Tensor4D, ctx: ForwardCtx): tf.Tensor4D {
    const g = this.gamma as tf.Tensor1D | undefined;
    const b = this.beta as tf.Tensor1D | undefined;
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
