// The regression gate: compare two history entries (same machine class) measure by measure.
//
// Rules (asv's, made explicit):
// - ratio = head median / base median. Direction comes from the measure: for time, memory, GPU-days and error
//   higher is worse (better: 'lower'); for rates (ops/s) lower is worse.
// - A measure is a REGRESSION only when the ratio is worse than `factor` (ratio > factor, or < 1/factor for
//   higher-is-better measures) AND the two-sided Mann–Whitney U test on the samples gives p ≤ alpha.
//   An IMPROVEMENT is the mirror image (better than 1/factor AND p ≤ alpha). Everything else is UNCHANGED,
//   with a note when only one of the two conditions held.
// - INSUFFICIENT SAMPLES: when either side has a single sample (e.g. one nightly error figure), or so few that
//   even complete separation cannot reach alpha (2/C(n1+n2, n1) > alpha: 2 vs 2, 3 vs 3, 2 vs 5, ...), the test
//   cannot say anything. Such a measure is reported as "insufficient samples" and never fails the gate, unless
//   `untestedFactor` is set: then a ratio worse than untestedFactor (e.g. 1.5) counts as a regression (and better
//   than 1/untestedFactor as an improvement), marked untested. Choose untestedFactor well above the run-to-run
//   spread of that measure; it is off by default.
// - Measures present on one side only are reported as "only in base" / "only in head"; they never fail the gate.
// - Different units for the same measure on the two sides are reported as "unit mismatch" (never compared).
// - Entries from different machine classes are never compared: compare() throws MachineClassMismatchError.
// Many measures are tested at once without a multiple-testing correction; the factor gate is what keeps the
// false-alarm rate down (a change within the factor never fails, however significant).
import { MachineClassMismatchError } from '../measure/machine.js';
import { entryMeasures, type Better, type HistoryEntry, type Measure } from './history.js';
import { mannWhitneyU, minAttainablePValue, type MannWhitneyMethod } from './mannwhitney.js';

export type Verdict = 'regression' | 'improvement' | 'unchanged' | 'insufficient samples' | 'only in base' | 'only in head' | 'unit mismatch';

export interface CompareOptions {
  /** Ratio a change must pass to count (default 1.1, i.e. 10%). Must be > 1. */
  factor?: number;
  /** Significance level of the Mann–Whitney U test (default 0.05). */
  alpha?: number;
  /** Ratio beyond which an untestable measure (too few samples) still counts. Off when undefined. */
  untestedFactor?: number;
}

export interface MeasureComparison {
  name: string;
  unit: string;
  better: Better;
  baseMedian?: number;
  headMedian?: number;
  /** headMedian / baseMedian (Infinity when base is 0 and head is not; 1 when both are 0). */
  ratio?: number;
  /** Two-sided Mann–Whitney p-value; null when the test could not be run. */
  pValue: number | null;
  test?: MannWhitneyMethod;
  baseSamples: number;
  headSamples: number;
  verdict: Verdict;
  /** Why, when the verdict alone does not say (e.g. "beyond factor, not significant"). */
  note?: string;
}

export interface ComparisonReport {
  base: { commit: string; machineClass: string; timestamp: string };
  head: { commit: string; machineClass: string; timestamp: string };
  factor: number;
  alpha: number;
  untestedFactor?: number;
  results: MeasureComparison[];
  counts: Record<Verdict, number>;
  /** True when any measure is a regression: the gate fails. */
  regressed: boolean;
}

export function resolveCompareOptions(o: CompareOptions = {}): Required<Omit<CompareOptions, 'untestedFactor'>> & Pick<CompareOptions, 'untestedFactor'> {
  const factor = o.factor ?? 1.1;
  const alpha = o.alpha ?? 0.05;
  if (!(Number.isFinite(factor) && factor > 1)) throw new Error(`factor must be a number above 1 (got ${o.factor})`);
  if (!(alpha > 0 && alpha < 1)) throw new Error(`alpha must be between 0 and 1 (got ${o.alpha})`);
  if (o.untestedFactor !== undefined && !(Number.isFinite(o.untestedFactor) && o.untestedFactor > 1)) {
    throw new Error(`untestedFactor must be a number above 1 (got ${o.untestedFactor})`);
  }
  return { factor, alpha, untestedFactor: o.untestedFactor };
}

