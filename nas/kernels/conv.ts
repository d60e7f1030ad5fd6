// Dense convs: k×k conv (stem, auxiliary head) and 1×1 conv as matMul (pointwise convs, the hot one).
// conv2d's filter gradient is im2col (our kernel) + native matMul; its input gradient is the stock
// Conv2DBackpropInput (registered on every backend). Conv2DBackpropFilter is not registered on wasm: we fill it with
// a JS kernel so that stock tf.conv2d gradients work there too.
// On wasm with SIMD and channel counts % 4 = 0 the 1×1 conv and both its gradients are our SIMD kernels, in place
// on the heap (3-10× faster than tfjs-wasm's BatchMatMul at these sizes, and no transposes). Elsewhere the
// backward matMuls transpose explicitly: tfjs-wasm's matMul with transposeA / transposeB is 4-6× slower than
// tf.transpose + a plain matMul (measured on [16384,16]·[16,16] and [65536,27]ᵀ·[65536,48]).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { align16, asWasm, heapBuffer, kernelIO, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr as ptr } from './runtime.js';
import { simdFor, type SimdKernels } from './simd.js';
import { checkInt, outSize, validRange } from './geometry.js';
import { subsample } from './subsample.js';
import { threadGroups } from './split.js';

export interface ConvGeometry {
  N: number; H: number; W: number; Cin: number; Ho: number; Wo: number; Cout: number;
  KH: number; KW: number; s: number; pt: number; pl: number;
}

/**
 * cols[(n−n0)·Ho·Wo + oh·Wo + ow, (kh·KW + kw)·Cin + ci] = x[n, oh·s+kh−pt, ow·s+kw−pl, ci] (0 in the padding),
 * for n in [n0, n0 + nCount). Row layout matches a filter [KH,KW,Cin,Cout] reshaped to [KH·KW·Cin, Cout].
 */
export function im2colJS(x: Float32Array, cols: Float32Array, g: ConvGeometry, n0: number, nCount: number, zeroed: boolean): void {
  const { H, W, Cin, Ho, Wo, KH, KW, s, pt, pl } = g;
  const rowLen = KH * KW * Cin;
  if (!zeroed) cols.fill(0);
  let r = 0;
  for (let n = n0; n < n0 + nCount; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let ow = 0; ow < Wo; ow++, r += rowLen) {
        for (let kh = 0; kh < KH; kh++) {
          const ih = oh * s + kh - pt;
          if (ih < 0 || ih >= H) continue;
          for (let kw = 0; kw < KW; kw++) {
            const iw = ow * s + kw - pl;
            if (iw < 0 || iw >= W) continue;
            const xi = ((n * H + ih) * W + iw) * Cin;
            const ci0 = r + (kh * KW + kw) * Cin;
            for (let c = 0; c < Cin; c++) cols[ci0 + c] = x[xi + c];
          }
        }
      }
    }
  }
}

/** dw[kh,kw,ci,co] = Σ x[n, oh·s+kh−pt, ow·s+kw−pl, ci] · dy[n,oh,ow,co] (float64 accumulation). */
export function conv2dBackpropFilterJS(x: Float32Array, dy: Float32Array, dw: Float32Array, g: ConvGeometry): void {
  const { N, H, W, Cin, Ho, Wo, Cout, KH, KW, s, pt, pl } = g;
  const acc = new Float64Array(KH * KW * Cin * Cout);
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      for (let kh = 0; kh < KH; kh++) {
        const ih = oh * s + kh - pt;
        if (ih < 0 || ih >= H) continue;
        for (let kw = 0; kw < KW; kw++) {
          const [lo, hi] = validRange(kw - pl, s, W, Wo);
          for (let ow = lo; ow < hi; ow++) {
            const xi = ((n * H + ih) * W + ow * s + kw - pl) * Cin;
            const yi = ((n * Ho + oh) * Wo + ow) * Cout;
            for (let ci = 0; ci < Cin; ci++) {
              const xv = x[xi + ci];
              if (xv === 0) continue;
              const wi = ((kh * KW + kw) * Cin + ci) * Cout;
              for (let co = 0; co < Cout; co++) acc[wi + co] += xv * dy[yi + co];
            }
          }
        }
      }
    }
  }
  for (let i = 0; i < acc.length; i++) dw[i] = acc[i];
}

interface Im2ColAttrs { kh: number; kw: number; stride: number; pad: number; outH: number; outW: number; n0: number; nCount: number }

