// Results tables, the model: one row per suite × row, aggregated from run records, with the paper target in
// its own columns and a verdict. render.ts turns a Report into Markdown, CSV, JSON and the console summary.
import { readRecords, type RecordSet, type LoadedRecord } from './store.js';
import type { Phase, RunStatus } from './record.js';
import { deviationsFor } from '../suites/deviations.js';
import { resolvePhaseConfig } from '../suites/resolve.js';
import { listSuites, loadSuite, protocolSeeds, runCommand, type Suite, type SuiteKind, type SuiteMethod } from '../suites/suite.js';
import {
  ERROR_METRICS, evalMetricValue, indicativeReason, targetsFor, verdictTarget, type Metric, type Target,
} from '../suites/targets.js';
import { rowVerdict, summarise, type Verdict } from './verdict.js';
import type { Judgement } from './judgement.js';
import { configHash } from './provenance.js';
import { runLabel } from './layout.js';
import { consistencyFigures, type ConsistencyFigures } from './consistency-figures.js';
import { searchCostOnPaperGpu, type PaperGpuCost } from './cost-figures.js';

export type StatusCounts = Record<RunStatus, number>;

export interface OurFigures {
  /** Per-seed values of the error metric (ok eval records), lower is better. */
  errorValues: Array<{ seed: number; value: number }>;
  errorMean?: number;
  errorSd?: number;
  errorBest?: number;
  /** Mean over ok eval records, in millions. */
  paramsM?: number;
  macsM?: number;
  /** Mean over ok search records: device-days on the machine that ran them. */
  searchDeviceDays?: number;
  /** Mean over ok search records of GPU-days scaled to the reference GPU; only when every record has it. */
  searchGpuDaysNormalised?: number;
  referenceGpu?: string;
  deviceClasses: string[];
  searchWallSeconds?: number;
  /** Maximum over ok records of each phase. */
  searchPeakRssBytes?: number;
  searchPeakTensorBytes?: number;
  evalPeakRssBytes?: number;
  evalPeakTensorBytes?: number;
  /** Mean over ok search records: median ms per search iteration (α step + weight step). */
  searchMsPerStep?: number;
  /** Mean over ok search records: validation accuracy (%) of the super-net and of the derived net with inherited weights. */
  supernetValAcc?: number;
  derivedValAcc?: number;
  /** Gap with its interval over seeds, search→eval rank correlation, search-epoch cost (consistency-figures.ts). */
  consistency: ConsistencyFigures;
  /** Our search-epoch cost converted to each published cost figure's GPU (cost-figures.ts). */
  searchOnPaperGpu: PaperGpuCost[];
}

export interface PaperFigures {
  /** The target that decides the verdict (or the first error target of a reference row). */
  error?: Target;
  /** Other published error figures (other versions of the paper, other sources). */
  otherError: Target[];
  params: Target[];
  macs: Target[];
  searchGpuDays: Target[];
}

export interface TableRow {
  suite: string;
  suiteKind: SuiteKind;
  rowId: string;
  label: string;
  method: string;
  run: boolean;
  plannedSeeds: number[];
  /** The error metric of the row (testError on CIFAR-style suites, top1Error on ImageNet). */
  metric: Metric;
  verdict: Verdict;
  verdictBasis: string;
  judgement?: Judgement;
  /** Set when the verdict is indicative only (inferred target, interpreted space); says why. */
  indicative?: string;
  /**
   * Runs the suite declares for the row and how many finished ok: declared seeds × (search, eval), or under a
   * selection protocol k searches + k selects + m evals.
   */
  declaredRuns: number;
  finishedRuns: number;
  /** Records left out because the suite's protocol changed since they ran (label: reason). */
  stale: string[];
  /** Records written before provenance existed: read, but their protocol cannot be verified. */
  unverified: number;
  /** The command that would run the row (not run rows that run in their suite). */
  command?: string;
  status: { search: StatusCounts; select: StatusCounts; eval: StatusCounts };
  /** The row's selection protocol in words, and the search seed whose cell its evaluations trained. */
  protocol?: string;
  selectedSearchSeed?: number;
  ours: OurFigures;
  paper: PaperFigures;
  /** Deviations from the paper protocol (proxy rows): the suite's list plus any the records name. */
  deviations: string[];
  notes: string[];
}

export interface Report {
  generatedAt: string;
  resultsDir: string;
  suites: Array<{ name: string; kind: SuiteKind; description: string; file: string; seeds: number[]; notes: string[] }>;
  rows: TableRow[];
  /** Record files that cannot be read or do not validate (check fails on these). */
  problems: string[];
  /** Valid records that belong to no reported suite row (left out of the tables; a warning). */
  unmatched: string[];
}

