// The engine's speed/memory kernels (issue 7): SIMD pointwise conv, fused weighted node sums, NaN-keeping ReLU,
// channel concat, zero-copy Identity/Cast on wasm, and the memory-releasing backward pass (nas/grad.ts).
// Forward values against float64 references, gradients against finite differences, wasm against cpu, and the
// backward pass against tf.variableGrads bit for bit.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as K from '../nas/kernels/index.js';
import { runKernel } from '../nas/kernels/runtime.js';
import { variableGrads } from '../nas/grad.js';
import { createSearch, defaultSearchConfig, type MethodName } from '../methods/registry.js';
import { merge } from '../nas/config.js';
import { Rng } from '../nas/rng.js';
import { TEST_BACKENDS, useBackend } from './helpers/backend.js';
import { gradCheck, assertGradOk } from './helpers/gradcheck.js';

const randn = (shape: number[], seed: number, std = 1) => tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1), std), shape, 'float32');

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
  return worst / scale;
}

function refMatMul(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, inner: number, cols: number, transA = false, transB = false): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) {
    let s = 0;
    for (let i = 0; i < inner; i++) s += (transA ? a[i * rows + r] : a[r * inner + i]) * (transB ? b[c * inner + i] : b[i * cols + c]);
    out[r * cols + c] = s;
  }
  return out;
}

describe('pointwise SIMD kernels (wasm)', function () {
  before(() => useBackend('wasm'));
  // rows % 4 ≠ 0 and cout % 8 = 4 exercise the tails of the register tiles
  for (const [rows, cin, cout] of [[4096, 8, 8], [1029, 24, 12], [7, 4, 4], [300, 64, 32], [2048 * 2 + 3, 16, 20]]) {
    it(`[${rows},${cin}]·[${cin},${cout}]: y, dx = dy·wᵀ and dw = xᵀ·dy match float64 references`, () => {
      const x = randn([rows, cin], 1);
      const w = randn([cin, cout], 2);
      const dy = randn([rows, cout], 3);
      const [xd, wd, dyd] = [x.dataSync(), w.dataSync(), dy.dataSync()];
      const y = runKernel('NasPointwise', { x, w }, { outShape: [rows, cout] });
      const dx = runKernel('NasPointwiseBackpropInput', { dy, w }, { inputShape: [rows, cin] });
      const dw = runKernel('NasPointwiseBackpropFilter', { x, dy });
      assert.ok(maxRel(y.dataSync(), refMatMul(xd, wd, rows, cin, cout)) < 1e-5, 'y');
      assert.ok(maxRel(dx.dataSync(), refMatMul(dyd, wd, rows, cout, cin, false, true)) < 1e-5, 'dx');
      assert.ok(maxRel(dw.dataSync(), refMatMul(xd, dyd, cin, rows, cout, true, false)) < 1e-5, 'dw');
      tf.dispose([x, w, dy, y, dx, dw]);
    });
  }

  it('conv1x1 on the SIMD path: gradients = finite differences, stride 1 and 2', () => {
    for (const stride of [1, 2]) {
      const x = randn([2, 6, 6, 8], 4);
      const w = randn([8, 4], 5);
      assertGradOk(gradCheck((a, b) => K.conv1x1(a as tf.Tensor4D, b as tf.Tensor2D, stride), [x, w], { eps: 1e-2 }));
      tf.dispose([x, w]);
    }
  });
});

/**
 * The SIMD batch-norm statistics in f32 arithmetic as batchnorm.ts defines them: the rows in two parts (the halves),
 * each in chunks of 128 rows summed in f32 from +0, every chunk's sum added to the part's float64 sum; parts added in
 * order. Forward: Σ(x − x[0]), Σ(x − x[0])²; backward: Σdy, Σdy·(x − mean).
 */
