// Step detection over the nightly series of each measure: where did a lasting change begin?
//
// Model (asv's): the series of per-commit medians is piecewise constant plus noise. We fit it exactly by optimal
// partitioning (dynamic programming over all segmentations), minimising
//     Σ_segments Σ_i |y_i − median(segment)|  +  γ · (number of segments)
// with the L1 cost (robust to single-night outliers) and a per-step penalty scaled to the noise:
//     γ = β · σ · ln(n),   σ = 1.0484 · median |y_{i+1} − y_i|
// σ is a robust estimate of the night-to-night noise (the MAD of first differences, scaled to a Gaussian sd; a few
// real steps barely move it), floored at relativeNoiseFloor · |median(y)| so a perfectly flat series does not make
// every wobble a step. The ln(n) factor is the Schwarz-criterion growth asv also uses. Two more rules make a step
// "lasting": every segment spans at least minSegment commits (default 3, so a one- or two-night excursion is not a
// step; the compare gate judges single nights), and adjacent segments whose levels differ by less than minRatio
// (default 1.05) are merged, smallest difference first.
// Cost: O(n² log n) time (Fenwick trees for the running medians), O(n) memory; a few ms for a year of nightlies.
import { requireMedian } from '../../nas/util/stats.js';
import { compareEntries, entryMeasures, type Better, type HistoryEntry } from './history.js';
import { formatValue, ratioOf } from './compare.js';

export interface StepOptions {
  /** β in γ = β·σ·ln(n) (default 3). */
  beta?: number;
  /** Shortest segment, in commits (default 3). */
  minSegment?: number;
  /** Adjacent levels closer than this ratio are merged (default 1.05; 1 keeps every fitted step). */
  minRatio?: number;
  /** Floor on σ relative to |median(y)| (default 0.001). */
  relativeNoiseFloor?: number;
}

export interface Segment {
  /** First index (inclusive). */
  start: number;
  /** One past the last index. */
  end: number;
  /** Median of the segment. */
  level: number;
}

export interface StepFit {
  segments: Segment[];
  /** Estimated noise (Gaussian-equivalent sd of one point). */
  sigma: number;
  /** γ, the penalty per segment. */
  penalty: number;
}

const DEFAULTS = { beta: 3, minSegment: 3, minRatio: 1.05, relativeNoiseFloor: 0.001 };

/** Robust noise scale of a series: MAD of first differences, scaled to the sd of one point for Gaussian noise. */
export function noiseScale(y: readonly number[], relativeFloor = DEFAULTS.relativeNoiseFloor): number {
  const floor = y.length ? relativeFloor * Math.abs(requireMedian(y, 'noise scale')) : 0;
  if (y.length < 2) return floor;
  const diffs = y.slice(1).map((v, i) => Math.abs(v - y[i]));
  // For d = e1 − e2 with e ~ N(0, σ²): median |d| = 0.6745·√2·σ, so σ = median|d| / 0.9539 = 1.0484·median|d|.
  return Math.max(floor, requireMedian(diffs, 'noise scale') / (0.6744897501960817 * Math.SQRT2));
}

/** L1 cost of every segment [i, j) computed on the fly: Σ|y − median| via Fenwick trees over value ranks. */
class SegmentCost {
  private readonly rank: Int32Array;
  private readonly sorted: Float64Array;
  private readonly cnt: Int32Array;
  private readonly sum: Float64Array;
  private readonly n: number;
  private readonly log: number;
  private total = 0;
  private m = 0;

  constructor(private readonly y: readonly number[]) {
    const n = y.length;
    this.n = n;
    const order = [...y.keys()].sort((a, b) => y[a] - y[b] || a - b);
    this.rank = new Int32Array(n);
    this.sorted = new Float64Array(n);
    order.forEach((idx, r) => {
      this.rank[idx] = r + 1;
      this.sorted[r] = y[idx];
    });
    this.cnt = new Int32Array(n + 1);
    this.sum = new Float64Array(n + 1);
    this.log = 1 << Math.floor(Math.log2(Math.max(1, n)));
  }

  reset(): void {
    this.cnt.fill(0);
    this.sum.fill(0);
    this.total = 0;
    this.m = 0;
  }

  add(idx: number): void {
    const v = this.y[idx];
    for (let p = this.rank[idx]; p <= this.n; p += p & -p) {
      this.cnt[p]++;
      this.sum[p] += v;
    }
    this.total += v;
    this.m++;
  }