const emptyCounts = (): StatusCounts => ({ ok: 0, failed: 0, timeout: 0, diverged: 0 });

function countStatuses(records: LoadedRecord[]): StatusCounts {
  const c = emptyCounts();
  for (const r of records) c[r.record.status] += 1;
  return c;
}

/** "3 ok, 1 timeout" (zero counts left out); "none" when empty. */
export function statusText(c: StatusCounts): string {
  const parts = (Object.keys(c) as RunStatus[]).filter((k) => c[k] > 0).map((k) => `${c[k]} ${k}`);
  return parts.length === 0 ? 'none' : parts.join(', ');
}

const meanOf = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : summarise(xs).mean);
const maxOf = (xs: number[]): number | undefined => (xs.length === 0 ? undefined : Math.max(...xs));
const defined = <T>(xs: Array<T | undefined>): T[] => xs.filter((x): x is T => x !== undefined);

function ourFigures(metric: Metric, search: LoadedRecord[], evals: LoadedRecord[]): OurFigures {
  const okSearch = search.filter((r) => r.record.status === 'ok');
  const okEval = evals.filter((r) => r.record.status === 'ok');
  const errorValues = defined(okEval.map((r) => {
    const v = evalMetricValue(metric, r.record);
    return v === undefined ? undefined : { seed: r.seed, value: v };
  })).sort((a, b) => a.seed - b.seed);
  const s = errorValues.length > 0 ? summarise(errorValues.map((e) => e.value), 'lower') : undefined;
  const sm = okSearch.map((r) => r.record.measures).filter((m) => m !== undefined);
  const em = okEval.map((r) => r.record.measures).filter((m) => m !== undefined);
  const normalised = sm.map((m) => m.gpuDaysNormalised);
  return {
    errorValues,
    errorMean: s?.mean,
    errorSd: s?.sd,
    errorBest: s?.best,
    paramsM: meanOf(defined(okEval.map((r) => evalMetricValue('params', r.record)))),
    macsM: meanOf(defined(okEval.map((r) => evalMetricValue('macs', r.record)))),
    searchDeviceDays: meanOf(sm.map((m) => m.gpuDays)),
    searchGpuDaysNormalised: sm.length > 0 && normalised.every((v) => v !== undefined) ? meanOf(normalised as number[]) : undefined,
    referenceGpu: sm.find((m) => m.referenceGpu !== undefined)?.referenceGpu,
    deviceClasses: [...new Set([...sm, ...em].map((m) => m.deviceClass))].sort(),
    searchWallSeconds: meanOf(sm.map((m) => m.wallSeconds)),
    searchPeakRssBytes: maxOf(sm.map((m) => m.peakRssBytes)),
    searchPeakTensorBytes: maxOf(sm.map((m) => m.peakTensorBytes)),
    evalPeakRssBytes: maxOf(em.map((m) => m.peakRssBytes)),
    evalPeakTensorBytes: maxOf(em.map((m) => m.peakTensorBytes)),
    searchMsPerStep: meanOf(defined(sm.map((m) => m.msPerStep))),
    supernetValAcc: meanOf(defined(okSearch.map((r) => pct(r.record.search?.supernetValAcc)))),
    derivedValAcc: meanOf(defined(okSearch.map((r) => pct(r.record.search?.derivedValAcc)))),
    consistency: consistencyFigures(search, evals),
    searchOnPaperGpu: [],
  };
}

function pct(v: number | undefined): number | undefined {
  return v === undefined || !Number.isFinite(v) ? undefined : 100 * v;
}

function rowMetric(row: SuiteMethod): Metric {
  const t = verdictTarget(row.targets) ?? row.targets.find((x) => ERROR_METRICS.includes(x.metric));
  return t?.metric ?? 'testError';
}

function paperFigures(row: SuiteMethod, metric: Metric): PaperFigures {
  const errors = targetsFor(row.targets, metric);
  return {
    error: errors[0],
    otherError: errors.slice(1),
    params: targetsFor(row.targets, 'params'),
    macs: targetsFor(row.targets, 'macs'),
    searchGpuDays: targetsFor(row.targets, 'searchGpuDays'),
  };
}

