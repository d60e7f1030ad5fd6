// nas/kernels: forward values against float64 reference loops and hand-computed examples, gradients against
// finite differences, on wasm and cpu; then wasm against cpu on larger random inputs.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as K from '../nas/kernels/index.js';
import { registerKernels, KERNEL_NAMES } from '../nas/kernels/index.js';
import { TEST_BACKENDS, useBackend } from './helpers/backend.js';
import { gradCheck, prng, type GradCheckOptions } from './helpers/gradcheck.js';

type Shape4 = [number, number, number, number];
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

// ---------------------------------------------------------------------------------------------------------------
// Float64 reference implementations (PyTorch semantics), deliberately naive.

function refDepthwise(x: ArrayLike<number>, [N, H, W, C]: Shape4, f: ArrayLike<number>, k: number, s: number, p: number, d: number) {
  const Ho = Math.floor((H + 2 * p - d * (k - 1) - 1) / s) + 1;
  const Wo = Math.floor((W + 2 * p - d * (k - 1) - 1) / s) + 1;
  const y = new Float64Array(N * Ho * Wo * C);
  for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let c = 0; c < C; c++) {
    let acc = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const ih = i * s + a * d - p;
      const iw = j * s + b * d - p;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += x[((n * H + ih) * W + iw) * C + c] * f[(a * k + b) * C + c];
    }
    y[((n * Ho + i) * Wo + j) * C + c] = acc;
  }
  return { y, shape: [N, Ho, Wo, C] };
}

function refConv(x: ArrayLike<number>, [N, H, W, Ci]: Shape4, f: ArrayLike<number>, k: number, Co: number, s: number, p: number) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const y = new Float64Array(N * Ho * Wo * Co);
  for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let o = 0; o < Co; o++) {
    let acc = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) for (let c = 0; c < Ci; c++) {
      const ih = i * s + a - p;
      const iw = j * s + b - p;
      if (ih >= 0 && ih < H && iw >= 0 && iw < W) acc += x[((n * H + ih) * W + iw) * Ci + c] * f[((a * k + b) * Ci + c) * Co + o];
    }
    y[((n * Ho + i) * Wo + j) * Co + o] = acc;
  }
  return { y, shape: [N, Ho, Wo, Co] };
}

function refPool(kind: 'max' | 'avg', x: ArrayLike<number>, [N, H, W, C]: Shape4, k: number, s: number, p: number) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const y = new Float64Array(N * Ho * Wo * C);
  for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let c = 0; c < C; c++) {
    let acc = kind === 'max' ? -Infinity : 0;
    let cnt = 0;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const ih = i * s + a - p;
      const iw = j * s + b - p;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const v = x[((n * H + ih) * W + iw) * C + c];
      acc = kind === 'max' ? Math.max(acc, v) : acc + v;
      cnt++;
    }
    y[((n * Ho + i) * Wo + j) * C + c] = kind === 'max' ? acc : acc / cnt;
  }
  return { y, shape: [N, Ho, Wo, C] };
}

/** Max pool gradient: each window's dy goes to its first in-bounds maximum (row-major), as PyTorch. */
function refMaxPoolGrad(x: ArrayLike<number>, [N, H, W, C]: Shape4, dy: ArrayLike<number>, k: number, s: number, p: number) {
  const Ho = Math.floor((H + 2 * p - k) / s) + 1;
  const Wo = Math.floor((W + 2 * p - k) / s) + 1;
  const dx = new Float64Array(N * H * W * C);
  for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let c = 0; c < C; c++) {
    let best = -Infinity;
    let at = -1;
    for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) {
      const ih = i * s + a - p;
      const iw = j * s + b - p;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      const idx = ((n * H + ih) * W + iw) * C + c;
      if (x[idx] > best) {
        best = x[idx];
        at = idx;
      }
    }
    dx[at] += dy[((n * Ho + i) * Wo + j) * C + c];
  }
  return dx;
}