// NasIm2Col: inputs {x}, attrs {kh, kw, stride, pad, outH, outW, n0, nCount} → [nCount·outH·outW, kh·kw·Cin].
const im2colKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const a = attrs as unknown as Im2ColAttrs;
  const [N, H, W, Cin] = x.shape;
  const g: ConvGeometry = { N, H, W, Cin, Ho: a.outH, Wo: a.outW, Cout: 0, KH: a.kh, KW: a.kw, s: a.stride, pt: a.pad, pl: a.pad };
  const io = kernelIO(backend, [x], [[a.nCount * a.outH * a.outW, a.kh * a.kw * Cin]]);
  im2colJS(io.ins[0], io.outs[0], g, a.n0, a.nCount, io.zeroed);
  return io.finish()[0];
};

// Stock Conv2DBackpropFilter: inputs {x, dy}, attrs {strides, pad, dataFormat, dimRoundingMode, filterShape}.
const stockConv2DBackpropFilter: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const fShape = attrs.filterShape as [number, number, number, number];
  if (attrs.dataFormat !== undefined && attrs.dataFormat !== 'NHWC') throw new Error('nas Conv2DBackpropFilter: NHWC only');
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], fShape, attrs.strides as number, 1, attrs.pad as 'valid',
    attrs.dimRoundingMode as 'floor' | undefined,
  );
  if (info.strideHeight !== info.strideWidth) throw new Error('nas Conv2DBackpropFilter: unequal strides are not supported');
  const g: ConvGeometry = { N: info.batchSize, H: info.inHeight, W: info.inWidth, Cin: info.inChannels, Ho: info.outHeight,
    Wo: info.outWidth, Cout: info.outChannels, KH: info.filterHeight, KW: info.filterWidth, s: info.strideHeight,
    pt: info.padInfo.top, pl: info.padInfo.left };
  const io = kernelIO(backend, [x, dy], [fShape]);
  conv2dBackpropFilterJS(io.ins[0], io.ins[1], io.outs[0], g);
  return io.finish()[0];
};

// ---------------------------------------------------------------------------------------------------------------
// Pointwise (1×1) conv kernels: x [rows, cin] (any leading shape), w [cin, cout]. wasm SIMD only (conv1x1 uses
// them only there; their JS form does the same float32 arithmetic in the same order, for tests and other backends).

/** Rows per SIMD filter-gradient call: partial sums of this many rows are f32, then added in float64. */
const PW_CHUNK = 2048;

function pwSimd(backend: KernelBackend, cin: number, cout: number): { w: WasmBackendLike; k: SimdKernels } | undefined {
  const w = asWasm(backend);
  const k = w && cin % 4 === 0 && cout % 4 === 0 ? simdFor(w) : undefined;
  return w && k ? { w, k } : undefined;
}


/**
 * out = a·b (or a·bᵀ), float32 arithmetic in the SIMD kernel's order (each product and each partial sum rounded
 * to f32, inner index ascending), so that the JS and wasm paths give identical bits.
 */
function matMulJS(a: Float32Array, b: Float32Array, out: Float32Array, rows: number, inner: number, cols: number, transB: boolean): void {
  const f = Math.fround;
  for (let r = 0; r < rows; r++) {
    const ar = r * inner;
    for (let c = 0; c < cols; c++) {
      let s = 0;
      if (transB) for (let i = 0, bi = c * inner; i < inner; i++) s = f(s + f(a[ar + i] * b[bi + i]));
      else for (let i = 0, bi = c; i < inner; i++, bi += cols) s = f(s + f(a[ar + i] * b[bi]));
      out[r * cols + c] = s;
    }
  }
}

// NasPointwise: inputs {x, w}, attrs {outShape} → y = x·w.
const pwForwardKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const wt = inputs.w as TensorInfo;
  const [cin, cout] = wt.shape;
  const rows = size(x.shape) / cin;
  const outShape = attrs.outShape as number[];
  const fast = pwSimd(backend, cin, cout);
  if (fast) {
    const y = fast.w.makeOutput(outShape, 'float32');
    fast.k.pwForward(ptr(fast.w, x), ptr(fast.w, wt), ptr(fast.w, y), rows, cin, cout);
    return y;
  }
  const io = kernelIO(backend, [x, wt], [outShape]);
  matMulJS(io.ins[0], io.ins[1], io.outs[0], rows, cin, cout, false);
  return io.finish()[0];
};