/** Why a record no longer belongs to its suite's current protocol; undefined when it does (or cannot be checked). */
function staleReason(suite: Suite, row: SuiteMethod, r: LoadedRecord): string | undefined {
  const p = r.record.provenance;
  if (p === undefined) return undefined;
  const version = suite.version ?? 1;
  if (p.suiteVersion !== version) return `suite version ${p.suiteVersion}, now ${version}`;
  if (r.phase === 'select' && row.protocol === undefined) return 'a select run, but the row declares no selection protocol now';
  const expected = configHash(resolvePhaseConfig(suite, row, r.seed, r.phase));
  return p.configHash === expected ? undefined : 'its configuration differs from what the suite resolves now';
}

const STATUS_WORDS: Record<RunStatus, string> = { ok: 'ok', failed: 'failed', timeout: 'timed out', diverged: 'diverged' };

/** The seeds of each phase that the suite declares for a row (a reference row declares none). */
export function declaredSeeds(suite: Suite, row: SuiteMethod): Record<Phase, number[]> {
  if (!row.run) return { search: [], select: [], eval: [] };
  const p = row.protocol;
  if (p === undefined) return { search: suite.seeds, select: [], eval: suite.seeds };
  const { searches, evals } = protocolSeeds(p);
  return { search: searches, select: searches, eval: evals };
}

/** "best of 4 searches, each scored by a 100-epoch training on 50 % of the training set held out; mean of 10 evaluations". */
function protocolText(suite: Suite, row: SuiteMethod): string | undefined {
  const p = row.protocol;
  if (p === undefined) return undefined;
  const sel = resolvePhaseConfig(suite, row, 0, 'select');
  return `best of ${p.searches} searches, each scored by a ${sel.epochs}-epoch training validated on ${Math.round(100 * sel.validation.portion)} % ` +
    `of the training set held out; mean of ${p.evalSeeds} evaluations of the selected cell (${p.source})`;
}

/** Deviations a protocol row's eval records show: an eval that names no selected cell, or evals that trained different cells. */
function selectionDeviations(row: SuiteMethod, evals: LoadedRecord[]): { seed?: number; deviations: string[] } {
  if (row.protocol === undefined || evals.length === 0) return { deviations: [] };
  const unnamed = evals.filter((r) => r.record.selection === undefined).map((r) => r.seed);
  const seeds = [...new Set(evals.flatMap((r) => (r.record.selection ? [r.record.selection.searchSeed] : [])))].sort((a, b) => a - b);
  const deviations = [
    ...(unnamed.length ? [`eval seed${unnamed.length > 1 ? 's' : ''} ${unnamed.join(', ')} name${unnamed.length > 1 ? '' : 's'} no selected cell`] : []),
    ...(seeds.length > 1 ? [`the evaluations trained the cells of different searches (${seeds.join(', ')}); rerun the evals`] : []),
  ];
  return { seed: seeds.length === 1 ? seeds[0] : undefined, deviations };
}

