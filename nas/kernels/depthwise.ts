// Depthwise conv (NHWC, filter [k,k,C,1]) with gradients for any stride and dilation, symmetric explicit pads.
//
// Stride s > 1 together with dilation d > 1 (dil_conv in reduction cells; tfjs forbids it) is rewritten exactly:
// when s divides d, every tap reads the same phase r = (−pad) mod s, so the conv is a stride-1 conv with dilation
// d/s of x[:, r::s, r::s] (as cheap as a direct strided conv); otherwise a stride-1 conv followed by subsampling.
// On wasm with C % 4 = 0 the forward and both backprops are our SIMD loops, in place on the heap (forward and
// stride-1 dx output-stationary, dw-gather.ts). Elsewhere the
// forward is the backend's native kernel and the backprops are our JS kernels, except dx of a stride-1 conv on
// wasm (C % 4 ≠ 0) and native backends: a native depthwise conv of dy with the flipped filter.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { align16, asWasm, heapBuffer, kernelIO, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr, zeroedOutput } from './runtime.js';
import { simdFor, type DwGeom, type SimdKernels } from './simd.js';
import { splitRange } from './parallel.js';
import { threadGroups } from './split.js';
import { checkInt, nhwcPads, outSize, validRange } from './geometry.js';
import { stridedGather } from './subsample.js';

/** Geometry of one depthwise conv: input N,H,W,C; output Ho,Wo; kernel KH,KW; stride, dilation; top/left pad. */
export interface DwGeometry {
  N: number; H: number; W: number; C: number; Ho: number; Wo: number;
  KH: number; KW: number; s: number; d: number; pt: number; pl: number;
}

const geomArgs = (g: DwGeometry): DwGeom => [g.N, g.H, g.W, g.C, g.Ho, g.Wo, g.KH, g.KW, g.s, g.d, g.pt, g.pl];

/**
 * Every run of in-bounds taps, for the JS backprops: for each (n, oh, kh, kw) with a valid input row, `cnt`
 * consecutive output columns starting at dy offset `ys` read x from offset `xs` on (steps s·C in x, C in dy; add c
 * for channel c); `wBase` is the tap's filter offset.
 */
function forEachTapRun(g: DwGeometry, visit: (xs: number, ys: number, wBase: number, cnt: number) => void): void {
  const { N, H, W, C, Ho, Wo, KH, KW, s, d, pt, pl } = g;
  const lo = new Int32Array(KW);
  const hi = new Int32Array(KW);
  for (let kw = 0; kw < KW; kw++) [lo[kw], hi[kw]] = validRange(kw * d - pl, s, W, Wo);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      const yRow = (n * Ho + oh) * Wo * C;
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * s + kh * d - pt;
        if (ih < 0 || ih >= H) continue;
        const xRow = (n * H + ih) * W * C;
        for (let kw = 0; kw < KW; kw++) {
          const cnt = hi[kw] - lo[kw];
          if (cnt > 0) visit(xRow + (kw * d - pl + lo[kw] * s) * C, yRow + lo[kw] * C, (kh * KW + kw) * C, cnt);
        }
      }
    }
  }
}

/** dw[kh,kw,c] = Σ_{n,oh,ow} x[n, oh·s+kh·d−pt, ow·s+kw·d−pl, c] · dy[n,oh,ow,c] (float64 accumulation). */
export function dwBackpropFilterJS(x: Float32Array, dy: Float32Array, dw: Float32Array, g: DwGeometry): void {
  const { C, KH, KW, s } = g;
  const acc = new Float64Array(KH * KW * C);
  const sC = s * C;
  forEachTapRun(g, (xs, ys, wBase, cnt) => {
    for (let c = 0; c < C; c++) {
      let sum = 0;
      let xi = xs + c;
      let yi = ys + c;
      for (let t = 0; t < cnt; t++, xi += sC, yi += C) sum += x[xi] * dy[yi];
      acc[wBase + c] += sum;
    }
  });
  for (let i = 0; i < acc.length; i++) dw[i] = acc[i];
}

/** dx[n,ih,iw,c] = Σ f[kh,kw,c] · dy[n,oh,ow,c] over taps with ih = oh·s+kh·d−pt, iw = ow·s+kw·d−pl. */
export function dwBackpropInputJS(dy: Float32Array, f: Float32Array, dx: Float32Array, g: DwGeometry, zeroed: boolean): void {
  const { C, s } = g;
  if (!zeroed) dx.fill(0);
  const sC = s * C;
  forEachTapRun(g, (xs, ys, wBase, cnt) => {
    for (let c = 0; c < C; c++) {
      const fv = f[wBase + c];
      let xi = xs + c;
      let yi = ys + c;
      for (let t = 0; t < cnt; t++, xi += sC, yi += C) dx[xi] += fv * dy[yi];
    }
  });
}

