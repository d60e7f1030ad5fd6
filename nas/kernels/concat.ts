// Concatenation along channels (NHWC, the last axis) and its gradient, channel slices. Cell outputs and
// FactorizedReduce concatenate along channels; tfjs-wasm's Concat and SplitV (its gradient) copy element by
// element and cost 1-3 ms per cell output at search sizes. On wasm with SIMD and every part's channel count % 4 = 0
// these are strided row copies (copyRows); elsewhere the stock tf.concat / tf.slice.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { asWasm, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr as ptr } from './runtime.js';
import { simdFor, type SimdKernels } from './simd.js';


function fast(channels: number[]): { w: WasmBackendLike; k: SimdKernels } | undefined {
  const w = asWasm(tf.backend());
  const k = w && channels.every((c) => c % 4 === 0) ? simdFor(w) : undefined;
  return w && k ? { w, k } : undefined;
}

// NasConcatChannels: inputs {x0..x(n-1)}, attrs {count} → concatenation along the last axis (wasm SIMD only).
const concatKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const count = attrs.count as number;
  const xs = Array.from({ length: count }, (_, t) => inputs[`x${t}`] as TensorInfo);
  const cs = xs.map((x) => x.shape[x.shape.length - 1]);
  const total = cs.reduce((a, b) => a + b, 0);
  const f = asWasm(backend);
  const k = f ? simdFor(f) : undefined;
  if (!f || !k) throw new Error('nas kernels: NasConcatChannels needs the wasm backend with SIMD');
  const shape = [...xs[0].shape.slice(0, -1), total];
  const rows = size(shape) / total;
  const out = f.makeOutput(shape, 'float32');
  const op = ptr(f, out);
  let col = 0;
  xs.forEach((x, t) => {
    k.copyRows(op + 4 * col, 4 * total, ptr(f, x), 4 * cs[t], 4 * cs[t], rows);
    col += cs[t];
  });
  return out;
};

// NasChannelSlice: inputs {x}, attrs {begin, size} → x[..., begin:begin+size] (wasm SIMD only).
const sliceKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const x = inputs.x as TensorInfo;
  const begin = attrs.begin as number;
  const width = attrs.size as number;
  const f = asWasm(backend);
  const k = f ? simdFor(f) : undefined;
  if (!f || !k) throw new Error('nas kernels: NasChannelSlice needs the wasm backend with SIMD');
  const c = x.shape[x.shape.length - 1];
  const shape = [...x.shape.slice(0, -1), width];
  const rows = size(shape) / width;
  const out = f.makeOutput(shape, 'float32');
  k.copyRows(ptr(f, out), 4 * width, ptr(f, x) + 4 * begin, 4 * c, 4 * width, rows);
  return out;
};

export const concatKernels: NasKernel[] = [
  { name: 'NasConcatChannels', func: concatKernel, mode: 'custom' },
  { name: 'NasChannelSlice', func: sliceKernel, mode: 'custom' },
];

/** tf.concat(xs, last axis), with gradients (channel slices); one strided copy per part on wasm SIMD. */
export function concatChannels<T extends tf.Tensor>(xs: T[]): T {
  if (xs.length === 0) throw new Error('nas concatChannels: nothing to concatenate');
  const axis = xs[0].rank - 1;
  const cs = xs.map((x) => x.shape[axis]);
  for (const x of xs) {
    if (x.rank !== xs[0].rank || !tf.util.arraysEqual(x.shape.slice(0, -1), xs[0].shape.slice(0, -1)) || x.dtype !== 'float32') {
      throw new Error(`nas concatChannels: shapes ${xs.map((t) => `[${t.shape}]`).join(', ')} differ outside the last axis`);
    }
  }
  if (xs.length === 1) return xs[0];
  if (!fast(cs)) return tf.concat(xs, axis);
  const inputs: Record<string, tf.Tensor> = {};
  xs.forEach((x, t) => { inputs[`x${t}`] = x; });
  const begins = cs.map((_, t) => cs.slice(0, t).reduce((a, b) => a + b, 0));
  return lazyGradOp('NasConcat', inputs, () => runKernel<T>('NasConcatChannels', inputs, { count: xs.length }), ([dy]) => {
    const thunks: Record<string, () => tf.Tensor> = {};
    cs.forEach((c, t) => { thunks[`x${t}`] = () => runKernel('NasChannelSlice', { x: dy }, { begin: begins[t], size: c }); });
    return thunks;
  });
}
