// The output-stationary depthwise kernels (nas/kernels/dw-gather.ts) against the scatter kernels they replace, bit
// for bit, on the wasm heap: every geometry the super-net uses (k 3/5, stride 1/2, dilation 1/2, "same" pads) plus
// border-only maps (image smaller than the kernel's reach), odd kernel sizes outside the unrolled ones, uneven pads
// and channel counts that use every channel block (4, 2 and 1 vectors). Their outputs start from garbage, because the
// gather kernels write rather than accumulate.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { asWasm, heapBuffer, heapPtr, type WasmBackendLike } from '../nas/kernels/runtime.js';
import { simdFor, type DwGeom } from '../nas/kernels/simd.js';
import { outSize } from '../nas/kernels/geometry.js';
import { Rng } from '../nas/rng.js';
import { useBackend } from './helpers/backend.js';

interface Case { N: number; H: number; W: number; C: number; k: number; s: number; d: number; pt: number; pb: number; pl: number; pr: number }

const same = (N: number, H: number, W: number, C: number, k: number, s: number, d: number, pad?: number): Case => {
  const p = pad ?? (d * (k - 1)) / 2;
  return { N, H, W, C, k, s, d, pt: p, pb: p, pl: p, pr: p };
};

const CASES: Case[] = [
  same(2, 8, 8, 8, 3, 1, 1), same(2, 8, 8, 8, 5, 1, 1), same(2, 8, 8, 16, 3, 1, 2), same(2, 9, 9, 16, 5, 1, 2),
  same(2, 9, 7, 32, 3, 2, 1), same(2, 10, 11, 24, 5, 2, 1), same(3, 16, 16, 12, 3, 1, 1), same(1, 16, 16, 28, 5, 1, 1),
  // border only: the taps' reach exceeds the map in both directions
  same(2, 2, 3, 8, 5, 1, 2), same(1, 1, 1, 4, 3, 1, 1), same(2, 3, 2, 8, 5, 2, 1),
  // other kernel sizes (not unrolled), no padding, uneven pads, large dilation
  same(2, 7, 7, 8, 1, 1, 1), same(2, 9, 9, 8, 7, 1, 1), same(2, 9, 9, 8, 3, 1, 1, 0), same(2, 10, 10, 8, 2, 1, 1, 0),
  { N: 2, H: 9, W: 8, C: 8, k: 3, s: 1, d: 3, pt: 1, pb: 3, pl: 4, pr: 0 },
  { N: 2, H: 9, W: 8, C: 20, k: 5, s: 2, d: 1, pt: 0, pb: 3, pl: 3, pr: 1 },
];

describe('output-stationary depthwise kernels (wasm)', function () {
  before(() => useBackend('wasm'));
  let rng: Rng;
  beforeEach(() => { rng = new Rng(7); });

  function heap(n: number, garbage = false): { t: tf.Tensor; ptr: number; view: () => Float32Array } {
    const t = garbage ? tf.fill([n], Number.NaN) : tf.tensor1d(rng.normalArray(n, 1));
    const w = asWasm(tf.backend()) as WasmBackendLike;
    const ptr = heapPtr(w, t as unknown as Parameters<typeof heapPtr>[1]);
    return { t, ptr, view: () => new Float32Array(heapBuffer(w), ptr, n).slice() };
  }

  for (const c of CASES) {
    const { N, H, W, C, k, s, d, pt, pb, pl, pr } = c;
    const Ho = outSize(H, k, s, pt, pb, d);
    const Wo = outSize(W, k, s, pl, pr, d);
    const g: DwGeom = [N, H, W, C, Ho, Wo, k, k, s, d, pt, pl];
    const label = `N${N} ${H}×${W}×${C} k${k} s${s} d${d} pads ${pt},${pb},${pl},${pr}`;
    // the scatter kernel into a zeroed output, the gather kernel into NaNs; src: the input-side tensor's size
    const compare = (mode: 'forward' | 'input') => {
      const simd = simdFor(asWasm(tf.backend()) as WasmBackendLike)!;
      const [srcSize, outSize_] = mode === 'forward' ? [N * H * W * C, N * Ho * Wo * C] : [N * Ho * Wo * C, N * H * W * C];
      const src = heap(srcSize);
      const f = heap(k * k * C);
      const ref = heap(outSize_);
      new Float32Array(heapBuffer(asWasm(tf.backend()) as WasmBackendLike), ref.ptr, outSize_).fill(0);
      const out = heap(outSize_, true);
      if (mode === 'forward') {
        simd.dwForward(src.ptr, ref.ptr, f.ptr, ...g);
        simd.dwForwardGather(src.ptr, out.ptr, f.ptr, ...g);
      } else {
        simd.dwInput(ref.ptr, src.ptr, f.ptr, ...g);
        simd.dwInputGather(out.ptr, src.ptr, f.ptr, ...g);
      }
      const a = out.view();
      const b = ref.view();
      assert.ok(b.some((v) => v !== 0), 'reference is not all zeros');
      assert.deepEqual(new Uint32Array(a.buffer), new Uint32Array(b.buffer));
      tf.dispose([src.t, f.t, ref.t, out.t]);
    };
    it(`forward ${label}: equals the scatter kernel bit for bit`, () => compare('forward'));
    if (s === 1) it(`backprop-input ${label}: equals the scatter kernel bit for bit`, () => compare('input'));
  }
});
