// Per-row consistency and cost figures over seeds: the consistency gap (super-net − derived net, held-out data,
// re-estimated BN) with a t interval over seeds, Kendall τ / Spearman ρ between each seed's derived-net accuracy
// at the end of search and its stand-alone test accuracy (bootstrap intervals), and the search cost as the papers
// count it (warm-up + search epochs) with its interval.
import { mean, tMoe95 } from '../../nas/util/stats.js';
import type { LoadedRecord } from './store.js';
import { rankConsistency, type Correlation } from './rank-correlation.js';

export interface MeanCi {
  mean: number;
  /** Half-width of the t-based 95 % interval over seeds (NaN for one seed). */
  moe95: number;
  n: number;
}

export interface ConsistencyFigures {
  /** Super-net minus derived-net accuracy, percentage points. */
  gap?: MeanCi;
  kendall?: Correlation;
  spearman?: Correlation;
  /** Seconds of the warm-up and search epochs (measures.phases). */
  searchEpochSeconds?: MeanCi;
  searchPeakRssBytes?: MeanCi;
}

export function meanCi(xs: number[]): MeanCi | undefined {
  if (xs.length === 0) return undefined;
  return { mean: mean(xs), moe95: xs.length > 1 ? tMoe95(xs) : NaN, n: xs.length };
}

/** The figures of one row from its search and eval records (ok ones only; seeds paired by number). */
export function consistencyFigures(search: LoadedRecord[], evals: LoadedRecord[]): ConsistencyFigures {
  const okS = search.filter((r) => r.record.status === 'ok' && r.record.search);
  const okE = new Map(evals.filter((r) => r.record.status === 'ok' && r.record.eval).map((r) => [r.seed, r.record.eval!]));
  const gaps = okS.map((r) => 100 * r.record.search!.consistencyGap).filter(Number.isFinite);
  const pairs = okS.flatMap((r) => {
    const e = okE.get(r.seed);
    const d = r.record.search!.derivedValAcc;
    return e && Number.isFinite(d) && Number.isFinite(e.testAcc) ? [[d, e.testAcc] as const] : [];
  });
  const rc = pairs.length >= 2 ? rankConsistency(pairs.map((p) => p[0]), pairs.map((p) => p[1])) : undefined;
  const epochSeconds = okS.flatMap((r) => {
    const d = r.record.measures?.searchGpuDays;
    return d === undefined ? [] : [d * 86400];
  });
  return {
    gap: meanCi(gaps),
    kendall: rc?.kendall,
    spearman: rc?.spearman,
    searchEpochSeconds: meanCi(epochSeconds),
    searchPeakRssBytes: meanCi(okS.flatMap((r) => (r.record.measures ? [r.record.measures.peakRssBytes] : []))),
  };
}

/**
 * A ratio of two rows' means (e.g. EnTranNAS ÷ DARTS search seconds) with a delta-method 95 % interval
 * (relative errors added in quadrature); undefined when either is missing.
 */
export function ratioCi(a: MeanCi | undefined, b: MeanCi | undefined): { ratio: number; ci95?: [number, number] } | undefined {
  if (!a || !b || b.mean === 0) return undefined;
  const ratio = a.mean / b.mean;
  if (!Number.isFinite(a.moe95) || !Number.isFinite(b.moe95)) return { ratio };
  const rel = Math.sqrt((a.moe95 / a.mean) ** 2 + (b.moe95 / b.mean) ** 2);
  return { ratio, ci95: [ratio * (1 - rel), ratio * (1 + rel)] };
}
