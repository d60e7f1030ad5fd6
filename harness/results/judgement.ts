// The statistics behind a verdict: our per-seed values against one paper target.
//
// Mean-of-k targets are judged as a one-sided non-inferiority test at 95 % (Wellek, "Testing Statistical Hypotheses
// of Equivalence and Noninferiority", 2nd ed., ch. 2; the same construction as the FDA/EMA non-inferiority margin):
// with margin M = target + tolerance (lower is better; target − tolerance when higher is better),
//   reproduced      when the one-sided 95 % confidence bound of our mean on the worse side is within M;
//   not reproduced  when the one-sided 95 % bound on the better side is beyond M (we are surely worse than M);
//   inconclusive    otherwise, with the number of seeds our observed sd says would settle it.
// The bound is Student's t with n − 1 degrees of freedom on our mean; when the target carries its own sd and n, it is
// Welch's two-sample interval on (ours − paper) with Welch–Satterthwaite degrees of freedom, so the paper's own
// uncertainty counts. Identical values (sd = 0) give a zero-width interval, never a division by zero. So a noisy set
// whose mean sits inside the margin stays inconclusive, and a tight one is reproduced: noise never earns the better
// verdict.
// Best-of-k targets have no interval: the best of exactly k runs (chosen by the source's selection protocol) is
// compared with M as a point; with any other count the row is not judged here (the table labels it proxy).
import tQuantile from '@stdlib/stats-base-dists-t-quantile';
import { mean, sampleSd } from '../../nas/util/stats.js';

export type Direction = 'lower' | 'higher';
export type Aggregate = 'mean-of-k' | 'best-of-k';
export type StatVerdict = 'reproduced' | 'inconclusive' | 'not reproduced';

export interface JudgeTarget {
  value: number;
  /** The paper's sd over its n runs, when it printed one. */
  sd?: number;
  n?: number;
  aggregate: Aggregate;
  /** best-of-k: the k the protocol declares. */
  k?: number;
}

export interface JudgeInput {
  values: readonly number[];
  target: JudgeTarget;
  tolerance: number;
  direction: Direction;
}

export interface Judgement {
  /** undefined: not judged (best-of-k with another count than the declared k); `basis` says why. */
  verdict: StatVerdict | undefined;
  aggregate: Aggregate;
  direction: Direction;
  /** Our figure: the mean (mean-of-k) or the best value (best-of-k). */
  ours: number;
  sd?: number;
  n: number;
  target: number;
  tolerance: number;
  /** The margin M: target + tolerance (lower is better) or target − tolerance. */
  margin: number;
  /** The bound that decided, on our figure's scale (for inconclusive: the worse-side bound). */
  bound: number;
  /** One-sided 95 % bounds of our figure (worse side, better side); equal to `ours` for a point comparison. */
  worseBound: number;
  betterBound: number;
  /** 'one-sample t' | 'Welch' | 'point'. */
  method: 'one-sample t' | 'Welch' | 'point';
  df?: number;
  /** Inconclusive mean-of-k: the seed count at which our observed sd would settle it (undefined: never). */
  seedsToSettle?: number;
  /** One sentence: what decided. */
  basis: string;
}

const LEVEL = 0.95;
const MAX_SEEDS = 10_000;

/** One-sided 95 % Student-t quantile; the normal quantile for infinite df. */
export function tOneSided95(df: number): number {
  if (!(df > 0)) throw new Error(`t quantile: df must be positive (got ${df})`);
  return Number.isFinite(df) ? tQuantile(LEVEL, df) : 1.6448536269514722;
}

/** Welch–Satterthwaite degrees of freedom; Infinity when both variance terms are zero. */
export function welchDf(s1: number, n1: number, s2: number, n2: number): number {
  const a = (s1 * s1) / n1;
  const b = (s2 * s2) / n2;
  const den = (n1 > 1 ? (a * a) / (n1 - 1) : 0) + (n2 > 1 ? (b * b) / (n2 - 1) : 0);
  if (den === 0) return Infinity;
  return ((a + b) * (a + b)) / den;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? String(+x.toFixed(3)) : String(x);
}

/** Validate the numbers a judgement needs; throws an Error naming the field (callers turn it into usage errors). */
export function checkJudgeInput(input: JudgeInput): void {
  const { values, target, tolerance } = input;
  if (values.length === 0) throw new Error('no values to judge');
  if (values.some((v) => !Number.isFinite(v))) throw new Error('every value must be a finite number');
  if (!Number.isFinite(target.value)) throw new Error('the target must be a finite number');
  if (!(tolerance >= 0) || !Number.isFinite(tolerance)) throw new Error(`the tolerance must be a number ≥ 0 (got ${tolerance})`);
  if (target.sd !== undefined && !(target.sd >= 0)) throw new Error(`the target's sd must be ≥ 0 (got ${target.sd})`);
  if (target.n !== undefined && !(Number.isInteger(target.n) && target.n >= 2)) throw new Error(`the target's n must be an integer ≥ 2 (got ${target.n})`);
  if ((target.sd === undefined) !== (target.n === undefined)) throw new Error("the target's sd and n go together: give both or neither");
}