/** Run one backprop on the best path for this backend: SIMD in place on wasm (C % 4 = 0), JS otherwise. */
function backprop(
  backend: KernelBackend, which: 'filter' | 'input', a: TensorInfo, b: TensorInfo, outShape: number[], g: DwGeometry,
): TensorInfo {
  const wasm = asWasm(backend);
  const simd = wasm && g.C % 4 === 0 ? simdFor(wasm) : undefined;
  if (wasm && simd) {
    const off = (t: TensorInfo) => heapPtr(wasm, t);
    if (which === 'input' && g.s === 1 && gatherWins(g.KW, g.C)) {
      // output-stationary: dx written once per element, no zeroing pass (bit-identical to the scatter kernel)
      const out = wasm.makeOutput(outShape, 'float32');
      simd.dwInputGather(off(out), off(a), off(b), ...geomArgs(g));
      return out;
    }
    if (which === 'filter') {
      const out = wasm.makeOutput(outShape, 'float32');
      filterByParts(backend, wasm, simd, off(a), off(b), out, g);
      return out;
    }
    const out = zeroedOutput(wasm, outShape);
    simd.dwInput(off(out), off(a), off(b), ...geomArgs(g));
    return out;
  }
  const io = kernelIO(backend, [a, b], [outShape]);
  if (which === 'filter') dwBackpropFilterJS(io.ins[0], io.ins[1], io.outs[0], g);
  else dwBackpropInputJS(io.ins[0], io.ins[1], io.outs[0], g, io.zeroed);
  return io.finish()[0];
}

/**
 * The SIMD filter gradient in FILTER_PARTS parts of the batch (the halves), each summed into its own partial, then
 * dw = part 0 + part 1 (f32): on 2 threads each half runs on the thread whose other kernels wrote it, and the bits
 * are the same on any thread count (split.ts). The partials are 16-byte aligned (align16) and 64 bytes apart, so no
 * two share a cache line; `out` is written.
 */
function filterByParts(backend: KernelBackend, wasm: WasmBackendLike, simd: SimdKernels, x: number, dy: number, out: TensorInfo, g: DwGeometry): void {
  const n = size(out.shape);
  const parts = splitRange(g.N, FILTER_PARTS);
  const stride = Math.ceil(n / 16) * 16 + 16;
  const partials = zeroedOutput(wasm, [4 + parts.length * stride]);
  const target = (p: number) => align16(heapPtr(wasm, partials)) + 4 * p * stride;
  const { H, W, C, Ho, Wo } = g;
  const calls = parts.map(([n0, n1], p) => {
    const geom = geomArgs(g);
    geom[0] = n1 - n0;
    return [x + 4 * n0 * H * W * C, dy + 4 * n0 * Ho * Wo * C, target(p), ...geom];
  });
  simd.runParts('dwFilter', threadGroups(calls, simd.threads), g.N * Ho * Wo * C * g.KH * g.KW);
  const heap = heapBuffer(wasm);
  const dw = new Float32Array(heap, heapPtr(wasm, out), n);
  dw.set(new Float32Array(heap, target(0), n));
  for (let p = 1; p < parts.length; p++) {
    const pv = new Float32Array(heap, target(p), n);
    for (let i = 0; i < n; i++) dw[i] += pv[i];
  }
  backend.disposeData(partials.dataId, true);
}
/** Parts of the batch the SIMD filter gradient is summed in (see filterByParts). */
const FILTER_PARTS = 2;

/**
 * Whether the output-stationary kernels (dw-gather.ts) beat the scatter ones for this kernel width and channel count.
 * Measured per call (bench/depthwise-ab.ts: N = 16, zeroing included for the scatter form, 100 interleaved calls):
 * k = 5 0.99–1.27× as fast at C = 8–64; k = 3 0.88–1.27× at C = 8 but 0.87–1.00× at C = 16–64. Both forms give the
 * same bits, so this only picks the faster loop.
 */
function gatherWins(KW: number, C: number): boolean {
  return gatherOn && (KW >= 5 || C <= 8);
}
let gatherOn = true;
/** Switch the output-stationary kernels off (true: the default) — for before/after benchmarks (bench/ab-step.ts). */
export function setDepthwiseGather(on: boolean): void {
  gatherOn = on;
}

interface NasDwAttrs { stride: number; dilation: number; padTop: number; padLeft: number }

/** The geometry of a backprop from the input and output shapes, the filter's k×k and our attrs. */
function nasGeometry(inShape: number[], dyShape: number[], fShape: number[], a: NasDwAttrs): DwGeometry {
  const [N, H, W, C] = inShape;
  return { N, H, W, C, Ho: dyShape[1], Wo: dyShape[2], KH: fShape[0], KW: fShape[1], s: a.stride, d: a.dilation, pt: a.padTop, pl: a.padLeft };
}

