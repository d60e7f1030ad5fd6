// The stock-op path (nas/kernels/stock.ts, what native backends such as tfjs-node-gpu run) against our kernels on
// the cpu backend: every primitive's output and gradients, then whole super-net steps. Our kernels are checked
// against finite differences in kernels.test.ts, so agreement here checks the stock compositions.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as K from '../nas/kernels/index.js';
import { Rng } from '../nas/rng.js';
import { ParamStore } from '../nas/params.js';
import { EvalNetwork } from '../nas/network.js';
import { loadGenotype } from '../nas/genotype.js';
import { applyBnUpdates } from '../nas/layers.js';
import { useBackend } from './helpers/backend.js';
import { supernetStep, worstGradDifference } from './helpers/supernet.js';

const rng = new Rng(2024);
const rand = (shape: number[]) => tf.tensor(rng.normalArray(shape.reduce((a, b) => a * b, 1)), shape);

/** Output and gradients of f w.r.t. every input (with a fixed random cotangent), on one kernel path. */
function run(path: K.KernelPath, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], dy: tf.Tensor): Float32Array[] {
  K.setKernelPath(path);
  try {
    return tf.tidy(() => {
      const y = f(...inputs);
      const gs = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), dy)))(inputs);
      return [y, ...gs].map((t) => t.dataSync() as Float32Array);
    });
  } finally {
    K.setKernelPath(undefined);
  }
}

function agree(what: string, f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], tol = 1e-5): void {
  K.setKernelPath('nas');
  const shape = tf.tidy(() => f(...inputs).shape);
  K.setKernelPath(undefined);
  const dy = rand(shape);
  const ours = run('nas', f, inputs, dy);
  const stock = run('stock', f, inputs, dy);
  ['output', ...inputs.map((_, i) => `gradient ${i}`)].forEach((label, k) => {
    assert.equal(stock[k].length, ours[k].length, `${what}: ${label} size`);
    const scale = Math.max(1, ...Array.from(ours[k], Math.abs));
    let worst = 0;
    for (let i = 0; i < ours[k].length; i++) worst = Math.max(worst, Math.abs(stock[k][i] - ours[k][i]) / scale);
    assert.ok(worst < tol, `${what}: ${label} differs by ${worst} (relative)`);
  });
  dy.dispose();
}

