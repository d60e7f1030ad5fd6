// ReLU as one tape node: forward y = max(x, 0), backward dx = y > 0 ? dy : 0 in one kernel (the stock gradient
// is Step + Multiply and a temporary). NaN stays NaN in the forward on every backend, as in PyTorch (the stock wasm
// Relu maps a NaN with the sign bit set to 0, so whether a NaN batch shows up as a NaN loss depended on sign bits).
// wasm SIMD when the size is a multiple of 4 floats, JS otherwise.
import * as tf from '@tensorflow/tfjs-core';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs-core';
import { asWasm, kernelIO, lazyGradOp, runKernel, size, type NasKernel, type NasKernelFunc, type WasmBackendLike, heapPtr as ptr } from './runtime.js';
import { simdFor, type SimdKernels } from './simd.js';

function fast(backend: KernelBackend, n: number): { w: WasmBackendLike; k: SimdKernels } | undefined {
  const w = asWasm(backend);
  const k = w && n % 4 === 0 ? simdFor(w) : undefined;
  return w && k ? { w, k } : undefined;
}


// NasRelu: inputs {x} → max(x, 0), NaN kept.
const reluKernel: NasKernelFunc = ({ inputs, backend }) => {
  const x = inputs.x as TensorInfo;
  const len = size(x.shape);
  const f = fast(backend, len);
  if (f) {
    const y = f.w.makeOutput(x.shape, 'float32');
    f.k.relu(ptr(f.w, x), ptr(f.w, y), 4 * len);
    return y;
  }
  const io = kernelIO(backend, [x], [x.shape]);
  const [xv] = io.ins;
  const y = io.outs[0];
  for (let i = 0; i < len; i++) {
    const v = xv[i];
    y[i] = v > 0 || v !== v ? v : 0;
  }
  return io.finish()[0];
};

// NasReluGrad: inputs {dy, y} → y > 0 ? dy : 0.
const reluGradKernel: NasKernelFunc = ({ inputs, backend }) => {
  const dy = inputs.dy as TensorInfo;
  const y = inputs.y as TensorInfo;
  const len = size(dy.shape);
  const f = fast(backend, len);
  if (f) {
    const dx = f.w.makeOutput(dy.shape, 'float32');
    f.k.reluGrad(ptr(f.w, dy), ptr(f.w, y), ptr(f.w, dx), 4 * len);
    return dx;
  }
  const io = kernelIO(backend, [dy, y], [dy.shape]);
  const [dv, yv] = io.ins;
  const dx = io.outs[0];
  for (let i = 0; i < len; i++) dx[i] = yv[i] > 0 ? dv[i] : 0;
  return io.finish()[0];
};

export const reluKernels: NasKernel[] = [
  { name: 'NasRelu', func: reluKernel, mode: 'custom' },
  { name: 'NasReluGrad', func: reluGradKernel, mode: 'custom' },
];

/** max(x, 0); NaN stays NaN; gradient dy where the output is positive, else 0 (PyTorch's). */
export function relu<T extends tf.Tensor>(x: T): T {
  if (x.dtype !== 'float32') throw new Error(`nas relu: float32 only, got ${x.dtype}`);
  return lazyGradOp('NasRelu', { x }, (save) => {
    const y = runKernel<T>('NasRelu', { x });
    save([y]);
    return y;
  }, ([dy], [ys]) => ({
    x: () => runKernel('NasReluGrad', { dy, y: ys }),
  }));
}
