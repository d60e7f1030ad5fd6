// Batch norm over N·H·W for NHWC. Training (batch statistics) is one tape node with a closed-form backward:
//   dx = g·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)),  dγ = Σ dy·x̂,  dβ = Σ dy
// written as dx = a·dy + b·(x − μ) + k with per-channel a, b, k, so nothing of size N·H·W·C is materialised
// besides dx. Forward and backward are two passes each (statistics, then apply): wasm SIMD in place on the heap
// when C % 4 = 0, JS otherwise; per-channel sums are accumulated in float64. NasPointwiseBatchNorm (the fused
// chains' pointwise conv → batch norm) takes the forward statistics from the pointwise kernel instead of a pass.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { align16, asWasm, heapBuffer, kernelIO, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr as ptrOf } from './runtime.js';
import { simdFor, type SimdKernels } from './simd.js';
import { splitRange } from './parallel.js';
import { threadGroups } from './split.js';

/** Sums of up to this many rows are f32, then added in float64 (inside one SIMD call). */
const CHUNK = 128;
/**
 * The SIMD statistics are summed in this many parts of the rows (the halves of the batch), each into its own float64
 * sums, added part 0 + part 1: on 2 threads each half runs on the thread whose other kernels wrote it, and the
 * result is the same on any thread count (split.ts).
 */
const STAT_PARTS = 2;
/**
 * Scratch floats of one part: two f64 sums (2C floats each), two f32 partials (C each; pwForwardStats keeps its
 * chunk sums there), 16 floats so no two parts share a cache line.
 */
const partFloats = (C: number) => 6 * C + 16;
/** Scratch floats of the SIMD statistics: the shift (C) and 16 floats of padding, then the parts. */
const scratchFloats = (C: number) => C + 16 + STAT_PARTS * partFloats(C);

function wasmSimd(backend: KernelBackend, C: number): { w: WasmBackendLike; k: SimdKernels } | undefined {
  const w = asWasm(backend);
  const k = w && C % 4 === 0 ? simdFor(w) : undefined;
  return w && k ? { w, k } : undefined;
}

/** Temporary heap floats for SIMD calls (freed by release()). Allocate before taking any heap views. */
function scratch(w: WasmBackendLike, backend: KernelBackend, floats: number): { ptr: number; release(): void } {
  const info = w.makeOutput([floats + 4], 'float32');
  return { ptr: align16(ptrOf(w, info)), release: () => void backend.disposeData(info.dataId, true) };
}


// ---------------------------------------------------------------------------------------------------------------
// Statistics

/** Per-channel mean and biased variance, float64, shifted by the first row for stability. */
function statsJS(x: Float32Array, rows: number, C: number): { mean: Float64Array; variance: Float64Array } {
  const s1 = new Float64Array(C);
  const s2 = new Float64Array(C);
  const shift = x.slice(0, C);
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) {
      const v = x[o + c] - shift[c];
      s1[c] += v;
      s2[c] += v * v;
    }
  }
  return finishStats(s1, s2, shift, rows);
}

function finishStats(s1: Float64Array, s2: Float64Array, shift: ArrayLike<number>, rows: number) {
  const C = s1.length;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const m = s1[c] / rows;
    mean[c] = shift[c] + m;
    variance[c] = Math.max(0, s2[c] / rows - m * m);
  }
  return { mean, variance };
}

/** Byte offsets of part p's s64, q64 (f64) and s32, q32 (f32) in the scratch at sPtr. */
function partScratch(sPtr: number, C: number, p: number): [number, number, number, number] {
  const base = sPtr + 4 * (C + 16) + 4 * p * partFloats(C);
  return [base, base + 8 * C, base + 16 * C, base + 20 * C];
}

