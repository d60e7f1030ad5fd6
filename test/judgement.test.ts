// Verdict statistics against hand-worked cases. The t quantiles are typed in from a printed one-sided table
// (t_{0.95}: df 1 → 6.314, 2 → 2.920, 9 → 1.833, ∞ → 1.645) and every bound is recomputed here from the formula.
import assert from 'node:assert/strict';
import { judgeValues, tOneSided95, welchDf } from '../harness/results/judgement.js';
import { judgeCommand } from '../harness/commands/judge.js';
import { InputError } from '../harness/commands/common.js';

const T95 = { 1: 6.314, 2: 2.92, 9: 1.833 } as const;
const close = (a: number, b: number, eps = 2e-3) => assert.ok(Math.abs(a - b) <= eps, `${a} ≉ ${b}`);

describe('verdict statistics (harness/results/judgement.ts)', () => {
  it('one-sided t quantiles match the printed table', () => {
    close(tOneSided95(1), T95[1]);
    close(tOneSided95(2), T95[2]);
    close(tOneSided95(9), T95[9]);
    close(tOneSided95(Infinity), 1.645);
  });

  it('a tight set within tolerance is reproduced (3.00, 3.02, 3.01 against 3.0 + 0.3)', () => {
    const j = judgeValues({ values: [3.0, 3.02, 3.01], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    // mean 3.01, sd 0.01, upper = 3.01 + 2.920 · 0.01 / √3 = 3.0269
    assert.equal(j.verdict, 'reproduced');
    close(j.ours, 3.01, 1e-9);
    close(j.sd!, 0.01, 1e-9);
    close(j.bound, 3.01 + (T95[2] * 0.01) / Math.sqrt(3));
    assert.equal(j.method, 'one-sample t');
    assert.equal(j.margin, 3.3);
  });

  it('a noisy set whose mean is within tolerance is inconclusive, with the seeds that would settle it', () => {
    // 2.6, 3.3, 3.4: mean 3.1, sd √0.19 = 0.43589; half-width 2.920 · 0.43589 / √3 = 0.7349 → 2.365 … 3.835 spans 3.3
    const j = judgeValues({ values: [2.6, 3.3, 3.4], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(j.verdict, 'inconclusive');
    close(j.worseBound, 3.1 + (T95[2] * Math.sqrt(0.19)) / Math.sqrt(3));
    close(j.betterBound, 3.1 - (T95[2] * Math.sqrt(0.19)) / Math.sqrt(3));
    // Settles once t_{n−1} · 0.43589 / √n < 0.2: at n = 15, t_{14} = 1.761 → 0.198; at n = 14, t_{13} = 1.771 → 0.2063.
    assert.equal(j.seedsToSettle, 15);
    assert.match(j.basis, /about 15 seeds/);
  });

  it('noise no longer earns the better verdict: the spread set is not judged better than the tight one', () => {
    const spread = judgeValues({ values: [2.8, 3.15, 3.5], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    const tight = judgeValues({ values: [3.14, 3.15, 3.16], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(spread.verdict, 'inconclusive');
    assert.equal(tight.verdict, 'reproduced');
  });

  it('sd = 0 gives a zero-width interval, never a division by zero', () => {
    const inside = judgeValues({ values: [2.5, 2.5, 2.5], target: { value: 2.4, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(inside.verdict, 'reproduced');
    assert.equal(inside.bound, 2.5);
    const outside = judgeValues({ values: [3, 3], target: { value: 2.4, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(outside.verdict, 'not reproduced');
    assert.equal(outside.bound, 3);
    const onMargin = judgeValues({ values: [2.7, 2.7], target: { value: 2.4, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(onMargin.verdict, 'reproduced', 'a bound exactly on the margin is within it');
  });

  it('one value against a mean-of-k target decides nothing', () => {
    const j = judgeValues({ values: [2.0], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    assert.equal(j.verdict, 'inconclusive');
    assert.match(j.basis, /at least 2 seeds/);
  });

  it('a set clearly beyond tolerance is not reproduced (4.0, 4.1, 3.9 against 3.0 + 0.3)', () => {
    const j = judgeValues({ values: [4.0, 4.1, 3.9], target: { value: 3.0, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'lower' });
    // lower = 4.0 − 2.920 · 0.1 / √3 = 3.8314 > 3.3
    assert.equal(j.verdict, 'not reproduced');
    close(j.bound, 4.0 - (T95[2] * 0.1) / Math.sqrt(3));
  });

  it("Welch's interval counts the paper's sd and n", () => {
    // Ours 2.70, 2.71, 2.69 (sd 0.01) against 2.76 ± 0.5 over 3, tolerance 0.1 (margin 2.86).
    // a = 0.0001/3, b = 0.25/3; df = (a + b)² / (a²/2 + b²/2) = 2.0016; se = √(a + b) = 0.28873.
    const a = 0.0001 / 3;
    const b = 0.25 / 3;
    const df = (a + b) ** 2 / (a * a / 2 + b * b / 2);
    close(welchDf(0.01, 3, 0.5, 3), df, 1e-9);
    close(df, 2.0016, 1e-3);
    const j = judgeValues({ values: [2.7, 2.71, 2.69], target: { value: 2.76, sd: 0.5, n: 3, aggregate: 'mean-of-k' }, tolerance: 0.1, direction: 'lower' });
    assert.equal(j.method, 'Welch');
    close(j.df!, df, 1e-9);
    // upper = 2.70 + t_{0.95, 2.0016} · 0.28873 ≈ 2.70 + 2.919 · 0.28873 = 3.543 > 2.86; lower 1.857 < 2.86
    close(j.worseBound, 2.7 + T95[2] * Math.sqrt(a + b), 5e-3);
    assert.equal(j.verdict, 'inconclusive', 'the paper\'s own spread keeps it open');
    assert.equal(j.seedsToSettle, undefined, 'no seed count of ours narrows the paper\'s term');
    // The same values without the paper's sd: one-sample, upper 2.7169 ≤ 2.86 → reproduced.
    const one = judgeValues({ values: [2.7, 2.71, 2.69], target: { value: 2.76, aggregate: 'mean-of-k' }, tolerance: 0.1, direction: 'lower' });
    assert.equal(one.verdict, 'reproduced');
  });

  it('a higher-is-better metric mirrors the rules', () => {
    // accuracy 97.2, 97.25, 97.15 against 97.24 − 0.3 = 96.94: lower bound 97.2 − 2.920 · 0.05 / √3 = 97.1157 ≥ 96.94
    const ok = judgeValues({ values: [97.2, 97.25, 97.15], target: { value: 97.24, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'higher' });
    assert.equal(ok.verdict, 'reproduced');
    close(ok.bound, 97.2 - (T95[2] * 0.05) / Math.sqrt(3));
    assert.equal(ok.margin, 97.24 - 0.3);
    // 97.0, 97.1, 96.9: 96.831 … 97.169 spans 96.94
    const open = judgeValues({ values: [97.0, 97.1, 96.9], target: { value: 97.24, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'higher' });
    assert.equal(open.verdict, 'inconclusive');
    // 96.0, 96.1, 95.9: upper 96.169 < 96.94
    const bad = judgeValues({ values: [96.0, 96.1, 95.9], target: { value: 97.24, aggregate: 'mean-of-k' }, tolerance: 0.3, direction: 'higher' });
    assert.equal(bad.verdict, 'not reproduced');
    close(bad.bound, 96.0 + (T95[2] * 0.1) / Math.sqrt(3));
  });

  it('best-of-k is a point comparison with exactly k values, and not judged otherwise', () => {
    const j = judgeValues({ values: [2.9, 2.5, 2.7, 2.6], target: { value: 2.22, aggregate: 'best-of-k', k: 4 }, tolerance: 0.3, direction: 'lower' });
    assert.equal(j.ours, 2.5);
    assert.equal(j.verdict, 'reproduced'); // 2.5 ≤ 2.52
    const far = judgeValues({ values: [2.9, 2.6, 2.7, 2.8], target: { value: 2.22, aggregate: 'best-of-k', k: 4 }, tolerance: 0.3, direction: 'lower' });
    assert.equal(far.verdict, 'not reproduced'); // 2.6 > 2.52
    const wrongK = judgeValues({ values: [2.5, 2.6, 2.7], target: { value: 2.22, aggregate: 'best-of-k', k: 4 }, tolerance: 0.3, direction: 'lower' });
    assert.equal(wrongK.verdict, undefined);
    assert.match(wrongK.basis, /best of 4/);
  });
});

describe('cli: judge', () => {
  const capture = () => {
    const out: string[] = [];
    return { io: { out: (t: string) => void out.push(t), err: () => {} }, text: () => out.join('') };
  };

  it('--json prints verdict, ours, target, tolerance, n, bound and basis', () => {
    const c = capture();
    judgeCommand({ values: [2.61, 2.7, 2.66], target: 2.76, targetSd: 0.09, targetN: 10, tolerance: 0.3, direction: 'lower', aggregate: 'mean-of-k', json: true }, c.io);
    const j = JSON.parse(c.text()) as Record<string, unknown>;
    for (const k of ['verdict', 'ours', 'target', 'tolerance', 'n', 'bound', 'basis']) assert.ok(k in j, k);
    assert.equal(j.verdict, 'reproduced');
    assert.equal(j.n, 3);
    close(j.ours as number, (2.61 + 2.7 + 2.66) / 3, 1e-9);
  });

  it('takes the target from a suite row and labels an inferred target indicative', () => {
    const c = capture();
    judgeCommand({ values: [2.1, 2.3, 2.2], suite: 'cifar10-standard', row: 'entrannas', json: true, k: 3 }, c.io);
    const j = JSON.parse(c.text()) as Record<string, unknown>;
    assert.equal(j.target, 2.48);
    assert.equal(j.indicative, true);
    assert.equal(j.aggregate, 'best-of-k');
  });

  it('bad input is a usage error naming the flag', () => {
    const bad = (o: Parameters<typeof judgeCommand>[0], re: RegExp) =>
      assert.throws(() => judgeCommand(o, capture().io), (e: unknown) => e instanceof InputError && re.test(e.message));
    bad({ values: [], target: 3, tolerance: 0.3 }, /--values/);
    bad({ values: [1, 2], target: 3, tolerance: -0.1 }, /--tolerance/);
    bad({ values: [1, 2], suite: 'cifar10-standard', row: 'nope' }, /--row.*nope/);
    bad({ values: [1, 2], suite: 'cifar10-standard', row: 'darts-2nd', metric: 'speed' }, /--metric.*speed/);
    bad({ values: [1, 2], target: 3 }, /--tolerance/);
  });
});
