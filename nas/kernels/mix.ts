// Weighted sum of feature maps, y = Σ_t w[index_t]·x_t: a mixed node of a search cell in one kernel call
// (instead of a Multiply per (edge, op), an AddN per edge and one per node, and their gradients' Multiply, Sum,
// Reshape and Cast calls). Backward: dx_t = w[index_t]·dy; dw[index_t] += Σ dy·x_t (the α gradient), computed
// only when asked for. The intermediate products are never materialised.
// wasm SIMD when the size is a multiple of 4 floats, JS otherwise (float64 dot products in both).
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasm, heapBuffer, kernelIO, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr as ptr } from './runtime.js';
import { simdFor, type SimdKernels } from './simd.js';

/** Floats per SIMD dot-product call: partial sums of this many products are f32, then added in float64. */
const DOT_CHUNK = 1 << 14;

function fast(backend: KernelBackend, n: number): { w: WasmBackendLike; k: SimdKernels } | undefined {
  const w = asWasm(backend);
  const k = w && n % 4 === 0 ? simdFor(w) : undefined;
  return w && k ? { w, k } : undefined;
}


function termInputs(inputs: Record<string, TensorInfo | undefined>, count: number): TensorInfo[] {
  return Array.from({ length: count }, (_, t) => {
    const x = inputs[`x${t}`];
    if (!x) throw new Error(`nas weightedSum: missing input x${t}`);
    return x;
  });
}

// NasWeightedSum: inputs {w, x0..x(n-1)}, attrs {index} → Σ_t w[index_t]·x_t.
const sumKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const index = attrs.index as number[];
  const w = inputs.w as TensorInfo;
  const xs = termInputs(inputs, index.length);
  const len = size(xs[0].shape);
  const f = fast(backend, len);
  if (f) {
    const out = f.w.makeOutput(xs[0].shape, 'float32');
    const scratch = f.w.makeOutput([2 * index.length], 'float32');
    const heap = heapBuffer(f.w);
    const sp = ptr(f.w, scratch);
    const wv = new Float32Array(heap, ptr(f.w, w), size(w.shape));
    const ptrs = new Int32Array(heap, sp, index.length);
    const coefs = new Float32Array(heap, sp + 4 * index.length, index.length);
    xs.forEach((x, t) => {
      ptrs[t] = ptr(f.w, x);
      coefs[t] = wv[index[t]];
    });
    f.k.wsum(ptr(f.w, out), index.length, sp, sp + 4 * index.length, 4 * len);
    backend.disposeData(scratch.dataId, true);
    return out;
  }
  // the SIMD arithmetic (f32 products and sums, terms in order): identical bits on every backend
  const io = kernelIO(backend, [w, ...xs], [xs[0].shape]);
  const [wv, ...xv] = io.ins;
  const y = io.outs[0];
  const c0 = wv[index[0]];
  const x0 = xv[0];
  for (let i = 0; i < len; i++) y[i] = c0 * x0[i];
  for (let t = 1; t < xv.length; t++) {
    const c = wv[index[t]];
    const x = xv[t];
    for (let i = 0; i < len; i++) y[i] += Math.fround(c * x[i]);
  }
  return io.finish()[0];
};

// NasScaleBy: inputs {x, w}, attrs {at} → x·w[at].
const scaleKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const w = inputs.w as TensorInfo;
  const at = attrs.at as number;
  const len = size(x.shape);
  const f = fast(backend, len);
  if (f) {
    const out = f.w.makeOutput(x.shape, 'float32');
    f.k.scale(ptr(f.w, x), ptr(f.w, out), ptr(f.w, w) + 4 * at, 4 * len);
    return out;
  }
  const io = kernelIO(backend, [x, w], [x.shape]);
  const c = io.ins[1][at];
  const xv = io.ins[0];
  const y = io.outs[0];
  for (let i = 0; i < len; i++) y[i] = c * xv[i];
  return io.finish()[0];
};

