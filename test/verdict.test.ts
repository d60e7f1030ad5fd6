import assert from 'node:assert/strict';
import { judge, rowVerdict, summarise, VERDICTS, type RowVerdictInput } from '../harness/results/verdict.js';
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

describe('verdict: judging our seeds against a target', () => {
  it('as good as the target or better: reproduced', () => {
    const j = judge(target(), [2.6, 2.7, 2.65]);
    assert.equal(j.verdict, 'reproduced');
    close(j.ours, 2.65);
    close(j.gap, -0.11);
  });

  it('worse within tolerance but not significant: reproduced, with the t statistic and band', () => {
    // mean 2.8667, sd 0.15275, se 0.08819; t = (2.8667 − 2.76) / 0.08819 = 1.2095 < 4.303
    const j = judge(target(), [2.7, 2.9, 3.0]);
    assert.equal(j.verdict, 'reproduced');
    close(j.gap, 0.10667);
    close(j.t, 1.2095);
    assert.equal(j.tCritical, 4.303);
    close(j.ci95![0], 2.8667 - 4.303 * 0.08819);
    close(j.ci95![1], 2.8667 + 4.303 * 0.08819);
    assert.match(j.basis, /not significant/);
  });

  it('significantly worse but within tolerance: within tolerance', () => {
    // mean 2.96, sd 0.01 → t = 0.2 / (0.01 / √3) = 34.64
    const j = judge(target(), [2.95, 2.96, 2.97]);
    assert.equal(j.verdict, 'within tolerance');
    close(j.t, 34.641);
  });

  it('worse by more than the tolerance: not reproduced', () => {
    const j = judge(target(), [3.2, 3.3]);
    assert.equal(j.verdict, 'not reproduced');
    close(j.gap, 0.49);
  });

  it('best-of-k compares our best seed; no spread to test', () => {
    const t = target({ value: 2.22, sd: undefined, aggregate: 'best-of-k' });
    const j = judge(t, [2.6, 2.4, 3.5]);
    assert.equal(j.verdict, 'within tolerance');
    assert.equal(j.ours, 2.4);
    assert.equal(j.t, undefined);
    assert.equal(judge(t, [2.2, 3.9]).verdict, 'reproduced');
    assert.equal(judge(t, [2.6, 2.7]).verdict, 'not reproduced');
  });

  it('a single seed worse within tolerance cannot be tested: within tolerance', () => {
    assert.equal(judge(target({ aggregate: 'single', value: 23.8, tolerance: 0.5 }), [24.1]).verdict, 'within tolerance');
  });

  it('higher-is-better targets flip the sign', () => {
    const acc = target({ value: 76.2, direction: 'higher', tolerance: 0.5, aggregate: 'single' });
    assert.equal(judge(acc, [76.5]).verdict, 'reproduced');
    assert.equal(judge(acc, [75.9]).verdict, 'within tolerance');
    assert.equal(judge(acc, [75.5]).verdict, 'not reproduced');
    close(judge(acc, [75.5]).gap, 0.7);
  });
});

describe('verdict: row verdicts', () => {
  const base: RowVerdictInput = {
    suiteKind: 'paper', run: true, recordCount: 6, evalRecordCount: 3, deviates: false,
    values: [2.7, 2.9, 3.0], statusText: 'search 3 ok; eval 3 ok', target: target(),
  };

  it('gives all five verdicts', () => {
    const got = [
      rowVerdict(base).verdict,
      rowVerdict({ ...base, values: [2.95, 2.96, 2.97] }).verdict,
      rowVerdict({ ...base, values: [3.2, 3.3] }).verdict,
      rowVerdict({ ...base, suiteKind: 'proxy', target: undefined }).verdict,
      rowVerdict({ ...base, recordCount: 0, evalRecordCount: 0, values: [] }).verdict,
    ];
    assert.deepEqual(got, [...VERDICTS]);
  });

  it('proxy when a paper row’s records deviate, whatever the numbers', () => {
    assert.equal(rowVerdict({ ...base, deviates: true, values: [9.9] }).verdict, 'proxy');
  });

  it('reference rows and rows with search records only are not run', () => {
    assert.equal(rowVerdict({ ...base, run: false }).verdict, 'not run');
    const v = rowVerdict({ ...base, evalRecordCount: 0, values: [], statusText: '3 ok' });
    assert.equal(v.verdict, 'not run');
    assert.match(v.basis, /eval phase has no records/);
  });

  it('eval records that all failed are not reproduced', () => {
    const v = rowVerdict({ ...base, values: [], statusText: 'eval 2 failed, 1 timeout' });
    assert.equal(v.verdict, 'not reproduced');
    assert.match(v.basis, /2 failed, 1 timeout/);
  });
});
