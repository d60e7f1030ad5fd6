// The regression gate: Mann–Whitney U p-values against tabulated / hand-computed values, the compare rules
// (factor AND significance, direction, insufficient samples, one-sided measures, machine classes) and the CLI exit code.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { wilcoxonRankSum } from 'simple-statistics';
import { EXACT_MAX_N, binomial, erfc, mannWhitneyU, minAttainablePValue } from '../harness/perf/mannwhitney.js';
import { compare, compareMeasure, formatComparison, type ComparisonReport } from '../harness/perf/compare.js';
import { HISTORY_SCHEMA_VERSION, writeHistoryEntry, type HistoryEntry, type Measure, type SampleSet } from '../harness/perf/history.js';
import { sampleSet } from '../harness/perf/history-entry.js';
import { MachineClassMismatchError, machineClass } from '../harness/measure/machine.js';
import type { EnvProvenance } from '../harness/results/record.js';
import { testEnv } from './helpers/env.js';
import { EXIT } from '../harness/commands/common.js';
import { register, runCompare, type CompareIO } from '../harness/commands/compare.js';
import { Rng } from '../nas/rng.js';

/** Seeded noise for constructed samples (the project's Rng: tests never use Math.random). */
const seeded = (seed: number): Rng => new Rng(seed);
/** n samples around `level` with relative Gaussian noise. */
function noisy(seed: number, n: number, level: number, rel: number): number[] {
  const r = seeded(seed);
  return Array.from({ length: n }, () => level * (1 + rel * r.normal()));
}

/** Samples x, y (n each, no ties) whose U of x (pairs x > y) is exactly u. */
function withU(n: number, u: number): [number[], number[]] {
  const counts: number[] = [];
  let rest = u;
  for (let i = 0; i < n; i++) {
    counts.push(Math.min(n, rest));
    rest -= counts[i];
  }
  counts.sort((a, b) => a - b);
  const y = Array.from({ length: n }, (_, j) => 10 + j);
  const x = counts.map((c, i) => 10 + c - 0.5 + i * 0.01);
  return [x, y];
}

/** Brute-force two-sided permutation p-value of the rank sum (|R − E| ≥ |r − E|), enumerating all subsets. */
function bruteForceP(x: number[], y: number[]): number {
  const pooled = [...x, ...y];
  const sorted = [...pooled].sort((a, b) => a - b);
  const rank = (v: number) => {
    const first = sorted.indexOf(v);
    const last = sorted.lastIndexOf(v);
    return (first + last) / 2 + 1;
  };
  const ranks = pooled.map(rank);
  const n = pooled.length;
  const k = x.length;
  const obs = ranks.slice(0, k).reduce((a, b) => a + b, 0);
  const mean = (k * (n + 1)) / 2;
  let total = 0;
  let extreme = 0;
  const walk = (start: number, left: number, sum: number): void => {
    if (left === 0) {
      total++;
      if (Math.abs(sum - mean) >= Math.abs(obs - mean) - 1e-9) extreme++;
      return;
    }
    for (let i = start; i <= n - left; i++) walk(i + 1, left - 1, sum + ranks[i]);
  };
  walk(0, k, 0);
  return extreme / total;
}

