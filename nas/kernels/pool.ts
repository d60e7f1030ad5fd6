// Max / average pooling, NHWC, PyTorch semantics: symmetric explicit pad, floor output size, max pool never lets
// padding win, avg pool divides by the number of in-bounds pixels (count_include_pad=False).
// Forward: the backend's native pools (wasm and cpu both exclude padding from the average; the tests check it).
// Backward: our kernels. The stock wasm MaxPoolGrad treats padding as 0 when a window's in-bounds values are all
// negative (silently wrong), so registerKernels replaces it on wasm; the stock AvgPoolGrad divides by the full
// window size at borders, so avgPool uses its own gradient kernel.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import type { KernelBackend } from '@tensorflow/tfjs-core';
import { asWasm, kernelIO, lazyGradOp, runKernel, type NasKernel, type NasKernelFunc, heapPtr, zeroedOutput } from './runtime.js';
import { simdFor, type PoolGeom } from './simd.js';
import { checkInt, outSize } from './geometry.js';

export interface PoolGeometry {
  N: number; H: number; W: number; C: number; Ho: number; Wo: number;
  KH: number; KW: number; s: number; pt: number; pl: number;
}

/** Every output pixel's window clipped to the input: yo = dy offset, (h0, w0) = window origin, in-bounds kh/kw ranges. */
function forEachWindow(
  g: PoolGeometry,
  visit: (n: number, yo: number, h0: number, w0: number, khLo: number, khHi: number, kwLo: number, kwHi: number) => void,
): void {
  const { N, H, W, C, Ho, Wo, KH, KW, s, pt, pl } = g;
  for (let n = 0; n < N; n++) {
    for (let oh = 0; oh < Ho; oh++) {
      const h0 = oh * s - pt;
      const khLo = Math.max(0, -h0);
      const khHi = Math.min(KH, H - h0);
      for (let ow = 0; ow < Wo; ow++) {
        const w0 = ow * s - pl;
        visit(n, ((n * Ho + oh) * Wo + ow) * C, h0, w0, khLo, khHi, Math.max(0, -w0), Math.min(KW, W - w0));
      }
    }
  }
}

/** dx[argmax of each window] += dy. Ties go to the first in-bounds pixel in row-major window order (PyTorch). */
export function maxPoolGradJS(dy: Float32Array, x: Float32Array, dx: Float32Array, g: PoolGeometry, zeroed: boolean): void {
  const { H, W, C } = g;
  if (!zeroed) dx.fill(0);
  const best = new Float32Array(C);
  const bestIdx = new Int32Array(C);
  forEachWindow(g, (n, yo, h0, w0, khLo, khHi, kwLo, kwHi) => {
    let first = true;
    for (let kh = khLo; kh < khHi; kh++) {
      const row = (n * H + h0 + kh) * W;
      for (let kw = kwLo; kw < kwHi; kw++) {
        const base = (row + w0 + kw) * C;
        for (let c = 0; c < C; c++) {
          const v = x[base + c];
          if (first || v > best[c]) {
            best[c] = v;
            bestIdx[c] = base + c;
          }
        }
        first = false;
      }
    }
    if (first) return; // window entirely in padding: no input receives gradient
    for (let c = 0; c < C; c++) dx[bestIdx[c]] += dy[yo + c];
  });
}

/** dx[window pixels] += dy / (number of in-bounds pixels of the window). */
export function avgPoolGradJS(dy: Float32Array, dx: Float32Array, g: PoolGeometry, zeroed: boolean): void {
  const { H, W, C } = g;
  if (!zeroed) dx.fill(0);
  const gv = new Float32Array(C);
  forEachWindow(g, (n, yo, h0, w0, khLo, khHi, kwLo, kwHi) => {
    const count = (khHi - khLo) * (kwHi - kwLo);
    if (count <= 0) return;
    const inv = 1 / count;
    for (let c = 0; c < C; c++) gv[c] = dy[yo + c] * inv;
    for (let kh = khLo; kh < khHi; kh++) {
      const row = (n * H + h0 + kh) * W;
      for (let kw = kwLo; kw < kwHi; kw++) {
        const base = (row + w0 + kw) * C;
        for (let c = 0; c < C; c++) dx[base + c] += gv[c];
      }
    }
  });
}

const poolArgs = (g: PoolGeometry): PoolGeom => [g.N, g.H, g.W, g.C, g.Ho, g.Wo, g.KH, g.KW, g.s, g.pt, g.pl];

