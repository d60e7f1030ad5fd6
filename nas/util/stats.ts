// Statistics, the one owner of: median, mean, sample standard deviation, the Student-t critical values and the
// 95 % margin of error of a mean. A median of no samples is undefined (the type makes every caller say what "no
// samples" means for its own output); a mean of none is an error.
import { mean as ssMean, median as ssMedian, sampleStandardDeviation } from 'simple-statistics';

function nonEmpty(xs: readonly number[], what: string): number[] {
  if (xs.length === 0) throw new Error(`${what} of no samples`);
  return [...xs];
}

export function median(xs: readonly number[]): number | undefined {
  return xs.length === 0 ? undefined : ssMedian([...xs]);
}

/** The median where samples are required: no samples is an error naming `what`. */
export function requireMedian(xs: readonly number[], what: string): number {
  const m = median(xs);
  if (m === undefined) throw new Error(`${what}: median of no samples`);
  return m;
}

export function mean(xs: readonly number[]): number {
  return ssMean(nonEmpty(xs, 'mean'));
}

/** Sample standard deviation (n − 1); undefined for fewer than two values. */
export function sampleSd(xs: readonly number[]): number | undefined {
  return xs.length >= 2 ? sampleStandardDeviation([...xs]) : undefined;
}

/** t_{0.975, df} for df = 1..30 (two-sided 95 %). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
  2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const T975_LARGE: Array<[number, number]> = [[40, 2.021], [60, 2.0], [120, 1.98]];

/** Two-sided 95% Student-t critical value for df degrees of freedom (conservative between table rows). */
export function tCritical95(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new Error(`tCritical95: df must be a positive integer (got ${df})`);
  if (df <= 30) return T975[df - 1];
  for (const [d, t] of T975_LARGE) if (df <= d) return t;
  return 1.96;
}

/** Half-width of the two-sided 95 % t-interval of the mean (what tinybench reports as moe); 0 for n < 2. */
export function tMoe95(xs: readonly number[]): number {
  const sd = sampleSd(xs);
  if (sd === undefined) return 0;
  return (tCritical95(xs.length - 1) * sd) / Math.sqrt(xs.length);
}

/**
 * Wilson score 95 % interval of a binomial proportion `k` of `n` (better behaved than the normal approximation
 * near 0 and 1 and at small n). n = 0 gives [NaN, NaN].
 */
export function wilson95(k: number, n: number): [number, number] {
  if (n <= 0) return [NaN, NaN];
  const z = 1.959963984540054;
  const p = k / n;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}
