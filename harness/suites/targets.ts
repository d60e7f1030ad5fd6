// Paper targets as versioned data. Suites carry them (suites/*.json → methods[].targets); this file holds
// their type, the unit of each metric and how a metric is read from run records.
import type { RunRecord } from '../results/record.js';

export const METRICS = ['testError', 'top1Error', 'searchGpuDays', 'params', 'macs'] as const;
export type Metric = (typeof METRICS)[number];

/** Metrics a verdict may be given on: they come from eval records, one value per seed. */
export const ERROR_METRICS: readonly Metric[] = ['testError', 'top1Error'];

export type Aggregate = 'best-of-k' | 'mean-of-k' | 'single';
export type Tag = 'R' | 'S' | 'L' | 'I';

export interface TargetSource {
  /** The paper (or README) the number comes from. */
  paper: string;
  /** Which version of it, e.g. "CVPR 2021" or "ICLR 2021 submission (OpenReview)". */
  version: string;
  url?: string;
  table?: string;
}

export interface Target {
  metric: Metric;
  direction: 'lower' | 'higher';
  /** In the metric's unit (METRIC_UNITS). */
  value: number;
  /** Published spread, when the source gives one. */
  sd?: number;
  /** Number of runs behind the published figure, when the source says. */
  n?: number;
  /** How the published figure was aggregated: the best of k runs, their mean, or a single run. */
  aggregate: Aggregate;
  /** How far (absolute, metric unit) ours may fall short and still count as "within tolerance". */
  tolerance: number;
  /** Protocol behind the number (data, epochs, net), in words. */
  protocol: string;
  source: TargetSource;
  /** Confidence tag of spec §0: R read, S secondary, L baseline's own paper, I inferred. */
  tag: Tag;
  /** Hardware the number was measured on ("not stated" when unknown). */
  hardware: string;
  /** Search-cost figures: how many searches the figure counts (DARTS' 1.5 / 4.0 GPU-days are 4); default 1. */
  searches?: number;
  /** This target decides the row's verdict (at most one per row, an error metric). */
  verdict?: boolean;
  note?: string;
  /** Why a verdict on this target is indicative only (e.g. the search space is our interpretation of the paper's). */
  indicative?: string;
}

/** Why a verdict on `t` is indicative only: an inferred figure [I], or the reason the suite gives; undefined otherwise. */
export function indicativeReason(t: Target): string | undefined {
  if (t.tag === 'I') return `the target ${t.value} is inferred [I], not printed by the paper`;
  return t.indicative;
}

export const METRIC_UNITS: Record<Metric, string> = {
  testError: '%',
  top1Error: '%',
  searchGpuDays: 'GPU-days',
  params: 'M',
  macs: 'M',
};

export const METRIC_LABELS: Record<Metric, string> = {
  testError: 'test error',
  top1Error: 'top-1 error',
  searchGpuDays: 'search cost',
  params: 'params',
  macs: 'MACs',
};

/** Value of an eval-derived metric in a record, in the metric's unit; undefined when the record lacks it. */
export function evalMetricValue(metric: Metric, record: RunRecord): number | undefined {
  const ev = record.eval;
  if (record.phase !== 'eval' || ev === undefined) return undefined;
  switch (metric) {
    case 'testError':
    case 'top1Error':
      return finite(ev.testError);
    case 'params':
      return scaled(ev.params, 1e-6);
    case 'macs':
      return scaled(ev.macs, 1e-6);
    default:
      return undefined;
  }
}

function finite(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}
function scaled(v: unknown, factor: number): number | undefined {
  const f = finite(v);
  return f === undefined ? undefined : f * factor;
}

/** The target that decides a row's verdict, if any. */
export function verdictTarget(targets: readonly Target[]): Target | undefined {
  return targets.find((t) => t.verdict === true);
}

/** Targets on one metric: the verdict target first, then in suite order. */
export function targetsFor(targets: readonly Target[], metric: Metric): Target[] {
  return targets.filter((t) => t.metric === metric).sort((a, b) => Number(b.verdict === true) - Number(a.verdict === true));
}

/** e.g. "2.76 ± 0.09 % mean-of-k [L] (DARTS, ICLR 2019)". */
export function describeTarget(t: Target): string {
  const sd = t.sd === undefined ? '' : ` ± ${t.sd}`;
  const n = t.n === undefined ? '' : `, n=${t.n}`;
  return `${t.value}${sd} ${METRIC_UNITS[t.metric]} ${t.aggregate}${n} [${t.tag}] (${t.source.paper}, ${t.source.version})`;
}

/** Short form for table cells: "2.76 ± 0.09 [L]". */
export function shortTarget(t: Target): string {
  return `${t.value}${t.sd === undefined ? '' : ` ± ${t.sd}`} [${t.tag}]`;
}
