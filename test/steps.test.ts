// Step detection over nightly series: planted steps are found at the right commit, flat noise gives none,
// and the exact optimal partitioning agrees with a brute-force search.
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { median } from 'simple-statistics';
import { findSteps, fitSteps, noiseScale } from '../harness/perf/steps.js';
import { HISTORY_SCHEMA_VERSION, writeHistoryEntry, type HistoryEntry } from '../harness/perf/history.js';
import { sampleSet } from '../harness/perf/history-entry.js';
import { machineClass } from '../harness/measure/machine.js';
import type { EnvProvenance } from '../harness/results/record.js';
import { testEnv } from './helpers/env.js';
import { runSteps } from '../harness/commands/history.js';
import { Rng } from '../nas/rng.js';

/** Seeded noise for constructed samples (the project's Rng: tests never use Math.random). */
const seeded = (seed: number): Rng => new Rng(seed);

/** A nightly series of `n` medians around `level`, multiplied by `factor` from index `at` on, with relative noise. */
function series(seed: number, n: number, level: number, rel: number, at = n, factor = 1): number[] {
  const r = seeded(seed);
  return Array.from({ length: n }, (_, i) => level * (i >= at ? factor : 1) * (1 + rel * r.normal()));
}

const env: EnvProvenance = testEnv({ gitCommit: '' });

/** Nightly entries c00..c{n-1}, one day apart, with per-night samples around each night's level. */
function nightlies(levels: Record<string, number[]>, seed = 1): HistoryEntry[] {
  const n = Math.max(...Object.values(levels).map((v) => v.length));
  const r = seeded(seed);
  return Array.from({ length: n }, (_, i) => {
    const ts = new Date(Date.UTC(2025, 0, 1 + i, 3)).toISOString();
    const commit = `c${String(i).padStart(2, '0')}`;
    const benchmarks: HistoryEntry['benchmarks'] = {};
    for (const [name, ys] of Object.entries(levels)) {
      if (Number.isFinite(ys[i])) benchmarks[name] = sampleSet(Array.from({ length: 5 }, () => ys[i] * (1 + 0.005 * r.normal())), 'ms');
    }
    return {
      schema: HISTORY_SCHEMA_VERSION,
      commit,
      machineClass: machineClass(env),
      timestamp: ts,
      recordedAt: ts,
      env: { ...env, gitCommit: commit },
      benchmarks,
      efficiency: {},
    };
  });
}

/** Brute force: the minimal penalised L1 cost over every segmentation with segments of at least minSegment. */
function bruteForceCost(y: number[], penalty: number, minSegment: number): number {
  const cost = (i: number, j: number) => {
    const m = median(y.slice(i, j));
    return y.slice(i, j).reduce((a, v) => a + Math.abs(v - m), 0);
  };
  const best = (start: number): number => {
    if (start === y.length) return 0;
    let b = Infinity;
    for (let end = start + minSegment; end <= y.length; end++) {
      if (end < y.length && y.length - end < minSegment) continue;
      b = Math.min(b, cost(start, end) + penalty + best(end));
    }
    return b;
  };
  return best(0);
}

function fittedCost(y: number[], segments: Array<{ start: number; end: number; level: number }>, penalty: number): number {
  return segments.reduce((a, s) => a + penalty + y.slice(s.start, s.end).reduce((b, v) => b + Math.abs(v - s.level), 0), 0);
}

