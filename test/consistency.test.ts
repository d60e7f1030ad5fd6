// The consistency gap's ingredients: BN statistics re-estimated from training batches (not the test batch's own),
// a held-out split disjoint from both search halves, binomial intervals, and search→eval rank correlation.
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { BatchNorm, BnStats } from '../nas/layers.js';
import { ParamStore } from '../nas/params.js';
import { Rng } from '../nas/rng.js';
import { heldOutParts, perClassSubsets, portionSplit } from '../nas/data/splits.js';
import { wilson95 } from '../nas/util/stats.js';
import { kendallTauB, spearmanRho, rankConsistency } from '../harness/results/rank-correlation.js';
import { ratioCi } from '../harness/results/consistency-figures.js';
import { useBackend } from './helpers/backend.js';

const close = (a: number, b: number, tol = 1e-4) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('consistency gap and rank correlation', function () {
  before(() => useBackend('wasm'));

  it('BN re-estimation normalises a test batch with the training batches\' statistics, not its own', () => {
    const store = new ParamStore(new Rng(0));
    const bn = new BatchNorm(store, 'bn', 1, false, false); // search BN: no running statistics
    const train = [tf.tensor4d([0, 2], [2, 1, 1, 1]), tf.tensor4d([4, 6], [2, 1, 1, 1])];
    const test = tf.tensor4d([10, 12], [2, 1, 1, 1]);
    try {
      // Without re-estimation: the test batch's own statistics (mean 11, variance 1) → [−1, 1].
      const own = Array.from(bn.apply(test, { training: false }).dataSync());
      close(own[0], -1 / Math.sqrt(1 + 1e-5));
      close(own[1], 1 / Math.sqrt(1 + 1e-5));
      // Re-estimated over two batches: mean (1 + 5) / 2 = 3, unbiased variance (2 + 2) / 2 = 2.
      const stats = new BnStats();
      for (const b of train) tf.tidy(() => void bn.apply(b, { training: false, bnStats: stats }));
      stats.collecting = false;
      const re = Array.from(tf.tidy(() => bn.apply(test, { training: false, bnStats: stats })).dataSync());
      close(re[0], 7 / Math.sqrt(2 + 1e-5));
      close(re[1], 9 / Math.sqrt(2 + 1e-5));
      const other = new BatchNorm(store, 'bn2', 1, false, false);
      assert.throws(() => other.apply(test, { training: false, bnStats: stats }), /no re-estimation batch reached/);
      stats.dispose();
    } finally {
      tf.dispose([...train, test]);
      store.dispose();
    }
  });

  it('the held-out split is class-balanced and disjoint from both search halves (portion split and PC-DARTS subsets)', () => {
    const labels = Int32Array.from({ length: 400 }, (_, i) => i % 4);
    const check = (p: { weights: Int32Array; arch: Int32Array; heldOut?: Int32Array }, heldOut: number) => {
      const h = p.heldOut!;
      assert.equal(h.length, heldOut);
      const all = [...p.weights, ...p.arch, ...h];
      assert.equal(new Set(all).size, all.length, 'the three parts overlap');
      for (let c = 0; c < 4; c++) assert.equal(Array.from(h).filter((i) => labels[i] === c).length, heldOut / 4);
    };
    const portion = heldOutParts(labels, 4, 0.1, false, (l) => portionSplit(l, 4, 0.5, new Rng(1)), new Rng(2));
    check(portion, 40);
    assert.equal(portion.weights.length, 180);
    assert.equal(portion.arch.length, 180);
    const pc = heldOutParts(labels, 4, 0.1, true, (l) => perClassSubsets(l, 4, 0.1, 0.025, new Rng(1)), new Rng(2));
    check(pc, 40);
    assert.equal(pc.weights.length, 40);
    // Seeded: the same seed gives the same held-out positions.
    assert.deepEqual(heldOutParts(labels, 4, 0.1, false, (l) => portionSplit(l, 4, 0.5, new Rng(1)), new Rng(2)).heldOut, portion.heldOut);
  });

  it('Wilson 95 % interval: 8 of 10 → [0.490, 0.943]; 0 of 0 → NaN', () => {
    const [lo, hi] = wilson95(8, 10);
    close(lo, 0.4902, 1e-3);
    close(hi, 0.9433, 1e-3);
    assert.ok(Number.isNaN(wilson95(0, 0)[0]));
  });

  it('Kendall τ-b and Spearman ρ match hand-computed values, ties included', () => {
    // x = 1..5, y = [1, 3, 2, 5, 4]: 8 concordant, 2 discordant pairs → τ = 0.6; Σd² = 4 → ρ = 1 − 6·4/120 = 0.8.
    close(kendallTauB([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]), 0.6, 1e-12);
    close(spearmanRho([1, 2, 3, 4, 5], [1, 3, 2, 5, 4]), 0.8, 1e-12);
    // Ties: x = [1, 2, 2, 3], y = [1, 2, 3, 4]: C = 5, D = 0, one tie in x → τ-b = 5 / √(5·6) = 0.9129.
    close(kendallTauB([1, 2, 2, 3], [1, 2, 3, 4]), 5 / Math.sqrt(30), 1e-12);
    // Midranks x = [1, 2.5, 2.5, 4] against [1, 2, 3, 4]: Pearson of the ranks = 0.9487.
    close(spearmanRho([1, 2, 2, 3], [1, 2, 3, 4]), 3 / Math.sqrt(10), 1e-9);
    assert.ok(Number.isNaN(kendallTauB([1, 1, 1], [1, 2, 3])));
    const perfect = rankConsistency([1, 2, 3, 4, 5, 6], [2, 4, 6, 8, 10, 12]);
    assert.equal(perfect.kendall.value, 1);
    assert.deepEqual(perfect.kendall.ci95, [1, 1]);
    const mixed = rankConsistency([1, 2, 3, 4, 5, 6], [1, 3, 2, 5, 4, 6], 0);
    assert.ok(mixed.spearman.ci95![0] < mixed.spearman.value && mixed.spearman.value <= mixed.spearman.ci95![1]);
  });

  it('a ratio of means carries the relative errors in quadrature', () => {
    const r = ratioCi({ mean: 10, moe95: 1, n: 3 }, { mean: 20, moe95: 2, n: 3 })!;
    assert.equal(r.ratio, 0.5);
    close(r.ci95![0], 0.5 * (1 - Math.SQRT2 * 0.1), 1e-12);
  });
});