export function ratioOf(base: number, head: number): number {
  if (base === 0) return head === 0 ? 1 : head > 0 ? Infinity : -Infinity;
  return head / base;
}

/** Which side of the factor a ratio falls, given the measure's direction. */
function judge(ratio: number, better: Better, factor: number): 'worse' | 'better' | 'within' {
  // For a negative base the ratio's sense flips; medians of our measures are non-negative, so treat as within.
  if (!(ratio >= 0) && ratio !== Infinity) return 'within';
  const worse = better === 'lower' ? ratio > factor : ratio < 1 / factor;
  const improved = better === 'lower' ? ratio < 1 / factor : ratio > factor;
  return worse ? 'worse' : improved ? 'better' : 'within';
}

/** Compare one measure present on both sides. */
export function compareMeasure(base: Measure, head: Measure, options: CompareOptions = {}): MeasureComparison {
  const { factor, alpha, untestedFactor } = resolveCompareOptions(options);
  const out: MeasureComparison = {
    name: base.name,
    unit: base.unit,
    better: base.better,
    baseMedian: base.median,
    headMedian: head.median,
    pValue: null,
    baseSamples: base.samples.length,
    headSamples: head.samples.length,
    verdict: 'unchanged',
  };
  if (base.unit !== head.unit || base.better !== head.better) {
    out.verdict = 'unit mismatch';
    out.note = `base ${base.unit} (${base.better} is better), head ${head.unit} (${head.better} is better)`;
    return out;
  }
  const ratio = ratioOf(base.median, head.median);
  out.ratio = ratio;
  const side = judge(ratio, base.better, factor);
  const n1 = base.samples.length;
  const n2 = head.samples.length;
  if (n1 >= 2 && n2 >= 2) {
    const t = mannWhitneyU(base.samples, head.samples);
    out.pValue = t.pValue;
    out.test = t.method;
  }
  if (n1 < 2 || n2 < 2 || minAttainablePValue(n1, n2) > alpha) {
    out.verdict = 'insufficient samples';
    out.note =
      n1 < 2 || n2 < 2
        ? `${n1} vs ${n2} samples: cannot be tested`
        : `${n1} vs ${n2} samples: the smallest attainable p (${minAttainablePValue(n1, n2).toPrecision(2)}) exceeds alpha`;
    if (untestedFactor !== undefined) {
      const far = judge(ratio, base.better, untestedFactor);
      if (far === 'worse') out.verdict = 'regression';
      if (far === 'better') out.verdict = 'improvement';
      if (far !== 'within') out.note += `; untested, ratio beyond ${untestedFactor}`;
    }
    return out;
  }
  const significant = (out.pValue ?? 1) <= alpha;
  if (side === 'worse' && significant) out.verdict = 'regression';
  else if (side === 'better' && significant) out.verdict = 'improvement';
  else {
    out.verdict = 'unchanged';
    if (side !== 'within') out.note = `beyond factor ${factor}, not significant`;
    else if (significant) out.note = `significant, within factor ${factor}`;
  }
  return out;
}

const VERDICT_ORDER: Verdict[] = ['regression', 'improvement', 'unit mismatch', 'insufficient samples', 'only in base', 'only in head', 'unchanged'];