/** Judge our values against a target (see the header for the rules). */
export function judgeValues(input: JudgeInput): Judgement {
  checkJudgeInput(input);
  const { values, target, tolerance, direction } = input;
  const worse = direction === 'lower' ? 1 : -1; // the sign of "worse" on the value scale
  const margin = target.value + worse * tolerance;
  const n = values.length;
  const base = { aggregate: target.aggregate, direction, n, target: target.value, tolerance, margin };
  // x is worse than the margin; a relative 1e-9 slack keeps decimal inputs (2.4 + 0.3) from deciding by rounding.
  const slack = 1e-9 * Math.max(1, Math.abs(margin));
  const beyond = (x: number) => worse * (x - margin) > slack;
  const dirWord = direction === 'lower' ? 'lower is better' : 'higher is better';

  if (target.aggregate === 'best-of-k') {
    const best = direction === 'lower' ? Math.min(...values) : Math.max(...values);
    const judged = target.k === undefined || target.k === n;
    const verdict: StatVerdict | undefined = !judged ? undefined : beyond(best) ? 'not reproduced' : 'reproduced';
    const basis = !judged
      ? `best of ${n}, but the target is the best of ${target.k} under its selection protocol: not judged`
      : `best of ${n} = ${fmt(best)} against the margin ${fmt(margin)} (target ${fmt(target.value)} ${direction === 'lower' ? '+' : '−'} tolerance ${fmt(tolerance)}, ${dirWord}); a best-of-k figure has no interval, so this is a point comparison`;
    return { ...base, verdict, ours: best, sd: sampleSd(values), bound: best, worseBound: best, betterBound: best, method: 'point', basis };
  }

  const m = mean(values);
  const s = sampleSd(values);
  if (s === undefined) {
    return {
      ...base, verdict: 'inconclusive', ours: m, bound: m, worseBound: m, betterBound: m, method: 'one-sample t',
      seedsToSettle: 2,
      basis: `one value against a mean-of-${target.n ?? 'k'} target: a mean needs at least 2 seeds for an interval, so nothing is decided`,
    };
  }
  const paper = target.sd !== undefined && target.n !== undefined ? { sd: target.sd, n: target.n } : undefined;
  const halfWidth = (nn: number): { hw: number; df: number } => {
    if (paper) {
      const df = welchDf(s, nn, paper.sd, paper.n);
      const se = Math.sqrt((s * s) / nn + (paper.sd * paper.sd) / paper.n);
      return { hw: se === 0 ? 0 : tOneSided95(df) * se, df };
    }
    const df = nn - 1;
    return { hw: s === 0 ? 0 : (tOneSided95(df) * s) / Math.sqrt(nn), df };
  };
  const { hw, df } = halfWidth(n);
  const worseBound = m + worse * hw;
  const betterBound = m - worse * hw;
  const method = paper ? 'Welch' : 'one-sample t';
  const what = paper
    ? `Welch's one-sided 95 % bound on ours − paper (df ${fmt(df)}, paper sd ${fmt(paper.sd)} over ${paper.n})`
    : `the one-sided 95 % t bound of our mean (df ${df})`;
  const side = direction === 'lower' ? 'upper' : 'lower';
  const otherSide = direction === 'lower' ? 'lower' : 'upper';
  if (!beyond(worseBound)) {
    return {
      ...base, verdict: 'reproduced', ours: m, sd: s, bound: worseBound, worseBound, betterBound, method, df,
      basis: `mean ${fmt(m)} ± sd ${fmt(s)} over ${n}: ${what} gives the ${side} bound ${fmt(worseBound)}, within the margin ${fmt(margin)} (${dirWord})`,
    };
  }
  if (beyond(betterBound)) {
    return {
      ...base, verdict: 'not reproduced', ours: m, sd: s, bound: betterBound, worseBound, betterBound, method, df,
      basis: `mean ${fmt(m)} ± sd ${fmt(s)} over ${n}: ${what} gives the ${otherSide} bound ${fmt(betterBound)}, beyond the margin ${fmt(margin)} (${dirWord})`,
    };
  }
  // Inconclusive: the seed count at which the same mean and sd would put the bound on one side of the margin.
  const gap = Math.abs(m - margin);
  let seedsToSettle: number | undefined;
  if (gap > 0) {
    for (let nn = n + 1; nn <= MAX_SEEDS; nn++) {
      if (halfWidth(nn).hw < gap) {
        seedsToSettle = nn;
        break;
      }
    }
  }
  const settle = seedsToSettle !== undefined
    ? `about ${seedsToSettle} seeds with this sd would settle it`
    : paper ? "no seed count settles it: the paper's own uncertainty is wider than the distance to the margin" : 'no seed count settles it: the mean sits on the margin';
  return {
    ...base, verdict: 'inconclusive', ours: m, sd: s, bound: worseBound, worseBound, betterBound, method, df, seedsToSettle,
    basis: `mean ${fmt(m)} ± sd ${fmt(s)} over ${n}: ${what} spans the margin ${fmt(margin)} (${fmt(Math.min(worseBound, betterBound))} … ${fmt(Math.max(worseBound, betterBound))}); ${settle}`,
  };
}
