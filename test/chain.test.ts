// The fused ReLU → [depthwise] → pointwise → BN tape node (nas/kernels/chain.ts) against the separate ops it
// replaces: the output and every gradient bit for bit, on both backward passes (ours in nas/grad.ts and tfjs'
// own), for each geometry the search cells use; every buffer released whichever gradients are asked for; one
// engine node per chain instead of one per op; and where it does not apply (cpu, C % 4 ≠ 0, stride and dilation
// both above 1, switched off) the predicate says so.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as K from '../nas/kernels/index.js';
import { runKernel } from '../nas/kernels/runtime.js';
import { tapeNodes, variableGrads } from '../nas/grad.js';
import { merge } from '../nas/config.js';
import { loadDataset, searchSplits } from '../nas/data/index.js';
import { createSearch, defaultSearchConfig, type MethodName } from '../methods/registry.js';
import { runSearch } from '../nas/train.js';
import { Rng } from '../nas/rng.js';
import { useBackend } from './helpers/backend.js';

const randn = (shape: number[], seed: number) => tf.tensor(new Rng(seed).normalArray(shape.reduce((a, b) => a * b, 1), 1), shape, 'float32');
const bits = (t: tf.Tensor) => Array.from(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));

interface Geometry { name: string; k?: number; stride: number; dilation: number; C: number; cout: number }
const GEOMETRIES: Geometry[] = [
  { name: 'sep_conv_3x3 half, stride 1', k: 3, stride: 1, dilation: 1, C: 8, cout: 8 },
  { name: 'sep_conv_5x5 half, stride 2', k: 5, stride: 2, dilation: 1, C: 8, cout: 8 },
  { name: 'dil_conv_3x3, stride 1 dilation 2', k: 3, stride: 1, dilation: 2, C: 12, cout: 12 },
  { name: 'dil_conv_5x5, stride 1 dilation 2', k: 5, stride: 1, dilation: 2, C: 4, cout: 4 },
  { name: 'ReLUConvBN preprocessing (no depthwise)', stride: 1, dilation: 1, C: 8, cout: 16 },
];

/** pad as the search ops use it: k/2 for sep convs, dilation·(k−1)/2 for dil convs. */
const padOf = (g: Geometry) => (g.k ? (g.dilation === 1 ? Math.floor(g.k / 2) : g.k - 1) : 0);

function parts(g: Geometry, seed: number) {
  const x = randn([2, 9, 9, g.C], seed);
  const f = g.k ? randn([g.k, g.k, g.C, 1], seed + 1) : undefined;
  const w = randn([g.C, g.cout], seed + 2);
  return { x, f, w };
}

/** The separate ops, as ops.ts composes them when the chain is not fused. */
function composed(g: Geometry, x: tf.Tensor, f: tf.Tensor | undefined, w: tf.Tensor): tf.Tensor4D {
  const r = K.relu(x as tf.Tensor4D);
  const d = f ? K.depthwiseConv2d(r, f as tf.Tensor4D, g.stride, padOf(g), g.dilation) : r;
  return K.batchNormTrain(K.conv1x1(d, w as tf.Tensor2D)).y;
}

function fused(g: Geometry, x: tf.Tensor, f: tf.Tensor | undefined, w: tf.Tensor): tf.Tensor4D {
  const stage = f ? { filter: f as tf.Tensor4D, stride: g.stride, dilation: g.dilation, pad: padOf(g) } : undefined;
  assert.ok(K.chainFusable(x as tf.Tensor4D, stage, w as tf.Tensor2D), `${g.name} is fusable on wasm`);
  return K.reluConvBn(x as tf.Tensor4D, stage, w as tf.Tensor2D);
}