/** Compare every measure in either map; results sorted by verdict (regressions first), then name. */
export function compareMeasures(
  base: ReadonlyMap<string, Measure>,
  head: ReadonlyMap<string, Measure>,
  options: CompareOptions = {},
): MeasureComparison[] {
  resolveCompareOptions(options);
  const names = [...new Set([...base.keys(), ...head.keys()])];
  const results = names.map((name): MeasureComparison => {
    const b = base.get(name);
    const h = head.get(name);
    if (b && h) return compareMeasure(b, h, options);
    const only = (b ?? h)!;
    return {
      name,
      unit: only.unit,
      better: only.better,
      baseMedian: b?.median,
      headMedian: h?.median,
      pValue: null,
      baseSamples: b?.samples.length ?? 0,
      headSamples: h?.samples.length ?? 0,
      verdict: b ? 'only in base' : 'only in head',
    };
  });
  return results.sort(
    (a, b) => VERDICT_ORDER.indexOf(a.verdict) - VERDICT_ORDER.indexOf(b.verdict) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * Compare two history entries. Throws MachineClassMismatchError when they come from different machine classes:
 * figures from different hardware are never compared.
 */
export function compare(base: HistoryEntry, head: HistoryEntry, options: CompareOptions = {}): ComparisonReport {
  if (base.machineClass !== head.machineClass) throw new MachineClassMismatchError(base.machineClass, head.machineClass);
  const { factor, alpha, untestedFactor } = resolveCompareOptions(options);
  const results = compareMeasures(entryMeasures(base), entryMeasures(head), options);
  const counts = Object.fromEntries(VERDICT_ORDER.map((v) => [v, 0])) as Record<Verdict, number>;
  for (const r of results) counts[r.verdict]++;
  const side = (e: HistoryEntry) => ({ commit: e.commit, machineClass: e.machineClass, timestamp: e.timestamp });
  return {
    base: side(base),
    head: side(head),
    factor,
    alpha,
    ...(untestedFactor !== undefined ? { untestedFactor } : {}),
    results,
    counts,
    regressed: counts.regression > 0,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

export function formatValue(v: number | undefined, unit: string): string {
  if (v === undefined) return '-';
  if (!Number.isFinite(v)) return String(v);
  if (unit === 'bytes') {
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let x = v;
    let i = 0;
    while (Math.abs(x) >= 1024 && i < units.length - 1) {
      x /= 1024;
      i++;
    }
    return `${x.toPrecision(4)} ${units[i]}`;
  }
  const s = Math.abs(v) >= 1e5 || (Math.abs(v) < 1e-3 && v !== 0) ? v.toExponential(3) : Number(v.toPrecision(4)).toString();
  return unit === '%' ? `${s}%` : `${s} ${unit}`;
}

export function formatPValue(p: number | null): string {
  if (p === null) return '-';
  return p < 1e-4 ? p.toExponential(1) : p.toFixed(4);
}

const MARK: Record<Verdict, string> = {
  regression: '+',
  improvement: '-',
  unchanged: ' ',
  'insufficient samples': '?',
  'only in base': 'x',
  'only in head': 'n',
  'unit mismatch': '!',
};

/** A plain-text table: mark, measure, base, head, ratio, p-value, verdict (and note). */
export function formatComparison(report: ComparisonReport): string {
  const rows = report.results.map((r) => [
    MARK[r.verdict],
    r.name,
    formatValue(r.baseMedian, r.unit),
    formatValue(r.headMedian, r.unit),
    r.ratio === undefined ? '-' : Number.isFinite(r.ratio) ? r.ratio.toFixed(3) : String(r.ratio),
    formatPValue(r.pValue),
    r.verdict + (r.note ? ` (${r.note})` : ''),
  ]);
  const header = ['', 'measure', 'base', 'head', 'ratio', 'p', 'verdict'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i >= 2 && i <= 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  const title =
    `base ${report.base.commit} → head ${report.head.commit} on ${report.base.machineClass}` +
    ` (factor ${report.factor}, alpha ${report.alpha}` +
    (report.untestedFactor !== undefined ? `, untested factor ${report.untestedFactor}` : '') +
    ')';
  const summary = Object.entries(report.counts)
    .filter(([, n]) => n > 0)
    .map(([v, n]) => `${n} ${v}`)
    .join(', ');
  return [title, line(header), ...rows.map(line), summary || 'no measures'].join('\n') + '\n';
}
