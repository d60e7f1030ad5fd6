// The one adapter between run records / tables and the pictures: every field of a record or a table row that the
// HTML report, the charts or the tidy data use is read here, and nowhere else in harness/views/. A rename in the
// record (e.g. `record.method`, which holds the suite row id, becoming `row`) or in the tables touches this file only.
//
// Records come only from harness/results/store.ts (readRecords); tables only from harness/results/tables.ts
// (buildReport). What this returns is plain rows, one observation each, ready for Vega-Lite and for CSV.
import { STANDARD_OPS, type OpName } from '../../nas/config.js';
import { genotypeDistance, parseGenotype, type Genotype } from '../../nas/genotype.js';
import { mean, sampleSd, tMoe95 } from '../../nas/util/stats.js';
import type { LoadedRecord, RecordSet } from '../results/store.js';
import type { Report, TableRow } from '../results/tables.js';
import { nodeName } from './cell-drawing.js';

import { type RunKey, type LossPoint, type AccuracyPoint, type AlphaPoint, type DstPoint, type GenotypeChangePoint, type CostPoint, type GapPoint, type FinalGenotype, type TidyRun } from './points.js';

// ------------------------------------------------------------------------------------------------ record access
// Every read of a record field happens below.

interface SearchExtra {
  archLossTrace?: number[];
  archHistory?: Array<Record<string, number[]>>;
  epochTraces?: Array<Record<string, unknown>>;
  stepsPerEpoch?: number;
}

const rowIdOf = (r: LoadedRecord): string => r.row;
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const numArray = (v: unknown): number[] => (Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : []);

function extraOf(r: LoadedRecord): SearchExtra {
  const e = r.record.search?.extra;
  return e && typeof e === 'object' ? (e as SearchExtra) : {};
}

/** The algorithm of a run: the search config's method, else the table row's, else the row id. */
function methodOf(r: LoadedRecord, rows: Map<string, TableRow>): string {
  const cfg = r.record.config as { method?: unknown };
  if (typeof cfg.method === 'string') return cfg.method;
  return rows.get(`${r.suite}/${rowIdOf(r)}`)?.method ?? rowIdOf(r);
}

function opsOf(r: LoadedRecord): OpName[] {
  const space = (r.record.config as { space?: { ops?: unknown } }).space;
  return Array.isArray(space?.ops) ? (space.ops as OpName[]) : [...STANDARD_OPS];
}

function tauAt(r: LoadedRecord, epoch: number, epochs: number): number {
  const t = (r.record.config as { temperature?: { start?: unknown; end?: unknown } }).temperature;
  const start = finite(t?.start) ?? 1;
  const end = finite(t?.end) ?? start;
  return epochs > 1 ? start + ((end - start) * epoch) / (epochs - 1) : start;
}

const pct = (v: unknown): number | undefined => {
  const x = finite(v);
  return x === undefined ? undefined : 100 * x;
};

// ------------------------------------------------------------------------------------------------ the chart data

export interface ChartData {
  /** Suites × rows that have records, in table order. */
  groups: Array<{ suite: string; row: string; label: string; method: string; seeds: number[] }>;
  loss: LossPoint[];
  accuracy: AccuracyPoint[];
  /** Whether the records hold accuracy per epoch (they hold it at the end of search only, so far). */
  accuracyPerEpoch: boolean;
  alpha: AlphaPoint[];
  dst: DstPoint[];
  genotypeChanges: GenotypeChangePoint[];
  cost: CostPoint[];
  gaps: GapPoint[];
  finalGenotypes: FinalGenotype[];
  tidy: TidyRun[];
}

function rowIndex(report: Report): Map<string, TableRow> {
  return new Map(report.rows.map((r) => [`${r.suite}/${r.rowId}`, r]));
}

function keyOf(r: LoadedRecord, rows: Map<string, TableRow>): RunKey {
  const row = rows.get(`${r.suite}/${rowIdOf(r)}`);
  return { suite: r.suite, row: rowIdOf(r), label: row?.label ?? rowIdOf(r), method: methodOf(r, rows), seed: r.seed };
}