// NasPointwiseBackpropInput: inputs {dy, w}, attrs {inputShape} → dx = dy·wᵀ.
const pwInputKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const wt = inputs.w as TensorInfo;
  const [cin, cout] = wt.shape;
  const rows = size(dy.shape) / cout;
  const inputShape = attrs.inputShape as number[];
  const fast = pwSimd(backend, cin, cout);
  if (fast) {
    const { w, k } = fast;
    const dx = w.makeOutput(inputShape, 'float32');
    const tInfo = w.makeOutput([cout, cin], 'float32');
    const heap = heapBuffer(w);
    const src = new Float32Array(heap, ptr(w, wt), cin * cout);
    const dst = new Float32Array(heap, ptr(w, tInfo), cin * cout);
    for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) dst[o * cin + i] = src[i * cout + o];
    k.pwForward(ptr(w, dy), ptr(w, tInfo), ptr(w, dx), rows, cout, cin);
    backend.disposeData(tInfo.dataId, true);
    return dx;
  }
  const io = kernelIO(backend, [dy, wt], [inputShape]);
  matMulJS(io.ins[0], io.ins[1], io.outs[0], rows, cout, cin, true);
  return io.finish()[0];
};

// NasPointwiseBackpropFilter: inputs {x, dy} → dw[ci, co] = Σ_r x[r, ci]·dy[r, co] (float64 across row chunks).
const pwFilterKernel: NasKernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const dy = inputs.dy as TensorInfo;
  const cin = x.shape[x.shape.length - 1];
  const cout = dy.shape[dy.shape.length - 1];
  const rows = size(x.shape) / cin;
  const n = cin * cout;
  const acc = new Float64Array(n);
  const fast = pwSimd(backend, cin, cout);
  if (fast) {
    const { w, k } = fast;
    const dw = w.makeOutput([cin, cout], 'float32');
    // each chunk of PW_CHUNK rows into its own partial sum (64-byte aligned strides: no two chunks share a cache
    // line), the chunks run k.threads at a time (thread j on the j-th range of the rows, threadGroups), and the
    // partials added in chunk order: the same float64 sum on any thread count
    const chunks = Math.ceil(rows / PW_CHUNK);
    const stride = Math.ceil(n / 16) * 16;
    const partials = w.makeOutput([chunks * stride + 4], 'float32');
    const heap = heapBuffer(w);
    const pp = align16(ptr(w, partials));
    const pv = new Float32Array(heap, pp, chunks * stride);
    pv.fill(0);
    const [xp, dp] = [ptr(w, x), ptr(w, dy)];
    const calls = Array.from({ length: chunks }, (_, c) => {
      const r0 = c * PW_CHUNK;
      return [xp + 4 * r0 * cin, dp + 4 * r0 * cout, pp + 4 * c * stride, Math.min(PW_CHUNK, rows - r0), cin, cout];
    });
    k.runParts('pwFilter', threadGroups(calls, k.threads), rows * n);
    for (let c = 0; c < chunks; c++) {
      for (let i = 0, o = c * stride; i < n; i++) acc[i] += pv[o + i];
    }
    new Float32Array(heap, ptr(w, dw), n).set(acc);
    backend.disposeData(partials.dataId, true);
    return dw;
  }
  // the SIMD kernel's arithmetic: f32 sums over chunks of PW_CHUNK rows (rows ascending), chunks added in float64
  const io = kernelIO(backend, [x, dy], [[cin, cout]]);
  const [xv, dv] = io.ins;
  const part = new Float32Array(n);
  const f = Math.fround;
  for (let r0 = 0; r0 < rows; r0 += PW_CHUNK) {
    part.fill(0);
    const r1 = Math.min(rows, r0 + PW_CHUNK);
    for (let r = r0; r < r1; r++) {
      for (let i = 0; i < cin; i++) {
        const a = xv[r * cin + i];
        for (let o = 0; o < cout; o++) part[i * cout + o] = f(part[i * cout + o] + f(a * dv[r * cout + o]));
      }
    }
    for (let i = 0; i < n; i++) acc[i] += part[i];
  }
  io.outs[0].set(acc);
  return io.finish()[0];
};

/**
 * Whether 1×1 convs with these channel counts run on our pointwise kernels: wasm SIMD with cin, cout % 4 = 0.
 * Elsewhere the backend's matMul (the cpu backend's accumulates in float64, which its finite-difference tests like).
 */
export function pointwiseKernelPath(cin: number, cout: number): boolean {
  return pwSimd(tf.backend(), cin, cout) !== undefined;
}

export const convKernels: NasKernel[] = [
  { name: 'NasIm2Col', func: im2colKernel, mode: 'custom' },
  { name: 'NasPointwise', func: pwForwardKernel, mode: 'custom' },
  { name: 'NasPointwiseBackpropInput', func: pwInputKernel, mode: 'custom' },
  { name: 'NasPointwiseBackpropFilter', func: pwFilterKernel, mode: 'custom' },
  { name: 'Conv2DBackpropFilter', func: stockConv2DBackpropFilter, mode: 'fill' },
];

