// The engine's differentiable primitives (NHWC, float32, PyTorch padding semantics: symmetric explicit pads).
// Every function here must have correct gradients on every backend (checked by finite differences in
// test/kernels.test.ts). One file per op family; this file only re-exports and registers.
//
// PLACEHOLDER IMPLEMENTATIONS (stock tfjs) until the kernels land: see the contract on each function.
import * as tf from '@tensorflow/tfjs-core';

/** Register our backend kernels (wasm backprop kernels, a correct MaxPoolGrad) for the active backend. */
export function registerKernels(_backend: string): void {}

/** Depthwise conv. filter [k,k,C,1]. Any stride (1|2) with any dilation, symmetric pad. */
export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number, dilation: number): tf.Tensor4D {
  return tf.depthwiseConv2d(x, filter, stride, pad, 'NHWC', dilation);
}

/** Dense conv. filter [kh,kw,Cin,Cout], symmetric pad. */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(x, filter, stride, pad);
}

/** 1×1 conv as matMul. w [Cin,Cout]. stride 2 takes pixels (0,0),(0,2),… first. */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D, stride = 1): tf.Tensor4D {
  const xs = stride === 1 ? x : subsample(x, stride, 0);
  const [n, h, wd, c] = xs.shape;
  return tf.reshape(tf.matMul(tf.reshape(xs, [n * h * wd, c]), w), [n, h, wd, w.shape[1]]);
}

/** Every `stride`-th pixel starting at (offset, offset), with a gradient (no stridedSlice). */
export function subsample(x: tf.Tensor4D, stride: number, offset = 0): tf.Tensor4D {
  if (stride === 1 && offset === 0) return x;
  const [, h, w] = x.shape;
  const xs = offset === 0 ? x : tf.slice(x, [0, offset, offset, 0], [-1, h - offset, w - offset, -1]);
  return tf.avgPool(xs, 1, stride, 'valid');
}

/** Max pool k×k, symmetric pad (padding never wins the max). */
export function maxPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.maxPool(x, k, stride, pad);
}

/** Average pool k×k, symmetric pad, padding excluded from the count (count_include_pad=False). */
export function avgPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.avgPool(x, k, stride, pad);
}

/** Average pool with padding counted (PyTorch default, used by the auxiliary heads with pad 0). */
export function avgPoolValid(x: tf.Tensor4D, k: number, stride: number): tf.Tensor4D {
  return tf.avgPool(x, k, stride, 'valid');
}

export interface BatchNormOut {
  y: tf.Tensor4D;
  /** Batch mean and biased variance [C], for running statistics. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

/** Batch norm with batch statistics (training). gamma/beta optional (affine=false). Closed-form backward. */
export function batchNormTrain(x: tf.Tensor4D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D, eps = 1e-5): BatchNormOut {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  let y = tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))) as tf.Tensor4D;
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** Batch norm with given statistics (inference). */
export function batchNormInfer(
  x: tf.Tensor4D, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D, eps = 1e-5,
): tf.Tensor4D {
  return tf.batchNorm(x, mean, variance, beta, gamma, eps);
}