/** Run the statistics kernel on STAT_PARTS parts of the rows (args(r0, rows, part's scratch)); Σ s64, Σ q64 in part order. */
function statsByParts(k: SimdKernels, heap: ArrayBufferLike, name: 'bnStats64' | 'bnGradStats64' | 'pwForwardStats', rows: number,
  C: number, sPtr: number, args: (r0: number, n: number, sc: [number, number, number, number]) => number[], work = rows * C): [Float64Array, Float64Array] {
  const parts = splitRange(rows, STAT_PARTS);
  const calls = parts.map(([r0, r1], p) => args(r0, r1 - r0, partScratch(sPtr, C, p)));
  k.runParts(name, threadGroups(calls, k.threads), work);
  const s = new Float64Array(C);
  const q = new Float64Array(C);
  parts.forEach((_, p) => {
    const [s64, q64] = partScratch(sPtr, C, p);
    const sv = new Float64Array(heap, s64, C);
    const qv = new Float64Array(heap, q64, C);
    for (let c = 0; c < C; c++) {
      s[c] += sv[c];
      q[c] += qv[c];
    }
  });
  return [s, q];
}

function statsSimd(k: SimdKernels, heap: ArrayBufferLike, xPtr: number, rows: number, C: number, sPtr: number) {
  // scratch (bytes): shift[C] f32 and padding, then per part s64[C], q64[C] f64 (partScratch)
  const shift = new Float32Array(heap, sPtr, C);
  shift.set(new Float32Array(heap, xPtr, C));
  const [s1, s2] = statsByParts(k, heap, 'bnStats64', rows, C, sPtr,
    (r0, n, [s64, q64]) => [xPtr + 4 * r0 * C, n, C, sPtr, s64, q64, CHUNK]);
  return finishStats(s1, s2, shift, rows);
}

/** Forward coefficients: y = x·a + b with a = γ·rstd, b = β − μ·a. */
function forwardCoefs(mean: Float64Array, variance: Float64Array, eps: number, gamma?: Float32Array, beta?: Float32Array) {
  const C = mean.length;
  const a = new Float32Array(C);
  const b = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const ac = (gamma ? gamma[c] : 1) / Math.sqrt(variance[c] + eps);
    a[c] = ac;
    b[c] = (beta ? beta[c] : 0) - mean[c] * ac;
  }
  return { a, b };
}

/** The forward's second pass, y = x·a + b from the statistics st (a, b in the scratch at sPtr), and mean, variance written. */
function applySimd(w: WasmBackendLike, k: SimdKernels, heap: ArrayBufferLike, st: { mean: Float64Array; variance: Float64Array },
  t: { x: TensorInfo; y: TensorInfo; mean: TensorInfo; variance: TensorInfo; gamma?: TensorInfo; beta?: TensorInfo },
  rows: number, C: number, eps: number, sPtr: number): void {
  const g = t.gamma ? new Float32Array(heap, ptrOf(w, t.gamma), C) : undefined;
  const bt = t.beta ? new Float32Array(heap, ptrOf(w, t.beta), C) : undefined;
  const { a, b } = forwardCoefs(st.mean, st.variance, eps, g, bt);
  new Float32Array(heap, sPtr, C).set(a);
  new Float32Array(heap, sPtr + 4 * C, C).set(b);
  k.affine(ptrOf(w, t.x), ptrOf(w, t.y), rows, C, sPtr, sPtr + 4 * C);
  new Float32Array(heap, ptrOf(w, t.mean), C).set(st.mean);
  new Float32Array(heap, ptrOf(w, t.variance), C).set(st.variance);
}

// NasBatchNormForward: inputs {x, gamma?, beta?}, attrs {eps} → [y, mean, variance].
const forwardKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const gamma = inputs.gamma as TensorInfo | undefined;
  const beta = inputs.beta as TensorInfo | undefined;
  const eps = attrs.eps as number;
  const C = x.shape[3];
  const rows = size(x.shape) / C;
  const fast = wasmSimd(backend, C);
  if (fast) {
    const { w, k } = fast;
    const [y, mean, variance] = [w.makeOutput(x.shape, 'float32'), w.makeOutput([C], 'float32'), w.makeOutput([C], 'float32')];
    const s = scratch(w, backend, scratchFloats(C));
    try {
      const heap = heapBuffer(w);
      const st = statsSimd(k, heap, ptrOf(w, x), rows, C, s.ptr);
      applySimd(w, k, heap, st, { x, y, mean, variance, gamma, beta }, rows, C, eps, s.ptr);
    } finally {
      s.release();
    }
    return [y, mean, variance];
  }
  const ins = [x, ...(gamma ? [gamma] : []), ...(beta ? [beta] : [])];
  const io = kernelIO(backend, ins, [x.shape, [C], [C]]);
  const xv = io.ins[0];
  const st = statsJS(xv, rows, C);
  const { a, b } = forwardCoefs(st.mean, st.variance, eps, gamma ? io.ins[1] : undefined, beta ? io.ins[gamma ? 2 : 1] : undefined);
  const y = io.outs[0];
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) y[o + c] = xv[o + c] * a[c] + b[c];
  }
  io.outs[1].set(st.mean);
  io.outs[2].set(st.variance);
  return io.finish();
};