  /** Position (1-based rank) of the k-th smallest element added, and the sum of the k smallest. */
  private kth(k: number): [number, number] {
    let pos = 0;
    let acc = 0;
    let s = 0;
    for (let step = this.log; step > 0; step >>= 1) {
      const next = pos + step;
      if (next <= this.n && acc + this.cnt[next] < k) {
        pos = next;
        acc += this.cnt[next];
        s += this.sum[next];
      }
    }
    // pos + 1 is the rank holding the k-th element (ranks are distinct, so it holds exactly one).
    return [pos + 1, s + this.sorted[pos]];
  }

  /** Cost of the elements added since reset(). */
  cost(): number {
    const k = Math.floor(this.m / 2);
    if (this.m < 2) return 0;
    const [, sumLow] = this.kth(k);
    if (this.m % 2 === 0) return Math.max(0, this.total - 2 * sumLow);
    const [medRank] = this.kth(k + 1);
    return Math.max(0, this.total - 2 * sumLow - this.sorted[medRank - 1]);
  }
}

function levelOf(y: readonly number[], start: number, end: number): number {
  return requireMedian(y.slice(start, end), 'segment level');
}

/** max/min of two levels' magnitudes: 1 when equal, Infinity when exactly one is 0. */
function levelRatio(a: number, b: number): number {
  const hi = Math.max(Math.abs(a), Math.abs(b));
  const lo = Math.min(Math.abs(a), Math.abs(b));
  return hi === 0 ? 1 : lo === 0 ? Infinity : Math.sign(a) !== Math.sign(b) ? Infinity : hi / lo;
}

/** Fit a piecewise-constant model to the series (see the file header for the rules). */
export function fitSteps(y: readonly number[], options: StepOptions = {}): StepFit {
  const beta = options.beta ?? DEFAULTS.beta;
  const minSegment = options.minSegment ?? DEFAULTS.minSegment;
  const minRatio = options.minRatio ?? DEFAULTS.minRatio;
  const relativeNoiseFloor = options.relativeNoiseFloor ?? DEFAULTS.relativeNoiseFloor;
  if (!(beta >= 0)) throw new Error('beta must be non-negative');
  if (!(minSegment >= 1)) throw new Error('minSegment must be at least 1');
  if (!(minRatio >= 1)) throw new Error('minRatio must be at least 1');
  if (y.some((v) => !Number.isFinite(v))) throw new Error('step detection needs finite values');
  const n = y.length;
  const sigma = noiseScale(y, relativeNoiseFloor);
  const penalty = beta * sigma * Math.log(Math.max(n, 2));
  if (n === 0) return { segments: [], sigma, penalty };
  if (n < 2 * minSegment) return { segments: [{ start: 0, end: n, level: levelOf(y, 0, n) }], sigma, penalty };

  // best[j]: minimal penalised cost of y[0..j); prev[j]: start of the last segment in that optimum.
  const best = new Float64Array(n + 1).fill(Infinity);
  const prev = new Int32Array(n + 1).fill(-1);
  best[0] = 0;
  const seg = new SegmentCost(y);
  for (let i = 0; i + minSegment <= n; i++) {
    if (best[i] === Infinity) continue;
    seg.reset();
    for (let j = i; j < n; j++) {
      seg.add(j);
      if (j + 1 - i < minSegment) continue;
      // The tail after j must be empty or able to hold a segment.
      if (j + 1 < n && n - (j + 1) < minSegment) continue;
      const c = best[i] + seg.cost() + penalty;
      if (c < best[j + 1]) {
        best[j + 1] = c;
        prev[j + 1] = i;
      }
    }
  }
  const bounds: number[] = [];
  for (let j = n; j > 0; j = prev[j]) bounds.unshift(j);
  let segments: Segment[] = bounds.map((end, s) => {
    const start = s === 0 ? 0 : bounds[s - 1];
    return { start, end, level: levelOf(y, start, end) };
  });

  // Merge adjacent segments whose levels are within minRatio, the closest pair first.
  for (;;) {
    let at = -1;
    let closest = Infinity;
    for (let s = 1; s < segments.length; s++) {
      const r = levelRatio(segments[s - 1].level, segments[s].level);
      if (r < minRatio && r < closest) {
        closest = r;
        at = s;
      }
    }
    if (at < 0) break;
    const merged = { start: segments[at - 1].start, end: segments[at].end, level: 0 };
    merged.level = levelOf(y, merged.start, merged.end);
    segments = [...segments.slice(0, at - 1), merged, ...segments.slice(at + 1)];
  }
  return { segments, sigma, penalty };
}

