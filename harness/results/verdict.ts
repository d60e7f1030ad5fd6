// Verdicts: our seeds against one paper target. Mean and sample sd come from simple-statistics; the
// one-sample t statistic is computed here from them, because simple-statistics' tTest divides by the
// population sd (n, not n − 1), which overstates t for the few seeds we have. The Student-t critical values
// (two-sided 95%) are a table, because simple-statistics has no t quantile.
import { mean, sampleSd, tCritical95 } from '../../nas/util/stats.js';
import type { Aggregate, Target } from '../suites/targets.js';
import type { SuiteKind } from '../suites/suite.js';

export const VERDICTS = ['reproduced', 'within tolerance', 'not reproduced', 'proxy', 'not run'] as const;
export type Verdict = (typeof VERDICTS)[number];
export type Judged = 'reproduced' | 'within tolerance' | 'not reproduced';

export interface Summary {
  n: number;
  mean: number;
  /** Sample standard deviation (n − 1); undefined for n < 2. */
  sd?: number;
  /** Best value in the target's direction (min for lower-is-better). */
  best: number;
  worst: number;
}

/** mean, sample sd, best and worst of our per-seed values. */
export function summarise(values: readonly number[], direction: 'lower' | 'higher' = 'lower'): Summary {
  if (values.length === 0) throw new Error('summarise: no values');
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return {
    n: values.length,
    mean: mean(values),
    sd: sampleSd(values),
    best: direction === 'lower' ? lo : hi,
    worst: direction === 'lower' ? hi : lo,
  };
}

export interface Judgement {
  verdict: Judged;
  aggregate: Aggregate;
  /** Our figure compared with the target: best of our seeds for best-of-k, their mean otherwise. */
  ours: number;
  target: number;
  /** ours − target, signed so that positive means worse than the paper. */
  gap: number;
  tolerance: number;
  n: number;
  /** One-sample t statistic of our seeds against the target, signed so that positive means worse (n ≥ 2, mean). */
  t?: number;
  tCritical?: number;
  /** 95% confidence band of our mean (n ≥ 2). */
  ci95?: [number, number];
  /** The reason, in words. */
  basis: string;
}

const fmt = (v: number): string => (Number.isFinite(v) ? String(Number(v.toFixed(3))) : String(v));

/**
 * Judge our per-seed values against a target:
 * - as good as the target or better → reproduced;
 * - worse by more than the tolerance → not reproduced;
 * - worse by at most the tolerance → reproduced when the difference is not significant (mean of ≥ 2 seeds:
 *   the target lies inside the 95% band of our mean, i.e. one-sample t ≤ t_{0.975, n−1}), otherwise within tolerance.
 */
export function judge(target: Target, values: readonly number[]): Judgement {
  const s = summarise(values, target.direction);
  const sign = target.direction === 'lower' ? 1 : -1;
  const useBest = target.aggregate === 'best-of-k';
  const ours = useBest ? s.best : s.mean;
  const gap = sign * (ours - target.value);
  const label = useBest ? `best of ${s.n}` : s.n === 1 ? 'single run' : `mean of ${s.n}`;
  const base: Omit<Judgement, 'verdict' | 'basis'> = { aggregate: target.aggregate, ours, target: target.value, gap, tolerance: target.tolerance, n: s.n };
  if (!useBest && s.sd !== undefined) {
    const tc = tCritical95(s.n - 1);
    const se = s.sd / Math.sqrt(s.n);
    const half = tc * se;
    base.t = (sign * (s.mean - target.value)) / se;
    base.tCritical = tc;
    base.ci95 = [s.mean - half, s.mean + half];
  }
  const cmp = `${label} ${fmt(ours)} vs target ${fmt(target.value)} (${target.aggregate}), gap ${gap > 0 ? '+' : ''}${fmt(gap)}, tolerance ${fmt(target.tolerance)}`;
  if (gap <= 0) return { ...base, verdict: 'reproduced', basis: `${cmp}: as good as the target or better` };
  if (gap > target.tolerance) return { ...base, verdict: 'not reproduced', basis: `${cmp}: worse by more than the tolerance` };
  if (base.t !== undefined && base.tCritical !== undefined) {
    const band = `95% band [${fmt(base.ci95![0])}, ${fmt(base.ci95![1])}], t = ${fmt(base.t)} vs t_crit ${fmt(base.tCritical)}`;
    return base.t <= base.tCritical
      ? { ...base, verdict: 'reproduced', basis: `${cmp}: difference not significant (${band})` }
      : { ...base, verdict: 'within tolerance', basis: `${cmp}: significantly worse but within tolerance (${band})` };
  }
  return { ...base, verdict: 'within tolerance', basis: `${cmp}: worse, within tolerance (no spread to test: ${useBest ? 'best-of-k' : 'one seed'})` };
}

export interface RowVerdictInput {
  suiteKind: SuiteKind;
  /** The row runs in its suite (false: it carries published figures only). */
  run: boolean;
  /** Records of the row, any phase and status. */
  recordCount: number;
  evalRecordCount: number;
  /** Some record of the row lists deviations from the paper protocol. */
  deviates: boolean;
  /** Our per-seed values of the verdict metric (ok eval records only). */
  values: readonly number[];
  /** Status summary for the basis text, e.g. "2 failed, 1 timeout". */
  statusText: string;
  target?: Target;
}

export interface RowVerdict {
  verdict: Verdict;
  basis: string;
  judgement?: Judgement;
}

/** The row's verdict: not run / proxy / a judgement of our values against the verdict target. */
export function rowVerdict(r: RowVerdictInput): RowVerdict {
  if (!r.run) return { verdict: 'not run', basis: 'reference row: published figures only, not run in this suite' };
  if (r.recordCount === 0) return { verdict: 'not run', basis: 'no run records' };
  if (r.suiteKind === 'proxy') return { verdict: 'proxy', basis: 'proxy suite: deviates from the paper protocol; not comparable with the paper figure' };
  if (r.deviates) return { verdict: 'proxy', basis: 'the run records list deviations from the paper protocol; not comparable with the paper figure' };
  if (r.evalRecordCount === 0) return { verdict: 'not run', basis: `eval phase has no records yet (search: ${r.statusText || 'none'})` };
  if (r.values.length === 0) return { verdict: 'not reproduced', basis: `no successful eval run (${r.statusText})` };
  if (r.target === undefined) throw new Error('rowVerdict: a paper row that ran has no verdict target (the suite loader should have refused it)');
  const judgement = judge(r.target, r.values);
  return { verdict: judgement.verdict, basis: judgement.basis, judgement };
}