describe('fused ReLU → depthwise → pointwise → BN chain (wasm)', function () {
  before(() => useBackend('wasm'));
  afterEach(() => K.setFusedChains(true));

  for (const g of GEOMETRIES) {
    it(`${g.name}: output and the x, filter and weight gradients equal the separate ops bit for bit`, () => {
      const { x, f, w } = parts(g, 11);
      const inputs = f ? [x, f, w] : [x, w];
      const yA = composed(g, x, f, w);
      const yB = fused(g, x, f, w);
      assert.deepEqual(yB.shape, yA.shape);
      assert.deepEqual(bits(yB), bits(yA), 'forward');
      // a random output gradient, so that the BN backward's mean terms are not trivially zero
      const dy = randn(yA.shape, 99);
      const gA = tf.grads((...a: tf.Tensor[]) => composed(g, a[0], f ? a[1] : undefined, a[f ? 2 : 1]))(inputs, dy);
      const gB = tf.grads((...a: tf.Tensor[]) => fused(g, a[0], f ? a[1] : undefined, a[f ? 2 : 1]))(inputs, dy);
      gA.forEach((ga, i) => assert.deepEqual(bits(gB[i]), bits(ga), `gradient ${i} (tfjs' backward pass)`));
      // nas/grad.ts walks the tape itself and frees each node's saved tensors as it goes
      const vs = inputs.map((t, i) => tf.variable(t, true, `chain_${g.name}_${i}`));
      const loss = (run: typeof composed) => () => tf.sum(tf.mul(run(g, vs[0], f ? vs[1] : undefined, vs[f ? 2 : 1]), dy)) as tf.Scalar;
      const a = variableGrads(loss(composed), vs);
      const b = variableGrads(loss(fused), vs);
      assert.deepEqual(bits(b.value), bits(a.value), 'loss');
      for (const v of vs) assert.deepEqual(bits(b.grads[v.name]), bits(a.grads[v.name]), `gradient of ${v.name} (nas/grad.ts)`);
      tf.dispose([x, f, w, yA, yB, dy, ...gA, ...gB, ...vs, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)].filter((t): t is tf.Tensor => !!t));
    });
  }

  it('releases every buffer whichever gradients are asked for (x only, weights only, all)', () => {
    const g = GEOMETRIES[0];
    const { x, f, w } = parts(g, 5);
    const vx = tf.variable(x, true, 'chain_leak_x');
    const vf = tf.variable(f!, true, 'chain_leak_f');
    const vw = tf.variable(w, true, 'chain_leak_w');
    const loss = () => tf.sum(tf.square(fused(g, vx, vf, vw))) as tf.Scalar;
    for (const [what, list] of [['x only', [vx]], ['weights only', [vf, vw]], ['the pointwise weight only', [vw]], ['all', [vx, vf, vw]]] as const) {
      for (const [pass, run] of [['nas/grad.ts', variableGrads], ["tfjs' own", tf.variableGrads]] as const) {
        const before = { tensors: tf.memory().numTensors, buffers: tf.engine().backend.numDataIds() };
        const r = run(loss, [...list]);
        assert.deepEqual(Object.keys(r.grads).sort(), list.map((v) => v.name).sort(), `${what}: the gradients asked for`);
        tf.dispose([r.value, ...Object.values(r.grads)]);
        assert.equal(tf.memory().numTensors, before.tensors, `${what}, ${pass}: tensors left`);
        assert.equal(tf.engine().backend.numDataIds(), before.buffers, `${what}, ${pass}: data buffers left`);
      }
    }
    tf.dispose([x, f!, w, vx, vf, vw]);
  });

  it('runs as one engine node per chain: a sep_conv (two chains) is 2 nodes instead of 8', async () => {
    const g = GEOMETRIES[0];
    const { x, f, w } = parts(g, 7);
    const f2 = randn([3, 3, g.C, 1], 8);
    const w2 = randn([g.C, g.C], 9);
    const sep = (run: typeof composed) => {
      const h = run(g, x, f, w);
      return run(g, h, f2, w2);
    };
    const nodes = async (run: typeof composed) => {
      const info = await tf.profile(() => sep(run));
      tf.dispose(info.result as tf.Tensor);
      // the outer node of each op (its kernels run inside it and are listed too, by their own names)
      return info.kernels.filter((k) => k.name.startsWith('NasReluConvBn') || ['NasRelu', 'NasDepthwiseConv2d', 'NasConv1x1', 'NasBatchNorm'].includes(k.name)).length;
    };
    const fusedNodes = await nodes(fused);
    const separate = await nodes(composed);
    assert.equal(fusedNodes, 2);
    assert.ok(separate >= 8, `the separate ops run at least 8 engine nodes (got ${separate})`);
    tf.dispose([x, f!, w, f2, w2]);
  });

  it('is not used where its kernels do not apply', () => {
    const x = randn([1, 5, 5, 8], 1);
    const w = randn([8, 8], 2);
    const f = randn([3, 3, 8, 1], 3);
    const st = (stride: number, dilation: number) => ({ filter: f as tf.Tensor4D, stride, dilation, pad: 2 });
    assert.equal(K.chainFusable(x as tf.Tensor4D, st(1, 2), w as tf.Tensor2D), true);
    assert.equal(K.chainFusable(x as tf.Tensor4D, st(2, 2), w as tf.Tensor2D), false, 'stride and dilation both 2');
    const x6 = randn([1, 5, 5, 6], 4);
    assert.equal(K.chainFusable(x6 as tf.Tensor4D, undefined, randn([6, 8], 5) as tf.Tensor2D), false, 'C % 4 ≠ 0');
    K.setFusedChains(false);
    assert.equal(K.chainFusable(x as tf.Tensor4D, st(1, 1), w as tf.Tensor2D), false, 'switched off');
    K.setFusedChains(true);
    tf.dispose([x, w, f, x6]);
  });
});