function refChunkedSums(a: Float32Array, b: Float32Array | undefined, ref: Float32Array, rows: number, C: number): [Float64Array, Float64Array] {
  const fr = Math.fround;
  const s = new Float64Array(C);
  const q = new Float64Array(C);
  const half = Math.round(rows / 2);
  for (let c = 0; c < C; c++) {
    for (const [r0, r1] of [[0, half], [half, rows]]) {
      let s64 = 0;
      let q64 = 0;
      for (let k0 = r0; k0 < r1; k0 += 128) {
        let s32 = 0;
        let q32 = 0;
        for (let r = k0; r < Math.min(r1, k0 + 128); r++) {
          const v = fr(a[r * C + c] - ref[c]);
          if (b) {
            const g = b[r * C + c];
            s32 = fr(s32 + g);
            q32 = fr(q32 + fr(v * g));
          } else {
            s32 = fr(s32 + v);
            q32 = fr(q32 + fr(v * v));
          }
        }
        s64 += s32;
        q64 += q32;
      }
      s[c] += s64;
      q[c] += q64;
    }
  }
  return [s, q];
}

const bits = (a: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(a).buffer));

describe('batch-norm statistics SIMD kernels (wasm)', function () {
  before(() => useBackend('wasm'));
  // 273 rows: parts of 136 and 137, each a full chunk and a partial one; C = 4 … 36 runs channel blocks of 4, 2 and 1 vectors
  for (const C of [4, 8, 12, 28, 36]) {
    it(`C=${C}: mean, variance, Σdy and Σdy·(x − μ) = the chunked f32 sums in row order, bit for bit`, () => {
      const shape = [3, 7, 13, C];
      const rows = 3 * 7 * 13;
      const x = randn(shape, 60 + C, 2);
      const dy = randn(shape, 70 + C);
      const [xd, dyd] = [x.dataSync() as Float32Array, dy.dataSync() as Float32Array];
      const [y, mean, variance] = runKernel<tf.Tensor[]>('NasBatchNormForward', { x }, { eps: 1e-5 });
      const [s1, s2] = refChunkedSums(xd, undefined, xd.slice(0, C), rows, C);
      const wantMean = new Float32Array(C);
      const wantVar = new Float32Array(C);
      for (let c = 0; c < C; c++) {
        const m = s1[c] / rows;
        wantMean[c] = xd[c] + m;
        wantVar[c] = Math.max(0, s2[c] / rows - m * m);
      }
      assert.deepEqual(bits(mean.dataSync()), bits(wantMean), 'mean');
      assert.deepEqual(bits(variance.dataSync()), bits(wantVar), 'variance');
      const sums: { sdy?: Float64Array; sdyx?: Float64Array } = {};
      const dx = runKernel('NasBatchNormGradInput', { x, dy, mean, variance }, { eps: 1e-5, sums });
      const [sdy, sdyx] = refChunkedSums(xd, dyd, mean.dataSync() as Float32Array, rows, C);
      assert.deepEqual(Array.from(sums.sdy ?? []), Array.from(sdy), 'Σdy');
      assert.deepEqual(Array.from(sums.sdyx ?? []), Array.from(sdyx), 'Σdy·(x − μ)');
      tf.dispose([x, dy, y, mean, variance, dx]);
    });
  }
});