describe('Mann–Whitney U', () => {
  it('computes U from mid-ranks, agreeing with simple-statistics wilcoxonRankSum (with ties)', () => {
    const x = [1, 2, 2, 3, 3, 3];
    const y = [2, 3, 4, 4, 5];
    const r = mannWhitneyU(x, y);
    const rankSum = wilcoxonRankSum(x, y);
    assert.equal(r.u1, rankSum - (x.length * (x.length + 1)) / 2);
    assert.equal(r.u1, 5.5);
    assert.equal(r.u1 + r.u2, x.length * y.length);
    assert.equal(r.ties, true);
  });

  it('gives the exact p-value of complete separation: 2 / C(10, 5)', () => {
    const r = mannWhitneyU([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]);
    assert.equal(r.method, 'exact');
    assert.equal(r.u1, 0);
    assert.ok(Math.abs(r.pValue - 2 / 252) < 1e-12, String(r.pValue));
    // The direction of the difference does not matter for a two-sided test.
    assert.ok(Math.abs(mannWhitneyU([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]).pValue - 2 / 252) < 1e-12);
  });

  it('matches the tabulated two-sided 0.05 critical values (n1 = n2 = 5: 2, 8: 13, 10: 23, 20: 127)', () => {
    // Exact p at and just above the critical value (scipy.stats.mannwhitneyu(method="exact") agrees to 1e-12).
    const table: Array<[number, number, number, number]> = [
      [5, 2, 0.031746031746031744, 0.05555555555555555],
      [8, 13, 0.04988344988344988, 0.06495726495726495],
      [10, 23, 0.04325705254497823, 0.0524259022711035],
      [20, 127, 0.04909032518937244, 0.05239952187284972],
    ];
    for (const [n, crit, pAt, pAbove] of table) {
      const at = mannWhitneyU(...withU(n, crit));
      const above = mannWhitneyU(...withU(n, crit + 1));
      assert.equal(at.u1, crit);
      assert.ok(at.pValue <= 0.05 && above.pValue > 0.05, `n=${n}: p(${crit})=${at.pValue}, p(${crit + 1})=${above.pValue}`);
      assert.ok(Math.abs(at.pValue - pAt) < 1e-12, `n=${n} U=${crit}: ${at.pValue} vs ${pAt}`);
      assert.ok(Math.abs(above.pValue - pAbove) < 1e-12, `n=${n} U=${crit + 1}: ${above.pValue} vs ${pAbove}`);
    }
  });

  it('exact p-values with and without ties equal brute-force enumeration of all rank splits', () => {
    const r = seeded(11);
    for (let trial = 0; trial < 25; trial++) {
      const n1 = 2 + Math.floor(r.uniform() * 6);
      const n2 = 2 + Math.floor(r.uniform() * 6);
      // Coarse values (0..5) make ties common; every other trial uses continuous values.
      const draw = () => (trial % 2 ? Math.floor(r.uniform() * 6) : r.uniform());
      const x = Array.from({ length: n1 }, draw);
      const y = Array.from({ length: n2 }, draw);
      const got = mannWhitneyU(x, y, { method: 'exact' }).pValue;
      const want = bruteForceP(x, y);
      assert.ok(Math.abs(got - want) < 1e-12, `trial ${trial}: ${got} vs ${want} for ${x} | ${y}`);
    }
    // Tie case checked by hand-enumeration (itertools over the 462 splits): 50 are as extreme (p = 0.1082).
    assert.ok(Math.abs(mannWhitneyU([1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5]).pValue - 50 / 462) < 1e-12);
  });

  it('normal approximation with tie correction matches a hand computation', () => {
    // x = [1,2,2,3,3,3], y = [2,3,4,4,5]: U1 = 5.5, μ = 15, tie groups 3, 4, 2 → Σ(t³−t) = 24 + 60 + 6 = 90,
    // σ² = 30/12 · (12 − 90/110) = 27.954545, z = (9.5 − 0.5)/5.287206 = 1.702220, p = erfc(z/√2) = 0.0887137.
    const r = mannWhitneyU([1, 2, 2, 3, 3, 3], [2, 3, 4, 4, 5], { method: 'normal' });
    assert.equal(r.method, 'normal');
    assert.ok(Math.abs((r.z ?? 0) - 1.70222) < 1e-5, String(r.z));
    assert.ok(Math.abs(r.pValue - 0.0887137) < 1e-6, String(r.pValue));
  });

  it('uses the normal approximation for large samples (hand-computed z = 5.351)', () => {
    // x = 0..59, y = 20.5..79.5: U1 = Σ_{k=1}^{39} k = 780, μ = 1800, σ = √(3600·121/12) = 190.526,
    // z = (1020 − 0.5)/190.526 = 5.35098, p = erfc(z/√2) = 8.7476e-8.
    const x = Array.from({ length: 60 }, (_, i) => i);
    const y = Array.from({ length: 60 }, (_, i) => i + 20.5);
    const r = mannWhitneyU(x, y);
    assert.equal(r.method, 'normal');
    assert.ok(60 >= EXACT_MAX_N);
    assert.equal(r.u1, 780);
    assert.ok(Math.abs(r.pValue - 8.7476e-8) / 8.7476e-8 < 1e-3, String(r.pValue));
  });

  it('exact and normal agree closely at moderate sizes, and erfc is accurate', () => {
    const x = noisy(1, 30, 100, 0.05);
    const y = noisy(2, 30, 104, 0.05);
    const e = mannWhitneyU(x, y, { method: 'exact' }).pValue;
    const n = mannWhitneyU(x, y, { method: 'normal' }).pValue;
    assert.ok(Math.abs(e - n) < 0.01, `${e} vs ${n}`);
    assert.ok(Math.abs(erfc(0) - 1) < 1e-7);
    assert.ok(Math.abs(erfc(1) - 0.157299207050285) < 1e-7);
    assert.ok(Math.abs(erfc(-1) - 1.842700792949715) < 1e-7);
    assert.ok(Math.abs(erfc(4) / 1.541725790028002e-8 - 1) < 1e-6);
  });

  it('gives p = 1 when every value is equal, and rejects empty or non-finite samples', () => {
    assert.equal(mannWhitneyU([3, 3, 3], [3, 3]).pValue, 1);
    assert.equal(mannWhitneyU(Array(60).fill(3), Array(60).fill(3)).pValue, 1);
    assert.throws(() => mannWhitneyU([], [1]), /at least one/);
    assert.throws(() => mannWhitneyU([1, NaN], [1]), /finite/);
  });

  it('knows the smallest attainable p-value', () => {
    assert.equal(binomial(10, 5), 252);
    assert.ok(Math.abs(minAttainablePValue(3, 3) - 0.1) < 1e-12);
    assert.ok(Math.abs(minAttainablePValue(4, 4) - 2 / 70) < 1e-12);
    assert.equal(minAttainablePValue(2, 2), 1 / 3);
    assert.ok(Math.abs(minAttainablePValue(1, 10) - 2 / 11) < 1e-12);
    assert.equal(minAttainablePValue(0, 10), 1);
  });
});

