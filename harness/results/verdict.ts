// Row verdicts: what a table row may claim, in order of precedence.
//   not run        a reference row, or no records at all (with the command that would run it);
//   failed         a declared run failed, diverged or timed out (the reason is named; no mean over survivors);
//   incomplete     i of n declared runs finished;
//   proxy          a proxy suite, or records that deviate from the paper protocol (deviations listed);
//   reproduced / inconclusive / not reproduced   the statistics of judgement.ts on every declared seed.
// A verdict on an inferred target [I], or on a space that is our interpretation, carries the label `indicative`.
import { mean, sampleSd } from '../../nas/util/stats.js';
import type { Target } from '../suites/targets.js';
import type { SuiteKind } from '../suites/suite.js';
import { judgeValues, type Judgement, type JudgeTarget } from './judgement.js';

export const VERDICTS = ['reproduced', 'inconclusive', 'not reproduced', 'failed', 'incomplete', 'proxy', 'not run'] as const;
export type Verdict = (typeof VERDICTS)[number];

/** Verdicts that fail `check` (and the nightly): a target missed, or a run that did not end ok. */
export const FAILING_VERDICTS: readonly Verdict[] = ['not reproduced', 'failed'];

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
  return { n: values.length, mean: mean(values), sd: sampleSd(values), best: direction === 'lower' ? lo : hi, worst: direction === 'lower' ? hi : lo };
}

/** The judgement statistics' view of a suite target: the paper's sd counts only together with its n. */
export function judgeTarget(t: Target): JudgeTarget {
  const spread = t.sd !== undefined && t.n !== undefined && t.aggregate === 'mean-of-k' ? { sd: t.sd, n: t.n } : {};
  if (t.aggregate === 'best-of-k') return { value: t.value, aggregate: 'best-of-k', ...(t.n !== undefined ? { k: t.n } : {}) };
  // 'single' (one published run) is judged like a mean-of-k target without spread: the figure is a constant.
  return { value: t.value, aggregate: 'mean-of-k', ...spread };
}

export interface RowVerdictInput {
  suiteKind: SuiteKind;
  /** The row runs in its suite (false: it carries published figures only). */
  run: boolean;
  /** Current (not stale) records of the row, any phase and status. */
  recordCount: number;
  /** Runs the suite declares for the row (seeds × phases) and how many of them finished ok. */
  declared: number;
  finished: number;
  /** One line per declared run that failed, diverged or timed out: "eval seed 1 diverged: …". */
  failures: readonly string[];
  /** Deviations from the paper protocol that the records or the run set show. */
  deviations: readonly string[];
  /** Our per-seed values of the verdict metric (ok eval records of declared seeds). */
  values: readonly number[];
  target?: Target;
  /** Why a verdict on this row is indicative only (an inferred target, our interpretation of a space). */
  indicative?: string;
}

export interface RowVerdict {
  verdict: Verdict;
  basis: string;
  judgement?: Judgement;
  /** Set when the verdict is indicative only; says why. */
  indicative?: string;
}

/** The row's verdict (see the header for the precedence). */
export function rowVerdict(r: RowVerdictInput): RowVerdict {
  if (!r.run) return { verdict: 'not run', basis: 'reference row: published figures only, not run in this suite' };
  if (r.recordCount === 0) return { verdict: 'not run', basis: 'no run records' };
  if (r.failures.length > 0) {
    return { verdict: 'failed', basis: `${r.failures.length} of ${r.declared} declared runs did not end ok: ${r.failures.join('; ')}` };
  }
  if (r.finished < r.declared) return { verdict: 'incomplete', basis: `incomplete: ${r.finished} of ${r.declared} declared runs finished` };
  if (r.suiteKind === 'proxy') return { verdict: 'proxy', basis: 'proxy suite: deviates from the paper protocol (deviations listed); not comparable with the paper figure' };
  if (r.deviations.length > 0) return { verdict: 'proxy', basis: `deviates from the paper protocol: ${r.deviations.join('; ')}` };
  if (r.target === undefined) throw new Error('rowVerdict: a paper row that ran has no verdict target (the suite loader should have refused it)');
  if (r.values.length === 0) return { verdict: 'failed', basis: 'every declared run ended ok, but no eval record holds the verdict metric' };
  const judgement = judgeValues({ values: r.values, target: judgeTarget(r.target), tolerance: r.target.tolerance, direction: r.target.direction });
  if (judgement.verdict === undefined) return { verdict: 'proxy', basis: judgement.basis, judgement };
  return {
    verdict: judgement.verdict,
    basis: r.indicative ? `${judgement.basis}; indicative only: ${r.indicative}` : judgement.basis,
    judgement,
    ...(r.indicative ? { indicative: r.indicative } : {}),
  };
}

/** "reproduced", or "reproduced (indicative)". */
export function verdictLabel(v: { verdict: Verdict; indicative?: string }): string {
  return v.indicative ? `${v.verdict} (indicative)` : v.verdict;
}