/** softmax(α/τ) of one edge's row. */
function softmax(row: number[], tau: number): number[] {
  const z = row.map((v) => v / tau);
  const mx = Math.max(...z);
  const e = z.map((v) => Math.exp(v - mx));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

/** Edge names in DARTS order (node j takes inputs 0..j+1; edge index j(j+3)/2 + i). */
function edgeNames(edges: number): string[] {
  const names: string[] = [];
  for (let j = 0; names.length < edges; j++) for (let i = 0; i < j + 2 && names.length < edges; i++) names.push(`${nodeName(i)} → ${nodeName(j + 2)}`);
  return names;
}

function searchData(r: LoadedRecord, key: RunKey, out: ChartData): void {
  const s = r.record.search;
  if (!s) return;
  const ex = extraOf(r);
  const stepsPerEpoch = finite(ex.stepsPerEpoch) ?? finite((r.record.config as { stepsPerEpoch?: unknown }).stepsPerEpoch) ?? 0;
  const epochOfStep = (i: number): number => (stepsPerEpoch > 0 ? Math.floor(i / stepsPerEpoch) : 0);
  numArray(s.lossTrace).forEach((v, i) => { if (Number.isFinite(v)) out.loss.push({ ...key, loss: 'weights', step: i + 1, epoch: epochOfStep(i), value: v }); });
  const arch = numArray(ex.archLossTrace);
  const archOffset = Math.max(0, numArray(s.lossTrace).length - arch.length); // α steps start after the warm-up
  arch.forEach((v, i) => { if (Number.isFinite(v)) out.loss.push({ ...key, loss: 'architecture', step: archOffset + i + 1, epoch: epochOfStep(archOffset + i), value: v }); });

  const history = Array.isArray(ex.archHistory) ? ex.archHistory : [];
  const traces = Array.isArray(ex.epochTraces) ? ex.epochTraces : [];
  const epochs = Math.max(history.length, traces.length, Array.isArray(s.genotypeHistory) ? s.genotypeHistory.length : 0);
  // Accuracy per epoch where a method's epoch trace has it; the end-of-search values always.
  traces.forEach((t, e) => {
    for (const [net, field] of [['super-net', 'supernetValAcc'], ['derived', 'derivedValAcc']] as const) {
      const v = pct(t?.[field]);
      if (v !== undefined && e < epochs - 1) { out.accuracy.push({ ...key, net, epoch: e + 1, value: v }); out.accuracyPerEpoch = true; }
    }
  });
  for (const [net, v] of [['super-net', pct(s.supernetValAcc)], ['derived', pct(s.derivedValAcc)]] as const) {
    if (v !== undefined) out.accuracy.push({ ...key, net, epoch: Math.max(1, epochs), value: v });
  }

  const ops = opsOf(r);
  history.forEach((params, e) => {
    for (const cell of ['normal', 'reduce'] as const) {
      const flat = numArray(params?.[`alpha.${cell}`]);
      if (flat.length === 0 || flat.length % ops.length !== 0) continue;
      const edges = flat.length / ops.length;
      const names = edgeNames(edges);
      const tau = tauAt(r, e, epochs);
      for (let k = 0; k < edges; k++) {
        const w = softmax(flat.slice(k * ops.length, (k + 1) * ops.length), tau);
        w.forEach((weight, o) => out.alpha.push({ ...key, cell, epoch: e + 1, edge: names[k], edgeIndex: k, op: ops[o], weight, tau }));
      }
    }
  });

  traces.forEach((t, e) => {
    const dst = (t as { dst?: Record<string, { keptPairs?: unknown; thresholds?: unknown }> })?.dst;
    if (!dst) return;
    for (const cell of ['normal', 'reduce'] as const) {
      const kept = numArray(dst[cell]?.keptPairs);
      const th = numArray(dst[cell]?.thresholds);
      kept.forEach((k, j) => out.dst.push({ ...key, cell, epoch: e + 1, node: nodeName(j + 2), keptPairs: k, threshold: th[j] ?? NaN }));
    }
  });

  const gh: Genotype[] = [];
  for (const g of Array.isArray(s.genotypeHistory) ? s.genotypeHistory : []) {
    try {
      gh.push(parseGenotype(g));
    } catch {
      break; // not drawable (e.g. a fixture's): no change trace
    }
  }
  const stableFrom = finite(s.stableFromEpoch) ?? 0;
  gh.forEach((g, e) => out.genotypeChanges.push({ ...key, epoch: e + 1, changes: e === 0 ? 0 : genotypeDistance(gh[e - 1], g), stable: e >= stableFrom }));

  if (r.record.status === 'ok') {
    try {
      const g = parseGenotype(s.genotype, `${r.suite}/${key.row}/seed-${r.seed}`);
      out.finalGenotypes.push({ ...key, genotype: g, format: g.format });
    } catch (err) {
      out.finalGenotypes.push({ ...key, problem: (err as Error).message });
    }
  }
}

function tidyRow(r: LoadedRecord, key: RunKey): TidyRun {
  const rec = r.record;
  const m = rec.measures;
  const s = rec.search;
  const ev = rec.eval;
  const env = rec.env ?? ({} as LoadedRecord['record']['env']);
  const loss = s?.lossTrace ?? ev?.lossTrace ?? [];
  return {
    suite: key.suite, row: key.row, method: key.method, label: key.label, seed: key.seed, phase: rec.phase, status: rec.status,
    error: rec.error ?? '', started_at: rec.startedAt, finished_at: rec.finishedAt,
    test_error_pct: finite(ev?.testError), test_acc: finite(ev?.testAcc), params: finite(ev?.params ?? s?.params),
    params_with_aux: finite(ev?.paramsWithAux), macs: finite(ev?.macs ?? s?.macs),
    supernet_val_acc: finite(s?.supernetValAcc), derived_val_acc: finite(s?.derivedValAcc), consistency_gap: finite(s?.consistencyGap),
    stable_from_epoch: finite(s?.stableFromEpoch), final_loss: finite(loss[loss.length - 1]), loss_steps: loss.length || undefined,
    genotype: s?.genotype === undefined ? undefined : JSON.stringify(s.genotype),
    wall_seconds: finite(m?.wallSeconds), cpu_seconds: finite(m?.cpuSeconds), device_seconds: finite(m?.deviceSeconds),
    gpu_days: finite(m?.gpuDays), gpu_days_normalised: finite(m?.gpuDaysNormalised), reference_gpu: m?.referenceGpu,
    ms_per_step: finite(m?.msPerStep), steps: finite(m?.steps), peak_rss_bytes: finite(m?.peakRssBytes),
    peak_tensor_bytes: finite(m?.peakTensorBytes), gpu_memory_bytes: finite(m?.gpuMemoryBytes),
    device_class: m?.deviceClass, backend: env.backend, threads: finite(env.threads), simd: env.simd, cpu_model: env.cpuModel,
    gpu_model: env.gpuModel, kernel_path: env.kernelPath, platform: env.platform, node: env.node, tfjs: env.tfjs,
    git_commit: env.gitCommit, package_version: env.packageVersion, deviations: rec.deviations.length,
  };
}

function gapsOf(records: LoadedRecord[], rows: Map<string, TableRow>): GapPoint[] {
  const groups = new Map<string, { key: RunKey; perSeed: Array<{ seed: number; gap: number }> }>();
  for (const r of records) {
    if (r.phase !== 'search' || r.record.status !== 'ok') continue;
    const s = r.record.search;
    const gap = finite(s?.consistencyGap) ?? (finite(s?.supernetValAcc) !== undefined && finite(s?.derivedValAcc) !== undefined ? s!.supernetValAcc - s!.derivedValAcc : undefined);
    if (gap === undefined) continue;
    const key = keyOf(r, rows);
    const id = `${key.suite}/${key.row}`;
    const g = groups.get(id) ?? { key, perSeed: [] };
    g.perSeed.push({ seed: r.seed, gap: 100 * gap });
    groups.set(id, g);
  }
  return [...groups.values()].map(({ key, perSeed }) => {
    const xs = perSeed.map((p) => p.gap);
    const m = mean(xs);
    const moe = tMoe95(xs);
    return { suite: key.suite, row: key.row, label: key.label, method: key.method, n: xs.length, mean: m, low: m - moe, high: m + moe, perSeed };
  });
}

/** Our points (one per row with both an error and a search cost) and the paper's (from every suite's targets). */
function costPoints(report: Report, paperRows: TableRow[]): CostPoint[] {
  const out: CostPoint[] = [];
  for (const r of report.rows) {
    const o = r.ours;
    if (o.errorMean === undefined) continue;
    const device = o.deviceClasses.join(', ') || 'unknown device';
    if (o.searchGpuDaysNormalised !== undefined) {
      out.push({ source: 'ours', suite: r.suite, row: r.rowId, label: r.label, costDays: o.searchGpuDaysNormalised, error: o.errorMean, metric: r.metric,
        device, costKind: `GPU-days normalised to ${o.referenceGpu ?? 'the reference GPU'} (harness/measure/gpu-factors.ts)` });
    } else if (o.searchDeviceDays !== undefined) {
      out.push({ source: 'ours', suite: r.suite, row: r.rowId, label: r.label, costDays: o.searchDeviceDays, error: o.errorMean, metric: r.metric,
        device, costKind: `device-days on ${device} (not normalised: no GPU factor for this device)` });
    }
  }
  const seen = new Set<string>();
  for (const r of paperRows) {
    const e = r.paper.error;
    const c = r.paper.searchGpuDays[0];
    if (!e || !c) continue;
    const id = `${r.method}|${r.metric}|${e.value}|${c.value}`; // baselines repeat across suites with the same figures
    if (seen.has(id)) continue;
    seen.add(id);
    out.push({ source: 'paper', suite: r.suite, row: r.rowId, label: r.label, costDays: c.value, error: e.value, metric: r.metric,
      device: c.hardware, costKind: `GPU-days as published, on ${c.hardware} (${c.source.paper}, ${c.source.version}; not normalised)` });
  }
  return out;
}

/**
 * Map the records and tables to chart rows. `paperRows` are table rows (any suites) whose paper figures give the
 * paper points of the cost scatter; default the report's own rows.
 */
export function chartData(set: RecordSet, report: Report, paperRows: TableRow[] = report.rows): ChartData {
  const rows = rowIndex(report);
  const reported = new Set(report.rows.map((r) => `${r.suite}/${r.rowId}`));
  const records = set.records.filter((r) => reported.has(`${r.suite}/${rowIdOf(r)}`));
  const out: ChartData = {
    groups: [], loss: [], accuracy: [], accuracyPerEpoch: false, alpha: [], dst: [], genotypeChanges: [], cost: [], gaps: [],
    finalGenotypes: [], tidy: [],
  };
  for (const t of report.rows) {
    const rs = records.filter((r) => r.suite === t.suite && rowIdOf(r) === t.rowId);
    if (rs.length === 0) continue;
    out.groups.push({ suite: t.suite, row: t.rowId, label: t.label, method: t.method, seeds: [...new Set(rs.map((r) => r.seed))].sort((a, b) => a - b) });
    for (const r of [...rs].sort((a, b) => a.seed - b.seed || a.phase.localeCompare(b.phase) * -1)) {
      const key = keyOf(r, rows);
      out.tidy.push(tidyRow(r, key));
      if (r.phase === 'search') searchData(r, key, out);
    }
  }
  out.gaps = gapsOf(records, rows);
  out.cost = costPoints(report, paperRows);
  return out;
}

/** Tidy rows of every record in the set (also those no reported suite knows). */
export function tidyRuns(set: RecordSet, report: Report): TidyRun[] {
  const rows = rowIndex(report);
  return set.records.map((r) => tidyRow(r, keyOf(r, rows)));
}

/** Summary statistics the page prints beside a chart. */
export function spread(xs: number[]): { mean: number; sd?: number } {
  return { mean: mean(xs), sd: sampleSd(xs) };
}

/** Table row fields the HTML tables show (so the page reads tables through here too). */
export interface VerdictRow {
  suite: string;
  row: string;
  label: string;
  kind: string;
  verdict: string;
  basis: string;
  ours: { error?: number; sd?: number; n: number; best?: number; paramsM?: number; searchSeconds?: number; msPerStep?: number; peakRss?: number; supernet?: number; derived?: number; deviceDays?: number };
  paper?: { value: number; aggregate: string; tag: string; source: string };
  runs: string;
  command?: string;
  deviations: string[];
}

export function verdictRows(report: Report, statusText: (c: TableRow['status']['search']) => string): VerdictRow[] {
  return report.rows.map((r) => ({
    suite: r.suite, row: r.rowId, label: r.label, kind: r.suiteKind, verdict: r.verdict, basis: r.verdictBasis,
    ours: {
      error: r.ours.errorMean, sd: r.ours.errorSd, n: r.ours.errorValues.length, best: r.ours.errorBest, paramsM: r.ours.paramsM,
      searchSeconds: r.ours.searchWallSeconds, msPerStep: r.ours.searchMsPerStep, peakRss: r.ours.searchPeakRssBytes,
      supernet: r.ours.supernetValAcc, derived: r.ours.derivedValAcc, deviceDays: r.ours.searchDeviceDays,
    },
    paper: r.paper.error ? { value: r.paper.error.value, aggregate: r.paper.error.aggregate, tag: r.paper.error.tag, source: `${r.paper.error.source.paper}, ${r.paper.error.source.version}` } : undefined,
    runs: r.run
      ? `search ${statusText(r.status.search)} · ${r.protocol !== undefined ? `select ${statusText(r.status.select)} · ` : ''}eval ${statusText(r.status.eval)}`
      : 'reference only',
    command: r.command,
    deviations: r.deviations,
  }));
}