// NasPointwiseBatchNorm: inputs {x, w}, attrs {outShape, eps} → [p = x·w, y = batch norm of p with batch statistics and
// no affine, mean, variance]: NasPointwise then NasBatchNormForward bit for bit, with the statistics summed by the
// pointwise kernel from its registers (pwForwardStats) instead of by a second pass over p. wasm SIMD only
// (where conv1x1 runs its SIMD kernels: chain.ts's chainFusable).
const pointwiseForwardKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const wt = inputs.w as TensorInfo;
  const [cin, C] = wt.shape;
  const outShape = attrs.outShape as number[];
  const eps = attrs.eps as number;
  const rows = size(x.shape) / cin;
  const fast = cin % 4 === 0 ? wasmSimd(backend, C) : undefined;
  if (!fast) throw new Error(`NasPointwiseBatchNorm runs on wasm with SIMD kernels and channel counts % 4 = 0 (got ${cin} → ${C} on ${tf.getBackend()}); compose NasPointwise and NasBatchNormForward instead`);
  const { w, k } = fast;
  const [p, y, mean, variance] = [w.makeOutput(outShape, 'float32'), w.makeOutput(outShape, 'float32'), w.makeOutput([C], 'float32'), w.makeOutput([C], 'float32')];
  const s = scratch(w, backend, scratchFloats(C));
  try {
    const heap = heapBuffer(w);
    const [xP, wP, pP] = [ptrOf(w, x), ptrOf(w, wt), ptrOf(w, p)];
    // the shift is p's first row: that row alone first (its bits are the same in the whole call)
    if (rows > 0) k.pwForward(xP, wP, pP, 1, cin, C);
    const shift = new Float32Array(heap, s.ptr, C);
    shift.set(new Float32Array(heap, pP, C));
    const [s1, s2] = statsByParts(k, heap, 'pwForwardStats', rows, C, s.ptr, (r0, n, [s64, q64, s32, q32]) =>
      [xP + 4 * r0 * cin, wP, pP + 4 * r0 * C, n, cin, C, s.ptr, s32, q32, s64, q64, CHUNK], rows * Math.max(cin, C));
    const st = finishStats(s1, s2, shift.slice(), rows);
    applySimd(w, k, heap, st, { x: p, y, mean, variance }, rows, C, eps, s.ptr);
  } finally {
    s.release();
  }
  return [p, y, mean, variance];
};

// ---------------------------------------------------------------------------------------------------------------
// Backward

/** Shared between the x, γ and β gradient thunks of one node: the per-channel sums Σdy and Σdy·(x−μ). */
interface GradSums { sdy?: Float64Array; sdyx?: Float64Array }

function gradSumsJS(x: Float32Array, dy: Float32Array, mean: Float32Array, rows: number, C: number): Required<GradSums> {
  const sdy = new Float64Array(C);
  const sdyx = new Float64Array(C);
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) {
      const g = dy[o + c];
      sdy[c] += g;
      sdyx[c] += g * (x[o + c] - mean[c]);
    }
  }
  return { sdy, sdyx };
}

function gradSumsSimd(k: SimdKernels, heap: ArrayBufferLike, xPtr: number, dyPtr: number, meanPtr: number,
  rows: number, C: number, sPtr: number): Required<GradSums> {
  // scratch layout as statsSimd's (the shift unused)
  const [sdy, sdyx] = statsByParts(k, heap, 'bnGradStats64', rows, C, sPtr,
    (r0, n, [s64, q64]) => [xPtr + 4 * r0 * C, dyPtr + 4 * r0 * C, n, C, meanPtr, s64, q64, CHUNK]);
  return { sdy, sdyx };
}