function refSubsample(x: ArrayLike<number>, [N, H, W, C]: Shape4, s: number, off: number) {
  const Ho = Math.ceil((H - off) / s);
  const Wo = Math.ceil((W - off) / s);
  const y = new Float64Array(N * Ho * Wo * C);
  for (let n = 0; n < N; n++) for (let i = 0; i < Ho; i++) for (let j = 0; j < Wo; j++) for (let c = 0; c < C; c++) {
    y[((n * Ho + i) * Wo + j) * C + c] = x[((n * H + off + s * i) * W + off + s * j) * C + c];
  }
  return { y, shape: [N, Ho, Wo, C] };
}

function refBatchNorm(x: ArrayLike<number>, C: number, eps: number, gamma?: ArrayLike<number>, beta?: ArrayLike<number>) {
  const rows = x.length / C;
  const mean = new Float64Array(C);
  const variance = new Float64Array(C);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) mean[c] += x[r * C + c] / rows;
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) variance[c] += (x[r * C + c] - mean[c]) ** 2 / rows;
  const y = new Float64Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < C; c++) {
    y[r * C + c] = ((x[r * C + c] - mean[c]) / Math.sqrt(variance[c] + eps)) * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return { y, mean, variance };
}

// ---------------------------------------------------------------------------------------------------------------
// Inputs and comparisons

function randomData(n: number, seed: number, scale = 1): Float32Array {
  const r = prng(seed);
  return Float32Array.from({ length: n }, () => Math.fround((2 * r() - 1) * scale));
}

