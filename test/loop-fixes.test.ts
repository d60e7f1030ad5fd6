// The search and evaluation loops against the reference protocols: the search lr warm-up, the PC-DARTS ImageNet
// warm-up and K, the α clip per method's reference code, divergence on exploding losses, τ ≤ 0 refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { merge, type SearchOverrides } from '../nas/config.js';
import { loadDataset, searchSplits } from '../nas/data/index.js';
import { createSearch, defaultSearchConfig } from '../methods/registry.js';
import { runSearch } from '../nas/train.js';
import { cosineLr, linearLr, searchLr } from '../nas/optim.js';
import { divergenceOf } from '../nas/divergence.js';
import { loadSuite } from '../harness/suites/suite.js';
import { resolveConfigs } from '../harness/suites/resolve.js';
import { packageRoot } from '../nas/util/fs.js';
import { useBackend } from './helpers/backend.js';

const TINY: SearchOverrides = {
  data: { dataset: 'synthetic', synthetic: { trainSize: 96, testSize: 16, shape: [8, 8, 3], numClasses: 4 } },
  layers: 3, channels: 4, batchSize: 8, epochs: 3, stepsPerEpoch: 1, archWarmupEpochs: 0, evalBatches: 1,
  weights: { lr: 0.1, lrMin: 0.001 }, consistency: { heldOut: 0.2, bnBatches: 1, supernetPaths: 1 },
};

describe('search and evaluation loop fixes', function () {
  before(() => useBackend('wasm'));

  it('weights.warmupEpochs ramps the search lr by (e+1)/w on top of the cosine (PC-DARTS train_search_imagenet.py)', async () => {
    const lrs = async (warmupEpochs: number) => {
      const cfg = merge(defaultSearchConfig('darts-1st', 0), merge(TINY, { weights: { warmupEpochs } }));
      const ds = await loadDataset(cfg.data);
      const m = createSearch(cfg, { numClasses: ds.numClasses, imageShape: ds.imageShape });
      try {
        return (await runSearch(m, { ...searchSplits(ds, cfg.data, 0, 0.2), augment: false })).lrTrace;
      } finally {
        m.dispose();
      }
    };
    const cos = [0, 1, 2].map((e) => cosineLr(0.1, 0.001, e, 3));
    const plain = await lrs(0);
    const warm = await lrs(2);
    plain.forEach((v, i) => assert.ok(Math.abs(v - cos[i]) < 1e-12));
    assert.ok(Math.abs(warm[0] - cos[0] / 2) < 1e-12, `epoch 0: ${warm[0]}`);
    assert.ok(Math.abs(warm[1] - cos[1]) < 1e-12, `epoch 1: ${warm[1]}`);
    assert.ok(Math.abs(warm[2] - cos[2]) < 1e-12);
  });

  it('the ImageNet linear schedule warms up as PC-DARTS: lr·(e+1)/5, full lr at the 5th epoch', () => {
    assert.equal(linearLr(0.5, 0, 250, 5), 0.1);
    assert.equal(linearLr(0.5, 4, 250, 5), 0.5);
    assert.ok(Math.abs(linearLr(0.5, 5, 250, 5) - 0.5 * (1 - 5 / 250)) < 1e-15);
    assert.equal(searchLr(0.5, 0, 0, 50, 5), 0.1);
  });

  it('PC-DARTS searches ImageNet with K = 2 (model_search_imagenet.py)', () => {
    const s = loadSuite('imagenet-topology');
    const row = s.methods.find((m) => m.method === 'pc-darts');
    assert.ok(row);
    assert.equal(resolveConfigs(s, row!, 0).search.pcdarts.k, 2);
  });

  it('the α clip follows each method\'s reference code and says where it comes from', () => {
    const darts = defaultSearchConfig('darts-1st', 0).arch;
    const pc = defaultSearchConfig('pc-darts', 0).arch;
    const en = defaultSearchConfig('entrannas', 0).arch;
    assert.equal(darts.gradClip, 0);
    assert.match(darts.gradClipBasis ?? '', /DARTS master/);
    assert.equal(pc.gradClip, 0);
    assert.match(pc.gradClipBasis ?? '', /PC-DARTS/);
    assert.equal(en.gradClip, 10);
    assert.match(en.gradClipBasis ?? '', /spec/);
  });

  it('a finite loss past 1e4 × the first epoch\'s mean is divergence, with the step; the first epoch counts only non-finite values', () => {
    const first = [2, 2, 2];
    assert.equal(divergenceOf('training loss', 8e19, first, 3, 0, 2), undefined);
    assert.equal(divergenceOf('training loss', 19999, first, 3, 1, 0), undefined);
    assert.match(divergenceOf('training loss', 8e19, first, 3, 1, 4) ?? '', /8\.000e\+19 exceeds 1e\+4 × the first epoch's mean \(2\.000\) at epoch 1 step 4/);
    assert.match(divergenceOf('training loss', NaN, [], 3, 0, 1) ?? '', /became NaN at epoch 0 step 1/);
  });

  it('the evaluation loop stops as diverged on an exploding loss', async function () {
    const { runEvaluation } = await import('../nas/train.js');
    const { defaultEvalConfig } = await import('../nas/config.js');
    const { loadGenotype } = await import('../nas/genotype.js');
    const cfg = merge(defaultEvalConfig(0), {
      data: { dataset: 'synthetic', synthetic: { trainSize: 64, testSize: 16, shape: [8, 8, 3], numClasses: 4 } },
      layers: 2, channels: 4, batchSize: 8, epochs: 3, stepsPerEpoch: 2, auxiliary: false, dropPath: 0,
      weights: { lr: 1e4, gradClip: 0 }, augment: { crop: false, flip: false, cutout: 0, colorJitter: false },
    });
    const ds = await loadDataset(cfg.data);
    const out = await runEvaluation(loadGenotype('DARTS_V2'), cfg, { train: ds.train, test: ds.test, augment: false, numClasses: 4, imageShape: [8, 8, 3] });
    assert.equal(out.status, 'diverged', `losses ${out.lossTrace.join(', ')}`);
    // Seeded: this run's loss is finite (5e17) when it explodes, which the loop used to record as ok.
    assert.match(out.error ?? '', /exceeds 1e\+4 × the first epoch's mean \([^)]+\) at epoch 1 step 0/);
  });

  it('search --tau-end 0 is refused at the flag with a usage error', () => {
    const r = spawnSync(process.execPath, [path.join(packageRoot(), 'bin', 'entrannas-bench.js'), 'search', '--method', 'darts-1st', '--tau-end', '0'], { encoding: 'utf8' });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--tau-end must be a number above 0/);
  });
});
