// Two-sided Mann–Whitney U test (Wilcoxon rank-sum) for the regression gate.
//
// - Exact p-value when both samples are small (each below EXACT_MAX_N): the permutation distribution of the
//   rank sum, computed by dynamic programming over the pooled (mid-)ranks. Without ties this is the classic
//   exact Mann–Whitney distribution; with ties it is the exact distribution conditional on the tie pattern (a
//   permutation test of the rank sum), so small samples with ties need no approximation.
//   Two-sided p = P(|R − E R| ≥ |r_obs − E R|) under H0, which equals 2·P(U ≤ min(U1, U2)) when there are no ties
//   (scipy's exact mannwhitneyu). With ties the null distribution need not be symmetric; we keep the
//   distance-from-the-mean definition (R coin's), where scipy's permutation method doubles the smaller tail.
// - Normal approximation otherwise, with the tie-corrected variance
//     σ² = n1·n2/12 · ((N + 1) − Σ(t³ − t) / (N (N − 1)))
//   and a continuity correction of 0.5 (R's wilcox.test and scipy's mannwhitneyu defaults).

/** Exact p-values are computed while both samples have fewer than this many values (R's rule). */
export const EXACT_MAX_N = 50;

export type MannWhitneyMethod = 'exact' | 'normal';

export interface MannWhitneyResult {
  n1: number;
  n2: number;
  /** U of the first sample: pairs with x > y, plus half the tied pairs. U1 + U2 = n1·n2. */
  u1: number;
  u2: number;
  /** Two-sided p-value. */
  pValue: number;
  method: MannWhitneyMethod;
  /** Whether any values were tied in the pooled sample. */
  ties: boolean;
  /** Standardised statistic (normal approximation only, continuity-corrected, ≥ 0). */
  z?: number;
}

export interface MannWhitneyOptions {
  /** 'auto' (default): exact when both samples have fewer than EXACT_MAX_N values, else normal. */
  method?: 'auto' | MannWhitneyMethod;
  /** Continuity correction for the normal approximation (default true). */
  continuity?: boolean;
}

interface Ranked {
  /** Mid-ranks of x (1-based; ties share the average rank). */
  ranksX: number[];
  /** Pooled mid-ranks in ascending order of value, doubled so they are integers. */
  doubledRanks: number[];
  /** Sizes of tie groups (only groups of size > 1). */
  tieSizes: number[];
}

function rankPooled(x: readonly number[], y: readonly number[]): Ranked {
  const pooled = [
    ...x.map((v, i) => ({ v, fromX: true, i })),
    ...y.map((v, i) => ({ v, fromX: false, i })),
  ].sort((a, b) => a.v - b.v);
  const ranksX = new Array<number>(x.length);
  const doubledRanks = new Array<number>(pooled.length);
  const tieSizes: number[] = [];
  for (let start = 0; start < pooled.length; ) {
    let end = start + 1;
    while (end < pooled.length && pooled[end].v === pooled[start].v) end++;
    // Positions start..end-1 hold ranks start+1..end; their average is (start + 1 + end) / 2.
    const doubled = start + 1 + end;
    for (let k = start; k < end; k++) {
      doubledRanks[k] = doubled;
      if (pooled[k].fromX) ranksX[pooled[k].i] = doubled / 2;
    }
    if (end - start > 1) tieSizes.push(end - start);
    start = end;
  }
  return { ranksX, doubledRanks, tieSizes };
}

/**
 * Complementary error function, erfc(x), with fractional error below 1.2e-7 everywhere
 * (Chebyshev fit from Numerical Recipes, `erfcc`). Computed directly so small tail probabilities keep precision.
 */