// --- compare ------------------------------------------------------------------------------------------------------

const env = testEnv;

function entry(commit: string, day: number, benchmarks: Record<string, SampleSet>, e: EnvProvenance = env()): HistoryEntry {
  const ts = new Date(Date.UTC(2025, 0, 1 + day)).toISOString();
  return {
    schema: HISTORY_SCHEMA_VERSION,
    commit,
    machineClass: machineClass(e),
    timestamp: ts,
    recordedAt: ts,
    env: { ...e, gitCommit: commit },
    benchmarks,
    efficiency: {},
  };
}

const measure = (name: string, samples: number[], unit = 'ms', better: 'lower' | 'higher' = 'lower'): Measure => ({
  name,
  ...sampleSet(samples, unit, better),
});

describe('compare', () => {
  it('flags a 30% slowdown with tight samples (10 samples, 2% noise)', () => {
    const r = compareMeasure(measure('bench/step', noisy(1, 10, 100, 0.02)), measure('bench/step', noisy(2, 10, 130, 0.02)));
    assert.equal(r.verdict, 'regression');
    assert.ok(r.ratio! > 1.25 && r.ratio! < 1.35, String(r.ratio));
    assert.ok(r.pValue! < 1e-4, String(r.pValue));
    assert.equal(r.test, 'exact');
  });

  it('does not flag a 30% shift when the samples overlap widely', () => {
    // Deterministic: head = base × 1.3, but the spread is ±50%: U = 8 of 25, p = 0.31.
    const base = [50, 75, 100, 125, 150];
    const r = compareMeasure(measure('bench/step', base), measure('bench/step', base.map((v) => v * 1.3)));
    assert.ok(Math.abs(r.ratio! - 1.3) < 1e-12);
    assert.ok(r.pValue! > 0.05, String(r.pValue));
    assert.equal(r.verdict, 'unchanged');
    assert.match(r.note ?? '', /beyond factor 1.1, not significant/);
    // Seeded: 8 samples each with 40% noise, head rescaled so its median is exactly 1.3× the base median.
    const b = noisy(3, 8, 100, 0.4);
    const h0 = noisy(4, 8, 100, 0.4);
    const scale = (1.3 * sampleSet(b, 'ms').median) / sampleSet(h0, 'ms').median;
    const s = compareMeasure(measure('bench/x', b), measure('bench/x', h0.map((v) => v * scale)));
    assert.ok(Math.abs(s.ratio! - 1.3) < 1e-9, `ratio ${s.ratio}`);
    assert.equal(s.verdict, 'unchanged', `p ${s.pValue}`);
  });

  it('never flags a 3% change at factor 1.1, however tight and many the samples', () => {
    for (const n of [10, 40, 200]) {
      const r = compareMeasure(measure('bench/step', noisy(5, n, 100, 0.005)), measure('bench/step', noisy(6, n, 103, 0.005)));
      assert.ok(r.pValue! < 1e-3, `n=${n}: the change is significant (p ${r.pValue})`);
      assert.equal(r.verdict, 'unchanged', `n=${n}`);
      assert.match(r.note ?? '', /significant, within factor/);
    }
  });

  it('reports an improvement when the ratio is below 1/factor and significant', () => {
    const r = compareMeasure(measure('bench/step', noisy(7, 10, 100, 0.02)), measure('bench/step', noisy(8, 10, 70, 0.02)));
    assert.equal(r.verdict, 'improvement');
    assert.ok(r.ratio! < 1 / 1.1);
  });

  it('is direction-aware: for higher-is-better measures a drop is the regression', () => {
    const base = measure('bench/throughput', noisy(9, 10, 1000, 0.02), 'ops/s', 'higher');
    const slower = measure('bench/throughput', noisy(10, 10, 700, 0.02), 'ops/s', 'higher');
    const faster = measure('bench/throughput', noisy(11, 10, 1300, 0.02), 'ops/s', 'higher');
    assert.equal(compareMeasure(base, slower).verdict, 'regression');
    assert.equal(compareMeasure(base, faster).verdict, 'improvement');
  });

  it('reports measures present in only one entry, and never fails the gate for them', () => {
    const base = entry('b1', 0, { shared: sampleSet(noisy(12, 10, 100, 0.02), 'ms'), gone: sampleSet([1, 2, 3], 'ms') });
    const head = entry('h1', 1, { shared: sampleSet(noisy(13, 10, 100, 0.02), 'ms'), added: sampleSet([4, 5, 6], 'ms') });
    const rep = compare(base, head);
    const byName = new Map(rep.results.map((r) => [r.name, r]));
    assert.equal(byName.get('bench/gone')?.verdict, 'only in base');
    assert.equal(byName.get('bench/added')?.verdict, 'only in head');
    assert.equal(byName.get('bench/shared')?.verdict, 'unchanged');
    assert.equal(rep.regressed, false);
    assert.deepEqual([rep.counts['only in base'], rep.counts['only in head'], rep.counts.unchanged], [1, 1, 1]);
  });

  it('reports single-sample measures as insufficient samples, flagged only beyond untestedFactor when set', () => {
    const base = measure('nightly/darts/testErrorPercent', [3.0], '%');
    const worse = measure('nightly/darts/testErrorPercent', [4.5], '%');
    const slightly = measure('nightly/darts/testErrorPercent', [3.3], '%');
    const r = compareMeasure(base, worse);
    assert.equal(r.verdict, 'insufficient samples');
    assert.equal(r.pValue, null);
    assert.equal(compareMeasure(base, worse, { untestedFactor: 1.25 }).verdict, 'regression');
    assert.equal(compareMeasure(base, slightly, { untestedFactor: 1.25 }).verdict, 'insufficient samples');
    assert.equal(compareMeasure(worse, base, { untestedFactor: 1.25 }).verdict, 'improvement');
  });

  it('treats too few samples to ever reach alpha (3 vs 3 seeds) as insufficient, even when fully separated', () => {
    const r = compareMeasure(measure('s/m/gpuDays', [1, 1.01, 1.02], 'gpu-days'), measure('s/m/gpuDays', [2, 2.01, 2.02], 'gpu-days'));
    assert.equal(r.verdict, 'insufficient samples');
    assert.ok(Math.abs(r.pValue! - 0.1) < 1e-12);
    assert.match(r.note ?? '', /smallest attainable p/);
    // 4 vs 4 can reach 0.029: the same separation is a regression.
    const f = compareMeasure(measure('s/m/gpuDays', [1, 1.01, 1.02, 1.03], 'gpu-days'), measure('s/m/gpuDays', [2, 2.01, 2.02, 2.03], 'gpu-days'));
    assert.equal(f.verdict, 'regression');
  });

  it('never compares entries from different machine classes', () => {
    const a = entry('a', 0, { x: sampleSet([1, 2, 3], 'ms') });
    const b = entry('b', 1, { x: sampleSet([1, 2, 3], 'ms') }, env({ cpuModel: 'Intel(R) Xeon(R) CPU @ 2.20GHz' }));
    assert.notEqual(a.machineClass, b.machineClass);
    assert.throws(() => compare(a, b), MachineClassMismatchError);
  });

  it('reports a unit change instead of comparing, and validates factor and alpha', () => {
    const r = compareMeasure(measure('bench/x', [1, 2, 3, 4]), measure('bench/x', [1, 2, 3, 4], 's'));
    assert.equal(r.verdict, 'unit mismatch');
    assert.throws(() => compareMeasure(measure('a', [1]), measure('a', [1]), { factor: 0.9 }), /factor/);
    assert.throws(() => compareMeasure(measure('a', [1]), measure('a', [1]), { alpha: 1.5 }), /alpha/);
  });

  it('formats a table naming the measure, ratio and p-value', () => {
    const base = entry('b2', 0, { step: sampleSet(noisy(14, 10, 100, 0.02), 'ms') });
    const head = entry('h2', 1, { step: sampleSet(noisy(15, 10, 130, 0.02), 'ms') });
    const text = formatComparison(compare(base, head));
    assert.match(text, /bench\/step/);
    assert.match(text, /\b1\.[23]\d\d\b/);
    assert.match(text, /regression/);
    assert.match(text, /p\s+verdict/);
  });
});

