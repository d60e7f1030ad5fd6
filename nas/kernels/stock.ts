// The engine's primitives built from stock tfjs ops, differentiated by tfjs' registered gradients: the path for
// native backends (tfjs-node, tfjs-node-gpu, webgl). Our Nas* kernels are wasm-SIMD loops with JS fallbacks that
// read tensors into JS memory; on a GPU backend every call would copy device → host → device and run
// single-threaded. Here every op stays on the device.
// Same semantics as the Nas path (PyTorch's): symmetric explicit zero padding done by tf.pad then 'valid' ops
// (tfjs-node's MaxPool/AvgPool kernels, their gradients and Conv2DBackpropFilter throw "TF Backend supports only
// 'valid' and 'same' padding" for a numeric pad, and 'same' pads asymmetrically at stride 2); max pool pads with −∞; average
// pool excludes padding from the count; dilated depthwise conv as TF's atrous rewrite (space-to-batch, a dense
// depthwise conv, batch-to-space), because tfjs' depthwise gradient refuses dilation > 1; stride with dilation as
// the stride-1 conv subsampled. test/stock.test.ts checks every op and the super-net against the Nas path.
import * as tf from '@tensorflow/tfjs-core';
import { outSize } from './geometry.js';
import type { BatchNormOut } from './batchnorm.js';

export type KernelPath = 'nas' | 'stock';

function fromEnv(): KernelPath | undefined {
  const v = process.env.NAS_KERNEL_PATH;
  if (v === undefined || v === '') return undefined;
  if (v !== 'nas' && v !== 'stock') throw new Error(`NAS_KERNEL_PATH must be "nas" or "stock", got "${v}"`);
  return v;
}

let forced: KernelPath | undefined;
let fromEnvironment: KernelPath | undefined | null = null; // null: not read yet (read once, on first use)

/**
 * Force a path (tests, comparisons); undefined restores the default: NAS_KERNEL_PATH if set, else our kernels on
 * wasm and cpu and stock ops elsewhere.
 */
export function setKernelPath(path: KernelPath | undefined): void {
  forced = path;
}

export function kernelPath(): KernelPath {
  if (forced) return forced;
  if (fromEnvironment === null) fromEnvironment = fromEnv();
  if (fromEnvironment) return fromEnvironment;
  const b = tf.getBackend();
  return b === 'wasm' || b === 'cpu' ? 'nas' : 'stock';
}

function padHW(x: tf.Tensor4D, pt: number, pb: number, pl: number, pr: number, value = 0): tf.Tensor4D {
  if (pt === 0 && pb === 0 && pl === 0 && pr === 0) return x;
  return tf.pad(x, [[0, 0], [pt, pb], [pl, pr], [0, 0]], value);
}

/** x[:, off + s·i, off + s·j, :] for i < outH, j < outW: a slice, then a 1×1 average pool of stride s. */
export function stridedGather(x: tf.Tensor4D, stride: number, offset: number, outH: number, outW: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  if (stride === 1 && offset === 0 && outH === H && outW === W) return x;
  const sl = tf.slice(x, [0, offset, offset, 0], [-1, stride * (outH - 1) + 1, stride * (outW - 1) + 1, -1]);
  return stride === 1 ? sl : tf.avgPool(sl, 1, stride, 'valid');
}

export function subsample(x: tf.Tensor4D, stride: number, offset = 0): tf.Tensor4D {
  const [, H, W] = x.shape;
  return stridedGather(x, stride, offset, Math.ceil((H - offset) / stride), Math.ceil((W - offset) / stride));
}

export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number, dilation: number): tf.Tensor4D {
  const [, H, W, C] = x.shape;
  const [KH, KW, FC, M] = filter.shape;
  if (FC !== C || M !== 1) throw new Error(`nas depthwiseConv2d: filter ${filter.shape} does not fit ${C} channels`);
  const Ho = outSize(H, KH, stride, pad, pad, dilation);
  const Wo = outSize(W, KW, stride, pad, pad, dilation);
  const xp = padHW(x, pad, pad, pad, pad);
  if (dilation === 1) return tf.depthwiseConv2d(xp, filter, stride, 'valid');
  const d = dilation;
  const [Hp, Wp] = [H + 2 * pad, W + 2 * pad];
  const eh = (d - (Hp % d)) % d;
  const ew = (d - (Wp % d)) % d;
  const phases = tf.spaceToBatchND(xp, [d, d], [[0, eh], [0, ew]]);
  const y = tf.batchToSpaceND(tf.depthwiseConv2d(phases as tf.Tensor4D, filter, 1, 'valid'), [d, d], [[0, eh], [0, ew]]) as tf.Tensor4D;
  return stride === 1 ? y : stridedGather(y, stride, 0, Ho, Wo);
}

export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  return tf.conv2d(padHW(x, pad, pad, pad, pad), filter, stride, 'valid');
}

export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D, stride = 1): tf.Tensor4D {
  const xs = stride === 1 ? x : subsample(x, stride, 0);
  const [n, h, wd, c] = xs.shape;
  return tf.reshape(tf.matMul(tf.reshape(xs, [n * h * wd, c]), w), [n, h, wd, w.shape[1]]);
}

export function maxPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  return tf.maxPool(padHW(x, pad, pad, pad, pad, Number.NEGATIVE_INFINITY), k, stride, 'valid');
}

/** Average pool, padding excluded from the count: the zero-padded window mean over the fraction of real pixels. */
export function avgPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  const mean = tf.avgPool(padHW(x, pad, pad, pad, pad), k, stride, 'valid');
  if (pad === 0) return mean;
  const [, H, W] = x.shape;
  const inside = tf.avgPool(padHW(tf.ones([1, H, W, 1]), pad, pad, pad, pad), k, stride, 'valid');
  return tf.div(mean, inside);
}

export function avgPoolValid(x: tf.Tensor4D, k: number, stride: number): tf.Tensor4D {
  return tf.avgPool(x, k, stride, 'valid');
}

export function batchNormTrain(x: tf.Tensor4D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D, eps = 1e-5): BatchNormOut {
  const { mean, variance } = tf.moments(x, [0, 1, 2]);
  let y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))) as tf.Tensor4D;
  if (gamma) y = tf.mul(y, gamma);
  if (beta) y = tf.add(y, beta);
  return { y, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

export function weightedSum(xs: tf.Tensor4D[], w: tf.Tensor, index: number[]): tf.Tensor4D {
  const flat = tf.reshape(w, [-1]);
  const terms = xs.map((x, t) => tf.mul(x, tf.slice(flat, index[t], 1)) as tf.Tensor4D);
  return terms.length === 1 ? terms[0] : tf.addN(terms);
}

export function relu<T extends tf.Tensor>(x: T): T {
  return tf.relu(x);
}

export function sgdStep(v: tf.Tensor, g: tf.Tensor, buf: tf.Tensor | undefined, lr: number, momentum: number, weightDecay: number): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const gd = weightDecay ? tf.add(g, tf.mul(v, weightDecay)) : tf.clone(g);
    const b = buf ? tf.add(tf.mul(buf, momentum), gd) : gd;
    return [tf.sub(v, tf.mul(b, lr)), b] as [tf.Tensor, tf.Tensor];
  });
}

export function sumOfSquares(xs: tf.Tensor[]): number {
  if (xs.length === 0) return 0;
  const total = tf.tidy(() => tf.addN(xs.map((x) => tf.sum(tf.square(x)))));
  const v = total.dataSync()[0];
  total.dispose();
  return v;
}