/** Distinct values spaced ≥ 0.05 apart, centred on 0 (no ties within any pooling window for eps ≤ 0.02). */
function distinctData(n: number, seed: number): Float32Array {
  const r = prng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j], v[i]];
  }
  return Float32Array.from(v);
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const e = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(e <= worst)) {
      worst = e;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: worst relative error ${worst} at [${at}]: got ${actual[at]} want ${expected[at]}`);
}

function expectGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], opts: GradCheckOptions = {}): void {
  const r = gradCheck(f, inputs, opts);
  assert.ok(r.ok, r.message);
  assert.ok(r.checked.every((n) => n > 0), 'nothing checked');
}

const t4 = (data: Float32Array, shape: Shape4) => tf.tensor4d(data, shape);
const profileKernels = async (f: () => tf.TensorContainer) => (await tf.profile(f)).kernelNames;

// ---------------------------------------------------------------------------------------------------------------

for (const backend of TEST_BACKENDS) {
  describe(`kernels on ${backend}`, function () {
    before(async () => {
      await useBackend(backend);
    });
    beforeEach(() => tf.engine().startScope());
    afterEach(() => tf.engine().endScope());

    describe('depthwiseConv2d', () => {
      const cases: Array<[k: number, s: number, d: number, H: number, p: number, C: number]> = [];
      for (const k of [3, 5]) for (const s of [1, 2]) for (const d of [1, 2]) for (const H of [7, 8]) {
        cases.push([k, s, d, H, (d * (k - 1)) / 2, 4]);
      }
      // pads other than 'same', a channel count off the SIMD path, stride not dividing the dilation
      cases.push([3, 2, 2, 8, 0, 4], [5, 2, 2, 7, 1, 4], [3, 2, 4, 9, 4, 4], [3, 3, 2, 8, 2, 4], [3, 2, 2, 7, 2, 3], [5, 1, 2, 6, 4, 3]);
      for (const [k, s, d, H, p, C] of cases) {
        it(`k${k} stride ${s} dilation ${d} pad ${p}, ${H}×${H}×${C}: forward = reference, gradients = finite differences`, () => {
          const xs: Shape4 = [2, H, H, C];
          const xd = randomData(sizeOf(xs), 11 * k + s + 7 * d + H);
          const fd = randomData(k * k * C, 5 + k + d);
          const x = t4(xd, xs);
          const f = t4(fd, [k, k, C, 1]);
          const ref = refDepthwise(xd, xs, fd, k, s, p, d);
          const y = K.depthwiseConv2d(x, f, s, p, d);
          assert.deepEqual(y.shape, ref.shape);
          expectClose(y.dataSync(), ref.y, 1e-5, 'forward');
          expectGrads((a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p, d), [x, f], { eps: 0.05, maxEntries: 160 });
        });
      }

      it('hand example: 1 channel 3×3 of ones, 3×3 filter of ones, pad 1 → counts of in-bounds neighbours', () => {
        const y = K.depthwiseConv2d(tf.ones([1, 3, 3, 1]) as tf.Tensor4D, tf.ones([3, 3, 1, 1]) as tf.Tensor4D, 1, 1, 1);
        assert.deepEqual(Array.from(y.dataSync()), [4, 6, 4, 6, 9, 6, 4, 6, 4]);
      });

      it('hand example: dilation 2 stride 2 pad 2 on 5×5 picks even pixels', () => {
        // x[i][j] = 10 i + j; filter is 1 at its centre and at its top-left tap
        const x = tf.tensor4d(Float32Array.from({ length: 25 }, (_, i) => 10 * Math.floor(i / 5) + (i % 5)), [1, 5, 5, 1]);
        const f = tf.tensor4d([1, 0, 0, 0, 1, 0, 0, 0, 0], [3, 3, 1, 1]);
        const y = K.depthwiseConv2d(x, f, 2, 2, 2);
        // output (i,j) = x[2i][2j] + x[2i−2][2j−2] (0 when out of bounds)
        assert.deepEqual(Array.from(y.dataSync()), [0, 2, 4, 20, 22 + 0, 24 + 2, 40, 42 + 20, 44 + 22]);
      });

      it('stock depthwise backprop kernel names (filled on wasm) match the reference gradients', () => {
        const xs: Shape4 = [2, 6, 6, 4];
        const x = t4(randomData(96 * 3, 3), xs);
        const f = t4(randomData(36, 4), [3, 3, 4, 1]);
        const dy = t4(randomData(2 * 3 * 3 * 4, 5), [2, 3, 3, 4]);
        const attrs = { strides: [2, 2], dilations: [1, 1], pad: 1, dimRoundingMode: undefined as unknown as string };
        const dw = tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs, filterShape: [3, 3, 4, 1] }) as tf.Tensor;
        const dx = tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: f }, { ...attrs, inputShape: xs }) as tf.Tensor;
        const [gx, gw] = tf.grads((a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1, 1))([x, f], dy);
        expectClose(dw.dataSync(), gw.dataSync(), 1e-5, 'filter');
        expectClose(dx.dataSync(), gx.dataSync(), 1e-5, 'input');
      });

      it('computes the filter gradient only when asked (architecture steps skip it)', async () => {
        const x = t4(randomData(2 * 8 * 8 * 4, 9), [2, 8, 8, 4]);
        const f = t4(randomData(36, 10), [3, 3, 4, 1]);
        const fn = (a: tf.Tensor, b: tf.Tensor) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1, 1);
        const onlyX = await profileKernels(() => tf.grads((a) => fn(a, f))([x], tf.onesLike(fn(x, f))));
        const both = await profileKernels(() => tf.grads(fn)([x, f], tf.onesLike(fn(x, f))));
        assert.ok(onlyX.includes('NasDepthwiseBackpropInput'), onlyX.join());
        assert.ok(!onlyX.includes('NasDepthwiseBackpropFilter'), onlyX.join());
        assert.ok(both.includes('NasDepthwiseBackpropFilter'), both.join());
      });
    });

    describe('conv2d and conv1x1', () => {
      for (const [k, s, p, H] of [[3, 1, 1, 6], [3, 2, 1, 7], [3, 2, 0, 8], [2, 1, 0, 2], [2, 1, 0, 5]]) {
        it(`conv2d k${k} stride ${s} pad ${p} on ${H}×${H}: forward = reference, gradients = finite differences`, () => {
          const xs: Shape4 = [2, H, H, 3];
          const xd = randomData(sizeOf(xs), 20 + k + s + H);
          const fd = randomData(k * k * 3 * 5, 30 + k);
          const x = t4(xd, xs);
          const f = t4(fd, [k, k, 3, 5]);
          const ref = refConv(xd, xs, fd, k, 5, s, p);
          const y = K.conv2d(x, f, s, p);
          assert.deepEqual(y.shape, ref.shape);
          expectClose(y.dataSync(), ref.y, 1e-5, 'forward');
          expectGrads((a, b) => K.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p), [x, f], { eps: 0.05, maxEntries: 120 });
        });
      }

      it('Conv2DBackpropFilter kernel (filled on wasm) matches conv2d filter gradient', () => {
        const x = t4(randomData(2 * 7 * 7 * 3, 41), [2, 7, 7, 3]);
        const f = t4(randomData(3 * 3 * 3 * 5, 42), [3, 3, 3, 5]);
        const dy = t4(randomData(2 * 4 * 4 * 5, 43), [2, 4, 4, 5]);
        const dw = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy },
          { strides: [2, 2], pad: 1, dataFormat: 'NHWC', dimRoundingMode: undefined as unknown as string, filterShape: [3, 3, 3, 5] }) as tf.Tensor;
        const [, gw] = tf.grads((a, b) => K.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1))([x, f], dy);
        expectClose(dw.dataSync(), gw.dataSync(), 1e-5, 'filter');
      });

      for (const [s, H] of [[1, 5], [2, 7], [2, 8]]) {
        it(`conv1x1 stride ${s} on ${H}×${H}: forward = reference, gradients = finite differences`, () => {
          const xs: Shape4 = [2, H, H, 4];
          const xd = randomData(sizeOf(xs), 50 + s + H);
          const wd = randomData(4 * 6, 51);
          const x = t4(xd, xs);
          const w = tf.tensor2d(wd, [4, 6]);
          const sub = refSubsample(xd, xs, s, 0);
          const ref = refConv(sub.y, sub.shape as Shape4, wd, 1, 6, 1, 0);
          const y = K.conv1x1(x, w, s);
          assert.deepEqual(y.shape, ref.shape);
          expectClose(y.dataSync(), ref.y, 1e-5, 'forward');
          expectGrads((a, b) => K.conv1x1(a as tf.Tensor4D, b as tf.Tensor2D, s), [x, w], { eps: 0.05, maxEntries: 120 });
        });
      }
    });

    describe('subsample', () => {
      for (const [off, H] of [[0, 7], [0, 8], [1, 7], [1, 8]]) {
        it(`stride 2 offset ${off} on ${H}×${H}: forward = reference, gradient = finite differences`, () => {
          const xs: Shape4 = [2, H, H, 3];
          const xd = randomData(sizeOf(xs), 60 + off + H);
          const x = t4(xd, xs);
          const ref = refSubsample(xd, xs, 2, off);
          const y = K.subsample(x, 2, off);
          assert.deepEqual(y.shape, ref.shape);
          expectClose(y.dataSync(), ref.y, 0, 'forward');
          expectGrads((a) => K.subsample(a as tf.Tensor4D, 2, off), [x], { eps: 0.05 });
        });
      }
      it('hand example: 4×4 of 0..15, offset 1 → [5, 7, 13, 15]', () => {
        const x = tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => i), [1, 4, 4, 1]);
        assert.deepEqual(Array.from(K.subsample(x, 2, 1).dataSync()), [5, 7, 13, 15]);
        assert.deepEqual(Array.from(K.subsample(x, 2, 0).dataSync()), [0, 2, 8, 10]);
      });
    });

    describe('pooling', () => {
      for (const kind of ['max', 'avg'] as const) {
        for (const [s, H, C] of [[1, 7, 4], [1, 8, 4], [2, 7, 4], [2, 8, 4], [1, 7, 3], [2, 8, 3]]) {
          it(`${kind} pool 3×3 stride ${s} pad 1 on ${H}×${H}×${C}: forward = reference, gradient = finite differences`, () => {
            const xs: Shape4 = [2, H, H, C];
            const xd = distinctData(sizeOf(xs), 70 + s + H);
            const x = t4(xd, xs);
            const fn = kind === 'max' ? K.maxPool : K.avgPool;
            const ref = refPool(kind, xd, xs, 3, s, 1);
            const y = fn(x, 3, s, 1);
            assert.deepEqual(y.shape, ref.shape);
            expectClose(y.dataSync(), ref.y, 1e-6, 'forward');
            expectGrads((a) => fn(a as tf.Tensor4D, 3, s, 1), [x], { eps: 0.01, maxEntries: 200 });
          });
        }
      }

      it('max pool with all-negative borders: padding never wins, gradient goes to the in-bounds max', () => {
        const x = tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => -(i + 1)), [1, 4, 4, 1]);
        const y = K.maxPool(x, 3, 2, 1);
        assert.deepEqual(Array.from(y.dataSync()), [-1, -2, -5, -6]);
        const [dx] = tf.grads((a) => K.maxPool(a as tf.Tensor4D, 3, 2, 1))([x], tf.ones([1, 2, 2, 1]));
        const want = new Array(16).fill(0);
        [0, 1, 4, 5].forEach((i) => (want[i] = 1));
        assert.deepEqual(Array.from(dx.dataSync()), want);
      });

      it('max pool gradient with negative values at every border (stride 1 and 2) = finite differences', () => {
        // interior positive, a two-pixel border of negatives: windows at the border see only negatives
        for (const [s, C] of [[1, 2], [2, 2], [1, 4], [2, 4]]) {
          const H = 7;
          const xd = distinctData(2 * H * H * C, 80 + s + C).map((v, i) => {
            const r = Math.floor(i / (H * C)) % H;
            const c = Math.floor(i / C) % H;
            const border = r < 2 || c < 2 || r >= H - 2 || c >= H - 2;
            return border ? v - 30 : v + 30; // distinct values kept, signs forced
          });
          const x = t4(xd, [2, H, H, C]);
          expectClose(K.maxPool(x, 3, s, 1).dataSync(), refPool('max', xd, [2, H, H, C], 3, s, 1).y, 0, 'forward');
          expectGrads((a) => K.maxPool(a as tf.Tensor4D, 3, s, 1), [x], { eps: 0.01 });
        }
      });

      it('the registered MaxPoolGrad kernel (stock tf.maxPool gradients) is right with negative inputs', () => {
        // regression: stock wasm MaxPoolGrad sends the gradient of all-negative windows to the wrong pixel
        for (const [H, s, C] of [[4, 1, 1], [4, 2, 1], [5, 1, 4], [7, 2, 4], [8, 1, 3]]) {
          const xs: Shape4 = [2, H, H, C];
          const xd = distinctData(sizeOf(xs), 140 + H + s + C).map((v) => v - 20); // all negative
          const x = t4(xd, xs);
          const output = tf.maxPool(x, 3, s, 1);
          const dy = tf.tensor(randomData(output.size, 141), output.shape);
          const dx = tf.engine().runKernel('MaxPoolGrad', { dy, input: x, output },
            { filterSize: 3, strides: s, pad: 1, dimRoundingMode: undefined as unknown as string }) as tf.Tensor;
          expectClose(dx.dataSync(), refMaxPoolGrad(xd, xs, dy.dataSync(), 3, s, 1), 1e-6, `H ${H} stride ${s} C ${C}`);
        }
      });

      it('hand example: 4×4 avg pool 3×3 pad 1 at the border = mean of in-bounds values', () => {
        const x = tf.tensor4d(Float32Array.from({ length: 16 }, (_, i) => i + 1), [1, 4, 4, 1]);
        const y = K.avgPool(x, 3, 1, 1).dataSync();
        assert.ok(Math.abs(y[0] - ((1 + 2 + 5 + 6) / 4)) <= 1e-6, `got ${y[0]}`); // corner: 4 in-bounds pixels
        assert.ok(Math.abs(y[1] - ((1 + 2 + 3 + 5 + 6 + 7) / 6)) <= 1e-6, `got ${y[1]}`); // edge: 6
        assert.ok(Math.abs(y[5] - ((1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11) / 9)) <= 1e-6, `got ${y[5]}`); // interior: 9
        // gradient of y[0] alone: 1/4 on each of its 4 pixels
        const dy = tf.tensor4d([1, ...new Array(15).fill(0)], [1, 4, 4, 1]);
        const [dx] = tf.grads((a) => K.avgPool(a as tf.Tensor4D, 3, 1, 1))([x], dy);
        assert.deepEqual(Array.from(dx.dataSync()), [0.25, 0.25, 0, 0, 0.25, 0.25, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      });

      it('avgPoolValid 5×5 stride 3 on 8×8 (auxiliary head): 2×2 means of full windows, gradient = finite differences', () => {
        const xs: Shape4 = [2, 8, 8, 3];
        const xd = randomData(sizeOf(xs), 90);
        const x = t4(xd, xs);
        const y = K.avgPoolValid(x, 5, 3);
        assert.deepEqual(y.shape, [2, 2, 2, 3]);
        expectClose(y.dataSync(), refPool('avg', xd, xs, 5, 3, 0).y, 1e-6, 'forward');
        expectGrads((a) => K.avgPoolValid(a as tf.Tensor4D, 5, 3), [x], { eps: 0.05 });
      });
    });

    describe('batch norm', () => {
      for (const [C, affine] of [[4, true], [3, true], [8, false], [3, false]] as const) {
        it(`train, C=${C}${affine ? ', affine' : ''}: y/mean/var = reference, gradients (x${affine ? ', γ, β' : ''}) = finite differences`, () => {
          const xs: Shape4 = [2, 3, 3, C];
          const xd = randomData(sizeOf(xs), 100 + C, 2).map((v, i) => v + (i % C)); // channel offsets
          const gd = randomData(C, 101 + C, 1).map((v) => v + 1.5);
          const bd = randomData(C, 102 + C, 1);
          const x = t4(xd, xs);
          const g = tf.tensor1d(gd);
          const b = tf.tensor1d(bd);
          const out = affine ? K.batchNormTrain(x, g, b) : K.batchNormTrain(x);
          const ref = refBatchNorm(xd, C, 1e-5, affine ? gd : undefined, affine ? bd : undefined);
          expectClose(out.y.dataSync(), ref.y, 2e-5, 'y');
          expectClose(out.mean.dataSync(), ref.mean, 1e-6, 'mean');
          expectClose(out.variance.dataSync(), ref.variance, 1e-5, 'variance (biased)');
          const opts = { eps: 5e-3, rtol: 1e-2, atol: 2e-3 };
          if (affine) {
            expectGrads((a, gg, bb) => K.batchNormTrain(a as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D).y, [x, g, b], opts);
          } else {
            expectGrads((a) => K.batchNormTrain(a as tf.Tensor4D).y, [x], opts);
          }
        });
      }

      it('larger batch (several SIMD chunks): statistics and input gradient match the reference', () => {
        const xs: Shape4 = [4, 10, 10, 8];
        const xd = randomData(sizeOf(xs), 110, 3).map((v) => v + 5);
        const dyd = randomData(sizeOf(xs), 111);
        const x = t4(xd, xs);
        const out = K.batchNormTrain(x);
        const ref = refBatchNorm(xd, 8, 1e-5);
        expectClose(out.mean.dataSync(), ref.mean, 1e-6, 'mean');
        expectClose(out.variance.dataSync(), ref.variance, 1e-5, 'variance');
        // closed form in float64: dx = rstd (dy − mean(dy) − x̂ mean(dy x̂))
        const rows = sizeOf(xs) / 8;
        const want = new Float64Array(xd.length);
        for (let c = 0; c < 8; c++) {
          const rstd = 1 / Math.sqrt(ref.variance[c] + 1e-5);
          let mdy = 0;
          let mdyx = 0;
          for (let r = 0; r < rows; r++) {
            mdy += dyd[r * 8 + c] / rows;
            mdyx += (dyd[r * 8 + c] * (xd[r * 8 + c] - ref.mean[c]) * rstd) / rows;
          }
          for (let r = 0; r < rows; r++) {
            const xh = (xd[r * 8 + c] - ref.mean[c]) * rstd;
            want[r * 8 + c] = rstd * (dyd[r * 8 + c] - mdy - xh * mdyx);
          }
        }
        const [dx] = tf.grads((a) => K.batchNormTrain(a as tf.Tensor4D).y)([x], t4(dyd, xs));
        expectClose(dx.dataSync(), want, 1e-5, 'dx');
      });

      it('infer: y = reference with given statistics, gradients (x, γ, β) = finite differences', () => {
        const xs: Shape4 = [2, 3, 3, 4];
        const xd = randomData(sizeOf(xs), 120);
        const [md, vd, gd, bd] = [randomData(4, 121), randomData(4, 122).map((v) => v + 1.5), randomData(4, 123), randomData(4, 124)];
        const x = t4(xd, xs);
        const [m, v, g, b] = [md, vd, gd, bd].map((d) => tf.tensor1d(d));
        const y = K.batchNormInfer(x, m as tf.Tensor1D, v as tf.Tensor1D, g as tf.Tensor1D, b as tf.Tensor1D);
        const want = xd.map((val, i) => ((val - md[i % 4]) / Math.sqrt(vd[i % 4] + 1e-5)) * gd[i % 4] + bd[i % 4]);
        expectClose(y.dataSync(), want, 1e-5, 'y');
        expectGrads((a, gg, bb) => K.batchNormInfer(a as tf.Tensor4D, m as tf.Tensor1D, v as tf.Tensor1D, gg as tf.Tensor1D, bb as tf.Tensor1D),
          [x, g, b], { eps: 0.05 });
      });
    });

    describe('bookkeeping', () => {
      it('registerKernels is idempotent and installs every kernel', () => {
        registerKernels(backend);
        registerKernels(backend);
        for (const name of KERNEL_NAMES) assert.ok(tf.getKernel(name, backend) !== undefined, name);
      });

      it('forward + backward of every op leaks no tensors', () => {
        const x = t4(randomData(2 * 8 * 8 * 4, 130), [2, 8, 8, 4]);
        const f = t4(randomData(36, 131), [3, 3, 4, 1]);
        const w = tf.tensor2d(randomData(16, 132), [4, 4]);
        const g = tf.tensor1d(randomData(4, 133));
        const step = () => tf.tidy(() => {
          const fn = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
            let h = K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 2, 2);
            h = K.batchNormTrain(h, d as tf.Tensor1D, d as tf.Tensor1D).y;
            h = K.conv1x1(h, c as tf.Tensor2D, 1);
            h = K.maxPool(h, 3, 1, 1);
            h = K.avgPool(h, 3, 2, 1);
            return K.subsample(h, 2, 1);
          };
          const y = fn(x, f, w, g);
          return tf.grads(fn)([x, f, w, g], tf.onesLike(y));
        });
        tf.dispose(step());
        const before = tf.memory().numTensors;
        for (let i = 0; i < 3; i++) tf.dispose(step());
        assert.equal(tf.memory().numTensors, before);
      });
    });
  });
}

// ---------------------------------------------------------------------------------------------------------------

describe('kernels: wasm and cpu agree on random inputs', function () {
  interface Case { name: string; shapes: number[][]; f: (...xs: tf.Tensor[]) => tf.Tensor; positive?: number[] }
  const cases: Case[] = [
    { name: 'sep-conv depthwise k3 s2', shapes: [[3, 13, 13, 8], [3, 3, 8, 1]], f: (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1, 1) },
    { name: 'sep-conv depthwise k5 s1', shapes: [[3, 12, 12, 8], [5, 5, 8, 1]], f: (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 2, 1) },
    { name: 'dil-conv depthwise k3 s2 d2', shapes: [[3, 12, 12, 8], [3, 3, 8, 1]], f: (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 2, 2) },
    { name: 'dil-conv depthwise k5 s2 d2', shapes: [[3, 11, 11, 12], [5, 5, 12, 1]], f: (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 4, 2) },
    { name: 'depthwise k5 s2 C=6 (JS path)', shapes: [[2, 10, 10, 6], [5, 5, 6, 1]], f: (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 2, 1) },
    { name: 'stem conv k3', shapes: [[3, 12, 12, 3], [3, 3, 3, 12]], f: (a, b) => K.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 1) },
    { name: 'conv1x1 s2', shapes: [[3, 12, 12, 8], [8, 16]], f: (a, b) => K.conv1x1(a as tf.Tensor4D, b as tf.Tensor2D, 2) },
    { name: 'max pool s2', shapes: [[3, 12, 12, 8]], f: (a) => K.maxPool(a as tf.Tensor4D, 3, 2, 1) },
    { name: 'avg pool s1', shapes: [[3, 11, 11, 8]], f: (a) => K.avgPool(a as tf.Tensor4D, 3, 1, 1) },
    { name: 'batch norm affine', shapes: [[8, 12, 12, 16], [16], [16]], f: (a, g, b) => K.batchNormTrain(a as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D).y },
  ];

  async function evaluate(backend: 'wasm' | 'cpu', c: Case, seed: number): Promise<Float32Array[]> {
    await useBackend(backend);
    return tf.tidy(() => {
      const xs = c.shapes.map((s, i) => tf.tensor(randomData(sizeOf(s), seed + i), s));
      const y = c.f(...xs);
      const dy = tf.tensor(randomData(y.size, seed + 99), y.shape);
      const grads = tf.grads(c.f)(xs, dy);
      return [y, ...grads].map((t) => Float32Array.from(t.dataSync()));
    });
  }

  cases.forEach((c, i) => {
    it(`${c.name}: forward and every gradient`, async () => {
      const cpu = await evaluate('cpu', c, 1000 + 10 * i);
      const wasm = await evaluate('wasm', c, 1000 + 10 * i);
      cpu.forEach((want, j) => {
        const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        let worst = 0;
        for (let k = 0; k < want.length; k++) worst = Math.max(worst, Math.abs(wasm[j][k] - want[k]));
        const rel = worst / (scale + 1e-12);
        assert.ok(rel <= 2e-5, `${j === 0 ? 'forward' : `gradient ${j - 1}`}: max |wasm − cpu| / max|cpu| = ${rel}`);
      });
    });
  });
});

describe('kernels: composed with stock tfjs ops (relu, concat, mean, softmax)', function () {
  before(() => useBackend('wasm'));

  it('gradients through our ops and stock ops together = finite differences', () => {
    const x = t4(distinctData(2 * 6 * 6 * 4, 200).map((v) => v + 0.025), [2, 6, 6, 4]); // no exact zeros (relu kink)
    const w = tf.tensor2d(randomData(4 * 6, 201), [4, 6]);
    const f = t4(randomData(36, 202), [3, 3, 4, 1]);
    const net = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
      const r = tf.relu(a) as tf.Tensor4D;
      const h = tf.concat([K.conv1x1(r, b as tf.Tensor2D, 2), K.depthwiseConv2d(r, c as tf.Tensor4D, 2, 2, 2)], 3);
      return tf.softmax(tf.add(h, tf.mean(h, [1, 2], true)));
    };
    assert.deepEqual(net(x, w, f).shape, [2, 3, 3, 10]);
    expectGrads(net, [x, w, f], { eps: 0.01, maxEntries: 100 });
  });
});