/** dx = a·dy + b·(x − μ) + k. */
function gradCoefs(sums: Required<GradSums>, variance: Float32Array, eps: number, rows: number, gamma?: Float32Array) {
  const C = variance.length;
  const a = new Float32Array(C);
  const b = new Float32Array(C);
  const k = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    const rstd = 1 / Math.sqrt(variance[c] + eps);
    const gr = (gamma ? gamma[c] : 1) * rstd;
    a[c] = gr;
    b[c] = (-gr * rstd * rstd * sums.sdyx[c]) / rows;
    k[c] = (-gr * sums.sdy[c]) / rows;
  }
  return { a, b, k };
}

interface GradAttrs { eps: number; sums: GradSums }

// NasBatchNormGradInput: inputs {x, dy, mean, variance, gamma?}, attrs {eps, sums (filled)} → dx.
const gradInputKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const { x, dy, mean, variance } = inputs as Record<string, TensorInfo>;
  const gamma = inputs.gamma as TensorInfo | undefined;
  const { eps, sums } = attrs as unknown as GradAttrs;
  const C = x.shape[3];
  const rows = size(x.shape) / C;
  const fast = wasmSimd(backend, C);
  if (fast) {
    const { w, k } = fast;
    const dx = w.makeOutput(x.shape, 'float32');
    const s = scratch(w, backend, scratchFloats(C));
    try {
      const heap = heapBuffer(w);
      const st = gradSumsSimd(k, heap, ptrOf(w, x), ptrOf(w, dy), ptrOf(w, mean), rows, C, s.ptr);
      Object.assign(sums, st);
      const varv = new Float32Array(heap, ptrOf(w, variance), C);
      const gv = gamma ? new Float32Array(heap, ptrOf(w, gamma), C) : undefined;
      const co = gradCoefs(st, varv, eps, rows, gv);
      new Float32Array(heap, s.ptr, C).set(co.a);
      new Float32Array(heap, s.ptr + 4 * C, C).set(co.b);
      new Float32Array(heap, s.ptr + 8 * C, C).set(co.k);
      k.bnGradApply(ptrOf(w, x), ptrOf(w, dy), ptrOf(w, dx), rows, C, ptrOf(w, mean), s.ptr, s.ptr + 4 * C, s.ptr + 8 * C);
    } finally {
      s.release();
    }
    return dx;
  }
  const io = kernelIO(backend, [x, dy, mean, variance, ...(gamma ? [gamma] : [])], [x.shape]);
  const [xv, dyv, mv, vv, gv] = io.ins;
  const st = gradSumsJS(xv, dyv, mv, rows, C);
  Object.assign(sums, st);
  const { a, b, k } = gradCoefs(st, vv, eps, rows, gv);
  const dx = io.outs[0];
  for (let r = 0, o = 0; r < rows; r++, o += C) {
    for (let c = 0; c < C; c++) dx[o + c] = dyv[o + c] * a[c] + (xv[o + c] - mv[c]) * b[c] + k[c];
  }
  return io.finish()[0];
};

/** Σdy and Σdy·(x−μ) into `sums` (for the γ / β gradients when the x gradient was not computed). */
function gradSums(backend: KernelBackend, x: TensorInfo, dy: TensorInfo, mean: TensorInfo, sums: GradSums): void {
  const C = x.shape[3];
  const rows = size(x.shape) / C;
  const fast = wasmSimd(backend, C);
  if (fast) {
    const { w, k } = fast;
    const s = scratch(w, backend, scratchFloats(C));
    try {
      Object.assign(sums, gradSumsSimd(k, heapBuffer(w), ptrOf(w, x), ptrOf(w, dy), ptrOf(w, mean), rows, C, s.ptr));
    } finally {
      s.release();
    }
    return;
  }
  const io = kernelIO(backend, [x, dy, mean], []);
  Object.assign(sums, gradSumsJS(io.ins[0], io.ins[1], io.ins[2], rows, C));
}

