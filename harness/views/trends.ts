// Trend data for the history pages (asv style): per machine class and measure, the median and spread per commit,
// the change points `history steps` finds (harness/perf/steps.ts) and the gate's decisions (harness/perf/compare.ts,
// each commit against the one before it, as the nightly gate compares a night with the last night).
import { compare, type CompareOptions } from '../perf/compare.js';
import { entryMeasures, listMachineClasses, readHistory, type HistoryEntry } from '../perf/history.js';
import { findSteps } from '../perf/steps.js';

export interface TrendPoint {
  commit: string;
  timestamp: string;
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface TrendChange {
  commit: string;
  kind: 'regression' | 'improvement';
  ratio: number;
}

export interface TrendDecision {
  commit: string;
  base: string;
  verdict: 'regression' | 'improvement';
  median: number;
  ratio?: number;
  pValue: number | null;
}

export interface MeasureTrend {
  machineClass: string;
  measure: string;
  unit: string;
  better: 'lower' | 'higher';
  points: TrendPoint[];
  changes: TrendChange[];
  decisions: TrendDecision[];
  /** Commits the gate compared: how many decided "unchanged" or could not test. */
  quiet: number;
}

export interface TrendSet {
  historyDir: string;
  classes: Array<{ machineClass: string; commits: number }>;
  measures: MeasureTrend[];
  skipped: string[];
}

/** Trends of one machine class's entries (oldest first). */
export function trendsOf(entries: HistoryEntry[], gate: CompareOptions = {}): MeasureTrend[] {
  if (entries.length === 0) return [];
  const cls = entries[0].machineClass;
  const steps = new Map(findSteps(entries).map((s) => [s.measure, s]));
  const perEntry = entries.map((e) => entryMeasures(e));
  const names = [...new Set(perEntry.flatMap((m) => [...m.keys()]))].sort();
  const trends = new Map<string, MeasureTrend>();
  for (const name of names) {
    const points: TrendPoint[] = [];
    let unit = '';
    let better: 'lower' | 'higher' = 'lower';
    entries.forEach((e, i) => {
      const m = perEntry[i].get(name);
      if (!m) return;
      unit = m.unit;
      better = m.better;
      points.push({ commit: e.commit, timestamp: e.timestamp, median: m.median, min: Math.min(...m.samples), max: Math.max(...m.samples), n: m.samples.length });
    });
    const st = steps.get(name);
    trends.set(name, {
      machineClass: cls, measure: name, unit, better, points,
      changes: (st?.steps ?? []).map((s) => ({ commit: s.commit, kind: s.kind, ratio: s.ratio })),
      decisions: [], quiet: 0,
    });
  }
  for (let i = 1; i < entries.length; i++) {
    const report = compare(entries[i - 1], entries[i], gate);
    for (const r of report.results) {
      const t = trends.get(r.name);
      if (!t) continue;
      if ((r.verdict === 'regression' || r.verdict === 'improvement') && r.headMedian !== undefined) {
        t.decisions.push({ commit: entries[i].commit, base: entries[i - 1].commit, verdict: r.verdict, median: r.headMedian, ratio: r.ratio, pValue: r.pValue });
      } else if (r.verdict !== 'only in base') t.quiet++;
    }
  }
  return [...trends.values()];
}

/** Every machine class under a history directory. */
export async function readTrends(historyDir: string, gate: CompareOptions = {}): Promise<TrendSet> {
  const skipped: string[] = [];
  const classes: TrendSet['classes'] = [];
  const measures: MeasureTrend[] = [];
  for (const cls of await listMachineClasses(historyDir)) {
    const entries = await readHistory(historyDir, cls, { onSkip: (file, why) => skipped.push(`${file}: ${why}`) });
    if (entries.length === 0) continue;
    classes.push({ machineClass: cls, commits: entries.length });
    measures.push(...trendsOf(entries, gate));
  }
  return { historyDir, classes, measures, skipped };
}