for (const backend of TEST_BACKENDS) {
  describe(`fused engine ops on ${backend}`, function () {
    before(() => useBackend(backend));

    it('weightedSum: Σ w[index]·x_t, gradients (x_t and w) = finite differences', () => {
      const xs = [0, 1, 2].map((s) => randn([2, 3, 3, 4], 10 + s));
      const w = randn([2, 3], 20);
      const index = [0, 4, 5];
      const y = K.weightedSum(xs as tf.Tensor4D[], w, index);
      const wd = w.dataSync();
      const want = new Float64Array(y.size);
      xs.forEach((x, t) => x.dataSync().forEach((v, i) => { want[i] += wd[index[t]] * v; }));
      assert.ok(maxRel(y.dataSync(), want) < 1e-6);
      assertGradOk(gradCheck((a, b, c, ww) => K.weightedSum([a, b, c] as tf.Tensor4D[], ww, index), [...xs, w], { eps: 1e-2 }));
      // odd sizes take the JS path on wasm too
      const odd = [randn([1, 3, 3, 3], 30), randn([1, 3, 3, 3], 31)];
      assertGradOk(gradCheck((a, b, ww) => K.weightedSum([a, b] as tf.Tensor4D[], ww, [1, 2]), [...odd, w], { eps: 1e-2 }));
      tf.dispose([...xs, ...odd, w, y]);
    });

    it('weightedSum over several output blocks and a partial one: the f32 sum in term order, bit for bit', () => {
      // 24 604 floats: three 32 KiB blocks of the SIMD kernel and a partial fourth; 5 terms
      const index = [4, 0, 3, 1, 2];
      const xs = index.map((_, s) => randn([1, 1, 6151, 4], 50 + s)) as tf.Tensor4D[];
      const w = randn([5], 55);
      const y = K.weightedSum(xs, w, index, true);
      const wd = w.dataSync();
      const fr = Math.fround;
      const want = new Float32Array(y.size);
      index.forEach((at, t) => xs[t].dataSync().forEach((v, i) => { want[i] = t === 0 ? fr(wd[at] * v) : fr(want[i] + fr(wd[at] * v)); }));
      assert.deepEqual(new Uint32Array((y.dataSync() as Float32Array).slice().buffer), new Uint32Array(want.buffer));
      tf.dispose([...xs, w, y]);
    });

    it('weightedSum with constant weights: same values, x gradients only', () => {
      const xs = [randn([2, 4, 4, 4], 40), randn([2, 4, 4, 4], 41)] as tf.Tensor4D[];
      const w = tf.variable(randn([1, 2], 42));
      const f = (c: boolean) => tf.variableGrads(() => tf.sum(tf.mul(K.weightedSum(xs, w, [0, 1], c), randn([2, 4, 4, 4], 43))) as tf.Scalar, [w]);
      const withW = f(false);
      assert.ok(withW.grads[w.name], 'w gets a gradient');
      const g = tf.grads((a, b) => K.weightedSum([a, b] as tf.Tensor4D[], w, [0, 1], true))(xs);
      const g2 = tf.grads((a, b) => K.weightedSum([a, b] as tf.Tensor4D[], w, [0, 1], false))(xs);
      g.forEach((t, i) => assert.equal(maxRel(t.dataSync(), g2[i].dataSync()), 0));
      assert.throws(() => f(true), /connection/, 'no gradient reaches constant weights');
      tf.dispose([...xs, w, withW.value, ...Object.values(withW.grads), ...g, ...g2]);
    });

    it('relu keeps NaN of either sign; gradient is dy where the output is positive', () => {
      const nan = new Float32Array(8);
      new Uint32Array(nan.buffer).set([0x7fc00000, 0xffc00000, 0x7fc00000, 0xffc00000, 0, 0, 0, 0]);
      nan.set([-1, 2, -0.5, 3], 4);
      const x = tf.tensor1d(nan);
      const y = K.relu(x).dataSync();
      assert.ok(Number.isNaN(y[0]) && Number.isNaN(y[1]) && Number.isNaN(y[2]) && Number.isNaN(y[3]), `NaN kept: ${Array.from(y)}`);
      assert.deepEqual(Array.from(y.slice(4)), [0, 2, 0, 3]);
      const xs = randn([2, 4, 4, 4], 50);
      const shifted = tf.add(xs, tf.mul(tf.sign(xs), 0.05)); // away from the kink
      assertGradOk(gradCheck((a) => K.relu(a), [shifted], { eps: 1e-2 }));
      tf.dispose([x, xs, shifted]);
    });

    it('concatChannels = tf.concat along channels; gradient = channel slices', () => {
      const xs = [randn([2, 3, 3, 4], 60), randn([2, 3, 3, 8], 61), randn([2, 3, 3, 4], 62)];
      const y = K.concatChannels(xs);
      const want = tf.concat(xs, 3);
      assert.equal(maxRel(y.dataSync(), want.dataSync()), 0);
      const dy = randn(y.shape, 63);
      const g = tf.grads((a, b, c) => K.concatChannels([a, b, c]))(xs, dy);
      const slices = [0, 4, 12].map((b, t) => tf.slice(dy, [0, 0, 0, b], [-1, -1, -1, xs[t].shape[3] as number]));
      g.forEach((t, i) => assert.equal(maxRel(t.dataSync(), slices[i].dataSync()), 0));
      tf.dispose([...xs, y, want, dy, ...g, ...slices]);
    });

    it('sgdStep = the elementwise SGD-momentum ops bit for bit; sumOfSquares = Σ x²', () => {
      const v = randn([5, 7], 90);
      const g = randn([5, 7], 91);
      const buf = randn([5, 7], 92);
      const [lr, m, wd] = [0.025, 0.9, 3e-4];
      for (const first of [true, false]) {
        const [nv, nb] = K.sgdStep(v, g, first ? undefined : buf, lr, m, wd);
        const gg = tf.add(g, tf.mul(v, wd));
        const wantB = first ? gg : tf.add(tf.mul(buf, m), gg);
        const wantV = tf.sub(v, tf.mul(wantB, lr));
        assert.deepEqual(Array.from(nb.dataSync()), Array.from(wantB.dataSync()), `buf (first=${first})`);
        assert.deepEqual(Array.from(nv.dataSync()), Array.from(wantV.dataSync()), `v (first=${first})`);
        tf.dispose([nv, nb, gg, wantB, wantV]);
      }
      const want = [v, g, buf].reduce((a, t) => a + Array.from(t.dataSync()).reduce((s, x) => s + x * x, 0), 0);
      assert.ok(Math.abs(K.sumOfSquares([v, g, buf]) - want) < 1e-6 * want, "f32 result");
      tf.dispose([v, g, buf]);
    });

    it('clone and same-dtype cast outlive their source (buffers are shared by reference count)', () => {
      const a = randn([4, 4], 70);
      const want = Array.from(a.dataSync());
      const b = tf.clone(a);
      const c = tf.cast(a, 'float32');
      const i = tf.cast(tf.tensor1d([1.7, -2.2]), 'int32');
      a.dispose();
      assert.deepEqual(Array.from(b.dataSync()), want);
      assert.deepEqual(Array.from(c.dataSync()), want);
      assert.deepEqual(Array.from(i.dataSync()), [1, -2]);
      tf.dispose([b, c, i]);
    });
  });
}

