// Search → evaluation rank consistency: Kendall τ-b and Spearman ρ between each seed's end-of-search
// derived-net accuracy and its stand-alone evaluation accuracy, with percentile-bootstrap 95 % intervals.
// Spearman ρ is simple-statistics' sampleRankCorrelation (midranks for ties); simple-statistics has no Kendall τ,
// so τ-b is computed here from concordant and discordant pairs.
import { sampleRankCorrelation } from 'simple-statistics';
import { Rng } from '../../nas/rng.js';

/** Kendall τ-b (ties in either variable corrected); NaN for fewer than 2 pairs or a constant variable. */
export function kendallTauB(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`kendallTauB: ${x.length} x values but ${y.length} y values`);
  let conc = 0;
  let disc = 0;
  let tieX = 0;
  let tieY = 0;
  for (let i = 0; i < x.length; i++) {
    for (let j = i + 1; j < x.length; j++) {
      const dx = Math.sign(x[i] - x[j]);
      const dy = Math.sign(y[i] - y[j]);
      if (dx === 0 && dy === 0) continue;
      if (dx === 0) tieX++;
      else if (dy === 0) tieY++;
      else if (dx === dy) conc++;
      else disc++;
    }
  }
  const denom = Math.sqrt((conc + disc + tieX) * (conc + disc + tieY));
  return denom > 0 ? (conc - disc) / denom : NaN;
}

/** Spearman ρ on midranks; NaN for fewer than 2 pairs or a constant variable. */
export function spearmanRho(x: readonly number[], y: readonly number[]): number {
  if (x.length !== y.length) throw new Error(`spearmanRho: ${x.length} x values but ${y.length} y values`);
  if (x.length < 2) return NaN;
  const r = sampleRankCorrelation([...x], [...y]);
  return Number.isFinite(r) ? r : NaN;
}

export interface Correlation {
  value: number;
  /** Percentile bootstrap 95 % interval over resampled pairs; undefined below 4 pairs. */
  ci95?: [number, number];
  n: number;
}

/**
 * The statistic with a seeded percentile-bootstrap 95 % interval (`resamples` resamples of the pairs with
 * replacement; resamples where the statistic is undefined, e.g. all ties, are left out).
 */
export function withBootstrap(stat: (x: number[], y: number[]) => number, x: readonly number[], y: readonly number[],
  resamples = 2000, seed = 0): Correlation {
  const n = x.length;
  const value = stat([...x], [...y]);
  if (n < 4) return { value, n };
  const rng = new Rng(seed).child('bootstrap');
  const vals: number[] = [];
  for (let r = 0; r < resamples; r++) {
    const idx = Array.from({ length: n }, () => rng.int(n));
    const v = stat(idx.map((i) => x[i]), idx.map((i) => y[i]));
    if (Number.isFinite(v)) vals.push(v);
  }
  if (vals.length < resamples / 2) return { value, n };
  vals.sort((a, b) => a - b);
  const q = (p: number) => vals[Math.min(vals.length - 1, Math.max(0, Math.floor(p * (vals.length - 1))))];
  return { value, n, ci95: [q(0.025), q(0.975)] };
}

/** τ and ρ with intervals for paired values (one pair per seed). */
export function rankConsistency(x: readonly number[], y: readonly number[], seed = 0): { kendall: Correlation; spearman: Correlation } {
  return { kendall: withBootstrap(kendallTauB, x, y, 2000, seed), spearman: withBootstrap(spearmanRho, x, y, 2000, seed) };
}
