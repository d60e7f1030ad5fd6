// Optimiser arithmetic as one kernel call per variable (SGD) or per gradient set (sum of squares for clipping),
// instead of 6-8 small elementwise kernels per variable: with ~10³ weight tensors in a super-net, the per-call
// overhead of those was a visible part of a step. Float32 arithmetic in the same order as the elementwise ops it
// replaces (every product and sum rounded to f32), so results are bit-identical to them.
import * as tf from '@tensorflow/tfjs-core';
import type { TensorInfo } from '@tensorflow/tfjs-core';
import { kernelIO, runKernel, size, type NasKernel, type NasKernelFunc } from './runtime.js';

interface SgdAttrs { lr: number; momentum: number; weightDecay: number; first: boolean }

// NasSgdStep: inputs {v, g, buf?}, attrs {lr, momentum, weightDecay, first} → [v', buf'] with
//   g' = g + v·wd;  buf' = first ? g' : buf·m + g';  v' = v − buf'·lr   (PyTorch SGD, momentum, no dampening)
const sgdKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const v = inputs.v as TensorInfo;
  const g = inputs.g as TensorInfo;
  const buf = inputs.buf as TensorInfo | undefined;
  const a = attrs as unknown as SgdAttrs;
  const f = Math.fround;
  const [lr, m, wd] = [f(a.lr), f(a.momentum), f(a.weightDecay)];
  const io = kernelIO(backend, buf ? [v, g, buf] : [v, g], [v.shape, v.shape]);
  const [vv, gv, bv] = io.ins;
  const [vo, bo] = io.outs;
  const n = size(v.shape);
  for (let i = 0; i < n; i++) {
    const gi = wd ? f(gv[i] + f(vv[i] * wd)) : gv[i];
    const b = a.first || !bv ? gi : f(f(bv[i] * m) + gi);
    bo[i] = b;
    vo[i] = f(vv[i] - f(b * lr));
  }
  return io.finish();
};

// NasSumSquares: inputs {x0..x(n-1)}, attrs {count} → [1]: Σ_t Σ x_t² (per tensor an f32 sum, then added in f64).
const sumSquaresKernel: NasKernelFunc = ({ inputs, attrs, backend }) => {
  const count = attrs.count as number;
  const xs = Array.from({ length: count }, (_, t) => inputs[`x${t}`] as TensorInfo);
  const io = kernelIO(backend, xs, [[1]]);
  let total = 0;
  for (const x of io.ins) {
    let s = 0;
    for (let i = 0; i < x.length; i++) s += x[i] * x[i];
    total += s;
  }
  io.outs[0][0] = total;
  return io.finish()[0];
};

export const updateKernels: NasKernel[] = [
  { name: 'NasSgdStep', func: sgdKernel, mode: 'custom' },
  { name: 'NasSumSquares', func: sumSquaresKernel, mode: 'custom' },
];

/** One SGD-with-momentum update of v (PyTorch semantics); returns [v', buf'] (buf absent on the first step). */
export function sgdStep(v: tf.Tensor, g: tf.Tensor, buf: tf.Tensor | undefined, lr: number, momentum: number, weightDecay: number): [tf.Tensor, tf.Tensor] {
  if (!tf.util.arraysEqual(v.shape, g.shape) || (buf && !tf.util.arraysEqual(v.shape, buf.shape))) {
    throw new Error(`nas sgdStep: shapes differ (v ${v.shape}, g ${g.shape}${buf ? `, buf ${buf.shape}` : ''})`);
  }
  const inputs: Record<string, tf.Tensor> = buf ? { v, g, buf } : { v, g };
  return runKernel<tf.Tensor[]>('NasSgdStep', inputs, { lr, momentum, weightDecay, first: !buf } as never) as [tf.Tensor, tf.Tensor];
}

/** Σ over all tensors of the squared entries, as a number (one kernel call). */
export function sumOfSquares(xs: tf.Tensor[]): number {
  if (xs.length === 0) return 0;
  const inputs: Record<string, tf.Tensor> = {};
  xs.forEach((x, t) => { inputs[`x${t}`] = x; });
  const out = runKernel<tf.Tensor>('NasSumSquares', inputs, { count: xs.length });
  const v = out.dataSync()[0];
  out.dispose();
  return v;
}
