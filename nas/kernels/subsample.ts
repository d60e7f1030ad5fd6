// Strided subsampling x[:, off::s, off::s, :] with a gradient (tfjs' stridedSlice has none).
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { asWasm, kernelIO, lazyGradOp, runKernel, type NasKernel, type NasKernelFunc, heapPtr, zeroedOutput } from './runtime.js';
import { simdFor } from './simd.js';
import { checkInt } from './geometry.js';

interface GatherAttrs { stride: number; offset: number; outH: number; outW: number }
interface ScatterAttrs { stride: number; offset: number; inH: number; inW: number }

/** y[n,i,j,c] = x[n, off + s·i, off + s·j, c]. */
function gatherJS(x: Float32Array, y: Float32Array, N: number, H: number, W: number, C: number,
  s: number, off: number, Ho: number, Wo: number): void {
  let o = 0;
  const step = s * C;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      let xi = ((n * H + off + s * i) * W + off) * C;
      for (let j = 0; j < Wo; j++, xi += step) {
        for (let c = 0; c < C; c++) y[o++] = x[xi + c];
      }
    }
  }
}

/** dx = 0; dx[n, off + s·i, off + s·j, c] = dy[n,i,j,c]. */
function scatterJS(dy: Float32Array, dx: Float32Array, N: number, H: number, W: number, C: number,
  s: number, off: number, Ho: number, Wo: number, zeroed: boolean): void {
  if (!zeroed) dx.fill(0);
  let o = 0;
  const step = s * C;
  for (let n = 0; n < N; n++) {
    for (let i = 0; i < Ho; i++) {
      let xi = ((n * H + off + s * i) * W + off) * C;
      for (let j = 0; j < Wo; j++, xi += step) {
        for (let c = 0; c < C; c++) dx[xi + c] = dy[o++];
      }
    }
  }
}

/** wasm with SIMD and C % 4 = 0: the strided copy runs as one SIMD call (copy3). */
function simdCopy(backend: Parameters<NasKernelFunc>[0]['backend'], C: number) {
  const w = asWasm(backend);
  const k = w && C % 4 === 0 ? simdFor(w) : undefined;
  return w && k ? { w, k, ptr: (t: TensorInfo) => heapPtr(w, t) } : undefined;
}

const gatherKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const { stride, offset, outH, outW } = attrs as unknown as GatherAttrs;
  const [N, H, W, C] = x.shape;
  const fast = simdCopy(backend, C);
  if (fast) {
    const y = fast.w.makeOutput([N, outH, outW, C], 'float32');
    const C4 = 4 * C;
    fast.k.copy3(fast.ptr(y), outH * outW * C4, outW * C4, C4,
      fast.ptr(x) + (offset * W + offset) * C4, H * W * C4, stride * W * C4, stride * C4, N, outH, outW, C4);
    return y;
  }
  const io = kernelIO(backend, [x], [[N, outH, outW, C]]);
  gatherJS(io.ins[0], io.outs[0], N, H, W, C, stride, offset, outH, outW);
  return io.finish()[0];
};

const scatterKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const { stride, offset, inH, inW } = attrs as unknown as ScatterAttrs;
  const [N, Ho, Wo, C] = dy.shape;
  const fast = simdCopy(backend, C);
  if (fast) {
    const dx = zeroedOutput(fast.w, [N, inH, inW, C]);
    const C4 = 4 * C;
    fast.k.copy3(fast.ptr(dx) + (offset * inW + offset) * C4, inH * inW * C4, stride * inW * C4, stride * C4,
      fast.ptr(dy), Ho * Wo * C4, Wo * C4, C4, N, Ho, Wo, C4);
    return dx;
  }
  const io = kernelIO(backend, [dy], [[N, inH, inW, C]]);
  scatterJS(io.ins[0], io.outs[0], N, inH, inW, C, stride, offset, Ho, Wo, io.zeroed);
  return io.finish()[0];
};

export const subsampleKernels: NasKernel[] = [
  { name: 'NasStridedGather', func: gatherKernel, mode: 'custom' },
  { name: 'NasStridedScatter', func: scatterKernel, mode: 'custom' },
];

/**
 * outH×outW pixels x[:, off + s·i, off + s·j, :] (i < outH, j < outW), with a gradient (scatter into zeros).
 * Internal building block; `subsample` is the public form.
 */
export function stridedGather(x: tf.Tensor4D, stride: number, offset: number, outH: number, outW: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  checkInt('stride', stride, 1);
  checkInt('offset', offset, 0);
  if (outH < 1 || outW < 1 || offset + stride * (outH - 1) >= H || offset + stride * (outW - 1) >= W) {
    throw new Error(`nas kernels: subsample out of range (${H}×${W}, stride ${stride}, offset ${offset}, out ${outH}×${outW})`);
  }
  if (stride === 1 && offset === 0 && outH === H && outW === W) return x;
  const attrs = { stride, offset, outH, outW };
  return lazyGradOp('NasSubsample', { x }, () => runKernel<tf.Tensor4D>('NasStridedGather', { x }, attrs), ([dy]) => ({
    x: () => runKernel('NasStridedScatter', { dy }, { stride, offset, inH: H, inW: W }),
  }));
}

/**
 * Every `stride`-th pixel starting at (offset, offset): x[:, offset::stride, offset::stride, :], with a gradient.
 * Output size ceil((H − offset) / stride). Offset 1 is FactorizedReduce's second path (x[:, 1:, 1:] then stride 2).
 */
export function subsample(x: tf.Tensor4D, stride: number, offset = 0): tf.Tensor4D {
  const [, H, W] = x.shape;
  checkInt('stride', stride, 1);
  checkInt('offset', offset, 0);
  return stridedGather(x, stride, offset, Math.ceil((H - offset) / stride), Math.ceil((W - offset) / stride));
}