// NasWeightedSumGradW: inputs {dy, x0..x(n-1)}, attrs {index, wShape} → dw (zeros except dw[index_t] += Σ dy·x_t).
const gradWKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const index = attrs.index as number[];
  const wShape = attrs.wShape as number[];
  const dy = inputs.dy as TensorInfo;
  const xs = termInputs(inputs, index.length);
  const len = size(dy.shape);
  const dots = new Float64Array(index.length);
  const f = fast(backend, len);
  let out: TensorInfo;
  if (f) {
    out = f.w.makeOutput(wShape, 'float32');
    const scratch = f.w.makeOutput([2 * index.length], 'float32');
    const heap = heapBuffer(f.w);
    const sp = ptr(f.w, scratch);
    const ptrs = new Int32Array(heap, sp, index.length);
    const part = new Float32Array(heap, sp + 4 * index.length, index.length);
    const dyp = ptr(f.w, dy);
    const xps = xs.map((x) => ptr(f.w, x));
    for (let o = 0; o < len; o += DOT_CHUNK) {
      const n = Math.min(DOT_CHUNK, len - o);
      xps.forEach((p, t) => { ptrs[t] = p + 4 * o; });
      part.fill(0);
      f.k.wdot(dyp + 4 * o, index.length, sp, sp + 4 * index.length, 4 * n);
      for (let t = 0; t < index.length; t++) dots[t] += part[t];
    }
    const ov = new Float32Array(heap, ptr(f.w, out), size(wShape));
    ov.fill(0);
    index.forEach((at, t) => { ov[at] += dots[t]; });
    backend.disposeData(scratch.dataId, true);
    return out;
  }
  // the SIMD arithmetic: per chunk, f32 lane sums (8 lanes: element i goes to lane i mod 8, an odd 4-float tail
  // to lanes 0-3), lanes combined as ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)), chunks added in float64
  const io = kernelIO(backend, [dy, ...xs], [wShape]);
  const [dv, ...xv] = io.ins;
  const fr = Math.fround;
  const lane = new Float32Array(8);
  xv.forEach((x, t) => {
    for (let o = 0; o < len; o += DOT_CHUNK) {
      const n = Math.min(DOT_CHUNK, len - o);
      const n8 = n & ~7;
      lane.fill(0);
      for (let i = 0; i < n8; i++) lane[i & 7] = fr(lane[i & 7] + fr(dv[o + i] * x[o + i]));
      for (let i = n8; i < n; i++) lane[i - n8] = fr(lane[i - n8] + fr(dv[o + i] * x[o + i]));
      const l = [0, 1, 2, 3].map((k) => fr(lane[k] + lane[k + 4]));
      dots[t] += fr(fr(l[0] + l[1]) + fr(l[2] + l[3]));
    }
  });
  const ov = io.outs[0];
  if (!io.zeroed) ov.fill(0);
  index.forEach((at, t) => { ov[at] += dots[t]; });
  return io.finish()[0];
};

export const mixKernels: NasKernel[] = [
  { name: 'NasWeightedSum', func: sumKernel, mode: 'custom' },
  { name: 'NasScaleBy', func: scaleKernel, mode: 'custom' },
  { name: 'NasWeightedSumGradW', func: gradWKernel, mode: 'custom' },
];

/**
 * y = Σ_t w[index_t]·xs[t], w read flat (index_t = row·cols + col of a [rows, cols] weight matrix). Gradients
 * w.r.t. every x_t, and w.r.t. w unless `constWeights` (then w is read but is not an input of the tape node: no
 * gradient reaches it, and the x_t are not kept for one). All xs must have the same shape.
 */
export function weightedSum(xs: tf.Tensor4D[], w: tf.Tensor, index: number[], constWeights = false): tf.Tensor4D {
  if (xs.length === 0 || xs.length !== index.length) throw new Error('nas weightedSum: need one index per term, at least one term');
  const shape = xs[0].shape;
  for (const x of xs) {
    if (!tf.util.arraysEqual(x.shape, shape)) throw new Error(`nas weightedSum: shapes differ (${x.shape} vs ${shape})`);
  }
  for (const at of index) {
    if (!Number.isInteger(at) || at < 0 || at >= w.size) throw new Error(`nas weightedSum: index ${at} is outside the weights (${w.size})`);
  }
  const inputs: Record<string, tf.Tensor> = {};
  xs.forEach((x, t) => { inputs[`x${t}`] = x; });
  if (!constWeights) inputs.w = w;
  const wShape = w.shape;
  return lazyGradOp('NasWeightedSum', inputs, (save) => {
    save(constWeights ? [w] : [w, ...xs]);
    return runKernel<tf.Tensor4D>('NasWeightedSum', { ...inputs, w }, { index });
  }, ([dy], saved) => {
    const ws = saved[0];
    const thunks: Record<string, () => tf.Tensor> = {};
    xs.forEach((_, t) => { thunks[`x${t}`] = () => runKernel('NasScaleBy', { x: dy, w: ws }, { at: index[t] }); });
    if (!constWeights) {
      thunks.w = () => {
        const kin: Record<string, tf.Tensor> = { dy };
        saved.slice(1).forEach((x, t) => { kin[`x${t}`] = x; });
        return runKernel('NasWeightedSumGradW', kin, { index, wShape });
      };
    }
    return thunks;
  });
}