// ---------------------------------------------------------------------------------------------------------------
// Steps in the history

export interface Step {
  measure: string;
  /** First commit of the new level. */
  commit: string;
  timestamp: string;
  /** The commit before it in the series (the last one at the old level). */
  previousCommit: string;
  /** Index of `commit` in this measure's series. */
  index: number;
  before: number;
  after: number;
  /** after / before. */
  ratio: number;
  kind: 'regression' | 'improvement';
}

export interface MeasureSteps {
  measure: string;
  unit: string;
  better: Better;
  /** Commits in this measure's series (entries that have the measure). */
  points: number;
  sigma: number;
  penalty: number;
  segments: Array<Segment & { firstCommit: string; lastCommit: string }>;
  steps: Step[];
}

export interface FindStepsOptions extends StepOptions {
  /** Only this measure: an exact name, else every measure whose name contains it. */
  measure?: string;
}

/** Measure names in the entries that match the filter (exact name first, else substring). */
export function selectMeasures(entries: readonly HistoryEntry[], filter?: string): string[] {
  const names = new Set<string>();
  for (const e of entries) for (const k of entryMeasures(e).keys()) names.add(k);
  const all = [...names].sort();
  if (filter === undefined) return all;
  if (names.has(filter)) return [filter];
  return all.filter((n) => n.includes(filter));
}

/** Detect steps in the series of each measure (entries of one machine class, any order). */
export function findSteps(entries: readonly HistoryEntry[], options: FindStepsOptions = {}): MeasureSteps[] {
  const classes = new Set(entries.map((e) => e.machineClass));
  if (classes.size > 1) {
    throw new Error(`step detection needs one machine class, got ${[...classes].join(', ')}`);
  }
  const ordered = [...entries].sort(compareEntries);
  const measures = ordered.map((e) => entryMeasures(e));
  const out: MeasureSteps[] = [];
  for (const name of selectMeasures(ordered, options.measure)) {
    const series: Array<{ entry: HistoryEntry; value: number }> = [];
    let unit = '';
    let better: Better = 'lower';
    ordered.forEach((entry, i) => {
      const m = measures[i].get(name);
      if (!m) return;
      series.push({ entry, value: m.median });
      unit = m.unit;
      better = m.better;
    });
    const fit = fitSteps(
      series.map((p) => p.value),
      options,
    );
    const steps: Step[] = [];
    for (let s = 1; s < fit.segments.length; s++) {
      const { start, level: after } = fit.segments[s];
      const before = fit.segments[s - 1].level;
      const ratio = ratioOf(before, after);
      const worse = better === 'lower' ? after > before : after < before;
      steps.push({
        measure: name,
        commit: series[start].entry.commit,
        timestamp: series[start].entry.timestamp,
        previousCommit: series[start - 1].entry.commit,
        index: start,
        before,
        after,
        ratio,
        kind: worse ? 'regression' : 'improvement',
      });
    }
    out.push({
      measure: name,
      unit,
      better,
      points: series.length,
      sigma: fit.sigma,
      penalty: fit.penalty,
      segments: fit.segments.map((g) => ({ ...g, firstCommit: series[g.start].entry.commit, lastCommit: series[g.end - 1].entry.commit })),
      steps,
    });
  }
  return out;
}

/** The steps as text, one line per step, then how many measures have any. */
export function formatSteps(results: readonly MeasureSteps[]): string {
  const lines: string[] = [];
  for (const r of results) {
    for (const s of r.steps) {
      lines.push(
        `${s.kind === 'regression' ? '+' : '-'} ${r.measure}: ${s.kind} at ${s.commit} (after ${s.previousCommit}, ` +
          `${s.timestamp}): ${formatValue(s.before, r.unit)} → ${formatValue(s.after, r.unit)}, ratio ${s.ratio.toFixed(3)}`,
      );
    }
  }
  const withSteps = results.filter((r) => r.steps.length > 0).length;
  lines.push(`${withSteps} of ${results.length} measure${results.length === 1 ? '' : 's'} with steps`);
  return lines.join('\n') + '\n';
}