describe('pointwise with the batch-norm statistics in its own pass (NasPointwiseBatchNorm, wasm)', function () {
  before(() => useBackend('wasm'));
  afterEach(() => K.setFusedChains(true));
  // rows % 4 ≠ 0 (the 1-row tail), parts of unequal length, partial and several 128-row chunks, cout % 8 = 4
  for (const [n, h, wd, cin, cout] of [[3, 7, 13, 8, 12], [2, 45, 46, 16, 20], [1, 1, 7, 4, 4], [1, 1, 1, 4, 8], [4, 16, 16, 32, 32]]) {
    it(`[${n},${h},${wd},${cin}]·[${cin},${cout}]: p, y, mean and variance equal NasPointwise then NasBatchNormForward bit for bit`, () => {
      const x = randn([n, h, wd, cin], 31 + cin);
      const w = randn([cin, cout], 32 + cout);
      const outShape = [n, h, wd, cout];
      const got = runKernel<tf.Tensor[]>('NasPointwiseBatchNorm', { x, w }, { outShape, eps: 1e-5 });
      const p = runKernel('NasPointwise', { x, w }, { outShape });
      const want = [p, ...runKernel<tf.Tensor[]>('NasBatchNormForward', { x: p }, { eps: 1e-5 })];
      ['p', 'y', 'mean', 'variance'].forEach((name, i) => {
        assert.deepEqual(got[i].shape, want[i].shape, `${name} shape`);
        assert.deepEqual(bits(got[i]), bits(want[i]), name);
      });
      tf.dispose([x, w, ...got, ...want]);
    });
  }

  it('a whole chain gives the same bits with the statistics in the pointwise kernel or in their own pass', () => {
    const g = GEOMETRIES[0];
    const { x, f, w } = parts(g, 21);
    const run = () => {
      const dy = randn([2, 9, 9, g.cout], 24);
      const inputs = [x, f!, w];
      const grads = tf.grads((a, b, c) => fused(g, a, b, c))(inputs, dy);
      const y = fused(g, x, f, w);
      const out = [y, ...grads].map(bits);
      tf.dispose([dy, y, ...grads]);
      return out;
    };
    const on = run();
    K.setFusedChains(true, { statsInPointwise: false });
    const off = run();
    assert.deepEqual(on, off);
    tf.dispose([x, f!, w]);
  });
});

describe('fused chains in a whole search (wasm)', function () {
  before(() => useBackend('wasm'));
  afterEach(() => K.setFusedChains(true));

  async function searchWith(method: MethodName, fusedChains: boolean) {
    K.setFusedChains(fusedChains);
    const cfg = merge(defaultSearchConfig(method, 3), {
      data: { dataset: 'synthetic', synthetic: { trainSize: 64, testSize: 16, shape: [8, 8, 3], numClasses: 4 } },
      layers: 3, channels: 4, batchSize: 8, epochs: 2, stepsPerEpoch: 2, archWarmupEpochs: 0, evalBatches: 1,
    });
    const ds = await loadDataset(cfg.data);
    const m = createSearch(cfg, { numClasses: ds.numClasses, imageShape: ds.imageShape });
    const nodes0 = tapeNodes.total;
    try {
      const out = await runSearch(m, { ...searchSplits(ds, cfg.data, cfg.seed), augment: false }, {});
      return { out, tapeNodes: tapeNodes.total - nodes0 };
    } finally {
      m.dispose();
    }
  }

  for (const method of ['entrannas', 'entrannas-dst', 'darts-1st'] as const) {
    it(`${method}: the same loss trace, α history and genotype with the chains fused or not, on fewer tape nodes`, async () => {
      const on = await searchWith(method, true);
      const off = await searchWith(method, false);
      assert.equal(on.out.status, 'ok');
      assert.equal(on.out.lossTrace.length, 4);
      assert.deepEqual(on.out.lossTrace, off.out.lossTrace, 'loss trace');
      assert.deepEqual(on.out.archHistory, off.out.archHistory, 'α history');
      assert.deepEqual(on.out.genotype, off.out.genotype, 'genotype');
      assert.ok(on.tapeNodes < 0.8 * off.tapeNodes, `fewer tape nodes with the chains fused (${on.tapeNodes} against ${off.tapeNodes})`);
    });
  }
});

describe('fused chain (cpu)', function () {
  before(() => useBackend('cpu'));
  it('is not used on cpu (the separate ops run there)', () => {
    const x = randn([1, 5, 5, 8], 1);
    const w = randn([8, 8], 2);
    assert.equal(K.chainFusable(x as tf.Tensor4D, undefined, w as tf.Tensor2D), false);
    tf.dispose([x, w]);
  });
});
