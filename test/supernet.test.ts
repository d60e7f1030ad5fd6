import assert from 'node:assert/strict';
import { defaultEvalConfig, merge } from '../nas/config.js';
import { loadDataset } from '../nas/data/index.js';
import { loadGenotype } from '../nas/genotype.js';
import { runEvaluation } from '../nas/train.js';
import { useBackend } from './helpers/backend.js';
import { supernetStep, worstGradDifference } from './helpers/supernet.js';

describe('tiny super-net step: wasm and cpu agree (batch 2, C=4, 3 cells)', function () {
  for (const method of ['darts-1st', 'entrannas', 'entrannas-dst', 'pc-darts'] as const) {
    it(`${method}: same loss and gradients for every weight and α`, async () => {
      await useBackend('wasm');
      const w = supernetStep(method);
      await useBackend('cpu');
      const c = supernetStep(method);
      assert.ok(Math.abs(w.loss - c.loss) < 1e-5 * Math.max(1, Math.abs(c.loss)), `loss wasm ${w.loss} cpu ${c.loss}`);
      assert.deepEqual([...w.grads.keys()].sort(), [...c.grads.keys()].sort(), 'the same parameters get gradients');
      const { worst, name } = worstGradDifference(c, w);
      assert.ok(worst < 5e-3, `worst relative gradient difference ${worst} at ${name}`);
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