// NasDepthwiseBackpropFilter: inputs {x, dy}, attrs {filterShape, stride, dilation, padTop, padLeft}.
const nasFilterKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const a = attrs as unknown as NasDwAttrs & { filterShape: number[] };
  return backprop(backend, 'filter', x, dy, a.filterShape, nasGeometry(x.shape, dy.shape, a.filterShape, a));
};

// NasDepthwiseBackpropInput: inputs {dy, filter}, attrs {inputShape, stride, dilation, padTop, padLeft}.
const nasInputKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const f = inputs.filter as TensorInfo;
  const a = attrs as unknown as NasDwAttrs & { inputShape: number[] };
  return backprop(backend, 'input', dy, f, a.inputShape, nasGeometry(a.inputShape, dy.shape, f.shape, a));
};

/** Geometry from tfjs' own attrs (stock kernel names: strides, dilations, pad, dimRoundingMode). */
function stockGeometry(xShape: number[], fShape: number[], attrs: Record<string, unknown>): DwGeometry {
  const info = tf.backend_util.computeConv2DInfo(
    xShape as [number, number, number, number], fShape as [number, number, number, number],
    attrs.strides as [number, number] | number, (attrs.dilations ?? 1) as [number, number] | number,
    attrs.pad as 'valid', attrs.dimRoundingMode as 'floor' | undefined, true,
  );
  if (info.strideHeight !== info.strideWidth || info.dilationHeight !== info.dilationWidth) {
    throw new Error('nas kernels: depthwise backprop needs equal strides and dilations in H and W');
  }
  if (fShape[3] !== 1) throw new Error('nas kernels: depthwise backprop needs channel multiplier 1');
  return { N: info.batchSize, H: info.inHeight, W: info.inWidth, C: info.inChannels, Ho: info.outHeight,
    Wo: info.outWidth, KH: info.filterHeight, KW: info.filterWidth, s: info.strideHeight, d: info.dilationHeight,
    pt: info.padInfo.top, pl: info.padInfo.left };
}

const stockFilterKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const fShape = attrs.filterShape as number[];
  return backprop(backend, 'filter', x, dy, fShape, stockGeometry(x.shape, fShape, attrs));
};

const stockInputKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const f = inputs.filter as TensorInfo;
  const xShape = attrs.inputShape as number[];
  return backprop(backend, 'input', dy, f, xShape, stockGeometry(xShape, f.shape, attrs));
};

// NasDepthwiseForward: inputs {x, filter}, attrs {stride, dilation, padTop, padBottom, padLeft, padRight}.
// wasm with C % 4 = 0: our SIMD loop (faster than the backend's XNNPACK path at these sizes, no operator set-up);
// otherwise the backend's own DepthwiseConv2dNative (stride or dilation must then be 1).
const nasForwardKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const f = inputs.filter as TensorInfo;
  const a = attrs as unknown as NasDwAttrs & { padBottom: number; padRight: number };
  const [N, H, W, C] = x.shape;
  const [KH, KW] = f.shape;
  const Ho = outSize(H, KH, a.stride, a.padTop, a.padBottom, a.dilation);
  const Wo = outSize(W, KW, a.stride, a.padLeft, a.padRight, a.dilation);
  const wasm = asWasm(backend);
  const simd = wasm && C % 4 === 0 ? simdFor(wasm) : undefined;
  if (wasm && simd) {
    const off = (t: TensorInfo) => heapPtr(wasm, t);
    const geom = [N, H, W, C, Ho, Wo, KH, KW, a.stride, a.dilation, a.padTop, a.padLeft] as DwGeom;
    if (gatherWins(KW, C)) {
      // output-stationary (dw-gather.ts): written once per element, so no zeroing pass
      const out = wasm.makeOutput([N, Ho, Wo, C], 'float32');
      simd.dwForwardGather(off(x), off(out), off(f), ...geom);
      return out;
    }
    const out = zeroedOutput(wasm, [N, Ho, Wo, C]);
    simd.dwForward(off(x), off(out), off(f), ...geom);
    return out;
  }
  const stock = tf.getKernel('DepthwiseConv2dNative', tf.getBackend());
  if (!stock) throw new Error(`nas kernels: backend ${tf.getBackend()} has no DepthwiseConv2dNative`);
  return stock.kernelFunc({
    inputs: { x, filter: f },
    backend,
    attrs: {
      strides: [a.stride, a.stride], dilations: [a.dilation, a.dilation], dataFormat: 'NHWC',
      pad: nhwcPads(a.padTop, a.padBottom, a.padLeft, a.padRight) as unknown as number,
    },
  }) as TensorInfo;
};

