import assert from 'node:assert/strict';
import { rowVerdict, summarise, VERDICTS, type RowVerdictInput } from '../harness/results/verdict.js';
import { tCritical95 } from '../nas/util/stats.js';
import type { Target } from '../harness/suites/targets.js';

const close = (a: number | undefined, b: number, eps = 1e-3): void => {
  assert.ok(a !== undefined && Math.abs(a - b) < eps, `${a} ≉ ${b}`);
};

function target(over: Partial<Target> = {}): Target {
  return {
    metric: 'testError', direction: 'lower', value: 2.76, sd: 0.09, aggregate: 'mean-of-k', tolerance: 0.3,
    protocol: 'p', source: { paper: 'DARTS', version: 'ICLR 2019' }, tag: 'L', hardware: '1080Ti', verdict: true, ...over,
  };
}

describe('verdict: summary statistics', () => {
  it('mean, sample sd, best and worst (by hand)', () => {
    const s = summarise([2.5, 2.7, 2.9]);
    close(s.mean, 2.7, 1e-12);
    close(s.sd, 0.2, 1e-12); // deviations ±0.2, 0 → sqrt(0.08 / 2)
    assert.equal(s.best, 2.5);
    assert.equal(s.worst, 2.9);
    assert.equal(summarise([2.5, 2.7, 2.9], 'higher').best, 2.9);
    const one = summarise([3.1]);
    assert.equal(one.sd, undefined);
    assert.equal(one.mean, 3.1);
    assert.throws(() => summarise([]), /no values/);
  });

  it('t critical values', () => {
    assert.equal(tCritical95(2), 4.303);
    assert.equal(tCritical95(1), 12.706);
    assert.equal(tCritical95(30), 2.042);
    assert.equal(tCritical95(35), 2.021);
    assert.equal(tCritical95(10_000), 1.96);
    assert.throws(() => tCritical95(0));
  });
});

describe('verdict: row verdicts', () => {
  const base: RowVerdictInput = {
    suiteKind: 'paper', run: true, recordCount: 6, declared: 6, finished: 6, failures: [], deviations: [],
    values: [2.7, 2.75, 2.8], target: target(),
  };

  it('gives all seven verdicts, in the order of VERDICTS', () => {
    const got = [
      rowVerdict({ ...base, values: [2.7, 2.71, 2.72] }).verdict, // upper bound 2.7369 ≤ 3.06
      rowVerdict({ ...base, values: [2.4, 3.0, 3.5] }).verdict, // mean 2.967, bound spans 3.06
      rowVerdict({ ...base, values: [3.6, 3.7, 3.65] }).verdict, // lower bound 3.566 > 3.06
      rowVerdict({ ...base, failures: ['eval seed 1 diverged: loss is NaN at step 4'], finished: 5 }).verdict,
      rowVerdict({ ...base, finished: 4, recordCount: 4 }).verdict,
      rowVerdict({ ...base, suiteKind: 'proxy', target: undefined }).verdict,
      rowVerdict({ ...base, recordCount: 0, finished: 0, values: [] }).verdict,
    ];
    assert.deepEqual(got, [...VERDICTS]);
  });

  it('a failed seed makes the row failed with the reason, never a mean over the survivors', () => {
    const v = rowVerdict({ ...base, values: [2.7, 2.71], finished: 5, failures: ['eval seed 2 timed out: killed after 60 s'] });
    assert.equal(v.verdict, 'failed');
    assert.match(v.basis, /1 of 6 declared runs did not end ok: eval seed 2 timed out: killed after 60 s/);
    assert.equal(v.judgement, undefined);
  });

  it('unfinished declared runs are incomplete (i of n), whatever the values so far', () => {
    const v = rowVerdict({ ...base, values: [2.7], finished: 2, recordCount: 2 });
    assert.equal(v.verdict, 'incomplete');
    assert.match(v.basis, /2 of 6 declared runs finished/);
  });

  it('proxy when a paper row deviates, whatever the numbers, and the deviation is named', () => {
    const v = rowVerdict({ ...base, deviations: ['seed 7 beyond the declared seeds'], values: [9.9, 9.9, 9.9] });
    assert.equal(v.verdict, 'proxy');
    assert.match(v.basis, /seed 7/);
  });

  it('reference rows and rows without records are not run', () => {
    assert.equal(rowVerdict({ ...base, run: false }).verdict, 'not run');
    assert.equal(rowVerdict({ ...base, recordCount: 0 }).verdict, 'not run');
  });

  it('a verdict on an inferred target is labelled indicative', () => {
    const v = rowVerdict({ ...base, values: [2.7, 2.71, 2.72], indicative: 'the target 2.48 is inferred [I]' });
    assert.equal(v.verdict, 'reproduced');
    assert.equal(v.indicative, 'the target 2.48 is inferred [I]');
    assert.match(v.basis, /indicative only/);
  });

  it("uses the paper's sd only with its n (Welch), and best-of-k with another k is proxy", () => {
    const welch = rowVerdict({ ...base, target: target({ n: 10 }) });
    assert.equal(welch.judgement?.method, 'Welch');
    assert.equal(rowVerdict(base).judgement?.method, 'one-sample t', 'sd without n: one-sample');
    const best = rowVerdict({ ...base, target: target({ aggregate: 'best-of-k', n: 4, value: 2.22, sd: undefined }) });
    assert.equal(best.verdict, 'proxy');
    assert.match(best.basis, /best of 4/);
  });
});