export function erfc(x: number): number {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/** Binomial coefficient as a double (exact up to 2^53, relative error ~1e-15 beyond). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  k = Math.min(k, n - k);
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c < 2 ** 53 ? Math.round(c) : c;
}

/**
 * The smallest two-sided p-value the exact test can give for sample sizes n1 and n2 (complete separation,
 * no ties): 2 / C(n1 + n2, n1). When it exceeds alpha, no data can be significant: the test has no power.
 * E.g. 2 vs 2 → 0.333, 3 vs 3 → 0.1, 3 vs 4 → 0.057, 4 vs 4 → 0.029.
 */
export function minAttainablePValue(n1: number, n2: number): number {
  if (n1 < 1 || n2 < 1) return 1;
  return Math.min(1, 2 / binomial(n1 + n2, n1));
}

/**
 * Exact two-sided p-value of the rank sum of a subset of size k drawn from the pooled doubled ranks,
 * conditional on the ranks (handles ties). dp[j][s] counts subsets of size j with doubled-rank sum s.
 */
function exactPValue(doubledRanks: readonly number[], k: number, observedDoubledSum: number): number {
  const n = doubledRanks.length;
  const maxSum = doubledRanks.slice(-k).reduce((a, b) => a + b, 0) || 0;
  const width = maxSum + 1;
  const dp = new Float64Array((k + 1) * width);
  dp[0] = 1;
  // Ranks are ascending, so after items 0..i-1 the subsets of size j have sums between the sum of the first j
  // ranks (lowSum[j]) and the sum of the last j of those items: only that band is visited.
  const lowSum = new Float64Array(k + 1);
  for (let j = 1; j <= k; j++) lowSum[j] = lowSum[j - 1] + doubledRanks[j - 1];
  for (let i = 0; i < n; i++) {
    const r = doubledRanks[i];
    for (let j = Math.min(i + 1, k); j >= 1; j--) {
      const to = j * width;
      const from = (j - 1) * width;
      let high = 0;
      for (let t = i - (j - 1); t < i; t++) high += doubledRanks[t];
      for (let s = Math.min(high, maxSum - r); s >= lowSum[j - 1]; s--) {
        const c = dp[from + s];
        if (c !== 0) dp[to + s + r] += c;
      }
    }
  }
  // E[doubled rank sum] = k·(N + 1): an integer, so "as extreme" compares integers exactly.
  const mean = k * (n + 1);
  const dev = Math.abs(observedDoubledSum - mean);
  let extreme = 0;
  let total = 0;
  for (let s = 0; s <= maxSum; s++) {
    const c = dp[k * width + s];
    if (c === 0) continue;
    total += c;
    if (Math.abs(s - mean) >= dev) extreme += c;
  }
  return Math.min(1, extreme / total);
}

/** Two-sided Mann–Whitney U test of x against y. Throws on an empty sample or a non-finite value. */
export function mannWhitneyU(
  x: readonly number[],
  y: readonly number[],
  options: MannWhitneyOptions = {},
): MannWhitneyResult {
  if (x.length === 0 || y.length === 0) throw new Error('mannWhitneyU: both samples need at least one value');
  for (const v of [...x, ...y]) {
    if (!Number.isFinite(v)) throw new Error(`mannWhitneyU: samples must be finite numbers (got ${v})`);
  }
  const n1 = x.length;
  const n2 = y.length;
  const n = n1 + n2;
  const { ranksX, doubledRanks, tieSizes } = rankPooled(x, y);
  const r1 = ranksX.reduce((a, b) => a + b, 0);
  const u1 = r1 - (n1 * (n1 + 1)) / 2;
  const u2 = n1 * n2 - u1;
  const ties = tieSizes.length > 0;
  const choice = options.method ?? 'auto';
  const method: MannWhitneyMethod =
    choice === 'auto' ? (n1 < EXACT_MAX_N && n2 < EXACT_MAX_N ? 'exact' : 'normal') : choice;

  if (method === 'exact') {
    // Enumerate subsets of the smaller sample (same p-value, cheaper).
    const useX = n1 <= n2;
    const k = useX ? n1 : n2;
    const doubledSumX = Math.round(2 * r1);
    const totalDoubled = n * (n + 1);
    const observed = useX ? doubledSumX : totalDoubled - doubledSumX;
    return { n1, n2, u1, u2, pValue: exactPValue(doubledRanks, k, observed), method, ties };
  }

  const mu = (n1 * n2) / 2;
  const tieTerm = tieSizes.reduce((a, t) => a + (t * t * t - t), 0);
  const variance = ((n1 * n2) / 12) * (n + 1 - (n > 1 ? tieTerm / (n * (n - 1)) : 0));
  if (!(variance > 0)) return { n1, n2, u1, u2, pValue: 1, method, ties, z: 0 };
  const cc = options.continuity === false ? 0 : 0.5;
  const z = Math.max(0, Math.abs(u1 - mu) - cc) / Math.sqrt(variance);
  return { n1, n2, u1, u2, pValue: Math.min(1, erfc(z / Math.SQRT2)), method, ties, z };
}
