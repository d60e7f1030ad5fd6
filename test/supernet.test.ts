import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { defaultSearchConfig, defaultEvalConfig, merge, type MethodName } from '../nas/config.js';
import { createSearch } from '../harness/methods.js';
import { Rng } from '../nas/rng.js';
import { loadDataset } from '../nas/data/index.js';
import { loadGenotype } from '../nas/genotype.js';
import { runEvaluation } from '../nas/train.js';
import { useBackend } from './helpers/backend.js';

interface StepNumbers { loss: number; grads: Map<string, Float32Array> }

/** Loss and gradients (weights and α) of one super-net step on the active backend. */
function step(method: MethodName): StepNumbers {
  const cfg = merge(defaultSearchConfig(method, 7), { layers: 3, channels: 4, batchSize: 2 });
  const m = createSearch(cfg, { numClasses: 10, imageShape: [8, 8, 3] });
  const rng = new Rng(99);
  const x = tf.tensor4d(rng.normalArray(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const y = tf.tensor1d([3, 7], 'int32');
  const entries = [...m.store.list('weight'), ...m.store.list('arch')];
  const r = tf.variableGrads(() => m.forwardLoss({ x, y }, m.modesFor('weights')), entries.map((e) => e.variable));
  const out: StepNumbers = { loss: r.value.dataSync()[0], grads: new Map() };
  for (const e of entries) {
    const g = r.grads[e.variable.name];
    if (g) out.grads.set(e.path, g.dataSync() as Float32Array);
  }
  tf.dispose([r.value, ...Object.values(r.grads), x, y]);
  m.dispose();
  return out;
}

describe('tiny super-net step: wasm and cpu agree (batch 2, C=4, 3 cells)', function () {
  for (const method of ['darts-1st', 'entrannas', 'entrannas-dst', 'pc-darts'] as const) {
    it(`${method}: same loss and gradients for every weight and α`, async () => {
      await useBackend('wasm');
      const w = step(method);
      await useBackend('cpu');
      const c = step(method);
      assert.ok(Math.abs(w.loss - c.loss) < 1e-5 * Math.max(1, Math.abs(c.loss)), `loss wasm ${w.loss} cpu ${c.loss}`);
      assert.deepEqual([...w.grads.keys()].sort(), [...c.grads.keys()].sort(), 'the same parameters get gradients');
      let worst = 0;
      let worstName = '';
      for (const [name, gw] of w.grads) {
        const gc = c.grads.get(name)!;
        const scale = Math.max(1e-3, ...Array.from(gc, Math.abs));
        for (let i = 0; i < gw.length; i++) {
          const rel = Math.abs(gw[i] - gc[i]) / scale;
          if (rel > worst) { worst = rel; worstName = name; }
        }
      }
      assert.ok(worst < 5e-3, `worst relative gradient difference ${worst} at ${worstName}`);
      assert.ok(w.grads.has('alpha.normal') && w.grads.has('alpha.reduce'), 'α of both cell types gets gradient');
    });
  }
});

describe('evaluation training (DARTS protocol at proxy scale)', function () {
  before(() => useBackend('wasm'));
  it('learns a synthetic task well above chance, deterministically, with aux head and drop-path on', async () => {
    const cfg = merge(defaultEvalConfig(5), {
      data: { dataset: 'synthetic', synthetic: { trainSize: 256, testSize: 128, shape: [8, 8, 3], numClasses: 4, noise: 0.3 } },
      layers: 3, channels: 6, batchSize: 16, epochs: 3, stepsPerEpoch: 12, dropPath: 0.2, auxiliary: true,
      weights: { lr: 0.05 },
    });
    const ds = await loadDataset(cfg.data);
    const data = { train: ds.train, test: ds.test, augment: false as const, numClasses: 4, imageShape: ds.imageShape };
    const g = loadGenotype('DARTS_V2');
    const a = await runEvaluation(g, cfg, data);
    const b = await runEvaluation(g, cfg, data);
    assert.equal(a.status, 'ok');
    assert.deepEqual(a.lossTrace, b.lossTrace);
    assert.equal(a.testAcc, b.testAcc);
    assert.equal(a.lossTrace.length, 36);
    assert.ok(a.testAcc > 0.5, `test accuracy ${a.testAcc} on 4 classes (chance 0.25)`);
    const early = a.lossTrace.slice(0, 6).reduce((s, v) => s + v, 0) / 6;
    const late = a.lossTrace.slice(-6).reduce((s, v) => s + v, 0) / 6;
    assert.ok(late < early, `loss falls: ${early} → ${late}`);
    assert.ok(a.size.paramsWithAux > a.size.params);
    assert.ok(Math.abs(a.testError - 100 * (1 - a.testAcc)) < 1e-9);
  });
});