function buildRow(suite: Suite, row: SuiteMethod, all: LoadedRecord[]): TableRow {
  const metric = rowMetric(row);
  const stale: string[] = [];
  const records = all.filter((r) => {
    const why = staleReason(suite, row, r);
    if (why !== undefined) stale.push(`${runLabel(r)}: ${why}`);
    return why === undefined;
  });
  const seeds = declaredSeeds(suite, row);
  const isDeclared = (r: LoadedRecord): boolean => seeds[r.phase].includes(r.seed);
  const declared = records.filter(isDeclared);
  const byPhase = (phase: Phase) => records.filter((r) => r.phase === phase);
  const status = { search: countStatuses(byPhase('search')), select: countStatuses(byPhase('select')), eval: countStatuses(byPhase('eval')) };
  // Every declared run counts: the verdict sees declared runs only, and an extra run makes the row a proxy.
  const declaredEvals = byPhase('eval').filter(isDeclared);
  const ours = ourFigures(metric, byPhase('search'), declaredEvals);
  ours.searchOnPaperGpu = searchCostOnPaperGpu(byPhase('search'), row.targets);
  const extra = records.filter((r) => !isDeclared(r));
  const extraSeeds = [...new Set(extra.map((r) => r.seed))].sort((a, b) => a - b);
  const recordDeviations = [...new Set(records.flatMap((r) => r.record.deviations))];
  const selection = selectionDeviations(row, declaredEvals.filter((r) => r.record.status === 'ok'));
  const runSetDeviations = [
    ...(extra.length === 0 ? [] : row.protocol === undefined ? [
      `seed${extraSeeds.length > 1 ? 's' : ''} ${extraSeeds.join(', ')} beyond the suite's declared seeds (${suite.seeds.join(', ')}): with more seeds a best-of-k rises and a mean is no longer the protocol's`,
    ] : [
      `${[...new Set(extra.map((r) => `${r.phase} seed ${r.seed}`))].join(', ')} beyond the protocol's ${row.protocol.searches} searches and ${row.protocol.evalSeeds} evaluations`,
    ]),
    ...selection.deviations,
  ];
  const failures = declared.filter((r) => r.record.status !== 'ok')
    .map((r) => `${r.phase} seed ${r.seed} ${STATUS_WORDS[r.record.status]}${r.record.error ? `: ${r.record.error}` : ''}`);
  const declaredRuns = seeds.search.length + seeds.select.length + seeds.eval.length;
  const finishedRuns = declared.filter((r) => r.record.status === 'ok').length;
  const target = verdictTarget(row.targets);
  const v = rowVerdict({
    suiteKind: suite.kind,
    run: row.run,
    recordCount: records.length,
    declared: declaredRuns,
    finished: finishedRuns,
    failures,
    deviations: [...recordDeviations, ...runSetDeviations],
    values: ours.errorValues.map((e) => e.value),
    target,
    indicative: target === undefined ? undefined : indicativeReason(target),
  });
  const protocol = protocolText(suite, row);
  const judged = v.judgement !== undefined && protocol !== undefined;
  const deviations = suite.kind === 'proxy'
    ? [...new Set([...deviationsFor(suite, row.id), ...recordDeviations, ...runSetDeviations])]
    : [...recordDeviations, ...runSetDeviations];
  return {
    suite: suite.name,
    suiteKind: suite.kind,
    rowId: row.id,
    label: row.label,
    method: row.method,
    run: row.run,
    plannedSeeds: [...seeds.eval],
    metric,
    verdict: v.verdict,
    verdictBasis: judged ? `${protocol}: ${v.basis}` : v.basis,
    judgement: v.judgement,
    ...(v.indicative ? { indicative: v.indicative } : {}),
    declaredRuns,
    finishedRuns,
    stale,
    unverified: records.filter((r) => r.record.provenance === undefined).length,
    command: v.verdict === 'not run' && row.run ? runCommand(suite.name) : undefined,
    status,
    ...(protocol !== undefined ? { protocol } : {}),
    ...(selection.seed !== undefined ? { selectedSearchSeed: selection.seed } : {}),
    ours,
    paper: paperFigures(row, metric),
    deviations,
    notes: row.notes,
  };
}

/** Aggregate records into one row per suite × method row. Records that match no row are listed in `unmatched`. */
export function buildReport(suites: Suite[], set: RecordSet, generatedAt = new Date().toISOString()): Report {
  const rows: TableRow[] = [];
  const used = new Set<LoadedRecord>();
  for (const suite of suites) {
    for (const row of suite.methods) {
      const records = set.records.filter((r) => r.suite === suite.name && r.row === row.id);
      records.forEach((r) => used.add(r));
      rows.push(buildRow(suite, row, records));
    }
  }
  const orphans = new Map<string, number>();
  for (const r of set.records) {
    if (used.has(r)) continue;
    const known = suites.find((s) => s.name === r.suite);
    const key = known
      ? `runs/${r.suite}/${r.row}: records for row "${r.row}", which suite ${r.suite} does not define (rows: ${known.methods.map((m) => m.id).join(', ')})`
      : `runs/${r.suite}: records for suite "${r.suite}", which is not among the suites reported (${suites.map((s) => s.name).join(', ')})`;
    orphans.set(key, (orphans.get(key) ?? 0) + 1);
  }
  const unmatched = [...orphans].map(([k, n]) => `${k}; ${n} record(s) left out of the tables`);
  return {
    generatedAt,
    resultsDir: set.resultsDir,
    suites: suites.map((s) => ({ name: s.name, kind: s.kind, description: s.description, file: s.file, seeds: s.seeds, notes: s.notes })),
    rows,
    problems: [...set.problems],
    unmatched,
  };
}

/**
 * The report of one suite (a built-in name or a suite file) or, without `suite`, of every built-in suite, from the
 * records under `resultsDir`. Writes nothing.
 */
export function collectReport(resultsDir: string, suite?: string, generatedAt?: string): Report {
  const suites = suite === undefined ? listSuites() : [loadSuite(suite)];
  const set = readRecords(resultsDir, suite === undefined ? undefined : suites[0].name);
  return buildReport(suites, set, generatedAt);
}