// --- CLI ------------------------------------------------------------------------------------------------------------

describe('compare command', () => {
  let dir: string;
  let out: string[];
  let err: string[];
  let io: CompareIO;
  const cls = machineClass(env());

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'entrannas-compare-'));
    await writeHistoryEntry(dir, entry('aaaa1111', 0, { step: sampleSet(noisy(20, 10, 100, 0.02), 'ms') }));
    await writeHistoryEntry(dir, entry('bbbb2222', 1, { step: sampleSet(noisy(21, 10, 101, 0.02), 'ms') }));
    await writeHistoryEntry(dir, entry('cccc3333', 2, { step: sampleSet(noisy(22, 10, 135, 0.02), 'ms') }));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    out = [];
    err = [];
    io = { out: (t) => void out.push(t), err: (t) => void err.push(t), probe: async () => env() };
  });
  afterEach(() => {
    process.exitCode = 0;
  });

  async function cli(...args: string[]): Promise<number> {
    const program = new Command().exitOverride().configureOutput({ writeErr: (t) => void err.push(t), writeOut: (t) => void out.push(t) });
    register(program, io);
    process.exitCode = 0;
    try {
      await program.parseAsync(['node', 'entrannas-bench', ...args]);
    } catch (e) {
      if (e instanceof CommanderError) return e.exitCode;
      throw e;
    }
    return Number(process.exitCode ?? 0);
  }

  it('exits 3 on a regression (head defaults to the newest entry) and prints the table', async () => {
    const code = await cli('compare', '--base', 'bbbb2222', '--history', dir, '--machine-class', cls);
    assert.equal(code, EXIT.regression);
    const text = out.join('');
    assert.match(text, /bbbb2222 → head cccc3333/);
    assert.match(text, /bench\/step .* regression/);
  });

  it('exits 0 when nothing regressed, resolving short commits and this machine\'s class from env fields', async () => {
    const code = await cli('compare', '--base', 'aaaa', '--head', 'bbbb', '--history', dir);
    assert.equal(code, EXIT.ok);
    assert.match(out.join(''), /unchanged/);
  });

  it('respects --factor: a 35% slowdown passes at factor 1.5', async () => {
    assert.equal(await cli('compare', '--base', 'bbbb2222', '--factor', '1.5', '--history', dir), EXIT.ok);
  });

  it('prints JSON with --json', async () => {
    assert.equal(await cli('compare', '--base', 'aaaa1111', '--history', dir, '--json'), EXIT.regression);
    const rep = JSON.parse(out.join('')) as ComparisonReport;
    assert.equal(rep.head.commit, 'cccc3333');
    assert.equal(rep.results[0].name, 'bench/step');
    assert.equal(rep.results[0].verdict, 'regression');
    assert.equal(typeof rep.results[0].pValue, 'number');
  });

  it('compares files, and exits 2 (not 3) when their machine classes differ', async () => {
    const other = entry('dddd4444', 3, { step: sampleSet(noisy(23, 10, 200, 0.02), 'ms') }, env({ backend: 'cpu', simd: false, threads: 1 }));
    const f1 = path.join(dir, 'base.json');
    const f2 = path.join(dir, 'other.json');
    await fs.writeFile(f1, JSON.stringify(entry('aaaa1111', 0, { step: sampleSet(noisy(20, 10, 100, 0.02), 'ms') })));
    await fs.writeFile(f2, JSON.stringify(other));
    assert.equal(await cli('compare', '--base', f1, '--head', f2), EXIT.usage);
    assert.match(err.join(''), /machine classes differ/);
    // A file against a commit of the same class works (the class comes from the file).
    assert.equal(await cli('compare', '--base', f1, '--head', 'cccc3333', '--history', dir), EXIT.regression);
  });

  it('fails (exit 1) when a measure of the base is missing from the head, naming it; --allow-missing passes', async () => {
    const f1 = path.join(dir, 'base-two.json');
    const f2 = path.join(dir, 'head-one.json');
    await fs.writeFile(f1, JSON.stringify(entry('aaaa1111', 0, { step: sampleSet(noisy(30, 10, 100, 0.02), 'ms'), gone: sampleSet(noisy(31, 10, 50, 0.02), 'ms') })));
    await fs.writeFile(f2, JSON.stringify(entry('bbbb2222', 1, { step: sampleSet(noisy(32, 10, 100, 0.02), 'ms') })));
    assert.equal(await cli('compare', '--base', f1, '--head', f2), EXIT.failed);
    assert.match(out.join(''), /FAILED: 1 measure\(s\) of the base are missing from the head \(bench\/gone\); pass --allow-missing/);
    out.length = 0;
    assert.equal(await cli('compare', '--base', f1, '--head', f2, '--json'), EXIT.failed);
    const j = JSON.parse(out.join('')) as { missingFromHead: string[]; passed: boolean; exitCode: number };
    assert.deepEqual([j.missingFromHead, j.passed, j.exitCode], [['bench/gone'], false, EXIT.failed]);
    assert.equal(await cli('compare', '--base', f1, '--head', f2, '--allow-missing'), EXIT.ok);
    // A measure only in the head (a new benchmark) never fails.
    assert.equal(await cli('compare', '--base', f2, '--head', f1), EXIT.ok);
  });

  it('exits 2 for an unknown commit or a machine class without history, naming the classes that have one', async () => {
    assert.equal(await cli('compare', '--base', 'ffff9999', '--history', dir), EXIT.usage);
    assert.match(err.join(''), /no history entry for commit "ffff9999"/);
    err.length = 0;
    io.probe = async () => env({ cpuModel: 'Apple M2' });
    assert.equal(await cli('compare', '--base', 'aaaa1111', '--history', dir), EXIT.usage);
    assert.match(err.join(''), new RegExp(`no history for machine class cpu-apple-m2-x2-wasm-simd .*${cls}`));
  });

  it('rejects a bad --factor as a usage error', async () => {
    const code = await cli('compare', '--base', 'aaaa1111', '--factor', '0.8', '--history', dir);
    assert.notEqual(code, EXIT.ok);
    assert.notEqual(code, EXIT.regression);
  });

  it('runCompare (what the CLI calls) returns the report and exit code', async () => {
    const { exitCode, report } = await runCompare({ base: 'aaaa1111', head: 'cccc3333', history: dir, machineClass: cls }, io);
    assert.equal(exitCode, EXIT.regression);
    assert.equal(report.regressed, true);
    assert.equal(report.counts.regression, 1);
  });
});
