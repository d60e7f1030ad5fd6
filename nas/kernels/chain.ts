// ReLU → [depthwise] → pointwise → batch norm (batch statistics, no affine) as ONE tape node: the conv ops of
// search cells (sep_conv's two halves, dil_conv) and the ReLUConvBN preprocessing. The same kernels run in the same
// order as the four (or three) separate nodes of relu.ts, depthwise.ts, conv.ts and batchnorm.ts, so the results
// are bit-identical; what goes is the engine's work between them, and the batch-norm statistics' pass over the
// pointwise output: the pointwise kernel sums them as it stores (NasPointwiseBatchNorm, the same additions in the
// same order). The intermediates are kernel outputs handed from kernel to kernel (runtime.ts callKernel), not
// tensors of the engine, and the backward walks the chain inside the node instead of the tape walking four nodes
// (each with its scope, tensors, saved clones and shape checks).
//
// Only on wasm with our SIMD kernels for these channel counts (C % 4 = 0), where the separate ops run exactly
// these kernels; everywhere else, and for depthwise convs with both stride and dilation above 1 (those go through
// a strided gather), callers compose the separate ops (chainFusable says which).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { callKernel, disposeInfo, lazyGradOp, tensorOf } from './runtime.js';
import { pointwiseKernelPath } from './conv.js';
import { simdPath } from './depthwise.js';
import { kernelPath } from './stock.js';
import { outSize } from './geometry.js';

/** The depthwise stage: filter [k,k,C,1], symmetric pad, stride or dilation (not both above 1). */
export interface DwStage {
  filter: tf.Tensor4D;
  stride: number;
  dilation: number;
  pad: number;
}

let fusedOn = true;
let statsInPointwise = true;
/**
 * Switch the fused chain off (true: the default), or only the batch-norm statistics inside the pointwise kernel
 * (`statsInPointwise: false`: the chain runs NasPointwise, then NasBatchNormForward's own statistics pass) — for
 * before/after benchmarks and the equality tests only.
 */
export function setFusedChains(on: boolean, opts: { statsInPointwise?: boolean } = {}): void {
  fusedOn = on;
  statsInPointwise = opts.statsInPointwise ?? true;
}

/** True when reluConvBn can run this chain (else compose relu, depthwiseConv2d, conv1x1 and batchNormTrain). */
export function chainFusable(x: tf.Tensor4D, dw: DwStage | undefined, w: tf.Tensor2D): boolean {
  if (!fusedOn || kernelPath() !== 'nas') return false;
  const [cin, cout] = w.shape;
  if (x.shape[3] !== cin || x.dtype !== 'float32') return false;
  if (dw && (dw.stride > 1 && dw.dilation > 1)) return false;
  // exactly where the separate ops run these kernels: conv1x1 its NasPointwise kernels, depthwiseConv2d its SIMD ones
  return pointwiseKernelPath(cin, cout) && (!dw || simdPath(cin));
}

const one = (t: TensorInfo | TensorInfo[]): TensorInfo => (Array.isArray(t) ? t[0] : t);

/**
 * bn(pointwise(depthwise(relu(x)))) with batch statistics and no affine, eps as batchNormTrain's. Gradients for x,
 * the depthwise filter and the pointwise weight, each only when the backward pass asks for it (an architecture
 * step asks for x alone). Call chainFusable first.
 */
export function reluConvBn(x: tf.Tensor4D, dw: DwStage | undefined, w: tf.Tensor2D, eps = 1e-5): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const cout = w.shape[1];
  const dwAttrs = dw && { stride: dw.stride, dilation: dw.dilation, padTop: dw.pad, padLeft: dw.pad };
  const [Ho, Wo] = dw
    ? [outSize(H, dw.filter.shape[0], dw.stride, dw.pad, dw.pad, dw.dilation), outSize(W, dw.filter.shape[1], dw.stride, dw.pad, dw.pad, dw.dilation)]
    : [H, W];
  const dShape = [N, Ho, Wo, C];
  const inputs: Record<string, tf.Tensor> = dw ? { x, filter: dw.filter, w } : { x, w };
  return lazyGradOp('NasReluConvBn', inputs, (save) => {
    const r = one(callKernel('NasRelu', { x }));
    const d = dw ? one(callKernel('NasDepthwiseForward', { x: r, filter: dw.filter }, { ...dwAttrs, padBottom: dw.pad, padRight: dw.pad })) : r;
    const outShape = [N, Ho, Wo, cout];
    let p: TensorInfo, y: TensorInfo, mean: TensorInfo, variance: TensorInfo;
    if (statsInPointwise) [p, y, mean, variance] = callKernel('NasPointwiseBatchNorm', { x: d, w }, { outShape, eps }) as TensorInfo[];
    else {
      p = one(callKernel('NasPointwise', { x: d, w }, { outShape }));
      [y, mean, variance] = callKernel('NasBatchNormForward', { x: p }, { eps }) as TensorInfo[];
    }
    // saved: r (ReLU's output, the depthwise input), d (the pointwise input), p (the BN input), the statistics
    const kept = (dw ? [r, d, p, mean, variance] : [r, p, mean, variance]).map((t) => tensorOf(t));
    save(dw ? [...kept, dw.filter, w] : [...kept, w]);
    return tensorOf<tf.Tensor4D>(y);
  }, ([dy], saved) => {
    const [r, d, p, mean, variance, filter, wS] = dw ? saved : [saved[0], saved[0], saved[1], saved[2], saved[3], undefined, saved[4]];
    // dL/dp and dL/dd are shared by the thunks: each is computed once, as a kept tensor put with the node's saved
    // tensors, which the backward pass frees when it is done with the node (grad.ts, and tfjs' own at the end)
    let dp: tf.Tensor | undefined;
    let dd: tf.Tensor | undefined;
    const keepWithSaved = (info: TensorInfo): tf.Tensor => {
      const t = tf.keep(tensorOf(info));
      saved.push(t);
      return t;
    };
    const gradP = () => (dp ??= keepWithSaved(one(callKernel('NasBatchNormGradInput', { x: p, dy, mean, variance }, { eps, sums: {} }))));
    const gradD = () => (dd ??= keepWithSaved(one(callKernel('NasPointwiseBackpropInput', { dy: gradP(), w: wS }, { inputShape: dShape }))));
    const thunks: Record<string, () => tf.Tensor> = {
      x: () => {
        if (!dw) return tensorOf(one(callKernel('NasReluGrad', { dy: gradD(), y: r })));
        const dr = one(callKernel('NasDepthwiseBackpropInput', { dy: gradD(), filter: filter! }, { ...dwAttrs, inputShape: x.shape }));
        try {
          return tensorOf(one(callKernel('NasReluGrad', { dy: dr, y: r })));
        } finally {
          disposeInfo(dr);
        }
      },
      w: () => tensorOf(one(callKernel('NasPointwiseBackpropFilter', { x: d, dy: gradP() }))),
    };
    if (dw) {
      thunks.filter = () => tensorOf(one(callKernel('NasDepthwiseBackpropFilter', { x: r, dy: gradD() }, { ...dwAttrs, filterShape: dw.filter.shape })));
    }
    return thunks;
  });
}