/** Max / avg pool gradient on the best path: wasm SIMD in place (C % 4 = 0), JS otherwise. */
function poolGrad(backend: KernelBackend, kind: 'max' | 'avg', dy: TensorInfo, x: TensorInfo | undefined,
  xShape: number[], g: PoolGeometry): TensorInfo {
  const wasm = asWasm(backend);
  const simd = wasm && g.C % 4 === 0 ? simdFor(wasm) : undefined;
  if (wasm && simd) {
    const out = zeroedOutput(wasm, xShape);
    const off = (t: TensorInfo) => heapPtr(wasm, t);
    if (kind === 'max') simd.maxPoolGrad(off(x!), off(dy), off(out), ...poolArgs(g));
    else simd.avgPoolGrad(off(dy), off(out), ...poolArgs(g));
    return out;
  }
  const io = kernelIO(backend, kind === 'max' ? [dy, x!] : [dy], [xShape]);
  if (kind === 'max') maxPoolGradJS(io.ins[0], io.ins[1], io.outs[0], g, io.zeroed);
  else avgPoolGradJS(io.ins[0], io.outs[0], g, io.zeroed);
  return io.finish()[0];
}

interface NasPoolAttrs { k: number; stride: number; pad: number }

function nasGeometry(xShape: number[], dyShape: number[], a: NasPoolAttrs): PoolGeometry {
  const [N, H, W, C] = xShape;
  return { N, H, W, C, Ho: dyShape[1], Wo: dyShape[2], KH: a.k, KW: a.k, s: a.stride, pt: a.pad, pl: a.pad };
}

// NasMaxPoolGrad: inputs {dy, x}, attrs {k, stride, pad}.
const nasMaxPoolGrad: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const x = inputs.x as TensorInfo;
  return poolGrad(backend, 'max', dy, x, x.shape, nasGeometry(x.shape, dy.shape, attrs as unknown as NasPoolAttrs));
};

// NasAvgPoolGrad: inputs {dy}, attrs {inputShape, k, stride, pad}.
const nasAvgPoolGrad: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const xShape = attrs.inputShape as number[];
  return poolGrad(backend, 'avg', dy, undefined, xShape, nasGeometry(xShape, dy.shape, attrs as unknown as NasPoolAttrs));
};

// Stock MaxPoolGrad: inputs {dy, input, output}, attrs {filterSize, strides, pad, dimRoundingMode}.
const stockMaxPoolGrad: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const x = inputs.input as TensorInfo;
  const info = tf.backend_util.computePool2DInfo(
    x.shape as [number, number, number, number], attrs.filterSize as number, attrs.strides as number, 1,
    attrs.pad as 'valid', attrs.dimRoundingMode as 'floor' | undefined,
  );
  const g: PoolGeometry = { N: info.batchSize, H: info.inHeight, W: info.inWidth, C: info.inChannels,
    Ho: info.outHeight, Wo: info.outWidth, KH: info.filterHeight, KW: info.filterWidth, s: info.strideHeight,
    pt: info.padInfo.top, pl: info.padInfo.left };
  if (info.strideHeight !== info.strideWidth) throw new Error('nas MaxPoolGrad: unequal strides are not supported');
  return poolGrad(backend, 'max', dy, x, x.shape, g);
};

export const poolKernels: NasKernel[] = [
  { name: 'NasMaxPoolGrad', func: nasMaxPoolGrad, mode: 'custom' },
  { name: 'NasAvgPoolGrad', func: nasAvgPoolGrad, mode: 'custom' },
  { name: 'MaxPoolGrad', func: stockMaxPoolGrad, mode: 'override-wasm' },
];

function checkPool(x: tf.Tensor4D, k: number, stride: number, pad: number): void {
  checkInt('k', k, 1);
  checkInt('stride', stride, 1);
  checkInt('pad', pad, 0);
  if (pad > Math.floor(k / 2)) throw new Error(`nas pool: pad ${pad} must be at most k/2 (k ${k})`);
  outSize(x.shape[1], k, stride, pad, pad);
  outSize(x.shape[2], k, stride, pad, pad);
}

/** Max pool k×k, symmetric pad (padding never wins the max), floor output size. */
export function maxPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  checkPool(x, k, stride, pad);
  return lazyGradOp('NasMaxPool', { x }, (save) => {
    save([x]);
    return tf.maxPool(x, k, stride, pad);
  }, ([dy], [xs]) => ({
    x: () => runKernel('NasMaxPoolGrad', { dy, x: xs }, { k, stride, pad }),
  }));
}

function avg(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  const inputShape = x.shape;
  return lazyGradOp('NasAvgPool', { x }, () => tf.avgPool(x, k, stride, pad === 0 ? 'valid' : pad), ([dy]) => ({
    x: () => runKernel('NasAvgPoolGrad', { dy }, { inputShape, k, stride, pad }),
  }));
}

/** Average pool k×k, symmetric pad, padding excluded from the count (count_include_pad=False). */
export function avgPool(x: tf.Tensor4D, k: number, stride: number, pad: number): tf.Tensor4D {
  checkPool(x, k, stride, pad);
  return avg(x, k, stride, pad);
}

/** Average pool without padding (every window is k×k in-bounds), floor output size: the auxiliary heads. */
export function avgPoolValid(x: tf.Tensor4D, k: number, stride: number): tf.Tensor4D {
  checkPool(x, k, stride, 0);
  return avg(x, k, stride, 0);
}