export const batchNormKernels: NasKernel[] = [
  { name: 'NasBatchNormForward', func: forwardKernel, mode: 'custom' },
  { name: 'NasPointwiseBatchNorm', func: pointwiseForwardKernel, mode: 'custom' },
  { name: 'NasBatchNormGradInput', func: gradInputKernel, mode: 'custom' },
];

export interface BatchNormOut {
  y: tf.Tensor4D;
  /** Batch mean and biased variance [C], for running statistics. They carry no gradient. */
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

function ensureSums(sums: GradSums, x: tf.Tensor, dy: tf.Tensor, mean: tf.Tensor): Required<GradSums> {
  if (!sums.sdy || !sums.sdyx) {
    const backend = tf.backend();
    const info = (t: tf.Tensor): TensorInfo => ({ dataId: t.dataId, shape: t.shape, dtype: t.dtype });
    gradSums(backend, info(x), info(dy), info(mean), sums);
  }
  return sums as Required<GradSums>;
}

/**
 * Batch norm with batch statistics (training), NHWC, over N·H·W. gamma/beta optional (affine=false when absent).
 * Gradients w.r.t. x, gamma, beta (each computed only when needed); mean/variance (biased) carry none.
 */
export function batchNormTrain(x: tf.Tensor4D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D, eps = 1e-5): BatchNormOut {
  const C = x.shape[3];
  for (const [n, t] of [['gamma', gamma], ['beta', beta]] as const) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) throw new Error(`nas batchNormTrain: ${n} must have shape [${C}]`);
  }
  const inputs: Record<string, tf.Tensor> = { x };
  if (gamma) inputs.gamma = gamma;
  if (beta) inputs.beta = beta;
  const [y, mean, variance] = lazyGradOp('NasBatchNorm', inputs, (save) => {
    const out = runKernel<tf.Tensor[]>('NasBatchNormForward', inputs, { eps });
    save([x, out[1], out[2], ...(gamma ? [gamma] : [])]);
    return out;
  }, ([dy], saved) => {
    const [xs, ms, vs, gs] = saved;
    const sums: GradSums = {};
    const thunks: Record<string, () => tf.Tensor> = {
      x: () => runKernel('NasBatchNormGradInput', { x: xs, dy, mean: ms, variance: vs, ...(gs ? { gamma: gs } : {}) },
        { eps, sums: sums as unknown as number }),
    };
    if (gamma) {
      thunks.gamma = () => {
        const s = ensureSums(sums, xs, dy, ms);
        const v = vs.dataSync();
        return tf.tensor1d(Float32Array.from(s.sdyx, (t, c) => t / Math.sqrt(v[c] + eps)), 'float32');
      };
    }
    if (beta) thunks.beta = () => tf.tensor1d(Float32Array.from(ensureSums(sums, xs, dy, ms).sdy), 'float32');
    return thunks;
  }) as tf.Tensor[];
  return { y: y as tf.Tensor4D, mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

/** Batch norm with given statistics (inference). Gradients w.r.t. x, gamma, beta; mean/variance are constants. */
export function batchNormInfer(
  x: tf.Tensor4D, mean: tf.Tensor1D, variance: tf.Tensor1D, gamma?: tf.Tensor1D, beta?: tf.Tensor1D, eps = 1e-5,
): tf.Tensor4D {
  const inputs: Record<string, tf.Tensor> = { x };
  if (gamma) inputs.gamma = gamma;
  if (beta) inputs.beta = beta;
  return lazyGradOp('NasBatchNormInfer', inputs, (save) => {
    save([x, mean, variance, ...(gamma ? [gamma] : [])]);
    return tf.batchNorm(x, mean, variance, beta, gamma, eps);
  }, ([dy], [xs, ms, vs, gs]) => {
    const rstd = () => tf.rsqrt(tf.add(vs, eps));
    const thunks: Record<string, () => tf.Tensor> = {
      x: () => tf.mul(dy, gs ? tf.mul(gs, rstd()) : rstd()),
    };
    if (gamma) thunks.gamma = () => tf.sum(tf.mul(dy, tf.mul(tf.sub(xs, ms), rstd())), [0, 1, 2]);
    if (beta) thunks.beta = () => tf.sum(dy, [0, 1, 2]);
    return thunks;
  });
}