/** True when this backend runs depthwise kernels for C channels through our SIMD code. */
export function simdPath(C: number): boolean {
  const w = asWasm(tf.backend());
  return !!(w && C % 4 === 0 && simdFor(w));
}

export const depthwiseKernels: NasKernel[] = [
  { name: 'NasDepthwiseForward', func: nasForwardKernel, mode: 'custom' },
  { name: 'NasDepthwiseBackpropFilter', func: nasFilterKernel, mode: 'custom' },
  { name: 'NasDepthwiseBackpropInput', func: nasInputKernel, mode: 'custom' },
  { name: 'DepthwiseConv2dNativeBackpropFilter', func: stockFilterKernel, mode: 'fill' },
  { name: 'DepthwiseConv2dNativeBackpropInput', func: stockInputKernel, mode: 'fill' },
];

/**
 * Depthwise conv at stride 1 (any dilation) or dilation 1 (any stride) with explicit pads, as one tape node
 * with lazy gradients.
 */
function dwCore(x: tf.Tensor4D, filter: tf.Tensor4D, s: number, d: number,
  pt: number, pb: number, pl: number, pr: number): tf.Tensor4D {
  const [KH, KW, C] = filter.shape;
  return lazyGradOp('NasDepthwiseConv2d', { x, filter }, (save) => {
    save([x, filter]);
    return runKernel<tf.Tensor4D>('NasDepthwiseForward', { x, filter },
      { stride: s, dilation: d, padTop: pt, padBottom: pb, padLeft: pl, padRight: pr });
  }, ([dy], [xs, fs]) => ({
    x: () => {
      const eh = d * (KH - 1);
      const ew = d * (KW - 1);
      // our kernel on wasm-SIMD and cpu (faster than their depthwise forward); elsewhere a full correlation with
      // the flipped filter on the backend's native depthwise conv
      if (s === 1 && pt <= eh && pb <= eh && pl <= ew && pr <= ew && !simdPath(C) && tf.getBackend() !== 'cpu') {
        const fr = tf.reverse(fs, [0, 1]);
        return tf.depthwiseConv2d(dy as tf.Tensor4D, fr as tf.Tensor4D, 1, nhwcPads(eh - pt, eh - pb, ew - pl, ew - pr), 'NHWC', d);
      }
      return runKernel('NasDepthwiseBackpropInput', { dy, filter: fs },
        { inputShape: xs.shape, stride: s, dilation: d, padTop: pt, padLeft: pl });
    },
    filter: () => runKernel('NasDepthwiseBackpropFilter', { x: xs, dy },
      { filterShape: fs.shape, stride: s, dilation: d, padTop: pt, padLeft: pl }),
  }));
}

/**
 * Depthwise conv, PyTorch semantics: filter [k,k,C,1], symmetric zero pad `pad`, any stride with any dilation.
 * Output size floor((H + 2·pad − dilation·(k−1) − 1) / stride) + 1. Gradients w.r.t. x and filter.
 */
export function depthwiseConv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number, dilation: number): tf.Tensor4D {
  const [, H, W, C] = x.shape;
  const [KH, KW, FC, M] = filter.shape;
  if (FC !== C || M !== 1) throw new Error(`nas depthwiseConv2d: filter ${filter.shape} does not fit ${C} channels`);
  checkInt('stride', stride, 1);
  checkInt('dilation', dilation, 1);
  checkInt('pad', pad, 0);
  const s = stride;
  const d = dilation;
  const Ho = outSize(H, KH, s, pad, pad, d);
  const Wo = outSize(W, KW, s, pad, pad, d);
  if (s === 1 || d === 1) return dwCore(x, filter, s, d, pad, pad, pad, pad);
  if (d % s === 0) {
    // every tap reads phase r: x[r + s·j]; run a stride-1, dilation d/s conv on that phase
    const r = (((-pad) % s) + s) % s;
    const d2 = d / s;
    const p2 = (pad + r) / s;
    const axis = (inSize: number, k: number, outLen: number): [number, number] => {
      const n = Math.ceil((inSize - r) / s);
      const after = outLen - n - p2 + d2 * (k - 1);
      return after >= 0 ? [n, after] : [n + after, 0];
    };
    const [hc, pb] = axis(H, KH, Ho);
    const [wc, pr] = axis(W, KW, Wo);
    const xs = stridedGather(x, s, r, hc, wc);
    return dwCore(xs, filter, 1, d2, p2, pb, p2, pr);
  }
  return stridedGather(dwCore(x, filter, 1, d, pad, pad, pad, pad), s, 0, Ho, Wo);
}