describe('step detection', () => {
  it('finds a planted 25% step at the right commit of a 30-night noisy series', () => {
    const entries = nightlies({ 'search-step': series(1, 30, 100, 0.03, 18, 1.25) });
    const [res] = findSteps(entries);
    assert.equal(res.measure, 'bench/search-step');
    assert.equal(res.points, 30);
    assert.equal(res.steps.length, 1, JSON.stringify(res.steps));
    const [step] = res.steps;
    assert.equal(step.commit, 'c18');
    assert.equal(step.previousCommit, 'c17');
    assert.equal(step.index, 18);
    assert.equal(step.kind, 'regression');
    assert.ok(Math.abs(step.ratio - 1.25) < 0.05, String(step.ratio));
    assert.ok(Math.abs(step.before - 100) < 3 && Math.abs(step.after - 125) < 4, `${step.before} → ${step.after}`);
  });

  it('finds planted steps at the right index across seeds, positions and sizes', () => {
    let exact = 0;
    let total = 0;
    for (let seed = 1; seed <= 20; seed++) {
      for (const [at, factor] of [[5, 1.2], [15, 0.8], [24, 1.3]] as const) {
        const fit = fitSteps(series(100 + seed, 30, 50, 0.03, at, factor));
        total++;
        if (fit.segments.length === 2 && fit.segments[1].start === at) exact++;
        assert.ok(fit.segments.length >= 2, `seed ${seed}: missed the step at ${at}`);
      }
    }
    assert.ok(exact / total >= 0.95, `${exact}/${total} at the exact commit`);
  });

  it('finds no steps in flat noisy series (30 nights, 3% and 5% noise, heavy tails)', () => {
    for (let seed = 1; seed <= 50; seed++) {
      for (const rel of [0.03, 0.05]) {
        const y = series(seed, 30, 100, rel);
        assert.equal(fitSteps(y).segments.length, 1, `seed ${seed}, noise ${rel}: ${JSON.stringify(fitSteps(y).segments)}`);
      }
      // Occasional 5σ outliers (a noisy neighbour on a shared runner).
      const r = seeded(1000 + seed);
      const spiky = series(seed, 30, 100, 0.03).map((v) => (r.uniform() < 0.1 ? v * (1 + 0.15 * Math.sign(r.normal())) : v));
      assert.equal(fitSteps(spiky).segments.length, 1, `spiky seed ${seed}`);
    }
    const entries = nightlies({ flat: series(7, 30, 100, 0.03) });
    assert.deepEqual(findSteps(entries)[0].steps, []);
  });

  it('does not call a one- or two-night excursion a step (minSegment 3), but does call a lasting one', () => {
    const y = series(3, 30, 100, 0.02);
    const blip = y.map((v, i) => (i === 12 || i === 13 ? v * 1.5 : v));
    assert.equal(fitSteps(blip).segments.length, 1);
    const lasting = y.map((v, i) => (i >= 12 && i < 20 ? v * 1.5 : v));
    const fit = fitSteps(lasting);
    assert.deepEqual(fit.segments.map((s) => s.start), [0, 12, 20]);
  });

  it('reports an improvement as one, and a step in each measure independently', () => {
    const entries = nightlies({
      fast: series(4, 30, 100, 0.03, 10, 0.7),
      flat: series(5, 30, 100, 0.03),
    });
    const res = findSteps(entries);
    const fast = res.find((r) => r.measure === 'bench/fast')!;
    assert.equal(fast.steps.length, 1);
    assert.equal(fast.steps[0].kind, 'improvement');
    assert.equal(fast.steps[0].commit, 'c10');
    assert.equal(res.find((r) => r.measure === 'bench/flat')!.steps.length, 0);
    // Filter by measure: exact name, else substring.
    assert.deepEqual(findSteps(entries, { measure: 'bench/fast' }).map((r) => r.measure), ['bench/fast']);
    assert.deepEqual(findSteps(entries, { measure: 'a' }).map((r) => r.measure), ['bench/fast', 'bench/flat']);
  });

  it('skips nights where a measure is missing and orders entries by timestamp, not input order', () => {
    const ys = series(6, 30, 100, 0.03, 20, 1.3);
    const withGaps = ys.map((v, i) => (i === 19 || i === 5 ? NaN : v));
    const entries = nightlies({ gappy: withGaps }).reverse();
    const [res] = findSteps(entries);
    assert.equal(res.points, 28);
    assert.equal(res.steps.length, 1);
    assert.equal(res.steps[0].commit, 'c20');
    assert.equal(res.steps[0].previousCommit, 'c18');
  });

  it('merges steps smaller than minRatio; minRatio 1 keeps them', () => {
    // A 4% step with 0.3% noise is real but below the default 5% reporting threshold.
    const y = series(8, 30, 100, 0.003, 15, 1.04);
    assert.equal(fitSteps(y).segments.length, 1);
    assert.equal(fitSteps(y, { minRatio: 1 }).segments.length, 2);
  });

  it('solves the penalised problem exactly (agrees with brute force)', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const r = seeded(seed);
      const n = 6 + Math.floor(r.uniform() * 9);
      const y = Array.from({ length: n }, (_, i) => (i > n / 2 ? 10 : 0) + Math.floor(r.uniform() * 8));
      const fit = fitSteps(y, { minRatio: 1, minSegment: 2, beta: 0.5 });
      const want = bruteForceCost(y, fit.penalty, 2);
      const got = fittedCost(y, fit.segments, fit.penalty);
      assert.ok(Math.abs(got - want) < 1e-9, `seed ${seed}: ${got} vs ${want} for ${y}`);
    }
  });

  it('estimates the noise robustly from first differences', () => {
    const s = noiseScale(series(9, 400, 100, 0.03));
    assert.ok(s > 2.6 && s < 3.4, String(s));
    // A large step (here +100 on the same absolute noise) moves one difference only.
    const stepped = noiseScale(series(9, 400, 100, 0.03).map((v, i) => (i >= 200 ? v + 100 : v)));
    assert.ok(Math.abs(stepped - s) / s < 0.05, `${stepped} vs ${s}`);
    // Floor for constant series.
    assert.equal(noiseScale([5, 5, 5, 5]), 0.005);
  });

  it('refuses to mix machine classes', () => {
    const a = nightlies({ x: [1, 2, 3] });
    a[1] = { ...a[1], machineClass: 'gpu-other' };
    assert.throws(() => findSteps(a), /one machine class/);
  });

  it('history steps (CLI path) prints the step with its commit', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'entrannas-steps-'));
    try {
      for (const e of nightlies({ 'search-step': series(1, 30, 100, 0.03, 18, 1.25), flat: series(2, 30, 10, 0.03) })) {
        await writeHistoryEntry(dir, e);
      }
      const out: string[] = [];
      const io = { out: (t: string) => void out.push(t), err: () => {}, probe: async () => env };
      const { exitCode, results } = await runSteps({ history: dir }, io);
      assert.equal(exitCode, 0);
      assert.equal(results.length, 2);
      const text = out.join('');
      assert.match(text, /bench\/search-step: regression at c18 \(after c17/);
      assert.match(text, /ratio 1\.2\d\d/);
      assert.match(text, /1 of 2 measures with steps/);
      out.length = 0;
      await runSteps({ history: dir, measure: 'flat', json: true }, io);
      const json = JSON.parse(out.join(''));
      assert.equal(json.results.length, 1);
      assert.deepEqual(json.results[0].steps, []);
      await assert.rejects(runSteps({ history: dir, measure: 'nope' }, io), /no measure matches/);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