describe('memory-releasing backward pass (nas/grad.ts)', function () {
  for (const backend of TEST_BACKENDS) {
    for (const method of ['darts-1st', 'entrannas-dst'] as MethodName[]) {
      it(`${backend}, ${method}: the same loss and gradients as tf.variableGrads, bit for bit, and no leaks`, async () => {
        await useBackend(backend);
        const cfg = merge(defaultSearchConfig(method, 3), { layers: 3, channels: 4, batchSize: 2 });
        const m = createSearch(cfg, { numClasses: 10, imageShape: [8, 8, 3] });
        const x = randn([2, 8, 8, 3], 80) as tf.Tensor4D;
        const y = tf.tensor1d([1, 6], 'int32');
        const vars = [...m.store.variables('weight'), ...m.store.variables('arch')];
        const f = () => m.forwardLoss({ x, y }, m.modesFor('arch'));
        const before = tf.memory().numTensors;
        const a = variableGrads(f, vars);
        const b = tf.variableGrads(f, vars);
        assert.equal(a.value.dataSync()[0], b.value.dataSync()[0]);
        assert.deepEqual(Object.keys(a.grads).sort(), Object.keys(b.grads).sort());
        for (const k of Object.keys(b.grads)) assert.equal(maxRel(a.grads[k].dataSync(), b.grads[k].dataSync()), 0, k);
        tf.dispose([a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
        assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
        tf.dispose([x, y]);
        m.dispose();
      });
    }
  }
});