describe('stock-op path (native backends) agrees with our kernels (cpu)', function () {
  before(() => useBackend('cpu'));
  after(() => K.setKernelPath(undefined));

  it('picks our kernels on wasm and cpu, stock ops elsewhere, and can be forced', () => {
    assert.equal(K.kernelPath(), 'nas');
    K.setKernelPath('stock');
    assert.equal(K.kernelPath(), 'stock');
    K.setKernelPath(undefined);
    assert.equal(K.kernelPath(), 'nas');
  });

  it('depthwise conv: every DARTS form (k 3/5, stride 1/2, dilation 1/2), odd sizes, stride 2 with dilation 3', () => {
    const x = rand([2, 9, 8, 4]);
    for (const [k, s, p, d] of [[3, 1, 1, 1], [5, 1, 2, 1], [3, 2, 1, 1], [5, 2, 2, 1], [3, 1, 2, 2], [5, 1, 4, 2], [3, 2, 2, 2], [5, 2, 4, 2], [3, 2, 1, 3]]) {
      const f = rand([k, k, 4, 1]);
      agree(`depthwise k${k} s${s} p${p} d${d}`, (a, b) => K.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, s, p, d), [x, f]);
      f.dispose();
    }
    x.dispose();
  });

  it('dense conv (stem), 1×1 conv with stride 2 and the shifted subsample of FactorizedReduce', () => {
    const x = rand([2, 8, 7, 3]);
    const f = rand([3, 3, 3, 6]);
    agree('conv2d 3×3 s1 p1', (a, b) => K.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 1), [x, f]);
    agree('conv2d 3×3 s2 p1', (a, b) => K.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 1), [x, f]);
    const w = rand([3, 5]);
    agree('conv1x1 s2', (a, b) => K.conv1x1(a as tf.Tensor4D, b as tf.Tensor2D, 2), [x, w]);
    agree('subsample s2 offset 1', (a) => K.subsample(a as tf.Tensor4D, 2, 1), [x]);
    tf.dispose([x, f, w]);
  });

  it('max and average pools (padding never wins the max; excluded from the average), valid average pool', () => {
    const x = tf.sub(rand([2, 7, 8, 3]), 3); // mostly negative: a zero-padded max pool would differ at the borders
    for (const [k, s, p] of [[3, 1, 1], [3, 2, 1], [2, 2, 0]]) {
      agree(`maxPool k${k} s${s} p${p}`, (a) => K.maxPool(a as tf.Tensor4D, k, s, p), [x]);
      agree(`avgPool k${k} s${s} p${p}`, (a) => K.avgPool(a as tf.Tensor4D, k, s, p), [x]);
    }
    agree('avgPoolValid k5 s3', (a) => K.avgPoolValid(a as tf.Tensor4D, 5, 3), [x]);
    x.dispose();
  });

  it('batch norm with batch statistics, with and without affine parameters; mean and biased variance', () => {
    const x = tf.add(tf.mul(rand([3, 4, 5, 6]), 2), 0.5);
    const g = rand([6]);
    const b = rand([6]);
    agree('batchNormTrain affine', (a, gg, bb) => K.batchNormTrain(a as tf.Tensor4D, gg as tf.Tensor1D, bb as tf.Tensor1D).y, [x, g, b], 1e-4);
    agree('batchNormTrain plain', (a) => K.batchNormTrain(a as tf.Tensor4D).y, [x], 1e-4);
    // mean and variance feed the running statistics only (ours carry no gradient): compare the values
    const stats = (['nas', 'stock'] as const).map((p) => {
      K.setKernelPath(p);
      const o = K.batchNormTrain(x as tf.Tensor4D);
      const r = [Array.from(o.mean.dataSync()), Array.from(o.variance.dataSync())];
      tf.dispose([o.y, o.mean, o.variance]);
      return r;
    });
    K.setKernelPath(undefined);
    for (let k = 0; k < 2; k++) stats[1][k].forEach((v, c) => assert.ok(Math.abs(v - stats[0][k][c]) < 1e-5 * Math.max(1, Math.abs(v)), `${k ? 'variance' : 'mean'}[${c}]`));
    tf.dispose([x, g, b]);
  });

  it('weighted sums (gradients for every term and the weight matrix) and ReLU', () => {
    const xs = [rand([2, 3, 3, 4]), rand([2, 3, 3, 4]), rand([2, 3, 3, 4])];
    const w = rand([2, 3]);
    agree('weightedSum', (a, b, c, ww) => K.weightedSum([a, b, c] as tf.Tensor4D[], ww, [4, 0, 5]), [...xs, w]);
    agree('relu', (a) => K.relu(a), [xs[0]]);
    tf.dispose([...xs, w]);
  });

  it('the SGD step and the sum of squares give the same numbers', () => {
    const [v, g, buf] = [rand([5, 4]), rand([5, 4]), rand([5, 4])];
    for (const b of [undefined, buf]) {
      const outs = (['nas', 'stock'] as const).map((p) => {
        K.setKernelPath(p);
        const r = K.sgdStep(v, g, b, 0.025, 0.9, 3e-4);
        const d = r.map((t) => Array.from(t.dataSync()));
        tf.dispose(r);
        return d;
      });
      for (let k = 0; k < 2; k++) outs[1][k].forEach((val, i) => assert.ok(Math.abs(val - outs[0][k][i]) < 1e-6, `sgd ${b ? 'momentum' : 'first'} out ${k}[${i}]`));
    }
    const sums = (['nas', 'stock'] as const).map((p) => {
      K.setKernelPath(p);
      return K.sumOfSquares([v, g]);
    });
    K.setKernelPath(undefined);
    assert.ok(Math.abs(sums[1] - sums[0]) < 1e-5 * sums[0], `sum of squares ${sums}`);
    tf.dispose([v, g, buf]);
  });

  it('a DARTS_V2 evaluation network (CIFAR stem, auxiliary head, batch-norm running statistics, inference) agrees', () => {
    const run1 = (path: K.KernelPath) => {
      K.setKernelPath(path);
      const store = new ParamStore(new Rng(5));
      const net = new EvalNetwork(store, { kind: 'cifar', channels: 4, layers: 3, numClasses: 10, inputChannels: 3, auxiliary: true, genotype: loadGenotype('DARTS_V2'), imageSize: 8 });
      const x = tf.tensor4d(new Rng(6).normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
      const y = tf.oneHot(tf.tensor1d([1, 8], 'int32'), 10);
      const vars = store.list('weight').map((e) => e.variable);
      const ctx = { training: true, bnUpdates: [] as Array<[tf.Variable, tf.Tensor]> };
      const r = tf.variableGrads(() => {
        const o = net.forward(x, ctx);
        return tf.add(tf.losses.softmaxCrossEntropy(y, o.logits), tf.mul(0.4, tf.losses.softmaxCrossEntropy(y, o.auxLogits!))) as tf.Scalar;
      }, vars);
      const grads = new Map(store.list('weight').filter((e) => r.grads[e.variable.name]).map((e) => [e.path, r.grads[e.variable.name].dataSync() as Float32Array]));
      const loss = r.value.dataSync()[0];
      const running = ctx.bnUpdates.map(([, t]) => Array.from(t.dataSync()));
      applyBnUpdates(ctx);
      const inference = Array.from(tf.tidy(() => net.forward(x, { training: false }).logits).dataSync());
      tf.dispose([r.value, ...Object.values(r.grads), x, y]);
      store.dispose();
      K.setKernelPath(undefined);
      return { loss, grads, running, inference };
    };
    const ours = run1('nas');
    const stock = run1('stock');
    assert.ok(ours.grads.size > 20);
    assert.ok(Math.abs(ours.loss - stock.loss) < 1e-5 * ours.loss, `loss ${ours.loss} vs ${stock.loss}`);
    const { worst, name } = worstGradDifference(ours, stock);
    assert.ok(worst < 5e-3, `worst relative gradient difference ${worst} at ${name}`);
    assert.ok(ours.running.length > 0, "running statistics were updated");
    assert.equal(stock.running.length, ours.running.length);
    ours.running.forEach((v, i) => v.forEach((a, j) => assert.ok(Math.abs(a - stock.running[i][j]) < 1e-4 * Math.max(1, Math.abs(a)), `running statistic ${i}[${j}]`)));
    ours.inference.forEach((a, i) => assert.ok(Math.abs(a - stock.inference[i]) < 1e-4 * Math.max(1, Math.abs(a)), `inference logit ${i}: ${a} vs ${stock.inference[i]}`));
  });

  for (const method of ['darts-1st', 'entrannas-dst', 'pc-darts'] as const) {
    it(`${method}: a super-net step has the same loss and gradients for every weight and α on both paths`, () => {
      const step = (path: K.KernelPath) => {
        K.setKernelPath(path);
        try {
          return supernetStep(method, 'arch');
        } finally {
          K.setKernelPath(undefined);
        }
      };
      const ours = step('nas');
      const stock = step('stock');
      assert.ok(Math.abs(ours.loss - stock.loss) < 1e-5 * Math.abs(ours.loss), `loss ${ours.loss} vs ${stock.loss}`);
      assert.deepEqual([...stock.grads.keys()].sort(), [...ours.grads.keys()].sort());
      const { worst, name } = worstGradDifference(ours, stock);
      assert.ok(worst < 5e-3, `worst relative gradient difference ${worst} at ${name}`);
      assert.ok(ours.grads.has('alpha.normal'));
    });
  }
});