/** im2col chunks stay below this many floats (bounds the extra memory of the filter gradient). */
const IM2COL_MAX_FLOATS = 1 << 22;

function conv2dFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, fShape: [number, number, number, number], stride: number, pad: number): tf.Tensor {
  const [N, , , Cin] = x.shape;
  const [, Ho, Wo, Cout] = dy.shape;
  const [KH, KW] = fShape;
  const perImage = Ho * Wo * KH * KW * Cin;
  const chunk = Math.max(1, Math.min(N, Math.floor(IM2COL_MAX_FLOATS / perImage)));
  let acc: tf.Tensor | undefined;
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const nCount = Math.min(chunk, N - n0);
    const part = tf.tidy(() => {
      const cols = runKernel<tf.Tensor2D>('NasIm2Col', { x }, { kh: KH, kw: KW, stride, pad, outH: Ho, outW: Wo, n0, nCount });
      const dyc = nCount === N ? dy : tf.slice(dy, [n0, 0, 0, 0], [nCount, -1, -1, -1]);
      return tf.matMul(tf.transpose(cols), tf.reshape(dyc, [nCount * Ho * Wo, Cout]));
    });
    if (acc) {
      const sum = tf.add(acc, part);
      acc.dispose();
      part.dispose();
      acc = sum;
    } else acc = part;
  }
  return tf.reshape(acc!, fShape);
}

/** Dense conv, filter [kh,kw,Cin,Cout], symmetric zero pad, floor output size. Gradients w.r.t. x and filter. */
export function conv2d(x: tf.Tensor4D, filter: tf.Tensor4D, stride: number, pad: number): tf.Tensor4D {
  checkInt('stride', stride, 1);
  checkInt('pad', pad, 0);
  const [KH, KW, Cin] = filter.shape;
  if (x.shape[3] !== Cin) throw new Error(`nas conv2d: filter ${filter.shape} does not fit input ${x.shape}`);
  outSize(x.shape[1], KH, stride, pad, pad);
  outSize(x.shape[2], KW, stride, pad, pad);
  const xShape = x.shape;
  const fShape = filter.shape;
  return lazyGradOp('NasConv2D', { x, filter }, (save) => {
    save([x, filter]);
    return tf.conv2d(x, filter, stride, pad);
  }, ([dy], [xs, fs]) => ({
    x: () => runKernel('Conv2DBackpropInput', { dy, filter: fs },
      { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string, inputShape: xShape }),
    filter: () => conv2dFilterGrad(xs as tf.Tensor4D, dy as tf.Tensor4D, fShape, stride, pad),
  }));
}

/**
 * 1×1 conv as reshape → matMul, w [Cin,Cout]. stride 2 takes pixels (0,0),(0,2),… (subsample with offset 0);
 * for FactorizedReduce's shifted path call subsample(x, 2, 1) first and conv1x1 with stride 1.
 */
export function conv1x1(x: tf.Tensor4D, w: tf.Tensor2D, stride = 1): tf.Tensor4D {
  const xs = stride === 1 ? x : subsample(x, stride, 0);
  const [n, h, wd, c] = xs.shape;
  const [cin, cout] = w.shape;
  if (c !== cin) throw new Error(`nas conv1x1: weight ${w.shape} does not fit input ${xs.shape}`);
  const rows = n * h * wd;
  if (pointwiseKernelPath(cin, cout)) {
    return lazyGradOp('NasConv1x1', { x: xs, w }, (save) => {
      save([xs, w]);
      return runKernel<tf.Tensor4D>('NasPointwise', { x: xs, w }, { outShape: [n, h, wd, cout] });
    }, ([dy], [xsv, wv]) => ({
      x: () => runKernel('NasPointwiseBackpropInput', { dy, w: wv }, { inputShape: [n, h, wd, c] }),
      w: () => runKernel('NasPointwiseBackpropFilter', { x: xsv, dy }),
    }));
  }
  return lazyGradOp('NasConv1x1', { x: xs, w }, (save) => {
    save([xs, w]);
    return tf.reshape(tf.matMul(tf.reshape(xs, [rows, c]), w), [n, h, wd, cout]);
  }, ([dy], [xsv, wv]) => ({
    x: () => tf.reshape(tf.matMul(tf.reshape(dy, [rows, cout]), tf.transpose(wv)), [n, h, wd, c]),
    w: () => tf.matMul(tf.transpose(tf.reshape(xsv, [rows, c])), tf.reshape(dy, [rows, cout])),
  }));
}
